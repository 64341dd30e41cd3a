//! Test support: the demo scenario flown by the bundled simulator in-process
//! (its own thread and runtime, MAVLink over loopback UDP), a fleet service
//! linked to it, and the app's state, as `dispatcher serve --sim` builds them.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use clap::Parser as _;
use dispatch_core::{Scenario, config};
use dispatch_server::{AppState, HubConfig, Tokens};
use fleet::{FleetConfig, FleetHandle, FleetManager};
use http_body_util::BodyExt;
use mavlink_link::link::{Address, LinkConfig};
use serde_json::Value;
use tower::ServiceExt;

pub const VIEWER: &str = "demo-viewer";
pub const DISPATCHER: &str = "demo-dispatcher";
pub const ADMIN: &str = "demo-admin";

pub fn scenario_path() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/haining.toml"
    ))
}

pub fn scenario() -> Scenario {
    config::load(&scenario_path()).unwrap_or_else(|e| panic!("demo scenario: {e}"))
}

/// Starts the simulator for `scenario_path()` sending to `gcs`.
pub fn start_sim(gcs: SocketAddr, speedup: f64) {
    let cli = drone_sim::Cli::parse_from([
        "drone-sim".to_owned(),
        "--config".to_owned(),
        scenario_path().display().to_string(),
        "--gcs".to_owned(),
        gcs.to_string(),
        "--speedup".to_owned(),
        speedup.to_string(),
    ]);
    let vehicles = drone_sim::fleet(&cli).unwrap_or_else(|e| panic!("sim fleet: {e}"));
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("sim runtime: {e}"));
        let _ = rt.block_on(drone_sim::runtime::run(&cli, vehicles, Vec::new()));
    });
}

pub struct Harness {
    pub state: AppState,
    pub fleet: FleetHandle,
}

/// The demo scenario at 13:00 on bore day, flown by the simulator at `speedup`.
pub async fn harness_with(scenario: Scenario, speedup: f64, hub: HubConfig) -> Harness {
    harness_logged(scenario, speedup, hub, None).await
}

/// The same, with the fleet writing the event log `store`.
pub async fn harness_logged(
    scenario: Scenario,
    speedup: f64,
    hub: HubConfig,
    store: Option<Box<dyn fleet::store::Store>>,
) -> Harness {
    let ids: Vec<u8> = scenario.drones.iter().map(|d| d.system_id).collect();
    let link = mavlink_link::link::connect(
        &Address::UdpIn(SocketAddr::from(([127, 0, 0, 1], 0))),
        ids,
        LinkConfig::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("link: {e}"));
    start_sim(
        link.local_addr()
            .unwrap_or_else(|| panic!("no local address")),
        speedup,
    );
    let start = chrono::DateTime::parse_from_rfc3339("2026-09-28T13:00:00+08:00")
        .unwrap_or_else(|e| panic!("{e}"))
        .to_utc();
    let cfg = FleetConfig {
        start_time: start,
        speedup,
        ..FleetConfig::default()
    };
    let mut manager = FleetManager::new(scenario.clone(), link, cfg);
    if let Some(st) = store {
        manager
            .with_store(st)
            .unwrap_or_else(|e| panic!("event log: {e}"));
    }
    let (fleet, _task) = fleet::service::spawn(manager, Duration::from_secs(5));
    let tokens = Tokens::new(&scenario.server.tokens, None).unwrap_or_else(|e| panic!("{e}"));
    let state = AppState::new(fleet.clone(), scenario, tokens, hub, None);
    // Every vehicle heard and docked before the test starts.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let snap = fleet.snapshot().await.unwrap_or_else(|e| panic!("{e}"));
        if snap
            .drones
            .iter()
            .all(|d| d.link.status == "up" && d.state.as_str() == "docked")
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "vehicles not all docked: {:?}",
            snap.drones
                .iter()
                .map(|d| (d.id.0.clone(), d.state, d.link.status))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Harness { state, fleet }
}

pub async fn harness() -> Harness {
    harness_with(scenario(), 50.0, HubConfig::default()).await
}

/// One request through the router; returns the status and the JSON body (Null when empty).
pub async fn call(
    state: &AppState,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req
        .body(Body::from(body.unwrap_or("").to_owned()))
        .unwrap_or_else(|e| panic!("request: {e}"));
    let resp = dispatch_server::app(state.clone())
        .oneshot(req)
        .await
        .unwrap_or_else(|e| panic!("router: {e}"));
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .unwrap_or_else(|e| panic!("body: {e}"))
        .to_bytes();
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
    };
    (status, v)
}

/// The router's answer to a GET with no Authorization header, as it is (a
/// body that is no JSON: a JPEG, a video stream; a token goes in `uri`).
pub async fn get_response(state: &AppState, uri: &str) -> axum::response::Response {
    let req = Request::get(uri)
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("request: {e}"));
    dispatch_server::app(state.clone())
        .oneshot(req)
        .await
        .unwrap_or_else(|e| panic!("router: {e}"))
}

/// The error code of an error answer.
pub fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<no error code>")
}

pub fn message(v: &Value) -> &str {
    v["error"]["message"]
        .as_str()
        .unwrap_or("<no error message>")
}

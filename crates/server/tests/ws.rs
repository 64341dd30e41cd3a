//! The websocket over real sockets (port 0): token check, snapshot, live
//! telemetry and events, per-client coalescing, and a slow client closed
//! without slowing anybody else.

mod support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dispatch_server::{AppState, Hub, HubConfig, LinkDrones};
use futures_util::StreamExt;
use mavlink_link::codec::encode_v2;
use mavlink_link::link::{LinkConfig, Transport};
use mavlink_link::mav::{GLOBAL_POSITION_INT_DATA, MavMessage};
use serde_json::Value;
use support::*;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn serve(state: AppState) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(dispatch_server::serve(
        listener,
        state,
        std::future::pending(),
    ));
    addr
}

async fn connect(addr: SocketAddr, query: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws?{query}"))
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    ws
}

/// The next JSON message (skipping nothing), within `secs`.
async fn next_json(ws: &mut Ws, secs: u64) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(secs), ws.next())
            .await
            .unwrap_or_else(|_| panic!("no message within {secs} s"))
            .unwrap_or_else(|| panic!("websocket ended"))
            .unwrap_or_else(|e| panic!("websocket error: {e}"));
        if let Message::Text(t) = m {
            return serde_json::from_str(t.as_str()).unwrap_or_else(|e| panic!("not JSON: {e}"));
        }
    }
}

/// Messages of one type until `pred` holds, within `secs`.
async fn until_json(ws: &mut Ws, secs: u64, pred: impl Fn(&Value) -> bool) -> Value {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        let left = end
            .saturating_duration_since(Instant::now())
            .as_secs()
            .max(1);
        let v = next_json(ws, left).await;
        if pred(&v) {
            return v;
        }
        assert!(Instant::now() < end, "condition not met within {secs} s");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_checks_the_token_then_sends_a_snapshot_telemetry_and_events() {
    let h = harness().await;
    let addr = serve(h.state.clone()).await;
    // No token, a wrong token: the upgrade is refused with 401.
    for q in ["", "token=nope"] {
        match tokio_tungstenite::connect_async(format!("ws://{addr}/ws?{q}")).await {
            Err(WsError::Http(r)) => assert_eq!(r.status(), 401, "query `{q}`"),
            other => panic!("query `{q}`: expected a 401 refusal, got {other:?}"),
        }
    }
    // The token in the Authorization header works too.
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        format!("ws://{addr}/ws"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {VIEWER}")
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let (mut by_header, _) = tokio_tungstenite::connect_async(req)
        .await
        .unwrap_or_else(|e| panic!("header token: {e}"));
    assert_eq!(next_json(&mut by_header, 5).await["type"], "snapshot");

    let mut ws = connect(addr, &format!("token={VIEWER}")).await;
    let snap = next_json(&mut ws, 5).await;
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["drones"].as_array().map_or(0, Vec::len), 15);
    assert_eq!(snap["hangars"].as_array().map_or(0, Vec::len), 8);
    assert_eq!(snap["zones"]["type"], "FeatureCollection");
    let t = until_json(&mut ws, 5, |v| v["type"] == "telemetry").await;
    let first = &t["drones"][0];
    for k in [
        "drone",
        "lat",
        "lon",
        "alt_m",
        "heading_deg",
        "ground_speed_mps",
        "battery_pct",
        "mode",
        "armed",
        "link",
        "time",
    ] {
        assert!(!first[k].is_null(), "telemetry lacks `{k}`: {first}");
    }
    // A report through the API shows up as incident events.
    let (st, _) = call(
        &h.state,
        "POST",
        "/api/incidents",
        Some(DISPATCHER),
        Some(r#"{"kind":"person_in_water","lat":30.347,"lon":120.457}"#),
    )
    .await;
    assert_eq!(st, axum::http::StatusCode::CREATED);
    let ev = until_json(&mut ws, 10, |v| {
        v["type"] == "incident" && v["status"] == "assigned"
    })
    .await;
    assert_eq!(ev["incident"]["drone"], "yg-1");
    assert_eq!(ev["incident"]["route"]["type"], "LineString");
    assert!(ev["eta"].is_string(), "{ev}");
    let ev = until_json(&mut ws, 20, |v| {
        v["type"] == "drone" && v["state"] == "en_route"
    })
    .await;
    assert_eq!(ev["drone"], "yg-1");
    // And yg-1 moves in the telemetry.
    until_json(&mut ws, 20, |v| {
        v["type"] == "telemetry"
            && v["drones"].as_array().is_some_and(|ds| {
                ds.iter()
                    .any(|d| d["drone"] == "yg-1" && d["alt_m"].as_f64().unwrap_or(0.0) > 10.0)
            })
    })
    .await;
}

/// Telemetry messages and the most entries in one, over 3 s; checks one entry per drone per message.
async fn count_telemetry(ws: &mut Ws) -> (usize, usize) {
    let end = Instant::now() + Duration::from_secs(3);
    let mut n = 0;
    let mut max_entries = 0;
    while Instant::now() < end {
        let Ok(Some(Ok(Message::Text(t)))) =
            tokio::time::timeout(end.saturating_duration_since(Instant::now()), ws.next()).await
        else {
            continue;
        };
        let v: Value = serde_json::from_str(t.as_str()).unwrap_or_default();
        if v["type"] != "telemetry" {
            continue;
        }
        n += 1;
        let ids: Vec<&str> = v["drones"].as_array().map_or(Vec::new(), |d| {
            d.iter().filter_map(|e| e["drone"].as_str()).collect()
        });
        let unique: HashSet<&&str> = ids.iter().collect();
        assert_eq!(
            unique.len(),
            ids.len(),
            "one entry per drone per message: {ids:?}"
        );
        max_entries = max_entries.max(ids.len());
    }
    (n, max_entries)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_asks_for_a_low_rate_gets_the_latest_positions_at_that_rate() {
    let h = harness().await;
    let addr = serve(h.state.clone()).await;
    let mut full = connect(addr, &format!("token={VIEWER}")).await;
    let mut slow = connect(addr, &format!("token={VIEWER}&rate=2")).await;
    assert_eq!(next_json(&mut full, 5).await["type"], "snapshot");
    assert_eq!(next_json(&mut slow, 5).await["type"], "snapshot");
    let (slow_n, slow_max) = count_telemetry(&mut slow).await;
    let (full_n, _) = count_telemetry(&mut full).await;
    assert!(
        (4..=8).contains(&slow_n),
        "rate 2 over 3 s gave {slow_n} telemetry messages"
    );
    assert!(
        full_n > 2 * slow_n,
        "full rate gave {full_n}, rate 2 gave {slow_n}"
    );
    assert!(
        slow_max >= 10,
        "a coalesced message holds the latest of many drones: {slow_max}"
    );
    let (st, m) = call(&h.state, "GET", "/api/metrics", Some(VIEWER), None).await;
    assert_eq!(st, axum::http::StatusCode::OK);
    assert!(
        m["telemetry_latency_ms"]["samples"].as_u64().unwrap_or(0) > 0,
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_closed_and_nobody_else_waits() {
    let h = harness().await;
    // A second link: 250 synthetic vehicles streaming positions as fast as the
    // memory transport takes them, so that an unread socket fills up quickly.
    let (t, _from_link, to_link) = Transport::memory();
    let ids: Vec<u8> = (1..=250).collect();
    let link = mavlink_link::link::spawn(t, ids.clone(), LinkConfig::default());
    let drones = ids
        .iter()
        .map(|&s| {
            (
                s,
                (
                    100 + usize::from(s),
                    dispatch_core::DroneId(format!("synthetic-{s}")),
                ),
            )
        })
        .collect();
    let hub = Hub::start(
        HubConfig {
            send_timeout: Duration::from_millis(500),
            batch_backlog: 4,
            ..HubConfig::default()
        },
        LinkDrones::for_fleet(h.fleet.links(), &h.state.scenario)
            .into_iter()
            .chain([LinkDrones { link, drones }])
            .collect(),
        Some(h.fleet.clone()),
    );
    let state = AppState {
        hub,
        ..h.state.clone()
    };
    tokio::spawn(async move {
        let mut seq = 0u8;
        for round in 0u32.. {
            let mut dg = Vec::new();
            for &s in &ids {
                let m = MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
                    lat: 303_000_000 + (round % 1000) as i32 * 10 + i32::from(s),
                    lon: 1_205_000_000,
                    relative_alt: 60_000,
                    time_boot_ms: round,
                    ..Default::default()
                });
                dg.extend(encode_v2(s, 1, seq, &m));
                seq = seq.wrapping_add(1);
            }
            if to_link.send(dg).is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    let addr = serve(state.clone()).await;
    let mut stuck = connect(addr, &format!("token={VIEWER}")).await;
    let mut healthy = connect(addr, &format!("token={VIEWER}")).await;
    assert_eq!(next_json(&mut healthy, 5).await["type"], "snapshot");
    // `stuck` never reads; `healthy` keeps reading. Within 60 s the server closes `stuck`.
    let end = Instant::now() + Duration::from_secs(60);
    let mut healthy_msgs = 0u64;
    loop {
        let (_, m) = call(&state, "GET", "/api/metrics", Some(VIEWER), None).await;
        if m["websocket"]["closed_slow"].as_u64().unwrap_or(0) >= 1 {
            break;
        }
        assert!(
            Instant::now() < end,
            "the stuck client was never closed: {m}"
        );
        while let Ok(Some(Ok(_))) =
            tokio::time::timeout(Duration::from_millis(5), healthy.next()).await
        {
            healthy_msgs += 1;
        }
    }
    assert!(
        healthy_msgs > 10,
        "the healthy client kept receiving: {healthy_msgs}"
    );
    // The healthy client still gets fresh telemetry after the close.
    until_json(&mut healthy, 5, |v| v["type"] == "telemetry").await;
    // The stuck client, reading at last, finds the close frame and its reason.
    let reason = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(m) = stuck.next().await {
            match m {
                Ok(Message::Close(Some(f))) => return Some(f.reason.to_string()),
                Ok(Message::Close(None)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
        None
    })
    .await
    .unwrap_or(None);
    if let Some(r) = reason {
        assert!(r.contains("too slow"), "close reason: {r}");
    }
}

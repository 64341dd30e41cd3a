//! Stills as evidence against the bundled simulator's cameras: one on the
//! serving drone's arrival on scene, one by the "snapshot" button, each in
//! the incident's time line with where the drone was, its JPEG kept in the
//! event log; and the refusals.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use http_body_util::BodyExt;
use serde_json::Value;
use sha2::Digest as _;
use support::{DISPATCHER, VIEWER, call, code, get_response, harness, harness_logged, scenario};

/// A high-rise fire a kilometre from the Haining hangar (thermal cameras).
const FIRE: &str = r#"{"kind": "highrise_fire", "lat": 30.5380, "lon": 120.6880}"#;

async fn report(s: &dispatch_server::AppState, body: &str) -> (u64, String) {
    let (st, v) = call(s, "POST", "/api/incidents", Some(DISPATCHER), Some(body)).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    (
        v["id"].as_u64().unwrap_or_default(),
        v["drone"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn stills(s: &dispatch_server::AppState, incident: u64) -> Vec<Value> {
    let (st, v) = call(
        s,
        "GET",
        &format!("/api/incidents/{incident}/stills"),
        Some(VIEWER),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v.as_array().cloned().unwrap_or_default()
}

/// The raw answer to a GET (the JPEG is no JSON).
async fn get_raw(s: &dispatch_server::AppState, uri: &str) -> (StatusCode, String, Vec<u8>) {
    let resp = get_response(s, uri).await;
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .to_bytes()
        .to_vec();
    (status, ctype, body)
}

fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let k = 111_320.0;
    let dx = (a.1 - b.1) * k * a.0.to_radians().cos();
    let dy = (a.0 - b.0) * k;
    (dx * dx + dy * dy).sqrt()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stills_are_kept_on_arrival_and_by_the_button_with_where_the_drone_was() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = fleet::store::SqliteStore::open(&dir.path().join("events.sqlite"))
        .unwrap_or_else(|e| panic!("{e}"));
    let h = harness_logged(scenario(), 50.0, Default::default(), Some(Box::new(store))).await;
    let s = &h.state;
    let (inc, drone) = report(s, FIRE).await;
    assert!(drone.starts_with("hn-"), "a Haining thermal drone: {drone}");

    // On arrival, the server keeps one still by itself.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let first = loop {
        if let Some(x) = stills(s, inc).await.first() {
            break x.clone();
        }
        assert!(std::time::Instant::now() < deadline, "no still on arrival");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(first["trigger"], "arrival", "{first}");
    assert_eq!(first["by"], "auto");
    assert_eq!(first["drone"], drone.as_str());
    assert_eq!(first["incident"], inc);
    let at = (
        first["position"]["lat"].as_f64().unwrap_or_default(),
        first["position"]["lon"].as_f64().unwrap_or_default(),
    );
    assert!(
        metres(at, (30.538, 120.688)) < 150.0,
        "taken over the scene: {first}"
    );
    assert!(
        first["alt_m"].as_f64().unwrap_or_default() > 20.0,
        "{first}"
    );

    // Its picture, by the URL it names, with the token in the query.
    let url = first["url"].as_str().unwrap_or_default().to_owned();
    let (st, ctype, jpeg) = get_raw(s, &format!("{url}?token={VIEWER}")).await;
    assert_eq!((st, ctype.as_str()), (StatusCode::OK, "image/jpeg"));
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    assert_eq!(
        jpeg.len() as u64,
        first["bytes"].as_u64().unwrap_or_default()
    );
    let digest = sha2::Sha256::digest(&jpeg);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(first["id"], hex.as_str());
    let (st, _, _) = get_raw(s, &url).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // The button: the serving drone's camera, by the dispatcher's token.
    let (st, v) = call(
        s,
        "POST",
        &format!("/api/incidents/{inc}/stills"),
        Some(DISPATCHER),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["trigger"], "manual");
    assert_ne!(v["by"], "auto");
    // The thermal stream of another drone, named.
    let (st, w) = call(
        s,
        "POST",
        &format!("/api/incidents/{inc}/stills"),
        Some(DISPATCHER),
        Some(r#"{"drone": "hy-1", "stream": 2}"#),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{w}");
    assert_eq!(
        (w["drone"].as_str(), w["stream"].as_u64()),
        (Some("hy-1"), Some(2))
    );
    let all = stills(s, inc).await;
    let ids: Vec<&Value> = all.iter().map(|x| &x["id"]).collect();
    assert_eq!(ids, vec![&first["id"], &v["id"], &w["id"]], "oldest first");
    // In the incident's time line from the log, beside its status changes.
    let (_, tl) = call(
        s,
        "GET",
        &format!("/api/incidents/{inc}/timeline"),
        Some(VIEWER),
        None,
    )
    .await;
    let kept = tl["events"]
        .as_array()
        .map_or(0, |e| e.iter().filter(|e| e["event"] == "still").count());
    assert_eq!(kept, 3, "{tl}");

    // Refusals say why.
    let post = |body: Option<&'static str>, token: &'static str, incident: u64| async move {
        call(
            s,
            "POST",
            &format!("/api/incidents/{incident}/stills"),
            Some(token),
            body,
        )
        .await
    };
    let (st, _) = post(None, VIEWER, inc).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, v) = post(None, DISPATCHER, 999).await;
    assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "{v}");
    let (st, v) = post(Some(r#"{"drone": "yg-1"}"#), DISPATCHER, inc).await;
    assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "no_camera"), "{v}");
    let (st, v) = post(Some(r#"{"drone": "nope"}"#), DISPATCHER, inc).await;
    assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "{v}");
    let (st, v) = post(Some(r#"{"colour": 1}"#), DISPATCHER, inc).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, v) = post(Some("{"), DISPATCHER, inc).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    for id in ["0000000000000000", "nope"] {
        let (st, _, _) = get_raw(s, &format!("/api/stills/{id}?token={VIEWER}")).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_event_log_a_still_is_refused_with_the_reason() {
    let h = harness().await;
    let s = &h.state;
    let (inc, _) = report(s, FIRE).await;
    let (st, v) = call(
        s,
        "POST",
        &format!("/api/incidents/{inc}/stills"),
        Some(DISPATCHER),
        Some(r#"{"drone": "hn-2"}"#),
    )
    .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::SERVICE_UNAVAILABLE, "no_event_log"),
        "{v}"
    );
    let (st, v) = call(
        s,
        "GET",
        &format!("/api/incidents/{inc}/stills"),
        Some(VIEWER),
        None,
    )
    .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::SERVICE_UNAVAILABLE, "no_event_log"),
        "{v}"
    );
}

//! `GET /api/drones/{id}/video` against the bundled simulator's cameras:
//! discovery puts each drone's camera on it, the relay serves MJPEG with
//! the token in the query, and refusals say why.

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use support::{VIEWER, call, code, harness};
use tower::ServiceExt;

async fn camera_of(s: &dispatch_server::AppState, drone: &str) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, d) = call(
            s,
            "GET",
            &format!("/api/drones/{drone}"),
            Some(VIEWER),
            None,
        )
        .await;
        if !d["camera"].is_null() {
            return d["camera"].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no camera on {drone}: {d}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovered_cameras_are_relayed_as_mjpeg_and_refusals_say_why() {
    let h = harness().await;
    let s = &h.state;
    let cam = camera_of(s, "hn-1").await;
    let streams = cam["streams"].as_array().cloned().unwrap_or_default();
    assert_eq!(streams.len(), 2, "{cam}");
    assert_eq!(streams[0]["kind"], "mjpeg");
    assert_eq!(streams[1]["thermal"], true);
    assert!(
        streams[0]["uri"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://127.0.0.1:"))
    );
    // A drone without a camera shows null, once its vehicle was asked.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, d) = call(s, "GET", "/api/drones/yg-1", Some(VIEWER), None).await;
    assert!(d["camera"].is_null(), "{d}");

    let (st, v) = call(s, "GET", "/api/drones/yg-1/video", Some(VIEWER), None).await;
    assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "no_camera"), "{v}");
    let (st, v) = call(s, "GET", "/api/drones/nope/video", Some(VIEWER), None).await;
    assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "{v}");
    let (st, v) = call(
        s,
        "GET",
        "/api/drones/hn-1/video?stream=9",
        Some(VIEWER),
        None,
    )
    .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::NOT_FOUND, "no_such_stream"),
        "{v}"
    );
    let (st, _) = call(s, "GET", "/api/drones/hn-1/video", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = call(s, "GET", "/api/drones/hn-1/video?token=wrong", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // The thermal stream, token in the query as an <img> sends it.
    let req = Request::get(format!("/api/drones/hn-1/video?stream=2&token={VIEWER}"))
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("{e}"));
    let resp = dispatch_server::app(s.clone())
        .oneshot(req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status(), StatusCode::OK);
    let ctype = resp.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(ctype, "multipart/x-mixed-replace; boundary=dispatch-frame");
    let mut body = resp.into_body();
    let mut buf = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let count = |b: &[u8]| b.windows(16).filter(|w| *w == b"--dispatch-frame").count();
    while count(&buf) < 3 {
        let f = tokio::time::timeout_at(deadline, body.frame())
            .await
            .unwrap_or_else(|_| panic!("{} parts in 15 s", count(&buf)))
            .unwrap_or_else(|| panic!("stream ended"))
            .unwrap_or_else(|e| panic!("{e}"));
        if let Ok(d) = f.into_data() {
            buf.extend_from_slice(&d);
        }
    }
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.starts_with("--dispatch-frame\r\nContent-Type: image/jpeg\r\nContent-Length: "),
        "{text:.80}"
    );
    assert!(buf.windows(2).any(|w| w == [0xFF, 0xD8]) && buf.windows(2).any(|w| w == [0xFF, 0xD9]));
    assert_eq!(s.video.running(), 1);
    drop(body);
}

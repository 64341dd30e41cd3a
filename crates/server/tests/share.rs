//! Share links through the router and over real sockets (port 0): a share
//! sees only what was shared, revoked and expired shares are refused and
//! their sockets closed, a wrong PIN is refused and rate limited, a link is
//! no API token, and shares with their openings come back from the log.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use dispatch_server::AppState;
use dispatch_server::share::Shares;
use futures_util::StreamExt;
use serde_json::Value;
use support::*;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const LAOYANCANG: &str = r#"{"kind":"person_in_water","lat":30.347,"lon":120.457,"note":"caller Li, phone 138 0000 0000"}"#;
const DAQUEKOU: &str = r#"{"kind":"person_in_water","lat":30.372,"lon":120.676}"#;

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

/// A clock `offset` seconds ahead of the wall clock, moved by the test.
fn clock() -> (Shares, Arc<AtomicI64>) {
    let offset = Arc::new(AtomicI64::new(0));
    let o = Arc::clone(&offset);
    let shares = Shares::with_clock(Arc::new(move || {
        chrono::Utc::now() + chrono::Duration::seconds(o.load(Ordering::Relaxed))
    }));
    (shares, offset)
}

/// Reports an incident; returns its id and drone.
async fn report(s: &AppState, body: &str) -> (u64, String) {
    let (st, v) = call(s, "POST", "/api/incidents", Some(DISPATCHER), Some(body)).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let drone = v["drone"].as_str().unwrap_or_default().to_owned();
    (v["id"].as_u64().unwrap_or_default(), drone)
}

/// Shares with `body`; returns the share's id and the link's token.
async fn share(s: &AppState, body: &str) -> (u64, String) {
    let (st, v) = call(s, "POST", "/api/shares", Some(DISPATCHER), Some(body)).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let url = v["url"].as_str().unwrap_or_default();
    let token = url.strip_prefix("/share/").unwrap_or_default().to_owned();
    assert_eq!(token.len(), 64, "{v}");
    assert!(v["expires_at"].is_string(), "{v}");
    (v["id"].as_u64().unwrap_or_default(), token)
}

async fn connect(addr: SocketAddr, token: &str, query: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/share/{token}{query}"))
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    ws
}

/// The next message within `secs`: a JSON text, or the close frame's code.
async fn next(ws: &mut Ws, secs: f64) -> Result<Value, Option<u16>> {
    loop {
        let m = tokio::time::timeout(Duration::from_secs_f64(secs), ws.next())
            .await
            .unwrap_or_else(|_| panic!("no message within {secs} s"));
        match m {
            Some(Ok(Message::Text(t))) => {
                return Ok(serde_json::from_str(t.as_str()).unwrap_or_else(|e| panic!("{e}")));
            }
            Some(Ok(Message::Close(f))) => return Err(f.map(|f| u16::from(f.code))),
            Some(Ok(_)) => {}
            None | Some(Err(_)) => return Err(None),
        }
    }
}

/// Reads until the socket closes (within `secs`); returns the close code.
async fn closed_within(ws: &mut Ws, secs: f64) -> Option<u16> {
    let end = Instant::now() + Duration::from_secs_f64(secs);
    loop {
        let left = end.saturating_duration_since(Instant::now()).as_secs_f64();
        assert!(left > 0.0, "the socket was not closed within {secs} s");
        if let Err(code) = next(ws, left).await {
            return code;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_sees_only_its_incident_and_drone_and_is_no_api_token() {
    let h = harness().await;
    let s = &h.state;
    let addr = serve(s.clone()).await;
    let (mine, drone) = report(s, LAOYANCANG).await;
    assert!(!drone.is_empty());
    // Who may share, and what: named errors.
    let (st, v) = call(
        s,
        "POST",
        "/api/shares",
        Some(VIEWER),
        Some(r#"{"incident": 1}"#),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (st, v) = call(
        s,
        "POST",
        "/api/shares",
        Some(DISPATCHER),
        Some(r#"{"incident": 99}"#),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "{v}");
    let (st, v) = call(
        s,
        "POST",
        "/api/shares",
        Some(DISPATCHER),
        Some(r#"{"drone": "zz-9"}"#),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(message(&v).contains("zz-9"), "{v}");
    let (st, v) = call(
        s,
        "POST",
        "/api/shares",
        Some(DISPATCHER),
        Some(r#"{"incident": 1, "expires_in_s": 100000}"#),
    )
    .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field")
    );
    assert!(message(&v).contains("expires_in_s"), "{v}");

    let (id, token) = share(s, &format!(r#"{{"incident": {mine}}}"#)).await;
    // The view's state: the incident without its intake, and its drone only.
    let (st, view) = call(s, "GET", &format!("/api/share/{token}"), None, None).await;
    assert_eq!(st, StatusCode::OK, "{view}");
    assert_eq!(view["shared"], "incident");
    assert_eq!(view["incident"]["id"], mine);
    for hidden in ["note", "source", "external_id", "assignment"] {
        assert!(
            view["incident"].get(hidden).is_none(),
            "{hidden} shown: {view}"
        );
    }
    assert_eq!(view["incident"]["route"]["type"], "LineString");
    let drones: Vec<&str> = view["drones"].as_array().map_or(Vec::new(), |d| {
        d.iter().filter_map(|x| x["id"].as_str()).collect()
    });
    assert_eq!(drones, vec![drone.as_str()]);
    // The text of the whole answer names no other drone or incident.
    let text = view.to_string();
    assert!(!text.contains("caller Li"), "{text}");

    // The socket: first the view, then only the shared drone and incident,
    // while another incident flies another drone.
    let mut ws = connect(addr, &token, "").await;
    let first = next(&mut ws, 5.0)
        .await
        .unwrap_or_else(|c| panic!("closed {c:?}"));
    assert_eq!(first["type"], "share");
    assert_eq!(first["view"]["incident"]["id"], mine);
    let (other, other_drone) = report(s, DAQUEKOU).await;
    assert_ne!(other_drone, drone);
    let end = Instant::now() + Duration::from_secs(8);
    let (mut telemetry, mut incident_msgs) = (0, 0);
    while Instant::now() < end {
        let left = end
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
            .max(0.1);
        let Ok(Some(Ok(Message::Text(t)))) =
            tokio::time::timeout(Duration::from_secs_f64(left), ws.next()).await
        else {
            continue;
        };
        let v: Value = serde_json::from_str(t.as_str()).unwrap_or_default();
        match v["type"].as_str() {
            Some("telemetry") => {
                telemetry += 1;
                for e in v["drones"].as_array().into_iter().flatten() {
                    assert_eq!(e["drone"], drone.as_str(), "another drone's telemetry: {v}");
                }
            }
            Some("incident") => {
                incident_msgs += 1;
                assert_eq!(v["incident"]["id"], mine, "another incident: {v}");
                assert!(v["incident"].get("note").is_none(), "{v}");
            }
            Some("drone") => assert_eq!(v["drone"], drone.as_str(), "{v}"),
            other => panic!("a {other:?} message reached a shared view: {v}"),
        }
    }
    assert!(telemetry > 0, "no telemetry of {drone}");
    let _ = (other, incident_msgs);

    // The link is no API token, on the API or the main socket.
    for uri in ["/api/incidents", "/api/drones", "/api/shares"] {
        let (st, v) = call(s, "GET", uri, Some(&token), None).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{uri}"
        );
    }
    match tokio_tungstenite::connect_async(format!("ws://{addr}/ws?token={token}")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("the main socket took a share token: {other:?}"),
    }
    // The dispatcher's list: the share with its opening, never its token.
    let (st, list) = call(s, "GET", "/api/shares", Some(DISPATCHER), None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(!list.to_string().contains(&token), "{list}");
    let it = list
        .as_array()
        .and_then(|l| l.iter().find(|x| x["id"] == id))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (it["incident"].clone(), it["status"].clone()),
        (mine.into(), "active".into())
    );
    assert_eq!(it["opened"], 1, "{it}");
    let (st, _) = call(s, "GET", "/api/shares", Some(VIEWER), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_and_expired_shares_are_refused_and_their_sockets_closed() {
    let h = harness().await;
    let (shares, offset) = clock();
    let s = &h.state.clone().with_shares(shares);
    let addr = serve(s.clone()).await;
    let (inc, _) = report(s, LAOYANCANG).await;
    let (a, token_a) = share(s, &format!(r#"{{"incident": {inc}}}"#)).await;
    let (_, token_b) = share(s, r#"{"drone": "hn-1", "expires_in_s": 600}"#).await;
    let mut ws_a = connect(addr, &token_a, "").await;
    let mut ws_b = connect(addr, &token_b, "").await;
    assert_eq!(
        next(&mut ws_a, 5.0).await.map(|v| v["type"].clone()),
        Ok("share".into())
    );
    let b = next(&mut ws_b, 5.0).await.unwrap_or_default();
    assert_eq!(b["view"]["drones"][0]["id"], "hn-1", "{b}");

    // Revoked: the socket is closed within a second, the link refused.
    let (st, _) = call(
        s,
        "DELETE",
        &format!("/api/shares/{a}"),
        Some(DISPATCHER),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(closed_within(&mut ws_a, 1.0).await, Some(4403));
    let (st, v) = call(s, "GET", &format!("/api/share/{token_a}"), None, None).await;
    assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "share_revoked"));
    let (st, _) = call(s, "GET", &format!("/share/{token_a}"), None, None).await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "no web dir in tests: the page is not served"
    );
    match tokio_tungstenite::connect_async(format!("ws://{addr}/ws/share/{token_a}")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 403),
        other => panic!("a revoked share's socket opened: {other:?}"),
    }
    let (st, v) = call(
        s,
        "DELETE",
        &format!("/api/shares/{a}"),
        Some(DISPATCHER),
        None,
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "conflict"));
    let (st, _) = call(s, "DELETE", "/api/shares/999", Some(DISPATCHER), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = call(s, "DELETE", "/api/shares/abc", Some(DISPATCHER), None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    // Expired: ten minutes on, the other socket is closed within a second.
    offset.store(601, Ordering::Relaxed);
    assert_eq!(closed_within(&mut ws_b, 1.0).await, Some(4410));
    let (st, v) = call(s, "GET", &format!("/api/share/{token_b}"), None, None).await;
    assert_eq!((st, code(&v)), (StatusCode::GONE, "share_expired"));
    let (_, list) = call(s, "GET", "/api/shares", Some(DISPATCHER), None).await;
    let statuses: Vec<&str> = list.as_array().map_or(Vec::new(), |l| {
        l.iter().filter_map(|x| x["status"].as_str()).collect()
    });
    assert_eq!(statuses, vec!["expired", "revoked"], "{list}");
    // An unknown token, and one that is no token at all.
    for t in ["0".repeat(64), "nope".to_owned()] {
        let (st, v) = call(s, "GET", &format!("/api/share/{t}"), None, None).await;
        assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "{t}");
    }
    let _ = CloseCode::Normal;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_pin_is_refused_then_the_link_is_locked_for_a_while() {
    let h = harness().await;
    let (shares, offset) = clock();
    let s = &h.state.clone().with_shares(shares);
    let addr = serve(s.clone()).await;
    let (_, token) = share(s, r#"{"drone": "yg-2", "pin": "2468"}"#).await;
    let get = |pin: &str| {
        let uri = if pin.is_empty() {
            format!("/api/share/{token}")
        } else {
            format!("/api/share/{token}?pin={pin}")
        };
        async move { call(s, "GET", &uri, None, None).await }
    };
    let (st, v) = get("").await;
    assert_eq!((st, code(&v)), (StatusCode::UNAUTHORIZED, "pin_required"));
    match tokio_tungstenite::connect_async(format!("ws://{addr}/ws/share/{token}")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("a socket opened without the PIN: {other:?}"),
    }
    for left in [4, 3, 2, 1] {
        let (st, v) = get("1111").await;
        assert_eq!((st, code(&v)), (StatusCode::UNAUTHORIZED, "wrong_pin"));
        assert!(message(&v).contains(&format!("{left} more")), "{v}");
    }
    let (st, v) = get("1111").await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "pin_locked")
    );
    // Locked: the right PIN waits too.
    let (st, v) = get("2468").await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "pin_locked"),
        "{v}"
    );
    // Five minutes on, the right PIN opens the view and its socket.
    offset.store(301, Ordering::Relaxed);
    let (st, v) = get("2468").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["drones"][0]["id"], "yg-2");
    let mut ws = connect(addr, &token, "?pin=2468").await;
    assert_eq!(
        next(&mut ws, 5.0).await.map(|v| v["type"].clone()),
        Ok("share".into())
    );
    // A malformed query is named.
    let (st, v) = call(s, "GET", &format!("/api/share/{token}?pn=2468"), None, None).await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "bad_request"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shares_and_their_openings_come_back_from_the_event_log() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = fleet::store::SqliteStore::open(&dir.path().join("events.sqlite"))
        .unwrap_or_else(|e| panic!("{e}"));
    let h = harness_logged(scenario(), 50.0, Default::default(), Some(Box::new(store))).await;
    let s = &h.state;
    let (kept, token) = share(s, r#"{"drone": "yg-3", "pin": "1357"}"#).await;
    let (gone, _) = share(s, r#"{"drone": "lyc-2"}"#).await;
    let (st, _) = call(
        s,
        "GET",
        &format!("/api/share/{token}?pin=1357"),
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = call(
        s,
        "DELETE",
        &format!("/api/shares/{gone}"),
        Some(DISPATCHER),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, before) = call(s, "GET", "/api/shares", Some(DISPATCHER), None).await;

    // A server starting on this log: the same shares, openings and PIN.
    let again = s.clone().with_shares(Shares::default());
    let n = again
        .shares
        .recover(&h.fleet)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, 4, "created twice, opened, revoked");
    let (_, after) = call(&again, "GET", "/api/shares", Some(DISPATCHER), None).await;
    assert_eq!(after, before);
    let (st, v) = call(&again, "GET", &format!("/api/share/{token}"), None, None).await;
    assert_eq!((st, code(&v)), (StatusCode::UNAUTHORIZED, "pin_required"));
    let (st, _) = call(
        &again,
        "GET",
        &format!("/api/share/{token}?pin=1357"),
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    // New ids go on after the old ones.
    let (next_id, _) = share(&again, r#"{"drone": "dq-2"}"#).await;
    assert!(next_id > kept.max(gone), "{next_id}");
    // The log holds the token's hash, never the token.
    let raw = std::fs::read(dir.path().join("events.sqlite")).unwrap_or_default();
    let wal = std::fs::read(dir.path().join("events.sqlite-wal")).unwrap_or_default();
    for bytes in [raw, wal] {
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "the token is in the log in clear"
        );
    }
}

/// Reads `resp`'s body until `parts` frames came; None if it ended first.
async fn frames(
    body: &mut axum::body::Body,
    parts: usize,
    secs: f64,
) -> Result<usize, &'static str> {
    use http_body_util::BodyExt as _;
    let mut buf = Vec::new();
    let count = |b: &[u8]| b.windows(16).filter(|w| *w == b"--dispatch-frame").count();
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(secs);
    while count(&buf) < parts {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err("timed out"),
            Ok(None) => return Err("ended"),
            Ok(Some(Err(_))) => return Err("failed"),
            Ok(Some(Ok(f))) => {
                if let Ok(d) = f.into_data() {
                    buf.extend_from_slice(&d);
                }
            }
        }
    }
    Ok(count(&buf))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_shows_its_drones_video_in_its_time_zone_until_it_is_revoked() {
    let h = harness().await;
    let s = &h.state;
    let (id, token) = share(s, r#"{"drone": "hn-1", "pin": "2468"}"#).await;
    let (st, view) = call(
        s,
        "GET",
        &format!("/api/share/{token}?pin=2468"),
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{view}");
    assert_eq!(view["time_zone"], "Asia/Shanghai");
    // Once discovered, the shared drone says it has a camera.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, v) = call(
            s,
            "GET",
            &format!("/api/share/{token}?pin=2468"),
            None,
            None,
        )
        .await;
        if v["drones"][0]["camera"] == true {
            break;
        }
        assert!(Instant::now() < deadline, "no camera in the view: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let get = |uri: String| async move { get_response(s, &uri).await };
    // Without its PIN, for a drone not shared: refused, and no opening logged.
    let r = get(format!("/api/share/{token}/drones/hn-1/video")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = get(format!("/api/share/{token}/drones/yg-1/video?pin=2468")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = get(format!("/api/share/{token}/drones/hn-1/video?pin=2468")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["content-type"],
        "multipart/x-mixed-replace; boundary=dispatch-frame"
    );
    let mut body = r.into_body();
    assert_eq!(frames(&mut body, 2, 15.0).await, Ok(2));
    let (_, list) = call(s, "GET", "/api/shares", Some(DISPATCHER), None).await;
    assert_eq!(
        list[0]["opened"], 1,
        "the view's reads (one visitor), not the video: {list}"
    );
    // Revoked: the video ends within a second.
    let (st, _) = call(
        s,
        "DELETE",
        &format!("/api/shares/{id}"),
        Some(DISPATCHER),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(frames(&mut body, usize::MAX, 1.5).await, Err("ended"));
    let r = get(format!("/api/share/{token}/drones/hn-1/video?pin=2468")).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incidents_share_shows_its_drones_video_only_while_the_drone_serves_it() {
    let h = harness().await;
    let s = &h.state;
    let (st, inc) = call(
        s,
        "POST",
        "/api/incidents",
        Some(DISPATCHER),
        Some(r#"{"kind": "highrise_fire", "lat": 30.5380, "lon": 120.6880}"#),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{inc}");
    let (incident, drone) = (inc["id"].as_u64().unwrap_or_default(), inc["drone"].clone());
    assert_eq!(drone, "hn-1", "{inc}");
    let (_, token) = share(s, &format!(r#"{{"incident": {incident}}}"#)).await;
    let get = |uri: String| async move { get_response(s, &uri).await };
    // The camera is discovered once the link is up.
    let deadline = Instant::now() + Duration::from_secs(30);
    let r = loop {
        let r = get(format!("/api/share/{token}/drones/hn-1/video")).await;
        if r.status() == StatusCode::OK {
            break r;
        }
        assert!(Instant::now() < deadline, "no video: {}", r.status());
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let mut body = r.into_body();
    assert_eq!(frames(&mut body, 2, 15.0).await, Ok(2));
    // The incident ends: its drone's camera is no longer the share's, and
    // a still without a named drone is refused (the drone may fly another
    // sortie by now).
    let (st, v) = call(
        s,
        "POST",
        &format!("/api/incidents/{incident}/cancel"),
        Some(DISPATCHER),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(frames(&mut body, usize::MAX, 3.0).await, Err("ended"));
    let r = get(format!("/api/share/{token}/drones/hn-1/video")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (st, v) = call(
        s,
        "POST",
        &format!("/api/incidents/{incident}/stills"),
        Some(DISPATCHER),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
}

//! The cluster's bus against a real NATS server: a NATS server of the
//! test's own (`nats-server` from Debian's package, on a free loopback port,
//! with JetStream, and a small `max_payload` so that large answers must be
//! cut in chunks), a leader answering with its router, and a follower's
//! side asking.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::http::StatusCode;
use dispatch_server::bus::forward::ForwardError;
use dispatch_server::bus::{Bus, answer, events};
use dispatch_server::{Hub, HubConfig};
use serde_json::Value;
use support::*;

/// A nats-server of the test's own; killed on drop.
struct Nats {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nats_server() -> Nats {
    let bin = [
        "/usr/sbin/nats-server",
        "/usr/bin/nats-server",
        "/usr/local/bin/nats-server",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).is_file())
    .unwrap_or_else(|| panic!("this test needs nats-server (apt-get install nats-server)"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
        .port();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let conf = dir.path().join("nats.conf");
    std::fs::write(
        &conf,
        format!(
            "listen: 127.0.0.1:{port}\nmax_payload: 16384\njetstream {{ store_dir: \"{}\" }}\n",
            dir.path().join("js").display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let child = Command::new(bin)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "nats-server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Nats {
        child,
        url: format!("nats://127.0.0.1:{port}"),
        _dir: dir,
    }
}

async fn connected(url: &str, node: &str) -> Bus {
    let bus = Bus::connect(url, "test.fleet", node)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..100 {
        if bus.is_connected() {
            return bus;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not connected to {url}");
}

fn auth(token: &str) -> Vec<(String, String)> {
    vec![("authorization".into(), format!("Bearer {token}"))]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_gets_the_leaders_answers_events_and_snapshot_over_nats() {
    let nats = nats_server();
    let h = harness().await;
    let leader = connected(&nats.url, "lead").await;
    let follower = connected(&nats.url, "follow").await;
    answer::serve(leader.clone(), h.state.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    events::publish(leader.clone(), &h.state.hub);
    events::keep(&leader)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let hub = Hub::start(HubConfig::default(), Vec::new(), None);
    let mut feed = hub.event_feed();
    events::follow(follower.clone(), hub.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // A read: the leader's answer, whole.
    let a = follower
        .forward_http(
            "lead",
            "GET",
            "/api/drones",
            &auth(VIEWER),
            Default::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.status, StatusCode::OK);
    let drones: Value = serde_json::from_slice(&a.body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(drones.as_array().map(Vec::len), Some(15));
    // Larger than one message (16 KiB here): cut and put back together.
    let a = follower
        .forward_http("lead", "GET", "/api/openapi.json", &[], Default::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(a.body.len() > 3 * 16384, "{} bytes", a.body.len());
    let doc: Value = serde_json::from_slice(&a.body).unwrap_or_else(|e| panic!("{e}"));
    assert!(doc["paths"]["/api/incidents"].is_object());
    let snap = follower
        .snapshot("lead")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let snap: Value = serde_json::from_slice(&snap).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["drones"].as_array().map(Vec::len), Some(15));

    // A write is the leader's: its authorization, its validation, its commit.
    let report = br#"{"kind":"person_in_water","lat":30.347,"lon":120.457,"source":"t","external_id":"x-1"}"#;
    let mut json = auth(VIEWER);
    json.push(("content-type".into(), "application/json".into()));
    let a = follower
        .forward_http("lead", "POST", "/api/incidents", &json, report[..].into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.status, StatusCode::FORBIDDEN, "a viewer may not report");
    let mut json = auth(DISPATCHER);
    json.push(("content-type".into(), "application/json".into()));
    let a = follower
        .forward_http("lead", "POST", "/api/incidents", &json, report[..].into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        a.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&a.body)
    );
    let created: Value = serde_json::from_slice(&a.body).unwrap_or_else(|e| panic!("{e}"));
    let again = follower
        .forward_http("lead", "POST", "/api/incidents", &json, report[..].into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        again.status,
        StatusCode::OK,
        "the retried report finds its incident"
    );
    let again: Value = serde_json::from_slice(&again.body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again["id"], created["id"]);
    let (_, local) = call(&h.state, "GET", "/api/incidents", Some(VIEWER), None).await;
    assert_eq!(local.as_array().map(Vec::len), Some(1), "{local}");

    // Its events reach the follower's hub in the leader's words.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while !seen.iter().any(|m: &Value| m["type"] == "incident") {
        let text = tokio::time::timeout_at(deadline, feed.recv())
            .await
            .unwrap_or_else(|_| panic!("no incident event from the bus; saw {seen:?}"))
            .unwrap_or_else(|e| panic!("{e}"));
        seen.push(serde_json::from_str(text.as_str()).unwrap_or_else(|e| panic!("{e}")));
    }
    let health = follower.health();
    assert!(
        health.events_received >= 1 && health.forwarded >= 6,
        "{health:?}"
    );
    assert!(leader.health().events_published >= 1);

    // The stream keeps them.
    let js = async_nats::jetstream::new(
        async_nats::connect(nats.url.as_str())
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let mut stream = js
        .get_stream(leader.stream_name())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let info = stream.info().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.config.subjects, vec!["test.fleet.events.>".to_owned()]);
    assert!(info.state.messages >= 1, "{:?}", info.state);

    // Nobody answers for a server that is not there: at once, not after a timeout.
    let t = std::time::Instant::now();
    let e = follower
        .forward_http(
            "gone",
            "GET",
            "/api/drones",
            &auth(VIEWER),
            Default::default(),
        )
        .await
        .err();
    assert_eq!(e, Some(ForwardError::NoResponders("gone".into())));
    assert!(t.elapsed() < Duration::from_secs(5));
}

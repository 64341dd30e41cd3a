//! `dispatcher serve --database postgres://...`: the event log in
//! PostgreSQL survives a `kill -9`, and a bad database is a clear error at
//! start. Each run has a fresh database on `DISPATCH_TEST_POSTGRES`
//! (default: the local server), dropped at the end even when the test
//! fails; without a server the test fails and says how to start one.

mod common;

use std::process::Command;

use common::{Serve, TestDb, http, root};

const DEMO: &str = "config/haining.toml";
const PIW: &str = r#"{"kind":"person_in_water","lat":30.347,"lon":120.457,"source":"call-centre","external_id":"call-1"}"#;

#[test]
fn an_incident_reported_to_a_server_on_postgres_is_there_after_kill_9() {
    let db = TestDb::new();
    let mut first = start(DEMO, &["--database", &db.url]);
    assert!(
        first.wait_for("event log in PostgreSQL postgres://"),
        "{}",
        first.output()
    );
    let (status, inc) = http(
        &first.addr,
        "POST",
        "/api/incidents",
        "demo-dispatcher",
        PIW,
    );
    assert_eq!((status, inc["id"].as_u64()), (201, Some(1)), "{inc}");
    // Answered once durable: SIGKILL loses nothing.
    first.kill();

    // The second start takes the database from the config's [cluster].
    let config = cluster_config(&db);
    let mut second = start(&config.path, &[]);
    assert!(
        second.wait_for("recovered from the event log: 1 incident(s)"),
        "{}",
        second.output()
    );
    let (status, inc) = http(&second.addr, "GET", "/api/incidents/1", "demo-viewer", "");
    assert_eq!(status, 200, "{inc}");
    assert_eq!(inc["external_id"], "call-1", "{inc}");
    // Time lines read the log through the reader's own connection.
    let (status, tl) = http(
        &second.addr,
        "GET",
        "/api/incidents/1/timeline",
        "demo-viewer",
        "",
    );
    assert_eq!(
        (status, tl["source"].as_str()),
        (200, Some("event_log")),
        "{tl}"
    );
    let kinds: Vec<&str> = tl["events"]
        .as_array()
        .map(|v| v.iter().filter_map(|e| e["event"].as_str()).collect())
        .unwrap_or_default();
    assert!(kinds.contains(&"incident"), "{tl}");
    // The same report again is the same incident (its key was kept); the
    // numbering goes on.
    let (status, again) = http(
        &second.addr,
        "POST",
        "/api/incidents",
        "demo-dispatcher",
        PIW,
    );
    assert_eq!((status, again["id"].as_u64()), (200, Some(1)), "{again}");
    let other = r#"{"kind":"spectator_in_danger_zone","lat":30.40,"lon":120.60}"#;
    let (status, two) = http(
        &second.addr,
        "POST",
        "/api/incidents",
        "demo-dispatcher",
        other,
    );
    assert_eq!((status, two["id"].as_u64()), (201, Some(2)), "{two}");
    second.kill();
}

/// The demo's config with `[cluster] database` in place of its SQLite
/// `event_log`, in a temporary file removed when dropped.
struct TempConfig {
    path: String,
}

impl Drop for TempConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn cluster_config(db: &TestDb) -> TempConfig {
    let demo = std::fs::read_to_string(root().join("config/haining.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let zones = root().join("config/zones/haining.geojson");
    let text = demo
        .replacen(
            "zones = \"zones/haining.geojson\"",
            &format!("zones = {:?}", zones.display().to_string()),
            1,
        )
        .replacen("event_log = \"../var/haining-events.sqlite\"", "", 1)
        + &format!("\n[cluster]\ndatabase = {:?}\n", db.url);
    let path = std::env::temp_dir().join(format!("serve-postgres-{}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    TempConfig {
        path: path.display().to_string(),
    }
}

#[test]
fn an_unreachable_database_or_a_file_for_a_url_is_an_error_at_start() {
    // Port 1: nothing listens there.
    let out = serve_output(&["--database", "postgres://disp:hunter2@127.0.0.1:1/dispatch"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "event log postgres://disp@127.0.0.1:1/dispatch: the database is unreachable (cannot connect)"
        ),
        "{err}"
    );
    assert!(
        !err.contains("hunter2") && !err.contains("panicked"),
        "{err}"
    );
    let out = serve_output(&["--database", "var/events.sqlite"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("expected a PostgreSQL URL") && err.contains("--event-log PATH"),
        "{err}"
    );
}

/// `serve` of the demo (or `config`) with its own simulated fleet.
fn serve_args(config: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "serve",
        "--config",
        config,
        "--listen",
        "127.0.0.1:0",
        "--sim",
        "--sim-speedup",
        "20",
        "--time",
        "2026-09-28T13:00:00+08:00",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// `serve` of `config` with its simulated fleet.
fn start(config: &str, extra: &[&str]) -> Serve {
    Serve::run(&serve_args(config, extra))
}

fn serve_output(extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dispatcher"))
        .args(serve_args(DEMO, extra))
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run dispatcher: {e}"))
}

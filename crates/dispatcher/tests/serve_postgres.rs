//! `dispatcher serve --database postgres://...`: the event log in
//! PostgreSQL survives a `kill -9`, and a bad database is a clear error at
//! start. Each run has a fresh database on `DISPATCH_TEST_POSTGRES`
//! (default: the local server), dropped at the end even when the test
//! fails; without a server the test fails and says how to start one.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const DEMO: &str = "config/haining.toml";
const PIW: &str = r#"{"kind":"person_in_water","lat":30.347,"lon":120.457,"source":"call-centre","external_id":"call-1"}"#;

#[test]
fn an_incident_reported_to_a_server_on_postgres_is_there_after_kill_9() {
    let db = TestDb::new();
    let mut first = Serve::start(DEMO, &["--database", &db.url]);
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
    let mut second = Serve::start(&config.path, &[]);
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
        err.contains("event log postgres://disp@127.0.0.1:1/dispatch: cannot connect"),
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

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn serve_output(extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dispatcher"))
        .args(serve_args(DEMO, extra))
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run dispatcher: {e}"))
}

/// A running `dispatcher serve`, killed when dropped.
struct Serve {
    child: Child,
    addr: String,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Serve {
    fn start(config: &str, extra: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dispatcher"))
            .args(serve_args(config, extra))
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run dispatcher: {e}"));
        let (tx, lines) = mpsc::channel();
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            // Read to the end, so that the server never blocks on a full pipe.
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        let mut s = Serve {
            child,
            addr: String::new(),
            lines,
            seen: Vec::new(),
        };
        assert!(s.wait_for("map and API at http://"), "{}", s.output());
        let line = s.seen.iter().find(|l| l.contains("map and API at http://"));
        s.addr = line
            .and_then(|l| l.split("http://").nth(1))
            .and_then(|r| r.split('/').next())
            .unwrap_or_default()
            .to_owned();
        s
    }

    /// Waits (at most 60 s) for a line containing `text`; false if the
    /// server ended or it never came.
    fn wait_for(&mut self, text: &str) -> bool {
        if self.seen.iter().any(|l| l.contains(text)) {
            return true;
        }
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(60)) {
            let found = line.contains(text);
            self.seen.push(line);
            if found {
                return true;
            }
        }
        false
    }

    fn output(&self) -> String {
        self.seen.join("\n")
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One HTTP/1.1 request; the status and the JSON body.
fn http(addr: &str, method: &str, path: &str, token: &str, body: &str) -> (u16, serde_json::Value) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap_or_else(|e| panic!("{e}"));
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        unchunk(body)
    } else {
        body.to_owned()
    };
    let json = serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body));
    (status, json)
}

fn unchunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A database made for one test, dropped at the end.
struct TestDb {
    admin: String,
    name: String,
    url: String,
}

impl TestDb {
    fn new() -> TestDb {
        let admin = std::env::var("DISPATCH_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("dispatch_test_serve_{}", std::process::id());
        let mut c = admin_client(&admin);
        // (Two statements: CREATE DATABASE cannot run inside a transaction.)
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            c.batch_execute(&sql)
                .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e:?}"));
        }
        // The same server and user, the new database.
        let (base, query) = admin.split_once('?').unwrap_or((&admin, ""));
        let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
        let url = if query.is_empty() {
            format!("{base}/{name}")
        } else {
            format!("{base}/{name}?{query}")
        };
        TestDb { admin, name, url }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = admin_client(&self.admin).batch_execute(&sql) {
            eprintln!("cannot drop the test database {}: {e:?}", self.name);
        }
    }
}

fn admin_client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable at {url}: {e}\n\
             This test needs one. scripts/test.sh starts a private one when none answers;\n\
             or install Debian's `postgresql` (apt-get install postgresql; pg_ctlcluster 15 main start)\n\
             or point DISPATCH_TEST_POSTGRES at a server where this user may create databases\n\
             (postgres://USER@HOST:PORT/postgres)."
        )
    })
}

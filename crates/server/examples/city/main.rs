//! City-scale telemetry on the real `dispatcher serve` (figures in
//! docs/performance.md, "City scale").
//!
//! ```sh
//! cargo build --release -p dispatcher -p dispatch-server --bin dispatcher --example city
//! target/release/examples/city --dispatcher target/release/dispatcher
//! # options: --config config/jiaxing-1000.toml --clients 200 --warmup 20
//! #   --duration 30 --links-timeout 90 --sim-speedup 10
//! #   --links-required N (default: every configured drone)
//! #   --time 2026-09-28T13:00:00+08:00 (the binary: --dispatcher, else $DISPATCHER)
//! # on a cluster (cluster.rs): --servers 3 [--postgres URL] [--nats URL]
//! #   [--drone-sim PATH] (defaults: $DISPATCH_TEST_POSTGRES, else
//! #   postgres://postgres@127.0.0.1:5432/postgres; $DISPATCH_TEST_NATS, else
//! #   nats://127.0.0.1:4222; $DRONE_SIM, else drone-sim beside the dispatcher)
//! ```
//!
//! Unlike `load fanout`, nothing here is in-process: the dispatcher binary
//! runs as a child (`serve --sim`, so its bundled simulator flies every
//! configured drone over loopback MAVLink), and this process only talks to it
//! over HTTP and websockets, as the map does. It waits until
//! `GET /api/health` reports every drone's link up, then measures twice in
//! the same run: with one websocket client (the baseline), then with
//! `--clients`. Each measurement has a warm-up, then a measured period in
//! which every client records, per telemetry entry, its receive wall time
//! minus the entry's `time` (the wall ms at which the server stamped it, when
//! it built the batch) and which drones it saw. Also read: the server's own
//! histogram (`GET /api/metrics`: a frame's arrival on its link to the
//! websocket frame leaving, since the server started; it cannot be reset from
//! outside), `GET /api/health` every 5 s (drones whose link is up, frames
//! ingested), and from /proc the serve process's CPU (all of it, and the
//! simulator's thread alone), its memory, and the receive queues and drops
//! of its MAVLink UDP sockets (/proc/net/udp: a frame waiting there is in no
//! histogram, a frame dropped there never reaches the server). One JSON line
//! on stdout; progress on stderr; the child's output goes to a log file
//! named on stderr.

mod cluster;
mod measure;
mod procs;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use measure::{Target, phase, round};

/// Phases of a measurement, as the client tasks see them.
const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const DONE: u8 = 2;

/// The name of the thread `serve --sim` runs its simulator on.
const SIM_THREAD: &str = "drone-sim";

/// Where a telemetry entry starts (`TelemetryEntry` serializes `drone` first).
const ENTRY: &str = r#"{"drone":""#;
const STAMP: &str = r#""time":"#;

struct Opts {
    dispatcher: PathBuf,
    config: String,
    clients: usize,
    warmup: f64,
    duration: f64,
    links_timeout: f64,
    /// Drones whose link must be up before measuring (default: all configured).
    links_required: Option<u64>,
    speedup: f64,
    time: String,
    /// Servers: 1 (`serve --sim`), or a cluster of this many (cluster.rs).
    servers: usize,
    postgres: String,
    nats: String,
    drone_sim: PathBuf,
}

/// What one websocket client saw in the measured period.
struct ClientStats {
    /// Client receive wall time minus the entry's `time`, µs.
    latency_us: Histogram<u64>,
    messages: u64,
    /// Of which telemetry (the rest: events, alerts, snapshots).
    telemetry: u64,
    bytes: u64,
    entries: u64,
    /// Entries without a readable `time`.
    unstamped: u64,
    /// Telemetry messages also parsed in full, and how many of them the
    /// scanner read differently (it relies on the entries' field names).
    checked: u64,
    mismatched: u64,
    drones: HashSet<String>,
    /// Why the connection ended before the measurement did, if it did.
    ended: Option<String>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    if let Err(e) = rt.block_on(run(&args)) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn opts(args: &[String]) -> Opts {
    let default_bin =
        std::env::var("DISPATCHER").unwrap_or_else(|_| "target/release/dispatcher".into());
    Opts {
        dispatcher: PathBuf::from(arg(args, "--dispatcher", default_bin.clone())),
        config: arg(args, "--config", "config/jiaxing-1000.toml".to_owned()),
        clients: arg(args, "--clients", 200),
        warmup: arg(args, "--warmup", 20.0),
        duration: arg(args, "--duration", 30.0),
        links_timeout: arg(args, "--links-timeout", 90.0),
        links_required: args
            .iter()
            .position(|a| a == "--links-required")
            .and_then(|i| args.get(i + 1)?.parse().ok()),
        speedup: arg(args, "--sim-speedup", 10.0),
        time: arg(args, "--time", "2026-09-28T13:00:00+08:00".to_owned()),
        servers: arg(args, "--servers", 1),
        postgres: arg(
            args,
            "--postgres",
            std::env::var("DISPATCH_TEST_POSTGRES")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
        ),
        nats: arg(
            args,
            "--nats",
            std::env::var("DISPATCH_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into()),
        ),
        drone_sim: PathBuf::from(arg(
            args,
            "--drone-sim",
            std::env::var("DRONE_SIM").unwrap_or_else(|_| {
                Path::new(&arg(args, "--dispatcher", default_bin.clone()))
                    .with_file_name("drone-sim")
                    .display()
                    .to_string()
            }),
        )),
    }
}

/// Starts a child with its output into a log file (named on stderr); it is
/// killed when dropped.
fn spawn_logged(
    bin: &Path,
    args: &[String],
    name: &str,
) -> Result<(tokio::process::Child, PathBuf), String> {
    let log_path = std::env::temp_dir().join(format!("city-{name}-{}.log", std::process::id()));
    let log =
        std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    eprintln!(
        "city: {} {}  (output in {})",
        bin.display(),
        args.join(" "),
        log_path.display()
    );
    let child = tokio::process::Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log2))
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    Ok((child, log_path))
}

async fn run(args: &[String]) -> Result<(), String> {
    let o = opts(args);
    if !o.dispatcher.is_file() {
        return Err(format!(
            "no dispatcher binary at {} (build it: cargo build --release -p dispatcher; or pass --dispatcher PATH or set DISPATCHER)",
            o.dispatcher.display()
        ));
    }
    if o.servers >= 2 {
        if !o.drone_sim.is_file() {
            return Err(format!(
                "no drone-sim binary at {:?} (build it: cargo build --release -p drone-sim; pass --drone-sim PATH or set DRONE_SIM)",
                o.drone_sim
            ));
        }
        return cluster::run(&o).await;
    }
    // A free port: bind port 0, note it, let it go for the child.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let http = SocketAddr::from(([127, 0, 0, 1], port));
    let serve_args = [
        "serve".to_owned(),
        "--config".to_owned(),
        o.config.clone(),
        "--sim".to_owned(),
        "--sim-speedup".to_owned(),
        o.speedup.to_string(),
        "--listen".to_owned(),
        http.to_string(),
        "--event-log".to_owned(),
        "off".to_owned(),
        "--time".to_owned(),
        o.time.clone(),
    ];
    let command = format!("{} {}", o.dispatcher.display(), serve_args.join(" "));
    let spawned = Instant::now();
    let (mut child, log_path) = spawn_logged(&o.dispatcher, &serve_args, "serve")?;
    let pid = child.id().ok_or("the dispatcher exited at once")?;
    let up = wait_links_up(http, &mut child, &o, &log_path, spawned).await?;
    eprintln!(
        "city: HTTP answered after {:.1} s; {} of {} drones' links up after {:.1} s (on {} links)",
        up.http_s, up.up, up.drones, up.links_up_s, up.links
    );
    let targets = [Target {
        name: "serve".into(),
        http,
        pid,
    }];
    let base = phase(&targets, 1, &o, None).await?;
    say(&base);
    let full = phase(&targets, o.clients, &o, None).await?;
    say(&full);
    let end = http_get(http, "/api/health", "demo-admin").await.ok();
    let _ = child.kill().await;
    let ratio = |k: &str| {
        let a = full["latency_ms"][k].as_f64().unwrap_or(f64::NAN);
        let b = base["latency_ms"][k].as_f64().unwrap_or(f64::NAN);
        round(a / b, 2)
    };
    let out = json!({
        "command": command,
        "http_up_s": round(up.http_s, 1),
        "links_up_s": round(up.links_up_s, 1),
        "drones": up.drones,
        "links_up_at_start": up.up,
        "links": up.links,
        "link_up_at_end": end.as_ref().map(|h| h["vehicles"]["link_up"].clone()),
        "measured": full,
        "baseline_1_client": base,
        "p50_ratio_to_baseline": ratio("p50"),
        "p99_ratio_to_baseline": ratio("p99"),
    });
    println!("{out}");
    Ok(())
}

/// One line on stderr about a measurement (and one per server of a cluster).
fn say(m: &Value) {
    eprintln!(
        "city: {} client(s): p50 {} ms, p99 {} ms; drones seen {}-{}; links up {}-{}; serve CPU {} %",
        m["clients"],
        m["latency_ms"]["p50"],
        m["latency_ms"]["p99"],
        m["drones_seen"]["min"],
        m["drones_seen"]["max"],
        m["link_up"]["min"],
        m["link_up"]["at_end"],
        m["serve_cpu_pct"]
    );
    for s in m["servers"].as_array().into_iter().flatten() {
        eprintln!(
            "city:   {} ({}): {} client(s), p50 {} ms, p99 {} ms; server p99 {} ms; CPU {} %, RSS {} MB",
            s["name"],
            s["role"],
            s["clients"],
            s["latency_ms"]["p50"],
            s["latency_ms"]["p99"],
            s["server_latency_ms"]["p99"],
            s["serve_cpu_pct"],
            s["serve_rss_mb"]
        );
    }
}

struct LinksUp {
    http_s: f64,
    links_up_s: f64,
    /// Drones whose link was up then.
    up: u64,
    drones: u64,
    links: usize,
}

/// Polls `GET /api/health` until every configured drone's link is up (or
/// `--links-required` of them).
async fn wait_links_up(
    http: SocketAddr,
    child: &mut tokio::process::Child,
    o: &Opts,
    log: &std::path::Path,
    spawned: Instant,
) -> Result<LinksUp, String> {
    let timeout_s = o.links_timeout;
    let deadline = spawned + Duration::from_secs_f64(timeout_s);
    let mut http_s = None;
    let mut last = Value::Null;
    let mut said = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "the dispatcher exited ({status}) before its links were up; its output:\n{}",
                tail(log)
            ));
        }
        if let Ok(h) = http_get(http, "/api/health", "demo-admin").await {
            http_s.get_or_insert(spawned.elapsed().as_secs_f64());
            let up = h["vehicles"]["link_up"].as_u64().unwrap_or(0);
            let configured = h["vehicles"]["configured"].as_u64().unwrap_or(0);
            if configured > 0 && up >= o.links_required.unwrap_or(configured) {
                return Ok(LinksUp {
                    http_s: http_s.unwrap_or_default(),
                    links_up_s: spawned.elapsed().as_secs_f64(),
                    up,
                    drones: configured,
                    links: h["links"].as_array().map_or(0, Vec::len),
                });
            }
            if said.elapsed() > Duration::from_secs(5) {
                eprintln!(
                    "city: {up} of {configured} links up after {:.0} s",
                    spawned.elapsed().as_secs_f64()
                );
                said = Instant::now();
            }
            last = h;
        }
        if Instant::now() > deadline {
            let per_link: Vec<String> = last["links"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|l| {
                    format!(
                        "{} ({} drones): {}",
                        l["name"], l["vehicles"], l["counters"]
                    )
                })
                .collect();
            let (queued, drops) = procs::udp_queues(&procs::link_ports(&last));
            return Err(format!(
                "only {} of {} drones' links up after {timeout_s} s (HTTP {}); per link: {}; \
                 the links' UDP sockets: {drops} datagrams dropped, {queued} bytes queued",
                last["vehicles"]["link_up"],
                last["vehicles"]["configured"],
                if http_s.is_some() {
                    "answered"
                } else {
                    "never answered"
                },
                per_link.join("; ")
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Reads every message until told to stop; records only in the measured period.
async fn read_client(
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    state: Arc<AtomicU8>,
    mut stop: watch::Receiver<bool>,
) -> ClientStats {
    let mut s = ClientStats {
        latency_us: new_histogram(),
        messages: 0,
        telemetry: 0,
        bytes: 0,
        entries: 0,
        unstamped: 0,
        checked: 0,
        mismatched: 0,
        drones: HashSet::new(),
        ended: None,
    };
    // Keep the sending half: dropping it would not close the socket, but
    // keeping it makes the client's lifetime obvious.
    let (_tx, mut rx) = ws.split();
    loop {
        let m = tokio::select! {
            biased;
            _ = stop.changed() => break,
            m = rx.next() => m,
        };
        let now_ms = wall_ms();
        let measuring = state.load(Ordering::Relaxed);
        let why = match m {
            Some(Ok(Message::Text(t))) => {
                if measuring == MEASURE {
                    s.messages += 1;
                    s.bytes += t.len() as u64;
                    if t.starts_with(r#"{"type":"telemetry""#) {
                        s.telemetry += 1;
                        let before = (s.entries, s.unstamped);
                        scan_telemetry(t.as_str(), now_ms, &mut s);
                        // One message in 1,000 is checked against a full parse.
                        if s.telemetry % 1000 == 1 {
                            s.checked += 1;
                            let read = (s.entries - before.0, s.unstamped - before.1);
                            if read != (full_parse_entries(t.as_str()), 0) {
                                s.mismatched += 1;
                            }
                        }
                    }
                }
                continue;
            }
            Some(Ok(Message::Close(f))) => format!("closed by the server: {f:?}"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => format!("error: {e}"),
            None => "the connection ended".to_owned(),
        };
        if measuring != DONE {
            s.ended = Some(why);
        }
        break;
    }
    s
}

/// Every entry of a telemetry message: its drone and its latency. Entries
/// are `{"drone":"ID",...,"time":MS}` (see `wire::TelemetryEntry`); scanning
/// for the two keys keeps up with hundreds of MB/s where a full parse would
/// need the cores the server is being measured on.
fn scan_telemetry(text: &str, now_ms: f64, s: &mut ClientStats) {
    let mut rest = text;
    while let Some(i) = rest.find(ENTRY) {
        rest = &rest[i + ENTRY.len()..];
        let Some(end) = rest.find('"') else { break };
        let id = &rest[..end];
        rest = &rest[end..];
        let next = rest.find(ENTRY).unwrap_or(rest.len());
        let entry = &rest[..next];
        s.entries += 1;
        match entry
            .find(STAMP)
            .and_then(|j| leading_int(&entry[j + STAMP.len()..]))
        {
            Some(t) => {
                let us = ((now_ms - t as f64) * 1000.0).round().max(1.0) as u64;
                let _ = s.latency_us.record(us);
            }
            None => s.unstamped += 1,
        }
        if !s.drones.contains(id) {
            s.drones.insert(id.to_owned());
        }
        rest = &rest[next..];
    }
}

/// Entries of a telemetry message with a string `drone` and an integer
/// `time`, by a full JSON parse (the scanner's check).
fn full_parse_entries(text: &str) -> u64 {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    v["drones"].as_array().map_or(0, |a| {
        a.iter()
            .filter(|e| e["drone"].is_string() && e["time"].is_i64())
            .count() as u64
    })
}

fn leading_int(s: &str) -> Option<i64> {
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
        .map_or(s.len(), |(i, _)| i);
    s[..end].parse().ok()
}

fn wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs .. 1 h, 3 significant digits; these bounds are valid constants.
    Histogram::new_with_bounds(1, 3_600_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!()))
}

/// The last lines of a file (the child's output, for error messages).
fn tail(path: &Path) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// A minimal HTTP/1.1 GET with a bearer token (keeps the harness free of an
/// HTTP client crate); the body as JSON, an error unless 200.
async fn http_get(addr: SocketAddr, path: &str, token: &str) -> Result<Value, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut resp = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut resp))
        .await
        .map_err(|_| format!("GET {path}: no answer within 10 s"))?
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&resp);
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    if status != 200 {
        return Err(format!("GET {path}: HTTP {status}"));
    }
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).map_err(|e| format!("GET {path}: {e}"))
}

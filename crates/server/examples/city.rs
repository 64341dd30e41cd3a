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

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

/// Phases of a measurement, as the client tasks see them.
const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const DONE: u8 = 2;

/// Clock ticks per second of /proc/PID/stat (USER_HZ, 100 on Linux).
const TICKS_PER_S: f64 = 100.0;

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
        dispatcher: PathBuf::from(arg(args, "--dispatcher", default_bin)),
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
    }
}

async fn run(args: &[String]) -> Result<(), String> {
    let o = opts(args);
    if !o.dispatcher.is_file() {
        return Err(format!(
            "no dispatcher binary at {} (build it: cargo build --release -p dispatcher; or pass --dispatcher PATH or set DISPATCHER)",
            o.dispatcher.display()
        ));
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
    let log_path = std::env::temp_dir().join(format!("city-serve-{}.log", std::process::id()));
    let log =
        std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    eprintln!("city: {command}  (output in {})", log_path.display());
    let spawned = Instant::now();
    let mut child = tokio::process::Command::new(&o.dispatcher)
        .args(&serve_args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log2))
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", o.dispatcher.display()))?;
    let pid = child.id().ok_or("the dispatcher exited at once")?;
    let up = wait_links_up(http, &mut child, &o, &log_path, spawned).await?;
    eprintln!(
        "city: HTTP answered after {:.1} s; {} of {} drones' links up after {:.1} s (on {} links)",
        up.http_s, up.up, up.drones, up.links_up_s, up.links
    );
    let base = phase(http, pid, 1, &o).await?;
    say(&base);
    let full = phase(http, pid, o.clients, &o).await?;
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

/// One line on stderr about a measurement.
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
            let (queued, drops) = udp_queues(&link_ports(&last));
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

/// One measurement: `clients` websocket clients, a warm-up, a measured period.
async fn phase(http: SocketAddr, pid: u32, clients: usize, o: &Opts) -> Result<Value, String> {
    let state = Arc::new(AtomicU8::new(WARMUP));
    let (stop_tx, stop_rx) = watch::channel(false);
    let t0 = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for k in 0..clients {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{http}/ws?token=demo-viewer"))
            .await
            .map_err(|e| format!("websocket client {k}: {e}"))?;
        tasks.push(tokio::spawn(read_client(
            ws,
            Arc::clone(&state),
            stop_rx.clone(),
        )));
    }
    let connect_s = t0.elapsed().as_secs_f64();
    eprintln!(
        "city: {clients} client(s) connected in {connect_s:.1} s; warm-up {} s, then {} s measured",
        o.warmup, o.duration
    );
    tokio::time::sleep(Duration::from_secs_f64(o.warmup)).await;
    let h0 = http_get(http, "/api/health", "demo-admin").await?;
    let ports = link_ports(&h0);
    let (_, drops0) = udp_queues(&ports);
    let load0 = loadavg();
    let ticks0 = process_ticks(pid).ok_or("cannot read the dispatcher's /proc stat")?;
    let sim0 = thread_ticks(pid, SIM_THREAD);
    let own0 = process_ticks(std::process::id());
    state.store(MEASURE, Ordering::Relaxed);
    let started = Instant::now();
    let period = Duration::from_secs_f64(o.duration);
    let mut rss_max: f64 = 0.0;
    let mut rx_queue_max = 0u64;
    let mut link_up_min = h0["vehicles"]["link_up"].as_u64();
    let mut last_health = Instant::now();
    while started.elapsed() < period {
        let left = period.saturating_sub(started.elapsed());
        tokio::time::sleep(left.min(Duration::from_secs(1))).await;
        rss_max = rss_max.max(status_mb(pid, "VmRSS:").unwrap_or(0.0));
        rx_queue_max = rx_queue_max.max(udp_queues(&ports).0);
        if last_health.elapsed() >= Duration::from_secs(5) {
            last_health = Instant::now();
            let up = http_get(http, "/api/health", "demo-admin")
                .await
                .ok()
                .and_then(|h| h["vehicles"]["link_up"].as_u64());
            link_up_min = link_up_min.zip(up).map(|(a, b)| a.min(b)).or(up);
        }
    }
    state.store(DONE, Ordering::Relaxed);
    let secs = started.elapsed().as_secs_f64();
    let ticks1 = process_ticks(pid).ok_or("the dispatcher is gone")?;
    let sim1 = thread_ticks(pid, SIM_THREAD);
    let own1 = process_ticks(std::process::id());
    let (_, drops1) = udp_queues(&ports);
    let rss = status_mb(pid, "VmRSS:");
    let hwm = status_mb(pid, "VmHWM:");
    let metrics = http_get(http, "/api/metrics", "demo-admin")
        .await
        .unwrap_or(Value::Null);
    let h1 = http_get(http, "/api/health", "demo-admin").await?;
    let load1 = loadavg();
    let _ = stop_tx.send(true);
    let mut stats = Vec::with_capacity(clients);
    for t in tasks {
        stats.push(t.await.map_err(|e| format!("client task: {e}"))?);
    }

    let mut all = new_histogram();
    let (mut messages, mut telemetry, mut bytes) = (0u64, 0u64, 0u64);
    let (mut entries, mut unstamped, mut checked, mut mismatched) = (0u64, 0u64, 0u64, 0u64);
    let mut ended = Vec::new();
    for s in &stats {
        let _ = all.add(&s.latency_us);
        messages += s.messages;
        telemetry += s.telemetry;
        bytes += s.bytes;
        entries += s.entries;
        unstamped += s.unstamped;
        checked += s.checked;
        mismatched += s.mismatched;
        ended.extend(s.ended.clone());
    }
    let seen: Vec<usize> = stats.iter().map(|s| s.drones.len()).collect();
    let configured = h1["vehicles"]["configured"].as_u64();
    let frames = |h: &Value| h["link"]["frames"].as_u64().unwrap_or(0);
    let ms = |q: f64| round(all.value_at_quantile(q) as f64 / 1000.0, 2);
    let cpu = |a: u64, b: u64| round((b.saturating_sub(a)) as f64 / TICKS_PER_S / secs * 100.0, 1);
    let sim_cpu = sim0.zip(sim1).map(|(a, b)| cpu(a, b));
    let serve_cpu = cpu(ticks0, ticks1);
    let server_latency = &metrics["telemetry_latency_ms"];
    Ok(json!({
        "clients": clients,
        "connect_s": round(connect_s, 1),
        "warmup_s": o.warmup,
        "measured_s": round(secs, 1),
        "latency_ms": {
            "what": "client receive wall time - entry `time` (server's stamp when it built the batch, after the batch window)",
            "p50": ms(0.5), "p90": ms(0.9), "p99": ms(0.99), "max": ms(1.0), "samples": all.len(),
        },
        "server_latency_ms": {
            "what": "GET /api/metrics: frame arrival on the link -> websocket frame sent, every client and entry since the server started (warm-up and earlier phases included)",
            "p50": server_latency["p50"], "p90": server_latency["p90"], "p99": server_latency["p99"],
            "max": server_latency["max"], "samples": server_latency["samples"],
        },
        "closed_slow_total": metrics["websocket"]["closed_slow"],
        "resyncs_total": metrics["websocket"]["resyncs"],
        "drones_seen": {
            "min": seen.iter().min(), "max": seen.iter().max(),
            "clients_with_all": configured.map(|n| seen.iter().filter(|&&s| s as u64 == n).count()),
            "configured": configured,
        },
        "link_up": {
            "at_start": h0["vehicles"]["link_up"], "min": link_up_min, "at_end": h1["vehicles"]["link_up"],
        },
        "frames_ingested_per_s": (frames(&h1).saturating_sub(frames(&h0)) as f64 / secs).round(),
        "udp_drops": drops1.saturating_sub(drops0),
        "udp_rx_queue_max_kb": round(rx_queue_max as f64 / 1024.0, 1),
        "loadavg_1min": {"before": load0, "after": load1},
        "clients_ended_early": ended.len(),
        "first_end_reason": ended.first(),
        "unstamped_entries": unstamped,
        "scan_check": {"messages": checked, "mismatched": mismatched},
        "messages_per_s": (messages as f64 / secs).round(),
        "telemetry_messages_per_s": (telemetry as f64 / secs).round(),
        "entries_per_s": (entries as f64 / secs).round(),
        "entries_per_s_per_client": (entries as f64 / secs / clients.max(1) as f64).round(),
        "mbytes_per_s": round(bytes as f64 / secs / 1e6, 1),
        "serve_cpu_pct": serve_cpu,
        "sim_thread_cpu_pct": sim_cpu,
        "serve_cpu_pct_without_sim": sim_cpu.map(|s| round(serve_cpu - s, 1)),
        "serve_rss_mb": rss.map(|v| round(v, 1)),
        "serve_rss_max_mb": round(rss_max, 1),
        "serve_peak_rss_mb": hwm.map(|v| round(v, 1)),
        "harness_cpu_pct": own0.zip(own1).map(|(a, b)| cpu(a, b)),
    }))
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

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs .. 1 h, 3 significant digits; these bounds are valid constants.
    Histogram::new_with_bounds(1, 3_600_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!()))
}

/// utime + stime, in ticks, of a /proc `stat` file.
fn stat_ticks(path: &str) -> Option<u64> {
    let s = std::fs::read_to_string(path).ok()?;
    let after = s.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are 12th and 13th after the name.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn process_ticks(pid: u32) -> Option<u64> {
    stat_ticks(&format!("/proc/{pid}/stat"))
}

/// CPU ticks of the process's thread called `name`.
fn thread_ticks(pid: u32, name: &str) -> Option<u64> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    dir.flatten().find_map(|t| {
        let p = t.path();
        let comm = std::fs::read_to_string(p.join("comm")).ok()?;
        if comm.trim() != name {
            return None;
        }
        stat_ticks(&p.join("stat").to_string_lossy())
    })
}

/// The local UDP ports of the server's MAVLink links (from `GET /api/health`).
fn link_ports(health: &Value) -> Vec<u16> {
    health["links"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["local_addr"].as_str()?.parse::<SocketAddr>().ok())
        .map(|a| a.port())
        .collect()
}

/// Bytes waiting in, and datagrams dropped by, the receive queues of these
/// local UDP ports (/proc/net/udp): frames the link has not read yet are not
/// in the server's own latency histogram, and drops explain lost links.
fn udp_queues(ports: &[u16]) -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/net/udp").unwrap_or_default();
    let mut queued = 0;
    let mut drops = 0;
    for line in s.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let port = f
            .get(1)
            .and_then(|a| a.rsplit_once(':'))
            .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
        if !port.is_some_and(|p| ports.contains(&p)) {
            continue;
        }
        queued += f
            .get(4)
            .and_then(|q| q.split_once(':'))
            .and_then(|(_, rx)| u64::from_str_radix(rx, 16).ok())
            .unwrap_or(0);
        drops += f.last().and_then(|d| d.parse::<u64>().ok()).unwrap_or(0);
    }
    (queued, drops)
}

/// The 1-minute load average (the machine is shared: a busy one shows here).
fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A memory line of /proc/PID/status, in MB.
fn status_mb(pid: u32, key: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
}

/// The last lines of a file (the child's output, for error messages).
fn tail(path: &std::path::Path) -> String {
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

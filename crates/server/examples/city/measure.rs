//! One measurement: websocket clients spread over one or several servers, a
//! warm-up, a measured period; the clients' figures (all together and per
//! server) and each server's own (its histogram, CPU, memory, links).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tokio::sync::watch;

use crate::procs::{self, Others};
use crate::{ClientStats, DONE, MEASURE, Opts, SIM_THREAD, WARMUP};

/// A server measured: its name, HTTP address and process.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub name: String,
    pub http: SocketAddr,
    pub pid: u32,
}

/// What is read of one server at the start and the end of the period.
struct Reading {
    health: Value,
    ticks: u64,
    sim: Option<u64>,
    drops: u64,
}

impl Reading {
    async fn take(t: &Target, ports: &[u16]) -> Result<Reading, String> {
        Ok(Reading {
            health: crate::http_get(t.http, "/api/health", "demo-admin").await?,
            ticks: procs::process_ticks(t.pid)
                .ok_or_else(|| format!("cannot read the /proc stat of {} ({})", t.name, t.pid))?,
            sim: procs::thread_ticks(t.pid, SIM_THREAD),
            drops: procs::udp_queues(ports).1,
        })
    }
}

/// The samples taken of one server during the period.
#[derive(Default)]
struct Samples {
    rss_max: f64,
    rx_queue_max: u64,
    link_up_min: Option<u64>,
}

/// `clients` clients, the k-th on `targets[k % n]`; a warm-up, then the
/// measured period. With one target the figures are one flat object (as
/// `scripts/bench-city.sh` reads them); with several, the servers' own are
/// under `servers`, each with the figures of its own clients.
pub(crate) async fn phase(
    targets: &[Target],
    clients: usize,
    o: &Opts,
    others: Option<&Others>,
) -> Result<Value, String> {
    let state = Arc::new(AtomicU8::new(WARMUP));
    let (stop_tx, stop_rx) = watch::channel(false);
    let t0 = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for k in 0..clients {
        let t = &targets[k % targets.len()];
        let url = format!("ws://{}/ws?token=demo-viewer", t.http);
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| format!("websocket client {k} (on {}): {e}", t.name))?;
        tasks.push(tokio::spawn(crate::read_client(
            ws,
            Arc::clone(&state),
            stop_rx.clone(),
        )));
    }
    let connect_s = t0.elapsed().as_secs_f64();
    eprintln!(
        "city: {clients} client(s) on {} server(s) connected in {connect_s:.1} s; warm-up {} s, then {} s measured",
        targets.len(),
        o.warmup,
        o.duration
    );
    tokio::time::sleep(Duration::from_secs_f64(o.warmup)).await;
    let mut ports = Vec::new();
    let mut before = Vec::new();
    for t in targets {
        let h = crate::http_get(t.http, "/api/health", "demo-admin").await?;
        ports.push(procs::link_ports(&h));
    }
    for (t, p) in targets.iter().zip(&ports) {
        before.push(Reading::take(t, p).await?);
    }
    let others0 = others.map(Others::read);
    let load0 = procs::loadavg();
    let own0 = procs::process_ticks(std::process::id());
    state.store(MEASURE, Ordering::Relaxed);
    let started = Instant::now();
    let period = Duration::from_secs_f64(o.duration);
    let mut samples: Vec<Samples> = targets.iter().map(|_| Samples::default()).collect();
    for (s, r) in samples.iter_mut().zip(&before) {
        s.link_up_min = r.health["vehicles"]["link_up"].as_u64();
    }
    let mut last_health = Instant::now();
    while started.elapsed() < period {
        let left = period.saturating_sub(started.elapsed());
        tokio::time::sleep(left.min(Duration::from_secs(1))).await;
        let health_due = last_health.elapsed() >= Duration::from_secs(5);
        if health_due {
            last_health = Instant::now();
        }
        for ((t, p), s) in targets.iter().zip(&ports).zip(samples.iter_mut()) {
            s.rss_max = s
                .rss_max
                .max(procs::status_mb(t.pid, "VmRSS:").unwrap_or(0.0));
            s.rx_queue_max = s.rx_queue_max.max(procs::udp_queues(p).0);
            if health_due {
                let up = crate::http_get(t.http, "/api/health", "demo-admin")
                    .await
                    .ok()
                    .and_then(|h| h["vehicles"]["link_up"].as_u64());
                s.link_up_min = s.link_up_min.zip(up).map(|(a, b)| a.min(b)).or(up);
            }
        }
    }
    state.store(DONE, Ordering::Relaxed);
    let secs = started.elapsed().as_secs_f64();
    let mut after = Vec::new();
    for (t, p) in targets.iter().zip(&ports) {
        after.push(Reading::take(t, p).await?);
    }
    let others1 = others.map(Others::read);
    let own1 = procs::process_ticks(std::process::id());
    let mut servers = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let metrics = crate::http_get(t.http, "/api/metrics", "demo-admin")
            .await
            .unwrap_or(Value::Null);
        servers.push(server_figures(
            t,
            &before[i],
            &after[i],
            &samples[i],
            &metrics,
            secs,
        ));
    }
    let load1 = procs::loadavg();
    let _ = stop_tx.send(true);
    let mut stats = Vec::with_capacity(clients);
    for t in tasks {
        stats.push(t.await.map_err(|e| format!("client task: {e}"))?);
    }
    // The number of drones is the scenario's (a follower's health has no count).
    let configured = after
        .iter()
        .find_map(|r| r.health["vehicles"]["configured"].as_u64());
    let mut out = client_figures(&stats.iter().collect::<Vec<_>>(), secs, configured);
    out.insert("connect_s".into(), json!(round(connect_s, 1)));
    out.insert("warmup_s".into(), json!(o.warmup));
    out.insert("measured_s".into(), json!(round(secs, 1)));
    out.insert(
        "loadavg_1min".into(),
        json!({"before": load0, "after": load1}),
    );
    out.insert(
        "harness_cpu_pct".into(),
        json!(own0.zip(own1).map(|(a, b)| cpu_pct(a, b, secs))),
    );
    if targets.len() == 1 {
        if let Some(Value::Object(s)) = servers.pop() {
            out.extend(s);
        }
        return Ok(Value::Object(out));
    }
    for (i, s) in servers.iter_mut().enumerate() {
        let mine: Vec<&ClientStats> = stats
            .iter()
            .enumerate()
            .filter(|(k, _)| k % targets.len() == i)
            .map(|(_, c)| c)
            .collect();
        if let Value::Object(m) = s {
            m.extend(client_figures(&mine, secs, configured));
        }
    }
    out.insert("servers".into(), Value::Array(servers));
    if let (Some(o), Some(a), Some(b)) = (others, others0, others1) {
        out.insert("others".into(), o.figures(&a, &b, secs));
    }
    Ok(Value::Object(out))
}

/// The figures of a set of clients.
fn client_figures(
    stats: &[&ClientStats],
    secs: f64,
    configured: Option<u64>,
) -> Map<String, Value> {
    let mut all = crate::new_histogram();
    let (mut messages, mut telemetry, mut bytes) = (0u64, 0u64, 0u64);
    let (mut entries, mut unstamped, mut checked, mut mismatched) = (0u64, 0u64, 0u64, 0u64);
    let mut ended = Vec::new();
    for s in stats {
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
    let ms = |q: f64| round(all.value_at_quantile(q) as f64 / 1000.0, 2);
    let n = stats.len().max(1) as f64;
    let v = json!({
        "clients": stats.len(),
        "latency_ms": {
            "what": "client receive wall time - entry `time` (server's stamp when it built the batch, after the batch window)",
            "p50": ms(0.5), "p90": ms(0.9), "p99": ms(0.99), "max": ms(1.0), "samples": all.len(),
        },
        "drones_seen": {
            "min": seen.iter().min(), "max": seen.iter().max(),
            "clients_with_all": configured.map(|c| seen.iter().filter(|&&s| s as u64 == c).count()),
            "configured": configured,
        },
        "clients_ended_early": ended.len(),
        "first_end_reason": ended.first(),
        "unstamped_entries": unstamped,
        "scan_check": {"messages": checked, "mismatched": mismatched},
        "messages_per_s": (messages as f64 / secs).round(),
        "telemetry_messages_per_s": (telemetry as f64 / secs).round(),
        "entries_per_s": (entries as f64 / secs).round(),
        "entries_per_s_per_client": (entries as f64 / secs / n).round(),
        "mbytes_per_s": round(bytes as f64 / secs / 1e6, 1),
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A server's own figures over the period.
fn server_figures(
    t: &Target,
    a: &Reading,
    b: &Reading,
    s: &Samples,
    metrics: &Value,
    secs: f64,
) -> Value {
    let frames = |h: &Value| h["link"]["frames"].as_u64();
    let serve_cpu = cpu_pct(a.ticks, b.ticks, secs);
    let sim_cpu = a.sim.zip(b.sim).map(|(x, y)| cpu_pct(x, y, secs));
    let server_latency = &metrics["telemetry_latency_ms"];
    json!({
        "name": t.name,
        "role": b.health["cluster"]["role"].as_str().unwrap_or("single"),
        "server_latency_ms": {
            "what": "GET /api/metrics: frame arrival on the link -> websocket frame sent, every client and entry since the server started (warm-up and earlier phases included)",
            "p50": server_latency["p50"], "p90": server_latency["p90"], "p99": server_latency["p99"],
            "max": server_latency["max"], "samples": server_latency["samples"],
        },
        "closed_slow_total": metrics["websocket"]["closed_slow"],
        "resyncs_total": metrics["websocket"]["resyncs"],
        "link_up": {
            "at_start": a.health["vehicles"]["link_up"], "min": s.link_up_min, "at_end": b.health["vehicles"]["link_up"],
        },
        "frames_ingested_per_s": frames(&a.health).zip(frames(&b.health))
            .map(|(x, y)| (y.saturating_sub(x) as f64 / secs).round()),
        "udp_drops": b.drops.saturating_sub(a.drops),
        "udp_rx_queue_max_kb": round(s.rx_queue_max as f64 / 1024.0, 1),
        "serve_cpu_pct": serve_cpu,
        "sim_thread_cpu_pct": sim_cpu,
        "serve_cpu_pct_without_sim": sim_cpu.map(|x| round(serve_cpu - x, 1)),
        "serve_rss_mb": procs::status_mb(t.pid, "VmRSS:").map(|v| round(v, 1)),
        "serve_rss_max_mb": round(s.rss_max, 1),
        "serve_peak_rss_mb": procs::status_mb(t.pid, "VmHWM:").map(|v| round(v, 1)),
    })
}

/// CPU over the period as a share of one core, from two tick counts.
pub(crate) fn cpu_pct(a: u64, b: u64, secs: f64) -> f64 {
    round(
        (b.saturating_sub(a)) as f64 / procs::TICKS_PER_S / secs * 100.0,
        1,
    )
}

pub(crate) fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

//! Load harness for the dispatch server (figures in docs/performance.md).
//!
//! `cargo run --release -p dispatch-server --example load -- fanout`
//!   1,000 vehicles at 10 Hz (GLOBAL_POSITION_INT, plus a 1 Hz HEARTBEAT)
//!   over 4 UDP links of 250 system ids, fanned out to 200 websocket
//!   clients. The server runs in a child process (this same binary in the
//!   `server` role: the real link tasks, telemetry hub and axum websocket);
//!   this process plays the vehicles and the clients. The server measures,
//!   per telemetry entry and client, the time from the frame's arrival on its
//!   link to the websocket frame leaving it; it reports p50/p99, its CPU time
//!   (from /proc) and peak memory after a warm-up.
//!
//! `cargo run --release -p dispatch-server --example load -- incident`
//!   The demo scenario's 15 vehicles played by this process (heartbeats,
//!   telemetry, COMMAND_ACK and the mission protocol's vehicle side);
//!   `POST /api/incidents` is sent N times and the time to the first MAVLink
//!   frame the server sends to the chosen vehicle is measured here (each
//!   incident is then cancelled so that the drone comes home and is free).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dispatch_core::DroneId;
use dispatch_server::{AppState, Hub, HubConfig, LinkDrones, Tokens};
use futures_util::StreamExt;
use mavlink_link::codec::{decode_datagram, encode_v2};
use mavlink_link::link::{Address, LinkConfig};
use mavlink_link::mav::{
    COMMAND_ACK_DATA, EXTENDED_SYS_STATE_DATA, GLOBAL_POSITION_INT_DATA, HEARTBEAT_DATA,
    MISSION_ACK_DATA, MISSION_REQUEST_INT_DATA, MavAutopilot, MavLandedState, MavMessage,
    MavMissionResult, MavModeFlag, MavResult, MavState, MavType, SYS_STATUS_DATA,
};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::UdpSocket;

const LINKS: usize = 4;
const PER_LINK: usize = 250;

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(if args.get(1).map(String::as_str) == Some("server") {
            1
        } else {
            2
        })
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let r = match args.get(1).map(String::as_str) {
        Some("server") => rt.block_on(server(&args)),
        Some("fanout") | None => rt.block_on(fanout(&args)),
        Some("incident") => rt.block_on(incident(&args)),
        Some(other) => Err(format!("unknown mode `{other}`; use fanout or incident")),
    };
    if let Err(e) = r {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn scenario() -> dispatch_core::Scenario {
    let p = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/haining.toml"
    ));
    dispatch_core::config::load(p).unwrap_or_else(|e| panic!("{e}"))
}

/// CPU seconds (user + system) of this process, from /proc/self/stat.
fn cpu_s() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 (utime, stime) are 12 and 13 after the name; 100 ticks/s on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

fn peak_rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The server role: links, fleet service, hub and HTTP; prints its addresses,
/// then after `--warmup` + `--duration` seconds its measurements.
async fn server(args: &[String]) -> Result<(), String> {
    let warmup: f64 = arg(args, "--warmup", 5.0);
    let duration: f64 = arg(args, "--duration", 20.0);
    let scenario = scenario();
    let mut links = Vec::new();
    let mut ports = Vec::new();
    for l in 0..LINKS {
        let ids: Vec<u8> = (1..=PER_LINK as u8).collect();
        let link = mavlink_link::link::connect(
            &Address::UdpIn(SocketAddr::from(([127, 0, 0, 1], 0))),
            ids.clone(),
            LinkConfig::default(),
        )
        .await
        .map_err(|e| format!("link: {e}"))?;
        ports.push(link.local_addr().map_or(0, |a| a.port()));
        let drones = ids
            .iter()
            .map(|&s| {
                let i = l * PER_LINK + usize::from(s) - 1;
                (s, (i, DroneId(format!("v{i:04}"))))
            })
            .collect();
        links.push(LinkDrones { link, drones });
    }
    // The demo fleet service on the first link (for snapshots and events).
    let manager = fleet::FleetManager::new(
        scenario.clone(),
        links[0].link.clone(),
        fleet::FleetConfig::default(),
    );
    let (fleet, _task) = fleet::service::spawn(manager, Duration::from_millis(100));
    let tokens = Tokens::new(&scenario.server.tokens, None)?;
    let base = AppState::new(fleet.clone(), scenario, tokens, HubConfig::default(), None);
    let hub = Hub::start(HubConfig::default(), links, Some(fleet));
    let state = AppState {
        hub: hub.clone(),
        ..base
    };
    let http = start_http(state).await?;
    println!("{}", json!({"http": http.to_string(), "ports": ports}));
    tokio::time::sleep(Duration::from_secs_f64(warmup)).await;
    hub.reset_metrics();
    let (c0, t0) = (cpu_s(), Instant::now());
    tokio::time::sleep(Duration::from_secs_f64(duration)).await;
    let cpu = (cpu_s() - c0) / t0.elapsed().as_secs_f64();
    let mut m = serde_json::to_value(hub.metrics()).unwrap_or_default();
    m["server_cpu_cores"] = json!((cpu * 1000.0).round() / 1000.0);
    m["server_peak_rss_mb"] = json!((peak_rss_mb() * 10.0).round() / 10.0);
    println!("{m}");
    Ok(())
}

/// The fan-out measurement, and its baseline in the same run: the same
/// telemetry load with one websocket client.
async fn fanout(args: &[String]) -> Result<(), String> {
    let vehicles: usize = arg(args, "--vehicles", 1000).min(LINKS * PER_LINK);
    let clients: usize = arg(args, "--clients", 200);
    let hz: f64 = arg(args, "--hz", 10.0);
    let warmup: f64 = arg(args, "--warmup", 5.0);
    let duration: f64 = arg(args, "--duration", 20.0);
    let base = fanout_phase(vehicles, 1, hz, warmup, duration).await?;
    let full = fanout_phase(vehicles, clients, hz, warmup, duration).await?;
    let ratio = |k: &str| {
        let (a, b) = (
            full["telemetry_latency_ms"][k].as_f64().unwrap_or(f64::NAN),
            base["telemetry_latency_ms"][k].as_f64().unwrap_or(f64::NAN),
        );
        ((a / b) * 100.0).round() / 100.0
    };
    let summary = json!({
        "p50_ms": full["telemetry_latency_ms"]["p50"], "p99_ms": full["telemetry_latency_ms"]["p99"],
        "server_cpu_cores": full["server_cpu_cores"], "server_peak_rss_mb": full["server_peak_rss_mb"],
        "baseline_1_client_p50_ms": base["telemetry_latency_ms"]["p50"],
        "baseline_1_client_p99_ms": base["telemetry_latency_ms"]["p99"],
        "baseline_1_client_cpu_cores": base["server_cpu_cores"],
        "p50_ratio_to_baseline": ratio("p50"), "p99_ratio_to_baseline": ratio("p99"),
    });
    println!(
        "{}",
        serde_json::to_string_pretty(
            &json!({"summary": summary, "baseline": base, "measured": full})
        )
        .map_err(|e| e.to_string())?
    );
    Ok(())
}

async fn fanout_phase(
    vehicles: usize,
    clients: usize,
    hz: f64,
    warmup: f64,
    duration: f64,
) -> Result<Value, String> {
    let mut senders = Vec::new();
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = tokio::process::Command::new(exe)
        .args([
            "server",
            "--warmup",
            &warmup.to_string(),
            "--duration",
            &duration.to_string(),
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("server child: {e}"))?;
    let out = child.stdout.take().ok_or("no child stdout")?;
    let mut lines = BufReader::new(out).lines();
    let first = lines
        .next_line()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("child said nothing")?;
    let hello: Value = serde_json::from_str(&first).map_err(|e| e.to_string())?;
    let http = hello["http"].as_str().ok_or("no http address")?.to_owned();
    let ports: Vec<u16> = hello["ports"]
        .as_array()
        .ok_or("no ports")?
        .iter()
        .filter_map(|p| p.as_u64().map(|p| p as u16))
        .collect();
    // Clients first, so that they see the whole run.
    let received = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    for _ in 0..clients {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{http}/ws?token=demo-viewer"))
            .await
            .map_err(|e| format!("client: {e}"))?;
        let (received, bytes) = (Arc::clone(&received), Arc::clone(&bytes));
        tokio::spawn(async move {
            let (_, mut rx) = ws.split();
            while let Some(Ok(m)) = rx.next().await {
                received.fetch_add(1, Ordering::Relaxed);
                bytes.fetch_add(m.len() as u64, Ordering::Relaxed);
            }
        });
    }
    // Vehicles: one socket per link, each frame at `hz`, spread over the period.
    for (l, port) in ports.iter().enumerate() {
        let n = vehicles.saturating_sub(l * PER_LINK).min(PER_LINK);
        let sock = UdpSocket::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let dest = SocketAddr::from(([127, 0, 0, 1], *port));
        senders.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / hz / 10.0));
            let mut k: u64 = 0;
            loop {
                tick.tick().await;
                // A tenth of the vehicles per tick: each vehicle at `hz`.
                let slot = (k % 10) as usize;
                let round = (k / 10) as i32;
                for v in (0..n).filter(|v| v % 10 == slot) {
                    let sys = (v + 1) as u8;
                    let mut dg = encode_v2(
                        sys,
                        1,
                        k as u8,
                        &MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
                            time_boot_ms: round as u32 * 100,
                            lat: 303_000_000 + round * 10 + v as i32,
                            lon: 1_205_000_000 + l as i32 * 1000,
                            relative_alt: 60_000,
                            vx: 1000,
                            hdg: 9000,
                            ..Default::default()
                        }),
                    );
                    if round % (hz.round().max(1.0) as i32) == 0 {
                        dg.extend(encode_v2(sys, 1, k as u8, &heartbeat()));
                    }
                    let _ = sock.send_to(&dg, dest).await;
                }
                k += 1;
            }
        }));
    }
    let started = Instant::now();
    let result = lines
        .next_line()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("child ended without measurements")?;
    let secs = started.elapsed().as_secs_f64();
    let mut m: Value = serde_json::from_str(&result).map_err(|e| e.to_string())?;
    m["setup"] = json!({"vehicles": vehicles, "hz": hz, "clients": clients, "warmup_s": warmup, "measured_s": duration});
    m["client_side"] = json!({
        "messages_per_s": (received.load(Ordering::Relaxed) as f64 / secs).round(),
        "mbytes_per_s": (bytes.load(Ordering::Relaxed) as f64 / secs / 1e6 * 10.0).round() / 10.0,
    });
    for s in senders {
        s.abort();
    }
    let _ = child.kill().await;
    Ok(m)
}

fn heartbeat() -> MavMessage {
    MavMessage::HEARTBEAT(HEARTBEAT_DATA {
        custom_mode: 0,
        mavtype: MavType::MAV_TYPE_QUADROTOR,
        autopilot: MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
        base_mode: MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED,
        system_status: MavState::MAV_STATE_STANDBY,
        mavlink_version: 3,
    })
}

/// The fake fleet of the incident measurement: the demo's 15 vehicles,
/// docked, answering commands and mission uploads.
async fn incident(args: &[String]) -> Result<(), String> {
    let n: usize = arg(args, "--incidents", 30);
    let scenario = scenario();
    let ids: Vec<u8> = scenario.drones.iter().map(|d| d.system_id).collect();
    let system_of: HashMap<String, u8> = scenario
        .drones
        .iter()
        .map(|d| (d.id.0.clone(), d.system_id))
        .collect();
    let link = mavlink_link::link::connect(
        &Address::UdpIn(SocketAddr::from(([127, 0, 0, 1], 0))),
        ids,
        LinkConfig::default(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let gcs = link.local_addr().ok_or("no link address")?;
    let manager = fleet::FleetManager::new(scenario.clone(), link, fleet::FleetConfig::default());
    // The fake vehicles: one socket for all, as the simulator does.
    let sock = Arc::new(
        UdpSocket::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?,
    );
    let homes: HashMap<u8, (f64, f64)> = scenario
        .drones
        .iter()
        .map(|d| (d.system_id, (d.position.lat, d.position.lon)))
        .collect();
    let first_frame: Arc<Mutex<HashMap<u8, Instant>>> = Arc::default();
    {
        let sock = Arc::clone(&sock);
        let homes = homes.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            loop {
                tick.tick().await;
                for (&sys, &(lat, lon)) in &homes {
                    let mut dg = encode_v2(sys, 1, 0, &heartbeat());
                    dg.extend(encode_v2(
                        sys,
                        1,
                        0,
                        &MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
                            lat: (lat * 1e7) as i32,
                            lon: (lon * 1e7) as i32,
                            ..Default::default()
                        }),
                    ));
                    dg.extend(encode_v2(
                        sys,
                        1,
                        0,
                        &MavMessage::SYS_STATUS(SYS_STATUS_DATA {
                            battery_remaining: 100,
                            voltage_battery: 16_800,
                            ..Default::default()
                        }),
                    ));
                    dg.extend(encode_v2(
                        sys,
                        1,
                        0,
                        &MavMessage::EXTENDED_SYS_STATE(EXTENDED_SYS_STATE_DATA {
                            landed_state: MavLandedState::MAV_LANDED_STATE_ON_GROUND,
                            ..Default::default()
                        }),
                    ));
                    let _ = sock.send_to(&dg, gcs).await;
                }
            }
        });
    }
    {
        let sock = Arc::clone(&sock);
        let first = Arc::clone(&first_frame);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            // Item count of the upload in progress, per vehicle.
            let mut counts: HashMap<u8, u16> = HashMap::new();
            let request = |seq: u16, mission_type| {
                MavMessage::MISSION_REQUEST_INT(MISSION_REQUEST_INT_DATA {
                    seq,
                    target_system: 255,
                    target_component: 190,
                    mission_type,
                })
            };
            let accepted = |mission_type| {
                MavMessage::MISSION_ACK(MISSION_ACK_DATA {
                    target_system: 255,
                    target_component: 190,
                    mavtype: MavMissionResult::MAV_MISSION_ACCEPTED,
                    mission_type,
                    ..Default::default()
                })
            };
            while let Ok((len, from)) = sock.recv_from(&mut buf).await {
                let now = Instant::now();
                for f in decode_datagram(&buf[..len]).into_iter().flatten() {
                    let answer = match &f.message {
                        MavMessage::MISSION_COUNT(c) => {
                            first
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .entry(c.target_system)
                                .or_insert(now);
                            counts.insert(c.target_system, c.count);
                            Some((
                                c.target_system,
                                if c.count == 0 {
                                    accepted(c.mission_type)
                                } else {
                                    request(0, c.mission_type)
                                },
                            ))
                        }
                        MavMessage::MISSION_ITEM_INT(i) => {
                            let n = counts.get(&i.target_system).copied().unwrap_or(0);
                            Some((
                                i.target_system,
                                if i.seq + 1 < n {
                                    request(i.seq + 1, i.mission_type)
                                } else {
                                    accepted(i.mission_type)
                                },
                            ))
                        }
                        MavMessage::COMMAND_LONG(c) if c.target_system != 0 => Some((
                            c.target_system,
                            MavMessage::COMMAND_ACK(COMMAND_ACK_DATA {
                                command: c.command,
                                result: MavResult::MAV_RESULT_ACCEPTED,
                                ..Default::default()
                            }),
                        )),
                        _ => None,
                    };
                    let out = answer.map(|(sys, m)| encode_v2(sys, 1, 0, &m));
                    if let Some(dg) = out {
                        let _ = sock.send_to(&dg, from).await;
                    }
                }
            }
        });
    }
    let (fleet, _task) = fleet::service::spawn(manager, Duration::from_secs(3));
    // LOAD_DEBUG=1 prints the fleet's events to stderr.
    if std::env::var_os("LOAD_DEBUG").is_some() {
        let mut ev = fleet.subscribe();
        tokio::spawn(async move {
            while let Ok(e) = ev.recv().await {
                eprintln!("{}", serde_json::to_string(&e).unwrap_or_default());
            }
        });
    }
    let tokens = Tokens::new(&scenario.server.tokens, None)?;
    let state = AppState::new(fleet.clone(), scenario, tokens, HubConfig::default(), None);
    let http = start_http(state).await?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut samples = Vec::new();
    let places = [
        (30.53, 120.68),
        (30.755, 120.765),
        (30.43, 120.88),
        (30.372, 120.676),
    ];
    for k in 0..n {
        let (lat, lon) = places[k % places.len()];
        first_frame
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        let body = json!({"kind": "highrise_fire", "lat": lat, "lon": lon}).to_string();
        let t0 = Instant::now();
        let (status, v) = http_post(http, "/api/incidents", &body).await?;
        if status != 201 {
            let snap = fleet.snapshot().await.map_err(|e| e.to_string())?;
            let states: Vec<String> = snap
                .drones
                .iter()
                .map(|d| format!("{} {} {:.0}%", d.id, d.state, d.battery_pct))
                .collect();
            return Err(format!(
                "incident {k}: HTTP {status}: {}; drones: {states:?}",
                v["reason"]
            ));
        }
        let drone = v["drone"].as_str().unwrap_or_default().to_owned();
        let sys = *system_of
            .get(&drone)
            .ok_or_else(|| format!("incident {k}: unknown drone `{drone}`"))?;
        let deadline = Instant::now() + Duration::from_secs(5);
        let t1 = loop {
            if let Some(t) = first_frame
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&sys)
            {
                break *t;
            }
            if Instant::now() > deadline {
                return Err(format!("incident {k}: no frame to system {sys}"));
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        };
        samples.push(t1.duration_since(t0).as_secs_f64() * 1000.0);
        let id = v["id"].as_u64().unwrap_or_default();
        let _ = http_post(http, &format!("/api/incidents/{id}/cancel"), "{}").await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Baseline in the same run: a request that only asks the fleet service
    // for a snapshot (GET /api/health), timed the same way.
    let mut base = Vec::new();
    for _ in 0..n {
        let t0 = Instant::now();
        let (status, _) = http_request(http, "GET", "/api/health", "").await?;
        if status != 200 {
            return Err(format!("health: HTTP {status}"));
        }
        base.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    let q = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(f64::total_cmp);
        let x = v[((v.len() - 1) as f64 * p).round() as usize];
        (x * 100.0).round() / 100.0
    };
    let (p50, p90, max) = (
        q(&mut samples, 0.5),
        q(&mut samples, 0.9),
        q(&mut samples, 1.0),
    );
    let b50 = q(&mut base, 0.5);
    println!("{}", serde_json::to_string_pretty(&json!({
        "what": "POST /api/incidents sent -> first MAVLink frame (fence MISSION_COUNT) received by the chosen vehicle, ms",
        "incidents": samples.len(), "p50": p50, "p90": p90, "max": max,
        "baseline_health_get_p50": b50,
        "p50_ratio_to_baseline": ((p50 / b50) * 100.0).round() / 100.0,
    })).map_err(|e| e.to_string())?);
    Ok(())
}

/// Serves the app on a free loopback port until the process ends.
async fn start_http(state: AppState) -> Result<SocketAddr, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let http = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(dispatch_server::serve(
        listener,
        state,
        std::future::pending(),
    ));
    Ok(http)
}

/// A minimal HTTP/1.1 POST with the demo dispatcher token (keeps the harness free of an HTTP client crate).
async fn http_post(addr: SocketAddr, path: &str, body: &str) -> Result<(u16, Value), String> {
    http_request(addr, "POST", path, body).await
}

async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> Result<(u16, Value), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer demo-dispatcher\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await.map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&resp);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let json = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, serde_json::from_str(json).unwrap_or(Value::Null)))
}

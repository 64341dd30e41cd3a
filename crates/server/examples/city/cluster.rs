//! `--servers N` (N ≥ 2): the same measurement on a cluster. N `dispatcher
//! serve` processes share a fresh PostgreSQL database and the NATS bus
//! (`--node city-K`, subjects of this run's own), each with its own UDP port
//! per `[[link]]`; the standalone `drone-sim` flies every drone and sends
//! each link's MAVLink to all N servers (`--link-gcs A,B,C` per link, as a
//! MAVLink router would). `city-0` is started first and waited for as the
//! leader, then the followers, then the simulator. The baseline is one
//! client on each server; the measurement spreads `--clients` over them
//! round-robin. The database is dropped at the end.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::measure::{Target, phase, round};
use crate::procs::Others;
use crate::{Opts, http_get, say, spawn_logged, wait_links_up};

/// A free loopback port of a kind: bind port 0, note it, let it go.
fn free_port(udp: bool) -> Result<u16, String> {
    let port = if udp {
        std::net::UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr())
    } else {
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr())
    };
    port.map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn psql(url: &str, sql: &str) -> Result<(), String> {
    let out = std::process::Command::new("psql")
        .args([url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .map_err(|e| format!("cannot run psql (PostgreSQL's client): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "psql {sql:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// `postgres://.../postgres` with another database name.
fn with_database(url: &str, db: &str) -> Result<String, String> {
    let (base, _) = url
        .rsplit_once('/')
        .filter(|(b, _)| b.contains("://") && !b.ends_with('/'))
        .ok_or_else(|| format!("{url} is not postgres://USER@HOST:PORT/DATABASE"))?;
    Ok(format!("{base}/{db}"))
}

/// Waits until a server's health answers with this role.
async fn wait_role(http: SocketAddr, role: &str, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut last = Value::Null;
    while Instant::now() < deadline {
        if let Ok(h) = http_get(http, "/api/health", "demo-admin").await {
            if h["cluster"]["role"] == role {
                return Ok(());
            }
            last = h;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!(
        "the server at {http} is not {role} after {timeout:?}: {last}"
    ))
}

pub(crate) async fn run(o: &Opts) -> Result<(), String> {
    let scenario = dispatch_core::config::load(Path::new(&o.config))
        .map_err(|e| format!("{}: {e}", o.config))?;
    let links: Vec<String> = scenario.links.iter().map(|l| l.name.clone()).collect();
    let db = format!("city_{}", std::process::id());
    psql(
        &o.postgres,
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    )?;
    psql(&o.postgres, &format!("CREATE DATABASE {db}"))?;
    let database = with_database(&o.postgres, &db)?;
    let result = measure(o, &links, &database, &db).await;
    if let Err(e) = psql(
        &o.postgres,
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    ) {
        eprintln!("city: {e}");
    }
    let out = result?;
    println!("{out}");
    Ok(())
}

async fn measure(o: &Opts, links: &[String], database: &str, db: &str) -> Result<Value, String> {
    let prefix = format!("city{}", std::process::id());
    let mut children = Vec::new();
    let mut targets = Vec::new();
    let mut link_ports: Vec<Vec<u16>> = Vec::new();
    let mut commands = Vec::new();
    for k in 0..o.servers {
        let http = SocketAddr::from(([127, 0, 0, 1], free_port(false)?));
        let ports = links
            .iter()
            .map(|_| free_port(true))
            .collect::<Result<Vec<_>, _>>()?;
        let name = format!("city-{k}");
        let mut args: Vec<String> = [
            "serve",
            "--config",
            &o.config,
            "--listen",
            &http.to_string(),
            "--database",
            database,
            "--node",
            &name,
            "--bus",
            &o.nats,
            "--bus-prefix",
            &prefix,
            "--speedup",
            &o.speedup.to_string(),
            "--time",
            &o.time,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        for (l, p) in links.iter().zip(&ports) {
            args.extend(["--mavlink".to_owned(), format!("{l}=udpin:127.0.0.1:{p}")]);
        }
        let (child, log) = spawn_logged(&o.dispatcher, &args, &name)?;
        let pid = child.id().ok_or("a dispatcher exited at once")?;
        commands.push(format!("{} {}", o.dispatcher.display(), args.join(" ")));
        // The first leads: wait for it before starting the others.
        let role = if k == 0 { "leader" } else { "standby" };
        if let Err(e) = wait_role(http, role, Duration::from_secs(30)).await {
            return Err(format!("{e}\n{}", crate::tail(&log)));
        }
        children.push((child, log));
        targets.push(Target { name, http, pid });
        link_ports.push(ports);
    }
    let mut sim_args: Vec<String> = vec![
        "--config".into(),
        o.config.clone(),
        "--speedup".into(),
        o.speedup.to_string(),
    ];
    for l in 0..links.len() {
        let to: Vec<String> = link_ports
            .iter()
            .map(|p| format!("127.0.0.1:{}", p[l]))
            .collect();
        sim_args.extend(["--link-gcs".to_owned(), to.join(",")]);
    }
    let spawned = Instant::now();
    let (sim, _sim_log) = spawn_logged(&o.drone_sim, &sim_args, "drone-sim")?;
    let sim_pid = sim.id().ok_or("the simulator exited at once")?;
    commands.push(format!("{} {}", o.drone_sim.display(), sim_args.join(" ")));
    let (leader, leader_log) = &mut children[0];
    let up = wait_links_up(targets[0].http, leader, o, leader_log, spawned).await?;
    eprintln!(
        "city: {} of {} drones' links up on the leader after {:.1} s (on {} links)",
        up.up, up.drones, up.links_up_s, up.links
    );
    let others = Others {
        sim_pid,
        psql: Some((o.postgres.clone(), db.to_owned())),
    };
    let n = targets.len();
    let base = phase(&targets, n, o, Some(&others)).await?;
    say(&base);
    let full = phase(&targets, o.clients, o, Some(&others)).await?;
    say(&full);
    let end = http_get(targets[0].http, "/api/health", "demo-admin")
        .await
        .ok();
    drop(sim);
    drop(children);
    let ratio = |a: &Value, b: &Value, k: &str| {
        round(
            a["latency_ms"][k].as_f64().unwrap_or(f64::NAN)
                / b["latency_ms"][k].as_f64().unwrap_or(f64::NAN),
            2,
        )
    };
    let per_server: Vec<Value> = (0..n)
        .map(|i| {
            let (a, b) = (&full["servers"][i], &base["servers"][i]);
            json!({"name": a["name"], "role": a["role"],
                   "p50_ratio_to_baseline": ratio(a, b, "p50"),
                   "p99_ratio_to_baseline": ratio(a, b, "p99")})
        })
        .collect();
    Ok(json!({
        "commands": commands,
        "servers": n,
        "links_up_s": round(up.links_up_s, 1),
        "drones": up.drones,
        "links_up_at_start": up.up,
        "links": up.links,
        "link_up_at_end": end.as_ref().map(|h| h["vehicles"]["link_up"].clone()),
        "measured": full,
        "baseline_1_client_per_server": base,
        "p50_ratio_to_baseline": ratio(&full, &base, "p50"),
        "p99_ratio_to_baseline": ratio(&full, &base, "p99"),
        "per_server_ratios": per_server,
    }))
}

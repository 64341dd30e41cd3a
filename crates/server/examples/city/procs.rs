//! What /proc says of the processes measured: CPU ticks (a process, one of
//! its threads, every process of a name), memory, the UDP receive queues of
//! the servers' links, the load average.

use std::collections::HashMap;
use std::net::SocketAddr;

use serde_json::{Value, json};

use crate::measure::cpu_pct;

/// Clock ticks per second of /proc/PID/stat (USER_HZ, 100 on Linux).
pub(crate) const TICKS_PER_S: f64 = 100.0;

/// Processes beside the servers whose CPU is measured too: the simulator,
/// and every process called `nats-server` or `postgres` (the cluster's bus
/// and database: the local servers, shared by whatever else runs here).
#[derive(Debug, Clone)]
pub(crate) struct Others {
    pub sim_pid: u32,
    /// For `pg_stat_database`: psql's URL and the database's name.
    pub psql: Option<(String, String)>,
}

/// One reading of [`Others`].
pub(crate) struct OthersReading {
    sim: Option<u64>,
    by_name: HashMap<&'static str, HashMap<u32, u64>>,
    commits: Option<u64>,
}

const NAMED: [&str; 2] = ["nats-server", "postgres"];

impl Others {
    pub(crate) fn read(&self) -> OthersReading {
        let mut by_name: HashMap<&'static str, HashMap<u32, u64>> = HashMap::new();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
            if let Some(name) = NAMED.iter().find(|n| comm.trim() == **n)
                && let Some(t) = process_ticks(pid)
            {
                by_name.entry(name).or_default().insert(pid, t);
            }
        }
        OthersReading {
            sim: process_ticks(self.sim_pid),
            by_name,
            commits: self.psql.as_ref().and_then(|(url, db)| commits(url, db)),
        }
    }

    /// CPU of each over the period, and the database's commits per second.
    pub(crate) fn figures(&self, a: &OthersReading, b: &OthersReading, secs: f64) -> Value {
        let named = |name: &str| {
            let empty = HashMap::new();
            let before = a.by_name.get(name).unwrap_or(&empty);
            let ticks: u64 = b
                .by_name
                .get(name)
                .into_iter()
                .flatten()
                .map(|(pid, t)| t.saturating_sub(before.get(pid).copied().unwrap_or(0)))
                .sum();
            cpu_pct(0, ticks, secs)
        };
        json!({
            "drone_sim_cpu_pct": a.sim.zip(b.sim).map(|(x, y)| cpu_pct(x, y, secs)),
            "nats_server_cpu_pct": named("nats-server"),
            "postgres_cpu_pct": named("postgres"),
            "postgres_commits_per_s": a.commits.zip(b.commits)
                .map(|(x, y)| (y.saturating_sub(x) as f64 / secs).round()),
        })
    }
}

/// Transactions committed in a database so far (`pg_stat_database`).
fn commits(url: &str, db: &str) -> Option<u64> {
    let out = std::process::Command::new("psql")
        .args([url, "-X", "-q", "-A", "-t", "-c"])
        .arg(format!(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = '{db}'"
        ))
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// utime + stime, in ticks, of a /proc `stat` file.
pub(crate) fn stat_ticks(path: &str) -> Option<u64> {
    let s = std::fs::read_to_string(path).ok()?;
    let after = s.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are 12th and 13th after the name.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

pub(crate) fn process_ticks(pid: u32) -> Option<u64> {
    stat_ticks(&format!("/proc/{pid}/stat"))
}

/// CPU ticks of the process's thread called `name`.
pub(crate) fn thread_ticks(pid: u32, name: &str) -> Option<u64> {
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
pub(crate) fn link_ports(health: &Value) -> Vec<u16> {
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
pub(crate) fn udp_queues(ports: &[u16]) -> (u64, u64) {
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
pub(crate) fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A memory line of /proc/PID/status, in MB.
pub(crate) fn status_mb(pid: u32, key: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
}

//! A leader frozen past its lease (SIGSTOP) while a standby takes over, then
//! thawed (SIGCONT), must neither write nor transmit: it exits with the
//! stepped-down status, the database holds nothing of it after the other
//! took the lease, and the vehicle hears not one frame from it.
//!
//! Two `dispatcher serve --node` on a fresh database (on
//! `DISPATCH_TEST_POSTGRES`, default the local server); the "vehicle" is a
//! UDP socket sending yg-1's heartbeat to both servers' MAVLink ports, as a
//! router fanning out would, and noting who sends it what.

mod common;

use std::net::UdpSocket;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Serve, TestDb, http};
use mavlink_link::codec::encode_v2;
use mavlink_link::mav::{HEARTBEAT_DATA, MavAutopilot, MavMessage, MavModeFlag, MavState, MavType};

const DEMO: &str = "config/haining.toml";
/// The stepped-down exit status (`serve/cluster.rs`).
const STEPPED_DOWN: i32 = 75;

#[test]
fn a_leader_paused_past_its_lease_and_resumed_exits_without_writing_or_transmitting() {
    let db = TestDb::new();
    let (pa, pb) = (free_udp_port(), free_udp_port());
    let vehicle = Vehicle::start(&[pa, pb]);

    let mut a = Serve::run(&node_args(&db.url, "a", pa));
    assert!(a.wait_for("node a leads"), "{}", a.output());
    assert!(
        vehicle.wait_for_frame_from(pa, Duration::from_secs(10)),
        "the leader never sent the vehicle anything"
    );
    let mut b = Serve::run(&node_args(&db.url, "b", pb));
    assert!(b.wait_for("node b: standby"), "{}", b.output());
    assert_eq!(
        vehicle.frames_from(pb),
        0,
        "a standby sent the vehicle something"
    );

    signal("STOP", a.child.id());
    let paused = Instant::now();
    assert!(b.wait_for("node b leads"), "{}", b.output());
    let (status, h) = http(&b.addr, "GET", "/api/health", "demo-viewer", "");
    assert_eq!(status, 200, "{h}");
    assert_eq!(
        (
            h["cluster"]["role"].as_str(),
            h["cluster"]["token"].as_u64()
        ),
        (Some("leader"), Some(2)),
        "{h}"
    );
    // b is stopped at once, so that whatever the log holds from now on
    // could only be a's.
    b.kill();
    let before = snapshot(&db.url);
    assert!(
        paused.elapsed() > Duration::from_secs(3),
        "a was not paused past its lease"
    );
    let thawed = Instant::now();
    let from_a_before = vehicle.frames_from(pa);
    // A report waits for a in its listen queue: it is what a would write.
    let addr = a.addr.clone();
    let report = std::thread::spawn(move || {
        http(
            &addr,
            "POST",
            "/api/incidents",
            "demo-dispatcher",
            r#"{"kind":"person_in_water","lat":30.392,"lon":120.522}"#,
        )
    });
    signal("CONT", a.child.id());

    let code = wait_exit(&mut a, Duration::from_secs(15));
    assert_eq!(code, Some(STEPPED_DOWN), "{}", a.output());
    assert!(a.wait_for("node a stepped down"), "{}", a.output());
    let (status, body) = report.join().unwrap_or((0, serde_json::Value::Null));
    assert_ne!(
        status, 201,
        "a took a report after losing the lease: {body}"
    );
    // Whatever a sent before it exited is in the vehicle's socket buffer:
    // give the reader (100 ms timeout) time to take it.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        vehicle.frames_from_since(pa, thawed),
        0,
        "a transmitted after it was thawed (before: {from_a_before} frames)"
    );
    assert_eq!(snapshot(&db.url), before, "a wrote after b took the lease");
    let lease = query(
        &db.url,
        "SELECT holder || ' ' || token FROM dispatch_lease WHERE name = 'dispatch'",
    );
    assert_eq!(lease, "b 2");
}

fn node_args(url: &str, name: &str, port: u16) -> Vec<String> {
    [
        "serve",
        "--config",
        DEMO,
        "--listen",
        "127.0.0.1:0",
        "--time",
        "2026-09-28T13:00:00+08:00",
        "--database",
        url,
        "--node",
        name,
        "--mavlink",
        &format!("udpin:127.0.0.1:{port}"),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

fn signal(name: &str, pid: u32) {
    let ok = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{name} {pid} failed");
}

fn wait_exit(s: &mut Serve, within: Duration) -> Option<i32> {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if let Ok(Some(status)) = s.child.try_wait() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// Every table of the log, as counts and digests of its rows.
fn snapshot(url: &str) -> Vec<String> {
    ["events", "incidents", "sorties", "zone_changes", "tracks", "kv"]
        .iter()
        .map(|t| {
            query(
                url,
                &format!(
                    "SELECT '{t} ' || count(*) || ' ' || md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {t} x"
                ),
            )
        })
        .collect()
}

fn query(url: &str, sql: &str) -> String {
    let mut c = common::admin_client(url);
    c.query_one(sql, &[])
        .and_then(|r| r.try_get::<_, String>(0))
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
}

/// yg-1 (system id 11) as a socket: a heartbeat to every server every
/// 200 ms, and when each frame from them arrived, by their port.
struct Vehicle {
    heard: Arc<Mutex<Vec<(u16, Instant)>>>,
}

impl Vehicle {
    fn start(servers: &[u16]) -> Vehicle {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap_or_else(|e| panic!("{e}"));
        let heard = Arc::new(Mutex::new(Vec::new()));
        let recv = socket.try_clone().unwrap_or_else(|e| panic!("{e}"));
        let log = Arc::clone(&heard);
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            loop {
                if let Ok((_, from)) = recv.recv_from(&mut buf) {
                    let mut l = log.lock().unwrap_or_else(|p| p.into_inner());
                    l.push((from.port(), Instant::now()));
                }
            }
        });
        let servers = servers.to_vec();
        std::thread::spawn(move || {
            let hb = MavMessage::HEARTBEAT(HEARTBEAT_DATA {
                custom_mode: 0,
                mavtype: MavType::MAV_TYPE_QUADROTOR,
                autopilot: MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
                base_mode: MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED,
                system_status: MavState::MAV_STATE_STANDBY,
                mavlink_version: 3,
            });
            let mut seq = 0u8;
            loop {
                let frame = encode_v2(11, 1, seq, &hb);
                seq = seq.wrapping_add(1);
                for p in &servers {
                    // Nobody listening yet (a standby opens no link): ignored.
                    let _ = socket.send_to(&frame, ("127.0.0.1", *p));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        Vehicle { heard }
    }

    fn frames_from(&self, port: u16) -> usize {
        let l = self.heard.lock().unwrap_or_else(|p| p.into_inner());
        l.iter().filter(|(p, _)| *p == port).count()
    }

    fn frames_from_since(&self, port: u16, since: Instant) -> usize {
        let l = self.heard.lock().unwrap_or_else(|p| p.into_inner());
        l.iter().filter(|(p, t)| *p == port && *t >= since).count()
    }

    fn wait_for_frame_from(&self, port: u16, within: Duration) -> bool {
        let end = Instant::now() + within;
        while Instant::now() < end {
            if self.frames_from(port) > 0 {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

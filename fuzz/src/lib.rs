//! An in-tree fuzzer that runs anywhere `cargo` does (no nightly, no
//! sanitizer runtime), so that CI runs it for a bounded time on every push.
//!
//! Each target takes arbitrary bytes to one entry point that faces the
//! outside world and checks that it neither panics nor breaks its own
//! promises:
//! - `link`: datagrams into the dispatcher's telemetry ingest
//!   (`Fleet::ingest_from`), unsigned and with signature checks on: every
//!   decoded frame or rejected run of bytes is counted;
//! - `sim`: datagrams into a simulated vehicle (decode, `Vehicle::handle`,
//!   then physics steps): no panic, the vehicle stays somewhere finite;
//! - `api`: request bodies into the HTTP API (incidents, zones, operator
//!   commands, cancel): never a 5xx, and the service still answers;
//! - `config`: scenario TOML and zones GeoJSON into the configuration parser.
//!
//! Inputs are mutated from valid seeds (bit flips, byte and token
//! replacement, splices, truncation...). Without coverage instrumentation,
//! an input that gives an outcome not seen before (a new error kind, a new
//! status) becomes a seed. A crash is written to `fuzz/crashes/`; once
//! fixed, it goes to `fuzz/regressions/<target>/`, which `cargo test`
//! replays on every run.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use mavlink_link::codec::{decode_datagram, encode_v2};
use mavlink_link::mav::{self, MavMessage};
use mavlink_link::mavlink::Message as _;
use mavlink_link::signing::{Keyring, SecretKey, Signer};
use mavlink_link::state::{Fleet, Ingested};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// One fuzz target.
pub trait Target {
    fn name(&self) -> &'static str;
    fn seeds(&self) -> Vec<Vec<u8>>;
    /// Runs one input. `Err` is a broken promise (reported like a crash);
    /// `Ok` gives a short outcome key (new keys make the input a seed).
    fn run(&mut self, input: &[u8]) -> Result<String, String>;
}

/// Values that tend to break parsers.
const TOKENS: &[&str] = &[
    "0",
    "-0",
    "-1",
    "1e999",
    "-1e999",
    "NaN",
    "nan",
    "inf",
    "1e-320",
    "null",
    "true",
    "\"\"",
    "[]",
    "{}",
    "[[]]",
    "18446744073709551616",
    "-9223372036854775809",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "90.0000001",
    "-180.1",
    "1.7976931348623157e308",
    "\"x\"",
    ",",
    ":",
    "\"",
    "[[120.6,30.4],[120.6,30.4]]",
    "999999",
    "\n",
    "=",
    "[[drone]]",
    "#",
];
const BYTES: &[u8] = &[0x00, 0xFF, 0x7F, 0x80, 0xFD, 0xFE, 0x01, 0x10, 0x20];

/// A mutated copy of a seed.
pub fn mutate(rng: &mut SmallRng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut b = seeds[rng.random_range(0..seeds.len())].clone();
    for _ in 0..rng.random_range(1..=4) {
        let n = b.len();
        match rng.random_range(0..10) {
            0 if n > 0 => {
                let i = rng.random_range(0..n);
                b[i] ^= 1 << rng.random_range(0..8);
            }
            1 if n > 0 => {
                let i = rng.random_range(0..n);
                b[i] = if rng.random_bool(0.5) {
                    BYTES[rng.random_range(0..BYTES.len())]
                } else {
                    rng.random()
                };
            }
            2 => {
                let i = rng.random_range(0..=n);
                let k = rng.random_range(1..=8);
                let ins: Vec<u8> = (0..k).map(|_| rng.random()).collect();
                b.splice(i..i, ins);
            }
            3 if n > 0 => {
                let i = rng.random_range(0..n);
                let j = (i + rng.random_range(1..=16)).min(n);
                b.drain(i..j);
            }
            4 if n > 0 => {
                let cut = rng.random_range(0..n);
                b.truncate(cut);
            }
            5 => {
                let other = &seeds[rng.random_range(0..seeds.len())];
                if !other.is_empty() {
                    let i = rng.random_range(0..=b.len());
                    let j = rng.random_range(0..other.len());
                    b.truncate(i);
                    b.extend_from_slice(&other[j..]);
                }
            }
            6 => {
                let other = &seeds[rng.random_range(0..seeds.len())];
                b.extend_from_slice(other);
            }
            7 | 8 => {
                // A token in place of a run of characters (text formats).
                let t = TOKENS[rng.random_range(0..TOKENS.len())].as_bytes();
                let i = rng.random_range(0..=n);
                let j = (i + rng.random_range(0..=6)).min(n);
                b.splice(i..j, t.iter().copied());
            }
            _ if n > 1 => {
                let i = rng.random_range(0..n);
                let j = rng.random_range(i..n);
                let dup = b[i..=j].to_vec();
                b.splice(i..i, dup);
            }
            _ => b.push(rng.random()),
        }
    }
    b.truncate(70_000);
    b
}

/// What a bounded run found.
#[derive(Debug, Default)]
pub struct Report {
    pub execs: u64,
    pub seconds: f64,
    pub outcomes: usize,
    pub seeds: usize,
    /// (input, what went wrong)
    pub failures: Vec<(Vec<u8>, String)>,
}

/// Runs one input, turning a panic into a failure.
pub fn run_one(t: &mut dyn Target, input: &[u8]) -> Result<String, String> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| t.run(input))) {
        Ok(r) => r,
        Err(p) => Err(format!(
            "panic: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "(no message)".into())
        )),
    }
}

/// Fuzzes `t` for `budget` (or `max_execs` inputs), from `seed`.
pub fn fuzz(t: &mut dyn Target, budget: Duration, max_execs: u64, seed: u64) -> Report {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut seeds = t.seeds();
    let mut seen = HashSet::new();
    let mut report = Report::default();
    let start = Instant::now();
    for s in seeds.clone() {
        match run_one(t, &s) {
            Ok(k) => {
                seen.insert(k);
            }
            Err(e) => report.failures.push((s, e)),
        }
    }
    while start.elapsed() < budget && report.execs < max_execs && report.failures.len() < 5 {
        let input = mutate(&mut rng, &seeds);
        report.execs += 1;
        match run_one(t, &input) {
            Ok(k) => {
                if seen.insert(k) && seeds.len() < 4000 {
                    seeds.push(input);
                }
            }
            Err(e) => report.failures.push((input, e)),
        }
    }
    report.seconds = start.elapsed().as_secs_f64();
    report.outcomes = seen.len();
    report.seeds = seeds.len();
    report
}

// ---------- MAVLink frames ----------

fn seed_messages() -> Vec<MavMessage> {
    vec![
        MavMessage::HEARTBEAT(mav::HEARTBEAT_DATA {
            custom_mode: 3,
            mavtype: mav::MavType::MAV_TYPE_QUADROTOR,
            autopilot: mav::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
            base_mode: mav::MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
                | mav::MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED,
            system_status: mav::MavState::MAV_STATE_ACTIVE,
            mavlink_version: 3,
        }),
        MavMessage::HEARTBEAT(mav::HEARTBEAT_DATA {
            mavtype: mav::MavType::MAV_TYPE_GCS,
            autopilot: mav::MavAutopilot::MAV_AUTOPILOT_INVALID,
            mavlink_version: 3,
            ..Default::default()
        }),
        MavMessage::GLOBAL_POSITION_INT(mav::GLOBAL_POSITION_INT_DATA {
            time_boot_ms: 12_000,
            lat: 303_470_000,
            lon: 1_204_570_000,
            alt: 65_000,
            relative_alt: 60_000,
            vx: 1500,
            vy: -200,
            vz: 0,
            hdg: 24_800,
        }),
        MavMessage::SYS_STATUS(mav::SYS_STATUS_DATA {
            voltage_battery: 22_000,
            battery_remaining: 80,
            ..Default::default()
        }),
        MavMessage::MISSION_CURRENT(mav::MISSION_CURRENT_DATA {
            seq: 3,
            ..Default::default()
        }),
        MavMessage::MISSION_ITEM_REACHED(mav::MISSION_ITEM_REACHED_DATA { seq: 2 }),
        MavMessage::EXTENDED_SYS_STATE(mav::EXTENDED_SYS_STATE_DATA {
            landed_state: mav::MavLandedState::MAV_LANDED_STATE_IN_AIR,
            ..Default::default()
        }),
        MavMessage::COMMAND_LONG(mav::COMMAND_LONG_DATA {
            command: mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
            param1: 1.0,
            target_system: 1,
            target_component: 1,
            ..Default::default()
        }),
        MavMessage::COMMAND_LONG(mav::COMMAND_LONG_DATA {
            command: mav::MavCmd::MAV_CMD_DO_SET_MODE,
            param1: 1.0,
            param2: 6.0,
            target_system: 1,
            target_component: 1,
            ..Default::default()
        }),
        MavMessage::COMMAND_ACK(mav::COMMAND_ACK_DATA {
            command: mav::MavCmd::MAV_CMD_MISSION_START,
            result: mav::MavResult::MAV_RESULT_ACCEPTED,
            ..Default::default()
        }),
        MavMessage::MISSION_COUNT(mav::MISSION_COUNT_DATA {
            count: 4,
            target_system: 1,
            target_component: 1,
            ..Default::default()
        }),
        MavMessage::MISSION_ITEM_INT(mav::MISSION_ITEM_INT_DATA {
            seq: 0,
            command: mav::MavCmd::MAV_CMD_NAV_WAYPOINT,
            frame: mav::MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT,
            x: 303_470_000,
            y: 1_204_570_000,
            z: 60.0,
            target_system: 1,
            target_component: 1,
            ..Default::default()
        }),
        MavMessage::MISSION_REQUEST_INT(mav::MISSION_REQUEST_INT_DATA {
            seq: 1,
            target_system: 255,
            target_component: 190,
            ..Default::default()
        }),
        MavMessage::PARAM_SET(mav::PARAM_SET_DATA {
            param_value: 4.0,
            target_system: 1,
            target_component: 1,
            param_id: "FS_GCS_ENABLE".into(),
            param_type: mav::MavParamType::MAV_PARAM_TYPE_INT8,
        }),
        MavMessage::PARAM_VALUE(mav::PARAM_VALUE_DATA {
            param_value: 4.0,
            param_count: 10,
            param_index: 1,
            param_id: "FS_GCS_ENABLE".into(),
            param_type: mav::MavParamType::MAV_PARAM_TYPE_INT8,
        }),
        MavMessage::STATUSTEXT(mav::STATUSTEXT_DATA {
            severity: mav::MavSeverity::MAV_SEVERITY_WARNING,
            text: "lifebuoy released".into(),
            ..Default::default()
        }),
        MavMessage::BATTERY_STATUS(mav::BATTERY_STATUS_DATA {
            battery_remaining: 55,
            ..Default::default()
        }),
    ]
}

/// Valid frames (MAVLink 2, some signed) from system `sysid`, one per datagram
/// and some datagrams with several.
pub fn frame_seeds(sysid: u8, key: &SecretKey) -> Vec<Vec<u8>> {
    let mut signer = Signer::new(0);
    let mut out = Vec::new();
    for (i, m) in seed_messages().iter().enumerate() {
        let plain = encode_v2(sysid, 1, i as u8, m);
        out.push(signer.sign(key, &plain, MavMessage::extra_crc(m.message_id())));
        out.push(plain);
    }
    let two = [out[0].clone(), out[5].clone()].concat();
    out.push(two);
    out
}

fn fuzz_key() -> SecretKey {
    SecretKey::new([42; 32])
}

/// `link`: the dispatcher's telemetry ingest, without and with signature checks.
#[allow(missing_debug_implementations)]
pub struct LinkTarget {
    plain: Fleet,
    signed: Fleet,
    t: f64,
}

impl Default for LinkTarget {
    fn default() -> Self {
        let mut signed = Fleet::new(1..=20);
        signed.require_signatures(Keyring::single(fuzz_key()));
        Self {
            plain: Fleet::new(1..=20),
            signed,
            t: 0.0,
        }
    }
}

impl Target for LinkTarget {
    fn name(&self) -> &'static str {
        "link"
    }
    fn seeds(&self) -> Vec<Vec<u8>> {
        frame_seeds(3, &fuzz_key())
    }
    fn run(&mut self, input: &[u8]) -> Result<String, String> {
        self.t += 0.05;
        let from: SocketAddr = SocketAddr::from((
            [127, 0, 0, 1],
            14550 + u16::from(input.len().is_multiple_of(2)),
        ));
        let results = decode_datagram(input).len() as u64;
        let mut key = String::new();
        for fleet in [&mut self.plain, &mut self.signed] {
            let before = fleet.counters.frames + fleet.counters.bad_frames;
            let refused_before: u64 = fleet.counters.signing_refused.values().sum();
            let mut out = Ingested::default();
            fleet.ingest_from(input, Some(from), self.t, &mut out);
            let refused: u64 =
                fleet.counters.signing_refused.values().sum::<u64>() - refused_before;
            let after = fleet.counters.frames + fleet.counters.bad_frames;
            // Every decoded frame or rejected run of bytes is accounted for.
            if after - before + refused != results {
                return Err(format!(
                    "{results} decode results but {} counted and {refused} refused by signing",
                    after - before
                ));
            }
            for v in fleet.iter() {
                if !(v.lat.is_finite() && v.lon.is_finite() && v.rel_alt_m.is_finite()) {
                    return Err(format!("system {} has a non-finite position", v.system_id));
                }
            }
            key.push_str(&format!(
                "{}:{}:{};",
                out.errors.first().map_or("ok", error_kind),
                out.signing.first().map_or("-", |(_, e)| e.kind()),
                out.protocol.len().min(3)
            ));
        }
        Ok(key)
    }
}

fn error_kind(e: &mavlink_link::codec::FrameError) -> &'static str {
    use mavlink_link::codec::FrameError::*;
    match e {
        Garbage { .. } => "garbage",
        Truncated { .. } => "truncated",
        BadCrc { .. } => "bad_crc",
        UnknownMessage { .. } => "unknown",
        UnsupportedFlags { .. } => "flags",
        BadPayload { .. } => "payload",
    }
}

/// `sim`: one simulated vehicle takes whatever a ground station sends.
#[allow(missing_debug_implementations)]
pub struct SimTarget {
    vehicle: drone_sim::vehicle::Vehicle,
    rng: SmallRng,
    t: f64,
}

impl Default for SimTarget {
    fn default() -> Self {
        use clap::Parser as _;
        let cli = drone_sim::Cli::parse_from(["drone-sim", "--synthetic", "1"]);
        let cfg = drone_sim::fleet(&cli)
            .ok()
            .and_then(|mut v| v.pop())
            .unwrap_or_else(|| unreachable!("a synthetic fleet of one always builds"));
        Self {
            vehicle: drone_sim::vehicle::Vehicle::new(cfg),
            rng: SmallRng::seed_from_u64(7),
            t: 0.0,
        }
    }
}

impl Target for SimTarget {
    fn name(&self) -> &'static str {
        "sim"
    }
    fn seeds(&self) -> Vec<Vec<u8>> {
        let sysid = self.vehicle.system_id();
        let mut s = frame_seeds(255, &fuzz_key());
        // Commands and missions addressed to this vehicle.
        for m in seed_messages() {
            let mut m = m;
            match &mut m {
                MavMessage::COMMAND_LONG(c) => c.target_system = sysid,
                MavMessage::MISSION_COUNT(c) => c.target_system = sysid,
                MavMessage::MISSION_ITEM_INT(c) => c.target_system = sysid,
                MavMessage::PARAM_SET(c) => c.target_system = sysid,
                _ => {}
            }
            s.push(encode_v2(255, 190, 0, &m));
        }
        s
    }
    fn run(&mut self, input: &[u8]) -> Result<String, String> {
        self.t += 0.1;
        let mut kinds = Vec::new();
        for r in decode_datagram(input) {
            match r {
                Ok(f) => {
                    let outs =
                        self.vehicle
                            .handle(self.t, 0, (f.system_id, f.component_id), &f.message);
                    kinds.push(format!("{}>{}", f.message.message_id(), outs.len().min(3)));
                }
                Err(e) => kinds.push(error_kind(&e).to_owned()),
            }
        }
        for _ in 0..3 {
            let _ = self.vehicle.step(
                self.t,
                0.05,
                &mut self.rng,
                &drone_sim::traffic::Traffic::default(),
            );
        }
        let st = self.vehicle.status();
        if !(st.lat.is_finite()
            && st.lon.is_finite()
            && st.alt_m.is_finite()
            && st.battery_pct.is_finite())
        {
            return Err(format!(
                "the vehicle is at a non-finite state: {} {} {} m, battery {}",
                st.lat, st.lon, st.alt_m, st.battery_pct
            ));
        }
        kinds.sort();
        kinds.dedup();
        kinds.truncate(4);
        Ok(kinds.join(","))
    }
}

// ---------- HTTP API ----------

/// `api`: request bodies into the write endpoints of a running service.
#[allow(missing_debug_implementations)]
pub struct ApiTarget {
    rt: tokio::runtime::Runtime,
    state: Option<dispatch_server::AppState>,
    runs: u64,
}

const ENDPOINTS: [(&str, &str, &str); 5] = [
    ("POST", "/api/incidents", "demo-dispatcher"),
    ("POST", "/api/zones", "demo-admin"),
    ("POST", "/api/drones/yg-1/command", "demo-dispatcher"),
    ("POST", "/api/incidents/1/cancel", "demo-dispatcher"),
    ("GET", "/api/reports/response-times?", "demo-viewer"),
];

fn scenario_path() -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/haining.toml"
    ))
}

impl Default for ApiTarget {
    fn default() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        Self {
            rt,
            state: None,
            runs: 0,
        }
    }
}

impl ApiTarget {
    fn state(&mut self) -> dispatch_server::AppState {
        // A fresh service now and then: accepted reports pile up otherwise.
        if self.runs.is_multiple_of(3000) {
            self.state = None;
        }
        self.runs += 1;
        if let Some(s) = &self.state {
            return s.clone();
        }
        let s = self.rt.block_on(async {
            let scenario = dispatch_core::config::load(&scenario_path())
                .unwrap_or_else(|e| panic!("demo scenario: {e}"));
            let (t, _out, _in) = mavlink_link::link::Transport::memory();
            let link = mavlink_link::link::spawn(
                t,
                scenario.drones.iter().map(|d| d.system_id),
                mavlink_link::link::LinkConfig::default(),
            );
            let manager =
                fleet::FleetManager::new(scenario.clone(), link, fleet::FleetConfig::default());
            let (handle, _task) = fleet::service::spawn(manager, Duration::ZERO);
            let tokens = dispatch_server::Tokens::new(&scenario.server.tokens, None)
                .unwrap_or_else(|e| panic!("{e}"));
            dispatch_server::AppState::new(
                handle,
                scenario,
                tokens,
                dispatch_server::HubConfig::default(),
                None,
            )
            .with_write_limit(dispatch_server::limits::WriteLimit {
                per_minute: 1_000_000,
                burst: 1_000_000,
            })
        });
        self.state = Some(s.clone());
        s
    }
}

impl Target for ApiTarget {
    fn name(&self) -> &'static str {
        "api"
    }
    fn seeds(&self) -> Vec<Vec<u8>> {
        let bodies: [(u8, &str); 9] = [
            (
                0,
                r#"{"kind":"person_in_water","lat":30.347,"lon":120.457,"note":"seen from the dyke","source":"cam-7","external_id":"e1"}"#,
            ),
            (0, r#"{"kind":"forest_fire","lat":30.5,"lon":120.6}"#),
            (
                1,
                r#"{"type":"Feature","properties":{"id":"fz","name":"Fuzz","kind":"temporary_closure","floor_m":0,"ceiling_m":200,"active_from":"2026-09-28T08:00:00+08:00"},"geometry":{"type":"Polygon","coordinates":[[[120.60,30.40],[120.61,30.40],[120.61,30.41],[120.60,30.41],[120.60,30.40]]]}}"#,
            ),
            (2, r#"{"action":"goto","lat":30.4,"lon":120.5,"alt_m":50}"#),
            (
                2,
                r#"{"action":"loudspeaker","kind":"tidal_surge_warning"}"#,
            ),
            (2, r#"{"action":"rtl"}"#),
            (3, r#"{"reason":"duplicate"}"#),
            (
                4,
                "from=2026-09-28T00:00:00%2B08:00&to=2026-09-29T00:00:00Z&format=csv",
            ),
            (4, "format=json"),
        ];
        bodies
            .iter()
            .map(|(e, b)| {
                let mut v = vec![*e];
                v.extend_from_slice(b.as_bytes());
                v
            })
            .collect()
    }
    fn run(&mut self, input: &[u8]) -> Result<String, String> {
        use tower::ServiceExt as _;
        let Some((&sel, body)) = input.split_first() else {
            return Ok("empty".into());
        };
        let (method, path, token) = ENDPOINTS[usize::from(sel) % ENDPOINTS.len()];
        let state = self.state();
        let (uri, body) = if method == "GET" {
            let q: String = String::from_utf8_lossy(body)
                .chars()
                .filter(|c| c.is_ascii_graphic())
                .collect();
            (format!("{path}{q}"), Vec::new())
        } else {
            (path.to_owned(), body.to_vec())
        };
        let Ok(req) = axum::http::Request::builder()
            .method(method)
            .uri(&uri)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body))
        else {
            return Ok("unbuildable request".into());
        };
        let status = self.rt.block_on(async {
            dispatch_server::app(state.clone())
                .oneshot(req)
                .await
                .map(|r| r.status())
        });
        let status = status.map_err(|e| format!("router error: {e}"))?;
        if status.is_server_error() {
            return Err(format!("{method} {uri} answered {status}"));
        }
        // The service is still there.
        let alive = self
            .rt
            .block_on(async { state.fleet.snapshot().await.is_ok() });
        if !alive {
            return Err("the fleet service stopped".into());
        }
        Ok(format!("{sel}:{}", status.as_u16()))
    }
}

// ---------- configuration ----------

/// `config`: the scenario parser, fed mutated TOML (first byte even) or
/// mutated zones GeoJSON (odd).
#[derive(Debug)]
pub struct ConfigTarget {
    toml: String,
    zones: String,
}

impl Default for ConfigTarget {
    fn default() -> Self {
        let p = scenario_path();
        let toml = std::fs::read_to_string(&p).unwrap_or_default();
        let zones = std::fs::read_to_string(
            p.parent()
                .map(|d| d.join("zones/haining.geojson"))
                .unwrap_or_default(),
        )
        .unwrap_or_default();
        Self { toml, zones }
    }
}

impl Target for ConfigTarget {
    fn name(&self) -> &'static str {
        "config"
    }
    fn seeds(&self) -> Vec<Vec<u8>> {
        let mut a = vec![0u8];
        a.extend_from_slice(self.toml.as_bytes());
        let mut b = vec![1u8];
        b.extend_from_slice(self.zones.as_bytes());
        vec![a, b]
    }
    fn run(&mut self, input: &[u8]) -> Result<String, String> {
        let Some((&sel, body)) = input.split_first() else {
            return Ok("empty".into());
        };
        let text = String::from_utf8_lossy(body).into_owned();
        let (toml, zones) = if sel % 2 == 0 {
            (text, self.zones.clone())
        } else {
            (self.toml.clone(), text)
        };
        let r = dispatch_core::config::parse(std::path::Path::new("fuzz.toml"), &toml, |_| {
            Ok((std::path::PathBuf::from("zones.geojson"), zones))
        });
        Ok(match r {
            Ok(s) => {
                // A configuration that loads also resolves its keys.
                let _ = s.signing.resolve(|_| None);
                format!("ok:{}", s.warnings.len().min(3))
            }
            Err(e) => {
                if e.problems.is_empty() {
                    return Err("an error without a problem".into());
                }
                let m = &e.problems[0].message;
                format!("err:{}", m.chars().take(24).collect::<String>())
            }
        })
    }
}

/// Every target by name.
pub fn target(name: &str) -> Option<Box<dyn Target>> {
    Some(match name {
        "link" => Box::new(LinkTarget::default()),
        "sim" => Box::new(SimTarget::default()),
        "api" => Box::new(ApiTarget::default()),
        "config" => Box::new(ConfigTarget::default()),
        _ => return None,
    })
}

pub const TARGETS: [&str; 4] = ["link", "sim", "api", "config"];

//! `drone-sim`: a fleet of simulated multicopters that speak real MAVLink 2
//! over UDP, with ArduCopter conventions, for testing the dispatcher (and
//! for flying with QGroundControl, MAVProxy or pymavlink) without hardware.
//!
//! One UDP socket per link carries the whole fleet to the ground station
//! (`--gcs`, or several: each gets everything), as a MAVLink router would:
//! vehicles are told apart by system id.
//! A link holds at most 250 vehicles (system ids are one byte); larger
//! synthetic fleets use several links. `--listen-base` also gives each vehicle
//! its own UDP port for extra ground stations. `--control` opens a line-based
//! TCP interface for status, wind changes and fault injection; `--traffic`
//! plays back manned aircraft, heard by the vehicles as ADS-B In and served
//! as an SBS-1 feed with `--sbs-listen` (see docs/simulator.md).

pub mod camera;
pub mod control;
pub mod mission;
pub mod physics;
pub mod runtime;
pub mod smartrtl;
pub mod traffic;
pub mod vehicle;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Parser;
use dispatch_core::{Capability, IncidentKind, config};
use mavlink_link::signing::SecretKey;

use crate::camera::CameraSpec;
use crate::physics::{Airframe, Wind};
use crate::vehicle::VehicleConfig;

#[derive(Parser, Debug)]
#[command(
    name = "drone-sim",
    version,
    about = "SITL simulator: simulated drones speaking MAVLink 2 over UDP"
)]
pub struct Cli {
    /// Scenario file: one vehicle per configured drone, parked in its hangar.
    #[arg(long, required_unless_present = "synthetic")]
    pub config: Option<PathBuf>,
    /// Ground station address to send MAVLink to (it answers on the same
    /// socket). Repeat it for several (as a MAVLink router fans out): every
    /// vehicle streams to each, and takes commands from any.
    #[arg(long, default_value = "127.0.0.1:14550")]
    pub gcs: Vec<SocketAddr>,
    /// The ground station(s) of each link, in the scenario's `[[link]]`
    /// order: repeat it, one per link, each an address or a comma-separated
    /// list of them (several servers of a cluster, as a MAVLink router fans
    /// a radio out); links without one send to every `--gcs`.
    #[arg(long = "link-gcs", value_parser = parse_addr_list)]
    pub link_gcs: Vec<AddrList>,
    /// Local address of the fleet socket (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub bind: SocketAddr,
    /// Run physics this many times faster than real time.
    #[arg(long, default_value_t = 1.0)]
    pub speedup: f64,
    /// Only these drones (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    pub drones: Vec<String>,
    /// Give vehicle i its own UDP port BASE+i for extra ground stations.
    #[arg(long)]
    pub listen_base: Option<u16>,
    /// Address of the control interface (status, fault injection).
    #[arg(long)]
    pub control: Option<SocketAddr>,
    /// Steady wind as SPEED@FROM_DEG, e.g. 6@90 (6 m/s from the east).
    #[arg(long, default_value = "0@0", value_parser = parse_wind)]
    pub wind: (f64, f64),
    /// Gust strength (standard deviation, m/s).
    #[arg(long, default_value_t = 0.0, value_parser = parse_gust)]
    pub gust: f64,
    /// Manned traffic to play back (TOML, see docs/simulator.md): heard by
    /// every vehicle within `--adsb-range-km` as ADSB_VEHICLE.
    #[arg(long)]
    pub traffic: Option<PathBuf>,
    /// How far the vehicles' ADS-B receivers hear manned traffic, km.
    #[arg(long, default_value_t = 40.0, value_parser = parse_range_km)]
    pub adsb_range_km: f64,
    /// Serve the traffic as an SBS-1 BaseStation feed (dump1090's port
    /// 30003 format) over TCP on this address, e.g. 127.0.0.1:30003.
    #[arg(long)]
    pub sbs_listen: Option<SocketAddr>,
    /// Seconds without a ground-station heartbeat before the RTL failsafe.
    #[arg(long, default_value_t = 5.0)]
    pub gcs_timeout: f64,
    /// Telemetry streamed without being asked: `default` (realistic rates for
    /// every message) or `minimal` (HEARTBEAT and GLOBAL_POSITION_INT only, as
    /// ArduPilot does until a ground station requests rates).
    #[arg(long, default_value = "default", value_parser = ["default", "minimal"])]
    pub streams: String,
    /// Default GLOBAL_POSITION_INT rate, Hz (ground stations may change it).
    #[arg(long, default_value_t = 4.0)]
    pub position_rate: f64,
    /// Fault at start-up: TARGET:KIND[:VALUE], TARGET a system id or `all`
    /// (e.g. 11:gps-loss, all:packet-loss:20, 12:link-drop:30, 13:battery:15).
    #[arg(long = "fault")]
    pub faults: Vec<String>,
    /// Instead of a scenario, spawn N synthetic vehicles (load tests).
    #[arg(long)]
    pub synthetic: Option<usize>,
    /// Stop after this many wall-clock seconds and print statistics.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Record every datagram the fleet sends to FILE (each as a little-endian
    /// u32 length and the bytes), e.g. for the telemetry-ingest benchmark.
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// Address the vehicles' cameras serve their video on (one HTTP port
    /// each, chosen by the system; see docs/simulator.md).
    #[arg(long, default_value = "127.0.0.1")]
    pub camera_host: std::net::IpAddr,
    /// Random seed for wind gusts and packet loss.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// The ground stations of one link (`--link-gcs`).
#[derive(Debug, Clone, PartialEq)]
pub struct AddrList(pub Vec<SocketAddr>);

/// `HOST:PORT[,HOST:PORT...]`: at least one address, each a socket address.
pub fn parse_addr_list(s: &str) -> Result<AddrList, String> {
    let addrs = s
        .split(',')
        .map(|a| {
            a.trim()
                .parse::<SocketAddr>()
                .map_err(|e| format!("{a:?} is not HOST:PORT ({e})"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AddrList(addrs))
}

/// `SPEED@FROM_DEG`: steady wind speed (m/s, 0..=40) and the direction it
/// blows from (degrees, any finite value, kept as 0..360).
pub fn parse_wind(s: &str) -> Result<(f64, f64), String> {
    let (a, b) = s
        .split_once('@')
        .ok_or_else(|| format!("`{s}` is not SPEED@FROM_DEG, e.g. 6@90"))?;
    let speed: f64 = a.parse().map_err(|e| format!("wind speed `{a}`: {e}"))?;
    let from: f64 = b
        .parse()
        .map_err(|e| format!("wind direction `{b}`: {e}"))?;
    if !(0.0..=40.0).contains(&speed) {
        return Err(format!("wind speed {speed} m/s is outside 0..=40"));
    }
    if !from.is_finite() {
        return Err(format!("wind direction `{b}` is not a number of degrees"));
    }
    Ok((speed, physics::wrap_deg(from)))
}

/// Gust strength, the standard deviation in m/s (0..=20).
pub fn parse_gust(s: &str) -> Result<f64, String> {
    let g: f64 = s.parse().map_err(|e| format!("gust `{s}`: {e}"))?;
    if !(0.0..=20.0).contains(&g) {
        return Err(format!("gust {g} m/s is outside 0..=20"));
    }
    Ok(g)
}

fn parse_range_km(s: &str) -> Result<f64, String> {
    let r: f64 = s.parse().map_err(|e| format!("range `{s}`: {e}"))?;
    if !(r > 0.0 && r <= 500.0) {
        return Err(format!("range {r} km is outside (0, 500]"));
    }
    Ok(r)
}

/// The airframe's maximum airspeed for its cruise speed, for synthetic
/// fleets; scenario drones take theirs from the configuration
/// (`max_airspeed_mps`, by default the same factor).
pub fn max_airspeed(cruise_mps: f64) -> f64 {
    cruise_mps * dispatch_core::model::DEFAULT_AIRSPEED_FACTOR
}

/// Vehicle settings for the fleet, from the scenario or synthetic.
pub fn fleet(cli: &Cli) -> Result<Vec<VehicleConfig>> {
    let wind = Wind {
        speed_mps: cli.wind.0,
        from_deg: cli.wind.1,
        gust_mps: cli.gust,
    };
    let base = |system_id: u8,
                name: String,
                home: (f64, f64),
                perf: (f64, f64, f64, f64),
                caps: &[Capability],
                clips: Vec<String>| {
        let (cruise, climb, descent, endurance) = perf;
        VehicleConfig {
            system_id,
            link: 0,
            name,
            home,
            home_amsl_m: 5.0,
            airframe: Airframe {
                cruise_speed_mps: cruise,
                max_airspeed_mps: max_airspeed(cruise),
                climb_rate_mps: climb,
                descent_rate_mps: descent,
                accel_mps2: 3.0,
                vert_accel_mps2: 2.5,
                yaw_rate_dps: 90.0,
                endurance_min: endurance,
                capacity_mah: 10_000.0,
                cells: 6,
            },
            wind,
            adsb_range_m: cli.adsb_range_km * 1000.0,
            has_gripper: caps.contains(&Capability::Lifebuoy),
            has_loudspeaker: caps.contains(&Capability::Loudspeaker),
            camera: CameraSpec::for_payloads(
                caps.contains(&Capability::ThermalCamera),
                caps.contains(&Capability::ZoomCamera),
            ),
            clips,
            gcs_timeout_s: cli.gcs_timeout,
            battery_low_pct: 25.0,
            battery_critical_pct: 12.0,
            arm_min_battery_pct: 30.0,
            rtl_alt_m: 60.0,
            position_rate_hz: cli.position_rate,
            charge_rate_pct_per_min: 0.0,
            minimal_streams: cli.streams == "minimal",
            initial_battery_pct: 100.0,
            signing_key: None,
            allow_unsigned: false,
        }
    };
    if let Some(n) = cli.synthetic {
        if n == 0 || n > 25_000 {
            bail!("--synthetic {n} is outside 1..=25000");
        }
        let caps = [Capability::Lifebuoy, Capability::Loudspeaker];
        return Ok((0..n)
            .map(|i| {
                // 250 vehicles per link; system ids 1..=250 on each.
                let sysid = (i % 250 + 1) as u8;
                let link = i / 250;
                let home = (
                    30.2 + 0.6 * ((i * 37) % 1000) as f64 / 1000.0,
                    120.3 + 0.8 * ((i * 61) % 1000) as f64 / 1000.0,
                );
                let mut v = base(
                    sysid,
                    format!("syn-{i}"),
                    home,
                    (15.0, 5.0, 3.0, 40.0),
                    &caps,
                    vec![],
                );
                v.link = link;
                v
            })
            .collect());
    }
    let Some(path) = &cli.config else {
        bail!("--config is required without --synthetic");
    };
    let s = config::load(path).map_err(anyhow::Error::msg)?;
    let keys = s
        .signing
        .resolve(|name| std::env::var(name).ok())
        .map_err(anyhow::Error::msg)?;
    for w in &keys.warnings {
        tracing::warn!("{w}");
    }
    for id in &cli.drones {
        if !s.drones.iter().any(|d| &d.id.0 == id) {
            bail!("--drones: unknown drone `{id}` in {}", path.display());
        }
    }
    // Loudspeaker clip n is the configured message of incident kind n, in
    // the order of docs/simulator.md.
    let clips: Vec<String> = IncidentKind::ALL
        .iter()
        .map(|k| s.messages.get(k).cloned().unwrap_or_default())
        .collect();
    let mut out = Vec::new();
    for d in &s.drones {
        if !cli.drones.is_empty() && !cli.drones.contains(&d.id.0) {
            continue;
        }
        let h = s.hangar_position(&d.hangar);
        let caps: Vec<Capability> = d.capabilities.iter().collect();
        let p = d.performance;
        let mut v = base(
            d.system_id,
            d.id.0.clone(),
            (h.lat, h.lon),
            (
                p.cruise_speed_mps,
                p.climb_rate_mps,
                p.descent_rate_mps,
                p.endurance_min,
            ),
            &caps,
            clips.clone(),
        );
        v.airframe.capacity_mah = 10_000.0;
        // The scenario's airspeed limit, as the dispatcher plans with it.
        v.airframe.max_airspeed_mps = p.max_airspeed_mps;
        v.link = s.links.iter().position(|l| l.name == d.link).unwrap_or(0);
        v.signing_key = keys
            .drones
            .get(&d.system_id)
            .or(keys.default.as_ref())
            .and_then(|k| SecretKey::from_hex(k).ok());
        v.allow_unsigned = keys.allow_unsigned;
        if let Some(hg) = s.hangars.iter().find(|x| x.id == d.hangar)
            && hg.charging
        {
            v.charge_rate_pct_per_min = hg.charge_rate_pct_per_min;
        }
        out.push((v, d.battery_pct));
    }
    Ok(out
        .into_iter()
        .map(|(mut v, battery)| {
            v.initial_battery_pct = battery;
            v
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_may_have_several_ground_stations() {
        let one = parse_addr_list("127.0.0.1:14561").unwrap();
        assert_eq!(one.0, vec!["127.0.0.1:14561".parse().unwrap()]);
        let three = parse_addr_list("127.0.0.1:1, 127.0.0.1:2,127.0.0.1:3").unwrap();
        assert_eq!(three.0.len(), 3);
        assert_eq!(three.0[1], "127.0.0.1:2".parse().unwrap());
        let e = parse_addr_list("127.0.0.1:1,nowhere").unwrap_err();
        assert!(e.contains("\"nowhere\" is not HOST:PORT"), "{e}");
        assert!(parse_addr_list("").is_err());
        let cli = Cli::try_parse_from([
            "drone-sim",
            "--synthetic",
            "2",
            "--link-gcs",
            "127.0.0.1:5,127.0.0.1:6",
            "--link-gcs",
            "127.0.0.1:7",
        ])
        .unwrap();
        assert_eq!(cli.link_gcs.len(), 2);
        assert_eq!(cli.link_gcs[0].0.len(), 2);
    }
}

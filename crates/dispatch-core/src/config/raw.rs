//! The TOML scenario file as serde reads it, before validation. Every
//! section's unknown keys are reported by `parse`; values are checked by the
//! `Validator`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::model::Capability;

#[derive(Deserialize)]
pub(super) struct RawConfig {
    pub(super) scenario: RawScenario,
    #[serde(default)]
    pub(super) planning: RawPlanning,
    pub(super) kinds: BTreeMap<String, RawKind>,
    #[serde(default)]
    pub(super) hangar: Vec<RawHangar>,
    #[serde(default)]
    pub(super) drone: Vec<RawDrone>,
    #[serde(default)]
    pub(super) patrol: Vec<RawPatrol>,
    #[serde(default)]
    pub(super) server: RawServer,
    #[serde(default)]
    pub(super) cluster: RawCluster,
    #[serde(default)]
    pub(super) token: Vec<RawToken>,
    #[serde(default)]
    pub(super) signing: RawSigning,
    #[serde(default)]
    pub(super) link: Vec<RawLink>,
    #[serde(default)]
    pub(super) traffic: crate::airspace::settings::RawTraffic,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLink {
    pub(super) name: String,
    pub(super) address: Option<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct RawSigning {
    pub(super) key: Option<String>,
    pub(super) key_env: Option<String>,
    #[serde(default)]
    pub(super) require: bool,
    #[serde(default)]
    pub(super) allow_unsigned: bool,
    #[serde(default)]
    pub(super) link_id: u8,
}

#[derive(Deserialize, Default)]
pub(super) struct RawServer {
    pub(super) tile_url: Option<String>,
    pub(super) tile_attribution: Option<String>,
    pub(super) event_log: Option<String>,
    pub(super) write_rate_per_min: Option<u32>,
    pub(super) write_burst: Option<u32>,
    pub(super) tls_cert: Option<String>,
    pub(super) tls_key: Option<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct RawCluster {
    pub(super) database: Option<String>,
    pub(super) node: Option<String>,
    pub(super) bus: Option<String>,
    pub(super) subject_prefix: Option<String>,
    #[serde(default)]
    pub(super) servers: Vec<String>,
}

#[derive(Deserialize)]
pub(super) struct RawToken {
    pub(super) name: Option<String>,
    pub(super) role: String,
    pub(super) token: String,
}

#[derive(Deserialize)]
pub(super) struct RawScenario {
    pub(super) name: String,
    /// Path of the GeoJSON zones file, relative to the TOML file.
    pub(super) zones: String,
    pub(super) region: RawRegion,
    /// IANA name of the zone the map writes times in (default UTC).
    pub(super) time_zone: Option<String>,
    /// The name in Simplified Chinese, for the map in Chinese.
    pub(super) name_zh: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct RawRegion {
    pub(super) min_lat: f64,
    pub(super) min_lon: f64,
    pub(super) max_lat: f64,
    pub(super) max_lon: f64,
}

#[derive(Deserialize, Default)]
pub(super) struct RawPlanning {
    pub(super) cruise_altitude_m: Option<f64>,
    pub(super) reserve_pct: Option<f64>,
    pub(super) route_margin_m: Option<f64>,
    pub(super) alternatives: Option<usize>,
    pub(super) separation_horizontal_m: Option<f64>,
    pub(super) separation_vertical_m: Option<f64>,
    pub(super) altitude_layers_m: Option<Vec<f64>>,
    pub(super) ceiling_m: Option<f64>,
    pub(super) max_start_delay_s: Option<f64>,
}

#[derive(Deserialize)]
pub(super) struct RawKind {
    pub(super) priority: u8,
    #[serde(default)]
    pub(super) life_threatening: bool,
    #[serde(default)]
    pub(super) rescue: bool,
    pub(super) capabilities: Vec<Capability>,
    pub(super) on_scene_s: f64,
    pub(super) message: Option<String>,
    /// Launch without waiting for a dispatcher (default: when life-threatening).
    pub(super) auto_launch: Option<bool>,
}

#[derive(Deserialize)]
pub(super) struct RawHangar {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) name_zh: Option<String>,
    pub(super) lat: f64,
    pub(super) lon: f64,
    pub(super) slots: u32,
    #[serde(default = "yes")]
    pub(super) charging: bool,
    #[serde(default = "default_charge_rate")]
    pub(super) charge_rate_pct_per_min: f64,
    #[serde(default = "default_launch_delay")]
    pub(super) launch_delay_s: f64,
}

#[derive(Deserialize)]
pub(super) struct RawDrone {
    pub(super) id: String,
    pub(super) name: Option<String>,
    pub(super) name_zh: Option<String>,
    pub(super) hangar: String,
    pub(super) system_id: u8,
    pub(super) capabilities: Vec<Capability>,
    pub(super) cruise_speed_mps: f64,
    pub(super) climb_rate_mps: f64,
    pub(super) descent_rate_mps: f64,
    pub(super) endurance_min: f64,
    /// Default: 1.34 times cruise.
    pub(super) max_airspeed_mps: Option<f64>,
    pub(super) max_wind_mps: Option<f64>,
    pub(super) max_gust_mps: Option<f64>,
    #[serde(default = "full")]
    pub(super) battery_pct: f64,
    #[serde(default)]
    pub(super) maintenance: bool,
    pub(super) signing_key: Option<String>,
    pub(super) signing_key_env: Option<String>,
    /// The MAVLink link it is heard on (a `[[link]]` name).
    pub(super) link: Option<String>,
    /// The one address it is heard from (IP:PORT), pinned: frames claiming
    /// it from elsewhere are foreign, never a contest.
    pub(super) address: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct RawPatrol {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) waypoints: Vec<RawPoint>,
    pub(super) from: Option<String>,
    pub(super) until: Option<String>,
    pub(super) repeat_every_min: Option<f64>,
    #[serde(default)]
    pub(super) capabilities: Vec<Capability>,
}

#[derive(Deserialize)]
pub(super) struct RawPoint {
    pub(super) lat: f64,
    pub(super) lon: f64,
}

fn yes() -> bool {
    true
}
fn full() -> f64 {
    100.0
}
fn default_charge_rate() -> f64 {
    2.0
}
fn default_launch_delay() -> f64 {
    20.0
}

//! Loading and validating a scenario: a TOML file for hangars, drones,
//! incident kinds and patrols, and a GeoJSON file for the no-go zones (so that
//! zones can be drawn in any GIS tool).
//!
//! Validation collects every problem it finds, each naming the file and the
//! item, so that one run of `dispatcher check-config` shows them all.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::DateTime;
use geo::{Coord, LineString, Polygon};
use serde::Deserialize;

use crate::model::{
    ActiveWindow, Capability, CapabilitySet, Drone, DroneId, DroneState, Hangar, HangarId,
    IncidentKind, KindPolicy, LatLon, PatrolId, PatrolRoute, Performance, Timestamp, Zone, ZoneId,
    ZoneKind,
};
use crate::world::{PlanningParams, Region, World};

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigProblem {
    pub file: PathBuf,
    /// The item at fault, e.g. `drone "yg-1"` or `zone feature #3 ("airport")`.
    pub item: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.item {
            Some(item) => write!(f, "{}: {item}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// All problems found in a configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(
            f,
            "{n} problem{} in the configuration:",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// A loaded, validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub region: Region,
    pub params: PlanningParams,
    /// How far apart our own sorties are kept (`[planning]`).
    pub separation: crate::separation::Separation,
    pub policies: HashMap<IncidentKind, KindPolicy>,
    /// Loudspeaker text per kind, where configured.
    pub messages: HashMap<IncidentKind, String>,
    pub hangars: Vec<Hangar>,
    pub drones: Vec<Drone>,
    pub zones: Vec<Zone>,
    pub patrols: Vec<PatrolRoute>,
    pub zones_file: PathBuf,
    /// Kinds whose incidents launch as soon as a drone is found; the others
    /// wait for a dispatcher's confirmation. Default: the life-threatening kinds.
    pub auto_launch: HashMap<IncidentKind, bool>,
    /// Settings of the dispatch server (map, access tokens).
    pub server: ServerSettings,
    /// What several dispatch servers share (`[cluster]`).
    pub cluster: ClusterSettings,
    /// MAVLink 2 signing keys (`[signing]`, per drone `signing_key_env`).
    pub signing: SigningSettings,
    /// The MAVLink links the fleet is heard on (`[[link]]`; one named
    /// `default` when none is configured). Each drone names its link; its
    /// identity on the radio is link + system id.
    pub links: Vec<LinkSpec>,
    /// Manned traffic (`[traffic]`): the SBS feed and the separation rules.
    pub traffic: crate::airspace::TrafficSettings,
    /// Accepted, but worth telling the user (one line each).
    pub warnings: Vec<String>,
}

/// One MAVLink link of the fleet (a radio network, a MAVLink router's port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSpec {
    pub name: String,
    /// Where to open it (`udpin:HOST:PORT`...), unless given on the command line.
    pub address: Option<String>,
}

/// The link name of a scenario without `[[link]]`.
pub const DEFAULT_LINK: &str = "default";

/// What the dispatch server reads from the scenario file.
#[derive(Debug, Clone, Default)]
pub struct ServerSettings {
    /// An optional online tile layer for the map (`{z}/{x}/{y}` URL); the
    /// offline basemap is always there.
    pub tile_url: Option<String>,
    /// Attribution shown with the tile layer.
    pub tile_attribution: Option<String>,
    /// Access tokens (`[[token]]`), more may come from the environment.
    pub tokens: Vec<TokenConfig>,
    /// The durable event log (SQLite file), relative paths resolved against
    /// the configuration file's directory. None: nothing is kept.
    pub event_log: Option<PathBuf>,
    /// Changes (reports, launches, commands, zones) per minute and burst
    /// per token before `429 Too Many Requests`; None: the server's default.
    pub write_rate_per_min: Option<u32>,
    pub write_burst: Option<u32>,
}

/// What the dispatch servers of one region share (`[cluster]`).
#[derive(Debug, Clone, Default)]
pub struct ClusterSettings {
    /// The event log in PostgreSQL (`postgres://USER@HOST:PORT/DATABASE`),
    /// instead of `[server] event_log`'s SQLite file.
    pub database: Option<String>,
}

/// One access token and its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenConfig {
    pub name: String,
    /// `viewer`, `dispatcher` or `admin`.
    pub role: String,
    pub token: String,
}

/// Where a MAVLink signing key comes from. The key itself is never printed.
#[derive(Clone, PartialEq, Eq)]
pub enum KeySource {
    /// 64 hexadecimal digits written in the configuration file.
    Inline(String),
    /// The name of an environment variable holding the 64 digits.
    Env(String),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Inline(_) => f.write_str("Inline(<redacted>)"),
            KeySource::Env(name) => write!(f, "Env({name})"),
        }
    }
}

/// MAVLink 2 signing settings of the scenario.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SigningSettings {
    /// The key of every drone without its own.
    pub default: Option<KeySource>,
    /// Keys of single drones, by MAVLink system id.
    pub drones: BTreeMap<u8, KeySource>,
    /// Refuse to start when a key is missing from the environment.
    pub require: bool,
    /// Accept unsigned frames (migration, legacy vehicles); signed frames are
    /// still verified, and simulated vehicles still refuse unsigned commands.
    pub allow_unsigned: bool,
    /// Link id this station signs with.
    pub link_id: u8,
}

/// Signing keys resolved from the settings and the environment (64
/// hexadecimal digits each; `Debug` does not show them).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SigningKeys {
    pub default: Option<String>,
    pub drones: BTreeMap<u8, String>,
    pub allow_unsigned: bool,
    pub link_id: u8,
    /// Lines for the log: keys that were configured but are not set.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("default", &self.default.as_ref().map(|_| "<redacted>"))
            .field("drones", &self.drones.keys().collect::<Vec<_>>())
            .field("allow_unsigned", &self.allow_unsigned)
            .finish()
    }
}

impl SigningKeys {
    /// Whether any link is signed.
    pub fn enabled(&self) -> bool {
        self.default.is_some() || !self.drones.is_empty()
    }
}

/// Checks that `s` is 64 hexadecimal digits, without repeating it.
pub fn check_key_hex(s: &str) -> Result<(), String> {
    let s = s.trim();
    if s.len() != 64 {
        return Err(format!(
            "a signing key is 64 hexadecimal digits (32 bytes); this one has {} characters",
            s.len()
        ));
    }
    match s.chars().position(|c| !c.is_ascii_hexdigit()) {
        Some(i) => Err(format!(
            "a signing key is 64 hexadecimal digits; character {} is not one",
            i + 1
        )),
        None => Ok(()),
    }
}

impl SigningSettings {
    /// Looks the keys up (`env` reads an environment variable). A variable
    /// that is not set is an error when `require` is on, else a warning and
    /// that link stays unsigned.
    pub fn resolve(&self, env: impl Fn(&str) -> Option<String>) -> Result<SigningKeys, String> {
        let mut out = SigningKeys {
            allow_unsigned: self.allow_unsigned,
            link_id: self.link_id,
            ..SigningKeys::default()
        };
        let mut get = |src: &KeySource, what: &str| -> Result<Option<String>, String> {
            match src {
                KeySource::Inline(k) => Ok(Some(k.trim().to_owned())),
                KeySource::Env(name) => match env(name) {
                    Some(k) => check_key_hex(&k)
                        .map(|()| Some(k.trim().to_owned()))
                        .map_err(|e| format!("{what}: environment variable {name}: {e}")),
                    None if self.require => Err(format!(
                        "{what}: signing is required but environment variable {name} is not set"
                    )),
                    None => {
                        out.warnings.push(format!(
                            "{what}: environment variable {name} is not set; that MAVLink link is not signed"
                        ));
                        Ok(None)
                    }
                },
            }
        };
        let default = match &self.default {
            Some(src) => get(src, "[signing]")?,
            None => None,
        };
        let mut drones = BTreeMap::new();
        for (sysid, src) in &self.drones {
            if let Some(k) = get(src, &format!("drone with system id {sysid}"))? {
                drones.insert(*sysid, k);
            }
        }
        if self.require && default.is_none() && drones.is_empty() {
            return Err("[signing] require = true but no key is configured".to_owned());
        }
        out.default = default;
        out.drones = drones;
        Ok(out)
    }
}

/// Roles a token may have, weakest first.
pub const ROLES: [&str; 3] = ["viewer", "dispatcher", "admin"];

impl Scenario {
    /// Position of a configured hangar (validation guarantees every drone's
    /// hangar exists; an unknown id gives the region centre).
    pub fn hangar_position(&self, id: &HangarId) -> LatLon {
        self.hangars
            .iter()
            .find(|h| &h.id == id)
            .map(|h| h.position)
            .unwrap_or_else(|| self.region.centre())
    }

    /// Builds the indexed world from the scenario.
    pub fn world(&self) -> World {
        let mut w = self.world_unseparated();
        w.set_separation(self.separation.clone());
        w
    }

    fn world_unseparated(&self) -> World {
        match World::build(
            self.region,
            self.params,
            self.policies.clone(),
            self.hangars.clone(),
            self.drones.clone(),
            self.zones.clone(),
        ) {
            Ok(w) => w,
            // Validation already refused everything `World::build` refuses.
            Err(e) => unreachable!("validated scenario failed to build: {e}"),
        }
    }
}

/// Reads and validates the scenario at `path` and the zones file it names.
pub fn load(path: &Path) -> Result<Scenario, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| one(path, None, format!("cannot read: {e}")))?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(path, &text, |zones_path| {
        let full = base.join(zones_path);
        let t = std::fs::read_to_string(&full)
            .map_err(|e| one(&full, None, format!("cannot read zones file: {e}")))?;
        Ok((full, t))
    })
}

/// Parses a scenario from text; `read_zones` resolves and reads the zones file.
pub fn parse(
    path: &Path,
    text: &str,
    read_zones: impl FnOnce(&str) -> Result<(PathBuf, String), ConfigError>,
) -> Result<Scenario, ConfigError> {
    // Every key the configuration does not know is reported (all of them at
    // once, each with its path), not only the first.
    let toml_error = |e: toml::de::Error| e.to_string().trim_end().replace('\n', "\n      ");
    let de = toml::Deserializer::parse(text).map_err(|e| one(path, None, toml_error(e)))?;
    let mut unknown = Vec::new();
    let parsed: Result<RawConfig, _> =
        serde_ignored::deserialize(de, |key| unknown.push(key.to_string()));
    let unknown_problems: Vec<ConfigProblem> = unknown
        .iter()
        .map(|key| ConfigProblem {
            file: path.to_path_buf(),
            item: None,
            message: format!("unknown key `{key}` (a typo? see config/haining.toml for every key)"),
        })
        .collect();
    let raw = match parsed {
        Ok(raw) => raw,
        Err(e) => {
            let mut problems = unknown_problems;
            problems.push(ConfigProblem {
                file: path.to_path_buf(),
                item: None,
                message: toml_error(e),
            });
            return Err(ConfigError { problems });
        }
    };
    if !unknown_problems.is_empty() {
        return Err(ConfigError {
            problems: unknown_problems,
        });
    }
    let mut v = Validator {
        file: path.to_path_buf(),
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    let region = v.region(&raw.scenario.region);
    let params = v.params(&raw.planning);
    let separation = v.separation(&raw.planning, &params);
    let (policies, messages) = v.kinds(&raw.kinds);
    let auto_launch = raw
        .kinds
        .iter()
        .filter_map(|(name, k)| {
            IncidentKind::parse(name)
                .map(|kind| (kind, k.auto_launch.unwrap_or(k.life_threatening)))
        })
        .collect();
    let server = v.server(&raw.server, &raw.token);
    let cluster = v.cluster(&raw.cluster, &server);
    let signing = v.signing(&raw.signing, &raw.drone);
    let hangars = v.hangars(&raw.hangar, region);
    let links = v.links(&raw.link, &raw.drone);
    let drones = v.drones(&raw.drone, &hangars, &links);
    let patrols = v.patrols(&raw.patrol, region);
    let (traffic, traffic_problems) =
        crate::airspace::settings::validate(&raw.traffic, params.cruise_altitude_m);
    for p in traffic_problems {
        v.err(Some("[traffic]".to_owned()), p);
    }
    let mut problems = v.problems;
    let mut warnings = v.warnings;

    let (zones_file, zones) = match read_zones(&raw.scenario.zones) {
        Ok((file, text)) => {
            let mut zv = Validator {
                file: file.clone(),
                problems: Vec::new(),
                warnings: Vec::new(),
            };
            let zones = zv.zones(&text, region);
            problems.extend(zv.problems);
            warnings.extend(zv.warnings);
            (file, zones)
        }
        Err(e) => {
            problems.extend(e.problems);
            (PathBuf::from(&raw.scenario.zones), Vec::new())
        }
    };
    if !problems.is_empty() {
        return Err(ConfigError { problems });
    }
    Ok(Scenario {
        name: raw.scenario.name,
        region,
        params,
        separation,
        policies,
        messages,
        hangars,
        drones,
        zones,
        links,
        patrols,
        zones_file,
        auto_launch,
        server,
        cluster,
        signing,
        traffic,
        warnings,
    })
}

/// Parses a GeoJSON zones document on its own (used by the server for zones
/// drawn at run time).
pub fn parse_zones(file: &Path, text: &str, region: Region) -> Result<Vec<Zone>, ConfigError> {
    let mut v = Validator {
        file: file.to_path_buf(),
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    let zones = v.zones(text, region);
    if v.problems.is_empty() {
        Ok(zones)
    } else {
        Err(ConfigError {
            problems: v.problems,
        })
    }
}

fn one(file: &Path, item: Option<String>, message: String) -> ConfigError {
    ConfigError {
        problems: vec![ConfigProblem {
            file: file.to_path_buf(),
            item,
            message,
        }],
    }
}

#[derive(Deserialize)]
struct RawConfig {
    scenario: RawScenario,
    #[serde(default)]
    planning: RawPlanning,
    kinds: BTreeMap<String, RawKind>,
    #[serde(default)]
    hangar: Vec<RawHangar>,
    #[serde(default)]
    drone: Vec<RawDrone>,
    #[serde(default)]
    patrol: Vec<RawPatrol>,
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    cluster: RawCluster,
    #[serde(default)]
    token: Vec<RawToken>,
    #[serde(default)]
    signing: RawSigning,
    #[serde(default)]
    link: Vec<RawLink>,
    #[serde(default)]
    traffic: crate::airspace::settings::RawTraffic,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLink {
    name: String,
    address: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawSigning {
    key: Option<String>,
    key_env: Option<String>,
    #[serde(default)]
    require: bool,
    #[serde(default)]
    allow_unsigned: bool,
    #[serde(default)]
    link_id: u8,
}

#[derive(Deserialize, Default)]
struct RawServer {
    tile_url: Option<String>,
    tile_attribution: Option<String>,
    event_log: Option<String>,
    write_rate_per_min: Option<u32>,
    write_burst: Option<u32>,
}

#[derive(Deserialize, Default)]
struct RawCluster {
    database: Option<String>,
}

#[derive(Deserialize)]
struct RawToken {
    name: Option<String>,
    role: String,
    token: String,
}

#[derive(Deserialize)]
struct RawScenario {
    name: String,
    /// Path of the GeoJSON zones file, relative to the TOML file.
    zones: String,
    region: RawRegion,
}

#[derive(Deserialize)]
struct RawRegion {
    min_lat: f64,
    min_lon: f64,
    max_lat: f64,
    max_lon: f64,
}

#[derive(Deserialize, Default)]
struct RawPlanning {
    cruise_altitude_m: Option<f64>,
    reserve_pct: Option<f64>,
    route_margin_m: Option<f64>,
    alternatives: Option<usize>,
    separation_horizontal_m: Option<f64>,
    separation_vertical_m: Option<f64>,
    altitude_layers_m: Option<Vec<f64>>,
    ceiling_m: Option<f64>,
    max_start_delay_s: Option<f64>,
}

#[derive(Deserialize)]
struct RawKind {
    priority: u8,
    #[serde(default)]
    life_threatening: bool,
    #[serde(default)]
    rescue: bool,
    capabilities: Vec<Capability>,
    on_scene_s: f64,
    message: Option<String>,
    /// Launch without waiting for a dispatcher (default: when life-threatening).
    auto_launch: Option<bool>,
}

#[derive(Deserialize)]
struct RawHangar {
    id: String,
    name: String,
    lat: f64,
    lon: f64,
    slots: u32,
    #[serde(default = "yes")]
    charging: bool,
    #[serde(default = "default_charge_rate")]
    charge_rate_pct_per_min: f64,
    #[serde(default = "default_launch_delay")]
    launch_delay_s: f64,
}

#[derive(Deserialize)]
struct RawDrone {
    id: String,
    name: Option<String>,
    hangar: String,
    system_id: u8,
    capabilities: Vec<Capability>,
    cruise_speed_mps: f64,
    climb_rate_mps: f64,
    descent_rate_mps: f64,
    endurance_min: f64,
    /// Default: 1.34 times cruise.
    max_airspeed_mps: Option<f64>,
    max_wind_mps: Option<f64>,
    max_gust_mps: Option<f64>,
    #[serde(default = "full")]
    battery_pct: f64,
    #[serde(default)]
    maintenance: bool,
    signing_key: Option<String>,
    signing_key_env: Option<String>,
    /// The MAVLink link it is heard on (a `[[link]]` name).
    link: Option<String>,
    /// The one address it is heard from (IP:PORT), pinned: frames claiming
    /// it from elsewhere are foreign, never a contest.
    address: Option<String>,
}

#[derive(Deserialize)]
struct RawPatrol {
    id: String,
    name: String,
    waypoints: Vec<RawPoint>,
    from: Option<String>,
    until: Option<String>,
    repeat_every_min: Option<f64>,
    #[serde(default)]
    capabilities: Vec<Capability>,
}

#[derive(Deserialize)]
struct RawPoint {
    lat: f64,
    lon: f64,
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

struct Validator {
    file: PathBuf,
    problems: Vec<ConfigProblem>,
    /// Things accepted but worth a line to the user (e.g. ignored properties).
    warnings: Vec<String>,
}

impl Validator {
    fn err(&mut self, item: impl Into<Option<String>>, message: impl Into<String>) {
        self.problems.push(ConfigProblem {
            file: self.file.clone(),
            item: item.into(),
            message: message.into(),
        });
    }

    /// Refuses `v` unless it is a finite number in `[lo, hi]`, saying the range.
    fn range(&mut self, item: &Option<String>, what: &str, v: f64, lo: f64, hi: f64, unit: &str) {
        if !(v.is_finite() && (lo..=hi).contains(&v)) {
            self.err(
                item.clone(),
                format!("{what} = {v} must be a number in [{lo}, {hi}] {unit}"),
            );
        }
    }

    fn region(&mut self, r: &RawRegion) -> Region {
        let region = Region {
            min_lat: r.min_lat,
            min_lon: r.min_lon,
            max_lat: r.max_lat,
            max_lon: r.max_lon,
        };
        let item = Some("[scenario.region]".to_owned());
        for (what, lat, lon) in [("min", r.min_lat, r.min_lon), ("max", r.max_lat, r.max_lon)] {
            if let Err(m) = check_lat_lon(lat, lon) {
                self.err(item.clone(), format!("{what} corner: {m}"));
            }
        }
        if r.min_lat >= r.max_lat || r.min_lon >= r.max_lon {
            self.err(item, "min_lat/min_lon must be below max_lat/max_lon");
        } else if r.max_lat - r.min_lat > 10.0 || r.max_lon - r.min_lon > 10.0 {
            self.err(
                item,
                "region spans more than 10 degrees; the planner's local frame is meant for one operating area",
            );
        }
        region
    }

    fn params(&mut self, p: &RawPlanning) -> PlanningParams {
        let d = PlanningParams::default();
        let params = PlanningParams {
            cruise_altitude_m: p.cruise_altitude_m.unwrap_or(d.cruise_altitude_m),
            reserve_pct: p.reserve_pct.unwrap_or(d.reserve_pct),
            route_margin_m: p.route_margin_m.unwrap_or(d.route_margin_m),
            alternatives: p.alternatives.unwrap_or(d.alternatives),
        };
        let item = Some("[planning]".to_owned());
        if params.alternatives > 20 {
            self.err(
                item.clone(),
                format!(
                    "alternatives = {} must be in [0, 20] (runner-up drones an assignment reports)",
                    params.alternatives
                ),
            );
        }
        if !(params.cruise_altitude_m > 0.0 && params.cruise_altitude_m <= 500.0) {
            self.err(item.clone(), "cruise_altitude_m must be in (0, 500]");
        }
        if !(0.0..100.0).contains(&params.reserve_pct) {
            self.err(item.clone(), "reserve_pct must be in [0, 100)");
        }
        // A margin of 0 would let legs run along zone edges, where the planner's
        // corner nodes lie on the boundary and every crossing test is a tie.
        if !(params.route_margin_m >= 1.0 && params.route_margin_m <= 5000.0) {
            self.err(
                item,
                format!(
                    "route_margin_m = {} must be in [1, 5000] metres: routes keep this distance from no-go zones (GPS error, wind, the fence's tolerance)",
                    params.route_margin_m
                ),
            );
        }
        params
    }

    fn separation(
        &mut self,
        p: &RawPlanning,
        params: &PlanningParams,
    ) -> crate::separation::Separation {
        let d = crate::separation::Separation::default();
        let sep = crate::separation::Separation {
            horizontal_m: p.separation_horizontal_m.unwrap_or(d.horizontal_m),
            vertical_m: p.separation_vertical_m.unwrap_or(d.vertical_m),
            layers_m: p.altitude_layers_m.clone().unwrap_or(d.layers_m.clone()),
            ceiling_m: p.ceiling_m.unwrap_or(d.ceiling_m),
            max_start_delay_s: p.max_start_delay_s.unwrap_or(d.max_start_delay_s),
            ..d
        };
        let item = Some("[planning]".to_owned());
        for (what, v, lo, hi, unit) in [
            (
                "separation_horizontal_m",
                sep.horizontal_m,
                10.0,
                5000.0,
                "metres",
            ),
            (
                "separation_vertical_m",
                sep.vertical_m,
                5.0,
                500.0,
                "metres",
            ),
            ("ceiling_m", sep.ceiling_m, 1.0, 1000.0, "metres"),
            (
                "max_start_delay_s",
                sep.max_start_delay_s,
                0.0,
                3600.0,
                "seconds",
            ),
        ] {
            self.range(&item, what, v, lo, hi, unit);
        }
        if params.cruise_altitude_m > sep.ceiling_m {
            self.err(
                item.clone(),
                format!(
                    "cruise_altitude_m = {} is above ceiling_m = {}",
                    params.cruise_altitude_m, sep.ceiling_m
                ),
            );
        }
        if sep.layers_m.len() > 16 {
            self.err(item.clone(), "altitude_layers_m has more than 16 layers");
        }
        for l in &sep.layers_m {
            if !(l.is_finite() && *l > 0.0 && *l <= sep.ceiling_m) {
                self.err(
                    item.clone(),
                    format!(
                        "altitude_layers_m: {l} is outside (0, ceiling_m = {}] metres",
                        sep.ceiling_m
                    ),
                );
            }
        }
        sep
    }

    fn key_source(
        &mut self,
        item: &str,
        key: &Option<String>,
        env: &Option<String>,
    ) -> Option<KeySource> {
        match (key, env) {
            (Some(_), Some(_)) => {
                self.err(
                    Some(item.to_owned()),
                    "give the signing key inline or by environment variable, not both",
                );
                None
            }
            (Some(k), None) => match check_key_hex(k) {
                Ok(()) => Some(KeySource::Inline(k.trim().to_owned())),
                Err(e) => {
                    self.err(Some(item.to_owned()), e);
                    None
                }
            },
            (None, Some(name)) if name.trim().is_empty() => {
                self.err(
                    Some(item.to_owned()),
                    "the key's environment variable name is empty",
                );
                None
            }
            (None, Some(name)) => Some(KeySource::Env(name.trim().to_owned())),
            (None, None) => None,
        }
    }

    fn signing(&mut self, raw: &RawSigning, drones: &[RawDrone]) -> SigningSettings {
        let default = self.key_source("[signing]", &raw.key, &raw.key_env);
        let mut per = BTreeMap::new();
        for d in drones {
            if let Some(src) = self.key_source(
                &format!("drone \"{}\"", d.id),
                &d.signing_key,
                &d.signing_key_env,
            ) {
                per.insert(d.system_id, src);
            }
        }
        if raw.require && default.is_none() && per.is_empty() {
            self.err(
                Some("[signing]".to_owned()),
                "require = true needs a key (key_env, key, or a drone's signing_key_env)",
            );
        }
        if raw.key.is_some() || drones.iter().any(|d| d.signing_key.is_some()) {
            self.warnings.push(
                "a MAVLink signing key is written in the configuration file: keep the file private, or use key_env".to_owned(),
            );
        }
        SigningSettings {
            default,
            drones: per,
            require: raw.require,
            allow_unsigned: raw.allow_unsigned,
            link_id: raw.link_id,
        }
    }

    fn server(&mut self, raw: &RawServer, tokens: &[RawToken]) -> ServerSettings {
        if let Some(url) = &raw.tile_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            self.err(
                Some("[server]".into()),
                format!("tile_url `{url}` must be an http:// or https:// URL"),
            );
        }
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for (i, t) in tokens.iter().enumerate() {
            let name = t.name.clone().unwrap_or_else(|| format!("token {}", i + 1));
            let item = Some(format!("[[token]] {name}"));
            if !ROLES.contains(&t.role.as_str()) {
                self.err(
                    item.clone(),
                    format!("unknown role `{}`; roles: {}", t.role, ROLES.join(", ")),
                );
            }
            if t.token.len() < 8 || t.token.chars().any(char::is_whitespace) {
                self.err(
                    item.clone(),
                    "a token must be at least 8 characters, without spaces",
                );
            }
            if !seen.insert(t.token.clone()) {
                self.err(item, "this token is listed twice");
            }
            out.push(TokenConfig {
                name,
                role: t.role.clone(),
                token: t.token.clone(),
            });
        }
        let event_log = match raw.event_log.as_deref().map(str::trim) {
            Some("") => {
                self.err(
                    Some("[server]".into()),
                    "event_log is empty; give a file path, or leave the key out to keep no log",
                );
                None
            }
            Some(p) => Some(self.file.parent().unwrap_or(Path::new(".")).join(p)),
            None => None,
        };
        for (what, v) in [
            ("write_rate_per_min", raw.write_rate_per_min),
            ("write_burst", raw.write_burst),
        ] {
            if v.is_some_and(|v| !(1..=1_000_000).contains(&v)) {
                self.err(
                    Some("[server]".into()),
                    format!("{what} must be in [1, 1000000]"),
                );
            }
        }
        ServerSettings {
            tile_url: raw.tile_url.clone(),
            tile_attribution: raw.tile_attribution.clone(),
            tokens: out,
            event_log,
            write_rate_per_min: raw.write_rate_per_min,
            write_burst: raw.write_burst,
        }
    }

    fn cluster(&mut self, raw: &RawCluster, server: &ServerSettings) -> ClusterSettings {
        let item = || Some("[cluster]".to_owned());
        let database = raw.database.as_deref().map(str::trim).map(str::to_owned);
        match database.as_deref() {
            Some(url) if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) => {
                self.err(
                    item(),
                    "database must be a PostgreSQL URL (postgres://USER@HOST:PORT/DATABASE)",
                );
            }
            Some(_) if server.event_log.is_some() => {
                self.err(
                    item(),
                    "database and [server] event_log both name an event log: keep one",
                );
            }
            _ => {}
        }
        ClusterSettings { database }
    }

    fn kinds(
        &mut self,
        raw: &BTreeMap<String, RawKind>,
    ) -> (
        HashMap<IncidentKind, KindPolicy>,
        HashMap<IncidentKind, String>,
    ) {
        let mut policies = HashMap::new();
        let mut messages = HashMap::new();
        for (name, k) in raw {
            let item = Some(format!("[kinds.{name}]"));
            let Some(kind) = IncidentKind::parse(name) else {
                let known: Vec<&str> = IncidentKind::ALL.iter().map(|k| k.as_str()).collect();
                self.err(
                    item,
                    format!(
                        "unknown incident kind `{name}`; known kinds: {}",
                        known.join(", ")
                    ),
                );
                continue;
            };
            if !(1..=5).contains(&k.priority) {
                self.err(
                    item.clone(),
                    format!("priority {} is out of range 1..=5", k.priority),
                );
            }
            self.range(&item, "on_scene_s", k.on_scene_s, 0.0, 14_400.0, "seconds");
            policies.insert(
                kind,
                KindPolicy {
                    priority: k.priority,
                    life_threatening: k.life_threatening,
                    capabilities: k.capabilities.iter().copied().collect(),
                    on_scene_s: k.on_scene_s,
                    rescue: k.rescue,
                },
            );
            if let Some(m) = &k.message {
                messages.insert(kind, m.clone());
            }
        }
        for kind in IncidentKind::ALL {
            if !policies.contains_key(&kind) {
                self.err(
                    None,
                    format!("incident kind `{kind}` has no [kinds.{kind}] section"),
                );
            }
        }
        (policies, messages)
    }

    fn position(&mut self, item: &str, lat: f64, lon: f64, region: Region) -> LatLon {
        let p = LatLon::new(lat, lon);
        if let Err(m) = check_lat_lon(lat, lon) {
            self.err(Some(item.to_owned()), m);
        } else if !region.contains(p) {
            let hint = if region.contains(LatLon::new(lon, lat)) {
                "; lat and lon look swapped"
            } else {
                ""
            };
            self.err(
                Some(item.to_owned()),
                format!("position lat {lat}, lon {lon} is outside the scenario region{hint}"),
            );
        }
        p
    }

    fn hangars(&mut self, raw: &[RawHangar], region: Region) -> Vec<Hangar> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for h in raw {
            let item = format!("hangar \"{}\"", h.id);
            if h.id.trim().is_empty() {
                self.err(Some(item.clone()), "id must not be empty");
            }
            if !seen.insert(h.id.clone()) {
                self.err(Some(item.clone()), "duplicate hangar id");
            }
            let position = self.position(&item, h.lat, h.lon, region);
            if h.slots == 0 {
                self.err(Some(item.clone()), "slots must be at least 1");
            }
            let it = Some(item.clone());
            self.range(
                &it,
                "charge_rate_pct_per_min",
                h.charge_rate_pct_per_min,
                0.0,
                100.0,
                "% per minute",
            );
            self.range(
                &it,
                "launch_delay_s",
                h.launch_delay_s,
                0.0,
                3_600.0,
                "seconds",
            );
            out.push(Hangar {
                id: HangarId(h.id.clone()),
                name: h.name.clone(),
                position,
                slots: h.slots,
                charging: h.charging,
                charge_rate_pct_per_min: h.charge_rate_pct_per_min,
                launch_delay_s: h.launch_delay_s,
            });
        }
        out
    }

    fn links(&mut self, raw: &[RawLink], drones: &[RawDrone]) -> Vec<LinkSpec> {
        if raw.is_empty() {
            return vec![LinkSpec {
                name: DEFAULT_LINK.to_owned(),
                address: None,
            }];
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for l in raw {
            let item = Some(format!("link \"{}\"", l.name));
            if l.name.trim().is_empty() {
                self.err(item.clone(), "name must not be empty");
            }
            if !seen.insert(l.name.as_str()) {
                self.err(item.clone(), "duplicate link name");
            }
            if let Some(a) = &l.address
                && a.trim().is_empty()
            {
                self.err(
                    item.clone(),
                    "address must not be empty (leave it out instead)",
                );
            }
            out.push(LinkSpec {
                name: l.name.clone(),
                address: l.address.clone(),
            });
        }
        // Per-drone signing keys are looked up by system id: a drone with its
        // own key needs a system id that no drone on another link has.
        if raw.len() > 1 {
            let only = raw.first().map(|l| l.name.as_str()).unwrap_or_default();
            let link_of = |d: &RawDrone| d.link.clone().unwrap_or_else(|| only.to_owned());
            for d in drones {
                if d.signing_key.is_none() && d.signing_key_env.is_none() {
                    continue;
                }
                if let Some(other) = drones
                    .iter()
                    .find(|o| o.system_id == d.system_id && link_of(o) != link_of(d))
                {
                    self.err(
                        Some(format!("drone \"{}\"", d.id)),
                        format!(
                            "has its own signing key, and drone \"{}\" on link \"{}\" has the same system_id {}: keys are looked up by system id, so give one of them another system id, or use the fleet key",
                            other.id,
                            link_of(other),
                            d.system_id
                        ),
                    );
                }
            }
        }
        out
    }

    fn drones(&mut self, raw: &[RawDrone], hangars: &[Hangar], links: &[LinkSpec]) -> Vec<Drone> {
        let by_id: HashMap<&str, &Hangar> = hangars.iter().map(|h| (h.id.0.as_str(), h)).collect();
        let mut ids = HashSet::new();
        let mut sysids: HashMap<(String, u8), &str> = HashMap::new();
        let mut per_hangar: HashMap<&str, u32> = HashMap::new();
        let mut out = Vec::new();
        let names: Vec<&str> = links.iter().map(|l| l.name.as_str()).collect();
        for d in raw {
            let item = Some(format!("drone \"{}\"", d.id));
            if !ids.insert(d.id.as_str()) {
                self.err(item.clone(), "duplicate drone id");
            }
            let address = d.address.as_deref().and_then(|a| match a.trim().parse() {
                Ok(a) => Some(a),
                Err(_) => {
                    self.err(
                        item.clone(),
                        format!("address `{a}` is not IP:PORT (e.g. 192.168.1.20:14550)"),
                    );
                    None
                }
            });
            let link = match (&d.link, names.as_slice()) {
                (Some(l), _) if names.contains(&l.as_str()) => l.clone(),
                (Some(l), _) => {
                    self.err(
                        item.clone(),
                        format!("unknown link \"{l}\" (configured: {})", names.join(", ")),
                    );
                    l.clone()
                }
                (None, [only]) => (*only).to_owned(),
                (None, _) => {
                    self.err(
                        item.clone(),
                        format!(
                            "`link` is required when several links are configured ({})",
                            names.join(", ")
                        ),
                    );
                    String::new()
                }
            };
            if d.system_id == 0 || d.system_id == 255 {
                self.err(
                    item.clone(),
                    format!(
                        "system_id {} is reserved (0 is broadcast, 255 is ground stations)",
                        d.system_id
                    ),
                );
            } else if let Some(other) = sysids.insert((link.clone(), d.system_id), &d.id) {
                let on = if names.len() > 1 {
                    format!(" on link \"{link}\"")
                } else {
                    String::new()
                };
                self.err(
                    item.clone(),
                    format!(
                        "system_id {} is already used by drone \"{other}\"{on}",
                        d.system_id
                    ),
                );
            }
            if d.id.trim().is_empty() {
                self.err(item.clone(), "id must not be empty");
            }
            // Multicopter figures: anything outside is a typo or a unit slip.
            for (what, v, lo, hi, unit) in [
                ("cruise_speed_mps", d.cruise_speed_mps, 1.0, 60.0, "m/s"),
                ("climb_rate_mps", d.climb_rate_mps, 0.2, 20.0, "m/s"),
                ("descent_rate_mps", d.descent_rate_mps, 0.2, 20.0, "m/s"),
                ("endurance_min", d.endurance_min, 1.0, 600.0, "minutes"),
            ] {
                self.range(&item, what, v, lo, hi, unit);
            }
            let mut performance = Performance::with_defaults(
                d.cruise_speed_mps,
                d.climb_rate_mps,
                d.descent_rate_mps,
                d.endurance_min,
            );
            if let Some(v) = d.max_airspeed_mps {
                if v.is_finite() && v < d.cruise_speed_mps {
                    self.err(
                        item.clone(),
                        format!(
                            "max_airspeed_mps {v} is below cruise_speed_mps {}: the frame could not cruise",
                            d.cruise_speed_mps
                        ),
                    );
                }
                self.range(&item, "max_airspeed_mps", v, 1.0, 80.0, "m/s");
                performance.max_airspeed_mps = v;
            }
            if let Some(v) = d.max_wind_mps {
                self.range(&item, "max_wind_mps", v, 0.0, 60.0, "m/s");
                performance.max_wind_mps = v;
            }
            if let Some(v) = d.max_gust_mps {
                self.range(&item, "max_gust_mps", v, 0.0, 80.0, "m/s");
                performance.max_gust_mps = v;
            }
            if performance.max_gust_mps < performance.max_wind_mps {
                self.err(
                    item.clone(),
                    format!(
                        "max_gust_mps {} is below max_wind_mps {}: a gust is at least the mean wind",
                        performance.max_gust_mps, performance.max_wind_mps
                    ),
                );
            }
            if !(0.0..=100.0).contains(&d.battery_pct) {
                self.err(
                    item.clone(),
                    format!("battery_pct {} is outside 0..=100", d.battery_pct),
                );
            }
            let Some(h) = by_id.get(d.hangar.as_str()) else {
                self.err(item, format!("unknown hangar \"{}\"", d.hangar));
                continue;
            };
            let n = per_hangar.entry(h.id.0.as_str()).or_default();
            *n += 1;
            if *n == h.slots + 1 {
                self.err(
                    item.clone(),
                    format!(
                        "hangar \"{}\" has {} slots and more drones than that",
                        h.id, h.slots
                    ),
                );
            }
            out.push(Drone {
                id: DroneId(d.id.clone()),
                name: d.name.clone().unwrap_or_else(|| d.id.clone()),
                hangar: h.id.clone(),
                system_id: d.system_id,
                link,
                address,
                capabilities: d.capabilities.iter().copied().collect(),
                performance,
                state: if d.maintenance {
                    DroneState::Maintenance
                } else {
                    DroneState::Docked
                },
                battery_pct: d.battery_pct,
                position: h.position,
                task: None,
            });
        }
        out
    }

    fn window(&mut self, item: &str, from: Option<&str>, until: Option<&str>) -> ActiveWindow {
        let mut parse = |what: &str, s: Option<&str>| -> Option<Timestamp> {
            let s = s?;
            match DateTime::parse_from_rfc3339(s) {
                Ok(t) => Some(t.to_utc()),
                Err(e) => {
                    self.err(
                        Some(item.to_owned()),
                        format!("{what} `{s}` is not an RFC 3339 time (e.g. 2026-09-18T12:30:00+08:00): {e}"),
                    );
                    None
                }
            }
        };
        let w = ActiveWindow {
            from: parse("from", from),
            until: parse("until", until),
        };
        if let (Some(f), Some(u)) = (w.from, w.until)
            && f >= u
        {
            self.err(
                Some(item.to_owned()),
                "the active window ends before it starts",
            );
        }
        w
    }

    fn patrols(&mut self, raw: &[RawPatrol], region: Region) -> Vec<PatrolRoute> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for p in raw {
            let item = format!("patrol \"{}\"", p.id);
            if !seen.insert(p.id.as_str()) {
                self.err(Some(item.clone()), "duplicate patrol id");
            }
            if p.waypoints.len() < 2 {
                self.err(Some(item.clone()), "a patrol needs at least 2 waypoints");
            }
            let waypoints = p
                .waypoints
                .iter()
                .enumerate()
                .map(|(i, w)| self.position(&format!("{item} waypoint {i}"), w.lat, w.lon, region))
                .collect();
            let window = self.window(&item, p.from.as_deref(), p.until.as_deref());
            if p.repeat_every_min.is_some_and(|m| m.is_nan() || m <= 0.0) {
                self.err(Some(item), "repeat_every_min must be positive");
            }
            out.push(PatrolRoute {
                id: PatrolId(p.id.clone()),
                name: p.name.clone(),
                waypoints,
                window,
                repeat_every_min: p.repeat_every_min,
                capabilities: p.capabilities.iter().copied().collect::<CapabilitySet>(),
            });
        }
        out
    }

    fn zones(&mut self, text: &str, region: Region) -> Vec<Zone> {
        let fc = match text.parse::<geojson::GeoJson>() {
            Ok(geojson::GeoJson::FeatureCollection(fc)) => fc,
            Ok(_) => {
                self.err(None, "zones must be a GeoJSON FeatureCollection");
                return Vec::new();
            }
            Err(e) => {
                self.err(None, format!("not valid GeoJSON: {e}"));
                return Vec::new();
            }
        };
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut ignored: BTreeMap<String, usize> = BTreeMap::new();
        for (i, f) in fc.features.iter().enumerate() {
            let mut props = f.properties.clone().unwrap_or_default();
            // GIS tools put the id on the Feature rather than in its properties.
            let feature_id = f.id.as_ref().map(|id| match id {
                geojson::feature::Id::String(s) => s.clone(),
                geojson::feature::Id::Number(n) => n.to_string(),
            });
            if props.get("id").is_none_or(serde_json::Value::is_null)
                && let Some(fid) = &feature_id
            {
                props.insert("id".into(), serde_json::Value::String(fid.clone()));
            }
            let id = props.get("id").and_then(|v| v.as_str()).map(str::to_owned);
            let item = match &id {
                Some(id) => format!("zone feature #{i} (\"{id}\")"),
                None => format!("zone feature #{i}"),
            };
            let raw = match RawZoneProps::from_map(&props) {
                Ok(r) => r,
                Err(problems) => {
                    for m in problems {
                        self.err(Some(item.clone()), m);
                    }
                    continue;
                }
            };
            for k in &raw.extra {
                *ignored.entry(k.clone()).or_insert(0usize) += 1;
            }
            let Some(raw_id) = raw.id.clone().filter(|s| !s.trim().is_empty()) else {
                self.err(
                    Some(item),
                    "zone has no id (give it `id` in its properties or on the Feature)",
                );
                continue;
            };
            if !seen.insert(raw_id.clone()) {
                self.err(Some(item.clone()), "duplicate zone id");
            }
            let Some(geom) = &f.geometry else {
                self.err(Some(item), "feature has no geometry");
                continue;
            };
            let geojson::Value::Polygon(rings) = &geom.value else {
                self.err(
                    Some(item),
                    "geometry must be a Polygon (split multi-polygons into one feature each)",
                );
                continue;
            };
            let Some(polygon) = self.polygon(&item, rings, region) else {
                continue;
            };
            let rescue_exempt = match flag(raw.rescue_exempt.as_ref()) {
                Ok(b) => b,
                Err(m) => {
                    self.err(Some(item.clone()), format!("rescue_exempt: {m}"));
                    false
                }
            };
            let floor_m = raw.floor_m.unwrap_or(0.0);
            let ceiling_m = raw.ceiling_m.unwrap_or_else(default_ceiling);
            if !(floor_m >= 0.0 && ceiling_m > floor_m) {
                self.err(Some(item.clone()), "need 0 <= floor_m < ceiling_m");
            }
            let window = self.window(
                &item,
                raw.active_from.as_deref(),
                raw.active_until.as_deref(),
            );
            out.push(Zone {
                id: ZoneId(raw_id.clone()),
                name: raw.name.unwrap_or(raw_id),
                kind: raw.kind,
                polygon,
                floor_m,
                ceiling_m,
                window,
                rescue_exempt,
            });
        }
        if !ignored.is_empty() {
            let list: Vec<String> = ignored
                .iter()
                .map(|(k, n)| format!("`{k}` ({n} feature{})", if *n == 1 { "" } else { "s" }))
                .collect();
            self.warnings.push(format!(
                "{}: ignored properties the planner does not use: {}",
                self.file.display(),
                list.join(", ")
            ));
        }
        out
    }

    fn polygon(
        &mut self,
        item: &str,
        rings: &[Vec<Vec<f64>>],
        region: Region,
    ) -> Option<Polygon<f64>> {
        let before = self.problems.len();
        if rings.is_empty() {
            self.err(Some(item.to_owned()), "polygon has no rings");
            return None;
        }
        let mut lines = Vec::new();
        for (r, ring) in rings.iter().enumerate() {
            let role = if r == 0 {
                "exterior ring".to_owned()
            } else {
                format!("hole #{}", r - 1)
            };
            if ring.len() < 4 {
                self.err(
                    Some(item.to_owned()),
                    format!(
                        "{role} has {} positions; a closed ring needs at least 4",
                        ring.len()
                    ),
                );
                continue;
            }
            if ring.first() != ring.last() {
                self.err(
                    Some(item.to_owned()),
                    format!("{role} is open: its first and last positions differ (GeoJSON rings must be closed)"),
                );
                continue;
            }
            let mut coords = Vec::new();
            for (k, pos) in ring.iter().enumerate() {
                let [lon, lat] = pos.as_slice()[..] else {
                    if pos.len() < 2 {
                        self.err(
                            Some(item.to_owned()),
                            format!("{role} position {k} has fewer than 2 numbers"),
                        );
                        continue;
                    }
                    // Altitude in a third ordinate is allowed and ignored.
                    coords.push(Coord {
                        x: pos[0],
                        y: pos[1],
                    });
                    continue;
                };
                coords.push(Coord { x: lon, y: lat });
            }
            for (k, c) in coords.iter().enumerate() {
                if let Err(m) = check_lat_lon(c.y, c.x) {
                    self.err(
                        Some(item.to_owned()),
                        format!(
                            "{role} position {k} [{}, {}]: {m} (GeoJSON order is [lon, lat])",
                            c.x, c.y
                        ),
                    );
                    break;
                }
                if !region.contains(LatLon::new(c.y, c.x)) {
                    let hint = if region.contains(LatLon::new(c.x, c.y)) {
                        "; it looks like [lat, lon], GeoJSON order is [lon, lat]"
                    } else {
                        ""
                    };
                    self.err(
                        Some(item.to_owned()),
                        format!(
                            "{role} position {k} [{}, {}] is outside the scenario region{hint}",
                            c.x, c.y
                        ),
                    );
                    break;
                }
            }
            lines.push(LineString::new(coords));
        }
        if self.problems.len() > before || lines.is_empty() {
            return None;
        }
        let exterior = lines.remove(0);
        let polygon = Polygon::new(exterior, lines);
        if let Err(e) = crate::polygon_check::check_polygon(&polygon) {
            self.err(Some(item.to_owned()), format!("invalid polygon: {e}"));
            return None;
        }
        // A sliver of float noise passes the exact test; a zone must cover
        // ground (square metres, from the area in degrees at its latitude).
        let area_m2 = {
            use geo::{Area, Centroid};
            let lat = polygon.centroid().map_or(0.0, |c| c.y());
            polygon.unsigned_area() * 111_195.0 * 111_195.0 * lat.to_radians().cos()
        };
        if area_m2.is_nan() || area_m2 < 1.0 {
            self.err(
                Some(item.to_owned()),
                format!(
                    "invalid polygon: it covers {area_m2:.3} m² (a zone must cover at least 1 m²)"
                ),
            );
            return None;
        }
        Some(polygon)
    }
}

/// A zone's properties as GIS tools write them: optional fields may be
/// absent or `null` (QGIS writes empty fields so), booleans may be 0/1, and
/// properties the planner does not use (`stroke`, `fill`...) are kept aside
/// and reported once per file.
struct RawZoneProps {
    id: Option<String>,
    name: Option<String>,
    kind: ZoneKind,
    floor_m: Option<f64>,
    ceiling_m: Option<f64>,
    active_from: Option<String>,
    active_until: Option<String>,
    rescue_exempt: Option<serde_json::Value>,
    /// Names of the properties the planner does not use.
    extra: Vec<String>,
}

impl RawZoneProps {
    const KNOWN: [&'static str; 9] = [
        "id",
        "name",
        "kind",
        "floor_m",
        "ceiling_m",
        "active_from",
        "active_until",
        "rescue_exempt",
        "note",
    ];

    /// Reads each property on its own, so that every problem names its property.
    fn from_map(m: &serde_json::Map<String, serde_json::Value>) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        fn get<T: serde::de::DeserializeOwned>(
            m: &serde_json::Map<String, serde_json::Value>,
            key: &str,
            problems: &mut Vec<String>,
        ) -> Option<T> {
            match m.get(key) {
                None | Some(serde_json::Value::Null) => None,
                Some(v) => serde_json::from_value(v.clone())
                    .map_err(|e| problems.push(format!("property `{key}`: {e}")))
                    .ok(),
            }
        }
        let id = get(m, "id", &mut problems);
        let name = get(m, "name", &mut problems);
        let kind: Option<ZoneKind> = get(m, "kind", &mut problems);
        let floor_m = get(m, "floor_m", &mut problems);
        let ceiling_m = get(m, "ceiling_m", &mut problems);
        let active_from = get(m, "active_from", &mut problems);
        let active_until = get(m, "active_until", &mut problems);
        let _note: Option<String> = get(m, "note", &mut problems);
        if kind.is_none() && m.get("kind").is_none_or(serde_json::Value::is_null) {
            problems.push(
                "property `kind` is missing: airport, nuclear, crowd, temporary_closure, military or other"
                    .into(),
            );
        }
        let extra = m
            .keys()
            .filter(|k| !Self::KNOWN.contains(&k.as_str()))
            .cloned()
            .collect();
        match kind {
            Some(kind) if problems.is_empty() => Ok(RawZoneProps {
                id,
                name,
                kind,
                floor_m,
                ceiling_m,
                active_from,
                active_until,
                rescue_exempt: m.get("rescue_exempt").cloned(),
                extra,
            }),
            _ => Err(problems),
        }
    }
}

/// A boolean property written as `true`/`false`, `1`/`0`, or absent/`null` (false).
fn flag(v: Option<&serde_json::Value>) -> Result<bool, String> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(false),
        Some(serde_json::Value::Bool(b)) => Ok(*b),
        Some(serde_json::Value::Number(n)) if n.as_f64() == Some(1.0) => Ok(true),
        Some(serde_json::Value::Number(n)) if n.as_f64() == Some(0.0) => Ok(false),
        Some(other) => Err(format!("expected true, false, 1 or 0, found {other}")),
    }
}

fn default_ceiling() -> f64 {
    10_000.0
}

fn check_lat_lon(lat: f64, lon: f64) -> Result<(), String> {
    if !lat.is_finite() || !lon.is_finite() {
        return Err("coordinates must be finite numbers".into());
    }
    if !(-90.0..=90.0).contains(&lat) {
        let hint = if (-90.0..=90.0).contains(&lon) {
            "; lat and lon look swapped"
        } else {
            ""
        };
        return Err(format!("latitude {lat} is outside -90..=90{hint}"));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(format!("longitude {lon} is outside -180..=180"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: &str = r#"
[kinds.person_in_water]
priority = 5
life_threatening = true
rescue = true
capabilities = ["lifebuoy"]
on_scene_s = 120
[kinds.spectator_in_danger_zone]
priority = 4
capabilities = ["loudspeaker"]
on_scene_s = 60
[kinds.tidal_surge_warning]
priority = 4
capabilities = ["loudspeaker"]
on_scene_s = 60
[kinds.highrise_fire]
priority = 4
capabilities = ["thermal_camera"]
on_scene_s = 60
[kinds.forest_fire]
priority = 3
capabilities = ["thermal_camera"]
on_scene_s = 60
[kinds.missing_person]
priority = 3
capabilities = ["thermal_camera"]
on_scene_s = 60
[kinds.patrol]
priority = 1
capabilities = ["loudspeaker"]
on_scene_s = 60
"#;

    const HEAD: &str = r#"
[scenario]
name = "test"
zones = "zones.geojson"
region = { min_lat = 30.0, min_lon = 120.0, max_lat = 31.0, max_lon = 121.0 }
"#;

    const HANGAR: &str = r#"
[[hangar]]
id = "h1"
name = "H1"
lat = 30.5
lon = 120.5
slots = 2
"#;

    fn drone(id: &str, hangar: &str, sysid: u8, caps: &str) -> String {
        format!(
            "[[drone]]\nid = \"{id}\"\nhangar = \"{hangar}\"\nsystem_id = {sysid}\ncapabilities = [{caps}]\n\
             cruise_speed_mps = 15\nclimb_rate_mps = 5\ndescent_rate_mps = 3\nendurance_min = 40\n"
        )
    }

    const EMPTY_ZONES: &str = r#"{"type":"FeatureCollection","features":[]}"#;

    fn zone(props: &str, ring: &str) -> String {
        format!(
            r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{{props}}},
               "geometry":{{"type":"Polygon","coordinates":[{ring}]}}}}]}}"#
        )
    }

    const SQUARE: &str = "[[120.4,30.4],[120.6,30.4],[120.6,30.6],[120.4,30.6],[120.4,30.4]]";
    const PROPS: &str = r#""id":"z1","name":"Z1","kind":"airport""#;

    fn run(toml_text: &str, zones: &str) -> Result<Scenario, ConfigError> {
        let zones = zones.to_owned();
        parse(Path::new("scenario.toml"), toml_text, move |_| {
            Ok((PathBuf::from("zones.geojson"), zones))
        })
    }

    /// Loads and expects exactly one problem whose text contains all of `expected`.
    fn check(toml_text: &str, zones: &str, expected: &[&str]) {
        let err = match run(toml_text, zones) {
            Ok(_) => panic!("configuration was accepted; expected {expected:?}"),
            Err(e) => e,
        };
        assert_eq!(err.problems.len(), 1, "{err}");
        let text = err.problems[0].to_string();
        for e in expected {
            assert!(text.contains(e), "`{text}` does not contain `{e}`");
        }
    }

    fn good() -> String {
        format!(
            "{HEAD}{KINDS}{HANGAR}{}",
            drone("d1", "h1", 1, "\"lifebuoy\"")
        )
    }

    #[test]
    fn links_name_each_drone_and_system_ids_repeat_only_across_links() {
        let links = "[[link]]\nname = \"north\"\n[[link]]\nname = \"south\"\naddress = \"udpin:127.0.0.1:14560\"\n";
        let two = format!(
            "{good}{links}{}link = \"north\"\n{}link = \"south\"\n",
            drone("d2", "h1", 2, "\"lifebuoy\""),
            drone("d3", "h1", 2, "\"lifebuoy\""),
            good = good()
                .replace("[[drone]]", "[[drone]]\nlink = \"north\"")
                .replace("slots = 2", "slots = 6"),
        );
        let s = run(&two, EMPTY_ZONES).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.links.len(), 2);
        assert_eq!(s.links[1].address.as_deref(), Some("udpin:127.0.0.1:14560"));
        let on: Vec<(&str, u8)> = s
            .drones
            .iter()
            .map(|d| (d.link.as_str(), d.system_id))
            .collect();
        assert_eq!(on, [("north", 1), ("north", 2), ("south", 2)]);
        // Without [[link]], one link named `default`.
        let one = run(&good(), EMPTY_ZONES).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(one.drones[0].link, DEFAULT_LINK);
        // The same system id twice on one link, an unknown link, a missing one.
        check(
            &two.replace("system_id = 2\ncapabilities = [\"lifebuoy\"]\ncruise_speed_mps = 15\nclimb_rate_mps = 5\ndescent_rate_mps = 3\nendurance_min = 40\nlink = \"south\"", "system_id = 2\ncapabilities = [\"lifebuoy\"]\ncruise_speed_mps = 15\nclimb_rate_mps = 5\ndescent_rate_mps = 3\nendurance_min = 40\nlink = \"north\""),
            EMPTY_ZONES,
            &["drone \"d3\"", "system_id 2 is already used by drone \"d2\" on link \"north\""],
        );
        check(
            &two.replace("link = \"south\"\n", "link = \"east\"\n"),
            EMPTY_ZONES,
            &[
                "drone \"d3\"",
                "unknown link \"east\" (configured: north, south)",
            ],
        );
        check(
            &format!("{two}{}", drone("d4", "h1", 4, "\"lifebuoy\"")),
            EMPTY_ZONES,
            &[
                "drone \"d4\"",
                "`link` is required when several links are configured (north, south)",
            ],
        );
    }

    #[test]
    fn signing_keys_come_from_the_file_or_the_environment_and_are_never_shown() {
        let hex = "0123456789abcdef".repeat(4);
        let text = format!(
            "{}\n[signing]\nkey_env = \"FLEET_KEY\"\n{}signing_key_env = \"D2_KEY\"\n",
            good(),
            drone("d2", "h1", 2, "\"lifebuoy\"")
        );
        let s = run(&text, EMPTY_ZONES).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.signing.default, Some(KeySource::Env("FLEET_KEY".into())));
        let env = |n: &str| (n == "FLEET_KEY").then(|| hex.clone());
        let keys = s.signing.resolve(env).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(keys.default.as_deref(), Some(hex.as_str()));
        // D2_KEY is not set: that drone's link falls back, with a warning.
        assert!(keys.drones.is_empty());
        assert!(keys.warnings[0].contains("D2_KEY"), "{:?}", keys.warnings);
        assert!(!format!("{keys:?}").contains("0123"), "{keys:?}");
        // Required: a missing variable is an error; a bad one says why, not what.
        let mut req = s.signing.clone();
        req.require = true;
        assert!(req.resolve(env).is_err_and(|e| e.contains("D2_KEY")));
        let bad = |n: &str| (n == "FLEET_KEY").then(|| "secret!".to_owned());
        let e = s.signing.resolve(bad).err().unwrap_or_default();
        assert!(e.contains("64 hexadecimal") && !e.contains("secret"), "{e}");
        // Inline keys are checked at load time; both forms at once are refused.
        check(
            &format!("{}\n[signing]\nkey = \"abc\"\n", good()),
            EMPTY_ZONES,
            &["[signing]", "64 hexadecimal digits", "3 characters"],
        );
        check(
            &format!("{}\n[signing]\nkey = \"{hex}\"\nkey_env = \"K\"\n", good()),
            EMPTY_ZONES,
            &["not both"],
        );
        check(
            &format!("{}\n[signing]\nrequire = true\n", good()),
            EMPTY_ZONES,
            &["require = true needs a key"],
        );
        let inline = run(
            &format!("{}\n[signing]\nkey = \"{hex}\"\n", good()),
            EMPTY_ZONES,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            inline
                .warnings
                .iter()
                .any(|w| w.contains("keep the file private"))
        );
        assert!(!format!("{:?}", inline.signing).contains("0123"));
    }

    #[test]
    fn numbers_out_of_their_range_are_refused_with_the_range() {
        let cases: [(&str, &str, &[&str]); 7] = [
            (
                "slots = 2",
                "slots = 2\nlaunch_delay_s = inf",
                &["launch_delay_s = inf", "[0, 3600]"],
            ),
            (
                "slots = 2",
                "slots = 2\ncharge_rate_pct_per_min = 1e308",
                &["charge_rate_pct_per_min", "[0, 100]"],
            ),
            (
                "cruise_speed_mps = 15",
                "cruise_speed_mps = 1e-300",
                &["cruise_speed_mps", "[1, 60] m/s"],
            ),
            (
                "endurance_min = 40",
                "endurance_min = 1e308",
                &["endurance_min", "[1, 600] minutes"],
            ),
            (
                "climb_rate_mps = 5",
                "climb_rate_mps = nan",
                &["climb_rate_mps = NaN"],
            ),
            (
                "on_scene_s = 120",
                "on_scene_s = 1e308",
                &["on_scene_s", "[0, 14400] seconds"],
            ),
            (
                "[[hangar]]",
                "[planning]\nalternatives = 9223372036854775807\n[[hangar]]",
                &["alternatives", "[0, 20]"],
            ),
        ];
        for (from, to, expected) in cases {
            let t = good();
            assert!(t.contains(from), "the base configuration has no `{from}`");
            check(&t.replacen(from, to, 1), EMPTY_ZONES, expected);
        }
    }

    #[test]
    fn a_sliver_zone_is_refused() {
        let sliver = "[[120.4,30.4],[120.5,30.5],[120.6,30.6000000001],[120.4,30.4]]";
        check(
            &good(),
            &zone(PROPS, sliver),
            &["invalid polygon", "a zone must cover at least 1 m²"],
        );
    }

    #[test]
    fn a_good_configuration_loads() {
        let s = run(&good(), &zone(PROPS, SQUARE)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((s.hangars.len(), s.drones.len(), s.zones.len()), (1, 1, 1));
        assert!(s.zones[0].window.is_permanent());
    }

    #[test]
    fn broken_toml_names_the_file_and_line() {
        check(
            "[scenario\nname = 1",
            EMPTY_ZONES,
            &["scenario.toml", "line 1"],
        );
    }

    #[test]
    fn swapped_hangar_coordinates() {
        let t = good().replace("lat = 30.5\nlon = 120.5", "lat = 120.5\nlon = 30.5");
        check(
            &t,
            EMPTY_ZONES,
            &["hangar \"h1\"", "latitude 120.5", "swapped"],
        );
    }

    #[test]
    fn swapped_but_in_range_coordinates_are_caught_by_the_region() {
        let mut t = good().replace("lat = 30.5\nlon = 120.5", "lat = 10.5\nlon = 30.5");
        t = t.replace(
            "region = { min_lat = 30.0, min_lon = 120.0, max_lat = 31.0, max_lon = 121.0 }",
            "region = { min_lat = 30.0, min_lon = 10.0, max_lat = 31.0, max_lon = 11.0 }",
        );
        check(
            &t,
            EMPTY_ZONES,
            &["hangar \"h1\"", "outside the scenario region", "swapped"],
        );
    }

    #[test]
    fn duplicate_drone_ids() {
        let t = format!("{}{}", good(), drone("d1", "h1", 2, ""));
        check(&t, EMPTY_ZONES, &["drone \"d1\"", "duplicate drone id"]);
    }

    #[test]
    fn duplicate_hangar_ids() {
        let t = format!("{}{HANGAR}", good());
        check(&t, EMPTY_ZONES, &["hangar \"h1\"", "duplicate hangar id"]);
    }

    #[test]
    fn duplicate_system_ids() {
        let t = format!("{}{}", good(), drone("d2", "h1", 1, ""));
        check(
            &t,
            EMPTY_ZONES,
            &[
                "drone \"d2\"",
                "system_id 1 is already used by drone \"d1\"",
            ],
        );
    }

    #[test]
    fn reserved_system_id() {
        let t = good().replace("system_id = 1", "system_id = 0");
        check(
            &t,
            EMPTY_ZONES,
            &["drone \"d1\"", "system_id 0 is reserved"],
        );
    }

    #[test]
    fn drone_in_unknown_hangar() {
        let t = good().replace("hangar = \"h1\"", "hangar = \"nowhere\"");
        check(
            &t,
            EMPTY_ZONES,
            &["drone \"d1\"", "unknown hangar \"nowhere\""],
        );
    }

    #[test]
    fn more_drones_than_slots() {
        let t = format!(
            "{}{}{}",
            good(),
            drone("d2", "h1", 2, ""),
            drone("d3", "h1", 3, "")
        );
        check(&t, EMPTY_ZONES, &["drone \"d3\"", "has 2 slots"]);
    }

    #[test]
    fn unknown_capability() {
        let t = good().replace("\"lifebuoy\"]", "\"parachute\"]");
        check(
            &t,
            EMPTY_ZONES,
            &["scenario.toml", "unknown variant `parachute`", "lifebuoy"],
        );
    }

    #[test]
    fn unknown_kind() {
        let t = format!(
            "{}\n[kinds.alien_landing]\npriority = 2\ncapabilities = []\non_scene_s = 1\n",
            good()
        );
        check(
            &t,
            EMPTY_ZONES,
            &[
                "[kinds.alien_landing]",
                "unknown incident kind `alien_landing`",
            ],
        );
    }

    #[test]
    fn missing_kind() {
        let t = good().replace("[kinds.patrol]", "[kinds.patrol_removed_by_typo]");
        let err = run(&t, EMPTY_ZONES)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("unknown incident kind `patrol_removed_by_typo`"),
            "{err}"
        );
        assert!(
            err.contains("incident kind `patrol` has no [kinds.patrol] section"),
            "{err}"
        );
    }

    #[test]
    fn unknown_field_is_a_typo_not_a_silent_default() {
        let t = good().replace("slots = 2", "slots = 2\nslot = 3");
        check(&t, EMPTY_ZONES, &["unknown key `hangar.0.slot`"]);
    }

    #[test]
    fn every_unknown_key_is_reported_at_once() {
        let t = good()
            .replace("slots = 2", "slots = 2\nslot = 3\nlunch_delay_s = 9")
            .replace(
                "cruise_speed_mps = 15",
                "cruise_speed_mps = 15\ncruse_speed = 3",
            );
        let err = run(&t, EMPTY_ZONES).map(|_| ()).unwrap_err();
        let text = err.to_string();
        assert_eq!(err.problems.len(), 3, "{text}");
        for key in [
            "hangar.0.slot",
            "hangar.0.lunch_delay_s",
            "drone.0.cruse_speed",
        ] {
            assert!(text.contains(&format!("unknown key `{key}`")), "{text}");
        }
    }

    #[test]
    fn a_cluster_database_is_a_postgres_url_and_the_only_event_log() {
        let url = "postgres://dispatch@db.example:5432/dispatch";
        let t = format!("{}\n[cluster]\ndatabase = \"{url}\"\n", good());
        let s = run(&t, EMPTY_ZONES).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.cluster.database.as_deref(), Some(url));
        check(
            &format!("{}\n[cluster]\ndatabase = \"var/events.sqlite\"\n", good()),
            EMPTY_ZONES,
            &["[cluster]", "a PostgreSQL URL"],
        );
        check(
            &format!(
                "{}\n[server]\nevent_log = \"e.sqlite\"\n[cluster]\ndatabase = \"{url}\"\n",
                good()
            ),
            EMPTY_ZONES,
            &["[cluster]", "both name an event log"],
        );
        check(
            &format!("{}\n[cluster]\ndatabse = \"{url}\"\n", good()),
            EMPTY_ZONES,
            &["unknown key `cluster.databse`"],
        );
    }

    #[test]
    fn open_polygon() {
        let ring = "[[120.4,30.4],[120.6,30.4],[120.6,30.6],[120.4,30.6],[120.45,30.45]]";
        check(
            &good(),
            &zone(PROPS, ring),
            &[
                "zones.geojson",
                "zone feature #0 (\"z1\")",
                "exterior ring is open",
            ],
        );
    }

    #[test]
    fn self_intersecting_polygon() {
        // A bow tie.
        let ring = "[[120.4,30.4],[120.6,30.6],[120.6,30.4],[120.4,30.6],[120.4,30.4]]";
        check(
            &good(),
            &zone(PROPS, ring),
            &["zone feature #0 (\"z1\")", "self-intersection"],
        );
    }

    #[test]
    fn lat_lon_order_in_geojson() {
        let ring = "[[30.4,120.4],[30.4,120.6],[30.6,120.6],[30.6,120.4],[30.4,120.4]]";
        check(
            &good(),
            &zone(PROPS, ring),
            &["zone feature #0 (\"z1\")", "latitude 120.4", "[lon, lat]"],
        );
    }

    #[test]
    fn too_few_positions() {
        let ring = "[[120.4,30.4],[120.6,30.4],[120.4,30.4]]";
        check(
            &good(),
            &zone(PROPS, ring),
            &["exterior ring has 3 positions"],
        );
    }

    #[test]
    fn unknown_zone_kind() {
        let props = r#""id":"z1","name":"Z1","kind":"volcano""#;
        check(
            &good(),
            &zone(props, SQUARE),
            &["zone feature #0 (\"z1\")", "unknown variant `volcano`"],
        );
    }

    #[test]
    fn duplicate_zone_ids() {
        let one = zone(PROPS, SQUARE);
        let feature = one
            .trim_start_matches(r#"{"type":"FeatureCollection","features":["#)
            .trim_end_matches("]}");
        let two = format!(r#"{{"type":"FeatureCollection","features":[{feature},{feature}]}}"#);
        check(
            &good(),
            &two,
            &["zone feature #1 (\"z1\")", "duplicate zone id"],
        );
    }

    #[test]
    fn bad_time_window() {
        let props = r#""id":"z1","name":"Z1","kind":"crowd","active_from":"tomorrow""#;
        check(
            &good(),
            &zone(props, SQUARE),
            &[
                "zone feature #0 (\"z1\")",
                "`tomorrow` is not an RFC 3339 time",
            ],
        );
        let props = r#""id":"z1","name":"Z1","kind":"crowd","active_from":"2026-09-28T14:00:00+08:00","active_until":"2026-09-28T12:00:00+08:00""#;
        check(&good(), &zone(props, SQUARE), &["ends before it starts"]);
    }

    #[test]
    fn not_geojson() {
        check(
            &good(),
            "{ not json",
            &["zones.geojson", "not valid GeoJSON"],
        );
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let t = format!(
            "{}{}",
            good().replace("hangar = \"h1\"", "hangar = \"x\""),
            drone("d1", "h1", 1, "")
        );
        let err = run(&t, "{ not json")
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert_eq!(err.problems.len(), 4, "{err}");
    }

    #[test]
    fn the_demo_scenario_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/haining.toml");
        let s = load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(s.hangars.len() >= 6 && s.drones.len() >= 12);
        assert!(
            s.zones
                .iter()
                .any(|z| z.kind == ZoneKind::Airport && z.window.is_permanent())
        );
        assert!(
            s.zones
                .iter()
                .any(|z| z.kind == ZoneKind::Nuclear && z.window.is_permanent())
        );
        assert!(
            s.zones
                .iter()
                .any(|z| z.kind == ZoneKind::Crowd && !z.window.is_permanent())
        );
    }

    #[test]
    fn zones_as_gis_tools_write_them_are_accepted_with_one_warning() {
        // A web editor's styling, QGIS's nulls, 0/1 booleans, the id on the Feature.
        let zones = format!(
            r##"{{"type":"FeatureCollection","features":[
              {{"type":"Feature","id":"gis-1","properties":{{"name":null,"kind":"crowd","floor_m":null,
                 "ceiling_m":null,"active_from":null,"active_until":null,"rescue_exempt":1,
                 "stroke":"#555555","fill":"#ff0000","fill-opacity":0.5}},
               "geometry":{{"type":"Polygon","coordinates":[{SQUARE}]}}}},
              {{"type":"Feature","id":7,"properties":{{"name":"Seven","kind":"other","rescue_exempt":0,"stroke":"#000"}},
               "geometry":{{"type":"Polygon","coordinates":[{SQUARE}]}}}}]}}"##
        );
        let s = run(&good(), &zones).unwrap_or_else(|e| panic!("{e}"));
        let z = &s.zones[0];
        assert_eq!((z.id.0.as_str(), z.name.as_str()), ("gis-1", "gis-1"));
        assert!(z.rescue_exempt && z.window.is_permanent());
        assert_eq!((z.floor_m, z.ceiling_m), (0.0, 10_000.0));
        assert_eq!(
            (s.zones[1].id.0.as_str(), s.zones[1].rescue_exempt),
            ("7", false)
        );
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        let w = &s.warnings[0];
        for needle in [
            "zones.geojson",
            "`stroke` (2 features)",
            "`fill` (1 feature)",
            "`fill-opacity`",
        ] {
            assert!(w.contains(needle), "`{w}` lacks {needle}");
        }
    }

    #[test]
    fn what_is_really_wrong_in_a_gis_file_is_still_refused() {
        check(
            &good(),
            &zone(r#""name":"No id","kind":"crowd""#, SQUARE),
            &["no id"],
        );
        check(
            &good(),
            &zone(
                r#""id":"z1","name":"Z1","kind":"crowd","rescue_exempt":"yes""#,
                SQUARE,
            ),
            &["rescue_exempt", "expected true, false, 1 or 0"],
        );
        check(
            &good(),
            &zone(r#""id":"z1","name":"Z1","kind":null"#, SQUARE),
            &["kind"],
        );
        check(
            &good(),
            &zone(r#""id":"z1","kind":"crowd","floor_m":"high""#, SQUARE),
            &["floor_m"],
        );
    }

    #[test]
    fn a_zero_route_margin_is_refused() {
        let t = good().replace("[planning]", "[planning]\nroute_margin_m = 0");
        let t = if t.contains("route_margin_m = 0") {
            t
        } else {
            good().replacen(
                "[[hangar]]",
                "[planning]\nroute_margin_m = 0\n\n[[hangar]]",
                1,
            )
        };
        check(&t, EMPTY_ZONES, &["route_margin_m = 0", "[1, 5000]"]);
    }
}

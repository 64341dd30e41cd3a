//! Loading and validating a scenario: a TOML file for hangars, drones,
//! incident kinds and patrols, and a GeoJSON file for the no-go zones (so that
//! zones can be drawn in any GIS tool).
//!
//! Validation collects every problem it finds, each naming the file and the
//! item, so that one run of `dispatcher check-config` shows them all.
//!
//! - `error`: `ConfigProblem` and `ConfigError`;
//! - `display`: the time zone and the names in Chinese, for the map;
//! - `settings`: links, server and signing settings (and key look-up);
//! - `raw`: the TOML file as serde reads it;
//! - `validate`, `validate_fleet`: the `Validator`, section by section;
//! - `zones`: the GeoJSON no-go zones.

mod display;
mod error;
mod raw;
mod settings;
#[cfg(test)]
mod tests;
mod validate;
mod validate_fleet;
mod zones;

pub use display::{DEFAULT_TIME_ZONE, LocalNames};
pub use error::{ConfigError, ConfigProblem};
pub use settings::{
    ClusterSettings, DEFAULT_LINK, KeySource, LinkSpec, ROLES, ServerSettings, SigningKeys,
    SigningSettings, TlsFiles, TokenConfig, check_key_hex, valid_bus_url, valid_node_name,
    valid_subject_prefix,
};

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::model::{Drone, Hangar, HangarId, IncidentKind, KindPolicy, LatLon, PatrolRoute, Zone};
use crate::world::{PlanningParams, Region, World};
use raw::RawConfig;
use validate::Validator;

/// A loaded, validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    /// The zone the map writes times in (`[scenario] time_zone`, an IANA
    /// name; default [`DEFAULT_TIME_ZONE`]). Nothing the core decides
    /// depends on it: its times are UTC instants.
    pub time_zone: chrono_tz::Tz,
    /// Names in Simplified Chinese (`name_zh`), by id.
    pub names_zh: LocalNames,
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
    let time_zone = v.time_zone(raw.scenario.time_zone.as_deref());
    let mut names_zh = v.names_zh(&raw.scenario, &raw.hangar, &raw.drone);
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
            let (zones, zone_names) = zv.zones_named(&text, region);
            names_zh.zones = zone_names;
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
        time_zone,
        names_zh,
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

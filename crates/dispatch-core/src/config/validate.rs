//! The `Validator`, which reads the raw sections into the scenario's types and
//! collects every problem it finds, each naming the file and the item. This
//! file holds the shared checks (ranges, positions, time windows) and the
//! scenario-wide sections: region, planning, separation, incident kinds,
//! signing and the server. The fleet's sections are in `validate_fleet`, the
//! GeoJSON zones in `zones`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::DateTime;

use super::error::ConfigProblem;
use super::raw::{
    RawCluster, RawDrone, RawKind, RawPlanning, RawRegion, RawServer, RawSigning, RawToken,
};
use super::settings::{
    ClusterSettings, KeySource, ROLES, ServerSettings, SigningSettings, TlsFiles, TokenConfig,
    check_key_hex,
};
use crate::model::{ActiveWindow, IncidentKind, KindPolicy, LatLon, Timestamp};
use crate::world::{PlanningParams, Region};

pub(super) struct Validator {
    pub(super) file: PathBuf,
    pub(super) problems: Vec<ConfigProblem>,
    /// Things accepted but worth a line to the user (e.g. ignored properties).
    pub(super) warnings: Vec<String>,
}

impl Validator {
    pub(super) fn err(&mut self, item: impl Into<Option<String>>, message: impl Into<String>) {
        self.problems.push(ConfigProblem {
            file: self.file.clone(),
            item: item.into(),
            message: message.into(),
        });
    }

    /// Refuses `v` unless it is a finite number in `[lo, hi]`, saying the range.
    pub(super) fn range(
        &mut self,
        item: &Option<String>,
        what: &str,
        v: f64,
        lo: f64,
        hi: f64,
        unit: &str,
    ) {
        if !(v.is_finite() && (lo..=hi).contains(&v)) {
            self.err(
                item.clone(),
                format!("{what} = {v} must be a number in [{lo}, {hi}] {unit}"),
            );
        }
    }

    pub(super) fn region(&mut self, r: &RawRegion) -> Region {
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

    pub(super) fn params(&mut self, p: &RawPlanning) -> PlanningParams {
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

    pub(super) fn separation(
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

    pub(super) fn signing(&mut self, raw: &RawSigning, drones: &[RawDrone]) -> SigningSettings {
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

    pub(super) fn cluster(&mut self, raw: &RawCluster, server: &ServerSettings) -> ClusterSettings {
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
        let node = raw.node.as_deref().map(str::trim).map(str::to_owned);
        if node.is_some() && database.is_none() {
            self.err(
                item(),
                "node needs database: the servers of a cluster share the event log in PostgreSQL",
            );
        }
        if let Some(n) = &node
            && !super::settings::valid_node_name(n)
        {
            self.err(
                item(),
                format!("node `{n}`: a server's name is 1 to 64 letters, digits, `.`, `_` or `-`"),
            );
        }
        let bus = raw.bus.as_deref().map(str::trim).map(str::to_owned);
        if let Some(url) = &bus
            && !super::settings::valid_bus_url(url)
        {
            self.err(
                item(),
                format!("bus `{url}` must be a NATS URL (nats://HOST:PORT)"),
            );
        }
        let subject_prefix = raw
            .subject_prefix
            .as_deref()
            .map(str::trim)
            .map(str::to_owned);
        if let Some(p) = &subject_prefix
            && !super::settings::valid_subject_prefix(p)
        {
            self.err(
                item(),
                format!(
                    "subject_prefix `{p}`: dot-separated words of letters, digits, `_` or `-` (no `*`, `>` or spaces), at most 64 characters"
                ),
            );
        }
        let mut servers = Vec::new();
        for s in &raw.servers {
            let s = s.trim().trim_end_matches('/');
            if !(s.starts_with("http://") || s.starts_with("https://"))
                || s.contains(char::is_whitespace)
            {
                self.err(
                    item(),
                    format!("servers: `{s}` must be an http:// or https:// address of a server (https://HOST:PORT)"),
                );
            } else if !servers.iter().any(|x| x == s) {
                servers.push(s.to_owned());
            }
        }
        ClusterSettings {
            database,
            node,
            bus,
            subject_prefix,
            servers,
        }
    }

    pub(super) fn server(&mut self, raw: &RawServer, tokens: &[RawToken]) -> ServerSettings {
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
        let tls = self.tls(raw);
        ServerSettings {
            tile_url: raw.tile_url.clone(),
            tile_attribution: raw.tile_attribution.clone(),
            tokens: out,
            event_log,
            write_rate_per_min: raw.write_rate_per_min,
            write_burst: raw.write_burst,
            tls,
        }
    }

    /// `tls_cert` and `tls_key`: both or neither, each a file path.
    fn tls(&mut self, raw: &RawServer) -> Option<TlsFiles> {
        let base = self.file.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut path = |key: &str, v: Option<&str>| match v.map(str::trim) {
            Some("") => {
                self.err(
                    Some("[server]".into()),
                    format!("{key} is empty; give a PEM file's path, or leave out both tls_cert and tls_key to serve plain HTTP"),
                );
                None
            }
            Some(p) => Some(base.join(p)),
            None => None,
        };
        let cert = path("tls_cert", raw.tls_cert.as_deref());
        let key = path("tls_key", raw.tls_key.as_deref());
        match (cert, key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            _ => {
                if raw.tls_cert.is_some() != raw.tls_key.is_some() {
                    let (given, missing) = if raw.tls_cert.is_some() {
                        ("tls_cert", "tls_key")
                    } else {
                        ("tls_key", "tls_cert")
                    };
                    self.err(
                        Some("[server]".into()),
                        format!("{given} needs {missing}: HTTPS takes the certificate chain and its private key (PEM files)"),
                    );
                }
                None
            }
        }
    }

    pub(super) fn kinds(
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

    pub(super) fn position(&mut self, item: &str, lat: f64, lon: f64, region: Region) -> LatLon {
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

    pub(super) fn window(
        &mut self,
        item: &str,
        from: Option<&str>,
        until: Option<&str>,
    ) -> ActiveWindow {
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
}

pub(super) fn check_lat_lon(lat: f64, lon: f64) -> Result<(), String> {
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

//! The fleet's sections of the scenario, validated: hangars, links, drones
//! (system ids per link, performance figures, slots) and patrols.

use std::collections::{HashMap, HashSet};

use super::raw::{RawDrone, RawHangar, RawLink, RawPatrol};
use super::settings::{DEFAULT_LINK, LinkSpec};
use super::validate::Validator;
use crate::model::{
    CapabilitySet, Drone, DroneId, DroneState, Hangar, HangarId, PatrolId, PatrolRoute, Performance,
};
use crate::world::Region;

impl Validator {
    pub(super) fn hangars(&mut self, raw: &[RawHangar], region: Region) -> Vec<Hangar> {
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

    pub(super) fn links(&mut self, raw: &[RawLink], drones: &[RawDrone]) -> Vec<LinkSpec> {
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

    pub(super) fn drones(
        &mut self,
        raw: &[RawDrone],
        hangars: &[Hangar],
        links: &[LinkSpec],
    ) -> Vec<Drone> {
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

    pub(super) fn patrols(&mut self, raw: &[RawPatrol], region: Region) -> Vec<PatrolRoute> {
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
}

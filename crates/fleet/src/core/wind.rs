//! Wind: the vehicles' own estimates (ArduPilot's `WIND`, docked vehicles
//! included) feed the dispatcher's wind field, and a drone on a sortie whose
//! measured wind passes its airframe's limits is called home while the
//! incident goes to a drone that can fly it (or waits, saying why).

use chrono::TimeDelta;
use dispatch_core::{DroneId, IncidentStatus, Input, LatLon, WindObservation, WindSource};

use super::FleetCore;
use super::duty::Trouble;
use super::protocol::{ServiceError, WeatherReport, WindView};
use crate::events::What;

impl FleetCore {
    /// Hands each new vehicle wind report to the dispatcher, timed on the
    /// scenario clock and placed where the vehicle is.
    pub(super) fn take_wind(&mut self) {
        let speedup = self.cfg.speedup;
        let mut fresh = Vec::new();
        for (drone, v) in &self.vehicles {
            let Some(w) = v.wind else { continue };
            if self.wind_fed.get(drone).is_some_and(|&at| at >= w.at) || v.contested.is_some() {
                continue;
            }
            let position = if v.fix_boot_ms.is_some() {
                LatLon::new(v.lat, v.lon)
            } else {
                match self.dispatcher.world().drone(drone) {
                    Some(d) => d.position,
                    None => continue,
                }
            };
            let behind_s = ((self.link_time - w.at) * speedup).max(0.0);
            fresh.push((
                drone.clone(),
                w.at,
                WindObservation {
                    source: WindSource::Drone(drone.clone()),
                    at: self.now - TimeDelta::milliseconds((behind_s * 1000.0) as i64),
                    position,
                    wind: dispatch_core::Wind {
                        speed_mps: w.speed_mps,
                        from_deg: w.from_deg,
                    },
                    gust_mps: None,
                },
            ));
        }
        for (drone, at, obs) in fresh {
            self.wind_fed.insert(drone, at);
            self.apply(Input::Wind(obs));
        }
    }

    /// A drone flying to or over a scene in more wind than it is rated for
    /// (its own reports' mean, or their peak over its gust limit).
    pub(super) fn wind_trouble(&self, drone: &DroneId) -> Option<Trouble> {
        let s = self.sortie(drone)?;
        let status = self.dispatcher.incident(s.incident)?.incident.status;
        if !matches!(status, IncidentStatus::EnRoute | IncidentStatus::OnScene) {
            return None;
        }
        let perf = self.dispatcher.world().drone(drone)?.performance;
        let e = self
            .dispatcher
            .world()
            .wind()
            .of(&WindSource::Drone(drone.clone()), self.now)?;
        (e.wind.speed_mps > perf.max_wind_mps || e.gust_mps > perf.max_gust_mps).then_some(
            Trouble::Wind {
                speed_mps: e.wind.speed_mps,
                gust_mps: e.gust_mps,
                from_deg: e.wind.from_deg,
                max_wind_mps: perf.max_wind_mps,
                max_gust_mps: perf.max_gust_mps,
            },
        )
    }

    /// Weather reports: refused whole if one names an unknown hangar, is
    /// timed in the future or says impossible figures; otherwise each is
    /// taken and logged.
    pub(super) fn weather(&mut self, reports: Vec<WeatherReport>) -> Result<(), ServiceError> {
        let world = self.dispatcher.world();
        let mut obs = Vec::with_capacity(reports.len());
        for (i, r) in reports.into_iter().enumerate() {
            let (source, position) = match &r.hangar {
                Some(h) => match world.hangar(h) {
                    Some(x) => (WindSource::Hangar(h.clone()), x.position),
                    None => {
                        return Err(ServiceError::Invalid(format!(
                            "report {i}: unknown hangar `{h}`"
                        )));
                    }
                },
                None => (WindSource::Region, world.region().centre()),
            };
            let at = r.at.unwrap_or(self.now);
            if at > self.now + TimeDelta::seconds(60) {
                return Err(ServiceError::Invalid(format!(
                    "report {i}: `at` {} is in the future (now is {})",
                    at.to_rfc3339(),
                    self.now.to_rfc3339()
                )));
            }
            if let Some(g) = r.gust_mps
                && g < r.wind.speed_mps
            {
                return Err(ServiceError::Invalid(format!(
                    "report {i}: gust {g} m/s is below the mean wind {} m/s",
                    r.wind.speed_mps
                )));
            }
            obs.push(WindObservation {
                source,
                at: at.min(self.now),
                position,
                wind: r.wind,
                gust_mps: r.gust_mps,
            });
        }
        for r in obs {
            let gust = r
                .gust_mps
                .map(|g| format!(" gusting {g:.1}"))
                .unwrap_or_default();
            self.event(What::Notice {
                message: format!(
                    "weather: wind {:.1} m/s from {:.0}°{gust} ({}, as of {})",
                    r.wind.speed_mps,
                    r.wind.from_deg,
                    r.source,
                    r.at.to_rfc3339()
                ),
            });
            self.apply(Input::Wind(r));
        }
        Ok(())
    }

    /// The wind field at every hangar and every recent source.
    pub(super) fn wind_view(&self) -> WindView {
        let world = self.dispatcher.world();
        let field = world.wind();
        WindView {
            hangars: world
                .hangars()
                .iter()
                .map(|h| (h.id.clone(), h.position, field.at(h.position, self.now)))
                .collect(),
            sources: field.sources(self.now),
        }
    }
}

//! The live ETA: the arrival on scene is re-estimated at take-off (a launch
//! that took longer than the hangar's delay moves it) and from the drone's
//! progress along its route, so that the incident's `eta` and the map follow
//! the drone, not the plan.

use chrono::TimeDelta;
use dispatch_core::{DroneId, IncidentId, IncidentStatus, Input, LatLon};
use mavlink_link::mav::MavCmd;
use mavlink_link::state::VehicleState;

use super::FleetCore;
use crate::mission;

/// Scenario seconds between two estimates from progress.
const EVERY_S: i64 = 10;
/// An estimate this close to the current one (s) is not news.
const MOVE_S: f64 = 15.0;

impl FleetCore {
    /// At take-off: the flight itself still takes what was planned for it.
    pub(super) fn eta_at_take_off(&mut self, drone: &DroneId, incident: IncidentId) {
        let Some(s) = self.sortie(drone) else {
            return;
        };
        let delay = if s.plan.airborne_at_launch {
            0.0
        } else {
            let separation = self
                .dispatcher
                .incident(incident)
                .and_then(|r| r.assignment.as_ref())
                .map_or(0.0, |a| a.start_delay_s());
            self.dispatcher
                .world()
                .drone(drone)
                .and_then(|d| self.dispatcher.world().hangar(&d.hangar))
                .map_or(0.0, |h| h.launch_delay_s)
                + separation
        };
        let flight_s = (s.predicted_eta_s - delay).max(0.0);
        self.set_eta(incident, flight_s, "re-estimated at take-off");
    }

    /// From progress: what is left of the route to the scene, at cruise speed.
    pub(super) fn eta_from_progress(&mut self, drone: &DroneId, v: &VehicleState) {
        let now = self.now;
        let Some(s) = self.sortie(drone) else {
            return;
        };
        if s.eta_checked_at
            .is_some_and(|t| (now - t).num_seconds() < EVERY_S)
        {
            return;
        }
        let incident = s.incident;
        let scene = usize::from(s.plan.scene_arrival);
        let seq = usize::from(v.mission_seq);
        if seq > scene || !v.armed || v.rel_alt_m < 5.0 {
            return;
        }
        let Some(speed) = self
            .dispatcher
            .world()
            .drone(drone)
            .map(|d| d.performance.cruise_speed_mps)
        else {
            return;
        };
        // Waypoints from the current item to the scene, skipping items with
        // no position (take-off, commands).
        let points: Vec<LatLon> = s.plan.items[seq..=scene.min(s.plan.items.len() - 1)]
            .iter()
            .filter(|i| {
                (i.x != 0 || i.y != 0)
                    && matches!(
                        i.command,
                        MavCmd::MAV_CMD_NAV_WAYPOINT | MavCmd::MAV_CMD_NAV_LOITER_TIME
                    )
            })
            .map(mission::item_position)
            .collect();
        let mut at = LatLon::new(v.lat, v.lon);
        let mut left_m = 0.0;
        for p in points {
            left_m += dispatch_core::geodesy::distance_m(at, p);
            at = p;
        }
        if let Some(x) = self.sortie_mut(drone) {
            x.eta_checked_at = Some(now);
        }
        self.set_eta(
            incident,
            left_m / speed,
            "re-estimated from the drone's progress",
        );
    }

    /// Moves the incident's ETA to `in_s` from now, if that is news.
    fn set_eta(&mut self, incident: IncidentId, in_s: f64, why: &str) {
        let Some(rec) = self.dispatcher.incident(incident) else {
            return;
        };
        if !matches!(
            rec.incident.status,
            IncidentStatus::Assigned | IncidentStatus::EnRoute
        ) {
            return;
        }
        let at = self.now + TimeDelta::milliseconds((in_s * 1000.0) as i64);
        let current = rec.eta();
        if current.is_some_and(|c| ((at - c).num_milliseconds() as f64 / 1000.0).abs() < MOVE_S) {
            return;
        }
        self.apply(Input::Eta {
            incident,
            at,
            why: why.to_owned(),
        });
    }
}

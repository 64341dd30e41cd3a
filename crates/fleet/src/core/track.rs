//! Following the fleet from telemetry, every tick: sorties through arrival
//! (held [`CONFIRM_MS`] of vehicle time), payload release and landing;
//! lost links handed over after `reassign_after`; drones homing and
//! charging.

use dispatch_core::{DroneId, DroneState, IncidentStatus, Input, LatLon};
use mavlink_link::modes::FlightMode;
use mavlink_link::state::LinkStatus;

use super::duty::{Duty, Homing, Phase, Sortie};
use super::protocol::Telemetry;
use super::{Arrival, CONFIRM_MS, FleetCore, SCENE_RADIUS_M};
use crate::events::Severity;
use crate::mission;

impl FleetCore {
    /// The 10 Hz step: takes the telemetry in, acts on link health, follows
    /// every drone at work, then lets the dispatcher serve its queue.
    pub(super) fn tick(&mut self, t: Telemetry) {
        self.take_telemetry(t);
        self.take_wind();
        self.link_health();
        self.contests();
        for drone in self.sortie_drones() {
            self.follow(&drone);
        }
        self.follow_homing();
        self.follow_charging();
        self.traffic_tick();
        self.home_hold_tick();
        self.camera_tick();
        self.apply(Input::Tick);
    }

    /// Keeps the latest telemetry, each vehicle's link health computed at
    /// the tick's link time (so it is level-triggered, never a missed edge).
    pub(super) fn take_telemetry(&mut self, t: Telemetry) {
        self.link_time = t.link_time;
        self.timeouts = t.timeouts;
        for (drone, v) in t.vehicles {
            self.vehicles.insert(drone, v);
        }
        let (now, timeouts) = (self.link_time, self.timeouts);
        for v in self.vehicles.values_mut() {
            v.link = v.link_at(now, &timeouts);
        }
    }

    /// Whether `cond` has held for `CONFIRM_MS` of vehicle time (`t_ms`),
    /// tracked in the sortie's `field`; gives the time it began to hold.
    fn confirm(
        &mut self,
        drone: &DroneId,
        field: fn(&mut Sortie) -> &mut Option<u32>,
        cond: bool,
        t_ms: u32,
    ) -> Option<u32> {
        let f = field(self.sortie_mut(drone)?);
        if !cond {
            *f = None;
            return None;
        }
        let first = match *f {
            // A rebooted vehicle's clock starts again.
            Some(first) if first <= t_ms => first,
            _ => {
                *f = Some(t_ms);
                t_ms
            }
        };
        (t_ms - first >= CONFIRM_MS).then_some(first)
    }

    /// One sortie, from its vehicle's telemetry.
    fn follow(&mut self, drone: &DroneId) {
        let Some(s) = self.sortie(drone).cloned() else {
            return;
        };
        let reassign_s = self.cfg.reassign_after.as_secs_f64() * self.cfg.speedup;
        if let Some(since) = s.lost_since {
            let lost_s = (self.now - since).num_milliseconds() as f64 / 1000.0;
            if lost_s >= reassign_s {
                self.give_up_lost(drone, &s, lost_s / self.cfg.speedup);
                return;
            }
        }
        if s.phase != Phase::Flying {
            return;
        }
        let Some(v) = self.vehicle(drone).cloned() else {
            return;
        };
        let status = self
            .dispatcher
            .incident(s.incident)
            .map(|r| r.incident.status);
        let pos = LatLon::new(v.lat, v.lon);
        let battery = v.battery_pct.unwrap_or(0.0);
        // Mission progress beyond the uploaded mission is not believed.
        let count = s.plan.items.len();
        let seq = v.mission_seq;
        let reached = v.mission_reached.unwrap_or(0);
        let bogus = [seq, reached]
            .into_iter()
            .find(|&i| usize::from(i) >= count);
        if let Some(i) = bogus {
            if !s.implausible_reported {
                if let Some(x) = self.sortie_mut(drone) {
                    x.implausible_reported = true;
                }
                self.alert(
                    Some(drone),
                    Severity::Critical,
                    format!(
                        "drone {drone} reports mission item {i} of a {count}-item mission: implausible, ignored"
                    ),
                );
            }
            return;
        }
        // Arrival needs two kinds of evidence: mission progress past the
        // scene waypoint and a position near the scene.
        let scene = s
            .plan
            .items
            .get(usize::from(s.plan.scene_arrival))
            .map(mission::item_position);
        let near_scene =
            scene.is_some_and(|p| dispatch_core::geodesy::distance_m(p, pos) <= SCENE_RADIUS_M);
        let arriving = status == Some(IncidentStatus::EnRoute)
            && (seq > s.plan.scene_arrival || reached >= s.plan.scene_arrival)
            && near_scene
            && v.armed;
        let arrived = self.confirm(drone, |x| &mut x.scene_since_ms, arriving, v.time_boot_ms);
        if let Some(first_ms) = arrived {
            // Measured to the first sign of arrival, not to its confirmation.
            let actual = s
                .start_boot_ms
                .map(|b| f64::from(first_ms.saturating_sub(b)) / 1000.0)
                .unwrap_or(f64::NAN);
            self.arrivals.push(Arrival {
                incident: s.incident,
                drone: drone.clone(),
                predicted_eta_s: s.predicted_eta_s,
                actual_s: actual,
            });
            self.drone_event(
                drone,
                DroneState::OnScene,
                format!(
                    "over the scene after {actual:.0} s (predicted {:.0} s)",
                    s.predicted_eta_s
                ),
            );
            self.apply(Input::Progress {
                incident: s.incident,
                status: IncidentStatus::OnScene,
            });
        } else if status == Some(IncidentStatus::OnScene) && seq >= s.plan.return_start {
            self.apply(Input::Progress {
                incident: s.incident,
                status: IncidentStatus::Returning,
            });
        } else if status == Some(IncidentStatus::EnRoute)
            && battery > 0.0
            && battery < 25.0
            && v.mode == FlightMode::Auto
        {
            // Too little battery left to finish: home, and the incident goes on.
            self.hand_over(
                drone,
                &s,
                &format!("drone {drone} reports low battery ({battery:.0}%)"),
                Severity::Warning,
                true,
            );
            return;
        }
        if let Some(trouble) = self.watch(drone, &v).or_else(|| self.wind_trouble(drone)) {
            self.on_trouble(drone, &s, &v, trouble);
            return;
        }
        if status == Some(IncidentStatus::EnRoute) {
            self.eta_from_progress(drone, &v);
        }
        if let Some(item) = s.plan.payload_release
            && !s.payload_confirmed
            && v.mission_seq > item
        {
            if let Some(x) = self.sortie_mut(drone) {
                x.payload_confirmed = true;
            }
            self.drone_event(
                drone,
                DroneState::OnScene,
                format!(
                    "payload released: the vehicle reports mission item {item} (gripper release) done"
                ),
            );
        }
        let airborne_now = v.armed && v.rel_alt_m > 1.0;
        if airborne_now && let Some(x) = self.sortie_mut(drone) {
            x.was_airborne = true;
        }
        let was_airborne = self.sortie(drone).is_some_and(|x| x.was_airborne);
        let on_ground = was_airborne && !v.armed && v.landed != Some(false);
        if self
            .confirm(drone, |x| &mut x.landed_since_ms, on_ground, v.time_boot_ms)
            .is_some()
        {
            self.take_sortie(drone);
            let returning = self
                .dispatcher
                .incident(s.incident)
                .map(|r| r.incident.status)
                == Some(IncidentStatus::Returning);
            self.resolve_or_requeue(
                s.incident,
                returning,
                &format!("drone {drone} landed before finishing"),
            );
            self.landed(drone, pos, battery);
            return;
        }
        // Keep the dispatcher's picture of the drone current.
        let state = match status {
            Some(IncidentStatus::OnScene) => DroneState::OnScene,
            Some(IncidentStatus::Returning) => DroneState::Returning,
            _ => DroneState::EnRoute,
        };
        if self
            .dispatcher
            .world()
            .drone(drone)
            .is_some_and(|d| d.state == state)
        {
            self.apply(Input::DroneUpdate {
                drone: drone.clone(),
                state,
                position: pos,
                battery_pct: battery,
            });
        }
    }

    /// A sortie whose link has been lost for `reassign_after`: the incident
    /// goes to another drone; the vehicle's own failsafe flies it home, and
    /// it is recalled to its way home if heard again before it.
    fn give_up_lost(&mut self, drone: &DroneId, s: &Sortie, lost_wall_s: f64) {
        self.take_sortie(drone);
        if let Phase::Launching(action) = s.phase {
            // Nothing more goes to a vehicle the incident was taken from.
            self.abort(action);
        }
        let pos = self
            .vehicle(drone)
            .filter(|v| v.lat != 0.0 || v.lon != 0.0)
            .map(|v| LatLon::new(v.lat, v.lon))
            .unwrap_or_else(|| self.position_of(drone));
        self.drone_event(
            drone,
            DroneState::Lost,
            format!("link lost for {lost_wall_s:.0} s; its own failsafe should bring it home"),
        );
        self.apply(Input::DroneUpdate {
            drone: drone.clone(),
            state: DroneState::Lost,
            position: pos,
            battery_pct: 0.0,
        });
        self.requeue_if_open(s.incident, &format!("link to drone {drone} lost"));
        self.set_duty(
            drone,
            Duty::Homing(Homing {
                recall: Some((s.plan.return_start, s.incident)),
            }),
        );
    }

    /// Drones flying home without an incident: landed once heard disarmed on the ground.
    fn follow_homing(&mut self) {
        let homing: Vec<DroneId> = self
            .duties
            .iter()
            .filter(|(_, duty)| matches!(duty, Duty::Homing(_)))
            .map(|(d, _)| d.clone())
            .collect();
        for drone in homing {
            let Some(v) = self.vehicle(&drone).cloned() else {
                continue;
            };
            if !v.armed && v.landed != Some(false) && v.link == LinkStatus::Up {
                self.landed(
                    &drone,
                    LatLon::new(v.lat, v.lon),
                    v.battery_pct.unwrap_or(0.0),
                );
            }
        }
    }

    fn follow_charging(&mut self) {
        let charging: Vec<DroneId> = self
            .duties
            .iter()
            .filter(|(_, d)| matches!(d, Duty::Charging))
            .map(|(d, _)| d.clone())
            .collect();
        for drone in charging {
            let Some(v) = self.vehicle(&drone) else {
                continue;
            };
            let battery = v.battery_pct.unwrap_or(0.0);
            let state = if battery >= self.cfg.charged_pct {
                self.set_duty(&drone, Duty::Idle);
                DroneState::Docked
            } else {
                DroneState::Charging
            };
            let pos = self.position_of(&drone);
            let before = self.dispatcher.world().drone(&drone).map(|d| d.state);
            self.apply(Input::DroneUpdate {
                drone: drone.clone(),
                state,
                position: pos,
                battery_pct: battery,
            });
            if before != Some(state) {
                self.drone_event(&drone, state, format!("battery {battery:.0}%"));
            }
        }
    }
}

//! Taking over: what the durable log holds (incidents, zones, numbering,
//! sorties in flight) and each vehicle's real state at start-up.

use dispatch_core::{DroneState, IncidentId, IncidentStatus, Input, LatLon};
use mavlink_link::modes::FlightMode;
use mavlink_link::state::VehicleState;

use super::duty::{Duty, Homing, Phase, Sortie};
use super::protocol::{Effect, Telemetry};
use super::{AT_HANGAR_M, FleetCore};
use crate::events::{Severity, What};
use crate::store::{Recovered, ZoneChange};

impl FleetCore {
    /// Takes back what the log holds: incidents with their ids, assignments
    /// and time lines, zones changed at run time, the numbering, and
    /// sorties (their drones are followed again once heard, see
    /// [`FleetInput::StartUp`](super::FleetInput::StartUp)). `now` is the
    /// scenario time the runtime carries on from.
    pub fn recover(&mut self, now: dispatch_core::Timestamp, r: Recovered) -> Vec<Effect> {
        self.now = now;
        let mut zones = 0;
        for change in &r.zones {
            let input = match change {
                ZoneChange::Upsert { zone } => Input::UpsertZone(zone.clone().into()),
                ZoneChange::Remove { id } => Input::RemoveZone(id.clone()),
            };
            // A zone removed in the log may be gone from the file since: not an error.
            if self.dispatcher.handle(now, input).is_ok() {
                zones += 1;
            }
        }
        let open: Vec<IncidentId> = r
            .incidents
            .iter()
            .filter(|(rec, _)| !rec.incident.status.is_terminal())
            .map(|(rec, _)| rec.incident.id)
            .collect();
        let total = r.incidents.len();
        let mut records = Vec::new();
        for (rec, meta) in r.incidents {
            let id = rec.incident.id;
            if let (Some(src), Some(ext)) = (&meta.source, &meta.external_id) {
                self.external.insert((src.clone(), ext.clone()), id);
            }
            self.meta.insert(id, meta);
            records.push(rec);
        }
        self.dispatcher.restore(records, r.next_incident_id);
        // What was just restored is in the log already.
        self.dispatcher.take_changed();
        self.log.recovered(&r.sorties, self.dispatcher.next_id());
        if total > 0 || zones > 0 {
            let ids: Vec<String> = open.iter().map(|i| i.to_string()).collect();
            self.event(What::Notice {
                message: format!(
                    "recovered from the event log: {total} incident(s), {} open [{}], {} sortie(s) to follow, {zones} zone change(s); next incident is {}",
                    open.len(),
                    ids.join(", "),
                    r.sorties.len(),
                    self.dispatcher.next_id()
                ),
            });
        }
        self.finish_step()
    }

    /// The fleet's real state at start: each configured vehicle heard (its
    /// telemetry) or not (lost until it is).
    pub(super) fn start_up(&mut self, t: Telemetry, waited_s: f64, listen: Option<String>) {
        self.take_telemetry(t);
        let heard = |v: &VehicleState| v.last_heartbeat.is_some();
        let count = self
            .scenario
            .drones
            .iter()
            .filter(|d| self.vehicle(&d.id).is_some_and(heard))
            .count();
        if count == 0 && !self.scenario.drones.is_empty() {
            let at = listen.unwrap_or_else(|| "the configured address".to_owned());
            self.alert(
                None,
                Severity::Critical,
                format!(
                    "no vehicle heard on {at} after {waited_s:.0} s: is the fleet's radio (or drone-sim) running and sending there? Waiting for heartbeats"
                ),
            );
        }
        for d in self.scenario.drones.clone() {
            let v = self.vehicle(&d.id).filter(|v| heard(v)).cloned();
            if self.take_back_sortie(&d, v.as_ref()) {
                continue;
            }
            let Some(v) = v else {
                self.apply(Input::DroneUpdate {
                    drone: d.id.clone(),
                    state: DroneState::Lost,
                    position: d.position,
                    battery_pct: d.battery_pct,
                });
                self.drone_event(
                    &d.id,
                    DroneState::Lost,
                    format!("no heartbeat from system {}: not dispatchable", d.system_id),
                );
                continue;
            };
            self.take_state(&d, &v);
        }
        self.contests();
        // Link health from here on is news only when it changes.
        for d in &self.scenario.drones {
            if let Some(v) = self.vehicles.get(&d.id)
                && heard(v)
            {
                self.link_seen.insert(d.id.clone(), v.link);
            }
        }
    }

    /// A sortie from the event log (the service was restarted while it
    /// flew): a drone still in the air is followed again to the end of its
    /// mission, as if never let go; one heard on the ground has finished
    /// (resolved if it was on its way back) or never left (the incident goes
    /// back to the queue). A drone not heard keeps its sortie, lost, and is
    /// handed over after `reassign_after` like any lost link. Returns
    /// whether the sortie was taken back.
    fn take_back_sortie(&mut self, d: &dispatch_core::Drone, v: Option<&VehicleState>) -> bool {
        let Some(stored) = self.log.take_recovered(&d.id) else {
            return false;
        };
        let Some(rec) = self
            .dispatcher
            .incident(stored.incident)
            .cloned()
            .filter(|r| {
                r.incident.status.holds_drone() && r.incident.drone.as_ref() == Some(&d.id)
            })
        else {
            return false;
        };
        let Some(assignment) = rec.assignment.as_ref() else {
            return false;
        };
        let airborne = v.is_some_and(|v| v.armed && (v.landed == Some(false) || v.rel_alt_m > 1.0));
        if let Some(v) = v
            && !airborne
        {
            let pos = LatLon::new(v.lat, v.lon);
            let home = self.hangar_position(d);
            let home_from_the_scene = rec.incident.status == IncidentStatus::Returning
                && dispatch_core::geodesy::distance_m(home, pos) < AT_HANGAR_M;
            self.resolve_or_requeue(
                stored.incident,
                home_from_the_scene,
                &format!("drone {} is on the ground after the restart", d.id),
            );
            return false;
        }
        let Some((plan, on_scene_s, _, _)) =
            self.sortie_plan(stored.incident, assignment, stored.airborne_at_launch)
        else {
            return false;
        };
        let state = match rec.incident.status {
            IncidentStatus::OnScene => DroneState::OnScene,
            IncidentStatus::Returning => DroneState::Returning,
            _ => DroneState::EnRoute,
        };
        if rec.incident.status == IncidentStatus::Assigned {
            // It took off before the restart: the launch went through.
            self.apply(Input::Progress {
                incident: stored.incident,
                status: IncidentStatus::EnRoute,
            });
        }
        let now = self.now;
        self.set_duty(
            &d.id,
            Duty::Sortie(Box::new(Sortie {
                start_boot_ms: stored.start_boot_ms,
                was_airborne: true,
                lost_since: v.is_none().then_some(now),
                flying_since: Some(self.link_time),
                payload_confirmed: stored.payload_confirmed,
                ..Sortie::begin(
                    stored.incident,
                    d.system_id,
                    plan,
                    stored.predicted_eta_s,
                    on_scene_s,
                    Phase::Flying,
                )
            })),
        );
        self.involved.insert(d.id.clone());
        let (pos, battery) = v.map_or((d.position, d.battery_pct), |v| {
            (
                LatLon::new(v.lat, v.lon),
                v.battery_pct.unwrap_or(d.battery_pct),
            )
        });
        self.apply(Input::DroneUpdate {
            drone: d.id.clone(),
            state,
            position: pos,
            battery_pct: battery,
        });
        let how = match v {
            Some(v) => format!("in the air in {} at mission item {}", v.mode, v.mission_seq),
            None => "not heard yet (lost until it is)".to_owned(),
        };
        self.drone_event(
            &d.id,
            state,
            format!(
                "taken back after a restart: {how}; following its sortie for incident {}",
                stored.incident
            ),
        );
        true
    }

    /// A vehicle's real state at start-up, from its telemetry: one in the
    /// air (a sortie from before a restart, or anyone's flight) is followed
    /// home and is not dispatchable until it docks; one on the ground away
    /// from its hangar needs recovery; one in its hangar is docked or
    /// charging with the battery it reports.
    fn take_state(&mut self, d: &dispatch_core::Drone, v: &VehicleState) {
        let battery = v.battery_pct.unwrap_or(d.battery_pct);
        let has_fix = v.lat != 0.0 || v.lon != 0.0;
        let pos = if has_fix {
            LatLon::new(v.lat, v.lon)
        } else {
            d.position
        };
        let hangar = self.hangar_position(d);
        let airborne = v.armed && (v.landed == Some(false) || v.rel_alt_m > 1.0);
        if airborne {
            self.involved.insert(d.id.clone());
            self.set_duty(&d.id, Duty::Homing(Homing { recall: None }));
            self.apply(Input::DroneUpdate {
                drone: d.id.clone(),
                state: DroneState::Returning,
                position: pos,
                battery_pct: battery,
            });
            let flying_home = matches!(
                v.mode,
                FlightMode::Auto | FlightMode::Rtl | FlightMode::SmartRtl | FlightMode::Land
            );
            let action = if flying_home {
                format!("followed home in {}", v.mode)
            } else {
                // Hovering or flown by hand with no mission of ours to finish.
                self.send_home(&d.id, None);
                format!("was in {}; sent SMART_RTL (else RTL)", v.mode)
            };
            let note = format!(
                "in the air at start-up ({:.0} m up at {pos}, battery {battery:.0}%): {action}; dispatchable once docked",
                v.rel_alt_m
            );
            self.alert(Some(&d.id), Severity::Warning, note.clone());
            self.drone_event(&d.id, DroneState::Returning, note);
            return;
        }
        if has_fix && dispatch_core::geodesy::distance_m(hangar, pos) >= AT_HANGAR_M {
            let note = format!("on the ground away from its hangar at {pos}: needs recovery");
            self.alert(Some(&d.id), Severity::Critical, note.clone());
            self.drone_event(&d.id, DroneState::Maintenance, note);
            self.apply(Input::DroneUpdate {
                drone: d.id.clone(),
                state: DroneState::Maintenance,
                position: pos,
                battery_pct: battery,
            });
            return;
        }
        if d.state.is_on_ground() {
            let state = if battery >= self.cfg.charged_pct {
                d.state
            } else {
                self.set_duty(&d.id, Duty::Charging);
                DroneState::Charging
            };
            self.apply(Input::DroneUpdate {
                drone: d.id.clone(),
                state,
                position: d.position,
                battery_pct: battery,
            });
        }
    }
}

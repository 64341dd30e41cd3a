//! Launches: an assignment becomes a mission, a fence and a launch action;
//! its outcome starts the sortie's flight or hands the incident to the next
//! drone. Calling a drone off its incident, before or after take-off.

use std::time::Duration;

use chrono::TimeDelta;
use dispatch_core::{Assignment, DroneId, DroneState, IncidentId, IncidentStatus, Input, LatLon};

use super::FleetCore;
use super::duty::{Duty, Homing, Pending, PendingKind, Phase, Sortie};
use super::protocol::{Action, ActionId, ActionOutcome};
use crate::events::Severity;
use crate::mission::{self, MissionPlan, SortieSpec};

impl FleetCore {
    /// A sortie's mission, built from its assignment: the same at launch and
    /// when a sortie is taken back after a restart.
    pub(super) fn sortie_plan(
        &self,
        incident: IncidentId,
        a: &Assignment,
        airborne: bool,
    ) -> Option<(
        MissionPlan,
        f64,
        dispatch_core::Hangar,
        dispatch_core::Drone,
    )> {
        let drone = self.dispatcher.world().drone(&a.chosen.drone).cloned()?;
        let rec = self.dispatcher.incident(incident)?;
        let kind = rec.incident.kind;
        let patrol: Vec<LatLon> = rec
            .incident
            .patrol
            .as_ref()
            .and_then(|p| self.dispatcher.patrols().iter().find(|x| &x.id == p))
            .map(|p| p.waypoints.clone())
            .unwrap_or_default();
        let hangar = self.dispatcher.world().hangar(&drone.hangar).cloned()?;
        let on_scene_s = self
            .dispatcher
            .world()
            .policy(kind)
            .map(|p| p.on_scene_s)
            .unwrap_or(60.0);
        let spec = SortieSpec {
            kind,
            home: hangar.position,
            cruise_alt_m: a.cruise_altitude_m(self.dispatcher.world().params().cruise_altitude_m),
            cruise_speed_mps: drone.performance.cruise_speed_mps,
            on_scene_s,
            airborne,
            patrol: &patrol,
        };
        Some((mission::build(a, &spec), on_scene_s, hangar, drone))
    }

    pub(super) fn launch(&mut self, incident: IncidentId, a: &Assignment) {
        let now = self.now;
        let drone_id = a.chosen.drone.clone();
        let Some(drone) = self.dispatcher.world().drone(&drone_id).cloned() else {
            return;
        };
        let airborne = !matches!(
            drone.state,
            DroneState::Preflight | DroneState::Docked | DroneState::Charging
        );
        let Some((plan, on_scene_s, hangar, drone)) = self.sortie_plan(incident, a, airborne)
        else {
            return;
        };
        let cruise_alt_m = a.cruise_altitude_m(self.dispatcher.world().params().cruise_altitude_m);
        // The sortie ends after the scene and the flight back.
        let back_s = on_scene_s + a.return_route.length_m / drone.performance.cruise_speed_mps;
        let sortie_end = a.arrival_at + TimeDelta::milliseconds((back_s * 1000.0) as i64);
        let fence = mission::fence(
            self.dispatcher.world(),
            &a.route,
            &a.return_route,
            hangar.position,
            mission::FlightWindow {
                start: now,
                end: sortie_end,
                cruise_alt_m,
            },
        );
        let sysid = drone.system_id;
        // A replaced sortie (preemption) is taken over by this one: its
        // launch, if still running, is stopped.
        if let Some(old) = self.sortie(&drone_id)
            && let Phase::Launching(action) = old.phase
        {
            self.abort(action);
        }
        self.drone_event(
            &drone_id,
            DroneState::Preflight,
            format!(
                "mission of {} items, fence of {} vertices, ETA {:.0} s",
                plan.items.len(),
                fence.len(),
                a.chosen.eta_s
            ),
        );
        let delay = if airborne {
            Duration::ZERO
        } else {
            // The hangar's own delay, and any wait for separation.
            Duration::from_secs_f64((hangar.launch_delay_s + a.start_delay_s()) / self.cfg.speedup)
        };
        let path = self.sortie_path(a, on_scene_s, drone.performance.cruise_speed_mps);
        // Sent now, or held while its route conflicts with manned traffic.
        let action = self.launch_or_hold(
            Pending {
                drone: drone_id.clone(),
                what: PendingKind::Launch { incident },
            },
            Action::Launch {
                drone: drone_id.clone(),
                fence,
                mission: plan.items.clone(),
                delay,
                airborne,
            },
            incident,
            path,
        );
        let start_boot_ms = self.vehicle(&drone_id).map(|v| v.time_boot_ms);
        self.set_duty(
            &drone_id,
            Duty::Sortie(Box::new(Sortie {
                start_boot_ms,
                was_airborne: airborne,
                ..Sortie::begin(
                    incident,
                    sysid,
                    plan,
                    a.chosen.eta_s,
                    on_scene_s,
                    Phase::Launching(action),
                )
            })),
        );
        self.involved.insert(drone_id);
    }

    pub(super) fn abort(&mut self, action: ActionId) {
        self.drop_held(action);
        if self.actions.remove(&action).is_some() {
            self.out.push(super::Effect::Abort(action));
        }
    }

    /// A link action ended: its outcome is an event, and moves its sortie on.
    pub(super) fn on_done(&mut self, action: ActionId, outcome: ActionOutcome) {
        let Some(pending) = self.actions.remove(&action) else {
            // Aborted meanwhile: nothing waits for it.
            return;
        };
        let drone = pending.drone;
        match (pending.what, outcome) {
            (PendingKind::Launch { incident }, ActionOutcome::Launched(r)) => {
                self.on_launch(&drone, incident, action, r)
            }
            (PendingKind::SendHome { return_start }, ActionOutcome::SentHome(r)) => {
                self.on_sent_home(&drone, return_start, r)
            }
            (PendingKind::Disarm, ActionOutcome::Disarmed(r)) => match r {
                Ok(true) => {
                    self.command_event(&drone, "disarm", true, "disarmed in its hangar".into())
                }
                Ok(false) => self.command_event(&drone, "disarm", true, "was not armed".into()),
                Err(e) => {
                    self.command_event(&drone, "disarm", false, e.clone());
                    self.alert(
                        Some(&drone),
                        Severity::Warning,
                        format!("could not disarm {drone} after its launch was called off: {e}"),
                    );
                }
            },
            (
                PendingKind::Operator {
                    request,
                    name,
                    mode,
                },
                ActionOutcome::Commanded(r),
            ) => self.on_operator_done(&drone, request, name, mode, r),
            (PendingKind::HomeHold, ActionOutcome::Commanded(r)) => self.on_home_hold(&drone, r),
            (PendingKind::Camera, ActionOutcome::CameraAsked(r)) => self.on_camera_asked(&drone, r),
            (PendingKind::Traffic { step, mode }, ActionOutcome::Commanded(r)) => {
                self.on_traffic_done(&drone, step, mode, r)
            }
            (PendingKind::Bind { request, address }, ActionOutcome::Bound(r)) => {
                let by = if request.is_some() {
                    "by an admin"
                } else {
                    "as the address that flies its mission"
                };
                let reply = match r {
                    Ok(()) => {
                        let detail = format!("bound to {address} {by}: heard only from there");
                        self.command_event(&drone, "bind", true, detail.clone());
                        Ok(detail)
                    }
                    Err(e) => {
                        self.command_event(&drone, "bind", false, e.clone());
                        Err(super::ServiceError::Conflict(e))
                    }
                };
                if let Some(to) = request {
                    self.out.push(super::Effect::Reply {
                        to,
                        reply: super::Reply::Command(reply),
                    });
                }
            }
            (what, outcome) => {
                // A runtime that answers the wrong kind is a bug; say so, lose nothing.
                self.alert(
                    Some(&drone),
                    Severity::Warning,
                    format!(
                        "internal: action {what:?} ended with an unexpected outcome {outcome:?}"
                    ),
                );
            }
        }
    }

    fn on_launch(
        &mut self,
        drone: &DroneId,
        incident: IncidentId,
        action: ActionId,
        result: Result<String, String>,
    ) {
        let current = self
            .sortie(drone)
            .filter(|s| s.incident == incident && s.phase == Phase::Launching(action));
        if current.is_none() {
            return; // superseded (preempted or re-queued meanwhile)
        }
        match result {
            Ok(failsafe) => {
                let link_t = self.link_time;
                let boot = self.vehicle(drone).map(|v| v.time_boot_ms);
                if let Some(s) = self.sortie_mut(drone) {
                    s.phase = Phase::Flying;
                    s.flying_since = Some(link_t);
                    // The time on scene keeps counting from the assignment,
                    // as the predicted ETA does (it includes the launch).
                    if s.start_boot_ms.is_none() {
                        s.start_boot_ms = boot;
                    }
                }
                self.drone_event(
                    drone,
                    DroneState::EnRoute,
                    format!("launched: mission started; failsafe {failsafe}"),
                );
                self.eta_at_take_off(drone, incident);
                if self
                    .dispatcher
                    .incident(incident)
                    .map(|r| r.incident.status)
                    == Some(IncidentStatus::Assigned)
                {
                    self.apply(Input::Progress {
                        incident,
                        status: IncidentStatus::EnRoute,
                    });
                }
            }
            Err(why) => {
                // Out of service until a person looks at it; another drone takes over.
                let sortie = self.take_sortie(drone);
                let pos = self.position_of(drone);
                self.drone_event(
                    drone,
                    DroneState::Maintenance,
                    format!("launch failed: {why}"),
                );
                self.alert(
                    Some(drone),
                    Severity::Warning,
                    format!("launch failed, out of service: {why}"),
                );
                // Out of service first, then the incident back in the queue:
                // the re-queue assigns at once, and must not pick this drone.
                let battery = sortie
                    .and_then(|_| self.vehicle(drone))
                    .and_then(|v| v.battery_pct)
                    .unwrap_or(0.0);
                self.apply(Input::DroneUpdate {
                    drone: drone.clone(),
                    state: DroneState::Maintenance,
                    position: pos,
                    battery_pct: battery,
                });
                self.apply(Input::Requeue {
                    incident,
                    reason: format!("drone {drone} failed to launch: {why}"),
                });
            }
        }
    }

    /// Calls a drone off its incident (cancelled, resolved or handed to
    /// another drone by a dispatcher): before take-off the launch stops and a
    /// vehicle armed in its hangar is disarmed; in the air the mission jumps
    /// to its planned (zone-free) way home, or RTL if the vehicle refuses.
    pub(super) fn call_off(&mut self, drone: &DroneId, why: &str) {
        let Some(s) = self.take_sortie(drone) else {
            return;
        };
        if let Phase::Launching(action) = s.phase {
            self.abort(action);
            let on_ground = self
                .vehicle(drone)
                .is_none_or(|v| v.rel_alt_m < 1.0 && v.landed != Some(false));
            if on_ground {
                self.new_action(
                    Pending {
                        drone: drone.clone(),
                        what: PendingKind::Disarm,
                    },
                    Action::Disarm {
                        drone: drone.clone(),
                    },
                );
                self.drone_event(
                    drone,
                    DroneState::Docked,
                    format!("launch called off: {why}"),
                );
                return;
            }
        }
        self.send_home(drone, Some(s.plan.return_start));
        self.set_duty(drone, Duty::Homing(Homing { recall: None }));
        self.drone_event(
            drone,
            DroneState::Returning,
            format!("called off ({why}): flying its planned way home"),
        );
    }
}

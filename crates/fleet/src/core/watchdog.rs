//! The watchdog and its consequences: a disarm in the air, a mode nobody
//! commanded, a failsafe turning back, no progress; handing an incident
//! over to the next drone, and sending drones home.

use dispatch_core::{DroneId, DroneState, IncidentId, IncidentStatus, Input, LatLon};
use mavlink_link::mav::MavCmd;
use mavlink_link::modes::FlightMode;
use mavlink_link::state::{LinkStatus, VehicleState};

use super::duty::{Duty, Homing, Pending, PendingKind, Progress, Sortie, Trouble};
use super::protocol::{Action, HomeVia};
use super::{AT_HANGAR_M, FleetCore};
use crate::events::{Severity, What};
use crate::mission;

impl FleetCore {
    /// The watchdog: a disarm in the air, a mode the dispatcher did not
    /// command, or no progress toward the current mission item. Updates the
    /// sortie's progress record.
    pub(super) fn watch(&mut self, drone: &DroneId, v: &VehicleState) -> Option<Trouble> {
        let stall_after_s = self.cfg.stall_after_s;
        let s = self.sortie_mut(drone)?;
        // Only heartbeats sent after the mission start tell the mode it flies in.
        let fresh = s
            .flying_since
            .zip(v.last_heartbeat)
            .is_some_and(|(since, hb)| hb > since + 0.3);
        if !fresh || v.link != LinkStatus::Up {
            return None;
        }
        if !v.armed {
            return (s.was_airborne && v.disarmed_at_alt_m.is_some_and(|a| a > 2.0))
                .then_some(Trouble::DisarmedInAir);
        }
        match v.mode {
            FlightMode::Auto => {}
            // Home or down, by its own failsafe or an operator's RTL/LAND:
            // the incident needs another drone either way.
            m @ (FlightMode::Rtl | FlightMode::SmartRtl | FlightMode::Land) => {
                return Some(Trouble::TurnedBack(m));
            }
            m if s.operator_mode == Some(m) || s.pending_mode == Some(m) => {
                // Held by a dispatcher: no progress is expected meanwhile.
                if let Some(p) = &mut s.progress {
                    p.since_boot_ms = v.time_boot_ms;
                }
                return None;
            }
            m => return Some(Trouble::Uncommanded(m)),
        }
        let seq = v.mission_seq;
        let item = s.plan.items.get(usize::from(seq))?;
        let here = LatLon::new(v.lat, v.lon);
        let horizontal = if item.x == 0 && item.y == 0 {
            0.0
        } else {
            dispatch_core::geodesy::distance_m(here, mission::item_position(item))
        };
        let dist = horizontal.hypot(v.rel_alt_m - f64::from(item.z));
        // Holds over the scene (and take-off, landing) may keep still for
        // their own duration; legs must keep closing in.
        let allowance = if item.command == MavCmd::MAV_CMD_NAV_WAYPOINT {
            stall_after_s
        } else {
            stall_after_s + 1.5 * s.on_scene_s
        };
        match &mut s.progress {
            Some(p) if p.seq == seq => {
                if dist < p.best_m - 10.0 {
                    p.best_m = dist;
                    p.since_boot_ms = v.time_boot_ms;
                } else {
                    let for_s = f64::from(v.time_boot_ms.saturating_sub(p.since_boot_ms)) / 1000.0;
                    if for_s > allowance {
                        return Some(Trouble::Stalled { seq, for_s });
                    }
                }
            }
            _ => {
                s.progress = Some(Progress {
                    seq,
                    best_m: dist,
                    since_boot_ms: v.time_boot_ms,
                })
            }
        }
        None
    }

    pub(super) fn on_trouble(
        &mut self,
        drone: &DroneId,
        s: &Sortie,
        v: &VehicleState,
        trouble: Trouble,
    ) {
        let incident = s.incident;
        match trouble {
            Trouble::DisarmedInAir => {
                self.take_sortie(drone);
                let pos = LatLon::new(v.lat, v.lon);
                let why = format!(
                    "drone {drone} was disarmed in the air ({:.0} m up), not by the dispatcher: it fell",
                    v.disarmed_at_alt_m.unwrap_or(v.rel_alt_m)
                );
                self.alert(
                    Some(drone),
                    Severity::Critical,
                    format!("{why}; incident {incident} goes to another drone"),
                );
                self.drone_event(
                    drone,
                    DroneState::Maintenance,
                    format!("disarmed in the air at {pos}: needs recovery"),
                );
                self.apply(Input::DroneUpdate {
                    drone: drone.clone(),
                    state: DroneState::Maintenance,
                    position: pos,
                    battery_pct: v.battery_pct.unwrap_or(0.0),
                });
                self.requeue_if_open(incident, &why);
            }
            Trouble::TurnedBack(mode) => {
                let status = self
                    .dispatcher
                    .incident(incident)
                    .map(|r| r.incident.status);
                if status == Some(IncidentStatus::Returning) {
                    return; // on its way home anyway: followed until it lands
                }
                self.hand_over(
                    drone,
                    s,
                    &format!("drone {drone} turned back in {mode}"),
                    Severity::Warning,
                    false,
                );
            }
            Trouble::Uncommanded(mode) => {
                self.hand_over(
                    drone,
                    s,
                    &format!("drone {drone} switched to {mode}, not commanded by the dispatcher"),
                    Severity::Critical,
                    true,
                );
            }
            Trouble::Wind {
                speed_mps,
                gust_mps,
                from_deg,
                max_wind_mps,
                max_gust_mps,
            } => {
                self.hand_over(
                    drone,
                    s,
                    &format!(
                        "drone {drone} measures wind {speed_mps:.1} m/s gusting {gust_mps:.1} \
                         from {from_deg:.0}°, over its limits of {max_wind_mps:.1} m/s, \
                         gusts {max_gust_mps:.1}"
                    ),
                    Severity::Critical,
                    true,
                );
            }
            Trouble::Stalled { seq, for_s } => {
                self.hand_over(
                    drone,
                    s,
                    &format!(
                        "drone {drone} made no progress toward mission item {seq} for {for_s:.0} s"
                    ),
                    Severity::Critical,
                    true,
                );
            }
        }
    }

    /// Takes a drone off its sortie: the incident goes to another drone (or,
    /// if the drone was already flying home from it, counts as resolved),
    /// and the drone is followed home, commanded there first if `send_home`.
    pub(super) fn hand_over(
        &mut self,
        drone: &DroneId,
        s: &Sortie,
        why: &str,
        severity: Severity,
        send_home: bool,
    ) {
        let incident = s.incident;
        let returning = self
            .dispatcher
            .incident(incident)
            .map(|r| r.incident.status)
            == Some(IncidentStatus::Returning);
        let next = if returning {
            "its work on scene was done"
        } else {
            "the incident goes to another drone"
        };
        let action = if send_home {
            "; commanded home along its planned way"
        } else {
            ""
        };
        self.alert(
            Some(drone),
            severity,
            format!("{why}: {next} (incident {incident}){action}"),
        );
        self.take_sortie(drone);
        self.set_duty(drone, Duty::Homing(Homing { recall: None }));
        self.resolve_or_requeue(incident, returning, why);
        if send_home {
            self.send_home(drone, Some(s.plan.return_start));
        }
    }

    /// Commands a drone home: along its planned way (the mission's way home
    /// from item `return_start`, in AUTO) when it flies a mission of ours;
    /// otherwise, or if that is refused, SmartRTL (back the way it came),
    /// then RTL. The outcome comes back to [`Self::on_sent_home`].
    ///
    /// A drone in the air gets its way home planned again and separated
    /// from our other sorties first: it may hold where it is before it goes
    /// (`homeward.rs`).
    pub(super) fn send_home(&mut self, drone: &DroneId, return_start: Option<u16>) {
        self.home_holds.remove(drone);
        let hold_s = self.plan_home(drone);
        if hold_s > 0.0 {
            self.hold_before_home(drone, return_start, hold_s);
            return;
        }
        self.send_home_now(drone, return_start);
    }

    /// Commands the drone home at once (see [`Self::send_home`]).
    pub(super) fn send_home_now(&mut self, drone: &DroneId, return_start: Option<u16>) {
        let seq = self.vehicle(drone).map_or(0, |v| v.mission_seq);
        self.new_action(
            Pending {
                drone: drone.clone(),
                what: PendingKind::SendHome { return_start },
            },
            Action::SendHome {
                drone: drone.clone(),
                return_start,
                seq,
            },
        );
    }

    /// How sending a drone home went: an event, and a critical alert when
    /// it could not resume its planned way (or not be sent home at all).
    pub(super) fn on_sent_home(
        &mut self,
        drone: &DroneId,
        return_start: Option<u16>,
        r: Result<HomeVia, String>,
    ) {
        match r {
            Ok(HomeVia::Auto) => self.command_event(
                drone,
                "home",
                true,
                format!(
                    "flying its planned way home in AUTO (from mission item {})",
                    return_start.unwrap_or(0)
                ),
            ),
            // With no mission of ours, SmartRTL is the plan, not a fallback.
            Ok(HomeVia::Fallback { mode, .. }) if return_start.is_none() => {
                self.command_event(drone, "home", true, format!("sent {mode}"))
            }
            Ok(HomeVia::Fallback { mode, auto_error }) => {
                let message =
                    format!("could not resume its way home in AUTO ({auto_error}); sent {mode}");
                self.command_event(drone, "home", true, message.clone());
                self.alert(Some(drone), Severity::Critical, message);
            }
            Err(e) => {
                let message = format!("could not send it home: {e}");
                self.command_event(drone, "home", false, message.clone());
                self.alert(Some(drone), Severity::Critical, message);
            }
        }
    }

    pub(super) fn command_event(
        &mut self,
        drone: &DroneId,
        command: &str,
        ok: bool,
        detail: String,
    ) {
        self.event(What::Command {
            drone: drone.clone(),
            command: command.to_owned(),
            ok,
            detail,
        });
    }

    /// A drone heard again after its sortie was given up for a lost link:
    /// still flying that mission before its way home, it is sent along the
    /// way home (the incident went to another drone).
    pub(super) fn recall(&mut self, drone: &DroneId, return_start: u16, incident: IncidentId) {
        let Some(v) = self.vehicle(drone).cloned() else {
            return;
        };
        let position = LatLon::new(v.lat, v.lon);
        let battery_pct = v.battery_pct.unwrap_or(0.0);
        if !v.armed || v.landed == Some(true) {
            return;
        }
        self.apply(Input::DroneUpdate {
            drone: drone.clone(),
            state: DroneState::Returning,
            position,
            battery_pct,
        });
        if v.mode != FlightMode::Auto || v.mission_seq >= return_start {
            self.drone_event(
                drone,
                DroneState::Returning,
                format!("heard again, flying home in {}", v.mode),
            );
            return;
        }
        self.send_home(drone, Some(return_start));
        self.drone_event(
            drone,
            DroneState::Returning,
            format!(
                "heard again while still flying to incident {incident}, which went to another drone: sent along its planned way home"
            ),
        );
    }

    /// A drone on the ground after a flight: in its hangar it charges (or is
    /// docked), elsewhere it needs recovery.
    pub(super) fn landed(&mut self, drone: &DroneId, pos: LatLon, battery: f64) {
        let home = self
            .dispatcher
            .world()
            .drone(drone)
            .and_then(|d| self.dispatcher.world().hangar(&d.hangar))
            .map(|h| h.position);
        let at_home =
            home.is_some_and(|h| dispatch_core::geodesy::distance_m(h, pos) < AT_HANGAR_M);
        let state = if !at_home {
            DroneState::Maintenance
        } else if battery >= self.cfg.charged_pct {
            DroneState::Docked
        } else {
            DroneState::Charging
        };
        self.set_duty(
            drone,
            if state == DroneState::Charging {
                Duty::Charging
            } else {
                Duty::Idle
            },
        );
        if !at_home {
            self.alert(
                Some(drone),
                Severity::Critical,
                format!("landed away from its hangar at {pos}: needs recovery"),
            );
        }
        self.drone_event(drone, DroneState::Landing, "landed and disarmed".into());
        self.drone_event(
            drone,
            state,
            if at_home {
                format!("in its hangar, battery {battery:.0}%")
            } else {
                format!("landed away from its hangar at {pos}: needs recovery")
            },
        );
        self.apply(Input::DroneUpdate {
            drone: drone.clone(),
            state,
            position: if at_home { home.unwrap_or(pos) } else { pos },
            battery_pct: battery,
        });
    }

    /// A sortie's drone is down: its incident is resolved if the drone was
    /// on its way back from the scene, else it goes back to the queue.
    pub(super) fn resolve_or_requeue(&mut self, incident: IncidentId, resolved: bool, why: &str) {
        if resolved {
            self.apply(Input::Progress {
                incident,
                status: IncidentStatus::Resolved,
            });
        } else {
            self.requeue_if_open(incident, why);
        }
    }

    pub(super) fn requeue_if_open(&mut self, incident: IncidentId, why: &str) {
        let status = self
            .dispatcher
            .incident(incident)
            .map(|r| r.incident.status);
        if status.is_some_and(|s| s.can_move_to(IncidentStatus::Queued)) {
            self.apply(Input::Requeue {
                incident,
                reason: why.to_owned(),
            });
        }
    }
}

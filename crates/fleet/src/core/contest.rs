//! Contested drones: a system id claimed from two addresses (without
//! signing, one of them is an impostor or a second radio, and which cannot
//! be told). Such a drone is not dispatched and the link sends it nothing;
//! a sortie it had goes to the next drone at once. It is dispatchable again
//! when the claims stop, an admin binds it to one address, or the
//! configuration pins its address.

use dispatch_core::{DroneId, DroneState, Input};

use super::duty::{Duty, Phase};
use super::{AT_HANGAR_M, FleetCore};
use crate::events::{Severity, What};

impl FleetCore {
    /// Acts on each drone's contest as of this tick's telemetry.
    pub(super) fn contests(&mut self) {
        let now = self.link_time;
        let drones: Vec<DroneId> = self.scenario.drones.iter().map(|d| d.id.clone()).collect();
        for drone in drones {
            let Some(v) = self.vehicle(&drone) else {
                continue;
            };
            let contested = v.contested_at(now);
            let (bound, other) = (v.bound_to, v.contested.map(|c| c.other));
            match (contested, self.contested.contains_key(&drone)) {
                (true, false) => {
                    let at = |a: Option<std::net::SocketAddr>| {
                        a.map_or_else(|| "?".to_owned(), |a| a.to_string())
                    };
                    self.contest_began(&drone, &at(bound), &at(other));
                }
                (false, true) => self.contest_ended(&drone),
                _ => {}
            }
        }
    }

    fn contest_began(&mut self, drone: &DroneId, bound: &str, other: &str) {
        // In the air on our mission, the bound address is the vehicle: it has
        // flown what we uploaded since before the other claims began. It
        // keeps the binding (pinned), and the other address is ignored.
        let in_the_air = match self.duty(drone) {
            Duty::Sortie(s) => s.phase == Phase::Flying,
            Duty::Homing(_) => true,
            Duty::Idle | Duty::Charging => false,
        };
        if in_the_air && let Ok(address) = bound.parse::<std::net::SocketAddr>() {
            self.alert(
                Some(drone),
                Severity::Critical,
                format!(
                    "drone {drone} is claimed from {other} too while it flies from {bound}: it stays bound to {bound}, the address that flies its mission; {other} is ignored"
                ),
            );
            self.new_action(
                super::duty::Pending {
                    drone: drone.clone(),
                    what: super::duty::PendingKind::Bind {
                        request: None,
                        address,
                    },
                },
                super::Action::Bind {
                    drone: drone.clone(),
                    address,
                },
            );
            return;
        }
        self.contested.insert(drone.clone(), false);
        let why = format!("drone {drone} is claimed from two addresses ({bound} and {other})");
        self.alert(
            Some(drone),
            Severity::Critical,
            format!(
                "{why}: not dispatched and sent nothing until the other claims stop, an admin binds it to one address (POST /api/drones/{drone}/bind) or the configuration pins its address"
            ),
        );
        if let Some(s) = self.sortie(drone).cloned() {
            // Still in its hangar: nothing more goes to it, and the rescue
            // goes to the next drone now.
            if let Phase::Launching(action) = s.phase {
                self.abort(action);
            }
            self.take_sortie(drone);
            self.requeue_if_open(s.incident, &why);
        }
        let d = self.dispatcher.world().drone(drone).cloned();
        if let Some(d) = d
            && d.state.is_on_ground()
            && d.task.is_none()
        {
            if matches!(self.duty(drone), Duty::Charging) {
                self.set_duty(drone, Duty::Idle);
            }
            self.apply(Input::DroneUpdate {
                drone: drone.clone(),
                state: DroneState::Maintenance,
                position: d.position,
                battery_pct: d.battery_pct,
            });
            self.drone_event(drone, DroneState::Maintenance, format!("{why}: contested"));
            self.contested.insert(drone.clone(), true);
        }
    }

    fn contest_ended(&mut self, drone: &DroneId) {
        let grounded = self.contested.remove(drone).unwrap_or(false);
        let from = self
            .vehicle(drone)
            .and_then(|v| v.bound_to)
            .map_or_else(|| "one address".to_owned(), |a| a.to_string());
        self.event(What::Notice {
            message: format!("drone {drone} is no longer contested: heard only from {from}"),
        });
        // Back in service if it is in its hangar, as it would be at start-up.
        let Some(d) = self.dispatcher.world().drone(drone).cloned() else {
            return;
        };
        let hangar = self.hangar_position(&d);
        let battery = self
            .vehicle(drone)
            .and_then(|v| v.battery_pct)
            .unwrap_or(d.battery_pct);
        if grounded
            && d.state == DroneState::Maintenance
            && d.task.is_none()
            && dispatch_core::geodesy::distance_m(hangar, d.position) < AT_HANGAR_M
        {
            let state = if battery >= self.cfg.charged_pct {
                DroneState::Docked
            } else {
                self.set_duty(drone, Duty::Charging);
                DroneState::Charging
            };
            self.apply(Input::DroneUpdate {
                drone: drone.clone(),
                state,
                position: hangar,
                battery_pct: battery,
            });
            self.drone_event(
                drone,
                state,
                format!("back in service, battery {battery:.0}%"),
            );
        }
    }
}

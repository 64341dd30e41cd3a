//! A drone sent home before its sortie's end flies a way the dispatcher
//! plans again and separates from our other sorties
//! ([`dispatch_core::homeward`]): when that way passes too close to another
//! sortie, it first holds where it is (LOITER) for the time the plan says,
//! then flies home. Every step is an event; a way home no hold clears is an
//! alert naming the other sortie.

use dispatch_core::dispatch::Output;
use dispatch_core::{DroneId, Input, LatLon};
use mavlink_link::modes::FlightMode;

use super::FleetCore;
use super::duty::{Duty, Pending, PendingKind};
use super::protocol::{Action, Step};
use crate::events::Severity;

/// A drone holding before its way home: until when (scenario time), and
/// the mission item its way home starts at.
#[derive(Debug, Clone, Copy)]
pub(super) struct HomeHold {
    pub until: dispatch_core::Timestamp,
    pub return_start: Option<u16>,
}

impl FleetCore {
    /// Plans the way home of a drone in the air; the seconds it must hold
    /// first (0: go now, or it is on the ground).
    pub(super) fn plan_home(&mut self, drone: &DroneId) -> f64 {
        let Some(v) = self.vehicle(drone) else {
            return 0.0;
        };
        if !v.armed || v.landed == Some(true) || v.fix_boot_ms.is_none() || v.rel_alt_m < 2.0 {
            return 0.0;
        }
        let input = Input::Homeward {
            drone: drone.clone(),
            position: LatLon::new(v.lat, v.lon),
            alt_m: v.rel_alt_m,
        };
        let outputs = match self.dispatcher.handle(self.now, input) {
            Ok(o) => o,
            Err(e) => {
                self.refused(&e);
                return 0.0;
            }
        };
        let mut hold = 0.0;
        for o in outputs {
            if let Output::Homeward {
                hold_s,
                conflict,
                note,
                ..
            } = &o
            {
                hold = *hold_s;
                if *conflict {
                    self.alert(Some(drone), Severity::Warning, format!("{drone} {note}"));
                }
            }
            self.output(o);
        }
        hold
    }

    /// Holds the drone where it is; its way home starts when the hold ends
    /// ([`Self::home_hold_tick`]).
    pub(super) fn hold_before_home(
        &mut self,
        drone: &DroneId,
        return_start: Option<u16>,
        hold_s: f64,
    ) {
        self.home_holds.insert(
            drone.clone(),
            HomeHold {
                until: self.now + chrono::TimeDelta::milliseconds((hold_s * 1000.0) as i64),
                return_start,
            },
        );
        self.new_action(
            Pending {
                drone: drone.clone(),
                what: PendingKind::HomeHold,
            },
            Action::Operator {
                drone: drone.clone(),
                steps: vec![Step::Mode(FlightMode::Loiter)],
            },
        );
    }

    /// The vehicle answered the hold: when it refused, it goes home now.
    pub(super) fn on_home_hold(
        &mut self,
        drone: &DroneId,
        r: Result<(), mavlink_link::link::CommandError>,
    ) {
        match r {
            Ok(()) => self.command_event(
                drone,
                "home_hold",
                true,
                "holding where it is before its way home".into(),
            ),
            Err(e) => {
                self.command_event(drone, "home_hold", false, e.to_string());
                self.alert(
                    Some(drone),
                    Severity::Warning,
                    format!("{drone} did not hold before its way home ({e}): sent home now"),
                );
                if let Some(h) = self.home_holds.remove(drone) {
                    self.send_home_now(drone, h.return_start);
                }
            }
        }
    }

    /// Ends the holds that are over: those drones fly home now. A drone
    /// given other work meanwhile (or landed) has no hold to end.
    pub(super) fn home_hold_tick(&mut self) {
        let now = self.now;
        let due: Vec<(DroneId, HomeHold)> = self
            .home_holds
            .iter()
            .filter(|(_, h)| h.until <= now)
            .map(|(d, h)| (d.clone(), *h))
            .collect();
        for (drone, h) in due {
            self.home_holds.remove(&drone);
            if matches!(self.duties.get(&drone), Some(Duty::Homing(_))) {
                self.send_home_now(&drone, h.return_start);
            }
        }
        let duties = &self.duties;
        self.home_holds
            .retain(|d, _| matches!(duties.get(d), Some(Duty::Homing(_))));
    }
}

//! Link health and link events. Health is level-triggered: every tick
//! computes each vehicle's status from its last heartbeat, and a change
//! from what was last acted on is acted on now, so a missed link event can
//! never leave a lost sortie unnoticed.

use dispatch_core::{DroneId, DroneState, Input};
use mavlink_link::link::LinkEvent;
use mavlink_link::state::LinkStatus;

use super::FleetCore;
use super::duty::{Duty, Homing};
use crate::events::{Severity, What};

impl FleetCore {
    /// Acts on each configured vehicle's link health as of this tick.
    pub(super) fn link_health(&mut self) {
        let drones: Vec<dispatch_core::DroneId> =
            self.scenario.drones.iter().map(|d| d.id.clone()).collect();
        for drone in drones {
            let status = self.vehicle(&drone).map_or(LinkStatus::Unknown, |v| v.link);
            // A sortie's vehicle never heard (taken back after a restart) is lost too.
            let lost = matches!(status, LinkStatus::Lost | LinkStatus::Unknown);
            let now = self.now;
            // A sortie's loss is timed from when it was first seen lost.
            if let Some(s) = self.sortie_mut(&drone) {
                match (lost, s.lost_since) {
                    (true, None) => s.lost_since = Some(now),
                    (false, Some(_)) => s.lost_since = None,
                    _ => {}
                }
            }
            let prev = self.link_seen.get(&drone).copied();
            if prev == Some(status) || (prev.is_none() && status == LinkStatus::Unknown) {
                continue;
            }
            self.link_seen.insert(drone.clone(), status);
            self.link_changed(&drone, prev, status);
        }
    }

    fn link_changed(
        &mut self,
        drone: &dispatch_core::DroneId,
        prev: Option<LinkStatus>,
        status: LinkStatus,
    ) {
        // A link coming up for the first time is routine; everything else is news.
        if status != LinkStatus::Up || prev.is_some() || self.involved.contains(drone) {
            self.event(What::Link {
                drone: drone.clone(),
                status: status.as_str().to_owned(),
            });
        }
        let has_sortie = self.sortie(drone).is_some();
        // An idle drone that cannot be heard cannot be commanded:
        // out of the dispatchable set until its link is back.
        let idle_on_ground = self
            .dispatcher
            .world()
            .drone(drone)
            .filter(|d| d.task.is_none() && d.state.is_on_ground())
            .map(|d| (d.position, d.battery_pct));
        if status == LinkStatus::Lost
            && !has_sortie
            && let Some((position, battery_pct)) = idle_on_ground
        {
            if matches!(self.duty(drone), Duty::Charging) {
                self.set_duty(drone, Duty::Idle);
            }
            self.apply(Input::DroneUpdate {
                drone: drone.clone(),
                state: DroneState::Lost,
                position,
                battery_pct,
            });
            self.drone_event(
                drone,
                DroneState::Lost,
                "link lost: not dispatchable until it is heard again".into(),
            );
        }
        if status == LinkStatus::Up
            && self
                .dispatcher
                .world()
                .drone(drone)
                .is_some_and(|d| d.state == DroneState::Lost)
            && !has_sortie
        {
            // Back: follow it home (its own failsafe flies it there).
            let recall = match self.duties.get_mut(drone) {
                Some(Duty::Homing(h)) => h.recall.take(),
                _ => {
                    self.set_duty(drone, Duty::Homing(Homing { recall: None }));
                    None
                }
            };
            if let Some((return_start, incident)) = recall {
                self.recall(drone, return_start, incident);
            }
        }
    }

    /// What the link reports besides telemetry: vehicle texts, spoofing,
    /// signing refusals. Link status events are not needed (see
    /// [`Self::link_health`]) and are ignored.
    pub(super) fn on_link_event(&mut self, drone: Option<DroneId>, ev: LinkEvent) {
        match ev {
            LinkEvent::LinkStatus { .. } => {}
            LinkEvent::Traffic { report, .. } => self.on_adsb(drone, report),
            LinkEvent::StatusText { severity, text, .. } => {
                let Some(drone) = drone else {
                    return;
                };
                // Warnings and worse (failsafes, pre-arm failures) are alerts
                // for every drone; every text of a drone at work is part of
                // its story (information and notices only there).
                if severity <= 4 {
                    let level = if severity <= 2 {
                        Severity::Critical
                    } else {
                        Severity::Warning
                    };
                    self.alert(Some(&drone), level, text.clone());
                }
                if self.involved.contains(&drone) {
                    self.event(What::Vehicle { drone, text });
                }
            }
            LinkEvent::UnknownSystem { system_id } => {
                tracing::warn!(system_id, "MAVLink from an unconfigured system id: ignored");
            }
            LinkEvent::BadFrame { error, count } => {
                tracing::warn!(
                    count,
                    "rejected MAVLink input (counted; one line a second at most): {error}"
                )
            }
            LinkEvent::ForeignAddress {
                system_id,
                from,
                bound_to,
                count,
            } => {
                let who = drone
                    .as_ref()
                    .map_or_else(|| format!("system {system_id}"), |d| format!("drone {d}"));
                self.alert(
                    drone.as_ref(),
                    Severity::Critical,
                    format!(
                        "{count} frame(s) claiming to be {who} from {from}, but it is heard from {bound_to}: ignored and not answered (spoofing, or a second radio)"
                    ),
                );
            }
            LinkEvent::SigningRefused { error, count, .. } => {
                self.alert(
                    drone.as_ref(),
                    Severity::Critical,
                    format!(
                        "{count} MAVLink frame(s) refused by signature checks; latest: {error}"
                    ),
                );
            }
            LinkEvent::Rebound {
                system_id,
                from,
                to,
            } => {
                self.alert(
                    drone.as_ref(),
                    Severity::Warning,
                    format!(
                        "system {system_id} now heard from {to} (its link from {from} was lost)"
                    ),
                );
            }
        }
    }
}

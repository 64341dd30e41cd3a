//! Camera discovery: once a drone's link is up, its vehicle is asked for
//! its camera (MAV_CMD_REQUEST_MESSAGE for CAMERA_INFORMATION and
//! VIDEO_STREAM_INFORMATION, to component 100: `Action::AskCamera`). The
//! answers land in the vehicle's telemetry (`VehicleState::camera`), which
//! drone views show.
//!
//! A vehicle that refuses (no camera component: its autopilot says
//! UNSUPPORTED) has no camera; one that does not answer, or whose answer
//! brought no stream, is asked again after `RETRY_S` of link time, at most
//! `ATTEMPTS` times while its link stays up. A lost link forgets all but a
//! camera found, so a vehicle that comes back (rebooted, re-equipped) is
//! asked again. Contested drones are sent nothing, as everywhere.

use dispatch_core::DroneId;
use mavlink_link::link::CommandError;
use mavlink_link::mav::MavResult;
use mavlink_link::state::LinkStatus;

use super::FleetCore;
use super::duty::{Pending, PendingKind};
use super::protocol::Action;

/// Link seconds before a camera that did not answer is asked again.
pub(super) const RETRY_S: f64 = 10.0;
/// Questions per link session before a silent vehicle counts as camera-less.
pub(super) const ATTEMPTS: u32 = 3;

/// Where the question to one drone's vehicle stands.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct CameraAsk {
    attempts: u32,
    in_flight: bool,
    /// Link time of the last question.
    asked_at: f64,
    /// Answered: no camera, or no more questions this session.
    settled: bool,
}

impl FleetCore {
    /// Asks every vehicle heard whose camera is not known yet.
    pub(super) fn camera_tick(&mut self) {
        let drones: Vec<DroneId> = self.scenario.drones.iter().map(|d| d.id.clone()).collect();
        for drone in drones {
            let (up, known) = match self.vehicle(&drone) {
                Some(v) => (
                    v.link == LinkStatus::Up,
                    v.camera.as_ref().is_some_and(|c| !c.streams.is_empty()),
                ),
                None => (false, false),
            };
            if !up {
                if self.camera_asks.get(&drone).is_some_and(|a| !a.in_flight) {
                    self.camera_asks.remove(&drone);
                }
                continue;
            }
            if known || self.contested.contains_key(&drone) {
                continue;
            }
            let now = self.link_time;
            let ask = self.camera_asks.entry(drone.clone()).or_default();
            if ask.settled || ask.in_flight || (ask.attempts > 0 && now - ask.asked_at < RETRY_S) {
                continue;
            }
            if ask.attempts >= ATTEMPTS {
                ask.settled = true;
                tracing::info!(%drone, "no camera answered {ATTEMPTS} questions: taken as none");
                continue;
            }
            ask.attempts += 1;
            ask.in_flight = true;
            ask.asked_at = now;
            self.new_action(
                Pending {
                    drone: drone.clone(),
                    what: PendingKind::Camera,
                },
                Action::AskCamera { drone },
            );
        }
    }

    /// The question's outcome; the camera's messages come with telemetry.
    pub(super) fn on_camera_asked(&mut self, drone: &DroneId, r: Result<(), CommandError>) {
        let Some(ask) = self.camera_asks.get_mut(drone) else {
            return;
        };
        ask.in_flight = false;
        match r {
            Ok(()) => {}
            Err(CommandError::Rejected {
                result: MavResult::MAV_RESULT_UNSUPPORTED | MavResult::MAV_RESULT_DENIED,
                ..
            }) => {
                ask.settled = true;
                tracing::debug!(%drone, "no camera component");
            }
            Err(e) => tracing::debug!(%drone, "camera question unanswered: {e}"),
        }
    }

    /// Whether a drone's camera is being asked for or was settled (tests).
    #[cfg(test)]
    pub(super) fn camera_ask(&self, drone: &DroneId) -> Option<CameraAsk> {
        self.camera_asks.get(drone).copied()
    }
}

#[cfg(test)]
impl CameraAsk {
    pub(super) fn settled(&self) -> bool {
        self.settled
    }
}

//! Each drone's situation, as one state machine: what it is doing
//! ([`Duty`]), and for a sortie everything the core follows it by.

use dispatch_core::{DroneId, IncidentId, Timestamp};
use mavlink_link::modes::FlightMode;

use super::protocol::RequestId;
use crate::mission::MissionPlan;

/// What a drone is doing. A drone not in the map is idle.
#[derive(Debug, Clone)]
pub enum Duty {
    /// On the ground with nothing to do (docked, lost or out of service:
    /// the dispatcher's drone state says which).
    Idle,
    /// Docked and charging until `charged_pct`.
    Charging,
    /// Serving an incident: launching (uploads, arming) or flying it.
    Sortie(Box<Sortie>),
    /// Flying home with no incident (called off, handed over, lost and
    /// given up, or found in the air at start-up).
    Homing(Homing),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    /// The launch action is running.
    Launching(super::ActionId),
    Flying,
}

#[derive(Debug, Clone)]
pub struct Sortie {
    pub incident: IncidentId,
    pub system_id: u8,
    pub plan: MissionPlan,
    pub predicted_eta_s: f64,
    pub phase: Phase,
    /// Vehicle clock at the assignment, ms: the on-scene time is measured
    /// from the same instant as the predicted ETA.
    pub start_boot_ms: Option<u32>,
    pub was_airborne: bool,
    /// Scenario time the link was found lost (level-triggered from telemetry).
    pub lost_since: Option<Timestamp>,
    /// Link time the mission was started: heartbeats after it show the
    /// mode the vehicle flies the mission in.
    pub flying_since: Option<f64>,
    /// Progress toward the current mission item, for the stall watchdog.
    pub progress: Option<Progress>,
    pub on_scene_s: f64,
    pub payload_confirmed: bool,
    /// An implausible mission progress report was alerted (once a sortie).
    pub implausible_reported: bool,
    /// A mode a dispatcher commanded through the API (hold, go to, RTL,
    /// land) and the vehicle accepted: not a hijack; None once resumed.
    pub operator_mode: Option<FlightMode>,
    /// A mode commanded but not yet answered: tolerated while the command
    /// is in flight, forgotten if the vehicle refuses it.
    pub pending_mode: Option<FlightMode>,
    /// Vehicle time (ms) since which the evidence of arrival, and of
    /// having landed, has held without a break.
    pub scene_since_ms: Option<u32>,
    pub landed_since_ms: Option<u32>,
    /// When the ETA was last re-estimated from progress (scenario time).
    pub eta_checked_at: Option<Timestamp>,
}

/// The best distance (m, 3-D) to mission item `seq` so far, and when it was
/// last improved, on the vehicle's clock (`time_boot_ms`): that clock only
/// moves with fresh telemetry, so a link outage never looks like a stall.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub seq: u16,
    pub best_m: f64,
    pub since_boot_ms: u32,
}

/// What the watchdog found wrong with a sortie in flight.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Trouble {
    /// Disarmed while in the air: the vehicle falls.
    DisarmedInAir,
    /// Turned back by its own failsafe (RTL, SmartRTL, LAND).
    TurnedBack(FlightMode),
    /// A mode the dispatcher did not command (a rogue station, a pilot).
    Uncommanded(FlightMode),
    /// No progress toward mission item `seq` for `for_s` scenario seconds.
    Stalled { seq: u16, for_s: f64 },
    /// Its own wind reports are over its airframe's limits.
    Wind {
        speed_mps: f64,
        gust_mps: f64,
        from_deg: f64,
        max_wind_mps: f64,
        max_gust_mps: f64,
    },
}

/// A drone flying home with no incident.
#[derive(Debug, Clone)]
pub struct Homing {
    /// A sortie lost with its link: the mission item where its way home
    /// starts, and the incident it was flying. The vehicle keeps flying the
    /// mission on its own (failsafe parameters); if it is heard again before
    /// the way home, it is sent there, as the incident went to another drone.
    pub recall: Option<(u16, IncidentId)>,
}

/// What a link action in flight is for.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub drone: DroneId,
    pub what: PendingKind,
}

#[derive(Debug, Clone)]
pub(super) enum PendingKind {
    Launch {
        incident: IncidentId,
    },
    SendHome {
        return_start: Option<u16>,
    },
    Disarm,
    /// An admin's bind (answered), or the fleet's own (None): a drone in
    /// the air stays bound to the address that flies its mission.
    Bind {
        request: Option<RequestId>,
        address: std::net::SocketAddr,
    },
    /// A hold, descent or resume for manned traffic (`traffic.rs`); `mode`
    /// is what it leaves the vehicle in (None: its mission).
    Traffic {
        step: crate::events::AirspaceStep,
        mode: Option<FlightMode>,
    },
    /// A hold before the way home, for separation (`homeward.rs`).
    HomeHold,
    /// The question for the vehicle's camera (`camera.rs`).
    Camera,
    Operator {
        request: RequestId,
        name: &'static str,
        /// The mode the command leaves the vehicle in, if it changes it
        /// (Some(None): back to the mission).
        mode: Option<Option<FlightMode>>,
    },
}

impl Sortie {
    /// A sortie begun (at launch, or taken back after a restart) with none
    /// of its evidence gathered yet.
    pub(super) fn begin(
        incident: IncidentId,
        system_id: u8,
        plan: MissionPlan,
        predicted_eta_s: f64,
        on_scene_s: f64,
        phase: Phase,
    ) -> Sortie {
        Sortie {
            incident,
            system_id,
            plan,
            predicted_eta_s,
            phase,
            start_boot_ms: None,
            was_airborne: false,
            lost_since: None,
            flying_since: None,
            progress: None,
            on_scene_s,
            payload_confirmed: false,
            implausible_reported: false,
            operator_mode: None,
            pending_mode: None,
            scene_since_ms: None,
            landed_since_ms: None,
            eta_checked_at: None,
        }
    }
}

impl Duty {
    pub fn sortie(&self) -> Option<&Sortie> {
        match self {
            Duty::Sortie(s) => Some(s),
            _ => None,
        }
    }

    /// A short name, for the summary and tests.
    pub fn name(&self) -> &'static str {
        match self {
            Duty::Idle => "idle",
            Duty::Charging => "charging",
            Duty::Sortie(s) if matches!(s.phase, Phase::Launching(_)) => "launching",
            Duty::Sortie(_) => "flying",
            Duty::Homing(_) => "homing",
        }
    }
}

impl super::FleetCore {
    pub(super) fn sortie(&self, drone: &DroneId) -> Option<&Sortie> {
        self.duties.get(drone).and_then(Duty::sortie)
    }

    pub(super) fn sortie_mut(&mut self, drone: &DroneId) -> Option<&mut Sortie> {
        match self.duties.get_mut(drone) {
            Some(Duty::Sortie(s)) => Some(s),
            _ => None,
        }
    }

    /// Ends a drone's sortie (the drone is idle until told otherwise).
    pub(super) fn take_sortie(&mut self, drone: &DroneId) -> Option<Sortie> {
        match self.duties.remove(drone) {
            Some(Duty::Sortie(s)) => Some(*s),
            Some(other) => {
                self.duties.insert(drone.clone(), other);
                None
            }
            None => None,
        }
    }

    pub(super) fn set_duty(&mut self, drone: &DroneId, duty: Duty) {
        match duty {
            Duty::Idle => {
                self.duties.remove(drone);
            }
            d => {
                self.duties.insert(drone.clone(), d);
            }
        }
    }

    pub(super) fn sortie_drones(&self) -> Vec<DroneId> {
        self.duties
            .iter()
            .filter(|(_, d)| matches!(d, Duty::Sortie(_)))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The drone serving an incident in a sortie, if any.
    pub(super) fn sortie_of(&self, incident: IncidentId) -> Option<DroneId> {
        self.duties
            .iter()
            .find(|(_, d)| d.sortie().is_some_and(|s| s.incident == incident))
            .map(|(d, _)| d.clone())
    }
}

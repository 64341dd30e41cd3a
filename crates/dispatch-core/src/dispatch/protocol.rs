//! What the dispatcher takes and gives: reports, inputs, outputs, errors,
//! and an incident's record with its time line.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::assign::Assignment;
use crate::model::{
    DroneId, DroneState, Incident, IncidentId, IncidentKind, IncidentStatus, LatLon, PatrolId,
    Timestamp, Zone, ZoneId,
};
use crate::wind::WindObservation;
use crate::world::WorldError;

/// A new incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub kind: IncidentKind,
    pub position: LatLon,
    /// Overrides the kind's configured priority.
    pub priority: Option<u8>,
    /// Launch as soon as a drone is found, or wait for [`Input::Launch`].
    pub auto_launch: bool,
    pub patrol: Option<PatrolId>,
}

/// What the dispatcher is told.
#[derive(Debug, Clone)]
pub enum Input {
    Report(Report),
    /// Incidents that arrived together: served by priority, not arrival order.
    ReportBatch(Vec<Report>),
    /// The dispatcher confirms a proposal.
    Launch(IncidentId),
    Cancel {
        incident: IncidentId,
        reason: String,
    },
    /// Progress reported by the fleet: en_route, on_scene, returning, resolved, failed.
    Progress {
        incident: IncidentId,
        status: IncidentStatus,
    },
    /// The drone cannot serve the incident any more (lost link, low battery,
    /// rejected upload): back to the queue, to be served by another drone.
    Requeue {
        incident: IncidentId,
        reason: String,
    },
    DroneUpdate {
        drone: DroneId,
        state: DroneState,
        position: LatLon,
        battery_pct: f64,
    },
    UpsertZone(Zone),
    RemoveZone(ZoneId),
    /// The fleet's new estimate of the arrival on scene of an incident's
    /// drone (at take-off, from its progress along the route).
    Eta {
        incident: IncidentId,
        at: Timestamp,
        why: String,
    },
    /// A wind report (a vehicle's own estimate, or the weather service).
    Wind(WindObservation),
    /// A drone in the air is about to be sent home before its sortie's end
    /// (called off, handed over, a limit): its way home from `position` is
    /// planned again and separated from the other sorties
    /// ([`crate::homeward`]); the answer is an [`Output::Homeward`].
    Homeward {
        drone: DroneId,
        position: LatLon,
        /// Height above its hangar now, metres (the layer when it has none).
        alt_m: f64,
    },
    /// Time passed: expire zones, open patrol windows.
    Tick,
}

/// What the dispatcher decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Output {
    Reported {
        incident: IncidentId,
        kind: IncidentKind,
        priority: u8,
    },
    Proposed {
        incident: IncidentId,
        assignment: Box<Assignment>,
    },
    Assigned {
        incident: IncidentId,
        assignment: Box<Assignment>,
    },
    Queued {
        incident: IncidentId,
        reason: String,
    },
    Preempted {
        drone: DroneId,
        from: IncidentId,
        to: IncidentId,
    },
    StatusChanged {
        incident: IncidentId,
        from: IncidentStatus,
        to: IncidentStatus,
        /// Why, as written in the incident's time line.
        note: String,
    },
    ZoneAdded {
        zone: ZoneId,
    },
    ZoneRemoved {
        zone: ZoneId,
    },
    ZoneExpired {
        zone: ZoneId,
    },
    /// The predicted arrival on scene moved (an [`Input::Eta`]).
    EtaChanged {
        incident: IncidentId,
        from: Timestamp,
        to: Timestamp,
        why: String,
    },
    /// How a drone cut short flies home (an [`Input::Homeward`]): after
    /// holding `hold_s` where it is; `conflict` when no hold clears its way.
    Homeward {
        drone: DroneId,
        incident: Option<IncidentId>,
        hold_s: f64,
        conflict: bool,
        note: String,
    },
}

#[derive(Debug, Error, PartialEq)]
pub enum DispatchError {
    #[error("unknown incident {0}")]
    UnknownIncident(IncidentId),
    #[error("incident {incident} cannot go from {from} to {to}")]
    InvalidTransition {
        incident: IncidentId,
        from: IncidentStatus,
        to: IncidentStatus,
    },
    #[error("incident {0} has no proposal to launch")]
    NothingToLaunch(IncidentId),
    #[error("no policy configured for incident kind `{0}`")]
    NoPolicy(IncidentKind),
    #[error("priority {0} is out of range 1..=5")]
    BadPriority(u8),
    #[error(transparent)]
    World(#[from] WorldError),
}

/// One line of an incident's time line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: Timestamp,
    pub status: IncidentStatus,
    pub note: String,
}

/// An incident with its current assignment and history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IncidentRecord {
    pub incident: Incident,
    pub assignment: Option<Assignment>,
    pub auto_launch: bool,
    pub timeline: Vec<TimelineEntry>,
}

impl IncidentRecord {
    /// Predicted arrival on scene while a drone is proposed or on its way.
    pub fn eta(&self) -> Option<Timestamp> {
        matches!(
            self.incident.status,
            IncidentStatus::Proposed | IncidentStatus::Assigned | IncidentStatus::EnRoute
        )
        .then(|| self.assignment.as_ref().map(|a| a.arrival_at))
        .flatten()
    }
}

//! The fleet manager: dispatch decisions from `dispatch-core` carried out over
//! MAVLink with `mavlink-link`, and telemetry fed back into the dispatcher.
//! Used by `dispatcher fly` (a fixed list of incidents) and, as a long-running
//! service with a [`FleetHandle`], by `dispatcher serve`.

pub mod clock;
pub mod failsafe;
pub mod manager;
pub mod mission;
pub mod service;

pub use manager::{
    Arrival, FleetConfig, FleetEvent, FleetManager, IncidentMeta, OpenSortie, Scheduled, Severity,
    Summary, What,
};
pub use service::{
    DroneCommand, DroneView, FleetHandle, HangarView, IncidentView, NewIncident, ReportOutcome,
    ServiceError, Snapshot,
};

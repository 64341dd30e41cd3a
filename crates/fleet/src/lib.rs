//! The fleet manager: dispatch decisions from `dispatch-core` carried out over
//! MAVLink with `mavlink-link`, and telemetry fed back into the dispatcher.
//! Used by `dispatcher fly` (and by the server to come).

pub mod manager;
pub mod mission;

pub use manager::{Arrival, FleetConfig, FleetEvent, FleetManager, Scheduled, Summary, What};

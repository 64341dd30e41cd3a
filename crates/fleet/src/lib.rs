//! The fleet manager: dispatch decisions from `dispatch-core` carried out over
//! MAVLink with `mavlink-link`, and telemetry fed back into the dispatcher.
//! Used by `dispatcher fly` (a fixed list of incidents) and, as a long-running
//! service with a [`FleetHandle`], by `dispatcher serve`.

pub mod clock;
pub mod failsafe;
pub mod manager;
pub mod mission;
pub mod reports;
pub mod service;
pub mod store;

pub use manager::{
    Arrival, FleetConfig, FleetEvent, FleetManager, IncidentMeta, OpenSortie, Scheduled, Severity,
    SharedStore, Summary, What,
};
/// Link settings for a scenario's signing keys: each drone's key (or the
/// default) by system id. Keys were checked when the configuration was read.
pub fn link_config(keys: &dispatch_core::config::SigningKeys) -> mavlink_link::link::LinkConfig {
    use mavlink_link::signing::{Keyring, SecretKey};
    let parse = |k: &String| SecretKey::from_hex(k).ok();
    let signing = keys.enabled().then(|| Keyring {
        default: keys.default.as_ref().and_then(parse),
        per_system: keys
            .drones
            .iter()
            .filter_map(|(s, k)| parse(k).map(|k| (*s, k)))
            .collect(),
        allow_unsigned: keys.allow_unsigned,
    });
    mavlink_link::link::LinkConfig {
        signing,
        signing_link_id: keys.link_id,
        ..mavlink_link::link::LinkConfig::default()
    }
}

pub use service::{
    DroneCommand, DroneView, FleetHandle, HangarView, IncidentView, NewIncident, ReportOutcome,
    ServiceError, Snapshot,
};

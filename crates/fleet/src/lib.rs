//! The fleet: dispatch decisions from `dispatch-core` carried out over
//! MAVLink with `mavlink-link`, and telemetry fed back into the dispatcher.
//!
//! - [`core`]: the sans-IO fleet core, `FleetCore::handle(now, input) -> effects`;
//! - [`runtime`]: the thin async loop around it (clock, link actions, log);
//! - [`service`]: the long-running service and its [`FleetHandle`];
//! - [`store`]: the durable event log; [`reports`]: what is read from it;
//! - [`cluster`]: the dispatch lease kept, the leader's gate and fence;
//! - [`mission`], [`failsafe`], [`clock`]: missions and fences, failsafe
//!   parameters, the vehicles' clock rate.
//!
//! Used by `dispatcher fly` (a fixed list of incidents) and, as a
//! long-running service, by `dispatcher serve`.

mod actions;
pub mod clock;
pub mod cluster;
pub mod core;
pub mod events;
pub mod failsafe;
pub mod mission;
pub mod reports;
pub mod runtime;
pub mod sbs_client;
pub mod service;
pub mod store;
pub mod store_pg;
mod store_pg_conn;
pub mod store_pg_lease;
mod store_pg_schema;
mod store_reader;
pub mod store_row;
pub mod views;

pub use core::protocol::{WeatherReport, WindView};
pub use core::{
    Arrival, DroneCommand, DroneOutcome, FleetConfig, FleetCore, NewIncident, OpenSortie,
    ServiceError, Summary,
};
pub use events::{
    FleetEvent, IncidentMeta, PinDigest, Severity, ShareChange, ShareEntry, StillEntry,
    StillTrigger, What,
};
pub use runtime::{FleetManager, Scheduled, SharedStore};
pub use service::FleetHandle;
pub use views::{
    CameraView, DroneView, HangarView, IncidentView, ReportOutcome, Snapshot, StreamView,
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

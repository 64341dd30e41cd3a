//! Websocket messages (`type`). Not part of the OpenAPI paths (a websocket
//! is no HTTP operation), but their schemas are in the document's
//! components, for clients that generate code.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    DispatchOutput, Drone, DroneState, Hangar, Incident, IncidentStatus, Region, Severity,
    TelemetryEntry, ZoneCollection, ZoneFeature,
};

/// One message from the server.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WsMessage {
    /// The first message: the whole state.
    Snapshot {
        time: DateTime<Utc>,
        scenario: String,
        region: Region,
        hangars: Vec<Hangar>,
        drones: Vec<Drone>,
        zones: ZoneCollection,
        incidents: Vec<Incident>,
        /// Queued incidents in the order they are served.
        queue: Vec<u64>,
    },
    /// Coalesced positions, each drone at most once.
    Telemetry { drones: Vec<TelemetryEntry> },
    /// An incident changed.
    Incident {
        t: DateTime<Utc>,
        /// The whole incident (its id alone if it could not be read).
        incident: IncidentRef,
        status: IncidentStatus,
        note: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        drone: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        eta: Option<DateTime<Utc>>,
    },
    /// A drone's state changed.
    Drone {
        t: DateTime<Utc>,
        drone: String,
        state: DroneState,
        note: String,
    },
    /// Something a person should look at.
    Alert {
        t: DateTime<Utc>,
        #[serde(skip_serializing_if = "Option::is_none")]
        drone: Option<String>,
        severity: Severity,
        message: String,
    },
    /// A vehicle's status text.
    Vehicle {
        t: DateTime<Utc>,
        drone: String,
        text: String,
    },
    /// What a command sent to a vehicle came to (an operator's, a call home).
    Command {
        t: DateTime<Utc>,
        drone: String,
        command: String,
        ok: bool,
        detail: String,
    },
    /// A drone's link came back up (lost and degraded links are alerts).
    Link {
        t: DateTime<Utc>,
        drone: String,
        status: String,
    },
    /// The service's own news that needs no action (recovered from its log...).
    Notice { t: DateTime<Utc>, message: String },
    /// The dispatcher's other decisions.
    Dispatch {
        t: DateTime<Utc>,
        output: DispatchOutput,
    },
    /// A zone was added, changed, removed or expired.
    Zone {
        t: DateTime<Utc>,
        zone: String,
        change: String,
        /// The zone now, unless it is gone.
        #[serde(skip_serializing_if = "Option::is_none")]
        feature: Option<ZoneFeature>,
    },
    /// Manned traffic changed what a drone does (a launch held or
    /// released, a conflict ahead, a hold, a descent, a resume).
    Airspace {
        t: DateTime<Utc>,
        #[serde(skip_serializing_if = "Option::is_none")]
        drone: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        incident: Option<u64>,
        step: super::traffic::AirspaceStep,
        /// Callsign or ICAO address.
        aircraft: String,
        note: String,
    },
    /// A still from a drone's camera was kept as evidence.
    Still { still: super::still::Still },
    /// The manned traffic picture, once a second while there is any.
    Traffic {
        time: DateTime<Utc>,
        tracks: Vec<super::traffic::TrafficTrack>,
        held_launches: Vec<super::traffic::HeldLaunch>,
        held_drones: Vec<super::traffic::HeldDrone>,
    },
    /// Events were missed: reconnect for a fresh snapshot.
    Resync { reason: String },
    /// The answer to `{"type": "ping"}`: the server's time, ms since 1970.
    Pong { time: i64 },
}

/// An incident, or its id when it could not be read.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum IncidentRef {
    Full(Box<Incident>),
    Id(u64),
}

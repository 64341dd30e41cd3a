//! What the fleet tells the world: one [`FleetEvent`] per thing that
//! happened, in scenario time. Events go to the durable log (as their JSON,
//! see `store`), the websocket (through the server's own wire types) and
//! `fly --json`.

use dispatch_core::{DroneId, DroneState, IncidentId, IncidentStatus, Output, Timestamp, ZoneId};
use serde::Serialize;

/// One line of the fleet's story.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetEvent {
    /// Scenario time.
    pub t: Timestamp,
    #[serde(flatten)]
    pub what: What,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum What {
    Incident {
        incident: IncidentId,
        status: IncidentStatus,
        note: String,
        /// The drone serving it, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        drone: Option<DroneId>,
        /// Predicted arrival on scene, while a drone is on its way.
        #[serde(skip_serializing_if = "Option::is_none")]
        eta: Option<Timestamp>,
    },
    /// The predicted arrival on scene moved (re-estimated at take-off and
    /// from the drone's progress); the incident's status did not change.
    Eta {
        incident: IncidentId,
        eta: Timestamp,
        note: String,
    },
    Drone {
        drone: DroneId,
        state: DroneState,
        note: String,
    },
    Dispatch {
        output: Output,
    },
    Link {
        drone: DroneId,
        status: String,
    },
    /// An informational text from the vehicle (STATUSTEXT of severity
    /// notice or lower): part of the drone's story, not an alert.
    Vehicle {
        drone: DroneId,
        text: String,
    },
    /// Something a person should look at: a warning or worse from a vehicle,
    /// or a safety finding of the fleet (a lost link, a failsafe, a refused
    /// input, a command a vehicle did not carry out).
    Alert {
        #[serde(skip_serializing_if = "Option::is_none")]
        drone: Option<DroneId>,
        severity: Severity,
        message: String,
    },
    /// What a command sent to a vehicle came to (an operator's command, a
    /// call home): every outcome is one of these; a failure is also an alert.
    Command {
        drone: DroneId,
        command: String,
        ok: bool,
        detail: String,
    },
    /// The service's own news that needs no action (recovered from the log,
    /// the log written again).
    Notice {
        message: String,
    },
    /// A no-go zone was added, changed, removed or expired.
    Zone {
        zone: ZoneId,
        change: String,
    },
    /// Manned traffic changed what a drone does (see `core::traffic`):
    /// a launch held or released, a conflict ahead, a hold, a descent, a
    /// resume. `aircraft` is the callsign or the ICAO address.
    Airspace {
        #[serde(skip_serializing_if = "Option::is_none")]
        drone: Option<DroneId>,
        #[serde(skip_serializing_if = "Option::is_none")]
        incident: Option<IncidentId>,
        step: AirspaceStep,
        aircraft: String,
        note: String,
    },
    /// A read-only share link (the server's `/api/shares`) created, revoked
    /// or opened. The fleet only logs it; the server decides what a share
    /// may see, and rebuilds its shares from these at start.
    Share(ShareEntry),
    /// A still from a drone's camera kept as evidence: its picture is
    /// written to the log's `stills` beside this event, which names the
    /// incident and drone (so it is in the incident's time line).
    Still(StillEntry),
}

/// One line of a share's story, in the log as it is here (its JSON is its
/// row format: a change to these types changes the log).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ShareEntry {
    /// The share's id (not its token).
    pub share: u64,
    /// Wall-clock time (share expiry runs on the wall clock, not on the
    /// scenario's, which may run faster).
    pub at: chrono::DateTime<chrono::Utc>,
    pub change: ShareChange,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareChange {
    Created {
        /// SHA-256 of the link's token, hex: the token itself is never kept.
        token_sha256: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        incident: Option<IncidentId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        drone: Option<DroneId>,
        expires_at: chrono::DateTime<chrono::Utc>,
        /// The PIN's salted SHA-256, if the share asks for one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pin: Option<PinDigest>,
        /// The token name of the dispatcher who made it.
        by: String,
    },
    Revoked {
        by: String,
    },
    Opened {
        /// The peer's address as the server saw it (None: not known, e.g.
        /// a request forwarded by another server).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
        /// `X-Forwarded-For` as sent (unverified).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        forwarded_for: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_agent: Option<String>,
    },
}

/// A still as the log keeps it: where and how it was taken. The picture
/// itself travels with the event to the log (`jpeg`), never into its JSON.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct StillEntry {
    /// Its id: the first 16 hex digits of the picture's SHA-256.
    pub still: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<IncidentId>,
    pub drone: DroneId,
    pub trigger: StillTrigger,
    /// Scenario time the frame came.
    pub taken_at: Timestamp,
    /// Where the drone was when the frame came (WGS84, metres above home).
    pub lat: f64,
    pub lon: f64,
    pub alt_m: f64,
    pub heading_deg: f64,
    /// The camera's stream it came from (VIDEO_STREAM_INFORMATION's id).
    pub stream: u8,
    /// The token name of who took it (`auto` on arrival).
    pub by: String,
    /// The picture's size in bytes.
    pub bytes: usize,
    /// The JPEG (empty when read back from a row: see `Store::still`).
    #[serde(skip)]
    pub jpeg: std::sync::Arc<Vec<u8>>,
}

/// Why a still was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StillTrigger {
    /// A person pressed "snapshot".
    Manual,
    /// The serving drone arrived on scene.
    Arrival,
}

/// A PIN as kept: SHA-256 of a random salt followed by the PIN, both hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PinDigest {
    pub salt: String,
    pub sha256: String,
}

/// What manned traffic made the fleet do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AirspaceStep {
    /// A launch waits: its route conflicts with a track.
    LaunchHeld,
    /// The route is clear again: the held launch goes.
    LaunchReleased,
    /// A dispatcher launched a held sortie despite the conflict.
    LaunchedAnyway,
    /// A conflict predicted within the look-ahead: an alert, no action yet.
    ConflictAhead,
    /// The drone is told to hold its position.
    Hold,
    /// The drone is told to hold at the safe height (aircraft above and close).
    Descend,
    /// Clear again: the drone goes on with its mission (AUTO).
    Resume,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Kept for logs written before alerts were warnings or worse.
    Info,
    Warning,
    Critical,
}

/// What an incident has beyond the dispatcher core's record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct IncidentMeta {
    pub note: Option<String>,
    pub source: Option<String>,
    pub external_id: Option<String>,
}

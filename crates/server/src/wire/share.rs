//! Share links: what a dispatcher is answered (`ShareCreated`,
//! `ShareInfo` with its openings) and what a shared view gets
//! (`SharedView`: the incident without its intake details or the other
//! drones the dispatcher weighed, the shared drones' live values).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Drone, TimelineEntry};
use super::{DroneState, Incident, IncidentKind, IncidentStatus, LatLon, LineString, LinkStatus};

/// A share made: its id (to list and revoke it) and its link.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ShareCreated {
    pub id: u64,
    /// The link's path on this server, `/share/<token>` (the server does
    /// not know the address it is reached by behind a proxy: put the
    /// server's own origin before it). The token is in no other answer.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Where a share stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShareStatus {
    Active,
    Revoked,
    Expired,
}

/// A share as `GET /api/shares` lists it (never its token).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ShareInfo {
    pub id: u64,
    /// The incident shared, or null for a drone's share.
    pub incident: Option<u64>,
    /// The drone shared, or null for an incident's share.
    pub drone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The name of the token that made it.
    pub by: String,
    /// Whether the link asks for a PIN.
    pub pin: bool,
    pub status: ShareStatus,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
    /// Openings in all (the list keeps the latest 200).
    pub opened: u64,
    /// Oldest first.
    pub openings: Vec<ShareOpening>,
}

/// One opening of a shared view.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ShareOpening {
    pub at: DateTime<Utc>,
    /// The peer's address as this server saw it (null when unknown, e.g.
    /// forwarded by another server of the cluster).
    pub address: Option<String>,
    /// `X-Forwarded-For` as the client sent it (unverified).
    pub forwarded_for: Option<String>,
    pub user_agent: Option<String>,
}

/// What a shared view shows: `GET /api/share/{token}`, and the first
/// websocket message (`type` `share`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SharedView {
    /// `incident` or `drone`: what was shared.
    pub shared: SharedWhat,
    pub expires_at: DateTime<Utc>,
    /// The IANA time zone the view writes times in (the scenario's region's).
    pub time_zone: String,
    /// The shared incident, or the one the shared drone serves (null: none).
    pub incident: Option<SharedIncident>,
    /// The shared drone, or the one serving the shared incident (none, or one).
    pub drones: Vec<SharedDrone>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SharedWhat {
    Incident,
    Drone,
}

/// An incident as a shared view sees it: no note, source or external id
/// (they may name the caller), no assignment (it names the other drones).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SharedIncident {
    pub id: u64,
    pub kind: IncidentKind,
    pub position: LatLon,
    pub priority: u8,
    pub reported_at: DateTime<Utc>,
    pub status: IncidentStatus,
    pub drone: Option<String>,
    pub eta: Option<DateTime<Utc>>,
    pub timeline: Vec<TimelineEntry>,
    pub route: Option<LineString>,
    pub return_route: Option<LineString>,
}

impl SharedIncident {
    /// Its fields: an incident's JSON (a websocket `incident` message's)
    /// is cut down to these.
    pub const FIELDS: [&'static str; 11] = [
        "id",
        "kind",
        "position",
        "priority",
        "reported_at",
        "status",
        "drone",
        "eta",
        "timeline",
        "route",
        "return_route",
    ];

    /// An incident's JSON object cut down to [`Self::FIELDS`].
    pub fn pick(incident: &serde_json::Value) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for k in Self::FIELDS {
            if let Some(v) = incident.get(k) {
                out.insert(k.to_owned(), v.clone());
            }
        }
        serde_json::Value::Object(out)
    }
}

impl From<&Incident> for SharedIncident {
    fn from(i: &Incident) -> Self {
        SharedIncident {
            id: i.id,
            kind: i.kind,
            position: i.position,
            priority: i.priority,
            reported_at: i.reported_at,
            status: i.status,
            drone: i.drone.clone(),
            eta: i.eta,
            timeline: i.timeline.clone(),
            route: i.route.clone(),
            return_route: i.return_route.clone(),
        }
    }
}

/// A shared drone's live values (as a `telemetry` entry, with its state).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SharedDrone {
    pub id: String,
    pub name: String,
    pub state: DroneState,
    pub lat: f64,
    pub lon: f64,
    /// Altitude above home, metres.
    pub alt_m: f64,
    pub heading_deg: f64,
    pub ground_speed_mps: f64,
    pub battery_pct: f64,
    pub mode: String,
    pub armed: bool,
    pub link: LinkStatus,
    /// Whether it has a camera: its video is at
    /// `/api/share/{token}/drones/{id}/video`.
    pub camera: bool,
}

impl From<&Drone> for SharedDrone {
    fn from(d: &Drone) -> Self {
        SharedDrone {
            id: d.id.clone(),
            name: d.name.clone(),
            state: d.state,
            lat: d.lat,
            lon: d.lon,
            alt_m: d.alt_m,
            heading_deg: d.heading_deg,
            ground_speed_mps: d.ground_speed_mps,
            battery_pct: d.battery_pct,
            mode: d.mode.clone(),
            armed: d.armed,
            link: d.link.status,
            camera: d.camera.is_some(),
        }
    }
}

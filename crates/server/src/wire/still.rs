//! Stills from the drones' cameras kept as evidence: what
//! `POST /api/incidents/{id}/stills` answers, `GET` lists and the
//! websocket's `still` message carries.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::LatLon;

/// A still: when, from which drone, where it stood and where it looked.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Still {
    /// Its id (16 hex digits: the start of the picture's SHA-256).
    pub id: String,
    /// The incident it is evidence for (null: a drone's still outside a sortie).
    pub incident: Option<u64>,
    pub drone: String,
    /// Scenario time the frame was kept.
    pub t: DateTime<Utc>,
    pub trigger: StillTrigger,
    /// The drone's position then.
    pub position: LatLon,
    /// Metres above home.
    pub alt_m: f64,
    /// The drone's heading then, degrees from north.
    pub heading_deg: f64,
    /// The camera's stream it came from.
    pub stream: u8,
    /// The token name of who took it (`auto`: on arrival).
    pub by: String,
    /// The JPEG's size.
    pub bytes: usize,
    /// Where the picture is: `GET` it (`image/jpeg`, viewer role; `?token=` for an `<img>`).
    pub url: String,
}

/// Why it was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StillTrigger {
    /// A person pressed "snapshot".
    Manual,
    /// The serving drone arrived on scene.
    Arrival,
}

impl From<fleet::StillTrigger> for StillTrigger {
    fn from(t: fleet::StillTrigger) -> Self {
        match t {
            fleet::StillTrigger::Manual => StillTrigger::Manual,
            fleet::StillTrigger::Arrival => StillTrigger::Arrival,
        }
    }
}

impl Still {
    /// A still from its log entry.
    pub fn new(e: &fleet::StillEntry) -> Still {
        Still {
            id: e.still.clone(),
            incident: e.incident.map(|i| i.0),
            drone: e.drone.0.clone(),
            t: e.taken_at,
            trigger: e.trigger.into(),
            position: LatLon {
                lat: e.lat,
                lon: e.lon,
            },
            alt_m: e.alt_m,
            heading_deg: e.heading_deg,
            stream: e.stream,
            by: e.by.clone(),
            bytes: e.bytes,
            url: format!("/api/stills/{}", e.still),
        }
    }
}

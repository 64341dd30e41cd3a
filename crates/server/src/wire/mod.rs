//! The API's wire shapes: every JSON body the server sends (REST and
//! websocket), as serializable types with their OpenAPI schemas.
//!
//! They are converted (`From`) from the fleet's and the core's types, never
//! serialized from those directly: a field renamed or added inside the core
//! does not change what clients get, and a variant added to a core enum
//! stops the build here until someone decides its wire name. The core's
//! enums are mirrored for the same reason (and because the core knows no
//! OpenAPI).
//!
//! - [`incident`]: incidents, assignments, routes, the dispatcher's decisions.
//! - [`fleet`]: drones, hangars, telemetry entries, an operator command's answer.
//! - [`zone`]: no-go zones as GeoJSON.
//! - [`service`]: health, map settings, metrics, the error body.
//! - [`cluster`]: the server's place in the dispatch lease, a standby's health.
//! - [`report`]: time lines, response times, daily summaries.
//! - [`traffic`]: manned aircraft, held launches and drones, the feed's health.
//! - [`event`]: websocket messages.
//! - [`share`]: share links, and what a shared view sees.
//! - [`wind`]: the wind field and how it shaped a plan.
//! - [`still`]: stills from the drones' cameras kept as evidence.

pub mod cluster;
pub mod event;
pub mod fleet;
pub mod incident;
pub mod report;
pub mod service;
pub mod share;
pub mod still;
pub mod traffic;
pub mod wind;
pub mod zone;

use dispatch_core::model as core;
use serde::Serialize;
use utoipa::ToSchema;

pub use event::{IncidentRef, WsMessage};
pub use fleet::{CommandResult, Drone, DroneLink, Hangar, TelemetryEntry};
pub use incident::{
    Assignment, Candidate, DispatchOutput, EnergyBudget, Incident, LineString, Rejection,
    ReportedIncident, Route, RouteError, TimelineEntry,
};
pub use report::{DailyReport, ResponseGroup, ResponseTimes, StageStats, Timeline, Track};
pub use service::{ErrorBody, ErrorDetail, Health, KindSettings, MapConfig, Metrics, Region};
pub use wind::{HangarWind, SortieWind, WeatherAccepted, WindEstimate, WindField, WindReport};
pub use zone::{ZoneCollection, ZoneFeature, ZoneProperties};

/// A WGS84 position in decimal degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

impl From<core::LatLon> for LatLon {
    fn from(p: core::LatLon) -> Self {
        LatLon {
            lat: p.lat,
            lon: p.lon,
        }
    }
}

/// Mirrors a field-less core enum as a wire enum with the same snake_case
/// names; the `match` is exhaustive, so a new core variant fails the build.
macro_rules! mirror_enum {
    ($(#[$m:meta])* $name:ident from $core:path { $($variant:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant),+
        }

        impl From<$core> for $name {
            fn from(v: $core) -> Self {
                use $core as C;
                match v {
                    $(C::$variant => $name::$variant),+
                }
            }
        }
    };
}

mirror_enum!(
    /// The kinds of incident (`patrol`: a configured patrol flight, never reported).
    IncidentKind from core::IncidentKind {
        SpectatorInDangerZone, PersonInWater, TidalSurgeWarning, HighriseFire, ForestFire,
        MissingPerson, Patrol,
    }
);

mirror_enum!(
    /// Where an incident is in its life cycle; `resolved`, `cancelled` and
    /// `failed` are final.
    IncidentStatus from core::IncidentStatus {
        Queued, Proposed, Assigned, EnRoute, OnScene, Returning, Resolved, Cancelled, Failed,
    }
);

mirror_enum!(
    /// What a drone is doing, as the dispatcher understands it.
    DroneState from core::DroneState {
        Docked, Charging, Preflight, EnRoute, OnScene, Returning, Landing, Lost, Maintenance,
    }
);

mirror_enum!(
    /// A payload or sensor a drone carries.
    Capability from core::Capability {
        Lifebuoy, Loudspeaker, ThermalCamera, Spotlight, ZoomCamera,
    }
);

mirror_enum!(
    /// What a no-go zone protects.
    ZoneKind from core::ZoneKind {
        Airport, Nuclear, Crowd, TemporaryClosure, Military, Other,
    }
);

mirror_enum!(
    /// How serious an alert is.
    Severity from ::fleet::Severity { Info, Warning, Critical }
);

/// A capability set as the list of its capabilities.
pub fn capabilities(set: core::CapabilitySet) -> Vec<Capability> {
    set.iter().map(Capability::from).collect()
}

/// How well the dispatcher hears a vehicle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    /// Never heard.
    Unknown,
    Up,
    /// Heartbeats late.
    Degraded,
    Lost,
}

impl LinkStatus {
    /// From the link's and the fleet's status names (`unknown` for any other).
    pub fn parse(s: &str) -> LinkStatus {
        match s {
            "up" => LinkStatus::Up,
            "degraded" => LinkStatus::Degraded,
            "lost" => LinkStatus::Lost,
            _ => LinkStatus::Unknown,
        }
    }
}

//! The service's own answers: health, the map's settings, metrics, and the
//! one error body every refused request gets.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Capability, IncidentKind};
use crate::auth::Principal;

/// Every error: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable and machine-readable: bad_request, unauthorized, forbidden,
    /// not_found, conflict, payload_too_large, invalid_field, rate_limited,
    /// vehicle_rejected, vehicle_error, vehicle_busy, vehicle_timeout,
    /// not_durable, database_unavailable, unavailable, event_log_unavailable,
    /// standby.
    pub code: String,
    /// For people: names the field or id at fault.
    pub message: String,
}

/// `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Health {
    pub status: HealthStatus,
    pub scenario: String,
    /// Scenario time.
    pub time: DateTime<Utc>,
    /// Seconds since the server started.
    pub uptime_s: f64,
    pub vehicles: VehicleCounts,
    pub http: HttpCounters,
    /// Whether a durable event log is kept.
    pub event_log: bool,
    /// The event log's database (null: no log is kept).
    pub database: Option<DatabaseHealth>,
    /// Every link together.
    pub link: LinkCounters,
    /// Each MAVLink link of the server.
    pub links: Vec<LinkHealth>,
    /// Manned traffic: tracks, reports, the SBS-1 feed.
    pub traffic: super::traffic::TrafficHealth,
    /// With `--node`: this server in the dispatch lease (null: a single server).
    pub cluster: Option<super::cluster::ClusterHealth>,
}

/// One MAVLink link: its name, where it listens, its vehicles and counters.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LinkHealth {
    pub name: String,
    /// Local socket address, where the link has one.
    pub local_addr: Option<String>,
    /// Drones configured on this link.
    pub vehicles: usize,
    pub counters: LinkCounters,
}

/// `ok`; `degraded`: the service runs (vehicles are followed and
/// commanded, reads answer) but its event log's database is not `ok`, so
/// changes are refused with `503`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Ok,
    Degraded,
}

/// The event log's database, as this server found it at its last write or
/// check (a leader or single server checks at least once a second; a
/// standby at each call on the dispatch lease, twice a second).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DatabaseHealth {
    pub backend: DatabaseBackend,
    pub state: DatabaseState,
    /// Since when it is in this state (wall clock).
    pub since: DateTime<Utc>,
    /// The last error of a write or check, with the database's URL (no
    /// password); kept once it works again.
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Events of the rescue kept in memory and not yet written: they are
    /// written when the database works again.
    pub unsaved_events: usize,
    /// Of those, the oldest let go to bound memory (incidents, sorties and
    /// zones are never let go).
    pub dropped_events: u64,
}

/// `sqlite`: the embedded log file; `postgres`: a server database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseBackend {
    Sqlite,
    Postgres,
}

/// `ok`: written or checked successfully; `unreachable`: the database
/// does not answer (writes answer `503 database_unavailable`); `failing`:
/// it answers but refuses writes (`503 not_durable`); `fenced`: another
/// server took the dispatch lease, this one writes nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseState {
    Ok,
    Unreachable,
    Failing,
    Fenced,
}

impl From<&fleet::store::DatabaseHealth> for DatabaseHealth {
    fn from(h: &fleet::store::DatabaseHealth) -> Self {
        use fleet::store::{Backend, DatabaseState as S};
        DatabaseHealth {
            backend: match h.backend {
                Backend::Sqlite => DatabaseBackend::Sqlite,
                Backend::Postgres => DatabaseBackend::Postgres,
            },
            state: match h.state {
                S::Ok => DatabaseState::Ok,
                S::Unreachable => DatabaseState::Unreachable,
                S::Failing => DatabaseState::Failing,
                S::Fenced => DatabaseState::Fenced,
            },
            since: h.since,
            last_error: h.last_error.clone(),
            last_error_at: h.last_error_at,
            unsaved_events: h.unsaved_events,
            dropped_events: h.dropped_events,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct VehicleCounts {
    pub configured: usize,
    /// Vehicles whose link is up.
    pub link_up: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct HttpCounters {
    /// Writes refused with 429.
    pub rate_limited: u64,
}

/// MAVLink input counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LinkCounters {
    pub frames: u64,
    pub bad_frames: u64,
    /// Unconfigured system ids heard.
    pub unknown_systems: usize,
    /// Frames from an address their system id is not bound to.
    pub foreign_address_frames: u64,
    pub signed_frames: u64,
    /// Frames refused by signature checks, by kind (unsigned, bad_signature, replayed, unknown_link).
    pub signing_refused: BTreeMap<String, u64>,
}

impl From<&mavlink_link::state::IngestCounters> for LinkCounters {
    fn from(c: &mavlink_link::state::IngestCounters) -> Self {
        LinkCounters {
            frames: c.frames,
            bad_frames: c.bad_frames,
            unknown_systems: c.unknown_systems.len(),
            foreign_address_frames: c.foreign_address.values().sum(),
            signed_frames: c.signed_frames,
            signing_refused: c
                .signing_refused
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect(),
        }
    }
}

/// `GET /api/config`: what the map needs.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MapConfig {
    pub scenario: String,
    /// The IANA time zone the map writes times in (`[scenario] time_zone`,
    /// default `UTC`); the API's own times are UTC instants.
    #[schema(example = "Asia/Shanghai")]
    pub time_zone: String,
    /// Names in Simplified Chinese where the configuration gives them
    /// (`name_zh`), for the map in Chinese.
    pub names_zh: NamesZh,
    pub region: Region,
    /// The configured incident kinds.
    pub kinds: Vec<KindSettings>,
    pub tile_url: Option<String>,
    pub tile_attribution: Option<String>,
    /// The caller.
    pub you: Principal,
    /// The cluster's servers as the map reaches them (`[cluster] servers`,
    /// `https://HOST:PORT`): when its server stops answering, the map
    /// carries on with the next that does. Empty for a single server.
    pub servers: Vec<String>,
}

/// Names in Simplified Chinese by id; an id left out has none (show `name`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct NamesZh {
    pub scenario: Option<String>,
    pub hangars: BTreeMap<String, String>,
    pub drones: BTreeMap<String, String>,
    /// The zones of the scenario's file (zones added through the API have none).
    pub zones: BTreeMap<String, String>,
}

impl From<&dispatch_core::config::LocalNames> for NamesZh {
    fn from(n: &dispatch_core::config::LocalNames) -> Self {
        NamesZh {
            scenario: n.scenario.clone(),
            hangars: n.hangars.clone(),
            drones: n.drones.clone(),
            zones: n.zones.clone(),
        }
    }
}

/// The rectangle dispatch operates in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Region {
    pub min_lat: f64,
    pub min_lon: f64,
    pub max_lat: f64,
    pub max_lon: f64,
}

impl From<dispatch_core::Region> for Region {
    fn from(r: dispatch_core::Region) -> Self {
        Region {
            min_lat: r.min_lat,
            min_lon: r.min_lon,
            max_lat: r.max_lat,
            max_lon: r.max_lon,
        }
    }
}

/// How one kind of incident is handled.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct KindSettings {
    pub kind: IncidentKind,
    /// 1 (lowest) to 5 (highest).
    pub priority: u8,
    pub life_threatening: bool,
    /// Launch at once (else a dispatcher confirms the proposal).
    pub auto_launch: bool,
    /// What a drone needs for it.
    pub capabilities: Vec<Capability>,
}

/// `GET /api/metrics`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Metrics {
    pub telemetry_latency_ms: Latency,
    pub websocket: WebsocketCounters,
    /// Telemetry messages built.
    pub telemetry_batches: u64,
    pub batch_window_ms: f64,
}

/// Percentiles in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Latency {
    /// What is measured.
    pub what: String,
    pub samples: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct WebsocketCounters {
    pub clients: usize,
    pub clients_total: u64,
    /// Clients closed because their socket stayed full.
    pub closed_slow: u64,
    pub resyncs: u64,
    pub messages_sent: u64,
}

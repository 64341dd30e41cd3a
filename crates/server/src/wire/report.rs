//! Case reports: an incident's time line with its drones' tracks, response
//! times, the daily summary.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::Incident;

/// `GET /api/incidents/{id}/timeline`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Timeline {
    pub incident: Incident,
    pub source: TimelineSource,
    /// From the event log: every logged event naming the incident, oldest
    /// first, as logged (`t`, `event` and its fields) with its `seq`. From
    /// memory: the incident's time line entries (`at`, `status`, `note`).
    pub events: Vec<serde_json::Map<String, serde_json::Value>>,
    /// The drones' tracks (empty from memory).
    pub tracks: Vec<Track>,
}

/// Where a time line comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimelineSource {
    EventLog,
    Memory,
}

/// One drone's track: one point per 5 s of scenario time while flying.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Track {
    pub drone: String,
    /// Each `[t, lat, lon, alt_m]`.
    #[schema(value_type = Vec<Vec<serde_json::Value>>)]
    pub points: Vec<TrackPoint>,
}

/// `[t, lat, lon, alt_m]`: scenario time (RFC 3339), position, metres above home.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackPoint(pub DateTime<Utc>, pub f64, pub f64, pub f64);

/// `GET /api/reports/response-times` (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ResponseTimes {
    /// The period asked (null: open).
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Incidents reported in the period.
    pub incidents: usize,
    /// The stages measured: assign, launch, on_scene, resolved.
    pub stages: Vec<String>,
    pub groups: Vec<ResponseGroup>,
}

/// One group: a kind and a hangar, either of them `all`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ResponseGroup {
    /// Incident kind, or `all`.
    pub kind: String,
    /// Hangar of the (last) assigned drone, `all`, or `none` (never assigned).
    pub hangar: String,
    pub incidents: usize,
    /// By stage name.
    pub stages: BTreeMap<String, StageStats>,
}

/// Seconds from the report to a stage: median and 90th percentile (nearest rank).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct StageStats {
    /// Incidents that reached the stage.
    pub n: usize,
    pub median_s: Option<f64>,
    pub p90_s: Option<f64>,
}

/// `GET /api/reports/daily`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DailyReport {
    /// The day asked (YYYY-MM-DD) and its UTC offset.
    pub date: String,
    pub offset: String,
    /// The day as `[from, to)`.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub incidents_reported: usize,
    /// Incidents by final (or current) status.
    pub incidents_by_status: BTreeMap<String, usize>,
    /// Sorties flown (incidents that reached en route), by kind.
    pub missions_by_kind: BTreeMap<String, usize>,
    /// Hours in the air per drone.
    pub flight_hours: BTreeMap<String, f64>,
    pub total_flight_hours: f64,
    pub alerts_by_severity: BTreeMap<String, usize>,
    /// The critical alerts' texts (the first 50).
    pub critical_alerts: Vec<String>,
}

impl From<&fleet::reports::StageStats> for StageStats {
    fn from(s: &fleet::reports::StageStats) -> Self {
        StageStats {
            n: s.n,
            median_s: s.median_s,
            p90_s: s.p90_s,
        }
    }
}

impl From<&fleet::reports::ResponseGroup> for ResponseGroup {
    fn from(g: &fleet::reports::ResponseGroup) -> Self {
        ResponseGroup {
            kind: g.kind.clone(),
            hangar: g.hangar.clone(),
            incidents: g.incidents,
            stages: g
                .stages
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.into()))
                .collect(),
        }
    }
}

impl DailyReport {
    pub fn new(date: String, offset: String, d: fleet::reports::DailySummary) -> DailyReport {
        DailyReport {
            date,
            offset,
            from: d.from,
            to: d.to,
            incidents_reported: d.incidents_reported,
            incidents_by_status: d.incidents_by_status,
            missions_by_kind: d.missions_by_kind,
            flight_hours: d.flight_hours,
            total_flight_hours: d.total_flight_hours,
            alerts_by_severity: d.alerts_by_severity,
            critical_alerts: d.critical_alerts,
        }
    }
}

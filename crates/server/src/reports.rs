//! Case handling and statistics: an incident's time line with its drones'
//! tracks, response times per kind and hangar (JSON or CSV), and the daily
//! summary. They read the durable event log; without one, the time line
//! and the response times come from what the running service holds.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use dispatch_core::{DroneId, IncidentRecord};
use fleet::reports;
use fleet::store::StoreError;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::PoisonError;

use crate::AppState;
use crate::api::{parse_incident_id, query_error};
use crate::error::ApiError;
use crate::wire;

/// Track points before the first and after the last event of an incident.
const TRACK_MARGIN_S: i64 = 60;

fn store_error(e: StoreError) -> ApiError {
    tracing::error!("{e}");
    ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "event_log_unavailable",
        format!("the event log cannot be read: {e}"),
    )
}

/// Runs a read of the event log on a blocking thread.
pub(crate) async fn read_log<T: Send + 'static>(
    store: fleet::SharedStore,
    f: impl FnOnce(&dyn fleet::store::Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || f(&*store.lock().unwrap_or_else(PoisonError::into_inner)))
        .await
        .map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                e.to_string(),
            )
        })?
        .map_err(store_error)
}

fn parse_time(what: &str, s: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .map_err(|e| {
            ApiError::bad_request(format!(
                "`{what}` = `{s}` is not an RFC 3339 time such as 2026-09-28T13:00:00+08:00: {e}"
            ))
        })
}

#[utoipa::path(get, path = "/api/incidents/{id}/timeline", tag = "incidents", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")),
    responses((status = 200, description = "The incident, every logged event that names it, and its drones' tracks (for the replay)", body = wire::Timeline),
              (status = 400, description = "The id is not a number", body = wire::ErrorBody),
              (status = 404, description = "Unknown incident", body = wire::ErrorBody),
              (status = 503, description = "The event log cannot be read", body = wire::ErrorBody)))]
pub async fn timeline(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<wire::Timeline>, ApiError> {
    let id = parse_incident_id(&id)?;
    let view = s.fleet.incident(id).await?;
    let incident = wire::Incident::from(&view);
    let Some(store) = s.fleet.store() else {
        let events = incident
            .timeline
            .iter()
            .filter_map(|e| match serde_json::to_value(e) {
                Ok(Value::Object(m)) => Some(m),
                _ => None,
            })
            .collect();
        return Ok(Json(wire::Timeline {
            incident,
            source: wire::report::TimelineSource::Memory,
            events,
            tracks: Vec::new(),
        }));
    };
    let open = !view.incident.status.is_terminal();
    let (events, tracks) = read_log(store, move |st| -> Result<_, StoreError> {
        let events = st.incident_events(id)?;
        let mut drones: Vec<DroneId> = Vec::new();
        for e in &events {
            let named = e.body.get("drone").and_then(|d| d.as_str()).or_else(|| {
                e.body
                    .pointer("/output/assignment/chosen/drone")
                    .and_then(|d| d.as_str())
            });
            if let Some(d) = named
                && !drones.iter().any(|x| x.0 == d)
            {
                drones.push(DroneId(d.to_owned()));
            }
        }
        let mut tracks = Vec::new();
        if let (Some(first), Some(last)) = (events.first(), events.last()) {
            let from = first.t - TimeDelta::seconds(TRACK_MARGIN_S);
            let to = if open {
                DateTime::<Utc>::MAX_UTC
            } else {
                last.t + TimeDelta::seconds(TRACK_MARGIN_S)
            };
            for d in drones {
                let points = st
                    .track(&d, from, to)?
                    .into_iter()
                    .map(|p| wire::report::TrackPoint(p.t, p.lat, p.lon, p.alt_m))
                    .collect();
                tracks.push(wire::Track { drone: d.0, points });
            }
        }
        // A logged event is an object; the log's row format is the fleet's.
        let events = events
            .into_iter()
            .map(|e| {
                let mut b = match e.body {
                    Value::Object(m) => m,
                    other => serde_json::Map::from_iter([("body".to_owned(), other)]),
                };
                b.insert("seq".to_owned(), json!(e.seq));
                b
            })
            .collect::<Vec<_>>();
        Ok((events, tracks))
    })
    .await?;
    Ok(Json(wire::Timeline {
        incident,
        source: wire::report::TimelineSource::EventLog,
        events,
        tracks,
    }))
}

/// `format` of the response-time report.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    Json,
    Csv,
}

/// `from` and `to` of a report (RFC 3339), `format` json or csv.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RangeQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub format: Option<String>,
}

#[utoipa::path(get, path = "/api/reports/response-times", tag = "reports", security(("bearer" = [])),
    params(("from" = Option<chrono::DateTime<Utc>>, Query, description = "Incidents reported at or after (RFC 3339)"),
           ("to" = Option<chrono::DateTime<Utc>>, Query, description = "... and before (RFC 3339); after `from`"),
           ("format" = Option<ReportFormat>, Query, description = "json (default) or csv")),
    responses((status = 200, description = "Time from report to assignment, launch, on scene and resolved; median and p90 per kind and hangar. CSV: one line per group and stage (`kind,hangar,incidents,stage,n,median_s,p90_s`)",
               content((wire::ResponseTimes = "application/json"), (String = "text/csv"))),
              (status = 400, description = "A malformed time or format, `from` not before `to`, an unknown parameter", body = wire::ErrorBody),
              (status = 503, description = "The event log cannot be read", body = wire::ErrorBody)))]
pub async fn response_times(
    State(s): State<AppState>,
    query: Result<Query<RangeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(query_error)?;
    let from = q
        .from
        .as_deref()
        .map(|t| parse_time("from", t))
        .transpose()?;
    let to = q.to.as_deref().map(|t| parse_time("to", t)).transpose()?;
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format `{other}`: use json or csv"
            )));
        }
    };
    let from = from.unwrap_or(DateTime::<Utc>::MIN_UTC);
    let to = to.unwrap_or(DateTime::<Utc>::MAX_UTC);
    if from >= to {
        return Err(ApiError::bad_request("`from` must be before `to`"));
    }
    let records: Vec<IncidentRecord> = match s.fleet.store() {
        Some(store) => read_log(store, move |st| st.incidents_reported(from, to))
            .await?
            .into_iter()
            .map(|r| r.record)
            .collect(),
        None => s
            .fleet
            .incidents()
            .await?
            .into_iter()
            .filter(|v| v.incident.reported_at >= from && v.incident.reported_at < to)
            .map(|v| IncidentRecord {
                incident: v.incident,
                assignment: v.assignment,
                auto_launch: v.auto_launch,
                timeline: v.timeline,
            })
            .collect(),
    };
    let groups = reports::response_times(&records);
    if csv {
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"response-times.csv\"",
                ),
            ],
            reports::response_times_csv(&groups),
        )
            .into_response());
    }
    Ok(Json(wire::ResponseTimes {
        from: (from != DateTime::<Utc>::MIN_UTC).then_some(from),
        to: (to != DateTime::<Utc>::MAX_UTC).then_some(to),
        incidents: records.len(),
        stages: reports::STAGES.iter().map(|s| (*s).to_owned()).collect(),
        groups: groups.iter().map(wire::ResponseGroup::from).collect(),
    })
    .into_response())
}

/// `date` (YYYY-MM-DD) and the UTC offset of the day (`+08:00`, default UTC).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DayQuery {
    pub date: Option<String>,
    pub offset: Option<String>,
}

#[utoipa::path(get, path = "/api/reports/daily", tag = "reports", security(("bearer" = [])),
    params(("date" = Option<chrono::NaiveDate>, Query, description = "The day, YYYY-MM-DD (default: today in scenario time)"),
           ("offset" = Option<String>, Query, description = "UTC offset of the day, e.g. +08:00 (default +00:00)", pattern = r"^[+-]([01][0-9]|2[0-3]):[0-5][0-9]$")),
    responses((status = 200, description = "Missions flown by kind, incidents by status, drones' flight hours, alerts", body = wire::DailyReport),
              (status = 400, description = "A malformed date or offset, an unknown parameter", body = wire::ErrorBody),
              (status = 409, description = "The service keeps no event log", body = wire::ErrorBody),
              (status = 503, description = "The event log cannot be read", body = wire::ErrorBody)))]
pub async fn daily(
    State(s): State<AppState>,
    query: Result<Query<DayQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<wire::DailyReport>, ApiError> {
    let Query(q) = query.map_err(query_error)?;
    let offset = match q.offset.as_deref() {
        None => chrono::FixedOffset::east_opt(0),
        Some(o) => DateTime::parse_from_rfc3339(&format!("2000-01-01T00:00:00{o}"))
            .ok()
            .map(|t| *t.offset()),
    }
    .ok_or_else(|| {
        ApiError::bad_request(format!(
            "offset `{}` is not a UTC offset such as +08:00",
            q.offset.as_deref().unwrap_or_default()
        ))
    })?;
    let date = match q.date.as_deref() {
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|e| ApiError::bad_request(format!("date `{d}` is not YYYY-MM-DD: {e}")))?,
        None => s
            .fleet
            .snapshot()
            .await?
            .time
            .with_timezone(&offset)
            .date_naive(),
    };
    let from = date
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(offset).single())
        .map(|t| t.to_utc())
        .ok_or_else(|| {
            ApiError::bad_request(format!("date {date} has no start in offset {offset}"))
        })?;
    let to = from + TimeDelta::days(1);
    let now = s.fleet.snapshot().await?.time;
    let Some(store) = s.fleet.store() else {
        return Err(ApiError::conflict(
            "this server keeps no event log (serve --event-log, or [server] event_log): there is nothing to summarise",
        ));
    };
    let summary = read_log(
        store,
        move |st| -> Result<reports::DailySummary, StoreError> {
            let incidents: Vec<IncidentRecord> = st
                .incidents_reported(from, to)?
                .into_iter()
                .map(|r| r.record)
                .collect();
            let drones = st.events_between(&["drone"], from, to)?;
            let alerts = st.events_between(&["alert"], from, to)?;
            Ok(reports::daily_summary(
                from, to, now, &incidents, &drones, &alerts,
            ))
        },
    )
    .await?;
    Ok(Json(wire::DailyReport::new(
        date.to_string(),
        offset.to_string(),
        summary,
    )))
}

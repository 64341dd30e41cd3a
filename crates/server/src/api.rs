//! The JSON API handlers. Each validates every field of its request before
//! anything changes, and answers errors as [`ApiError`].

use axum::Json;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use dispatch_core::model::{IncidentKind, IncidentStatus, LatLon, ZoneId};
use dispatch_core::{DroneId, IncidentId};
use fleet::{DroneCommand, NewIncident};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::ApiError;
use crate::wire;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;
pub(crate) const TEXT_LIMIT: usize = 2000;
pub(crate) const ID_LIMIT: usize = 128;
/// What [`check_text`] accepts, as a JSON Schema pattern: no control
/// character but the newline, and at least one character that is neither
/// white space nor control (Rust's `char::is_whitespace` set).
pub(crate) const TEXT_PATTERN: &str = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x09\x0b-\x1f\x7f-\x9f]*$";

/// Parses a JSON body, naming the field that is wrong.
pub fn parse_body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the request body is larger than {BODY_LIMIT} bytes"),
            )
        } else {
            ApiError::bad_request(format!("cannot read the request body: {e}"))
        }
    })?;
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "the request body is empty; send a JSON object",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(&body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data if path != "." && !path.is_empty() => {
                ApiError::invalid(format!("field `{path}`: {inner}"))
            }
            serde_json::error::Category::Data => ApiError::invalid(inner.to_string()),
            _ => ApiError::bad_request(format!("malformed JSON body: {inner}")),
        }
    })
}

/// A body that may be absent or `{}`.
pub(crate) fn parse_optional_body<T: DeserializeOwned + Default>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    match &body {
        Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(T::default()),
        _ => parse_body(body),
    }
}

fn check_lat_lon(lat: f64, lon: f64) -> Result<LatLon, ApiError> {
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(ApiError::invalid(format!(
            "field `lat`: {lat} is not a latitude in -90..=90"
        )));
    }
    if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
        return Err(ApiError::invalid(format!(
            "field `lon`: {lon} is not a longitude in -180..=180"
        )));
    }
    Ok(LatLon::new(lat, lon))
}

fn check_text(field: &str, v: Option<String>, limit: usize) -> Result<Option<String>, ApiError> {
    match v {
        Some(s) if s.trim().is_empty() => Err(ApiError::invalid(format!(
            "field `{field}`: must not be empty (leave it out instead)"
        ))),
        Some(s) if s.chars().count() > limit => Err(ApiError::invalid(format!(
            "field `{field}`: longer than {limit} characters"
        ))),
        Some(s) if s.chars().any(|c| c.is_control() && c != '\n') => Err(ApiError::invalid(
            format!("field `{field}`: control characters are not allowed"),
        )),
        other => Ok(other),
    }
}

fn parse_kind(s: &str, state: &AppState) -> Result<IncidentKind, ApiError> {
    let kind = IncidentKind::parse(s);
    match kind {
        Some(k) if state.kinds.contains(&k) => Ok(k),
        _ => Err(ApiError::invalid(format!(
            "field `kind`: unknown incident kind `{s}`; kinds: {}",
            state
                .kinds
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

pub(crate) fn parse_incident_id(s: &str) -> Result<IncidentId, ApiError> {
    s.parse::<u64>().map(IncidentId).map_err(|_| {
        ApiError::bad_request(format!("`{s}` is not an incident id (a positive number)"))
    })
}

#[utoipa::path(get, path = "/api/health", tag = "service",
    responses((status = 200, description = "The service is up: vehicles heard, link counters; \
        a standby (one of several servers, not holding the dispatch lease) answers `StandbyHealth`", body = wire::cluster::AnyHealth)))]
pub async fn health(State(s): State<AppState>) -> Result<Json<wire::Health>, ApiError> {
    let snap = s.fleet.snapshot().await?;
    let traffic = s.fleet.traffic().await?;
    let sbs = s.fleet.sbs();
    let heard = snap.drones.iter().filter(|d| d.link.status == "up").count();
    let mut all = mavlink_link::state::IngestCounters::default();
    let links = s
        .fleet
        .links()
        .iter()
        .map(|l| {
            let c = l.handle.counters();
            all.merge(&c);
            wire::service::LinkHealth {
                name: l.name.clone(),
                local_addr: l.handle.local_addr().map(|a| a.to_string()),
                vehicles: l.drones.len(),
                counters: (&c).into(),
            }
        })
        .collect();
    let database = s
        .fleet
        .database()
        .map(|d| wire::service::DatabaseHealth::from(&d));
    let status = match &database {
        Some(d) if d.state != wire::service::DatabaseState::Ok => {
            wire::service::HealthStatus::Degraded
        }
        _ => wire::service::HealthStatus::Ok,
    };
    Ok(Json(wire::Health {
        status,
        scenario: snap.scenario,
        time: snap.time,
        uptime_s: s.started.elapsed().as_secs_f64().round(),
        vehicles: wire::service::VehicleCounts {
            configured: snap.drones.len(),
            link_up: heard,
        },
        http: wire::service::HttpCounters {
            rate_limited: s.rate_limited.load(std::sync::atomic::Ordering::Relaxed),
        },
        event_log: s.fleet.store().is_some(),
        database,
        link: (&all).into(),
        links,
        traffic: wire::traffic::TrafficHealth::new(&traffic, sbs.as_ref()),
        cluster: s.cluster.as_ref().map(wire::cluster::ClusterHealth::of),
    }))
}

#[utoipa::path(get, path = "/api/config", tag = "service", security(("bearer" = [])),
    responses((status = 200, description = "What the map needs: region, time zone, names in Chinese, kinds, \
        tile layer, caller's role and the cluster's servers", body = wire::MapConfig)))]
pub async fn config(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<crate::auth::Principal>,
) -> Json<wire::MapConfig> {
    // `kinds` are the keys of `policies`, so every kind has its policy.
    let kinds = s
        .kinds
        .iter()
        .filter_map(|k| {
            let p = s.scenario.policies.get(k)?;
            Some(wire::KindSettings {
                kind: (*k).into(),
                priority: p.priority,
                life_threatening: p.life_threatening,
                auto_launch: s.scenario.auto_launch.get(k).copied().unwrap_or(true),
                capabilities: wire::capabilities(p.capabilities),
            })
        })
        .collect();
    Json(wire::MapConfig {
        scenario: s.scenario.name.clone(),
        time_zone: s.scenario.time_zone.name().to_owned(),
        names_zh: (&s.scenario.names_zh).into(),
        region: s.scenario.region.into(),
        kinds,
        tile_url: s.scenario.server.tile_url.clone(),
        tile_attribution: s.scenario.server.tile_attribution.clone(),
        you: who,
        servers: s.servers.to_vec(),
    })
}

#[utoipa::path(get, path = "/api/hangars", tag = "fleet", security(("bearer" = [])),
    responses((status = 200, description = "Hangars with the drones docked or charging in them", body = Vec<wire::Hangar>)))]
pub async fn hangars(State(s): State<AppState>) -> Result<Json<Vec<wire::Hangar>>, ApiError> {
    let snap = s.fleet.snapshot().await?;
    Ok(Json(snap.hangars.iter().map(wire::Hangar::from).collect()))
}

#[utoipa::path(get, path = "/api/drones", tag = "fleet", security(("bearer" = [])),
    responses((status = 200, description = "Every drone: state, position, altitude, battery, mode, link, task", body = Vec<wire::Drone>)))]
pub async fn drones(State(s): State<AppState>) -> Result<Json<Vec<wire::Drone>>, ApiError> {
    let snap = s.fleet.snapshot().await?;
    Ok(Json(snap.drones.iter().map(wire::Drone::from).collect()))
}

#[utoipa::path(get, path = "/api/drones/{id}", tag = "fleet", security(("bearer" = [])),
    params(("id" = String, Path, description = "Drone id")),
    responses((status = 200, description = "One drone", body = wire::Drone),
        (status = 404, description = "Unknown drone", body = wire::ErrorBody)))]
pub async fn drone(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<wire::Drone>, ApiError> {
    let snap = s.fleet.snapshot().await?;
    snap.drones
        .iter()
        .find(|d| d.id.0 == id)
        .map(|d| Json(wire::Drone::from(d)))
        .ok_or_else(|| ApiError::not_found(format!("unknown drone `{id}`")))
}

/// An operator's command to one drone. Its schema (one object per action,
/// with only that action's fields) is written in [`crate::openapi`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandRequest {
    /// rtl, land, hold, resume, goto, drop_payload or loudspeaker.
    pub action: String,
    /// goto: target latitude.
    pub lat: Option<f64>,
    /// goto: target longitude.
    pub lon: Option<f64>,
    /// goto: altitude above home, metres (default: cruise altitude).
    pub alt_m: Option<f64>,
    /// loudspeaker: play the clip of this incident kind (default: the drone's task).
    pub kind: Option<String>,
}

#[utoipa::path(post, path = "/api/drones/{id}/command", tag = "fleet", security(("bearer" = [])),
    params(("id" = String, Path, description = "Drone id")),
    request_body(content = inline(Object), description = "One action with its fields (schema `CommandRequest`)"),
    responses((status = 200, description = "The vehicle accepted the command", body = wire::CommandResult),
        (status = 400, description = "Malformed JSON or an empty body", body = wire::ErrorBody),
        (status = 404, description = "Unknown drone", body = wire::ErrorBody),
        (status = 409, description = "Not possible now (not flying, no such payload, never heard, busy)", body = wire::ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = wire::ErrorBody),
        (status = 422, description = "A field is missing, out of range or does not belong to the action", body = wire::ErrorBody),
        (status = 502, description = "The vehicle refused", body = wire::ErrorBody),
        (status = 504, description = "No answer from the vehicle", body = wire::ErrorBody)))]
pub async fn command(
    State(s): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<wire::CommandResult>, ApiError> {
    let req: CommandRequest = parse_body(body)?;
    let only = |allowed: &[&str]| -> Result<(), ApiError> {
        for (name, present) in [
            ("lat", req.lat.is_some()),
            ("lon", req.lon.is_some()),
            ("alt_m", req.alt_m.is_some()),
            ("kind", req.kind.is_some()),
        ] {
            if present && !allowed.contains(&name) {
                return Err(ApiError::invalid(format!(
                    "field `{name}` does not apply to action `{}`",
                    req.action
                )));
            }
        }
        Ok(())
    };
    let cmd = match req.action.as_str() {
        "rtl" => only(&[]).map(|()| DroneCommand::Rtl),
        "land" => only(&[]).map(|()| DroneCommand::Land),
        "hold" => only(&[]).map(|()| DroneCommand::Hold),
        "resume" => only(&[]).map(|()| DroneCommand::Resume),
        "drop_payload" => only(&[]).map(|()| DroneCommand::DropPayload),
        "goto" => {
            only(&["lat", "lon", "alt_m"])?;
            let (Some(lat), Some(lon)) = (req.lat, req.lon) else {
                return Err(ApiError::invalid(
                    "action `goto` needs fields `lat` and `lon`",
                ));
            };
            let position = check_lat_lon(lat, lon)?;
            if let Some(a) = req.alt_m
                && !(a.is_finite() && (5.0..=120.0).contains(&a))
            {
                return Err(ApiError::invalid(format!(
                    "field `alt_m`: {a} is outside 5..=120 m above home"
                )));
            }
            Ok(DroneCommand::Goto {
                position,
                alt_m: req.alt_m,
            })
        }
        "loudspeaker" => {
            only(&["kind"])?;
            let kind = req.kind.as_deref().map(|k| parse_kind(k, &s)).transpose()?;
            Ok(DroneCommand::Loudspeaker { kind })
        }
        other => Err(ApiError::invalid(format!(
            "field `action`: unknown action `{other}`; actions: rtl, land, hold, resume, goto, drop_payload, loudspeaker"
        ))),
    }?;
    let action = cmd.name();
    let answer = s.fleet.command(DroneId(id.clone()), cmd).await?;
    Ok(Json(wire::CommandResult {
        drone: id,
        action: action.to_owned(),
        result: wire::fleet::CommandAccepted::Accepted,
        message: answer,
    }))
}

/// Binds a drone to one address: the vehicle is heard only from there.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindRequest {
    /// The vehicle's address as the server hears it, IPv4 `IP:PORT` (see the contest alert).
    #[schema(
        example = "127.0.0.1:14561",
        pattern = r"^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]):([0-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$"
    )]
    pub address: String,
}

#[utoipa::path(post, path = "/api/drones/{id}/bind", tag = "fleet", security(("bearer" = [])),
    params(("id" = String, Path, description = "Drone id")),
    request_body(content = BindRequest, description = "The one address to hear the drone from"),
    responses((status = 200, description = "Bound: the drone is heard only from that address; a contest is over", body = wire::CommandResult),
        (status = 400, description = "Malformed JSON or an empty body", body = wire::ErrorBody),
        (status = 404, description = "Unknown drone", body = wire::ErrorBody),
        (status = 409, description = "Not possible (system id not on its link)", body = wire::ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = wire::ErrorBody),
        (status = 422, description = "`address` is not IP:PORT", body = wire::ErrorBody)))]
pub async fn bind(
    State(s): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<wire::CommandResult>, ApiError> {
    let req: BindRequest = parse_body(body)?;
    let address: std::net::SocketAddr = req.address.parse().map_err(|_| {
        ApiError::invalid(format!(
            "field `address`: `{}` is not IP:PORT (e.g. 127.0.0.1:14561)",
            req.address
        ))
    })?;
    let answer = s.fleet.bind(DroneId(id.clone()), address).await?;
    Ok(Json(wire::CommandResult {
        drone: id,
        action: "bind".to_owned(),
        result: wire::fleet::CommandAccepted::Accepted,
        message: answer,
    }))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ZonesQuery {
    /// `true`: only zones active now.
    pub active: Option<bool>,
}

#[utoipa::path(get, path = "/api/zones", tag = "zones", security(("bearer" = [])),
    params(("active" = Option<bool>, Query, description = "Only zones active now")),
    responses((status = 200, description = "GeoJSON FeatureCollection of the no-go zones, with `active_now`", body = wire::ZoneCollection),
        (status = 400, description = "`active` is not true or false, or an unknown parameter", body = wire::ErrorBody)))]
pub async fn zones(
    State(s): State<AppState>,
    query: Result<Query<ZonesQuery>, QueryRejection>,
) -> Result<Json<wire::ZoneCollection>, ApiError> {
    let Query(q) = query.map_err(query_error)?;
    let snap = s.fleet.snapshot().await?;
    let zones = snap
        .zones
        .iter()
        .filter(|z| q.active != Some(true) || z.window.active_at(snap.time));
    Ok(Json(wire::ZoneCollection::new(
        zones,
        snap.time,
        &s.config_zone_ids,
    )))
}

#[utoipa::path(post, path = "/api/zones", tag = "zones", security(("bearer" = [])),
    request_body(content = inline(Object), description = "A GeoJSON Feature with a Polygon geometry and the zones-file properties (schema `ZoneRequest`)"),
    responses((status = 201, description = "The zone is in force for planning", body = wire::ZoneFeature),
        (status = 400, description = "Malformed JSON or an empty body", body = wire::ErrorBody),
        (status = 409, description = "A zone with this id exists", body = wire::ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = wire::ErrorBody),
        (status = 422, description = "Invalid zone: a property, the polygon (closed, simple, inside the region, at least 1 m²), the band or the window", body = wire::ErrorBody)))]
pub async fn add_zone(
    State(s): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let feature: Value = parse_body(body)?;
    if feature.get("type").and_then(Value::as_str) != Some("Feature") {
        return Err(ApiError::invalid(
            "field `type`: the body must be one GeoJSON Feature with a Polygon geometry",
        ));
    }
    let text = json!({"type": "FeatureCollection", "features": [feature]}).to_string();
    let mut zones = dispatch_core::config::parse_zones(
        std::path::Path::new("request body"),
        &text,
        s.scenario.region,
    )
    .map_err(|e| {
        ApiError::invalid(
            e.problems
                .iter()
                .map(|p| match &p.item {
                    Some(i) => format!("{i}: {}", p.message),
                    None => p.message.clone(),
                })
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let zone = zones
        .pop()
        .ok_or_else(|| ApiError::invalid("the feature holds no zone"))?;
    let snap = s.fleet.snapshot().await?;
    if snap.zones.iter().any(|z| z.id == zone.id) {
        return Err(ApiError::conflict(format!(
            "a zone `{}` exists; delete it first or choose another id",
            zone.id
        )));
    }
    let now = snap.time;
    let body = wire::ZoneFeature::new(&zone, now, false);
    s.fleet.upsert_zone(zone).await?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[utoipa::path(delete, path = "/api/zones/{id}", tag = "zones", security(("bearer" = [])),
    params(("id" = String, Path, description = "Zone id")),
    responses((status = 204, description = "Removed"), (status = 404, description = "Unknown zone", body = wire::ErrorBody),
        (status = 409, description = "A zone of the configuration file (edit the file instead)", body = wire::ErrorBody)))]
pub async fn delete_zone(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if s.config_zone_ids.contains(&id) {
        return Err(ApiError::conflict(format!(
            "zone `{id}` comes from the scenario's zones file; change it there"
        )));
    }
    s.fleet.remove_zone(ZoneId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new incident (from the map, a camera's analytics or the call centre).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentRequest {
    /// One of the scenario's kinds but `patrol` (the served document lists them).
    pub kind: String,
    /// Inside the operating region (the served document gives its bounds).
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    #[schema(minimum = -180, maximum = 180)]
    pub lon: f64,
    /// Free text for the crews.
    #[schema(max_length = 2000)]
    pub note: Option<String>,
    /// The reporting system, e.g. `shore-camera-7`.
    #[schema(max_length = 128)]
    pub source: Option<String>,
    /// The reporting system's own id; with `source` (needed then), retries find the same incident.
    #[schema(max_length = 128)]
    pub external_id: Option<String>,
}

#[utoipa::path(post, path = "/api/incidents", tag = "incidents", security(("bearer" = [])),
    request_body = IncidentRequest,
    responses((status = 201, description = "Opened, with the proposed or launched drone, ETA, route (GeoJSON), energy budget, alternatives", body = wire::ReportedIncident),
        (status = 202, description = "Opened and queued: no drone can take it now (see `reason`)", body = wire::ReportedIncident),
        (status = 200, description = "Already reported with this source and external_id: the existing incident", body = wire::ReportedIncident),
        (status = 400, description = "Malformed JSON or an empty body", body = wire::ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = wire::ErrorBody),
        (status = 422, description = "A field is missing, invalid or outside the region, or an unknown field", body = wire::ErrorBody)))]
pub async fn report(
    State(s): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req: IncidentRequest = parse_body(body)?;
    let kind = parse_kind(&req.kind, &s)?;
    if kind == IncidentKind::Patrol {
        return Err(ApiError::invalid(
            "field `kind`: patrols are configured routes, not reports",
        ));
    }
    let position = check_lat_lon(req.lat, req.lon)?;
    if !s.scenario.region.contains(position) {
        return Err(ApiError::invalid(format!(
            "fields `lat`, `lon`: {position} is outside the operating region"
        )));
    }
    let new = NewIncident {
        kind,
        position,
        note: check_text("note", req.note, TEXT_LIMIT)?,
        source: check_text("source", req.source, ID_LIMIT)?,
        external_id: check_text("external_id", req.external_id, ID_LIMIT)?,
    };
    if new.external_id.is_some() && new.source.is_none() {
        return Err(ApiError::invalid(
            "field `source`: needed with `external_id` (the system that reported it)",
        ));
    }
    let out = s.fleet.report(new).await?;
    let status = if !out.created {
        StatusCode::OK
    } else if out.incident.incident.status == IncidentStatus::Queued {
        StatusCode::ACCEPTED
    } else {
        StatusCode::CREATED
    };
    let body = wire::ReportedIncident {
        incident: (&out.incident).into(),
        created: out.created,
    };
    Ok((status, Json(body)).into_response())
}

/// `status` of `GET /api/incidents`: `open` (not ended) or one status.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentsFilter {
    Open,
    Queued,
    Proposed,
    Assigned,
    EnRoute,
    OnScene,
    Returning,
    Resolved,
    Cancelled,
    Failed,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct IncidentsQuery {
    /// `open` (not ended) or a status name.
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/api/incidents", tag = "incidents", security(("bearer" = [])),
    params(("status" = Option<IncidentsFilter>, Query, description = "`open` (not ended), or one status")),
    responses((status = 200, description = "Incidents, newest first", body = Vec<wire::Incident>),
        (status = 400, description = "An unknown parameter", body = wire::ErrorBody),
        (status = 422, description = "An unknown status", body = wire::ErrorBody)))]
pub async fn incidents(
    State(s): State<AppState>,
    query: Result<Query<IncidentsQuery>, QueryRejection>,
) -> Result<Json<Vec<wire::Incident>>, ApiError> {
    let Query(q) = query.map_err(query_error)?;
    const KNOWN: [&str; 9] = [
        "queued",
        "proposed",
        "assigned",
        "en_route",
        "on_scene",
        "returning",
        "resolved",
        "cancelled",
        "failed",
    ];
    if let Some(st) = q.status.as_deref()
        && st != "open"
        && !KNOWN.contains(&st)
    {
        return Err(ApiError::invalid(format!(
            "query `status`: unknown status `{st}`; use open or one of {}",
            KNOWN.join(", ")
        )));
    }
    let all = s.fleet.incidents().await?;
    let out = all
        .iter()
        .rev()
        .filter(|v| match q.status.as_deref() {
            None => true,
            Some("open") => !v.incident.status.is_terminal(),
            Some(st) => v.incident.status.as_str() == st,
        })
        .map(wire::Incident::from)
        .collect();
    Ok(Json(out))
}

#[utoipa::path(get, path = "/api/incidents/{id}", tag = "incidents", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")),
    responses((status = 200, description = "The incident with its time line", body = wire::Incident),
        (status = 400, description = "The id is not a number", body = wire::ErrorBody),
        (status = 404, description = "Unknown incident", body = wire::ErrorBody)))]
pub async fn incident(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<wire::Incident>, ApiError> {
    let id = parse_incident_id(&id)?;
    Ok(Json((&s.fleet.incident(id).await?).into()))
}

/// Why (optional) for cancel, resolve and reassign.
#[derive(Debug, Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

fn reason(body: Result<Bytes, BytesRejection>, default: &str) -> Result<String, ApiError> {
    let r: ReasonRequest = parse_optional_body(body)?;
    Ok(check_text("reason", r.reason, TEXT_LIMIT)?.unwrap_or_else(|| default.to_owned()))
}

#[utoipa::path(post, path = "/api/incidents/{id}/dispatch", tag = "incidents", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")),
    responses((status = 200, description = "The proposed drone launches", body = wire::Incident),
        (status = 400, description = "The id is not a number", body = wire::ErrorBody),
        (status = 404, description = "Unknown incident", body = wire::ErrorBody),
        (status = 409, description = "Nothing proposed to launch", body = wire::ErrorBody)))]
pub async fn dispatch(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<wire::Incident>, ApiError> {
    let id = parse_incident_id(&id)?;
    Ok(Json((&s.fleet.launch(id).await?).into()))
}

#[utoipa::path(post, path = "/api/incidents/{id}/cancel", tag = "incidents", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")), request_body(content = ReasonRequest, description = "Optional: no body, or an object", content_type = "application/json"),
    responses((status = 200, description = "Cancelled; a drone out for it flies its planned way home", body = wire::Incident),
        (status = 400, description = "The id is not a number, or malformed JSON", body = wire::ErrorBody),
        (status = 404, description = "Unknown incident", body = wire::ErrorBody),
        (status = 409, description = "Already ended", body = wire::ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = wire::ErrorBody),
        (status = 422, description = "`reason` is invalid, or an unknown field", body = wire::ErrorBody)))]
pub async fn cancel(
    State(s): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<wire::Incident>, ApiError> {
    let id = parse_incident_id(&id)?;
    let why = reason(body, "cancelled by a dispatcher")?;
    Ok(Json((&s.fleet.cancel(id, why).await?).into()))
}

#[utoipa::path(post, path = "/api/incidents/{id}/resolve", tag = "incidents", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")), request_body(content = ReasonRequest, description = "Optional: no body, or an object", content_type = "application/json"),
    responses((status = 200, description = "Resolved", body = wire::Incident),
        (status = 400, description = "The id is not a number, or malformed JSON", body = wire::ErrorBody),
        (status = 404, description = "Unknown incident", body = wire::ErrorBody),
        (status = 409, description = "Not on scene or returning", body = wire::ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = wire::ErrorBody),
        (status = 422, description = "`reason` is invalid, or an unknown field", body = wire::ErrorBody)))]
pub async fn resolve(
    State(s): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<wire::Incident>, ApiError> {
    let id = parse_incident_id(&id)?;
    let why = reason(body, "resolved by a dispatcher")?;
    Ok(Json((&s.fleet.resolve(id, why).await?).into()))
}

#[utoipa::path(post, path = "/api/incidents/{id}/reassign", tag = "incidents", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")), request_body(content = ReasonRequest, description = "Optional: no body, or an object", content_type = "application/json"),
    responses((status = 200, description = "Planned again; the drone it had flies home", body = wire::Incident),
        (status = 400, description = "The id is not a number, or malformed JSON", body = wire::ErrorBody),
        (status = 404, description = "Unknown incident", body = wire::ErrorBody),
        (status = 409, description = "Cannot be reassigned in its status", body = wire::ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = wire::ErrorBody),
        (status = 422, description = "`reason` is invalid, or an unknown field", body = wire::ErrorBody)))]
pub async fn reassign(
    State(s): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<wire::Incident>, ApiError> {
    let id = parse_incident_id(&id)?;
    let why = reason(body, "no reason given")?;
    Ok(Json((&s.fleet.reassign(id, why).await?).into()))
}

#[utoipa::path(get, path = "/api/metrics", tag = "service", security(("bearer" = [])),
    responses((status = 200, description = "Telemetry fan-out latency (frame received to websocket frame sent), clients, counters", body = wire::Metrics)))]
pub async fn metrics(State(s): State<AppState>) -> Json<wire::Metrics> {
    Json(s.hub.metrics())
}

/// A query string that does not parse, as the one error body.
pub(crate) fn query_error(e: QueryRejection) -> ApiError {
    ApiError::bad_request(format!("query: {}", e.body_text()))
}

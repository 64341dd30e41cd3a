//! The JSON API handlers. Each validates every field of its request before
//! anything changes, and answers errors as [`ApiError`].

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use dispatch_core::model::{IncidentKind, IncidentStatus, LatLon, Zone, ZoneId};
use dispatch_core::{DroneId, IncidentId};
use fleet::{DroneCommand, IncidentView, NewIncident};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::ApiError;
use crate::geo_json;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;
const TEXT_LIMIT: usize = 2000;
const ID_LIMIT: usize = 128;

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
fn parse_optional_body<T: DeserializeOwned + Default>(
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

/// An incident as JSON, with its route and return route as GeoJSON LineStrings.
pub fn incident_json(v: &IncidentView) -> Value {
    let mut j = serde_json::to_value(v).unwrap_or_else(|_| json!({}));
    if let Some(a) = &v.assignment {
        j["route"] = geo_json::line(&a.route.waypoints);
        j["return_route"] = geo_json::line(&a.return_route.waypoints);
    } else {
        j["route"] = Value::Null;
        j["return_route"] = Value::Null;
    }
    j
}

#[utoipa::path(get, path = "/api/health", tag = "service",
    responses((status = 200, description = "The service is up: vehicles heard, link counters")))]
pub async fn health(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let snap = s.fleet.snapshot().await?;
    let heard = snap.drones.iter().filter(|d| d.link.status == "up").count();
    let c = s.fleet.link().counters();
    Ok(Json(json!({
        "status": "ok",
        "scenario": snap.scenario,
        "time": snap.time,
        "uptime_s": s.started.elapsed().as_secs_f64().round(),
        "vehicles": {"configured": snap.drones.len(), "link_up": heard},
        "http": {"rate_limited": s.rate_limited.load(std::sync::atomic::Ordering::Relaxed)},
        "event_log": s.fleet.store().is_some(),
        "link": {
            "frames": c.frames,
            "bad_frames": c.bad_frames,
            "unknown_systems": c.unknown_systems.len(),
            "foreign_address_frames": c.foreign_address.values().sum::<u64>(),
            "signed_frames": c.signed_frames,
            "signing_refused": c.signing_refused,
        },
    })))
}

#[utoipa::path(get, path = "/api/config", tag = "service", security(("bearer" = [])),
    responses((status = 200, description = "What the map needs: region, kinds, tile layer, caller's role")))]
pub async fn config(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<crate::auth::Principal>,
) -> Json<Value> {
    let kinds: Vec<Value> = s
        .kinds
        .iter()
        .map(|k| {
            let p = s.scenario.policies.get(k);
            json!({
                "kind": k.as_str(),
                "priority": p.map(|p| p.priority),
                "life_threatening": p.map(|p| p.life_threatening),
                "auto_launch": s.scenario.auto_launch.get(k).copied().unwrap_or(true),
                "capabilities": p.map(|p| p.capabilities),
            })
        })
        .collect();
    Json(json!({
        "scenario": s.scenario.name,
        "region": s.scenario.region,
        "kinds": kinds,
        "tile_url": s.scenario.server.tile_url,
        "tile_attribution": s.scenario.server.tile_attribution,
        "you": who,
    }))
}

#[utoipa::path(get, path = "/api/hangars", tag = "fleet", security(("bearer" = [])),
    responses((status = 200, description = "Hangars with the drones docked or charging in them")))]
pub async fn hangars(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let snap = s.fleet.snapshot().await?;
    Ok(Json(json!(snap.hangars)))
}

#[utoipa::path(get, path = "/api/drones", tag = "fleet", security(("bearer" = [])),
    responses((status = 200, description = "Every drone: state, position, altitude, battery, mode, link, task")))]
pub async fn drones(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let snap = s.fleet.snapshot().await?;
    Ok(Json(json!(snap.drones)))
}

#[utoipa::path(get, path = "/api/drones/{id}", tag = "fleet", security(("bearer" = [])),
    params(("id" = String, Path, description = "Drone id")),
    responses((status = 200, description = "One drone"), (status = 404, description = "Unknown drone")))]
pub async fn drone(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let snap = s.fleet.snapshot().await?;
    snap.drones
        .iter()
        .find(|d| d.id.0 == id)
        .map(|d| Json(json!(d)))
        .ok_or_else(|| ApiError::not_found(format!("unknown drone `{id}`")))
}

/// An operator's command to one drone.
#[derive(Debug, Deserialize, ToSchema)]
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
    request_body = CommandRequest,
    responses((status = 200, description = "The vehicle accepted the command"),
        (status = 409, description = "Not possible now (e.g. not flying)"),
        (status = 502, description = "The vehicle refused"), (status = 504, description = "No answer from the vehicle")))]
pub async fn command(
    State(s): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(
        json!({"drone": id, "action": action, "result": "accepted", "message": answer}),
    ))
}

#[derive(Debug, Deserialize, Default)]
pub struct ZonesQuery {
    /// `true`: only zones active now.
    pub active: Option<bool>,
}

#[utoipa::path(get, path = "/api/zones", tag = "zones", security(("bearer" = [])),
    params(("active" = Option<bool>, Query, description = "Only zones active now")),
    responses((status = 200, description = "GeoJSON FeatureCollection of the no-go zones, with `active_now`")))]
pub async fn zones(
    State(s): State<AppState>,
    Query(q): Query<ZonesQuery>,
) -> Result<Json<Value>, ApiError> {
    let snap = s.fleet.snapshot().await?;
    let zones: Vec<&Zone> = snap
        .zones
        .iter()
        .filter(|z| q.active != Some(true) || z.window.active_at(snap.time))
        .collect();
    Ok(Json(geo_json::zones(&zones, snap.time, &s.config_zone_ids)))
}

#[utoipa::path(post, path = "/api/zones", tag = "zones", security(("bearer" = [])),
    request_body(content = Object, description = "A GeoJSON Feature (Polygon) with properties id, name, kind, floor_m, ceiling_m, active_from, active_until, rescue_exempt"),
    responses((status = 201, description = "The zone is in force for planning"),
        (status = 409, description = "A zone with this id exists"), (status = 422, description = "Invalid zone")))]
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
    let body = geo_json::zone(&zone, now, false);
    s.fleet.upsert_zone(zone).await?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[utoipa::path(delete, path = "/api/zones/{id}", tag = "zones", security(("bearer" = [])),
    params(("id" = String, Path, description = "Zone id")),
    responses((status = 204, description = "Removed"), (status = 404, description = "Unknown zone"),
        (status = 409, description = "A zone of the configuration file (edit the file instead)")))]
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
    /// person_in_water, spectator_in_danger_zone, tidal_surge_warning, highrise_fire, forest_fire, missing_person.
    pub kind: String,
    pub lat: f64,
    pub lon: f64,
    /// Free text for the crews.
    pub note: Option<String>,
    /// The reporting system, e.g. `shore-camera-7`.
    pub source: Option<String>,
    /// The reporting system's own id; with `source`, retries find the same incident.
    pub external_id: Option<String>,
}

#[utoipa::path(post, path = "/api/incidents", tag = "incidents", security(("bearer" = [])),
    request_body = IncidentRequest,
    responses((status = 201, description = "Opened, with the proposed or launched drone, ETA, route (GeoJSON), energy budget, alternatives"),
        (status = 202, description = "Opened and queued: no drone can take it now (see `reason`)"),
        (status = 200, description = "Already reported with this source and external_id: the existing incident"),
        (status = 422, description = "A field is invalid")))]
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
    let mut body = incident_json(&out.incident);
    body["created"] = json!(out.created);
    Ok((status, Json(body)).into_response())
}

#[derive(Debug, Deserialize, Default)]
pub struct IncidentsQuery {
    /// `open` (not ended) or a status name.
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/api/incidents", tag = "incidents", security(("bearer" = [])),
    params(("status" = Option<String>, Query, description = "`open`, or one status (queued, proposed, assigned, en_route, on_scene, returning, resolved, cancelled, failed)")),
    responses((status = 200, description = "Incidents, newest first")))]
pub async fn incidents(
    State(s): State<AppState>,
    Query(q): Query<IncidentsQuery>,
) -> Result<Json<Value>, ApiError> {
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
    let out: Vec<Value> = all
        .iter()
        .rev()
        .filter(|v| match q.status.as_deref() {
            None => true,
            Some("open") => !v.incident.status.is_terminal(),
            Some(st) => v.incident.status.as_str() == st,
        })
        .map(incident_json)
        .collect();
    Ok(Json(Value::Array(out)))
}

#[utoipa::path(get, path = "/api/incidents/{id}", tag = "incidents", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")),
    responses((status = 200, description = "The incident with its time line"), (status = 404, description = "Unknown incident")))]
pub async fn incident(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_incident_id(&id)?;
    Ok(Json(incident_json(&s.fleet.incident(id).await?)))
}

/// Why (optional) for cancel, resolve and reassign.
#[derive(Debug, Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    pub reason: Option<String>,
}

fn reason(body: Result<Bytes, BytesRejection>, default: &str) -> Result<String, ApiError> {
    let r: ReasonRequest = parse_optional_body(body)?;
    Ok(check_text("reason", r.reason, TEXT_LIMIT)?.unwrap_or_else(|| default.to_owned()))
}

#[utoipa::path(post, path = "/api/incidents/{id}/dispatch", tag = "incidents", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")),
    responses((status = 200, description = "The proposed drone launches"), (status = 409, description = "Nothing proposed to launch")))]
pub async fn dispatch(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_incident_id(&id)?;
    Ok(Json(incident_json(&s.fleet.launch(id).await?)))
}

#[utoipa::path(post, path = "/api/incidents/{id}/cancel", tag = "incidents", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")), request_body = ReasonRequest,
    responses((status = 200, description = "Cancelled; a drone out for it flies its planned way home"), (status = 409, description = "Already ended")))]
pub async fn cancel(
    State(s): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_incident_id(&id)?;
    let why = reason(body, "cancelled by a dispatcher")?;
    Ok(Json(incident_json(&s.fleet.cancel(id, why).await?)))
}

#[utoipa::path(post, path = "/api/incidents/{id}/resolve", tag = "incidents", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")), request_body = ReasonRequest,
    responses((status = 200, description = "Resolved"), (status = 409, description = "Not on scene or returning")))]
pub async fn resolve(
    State(s): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_incident_id(&id)?;
    let why = reason(body, "resolved by a dispatcher")?;
    Ok(Json(incident_json(&s.fleet.resolve(id, why).await?)))
}

#[utoipa::path(post, path = "/api/incidents/{id}/reassign", tag = "incidents", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")), request_body = ReasonRequest,
    responses((status = 200, description = "Planned again; the drone it had flies home"), (status = 409, description = "Cannot be reassigned in its status")))]
pub async fn reassign(
    State(s): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_incident_id(&id)?;
    let why = reason(body, "no reason given")?;
    Ok(Json(incident_json(&s.fleet.reassign(id, why).await?)))
}

#[utoipa::path(get, path = "/api/metrics", tag = "service", security(("bearer" = [])),
    responses((status = 200, description = "Telemetry fan-out latency (frame received to websocket frame sent), clients, counters")))]
pub async fn metrics(State(s): State<AppState>) -> Json<Value> {
    Json(s.hub.metrics())
}

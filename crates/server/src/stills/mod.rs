//! Stills from the drones' cameras kept as evidence: a frame of the drone's
//! live video (through the relay, as a viewer gets it), with the drone's
//! position and heading when it came, logged as a `still` event (naming the
//! incident, so it is in the incident's time line and its replay) with its
//! JPEG in the log's `stills` table (SQLite or PostgreSQL).
//!
//! - `POST /api/incidents/{id}/stills` (dispatcher): the "snapshot" button.
//! - `GET /api/incidents/{id}/stills` (viewer): an incident's stills.
//! - `GET /api/stills/{id}` (viewer, `?token=` for an `<img>`): the JPEG.
//! - [`arrival`]: one still, taken by the server, when the serving drone
//!   arrives on scene.

pub mod arrival;

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use dispatch_core::{DroneId, IncidentId};
use serde::Deserialize;
use sha2::Digest as _;

use crate::api::{parse_incident_id, parse_optional_body};
use crate::auth::{Principal, Role, query_or_bearer};
use crate::wire::still::Still;
use crate::{ApiError, AppState, video, wire};

/// What `POST /api/incidents/{id}/stills` may say (an empty body: the
/// drone serving the incident, its camera's first stream).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StillRequest {
    /// The drone whose camera to take it from (default: the one serving the incident).
    pub drone: Option<String>,
    /// The camera's stream (default: its first).
    pub stream: Option<u8>,
}

#[utoipa::path(post, path = "/api/incidents/{id}/stills", tag = "incidents", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")),
    request_body(content = StillRequest, description = "Optional: which drone and stream (default: the drone serving the incident, its first stream)"),
    responses((status = 201, description = "The still, kept in the event log with the incident's time line", body = Still),
        (status = 400, description = "Not an incident id, or malformed JSON", body = wire::ErrorBody),
        (status = 404, description = "Unknown incident or drone, or a drone without a camera (`no_camera`) or that stream (`no_such_stream`)", body = wire::ErrorBody),
        (status = 409, description = "No drone serves the incident and none was named", body = wire::ErrorBody),
        (status = 422, description = "A field of the wrong type, or an unknown field", body = wire::ErrorBody),
        (status = 501, description = "The camera's stream is not MJPEG (`stream_not_relayed`)", body = wire::ErrorBody),
        (status = 502, description = "The camera answered, but not with MJPEG (`camera_bad_answer`)", body = wire::ErrorBody),
        (status = 503, description = "The camera does not answer (`camera_unavailable`), or this server keeps no event log (`no_event_log`)", body = wire::ErrorBody)))]
pub async fn take(
    State(s): State<AppState>,
    Path(id): Path<String>,
    axum::Extension(who): axum::Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Still>), ApiError> {
    let id = parse_incident_id(&id)?;
    let req: StillRequest = parse_optional_body(body)?;
    let view = s.fleet.incident(id).await?;
    let drone = match req.drone {
        Some(d) => DroneId(d),
        // An ended incident keeps the name of the drone that served it, which
        // may be flying another sortie now: only a named drone then.
        None => view
            .incident
            .drone
            .clone()
            .filter(|_| !view.incident.status.is_terminal())
            .ok_or_else(|| {
                ApiError::conflict(format!(
                    "no drone serves incident {id} now: name the drone whose camera to use (`drone`)"
                ))
            })?,
    };
    let still = keep(
        &s,
        Some(id),
        &drone,
        req.stream,
        fleet::StillTrigger::Manual,
        who.name,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(still)))
}

/// Takes the drone's next frame and keeps it (answered once it is durable).
pub(crate) async fn keep(
    s: &AppState,
    incident: Option<IncidentId>,
    drone: &DroneId,
    stream: Option<u8>,
    trigger: fleet::StillTrigger,
    by: String,
) -> Result<Still, ApiError> {
    if s.fleet.store().is_none() {
        return Err(no_log());
    }
    let found = video::mjpeg_stream(s, &drone.0, stream).await?;
    let jpeg = video::grab(s, &found.uri, &drone.0).await?;
    // Where the drone is as the frame came (the frame is a few hundred
    // milliseconds old at most: the relay keeps no backlog for a new viewer).
    let snap = s.fleet.snapshot().await?;
    let now = snap
        .drones
        .iter()
        .find(|d| d.id == *drone)
        .map_or(found.drone, wire::Drone::from);
    let digest = sha2::Sha256::digest(&jpeg);
    let entry = fleet::StillEntry {
        still: digest[..8].iter().map(|b| format!("{b:02x}")).collect(),
        incident,
        drone: drone.clone(),
        trigger,
        taken_at: snap.time,
        lat: now.lat,
        lon: now.lon,
        alt_m: now.alt_m,
        heading_deg: now.heading_deg,
        stream: found.stream,
        by,
        bytes: jpeg.len(),
        jpeg: std::sync::Arc::new(jpeg.to_vec()),
    };
    s.fleet.record_still(entry.clone()).await?;
    Ok(Still::new(&entry))
}

#[utoipa::path(get, path = "/api/incidents/{id}/stills", tag = "incidents", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")),
    responses((status = 200, description = "The incident's stills, oldest first", body = Vec<Still>),
        (status = 400, description = "Not an incident id", body = wire::ErrorBody),
        (status = 404, description = "Unknown incident", body = wire::ErrorBody),
        (status = 503, description = "The event log cannot be read, or this server keeps none (`no_event_log`)", body = wire::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<Still>>, ApiError> {
    let id = parse_incident_id(&id)?;
    s.fleet.incident(id).await?;
    let store = s.fleet.store().ok_or_else(no_log)?;
    let rows = crate::reports::read_log(store, move |st| st.incident_events(id)).await?;
    Ok(Json(
        rows.into_iter()
            .filter(|r| r.event == "still")
            .filter_map(
                |r| match serde_json::from_value::<fleet::store_row::EventRow>(r.body) {
                    Ok(fleet::store_row::EventRow {
                        what: fleet::store_row::RowWhat::Still(e),
                        ..
                    }) => Some(Still::new(&e)),
                    Ok(_) => None,
                    Err(e) => {
                        tracing::warn!("event {} of the log is no still: {e}", r.seq);
                        None
                    }
                },
            )
            .collect(),
    ))
}

/// Query of `/api/stills/{id}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TokenQuery {
    /// The access token (an `<img>` cannot send `Authorization`).
    pub token: Option<String>,
}

#[utoipa::path(get, path = "/api/stills/{id}", tag = "incidents", security(("bearer" = [])),
    params(("id" = String, Path, description = "The still's id (16 hex digits)", pattern = "^[0-9a-f]{16}$"), TokenQuery),
    responses((status = 200, description = "The still's JPEG", content_type = "image/jpeg"),
        (status = 401, description = "No token, or an unknown one", body = wire::ErrorBody),
        (status = 404, description = "No such still", body = wire::ErrorBody),
        (status = 503, description = "The event log cannot be read, or this server keeps none (`no_event_log`)", body = wire::ErrorBody)))]
pub async fn image(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    s.tokens
        .authorize(query_or_bearer(q.token.as_deref(), &headers), Role::Viewer)?;
    if id.len() != 16 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(ApiError::not_found(format!(
            "no still `{id}` (an id is 16 hex digits)"
        )));
    }
    let store = s.fleet.store().ok_or_else(no_log)?;
    let key = id.clone();
    let jpeg = crate::reports::read_log(store, move |st| st.still(&key))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no still `{id}`")))?;
    let mut r = (StatusCode::OK, jpeg).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    // An id is its picture's hash: it never changes.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400, immutable"),
    );
    Ok(r)
}

fn no_log() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "no_event_log",
        "this server keeps no event log (started without one): stills are kept only in the log",
    )
}

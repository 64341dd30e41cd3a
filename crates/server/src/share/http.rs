//! The share routes: a dispatcher's (`/api/shares`), the view's state
//! (`GET /api/share/{token}`, no login: the token is the key) and the page
//! (`/share/{token}`). Each validates, asks the book, logs what it decides
//! and answers; no decision is made here.

use axum::Json;
use axum::extract::ConnectInfo;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::Duration;
use dispatch_core::{DroneId, IncidentId};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::book::{Input, Output, Refusal, Scope, Status, Target, Visitor};
use super::secret;
use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::wire;
use crate::wire::share::{SharedView, SharedWhat};

/// Default life of a share: 2 h.
pub const DEFAULT_EXPIRES_S: i64 = 2 * 3600;
/// Bounds of `expires_in_s`: a minute to 24 h.
pub const MIN_EXPIRES_S: i64 = 60;
pub const MAX_EXPIRES_S: i64 = 24 * 3600;
/// What a PIN is: 4 to 12 digits.
pub const PIN_PATTERN: &str = "^[0-9]{4,12}$";
/// What a token in a path is.
pub const TOKEN_PATTERN: &str = "^[0-9a-f]{64}$";

/// `POST /api/shares`: the body's schema is written in [`crate::openapi`]
/// (one of `incident` or `drone`).
#[utoipa::path(post, path = "/api/shares", tag = "shares", security(("bearer" = [])),
    request_body(content = inline(Object), description = "`{\"incident\": ID}` or `{\"drone\": ID}`, with `expires_in_s` (60 to 86,400, default 7,200) and `pin` (4 to 12 digits) optional (schema `ShareRequest`)"),
    responses((status = 201, description = "Shared: the link (its token is in no other answer)", body = wire::share::ShareCreated),
        (status = 400, description = "Malformed JSON or an empty body", body = wire::ErrorBody),
        (status = 404, description = "Unknown incident or drone", body = wire::ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = wire::ErrorBody),
        (status = 422, description = "Neither or both of `incident` and `drone`, a field of the wrong type or out of range, or an unknown field", body = wire::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req = ShareRequest::parse(crate::api::parse_body(body)?)?;
    let target = match req.target {
        Target::Incident(id) => {
            s.fleet.incident(id).await?;
            Target::Incident(id)
        }
        Target::Drone(d) => {
            if !s.scenario.drones.iter().any(|x| x.id == d) {
                return Err(ApiError::not_found(format!("unknown drone `{d}`")));
            }
            Target::Drone(d)
        }
    };
    let token = secret::new_token().map_err(no_randomness)?;
    let pin = req
        .pin
        .as_deref()
        .map(secret::pin_digest)
        .transpose()
        .map_err(no_randomness)?;
    let entry = match s.shares.handle(Input::Create {
        token_sha256: secret::token_sha256(&token),
        target,
        expires_in: Duration::seconds(req.expires_in_s),
        pin,
        by: who.name,
    }) {
        Output::Record(e) => e,
        other => return Err(internal(&other)),
    };
    let (id, expires_at) = match &entry.change {
        fleet::ShareChange::Created { expires_at, .. } => (entry.share, *expires_at),
        _ => return Err(internal(&entry)),
    };
    s.shares.record(&s.fleet, entry).await?;
    let body = wire::share::ShareCreated {
        id,
        url: format!("/share/{token}"),
        expires_at,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[utoipa::path(get, path = "/api/shares", tag = "shares", security(("bearer" = [])),
    responses((status = 200, description = "Every share, newest first, with its openings (never a token)", body = Vec<wire::share::ShareInfo>),
        (status = 403, description = "The token's role is too weak (dispatcher needed)", body = wire::ErrorBody)))]
pub async fn list(State(s): State<AppState>) -> Json<Vec<wire::share::ShareInfo>> {
    Json(s.shares.read(|book, now| {
        book.list()
            .map(|sh| wire::share::ShareInfo {
                id: sh.id,
                incident: match &sh.target {
                    Target::Incident(i) => Some(i.0),
                    Target::Drone(_) => None,
                },
                drone: match &sh.target {
                    Target::Drone(d) => Some(d.0.clone()),
                    Target::Incident(_) => None,
                },
                created_at: sh.created_at,
                expires_at: sh.expires_at,
                by: sh.by.clone(),
                pin: sh.has_pin,
                status: match sh.status(now) {
                    Status::Active => wire::share::ShareStatus::Active,
                    Status::Revoked => wire::share::ShareStatus::Revoked,
                    Status::Expired => wire::share::ShareStatus::Expired,
                },
                revoked_at: sh.revoked.as_ref().map(|(at, _)| *at),
                revoked_by: sh.revoked.as_ref().map(|(_, by)| by.clone()),
                opened: sh.opened,
                openings: sh
                    .openings
                    .iter()
                    .map(|o| wire::share::ShareOpening {
                        at: o.at,
                        address: o.visitor.address.clone(),
                        forwarded_for: o.visitor.forwarded_for.clone(),
                        user_agent: o.visitor.user_agent.clone(),
                    })
                    .collect(),
            })
            .collect()
    }))
}

#[utoipa::path(delete, path = "/api/shares/{id}", tag = "shares", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Share id")),
    responses((status = 204, description = "Revoked: open views and their sockets close within a second (4403)"),
        (status = 400, description = "The id is not a number", body = wire::ErrorBody),
        (status = 404, description = "Unknown share", body = wire::ErrorBody),
        (status = 409, description = "Already revoked", body = wire::ErrorBody)))]
pub async fn revoke(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("`{id}` is not a share id (a number)")))?;
    match s.shares.handle(Input::Revoke { id, by: who.name }) {
        Output::Record(e) => s.shares.record(&s.fleet, e).await?,
        Output::Refused(Refusal::AlreadyRevoked) => {
            return Err(ApiError::conflict(format!("share {id} is already revoked")));
        }
        Output::Refused(Refusal::Unknown) => {
            return Err(ApiError::not_found(format!("unknown share {id}")));
        }
        other => return Err(internal(&other)),
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `?pin=` of a shared view's requests.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinQuery {
    pub pin: Option<String>,
}

#[utoipa::path(get, path = "/api/share/{token}", tag = "shares",
    params(("token" = String, Path, description = "The link's token (64 hex digits)", pattern = "^[0-9a-f]{64}$"),
        ("pin" = Option<String>, Query, description = "The share's PIN, if it has one", pattern = "^[0-9]{4,12}$")),
    responses((status = 200, description = "What the shared view shows: the incident (without intake details or the other drones considered), the drone, its route; the opening is logged", body = SharedView),
        (status = 400, description = "An unknown query parameter", body = wire::ErrorBody),
        (status = 401, description = "The share has a PIN: none given (`pin_required`) or a wrong one (`wrong_pin`, with the tries left)", body = wire::ErrorBody),
        (status = 403, description = "The share was revoked (`share_revoked`)", body = wire::ErrorBody),
        (status = 404, description = "No such share link", body = wire::ErrorBody),
        (status = 410, description = "The share expired (`share_expired`)", body = wire::ErrorBody),
        (status = 429, description = "Too many wrong PINs: locked for a while (`pin_locked`)", body = wire::ErrorBody,
            headers(("Retry-After" = String, description = "Seconds until the lock ends")))))]
pub async fn view(
    State(s): State<AppState>,
    Path(token): Path<String>,
    query: Result<Query<PinQuery>, QueryRejection>,
    headers: HeaderMap,
    peer: Option<axum::Extension<ConnectInfo<crate::listener::Peer>>>,
) -> Result<Json<SharedView>, ApiError> {
    let Query(q) = query.map_err(crate::api::query_error)?;
    let visitor = Visitor {
        // The IP alone: a browser comes back on another port.
        address: peer.map(|axum::Extension(ConnectInfo(p))| p.0.ip().to_string()),
        forwarded_for: header_text(&headers, "x-forwarded-for"),
        user_agent: header_text(&headers, header::USER_AGENT.as_str()),
    };
    let grant = open(&s, &token, q.pin, Some(visitor))?;
    if let Some(e) = grant.record {
        s.shares.record(&s.fleet, e).await?;
    }
    let (view, _) = view_of(&s, &grant.target, grant.expires_at).await?;
    Ok(Json(view))
}

#[utoipa::path(get, path = "/api/share/{token}/drones/{id}/video", tag = "shares",
    params(("token" = String, Path, description = "The link's token (64 hex digits)", pattern = "^[0-9a-f]{64}$"),
        ("id" = String, Path, description = "A drone the share shows"),
        ("pin" = Option<String>, Query, description = "The share's PIN, if it has one", pattern = "^[0-9]{4,12}$")),
    responses((status = 200, description = "The shared drone's live video (as `/api/drones/{id}/video`), until the share is revoked or expires", content_type = "multipart/x-mixed-replace"),
        (status = 400, description = "An unknown query parameter", body = wire::ErrorBody),
        (status = 401, description = "The share has a PIN: none given or a wrong one", body = wire::ErrorBody),
        (status = 403, description = "The share was revoked (`share_revoked`)", body = wire::ErrorBody),
        (status = 404, description = "No such share link, a drone the share does not show (`not_shared`), or one without a camera (`no_camera`)", body = wire::ErrorBody),
        (status = 410, description = "The share expired (`share_expired`)", body = wire::ErrorBody),
        (status = 429, description = "Too many wrong PINs (`pin_locked`)", body = wire::ErrorBody),
        (status = 501, description = "The stream is not MJPEG (`stream_not_relayed`)", body = wire::ErrorBody),
        (status = 503, description = "The camera does not answer (`camera_unavailable`)", body = wire::ErrorBody)))]
pub async fn video(
    State(s): State<AppState>,
    Path((token, id)): Path<(String, String)>,
    query: Result<Query<PinQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(crate::api::query_error)?;
    // Not an opening of the view (the page's `GET /api/share/{token}` is).
    let grant = open(&s, &token, q.pin, None)?;
    let (_, scope) = view_of(&s, &grant.target, grant.expires_at).await?;
    if !scope.sees_drone(&id) || !films_for(&s, &grant.target, &id).await {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_shared",
            format!("this share does not show drone `{id}`'s camera now"),
        ));
    }
    // Ends within a watch period of a revocation or the expiry, and within
    // a second of the drone leaving the share (another sortie, the end).
    let shares = s.shares.clone();
    let state = s.clone();
    let drone = id.clone();
    let stop = async move {
        let mut watch = tokio::time::interval(super::socket::WATCH_EVERY);
        for tick in 0u64.. {
            watch.tick().await;
            if !matches!(
                shares.handle(Input::Watch { id: grant.id }),
                Output::Live { .. }
            ) {
                return;
            }
            if tick % 4 == 3 && !films_for(&state, &grant.target, &drone).await {
                return;
            }
        }
    };
    crate::video::respond(&s, &id, None, stop).await
}

/// Whether drone `id`'s camera belongs to the share now: a drone's share,
/// its drone; an incident's, the drone serving it while it does (an ended
/// incident keeps its drone's name, but not its camera).
async fn films_for(s: &AppState, target: &Target, id: &str) -> bool {
    match target {
        Target::Drone(d) => d.0 == id,
        Target::Incident(i) => s.fleet.snapshot().await.is_ok_and(|snap| {
            snap.drones
                .iter()
                .any(|d| d.id.0 == id && d.incident == Some(*i))
        }),
    }
}

/// `GET /share/{token}`: the page, with the share's status as its own
/// (200, 403 revoked, 404 unknown, 410 expired: the page says which).
pub async fn page(State(s): State<AppState>, Path(token): Path<String>) -> Response {
    let status = match peek(&s, &token) {
        None => StatusCode::NOT_FOUND,
        Some(Status::Active) => StatusCode::OK,
        Some(Status::Revoked) => StatusCode::FORBIDDEN,
        Some(Status::Expired) => StatusCode::GONE,
    };
    page_file(s.web_dir.as_deref(), status).await
}

/// The page's file under `web_dir`, answered with `status`.
pub async fn page_file(web_dir: Option<&std::path::Path>, status: StatusCode) -> Response {
    let Some(dir) = web_dir else {
        return ApiError::not_found("this server serves no web pages").into_response();
    };
    match tokio::fs::read(dir.join("public/share.html")).await {
        Ok(b) => {
            let mut r = (status, b).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            // The token is in the page's address: never sent on as a referrer.
            r.headers_mut()
                .insert("referrer-policy", HeaderValue::from_static("no-referrer"));
            r
        }
        Err(e) => {
            tracing::warn!("share page: {e}");
            ApiError::not_found("the share page is not installed (web/public/share.html)")
                .into_response()
        }
    }
}

/// The view may open on this share.
#[derive(Debug)]
pub(crate) struct Grant {
    pub id: u64,
    pub target: Target,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub record: Option<fleet::ShareEntry>,
}

/// Asks the book whether `token` (with `pin`) opens a view.
pub(crate) fn open(
    s: &AppState,
    token: &str,
    pin: Option<String>,
    visitor: Option<Visitor>,
) -> Result<Grant, ApiError> {
    if !secret::is_token(token) {
        return Err(refusal(Refusal::Unknown));
    }
    match s.shares.handle(Input::Open {
        token_sha256: secret::token_sha256(token),
        pin,
        visitor,
    }) {
        Output::Granted {
            id,
            target,
            expires_at,
            record,
        } => Ok(Grant {
            id,
            target,
            expires_at,
            record,
        }),
        Output::Refused(r) => Err(refusal(r)),
        other => Err(internal(&other)),
    }
}

/// A share's status by its token, without counting as a PIN try.
fn peek(s: &AppState, token: &str) -> Option<Status> {
    if !secret::is_token(token) {
        return None;
    }
    let h = secret::token_sha256(token);
    s.shares
        .read(|book, now| book.by_token(&h).map(|sh| sh.status(now)))
}

/// The view's state now, and what it may see from here on.
pub(crate) async fn view_of(
    s: &AppState,
    target: &Target,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> Result<(SharedView, Scope), ApiError> {
    let snap = s.fleet.snapshot().await?;
    let drone_of = |id: &str| {
        snap.drones
            .iter()
            .find(|d| d.id.0 == id)
            .map(wire::Drone::from)
    };
    let (shared, incident, drone) = match target {
        Target::Incident(i) => {
            let inc = wire::Incident::from(&s.fleet.incident(*i).await?);
            let drone = inc.drone.as_deref().and_then(drone_of);
            (SharedWhat::Incident, Some(inc), drone)
        }
        Target::Drone(d) => {
            let drone = drone_of(&d.0);
            let inc = match drone.as_ref().and_then(|d| d.incident) {
                Some(i) => s
                    .fleet
                    .incident(IncidentId(i))
                    .await
                    .ok()
                    .map(|v| wire::Incident::from(&v)),
                None => None,
            };
            (SharedWhat::Drone, inc, drone)
        }
    };
    let scope = Scope::new(
        target,
        incident.as_ref().and_then(|i| i.drone.clone()).map(DroneId),
        incident.as_ref().map(|i| IncidentId(i.id)),
    );
    let view = SharedView {
        shared,
        expires_at,
        time_zone: s.scenario.time_zone.name().to_owned(),
        incident: incident.as_ref().map(wire::share::SharedIncident::from),
        drones: drone
            .iter()
            .filter(|d| scope.sees_drone(&d.id))
            .map(wire::share::SharedDrone::from)
            .collect(),
    };
    Ok((view, scope))
}

/// A refusal as the one error body.
pub(crate) fn refusal(r: Refusal) -> ApiError {
    match r {
        Refusal::Unknown => {
            ApiError::not_found("no such share link (mistyped, or from another server)")
        }
        Refusal::Revoked => ApiError::new(
            StatusCode::FORBIDDEN,
            "share_revoked",
            "this share link was revoked by the dispatcher",
        ),
        Refusal::Expired => {
            ApiError::new(StatusCode::GONE, "share_expired", "this share link expired")
        }
        Refusal::PinRequired => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "pin_required",
            "this share link needs its PIN: add `?pin=` (the dispatcher who shared it has it)",
        ),
        Refusal::WrongPin { left } => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong_pin",
            format!(
                "wrong PIN: {left} more {} before the link is locked for {} minutes",
                if left == 1 { "try" } else { "tries" },
                super::book::PIN_LOCK_S / 60
            ),
        ),
        Refusal::Locked { retry_after_s } => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "pin_locked",
            format!("too many wrong PINs: this link is locked; retry in {retry_after_s} s"),
        )
        .retry_after(u32::try_from(retry_after_s).unwrap_or(u32::MAX)),
        Refusal::AlreadyRevoked => ApiError::conflict("this share is already revoked"),
    }
}

/// A share request, checked field by field.
#[derive(Debug, PartialEq)]
struct ShareRequest {
    target: Target,
    expires_in_s: i64,
    pin: Option<String>,
}

impl ShareRequest {
    /// From the body's object. Explicit nulls are refused: the schema has
    /// no null, and a request that means "neither" should say nothing.
    fn parse(body: Map<String, Value>) -> Result<ShareRequest, ApiError> {
        for k in body.keys() {
            if !["incident", "drone", "expires_in_s", "pin"].contains(&k.as_str()) {
                return Err(ApiError::invalid(format!(
                    "unknown field `{k}`; fields: incident or drone, expires_in_s, pin"
                )));
            }
        }
        let target = match (body.get("incident"), body.get("drone")) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    "fields `incident`, `drone`: share one of them, not both",
                ));
            }
            (None, None) => {
                return Err(ApiError::invalid(
                    "field `incident` or `drone`: say what to share",
                ));
            }
            (Some(v), None) => Target::Incident(IncidentId(integer(v).ok_or_else(|| {
                ApiError::invalid(format!("field `incident`: {v} is not an incident id"))
            })?)),
            (None, Some(v)) => Target::Drone(DroneId(
                v.as_str()
                    .ok_or_else(|| {
                        ApiError::invalid(format!(
                            "field `drone`: {v} is not a drone id (a string)"
                        ))
                    })?
                    .to_owned(),
            )),
        };
        let expires_in_s = match body.get("expires_in_s") {
            None => DEFAULT_EXPIRES_S,
            Some(v) => integer(v)
                .and_then(|n| i64::try_from(n).ok())
                .filter(|n| (MIN_EXPIRES_S..=MAX_EXPIRES_S).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid(format!(
                        "field `expires_in_s`: {v} is not a whole number of seconds in {MIN_EXPIRES_S}..={MAX_EXPIRES_S} (24 h)"
                    ))
                })?,
        };
        let pin = match body.get("pin") {
            None => None,
            Some(Value::String(p))
                if (4..=12).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit()) =>
            {
                Some(p.clone())
            }
            Some(_) => {
                return Err(ApiError::invalid(
                    "field `pin`: a PIN is a string of 4 to 12 digits",
                ));
            }
        };
        Ok(ShareRequest {
            target,
            expires_in_s,
            pin,
        })
    }
}

/// A JSON number that is a whole number of u64 (2 and 2.0 alike, as JSON
/// Schema's `integer` takes both).
fn integer(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
            // `as` saturates: the largest such float is u64::MAX + 1.
            .map(|f| f as u64)
    })
}

fn header_text(h: &HeaderMap, name: &str) -> Option<String> {
    let v = h.get(name)?.to_str().ok()?;
    Some(v.chars().take(256).collect())
}

fn no_randomness(e: getrandom::Error) -> ApiError {
    tracing::error!("no random bytes for a share token: {e}");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "the server cannot draw random bytes for a token just now; retry",
    )
}

fn internal(what: &impl std::fmt::Debug) -> ApiError {
    tracing::error!("share book: unexpected answer {what:?}");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the share book gave an unexpected answer",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str, expected: Result<ShareRequest, &str>) {
        let map: Map<String, Value> =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{body}: {e}"));
        match (ShareRequest::parse(map), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{body}"),
            (Err(e), Err(needle)) => {
                assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
                assert!(e.message.contains(needle), "{body}: {}", e.message);
            }
            (got, want) => panic!("{body}: got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn a_share_request_names_one_thing_and_bounded_fields() {
        let inc = |i, s, pin: Option<&str>| ShareRequest {
            target: Target::Incident(IncidentId(i)),
            expires_in_s: s,
            pin: pin.map(str::to_owned),
        };
        check(r#"{"incident": 3}"#, Ok(inc(3, 7200, None)));
        check(
            r#"{"incident": 3.0, "expires_in_s": 60, "pin": "0042"}"#,
            Ok(inc(3, 60, Some("0042"))),
        );
        check(
            r#"{"drone": "yg-1", "expires_in_s": 86400}"#,
            Ok(ShareRequest {
                target: Target::Drone(DroneId("yg-1".into())),
                expires_in_s: 86400,
                pin: None,
            }),
        );
        check(r#"{}"#, Err("say what to share"));
        check(r#"{"incident": 1, "drone": "yg-1"}"#, Err("not both"));
        check(r#"{"incident": null}"#, Err("not an incident id"));
        check(r#"{"incident": -1}"#, Err("not an incident id"));
        check(r#"{"drone": 5}"#, Err("not a drone id"));
        check(r#"{"incident": 1, "expires_in_s": 59}"#, Err("60..=86400"));
        check(
            r#"{"incident": 1, "expires_in_s": 86401}"#,
            Err("60..=86400"),
        );
        check(r#"{"incident": 1, "pin": "123"}"#, Err("4 to 12 digits"));
        check(r#"{"incident": 1, "pin": 1234}"#, Err("4 to 12 digits"));
        check(
            r#"{"incident": 1, "token": "x"}"#,
            Err("unknown field `token`"),
        );
    }
}

//! What a server that does not hold the dispatch lease serves when it has
//! the cluster's bus: the whole API, the websocket and the map, as fresh as
//! on the leader.
//!
//! - API calls (reads and writes) go to the leader over the bus and are
//!   answered with the leader's answer, after the leader committed them
//!   ([`crate::bus::forward`]).
//! - The websocket is this server's own: telemetry from its own links
//!   (every server hears every vehicle; a follower's links send nothing),
//!   fleet events from the bus, the opening snapshot from the leader.
//! - The map's files are its own, and a share link's page; the page's
//!   state (`/api/share/{token}`) is the leader's, forwarded like any API
//!   call. Its live socket (`/ws/share/{token}`) needs the leader's share
//!   book: a follower answers it `503 share_on_leader`, and the page
//!   follows the state by asking it again every few seconds. So does a
//!   share's video; a viewer's (`/api/drones/{id}/video`) is relayed by
//!   this server itself (`video::on_follower`).
//! - `GET /api/metrics` is its own too: the latency and websocket counters
//!   of this server's hub (each server is measured, and scraped, by itself).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, Request, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};

use crate::bus::Bus;
use crate::bus::forward::{ForwardError, REQUEST_HEADERS};
use crate::standby::Standby;
use crate::ws::{Snapshots, WsQuery};
use crate::{ApiError, Hub, Tokens};

/// A follower's own parts.
#[derive(Debug, Clone)]
pub struct Follower {
    pub bus: Bus,
    pub tokens: Arc<Tokens>,
    /// Fed by this server's links and the bus's events.
    pub hub: Hub,
    pub web_dir: Option<std::path::PathBuf>,
    /// This server's own video relays (`video::on_follower`).
    pub video: crate::video::Relays,
}

/// The follower's routes beside the standby's health.
pub(crate) fn routes(router: Router<Standby>, f: &Follower) -> Router<Standby> {
    let mut router = router
        .route("/ws", get(ws))
        .route("/api/metrics", get(metrics))
        .route("/share/{token}", get(share_page))
        .route("/ws/share/{token}", get(share_socket))
        .route("/api/share/{token}/drones/{id}/video", get(share_socket))
        .route(
            "/api/drones/{id}/video",
            get(crate::video::on_follower::video),
        )
        .route("/api/{*rest}", any(forward))
        .route("/api", any(forward));
    if let Some(dir) = &f.web_dir {
        router = crate::web_files(router, dir);
    }
    router
}

async fn ws(
    State(s): State<Standby>,
    Query(q): Query<WsQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(f) = &s.follower else {
        return crate::standby::refuse_now(&s);
    };
    let snapshots = Snapshots::Leader {
        bus: f.bus.clone(),
        status: s.cluster.status.clone(),
    };
    crate::ws::upgrade(&f.tokens, f.hub.clone(), snapshots, q, &headers, ws)
}

/// This server's own hub's figures, for a viewer's token.
async fn metrics(State(s): State<Standby>, headers: HeaderMap) -> Response {
    let Some(f) = &s.follower else {
        return crate::standby::refuse_now(&s);
    };
    match f
        .tokens
        .authorize(crate::auth::bearer(&headers), crate::auth::Role::Viewer)
    {
        Ok(_) => axum::Json(f.hub.metrics()).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn share_page(State(s): State<Standby>) -> Response {
    let dir = s.follower.as_ref().and_then(|f| f.web_dir.clone());
    crate::share::http::page_file(dir.as_deref(), StatusCode::OK).await
}

/// A shared view's socket and video need the leader's share book.
async fn share_socket(State(s): State<Standby>) -> Response {
    let leader = s.cluster.status.borrow().leader.clone();
    retry_later(
        "share_on_leader",
        format!(
            "a shared view's live socket and video are served by the leader ({}); this server forwards its state only",
            leader.as_deref().unwrap_or("none just now")
        ),
    )
}

/// Sends the call to the leader and answers what it answered.
async fn forward(State(s): State<Standby>, req: Request) -> Response {
    let Some(f) = &s.follower else {
        return crate::standby::refuse_now(&s);
    };
    let (me, leader) = {
        let c = s.cluster.status.borrow();
        (c.node.clone(), c.leader.clone())
    };
    let leader = match leader {
        Some(l) if l != me => l,
        _ => {
            return retry_later(
                "no_leader",
                format!(
                    "this server ({me}) does not hold the dispatch lease and no other server does just now (a fail-over takes up to 5 s): retry in a second, here or on another server"
                ),
            );
        }
    };
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, crate::api::BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "the request body is larger than {} bytes",
                    crate::api::BODY_LIMIT
                ),
            )
            .into_response();
        }
    };
    let headers: Vec<(String, String)> = REQUEST_HEADERS
        .iter()
        .filter_map(|name| {
            let v = parts.headers.get(*name)?.to_str().ok()?;
            Some(((*name).to_owned(), v.to_owned()))
        })
        .collect();
    let uri = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    let asked = f
        .bus
        .forward_http(&leader, parts.method.as_str(), &uri, &headers, body);
    let answer = tokio::select! {
        a = asked => a,
        () = lost(&s, &leader) => {
            return retry_later(
                "leader_lost",
                format!(
                    "the leader {leader} stopped answering while it had this request (it may have died; a fail-over takes up to 5 s): the request may have been carried out, so look before repeating a change (a report with the same source and external_id is never made twice)"
                ),
            );
        }
    };
    match answer {
        Ok(answer) => answer.into_response(&leader),
        Err(ForwardError::NoResponders(_)) => retry_later(
            "no_leader",
            format!(
                "the leader {leader} does not answer on the cluster's bus (it may have just stopped; a fail-over takes up to 5 s): retry in a second, here or on another server"
            ),
        ),
        Err(e @ ForwardError::TimedOut(..)) => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "leader_timeout",
            format!(
                "{e}: the request may have been carried out; look before repeating a change (a report with the same source and external_id is never made twice)"
            ),
        )
        .into_response(),
        Err(e @ ForwardError::Bus(_)) => retry_later(
            "bus",
            format!("this server ({me}) cannot reach the leader {leader}: {e}; send the request to another server"),
        ),
        Err(e @ ForwardError::Malformed(..)) => {
            ApiError::new(StatusCode::BAD_GATEWAY, "bus", e.to_string()).into_response()
        }
    }
}

/// Returns once `leader` is gone: the lease names another server or none,
/// or its heartbeats stopped on the bus.
async fn lost(s: &Standby, leader: &str) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
    loop {
        tick.tick().await;
        let named = s.cluster.status.borrow().leader.as_deref() == Some(leader);
        if !named || !s.cluster.peers.alive(leader) {
            return;
        }
    }
}

/// `503` with `Retry-After: 1`.
fn retry_later(code: &'static str, message: String) -> Response {
    let mut r = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message).into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

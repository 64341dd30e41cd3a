//! The leader's side of the followers' requests: each one is run through
//! the leader's own router (so it is authorized, validated, rate-limited and
//! committed exactly as if it had come in directly) and the response goes
//! back in chunks ([`super::forward`]). A snapshot request gets the
//! websocket's opening snapshot.

use std::sync::Arc;

use async_nats::HeaderMap;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

use super::Bus;
use super::forward::{
    CHUNK, FROM, HEADER, METHOD, OP, OP_SNAPSHOT, REQUEST_HEADERS, RESPONSE_HEADERS, STATUS, URI,
    cut,
};
use crate::AppState;

/// Requests carried out at once; more wait for a turn.
const IN_FLIGHT: usize = 256;
/// The largest answer sent back (a day's CSV report fits).
const ANSWER_LIMIT: usize = 64 * 1024 * 1024;

/// Answers the followers' requests to this server (the leader) until the
/// bus subscription ends. Returns at once if it cannot subscribe.
pub async fn serve(bus: Bus, state: AppState) -> Result<(), super::BusError> {
    let subject = bus.leader_subject(bus.node());
    let mut requests =
        bus.client()
            .subscribe(subject.clone())
            .await
            .map_err(|e| super::BusError {
                url: bus.health().url,
                message: format!("cannot subscribe to {subject}: {e}"),
            })?;
    let router = crate::app(state.clone());
    let turns = Arc::new(Semaphore::new(IN_FLIGHT));
    tokio::spawn(async move {
        while let Some(msg) = requests.next().await {
            let Some(reply) = msg.reply.clone() else {
                tracing::warn!("a request on {subject} without a reply subject: dropped");
                continue;
            };
            let Ok(turn) = Arc::clone(&turns).acquire_owned().await else {
                return;
            };
            let (bus, router, state) = (bus.clone(), router.clone(), state.clone());
            tokio::spawn(async move {
                let (status, headers, body) = answer(&router, &state, msg).await;
                send(&bus, reply.to_string(), status, &headers, body).await;
                bus.counters()
                    .answered
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                drop(turn);
            });
        }
    });
    Ok(())
}

async fn answer(
    router: &Router,
    state: &AppState,
    msg: async_nats::Message,
) -> (StatusCode, Vec<(String, String)>, Bytes) {
    let h = msg.headers.unwrap_or_default();
    let get = |k: &str| h.get(k).map(|v| v.as_str().to_owned());
    if get(OP).as_deref() == Some(OP_SNAPSHOT) {
        return match crate::ws::snapshot_message(state).await {
            Ok(text) => (
                StatusCode::OK,
                vec![("content-type".into(), "application/json".into())],
                Bytes::from(text.as_str().to_owned()),
            ),
            Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, &format!("{e}")),
        };
    }
    let (Some(method), Some(uri)) = (get(METHOD), get(URI)) else {
        return error(
            StatusCode::BAD_REQUEST,
            "a forwarded request without Http-Method and Http-Uri",
        );
    };
    let mut req = Request::builder().method(method.as_str()).uri(uri.as_str());
    for name in REQUEST_HEADERS {
        if let Some(v) = get(&format!("{HEADER}{name}")) {
            req = req.header(name, v);
        }
    }
    if let Some(from) = get(FROM) {
        req = req.header("x-dispatch-forwarded-by", from);
    }
    let req = match req.body(Body::from(msg.payload)) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("a forwarded request: {e}"),
            );
        }
    };
    let response = match router.clone().oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = response.status();
    let mut headers = Vec::new();
    for name in RESPONSE_HEADERS {
        if let Some(v) = response.headers().get(name).and_then(|v| v.to_str().ok()) {
            headers.push((name.to_owned(), v.to_owned()));
        }
    }
    match axum::body::to_bytes(response.into_body(), ANSWER_LIMIT).await {
        Ok(body) => (status, headers, body),
        Err(e) => error(
            StatusCode::BAD_GATEWAY,
            &format!("the leader's answer could not be read whole: {e}"),
        ),
    }
}

fn error(status: StatusCode, message: &str) -> (StatusCode, Vec<(String, String)>, Bytes) {
    let body = serde_json::json!({"error": {"code": "bus", "message": message}});
    (
        status,
        vec![("content-type".into(), "application/json".into())],
        Bytes::from(body.to_string()),
    )
}

async fn send(
    bus: &Bus,
    reply: String,
    status: StatusCode,
    headers: &[(String, String)],
    body: Bytes,
) {
    let parts = cut(&body, bus.max_payload());
    let n = parts.len();
    for (i, part) in parts.into_iter().enumerate() {
        let mut h = HeaderMap::new();
        h.insert(CHUNK, format!("{}/{n}", i + 1).as_str());
        if i == 0 {
            h.insert(STATUS, status.as_u16().to_string().as_str());
            for (k, v) in headers {
                h.insert(format!("{HEADER}{k}").as_str(), v.as_str());
            }
        }
        if let Err(e) = bus
            .client()
            .publish_with_headers(reply.clone(), h, part)
            .await
        {
            tracing::warn!("cannot send an answer back over the bus: {e}");
            return;
        }
    }
    if let Err(e) = bus.client().flush().await {
        tracing::warn!("cannot flush an answer over the bus: {e}");
    }
}

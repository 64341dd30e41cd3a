//! `GET /api/drones/{id}/video` on a follower: relayed by this server
//! itself, never over the bus (a live stream is no single answer to
//! forward). The drone's camera, that is its streams' kinds and URIs, is the
//! leader's (`GET /api/drones/{id}` over the bus, with the viewer's token);
//! then this server's own relay joins the camera's stream, as the leader's
//! does: every server reaches the vehicles' network.
//!
//! A share's video (`/api/share/{token}/drones/{id}/video`) needs the
//! leader's share book: a follower answers it `503 share_on_leader`, as it
//! does the share's socket.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::{StreamRef, VideoQuery, no_camera, pick, relayed};
use crate::ApiError;
use crate::auth::{Role, query_or_bearer};
use crate::standby::Standby;

pub(crate) async fn video(
    State(s): State<Standby>,
    Path(id): Path<String>,
    Query(q): Query<VideoQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(f) = &s.follower else {
        return crate::standby::refuse_now(&s);
    };
    let token = query_or_bearer(q.token.as_deref(), &headers);
    if let Err(e) = f.tokens.authorize(token, Role::Viewer) {
        return e.into_response();
    }
    // Ids are the configuration's (letters, digits, `-`, `_`, `.`): anything
    // else is no drone, and could not be put in the leader's path as it is.
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return ApiError::not_found(format!("unknown drone `{id}`")).into_response();
    }
    let (me, leader) = {
        let c = s.cluster.status.borrow();
        (c.node.clone(), c.leader.clone())
    };
    let Some(leader) = leader.filter(|l| *l != me) else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_leader",
            format!("this server ({me}) cannot learn drone `{id}`'s camera: no server leads just now (a fail-over takes up to 5 s); retry in a second"),
        )
        .retry_after(1)
        .into_response();
    };
    let auth = vec![(
        "authorization".to_owned(),
        format!("Bearer {}", token.unwrap_or_default()),
    )];
    let answer = match f
        .bus
        .forward_http(
            &leader,
            "GET",
            &format!("/api/drones/{id}"),
            &auth,
            Bytes::new(),
        )
        .await
    {
        Ok(a) => a,
        Err(e) => {
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "bus",
                format!("this server ({me}) cannot ask the leader {leader} for drone `{id}`'s camera: {e}; retry here or on another server"),
            )
            .retry_after(1)
            .into_response();
        }
    };
    if answer.status != StatusCode::OK {
        // The leader's own refusal (an unknown drone, a bad token).
        return answer.into_response(&leader);
    }
    let drone: serde_json::Value = match serde_json::from_slice(&answer.body) {
        Ok(v) => v,
        Err(e) => {
            return ApiError::new(
                StatusCode::BAD_GATEWAY,
                "bus",
                format!("the leader {leader}'s answer for drone `{id}` is not its JSON: {e}"),
            )
            .into_response();
        }
    };
    let Some(list) = drone["camera"]["streams"].as_array() else {
        return no_camera(&id).into_response();
    };
    let streams: Vec<StreamRef<'_>> = list
        .iter()
        .filter_map(|st| {
            Some(StreamRef {
                id: u8::try_from(st["id"].as_u64()?).ok()?,
                kind: st["kind"].as_str()?,
                uri: st["uri"].as_str()?,
            })
        })
        .collect();
    let uri = match pick(&id, &streams, q.stream) {
        Ok((_, uri)) => uri,
        Err(e) => return e.into_response(),
    };
    match relayed(&f.video, &uri, &id, std::future::pending()).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

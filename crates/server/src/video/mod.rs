//! `GET /api/drones/{id}/video`: a drone's live camera, relayed as MJPEG.
//!
//! The drone's camera is what its camera component announced
//! (VIDEO_STREAM_INFORMATION, kept on the drone by the fleet). The server
//! relays `mjpeg` streams from the vehicle's URI (`relay`, one upstream
//! connection per stream whatever the number of viewers) and answers
//! `multipart/x-mixed-replace` to each viewer, who reads at its own pace.
//! The token may come as `?token=`, since an `<img>` cannot set headers.

pub mod multipart;
pub(crate) mod on_follower;
pub mod relay;

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

pub use relay::Relays;
use relay::{Upstream, Viewer};

use crate::auth::{Role, query_or_bearer};
use crate::{ApiError, AppState};

/// The boundary of the server's own multipart answer.
pub const BOUNDARY: &str = "dispatch-frame";
/// How long a viewer waits for the camera's first frame.
const FIRST_FRAME: Duration = Duration::from_secs(8);

/// Query of `/video`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct VideoQuery {
    /// The access token (an `<img>` cannot send `Authorization`).
    pub token: Option<String>,
    /// Stream id (default: the camera's first stream).
    pub stream: Option<u8>,
}

#[utoipa::path(get, path = "/api/drones/{id}/video", tag = "fleet", security(("bearer" = [])),
    params(("id" = String, Path, description = "Drone id"), VideoQuery),
    responses(
        (status = 200, description = "The drone's live video: `multipart/x-mixed-replace; boundary=dispatch-frame`, one `image/jpeg` part per frame", content_type = "multipart/x-mixed-replace"),
        (status = 404, description = "Unknown drone (`not_found`), a drone without a camera (`no_camera`) or without that stream (`no_such_stream`)", body = crate::wire::ErrorBody),
        (status = 501, description = "The stream is not MJPEG (`stream_not_relayed`: RTSP and others, see docs/video.md)", body = crate::wire::ErrorBody),
        (status = 502, description = "The camera answered, but not with MJPEG (`camera_bad_answer`)", body = crate::wire::ErrorBody),
        (status = 503, description = "The camera does not answer (`camera_unavailable`)", body = crate::wire::ErrorBody),
    ))]
pub async fn video(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<VideoQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    s.tokens
        .authorize(query_or_bearer(q.token.as_deref(), &headers), Role::Viewer)?;
    respond(&s, &id, q.stream, std::future::pending()).await
}

/// The drone's live video as a multipart answer, until the relay ends or
/// `stop` completes (a share revoked or expired).
pub(crate) async fn respond(
    s: &AppState,
    id: &str,
    stream: Option<u8>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Response, ApiError> {
    let found = mjpeg_stream(s, id, stream).await?;
    relayed(&s.video, &found.uri, id, stop).await
}

/// `uri`'s MJPEG through `relays` as a multipart answer (once it streams),
/// until the relay ends or `stop` completes.
pub(crate) async fn relayed(
    relays: &Relays,
    uri: &str,
    id: &str,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Response, ApiError> {
    let mut viewer = relays.subscribe(uri);
    first_frame(&mut viewer, id).await?;
    let parts = futures_util::stream::unfold(viewer, next_part);
    let body = Body::from_stream(futures_util::StreamExt::take_until(parts, stop));
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("multipart/x-mixed-replace; boundary=dispatch-frame"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// A drone's MJPEG stream as the fleet knows it now.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    /// The drone now (position, heading).
    pub drone: crate::wire::Drone,
    pub stream: u8,
    pub uri: String,
}

/// The drone's stream `stream` (default: its camera's first), if it is one
/// the server relays; else the error a viewer gets.
pub(crate) async fn mjpeg_stream(
    s: &AppState,
    id: &str,
    stream: Option<u8>,
) -> Result<Found, ApiError> {
    let snap = s.fleet.snapshot().await?;
    let drone = snap
        .drones
        .iter()
        .find(|d| d.id.0 == id)
        .ok_or_else(|| ApiError::not_found(format!("unknown drone `{id}`")))?;
    let camera = drone.camera.as_ref().ok_or_else(|| no_camera(id))?;
    let streams: Vec<StreamRef<'_>> = camera
        .streams
        .iter()
        .map(|st| StreamRef {
            id: st.id,
            kind: st.kind,
            uri: &st.uri,
        })
        .collect();
    let (stream, uri) = pick(id, &streams, stream)?;
    Ok(Found {
        drone: crate::wire::Drone::from(drone),
        stream,
        uri,
    })
}

/// One of a camera's streams, as the fleet or the leader's answer gives it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamRef<'a> {
    pub id: u8,
    pub kind: &'a str,
    pub uri: &'a str,
}

/// The `404` of a drone whose camera never answered.
pub(crate) fn no_camera(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_camera",
        format!("drone `{id}` has no camera (none answered the camera protocol)"),
    )
}

/// Stream `stream` of drone `id`'s camera (default: its first), if it is
/// MJPEG: its id and URI; else the error a viewer gets.
pub(crate) fn pick(
    id: &str,
    streams: &[StreamRef<'_>],
    stream: Option<u8>,
) -> Result<(u8, String), ApiError> {
    let found = match stream {
        Some(n) => streams.iter().find(|st| st.id == n),
        None => streams.first(),
    }
    .ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_stream",
            format!(
                "drone `{id}`'s camera has no stream {}",
                stream.map_or_else(String::new, |n| n.to_string())
            ),
        )
    })?;
    if found.kind != "mjpeg" {
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "stream_not_relayed",
            format!(
                "drone `{id}`'s stream {} is {} at {}: only MJPEG is relayed (see docs/video.md)",
                found.id, found.kind, found.uri
            ),
        ));
    }
    Ok((found.id, found.uri.to_owned()))
}

/// The next whole frame of `uri`'s relay (joining it for that frame).
pub(crate) async fn grab(s: &AppState, uri: &str, id: &str) -> Result<Bytes, ApiError> {
    let mut viewer = s.video.subscribe(uri);
    first_frame(&mut viewer, id).await?;
    let next = async {
        loop {
            match viewer.frames.recv().await {
                Ok(jpeg) => return Ok(jpeg),
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => {
                    return Err(ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "camera_unavailable",
                        format!("drone `{id}`'s camera stream closed; try again"),
                    )
                    .retry_after(1));
                }
            }
        }
    };
    tokio::time::timeout(FIRST_FRAME, next)
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "camera_unavailable",
                format!(
                    "drone `{id}`'s camera sent no frame within {} s",
                    FIRST_FRAME.as_secs()
                ),
            )
            .retry_after(2))
        })
}

/// Waits until the relay streams, or says why it does not.
async fn first_frame(viewer: &mut Viewer, id: &str) -> Result<(), ApiError> {
    let wait = async {
        loop {
            let state = viewer.state.borrow_and_update().clone();
            match state {
                Upstream::Streaming => return Ok(()),
                Upstream::Connecting => {}
                Upstream::BadAnswer(why) => {
                    return Err(ApiError::new(
                        StatusCode::BAD_GATEWAY,
                        "camera_bad_answer",
                        format!("drone `{id}`'s camera: {why}"),
                    ));
                }
                Upstream::Unreachable(why) => {
                    return Err(ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "camera_unavailable",
                        format!("drone `{id}`'s camera: {why}"),
                    )
                    .retry_after(2));
                }
                Upstream::Idle => {
                    return Err(ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "camera_unavailable",
                        format!("drone `{id}`'s camera stream closed; try again"),
                    )
                    .retry_after(1));
                }
            }
            if viewer.state.changed().await.is_err() {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "camera_unavailable",
                    format!("drone `{id}`'s camera relay stopped"),
                ));
            }
        }
    };
    match tokio::time::timeout(FIRST_FRAME, wait).await {
        Ok(r) => r,
        Err(_) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "camera_unavailable",
            format!(
                "drone `{id}`'s camera sent no frame within {} s",
                FIRST_FRAME.as_secs()
            ),
        )
        .retry_after(2)),
    }
}

/// The viewer's next part; a viewer that fell behind skips to the newest
/// frames; the stream ends with the relay.
async fn next_part(mut viewer: Viewer) -> Option<(Result<Bytes, Infallible>, Viewer)> {
    loop {
        match viewer.frames.recv().await {
            Ok(jpeg) => {
                let head = format!(
                    "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                    jpeg.len()
                );
                let mut part = Vec::with_capacity(head.len() + jpeg.len() + 2);
                part.extend_from_slice(head.as_bytes());
                part.extend_from_slice(&jpeg);
                part.extend_from_slice(b"\r\n");
                return Some((Ok(Bytes::from(part)), viewer));
            }
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return None,
        }
    }
}

#[cfg(test)]
mod tests;

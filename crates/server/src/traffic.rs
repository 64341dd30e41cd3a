//! Manned traffic over HTTP and the websocket: `GET /api/traffic` (viewer),
//! `POST /api/incidents/{id}/launch-anyway` (dispatcher: a launch held for
//! traffic goes despite the conflict; recorded in the time line), and the
//! websocket's `traffic` message, the picture once a second for every
//! client (built once, broadcast like the fleet's events).

use std::time::Duration;

use axum::Json;
use axum::extract::ws::Utf8Bytes;
use axum::extract::{Path, State};
use tokio::sync::broadcast;

use crate::AppState;
use crate::api::parse_incident_id;
use crate::error::ApiError;
use crate::wire;

/// How often the websocket gets the traffic picture.
pub const TRAFFIC_EVERY: Duration = Duration::from_secs(1);

#[utoipa::path(get, path = "/api/traffic", tag = "traffic", security(("bearer" = [])),
    responses((status = 200, description = "Manned aircraft heard (ADS-B via the vehicles, the SBS-1 feed), extrapolated to now, and what the fleet holds for them", body = wire::traffic::TrafficPicture)))]
pub async fn traffic(
    State(s): State<AppState>,
) -> Result<Json<wire::traffic::TrafficPicture>, ApiError> {
    let v = s.fleet.traffic().await?;
    Ok(Json(wire::traffic::TrafficPicture::new(&v)))
}

#[utoipa::path(post, path = "/api/incidents/{id}/launch-anyway", tag = "traffic", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")),
    responses((status = 200, description = "The launch held for traffic goes now; the decision is in the incident's time line", body = wire::Incident),
        (status = 400, description = "The id is not a number", body = wire::ErrorBody),
        (status = 404, description = "Unknown incident", body = wire::ErrorBody),
        (status = 409, description = "No launch of this incident is held for traffic", body = wire::ErrorBody)))]
pub async fn launch_anyway(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<wire::Incident>, ApiError> {
    let id = parse_incident_id(&id)?;
    Ok(Json((&s.fleet.launch_anyway(id).await?).into()))
}

/// Publishes the traffic picture every [`TRAFFIC_EVERY`] while there are
/// tracks (and once more when the last one goes), until the fleet stops.
pub(crate) async fn publish(fleet: fleet::FleetHandle, out: broadcast::Sender<Utf8Bytes>) {
    let mut every = tokio::time::interval(TRAFFIC_EVERY);
    let mut had_tracks = false;
    loop {
        every.tick().await;
        let v = match fleet.traffic().await {
            Ok(v) => v,
            Err(fleet::ServiceError::Stopped) => return,
            Err(e) => {
                tracing::warn!("traffic picture not available: {e}");
                continue;
            }
        };
        let any = !v.tracks.is_empty();
        if !any && !had_tracks {
            continue;
        }
        had_tracks = any;
        let p = wire::traffic::TrafficPicture::new(&v);
        let msg = wire::WsMessage::Traffic {
            time: p.time,
            tracks: p.tracks,
            held_launches: p.held_launches,
            held_drones: p.held_drones,
        };
        match serde_json::to_string(&msg) {
            Ok(text) => {
                let _ = out.send(Utf8Bytes::from(text));
            }
            Err(e) => tracing::error!("cannot serialize the traffic message: {e}"),
        }
    }
}

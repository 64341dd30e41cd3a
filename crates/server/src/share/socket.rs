//! `/ws/share/{token}[?pin=]`: a shared view's live feed. The hub's
//! output, filtered here, per view: telemetry entries of the drones the
//! share sees, `incident` messages of its incident (cut down to what a
//! shared view may see) and `drone` state changes of its drones; nothing
//! else. Four times a second the book is asked whether the share still
//! holds; a revoked one is closed with code 4403, an expired one 4410.
//!
//! Messages: first `{"type": "share", "view": SharedView}`, then
//! `telemetry`, `incident` and `drone` as on `/ws`; `pong` for a ping.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use dispatch_core::IncidentId;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::book::{Input, Output, Refusal, Scope};
use super::http::{Grant, PinQuery, open, view_of};
use crate::AppState;
use crate::wire::share::SharedIncident;

/// Close codes: the share was revoked, it expired, it is gone.
pub const CLOSE_REVOKED: u16 = 4403;
pub const CLOSE_EXPIRED: u16 = 4410;
pub const CLOSE_UNKNOWN: u16 = 4404;
/// How often an open view asks whether its share still holds.
pub const WATCH_EVERY: Duration = Duration::from_millis(250);

/// Checks the token (and PIN) before the upgrade: a refusal is the same
/// error answer as `GET /api/share/{token}`'s.
pub async fn handler(
    State(s): State<AppState>,
    Path(token): Path<String>,
    query: Result<Query<PinQuery>, axum::extract::rejection::QueryRejection>,
    ws: WebSocketUpgrade,
) -> Response {
    let q = match query {
        Ok(Query(q)) => q,
        Err(e) => return crate::api::query_error(e).into_response(),
    };
    match open(&s, &token, q.pin, None) {
        Ok(grant) => ws.on_upgrade(move |socket| serve(socket, s, grant)),
        Err(e) => e.into_response(),
    }
}

type Sink = SplitSink<WebSocket, Message>;

async fn serve(socket: WebSocket, s: AppState, grant: Grant) {
    let hub = s.hub.clone();
    hub.client_started();
    let (mut sink, mut stream) = socket.split();
    let end = run(&s, &grant, &mut sink, &mut stream).await;
    if let Some((code, reason)) = end {
        let _ = tokio::time::timeout(
            Duration::from_millis(500),
            sink.send(Message::Close(Some(CloseFrame {
                code,
                reason: Utf8Bytes::from_static(reason),
            }))),
        )
        .await;
    }
    hub.client_ended();
}

/// Serves the view until it ends; returns the close frame to send, if any.
async fn run(
    s: &AppState,
    grant: &Grant,
    sink: &mut Sink,
    stream: &mut futures_util::stream::SplitStream<WebSocket>,
) -> Option<(u16, &'static str)> {
    let timeout = s.hub.send_timeout();
    // Subscribed before the view is read, so that nothing falls between.
    let mut batches = s.hub.batches();
    let mut events = s.hub.event_feed();
    let (view, mut scope) = match view_of(s, &grant.target, grant.expires_at).await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!("shared view {}: {}", grant.id, e.message);
            return Some((1013, "the view cannot be read just now; reconnect"));
        }
    };
    let first = json!({"type": "share", "view": view}).to_string();
    send(sink, first, timeout).await.ok()?;
    let names: HashMap<usize, String> = s
        .scenario
        .drones
        .iter()
        .enumerate()
        .map(|(i, d)| (i, d.id.0.clone()))
        .collect();
    let mut watch = tokio::time::interval(WATCH_EVERY);
    loop {
        tokio::select! {
            _ = watch.tick() => match s.shares.handle(Input::Watch { id: grant.id }) {
                Output::Live { .. } => {}
                Output::Refused(Refusal::Revoked) => return Some((CLOSE_REVOKED, "this share link was revoked")),
                Output::Refused(Refusal::Expired) => return Some((CLOSE_EXPIRED, "this share link expired")),
                _ => return Some((CLOSE_UNKNOWN, "this share link is gone")),
            },
            b = batches.recv() => match b {
                Ok(b) => {
                    let mine: Vec<_> = b
                        .entries()
                        .filter(|(i, _)| names.get(i).is_some_and(|n| scope.sees_drone(n)))
                        .map(|(_, e)| e.clone())
                        .collect();
                    if !mine.is_empty() {
                        let text = crate::ws::telemetry_message(mine.iter());
                        send(sink, text.as_str().to_owned(), timeout).await.ok()?;
                    }
                }
                // Behind: the next batch brings fresh positions.
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return None,
            },
            e = events.recv() => match e {
                Ok(text) => {
                    if let Some(m) = filter_event(&mut scope, text.as_str()) {
                        send(sink, m, timeout).await.ok()?;
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return None,
            },
            m = stream.next() => match m {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(Message::Text(t))) if t.as_str().contains("\"ping\"") => {
                    let pong = json!({"type": "pong", "time": chrono::Utc::now().timestamp_millis()});
                    send(sink, pong.to_string(), timeout).await.ok()?;
                }
                Some(Ok(_)) => {}
            },
        }
    }
}

/// One message of the hub as the view may get it, or None.
pub(crate) fn filter_event(scope: &mut Scope, text: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text).ok()?;
    match v.get("type")?.as_str()? {
        "incident" => {
            let inc = v.get("incident")?;
            let id = inc.get("id").and_then(Value::as_u64)?;
            let drone = v.get("drone").and_then(Value::as_str);
            let ended = matches!(
                v.get("status").and_then(Value::as_str),
                Some("resolved" | "cancelled" | "failed")
            );
            if !scope.on_incident(IncidentId(id), drone, ended) {
                return None;
            }
            let mut out = v.clone();
            out["incident"] = SharedIncident::pick(inc);
            Some(out.to_string())
        }
        "drone" => {
            let d = v.get("drone")?.as_str()?;
            scope.sees_drone(d).then(|| text.to_owned())
        }
        _ => None,
    }
}

async fn send(sink: &mut Sink, text: String, timeout: Duration) -> Result<(), ()> {
    match tokio::time::timeout(timeout, sink.send(Message::Text(text.into()))).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::book::Target;
    use dispatch_core::DroneId;

    #[test]
    fn a_view_gets_its_incident_cut_down_and_its_drone_and_nothing_else() {
        let mut scope = Scope::new(
            &Target::Incident(IncidentId(4)),
            Some(DroneId("yg-1".into())),
            None,
        );
        let inc = |id: u64, drone: &str| {
            json!({"type": "incident", "t": "2026-09-28T05:00:00Z", "status": "en_route", "note": "",
                "drone": drone, "incident": {"id": id, "kind": "person_in_water", "drone": drone,
                "note": "caller Li, 138...", "source": "call-centre", "assignment": {"alternatives": []},
                "timeline": []}})
            .to_string()
        };
        let got = filter_event(&mut scope, &inc(4, "yg-1")).unwrap_or_default();
        let got: Value = serde_json::from_str(&got).unwrap_or_default();
        assert_eq!(got["incident"]["id"], 4);
        for hidden in ["note", "source", "assignment"] {
            assert!(got["incident"].get(hidden).is_none(), "{hidden}: {got}");
        }
        assert_eq!(filter_event(&mut scope, &inc(5, "yg-2")), None);
        let drone = |d: &str| json!({"type": "drone", "drone": d, "state": "en_route"}).to_string();
        assert!(filter_event(&mut scope, &drone("yg-1")).is_some());
        assert_eq!(filter_event(&mut scope, &drone("yg-2")), None);
        for other in [
            json!({"type": "alert", "severity": "critical", "message": "m"}),
            json!({"type": "zone", "zone": "z"}),
            json!({"type": "dispatch", "output": {"incident": 4}}),
            json!({"type": "traffic", "tracks": []}),
        ] {
            assert_eq!(
                filter_event(&mut scope, &other.to_string()),
                None,
                "{other}"
            );
        }
    }
}

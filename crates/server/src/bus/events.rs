//! Fleet events across the cluster: the leader publishes every message its
//! websocket hub sends (serialized once, as clients get it) on
//! `{prefix}.events.{type}`; every other server takes them into its own hub,
//! so its clients see the same events, in the leader's order, as the
//! leader's clients do. A JetStream stream keeps the subjects for a day, for
//! tools that read the fleet's story afterwards (`nats stream view`).

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::broadcast::error::RecvError;

use super::Bus;
use crate::Hub;

/// How long the stream keeps events, and how much of them at most.
const KEEP: Duration = Duration::from_secs(24 * 3600);
const KEEP_BYTES: i64 = 512 * 1024 * 1024;

/// Makes sure the stream that keeps the events exists (JetStream may be
/// off on the NATS server: then the events still flow, and this says why
/// they are not kept).
pub async fn keep(bus: &Bus) -> Result<(), String> {
    let js = async_nats::jetstream::new(bus.client().clone());
    js.get_or_create_stream(async_nats::jetstream::stream::Config {
        name: bus.stream_name(),
        subjects: vec![bus.events_wildcard()],
        max_age: KEEP,
        max_bytes: KEEP_BYTES,
        description: Some("dispatch fleet events, as the websocket sends them".to_owned()),
        ..Default::default()
    })
    .await
    .map(|_| ())
    .map_err(|e| {
        format!(
            "cannot keep the events in the JetStream stream {}: {e}",
            bus.stream_name()
        )
    })
}

/// The `type` of a websocket message (`incident`, `traffic`...), which
/// names its subject.
fn kind(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Typed {
        #[serde(rename = "type")]
        kind: String,
    }
    let t: Typed = serde_json::from_str(text).ok()?;
    let ok = !t.kind.is_empty()
        && t.kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some(t.kind)
}

/// Publishes the leader's hub events until the hub ends.
pub fn publish(bus: Bus, hub: &Hub) {
    let mut rx = hub.event_feed();
    tokio::spawn(async move {
        loop {
            let text = match rx.recv().await {
                Ok(t) => t,
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(
                        "{n} fleet events were not published on the bus (it is too slow)"
                    );
                    let resync = serde_json::json!({"type": "resync",
                        "reason": format!("{n} events were missed on the bus; reload the snapshot")});
                    Utf8Bytes::from(resync.to_string())
                }
                Err(RecvError::Closed) => return,
            };
            let Some(kind) = kind(text.as_str()) else {
                tracing::warn!("a hub message without a type was not published");
                continue;
            };
            let payload = Bytes::from(text.as_str().to_owned());
            match bus
                .client()
                .publish(bus.event_subject(&kind), payload)
                .await
            {
                Ok(()) => {
                    bus.counters()
                        .events_published
                        .fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => tracing::warn!("a {kind} event was not published on the bus: {e}"),
            }
        }
    });
}

/// Takes the cluster's events into this server's hub (a follower's, or the
/// hub a follower had before it led: its open websockets go on).
pub async fn follow(bus: Bus, hub: Hub) -> Result<(), super::BusError> {
    let subject = bus.events_wildcard();
    let mut sub = bus
        .client()
        .subscribe(subject.clone())
        .await
        .map_err(|e| super::BusError {
            url: bus.health().url,
            message: format!("cannot subscribe to {subject}: {e}"),
        })?;
    tokio::spawn(async move {
        while let Some(msg) = sub.next().await {
            match std::str::from_utf8(&msg.payload) {
                Ok(text) => {
                    bus.counters()
                        .events_received
                        .fetch_add(1, Ordering::Relaxed);
                    hub.inject(Utf8Bytes::from(text.to_owned()));
                }
                Err(_) => tracing::warn!("an event on {} that is not UTF-8: dropped", msg.subject),
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::kind;

    #[test]
    fn the_subject_comes_from_the_message_type() {
        assert_eq!(
            kind(r#"{"type":"incident","t":1}"#).as_deref(),
            Some("incident")
        );
        assert_eq!(
            kind(r#"{"t":1,"type":"traffic"}"#).as_deref(),
            Some("traffic")
        );
        assert_eq!(
            kind(r#"{"type":"a.b"}"#),
            None,
            "no subject tokens from a message"
        );
        assert_eq!(kind(r#"{"type":">"}"#), None);
        assert_eq!(kind("not json"), None);
    }
}

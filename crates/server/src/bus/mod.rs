//! The cluster's bus: one NATS connection per server, and the subjects the
//! servers of one cluster share (all under one prefix, `fleet` unless the
//! configuration says otherwise):
//!
//! - `{prefix}.events.{type}`: every fleet event as the websocket sends it
//!   (`incident`, `drone`, `alert`, `dispatch`, `traffic`...), published by
//!   the leader and fanned out by every other server to its own websocket
//!   clients. A JetStream stream keeps them for a day (`events`).
//! - `{prefix}.leader.{node}`: requests to the leader `node`: an API call a
//!   follower forwards (`forward`, answered by `answer`), or the snapshot a
//!   follower's websocket client starts from. Addressed by name, so a
//!   paused former leader that still holds its subscription is never asked.
//! - `{prefix}.nodes.{node}`: each server's heartbeat (`peers`).
//!
//! Telemetry does not cross the bus: every server hears the vehicles itself.
//! The bus carries tokens (forwarded `Authorization` headers) and the fleet's
//! whole state: run NATS on a private network, with TLS and accounts
//! (docs/operations.md).

pub mod answer;
pub mod events;
pub mod forward;
pub mod peers;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_nats::connection::State;

use crate::wire::cluster::{BusHealth, BusState};

/// Where the subjects start when the configuration names no prefix.
pub const DEFAULT_PREFIX: &str = "fleet";

/// A server's connection to the cluster's bus. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Bus {
    client: async_nats::Client,
    prefix: Arc<str>,
    node: Arc<str>,
    /// The URL without credentials, for health and messages.
    shown: Arc<str>,
    counters: Arc<Counters>,
}

/// What went over the bus, for health.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) events_published: AtomicU64,
    pub(crate) events_received: AtomicU64,
    pub(crate) forwarded: AtomicU64,
    pub(crate) forward_failed: AtomicU64,
    pub(crate) answered: AtomicU64,
}

/// The bus could not be used at all (a malformed URL or option).
#[derive(Debug, thiserror::Error)]
#[error("the bus {url}: {message}")]
pub struct BusError {
    pub url: String,
    pub message: String,
}

impl Bus {
    /// Connects as `node`. A NATS server that does not answer yet is not an
    /// error: the client keeps trying (health says `connecting`), so a
    /// server starts while the bus is down and joins when it is back.
    pub async fn connect(url: &str, prefix: &str, node: &str) -> Result<Bus, BusError> {
        let shown = redact(url);
        let client = async_nats::ConnectOptions::new()
            .name(format!("dispatcher {node}"))
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connect(url)
            .await
            .map_err(|e| BusError {
                url: shown.clone(),
                message: e.to_string(),
            })?;
        Ok(Bus {
            client,
            prefix: prefix.into(),
            node: node.into(),
            shown: shown.into(),
            counters: Arc::default(),
        })
    }

    /// This server's name on the bus.
    pub fn node(&self) -> &str {
        &self.node
    }

    pub(crate) fn client(&self) -> &async_nats::Client {
        &self.client
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The subject an event of `kind` goes out on.
    pub fn event_subject(&self, kind: &str) -> String {
        format!("{}.events.{kind}", self.prefix)
    }

    /// Every event subject.
    pub fn events_wildcard(&self) -> String {
        format!("{}.events.>", self.prefix)
    }

    /// Where the leader `node` takes requests.
    pub fn leader_subject(&self, node: &str) -> String {
        format!("{}.leader.{node}", self.prefix)
    }

    /// Where `node` says it is alive.
    pub fn node_subject(&self, node: &str) -> String {
        format!("{}.nodes.{node}", self.prefix)
    }

    /// The JetStream stream that keeps the events: the prefix in capitals,
    /// dots as underscores, then `_EVENTS`.
    pub fn stream_name(&self) -> String {
        format!("{}_EVENTS", self.prefix.replace('.', "_").to_uppercase())
    }

    /// The largest message the NATS server takes.
    pub(crate) fn max_payload(&self) -> usize {
        match self.client.server_info().max_payload {
            0 => 1024 * 1024,
            n => n,
        }
    }

    /// Whether the connection is up now.
    pub fn is_connected(&self) -> bool {
        matches!(self.client.connection_state(), State::Connected)
    }

    /// The bus's part of `/api/health`.
    pub fn health(&self) -> BusHealth {
        let c = &self.counters;
        BusHealth {
            url: self.shown.to_string(),
            state: match self.client.connection_state() {
                State::Connected => BusState::Connected,
                State::Pending => BusState::Connecting,
                State::Disconnected => BusState::Disconnected,
            },
            subject_prefix: self.prefix.to_string(),
            events_published: c.events_published.load(Ordering::Relaxed),
            events_received: c.events_received.load(Ordering::Relaxed),
            forwarded: c.forwarded.load(Ordering::Relaxed),
            forward_failed: c.forward_failed.load(Ordering::Relaxed),
            answered: c.answered.load(Ordering::Relaxed),
        }
    }
}

/// `url` without a user's password or token (`nats://user:secret@host` ->
/// `nats://user:***@host`).
fn redact(url: &str) -> String {
    url.split(',')
        .map(|u| {
            let u = u.trim();
            match (u.find("://"), u.rfind('@')) {
                (Some(s), Some(at)) if at > s + 3 => {
                    let cred = &u[s + 3..at];
                    let user = cred.split(':').next().unwrap_or_default();
                    if cred.contains(':') {
                        format!("{}{user}:***{}", &u[..s + 3], &u[at..])
                    } else {
                        format!("{}***{}", &u[..s + 3], &u[at..])
                    }
                }
                _ => u.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn credentials_never_show() {
        assert_eq!(redact("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
        assert_eq!(
            redact("nats://ops:s3cret@bus.example:4222"),
            "nats://ops:***@bus.example:4222"
        );
        assert_eq!(
            redact("tls://tok3n@bus.example:4222, nats://b:4222"),
            "tls://***@bus.example:4222,nats://b:4222"
        );
    }
}

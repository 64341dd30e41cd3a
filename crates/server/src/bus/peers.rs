//! Which servers of the cluster are alive: each says so once a second on
//! `{prefix}.nodes.{node}` (its name, its role in the lease); each keeps
//! what it heard, for `/api/health`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use fleet::cluster::{ClusterStatus, Role};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::Bus;
use crate::wire::cluster::{ClusterRole, PeerHealth};

/// How often a server says it is alive.
pub const EVERY: Duration = Duration::from_secs(1);
/// A peer not heard for this long counts as gone.
pub const GONE_AFTER: Duration = Duration::from_secs(3);

/// One heartbeat.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Beat {
    node: String,
    role: ClusterRole,
    leader: Option<String>,
}

/// The servers heard on the bus. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Peers {
    heard: Arc<Mutex<BTreeMap<String, (Instant, Beat)>>>,
}

impl Peers {
    /// Every other server heard since this one started, newest state first
    /// in name order.
    pub fn health(&self, me: &str) -> Vec<PeerHealth> {
        let heard = self.heard.lock().unwrap_or_else(PoisonError::into_inner);
        heard
            .iter()
            .filter(|(n, _)| n.as_str() != me)
            .map(|(n, (at, b))| {
                let age = at.elapsed();
                PeerHealth {
                    node: n.clone(),
                    role: b.role,
                    leader: b.leader.clone(),
                    heard_s_ago: (age.as_secs_f64() * 10.0).round() / 10.0,
                    alive: age < GONE_AFTER,
                }
            })
            .collect()
    }

    /// Whether `node` was heard within [`GONE_AFTER`] (a server never
    /// heard counts as alive: its first heartbeat may be on its way).
    pub fn alive(&self, node: &str) -> bool {
        let heard = self.heard.lock().unwrap_or_else(PoisonError::into_inner);
        heard
            .get(node)
            .is_none_or(|(at, _)| at.elapsed() < GONE_AFTER)
    }

    fn heard(&self, beat: Beat) {
        self.heard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(beat.node.clone(), (Instant::now(), beat));
    }
}

/// Says this server is alive once a second, and listens to the others.
pub async fn start(
    bus: Bus,
    status: watch::Receiver<ClusterStatus>,
) -> Result<Peers, super::BusError> {
    let peers = Peers::default();
    let wildcard = bus.node_subject("*");
    let mut sub = bus
        .client()
        .subscribe(wildcard.clone())
        .await
        .map_err(|e| super::BusError {
            url: bus.health().url,
            message: format!("cannot subscribe to {wildcard}: {e}"),
        })?;
    let listening = peers.clone();
    tokio::spawn(async move {
        while let Some(msg) = sub.next().await {
            match serde_json::from_slice::<Beat>(&msg.payload) {
                Ok(b) => listening.heard(b),
                Err(e) => tracing::warn!("a malformed heartbeat on {}: {e}", msg.subject),
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            let beat = {
                let s = status.borrow();
                Beat {
                    node: s.node.clone(),
                    role: match s.role {
                        Role::Leader { .. } => ClusterRole::Leader,
                        Role::Standby => ClusterRole::Standby,
                        Role::SteppedDown => ClusterRole::SteppedDown,
                    },
                    leader: s.leader.clone(),
                }
            };
            let body = Bytes::from(serde_json::to_vec(&beat).unwrap_or_default());
            if let Err(e) = bus
                .client()
                .publish(bus.node_subject(bus.node()), body)
                .await
            {
                tracing::debug!("heartbeat not sent: {e}");
            }
        }
    });
    Ok(peers)
}

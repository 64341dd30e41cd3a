//! Where a server stands among several on one database: its part of
//! `/api/health`, and the whole health answer of a standby.

use fleet::cluster::{ClusterStatus, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// This server in the dispatch lease.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ClusterHealth {
    /// This server's name (`--node`).
    pub node: String,
    pub role: ClusterRole,
    /// Who holds the lease, as last read (null: nobody does now).
    pub leader: Option<String>,
    /// Seconds since the lease was last taken or renewed.
    pub lease_age_s: Option<f64>,
    /// The fencing token this server leads with.
    pub token: Option<u64>,
    /// The cluster's bus (NATS), if this server has one (`--bus`).
    pub bus: Option<BusHealth>,
    /// The other servers heard on the bus since this one started.
    pub peers: Vec<PeerHealth>,
}

/// This server's connection to the cluster's bus.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BusHealth {
    /// The NATS server(s), without credentials.
    pub url: String,
    pub state: BusState,
    /// The first token of the cluster's subjects.
    pub subject_prefix: String,
    /// Fleet events this server (as leader) published.
    pub events_published: u64,
    /// Fleet events this server took from the bus for its websocket clients.
    pub events_received: u64,
    /// Requests this server forwarded to the leader and got an answer to.
    pub forwarded: u64,
    /// Requests it forwarded that got none (no leader, timed out, bus down).
    pub forward_failed: u64,
    /// Requests of other servers this server answered as leader.
    pub answered: u64,
}

/// `connected`; `connecting` (never connected yet: the NATS server does
/// not answer); `disconnected` (lost, reconnecting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BusState {
    Connected,
    Connecting,
    Disconnected,
}

/// Another server of the cluster, as its heartbeats say.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PeerHealth {
    pub node: String,
    pub role: ClusterRole,
    /// The leader as that server last read the lease.
    pub leader: Option<String>,
    /// Seconds since its last heartbeat.
    pub heard_s_ago: f64,
    /// Heard within the last 3 s.
    pub alive: bool,
}

/// `leader`: writes the log and commands the vehicles; `standby`: waits
/// for the lease and sends nothing to any vehicle; `stepped_down`: lost
/// the lease and is stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClusterRole {
    Leader,
    Standby,
    SteppedDown,
}

/// `GET /api/health` of a standby: every other route answers 503 `standby`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StandbyHealth {
    pub status: StandbyStatus,
    pub scenario: String,
    /// Seconds since the server started.
    pub uptime_s: f64,
    /// The database as this standby's calls on the dispatch lease found it
    /// (twice a second; null before the first answer). A standby writes no
    /// log: `unsaved_events` is 0.
    pub database: Option<super::service::DatabaseHealth>,
    pub cluster: ClusterHealth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StandbyStatus {
    Standby,
}

/// What `GET /api/health` answers: a serving server's health, or a standby's.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum AnyHealth {
    Serving(Box<super::Health>),
    Standby(Box<StandbyHealth>),
}

impl From<&ClusterStatus> for ClusterHealth {
    fn from(s: &ClusterStatus) -> Self {
        let (role, token) = match s.role {
            Role::Leader { token } => (ClusterRole::Leader, Some(token)),
            Role::Standby => (ClusterRole::Standby, None),
            Role::SteppedDown => (ClusterRole::SteppedDown, None),
        };
        ClusterHealth {
            node: s.node.clone(),
            role,
            leader: s.leader.clone(),
            lease_age_s: s
                .lease_age()
                .map(|d| (d.as_secs_f64() * 10.0).round() / 10.0),
            token,
            bus: None,
            peers: Vec::new(),
        }
    }
}

impl ClusterHealth {
    /// Where this server stands, with its bus and the peers heard on it.
    pub fn of(view: &crate::ClusterView) -> ClusterHealth {
        let mut h = ClusterHealth::from(&*view.status.borrow());
        if let Some(bus) = &view.bus {
            h.bus = Some(bus.health());
            h.peers = view.peers.health(bus.node());
        }
        h
    }
}

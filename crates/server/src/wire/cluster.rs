//! Where a server stands among several on one database: its part of
//! `/api/health`, and the whole health answer of a standby.

use fleet::cluster::{ClusterStatus, Role};
use serde::Serialize;
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
}

/// `leader`: writes the log and commands the vehicles; `standby`: waits
/// for the lease and sends nothing to any vehicle; `stepped_down`: lost
/// the lease and is stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
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
    Standby(StandbyHealth),
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
        }
    }
}

//! The fleet as a long-running service: one task runs the
//! [`FleetManager`] (the runtime around the fleet core); a cheap
//! [`FleetHandle`] sends it [`Request`]s with `oneshot` replies, subscribes
//! to its events and reads the log through its own connection.
//!
//! A request that fails (an unknown id, an illegal status move, a vehicle
//! that refuses a command) is an error answer to that request; the service
//! goes on. The loop only ends on [`FleetHandle::stop`]. A caller that goes
//! away before its answer loses only the answer: the request is carried out,
//! and its outcome is an event in the log.

// The runtime's side: the one place of the fleet that reads a clock and spawns.
#![allow(clippy::disallowed_methods)]

use std::time::Duration;

use dispatch_core::model::{Zone, ZoneId};
use dispatch_core::{DroneId, IncidentId, Input};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::core::{DroneCommand, NewIncident, Reply, Request, ServiceError, Summary};
use crate::events::FleetEvent;
use crate::runtime::{Call, FleetLink, FleetManager, SharedStore, Until};
use crate::views::{IncidentView, ReportOutcome, Snapshot};

/// A handle on the running fleet service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct FleetHandle {
    calls: mpsc::Sender<Call>,
    events: broadcast::Sender<FleetEvent>,
    links: Vec<FleetLink>,
    store: Option<SharedStore>,
    database: Option<tokio::sync::watch::Receiver<crate::store::DatabaseHealth>>,
    sbs: Option<std::sync::Arc<crate::sbs_client::SbsStats>>,
}

/// Starts the fleet service: takes the fleet's state from telemetry (waiting
/// up to `wait` for heartbeats), then serves requests until stopped. The join
/// handle gives the summary at the end.
pub fn spawn(mut manager: FleetManager, wait: Duration) -> (FleetHandle, JoinHandle<Summary>) {
    let (calls_tx, calls) = mpsc::channel::<Call>(1024);
    let handle = FleetHandle {
        calls: calls_tx,
        events: manager.events_tx.clone(),
        links: manager.links(),
        store: manager.store(),
        database: manager.database(),
        sbs: manager.sbs_stats(),
    };
    let task = tokio::spawn(async move {
        manager.start_up(wait).await;
        manager
            .run(calls, Vec::new(), Until::Stopped, |_: &FleetEvent| {})
            .await
    });
    (handle, task)
}

/// A reply of the wrong kind: a bug in the core, said as such.
fn mismatch(r: Reply) -> ServiceError {
    ServiceError::Conflict(format!("internal: unexpected reply {r:?}"))
}

impl FleetHandle {
    /// Sends a request and waits for its reply. Changes are answered once
    /// they are in the durable log (fsynced); while it cannot be written
    /// they are refused before they are made (`DatabaseUnavailable` with
    /// `kept: false`, or `Storage`); one that was made and then could not be
    /// written is `kept: true` (or `Storage`) and the caller may retry
    /// (reports are idempotent by source and external id).
    pub async fn call(&self, request: Request) -> Result<Reply, ServiceError> {
        let (tx, rx) = oneshot::channel();
        self.calls
            .send((request, tx))
            .await
            .map_err(|_| ServiceError::Stopped)?;
        rx.await.map_err(|_| ServiceError::Stopped)
    }

    /// Every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<FleetEvent> {
        self.events.subscribe()
    }

    /// The fleet's MAVLink links, with the drones on each.
    pub fn links(&self) -> &[FleetLink] {
        &self.links
    }

    /// The durable event log's read side, if the service keeps one.
    pub fn store(&self) -> Option<SharedStore> {
        self.store.clone()
    }

    /// The durable log's health as the service found it at its last commit
    /// or check (at least once a second), if it keeps one.
    pub fn database(&self) -> Option<crate::store::DatabaseHealth> {
        self.database.as_ref().map(|d| d.borrow().clone())
    }

    /// What the SBS feed delivered so far, if the fleet reads one.
    pub fn sbs(&self) -> Option<crate::sbs_client::SbsSnapshot> {
        self.sbs.as_ref().map(|s| s.snapshot())
    }

    /// The traffic picture: tracks, counters, held launches and drones.
    pub async fn traffic(&self) -> Result<crate::core::TrafficView, ServiceError> {
        match self.call(Request::Traffic).await? {
            Reply::Traffic(v) => Ok(*v),
            r => Err(mismatch(r)),
        }
    }

    /// Sends a launch held for manned traffic despite the conflict.
    pub async fn launch_anyway(&self, id: IncidentId) -> Result<IncidentView, ServiceError> {
        self.incident_call(Request::LaunchAnyway(id)).await
    }

    pub async fn snapshot(&self) -> Result<Snapshot, ServiceError> {
        match self.call(Request::Snapshot).await? {
            Reply::Snapshot(s) => Ok(*s),
            r => Err(mismatch(r)),
        }
    }

    pub async fn report(&self, new: NewIncident) -> Result<ReportOutcome, ServiceError> {
        match self.call(Request::Report(new)).await? {
            Reply::Report(r) => r,
            r => Err(mismatch(r)),
        }
    }

    async fn incident_call(&self, request: Request) -> Result<IncidentView, ServiceError> {
        match self.call(request).await? {
            Reply::Incident(r) => r,
            r => Err(mismatch(r)),
        }
    }

    pub async fn incident(&self, id: IncidentId) -> Result<IncidentView, ServiceError> {
        self.incident_call(Request::Incident(id)).await
    }

    pub async fn incidents(&self) -> Result<Vec<IncidentView>, ServiceError> {
        match self.call(Request::Incidents).await? {
            Reply::Incidents(v) => Ok(v),
            r => Err(mismatch(r)),
        }
    }

    /// Confirms a proposed drone.
    pub async fn launch(&self, id: IncidentId) -> Result<IncidentView, ServiceError> {
        self.incident_call(Request::Launch(id)).await
    }

    pub async fn cancel(
        &self,
        id: IncidentId,
        reason: String,
    ) -> Result<IncidentView, ServiceError> {
        self.incident_call(Request::Cancel {
            incident: id,
            reason,
        })
        .await
    }

    /// The dispatcher closes the case (the drone, if still out, flies home).
    pub async fn resolve(
        &self,
        id: IncidentId,
        note: String,
    ) -> Result<IncidentView, ServiceError> {
        self.incident_call(Request::Resolve { incident: id, note })
            .await
    }

    /// Takes the incident off its drone (which flies home) and plans it again.
    pub async fn reassign(
        &self,
        id: IncidentId,
        reason: String,
    ) -> Result<IncidentView, ServiceError> {
        self.incident_call(Request::Reassign {
            incident: id,
            reason,
        })
        .await
    }

    async fn zone_call(&self, request: Request) -> Result<(), ServiceError> {
        match self.call(request).await? {
            Reply::Zone(r) => r,
            r => Err(mismatch(r)),
        }
    }

    pub async fn upsert_zone(&self, zone: Zone) -> Result<(), ServiceError> {
        self.zone_call(Request::UpsertZone(zone)).await
    }

    pub async fn remove_zone(&self, id: ZoneId) -> Result<(), ServiceError> {
        self.zone_call(Request::RemoveZone(id)).await
    }

    /// Sends an operator command and waits for the vehicle's answer
    /// (COMMAND_ACK, with the link's retries). The exchange runs in the
    /// service, not in the caller: a caller that goes away does not stop it.
    pub async fn command(&self, drone: DroneId, cmd: DroneCommand) -> Result<String, ServiceError> {
        match self
            .call(Request::Command {
                drone,
                command: cmd,
            })
            .await?
        {
            Reply::Command(r) => r,
            r => Err(mismatch(r)),
        }
    }

    /// Binds a drone to one address (an admin resolving a contest).
    pub async fn bind(
        &self,
        drone: DroneId,
        address: std::net::SocketAddr,
    ) -> Result<String, ServiceError> {
        match self.call(Request::Bind { drone, address }).await? {
            Reply::Command(r) => r,
            r => Err(mismatch(r)),
        }
    }

    /// Feeds the dispatcher an input as the fleet's own bookkeeping would
    /// (a refusal is an alert, and the error answer).
    pub async fn feed(&self, input: Input) -> Result<(), ServiceError> {
        match self.call(Request::Feed(input)).await? {
            Reply::Fed(r) => r,
            r => Err(mismatch(r)),
        }
    }

    /// Weather reports, all or none (see [`Request::Weather`]).
    pub async fn weather(
        &self,
        reports: Vec<crate::core::protocol::WeatherReport>,
    ) -> Result<(), ServiceError> {
        match self.call(Request::Weather(reports)).await? {
            Reply::Fed(r) => r,
            r => Err(mismatch(r)),
        }
    }

    /// Logs a share link's change; answered once it is durable (an
    /// opening is kept in memory while the log cannot be written).
    pub async fn record_share(&self, entry: crate::events::ShareEntry) -> Result<(), ServiceError> {
        match self.call(Request::Share(entry)).await? {
            Reply::Fed(r) => r,
            r => Err(mismatch(r)),
        }
    }

    /// Logs a still with its picture; answered once durable.
    pub async fn record_still(&self, entry: crate::events::StillEntry) -> Result<(), ServiceError> {
        match self.call(Request::Still(entry)).await? {
            Reply::Fed(r) => r,
            r => Err(mismatch(r)),
        }
    }

    /// The wind field now.
    pub async fn wind(&self) -> Result<crate::core::protocol::WindView, ServiceError> {
        match self.call(Request::Wind).await? {
            Reply::Wind(w) => Ok(*w),
            r => Err(mismatch(r)),
        }
    }

    /// Ends the service loop; the join handle then gives the summary.
    pub async fn stop(&self) -> Result<(), ServiceError> {
        self.call(Request::Stop).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests;

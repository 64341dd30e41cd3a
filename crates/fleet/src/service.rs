//! The fleet as a long-running service: one task owns the [`FleetManager`]
//! (and through it the dispatcher core and the link's sorties); a cheap
//! [`FleetHandle`] sends it requests with `oneshot` replies, subscribes to
//! its events and asks for snapshots of the whole state.
//!
//! A request that fails (an unknown id, an illegal status move, a vehicle
//! that refuses a command) is an error answer to that request; the service
//! goes on. The loop only ends on [`FleetHandle::stop`].

use std::time::Duration;

use dispatch_core::model::{
    Capability, CapabilitySet, Hangar, HangarId, Incident, IncidentKind, IncidentStatus, LatLon,
    Zone, ZoneId,
};
use dispatch_core::{
    Assignment, DispatchError, DroneId, DroneState, IncidentId, Input, Region, Report, Timestamp,
    dispatch::TimelineEntry,
};
use mavlink_link::link::{Command, CommandError, LinkHandle};
use mavlink_link::mav::{MavCmd, MavFrame};
use mavlink_link::modes::FlightMode;
use mavlink_link::state::{LinkStatus, VehicleState};
use serde::Serialize;
use thiserror::Error;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::manager::{FleetEvent, FleetManager, IncidentMeta, Job, Severity, Summary, Until, What};
use crate::mission;

/// A handle on the running fleet service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct FleetHandle {
    jobs: mpsc::Sender<Job>,
    events: broadcast::Sender<FleetEvent>,
    link: LinkHandle,
    store: Option<crate::manager::SharedStore>,
}

/// Why a request was refused.
#[derive(Debug, Error)]
pub enum ServiceError {
    #[error("unknown incident {0}")]
    UnknownIncident(IncidentId),
    #[error("unknown drone `{0}`")]
    UnknownDrone(DroneId),
    #[error("unknown zone `{0}`")]
    UnknownZone(ZoneId),
    /// The request is well formed but not possible in the current state.
    #[error("{0}")]
    Conflict(String),
    /// A field is outside what the scenario allows (region, kind policy).
    #[error("{0}")]
    Invalid(String),
    #[error("the vehicle did not carry out the command: {0}")]
    Vehicle(#[from] CommandError),
    #[error("the fleet service has stopped")]
    Stopped,
    /// The change could not be made durable: the caller must not take it as accepted.
    #[error("not recorded durably, try again: {0}")]
    Storage(String),
}

impl From<DispatchError> for ServiceError {
    fn from(e: DispatchError) -> Self {
        match e {
            DispatchError::UnknownIncident(id) => ServiceError::UnknownIncident(id),
            DispatchError::InvalidTransition { .. } | DispatchError::NothingToLaunch(_) => {
                ServiceError::Conflict(e.to_string())
            }
            DispatchError::World(dispatch_core::WorldError::UnknownDrone(d)) => {
                ServiceError::UnknownDrone(d)
            }
            DispatchError::World(dispatch_core::WorldError::UnknownZone(z)) => {
                ServiceError::UnknownZone(z)
            }
            other => ServiceError::Invalid(other.to_string()),
        }
    }
}

/// An incident reported to the service.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    pub kind: IncidentKind,
    pub position: LatLon,
    pub note: Option<String>,
    /// The reporting system (shore camera analytics, call centre...).
    pub source: Option<String>,
    /// The reporting system's own id: with `source`, a retry finds the same incident.
    pub external_id: Option<String>,
}

/// The answer to a report.
#[derive(Debug, Clone, Serialize)]
pub struct ReportOutcome {
    /// False when `(source, external_id)` named an incident already reported.
    pub created: bool,
    pub incident: IncidentView,
}

/// An incident as clients see it.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentView {
    #[serde(flatten)]
    pub incident: Incident,
    /// Predicted arrival on scene while a drone is proposed or on its way.
    pub eta: Option<Timestamp>,
    pub auto_launch: bool,
    pub assignment: Option<Assignment>,
    #[serde(flatten)]
    pub meta: IncidentMeta,
    pub timeline: Vec<TimelineEntry>,
}

/// A hangar with the drones it holds now.
#[derive(Debug, Clone, Serialize)]
pub struct HangarView {
    #[serde(flatten)]
    pub hangar: Hangar,
    /// Drones docked or charging here.
    pub drones: Vec<DroneId>,
}

/// One drone: the dispatcher's view and the vehicle's latest telemetry.
#[derive(Debug, Clone, Serialize)]
pub struct DroneView {
    pub id: DroneId,
    pub name: String,
    pub hangar: HangarId,
    pub system_id: u8,
    pub capabilities: CapabilitySet,
    pub state: DroneState,
    /// The incident it serves, if any.
    pub incident: Option<IncidentId>,
    pub lat: f64,
    pub lon: f64,
    /// Altitude above home, metres.
    pub alt_m: f64,
    pub heading_deg: f64,
    pub ground_speed_mps: f64,
    pub battery_pct: f64,
    pub mode: String,
    pub armed: bool,
    pub link: LinkQuality,
}

/// How well the dispatcher hears a vehicle.
#[derive(Debug, Clone, Serialize)]
pub struct LinkQuality {
    /// `unknown` (never heard), `up`, `degraded` (heartbeats late) or `lost`.
    pub status: &'static str,
    /// Seconds since the last heartbeat.
    pub last_heard_s: Option<f64>,
    pub frames: u64,
}

/// The whole state at one moment.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub time: Timestamp,
    pub scenario: String,
    pub region: Region,
    pub hangars: Vec<HangarView>,
    pub drones: Vec<DroneView>,
    /// Every zone, active now or not (see each zone's window).
    #[serde(skip)]
    pub zones: Vec<Zone>,
    pub incidents: Vec<IncidentView>,
    /// Queued incidents in the order they are served.
    pub queue: Vec<IncidentId>,
}

/// An operator's direct command to a drone.
#[derive(Debug, Clone, PartialEq)]
pub enum DroneCommand {
    /// Return to launch (the autopilot's RTL).
    Rtl,
    /// Land where it is.
    Land,
    /// Stop and hold position (LOITER).
    Hold,
    /// Go on with the uploaded mission (AUTO).
    Resume,
    /// Fly to a point (GUIDED reposition); altitude above home, default the cruise altitude.
    Goto {
        position: LatLon,
        alt_m: Option<f64>,
    },
    /// Release the gripper (lifebuoy).
    DropPayload,
    /// Play the loudspeaker clip of an incident kind (default: the drone's task).
    Loudspeaker { kind: Option<IncidentKind> },
}

impl DroneCommand {
    pub fn name(&self) -> &'static str {
        match self {
            DroneCommand::Rtl => "rtl",
            DroneCommand::Land => "land",
            DroneCommand::Hold => "hold",
            DroneCommand::Resume => "resume",
            DroneCommand::Goto { .. } => "goto",
            DroneCommand::DropPayload => "drop_payload",
            DroneCommand::Loudspeaker { .. } => "loudspeaker",
        }
    }
}

/// Starts the fleet service: takes the fleet's state from telemetry (waiting
/// up to `wait` for heartbeats), then serves requests until stopped. The join
/// handle gives the summary at the end.
pub fn spawn(mut manager: FleetManager, wait: Duration) -> (FleetHandle, JoinHandle<Summary>) {
    let (jobs_tx, jobs) = mpsc::channel::<Job>(1024);
    let handle = FleetHandle {
        jobs: jobs_tx,
        events: manager.events_tx.clone(),
        link: manager.link.clone(),
        store: manager.store(),
    };
    let task = tokio::spawn(async move {
        manager.start_up(wait).await;
        manager
            .run(jobs, Vec::new(), Until::Stopped, |_: &FleetEvent| {})
            .await
    });
    (handle, task)
}

impl FleetHandle {
    /// Runs `f` on the manager inside the service task and returns its result.
    async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut FleetManager) -> R + Send + 'static,
    ) -> Result<R, ServiceError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |m| {
            let _ = tx.send(f(m));
        });
        self.jobs
            .send(job)
            .await
            .map_err(|_| ServiceError::Stopped)?;
        rx.await.map_err(|_| ServiceError::Stopped)
    }

    /// Every event from now on.
    /// Like `call` for a change: its answer goes out only once the change
    /// is in the durable log (fsynced); if it cannot be written the answer is
    /// `Storage` and the caller may retry (reports are idempotent by
    /// source and external id).
    async fn call_durable<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut FleetManager) -> Result<R, ServiceError> + Send + 'static,
    ) -> Result<R, ServiceError> {
        self.call(move |m| {
            let r = f(m);
            match m.persist() {
                Ok(()) => r,
                Err(e) => r.and(Err(ServiceError::Storage(e.to_string()))),
            }
        })
        .await?
    }

    pub fn subscribe(&self) -> broadcast::Receiver<FleetEvent> {
        self.events.subscribe()
    }

    pub fn link(&self) -> &LinkHandle {
        &self.link
    }

    /// The durable event log, if the service keeps one.
    pub fn store(&self) -> Option<crate::manager::SharedStore> {
        self.store.clone()
    }

    pub async fn snapshot(&self) -> Result<Snapshot, ServiceError> {
        self.call(|m| m.snapshot()).await
    }

    pub async fn report(&self, new: NewIncident) -> Result<ReportOutcome, ServiceError> {
        self.call_durable(move |m| m.report_incident(new)).await
    }

    pub async fn incident(&self, id: IncidentId) -> Result<IncidentView, ServiceError> {
        self.call(move |m| m.incident_view(id).ok_or(ServiceError::UnknownIncident(id)))
            .await?
    }

    pub async fn incidents(&self) -> Result<Vec<IncidentView>, ServiceError> {
        self.call(|m| m.incident_views()).await
    }

    /// Confirms a proposed drone.
    pub async fn launch(&self, id: IncidentId) -> Result<IncidentView, ServiceError> {
        self.call_durable(move |m| {
            m.input(Input::Launch(id))?;
            m.incident_view(id).ok_or(ServiceError::UnknownIncident(id))
        })
        .await
    }

    pub async fn cancel(
        &self,
        id: IncidentId,
        reason: String,
    ) -> Result<IncidentView, ServiceError> {
        self.call_durable(move |m| m.end_incident(id, IncidentStatus::Cancelled, reason))
            .await
    }

    /// The dispatcher closes the case (the drone, if still out, flies home).
    pub async fn resolve(
        &self,
        id: IncidentId,
        note: String,
    ) -> Result<IncidentView, ServiceError> {
        self.call_durable(move |m| m.end_incident(id, IncidentStatus::Resolved, note))
            .await
    }

    /// Takes the incident off its drone (which flies home) and plans it again.
    pub async fn reassign(
        &self,
        id: IncidentId,
        reason: String,
    ) -> Result<IncidentView, ServiceError> {
        self.call_durable(move |m| m.reassign_incident(id, reason))
            .await
    }

    pub async fn upsert_zone(&self, zone: Zone) -> Result<(), ServiceError> {
        self.call_durable(move |m| Ok(m.input(Input::UpsertZone(zone))?))
            .await?;
        Ok(())
    }

    pub async fn remove_zone(&self, id: ZoneId) -> Result<(), ServiceError> {
        self.call_durable(move |m| Ok(m.input(Input::RemoveZone(id))?))
            .await?;
        Ok(())
    }

    /// Sends an operator command and waits for the vehicle's answer
    /// (COMMAND_ACK, with the link's retries).
    pub async fn command(&self, drone: DroneId, cmd: DroneCommand) -> Result<String, ServiceError> {
        let name = cmd.name();
        let who = drone.clone();
        let (sysid, steps) = self.call(move |m| m.command_steps(&drone, &cmd)).await??;
        let link = self.link.clone();
        let result: Result<(), CommandError> = async {
            for step in &steps {
                match step {
                    Step::Mode(mode) => link.set_mode(sysid, *mode).await?,
                    Step::Command(c) => link.command(sysid, c.clone()).await?,
                }
            }
            Ok(())
        }
        .await;
        // The vehicle's answer goes to the event log (and the map) too.
        let (severity, message) = match &result {
            Ok(()) => (
                Severity::Info,
                format!("operator command {name} accepted by the vehicle"),
            ),
            Err(e) => (
                Severity::Warning,
                format!("operator command {name} not carried out: {e}"),
            ),
        };
        let _ = self
            .call(move |m| {
                let now = m.now();
                m.event(
                    now,
                    What::Alert {
                        drone: Some(who),
                        severity,
                        message,
                    },
                );
            })
            .await;
        result?;
        Ok(format!("{name} accepted by the vehicle"))
    }

    /// Ends the service loop; the join handle then gives the summary.
    pub async fn stop(&self) -> Result<(), ServiceError> {
        self.call(|m| m.stop()).await
    }
}

/// One thing to send to a vehicle for an operator command.
#[derive(Debug, Clone)]
enum Step {
    Mode(FlightMode),
    Command(Command),
}

impl FleetManager {
    /// The vehicle and what to send it for an operator command, after checking
    /// that the command makes sense for the drone now.
    fn command_steps(
        &mut self,
        drone: &DroneId,
        cmd: &DroneCommand,
    ) -> Result<(u8, Vec<Step>), ServiceError> {
        let d = self
            .dispatcher
            .world()
            .drone(drone)
            .cloned()
            .ok_or_else(|| ServiceError::UnknownDrone(drone.clone()))?;
        let v = self.link.vehicle(d.system_id);
        if v.as_ref().is_none_or(|v| v.link == LinkStatus::Unknown) {
            return Err(ServiceError::Conflict(format!(
                "drone {drone} (system {}) has never been heard on the link",
                d.system_id
            )));
        }
        let airborne = v
            .as_ref()
            .is_some_and(|v| v.armed && v.landed != Some(true));
        let needs_air = |what: &str| {
            if airborne {
                Ok(())
            } else {
                Err(ServiceError::Conflict(format!(
                    "drone {drone} is not flying: cannot {what}"
                )))
            }
        };
        let steps = match cmd {
            DroneCommand::Rtl => {
                needs_air("return to launch")?;
                vec![Step::Mode(FlightMode::Rtl)]
            }
            DroneCommand::Land => {
                needs_air("land")?;
                vec![Step::Mode(FlightMode::Land)]
            }
            DroneCommand::Hold => {
                needs_air("hold")?;
                vec![Step::Mode(FlightMode::Loiter)]
            }
            DroneCommand::Resume => {
                needs_air("resume its mission")?;
                vec![Step::Mode(FlightMode::Auto)]
            }
            DroneCommand::Goto { position, alt_m } => {
                needs_air("go to a point")?;
                self.dispatcher
                    .world()
                    .check_position(*position)
                    .map_err(|e| ServiceError::Invalid(e.to_string()))?;
                let alt = alt_m.unwrap_or(self.dispatcher.world().params().cruise_altitude_m);
                vec![Step::Command(Command::Int {
                    command: MavCmd::MAV_CMD_DO_REPOSITION,
                    frame: MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT,
                    params: [-1.0, 1.0, 0.0, f32::NAN],
                    x: (position.lat * 1e7).round() as i32,
                    y: (position.lon * 1e7).round() as i32,
                    z: alt as f32,
                })]
            }
            DroneCommand::DropPayload => {
                if !d.capabilities.contains(Capability::Lifebuoy) {
                    return Err(ServiceError::Conflict(format!(
                        "drone {drone} carries no droppable payload"
                    )));
                }
                vec![Step::Command(Command::Long {
                    command: MavCmd::MAV_CMD_DO_GRIPPER,
                    params: [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                })]
            }
            DroneCommand::Loudspeaker { kind } => {
                if !d.capabilities.contains(Capability::Loudspeaker) {
                    return Err(ServiceError::Conflict(format!(
                        "drone {drone} has no loudspeaker"
                    )));
                }
                let kind = kind
                    .or(d.task.map(|t| t.kind))
                    .unwrap_or(IncidentKind::SpectatorInDangerZone);
                vec![Step::Command(Command::Long {
                    command: MavCmd::MAV_CMD_USER_1,
                    params: [mission::clip(kind), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                })]
            }
        };
        let operator_mode = match cmd {
            DroneCommand::Rtl => Some(Some(FlightMode::Rtl)),
            DroneCommand::Land => Some(Some(FlightMode::Land)),
            DroneCommand::Hold => Some(Some(FlightMode::Loiter)),
            // DO_REPOSITION flies in GUIDED.
            DroneCommand::Goto { .. } => Some(Some(FlightMode::Guided)),
            DroneCommand::Resume => Some(None),
            DroneCommand::DropPayload | DroneCommand::Loudspeaker { .. } => None,
        };
        if let Some(mode) = operator_mode {
            self.operator_mode(drone, mode);
        }
        let now = self.now();
        self.event(
            now,
            What::Alert {
                drone: Some(drone.clone()),
                severity: Severity::Info,
                message: format!("operator command {} sent", cmd.name()),
            },
        );
        Ok((d.system_id, steps))
    }

    fn report_incident(&mut self, new: NewIncident) -> Result<ReportOutcome, ServiceError> {
        let key = match (&new.source, &new.external_id) {
            (Some(s), Some(e)) => Some((s.clone(), e.clone())),
            (None, Some(_)) => {
                return Err(ServiceError::Invalid(
                    "external_id needs a source (the system that reported it)".into(),
                ));
            }
            _ => None,
        };
        if let Some(id) = key.as_ref().and_then(|k| self.external.get(k)).copied() {
            let incident = self
                .incident_view(id)
                .ok_or(ServiceError::UnknownIncident(id))?;
            return Ok(ReportOutcome {
                created: false,
                incident,
            });
        }
        let auto_launch = self
            .scenario
            .auto_launch
            .get(&new.kind)
            .copied()
            .unwrap_or(true);
        let id = self
            .input(Input::Report(Report {
                kind: new.kind,
                position: new.position,
                priority: None,
                auto_launch,
                patrol: None,
            }))?
            .first()
            .copied()
            .ok_or_else(|| ServiceError::Conflict("the incident was not opened".into()))?;
        self.meta.insert(
            id,
            IncidentMeta {
                note: new.note,
                source: new.source,
                external_id: new.external_id,
            },
        );
        if let Some(k) = key {
            self.external.insert(k, id);
        }
        let incident = self
            .incident_view(id)
            .ok_or(ServiceError::UnknownIncident(id))?;
        Ok(ReportOutcome {
            created: true,
            incident,
        })
    }

    fn end_incident(
        &mut self,
        id: IncidentId,
        status: IncidentStatus,
        note: String,
    ) -> Result<IncidentView, ServiceError> {
        let drone = self.sortie_of(id);
        self.input(match status {
            IncidentStatus::Resolved => Input::Progress {
                incident: id,
                status,
            },
            _ => Input::Cancel {
                incident: id,
                reason: note,
            },
        })?;
        if let Some(d) = drone {
            self.call_off(&d, &format!("incident {id} {status} by a dispatcher"));
        }
        self.incident_view(id)
            .ok_or(ServiceError::UnknownIncident(id))
    }

    fn reassign_incident(
        &mut self,
        id: IncidentId,
        reason: String,
    ) -> Result<IncidentView, ServiceError> {
        let drone = self.sortie_of(id);
        self.input(Input::Requeue {
            incident: id,
            reason: format!("reassigned by a dispatcher: {reason}"),
        })?;
        if let Some(d) = drone
            && self.sortie_incident(&d) == Some(id)
        {
            self.call_off(&d, &format!("incident {id} reassigned"));
        }
        self.incident_view(id)
            .ok_or(ServiceError::UnknownIncident(id))
    }

    pub(crate) fn incident_view(&self, id: IncidentId) -> Option<IncidentView> {
        let r = self.dispatcher.incident(id)?;
        Some(IncidentView {
            incident: r.incident.clone(),
            eta: r.eta(),
            auto_launch: r.auto_launch,
            assignment: r.assignment.clone(),
            meta: self.meta.get(&id).cloned().unwrap_or_default(),
            timeline: r.timeline.clone(),
        })
    }

    fn incident_views(&self) -> Vec<IncidentView> {
        self.dispatcher
            .incidents()
            .filter_map(|r| self.incident_view(r.incident.id))
            .collect()
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let world = self.dispatcher.world();
        let drones: Vec<DroneView> = world
            .drones()
            .iter()
            .map(|d| drone_view(d, self.link.vehicle(d.system_id).as_ref(), &self.link))
            .collect();
        let hangars = world
            .hangars()
            .iter()
            .map(|h| HangarView {
                hangar: h.clone(),
                drones: world
                    .drones()
                    .iter()
                    .filter(|d| {
                        d.hangar == h.id
                            && matches!(d.state, DroneState::Docked | DroneState::Charging)
                    })
                    .map(|d| d.id.clone())
                    .collect(),
            })
            .collect();
        Snapshot {
            time: self.now(),
            scenario: self.scenario.name.clone(),
            region: world.region(),
            hangars,
            drones,
            zones: world.zones().cloned().collect(),
            incidents: self.incident_views(),
            queue: self.dispatcher.queue(),
        }
    }
}

/// A drone's view from the dispatcher's record and the vehicle's telemetry
/// (where the vehicle has been heard; the record otherwise).
pub fn drone_view(
    d: &dispatch_core::Drone,
    v: Option<&VehicleState>,
    link: &LinkHandle,
) -> DroneView {
    let heard = v.filter(|v| v.last_heartbeat.is_some() && (v.lat != 0.0 || v.lon != 0.0));
    let now_link = link.link_time();
    DroneView {
        id: d.id.clone(),
        name: d.name.clone(),
        hangar: d.hangar.clone(),
        system_id: d.system_id,
        capabilities: d.capabilities,
        state: d.state,
        incident: d.task.map(|t| t.incident),
        lat: heard.map_or(d.position.lat, |v| v.lat),
        lon: heard.map_or(d.position.lon, |v| v.lon),
        alt_m: heard.map_or(0.0, |v| v.rel_alt_m),
        heading_deg: heard.map_or(0.0, |v| v.heading_deg),
        ground_speed_mps: heard.map_or(0.0, |v| v.ground_speed_mps),
        battery_pct: v.and_then(|v| v.battery_pct).unwrap_or(d.battery_pct),
        mode: v.map_or_else(|| "unknown".into(), |v| v.mode.to_string()),
        armed: v.is_some_and(|v| v.armed),
        link: LinkQuality {
            status: v
                .map_or(LinkStatus::Unknown, |v| {
                    v.link_at(now_link, &link.timeouts())
                })
                .as_str(),
            last_heard_s: v
                .and_then(|v| v.last_heartbeat)
                .map(|h| ((now_link - h).max(0.0) * 10.0).round() / 10.0),
            frames: v.map_or(0, |v| v.frames),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dispatch_core::config;
    use mavlink_link::link::{LinkConfig, Transport};

    fn scenario() -> dispatch_core::Scenario {
        let p = std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../config/haining.toml"
        ));
        config::load(p).unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn a_refused_input_is_an_alert_and_the_service_goes_on() {
        let s = scenario();
        let (t, _out, _in) = Transport::memory();
        let link = mavlink_link::link::spawn(
            t,
            s.drones.iter().map(|d| d.system_id),
            LinkConfig::default(),
        );
        let manager = FleetManager::new(s, link, crate::FleetConfig::default());
        let (fleet, task) = spawn(manager, Duration::ZERO);
        let mut events = fleet.subscribe();
        // A position far outside the region, as a strange frame would report it.
        fleet
            .call(|m| {
                m.apply(Input::DroneUpdate {
                    drone: DroneId("yg-1".into()),
                    state: DroneState::EnRoute,
                    position: LatLon::new(10.0, 10.0),
                    battery_pct: 50.0,
                })
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let alert = loop {
            let e = tokio::time::timeout(Duration::from_secs(5), events.recv())
                .await
                .unwrap_or_else(|_| panic!("no alert"))
                .unwrap_or_else(|e| panic!("{e}"));
            // (The first alert says no vehicle is heard: there is none here.)
            if let What::Alert { message, .. } = e.what
                && !message.starts_with("no vehicle heard")
            {
                break message;
            }
        };
        assert!(alert.contains("outside"), "{alert}");
        // Still serving: an unknown incident is an error answer, a snapshot works.
        assert!(matches!(
            fleet.incident(IncidentId(99)).await,
            Err(ServiceError::UnknownIncident(IncidentId(99)))
        ));
        assert_eq!(
            fleet.snapshot().await.map(|s| s.drones.len()).ok(),
            Some(15)
        );
        fleet.stop().await.unwrap_or_else(|e| panic!("{e}"));
        let summary = task.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(summary.open_sorties.is_empty());
    }

    fn service(
        store: Option<crate::manager::SharedStore>,
    ) -> (FleetHandle, tokio::task::JoinHandle<Summary>) {
        let s = scenario();
        let (t, _out, _in) = Transport::memory();
        let link = mavlink_link::link::spawn(
            t,
            s.drones.iter().map(|d| d.system_id),
            LinkConfig::default(),
        );
        let mut manager = FleetManager::new(s, link, crate::FleetConfig::default());
        if let Some(st) = store {
            manager.with_store(st).unwrap_or_else(|e| panic!("{e}"));
        }
        spawn(manager, Duration::ZERO)
    }

    fn report(ext: &str) -> NewIncident {
        NewIncident {
            kind: IncidentKind::PersonInWater,
            position: LatLon::new(30.347, 120.457),
            note: Some("seen from the dyke".into()),
            source: Some("call-centre".into()),
            external_id: Some(ext.into()),
        }
    }

    /// A log whose disk is gone: every write fails.
    #[derive(Debug)]
    struct BrokenDisk;

    impl crate::store::Store for BrokenDisk {
        fn commit(&mut self, _: &crate::store::Batch) -> Result<(), crate::store::StoreError> {
            Err(crate::store::StoreError::Open {
                path: "events.sqlite".into(),
                message: "disk I/O error".into(),
            })
        }
        fn recover(&mut self) -> Result<crate::store::Recovered, crate::store::StoreError> {
            Ok(crate::store::Recovered::default())
        }
        fn incident_events(
            &self,
            _: IncidentId,
        ) -> Result<Vec<crate::store::StoredEvent>, crate::store::StoreError> {
            Ok(vec![])
        }
        fn track(
            &self,
            _: &DroneId,
            _: Timestamp,
            _: Timestamp,
        ) -> Result<Vec<crate::store::TrackPoint>, crate::store::StoreError> {
            Ok(vec![])
        }
        fn incidents_reported(
            &self,
            _: Timestamp,
            _: Timestamp,
        ) -> Result<Vec<crate::store::IncidentRow>, crate::store::StoreError> {
            Ok(vec![])
        }
        fn events_between(
            &self,
            _: &[&str],
            _: Timestamp,
            _: Timestamp,
        ) -> Result<Vec<crate::store::StoredEvent>, crate::store::StoreError> {
            Ok(vec![])
        }
    }

    #[tokio::test]
    async fn a_restart_on_the_same_log_has_every_incident_zone_and_the_numbering() {
        let dir = std::env::temp_dir().join(format!("fleet-store-{}", std::process::id()));
        let path = dir.join("events.sqlite");
        let _ = std::fs::remove_file(&path);
        let open = || -> crate::manager::SharedStore {
            std::sync::Arc::new(std::sync::Mutex::new(
                crate::store::SqliteStore::open(&path).unwrap_or_else(|e| panic!("{e}")),
            ))
        };
        let (fleet, task) = service(Some(open()));
        // No vehicle is heard here: the incidents queue.
        let a = fleet
            .report(report("a"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let b = fleet
            .report(report("b"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let zone = dispatch_core::Zone {
            id: ZoneId("drill".into()),
            name: "Drill".into(),
            kind: dispatch_core::ZoneKind::TemporaryClosure,
            polygon: geo::Polygon::new(
                geo::LineString::from(vec![
                    (120.70, 30.60),
                    (120.72, 30.60),
                    (120.72, 30.62),
                    (120.70, 30.60),
                ]),
                vec![],
            ),
            floor_m: 0.0,
            ceiling_m: 500.0,
            window: dispatch_core::ActiveWindow::PERMANENT,
            rescue_exempt: false,
        };
        fleet
            .upsert_zone(zone)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        fleet
            .cancel(b.incident.incident.id, "duplicate call".into())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let before = fleet.snapshot().await.unwrap_or_else(|e| panic!("{e}"));
        // Gone without a clean stop: only what was committed counts.
        task.abort();
        drop(fleet);

        let (fleet, task) = service(Some(open()));
        let after = fleet.snapshot().await.unwrap_or_else(|e| panic!("{e}"));
        let ids = |s: &Snapshot| {
            s.incidents
                .iter()
                .map(|i| (i.incident.id, i.incident.status, i.timeline.len()))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&after), ids(&before));
        assert_eq!(after.queue, before.queue);
        assert_eq!(after.queue, vec![a.incident.incident.id]);
        assert!(after.zones.iter().any(|z| z.id.0 == "drill"));
        let view = fleet
            .incident(a.incident.incident.id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(view.meta.note.as_deref(), Some("seen from the dyke"));
        // Retried report: the same incident; a new one: the next number.
        let again = fleet
            .report(report("a"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!again.created);
        assert_eq!(again.incident.incident.id, a.incident.incident.id);
        let c = fleet
            .report(report("c"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.incident.incident.id, IncidentId(3));
        fleet.stop().await.unwrap_or_else(|e| panic!("{e}"));
        let _ = task.await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_report_that_cannot_be_logged_is_not_acknowledged() {
        let (fleet, task) = service(Some(std::sync::Arc::new(std::sync::Mutex::new(BrokenDisk))));
        let r = fleet.report(report("x")).await;
        assert!(
            matches!(&r, Err(ServiceError::Storage(m)) if m.contains("disk I/O error")),
            "{r:?}"
        );
        // The retry (same source and id) finds the one incident, still not durable.
        let r = fleet.report(report("x")).await;
        assert!(matches!(r, Err(ServiceError::Storage(_))));
        assert_eq!(fleet.incidents().await.map(|v| v.len()).ok(), Some(1));
        fleet.stop().await.unwrap_or_else(|e| panic!("{e}"));
        let _ = task.await;
    }
}

//! The fleet manager: the dispatcher's decisions carried out over MAVLink.
//!
//! It owns the [`Dispatcher`] and a [`LinkHandle`]. Assignments become
//! missions (and fences) that are uploaded, armed and started; telemetry
//! moves incidents through en_route, on_scene and returning and drones back
//! to their hangars, where they charge. Failures go back to the dispatcher as
//! re-queues, so another drone takes over: a rejected launch step (after the
//! link's own retries), a link lost for longer than `reassign_after`, a
//! vehicle that turns back on its own (failsafe, fence) or runs low on battery
//! before reaching the scene. Every step is an event; nothing is dropped.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use dispatch_core::{
    Assignment, DispatchError, Dispatcher, DroneId, DroneState, IncidentId, IncidentStatus, Input,
    LatLon, Output, Report, Scenario, Timestamp, ZoneId,
};
use mavlink_link::link::{Command, LinkEvent, LinkHandle};
use mavlink_link::mav::{MavCmd, MavMissionType};
use mavlink_link::modes::FlightMode;
use mavlink_link::state::LinkStatus;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;

use crate::mission::{self, MissionPlan, SortieSpec};
use crate::store::{Batch, Store, StoreError, ZoneChange};
use std::sync::PoisonError;

/// Settings of a fleet manager run.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// Scenario time at start (decides which zones are in force).
    pub start_time: Timestamp,
    /// Scenario seconds per wall second (match the simulator's `--speedup`).
    pub speedup: f64,
    /// How long a lost link is tolerated before the incident is re-assigned (wall).
    pub reassign_after: Duration,
    /// Battery percentage at which a charging drone counts as fully docked.
    pub charged_pct: f64,
    /// Scenario seconds without progress toward the current mission item
    /// (beyond the item's own hold time) before a sortie counts as stalled.
    pub stall_after_s: f64,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            start_time: Timestamp::default(),
            speedup: 1.0,
            reassign_after: Duration::from_secs(10),
            charged_pct: 95.0,
            stall_after_s: 60.0,
        }
    }
}

/// One line of the fleet's story.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetEvent {
    /// Scenario time.
    pub t: Timestamp,
    #[serde(flatten)]
    pub what: What,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum What {
    Incident {
        incident: IncidentId,
        status: IncidentStatus,
        note: String,
        /// The drone serving it, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        drone: Option<DroneId>,
        /// Predicted arrival on scene, while a drone is on its way.
        #[serde(skip_serializing_if = "Option::is_none")]
        eta: Option<Timestamp>,
    },
    Drone {
        drone: DroneId,
        state: DroneState,
        note: String,
    },
    Dispatch {
        output: Output,
    },
    Link {
        drone: DroneId,
        status: String,
    },
    Vehicle {
        drone: DroneId,
        text: String,
    },
    /// Something a person should look at: a lost link, a failsafe, a refused input.
    Alert {
        #[serde(skip_serializing_if = "Option::is_none")]
        drone: Option<DroneId>,
        severity: Severity,
        message: String,
    },
    /// A no-go zone was added, changed, removed or expired.
    Zone {
        zone: ZoneId,
        change: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// When the service loop ends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Until {
    /// Every scheduled incident ended and every drone is home, or the deadline.
    AllDone(Instant),
    /// Only when asked to stop.
    Stopped,
}

/// An incident to report once `after_s` seconds of scenario time have passed.
#[derive(Debug, Clone, PartialEq)]
pub struct Scheduled {
    pub report: Report,
    pub after_s: f64,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub resolved: Vec<IncidentId>,
    pub failed: Vec<IncidentId>,
    pub open: Vec<IncidentId>,
    /// Predicted and flown (sim) seconds to the scene, per sortie that arrived.
    pub arrivals: Vec<Arrival>,
    /// Drones still out when the run ended (with their incident, if any).
    pub open_sorties: Vec<OpenSortie>,
    /// Every drone that flew (or was to fly), and where it ended.
    pub drones: Vec<DroneOutcome>,
    /// The run ended at its deadline, not because everything had ended.
    pub timed_out: bool,
}

impl Summary {
    /// Every incident resolved, every drone that flew back in its hangar, in time.
    pub fn all_home(&self) -> bool {
        self.failed.is_empty()
            && self.open.is_empty()
            && !self.timed_out
            && self.drones.iter().all(|d| d.home)
    }
}

/// Where a drone ended: its state, and whether that is home (on the ground
/// in its hangar: docked, charging, or out of service after a failed
/// launch). A drone that landed away is in maintenance ("needs recovery"),
/// one not heard is lost, one still flying is in the air.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DroneOutcome {
    pub drone: DroneId,
    pub state: DroneState,
    pub home: bool,
    pub position: LatLon,
    pub battery_pct: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenSortie {
    pub drone: DroneId,
    pub incident: Option<IncidentId>,
    pub status: Option<IncidentStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Arrival {
    pub incident: IncidentId,
    pub drone: DroneId,
    pub predicted_eta_s: f64,
    pub actual_s: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Launching,
    Flying,
}

#[derive(Debug, Clone)]
struct Sortie {
    incident: IncidentId,
    system_id: u8,
    plan: MissionPlan,
    predicted_eta_s: f64,
    phase: Phase,
    /// Vehicle clock at the assignment, ms: the on-scene time is measured
    /// from the same instant as the predicted ETA.
    start_boot_ms: Option<u32>,
    was_airborne: bool,
    lost_since: Option<Instant>,
    /// Link time the mission was started: heartbeats after it show the
    /// mode the vehicle flies the mission in.
    flying_since: Option<f64>,
    /// Progress toward the current mission item, for the stall watchdog.
    progress: Option<Progress>,
    on_scene_s: f64,
    payload_confirmed: bool,
    /// An implausible mission progress report was alerted (once a sortie).
    implausible_reported: bool,
    /// A mode a dispatcher commanded through the API (hold, go to, RTL,
    /// land): not a hijack; None once the mission is resumed.
    operator_mode: Option<FlightMode>,
    /// Stops the launch task when the sortie is called off before take-off.
    launch_task: Option<tokio::task::AbortHandle>,
    /// Vehicle time (ms) since which the evidence of arrival, and of
    /// having landed, has held without a break.
    scene_since_ms: Option<u32>,
    landed_since_ms: Option<u32>,
}

/// Evidence that ends a phase of a sortie (on scene, landed) must hold this
/// long on the vehicle's own clock, over several telemetry messages, before
/// it is acted on: one frame, even an authentic one, is not enough.
const CONFIRM_MS: u32 = 1500;

/// How close (m) to its hangar a drone on the ground counts as in it.
const AT_HANGAR_M: f64 = 30.0;

/// How close (m) a vehicle must be to the scene waypoint for its mission
/// progress to count as arrival (the waypoint radius plus GPS error).
const SCENE_RADIUS_M: f64 = 150.0;

/// The best distance (m, 3-D) to mission item `seq` so far, and when it was
/// last improved, on the vehicle's clock (`time_boot_ms`): that clock only
/// moves with fresh telemetry, so a link outage never looks like a stall.
#[derive(Debug, Clone, Copy)]
struct Progress {
    seq: u16,
    best_m: f64,
    since_boot_ms: u32,
}

/// What the watchdog found wrong with a sortie in flight.
#[derive(Debug, Clone, PartialEq)]
enum Trouble {
    /// Disarmed while in the air: the vehicle falls.
    DisarmedInAir,
    /// Turned back by its own failsafe (RTL, SmartRTL, LAND).
    TurnedBack(FlightMode),
    /// A mode the dispatcher did not command (a rogue station, a pilot).
    Uncommanded(FlightMode),
    /// No progress toward mission item `seq` for `for_s` scenario seconds.
    Stalled { seq: u16, for_s: f64 },
}

/// A drone flying home with no incident (after a re-queue or a lost link).
#[derive(Debug, Clone)]
struct Homing {
    system_id: u8,
    /// A sortie lost with its link: the mission item where its way home
    /// starts, and the incident it was flying. The vehicle keeps flying the
    /// mission on its own (failsafe parameters); if it is heard again before
    /// the way home, it is sent there, as the incident went to another drone.
    recall: Option<(u16, IncidentId)>,
}

type LaunchResult = (DroneId, IncidentId, Result<String, String>);

pub struct FleetManager {
    pub(crate) cfg: FleetConfig,
    pub(crate) scenario: Scenario,
    pub(crate) dispatcher: Dispatcher,
    pub(crate) link: LinkHandle,
    sorties: BTreeMap<DroneId, Sortie>,
    homing: BTreeMap<DroneId, Homing>,
    charging: BTreeSet<DroneId>,
    involved: BTreeSet<DroneId>,
    link_status: BTreeMap<u8, LinkStatus>,
    launches: JoinSet<LaunchResult>,
    arrivals: Vec<Arrival>,
    events: Vec<FleetEvent>,
    /// Every event also goes here, for any number of subscribers.
    pub(crate) events_tx: broadcast::Sender<FleetEvent>,
    /// What the dispatcher core does not keep: free text and intake origin.
    pub(crate) meta: BTreeMap<IncidentId, IncidentMeta>,
    /// (source, external_id) -> incident, so that a retried webhook finds its incident.
    pub(crate) external: HashMap<(String, String), IncidentId>,
    /// The last input error, and how often it repeated (alerts are not repeated).
    last_error: Option<(String, u64)>,
    stopping: bool,
    started: Instant,
    /// The durable log, and what of the state it already holds.
    store: Option<SharedStore>,
    saved: Saved,
}

/// The durable log, shared with readers (reports, time lines).
pub type SharedStore = std::sync::Arc<std::sync::Mutex<dyn Store>>;

/// Track points are kept at most this often per drone (scenario seconds).
const TRACK_EVERY_S: i64 = 5;
/// Events waiting for a log that fails are kept up to this many (the oldest go first).
const MAX_UNSAVED_EVENTS: usize = 100_000;

/// What the log already holds, so that a step writes only what changed.
#[derive(Debug, Default)]
struct Saved {
    /// Events not yet committed.
    unsaved: Vec<FleetEvent>,
    /// Per incident: (status, time-line length, drone) as last written.
    incidents: HashMap<IncidentId, (IncidentStatus, usize, Option<DroneId>)>,
    sorties: BTreeMap<DroneId, crate::store::StoredSortie>,
    zones: Vec<crate::store::ZoneChange>,
    track_at: HashMap<DroneId, Timestamp>,
    next_id: u64,
    /// Sorties in the log at start-up, taken back as their drones are heard.
    recovered: BTreeMap<DroneId, crate::store::StoredSortie>,
    /// The log is failing (alerted once until it works again).
    failing: bool,
    dropped: u64,
}

/// What an incident has beyond the dispatcher core's record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct IncidentMeta {
    pub note: Option<String>,
    pub source: Option<String>,
    pub external_id: Option<String>,
}

/// Work for the service task: a closure run on the manager, between two
/// inputs, so that every change goes through the one owner of the state.
pub(crate) type Job = Box<dyn FnOnce(&mut FleetManager) + Send>;

impl std::fmt::Debug for FleetManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetManager")
            .field("sorties", &self.sorties.len())
            .field("homing", &self.homing.len())
            .finish()
    }
}

impl FleetManager {
    pub fn new(scenario: Scenario, link: LinkHandle, cfg: FleetConfig) -> FleetManager {
        let dispatcher = Dispatcher::new(scenario.world(), scenario.patrols.clone());
        let (events_tx, _) = broadcast::channel(4096);
        FleetManager {
            cfg,
            scenario,
            dispatcher,
            link,
            sorties: BTreeMap::new(),
            homing: BTreeMap::new(),
            charging: BTreeSet::new(),
            involved: BTreeSet::new(),
            link_status: BTreeMap::new(),
            launches: JoinSet::new(),
            arrivals: Vec::new(),
            events: Vec::new(),
            events_tx,
            meta: BTreeMap::new(),
            external: HashMap::new(),
            last_error: None,
            stopping: false,
            started: Instant::now(),
            store: None,
            saved: Saved::default(),
        }
    }

    /// Keeps a durable log in `store` and takes back what it holds: open
    /// incidents with their ids, assignments and time lines, zones changed
    /// at run time, the numbering, and sorties (their drones are followed
    /// again once heard, see `start_up`). Scenario time goes on from the
    /// newest logged event if that is later than the configured start.
    pub fn with_store(&mut self, store: SharedStore) -> Result<(), StoreError> {
        let r = store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recover()?;
        if let Some(last) = r.last_event_at
            && last > self.now()
        {
            self.cfg.start_time = last;
            self.started = Instant::now();
        }
        let now = self.now();
        let mut zones = 0;
        for change in &r.zones {
            let input = match change {
                ZoneChange::Upsert { zone } => Input::UpsertZone(zone.clone().into()),
                ZoneChange::Remove { id } => Input::RemoveZone(id.clone()),
            };
            // A zone removed in the log may be gone from the file since: not an error.
            if self.dispatcher.handle(now, input).is_ok() {
                zones += 1;
            }
        }
        let open: Vec<IncidentId> = r
            .incidents
            .iter()
            .filter(|(rec, _)| !rec.incident.status.is_terminal())
            .map(|(rec, _)| rec.incident.id)
            .collect();
        let total = r.incidents.len();
        let mut records = Vec::new();
        for (rec, meta) in r.incidents {
            let id = rec.incident.id;
            if let (Some(src), Some(ext)) = (&meta.source, &meta.external_id) {
                self.external.insert((src.clone(), ext.clone()), id);
            }
            self.saved.incidents.insert(
                id,
                (
                    rec.incident.status,
                    rec.timeline.len(),
                    rec.incident.drone.clone(),
                ),
            );
            self.meta.insert(id, meta);
            records.push(rec);
        }
        self.dispatcher.restore(records, r.next_incident_id);
        self.saved.next_id = self.dispatcher.next_id();
        self.saved.sorties = r
            .sorties
            .iter()
            .map(|s| (s.drone.clone(), s.clone()))
            .collect();
        self.saved.recovered = self.saved.sorties.clone();
        self.store = Some(store);
        if total > 0 || zones > 0 {
            let ids: Vec<String> = open.iter().map(|i| i.to_string()).collect();
            self.event(
                now,
                What::Alert {
                    drone: None,
                    severity: Severity::Info,
                    message: format!(
                        "recovered from the event log: {total} incident(s), {} open [{}], {} sortie(s) to follow, {zones} zone change(s); next incident is {}",
                        open.len(),
                        ids.join(", "),
                        r.sorties.len(),
                        self.dispatcher.next_id()
                    ),
                },
            );
        }
        Ok(())
    }

    /// The durable log, if any (for reports and time lines).
    pub fn store(&self) -> Option<SharedStore> {
        self.store.clone()
    }

    /// Writes what changed since the last call to the log, durably. Without
    /// a log, nothing. On failure nothing is lost from memory: the next call
    /// tries again (and the failure is an alert).
    pub(crate) fn persist(&mut self) -> Result<(), StoreError> {
        let Some(store) = self.store.clone() else {
            return Ok(());
        };
        let now = self.now();
        let mut batch = Batch {
            events: self.saved.unsaved.clone(),
            next_incident_id: self.dispatcher.next_id(),
            zones: self.saved.zones.clone(),
            ..Batch::default()
        };
        let mut incident_keys = Vec::new();
        for r in self.dispatcher.incidents() {
            let key = (
                r.incident.status,
                r.timeline.len(),
                r.incident.drone.clone(),
            );
            if self.saved.incidents.get(&r.incident.id) != Some(&key) {
                let meta = self.meta.get(&r.incident.id).cloned().unwrap_or_default();
                batch.incidents.push((r.clone(), meta));
                incident_keys.push((r.incident.id, key));
            }
        }
        let sorties: BTreeMap<DroneId, crate::store::StoredSortie> = self
            .sorties
            .iter()
            .map(|(d, s)| {
                (
                    d.clone(),
                    crate::store::StoredSortie {
                        drone: d.clone(),
                        incident: s.incident,
                        system_id: s.system_id,
                        airborne_at_launch: s.plan.airborne_at_launch,
                        predicted_eta_s: s.predicted_eta_s,
                        on_scene_s: s.on_scene_s,
                        start_boot_ms: s.start_boot_ms,
                        payload_confirmed: s.payload_confirmed,
                    },
                )
            })
            .collect();
        for (d, s) in &sorties {
            if self.saved.sorties.get(d) != Some(s) {
                batch.sorties.push((d.clone(), Some(s.clone())));
            }
        }
        for d in self.saved.sorties.keys() {
            // A recovered sortie not yet taken back stays in the log.
            if !sorties.contains_key(d) && !self.saved.recovered.contains_key(d) {
                batch.sorties.push((d.clone(), None));
            }
        }
        let flying: Vec<(DroneId, u8, Option<IncidentId>)> = self
            .sorties
            .iter()
            .map(|(d, s)| (d.clone(), s.system_id, Some(s.incident)))
            .chain(
                self.homing
                    .iter()
                    .map(|(d, h)| (d.clone(), h.system_id, None)),
            )
            .collect();
        for (d, sysid, incident) in flying {
            if self
                .saved
                .track_at
                .get(&d)
                .is_some_and(|t| (now - *t).num_seconds() < TRACK_EVERY_S)
            {
                continue;
            }
            if let Some(v) = self.link.vehicle(sysid)
                && (v.lat != 0.0 || v.lon != 0.0)
            {
                batch.track.push(crate::store::TrackPoint {
                    drone: d.clone(),
                    t: now,
                    lat: v.lat,
                    lon: v.lon,
                    alt_m: v.rel_alt_m,
                    incident,
                });
            }
        }
        if batch.is_empty() && batch.next_incident_id == self.saved.next_id {
            return Ok(());
        }
        let result = store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .commit(&batch);
        match result {
            Ok(()) => {
                self.saved.unsaved.clear();
                self.saved.zones.clear();
                for (id, key) in incident_keys {
                    self.saved.incidents.insert(id, key);
                }
                for (d, s) in batch.sorties {
                    match s {
                        Some(s) => self.saved.sorties.insert(d, s),
                        None => self.saved.sorties.remove(&d),
                    };
                }
                for p in batch.track {
                    self.saved.track_at.insert(p.drone, p.t);
                }
                self.saved.next_id = batch.next_incident_id;
                if self.saved.failing {
                    self.saved.failing = false;
                    self.event(
                        now,
                        What::Alert {
                            drone: None,
                            severity: Severity::Info,
                            message: "the event log is written again".into(),
                        },
                    );
                }
                Ok(())
            }
            Err(e) => {
                if self.saved.unsaved.len() > MAX_UNSAVED_EVENTS {
                    let n = self.saved.unsaved.len() - MAX_UNSAVED_EVENTS;
                    self.saved.unsaved.drain(..n);
                    self.saved.dropped += n as u64;
                }
                if !self.saved.failing {
                    self.saved.failing = true;
                    tracing::error!("{e}");
                    self.event(
                        now,
                        What::Alert {
                            drone: None,
                            severity: Severity::Critical,
                            message: format!(
                                "cannot write the event log ({e}): changes are kept in memory and written when it works again; new incidents are refused meanwhile"
                            ),
                        },
                    );
                }
                Err(e)
            }
        }
    }

    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    pub fn link(&self) -> &LinkHandle {
        &self.link
    }

    /// Every event from now on (a receiver that lags loses the oldest; see `broadcast`).
    pub fn subscribe(&self) -> broadcast::Receiver<FleetEvent> {
        self.events_tx.subscribe()
    }

    /// Scenario time now.
    pub fn now(&self) -> Timestamp {
        let s = self.started.elapsed().as_secs_f64() * self.cfg.speedup;
        self.cfg.start_time + TimeDelta::milliseconds((s * 1000.0) as i64)
    }

    /// Takes the fleet's real state at start: waits up to `wait` for every
    /// configured vehicle's heartbeat, reads battery levels, and marks the
    /// vehicles not heard as lost (they become dispatchable once heard and
    /// docked).
    pub async fn start_up(&mut self, wait: Duration) {
        let seen_by = Instant::now() + wait;
        while Instant::now() < seen_by
            && self.scenario.drones.iter().any(|d| {
                self.link
                    .vehicle(d.system_id)
                    .is_none_or(|v| v.last_heartbeat.is_none())
            })
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Telemetry has a moment to arrive, so that battery levels are real.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let heard = self
            .scenario
            .drones
            .iter()
            .filter(|d| {
                self.link
                    .vehicle(d.system_id)
                    .is_some_and(|v| v.last_heartbeat.is_some())
            })
            .count();
        if heard == 0 && !self.scenario.drones.is_empty() {
            let now = self.now();
            let at = self
                .link
                .local_addr()
                .map_or_else(|| "the configured address".to_owned(), |a| a.to_string());
            self.event(
                now,
                What::Alert {
                    drone: None,
                    severity: Severity::Critical,
                    message: format!(
                        "no vehicle heard on {at} after {:.0} s: is the fleet's radio (or drone-sim) running and sending there? Waiting for heartbeats",
                        wait.as_secs_f64()
                    ),
                },
            );
        }
        for d in self.scenario.drones.clone() {
            let v = self
                .link
                .vehicle(d.system_id)
                .filter(|v| v.last_heartbeat.is_some());
            if self.take_back_sortie(&d, v.as_ref()) {
                continue;
            }
            let Some(v) = v else {
                let now = self.now();
                self.apply(Input::DroneUpdate {
                    drone: d.id.clone(),
                    state: DroneState::Lost,
                    position: d.position,
                    battery_pct: d.battery_pct,
                });
                self.event(
                    now,
                    What::Drone {
                        drone: d.id.clone(),
                        state: DroneState::Lost,
                        note: format!("no heartbeat from system {}: not dispatchable", d.system_id),
                    },
                );
                continue;
            };
            self.take_state(&d, &v);
        }
    }

    /// Whether `cond` has held for `CONFIRM_MS` of vehicle time (`t_ms`),
    /// tracked in the sortie's `field`; gives the time it began to hold.
    fn confirm(
        &mut self,
        drone: &DroneId,
        field: fn(&mut Sortie) -> &mut Option<u32>,
        cond: bool,
        t_ms: u32,
    ) -> Option<u32> {
        let f = field(self.sorties.get_mut(drone)?);
        if !cond {
            *f = None;
            return None;
        }
        let first = match *f {
            // A rebooted vehicle's clock starts again.
            Some(first) if first <= t_ms => first,
            _ => {
                *f = Some(t_ms);
                t_ms
            }
        };
        (t_ms - first >= CONFIRM_MS).then_some(first)
    }

    /// A sortie from the event log (the service was restarted while it
    /// flew): a drone still in the air is followed again to the end of its
    /// mission, as if never let go; one heard on the ground has finished
    /// (resolved if it was on its way back) or never left (the incident goes
    /// back to the queue). A drone not heard keeps its sortie, lost, and is
    /// handed over after `reassign_after` like any lost link. Returns
    /// whether the sortie was taken back.
    fn take_back_sortie(
        &mut self,
        d: &dispatch_core::Drone,
        v: Option<&mavlink_link::state::VehicleState>,
    ) -> bool {
        let Some(stored) = self.saved.recovered.remove(&d.id) else {
            return false;
        };
        let now = self.now();
        let Some(rec) = self
            .dispatcher
            .incident(stored.incident)
            .cloned()
            .filter(|r| {
                r.incident.status.holds_drone() && r.incident.drone.as_ref() == Some(&d.id)
            })
        else {
            return false;
        };
        let Some(assignment) = rec.assignment.as_ref() else {
            return false;
        };
        let airborne = v.is_some_and(|v| v.armed && (v.landed == Some(false) || v.rel_alt_m > 1.0));
        if let Some(v) = v
            && !airborne
        {
            let pos = LatLon::new(v.lat, v.lon);
            let home = self
                .dispatcher
                .world()
                .hangar(&d.hangar)
                .map(|h| h.position)
                .unwrap_or(d.position);
            let home_from_the_scene = rec.incident.status == IncidentStatus::Returning
                && dispatch_core::geodesy::distance_m(home, pos) < AT_HANGAR_M;
            self.resolve_or_requeue(
                stored.incident,
                home_from_the_scene,
                &format!("drone {} is on the ground after the restart", d.id),
            );
            return false;
        }
        let Some((plan, on_scene_s, _, _)) =
            self.sortie_plan(stored.incident, assignment, stored.airborne_at_launch)
        else {
            return false;
        };
        let state = match rec.incident.status {
            IncidentStatus::OnScene => DroneState::OnScene,
            IncidentStatus::Returning => DroneState::Returning,
            _ => DroneState::EnRoute,
        };
        if rec.incident.status == IncidentStatus::Assigned {
            // It took off before the restart: the launch went through.
            self.apply(Input::Progress {
                incident: stored.incident,
                status: IncidentStatus::EnRoute,
            });
        }
        self.sorties.insert(
            d.id.clone(),
            Sortie {
                incident: stored.incident,
                system_id: d.system_id,
                plan,
                predicted_eta_s: stored.predicted_eta_s,
                phase: Phase::Flying,
                start_boot_ms: stored.start_boot_ms,
                was_airborne: true,
                lost_since: v.is_none().then(Instant::now),
                flying_since: Some(self.link.link_time()),
                progress: None,
                on_scene_s,
                payload_confirmed: stored.payload_confirmed,
                implausible_reported: false,
                operator_mode: None,
                launch_task: None,
                scene_since_ms: None,
                landed_since_ms: None,
            },
        );
        self.involved.insert(d.id.clone());
        let (pos, battery) = v.map_or((d.position, d.battery_pct), |v| {
            (
                LatLon::new(v.lat, v.lon),
                v.battery_pct.unwrap_or(d.battery_pct),
            )
        });
        self.apply(Input::DroneUpdate {
            drone: d.id.clone(),
            state,
            position: pos,
            battery_pct: battery,
        });
        let how = match v {
            Some(v) => format!("in the air in {} at mission item {}", v.mode, v.mission_seq),
            None => "not heard yet (lost until it is)".to_owned(),
        };
        self.event(
            now,
            What::Drone {
                drone: d.id.clone(),
                state,
                note: format!(
                    "taken back after a restart: {how}; following its sortie for incident {}",
                    stored.incident
                ),
            },
        );
        true
    }

    /// A vehicle's real state at start-up, from its telemetry: one in the
    /// air (a sortie from before a restart, or anyone's flight) is followed
    /// home and is not dispatchable until it docks; one on the ground away
    /// from its hangar needs recovery; one in its hangar is docked or
    /// charging with the battery it reports.
    fn take_state(&mut self, d: &dispatch_core::Drone, v: &mavlink_link::state::VehicleState) {
        let now = self.now();
        let battery = v.battery_pct.unwrap_or(d.battery_pct);
        let has_fix = v.lat != 0.0 || v.lon != 0.0;
        let pos = if has_fix {
            LatLon::new(v.lat, v.lon)
        } else {
            d.position
        };
        let hangar = self
            .dispatcher
            .world()
            .hangar(&d.hangar)
            .map(|h| h.position)
            .unwrap_or(d.position);
        let airborne = v.armed && (v.landed == Some(false) || v.rel_alt_m > 1.0);
        if airborne {
            self.involved.insert(d.id.clone());
            self.homing.insert(
                d.id.clone(),
                Homing {
                    system_id: d.system_id,
                    recall: None,
                },
            );
            self.apply(Input::DroneUpdate {
                drone: d.id.clone(),
                state: DroneState::Returning,
                position: pos,
                battery_pct: battery,
            });
            let flying_home = matches!(
                v.mode,
                FlightMode::Auto | FlightMode::Rtl | FlightMode::SmartRtl | FlightMode::Land
            );
            let action = if flying_home {
                format!("followed home in {}", v.mode)
            } else {
                // Hovering or flown by hand with no mission of ours to finish.
                self.send_home(&d.id, d.system_id, None);
                format!("was in {}; sent SMART_RTL (else RTL)", v.mode)
            };
            let note = format!(
                "in the air at start-up ({:.0} m up at {pos}, battery {battery:.0}%): {action}; dispatchable once docked",
                v.rel_alt_m
            );
            self.event(
                now,
                What::Alert {
                    drone: Some(d.id.clone()),
                    severity: Severity::Warning,
                    message: note.clone(),
                },
            );
            self.event(
                now,
                What::Drone {
                    drone: d.id.clone(),
                    state: DroneState::Returning,
                    note,
                },
            );
            return;
        }
        if has_fix && dispatch_core::geodesy::distance_m(hangar, pos) >= AT_HANGAR_M {
            let note = format!("on the ground away from its hangar at {pos}: needs recovery");
            self.event(
                now,
                What::Alert {
                    drone: Some(d.id.clone()),
                    severity: Severity::Critical,
                    message: note.clone(),
                },
            );
            self.event(
                now,
                What::Drone {
                    drone: d.id.clone(),
                    state: DroneState::Maintenance,
                    note,
                },
            );
            self.apply(Input::DroneUpdate {
                drone: d.id.clone(),
                state: DroneState::Maintenance,
                position: pos,
                battery_pct: battery,
            });
            return;
        }
        if d.state.is_on_ground() {
            let state = if battery >= self.cfg.charged_pct {
                d.state
            } else {
                self.charging.insert(d.id.clone());
                DroneState::Charging
            };
            self.apply(Input::DroneUpdate {
                drone: d.id.clone(),
                state,
                position: d.position,
                battery_pct: battery,
            });
        }
    }

    /// Reports incidents, flies them, and returns when every incident has
    /// ended and every drone involved is back in its hangar (or `deadline`).
    /// Events are passed to `emit` as they happen.
    pub async fn fly(
        mut self,
        scheduled: Vec<Scheduled>,
        deadline: Duration,
        emit: impl FnMut(&FleetEvent),
    ) -> Summary {
        self.start_up(Duration::from_secs(5)).await;
        let (_jobs_tx, jobs) = mpsc::channel(1);
        self.run(
            jobs,
            scheduled,
            Until::AllDone(Instant::now() + deadline),
            emit,
        )
        .await
    }

    /// The service loop: applies jobs (requests from the server), scheduled
    /// reports, link events, launch results and a 10 Hz poll of telemetry,
    /// until `until`. No input ends it: a failed input is an alert event.
    pub(crate) async fn run(
        mut self,
        mut jobs: mpsc::Receiver<Job>,
        mut scheduled: Vec<Scheduled>,
        until: Until,
        mut emit: impl FnMut(&FleetEvent),
    ) -> Summary {
        let mut link_events = self.link.subscribe();
        scheduled.sort_by(|a, b| a.after_s.total_cmp(&b.after_s));
        let start = self.now();
        let mut ids: Vec<IncidentId> = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut jobs_open = true;
        let mut timed_out = false;
        loop {
            self.flush(&mut emit);
            if self.stopping {
                break;
            }
            tokio::select! {
                _ = tick.tick() => {
                    // Incidents whose time has come, reported together.
                    let elapsed = (self.now() - start).num_milliseconds() as f64 / 1000.0;
                    let due = scheduled.iter().take_while(|s| s.after_s <= elapsed).count();
                    if due > 0 {
                        let batch: Vec<Report> = scheduled.drain(..due).map(|s| s.report).collect();
                        ids.extend(self.apply(Input::ReportBatch(batch)));
                    }
                    self.poll();
                    if let Until::AllDone(end) = until {
                        if scheduled.is_empty() && self.done(&ids) {
                            break;
                        }
                        if Instant::now() >= end {
                            timed_out = true;
                            let now = self.now();
                            self.event(
                                now,
                                What::Alert {
                                    drone: None,
                                    severity: Severity::Critical,
                                    message: "timed out: stopping with incidents or drones still out".into(),
                                },
                            );
                            break;
                        }
                    }
                }
                job = jobs.recv(), if jobs_open => match job {
                    Some(job) => job(&mut self),
                    None => jobs_open = false,
                },
                ev = link_events.recv() => match ev {
                    Ok(ev) => self.on_link(ev),
                    Err(RecvError::Lagged(n)) => tracing::warn!("missed {n} link events"),
                    Err(RecvError::Closed) => break,
                },
                Some(joined) = self.launches.join_next() => match joined {
                    Ok((drone, incident, result)) => self.on_launch(drone, incident, result),
                    Err(e) => tracing::error!("launch task failed: {e}"),
                },
            }
        }
        self.flush(&mut emit);
        if matches!(until, Until::Stopped) {
            ids = self.dispatcher.incidents().map(|r| r.incident.id).collect();
        }
        let mut summary = self.summary(&ids);
        summary.timed_out = timed_out;
        summary
    }

    fn flush(&mut self, emit: &mut impl FnMut(&FleetEvent)) {
        // The failure is an alert (once) and retried at the next step.
        let _ = self.persist();
        for e in self.events.drain(..) {
            emit(&e);
            let _ = self.events_tx.send(e);
        }
    }

    /// Ends the service loop after the current step.
    pub(crate) fn stop(&mut self) {
        self.stopping = true;
    }

    fn summary(&self, ids: &[IncidentId]) -> Summary {
        let mut s = Summary {
            resolved: Vec::new(),
            failed: Vec::new(),
            open: Vec::new(),
            arrivals: self.arrivals.clone(),
            open_sorties: Vec::new(),
            drones: Vec::new(),
            timed_out: false,
        };
        for drone in &self.involved {
            let world = self.dispatcher.world();
            if let Some(d) = world.drone(drone) {
                // Home: on the ground in its hangar (docked, charging, or out
                // of service there after a failed launch).
                let in_hangar = world.hangar(&d.hangar).is_some_and(|h| {
                    dispatch_core::geodesy::distance_m(h.position, d.position) < AT_HANGAR_M
                });
                let grounded = matches!(
                    d.state,
                    DroneState::Docked | DroneState::Charging | DroneState::Maintenance
                );
                s.drones.push(DroneOutcome {
                    drone: drone.clone(),
                    state: d.state,
                    home: grounded && in_hangar,
                    position: d.position,
                    battery_pct: d.battery_pct,
                });
            }
        }
        for id in ids {
            match self.dispatcher.incident(*id).map(|r| r.incident.status) {
                Some(IncidentStatus::Resolved) => s.resolved.push(*id),
                Some(IncidentStatus::Failed | IncidentStatus::Cancelled) => s.failed.push(*id),
                Some(_) => s.open.push(*id),
                None => {}
            }
        }
        for (drone, sortie) in &self.sorties {
            let status = self
                .dispatcher
                .incident(sortie.incident)
                .map(|r| r.incident.status);
            s.open_sorties.push(OpenSortie {
                drone: drone.clone(),
                incident: Some(sortie.incident),
                status,
            });
        }
        for drone in self.homing.keys() {
            s.open_sorties.push(OpenSortie {
                drone: drone.clone(),
                incident: None,
                status: None,
            });
        }
        s
    }

    fn done(&self, ids: &[IncidentId]) -> bool {
        let all_ended = ids.iter().all(|id| {
            self.dispatcher
                .incident(*id)
                .is_some_and(|r| r.incident.status.is_terminal())
        });
        // A drone flying home whose link is lost cannot be followed: it is in
        // the summary as lost, and the run does not wait for it.
        let homing_heard = self.homing.values().any(|h| {
            self.link
                .vehicle(h.system_id)
                .is_none_or(|v| v.link != LinkStatus::Lost)
        });
        all_ended && self.sorties.is_empty() && !homing_heard && self.launches.is_empty()
    }

    pub(crate) fn event(&mut self, t: Timestamp, what: What) {
        let e = FleetEvent { t, what };
        if self.store.is_some() {
            self.saved.unsaved.push(e.clone());
        }
        self.events.push(e);
    }

    /// Feeds the dispatcher and carries out what it decides.
    /// Returns the incidents the input opened (in the order reported).
    pub(crate) fn input(&mut self, input: Input) -> Result<Vec<IncidentId>, DispatchError> {
        let now = self.now();
        let change = match (&input, self.store.is_some()) {
            (Input::UpsertZone(z), true) => Some(ZoneChange::Upsert { zone: z.into() }),
            (Input::RemoveZone(id), true) => Some(ZoneChange::Remove { id: id.clone() }),
            _ => None,
        };
        let outputs = self.dispatcher.handle(now, input)?;
        self.saved.zones.extend(change);
        let mut opened = Vec::new();
        for o in outputs {
            if let Output::Reported { incident, .. } = &o {
                opened.push(*incident);
            }
            self.output(now, o);
        }
        Ok(opened)
    }

    /// An input from the fleet's own bookkeeping: its failure is an alert, not
    /// the end. Returns the incidents it opened.
    pub(crate) fn apply(&mut self, input: Input) -> Vec<IncidentId> {
        let e = match self.input(input) {
            Ok(opened) => {
                self.last_error = None;
                return opened;
            }
            Err(e) => e,
        };
        let msg = e.to_string();
        match &mut self.last_error {
            Some((last, n)) if *last == msg => *n += 1,
            _ => {
                tracing::warn!("input refused: {msg}");
                self.last_error = Some((msg.clone(), 1));
                let now = self.now();
                self.event(
                    now,
                    What::Alert {
                        drone: None,
                        severity: Severity::Warning,
                        message: format!("input refused: {msg}"),
                    },
                );
            }
        }
        Vec::new()
    }

    fn output(&mut self, now: Timestamp, o: Output) {
        match &o {
            Output::StatusChanged {
                incident, to, note, ..
            } => {
                let rec = self.dispatcher.incident(*incident);
                let drone = rec.and_then(|r| r.incident.drone.clone());
                let eta = rec.and_then(|r| r.eta());
                self.event(
                    now,
                    What::Incident {
                        incident: *incident,
                        status: *to,
                        note: note.clone(),
                        drone,
                        eta,
                    },
                );
            }
            Output::ZoneAdded { zone }
            | Output::ZoneRemoved { zone }
            | Output::ZoneExpired { zone } => {
                let change = match &o {
                    Output::ZoneAdded { .. } => "added",
                    Output::ZoneRemoved { .. } => "removed",
                    _ => "expired",
                };
                self.event(
                    now,
                    What::Zone {
                        zone: zone.clone(),
                        change: change.into(),
                    },
                );
            }
            Output::Assigned {
                incident,
                assignment,
            } => {
                self.launch(*incident, assignment);
            }
            _ => self.event(now, What::Dispatch { output: o.clone() }),
        }
    }

    fn system_id(&self, drone: &DroneId) -> Option<u8> {
        self.dispatcher.world().drone(drone).map(|d| d.system_id)
    }

    /// A sortie's mission, built from its assignment: the same at launch and
    /// when a sortie is taken back after a restart.
    fn sortie_plan(
        &self,
        incident: IncidentId,
        a: &Assignment,
        airborne: bool,
    ) -> Option<(
        MissionPlan,
        f64,
        dispatch_core::Hangar,
        dispatch_core::Drone,
    )> {
        let drone = self.dispatcher.world().drone(&a.chosen.drone).cloned()?;
        let rec = self.dispatcher.incident(incident)?;
        let kind = rec.incident.kind;
        let patrol: Vec<LatLon> = rec
            .incident
            .patrol
            .as_ref()
            .and_then(|p| self.dispatcher.patrols().iter().find(|x| &x.id == p))
            .map(|p| p.waypoints.clone())
            .unwrap_or_default();
        let hangar = self.dispatcher.world().hangar(&drone.hangar).cloned()?;
        let on_scene_s = self
            .dispatcher
            .world()
            .policy(kind)
            .map(|p| p.on_scene_s)
            .unwrap_or(60.0);
        let spec = SortieSpec {
            kind,
            home: hangar.position,
            cruise_alt_m: self.dispatcher.world().params().cruise_altitude_m,
            cruise_speed_mps: drone.performance.cruise_speed_mps,
            on_scene_s,
            airborne,
            patrol: &patrol,
        };
        Some((mission::build(a, &spec), on_scene_s, hangar, drone))
    }

    fn launch(&mut self, incident: IncidentId, a: &Assignment) {
        let now = self.now();
        let drone_id = a.chosen.drone.clone();
        let Some(drone) = self.dispatcher.world().drone(&drone_id).cloned() else {
            return;
        };
        let airborne = !matches!(
            drone.state,
            DroneState::Preflight | DroneState::Docked | DroneState::Charging
        );
        let Some((plan, on_scene_s, hangar, drone)) = self.sortie_plan(incident, a, airborne)
        else {
            return;
        };
        let cruise_alt_m = self.dispatcher.world().params().cruise_altitude_m;
        // The sortie ends after the scene and the flight back.
        let back_s = on_scene_s + a.return_route.length_m / drone.performance.cruise_speed_mps;
        let sortie_end = a.arrival_at + TimeDelta::milliseconds((back_s * 1000.0) as i64);
        let fence = mission::fence(
            self.dispatcher.world(),
            &a.route,
            &a.return_route,
            hangar.position,
            mission::FlightWindow {
                start: now,
                end: sortie_end,
                cruise_alt_m,
            },
        );
        let sysid = drone.system_id;
        // A replaced sortie (preemption) is taken over by this one.
        self.sorties.insert(
            drone_id.clone(),
            Sortie {
                incident,
                system_id: sysid,
                plan: plan.clone(),
                predicted_eta_s: a.chosen.eta_s,
                phase: Phase::Launching,
                start_boot_ms: self.link.vehicle(sysid).map(|v| v.time_boot_ms),
                was_airborne: airborne,
                lost_since: None,
                flying_since: None,
                progress: None,
                on_scene_s,
                payload_confirmed: false,
                implausible_reported: false,
                operator_mode: None,
                launch_task: None,
                scene_since_ms: None,
                landed_since_ms: None,
            },
        );
        self.homing.remove(&drone_id);
        self.charging.remove(&drone_id);
        self.involved.insert(drone_id.clone());
        self.event(
            now,
            What::Drone {
                drone: drone_id.clone(),
                state: DroneState::Preflight,
                note: format!(
                    "mission of {} items, fence of {} vertices, ETA {:.0} s",
                    plan.items.len(),
                    fence.len(),
                    a.chosen.eta_s
                ),
            },
        );
        let link = self.link.clone();
        let launched = drone_id.clone();
        let delay = if airborne {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(hangar.launch_delay_s / self.cfg.speedup)
        };
        let task = self.launches.spawn(async move {
            // The hangar opens and runs its checks while the mission goes up.
            let sleep = tokio::time::sleep(delay);
            let r = async {
                // Losing the ground station must not strand the drone:
                // keep flying the mission (its way home avoids every zone).
                let failsafe = crate::failsafe::configure(&link, sysid)
                    .await
                    .map_err(|e| format!("failsafe parameters: {e}"))?;
                link.upload(sysid, MavMissionType::MAV_MISSION_TYPE_FENCE, fence)
                    .await
                    .map_err(|e| format!("fence upload: {e}"))?;
                link.upload(sysid, MavMissionType::MAV_MISSION_TYPE_MISSION, plan.items)
                    .await
                    .map_err(|e| format!("mission upload: {e}"))?;
                sleep.await;
                if !airborne {
                    link.set_mode(sysid, FlightMode::Guided)
                        .await
                        .map_err(|e| format!("mode GUIDED: {e}"))?;
                    link.arm(sysid, true)
                        .await
                        .map_err(|e| format!("arm: {e}"))?;
                }
                link.command(
                    sysid,
                    Command::Long {
                        command: MavCmd::MAV_CMD_MISSION_START,
                        params: [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                    },
                )
                .await
                .map_err(|e| format!("mission start: {e}"))?;
                Ok(failsafe)
            }
            .await;
            (drone_id, incident, r)
        });
        if let Some(s) = self.sorties.get_mut(&launched) {
            s.launch_task = Some(task);
        }
    }

    fn on_launch(&mut self, drone: DroneId, incident: IncidentId, result: Result<String, String>) {
        let now = self.now();
        let current = self.sorties.get(&drone).map(|s| s.incident);
        if current != Some(incident) {
            return; // superseded (preempted or re-queued meanwhile)
        }
        match result {
            Ok(failsafe) => {
                let link_t = self.link.link_time();
                if let Some(s) = self.sorties.get_mut(&drone) {
                    s.phase = Phase::Flying;
                    s.flying_since = Some(link_t);
                    // The time on scene keeps counting from the assignment,
                    // as the predicted ETA does (it includes the launch).
                    if s.start_boot_ms.is_none() {
                        s.start_boot_ms = self.link.vehicle(s.system_id).map(|v| v.time_boot_ms);
                    }
                }
                self.event(
                    now,
                    What::Drone {
                        drone: drone.clone(),
                        state: DroneState::EnRoute,
                        note: format!("launched: mission started; failsafe {failsafe}"),
                    },
                );
                if self
                    .dispatcher
                    .incident(incident)
                    .map(|r| r.incident.status)
                    == Some(IncidentStatus::Assigned)
                {
                    self.apply(Input::Progress {
                        incident,
                        status: IncidentStatus::EnRoute,
                    });
                }
            }
            Err(why) => {
                // Out of service until a person looks at it; another drone takes over.
                let sortie = self.sorties.remove(&drone);
                let pos = self.position_of(&drone);
                self.event(
                    now,
                    What::Drone {
                        drone: drone.clone(),
                        state: DroneState::Maintenance,
                        note: format!("launch failed: {why}"),
                    },
                );
                self.event(
                    now,
                    What::Alert {
                        drone: Some(drone.clone()),
                        severity: Severity::Warning,
                        message: format!("launch failed, out of service: {why}"),
                    },
                );
                // Out of service first, then the incident back in the queue:
                // the re-queue assigns at once, and must not pick this drone.
                let battery = sortie
                    .and_then(|s| self.link.vehicle(s.system_id))
                    .and_then(|v| v.battery_pct)
                    .unwrap_or(0.0);
                self.apply(Input::DroneUpdate {
                    drone: drone.clone(),
                    state: DroneState::Maintenance,
                    position: pos,
                    battery_pct: battery,
                });
                self.apply(Input::Requeue {
                    incident,
                    reason: format!("drone {drone} failed to launch: {why}"),
                });
            }
        }
    }

    /// Calls a drone off its incident (cancelled, resolved or handed to
    /// another drone by a dispatcher): before take-off the launch stops and a
    /// vehicle armed in its hangar is disarmed; in the air the mission jumps
    /// to its planned (zone-free) way home, or RTL if the vehicle refuses.
    pub(crate) fn call_off(&mut self, drone: &DroneId, why: &str) {
        let Some(s) = self.sorties.remove(drone) else {
            return;
        };
        let now = self.now();
        let sysid = s.system_id;
        let link = self.link.clone();
        if s.phase == Phase::Launching {
            if let Some(t) = &s.launch_task {
                t.abort();
            }
            let on_ground = self
                .link
                .vehicle(sysid)
                .is_none_or(|v| v.rel_alt_m < 1.0 && v.landed != Some(false));
            if on_ground {
                tokio::spawn(async move {
                    if link.vehicle(sysid).is_some_and(|v| v.armed)
                        && let Err(e) = link.arm(sysid, false).await
                    {
                        tracing::warn!("disarming system {sysid} after a called-off launch: {e}");
                    }
                });
                self.event(
                    now,
                    What::Drone {
                        drone: drone.clone(),
                        state: DroneState::Docked,
                        note: format!("launch called off: {why}"),
                    },
                );
                return;
            }
        }
        self.send_home(drone, sysid, Some(s.plan.return_start));
        self.homing.insert(
            drone.clone(),
            Homing {
                system_id: sysid,
                recall: None,
            },
        );
        self.event(
            now,
            What::Drone {
                drone: drone.clone(),
                state: DroneState::Returning,
                note: format!("called off ({why}): flying its planned way home"),
            },
        );
    }

    /// A drone heard again after its sortie was given up for a lost link:
    /// still flying that mission before its way home, it is sent along the
    /// way home (the incident went to another drone).
    fn recall(&mut self, drone: &DroneId, sysid: u8, return_start: u16, incident: IncidentId) {
        let Some(v) = self.link.vehicle(sysid) else {
            return;
        };
        let now = self.now();
        let position = LatLon::new(v.lat, v.lon);
        let battery_pct = v.battery_pct.unwrap_or(0.0);
        if !v.armed || v.landed == Some(true) {
            return;
        }
        self.apply(Input::DroneUpdate {
            drone: drone.clone(),
            state: DroneState::Returning,
            position,
            battery_pct,
        });
        if v.mode != FlightMode::Auto || v.mission_seq >= return_start {
            self.event(
                now,
                What::Drone {
                    drone: drone.clone(),
                    state: DroneState::Returning,
                    note: format!("heard again, flying home in {}", v.mode),
                },
            );
            return;
        }
        self.send_home(drone, sysid, Some(return_start));
        self.event(
            now,
            What::Drone {
                drone: drone.clone(),
                state: DroneState::Returning,
                note: format!(
                    "heard again while still flying to incident {incident}, which went to another drone: sent along its planned way home"
                ),
            },
        );
    }

    /// Records the mode an operator commanded for a drone on a sortie, so
    /// that the watchdog does not take it for a hijack (None: back to AUTO).
    pub(crate) fn operator_mode(&mut self, drone: &DroneId, mode: Option<FlightMode>) {
        if let Some(s) = self.sorties.get_mut(drone) {
            s.operator_mode = mode;
        }
    }

    /// The drone serving an incident in a sortie, if any.
    pub(crate) fn sortie_of(&self, incident: IncidentId) -> Option<DroneId> {
        self.sorties
            .iter()
            .find(|(_, s)| s.incident == incident)
            .map(|(d, _)| d.clone())
    }

    /// The incident a drone's sortie serves, if any.
    pub(crate) fn sortie_incident(&self, drone: &DroneId) -> Option<IncidentId> {
        self.sorties.get(drone).map(|s| s.incident)
    }

    fn position_of(&self, drone: &DroneId) -> LatLon {
        self.dispatcher
            .world()
            .drone(drone)
            .map(|d| d.position)
            .unwrap_or_else(|| self.scenario.region.centre())
    }

    fn on_link(&mut self, ev: LinkEvent) {
        let now = self.now();
        let drone_of = |s: u8| {
            self.scenario
                .drones
                .iter()
                .find(|d| d.system_id == s)
                .map(|d| d.id.clone())
        };
        match ev {
            LinkEvent::LinkStatus { system_id, status } => {
                let Some(drone) = drone_of(system_id) else {
                    return;
                };
                let prev = self.link_status.insert(system_id, status);
                // A link coming up for the first time is routine; everything else is news.
                if status != LinkStatus::Up || prev.is_some() || self.involved.contains(&drone) {
                    self.event(
                        now,
                        What::Link {
                            drone: drone.clone(),
                            status: format!("{status:?}").to_lowercase(),
                        },
                    );
                }
                if let Some(s) = self.sorties.get_mut(&drone) {
                    s.lost_since = (status == LinkStatus::Lost).then(Instant::now);
                }
                // An idle drone that cannot be heard cannot be commanded:
                // out of the dispatchable set until its link is back.
                let idle_on_ground = self
                    .dispatcher
                    .world()
                    .drone(&drone)
                    .filter(|d| d.task.is_none() && d.state.is_on_ground())
                    .map(|d| (d.position, d.battery_pct));
                if status == LinkStatus::Lost
                    && !self.sorties.contains_key(&drone)
                    && let Some((position, battery_pct)) = idle_on_ground
                {
                    self.charging.remove(&drone);
                    self.apply(Input::DroneUpdate {
                        drone: drone.clone(),
                        state: DroneState::Lost,
                        position,
                        battery_pct,
                    });
                    self.event(
                        now,
                        What::Drone {
                            drone: drone.clone(),
                            state: DroneState::Lost,
                            note: "link lost: not dispatchable until it is heard again".into(),
                        },
                    );
                }
                if status == LinkStatus::Up
                    && self
                        .dispatcher
                        .world()
                        .drone(&drone)
                        .is_some_and(|d| d.state == DroneState::Lost)
                    && !self.sorties.contains_key(&drone)
                {
                    // Back: follow it home (its own failsafe flies it there).
                    let h = self.homing.entry(drone.clone()).or_insert(Homing {
                        system_id,
                        recall: None,
                    });
                    if let Some((return_start, incident)) = h.recall.take() {
                        self.recall(&drone, system_id, return_start, incident);
                    }
                }
            }
            LinkEvent::StatusText {
                system_id,
                severity,
                text,
            } => {
                let Some(drone) = drone_of(system_id) else {
                    return;
                };
                // Warnings and worse (failsafes, pre-arm failures) are alerts for
                // every drone; the rest only for drones at work.
                if severity <= 4 {
                    self.event(
                        now,
                        What::Alert {
                            drone: Some(drone.clone()),
                            severity: if severity <= 2 {
                                Severity::Critical
                            } else {
                                Severity::Warning
                            },
                            message: text.clone(),
                        },
                    );
                }
                if self.involved.contains(&drone) {
                    self.event(now, What::Vehicle { drone, text });
                }
            }
            LinkEvent::UnknownSystem { system_id } => {
                tracing::warn!(system_id, "MAVLink from an unconfigured system id: ignored");
            }
            LinkEvent::BadFrame { error, count } => {
                tracing::warn!(
                    count,
                    "rejected MAVLink input (counted; one line a second at most): {error}"
                )
            }
            LinkEvent::ForeignAddress {
                system_id,
                from,
                bound_to,
                count,
            } => {
                let who = drone_of(system_id)
                    .map_or_else(|| format!("system {system_id}"), |d| format!("drone {d}"));
                self.event(
                    now,
                    What::Alert {
                        drone: drone_of(system_id),
                        severity: Severity::Critical,
                        message: format!(
                            "{count} frame(s) claiming to be {who} from {from}, but it is heard from {bound_to}: ignored and not answered (spoofing, or a second radio)"
                        ),
                    },
                );
            }
            LinkEvent::SigningRefused {
                system_id,
                error,
                count,
            } => {
                self.event(
                    now,
                    What::Alert {
                        drone: drone_of(system_id),
                        severity: Severity::Critical,
                        message: format!(
                            "{count} MAVLink frame(s) refused by signature checks; latest: {error}"
                        ),
                    },
                );
            }
            LinkEvent::Rebound {
                system_id,
                from,
                to,
            } => {
                self.event(
                    now,
                    What::Alert {
                        drone: drone_of(system_id),
                        severity: Severity::Warning,
                        message: format!(
                            "system {system_id} now heard from {to} (its link from {from} was lost)"
                        ),
                    },
                );
            }
        }
    }

    /// Follows every flying drone from its telemetry.
    fn poll(&mut self) {
        let now = self.now();
        let drones: Vec<DroneId> = self.sorties.keys().cloned().collect();
        for drone in drones {
            let Some(s) = self.sorties.get(&drone).cloned() else {
                continue;
            };
            if let Some(since) = s.lost_since
                && since.elapsed() >= self.cfg.reassign_after
            {
                self.sorties.remove(&drone);
                let pos = self
                    .link
                    .vehicle(s.system_id)
                    .map(|v| LatLon::new(v.lat, v.lon))
                    .unwrap_or_else(|| self.position_of(&drone));
                self.event(
                    now,
                    What::Drone {
                        drone: drone.clone(),
                        state: DroneState::Lost,
                        note: format!(
                            "link lost for {:.0} s; its own failsafe should bring it home",
                            since.elapsed().as_secs_f64()
                        ),
                    },
                );
                self.apply(Input::DroneUpdate {
                    drone: drone.clone(),
                    state: DroneState::Lost,
                    position: pos,
                    battery_pct: 0.0,
                });
                self.requeue_if_open(s.incident, &format!("link to drone {drone} lost"));
                self.homing.insert(
                    drone.clone(),
                    Homing {
                        system_id: s.system_id,
                        recall: Some((s.plan.return_start, s.incident)),
                    },
                );
                continue;
            }
            if s.phase != Phase::Flying {
                continue;
            }
            let Some(v) = self.link.vehicle(s.system_id) else {
                continue;
            };
            let status = self
                .dispatcher
                .incident(s.incident)
                .map(|r| r.incident.status);
            let pos = LatLon::new(v.lat, v.lon);
            let battery = v.battery_pct.unwrap_or(0.0);
            // Mission progress beyond the uploaded mission is not believed.
            let count = s.plan.items.len();
            let seq = v.mission_seq;
            let reached = v.mission_reached.unwrap_or(0);
            let bogus = [seq, reached]
                .into_iter()
                .find(|&i| usize::from(i) >= count);
            if let Some(i) = bogus {
                if !s.implausible_reported {
                    if let Some(x) = self.sorties.get_mut(&drone) {
                        x.implausible_reported = true;
                    }
                    self.event(
                        now,
                        What::Alert {
                            drone: Some(drone.clone()),
                            severity: Severity::Critical,
                            message: format!(
                                "drone {drone} reports mission item {i} of a {count}-item mission: implausible, ignored"
                            ),
                        },
                    );
                }
                continue;
            }
            // Arrival needs two kinds of evidence: mission progress past the
            // scene waypoint and a position near the scene.
            let scene = s
                .plan
                .items
                .get(usize::from(s.plan.scene_arrival))
                .map(mission::item_position);
            let near_scene =
                scene.is_some_and(|p| dispatch_core::geodesy::distance_m(p, pos) <= SCENE_RADIUS_M);
            let arriving = status == Some(IncidentStatus::EnRoute)
                && (seq > s.plan.scene_arrival || reached >= s.plan.scene_arrival)
                && near_scene
                && v.armed;
            let arrived = self.confirm(&drone, |x| &mut x.scene_since_ms, arriving, v.time_boot_ms);
            if let Some(first_ms) = arrived {
                // Measured to the first sign of arrival, not to its confirmation.
                let actual = s
                    .start_boot_ms
                    .map(|b| f64::from(first_ms.saturating_sub(b)) / 1000.0)
                    .unwrap_or(f64::NAN);
                self.arrivals.push(Arrival {
                    incident: s.incident,
                    drone: drone.clone(),
                    predicted_eta_s: s.predicted_eta_s,
                    actual_s: actual,
                });
                self.event(
                    now,
                    What::Drone {
                        drone: drone.clone(),
                        state: DroneState::OnScene,
                        note: format!(
                            "over the scene after {actual:.0} s (predicted {:.0} s)",
                            s.predicted_eta_s
                        ),
                    },
                );
                self.apply(Input::Progress {
                    incident: s.incident,
                    status: IncidentStatus::OnScene,
                });
            } else if status == Some(IncidentStatus::OnScene) && seq >= s.plan.return_start {
                self.apply(Input::Progress {
                    incident: s.incident,
                    status: IncidentStatus::Returning,
                });
            } else if status == Some(IncidentStatus::EnRoute)
                && battery > 0.0
                && battery < 25.0
                && v.mode == FlightMode::Auto
            {
                // Too little battery left to finish: home, and the incident goes on.
                self.hand_over(
                    &drone,
                    &s,
                    &format!("drone {drone} reports low battery ({battery:.0}%)"),
                    Severity::Warning,
                    true,
                );
                continue;
            }
            if let Some(trouble) = self.watch(&drone, &v) {
                self.on_trouble(&drone, &s, &v, trouble);
                continue;
            }
            if let Some(item) = s.plan.payload_release
                && !s.payload_confirmed
                && v.mission_seq > item
            {
                if let Some(x) = self.sorties.get_mut(&drone) {
                    x.payload_confirmed = true;
                }
                self.event(
                    now,
                    What::Drone {
                        drone: drone.clone(),
                        state: DroneState::OnScene,
                        note: format!(
                            "payload released: the vehicle reports mission item {item} (gripper release) done"
                        ),
                    },
                );
            }
            let airborne_now = v.armed && v.rel_alt_m > 1.0;
            if airborne_now && let Some(x) = self.sorties.get_mut(&drone) {
                x.was_airborne = true;
            }
            let was_airborne = self.sorties.get(&drone).is_some_and(|x| x.was_airborne);
            let on_ground = was_airborne && !v.armed && v.landed != Some(false);
            if self
                .confirm(
                    &drone,
                    |x| &mut x.landed_since_ms,
                    on_ground,
                    v.time_boot_ms,
                )
                .is_some()
            {
                self.sorties.remove(&drone);
                let returning = self
                    .dispatcher
                    .incident(s.incident)
                    .map(|r| r.incident.status)
                    == Some(IncidentStatus::Returning);
                self.resolve_or_requeue(
                    s.incident,
                    returning,
                    &format!("drone {drone} landed before finishing"),
                );
                self.landed(&drone, pos, battery);
                continue;
            }
            // Keep the dispatcher's picture of the drone current.
            let state = match status {
                Some(IncidentStatus::OnScene) => DroneState::OnScene,
                Some(IncidentStatus::Returning) => DroneState::Returning,
                _ => DroneState::EnRoute,
            };
            if self
                .dispatcher
                .world()
                .drone(&drone)
                .is_some_and(|d| d.state == state)
            {
                self.apply(Input::DroneUpdate {
                    drone: drone.clone(),
                    state,
                    position: pos,
                    battery_pct: battery,
                });
            }
        }
        // Drones flying home without an incident.
        let homing: Vec<(DroneId, Homing)> = self
            .homing
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (drone, h) in homing {
            let Some(v) = self.link.vehicle(h.system_id) else {
                continue;
            };
            if !v.armed && v.landed != Some(false) && v.link == LinkStatus::Up {
                self.homing.remove(&drone);
                self.landed(
                    &drone,
                    LatLon::new(v.lat, v.lon),
                    v.battery_pct.unwrap_or(0.0),
                );
            }
        }
        // Charging.
        for drone in self.charging.clone() {
            let Some(sys) = self.system_id(&drone) else {
                continue;
            };
            let Some(v) = self.link.vehicle(sys) else {
                continue;
            };
            let battery = v.battery_pct.unwrap_or(0.0);
            let state = if battery >= self.cfg.charged_pct {
                self.charging.remove(&drone);
                DroneState::Docked
            } else {
                DroneState::Charging
            };
            let pos = self.position_of(&drone);
            let before = self.dispatcher.world().drone(&drone).map(|d| d.state);
            self.apply(Input::DroneUpdate {
                drone: drone.clone(),
                state,
                position: pos,
                battery_pct: battery,
            });
            if before != Some(state) {
                self.event(
                    now,
                    What::Drone {
                        drone: drone.clone(),
                        state,
                        note: format!("battery {battery:.0}%"),
                    },
                );
            }
        }
        self.apply(Input::Tick);
    }

    /// The watchdog: a disarm in the air, a mode the dispatcher did not
    /// command, or no progress toward the current mission item. Updates the
    /// sortie's progress record.
    fn watch(&mut self, drone: &DroneId, v: &mavlink_link::state::VehicleState) -> Option<Trouble> {
        let stall_after_s = self.cfg.stall_after_s;
        let s = self.sorties.get_mut(drone)?;
        // Only heartbeats sent after the mission start tell the mode it flies in.
        let fresh = s
            .flying_since
            .zip(v.last_heartbeat)
            .is_some_and(|(since, hb)| hb > since + 0.3);
        if !fresh || v.link != LinkStatus::Up {
            return None;
        }
        if !v.armed {
            return (s.was_airborne && v.disarmed_at_alt_m.is_some_and(|a| a > 2.0))
                .then_some(Trouble::DisarmedInAir);
        }
        match v.mode {
            FlightMode::Auto => {}
            m @ (FlightMode::Rtl | FlightMode::SmartRtl | FlightMode::Land) => {
                return Some(Trouble::TurnedBack(m));
            }
            m if s.operator_mode == Some(m) => {
                // Held by a dispatcher: no progress is expected meanwhile.
                if let Some(p) = &mut s.progress {
                    p.since_boot_ms = v.time_boot_ms;
                }
                return None;
            }
            m => return Some(Trouble::Uncommanded(m)),
        }
        let seq = v.mission_seq;
        let item = s.plan.items.get(usize::from(seq))?;
        let here = LatLon::new(v.lat, v.lon);
        let horizontal = if item.x == 0 && item.y == 0 {
            0.0
        } else {
            dispatch_core::geodesy::distance_m(here, mission::item_position(item))
        };
        let dist = horizontal.hypot(v.rel_alt_m - f64::from(item.z));
        // Holds over the scene (and take-off, landing) may keep still for
        // their own duration; legs must keep closing in.
        let allowance = if item.command == MavCmd::MAV_CMD_NAV_WAYPOINT {
            stall_after_s
        } else {
            stall_after_s + 1.5 * s.on_scene_s
        };
        match &mut s.progress {
            Some(p) if p.seq == seq => {
                if dist < p.best_m - 10.0 {
                    p.best_m = dist;
                    p.since_boot_ms = v.time_boot_ms;
                } else {
                    let for_s = f64::from(v.time_boot_ms.saturating_sub(p.since_boot_ms)) / 1000.0;
                    if for_s > allowance {
                        return Some(Trouble::Stalled { seq, for_s });
                    }
                }
            }
            _ => {
                s.progress = Some(Progress {
                    seq,
                    best_m: dist,
                    since_boot_ms: v.time_boot_ms,
                })
            }
        }
        None
    }

    fn on_trouble(
        &mut self,
        drone: &DroneId,
        s: &Sortie,
        v: &mavlink_link::state::VehicleState,
        trouble: Trouble,
    ) {
        let now = self.now();
        let incident = s.incident;
        match trouble {
            Trouble::DisarmedInAir => {
                self.sorties.remove(drone);
                let pos = LatLon::new(v.lat, v.lon);
                let why = format!(
                    "drone {drone} was disarmed in the air ({:.0} m up), not by the dispatcher: it fell",
                    v.disarmed_at_alt_m.unwrap_or(v.rel_alt_m)
                );
                self.event(
                    now,
                    What::Alert {
                        drone: Some(drone.clone()),
                        severity: Severity::Critical,
                        message: format!("{why}; incident {incident} goes to another drone"),
                    },
                );
                self.event(
                    now,
                    What::Drone {
                        drone: drone.clone(),
                        state: DroneState::Maintenance,
                        note: format!("disarmed in the air at {pos}: needs recovery"),
                    },
                );
                self.apply(Input::DroneUpdate {
                    drone: drone.clone(),
                    state: DroneState::Maintenance,
                    position: pos,
                    battery_pct: v.battery_pct.unwrap_or(0.0),
                });
                self.requeue_if_open(incident, &why);
            }
            Trouble::TurnedBack(mode) => {
                let status = self
                    .dispatcher
                    .incident(incident)
                    .map(|r| r.incident.status);
                if status == Some(IncidentStatus::Returning) {
                    return; // on its way home anyway: followed until it lands
                }
                self.hand_over(
                    drone,
                    s,
                    &format!("drone {drone} turned back in {mode}"),
                    Severity::Warning,
                    false,
                );
            }
            Trouble::Uncommanded(mode) => {
                self.hand_over(
                    drone,
                    s,
                    &format!("drone {drone} switched to {mode}, not commanded by the dispatcher"),
                    Severity::Critical,
                    true,
                );
            }
            Trouble::Stalled { seq, for_s } => {
                self.hand_over(
                    drone,
                    s,
                    &format!(
                        "drone {drone} made no progress toward mission item {seq} for {for_s:.0} s"
                    ),
                    Severity::Critical,
                    true,
                );
            }
        }
    }

    /// Takes a drone off its sortie: the incident goes to another drone (or,
    /// if the drone was already flying home from it, counts as resolved),
    /// and the drone is followed home, commanded there first if `send_home`.
    fn hand_over(
        &mut self,
        drone: &DroneId,
        s: &Sortie,
        why: &str,
        severity: Severity,
        send_home: bool,
    ) {
        let now = self.now();
        let incident = s.incident;
        let returning = self
            .dispatcher
            .incident(incident)
            .map(|r| r.incident.status)
            == Some(IncidentStatus::Returning);
        let next = if returning {
            "its work on scene was done"
        } else {
            "the incident goes to another drone"
        };
        let action = if send_home {
            "; commanded home along its planned way"
        } else {
            ""
        };
        self.event(
            now,
            What::Alert {
                drone: Some(drone.clone()),
                severity,
                message: format!("{why}: {next} (incident {incident}){action}"),
            },
        );
        self.sorties.remove(drone);
        self.homing.insert(
            drone.clone(),
            Homing {
                system_id: s.system_id,
                recall: None,
            },
        );
        self.resolve_or_requeue(incident, returning, why);
        if send_home {
            self.send_home(drone, s.system_id, Some(s.plan.return_start));
        }
    }

    /// Commands a drone home: along its planned way (the mission's way home
    /// from item `return_start`, in AUTO) when it flies a mission of ours;
    /// otherwise, or if that is refused, SmartRTL (back the way it came),
    /// then RTL. A failure is a critical alert.
    fn send_home(&mut self, drone: &DroneId, sysid: u8, return_start: Option<u16>) {
        let now = self.now();
        let link = self.link.clone();
        let events = self.events_tx.clone();
        let who = drone.clone();
        let seq = self.link.vehicle(sysid).map_or(0, |v| v.mission_seq);
        tokio::spawn(async move {
            let auto = async {
                let Some(return_start) = return_start else {
                    return Err("no mission of ours to finish".to_owned());
                };
                if seq < return_start {
                    link.command_long(
                        sysid,
                        MavCmd::MAV_CMD_DO_SET_MISSION_CURRENT,
                        [f32::from(return_start), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                }
                link.set_mode(sysid, FlightMode::Auto)
                    .await
                    .map_err(|e| e.to_string())
            }
            .await;
            let Err(e) = auto else {
                return;
            };
            let fallback = match link.set_mode(sysid, FlightMode::SmartRtl).await {
                Ok(()) => Ok("SMART_RTL"),
                Err(_) => link.set_mode(sysid, FlightMode::Rtl).await.map(|()| "RTL"),
            };
            let message = match fallback {
                // With no mission of ours, SmartRTL is the plan, not a fallback.
                Ok(_) if return_start.is_none() => return,
                Ok(mode) => format!("could not resume its way home in AUTO ({e}); sent {mode}"),
                Err(e2) => format!("could not send it home: {e}; RTL: {e2}"),
            };
            let _ = events.send(FleetEvent {
                t: now,
                what: What::Alert {
                    drone: Some(who),
                    severity: Severity::Critical,
                    message,
                },
            });
        });
    }

    fn landed(&mut self, drone: &DroneId, pos: LatLon, battery: f64) {
        let now = self.now();
        let home = self
            .dispatcher
            .world()
            .drone(drone)
            .and_then(|d| self.dispatcher.world().hangar(&d.hangar))
            .map(|h| h.position);
        let at_home =
            home.is_some_and(|h| dispatch_core::geodesy::distance_m(h, pos) < AT_HANGAR_M);
        let state = if !at_home {
            DroneState::Maintenance
        } else if battery >= self.cfg.charged_pct {
            DroneState::Docked
        } else {
            DroneState::Charging
        };
        if state == DroneState::Charging {
            self.charging.insert(drone.clone());
        }
        if !at_home {
            self.event(
                now,
                What::Alert {
                    drone: Some(drone.clone()),
                    severity: Severity::Critical,
                    message: format!("landed away from its hangar at {pos}: needs recovery"),
                },
            );
        }
        self.event(
            now,
            What::Drone {
                drone: drone.clone(),
                state: DroneState::Landing,
                note: "landed and disarmed".into(),
            },
        );
        self.event(
            now,
            What::Drone {
                drone: drone.clone(),
                state,
                note: if at_home {
                    format!("in its hangar, battery {battery:.0}%")
                } else {
                    format!("landed away from its hangar at {pos}: needs recovery")
                },
            },
        );
        self.apply(Input::DroneUpdate {
            drone: drone.clone(),
            state,
            position: if at_home { home.unwrap_or(pos) } else { pos },
            battery_pct: battery,
        });
    }

    /// A sortie's drone is down: its incident is resolved if the drone was
    /// on its way back from the scene, else it goes back to the queue.
    fn resolve_or_requeue(&mut self, incident: IncidentId, resolved: bool, why: &str) {
        if resolved {
            self.apply(Input::Progress {
                incident,
                status: IncidentStatus::Resolved,
            });
        } else {
            self.requeue_if_open(incident, why);
        }
    }

    fn requeue_if_open(&mut self, incident: IncidentId, why: &str) {
        let status = self
            .dispatcher
            .incident(incident)
            .map(|r| r.incident.status);
        if status.is_some_and(|s| s.can_move_to(IncidentStatus::Queued)) {
            self.apply(Input::Requeue {
                incident,
                reason: why.to_owned(),
            });
        }
    }
}

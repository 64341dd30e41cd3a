//! The fleet core: the dispatcher's decisions carried out on the fleet, as a
//! sans-IO state machine. [`FleetCore::handle`] takes the time and one
//! [`FleetInput`] and returns the [`Effect`]s: link actions, events, replies
//! and what to persist. It reads no clock, holds no link handle and spawns
//! nothing; the runtime (`crate::runtime`) does that around it.
//!
//! Each drone is in one [`Duty`] at a time (idle, charging, on a sortie that
//! is launching or flying, homing). Assignments become launches; telemetry
//! moves incidents through en route, on scene and returning, and drones back
//! to their hangars. Failures go back to the dispatcher as re-queues, so
//! another drone takes over: a failed launch, a link lost for longer than
//! `reassign_after` (link health is computed from every tick's telemetry, so
//! no missed event can strand an incident), a vehicle that turns back, is
//! disarmed in the air, flies a mode nobody commanded, stalls, or runs low
//! on battery before reaching the scene.

mod camera;
mod contest;
mod duty;
mod eta;
mod homeward;
mod launch;
mod links;
mod persist;
pub mod protocol;
mod requests;
mod startup;
mod summary;
mod track;
mod traffic;
mod watchdog;
mod wind;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use dispatch_core::{
    DispatchError, Dispatcher, DroneId, IncidentId, Input, LatLon, Output, Scenario, Timestamp,
};
use mavlink_link::state::{LinkStatus, LinkTimeouts, VehicleState};

use crate::events::{FleetEvent, IncidentMeta, Severity, What};
pub use duty::Duty;
pub use protocol::{
    Action, ActionId, ActionOutcome, DroneCommand, Effect, FleetInput, HomeVia, NewIncident, Reply,
    Request, RequestId, ServiceError, Step, StoreHealth, Telemetry,
};
pub use summary::{Arrival, DroneOutcome, OpenSortie, Summary};
pub use traffic::TrafficView;

/// Settings of a fleet run.
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

/// Evidence that ends a phase of a sortie (on scene, landed) must hold this
/// long on the vehicle's own clock, over several telemetry messages, before
/// it is acted on: one frame, even an authentic one, is not enough.
const CONFIRM_MS: u32 = 1500;

/// How close (m) to its hangar a drone on the ground counts as in it.
const AT_HANGAR_M: f64 = 30.0;

/// How close (m) a vehicle must be to the scene waypoint for its mission
/// progress to count as arrival (the waypoint radius plus GPS error).
const SCENE_RADIUS_M: f64 = 150.0;

/// The fleet's decisions, with no IO.
pub struct FleetCore {
    cfg: FleetConfig,
    scenario: Scenario,
    dispatcher: Dispatcher,
    /// What each drone is doing (absent: idle).
    duties: BTreeMap<DroneId, Duty>,
    /// Drones that flew (or were to fly) in this run, for the summary.
    involved: BTreeSet<DroneId>,
    /// The latest telemetry of each drone's vehicle, and the link clock of the last tick.
    vehicles: HashMap<DroneId, VehicleState>,
    link_time: f64,
    /// Per drone, the link time of the last wind report handed to the dispatcher.
    wind_fed: HashMap<DroneId, f64>,
    /// Drones holding before their way home, for separation.
    home_holds: BTreeMap<DroneId, homeward::HomeHold>,
    timeouts: LinkTimeouts,
    /// Link health last acted on, per drone (level-triggered from telemetry).
    link_seen: HashMap<DroneId, LinkStatus>,
    /// Drones claimed from two addresses: not dispatched, sent nothing;
    /// true for those the contest took out of service on the ground.
    contested: BTreeMap<DroneId, bool>,
    /// Link actions in flight, and what their outcome is for.
    actions: BTreeMap<ActionId, duty::Pending>,
    /// Camera discovery per drone (`camera.rs`).
    camera_asks: HashMap<DroneId, camera::CameraAsk>,
    next_action: u64,
    arrivals: Vec<Arrival>,
    /// What the dispatcher core does not keep: free text and intake origin.
    meta: BTreeMap<IncidentId, IncidentMeta>,
    /// (source, external_id) -> incident, so that a retried webhook finds its incident.
    external: HashMap<(String, String), IncidentId>,
    /// Incidents a `fly` run waits for.
    watched: Vec<IncidentId>,
    /// The last input error, and how often it repeated (alerts are not repeated).
    last_error: Option<(String, u64)>,
    /// Now, as given to the step being handled.
    now: Timestamp,
    /// Effects of the step being handled.
    out: Vec<Effect>,
    /// What the log holds and what changed this step.
    log: persist::LogState,
    /// Manned traffic: the picture, held launches, drones held in the air.
    traffic: traffic::TrafficState,
    stopping: bool,
}

impl std::fmt::Debug for FleetCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetCore")
            .field("duties", &self.duties)
            .field("actions", &self.actions.len())
            .finish()
    }
}

impl FleetCore {
    pub fn new(scenario: Scenario, cfg: FleetConfig) -> FleetCore {
        let dispatcher = Dispatcher::new(scenario.world(), scenario.patrols.clone());
        let traffic = traffic::TrafficState::new(scenario.traffic.clone());
        FleetCore {
            now: cfg.start_time,
            cfg,
            scenario,
            dispatcher,
            duties: BTreeMap::new(),
            involved: BTreeSet::new(),
            vehicles: HashMap::new(),
            link_time: 0.0,
            wind_fed: HashMap::new(),
            home_holds: BTreeMap::new(),
            timeouts: LinkTimeouts::default(),
            link_seen: HashMap::new(),
            contested: BTreeMap::new(),
            actions: BTreeMap::new(),
            camera_asks: HashMap::new(),
            next_action: 0,
            arrivals: Vec::new(),
            meta: BTreeMap::new(),
            external: HashMap::new(),
            watched: Vec::new(),
            last_error: None,
            out: Vec::new(),
            log: persist::LogState::default(),
            traffic,
            stopping: false,
        }
    }

    /// One step: applies `input` at scenario time `now` and returns what to
    /// do. No input ends the service: a refused one is an alert or an error
    /// reply.
    pub fn handle(&mut self, now: Timestamp, input: FleetInput) -> Vec<Effect> {
        self.now = now;
        match input {
            FleetInput::StartUp {
                telemetry,
                waited_s,
                listen,
            } => self.start_up(telemetry, waited_s, listen),
            FleetInput::Request { id, request } => self.request(id, request),
            FleetInput::Schedule(reports) => {
                let opened = self.apply(Input::ReportBatch(reports));
                self.watched.extend(opened);
            }
            FleetInput::Link { drone, event } => self.on_link_event(drone, event),
            FleetInput::Tick(t) => self.tick(t),
            FleetInput::Traffic(report) => self.on_traffic(report),
            FleetInput::Done { action, outcome } => self.on_done(action, outcome),
            FleetInput::Store(health) => self.on_store(health),
            FleetInput::TimedOut => self.alert(
                None,
                Severity::Critical,
                "timed out: stopping with incidents or drones still out".into(),
            ),
        }
        self.finish_step()
    }

    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// What a drone is doing now.
    pub fn duty(&self, drone: &DroneId) -> &Duty {
        self.duties.get(drone).unwrap_or(&Duty::Idle)
    }

    /// Whether the loop was asked to stop.
    pub fn stopping(&self) -> bool {
        self.stopping
    }

    /// The vehicle's latest telemetry, with its link health as of the last tick.
    fn vehicle(&self, drone: &DroneId) -> Option<&VehicleState> {
        self.vehicles.get(drone)
    }

    /// Where a drone's hangar is (its own position if the hangar is unknown).
    fn hangar_position(&self, d: &dispatch_core::Drone) -> LatLon {
        self.dispatcher
            .world()
            .hangar(&d.hangar)
            .map(|h| h.position)
            .unwrap_or(d.position)
    }

    fn position_of(&self, drone: &DroneId) -> LatLon {
        self.dispatcher
            .world()
            .drone(drone)
            .map(|d| d.position)
            .unwrap_or_else(|| self.scenario.region.centre())
    }

    fn new_action(&mut self, pending: duty::Pending, action: Action) -> ActionId {
        let id = ActionId(self.next_action);
        self.next_action += 1;
        self.actions.insert(id, pending);
        self.out.push(Effect::Act { id, action });
        id
    }

    pub(crate) fn event(&mut self, what: What) {
        let e = FleetEvent { t: self.now, what };
        self.log.event(e.clone());
        self.out.push(Effect::Publish(e));
    }

    fn alert(&mut self, drone: Option<&DroneId>, severity: Severity, message: String) {
        self.event(What::Alert {
            drone: drone.cloned(),
            severity,
            message,
        });
    }

    fn drone_event(&mut self, drone: &DroneId, state: dispatch_core::DroneState, note: String) {
        self.event(What::Drone {
            drone: drone.clone(),
            state,
            note,
        });
    }

    /// Feeds the dispatcher and carries out what it decides.
    /// Returns the incidents the input opened (in the order reported).
    fn input(&mut self, input: Input) -> Result<Vec<IncidentId>, DispatchError> {
        let now = self.now;
        let change = match &input {
            Input::UpsertZone(z) => Some(crate::store::ZoneChange::Upsert { zone: z.into() }),
            Input::RemoveZone(id) => Some(crate::store::ZoneChange::Remove { id: id.clone() }),
            _ => None,
        };
        let outputs = self.dispatcher.handle(now, input)?;
        if let Some(c) = change {
            self.log.zone(c);
        }
        let mut opened = Vec::new();
        for o in outputs {
            if let Output::Reported { incident, .. } = &o {
                opened.push(*incident);
            }
            self.output(o);
        }
        Ok(opened)
    }

    /// An input from the fleet's own bookkeeping: its failure is an alert, not
    /// the end. Returns the incidents it opened.
    fn apply(&mut self, input: Input) -> Vec<IncidentId> {
        match self.input(input) {
            Ok(opened) => {
                self.last_error = None;
                opened
            }
            Err(e) => {
                self.refused(&e);
                Vec::new()
            }
        }
    }

    /// A refused input is an alert (once while it repeats).
    fn refused(&mut self, e: &DispatchError) {
        let msg = e.to_string();
        match &mut self.last_error {
            Some((last, n)) if *last == msg => *n += 1,
            _ => {
                tracing::warn!("input refused: {msg}");
                self.last_error = Some((msg.clone(), 1));
                self.alert(None, Severity::Warning, format!("input refused: {msg}"));
            }
        }
    }

    fn output(&mut self, o: Output) {
        match &o {
            Output::StatusChanged {
                incident, to, note, ..
            } => {
                let rec = self.dispatcher.incident(*incident);
                let drone = rec.and_then(|r| r.incident.drone.clone());
                let eta = rec.and_then(|r| r.eta());
                self.event(What::Incident {
                    incident: *incident,
                    status: *to,
                    note: note.clone(),
                    drone,
                    eta,
                });
            }
            Output::ZoneAdded { zone }
            | Output::ZoneRemoved { zone }
            | Output::ZoneExpired { zone } => {
                let change = match &o {
                    Output::ZoneAdded { .. } => "added",
                    Output::ZoneRemoved { .. } => "removed",
                    _ => "expired",
                };
                self.event(What::Zone {
                    zone: zone.clone(),
                    change: change.into(),
                });
            }
            Output::Assigned {
                incident,
                assignment,
            } => {
                self.launch(*incident, assignment);
            }
            // An incident event, so that clients see the new ETA with the incident.
            Output::EtaChanged {
                incident, to, why, ..
            } => {
                self.event(What::Eta {
                    incident: *incident,
                    eta: *to,
                    note: why.clone(),
                });
            }
            _ => self.event(What::Dispatch { output: o.clone() }),
        }
    }

    /// Ends a step: what changed goes to the log first, then replies and
    /// publications in the order they were made.
    fn finish_step(&mut self) -> Vec<Effect> {
        self.log
            .track_points(self.now, &self.duties, &self.vehicles);
        let mut out = Vec::with_capacity(self.out.len() + 1);
        if let Some(batch) = self
            .log
            .batch(&mut self.dispatcher, &self.meta, &self.duties)
        {
            out.push(Effect::Persist(Box::new(batch)));
        }
        out.append(&mut self.out);
        if self.stopping {
            out.push(Effect::Stop);
        }
        out
    }

    fn on_store(&mut self, health: StoreHealth) {
        match health {
            StoreHealth::Failing(e) => self.alert(
                None,
                Severity::Critical,
                format!(
                    "cannot write the event log ({e}): new reports and other changes are refused (503) until it works again; what the fleet does meanwhile is kept in memory and written then"
                ),
            ),
            StoreHealth::Dropped(n) => self.alert(
                None,
                Severity::Critical,
                format!(
                    "the event log still cannot be written: {n} of the oldest unwritten events were dropped to bound memory; incidents, sorties and zones are kept"
                ),
            ),
            StoreHealth::Working => self.event(What::Notice {
                message: "the event log is written again".into(),
            }),
        }
    }
}

//! The thin runtime around [`FleetCore`]: the only async loop of the fleet.
//! It keeps the clock, feeds the core its inputs (requests, link events, a
//! 10 Hz tick with the vehicles' telemetry, the outcomes of link actions)
//! and carries out the effects, in this order for each step: persist (the
//! log is fsynced), run link actions in a task set (their outcomes come
//! back as inputs, so every outcome is an event), reply, publish.
//! "Accepted means durable": a change is answered only once nothing of it
//! is still waiting for the log.

// The runtime's side: the one place of the fleet that reads a clock and spawns.
#![allow(clippy::disallowed_methods)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use dispatch_core::{DroneId, Report, Scenario, Timestamp};
use mavlink_link::link::{CommandError, LinkEvent, LinkHandle};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::{AbortHandle, JoinSet};

use crate::actions::run_action;
use crate::core::{
    Action, ActionId, ActionOutcome, Effect, FleetConfig, FleetCore, FleetInput, Reply, Request,
    RequestId, ServiceError, StoreHealth, Summary, Telemetry,
};
use crate::events::FleetEvent;
use crate::store::{Batch, DatabaseHealth, DatabaseState, Store, StoreError};
use crate::store_reader::ReaderOnly;

/// The durable log's read side, shared with readers (reports, time lines).
/// The loop writes through its own connection, never this one's lock.
pub type SharedStore = std::sync::Arc<std::sync::Mutex<dyn Store>>;

/// An incident to report once `after_s` seconds of scenario time have passed.
#[derive(Debug, Clone, PartialEq)]
pub struct Scheduled {
    pub report: Report,
    pub after_s: f64,
}

/// When the service loop ends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Until {
    /// Every scheduled incident ended and every drone is home, or the deadline.
    AllDone(Instant),
    /// Only when asked to stop.
    Stopped,
}

/// A request and where its reply goes.
pub(crate) type Call = (Request, oneshot::Sender<Reply>);

/// Events waiting for a log that fails are kept up to this many (the oldest go first).
const MAX_UNSAVED_EVENTS: usize = 100_000;

/// How often the log is checked when nothing was written meanwhile, so
/// that health (and the refusal of changes) follows the database.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// How long a stopping loop waits for link actions in flight.
const DRAIN: Duration = Duration::from_secs(5);

/// Scenario time from the wall clock.
#[derive(Debug, Clone, Copy)]
struct Clock {
    start_time: Timestamp,
    started: Instant,
    speedup: f64,
}

impl Clock {
    fn now(&self) -> Timestamp {
        let s = self.started.elapsed().as_secs_f64() * self.speedup;
        self.start_time + TimeDelta::milliseconds((s * 1000.0) as i64)
    }
}

/// One MAVLink link of the fleet, and which drone each of its system ids is.
#[derive(Debug, Clone)]
pub struct FleetLink {
    pub name: String,
    pub handle: LinkHandle,
    /// (system id, drone) of the drones heard on this link.
    pub drones: Vec<(u8, DroneId)>,
}

/// A link as the runtime reads it: its clock's offset from the runtime's
/// (seconds to add to its times) and where its telemetry was read up to.
#[derive(Debug)]
struct Slot {
    link: FleetLink,
    by_system: HashMap<u8, DroneId>,
    offset_s: f64,
    seq: u64,
}

/// The fleet runtime: the core, the links, the log, the clock and the tasks.
pub struct FleetManager {
    core: FleetCore,
    slots: Vec<Slot>,
    /// Each drone's link (index into `slots`) and system id on it.
    route: HashMap<DroneId, (usize, u8)>,
    /// The one clock telemetry times are put on, whatever their link.
    base: Instant,
    clock: Clock,
    log: Persister,
    reader: Option<SharedStore>,
    /// Every event also goes here, for any number of subscribers.
    pub(crate) events_tx: broadcast::Sender<FleetEvent>,
    tasks: JoinSet<(ActionId, ActionOutcome)>,
    running: HashMap<ActionId, AbortHandle>,
    /// Which action each task runs, so that even a task that panicked has an outcome.
    task_action: HashMap<tokio::task::Id, (ActionId, &'static str)>,
    /// Callers waiting for a reply, and whether theirs is a change.
    waiting: HashMap<RequestId, (oneshot::Sender<Reply>, bool)>,
    next_request: u64,
    /// Events of the steps before the loop runs (recovery, start-up): they
    /// go out when it starts, to its `emit` as well as to subscribers.
    backlog: Option<Vec<FleetEvent>>,
    /// The ground receiver's SBS-1 feed, if any (`with_sbs`).
    sbs: Option<std::sync::Arc<crate::sbs_client::SbsStats>>,
}

impl std::fmt::Debug for FleetManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetManager")
            .field("core", &self.core)
            .field("tasks", &self.tasks.len())
            .finish()
    }
}

/// The writer's side of the log: commits each step's batch; while the log
/// fails, keeps one merged batch of everything not yet written, and says
/// why a change must be refused. A commit refused by the fence (another
/// server leads) is final: nothing is written again, the alarm goes off,
/// and the loop stops.
#[derive(Debug, Default)]
struct Persister {
    store: Option<Box<dyn Store>>,
    pending: Option<Batch>,
    /// The last commit or check failed.
    failing: bool,
    /// Why the last commit or check failed, and whether the database was
    /// unreachable (rather than refusing the write).
    last_error: Option<String>,
    unreachable: bool,
    dropped: u64,
    /// Why the fence refused a commit, once it did.
    fenced: Option<String>,
    on_fenced: Option<Alarm>,
    /// What health says of the log (None: no log).
    health: Option<watch::Sender<DatabaseHealth>>,
    /// When the log was last written or checked.
    contact: Option<Instant>,
}

/// Called once when the fence refuses a commit.
struct Alarm(Box<dyn Fn(String) + Send>);

impl std::fmt::Debug for Alarm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Alarm")
    }
}

impl Persister {
    fn attach(&mut self, store: Box<dyn Store>) {
        self.health = Some(watch::Sender::new(DatabaseHealth::new(
            store.backend(),
            chrono::Utc::now(),
        )));
        self.store = Some(store);
    }

    /// Commits `batch` (after anything still pending). Gives the log's new
    /// health when it changed.
    fn commit(&mut self, batch: Batch) -> Option<StoreHealth> {
        if self.fenced.is_some() {
            return None;
        }
        let store = self.store.as_mut()?;
        let mut all = self.pending.take().unwrap_or_default();
        all.merge(batch);
        self.contact = Some(Instant::now());
        match store.commit(&all) {
            Ok(()) => self.worked(),
            Err(e) => self.failed(e, Some(all)),
        }
    }

    /// Before a change, and once a second when nothing else was written:
    /// writes what is pending, else checks that the log can be reached.
    /// Gives the log's new health when it changed.
    fn refresh(&mut self) -> Option<StoreHealth> {
        if self.fenced.is_some() {
            return None;
        }
        if self.pending.is_some() {
            return self.commit(Batch::default());
        }
        let store = self.store.as_mut()?;
        self.contact = Some(Instant::now());
        match store.check() {
            Ok(()) => self.worked(),
            Err(e) => self.failed(e, None),
        }
    }

    /// Nothing was written or checked for `d` (and there is a log to write).
    fn quiet_for(&self, d: Duration) -> bool {
        self.store.is_some()
            && self.fenced.is_none()
            && self.contact.is_none_or(|t| t.elapsed() >= d)
    }

    fn worked(&mut self) -> Option<StoreHealth> {
        self.last_error = None;
        self.unreachable = false;
        self.publish(DatabaseState::Ok, None);
        std::mem::take(&mut self.failing).then_some(StoreHealth::Working)
    }

    /// A commit or check failed with `e`; `unwritten` is what the commit
    /// had to write (kept for the next one).
    fn failed(&mut self, e: StoreError, unwritten: Option<Batch>) -> Option<StoreHealth> {
        let why = e.to_string();
        self.last_error = Some(why.clone());
        if matches!(e, StoreError::Fenced { .. }) {
            // Another server's decisions stand; ours are not written.
            tracing::error!("{why}: this server no longer leads; nothing more is written");
            self.fenced = Some(why.clone());
            self.publish(DatabaseState::Fenced, Some(&why));
            if let Some(Alarm(f)) = &self.on_fenced {
                f(why);
            }
            return None;
        }
        self.unreachable = e.is_unavailable();
        let before = self.dropped;
        if let Some(mut all) = unwritten {
            if all.events.len() > MAX_UNSAVED_EVENTS {
                let n = all.events.len() - MAX_UNSAVED_EVENTS;
                all.events.drain(..n);
                self.dropped += n as u64;
            }
            self.pending = Some(all);
        }
        self.publish(DatabaseHealth::state_of(&e), Some(&why));
        if self.failing {
            // Said at the first drop, then every further 10,000.
            let news =
                self.dropped > before && (before == 0 || self.dropped / 10_000 > before / 10_000);
            return news.then_some(StoreHealth::Dropped(self.dropped));
        }
        self.failing = true;
        tracing::error!("{why}");
        Some(StoreHealth::Failing(why))
    }

    /// Health as of now: `state`, and the error if there was one.
    fn publish(&self, state: DatabaseState, error: Option<&str>) {
        let Some(tx) = &self.health else {
            return;
        };
        let unsaved = self.pending.as_ref().map_or(0, |b| b.events.len());
        tx.send_modify(|h| {
            if h.state != state {
                h.state = state;
                h.since = chrono::Utc::now();
            }
            if let Some(e) = error {
                h.last_error = Some(e.to_owned());
                h.last_error_at = Some(chrono::Utc::now());
            }
            h.unsaved_events = unsaved;
            h.dropped_events = self.dropped;
        });
    }

    /// Why a change must be refused before it is made: the log failed at
    /// the last commit or check (or this server was fenced).
    fn refusal(&self) -> Option<ServiceError> {
        if let Some(why) = &self.fenced {
            return Some(ServiceError::Storage(why.clone()));
        }
        self.failing.then(|| self.error(false))
    }

    /// Something is not yet in the log: the answer to a change made in it.
    fn behind(&self) -> Option<ServiceError> {
        if let Some(why) = &self.fenced {
            return Some(ServiceError::Storage(why.clone()));
        }
        self.pending.as_ref().map(|_| self.error(true))
    }

    fn error(&self, kept: bool) -> ServiceError {
        let message = self
            .last_error
            .clone()
            .unwrap_or_else(|| "the event log cannot be written".to_owned());
        if self.unreachable {
            ServiceError::DatabaseUnavailable { message, kept }
        } else {
            ServiceError::Storage(message)
        }
    }
}

impl FleetManager {
    /// A fleet on one link: every configured drone is heard on it, whatever
    /// link its configuration names (`fly`, tests).
    pub fn new(scenario: Scenario, link: LinkHandle, cfg: FleetConfig) -> FleetManager {
        let drones = scenario
            .drones
            .iter()
            .map(|d| (d.system_id, d.id.clone()))
            .collect();
        let one = FleetLink {
            name: dispatch_core::config::DEFAULT_LINK.to_owned(),
            handle: link,
            drones,
        };
        Self::build(scenario, vec![one], cfg)
    }

    /// A fleet on several links, by name: each drone on the link its
    /// configuration names. Every such link must be given.
    pub fn with_links(
        scenario: Scenario,
        links: Vec<(String, LinkHandle)>,
        cfg: FleetConfig,
    ) -> Result<FleetManager, String> {
        let mut out: Vec<FleetLink> = links
            .into_iter()
            .map(|(name, handle)| FleetLink {
                name,
                handle,
                drones: Vec::new(),
            })
            .collect();
        for d in &scenario.drones {
            let Some(l) = out.iter_mut().find(|l| l.name == d.link) else {
                return Err(format!(
                    "drone {} is on link \"{}\", which was not opened",
                    d.id, d.link
                ));
            };
            l.drones.push((d.system_id, d.id.clone()));
        }
        Ok(Self::build(scenario, out, cfg))
    }

    fn build(scenario: Scenario, links: Vec<FleetLink>, cfg: FleetConfig) -> FleetManager {
        let base = Instant::now();
        let mut route = HashMap::new();
        let slots = links
            .into_iter()
            .enumerate()
            .map(|(i, link)| {
                for (sysid, drone) in &link.drones {
                    route.insert(drone.clone(), (i, *sysid));
                }
                let start = link.handle.instant_of(0.0);
                let offset_s = if start >= base {
                    (start - base).as_secs_f64()
                } else {
                    -(base - start).as_secs_f64()
                };
                Slot {
                    by_system: link.drones.iter().cloned().collect(),
                    link,
                    offset_s,
                    seq: 0,
                }
            })
            .collect();
        let (events_tx, _) = broadcast::channel(4096);
        let clock = Clock {
            start_time: cfg.start_time,
            started: Instant::now(),
            speedup: cfg.speedup,
        };
        FleetManager {
            core: FleetCore::new(scenario, cfg),
            slots,
            route,
            base,
            clock,
            log: Persister::default(),
            reader: None,
            events_tx,
            tasks: JoinSet::new(),
            running: HashMap::new(),
            task_action: HashMap::new(),
            waiting: HashMap::new(),
            next_request: 0,
            backlog: Some(Vec::new()),
            sbs: None,
        }
    }

    /// Reads manned traffic from an SBS-1 feed at `address` (`HOST:PORT`)
    /// while the loop runs, reconnecting when it drops.
    pub fn with_sbs(&mut self, address: &str) {
        self.sbs = Some(std::sync::Arc::new(crate::sbs_client::SbsStats::new(
            address,
        )));
    }

    /// What the SBS feed delivered so far, if there is one.
    pub fn sbs_stats(&self) -> Option<std::sync::Arc<crate::sbs_client::SbsStats>> {
        self.sbs.clone()
    }

    /// Keeps a durable log in `store` and takes back what it holds (see
    /// [`FleetCore::recover`]). Scenario time goes on from the newest logged
    /// event if that is later than the configured start. Readers get their
    /// own connection where the store has one.
    pub fn with_store(&mut self, mut store: Box<dyn Store>) -> Result<(), StoreError> {
        let r = store.recover()?;
        if let Some(last) = r.last_event_at
            && last > self.clock.now()
        {
            self.clock.start_time = last;
            self.clock.started = Instant::now();
        }
        // A log with no second connection (in memory) has no readers.
        self.reader = store
            .reader()?
            .map(|r| -> SharedStore { std::sync::Arc::new(std::sync::Mutex::new(ReaderOnly(r))) });
        self.log.attach(store);
        let effects = self.core.recover(self.clock.now(), r);
        self.execute(effects, &mut |_| {});
        Ok(())
    }

    /// Calls `alarm` (once) when the log's fence refuses a commit: another
    /// server took the lease. From then on nothing is written, no link
    /// action is started, and the loop stops.
    pub fn on_fenced(&mut self, alarm: impl Fn(String) + Send + 'static) {
        self.log.on_fenced = Some(Alarm(Box::new(alarm)));
    }

    /// The log's read side, if any (for reports and time lines).
    pub fn store(&self) -> Option<SharedStore> {
        self.reader.clone()
    }

    /// The log's health as the loop finds it, if there is a log.
    pub fn database(&self) -> Option<watch::Receiver<DatabaseHealth>> {
        self.log.health.as_ref().map(watch::Sender::subscribe)
    }

    pub fn core(&self) -> &FleetCore {
        &self.core
    }

    /// The fleet's links.
    pub fn links(&self) -> Vec<FleetLink> {
        self.slots.iter().map(|s| s.link.clone()).collect()
    }

    /// Every event from now on (a receiver that lags loses the oldest; see `broadcast`).
    pub fn subscribe(&self) -> broadcast::Receiver<FleetEvent> {
        self.events_tx.subscribe()
    }

    /// Scenario time now.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// What changed on every link since the last call, on the runtime's clock.
    fn telemetry(&mut self) -> Telemetry {
        let mut vehicles = Vec::new();
        for slot in &mut self.slots {
            let (seq, changed) = slot.link.handle.changed_since(slot.seq);
            slot.seq = seq;
            for mut v in changed {
                let Some(drone) = slot.by_system.get(&v.system_id) else {
                    continue;
                };
                let o = slot.offset_s;
                v.last_heartbeat = v.last_heartbeat.map(|t| t + o);
                v.time_boot_at += o;
                v.changed_at += o;
                if let Some(c) = &mut v.contested {
                    c.last_claim += o;
                }
                vehicles.push((drone.clone(), v));
            }
        }
        let timeouts = self
            .slots
            .first()
            .map(|s| s.link.handle.timeouts())
            .unwrap_or_default();
        Telemetry {
            link_time: self.base.elapsed().as_secs_f64(),
            timeouts,
            vehicles,
        }
    }

    fn heard(&self, drone: &DroneId) -> bool {
        self.route.get(drone).is_some_and(|(i, sysid)| {
            self.slots[*i]
                .link
                .handle
                .vehicle(*sysid)
                .is_some_and(|v| v.last_heartbeat.is_some())
        })
    }

    /// Waits up to `wait` for every configured vehicle's heartbeat, lets
    /// telemetry settle, and gives the core the fleet's real state.
    pub async fn start_up(&mut self, wait: Duration) {
        let seen_by = Instant::now() + wait;
        while Instant::now() < seen_by
            && self
                .core
                .scenario()
                .drones
                .iter()
                .any(|d| !self.heard(&d.id))
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Telemetry has a moment to arrive, so that battery levels are real.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let telemetry = self.telemetry();
        let listen: Vec<String> = self
            .slots
            .iter()
            .filter_map(|s| s.link.handle.local_addr().map(|a| a.to_string()))
            .collect();
        let listen = (!listen.is_empty()).then(|| listen.join(", "));
        self.step(
            FleetInput::StartUp {
                telemetry,
                waited_s: wait.as_secs_f64(),
                listen,
            },
            &mut |_| {},
        );
    }

    /// Reports incidents, flies them, and returns when every incident has
    /// ended and every drone involved is back in its hangar (or `deadline`).
    /// Events are passed to `emit` as they happen.
    pub async fn fly(
        mut self,
        scheduled: Vec<Scheduled>,
        deadline: Duration,
        emit: impl FnMut(&FleetEvent) + Send,
    ) -> Summary {
        self.start_up(Duration::from_secs(5)).await;
        let (_calls_tx, calls) = mpsc::channel(1);
        self.run(
            calls,
            scheduled,
            Until::AllDone(Instant::now() + deadline),
            emit,
        )
        .await
    }

    /// Writes what is pending or checks the log (see [`Persister::refresh`]);
    /// a change in its health is an input to the core.
    fn refresh_log(&mut self, emit: &mut (dyn FnMut(&FleetEvent) + Send)) {
        if let Some(h) = self.log.refresh() {
            self.step(FleetInput::Store(h), emit);
        }
    }

    fn step(&mut self, input: FleetInput, emit: &mut (dyn FnMut(&FleetEvent) + Send)) {
        let effects = self.core.handle(self.clock.now(), input);
        self.execute(effects, emit);
    }

    /// Carries out one step's effects: persist, act, reply, publish. A
    /// change in the log's health is fed back (its alert is an event too).
    fn execute(&mut self, effects: Vec<Effect>, emit: &mut (dyn FnMut(&FleetEvent) + Send)) {
        let mut queue = vec![effects];
        while let Some(effects) = queue.pop() {
            let mut health = None;
            let mut rest = Vec::with_capacity(effects.len());
            for e in effects {
                match e {
                    Effect::Persist(batch) => {
                        if let Some(h) = self.log.commit(*batch) {
                            health = Some(h);
                        }
                    }
                    other => rest.push(other),
                }
            }
            let behind = self.log.behind();
            let fenced = self.log.fenced.is_some();
            for e in rest {
                match e {
                    Effect::Persist(_) => {}
                    // Not the leader: its decisions are not carried out.
                    Effect::Act { .. } if fenced => {}
                    Effect::Act { id, action } => self.spawn(id, action),
                    Effect::Abort(id) => {
                        if let Some(h) = self.running.remove(&id) {
                            h.abort();
                        }
                    }
                    Effect::Reply { to, reply } => {
                        if let Some((tx, change)) = self.waiting.remove(&to) {
                            let reply = match (&behind, change) {
                                (Some(why), true) => reply.not_durable(why),
                                _ => reply,
                            };
                            // A caller that went away loses only its answer:
                            // the change and its events stand.
                            let _ = tx.send(reply);
                        }
                    }
                    Effect::Publish(ev) => match &mut self.backlog {
                        Some(held) => held.push(ev),
                        None => {
                            emit(&ev);
                            let _ = self.events_tx.send(ev);
                        }
                    },
                    Effect::Stop => {}
                }
            }
            if let Some(h) = health {
                queue.push(self.core.handle(self.clock.now(), FleetInput::Store(h)));
            }
        }
    }

    fn spawn(&mut self, id: ActionId, action: Action) {
        let drone = match &action {
            Action::Launch { drone, .. }
            | Action::SendHome { drone, .. }
            | Action::Disarm { drone }
            | Action::Operator { drone, .. }
            | Action::Bind { drone, .. }
            | Action::AskCamera { drone } => drone,
        };
        let target = self
            .route
            .get(drone)
            .map(|(i, sysid)| (self.slots[*i].link.handle.clone(), *sysid));
        let kind = match &action {
            Action::Launch { .. } => "launch",
            Action::SendHome { .. } => "home",
            Action::Disarm { .. } => "disarm",
            Action::Operator { .. } => "operator",
            Action::Bind { .. } => "bind",
            Action::AskCamera { .. } => "camera",
        };
        let handle = self.tasks.spawn(async move {
            let outcome = match target {
                Some((link, sysid)) => run_action(&link, sysid, action).await,
                None => Self::lost_outcome(kind, "the drone is on no open link".into()),
            };
            (id, outcome)
        });
        self.task_action.insert(handle.id(), (id, kind));
        self.running.insert(id, handle);
    }

    /// The outcome of a task that did not return one (it panicked).
    fn lost_outcome(kind: &str, why: String) -> ActionOutcome {
        match kind {
            "launch" => ActionOutcome::Launched(Err(why)),
            "home" => ActionOutcome::SentHome(Err(why)),
            "disarm" => ActionOutcome::Disarmed(Err(why)),
            "bind" => ActionOutcome::Bound(Err(why)),
            "camera" => ActionOutcome::CameraAsked(Err(CommandError::Closed)),
            _ => ActionOutcome::Commanded(Err(CommandError::Closed)),
        }
    }

    fn joined(
        &mut self,
        joined: Result<(tokio::task::Id, (ActionId, ActionOutcome)), tokio::task::JoinError>,
        emit: &mut (dyn FnMut(&FleetEvent) + Send),
    ) {
        match joined {
            Ok((task, (action, outcome))) => {
                self.task_action.remove(&task);
                self.running.remove(&action);
                self.step(FleetInput::Done { action, outcome }, emit);
            }
            Err(e) => {
                let Some((action, kind)) = self.task_action.remove(&e.id()) else {
                    return;
                };
                self.running.remove(&action);
                if e.is_cancelled() {
                    return; // aborted: the core forgot it already
                }
                tracing::error!("link action {kind} failed: {e}");
                let outcome = Self::lost_outcome(kind, format!("internal error: {e}"));
                self.step(FleetInput::Done { action, outcome }, emit);
            }
        }
    }

    /// The service loop: requests, scheduled reports, link events, action
    /// outcomes and a 10 Hz tick of telemetry, until `until`. No input ends
    /// it: a failed input is an alert event or an error reply.
    pub(crate) async fn run(
        mut self,
        mut calls: mpsc::Receiver<Call>,
        mut scheduled: Vec<Scheduled>,
        until: Until,
        mut emit: impl FnMut(&FleetEvent) + Send,
    ) -> Summary {
        let emit: &mut (dyn FnMut(&FleetEvent) + Send) = &mut emit;
        for ev in self.backlog.take().unwrap_or_default() {
            emit(&ev);
            let _ = self.events_tx.send(ev);
        }
        // Every link's events into one channel, named by link.
        let (link_tx, mut link_events) = mpsc::channel::<(usize, LinkEvent)>(4096);
        let mut forwarders = JoinSet::new();
        for (i, slot) in self.slots.iter().enumerate() {
            let mut rx = slot.link.handle.subscribe();
            let tx = link_tx.clone();
            let name = slot.link.name.clone();
            forwarders.spawn(async move {
                loop {
                    match rx.recv().await {
                        // Link health comes from each tick's telemetry.
                        Ok(LinkEvent::LinkStatus { .. }) => {}
                        Ok(ev) => {
                            if tx.send((i, ev)).await.is_err() {
                                return;
                            }
                        }
                        // Link health comes from each tick's telemetry, not these events.
                        Err(RecvError::Lagged(n)) => tracing::warn!(
                            "link {name}: missed {n} link events (texts, alerts); link health is unaffected"
                        ),
                        Err(RecvError::Closed) => return,
                    }
                }
            });
        }
        drop(link_tx);
        // The SBS feed's reports; a full channel drops (and counts) reports,
        // it never holds the feed's reader.
        let (traffic_tx, mut traffic) =
            mpsc::channel::<dispatch_core::airspace::TrafficReport>(1024);
        if let Some(stats) = &self.sbs {
            let address = stats.address.clone();
            forwarders.spawn(crate::sbs_client::run(
                address,
                std::sync::Arc::clone(stats),
                traffic_tx,
            ));
        } else {
            drop(traffic_tx);
        }
        scheduled.sort_by(|a, b| a.after_s.total_cmp(&b.after_s));
        let start = self.clock.now();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut calls_open = true;
        let mut timed_out = false;
        while !self.core.stopping() && self.log.fenced.is_none() {
            tokio::select! {
                _ = tick.tick() => {
                    // Incidents whose time has come, reported together.
                    let elapsed = (self.clock.now() - start).num_milliseconds() as f64 / 1000.0;
                    let due = scheduled.iter().take_while(|s| s.after_s <= elapsed).count();
                    if due > 0 {
                        let batch: Vec<Report> = scheduled.drain(..due).map(|s| s.report).collect();
                        self.step(FleetInput::Schedule(batch), emit);
                    }
                    let telemetry = self.telemetry();
                    self.step(FleetInput::Tick(telemetry), emit);
                    if self.log.quiet_for(CHECK_EVERY) {
                        self.refresh_log(emit);
                    }
                    if let Until::AllDone(end) = until {
                        if scheduled.is_empty() && self.core.done() {
                            break;
                        }
                        if Instant::now() >= end {
                            timed_out = true;
                            self.step(FleetInput::TimedOut, emit);
                            break;
                        }
                    }
                }
                call = calls.recv(), if calls_open => match call {
                    Some((request, reply)) => {
                        // A change the log cannot take now is refused
                        // before it is made: nothing of it happens.
                        if request.needs_the_log() {
                            self.refresh_log(emit);
                            if let Some(e) = self.log.refusal() {
                                let _ = reply.send(request.refused(e));
                                continue;
                            }
                        }
                        let id = RequestId(self.next_request);
                        self.next_request += 1;
                        self.waiting.insert(id, (reply, request.is_change()));
                        self.step(FleetInput::Request { id, request }, emit);
                    }
                    None => calls_open = false,
                },
                ev = link_events.recv() => match ev {
                    Some((i, event)) => {
                        let drone = link_system(&event)
                            .and_then(|s| self.slots[i].by_system.get(&s).cloned());
                        self.step(FleetInput::Link { drone, event }, emit);
                    }
                    None => break,
                },
                Some(joined) = self.tasks.join_next_with_id() => self.joined(joined, emit),
                Some(report) = traffic.recv() => self.step(FleetInput::Traffic(report), emit),
            }
        }
        forwarders.abort_all();
        self.drain(emit).await;
        let mut summary = self.core.summary(matches!(until, Until::Stopped));
        summary.timed_out = timed_out;
        summary
    }

    /// Lets link actions in flight finish (up to [`DRAIN`]) so that their
    /// outcomes are events in the log; what is still running then is stopped.
    async fn drain(&mut self, emit: &mut (dyn FnMut(&FleetEvent) + Send)) {
        let end = tokio::time::Instant::now() + DRAIN;
        while !self.tasks.is_empty() {
            match tokio::time::timeout_at(end, self.tasks.join_next_with_id()).await {
                Ok(Some(joined)) => self.joined(joined, emit),
                Ok(None) => break,
                Err(_) => {
                    tracing::warn!(
                        "stopping with {} link action(s) still running: stopped",
                        self.tasks.len()
                    );
                    self.tasks.abort_all();
                    break;
                }
            }
        }
    }
}

/// The system id a link event is about, if any.
fn link_system(ev: &LinkEvent) -> Option<u8> {
    match ev {
        LinkEvent::LinkStatus { system_id, .. }
        | LinkEvent::StatusText { system_id, .. }
        | LinkEvent::UnknownSystem { system_id }
        | LinkEvent::ForeignAddress { system_id, .. }
        | LinkEvent::SigningRefused { system_id, .. }
        | LinkEvent::Rebound { system_id, .. }
        | LinkEvent::Traffic { system_id, .. } => Some(*system_id),
        LinkEvent::BadFrame { .. } => None,
    }
}

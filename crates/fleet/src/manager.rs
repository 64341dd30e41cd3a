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

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use dispatch_core::{
    Assignment, DispatchError, Dispatcher, DroneId, DroneState, IncidentId, IncidentStatus, Input,
    LatLon, Output, Report, Scenario, Timestamp,
};
use mavlink_link::link::{Command, LinkEvent, LinkHandle};
use mavlink_link::mav::{MavCmd, MavMissionType};
use mavlink_link::modes::FlightMode;
use mavlink_link::state::LinkStatus;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinSet;

use crate::mission::{self, MissionPlan, SortieSpec};

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
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            start_time: Timestamp::default(),
            speedup: 1.0,
            reassign_after: Duration::from_secs(10),
            charged_pct: 95.0,
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
    /// Vehicle clock at the launch order, ms.
    start_boot_ms: Option<u32>,
    was_airborne: bool,
    lost_since: Option<Instant>,
}

/// A drone flying home with no incident (after a re-queue or a lost link).
#[derive(Debug, Clone)]
struct Homing {
    system_id: u8,
}

type LaunchResult = (DroneId, IncidentId, Result<(), String>);

pub struct FleetManager {
    cfg: FleetConfig,
    scenario: Scenario,
    dispatcher: Dispatcher,
    link: LinkHandle,
    sorties: BTreeMap<DroneId, Sortie>,
    homing: BTreeMap<DroneId, Homing>,
    charging: BTreeSet<DroneId>,
    involved: BTreeSet<DroneId>,
    link_status: BTreeMap<u8, LinkStatus>,
    launches: JoinSet<LaunchResult>,
    arrivals: Vec<Arrival>,
    events: Vec<FleetEvent>,
    started: Instant,
}

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
            started: Instant::now(),
        }
    }

    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// Scenario time now.
    pub fn now(&self) -> Timestamp {
        let s = self.started.elapsed().as_secs_f64() * self.cfg.speedup;
        self.cfg.start_time + TimeDelta::milliseconds((s * 1000.0) as i64)
    }

    /// Reports incidents, flies them, and returns when every incident has
    /// ended and every drone involved is back in its hangar (or `deadline`).
    /// Events are passed to `emit` as they happen.
    pub async fn fly(
        mut self,
        mut scheduled: Vec<Scheduled>,
        deadline: Duration,
        mut emit: impl FnMut(&FleetEvent),
    ) -> Result<Summary, DispatchError> {
        let mut link_events = self.link.subscribe();
        // Give every configured vehicle a moment to be heard before dispatching.
        let seen_by = Instant::now() + Duration::from_secs(5);
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
        for d in self.scenario.drones.clone() {
            let v = self.link.vehicle(d.system_id);
            let heard = v.as_ref().is_some_and(|v| v.last_heartbeat.is_some());
            if let Some(battery) = v.and_then(|v| v.battery_pct).filter(|_| heard)
                && d.state.is_on_ground()
            {
                self.input(Input::DroneUpdate {
                    drone: d.id.clone(),
                    state: d.state,
                    position: d.position,
                    battery_pct: battery,
                })?;
            }
            if !heard {
                let now = self.now();
                let pos = d.position;
                self.input(Input::DroneUpdate {
                    drone: d.id.clone(),
                    state: DroneState::Lost,
                    position: pos,
                    battery_pct: d.battery_pct,
                })?;
                self.event(
                    now,
                    What::Drone {
                        drone: d.id.clone(),
                        state: DroneState::Lost,
                        note: format!("no heartbeat from system {}: not dispatchable", d.system_id),
                    },
                );
            }
        }
        scheduled.sort_by(|a, b| a.after_s.total_cmp(&b.after_s));
        let start = self.now();
        let mut ids: Vec<IncidentId> = Vec::new();
        let end = Instant::now() + deadline;
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            for e in self.events.drain(..) {
                emit(&e);
            }
            tokio::select! {
                _ = tick.tick() => {
                    // Incidents whose time has come, reported together.
                    let elapsed = (self.now() - start).num_milliseconds() as f64 / 1000.0;
                    let due = scheduled.iter().take_while(|s| s.after_s <= elapsed).count();
                    if due > 0 {
                        let batch: Vec<Report> = scheduled.drain(..due).map(|s| s.report).collect();
                        let before: BTreeSet<IncidentId> = self.dispatcher.incidents().map(|r| r.incident.id).collect();
                        self.input(Input::ReportBatch(batch))?;
                        ids.extend(self.dispatcher.incidents().map(|r| r.incident.id).filter(|id| !before.contains(id)));
                    }
                    self.poll()?;
                    if (scheduled.is_empty() && self.done(&ids)) || Instant::now() >= end {
                        break;
                    }
                }
                ev = link_events.recv() => match ev {
                    Ok(ev) => self.on_link(ev)?,
                    Err(RecvError::Lagged(n)) => tracing::warn!("missed {n} link events"),
                    Err(RecvError::Closed) => break,
                },
                Some(joined) = self.launches.join_next() => match joined {
                    Ok((drone, incident, result)) => self.on_launch(drone, incident, result)?,
                    Err(e) => tracing::error!("launch task failed: {e}"),
                },
            }
        }
        for e in self.events.drain(..) {
            emit(&e);
        }
        let mut s = Summary {
            resolved: Vec::new(),
            failed: Vec::new(),
            open: Vec::new(),
            arrivals: self.arrivals.clone(),
        };
        for id in ids {
            match self.dispatcher.incident(id).map(|r| r.incident.status) {
                Some(IncidentStatus::Resolved) => s.resolved.push(id),
                Some(IncidentStatus::Failed | IncidentStatus::Cancelled) => s.failed.push(id),
                _ => s.open.push(id),
            }
        }
        Ok(s)
    }

    fn done(&self, ids: &[IncidentId]) -> bool {
        let all_ended = ids.iter().all(|id| {
            self.dispatcher
                .incident(*id)
                .is_some_and(|r| r.incident.status.is_terminal())
        });
        all_ended && self.sorties.is_empty() && self.homing.is_empty() && self.launches.is_empty()
    }

    fn event(&mut self, t: Timestamp, what: What) {
        self.events.push(FleetEvent { t, what });
    }

    /// Feeds the dispatcher and carries out what it decides.
    fn input(&mut self, input: Input) -> Result<(), DispatchError> {
        let now = self.now();
        let outputs = self.dispatcher.handle(now, input)?;
        for o in outputs {
            self.output(now, o);
        }
        Ok(())
    }

    fn output(&mut self, now: Timestamp, o: Output) {
        match &o {
            Output::StatusChanged {
                incident, to, note, ..
            } => {
                self.event(
                    now,
                    What::Incident {
                        incident: *incident,
                        status: *to,
                        note: note.clone(),
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

    fn launch(&mut self, incident: IncidentId, a: &Assignment) {
        let now = self.now();
        let drone_id = a.chosen.drone.clone();
        let Some(drone) = self.dispatcher.world().drone(&drone_id).cloned() else {
            return;
        };
        let Some(rec) = self.dispatcher.incident(incident) else {
            return;
        };
        let kind = rec.incident.kind;
        let patrol: Vec<LatLon> = rec
            .incident
            .patrol
            .as_ref()
            .and_then(|p| self.dispatcher.patrols().iter().find(|x| &x.id == p))
            .map(|p| p.waypoints.clone())
            .unwrap_or_default();
        let Some(hangar) = self.dispatcher.world().hangar(&drone.hangar).cloned() else {
            return;
        };
        let on_scene_s = self
            .dispatcher
            .world()
            .policy(kind)
            .map(|p| p.on_scene_s)
            .unwrap_or(60.0);
        let airborne = !matches!(
            drone.state,
            DroneState::Preflight | DroneState::Docked | DroneState::Charging
        );
        let spec = SortieSpec {
            kind,
            home: hangar.position,
            cruise_alt_m: self.dispatcher.world().params().cruise_altitude_m,
            cruise_speed_mps: drone.performance.cruise_speed_mps,
            on_scene_s,
            airborne,
            patrol: &patrol,
        };
        let plan = mission::build(a, &spec);
        // The sortie ends after the scene and the flight back.
        let back_s = on_scene_s + a.return_route.length_m / drone.performance.cruise_speed_mps;
        let sortie_end = a.arrival_at + TimeDelta::milliseconds((back_s * 1000.0) as i64);
        let fence = mission::fence(
            self.dispatcher.world().zones(),
            &a.route,
            &a.return_route,
            hangar.position,
            mission::FlightWindow {
                start: now,
                end: sortie_end,
                cruise_alt_m: spec.cruise_alt_m,
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
        let delay = if airborne {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(hangar.launch_delay_s / self.cfg.speedup)
        };
        self.launches.spawn(async move {
            // The hangar opens and runs its checks while the mission goes up.
            let sleep = tokio::time::sleep(delay);
            let r = async {
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
                .map_err(|e| format!("mission start: {e}"))
            }
            .await;
            (drone_id, incident, r)
        });
    }

    fn on_launch(
        &mut self,
        drone: DroneId,
        incident: IncidentId,
        result: Result<(), String>,
    ) -> Result<(), DispatchError> {
        let now = self.now();
        let current = self.sorties.get(&drone).map(|s| s.incident);
        if current != Some(incident) {
            return Ok(()); // superseded (preempted or re-queued meanwhile)
        }
        match result {
            Ok(()) => {
                if let Some(s) = self.sorties.get_mut(&drone) {
                    s.phase = Phase::Flying;
                    s.start_boot_ms = self
                        .link
                        .vehicle(s.system_id)
                        .map(|v| v.time_boot_ms)
                        .or(s.start_boot_ms);
                }
                self.event(
                    now,
                    What::Drone {
                        drone: drone.clone(),
                        state: DroneState::EnRoute,
                        note: "launched: mission started".into(),
                    },
                );
                if self
                    .dispatcher
                    .incident(incident)
                    .map(|r| r.incident.status)
                    == Some(IncidentStatus::Assigned)
                {
                    self.input(Input::Progress {
                        incident,
                        status: IncidentStatus::EnRoute,
                    })?;
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
                self.input(Input::Requeue {
                    incident,
                    reason: format!("drone {drone} failed to launch: {why}"),
                })?;
                let battery = sortie
                    .and_then(|s| self.link.vehicle(s.system_id))
                    .and_then(|v| v.battery_pct)
                    .unwrap_or(0.0);
                self.input(Input::DroneUpdate {
                    drone,
                    state: DroneState::Maintenance,
                    position: pos,
                    battery_pct: battery,
                })?;
            }
        }
        Ok(())
    }

    fn position_of(&self, drone: &DroneId) -> LatLon {
        self.dispatcher
            .world()
            .drone(drone)
            .map(|d| d.position)
            .unwrap_or_else(|| self.scenario.region.centre())
    }

    fn on_link(&mut self, ev: LinkEvent) -> Result<(), DispatchError> {
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
                    return Ok(());
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
                if status == LinkStatus::Up
                    && self
                        .dispatcher
                        .world()
                        .drone(&drone)
                        .is_some_and(|d| d.state == DroneState::Lost)
                    && !self.sorties.contains_key(&drone)
                {
                    // Back: follow it home (its own failsafe flies it there).
                    self.homing.insert(drone.clone(), Homing { system_id });
                }
            }
            LinkEvent::StatusText { system_id, text } => {
                if let Some(drone) = drone_of(system_id)
                    && self.involved.contains(&drone)
                {
                    self.event(now, What::Vehicle { drone, text });
                }
            }
            LinkEvent::UnknownSystem { system_id } => {
                tracing::warn!(system_id, "MAVLink from an unconfigured system id: ignored");
            }
            LinkEvent::BadFrame { error } => tracing::warn!("bad MAVLink input: {error}"),
        }
        Ok(())
    }

    /// Follows every flying drone from its telemetry.
    fn poll(&mut self) -> Result<(), DispatchError> {
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
                self.input(Input::DroneUpdate {
                    drone: drone.clone(),
                    state: DroneState::Lost,
                    position: pos,
                    battery_pct: 0.0,
                })?;
                self.requeue_if_open(s.incident, &format!("link to drone {drone} lost"))?;
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
            let seq = v.mission_seq;
            let reached = v.mission_reached.unwrap_or(0);
            if status == Some(IncidentStatus::EnRoute)
                && (seq > s.plan.scene_arrival || reached >= s.plan.scene_arrival)
                && v.armed
            {
                let actual = s
                    .start_boot_ms
                    .map(|b| f64::from(v.time_boot_ms.saturating_sub(b)) / 1000.0)
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
                self.input(Input::Progress {
                    incident: s.incident,
                    status: IncidentStatus::OnScene,
                })?;
            } else if status == Some(IncidentStatus::OnScene) && seq >= s.plan.return_start {
                self.input(Input::Progress {
                    incident: s.incident,
                    status: IncidentStatus::Returning,
                })?;
            } else if matches!(status, Some(IncidentStatus::EnRoute)) {
                // Turned back on its own (failsafe, fence), or too little battery
                // left to finish: the vehicle flies home and the incident goes on.
                let why = if v.armed && matches!(v.mode, FlightMode::Rtl | FlightMode::Land) {
                    Some(format!("drone {drone} turned back in {}", v.mode))
                } else if battery > 0.0 && battery < 25.0 {
                    Some(format!("drone {drone} reports low battery ({battery:.0}%)"))
                } else {
                    None
                };
                if let Some(why) = why {
                    self.sorties.remove(&drone);
                    self.homing.insert(
                        drone.clone(),
                        Homing {
                            system_id: s.system_id,
                        },
                    );
                    self.requeue_if_open(s.incident, &why)?;
                    continue;
                }
            }
            let airborne_now = v.armed && v.rel_alt_m > 1.0;
            if airborne_now && let Some(x) = self.sorties.get_mut(&drone) {
                x.was_airborne = true;
            }
            let was_airborne = self.sorties.get(&drone).is_some_and(|x| x.was_airborne);
            if was_airborne && !v.armed && v.landed != Some(false) {
                self.sorties.remove(&drone);
                if self
                    .dispatcher
                    .incident(s.incident)
                    .map(|r| r.incident.status)
                    == Some(IncidentStatus::Returning)
                {
                    self.input(Input::Progress {
                        incident: s.incident,
                        status: IncidentStatus::Resolved,
                    })?;
                } else {
                    self.requeue_if_open(
                        s.incident,
                        &format!("drone {drone} landed before finishing"),
                    )?;
                }
                self.landed(&drone, pos, battery)?;
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
                self.input(Input::DroneUpdate {
                    drone: drone.clone(),
                    state,
                    position: pos,
                    battery_pct: battery,
                })?;
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
                )?;
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
            self.input(Input::DroneUpdate {
                drone: drone.clone(),
                state,
                position: pos,
                battery_pct: battery,
            })?;
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
        self.input(Input::Tick)?;
        Ok(())
    }

    fn landed(&mut self, drone: &DroneId, pos: LatLon, battery: f64) -> Result<(), DispatchError> {
        let now = self.now();
        let home = self
            .dispatcher
            .world()
            .drone(drone)
            .and_then(|d| self.dispatcher.world().hangar(&d.hangar))
            .map(|h| h.position);
        let at_home = home.is_some_and(|h| dispatch_core::geodesy::distance_m(h, pos) < 30.0);
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
        self.input(Input::DroneUpdate {
            drone: drone.clone(),
            state,
            position: if at_home { home.unwrap_or(pos) } else { pos },
            battery_pct: battery,
        })
    }

    fn requeue_if_open(&mut self, incident: IncidentId, why: &str) -> Result<(), DispatchError> {
        let status = self
            .dispatcher
            .incident(incident)
            .map(|r| r.incident.status);
        if status.is_some_and(|s| s.can_move_to(IncidentStatus::Queued)) {
            self.input(Input::Requeue {
                incident,
                reason: why.to_owned(),
            })?;
        }
        Ok(())
    }
}

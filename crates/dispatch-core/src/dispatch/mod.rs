//! The dispatcher state machine: `handle(now, input) -> outputs`.
//!
//! It owns the [`World`] and the incidents, and decides; it performs nothing.
//! Adapters (the CLI, the fleet manager, the server) feed it inputs with the
//! current time and carry out what it outputs.
//!
//! # Priority policy
//! - The queue is served strictly by priority (5 first), then by report time,
//!   then by id. A batch of incidents reported together is queued first and
//!   then served in that order, so a lower-priority incident never picks a
//!   drone before a higher-priority one of the same batch has chosen.
//! - The queue is served again whenever capacity may have appeared: a drone
//!   becomes dispatchable, an incident ends or is cancelled, a zone goes away.
//! - Preemption: a drone on non-life-threatening work (a patrol) may be taken
//!   by a life-threatening incident of strictly higher priority. A drone on a
//!   life-threatening incident is never taken. The preempted incident returns
//!   to the queue and is served again (another drone, or it waits, reported as
//!   queued with the reason: for a patrol, "uncovered").

mod protocol;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

pub use protocol::{DispatchError, IncidentRecord, Input, Output, Report, TimelineEntry};

use crate::assign::{Assignment, Need, assign};
use crate::model::{
    DroneId, DroneState, Incident, IncidentId, IncidentKind, IncidentStatus, LatLon, PatrolId,
    PatrolRoute, Tasking, Timestamp, ZoneId,
};
use crate::routing::secs;
use crate::world::{World, WorldError};

#[derive(Debug, Clone)]
pub struct Dispatcher {
    world: World,
    incidents: BTreeMap<IncidentId, IncidentRecord>,
    patrols: Vec<PatrolRoute>,
    /// When each patrol last started a pass.
    patrol_started: BTreeMap<PatrolId, Timestamp>,
    next_id: u64,
    /// Incidents in the queue (an index, so serving the queue never scans
    /// the whole history).
    queued: BTreeSet<IncidentId>,
    /// Incidents whose record changed since the last [`Dispatcher::take_changed`].
    changed: BTreeSet<IncidentId>,
    /// When a tick last served the queue: every other change that can free
    /// a drone serves it at once, so ticks (10 Hz in the fleet) need only
    /// serve it for what time alone changes, once a scenario second.
    ticked_at: Option<Timestamp>,
    /// The 4D paths of the sorties planned or flying (separation).
    flights: crate::separation::Flights,
    /// The return route's waypoints of drones sent home before their
    /// sortie's end (their mission flies them), until they are down.
    home_via: BTreeMap<DroneId, Vec<LatLon>>,
}

impl Dispatcher {
    pub fn new(world: World, patrols: Vec<PatrolRoute>) -> Self {
        Self {
            world,
            incidents: BTreeMap::new(),
            patrols,
            patrol_started: BTreeMap::new(),
            next_id: 1,
            queued: BTreeSet::new(),
            changed: BTreeSet::new(),
            ticked_at: None,
            flights: crate::separation::Flights::default(),
            home_via: BTreeMap::new(),
        }
    }

    /// The sorties' paths the next plan is separated from.
    pub fn flights(&self) -> &crate::separation::Flights {
        &self.flights
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    /// The id the next incident will get.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Takes incidents back from a durable log after a restart, as they
    /// were: ids, statuses, assignments and time lines. Drones of incidents
    /// still holding one get their task back (in the state the incident
    /// implies; the fleet corrects it from telemetry). Numbering continues
    /// after the highest id seen and never below `next_id`.
    pub fn restore(&mut self, records: Vec<IncidentRecord>, next_id: u64) {
        for r in records {
            let id = r.incident.id;
            self.next_id = self.next_id.max(id.0 + 1);
            let status = r.incident.status;
            if status.holds_drone()
                && let Some(drone) = &r.incident.drone
                && let Some(idx) = self.world.drone_index(drone)
            {
                let policy = self.world.policy(r.incident.kind).copied();
                let state = match status {
                    IncidentStatus::EnRoute => DroneState::EnRoute,
                    IncidentStatus::OnScene => DroneState::OnScene,
                    IncidentStatus::Returning => DroneState::Returning,
                    _ => DroneState::Preflight,
                };
                let task = Tasking {
                    incident: id,
                    kind: r.incident.kind,
                    priority: r.incident.priority,
                    life_threatening: policy.is_some_and(|p| p.life_threatening),
                };
                self.world.set_task(idx, state, Some(task));
                if let Some(f) = r.assignment.as_ref().and_then(|a| a.flight.clone()) {
                    self.flights.insert(drone.clone(), id, f);
                }
            }
            if status == IncidentStatus::Queued {
                self.queued.insert(id);
            }
            self.changed.insert(id);
            self.incidents.insert(id, r);
        }
        self.next_id = self.next_id.max(next_id);
    }

    /// The incidents whose record changed (status, time line, assignment,
    /// reason) since the last call: what a durable log must write.
    pub fn take_changed(&mut self) -> BTreeSet<IncidentId> {
        std::mem::take(&mut self.changed)
    }

    pub fn incident(&self, id: IncidentId) -> Option<&IncidentRecord> {
        self.incidents.get(&id)
    }

    pub fn incidents(&self) -> impl Iterator<Item = &IncidentRecord> {
        self.incidents.values()
    }

    pub fn patrols(&self) -> &[PatrolRoute] {
        &self.patrols
    }

    /// Ids of queued incidents in the order the queue is served.
    pub fn queue(&self) -> Vec<IncidentId> {
        let mut q: Vec<&Incident> = self
            .queued
            .iter()
            .filter_map(|id| self.incidents.get(id))
            .map(|r| &r.incident)
            .collect();
        q.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then(a.reported_at.cmp(&b.reported_at))
                .then(a.id.cmp(&b.id))
        });
        q.into_iter().map(|i| i.id).collect()
    }

    pub fn handle(&mut self, now: Timestamp, input: Input) -> Result<Vec<Output>, DispatchError> {
        let mut out = Vec::new();
        match input {
            Input::Report(r) => {
                self.open(now, r, &mut out)?;
                self.serve_queue(now, &mut out);
            }
            Input::ReportBatch(rs) => {
                // Validate all first, so a bad report loses none of the others.
                for r in &rs {
                    self.check_report(r)?;
                }
                for r in rs {
                    self.open(now, r, &mut out)?;
                }
                self.serve_queue(now, &mut out);
            }
            Input::Launch(id) => self.launch(now, id, &mut out)?,
            Input::Cancel { incident, reason } => {
                self.finish(now, incident, IncidentStatus::Cancelled, &reason, &mut out)?;
                self.serve_queue(now, &mut out);
            }
            Input::Progress { incident, status } => {
                self.progress(now, incident, status, &mut out)?;
                self.serve_queue(now, &mut out);
            }
            Input::Requeue { incident, reason } => {
                self.requeue(now, incident, &reason, &mut out)?;
                self.serve_queue(now, &mut out);
            }
            Input::DroneUpdate {
                drone,
                state,
                position,
                battery_pct,
            } => {
                self.world.check_position(position)?;
                let task = self.world.drone(&drone).and_then(|d| d.task);
                let task = task.filter(|_| !state.is_on_ground());
                if state.is_on_ground() || state == DroneState::Maintenance {
                    // Down (landed, or a launch that never left): its path
                    // no longer holds any airspace.
                    self.flights.remove(&drone);
                    self.home_via.remove(&drone);
                }
                self.world
                    .update_drone(&drone, state, position, battery_pct, task)?;
                // Only a dispatchable drone (free, or on preemptable work) can
                // take a queued incident; other updates leave the queue as is.
                if self
                    .world
                    .drone(&drone)
                    .is_some_and(crate::world::is_dispatchable)
                {
                    self.serve_queue(now, &mut out);
                }
            }
            Input::UpsertZone(z) => {
                let id = z.id.clone();
                self.world.upsert_zone(z);
                out.push(Output::ZoneAdded { zone: id });
            }
            Input::RemoveZone(id) => {
                self.world.remove_zone(&id)?;
                out.push(Output::ZoneRemoved { zone: id });
                self.serve_queue(now, &mut out);
            }
            Input::Eta { incident, at, why } => {
                let rec = self
                    .incidents
                    .get_mut(&incident)
                    .ok_or(DispatchError::UnknownIncident(incident))?;
                let status = rec.incident.status;
                match rec.assignment.as_mut() {
                    Some(a)
                        if matches!(status, IncidentStatus::Assigned | IncidentStatus::EnRoute) =>
                    {
                        let from = a.arrival_at;
                        a.arrival_at = at;
                        let drone = a.chosen.drone.clone();
                        self.flights.shift(&drone, incident, at - from);
                        self.changed.insert(incident);
                        out.push(Output::EtaChanged {
                            incident,
                            from,
                            to: at,
                            why,
                        });
                    }
                    // On scene (or no drone): no arrival to predict any more.
                    _ => {}
                }
            }
            Input::Wind(obs) => {
                // The queue hears of it at the next tick (at most a second).
                self.world.check_position(obs.position)?;
                self.world.wind_mut().observe(obs);
            }
            Input::Homeward {
                drone,
                position,
                alt_m,
            } => self.homeward(now, drone, position, alt_m, &mut out)?,
            Input::Tick => {
                self.world.wind_mut().expire(now);
                let world = &self.world;
                self.flights.expire(now, |d| {
                    world.drone(d).is_none_or(|d| d.state.is_on_ground())
                });
                let before = out.len();
                for zone in self.world.expire_zones(now) {
                    out.push(Output::ZoneExpired { zone });
                }
                self.open_patrols(now, &mut out)?;
                let due = self
                    .ticked_at
                    .is_none_or(|t| (now - t).num_milliseconds() >= 1000 || now < t);
                if due || out.len() > before {
                    self.ticked_at = Some(now);
                    self.serve_queue(now, &mut out);
                }
            }
        }
        Ok(out)
    }

    fn check_report(&self, r: &Report) -> Result<(), DispatchError> {
        self.world.check_position(r.position)?;
        if self.world.policy(r.kind).is_none() {
            return Err(DispatchError::NoPolicy(r.kind));
        }
        if let Some(p) = r.priority.filter(|p| !(1..=5).contains(p)) {
            return Err(DispatchError::BadPriority(p));
        }
        Ok(())
    }

    fn open(
        &mut self,
        now: Timestamp,
        r: Report,
        out: &mut Vec<Output>,
    ) -> Result<IncidentId, DispatchError> {
        self.check_report(&r)?;
        let policy = *self
            .world
            .policy(r.kind)
            .ok_or(DispatchError::NoPolicy(r.kind))?;
        let id = IncidentId(self.next_id);
        self.next_id += 1;
        let priority = r.priority.unwrap_or(policy.priority);
        // A patrol route may ask for more than the patrol kind's payload.
        let mut required = policy.capabilities;
        if let Some(route) = r
            .patrol
            .as_ref()
            .and_then(|p| self.patrols.iter().find(|x| &x.id == p))
        {
            for c in route.capabilities.iter() {
                required.insert(c);
            }
        }
        let incident = Incident {
            id,
            kind: r.kind,
            position: r.position,
            priority,
            reported_at: now,
            required,
            status: IncidentStatus::Queued,
            drone: None,
            reason: None,
            patrol: r.patrol,
        };
        self.queued.insert(id);
        self.changed.insert(id);
        self.incidents.insert(
            id,
            IncidentRecord {
                incident,
                assignment: None,
                auto_launch: r.auto_launch,
                timeline: vec![TimelineEntry {
                    at: now,
                    status: IncidentStatus::Queued,
                    note: format!(
                        "reported: {} at {} (priority {priority})",
                        r.kind, r.position
                    ),
                }],
            },
        );
        out.push(Output::Reported {
            incident: id,
            kind: r.kind,
            priority,
        });
        Ok(id)
    }

    fn serve_queue(&mut self, now: Timestamp, out: &mut Vec<Output>) {
        // A preemption puts an incident back in the queue: serve until stable.
        for _ in 0..8 {
            let mut preempted = false;
            for id in self.queue() {
                preempted |= self.try_assign(now, id, out);
            }
            if !preempted {
                break;
            }
        }
    }

    /// Returns whether the assignment preempted another incident.
    /// `a` kept apart from our other sorties, or the first runner-up that
    /// can be; the reason of the chosen drone when none can.
    fn separated(
        &self,
        need: &Need,
        a: Assignment,
    ) -> Result<Assignment, crate::assign::NoCandidate> {
        let alternatives = a.alternatives.clone();
        let rejected = a.rejected.clone();
        let why = match crate::separation::separate(&self.world, &self.flights, need, a) {
            Ok(a) => return Ok(a),
            Err(why) => why,
        };
        for c in &alternatives {
            if let Ok(b) = crate::assign::assign_to(&self.world, need, &c.drone)
                && let Ok(mut b) = crate::separation::separate(&self.world, &self.flights, need, b)
            {
                b.alternatives = alternatives
                    .iter()
                    .filter(|x| x.drone != c.drone)
                    .cloned()
                    .collect();
                b.rejected = rejected;
                return Ok(b);
            }
        }
        Err(crate::assign::NoCandidate {
            reason: why,
            rejected,
        })
    }

    fn try_assign(&mut self, now: Timestamp, id: IncidentId, out: &mut Vec<Output>) -> bool {
        let Some(rec) = self.incidents.get(&id) else {
            return false;
        };
        let inc = &rec.incident;
        let kind = inc.kind;
        let Some(policy) = self.world.policy(kind).copied() else {
            return false;
        };
        let need = Need {
            required: inc.required,
            priority: inc.priority,
            search: kind == IncidentKind::MissingPerson,
            ..Need::new(&policy, inc.position, now)
        };
        let planned = assign(&self.world, &need).and_then(|a| self.separated(&need, a));
        match planned {
            Ok(a) => {
                let mut preempted = false;
                if let Some(from) = a.chosen.preempts {
                    preempted = true;
                    out.push(Output::Preempted {
                        drone: a.chosen.drone.clone(),
                        from,
                        to: id,
                    });
                    let note = format!("drone {} taken by incident {id}", a.chosen.drone);
                    self.back_to_queue(now, from, &note, out);
                }
                let auto = self.incidents.get(&id).is_some_and(|r| r.auto_launch);
                let status = if auto {
                    IncidentStatus::Assigned
                } else {
                    IncidentStatus::Proposed
                };
                let Some(idx) = self.world.drone_index(&a.chosen.drone) else {
                    return preempted;
                };
                let airborne = !self.world.drone_at(idx).state.is_on_ground();
                let state = if airborne {
                    self.world.drone_at(idx).state
                } else {
                    DroneState::Preflight
                };
                let task = Tasking {
                    incident: id,
                    kind,
                    priority: need.priority,
                    life_threatening: policy.life_threatening,
                };
                self.world.set_task(idx, state, Some(task));
                let note = format!(
                    "{} drone {} from {}: ETA {:.0} s over {:.0} m{}",
                    if auto { "assigned" } else { "proposed" },
                    a.chosen.drone,
                    a.chosen.hangar,
                    a.chosen.eta_s,
                    a.route.length_m,
                    if a.route.final_leg_enters.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; final leg enters rescue-exempt zone(s) {}",
                            join(&a.route.final_leg_enters)
                        )
                    }
                );
                let note = match &a.flight {
                    Some(f) if !f.note.is_empty() => format!("{note}; {}", f.note),
                    _ => note,
                };
                if let Some(f) = &a.flight {
                    self.flights.insert(a.chosen.drone.clone(), id, f.clone());
                }
                self.set_status(now, id, status, note, out);
                if let Some(rec) = self.incidents.get_mut(&id) {
                    rec.incident.drone = Some(a.chosen.drone.clone());
                    rec.incident.reason = None;
                    rec.assignment = Some(a.clone());
                }
                out.push(if auto {
                    Output::Assigned {
                        incident: id,
                        assignment: Box::new(a),
                    }
                } else {
                    Output::Proposed {
                        incident: id,
                        assignment: Box::new(a),
                    }
                });
                preempted
            }
            Err(nc) => {
                let Some(rec) = self.incidents.get_mut(&id) else {
                    return false;
                };
                if rec.incident.reason.as_deref() != Some(nc.reason.as_str()) {
                    let reason = if rec.incident.kind == IncidentKind::Patrol {
                        format!("patrol uncovered: {}", nc.reason)
                    } else {
                        nc.reason
                    };
                    rec.incident.reason = Some(reason.clone());
                    rec.timeline.push(TimelineEntry {
                        at: now,
                        status: IncidentStatus::Queued,
                        note: format!("queued: {reason}"),
                    });
                    self.changed.insert(id);
                    out.push(Output::Queued {
                        incident: id,
                        reason,
                    });
                }
                false
            }
        }
    }

    fn launch(
        &mut self,
        now: Timestamp,
        id: IncidentId,
        out: &mut Vec<Output>,
    ) -> Result<(), DispatchError> {
        let rec = self
            .incidents
            .get(&id)
            .ok_or(DispatchError::UnknownIncident(id))?;
        if rec.incident.status != IncidentStatus::Proposed {
            return Err(DispatchError::NothingToLaunch(id));
        }
        self.set_status(
            now,
            id,
            IncidentStatus::Assigned,
            "launch confirmed".into(),
            out,
        );
        if let Some(rec) = self.incidents.get(&id)
            && let Some(a) = &rec.assignment
        {
            out.push(Output::Assigned {
                incident: id,
                assignment: Box::new(a.clone()),
            });
        }
        Ok(())
    }

    fn progress(
        &mut self,
        now: Timestamp,
        id: IncidentId,
        status: IncidentStatus,
        out: &mut Vec<Output>,
    ) -> Result<(), DispatchError> {
        let rec = self
            .incidents
            .get(&id)
            .ok_or(DispatchError::UnknownIncident(id))?;
        let from = rec.incident.status;
        if !from.can_move_to(status) || status == IncidentStatus::Queued {
            return Err(DispatchError::InvalidTransition {
                incident: id,
                from,
                to: status,
            });
        }
        if status.is_terminal() {
            return self.finish(now, id, status, "reported by the fleet", out);
        }
        let drone_state = match status {
            IncidentStatus::EnRoute => Some(DroneState::EnRoute),
            IncidentStatus::OnScene => Some(DroneState::OnScene),
            IncidentStatus::Returning => Some(DroneState::Returning),
            _ => None,
        };
        if let (Some(state), Some(drone)) = (drone_state, rec.incident.drone.clone())
            && let Some(idx) = self.world.drone_index(&drone)
        {
            let task = self.world.drone_at(idx).task;
            // Returning drones keep nothing to preempt: the task is over.
            let task = task.filter(|_| state != DroneState::Returning);
            self.world.set_task(idx, state, task);
        }
        self.set_status(now, id, status, "reported by the fleet".into(), out);
        Ok(())
    }

    /// Whether incident `id` may go to `to` now.
    fn may_move(&self, id: IncidentId, to: IncidentStatus) -> Result<(), DispatchError> {
        let rec = self
            .incidents
            .get(&id)
            .ok_or(DispatchError::UnknownIncident(id))?;
        let from = rec.incident.status;
        if !from.can_move_to(to) {
            return Err(DispatchError::InvalidTransition {
                incident: id,
                from,
                to,
            });
        }
        Ok(())
    }

    /// Ends an incident (resolved, cancelled or failed) and frees its drone.
    fn finish(
        &mut self,
        now: Timestamp,
        id: IncidentId,
        status: IncidentStatus,
        reason: &str,
        out: &mut Vec<Output>,
    ) -> Result<(), DispatchError> {
        self.may_move(id, status)?;
        self.release_drone(now, id);
        if status != IncidentStatus::Resolved
            && let Some(rec) = self.incidents.get_mut(&id)
        {
            rec.incident.reason = Some(reason.to_owned());
        }
        self.set_status(now, id, status, reason.to_owned(), out);
        Ok(())
    }

    /// Plans the way home of a drone cut short and keeps it as the drone's
    /// path, so that new sorties are separated from what it really flies.
    fn homeward(
        &mut self,
        now: Timestamp,
        drone: DroneId,
        position: LatLon,
        alt_m: f64,
        out: &mut Vec<Output>,
    ) -> Result<(), DispatchError> {
        self.world.check_position(position)?;
        if self.world.drone(&drone).is_none() {
            return Err(WorldError::UnknownDrone(drone).into());
        }
        // The layer it flies (its sortie's, else where it is), and the way
        // its mission takes it home (kept when its sortie was cut short).
        let (incident, alt_m) = self
            .flights
            .entry(&drone)
            .map_or((None, alt_m), |(i, f)| (i, f.altitude_m));
        let via = self.home_via.get(&drone).cloned().unwrap_or_default();
        let Some(h) = crate::homeward::plan(
            &self.world,
            &self.flights,
            &drone,
            position,
            alt_m,
            &via,
            now,
        ) else {
            return Ok(());
        };
        match incident {
            Some(i) => self.flights.insert(drone.clone(), i, h.path),
            None => self.flights.insert_homeward(drone.clone(), h.path),
        }
        out.push(Output::Homeward {
            drone,
            incident,
            hold_s: h.hold_s,
            conflict: h.conflict.is_some(),
            note: h.note,
        });
        Ok(())
    }

    fn requeue(
        &mut self,
        now: Timestamp,
        id: IncidentId,
        reason: &str,
        out: &mut Vec<Output>,
    ) -> Result<(), DispatchError> {
        self.may_move(id, IncidentStatus::Queued)?;
        self.back_to_queue(now, id, reason, out);
        Ok(())
    }

    fn back_to_queue(
        &mut self,
        now: Timestamp,
        id: IncidentId,
        reason: &str,
        out: &mut Vec<Output>,
    ) {
        self.release_drone(now, id);
        if let Some(rec) = self.incidents.get_mut(&id) {
            rec.incident.drone = None;
            rec.assignment = None;
            rec.incident.reason = None;
        }
        self.set_status(now, id, IncidentStatus::Queued, reason.to_owned(), out);
    }

    /// Takes the incident's task off its drone. A drone still in its hangar
    /// goes back to docked; one in the air flies home and is no longer
    /// dispatchable until the fleet reports it docked.
    fn release_drone(&mut self, now: Timestamp, id: IncidentId) {
        let Some(drone) = self
            .incidents
            .get(&id)
            .and_then(|r| r.incident.drone.clone())
        else {
            return;
        };
        let Some(idx) = self.world.drone_index(&drone) else {
            return;
        };
        let d = self.world.drone_at(idx);
        if d.task.is_some_and(|t| t.incident != id) {
            // Already re-tasked (preempted): nothing of ours to release.
            return;
        }
        let state = match d.state {
            DroneState::Preflight => DroneState::Docked,
            DroneState::EnRoute | DroneState::OnScene => DroneState::Returning,
            s => s,
        };
        let cut_short = matches!(d.state, DroneState::EnRoute | DroneState::OnScene);
        let position = d.position;
        self.world.set_task(idx, state, None);
        if cut_short {
            self.provisional_way_home(now, id, &drone, position);
        }
    }

    /// A drone in the air whose sortie ends early flies its mission's way
    /// home: that way is kept, and a provisional path along it from where
    /// the drone was last reported replaces its sortie's at once, so that a
    /// sortie planned in the same step (the incident handed to another
    /// drone) is separated from where this one will really fly. The fleet
    /// plans it again from the drone's exact position (`Input::Homeward`).
    fn provisional_way_home(
        &mut self,
        now: Timestamp,
        id: IncidentId,
        drone: &DroneId,
        position: LatLon,
    ) {
        let via = self
            .incidents
            .get(&id)
            .and_then(|r| r.assignment.as_ref())
            .filter(|a| a.chosen.drone == *drone)
            .map(|a| {
                let w = &a.return_route.waypoints;
                w.iter()
                    .skip(1)
                    .take(w.len().saturating_sub(2))
                    .copied()
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let alt_m = self
            .flights
            .get(drone)
            .map_or(self.world.params().cruise_altitude_m, |f| f.altitude_m);
        if let Some((path, _)) =
            crate::homeward::path(&self.world, drone, position, alt_m, &via, now)
        {
            self.flights.insert(drone.clone(), id, path);
        }
        self.home_via.insert(drone.clone(), via);
    }

    fn set_status(
        &mut self,
        now: Timestamp,
        id: IncidentId,
        to: IncidentStatus,
        note: String,
        out: &mut Vec<Output>,
    ) {
        let Some(rec) = self.incidents.get_mut(&id) else {
            return;
        };
        let from = rec.incident.status;
        rec.incident.status = to;
        self.changed.insert(id);
        if to == IncidentStatus::Queued {
            self.queued.insert(id);
        } else {
            self.queued.remove(&id);
        }
        rec.timeline.push(TimelineEntry {
            at: now,
            status: to,
            note: note.clone(),
        });
        if from != to {
            out.push(Output::StatusChanged {
                incident: id,
                from,
                to,
                note,
            });
        }
    }

    /// Opens a patrol incident for each patrol whose window is open, that has
    /// no open incident, and whose repeat interval has elapsed.
    fn open_patrols(&mut self, now: Timestamp, out: &mut Vec<Output>) -> Result<(), DispatchError> {
        let mut due = Vec::new();
        for p in &self.patrols {
            if !p.window.overlaps(now, now) || p.waypoints.is_empty() {
                continue;
            }
            let open = self.incidents.values().any(|r| {
                r.incident.patrol.as_ref() == Some(&p.id) && !r.incident.status.is_terminal()
            });
            let last = self.patrol_started.get(&p.id).copied();
            let repeat_due = match (last, p.repeat_every_min) {
                (None, _) => true,
                (Some(t), Some(every)) => now >= t + secs(every * 60.0),
                (Some(_), None) => false,
            };
            if !open && repeat_due {
                due.push((p.id.clone(), p.waypoints[0]));
            }
        }
        if due.is_empty() {
            return Ok(());
        }
        let mut reports = Vec::new();
        for (id, at) in due {
            self.patrol_started.insert(id.clone(), now);
            reports.push(Report {
                kind: IncidentKind::Patrol,
                position: at,
                priority: None,
                auto_launch: true,
                patrol: Some(id),
            });
        }
        for r in reports {
            self.open(now, r, out)?;
        }
        Ok(())
    }
}

fn join(ids: &[ZoneId]) -> String {
    ids.iter()
        .map(|z| z.0.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

//! Manned traffic: the fleet's traffic picture (ADS-B forwarded by any
//! vehicle and the ground receiver's SBS-1 feed, merged by ICAO address),
//! the launch hold and the in-flight hold, descent and resume.
//!
//! - **Launch hold.** Before a launch action goes out, the sortie's planned
//!   path (outbound route, time on scene, return route, at cruise altitude,
//!   timed from the plan) is checked against every track extrapolated over
//!   the sortie (no farther than `horizon_s`). A conflict holds the launch:
//!   the action is kept, not sent; every tick re-times the path from now and
//!   sends it once clear. A hold longer than `hold_alert_s` for a
//!   life-threatening kind is a critical alert; a dispatcher may launch
//!   anyway (`Request::LaunchAnyway`).
//! - **In flight.** The drone's path ahead (from where it is along what is
//!   left of its mission at cruise speed) is checked over `look_ahead_s`: a
//!   conflict is an alert; one under way or due within `hold_lead_s` holds
//!   the drone (LOITER), or, with the aircraft above it, holds it at
//!   `safe_alt_m` (DO_REPOSITION at its position, GUIDED). When resuming
//!   would be clear for `hold_lead_s`, the mission goes on (AUTO).
//!
//! Every step is an [`What::Airspace`] event; commands go out as
//! [`Action::Operator`] steps whose outcomes come back like any other.

use std::collections::{BTreeMap, BTreeSet};

use chrono::TimeDelta;
use dispatch_core::airspace::{
    Conflict, PathPoint, Track, TrafficCounters, TrafficPicture, TrafficReport, TrafficSettings,
    first_conflict, separation,
};
use dispatch_core::{Assignment, DroneId, IncidentId, LatLon, Timestamp};
use mavlink_link::link::Command;
use mavlink_link::mav::{MavCmd, MavFrame};
use mavlink_link::modes::FlightMode;
use mavlink_link::state::VehicleState;

use super::FleetCore;
use super::duty::{Pending, PendingKind, Phase};
use super::protocol::{Action, ActionId, ServiceError, Step};
use crate::events::{AirspaceStep, Severity, What};
use crate::mission;

/// What the fleet knows of manned traffic, and what it does about it.
#[derive(Debug, Clone)]
pub(super) struct TrafficState {
    pub settings: TrafficSettings,
    pub picture: TrafficPicture,
    /// Launches waiting for the airspace to clear, by drone.
    pub held: BTreeMap<DroneId, HeldLaunch>,
    /// Drones held in the air for traffic.
    pub avoiding: BTreeMap<DroneId, Avoidance>,
    /// (drone, aircraft) conflicts ahead already alerted.
    pub alerted: BTreeSet<(DroneId, u32)>,
    /// Scenario time of the last in-flight check (once a second).
    pub checked_at: Option<Timestamp>,
    /// The names of expired aircraft a hold still names (its release says who).
    pub names: BTreeMap<u32, String>,
    /// Drones whose vehicle accepted the resume, with the link time of its
    /// answer: the hold's mode stays tolerated until a heartbeat after it
    /// shows AUTO (a heartbeat sent before the switch may still arrive).
    pub resuming: BTreeMap<DroneId, f64>,
}

/// A launch held for traffic: the action, ready to go.
#[derive(Debug, Clone)]
pub(super) struct HeldLaunch {
    pub incident: IncidentId,
    pub action: ActionId,
    pub launch: Action,
    pub since: Timestamp,
    /// The sortie's plan, to re-time it from now.
    pub plan: SortiePath,
    /// The critical alert of a long hold was given.
    pub alerted: bool,
    /// The aircraft it waits for.
    pub aircraft: u32,
}

/// A sortie's planned path, untimed.
#[derive(Debug, Clone)]
pub(super) struct SortiePath {
    /// Seconds from the launch action to leaving the hangar (delay, climb).
    pub lead_s: f64,
    pub outbound: Vec<LatLon>,
    pub on_scene_s: f64,
    pub back: Vec<LatLon>,
    pub speed_mps: f64,
    pub alt_m: f64,
}

/// A drone held in the air for an aircraft.
#[derive(Debug, Clone, Copy)]
pub(super) struct Avoidance {
    pub aircraft: u32,
    pub since: Timestamp,
    /// Held at the safe height (not just in place).
    pub descended: bool,
}

/// The traffic picture as the API shows it.
#[derive(Debug, Clone)]
pub struct TrafficView {
    /// Scenario time the tracks are extrapolated to.
    pub now: Timestamp,
    pub tracks: Vec<(Track, Option<(LatLon, f64)>)>,
    pub counters: TrafficCounters,
    pub max_age_s: f64,
    /// Launches held: (drone, incident, since, aircraft).
    pub held: Vec<(DroneId, IncidentId, Timestamp, String)>,
    /// Drones held in the air: (drone, aircraft, descended).
    pub avoiding: Vec<(DroneId, String, bool)>,
}

impl TrafficState {
    pub(super) fn new(settings: TrafficSettings) -> TrafficState {
        TrafficState {
            picture: TrafficPicture::new(settings.max_age_s),
            settings,
            held: BTreeMap::new(),
            avoiding: BTreeMap::new(),
            alerted: BTreeSet::new(),
            checked_at: None,
            names: BTreeMap::new(),
            resuming: BTreeMap::new(),
        }
    }
}

impl SortiePath {
    /// The path if the launch action starts at `start`.
    fn timed(&self, start: Timestamp) -> Vec<PathPoint> {
        let mut out: Vec<PathPoint> = Vec::new();
        let mut t = start + ms(self.lead_s);
        let stops = self
            .outbound
            .iter()
            .map(|p| (*p, 0.0))
            .chain(self.outbound.last().map(|p| (*p, self.on_scene_s)))
            .chain(self.back.iter().skip(1).map(|p| (*p, 0.0)));
        for (p, wait_s) in stops {
            if let Some(q) = out.last() {
                t +=
                    ms(dispatch_core::geodesy::distance_m(q.position, p) / self.speed_mps + wait_s);
            }
            out.push(PathPoint {
                at: t,
                position: p,
                alt_m: self.alt_m,
            });
        }
        out
    }
}

fn ms(s: f64) -> TimeDelta {
    TimeDelta::milliseconds((s.max(0.0) * 1000.0) as i64)
}

fn secs(d: TimeDelta) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

impl FleetCore {
    /// A report of an aircraft (a vehicle's ADS-B, the SBS feed).
    pub(super) fn on_traffic(&mut self, report: TrafficReport) {
        if let Err(e) = self.traffic.picture.handle(self.now, report) {
            // Counted in the picture; one bad report is no alert.
            tracing::debug!("traffic report refused: {e}");
        }
    }

    /// A vehicle's ADSB_VEHICLE, as a traffic report.
    pub(super) fn on_adsb(&mut self, drone: Option<DroneId>, r: mavlink_link::adsb::AdsbReport) {
        let Some(drone) = drone else {
            return; // not a configured vehicle: not trusted
        };
        let mut t = TrafficReport::new(
            r.icao,
            dispatch_core::airspace::TrafficSource::Adsb(drone.0.clone()),
        );
        t.position = r.lat.zip(r.lon).map(|(lat, lon)| LatLon::new(lat, lon));
        t.alt_m = r.alt_m;
        t.track_deg = r.heading_deg.map(|h| h % 360.0);
        t.ground_speed_mps = r.ground_speed_mps;
        t.vertical_mps = r.vertical_mps;
        t.callsign = r.callsign;
        t.emitter = dispatch_core::airspace::Emitter::from_adsb(r.emitter_type);
        t.age_s = f64::from(r.tslc_s);
        self.on_traffic(t);
    }

    /// The traffic picture, for the API and the map.
    pub fn traffic_view(&self) -> TrafficView {
        let now = self.now;
        let name = |icao: u32| self.aircraft_name(icao);
        TrafficView {
            now,
            tracks: self
                .traffic
                .picture
                .tracks()
                .map(|t| (t.clone(), t.at(now)))
                .collect(),
            counters: self.traffic.picture.counters(),
            max_age_s: self.traffic.picture.max_age_s(),
            held: self
                .traffic
                .held
                .iter()
                .map(|(d, h)| (d.clone(), h.incident, h.since, name(h.aircraft)))
                .collect(),
            avoiding: self
                .traffic
                .avoiding
                .iter()
                .map(|(d, a)| (d.clone(), name(a.aircraft), a.descended))
                .collect(),
        }
    }

    /// The sortie's planned path, from its assignment.
    pub(super) fn sortie_path(&self, a: &Assignment, on_scene_s: f64, speed: f64) -> SortiePath {
        let params = self.dispatcher.world().params();
        let flight_s = a.route.length_m / speed;
        SortiePath {
            lead_s: (a.chosen.eta_s - flight_s).max(0.0),
            outbound: a.route.waypoints.clone(),
            on_scene_s,
            back: a.return_route.waypoints.clone(),
            speed_mps: speed,
            // The sortie's own layer (separation from our other sorties).
            alt_m: a.cruise_altitude_m(params.cruise_altitude_m)
                + self.traffic.settings.ground_elevation_m,
        }
    }

    /// The first conflict of a path with any track, within the horizon.
    fn conflict(&self, path: &[PathPoint], within_s: f64) -> Option<(u32, Conflict)> {
        let until = self.now + ms(within_s);
        self.traffic
            .picture
            .tracks()
            .filter_map(|t| {
                first_conflict(path, t, self.traffic.settings.thresholds, self.now, until)
                    .map(|c| (t.icao, c))
            })
            .min_by_key(|(_, c)| c.at)
    }

    fn aircraft_name(&self, icao: u32) -> String {
        match self.traffic.picture.track(icao) {
            Some(t) => t.name(),
            None => self
                .traffic
                .names
                .get(&icao)
                .cloned()
                .unwrap_or_else(|| dispatch_core::airspace::icao_hex(icao)),
        }
    }

    /// Whether a held launch or a held drone waits for this aircraft.
    fn waited_for(&self, icao: u32) -> bool {
        self.traffic.held.values().any(|h| h.aircraft == icao)
            || self.traffic.avoiding.values().any(|a| a.aircraft == icao)
    }

    /// Why a conflict matters, in words.
    fn describe(&self, icao: u32, c: &Conflict) -> String {
        format!(
            "{} at {:.0} m altitude, {:.0} m away horizontally and {:.0} m {} in {:.0} s",
            self.aircraft_name(icao),
            c.aircraft_alt_m,
            c.horizontal_m,
            c.vertical_m.abs(),
            if c.vertical_m >= 0.0 {
                "above"
            } else {
                "below"
            },
            secs(c.at - self.now).max(0.0)
        )
    }

    /// Sends a launch action, or holds it when its path conflicts with a
    /// track. Returns the action's id either way. A drone re-tasked in the
    /// air is not held on the ground's terms: the in-flight checks follow it.
    pub(super) fn launch_or_hold(
        &mut self,
        pending: Pending,
        launch: Action,
        incident: IncidentId,
        plan: SortiePath,
    ) -> ActionId {
        if matches!(launch, Action::Launch { airborne: true, .. }) {
            return self.new_action(pending, launch);
        }
        let path = plan.timed(self.now);
        let Some((icao, c)) = self.conflict(&path, self.traffic.settings.horizon_s) else {
            return self.new_action(pending, launch);
        };
        let drone = pending.drone.clone();
        let id = ActionId(self.next_action);
        self.next_action += 1;
        self.actions.insert(id, pending);
        let why = self.describe(icao, &c);
        self.airspace(
            Some(&drone),
            Some(incident),
            AirspaceStep::LaunchHeld,
            icao,
            format!(
                "launch held: its route conflicts with {why}; it launches by itself when clear"
            ),
        );
        self.traffic.held.insert(
            drone,
            HeldLaunch {
                incident,
                action: id,
                launch,
                since: self.now,
                plan,
                alerted: false,
                aircraft: icao,
            },
        );
        id
    }

    /// A launch no longer to be sent (called off, preempted): forgotten.
    pub(super) fn drop_held(&mut self, action: ActionId) {
        self.traffic.held.retain(|_, h| h.action != action);
    }

    /// Every tick: expired tracks go, held launches are re-checked, drones
    /// in the air are checked once a second.
    pub(super) fn traffic_tick(&mut self) {
        for t in self.traffic.picture.expire(self.now) {
            if self.waited_for(t.icao) {
                self.traffic.names.insert(t.icao, t.name());
            }
        }
        self.check_held();
        self.check_resumed();
        if self
            .traffic
            .checked_at
            .is_none_or(|t| secs(self.now - t) >= 1.0)
        {
            self.traffic.checked_at = Some(self.now);
            self.check_in_flight();
        }
        let names = std::mem::take(&mut self.traffic.names);
        self.traffic.names = names
            .into_iter()
            .filter(|(i, _)| self.waited_for(*i))
            .collect();
    }

    /// A resumed drone's hold mode is forgotten once a heartbeat after the
    /// answer shows AUTO, or 5 s of link time after it (then a vehicle still
    /// holding is the watchdog's: it did not go back to its mission).
    fn check_resumed(&mut self) {
        let now = self.link_time;
        let done: Vec<DroneId> = self
            .traffic
            .resuming
            .iter()
            .filter(|(d, at)| {
                now - **at > 5.0
                    || self.vehicle(d).is_none_or(|v| {
                        v.mode == FlightMode::Auto && v.last_heartbeat.is_some_and(|h| h > **at)
                    })
            })
            .map(|(d, _)| d.clone())
            .collect();
        for d in done {
            self.traffic.resuming.remove(&d);
            if let Some(s) = self.sortie_mut(&d) {
                s.operator_mode = None;
            }
        }
    }

    fn check_held(&mut self) {
        let drones: Vec<DroneId> = self.traffic.held.keys().cloned().collect();
        for d in drones {
            let Some(h) = self.traffic.held.get(&d).cloned() else {
                continue;
            };
            let still = self
                .sortie(&d)
                .is_some_and(|s| s.incident == h.incident && s.phase == Phase::Launching(h.action));
            if !still || !self.actions.contains_key(&h.action) {
                self.traffic.held.remove(&d);
                continue;
            }
            let path = h.plan.timed(self.now);
            match self.conflict(&path, self.traffic.settings.horizon_s) {
                None => {
                    let held_s = secs(self.now - h.since);
                    self.release(
                        &d,
                        AirspaceStep::LaunchReleased,
                        format!("route clear of traffic after {held_s:.0} s held: launching"),
                    );
                }
                Some((icao, c)) => {
                    let held_s = secs(self.now - h.since);
                    let life = self
                        .dispatcher
                        .incident(h.incident)
                        .and_then(|r| self.dispatcher.world().policy(r.incident.kind))
                        .is_some_and(|p| p.life_threatening);
                    if let Some(x) = self.traffic.held.get_mut(&d) {
                        x.aircraft = icao;
                    }
                    if life && !h.alerted && held_s >= self.traffic.settings.hold_alert_s {
                        if let Some(x) = self.traffic.held.get_mut(&d) {
                            x.alerted = true;
                        }
                        let why = self.describe(icao, &c);
                        self.alert(
                            Some(&d),
                            Severity::Critical,
                            format!(
                                "launch of {d} for life-threatening incident {} held {held_s:.0} s for traffic ({why}): launch anyway with POST /api/incidents/{}/launch-anyway if the airspace is known to be safe",
                                h.incident, h.incident.0
                            ),
                        );
                    }
                }
            }
        }
    }

    /// Sends a held launch now.
    fn release(&mut self, drone: &DroneId, step: AirspaceStep, note: String) -> Option<IncidentId> {
        let h = self.traffic.held.remove(drone)?;
        self.airspace(Some(drone), Some(h.incident), step, h.aircraft, note);
        self.out.push(super::Effect::Act {
            id: h.action,
            action: h.launch,
        });
        Some(h.incident)
    }

    /// A dispatcher's "launch anyway" for an incident whose launch is held.
    pub(super) fn launch_anyway(&mut self, incident: IncidentId) -> Result<(), ServiceError> {
        let Some(drone) = self
            .traffic
            .held
            .iter()
            .find(|(_, h)| h.incident == incident)
            .map(|(d, _)| d.clone())
        else {
            return Err(ServiceError::Conflict(format!(
                "incident {incident} has no launch held for traffic"
            )));
        };
        let since = self
            .traffic
            .held
            .get(&drone)
            .map(|h| h.since)
            .unwrap_or(self.now);
        self.release(
            &drone,
            AirspaceStep::LaunchedAnyway,
            format!(
                "launched anyway by a dispatcher after {:.0} s held for traffic",
                secs(self.now - since)
            ),
        );
        Ok(())
    }

    fn check_in_flight(&mut self) {
        let drones = self.sortie_drones();
        for d in drones {
            let Some(v) = self.vehicle(&d).cloned() else {
                continue;
            };
            let flying = self.sortie(&d).is_some_and(|s| s.phase == Phase::Flying)
                && v.armed
                && v.landed != Some(true)
                && v.rel_alt_m > 5.0;
            if !flying {
                self.traffic.avoiding.remove(&d);
                continue;
            }
            self.check_drone(&d, &v);
        }
        // Drones no longer on a sortie are not held for traffic by us.
        let on_sortie: BTreeSet<DroneId> = self.sortie_drones().into_iter().collect();
        self.traffic.avoiding.retain(|d, _| on_sortie.contains(d));
        let tracks: BTreeSet<u32> = self.traffic.picture.tracks().map(|t| t.icao).collect();
        self.traffic
            .alerted
            .retain(|(d, i)| on_sortie.contains(d) && tracks.contains(i));
    }

    /// The drone's path ahead: from where it is, along what is left of its
    /// mission, at cruise speed.
    pub(super) fn path_ahead(&self, d: &DroneId, v: &VehicleState) -> Vec<PathPoint> {
        let ground = self.traffic.settings.ground_elevation_m;
        let here = LatLon::new(v.lat, v.lon);
        let speed = self
            .dispatcher
            .world()
            .drone(d)
            .map_or(10.0, |d| d.performance.cruise_speed_mps)
            .max(1.0);
        let mut out = vec![PathPoint {
            at: self.now,
            position: here,
            alt_m: v.rel_alt_m + ground,
        }];
        let Some(s) = self.sortie(d) else {
            return out;
        };
        let mut t = self.now;
        let mut prev = here;
        for it in s.plan.items.iter().skip(usize::from(v.mission_seq)) {
            if it.x == 0 && it.y == 0 {
                continue;
            }
            let p = mission::item_position(it);
            t += ms(dispatch_core::geodesy::distance_m(prev, p) / speed);
            out.push(PathPoint {
                at: t,
                position: p,
                alt_m: f64::from(it.z) + ground,
            });
            prev = p;
        }
        out
    }

    fn check_drone(&mut self, d: &DroneId, v: &VehicleState) {
        let st = self.traffic.settings.clone();
        let here = LatLon::new(v.lat, v.lon);
        let alt = v.rel_alt_m + st.ground_elevation_m;
        let ahead = self.path_ahead(d, v);
        let conflict = self.conflict(&ahead, st.look_ahead_s);
        if let Some(a) = self.traffic.avoiding.get(d).copied() {
            let due = conflict.filter(|(_, c)| secs(c.at - self.now) <= st.hold_lead_s);
            match due {
                None => {
                    self.traffic.avoiding.remove(d);
                    let held_s = secs(self.now - a.since);
                    self.traffic_command(
                        d,
                        AirspaceStep::Resume,
                        a.aircraft,
                        format!("clear of traffic after {held_s:.0} s held: resuming the mission"),
                        vec![Step::Mode(FlightMode::Auto)],
                        None,
                    );
                }
                Some((icao, _)) => {
                    let above_close = self
                        .traffic
                        .picture
                        .track(icao)
                        .and_then(|t| separation(t, self.now, here, alt));
                    if !a.descended
                        && above_close
                            .is_some_and(|(h, dz)| dz > 0.0 && h < 2.0 * st.thresholds.horizontal_m)
                        && v.rel_alt_m > st.safe_alt_m + 5.0
                    {
                        self.descend(d, v, icao);
                    }
                }
            }
            return;
        }
        let Some((icao, c)) = conflict else {
            return;
        };
        let in_s = secs(c.at - self.now);
        // A drone a dispatcher holds or moves is theirs: traffic is an alert
        // (once), not a command that would later put it back in its mission.
        let operator = self
            .sortie(d)
            .is_some_and(|s| s.operator_mode.is_some() || s.pending_mode.is_some());
        if operator {
            if self.traffic.alerted.insert((d.clone(), icao)) {
                let why = self.describe(icao, &c);
                self.alert(
                    Some(d),
                    Severity::Warning,
                    format!("traffic near {d}, under a dispatcher's command: {why}"),
                );
            }
            return;
        }
        if in_s <= st.hold_lead_s {
            let why = self.describe(icao, &c);
            self.traffic.avoiding.insert(
                d.clone(),
                Avoidance {
                    aircraft: icao,
                    since: self.now,
                    descended: false,
                },
            );
            self.alert(
                Some(d),
                Severity::Warning,
                format!("traffic: {d} holds for {why}"),
            );
            if c.vertical_m > 0.0 && v.rel_alt_m > st.safe_alt_m + 5.0 {
                self.descend(d, v, icao);
            } else {
                self.traffic_command(
                    d,
                    AirspaceStep::Hold,
                    icao,
                    format!("holding position for {why}"),
                    vec![Step::Mode(FlightMode::Loiter)],
                    Some(FlightMode::Loiter),
                );
            }
        } else if self.traffic.alerted.insert((d.clone(), icao)) {
            let why = self.describe(icao, &c);
            self.alert(
                Some(d),
                Severity::Warning,
                format!("traffic ahead of {d}: {why}"),
            );
            self.airspace(
                Some(d),
                self.sortie(d).map(|s| s.incident),
                AirspaceStep::ConflictAhead,
                icao,
                format!("conflict ahead with {why}"),
            );
        }
    }

    /// Holds the drone where it is, at the safe height.
    fn descend(&mut self, d: &DroneId, v: &VehicleState, icao: u32) {
        let safe = self.traffic.settings.safe_alt_m;
        if let Some(a) = self.traffic.avoiding.get_mut(d) {
            a.descended = true;
        }
        let name = self.aircraft_name(icao);
        self.traffic_command(
            d,
            AirspaceStep::Descend,
            icao,
            format!("{name} above and close: holding position at {safe:.0} m"),
            vec![Step::Command(Command::Int {
                command: MavCmd::MAV_CMD_DO_REPOSITION,
                frame: MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT,
                // Ground speed: default; flag 1: switch to GUIDED.
                params: [-1.0, 1.0, 0.0, f32::NAN],
                x: (v.lat * 1e7).round() as i32,
                y: (v.lon * 1e7).round() as i32,
                z: safe as f32,
            })],
            Some(FlightMode::Guided),
        );
    }

    /// An event and a command to the drone for traffic; `mode` is what it
    /// leaves the vehicle in (None: back in the mission).
    fn traffic_command(
        &mut self,
        d: &DroneId,
        step: AirspaceStep,
        icao: u32,
        note: String,
        steps: Vec<Step>,
        mode: Option<FlightMode>,
    ) {
        let incident = self.sortie(d).map(|s| s.incident);
        self.airspace(Some(d), incident, step, icao, note);
        if let (Some(m), Some(s)) = (mode, self.sortie_mut(d)) {
            s.pending_mode = Some(m);
        }
        self.new_action(
            Pending {
                drone: d.clone(),
                what: PendingKind::Traffic { step, mode },
            },
            Action::Operator {
                drone: d.clone(),
                steps,
            },
        );
    }

    /// The vehicle answered a traffic command.
    pub(super) fn on_traffic_done(
        &mut self,
        d: &DroneId,
        step: AirspaceStep,
        mode: Option<FlightMode>,
        r: Result<(), mavlink_link::link::CommandError>,
    ) {
        let name = match step {
            AirspaceStep::Resume => "traffic_resume",
            AirspaceStep::Descend => "traffic_descend",
            _ => "traffic_hold",
        };
        let resumed = step == AirspaceStep::Resume && r.is_ok();
        if let Some(s) = self.sortie_mut(d) {
            s.pending_mode = None;
            // A resume's hold mode is forgotten by `check_resumed`.
            if r.is_ok() && !resumed {
                s.operator_mode = mode;
            }
        }
        if resumed {
            let at = self.link_time;
            self.traffic.resuming.insert(d.clone(), at);
        }
        match r {
            Ok(()) => self.command_event(d, name, true, "accepted by the vehicle".into()),
            Err(e) => {
                self.command_event(d, name, false, e.to_string());
                self.alert(
                    Some(d),
                    Severity::Critical,
                    format!("traffic: {d} did not carry out {name}: {e}"),
                );
            }
        }
    }

    fn airspace(
        &mut self,
        drone: Option<&DroneId>,
        incident: Option<IncidentId>,
        step: AirspaceStep,
        icao: u32,
        note: String,
    ) {
        let aircraft = self.aircraft_name(icao);
        self.event(What::Airspace {
            drone: drone.cloned(),
            incident,
            step,
            aircraft,
            note,
        });
    }
}

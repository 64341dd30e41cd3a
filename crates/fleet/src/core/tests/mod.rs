//! The fleet core in simulated time: no sockets, no sleeps. A [`Sim`] holds
//! the core, a clock and one [`VehicleState`] per configured drone, which
//! the tests move as a vehicle would report it; every effect is recorded.

mod camera;
mod contest;
mod flight;
mod homeward;
mod links;
mod requests;
mod startup;
mod traffic;
mod wind;

use std::collections::BTreeMap;

use chrono::TimeDelta;
use dispatch_core::model::{IncidentKind, LatLon};
use dispatch_core::{DroneId, DroneState, IncidentId, IncidentStatus, Scenario, Timestamp};
use mavlink_link::modes::FlightMode;
use mavlink_link::state::{LinkTimeouts, VehicleState};

use super::duty::Sortie;
use super::{
    Action, ActionId, ActionOutcome, Effect, FleetConfig, FleetCore, FleetInput, NewIncident,
    Reply, Request, RequestId,
};
use crate::events::{FleetEvent, Severity, What};

/// Laoyancang, in the river: the lifebuoy drones of Yanguan are nearest.
const IN_THE_RIVER: LatLon = LatLon {
    lat: 30.347,
    lon: 120.457,
};

fn scenario() -> Scenario {
    let p = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/haining.toml"
    ));
    dispatch_core::config::load(p).unwrap_or_else(|e| panic!("{e}"))
}

fn bore_day() -> Timestamp {
    "2026-09-28T05:00:00Z"
        .parse()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn drone(id: &str) -> DroneId {
    DroneId(id.into())
}

struct Sim {
    core: FleetCore,
    now: Timestamp,
    link_t: f64,
    vehicles: BTreeMap<u8, VehicleState>,
    /// Vehicles that send nothing (their link is down).
    silent: Vec<u8>,
    effects: Vec<Effect>,
    next_request: u64,
}

impl Sim {
    /// The Haining fleet, every vehicle heard docked in its hangar with a full battery.
    fn new() -> Sim {
        Sim::with(FleetConfig {
            start_time: bore_day(),
            ..FleetConfig::default()
        })
    }

    fn with(cfg: FleetConfig) -> Sim {
        let s = scenario();
        let mut vehicles = BTreeMap::new();
        for d in &s.drones {
            let hangar = s
                .hangars
                .iter()
                .find(|h| h.id == d.hangar)
                .map(|h| h.position)
                .unwrap_or(d.position);
            let mut v = VehicleState::new(d.system_id);
            v.lat = hangar.lat;
            v.lon = hangar.lon;
            v.battery_pct = Some(100.0);
            v.landed = Some(true);
            v.mode = FlightMode::Loiter;
            v.time_boot_ms = 10_000;
            v.last_heartbeat = Some(0.0);
            vehicles.insert(d.system_id, v);
        }
        let now = cfg.start_time;
        Sim {
            core: FleetCore::new(s, cfg),
            now,
            link_t: 0.0,
            vehicles,
            silent: Vec::new(),
            effects: Vec::new(),
            next_request: 0,
        }
    }

    fn telemetry(&self) -> super::Telemetry {
        super::Telemetry {
            link_time: self.link_t,
            timeouts: LinkTimeouts::default(),
            vehicles: self
                .vehicles
                .iter()
                .map(|(sysid, v)| (self.drone_of(*sysid), v.clone()))
                .collect(),
        }
    }

    fn step(&mut self, input: FleetInput) -> Vec<Effect> {
        let out = self.core.handle(self.now, input);
        // A step's effects: persist first, then the rest.
        let persist_at = out.iter().position(|e| matches!(e, Effect::Persist(_)));
        assert!(
            persist_at.is_none_or(|i| i == 0),
            "persist comes first: {out:?}"
        );
        self.effects.extend(out.iter().map(clone_effect));
        out
    }

    fn start(&mut self) {
        let telemetry = self.telemetry();
        self.step(FleetInput::StartUp {
            telemetry,
            waited_s: 0.0,
            listen: None,
        });
    }

    /// `s` seconds pass (scenario = wall = vehicle time here); vehicles not
    /// silent send a heartbeat; then a tick.
    fn advance(&mut self, s: f64) {
        let steps = (s / 0.5).ceil().max(1.0) as usize;
        for _ in 0..steps {
            let dt = s / steps as f64;
            self.now += TimeDelta::milliseconds((dt * 1000.0) as i64);
            self.link_t += dt;
            for (id, v) in &mut self.vehicles {
                if !self.silent.contains(id) {
                    v.last_heartbeat = Some(self.link_t);
                    v.time_boot_ms += (dt * 1000.0) as u32;
                }
            }
            let t = self.telemetry();
            self.step(FleetInput::Tick(t));
        }
    }

    fn drone_of(&self, sysid: u8) -> DroneId {
        self.core
            .scenario()
            .drones
            .iter()
            .find(|d| d.system_id == sysid)
            .map(|d| d.id.clone())
            .unwrap_or_else(|| panic!("no drone with system id {sysid}"))
    }

    fn vehicle(&mut self, sysid: u8) -> &mut VehicleState {
        self.vehicles
            .get_mut(&sysid)
            .unwrap_or_else(|| panic!("no vehicle {sysid}"))
    }

    fn request(&mut self, request: Request) -> (RequestId, Vec<Effect>) {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        (id, self.step(FleetInput::Request { id, request }))
    }

    fn reply(&mut self, request: Request) -> Reply {
        let (id, out) = self.request(request);
        out.into_iter()
            .find_map(|e| match e {
                Effect::Reply { to, reply } if to == id => Some(reply),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no reply"))
    }

    fn report(&mut self, kind: IncidentKind, at: LatLon) -> IncidentId {
        match self.reply(Request::Report(NewIncident {
            kind,
            position: at,
            note: None,
            source: None,
            external_id: None,
        })) {
            Reply::Report(Ok(r)) => r.incident.incident.id,
            r => panic!("{r:?}"),
        }
    }

    fn done(&mut self, action: ActionId, outcome: ActionOutcome) -> Vec<Effect> {
        self.step(FleetInput::Done { action, outcome })
    }

    /// The latest action of a drone's vehicle not yet answered.
    fn action(&self, sysid: u8, kind: &str) -> Option<(ActionId, Action)> {
        let drone = self.drone_of(sysid);
        self.effects.iter().rev().find_map(|e| match e {
            Effect::Act { id, action } if *drone_of(action) == drone && kind_of(action) == kind => {
                Some((*id, action.clone()))
            }
            _ => None,
        })
    }

    fn status(&self, id: IncidentId) -> IncidentStatus {
        self.core
            .dispatcher()
            .incident(id)
            .map(|r| r.incident.status)
            .unwrap_or_else(|| panic!("no incident {id}"))
    }

    fn serving(&self, id: IncidentId) -> Option<DroneId> {
        self.core
            .dispatcher()
            .incident(id)
            .and_then(|r| r.incident.drone.clone())
    }

    fn state(&self, d: &str) -> DroneState {
        self.core
            .dispatcher()
            .world()
            .drone(&drone(d))
            .map(|d| d.state)
            .unwrap_or_else(|| panic!("no drone {d}"))
    }

    fn sortie(&self, d: &str) -> Sortie {
        self.core
            .sortie(&drone(d))
            .cloned()
            .unwrap_or_else(|| panic!("{d} has no sortie: {:?}", self.core.duty(&drone(d))))
    }

    fn duty(&self, d: &str) -> &'static str {
        self.core.duty(&drone(d)).name()
    }

    fn events(&self) -> Vec<FleetEvent> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Publish(ev) => Some(ev.clone()),
                _ => None,
            })
            .collect()
    }

    /// Alerts so far whose message contains `text`.
    fn alerts(&self, text: &str) -> Vec<(Option<DroneId>, Severity, String)> {
        self.events()
            .into_iter()
            .filter_map(|e| match e.what {
                What::Alert {
                    drone,
                    severity,
                    message,
                } if message.contains(text) => Some((drone, severity, message)),
                _ => None,
            })
            .collect()
    }

    /// Every event published so far was also in a persisted batch.
    fn assert_all_persisted(&self) {
        let persisted: Vec<FleetEvent> = self
            .effects
            .iter()
            .filter_map(|e| match e {
                Effect::Persist(b) => Some(b.events.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(persisted, self.events());
    }

    /// A yg-1 rescue reported in the river, launched (outcome Ok) and
    /// taken off: the drone is in the air, in AUTO, on its way.
    fn rescue_in_the_air() -> (Sim, IncidentId) {
        let mut sim = Sim::new();
        sim.start();
        let id = sim.report(IncidentKind::PersonInWater, IN_THE_RIVER);
        assert_eq!(sim.serving(id), Some(drone("yg-1")));
        let (action, _) = sim
            .action(11, "launch")
            .unwrap_or_else(|| panic!("no launch"));
        sim.done(
            action,
            ActionOutcome::Launched(Ok("FS_GCS_ENABLE=4".into())),
        );
        let v = sim.vehicle(11);
        v.armed = true;
        v.landed = Some(false);
        v.rel_alt_m = 60.0;
        v.mode = FlightMode::Auto;
        v.mission_seq = 1;
        sim.advance(1.0);
        (sim, id)
    }

    /// Puts yg-1 over the scene with mission progress past its waypoint.
    fn over_the_scene(&mut self) {
        let s = self.sortie("yg-1");
        let scene = crate::mission::item_position(&s.plan.items[usize::from(s.plan.scene_arrival)]);
        let v = self.vehicle(11);
        v.lat = scene.lat;
        v.lon = scene.lon;
        v.mission_seq = s.plan.scene_arrival + 1;
        v.mission_reached = Some(s.plan.scene_arrival);
    }

    /// Puts yg-1 on its way home (past the return start).
    fn on_the_way_home(&mut self) {
        let s = self.sortie("yg-1");
        self.vehicle(11).mission_seq = s.plan.return_start;
        self.vehicle(11).mission_reached = Some(s.plan.return_start);
    }

    /// Puts yg-1 down, disarmed, where `at` is.
    fn down_at(&mut self, at: LatLon, battery: f64) {
        let v = self.vehicle(11);
        v.lat = at.lat;
        v.lon = at.lon;
        v.armed = false;
        v.landed = Some(true);
        v.rel_alt_m = 0.0;
        v.battery_pct = Some(battery);
    }

    fn hangar_of(&self, d: &str) -> LatLon {
        let w = self.core.dispatcher().world();
        let h = w
            .drone(&drone(d))
            .map(|d| d.hangar.clone())
            .unwrap_or_else(|| panic!("no drone {d}"));
        w.hangar(&h)
            .map(|h| h.position)
            .unwrap_or_else(|| panic!("no hangar"))
    }
}

fn drone_of(a: &Action) -> &DroneId {
    match a {
        Action::Launch { drone, .. }
        | Action::SendHome { drone, .. }
        | Action::Disarm { drone }
        | Action::Operator { drone, .. }
        | Action::Bind { drone, .. }
        | Action::AskCamera { drone } => drone,
    }
}

fn kind_of(a: &Action) -> &'static str {
    match a {
        Action::Launch { .. } => "launch",
        Action::SendHome { .. } => "home",
        Action::Disarm { .. } => "disarm",
        Action::Operator { .. } => "operator",
        Action::Bind { .. } => "bind",
        Action::AskCamera { .. } => "camera",
    }
}

fn clone_effect(e: &Effect) -> Effect {
    match e {
        Effect::Persist(b) => Effect::Persist(Box::new(crate::store::Batch {
            events: b.events.clone(),
            incidents: b.incidents.clone(),
            sorties: b.sorties.clone(),
            zones: b.zones.clone(),
            track: b.track.clone(),
            next_incident_id: b.next_incident_id,
        })),
        Effect::Publish(ev) => Effect::Publish(ev.clone()),
        Effect::Reply { to, reply } => Effect::Reply {
            to: *to,
            reply: reply.clone(),
        },
        Effect::Act { id, action } => Effect::Act {
            id: *id,
            action: action.clone(),
        },
        Effect::Abort(id) => Effect::Abort(*id),
        Effect::Stop => Effect::Stop,
    }
}

//! Manned traffic in simulated time: a launch held by an aircraft over its
//! route, released when clear (or when the track expires), the critical
//! alert of a long hold and a dispatcher's launch anyway; in flight, a
//! conflict ahead alerted, a hold in place or at the safe height, and the
//! resume.

use dispatch_core::airspace::{Emitter, TrafficReport, TrafficSource};
use mavlink_link::adsb::AdsbReport;
use mavlink_link::link::{Command, LinkEvent};
use mavlink_link::mav::MavCmd;

use super::*;
use crate::events::AirspaceStep;

const HELI: u32 = 0x780A3B;

/// A hovering helicopter at `at`, `alt_m` above sea level (= above home here).
fn heli(at: LatLon, alt_m: f64) -> FleetInput {
    FleetInput::Traffic(TrafficReport {
        callsign: Some("B7711".into()),
        position: Some(at),
        alt_m: Some(alt_m),
        track_deg: Some(0.0),
        ground_speed_mps: Some(0.0),
        vertical_mps: Some(0.0),
        emitter: Emitter::Rotorcraft,
        ..TrafficReport::new(HELI, TrafficSource::Sbs)
    })
}

/// Far from everything the Haining fleet flies.
const FAR: LatLon = LatLon {
    lat: 30.60,
    lon: 120.90,
};

fn cruise(sim: &Sim) -> f64 {
    sim.core.dispatcher().world().params().cruise_altitude_m
}

fn steps(sim: &Sim) -> Vec<AirspaceStep> {
    sim.events()
        .into_iter()
        .filter_map(|e| match e.what {
            What::Airspace { step, .. } => Some(step),
            _ => None,
        })
        .collect()
}

/// A rescue reported with a helicopter over yg-1's hangar at cruise height.
fn held_rescue() -> (Sim, IncidentId) {
    let mut sim = Sim::new();
    sim.start();
    let hangar = sim.hangar_of("yg-1");
    let alt = cruise(&sim);
    sim.step(heli(hangar, alt));
    let id = sim.report(IncidentKind::PersonInWater, IN_THE_RIVER);
    assert_eq!(sim.serving(id), Some(drone("yg-1")));
    assert_eq!(sim.duty("yg-1"), "launching");
    assert!(sim.action(11, "launch").is_none(), "the launch must wait");
    assert_eq!(steps(&sim), vec![AirspaceStep::LaunchHeld]);
    let note = sim
        .events()
        .into_iter()
        .find_map(|e| match e.what {
            What::Airspace { note, aircraft, .. } => Some((note, aircraft)),
            _ => None,
        })
        .unwrap_or_default();
    assert_eq!(note.1, "B7711");
    assert!(
        note.0.contains("B7711") && note.0.contains(" in "),
        "{}",
        note.0
    );
    (sim, id)
}

#[test]
fn a_launch_waits_for_an_aircraft_over_its_route_and_goes_when_it_has_left() {
    let (mut sim, id) = held_rescue();
    let hangar = sim.hangar_of("yg-1");
    let alt = cruise(&sim);
    for _ in 0..4 {
        sim.advance(2.5);
        sim.step(heli(hangar, alt));
    }
    assert!(sim.action(11, "launch").is_none());
    sim.step(heli(FAR, alt));
    sim.advance(0.5);
    let Some((action, Action::Launch { .. })) = sim.action(11, "launch") else {
        panic!("not released");
    };
    assert_eq!(
        steps(&sim),
        vec![AirspaceStep::LaunchHeld, AirspaceStep::LaunchReleased]
    );
    sim.done(
        action,
        ActionOutcome::Launched(Ok("FS_GCS_ENABLE=4".into())),
    );
    assert_eq!(sim.status(id), IncidentStatus::EnRoute);
    sim.assert_all_persisted();
}

#[test]
fn a_track_not_heard_for_its_age_no_longer_holds_a_launch() {
    let (mut sim, _) = held_rescue();
    sim.advance(19.0);
    assert!(sim.action(11, "launch").is_none());
    sim.advance(2.0);
    assert!(
        sim.action(11, "launch").is_some(),
        "released once the track expired"
    );
    // The release still names the aircraft, though its track is gone.
    let released: Vec<String> = sim
        .events()
        .into_iter()
        .filter_map(|e| match e.what {
            What::Airspace {
                step: AirspaceStep::LaunchReleased,
                aircraft,
                ..
            } => Some(aircraft),
            _ => None,
        })
        .collect();
    assert_eq!(released, vec!["B7711".to_owned()]);
    let Reply::Traffic(v) = sim.reply(Request::Traffic) else {
        panic!("no traffic reply");
    };
    assert!(v.tracks.is_empty() && v.held.is_empty());
    assert_eq!(v.counters.expired, 1);
}

#[test]
fn a_long_hold_of_a_rescue_is_critical_and_a_dispatcher_may_launch_anyway() {
    let (mut sim, id) = held_rescue();
    let hangar = sim.hangar_of("yg-1");
    let alt = cruise(&sim);
    for _ in 0..10 {
        sim.advance(5.0);
        sim.step(heli(hangar, alt));
    }
    assert!(
        sim.alerts("launch anyway").is_empty(),
        "alerted before hold_alert_s"
    );
    for _ in 0..3 {
        sim.advance(5.0);
        sim.step(heli(hangar, alt));
    }
    let alerts = sim.alerts("launch anyway");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].1, Severity::Critical);
    assert!(alerts[0].2.contains("B7711"));
    let Reply::Traffic(v) = sim.reply(Request::Traffic) else {
        panic!("no traffic reply");
    };
    assert_eq!(v.held.len(), 1);
    assert_eq!(v.held[0].1, id);
    assert!(sim.action(11, "launch").is_none());
    match sim.reply(Request::LaunchAnyway(id)) {
        Reply::Incident(Ok(view)) => assert_eq!(view.incident.id, id),
        r => panic!("{r:?}"),
    }
    assert!(sim.action(11, "launch").is_some());
    assert_eq!(steps(&sim).last(), Some(&AirspaceStep::LaunchedAnyway));
    // Nothing is held any more.
    match sim.reply(Request::LaunchAnyway(id)) {
        Reply::Incident(Err(crate::core::ServiceError::Conflict(m))) => {
            assert!(m.contains("no launch held"))
        }
        r => panic!("{r:?}"),
    }
    sim.assert_all_persisted();
}

#[test]
fn a_held_launch_called_off_is_never_sent() {
    let (mut sim, id) = held_rescue();
    match sim.reply(Request::Cancel {
        incident: id,
        reason: "false alarm".into(),
    }) {
        Reply::Incident(Ok(_)) => {}
        r => panic!("{r:?}"),
    }
    let alt = cruise(&sim);
    sim.step(heli(FAR, alt));
    sim.advance(2.0);
    assert!(sim.action(11, "launch").is_none());
    assert!(!steps(&sim).contains(&AirspaceStep::LaunchReleased));
}

#[test]
fn adsb_from_a_vehicle_and_the_sbs_feed_make_one_track() {
    let mut sim = Sim::new();
    sim.start();
    sim.step(heli(FAR, 500.0));
    sim.step(FleetInput::Link {
        drone: Some(drone("yg-2")),
        event: LinkEvent::Traffic {
            system_id: 12,
            report: AdsbReport {
                icao: HELI,
                lat: Some(FAR.lat),
                lon: Some(FAR.lon),
                alt_m: Some(510.0),
                heading_deg: Some(90.0),
                ground_speed_mps: Some(40.0),
                vertical_mps: None,
                callsign: None,
                emitter_type: 7,
                tslc_s: 0,
                squawk: None,
                simulated: false,
            },
        },
    });
    // ADS-B from a system id that is no configured drone is not trusted.
    sim.step(FleetInput::Link {
        drone: None,
        event: LinkEvent::Traffic {
            system_id: 99,
            report: AdsbReport {
                icao: 0x111111,
                lat: Some(FAR.lat),
                lon: Some(FAR.lon),
                alt_m: Some(510.0),
                heading_deg: None,
                ground_speed_mps: None,
                vertical_mps: None,
                callsign: None,
                emitter_type: 0,
                tslc_s: 0,
                squawk: None,
                simulated: false,
            },
        },
    });
    let Reply::Traffic(v) = sim.reply(Request::Traffic) else {
        panic!("no traffic reply");
    };
    assert_eq!(v.tracks.len(), 1);
    let t = &v.tracks[0].0;
    assert_eq!(
        (t.alt_m, t.ground_speed_mps, t.emitter),
        (Some(510.0), 40.0, Emitter::Rotorcraft)
    );
    assert_eq!(t.sources.len(), 2);
}

/// yg-1 in the air on its way, and the first leg ahead of it: (where it
/// is, the leg's far end, its length, its cruise speed).
fn flying() -> (Sim, LatLon, LatLon, f64, f64) {
    let (sim, _) = Sim::rescue_in_the_air();
    let v = sim.vehicles[&11].clone();
    let path = sim.core.path_ahead(&drone("yg-1"), &v);
    let (a, b) = (path[0].position, path[1].position);
    let len = dispatch_core::geodesy::distance_m(a, b);
    let speed = sim
        .core
        .dispatcher()
        .world()
        .drone(&drone("yg-1"))
        .map(|d| d.performance.cruise_speed_mps)
        .unwrap_or_else(|| panic!("no yg-1"));
    assert!(
        len > 300.0 + 40.0 * speed,
        "first leg too short for the test: {len} m"
    );
    (sim, a, b, len, speed)
}

/// The point `d` metres from `a` toward `b`.
fn along(a: LatLon, b: LatLon, len: f64, d: f64) -> LatLon {
    let f = d / len;
    LatLon::new(a.lat + (b.lat - a.lat) * f, a.lon + (b.lon - a.lon) * f)
}

/// The latest traffic command to yg-1 and its steps.
fn traffic_steps(sim: &Sim) -> (ActionId, Vec<crate::core::Step>) {
    match sim.action(11, "operator") {
        Some((id, Action::Operator { steps, .. })) => (id, steps),
        other => panic!("no command: {other:?}"),
    }
}

#[test]
fn in_flight_a_conflict_ahead_is_an_alert_then_a_hold_and_the_mission_resumes_when_clear() {
    let (mut sim, a, b, len, speed) = flying();
    let alt = sim.vehicles[&11].rel_alt_m;
    // 35 s ahead on the drone's leg, 50 m below it: an alert only.
    sim.step(heli(along(a, b, len, 300.0 + 35.0 * speed), alt - 50.0));
    sim.advance(1.0);
    assert_eq!(steps(&sim), vec![AirspaceStep::ConflictAhead]);
    assert_eq!(sim.alerts("traffic ahead of yg-1").len(), 1);
    assert!(sim.action(11, "operator").is_none());
    sim.advance(1.0);
    assert_eq!(steps(&sim).len(), 1, "alerted once");
    // 8 s ahead: hold in place (the aircraft is below: no descent).
    sim.step(heli(along(a, b, len, 300.0 + 8.0 * speed), alt - 50.0));
    sim.advance(1.0);
    assert_eq!(steps(&sim).last(), Some(&AirspaceStep::Hold));
    let (hold, s) = traffic_steps(&sim);
    assert_eq!(s, vec![crate::core::Step::Mode(FlightMode::Loiter)]);
    sim.done(hold, ActionOutcome::Commanded(Ok(())));
    sim.vehicle(11).mode = FlightMode::Loiter;
    sim.advance(5.0);
    // Held, not taken for a hijack or a stall, no second command.
    assert_eq!(traffic_steps(&sim).0, hold);
    assert!(sim.alerts("mode").is_empty(), "{:?}", sim.alerts("mode"));
    assert_eq!(sim.sortie("yg-1").operator_mode, Some(FlightMode::Loiter));
    // The aircraft leaves: back to the mission.
    sim.step(heli(FAR, alt));
    sim.advance(1.0);
    assert_eq!(steps(&sim).last(), Some(&AirspaceStep::Resume));
    let (resume, s) = traffic_steps(&sim);
    assert_eq!(s, vec![crate::core::Step::Mode(FlightMode::Auto)]);
    sim.done(resume, ActionOutcome::Commanded(Ok(())));
    // A heartbeat sent before the switch still says LOITER: not a hijack.
    sim.advance(1.0);
    assert!(
        sim.alerts("not commanded").is_empty(),
        "{:?}",
        sim.alerts("not commanded")
    );
    assert_eq!(sim.sortie("yg-1").operator_mode, Some(FlightMode::Loiter));
    sim.vehicle(11).mode = FlightMode::Auto;
    sim.advance(1.0);
    assert_eq!(sim.sortie("yg-1").operator_mode, None);
    sim.assert_all_persisted();
}

#[test]
fn in_flight_an_aircraft_above_and_close_sends_the_drone_down_to_the_safe_height() {
    let (mut sim, a, b, len, speed) = flying();
    let alt = sim.vehicles[&11].rel_alt_m;
    sim.step(heli(along(a, b, len, 300.0 + 8.0 * speed), alt + 50.0));
    sim.advance(1.0);
    assert_eq!(steps(&sim), vec![AirspaceStep::Descend]);
    let (down, s) = traffic_steps(&sim);
    let safe = sim.core.scenario().traffic.safe_alt_m;
    match s.as_slice() {
        [crate::core::Step::Command(Command::Int { command, z, x, .. })] => {
            assert_eq!(*command, MavCmd::MAV_CMD_DO_REPOSITION);
            assert_eq!(f64::from(*z), safe);
            assert_eq!(*x, (a.lat * 1e7).round() as i32, "held where it is");
        }
        other => panic!("{other:?}"),
    }
    sim.done(down, ActionOutcome::Commanded(Ok(())));
    sim.vehicle(11).mode = FlightMode::Guided;
    sim.vehicle(11).rel_alt_m = safe;
    sim.advance(3.0);
    assert_eq!(
        traffic_steps(&sim).0,
        down,
        "no second command while it stays"
    );
    sim.step(heli(FAR, alt));
    sim.advance(1.0);
    assert_eq!(steps(&sim).last(), Some(&AirspaceStep::Resume));
    let Reply::Traffic(v) = sim.reply(Request::Traffic) else {
        panic!("no traffic reply");
    };
    assert!(v.avoiding.is_empty());
}

#[test]
fn a_vehicle_that_refuses_a_traffic_hold_is_a_critical_alert() {
    let (mut sim, a, b, len, speed) = flying();
    let alt = sim.vehicles[&11].rel_alt_m;
    sim.step(heli(along(a, b, len, 300.0 + 8.0 * speed), alt - 50.0));
    sim.advance(1.0);
    let (hold, _) = traffic_steps(&sim);
    sim.done(
        hold,
        ActionOutcome::Commanded(Err(mavlink_link::link::CommandError::Timeout {
            system_id: 11,
            command: MavCmd::MAV_CMD_DO_SET_MODE,
            attempts: 3,
        })),
    );
    let alerts = sim.alerts("did not carry out traffic_hold");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].1, Severity::Critical);
}

#[test]
fn a_drone_a_dispatcher_holds_is_only_warned_of_traffic() {
    let (mut sim, a, b, len, speed) = flying();
    let alt = sim.vehicles[&11].rel_alt_m;
    let (_, out) = sim.request(Request::Command {
        drone: drone("yg-1"),
        command: crate::core::DroneCommand::Hold,
    });
    assert!(out.iter().any(|e| matches!(e, Effect::Act { .. })));
    sim.step(heli(along(a, b, len, 300.0 + 8.0 * speed), alt - 50.0));
    sim.advance(2.0);
    assert!(steps(&sim).is_empty(), "{:?}", steps(&sim));
    assert_eq!(sim.alerts("under a dispatcher's command").len(), 1);
}

//! Launch, arrival, payload, return and landing; the watchdog; the queue.

use std::time::Duration;

use chrono::TimeDelta;
use dispatch_core::Timestamp;

use super::*;

#[test]
fn a_report_launches_the_nearest_capable_drone_with_its_mission_and_fence() {
    let mut sim = Sim::new();
    sim.start();
    let id = sim.report(IncidentKind::PersonInWater, IN_THE_RIVER);
    assert_eq!(sim.status(id), IncidentStatus::Assigned);
    assert_eq!(sim.serving(id), Some(drone("yg-1")));
    assert_eq!(sim.duty("yg-1"), "launching");
    let Some((
        _,
        Action::Launch {
            mission,
            fence,
            delay,
            airborne,
            ..
        },
    )) = sim.action(11, "launch")
    else {
        panic!("no launch action");
    };
    assert!(!airborne);
    assert_eq!(mission.len(), sim.sortie("yg-1").plan.items.len());
    assert!(fence.len() >= 3, "{}", fence.len());
    // The hangar's delay, in wall time at speed-up 1.
    assert_eq!(delay, Duration::from_secs(20));
    sim.assert_all_persisted();
}

#[test]
fn the_hangar_delay_is_wall_time_at_the_speed_up() {
    let mut sim = Sim::with(FleetConfig {
        start_time: bore_day(),
        speedup: 10.0,
        ..FleetConfig::default()
    });
    sim.start();
    sim.report(IncidentKind::PersonInWater, IN_THE_RIVER);
    let Some((_, Action::Launch { delay, .. })) = sim.action(11, "launch") else {
        panic!("no launch");
    };
    assert_eq!(delay, Duration::from_secs(2));
}

#[test]
fn a_successful_launch_puts_the_incident_en_route() {
    let (sim, id) = Sim::rescue_in_the_air();
    assert_eq!(sim.status(id), IncidentStatus::EnRoute);
    assert_eq!(sim.duty("yg-1"), "flying");
    assert!(sim.events().iter().any(|e| matches!(&e.what,
        What::Drone { drone: d, note, .. } if d.0 == "yg-1" && note.contains("launched"))));
}

#[test]
fn a_failed_launch_is_maintenance_and_the_next_drone_takes_the_rescue() {
    let mut sim = Sim::new();
    sim.start();
    let id = sim.report(IncidentKind::PersonInWater, IN_THE_RIVER);
    let (action, _) = sim
        .action(11, "launch")
        .unwrap_or_else(|| panic!("no launch"));
    sim.done(action, ActionOutcome::Launched(Err("arm: denied".into())));
    assert_eq!(sim.state("yg-1"), DroneState::Maintenance);
    assert_eq!(sim.duty("yg-1"), "idle");
    let next = sim.serving(id).unwrap_or_else(|| panic!("not re-assigned"));
    assert_ne!(next, drone("yg-1"));
    assert_eq!(sim.status(id), IncidentStatus::Assigned);
    assert_eq!(sim.alerts("launch failed").len(), 1);
    sim.assert_all_persisted();
}

#[test]
fn a_launch_outcome_after_a_call_off_changes_nothing() {
    let mut sim = Sim::new();
    sim.start();
    let id = sim.report(IncidentKind::PersonInWater, IN_THE_RIVER);
    let (action, _) = sim
        .action(11, "launch")
        .unwrap_or_else(|| panic!("no launch"));
    sim.reply(Request::Cancel {
        incident: id,
        reason: "false alarm".into(),
    });
    let out = sim.done(action, ActionOutcome::Launched(Err("arm: denied".into())));
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(sim.state("yg-1"), DroneState::Docked);
}

#[test]
fn arrival_on_scene_holds_one_and_a_half_seconds_of_vehicle_time() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    sim.over_the_scene();
    sim.advance(1.0);
    assert_eq!(
        sim.status(id),
        IncidentStatus::EnRoute,
        "one second is not enough"
    );
    sim.advance(1.0);
    assert_eq!(sim.status(id), IncidentStatus::OnScene);
}

#[test]
fn arrival_is_timed_from_its_first_sign_since_the_assignment() {
    let (mut sim, _) = Sim::rescue_in_the_air();
    sim.over_the_scene();
    sim.advance(3.0);
    let a = &sim.core.arrivals;
    assert_eq!(a.len(), 1);
    // Assigned at boot 10 000 ms, one second to take off, seen over the scene after 1.5 s.
    assert!((a[0].actual_s - 1.5).abs() < 0.6, "{:?}", a[0]);
}

#[test]
fn mission_progress_far_from_the_scene_is_not_arrival() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    sim.over_the_scene();
    let far = sim.hangar_of("yg-1");
    sim.vehicle(11).lat = far.lat;
    sim.vehicle(11).lon = far.lon;
    sim.advance(5.0);
    assert_eq!(sim.status(id), IncidentStatus::EnRoute);
}

#[test]
fn evidence_that_breaks_off_starts_the_arrival_clock_again() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    let home = sim.hangar_of("yg-1");
    sim.over_the_scene();
    sim.advance(1.0);
    let scene = (sim.vehicle(11).lat, sim.vehicle(11).lon);
    sim.vehicle(11).lat = home.lat;
    sim.vehicle(11).lon = home.lon;
    sim.advance(0.5);
    sim.vehicle(11).lat = scene.0;
    sim.vehicle(11).lon = scene.1;
    sim.advance(1.0);
    assert_eq!(sim.status(id), IncidentStatus::EnRoute);
    sim.advance(1.0);
    assert_eq!(sim.status(id), IncidentStatus::OnScene);
}

#[test]
fn a_mission_item_beyond_the_mission_is_alerted_once_and_ignored() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    sim.vehicle(11).mission_seq = 250;
    sim.advance(3.0);
    assert_eq!(sim.alerts("implausible").len(), 1);
    assert_eq!(sim.status(id), IncidentStatus::EnRoute);
}

#[test]
fn the_payload_release_is_confirmed_from_mission_progress() {
    let (mut sim, _) = Sim::rescue_in_the_air();
    let release = sim
        .sortie("yg-1")
        .plan
        .payload_release
        .unwrap_or_else(|| panic!("a lifebuoy sortie has a release item"));
    sim.over_the_scene();
    sim.vehicle(11).mission_seq = release;
    sim.advance(2.0);
    assert!(
        !sim.sortie("yg-1").payload_confirmed,
        "not before the item is done"
    );
    sim.vehicle(11).mission_seq = release + 1;
    sim.advance(0.5);
    assert!(sim.sortie("yg-1").payload_confirmed);
    let notes: Vec<String> = sim
        .events()
        .into_iter()
        .filter_map(|e| match e.what {
            What::Drone { note, .. } if note.contains("payload released") => Some(note),
            _ => None,
        })
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
}

#[test]
fn past_the_return_start_the_incident_is_returning() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    sim.over_the_scene();
    sim.advance(2.0);
    sim.on_the_way_home();
    sim.advance(0.5);
    assert_eq!(sim.status(id), IncidentStatus::Returning);
    assert_eq!(sim.state("yg-1"), DroneState::Returning);
}

fn landed_home(battery: f64) -> (Sim, IncidentId) {
    let (mut sim, id) = Sim::rescue_in_the_air();
    sim.over_the_scene();
    sim.advance(2.0);
    sim.on_the_way_home();
    sim.advance(0.5);
    let home = sim.hangar_of("yg-1");
    sim.down_at(home, battery);
    (sim, id)
}

#[test]
fn landing_in_its_hangar_resolves_the_rescue_and_the_drone_charges() {
    let (mut sim, id) = landed_home(40.0);
    sim.advance(1.0);
    assert_eq!(
        sim.status(id),
        IncidentStatus::Returning,
        "landing must hold 1.5 s"
    );
    sim.advance(1.0);
    assert_eq!(sim.status(id), IncidentStatus::Resolved);
    assert_eq!(sim.state("yg-1"), DroneState::Charging);
    assert_eq!(sim.duty("yg-1"), "charging");
    sim.vehicle(11).battery_pct = Some(96.0);
    sim.advance(0.5);
    assert_eq!(sim.state("yg-1"), DroneState::Docked);
    assert_eq!(sim.duty("yg-1"), "idle");
    assert!(sim.core.done() || !sim.core.watched.contains(&id));
}

#[test]
fn landing_away_from_the_hangar_needs_recovery() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    let field = LatLon::new(30.40, 120.60);
    sim.down_at(field, 50.0);
    sim.advance(2.0);
    assert_eq!(sim.state("yg-1"), DroneState::Maintenance);
    assert_eq!(sim.alerts("needs recovery").len(), 1);
    // Landed before finishing: another drone goes.
    assert_eq!(sim.status(id), IncidentStatus::Assigned);
    assert_ne!(sim.serving(id), Some(drone("yg-1")));
}

#[test]
fn a_vehicle_switched_to_a_mode_nobody_commanded_is_sent_home_and_replaced() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    sim.vehicle(11).mode = FlightMode::Loiter;
    sim.advance(0.5);
    let alerts = sim.alerts("not commanded by the dispatcher");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].1, Severity::Critical);
    assert_eq!(sim.duty("yg-1"), "homing");
    let Some((_, Action::SendHome { return_start, .. })) = sim.action(11, "home") else {
        panic!("not sent home");
    };
    assert!(return_start.is_some());
    assert_ne!(sim.serving(id), Some(drone("yg-1")));
    sim.assert_all_persisted();
}

#[test]
fn a_failsafe_rtl_hands_the_rescue_over_without_a_command() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    sim.vehicle(11).mode = FlightMode::Rtl;
    sim.advance(0.5);
    assert_eq!(sim.alerts("turned back in RTL").len(), 1);
    assert!(sim.action(11, "home").is_none());
    assert_eq!(sim.duty("yg-1"), "homing");
    assert_ne!(sim.serving(id), Some(drone("yg-1")));
}

#[test]
fn a_disarm_in_the_air_is_a_fall_and_the_rescue_goes_on() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    let v = sim.vehicle(11);
    v.armed = false;
    v.disarmed_at_alt_m = Some(55.0);
    sim.advance(0.5);
    assert_eq!(sim.alerts("disarmed in the air").len(), 1);
    assert_eq!(sim.state("yg-1"), DroneState::Maintenance);
    assert_ne!(sim.serving(id), Some(drone("yg-1")));
    assert_eq!(sim.status(id), IncidentStatus::Assigned);
}

#[test]
fn no_progress_toward_the_mission_item_is_a_stall() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    // Hovering short of the first waypoint of the way out.
    let leg = sim
        .sortie("yg-1")
        .plan
        .items
        .iter()
        .position(|i| i.command == mavlink_link::mav::MavCmd::MAV_CMD_NAV_WAYPOINT)
        .unwrap_or_else(|| panic!("no waypoint"));
    sim.vehicle(11).mission_seq = leg as u16;
    sim.advance(30.0);
    assert!(sim.alerts("no progress").is_empty());
    sim.advance(40.0);
    assert_eq!(sim.alerts("no progress").len(), 1);
    assert_ne!(sim.serving(id), Some(drone("yg-1")));
    assert!(sim.action(11, "home").is_some());
}

#[test]
fn progress_resets_the_stall_clock() {
    let (mut sim, _) = Sim::rescue_in_the_air();
    let (leg, target) = {
        let s = sim.sortie("yg-1");
        let leg = s
            .plan
            .items
            .iter()
            .position(|i| i.command == mavlink_link::mav::MavCmd::MAV_CMD_NAV_WAYPOINT)
            .unwrap_or_else(|| panic!("no waypoint"));
        (leg, crate::mission::item_position(&s.plan.items[leg]))
    };
    sim.vehicle(11).mission_seq = leg as u16;
    for i in 0..8 {
        // Closing in from 1 km south of it, 100 m every 10 s.
        let south_m = 1000.0 - 100.0 * f64::from(i);
        sim.vehicle(11).lat = target.lat - south_m / 111_320.0;
        sim.vehicle(11).lon = target.lon;
        sim.advance(10.0);
    }
    assert!(sim.alerts("no progress").is_empty());
}

#[test]
fn low_battery_before_the_scene_sends_the_drone_home_and_the_next_one_goes() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    sim.vehicle(11).battery_pct = Some(20.0);
    sim.advance(0.5);
    assert_eq!(sim.alerts("low battery").len(), 1);
    assert_eq!(sim.duty("yg-1"), "homing");
    assert_ne!(sim.serving(id), Some(drone("yg-1")));
}

#[test]
fn a_queued_incident_is_served_when_a_drone_frees_up() {
    let mut sim = Sim::new();
    sim.start();
    // Every lifebuoy drone but yg-1 out of service.
    for d in sim.core.scenario().drones.clone() {
        if d.id.0 != "yg-1" && d.capabilities.contains(dispatch_core::Capability::Lifebuoy) {
            sim.reply(Request::Feed(dispatch_core::Input::DroneUpdate {
                drone: d.id.clone(),
                state: DroneState::Maintenance,
                position: d.position,
                battery_pct: 100.0,
            }));
        }
    }
    let first = sim.report(IncidentKind::PersonInWater, IN_THE_RIVER);
    let second = sim.report(IncidentKind::PersonInWater, LatLon::new(30.349, 120.46));
    assert_eq!(sim.serving(first), Some(drone("yg-1")));
    assert_eq!(sim.status(second), IncidentStatus::Queued);
    // yg-1's launch fails for good: the queue is served by nobody; then it is repaired.
    let (action, _) = sim
        .action(11, "launch")
        .unwrap_or_else(|| panic!("no launch"));
    sim.done(action, ActionOutcome::Launched(Err("arm: denied".into())));
    assert_eq!(sim.status(first), IncidentStatus::Queued);
    let yg1 = sim.hangar_of("yg-1");
    sim.reply(Request::Feed(dispatch_core::Input::DroneUpdate {
        drone: drone("yg-1"),
        state: DroneState::Docked,
        position: yg1,
        battery_pct: 100.0,
    }));
    // The queue is served in order: the first report first.
    assert_eq!(sim.serving(first), Some(drone("yg-1")));
    assert_eq!(sim.status(second), IncidentStatus::Queued);
}

#[test]
fn every_step_persists_only_the_incidents_it_changed() {
    let mut sim = Sim::new();
    sim.start();
    let a = sim.report(IncidentKind::PersonInWater, IN_THE_RIVER);
    let before = sim.effects.len();
    sim.advance(0.5);
    let touched: Vec<IncidentId> = sim.effects[before..]
        .iter()
        .filter_map(|e| match e {
            Effect::Persist(b) => Some(
                b.incidents
                    .iter()
                    .map(|(r, _)| r.incident.id)
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(touched.is_empty(), "a quiet tick rewrote {touched:?}");
    let (_, out) = sim.request(Request::Cancel {
        incident: a,
        reason: "duplicate".into(),
    });
    let Some(Effect::Persist(b)) = out.first() else {
        panic!("the change is persisted first: {out:?}");
    };
    assert_eq!(b.incidents.len(), 1);
    assert_eq!(b.incidents[0].0.incident.status, IncidentStatus::Cancelled);
    // The reply comes after the persist, in the same step.
    assert!(
        matches!(out.last(), Some(Effect::Reply { .. }))
            || out.iter().any(|e| matches!(e, Effect::Reply { .. }))
    );
}

fn eta(sim: &Sim, id: IncidentId) -> Timestamp {
    sim.core
        .dispatcher()
        .incident(id)
        .and_then(|r| r.eta())
        .unwrap_or_else(|| panic!("no ETA"))
}

#[test]
fn a_late_take_off_moves_the_eta() {
    let mut sim = Sim::new();
    sim.start();
    let id = sim.report(IncidentKind::PersonInWater, IN_THE_RIVER);
    let planned = eta(&sim, id);
    let predicted = sim.sortie("yg-1").predicted_eta_s;
    let (action, _) = sim
        .action(11, "launch")
        .unwrap_or_else(|| panic!("no launch"));
    // The hangar's 20 s became 80 s (a lossy link, a slow upload).
    sim.advance(80.0);
    let took_off = sim.now;
    sim.done(action, ActionOutcome::Launched(Ok("ok".into())));
    let now = eta(&sim, id);
    let expected = took_off + TimeDelta::milliseconds(((predicted - 20.0) * 1000.0) as i64);
    assert!(
        (now - expected).num_seconds().abs() <= 1,
        "{now} vs {expected}"
    );
    assert!(
        (now - planned).num_seconds() >= 59,
        "{now} vs planned {planned}"
    );
    assert!(sim.events().iter().any(|e| matches!(&e.what,
        What::Eta { note, .. } if note.contains("re-estimated at take-off"))));
}

#[test]
fn the_eta_follows_the_drone_along_its_route() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    let first = eta(&sim, id);
    // It hovers over its hangar for 40 s: the scene is as far as it was.
    sim.advance(40.0);
    let later = eta(&sim, id);
    // (Moved in steps of at least 15 s: small changes are not news.)
    assert!((later - first).num_seconds() >= 15, "{first} -> {later}");
    // Then it is over the scene's approach: the ETA comes in.
    let s = sim.sortie("yg-1");
    let scene = crate::mission::item_position(&s.plan.items[usize::from(s.plan.scene_arrival)]);
    let v = sim.vehicle(11);
    v.lat = scene.lat + 0.01;
    v.lon = scene.lon;
    v.mission_seq = s.plan.scene_arrival;
    sim.advance(11.0);
    let near = eta(&sim, id);
    let left = (near - sim.now).num_seconds();
    assert!((50..=110).contains(&left), "{left} s left for about 1.1 km");
    assert!(sim.events().iter().any(|e| matches!(&e.what,
        What::Eta { note, .. } if note.contains("from the drone's progress"))));
}

//! Start-up: each vehicle's real state, and sorties taken back from the log.

use super::*;
use crate::store::{Recovered, StoredSortie};

#[test]
fn a_vehicle_in_the_air_at_start_up_is_adopted_and_followed_home() {
    let mut sim = Sim::new();
    let v = sim.vehicle(11);
    v.armed = true;
    v.landed = Some(false);
    v.rel_alt_m = 40.0;
    v.mode = FlightMode::Rtl;
    sim.start();
    assert_eq!(sim.duty("yg-1"), "homing");
    assert_eq!(sim.state("yg-1"), DroneState::Returning);
    assert!(
        sim.action(11, "home").is_none(),
        "RTL flies it home already"
    );
    assert_eq!(sim.alerts("in the air at start-up").len(), 1);
    let home = sim.hangar_of("yg-1");
    sim.down_at(home, 50.0);
    sim.advance(0.5);
    assert_eq!(sim.state("yg-1"), DroneState::Charging);
}

#[test]
fn a_vehicle_hovering_at_start_up_is_sent_home() {
    let mut sim = Sim::new();
    let v = sim.vehicle(11);
    v.armed = true;
    v.landed = Some(false);
    v.rel_alt_m = 40.0;
    v.mode = FlightMode::Loiter;
    sim.start();
    let Some((_, Action::SendHome { return_start, .. })) = sim.action(11, "home") else {
        panic!("not sent home");
    };
    assert_eq!(return_start, None);
}

#[test]
fn a_vehicle_on_the_ground_away_from_its_hangar_needs_recovery() {
    let mut sim = Sim::new();
    sim.vehicle(11).lat += 0.01;
    sim.start();
    assert_eq!(sim.state("yg-1"), DroneState::Maintenance);
    assert_eq!(sim.alerts("needs recovery").len(), 1);
}

#[test]
fn a_vehicle_not_heard_at_start_up_is_lost_until_it_is() {
    let mut sim = Sim::new();
    sim.vehicle(11).last_heartbeat = None;
    sim.start();
    assert_eq!(sim.state("yg-1"), DroneState::Lost);
}

#[test]
fn a_low_battery_at_start_up_charges() {
    let mut sim = Sim::new();
    sim.vehicle(11).battery_pct = Some(50.0);
    sim.start();
    assert_eq!(sim.state("yg-1"), DroneState::Charging);
    assert_eq!(sim.duty("yg-1"), "charging");
}

#[test]
fn a_sortie_in_the_log_is_taken_back_when_its_drone_is_heard_in_the_air() {
    // The first life: a rescue flown by yg-1, then the service is gone.
    let (first, id) = Sim::rescue_in_the_air();
    let record = first
        .core
        .dispatcher()
        .incident(id)
        .cloned()
        .unwrap_or_else(|| panic!("no record"));
    let s = first.sortie("yg-1");
    let stored = StoredSortie {
        drone: drone("yg-1"),
        incident: id,
        system_id: 11,
        airborne_at_launch: false,
        predicted_eta_s: s.predicted_eta_s,
        on_scene_s: s.on_scene_s,
        start_boot_ms: s.start_boot_ms,
        payload_confirmed: false,
    };
    // The second life: the log's incident and sortie, the vehicle in the air.
    let mut sim = Sim::new();
    let effects = sim.core.recover(
        sim.now,
        Recovered {
            incidents: vec![(record, Default::default())],
            sorties: vec![stored],
            zones: vec![],
            next_incident_id: 2,
            last_event_at: None,
        },
    );
    assert!(effects.iter().any(|e| matches!(e, Effect::Publish(ev)
        if matches!(&ev.what, What::Notice { message } if message.contains("1 sortie(s) to follow")))));
    let v = sim.vehicle(11);
    v.armed = true;
    v.landed = Some(false);
    v.rel_alt_m = 60.0;
    v.mode = FlightMode::Auto;
    v.mission_seq = 2;
    sim.start();
    assert_eq!(sim.duty("yg-1"), "flying");
    assert_eq!(sim.status(id), IncidentStatus::EnRoute);
    assert!(sim.action(11, "launch").is_none(), "never launched twice");
    // Followed to the end as before.
    sim.over_the_scene();
    sim.advance(2.0);
    assert_eq!(sim.status(id), IncidentStatus::OnScene);
}

#[test]
fn a_sortie_in_the_log_whose_drone_is_home_is_resolved_if_it_was_returning() {
    let (mut first, id) = Sim::rescue_in_the_air();
    first.over_the_scene();
    first.advance(2.0);
    first.on_the_way_home();
    first.advance(0.5);
    let record = first
        .core
        .dispatcher()
        .incident(id)
        .cloned()
        .unwrap_or_else(|| panic!("no record"));
    assert_eq!(record.incident.status, IncidentStatus::Returning);
    let mut sim = Sim::new();
    sim.core.recover(
        sim.now,
        Recovered {
            incidents: vec![(record, Default::default())],
            sorties: vec![StoredSortie {
                drone: drone("yg-1"),
                incident: id,
                system_id: 11,
                airborne_at_launch: false,
                predicted_eta_s: 700.0,
                on_scene_s: 60.0,
                start_boot_ms: None,
                payload_confirmed: true,
            }],
            zones: vec![],
            next_incident_id: 2,
            last_event_at: None,
        },
    );
    sim.start();
    assert_eq!(sim.status(id), IncidentStatus::Resolved);
}

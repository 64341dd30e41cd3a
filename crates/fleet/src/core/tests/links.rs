//! Link loss, level-triggered from telemetry; vehicle texts and spoofing alerts.

use mavlink_link::link::LinkEvent;

use super::*;

#[test]
fn a_lost_link_hands_the_rescue_over_after_reassign_after_with_no_link_event() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    sim.silent.push(11);
    // No LinkEvent at all: only the telemetry's last heartbeat says lost
    // (after 3 s), and 10 s after that the rescue goes to another drone.
    sim.advance(8.0);
    assert_eq!(
        sim.serving(id),
        Some(drone("yg-1")),
        "still within reassign_after"
    );
    sim.advance(6.0);
    assert_ne!(sim.serving(id), Some(drone("yg-1")));
    assert_eq!(sim.state("yg-1"), DroneState::Lost);
    assert_eq!(sim.duty("yg-1"), "homing");
    assert!(sim.events().iter().any(|e| matches!(&e.what,
        What::Link { drone: d, status } if d.0 == "yg-1" && status == "lost")));
}

#[test]
fn a_stale_link_up_event_does_not_hide_a_lost_link() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    sim.silent.push(11);
    sim.advance(5.0);
    // An old event from the broadcast, out of date: ignored for health.
    sim.step(FleetInput::Link {
        drone: Some(drone("yg-1")),
        event: LinkEvent::LinkStatus {
            system_id: 11,
            status: mavlink_link::state::LinkStatus::Up,
        },
    });
    sim.advance(10.0);
    assert_ne!(sim.serving(id), Some(drone("yg-1")));
}

#[test]
fn a_short_outage_keeps_the_sortie() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    sim.silent.push(11);
    sim.advance(6.0);
    sim.silent.clear();
    sim.advance(20.0);
    assert_eq!(sim.serving(id), Some(drone("yg-1")));
    assert_eq!(sim.duty("yg-1"), "flying");
}

#[test]
fn a_lost_drone_heard_again_before_its_way_home_is_sent_along_it() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    let return_start = sim.sortie("yg-1").plan.return_start;
    sim.silent.push(11);
    sim.advance(14.0);
    assert_ne!(sim.serving(id), Some(drone("yg-1")));
    sim.silent.clear();
    sim.advance(0.5);
    let Some((
        _,
        Action::SendHome {
            return_start: r, ..
        },
    )) = sim.action(11, "home")
    else {
        panic!("not sent home");
    };
    assert_eq!(r, Some(return_start));
    assert_eq!(sim.state("yg-1"), DroneState::Returning);
}

#[test]
fn a_lost_drone_heard_again_on_its_way_home_is_only_followed() {
    let (mut sim, _) = Sim::rescue_in_the_air();
    sim.on_the_way_home();
    sim.silent.push(11);
    sim.advance(14.0);
    sim.silent.clear();
    sim.advance(0.5);
    assert!(sim.action(11, "home").is_none());
    assert!(sim.events().iter().any(|e| matches!(&e.what,
        What::Drone { note, .. } if note.contains("heard again, flying home"))));
}

#[test]
fn an_idle_drone_whose_link_is_lost_is_not_dispatchable_until_heard() {
    let mut sim = Sim::new();
    sim.start();
    sim.silent.push(11);
    sim.advance(4.0);
    assert_eq!(sim.state("yg-1"), DroneState::Lost);
    let id = sim.report(IncidentKind::PersonInWater, IN_THE_RIVER);
    assert_ne!(sim.serving(id), Some(drone("yg-1")));
}

#[test]
fn warnings_from_a_vehicle_are_alerts_and_information_is_not() {
    let (mut sim, _) = Sim::rescue_in_the_air();
    sim.step(FleetInput::Link {
        drone: Some(drone("yg-1")),
        event: LinkEvent::StatusText {
            system_id: 11,
            severity: 6,
            text: "Mode AUTO".into(),
        },
    });
    sim.step(FleetInput::Link {
        drone: Some(drone("yg-1")),
        event: LinkEvent::StatusText {
            system_id: 11,
            severity: 4,
            text: "Battery low".into(),
        },
    });
    assert!(sim.alerts("Mode AUTO").is_empty());
    assert_eq!(sim.alerts("Battery low").len(), 1);
    let texts: Vec<String> = sim
        .events()
        .into_iter()
        .filter_map(|e| match e.what {
            What::Vehicle { text, .. } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["Mode AUTO", "Battery low"]);
}

#[test]
fn frames_from_a_second_address_are_a_critical_alert() {
    let mut sim = Sim::new();
    sim.start();
    sim.step(FleetInput::Link {
        drone: Some(drone("yg-1")),
        event: LinkEvent::ForeignAddress {
            system_id: 11,
            from: "127.0.0.1:9".parse().unwrap_or_else(|e| panic!("{e}")),
            bound_to: "127.0.0.1:14555".parse().unwrap_or_else(|e| panic!("{e}")),
            count: 3,
        },
    });
    let a = sim.alerts("claiming to be drone yg-1");
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].1, Severity::Critical);
    sim.assert_all_persisted();
}

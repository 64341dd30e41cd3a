//! A sortie cut short: its way home is planned again and kept as its path,
//! and a hold before it (for separation) is flown and then ended.

use dispatch_core::IncidentStatus;
use mavlink_link::modes::FlightMode;

use super::super::protocol::{Action, ActionOutcome, Request, Step};
use super::*;

#[test]
fn a_call_off_plans_the_way_home_from_where_the_drone_is() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    let here = LatLon::new(30.392, 120.526);
    let v = sim.vehicle(11);
    v.lat = here.lat;
    v.lon = here.lon;
    v.fix_boot_ms = Some(v.time_boot_ms);
    sim.advance(1.0);
    let planned_end = sim
        .core
        .dispatcher()
        .flights()
        .get(&drone("yg-1"))
        .and_then(|f| f.end());
    sim.reply(Request::Cancel {
        incident: id,
        reason: "found on the bank".into(),
    });
    assert_eq!(sim.status(id), IncidentStatus::Cancelled);
    // Nothing in the way: home at once.
    assert!(sim.action(11, "home").is_some());
    let homeward = sim.events().into_iter().find_map(|e| match e.what {
        What::Dispatch {
            output:
                dispatch_core::Output::Homeward {
                    hold_s, conflict, ..
                },
        } => Some((hold_s, conflict)),
        _ => None,
    });
    assert_eq!(homeward, Some((0.0, false)));
    // The path others are separated from is the way home from here.
    let f = sim
        .core
        .dispatcher()
        .flights()
        .get(&drone("yg-1"))
        .cloned()
        .unwrap_or_else(|| panic!("no path kept"));
    assert!(dispatch_core::geodesy::distance_m(f.points[0].position, here) < 1.0);
    assert!(
        f.end() < planned_end,
        "{:?} against {planned_end:?}",
        f.end()
    );
}

/// yg-1 in the air, its sortie over, told to hold 45 s before its way home:
/// the sim, the way home's first item, and the hold's action.
fn held_on_its_way_home() -> (Sim, u16, super::super::protocol::ActionId, Action) {
    let (mut sim, _) = Sim::rescue_in_the_air();
    let return_start = sim.sortie("yg-1").plan.return_start;
    sim.core.take_sortie(&drone("yg-1"));
    sim.core.set_duty(
        &drone("yg-1"),
        super::super::duty::Duty::Homing(super::super::duty::Homing { recall: None }),
    );
    sim.core
        .hold_before_home(&drone("yg-1"), Some(return_start), 45.0);
    sim.advance(0.5); // the step that carries the command out
    let (hold, action) = sim
        .action(11, "operator")
        .unwrap_or_else(|| panic!("no hold"));
    (sim, return_start, hold, action)
}

#[test]
fn a_hold_before_the_way_home_is_flown_then_ended() {
    let (mut sim, return_start, hold, action) = held_on_its_way_home();
    assert!(
        matches!(&action, Action::Operator { steps, .. } if steps[..] == [Step::Mode(FlightMode::Loiter)]),
        "{action:?}"
    );
    sim.done(hold, ActionOutcome::Commanded(Ok(())));
    sim.advance(30.0);
    assert!(
        sim.action(11, "home").is_none(),
        "sent home during the hold"
    );
    sim.advance(20.0);
    let Some((
        _,
        Action::SendHome {
            return_start: r, ..
        },
    )) = sim.action(11, "home")
    else {
        panic!("not sent home after the hold");
    };
    assert_eq!(r, Some(return_start));
}

#[test]
fn a_refused_hold_sends_the_drone_home_at_once() {
    let (mut sim, _, hold, _) = held_on_its_way_home();
    sim.done(
        hold,
        ActionOutcome::Commanded(Err(mavlink_link::link::CommandError::Closed)),
    );
    assert!(sim.action(11, "home").is_some(), "not sent home");
    assert_eq!(sim.alerts("did not hold before its way home").len(), 1);
}

#[test]
fn an_operators_command_during_the_hold_is_not_undone_by_its_end() {
    let (mut sim, _, hold, _) = held_on_its_way_home();
    sim.done(hold, ActionOutcome::Commanded(Ok(())));
    let (_, _) = sim.request(Request::Command {
        drone: drone("yg-1"),
        command: super::super::protocol::DroneCommand::Land,
    });
    sim.advance(60.0);
    assert!(
        sim.action(11, "home").is_none(),
        "sent home over the operator's LAND"
    );
}

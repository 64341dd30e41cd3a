//! Requests: call-offs, reassignment, operator commands and their answers.

use mavlink_link::link::CommandError;
use mavlink_link::mav::{MavCmd, MavResult};

use super::*;
use crate::core::DroneCommand;

#[test]
fn a_cancel_before_take_off_stops_the_launch_and_disarms_in_the_hangar() {
    let mut sim = Sim::new();
    sim.start();
    let id = sim.report(IncidentKind::PersonInWater, IN_THE_RIVER);
    let (launch, _) = sim
        .action(11, "launch")
        .unwrap_or_else(|| panic!("no launch"));
    let (_, out) = sim.request(Request::Cancel {
        incident: id,
        reason: "false alarm".into(),
    });
    assert!(
        out.iter()
            .any(|e| matches!(e, Effect::Abort(a) if *a == launch))
    );
    assert!(sim.action(11, "disarm").is_some());
    assert_eq!(sim.status(id), IncidentStatus::Cancelled);
    assert_eq!(sim.duty("yg-1"), "idle");
    assert_eq!(sim.state("yg-1"), DroneState::Docked);
}

#[test]
fn a_cancel_in_the_air_sends_the_drone_home_along_its_planned_way() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    let return_start = sim.sortie("yg-1").plan.return_start;
    sim.reply(Request::Cancel {
        incident: id,
        reason: "found on the bank".into(),
    });
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
    assert_eq!(sim.duty("yg-1"), "homing");
    // Homing until it lands in its hangar.
    let home = sim.hangar_of("yg-1");
    sim.down_at(home, 80.0);
    sim.advance(0.5);
    assert_eq!(sim.duty("yg-1"), "charging");
}

#[test]
fn resolving_a_case_calls_its_drone_home() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    sim.over_the_scene();
    sim.advance(2.0);
    match sim.reply(Request::Resolve {
        incident: id,
        note: "rescued by boat".into(),
    }) {
        Reply::Incident(Ok(v)) => assert_eq!(v.incident.status, IncidentStatus::Resolved),
        r => panic!("{r:?}"),
    }
    assert!(sim.action(11, "home").is_some());
}

#[test]
fn a_reassignment_calls_the_drone_off_and_plans_again() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    sim.reply(Request::Reassign {
        incident: id,
        reason: "closer drone".into(),
    });
    assert_eq!(sim.duty("yg-1"), "homing");
    assert!(sim.serving(id).is_some_and(|d| d.0 != "yg-1"));
}

#[test]
fn a_send_home_that_falls_back_is_a_critical_alert_in_the_log() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    sim.reply(Request::Cancel {
        incident: id,
        reason: "x".into(),
    });
    let (home, _) = sim
        .action(11, "home")
        .unwrap_or_else(|| panic!("not sent home"));
    sim.done(
        home,
        ActionOutcome::SentHome(Ok(super::super::HomeVia::Fallback {
            mode: "SMART_RTL",
            auto_error: "denied".into(),
        })),
    );
    let a = sim.alerts("could not resume its way home");
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].1, Severity::Critical);
    sim.assert_all_persisted();
}

fn hold(sim: &mut Sim) -> (RequestId, ActionId) {
    let (rid, _) = sim.request(Request::Command {
        drone: drone("yg-1"),
        command: DroneCommand::Hold,
    });
    let (aid, action) = sim
        .action(11, "operator")
        .unwrap_or_else(|| panic!("not sent"));
    assert!(matches!(action, Action::Operator { ref steps, .. } if steps.len() == 1));
    (rid, aid)
}

#[test]
fn an_accepted_hold_is_answered_and_not_taken_for_a_hijack() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    let (rid, aid) = hold(&mut sim);
    // Answered only once the vehicle has answered.
    assert!(
        !sim.effects
            .iter()
            .any(|e| matches!(e, Effect::Reply { to, .. } if *to == rid))
    );
    let out = sim.done(aid, ActionOutcome::Commanded(Ok(())));
    assert!(out.iter().any(|e| matches!(e,
        Effect::Reply { to, reply: Reply::Command(Ok(_)) } if *to == rid)));
    sim.vehicle(11).mode = FlightMode::Loiter;
    sim.advance(100.0);
    assert_eq!(
        sim.serving(id),
        Some(drone("yg-1")),
        "a held drone is neither rogue nor stalled"
    );
    assert!(sim.events().iter().any(|e| matches!(&e.what,
        What::Command { command, ok: true, detail, .. } if command == "hold" && detail.contains("accepted"))));
}

#[test]
fn a_refused_hold_does_not_make_loiter_acceptable() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    let (rid, aid) = hold(&mut sim);
    let refused = CommandError::Rejected {
        system_id: 11,
        command: MavCmd::MAV_CMD_DO_SET_MODE,
        result: MavResult::MAV_RESULT_DENIED,
    };
    let out = sim.done(aid, ActionOutcome::Commanded(Err(refused)));
    assert!(out.iter().any(|e| matches!(e,
        Effect::Reply { to, reply: Reply::Command(Err(_)) } if *to == rid)));
    assert_eq!(sim.alerts("not carried out").len(), 1);
    sim.vehicle(11).mode = FlightMode::Loiter;
    sim.advance(0.5);
    assert_eq!(sim.alerts("not commanded by the dispatcher").len(), 1);
    assert_ne!(sim.serving(id), Some(drone("yg-1")));
}

#[test]
fn a_hold_in_flight_is_tolerated_until_the_vehicle_answers() {
    let (mut sim, id) = Sim::rescue_in_the_air();
    let _ = hold(&mut sim);
    sim.vehicle(11).mode = FlightMode::Loiter;
    sim.advance(2.0);
    assert_eq!(sim.serving(id), Some(drone("yg-1")));
    assert!(sim.alerts("not commanded").is_empty());
}

#[test]
fn a_command_to_a_drone_never_heard_is_refused_at_once() {
    let mut sim = Sim::new();
    sim.vehicle(11).last_heartbeat = None;
    sim.start();
    match sim.reply(Request::Command {
        drone: drone("yg-1"),
        command: DroneCommand::Rtl,
    }) {
        Reply::Command(Err(crate::core::ServiceError::Conflict(m))) => {
            assert!(m.contains("never been heard"), "{m}")
        }
        r => panic!("{r:?}"),
    }
    assert!(sim.action(11, "operator").is_none());
}

#[test]
fn a_command_that_needs_the_air_is_refused_on_the_ground() {
    let mut sim = Sim::new();
    sim.start();
    match sim.reply(Request::Command {
        drone: drone("yg-1"),
        command: DroneCommand::Hold,
    }) {
        Reply::Command(Err(crate::core::ServiceError::Conflict(m))) => {
            assert!(m.contains("not flying"), "{m}")
        }
        r => panic!("{r:?}"),
    }
}

#[test]
fn a_drone_without_a_lifebuoy_cannot_drop_one() {
    let mut sim = Sim::new();
    sim.start();
    match sim.reply(Request::Command {
        drone: drone("yg-3"),
        command: DroneCommand::DropPayload,
    }) {
        Reply::Command(Err(crate::core::ServiceError::Conflict(m))) => {
            assert!(m.contains("no droppable payload"), "{m}")
        }
        r => panic!("{r:?}"),
    }
}

#[test]
fn an_unknown_incident_or_drone_is_an_error_answer() {
    let mut sim = Sim::new();
    sim.start();
    assert!(matches!(
        sim.reply(Request::Incident(IncidentId(77))),
        Reply::Incident(Err(crate::core::ServiceError::UnknownIncident(IncidentId(
            77
        ))))
    ));
    assert!(matches!(
        sim.reply(Request::Command {
            drone: drone("nobody"),
            command: DroneCommand::Rtl
        }),
        Reply::Command(Err(crate::core::ServiceError::UnknownDrone(_)))
    ));
}

#[test]
fn a_retried_report_finds_its_incident() {
    let mut sim = Sim::new();
    sim.start();
    let new = || NewIncident {
        kind: IncidentKind::PersonInWater,
        position: IN_THE_RIVER,
        note: Some("from the dyke".into()),
        source: Some("cameras".into()),
        external_id: Some("cam-7/1".into()),
    };
    let Reply::Report(Ok(a)) = sim.reply(Request::Report(new())) else {
        panic!("first report refused");
    };
    let Reply::Report(Ok(b)) = sim.reply(Request::Report(new())) else {
        panic!("retry refused");
    };
    assert!(a.created && !b.created);
    assert_eq!(a.incident.incident.id, b.incident.incident.id);
}

#[test]
fn a_log_that_fails_is_one_critical_alert_and_its_recovery_a_notice() {
    let mut sim = Sim::new();
    sim.start();
    sim.step(FleetInput::Store(crate::core::StoreHealth::Failing(
        "disk full".into(),
    )));
    sim.step(FleetInput::Store(crate::core::StoreHealth::Working));
    assert_eq!(sim.alerts("disk full").len(), 1);
    assert!(sim.events().iter().any(|e| matches!(&e.what,
        What::Notice { message } if message.contains("written again"))));
}

#[test]
fn stop_is_answered_and_ends_the_step_with_stop() {
    let mut sim = Sim::new();
    sim.start();
    let (_, out) = sim.request(Request::Stop);
    assert!(matches!(out.last(), Some(Effect::Stop)));
    assert!(sim.core.stopping());
}

#[test]
fn a_share_entry_is_logged_first_then_published_and_answered() {
    let mut sim = Sim::new();
    sim.start();
    let entry = crate::ShareEntry {
        share: 3,
        at: sim.now,
        change: crate::ShareChange::Revoked { by: "desk".into() },
    };
    let (id, out) = sim.request(Request::Share(entry.clone()));
    let Some(Effect::Persist(batch)) = out.first() else {
        panic!("not persisted first: {out:?}");
    };
    assert!(
        batch
            .events
            .iter()
            .any(|e| e.what == What::Share(entry.clone()))
    );
    assert!(
        out.iter()
            .any(|e| matches!(e, Effect::Publish(ev) if ev.what == What::Share(entry.clone())))
    );
    assert!(
        out.iter()
            .any(|e| matches!(e, Effect::Reply { to, reply: Reply::Fed(Ok(())) } if *to == id))
    );
    // Made and revoked need the log; an opening does not (a crew's view goes on).
    assert!(Request::Share(entry.clone()).needs_the_log());
    let opened = crate::ShareEntry {
        change: crate::ShareChange::Opened {
            address: None,
            forwarded_for: None,
            user_agent: None,
        },
        ..entry
    };
    assert!(!Request::Share(opened).needs_the_log());
}

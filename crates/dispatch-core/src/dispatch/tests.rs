use chrono::DateTime;

use super::*;
use crate::model::{Capability, CapabilitySet, Drone, Hangar, HangarId, Performance};
use crate::synth;
use crate::world::PlanningParams;

fn t(min: i64) -> Timestamp {
    DateTime::from_timestamp(1_790_000_000 + min * 60, 0).unwrap_or_default()
}

fn caps(c: &[Capability]) -> CapabilitySet {
    c.iter().copied().collect()
}

fn hangar(id: &str, lat: f64, lon: f64) -> Hangar {
    Hangar {
        id: HangarId(id.into()),
        name: id.into(),
        position: LatLon::new(lat, lon),
        slots: 4,
        charging: true,
        charge_rate_pct_per_min: 2.0,
        launch_delay_s: 20.0,
    }
}

fn drone(id: &str, h: &Hangar, sysid: u8, c: &[Capability]) -> Drone {
    Drone {
        id: DroneId(id.into()),
        name: id.into(),
        hangar: h.id.clone(),
        system_id: sysid,
        link: crate::config::DEFAULT_LINK.into(),
        address: None,
        capabilities: caps(c),
        performance: Performance::with_defaults(15.0, 5.0, 3.0, 45.0),
        state: DroneState::Docked,
        battery_pct: 100.0,
        position: h.position,
        task: None,
    }
}

/// Two hangars 5 km apart; `near` holds an all-round drone, `far` a
/// loudspeaker-only one.
fn dispatcher() -> Dispatcher {
    use Capability::*;
    let near = hangar("near", 30.50, 120.50);
    let far = hangar("far", 30.50, 120.55);
    let drones = vec![
        drone("all", &near, 1, &[Lifebuoy, Loudspeaker, ThermalCamera]),
        drone("spk", &far, 2, &[Loudspeaker]),
    ];
    let w = World::build(
        synth::region(1.0),
        PlanningParams::default(),
        synth::policies(),
        vec![near, far],
        drones,
        vec![],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    Dispatcher::new(w, vec![])
}

fn report(kind: IncidentKind, lat: f64, lon: f64) -> Report {
    Report {
        kind,
        position: LatLon::new(lat, lon),
        priority: None,
        auto_launch: true,
        patrol: None,
    }
}

fn ok(d: &mut Dispatcher, now: Timestamp, input: Input) -> Vec<Output> {
    d.handle(now, input).unwrap_or_else(|e| panic!("{e}"))
}

fn drone_of(d: &Dispatcher, id: u64) -> Option<String> {
    d.incident(IncidentId(id))
        .and_then(|r| r.incident.drone.as_ref().map(|x| x.0.clone()))
}

fn status(d: &Dispatcher, id: u64) -> Option<IncidentStatus> {
    d.incident(IncidentId(id)).map(|r| r.incident.status)
}

#[test]
fn batch_is_served_by_priority_not_arrival() {
    let mut d = dispatcher();
    // The lower-priority incident arrives first and also wants "all" (thermal).
    ok(
        &mut d,
        t(0),
        Input::ReportBatch(vec![
            report(IncidentKind::ForestFire, 30.51, 120.50),
            report(IncidentKind::PersonInWater, 30.49, 120.50),
        ]),
    );
    assert_eq!(drone_of(&d, 2).as_deref(), Some("all"));
    assert_eq!(status(&d, 1), Some(IncidentStatus::Queued));
    let reason = d
        .incident(IncidentId(1))
        .and_then(|r| r.incident.reason.clone());
    assert!(reason.unwrap_or_default().contains("1 lack the payload"));
}

#[test]
fn patrol_is_preempted_for_a_life_threatening_incident_and_requeued() {
    let mut d = dispatcher();
    ok(
        &mut d,
        t(0),
        Input::Report(report(IncidentKind::Patrol, 30.50, 120.52)),
    );
    // The patrol takes the nearest loudspeaker drone: "all" (2 km) over "spk" (3 km).
    assert_eq!(drone_of(&d, 1).as_deref(), Some("all"));
    ok(
        &mut d,
        t(1),
        Input::Progress {
            incident: IncidentId(1),
            status: IncidentStatus::EnRoute,
        },
    );
    let out = ok(
        &mut d,
        t(2),
        Input::Report(report(IncidentKind::PersonInWater, 30.50, 120.52)),
    );
    assert!(out.contains(&Output::Preempted {
        drone: DroneId("all".into()),
        from: IncidentId(1),
        to: IncidentId(2)
    }));
    assert_eq!(drone_of(&d, 2).as_deref(), Some("all"));
    // The patrol resumes with the other loudspeaker drone.
    assert_eq!(drone_of(&d, 1).as_deref(), Some("spk"));
    assert_eq!(status(&d, 1), Some(IncidentStatus::Assigned));
}

#[test]
fn a_rescue_is_never_taken_by_lower_priority_work() {
    let mut d = dispatcher();
    ok(
        &mut d,
        t(0),
        Input::Report(report(IncidentKind::PersonInWater, 30.50, 120.52)),
    );
    ok(
        &mut d,
        t(1),
        Input::Progress {
            incident: IncidentId(1),
            status: IncidentStatus::EnRoute,
        },
    );
    ok(
        &mut d,
        t(2),
        Input::Report(report(IncidentKind::ForestFire, 30.50, 120.52)),
    );
    assert_eq!(drone_of(&d, 1).as_deref(), Some("all"));
    assert_eq!(status(&d, 2), Some(IncidentStatus::Queued));
    // Even an equal-priority rescue does not take it.
    ok(
        &mut d,
        t(3),
        Input::Report(report(IncidentKind::PersonInWater, 30.50, 120.53)),
    );
    assert_eq!(status(&d, 3), Some(IncidentStatus::Queued));
}

#[test]
fn patrol_is_not_preempted_by_non_life_threatening_work() {
    let mut d = dispatcher();
    ok(
        &mut d,
        t(0),
        Input::Report(report(IncidentKind::Patrol, 30.50, 120.52)),
    );
    ok(
        &mut d,
        t(1),
        Input::Progress {
            incident: IncidentId(1),
            status: IncidentStatus::EnRoute,
        },
    );
    let mut second = report(IncidentKind::Patrol, 30.50, 120.52);
    second.priority = Some(3);
    ok(&mut d, t(2), Input::Report(second));
    assert_eq!(drone_of(&d, 1).as_deref(), Some("all"));
    assert_eq!(drone_of(&d, 2).as_deref(), Some("spk"));
}

#[test]
fn the_queue_is_served_when_a_drone_comes_home() {
    let mut d = dispatcher();
    ok(
        &mut d,
        t(0),
        Input::Report(report(IncidentKind::PersonInWater, 30.50, 120.52)),
    );
    ok(
        &mut d,
        t(1),
        Input::Report(report(IncidentKind::PersonInWater, 30.49, 120.52)),
    );
    assert_eq!(status(&d, 2), Some(IncidentStatus::Queued));
    for s in [
        IncidentStatus::EnRoute,
        IncidentStatus::OnScene,
        IncidentStatus::Returning,
        IncidentStatus::Resolved,
    ] {
        ok(
            &mut d,
            t(5),
            Input::Progress {
                incident: IncidentId(1),
                status: s,
            },
        );
    }
    // Still in the air: not yet dispatchable.
    assert_eq!(status(&d, 2), Some(IncidentStatus::Queued));
    let out = ok(
        &mut d,
        t(12),
        Input::DroneUpdate {
            drone: DroneId("all".into()),
            state: DroneState::Docked,
            position: LatLon::new(30.50, 120.50),
            battery_pct: 80.0,
        },
    );
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Assigned {
            incident: IncidentId(2),
            ..
        }
    )));
    let tl: Vec<IncidentStatus> = d
        .incident(IncidentId(1))
        .map(|r| r.timeline.iter().map(|e| e.status).collect())
        .unwrap_or_default();
    use IncidentStatus::*;
    assert_eq!(
        tl,
        vec![Queued, Assigned, EnRoute, OnScene, Returning, Resolved]
    );
}

#[test]
fn proposals_hold_the_drone_until_launched() {
    let mut d = dispatcher();
    let mut r = report(IncidentKind::PersonInWater, 30.50, 120.52);
    r.auto_launch = false;
    let out = ok(&mut d, t(0), Input::Report(r));
    assert!(out.iter().any(|o| matches!(o, Output::Proposed { .. })));
    assert_eq!(status(&d, 1), Some(IncidentStatus::Proposed));
    // A second rescue cannot take the proposed drone.
    ok(
        &mut d,
        t(0),
        Input::Report(report(IncidentKind::PersonInWater, 30.50, 120.52)),
    );
    assert_eq!(status(&d, 2), Some(IncidentStatus::Queued));
    let out = ok(&mut d, t(1), Input::Launch(IncidentId(1)));
    assert!(out.iter().any(|o| matches!(o, Output::Assigned { .. })));
    assert_eq!(
        d.handle(t(1), Input::Launch(IncidentId(1))),
        Err(DispatchError::NothingToLaunch(IncidentId(1)))
    );
}

#[test]
fn cancelling_before_launch_frees_the_drone_for_the_queue() {
    let mut d = dispatcher();
    ok(
        &mut d,
        t(0),
        Input::Report(report(IncidentKind::PersonInWater, 30.50, 120.52)),
    );
    ok(
        &mut d,
        t(0),
        Input::Report(report(IncidentKind::PersonInWater, 30.50, 120.52)),
    );
    assert_eq!(status(&d, 2), Some(IncidentStatus::Queued));
    ok(
        &mut d,
        t(1),
        Input::Cancel {
            incident: IncidentId(1),
            reason: "false alarm".into(),
        },
    );
    assert_eq!(status(&d, 1), Some(IncidentStatus::Cancelled));
    assert_eq!(drone_of(&d, 2).as_deref(), Some("all"));
}

#[test]
fn requeue_after_a_lost_link_goes_to_another_drone() {
    let mut d = dispatcher();
    ok(
        &mut d,
        t(0),
        Input::Report(report(IncidentKind::TidalSurgeWarning, 30.50, 120.52)),
    );
    assert_eq!(drone_of(&d, 1).as_deref(), Some("all"));
    ok(
        &mut d,
        t(1),
        Input::Progress {
            incident: IncidentId(1),
            status: IncidentStatus::EnRoute,
        },
    );
    ok(
        &mut d,
        t(2),
        Input::DroneUpdate {
            drone: DroneId("all".into()),
            state: DroneState::Lost,
            position: LatLon::new(30.50, 120.51),
            battery_pct: 70.0,
        },
    );
    ok(
        &mut d,
        t(3),
        Input::Requeue {
            incident: IncidentId(1),
            reason: "link lost".into(),
        },
    );
    assert_eq!(drone_of(&d, 1).as_deref(), Some("spk"));
}

#[test]
fn bad_inputs_are_errors_that_change_nothing() {
    let mut d = dispatcher();
    assert_eq!(
        d.handle(t(0), Input::Launch(IncidentId(9))),
        Err(DispatchError::UnknownIncident(IncidentId(9)))
    );
    let far = report(IncidentKind::PersonInWater, 40.0, 120.5);
    assert!(matches!(
        d.handle(t(0), Input::Report(far.clone())),
        Err(DispatchError::World(WorldError::OutsideRegion { .. }))
    ));
    // A bad report in a batch rejects the batch whole: nothing half-opened.
    let good = report(IncidentKind::PersonInWater, 30.5, 120.5);
    assert!(d.handle(t(0), Input::ReportBatch(vec![good, far])).is_err());
    assert_eq!(d.incidents().count(), 0);
    let mut bad = report(IncidentKind::Patrol, 30.5, 120.5);
    bad.priority = Some(9);
    assert_eq!(
        d.handle(t(0), Input::Report(bad)),
        Err(DispatchError::BadPriority(9))
    );
    ok(
        &mut d,
        t(0),
        Input::Report(report(IncidentKind::PersonInWater, 30.5, 120.52)),
    );
    assert_eq!(
        d.handle(
            t(0),
            Input::Progress {
                incident: IncidentId(1),
                status: IncidentStatus::Resolved
            }
        ),
        Err(DispatchError::InvalidTransition {
            incident: IncidentId(1),
            from: IncidentStatus::Assigned,
            to: IncidentStatus::Resolved
        })
    );
    assert!(matches!(
        d.handle(
            t(0),
            Input::DroneUpdate {
                drone: DroneId("ghost".into()),
                state: DroneState::Docked,
                position: LatLon::new(30.5, 120.5),
                battery_pct: 50.0
            }
        ),
        Err(DispatchError::World(WorldError::UnknownDrone(_)))
    ));
}

#[test]
fn patrols_open_in_their_window_and_repeat() {
    let mut d = dispatcher();
    d.patrols.push(PatrolRoute {
        id: PatrolId("dike".into()),
        name: "dike".into(),
        waypoints: vec![LatLon::new(30.5, 120.51), LatLon::new(30.5, 120.53)],
        window: crate::model::ActiveWindow {
            from: Some(t(10)),
            until: Some(t(100)),
        },
        repeat_every_min: Some(30.0),
        capabilities: caps(&[Capability::Loudspeaker]),
    });
    ok(&mut d, t(5), Input::Tick);
    assert_eq!(d.incidents().count(), 0);
    ok(&mut d, t(10), Input::Tick);
    assert_eq!(d.incidents().count(), 1);
    ok(&mut d, t(20), Input::Tick);
    assert_eq!(d.incidents().count(), 1, "one pass at a time");
    for s in [
        IncidentStatus::EnRoute,
        IncidentStatus::OnScene,
        IncidentStatus::Resolved,
    ] {
        ok(
            &mut d,
            t(25),
            Input::Progress {
                incident: IncidentId(1),
                status: s,
            },
        );
    }
    ok(&mut d, t(39), Input::Tick);
    assert_eq!(d.incidents().count(), 1, "not before the repeat interval");
    ok(&mut d, t(40), Input::Tick);
    assert_eq!(d.incidents().count(), 2);
}

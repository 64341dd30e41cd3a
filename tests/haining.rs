//! Scenario tests on the Haining demo configuration (config/haining.toml).

use std::path::Path;

use chrono::{DateTime, Utc};
use dispatch_core::{
    Assignment, Dispatcher, DroneState, IncidentId, IncidentKind, IncidentStatus, Input, LatLon,
    Need, Output, Report, RouteRequest, Scenario, World, ZoneId, assign, config, plan_route,
};
use geo::{Coord, Intersects, Line};

fn scenario() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/haining.toml");
    config::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Bore day, 13:00 Beijing time: the river bed and the crowds are closed.
fn bore_time() -> DateTime<Utc> {
    at("2026-09-28T13:00:00+08:00")
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .unwrap_or_else(|e| panic!("{e}"))
}

const LAOYANCANG: LatLon = LatLon::new(30.347, 120.457);
const NANBEI_LAKE: LatLon = LatLon::new(30.430, 120.880);

fn need(world: &World, kind: IncidentKind, position: LatLon, time: DateTime<Utc>) -> Need {
    let p = world
        .policy(kind)
        .unwrap_or_else(|| panic!("no policy for {kind}"));
    Need::new(p, position, time)
}

fn plan(world: &World, kind: IncidentKind, position: LatLon, time: DateTime<Utc>) -> Assignment {
    assign(world, &need(world, kind, position, time)).unwrap_or_else(|e| panic!("{}", e.reason))
}

fn crosses(world: &World, waypoints: &[LatLon], zone: &str) -> bool {
    let z = world
        .zone(&ZoneId(zone.into()))
        .unwrap_or_else(|| panic!("zone {zone}"));
    waypoints.windows(2).any(|leg| {
        let seg = Line::new(
            Coord {
                x: leg[0].lon,
                y: leg[0].lat,
            },
            Coord {
                x: leg[1].lon,
                y: leg[1].lat,
            },
        );
        z.polygon.intersects(&seg)
    })
}

#[test]
fn person_in_water_at_laoyancang_gets_a_lifebuoy_drone_that_avoids_the_airport() {
    let s = scenario();
    let world = s.world();
    let a = plan(&world, IncidentKind::PersonInWater, LAOYANCANG, bore_time());
    let drone = world
        .drone(&a.chosen.drone)
        .unwrap_or_else(|| panic!("drone"));
    assert!(drone.capabilities.iter().any(|c| c.as_str() == "lifebuoy"));
    assert_eq!(a.chosen.hangar.0, "yanguan");
    assert!(!crosses(&world, &a.route.waypoints, "xiaoshan-airport"));
    assert!(!crosses(
        &world,
        &a.return_route.waypoints,
        "xiaoshan-airport"
    ));
    // The crowd on the Yanguan embankment lies on the straight line: the route bends.
    assert_eq!(a.route.avoided, vec![ZoneId("yanguan-crowd".into())]);
    assert!(!crosses(&world, &a.route.waypoints, "yanguan-crowd"));
    // The casualty is in the closed river bed: only the final leg enters it.
    assert_eq!(
        a.route.final_leg_enters,
        vec![ZoneId("river-bed-closure".into())]
    );
    let n = a.route.waypoints.len();
    assert!(!crosses(
        &world,
        &a.route.waypoints[..n - 1],
        "river-bed-closure"
    ));
    // The nearer Laoyancang drones carry no lifebuoy and say so.
    assert!(a.rejected.iter().any(|r| r.drone.0.starts_with("lyc-")));
    assert!(a.energy.margin_pct > 0.0);
}

#[test]
fn the_south_bank_drone_flies_around_the_airport() {
    let s = scenario();
    let world = s.world();
    let home = world
        .hangar(&"xiaoshan-east".into())
        .unwrap_or_else(|| panic!("hangar"))
        .position;
    assert!(crosses(&world, &[home, LAOYANCANG], "xiaoshan-airport"));
    let req = RouteRequest {
        from: home,
        to: LAOYANCANG,
        depart: bore_time(),
        pre_cruise_s: 40.0,
        speed_mps: 15.0,
        altitude_m: 60.0,
        rescue: true,
    };
    let route = plan_route(&world, &req).unwrap_or_else(|e| panic!("{e}"));
    assert!(route.avoided.contains(&ZoneId("xiaoshan-airport".into())));
    assert!(!crosses(&world, &route.waypoints, "xiaoshan-airport"));
    // With the Yanguan lifebuoy drones out of service, the others are too far
    // for their batteries (there, on scene, back, plus the reserve): queued.
    let mut world = world;
    for id in ["yg-1", "yg-2"] {
        let d = world
            .drone(&id.into())
            .cloned()
            .unwrap_or_else(|| panic!("{id}"));
        world
            .update_drone(&d.id, DroneState::Maintenance, d.position, 100.0, None)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let err = assign(
        &world,
        &need(&world, IncidentKind::PersonInWater, LAOYANCANG, bore_time()),
    )
    .err()
    .unwrap_or_else(|| panic!("assigned"));
    assert!(err.reason.contains("2 lack the battery"), "{}", err.reason);
    assert!(err.rejected.iter().any(|r| r.drone.0 == "xs-1"));
}

#[test]
fn before_the_closures_the_route_is_straight() {
    let s = scenario();
    let world = s.world();
    let a = plan(
        &world,
        IncidentKind::PersonInWater,
        LAOYANCANG,
        at("2026-09-28T08:00:00+08:00"),
    );
    assert_eq!(a.route.waypoints.len(), 2, "{:?}", a.route.waypoints);
    assert!(a.route.final_leg_enters.is_empty());
}

#[test]
fn forest_fire_at_nanbei_lake_gets_a_thermal_camera_clear_of_the_nuclear_plant() {
    let s = scenario();
    let world = s.world();
    let a = plan(&world, IncidentKind::ForestFire, NANBEI_LAKE, bore_time());
    let drone = world
        .drone(&a.chosen.drone)
        .unwrap_or_else(|| panic!("drone"));
    assert!(
        drone
            .capabilities
            .iter()
            .any(|c| c.as_str() == "thermal_camera")
    );
    assert_eq!(a.chosen.hangar.0, "haiyan");
    assert!(!crosses(&world, &a.route.waypoints, "qinshan-npp"));
    assert!(!a.alternatives.is_empty());
}

#[test]
fn incident_inside_the_nuclear_plant_zone_is_refused_with_the_zone_named() {
    let s = scenario();
    let world = s.world();
    let err = assign(
        &world,
        &need(
            &world,
            IncidentKind::ForestFire,
            LatLon::new(30.44, 120.96),
            bore_time(),
        ),
    )
    .err()
    .unwrap_or_else(|| panic!("assigned inside the nuclear zone"));
    assert!(err.reason.contains("qinshan-npp"), "{}", err.reason);
}

#[test]
fn everything_busy_queues_and_the_queue_drains_by_priority() {
    let s = scenario();
    let mut d = Dispatcher::new(s.world(), s.patrols.clone());
    let now = bore_time();
    let report = |kind, position| Report {
        kind,
        position,
        priority: None,
        auto_launch: true,
        patrol: None,
    };
    // More people in the water than lifebuoy drones within reach.
    let mut ids = Vec::new();
    for i in 0..5 {
        let out = d
            .handle(
                now,
                Input::Report(report(
                    IncidentKind::PersonInWater,
                    LatLon::new(30.347, 120.457 + 0.002 * i as f64),
                )),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        ids.extend(out.iter().filter_map(|o| match o {
            Output::Reported { incident, .. } => Some(*incident),
            _ => None,
        }));
    }
    let status = |d: &Dispatcher, id: IncidentId| d.incident(id).map(|r| r.incident.status);
    let assigned: Vec<_> = ids
        .iter()
        .filter(|&&i| status(&d, i) == Some(IncidentStatus::Assigned))
        .collect();
    let queued: Vec<_> = ids
        .iter()
        .filter(|&&i| status(&d, i) == Some(IncidentStatus::Queued))
        .copied()
        .collect();
    assert!(
        !assigned.is_empty() && !queued.is_empty(),
        "assigned {assigned:?} queued {queued:?}"
    );
    let reason = d
        .incident(queued[0])
        .and_then(|r| r.incident.reason.clone())
        .unwrap_or_default();
    assert!(
        reason.starts_with("no available drone can take it"),
        "{reason}"
    );
    // The first rescue's drone comes home: the earliest queued rescue is served.
    let first = *assigned[0];
    let drone = d
        .incident(first)
        .and_then(|r| r.incident.drone.clone())
        .unwrap_or_else(|| panic!("drone"));
    for st in [
        IncidentStatus::EnRoute,
        IncidentStatus::OnScene,
        IncidentStatus::Returning,
        IncidentStatus::Resolved,
    ] {
        d.handle(
            now,
            Input::Progress {
                incident: first,
                status: st,
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let home = d
        .world()
        .drone(&drone)
        .and_then(|x| d.world().hangar(&x.hangar).map(|h| h.position));
    let out = d
        .handle(
            now + chrono::TimeDelta::minutes(30),
            Input::DroneUpdate {
                drone: drone.clone(),
                state: DroneState::Docked,
                position: home.unwrap_or(LAOYANCANG),
                battery_pct: 95.0,
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let served: Vec<IncidentId> = out
        .iter()
        .filter_map(|o| match o {
            Output::Assigned { incident, .. } => Some(*incident),
            _ => None,
        })
        .collect();
    assert_eq!(
        served,
        vec![queued[0]],
        "the earliest queued rescue goes first"
    );
}

#[test]
fn the_demo_patrol_opens_before_the_bore() {
    let s = scenario();
    let mut d = Dispatcher::new(s.world(), s.patrols.clone());
    let out = d
        .handle(at("2026-09-28T10:45:00+08:00"), Input::Tick)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.iter().any(|o| matches!(o, Output::Assigned { .. })),
        "{out:?}"
    );
    let patrol = d.incidents().next().unwrap_or_else(|| panic!("no patrol"));
    assert_eq!(patrol.incident.kind, IncidentKind::Patrol);
    assert_eq!(
        patrol.incident.patrol.as_ref().map(|p| p.0.as_str()),
        Some("yanguan-embankment")
    );
}

//! Separation in the dispatcher on the Haining scenario: two rescues from
//! one hangar along one way are kept apart by a layer or a later start.

use std::path::Path;

use chrono::{DateTime, Utc};
use dispatch_core::dispatch::{Input, Output, Report};
use dispatch_core::{Dispatcher, IncidentKind, LatLon, Scenario, config};

fn scenario() -> Scenario {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/haining.toml");
    config::load(&p).unwrap_or_else(|e| panic!("{e}"))
}

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-09-28T13:00:00+08:00")
        .unwrap_or_else(|e| panic!("{e}"))
        .to_utc()
}

fn rescue(lat: f64, lon: f64) -> Report {
    Report {
        kind: IncidentKind::PersonInWater,
        position: LatLon::new(lat, lon),
        priority: None,
        auto_launch: true,
        patrol: None,
    }
}

fn assigned(out: &[Output]) -> Vec<dispatch_core::Assignment> {
    out.iter()
        .filter_map(|o| match o {
            Output::Assigned { assignment, .. } => Some((**assignment).clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn two_rescues_from_one_hangar_along_one_way_are_separated() {
    let s = scenario();
    let mut d = Dispatcher::new(s.world(), vec![]);
    let out = d
        .handle(
            at(),
            Input::ReportBatch(vec![rescue(30.347, 120.457), rescue(30.349, 120.4598)]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let a = assigned(&out);
    assert_eq!(a.len(), 2, "{out:?}");
    assert_eq!(a[0].chosen.drone.0, "yg-1");
    assert_eq!(a[1].chosen.drone.0, "yg-2");
    let (f0, f1) = (
        a[0].flight.clone().unwrap_or_else(|| panic!("a path")),
        a[1].flight.clone().unwrap_or_else(|| panic!("a path")),
    );
    assert_eq!(f0.altitude_m, 60.0);
    assert!(f0.note.is_empty());
    assert!(
        f1.altitude_m != 60.0 || f1.start_delay_s > 0.0,
        "the second flies the same way at the same height: {f1:?}"
    );
    assert!(f1.note.contains("yg-1"), "{}", f1.note);
    // The plans themselves keep the separation.
    assert!(f1.conflict_with(&f0, s.world().separation()).is_none());
    // A later start is in the ETA.
    assert!(a[1].chosen.eta_s >= a[0].chosen.eta_s + f1.start_delay_s - 30.0);
    assert_eq!(d.flights().len(), 2);
}

#[test]
fn without_layers_or_delay_the_second_rescue_waits_with_the_reason() {
    let mut s = scenario();
    s.separation.layers_m = vec![];
    s.separation.max_start_delay_s = 0.0;
    let mut d = Dispatcher::new(s.world(), vec![]);
    let out = d
        .handle(
            at(),
            Input::ReportBatch(vec![rescue(30.347, 120.457), rescue(30.349, 120.4598)]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(assigned(&out).len(), 1, "{out:?}");
    let why = out
        .iter()
        .find_map(|o| match o {
            Output::Queued { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{out:?}"));
    assert!(
        why.contains("no altitude layer free") && why.contains("yg-1"),
        "{why}"
    );
}

/// A way home crossing the sky another sortie holds (a drone over a point
/// on the line home, at the same height, for the next four minutes).
fn crossing() -> (
    Scenario,
    dispatch_core::World,
    dispatch_core::separation::Flights,
    LatLon,
) {
    use dispatch_core::separation::{FlightPath, Flights, PathPoint};
    let s = scenario();
    let mut world = s.world();
    let out_there = LatLon::new(30.375, 120.495); // ~5.5 km south-west
    let midway = LatLon::new(30.3895, 120.5185);
    world
        .update_drone(
            &dispatch_core::DroneId("yg-1".into()),
            dispatch_core::DroneState::Returning,
            out_there,
            80.0,
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let point = |t: i64, alt_m: f64| PathPoint {
        at: at() + chrono::TimeDelta::seconds(t),
        position: midway,
        alt_m,
        radius_m: 100.0,
    };
    let mut flights = Flights::default();
    flights.insert(
        dispatch_core::DroneId("yg-2".into()),
        dispatch_core::IncidentId(7),
        FlightPath {
            altitude_m: 60.0,
            start_delay_s: 0.0,
            note: String::new(),
            points: vec![point(0, 60.0), point(240, 60.0), point(250, 0.0)],
        },
    );
    (s, world, flights, out_there)
}

#[test]
fn a_way_home_through_another_sorties_sky_holds_until_it_is_clear() {
    let (s, world, flights, from) = crossing();
    let yg1 = dispatch_core::DroneId("yg-1".into());
    let h = dispatch_core::homeward::plan(&world, &flights, &yg1, from, 60.0, &[], at())
        .unwrap_or_else(|| panic!("a plan"));
    assert!(h.hold_s > 0.0 && h.hold_s <= 180.0, "{h:?}");
    assert!(h.conflict.is_none(), "{h:?}");
    assert!(
        h.note.contains("yg-2") && h.note.contains("holds"),
        "{}",
        h.note
    );
    // The held path keeps the separation, and it ends at Yanguan on the ground.
    assert!(
        flights
            .first_conflict(&yg1, &h.path, s.world().separation())
            .is_none()
    );
    let last = h.path.points.last().unwrap_or_else(|| panic!("points"));
    assert_eq!(last.alt_m, 0.0);
    assert!(
        dispatch_core::geodesy::distance_m(last.position, LatLon::new(30.4040, 120.5420)) < 1.0
    );
    // Held where it is: the first two corners are the same place.
    assert_eq!(h.path.points[0].position, h.path.points[1].position);
    // Without the conflict it goes at once.
    let free = dispatch_core::homeward::plan(
        &world,
        &dispatch_core::separation::Flights::default(),
        &yg1,
        from,
        60.0,
        &[],
        at(),
    )
    .unwrap_or_else(|| panic!("a plan"));
    assert_eq!(free.hold_s, 0.0);
    assert!(free.note.is_empty());
}

#[test]
fn a_drone_short_of_battery_flies_home_at_once_and_the_conflict_is_named() {
    let (_, mut world, flights, from) = crossing();
    let yg1 = dispatch_core::DroneId("yg-1".into());
    world
        .update_drone(&yg1, dispatch_core::DroneState::Returning, from, 25.0, None)
        .unwrap_or_else(|e| panic!("{e}"));
    let h = dispatch_core::homeward::plan(&world, &flights, &yg1, from, 60.0, &[], at())
        .unwrap_or_else(|| panic!("a plan"));
    assert_eq!(h.hold_s, 0.0, "{h:?}");
    let c = h
        .conflict
        .clone()
        .unwrap_or_else(|| panic!("the conflict is kept: {h:?}"));
    assert_eq!(c.drone.0, "yg-2");
    assert!(h.note.contains("flies home now"), "{}", h.note);
}

#[test]
fn the_dispatcher_keeps_a_cut_short_sorties_way_home_as_its_path() {
    let s = scenario();
    let mut d = Dispatcher::new(s.world(), vec![]);
    let out = d
        .handle(at(), Input::Report(rescue(30.347, 120.457)))
        .unwrap_or_else(|e| panic!("{e}"));
    let a = assigned(&out);
    assert_eq!(a.len(), 1, "{out:?}");
    let yg1 = a[0].chosen.drone.clone();
    let planned_end = d.flights().get(&yg1).and_then(|f| f.end());
    // Two minutes later, 1.8 km out, it is called home.
    let later = at() + chrono::TimeDelta::seconds(120);
    let here = LatLon::new(30.392, 120.526);
    let out = d
        .handle(
            later,
            Input::Homeward {
                drone: yg1.clone(),
                position: here,
                alt_m: 60.0,
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(&out[..], [Output::Homeward { hold_s, conflict: false, .. }] if *hold_s == 0.0),
        "{out:?}"
    );
    let f = d.flights().get(&yg1).unwrap_or_else(|| panic!("a path"));
    assert_eq!(f.points[0].position, here);
    assert_eq!(f.start(), Some(later));
    assert!(f.end() < planned_end, "{:?} vs {planned_end:?}", f.end());
    // An unknown drone is an error that changes nothing.
    let e = d.handle(
        later,
        Input::Homeward {
            drone: dispatch_core::DroneId("nobody".into()),
            position: here,
            alt_m: 60.0,
        },
    );
    assert!(e.is_err());
}

#[test]
fn a_search_holds_the_sky_of_its_whole_square_not_a_small_disc() {
    let s = scenario();
    let mut d = Dispatcher::new(s.world(), vec![]);
    let out = d
        .handle(
            at(),
            Input::Report(Report {
                kind: IncidentKind::MissingPerson,
                ..rescue(30.392, 120.526)
            }),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let a = assigned(&out);
    assert_eq!(a.len(), 1, "{out:?}");
    let f = a[0].flight.clone().unwrap_or_else(|| panic!("a path"));
    let widest = f.points.iter().map(|p| p.radius_m).fold(0.0, f64::max);
    // The square the mission flies: its farthest corner from the centre.
    let policy = s.world().policy(IncidentKind::MissingPerson).copied();
    let on_scene_s = policy.map_or(0.0, |p| p.on_scene_s);
    let d0 = s
        .world()
        .drone(&a[0].chosen.drone)
        .map(|d| d.performance.cruise_speed_mps);
    let square = dispatch_core::separation::search_radius_m(
        on_scene_s * d0.unwrap_or(0.0),
        dispatch_core::separation::SEARCH_SPACING_M,
    );
    assert!(square > 300.0, "{square}");
    assert_eq!(widest, square);
}

#[test]
fn the_search_square_radius_is_its_farthest_corner() {
    // Legs 60, 60, 120, 120: corners (60,0), (60,60), (-60,60), (-60,-60).
    let r = dispatch_core::separation::search_radius_m(360.0, 60.0);
    assert!((r - 60.0 * 2f64.sqrt()).abs() < 1e-9, "{r}");
    assert_eq!(dispatch_core::separation::search_radius_m(0.0, 60.0), 0.0);
}

#[test]
fn an_eta_change_moves_the_new_drones_path_not_the_old_ones_way_home() {
    let s = scenario();
    let mut d = Dispatcher::new(s.world(), vec![]);
    let out = d
        .handle(at(), Input::Report(rescue(30.347, 120.457)))
        .unwrap_or_else(|e| panic!("{e}"));
    let first = assigned(&out);
    assert_eq!(first.len(), 1, "{out:?}");
    let incident = out
        .iter()
        .find_map(|o| match o {
            Output::Assigned { incident, .. } => Some(*incident),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{out:?}"));
    let old = first[0].chosen.drone.clone();
    let later = at() + chrono::TimeDelta::seconds(120);
    // Two minutes out, the first drone loses its link: the incident goes
    // to another one, planned against where the first will fly (home from
    // where it was last heard), and the first is sent home from there.
    let out_there = LatLon::new(30.392, 120.526);
    d.handle(
        later,
        Input::DroneUpdate {
            drone: old.clone(),
            state: dispatch_core::DroneState::EnRoute,
            position: out_there,
            battery_pct: 90.0,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = d
        .handle(
            later,
            Input::Requeue {
                incident,
                reason: "lost link".into(),
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let second = assigned(&out);
    assert_eq!(second.len(), 1, "{out:?}");
    let new = second[0].chosen.drone.clone();
    assert_ne!(new, old);
    let provisional = d
        .flights()
        .get(&old)
        .cloned()
        .unwrap_or_else(|| panic!("no path"));
    assert_eq!(provisional.points[0].position, out_there);
    assert_eq!(provisional.start(), Some(later));
    assert!(
        second[0].flight.as_ref().is_some_and(|f| f
            .conflict_with(&provisional, s.world().separation())
            .is_none()),
        "the new sortie is not separated from the old drone's way home"
    );
    d.handle(
        later,
        Input::Homeward {
            drone: old.clone(),
            position: out_there,
            alt_m: 60.0,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let home_before = d.flights().get(&old).cloned();
    let new_before = d.flights().get(&new).and_then(|f| f.start());
    let arrival = second[0].arrival_at;
    d.handle(
        later,
        Input::Eta {
            incident,
            at: arrival + chrono::TimeDelta::seconds(60),
            why: "a slow launch".into(),
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.flights().get(&old).cloned(), home_before);
    assert_eq!(
        d.flights().get(&new).and_then(|f| f.start()),
        new_before.map(|t| t + chrono::TimeDelta::seconds(60))
    );
}

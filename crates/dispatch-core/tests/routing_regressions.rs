//! Three random worlds on which an independent route audit found defects
//! (tests/fixtures/routing, README there): each incident is planned as
//! `dispatcher plan` plans it, and the answer is checked apart from the
//! planner, with `geo` and the legs' own times.

use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use dispatch_core::audit::audit_assignment;
use dispatch_core::geodesy::distance_m;
use dispatch_core::{
    Assignment, IncidentKind, LatLon, Need, RejectReason, World, ZoneId, assign, config,
    leg_tolerance_s,
};
use geo::{Coord, Distance, Euclidean, Line, MapCoords};

fn fixture(n: u32) -> World {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/fixtures/routing/world-{n}/world.toml"));
    config::load(&path)
        .unwrap_or_else(|e| panic!("{e}"))
        .world()
}

fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn plan(world: &World, kind: IncidentKind, at: LatLon, report: &str) -> (Need, Assignment) {
    let policy = world
        .policy(kind)
        .unwrap_or_else(|| panic!("no policy for {kind}"));
    let need = Need::new(policy, at, time(report));
    let a = assign(world, &need).unwrap_or_else(|e| panic!("{}", e.reason));
    audit_assignment(world, &a, need.at, need.on_scene_s, need.rescue)
        .unwrap_or_else(|e| panic!("audit: {e}"));
    (need, a)
}

/// For each leg of `waypoints`, flown at `speed` from `cruise_from_s` after
/// `depart`: the interval the drone may be on it (the planner's tolerance)
/// and its least distance, metres, from zone `id`, in a plain
/// equirectangular frame of its own.
fn legs_near(
    world: &World,
    waypoints: &[LatLon],
    depart: DateTime<Utc>,
    cruise_from_s: f64,
    speed: f64,
    id: &str,
) -> Vec<(DateTime<Utc>, DateTime<Utc>, f64)> {
    let zone = world
        .zone(&ZoneId(id.into()))
        .unwrap_or_else(|| panic!("zone {id}"));
    let lat0 = waypoints[0].lat;
    let xy = |lon: f64, lat: f64| Coord {
        x: (lon - waypoints[0].lon) * 111_320.0 * lat0.to_radians().cos(),
        y: (lat - lat0) * 110_574.0,
    };
    let poly = zone.polygon.map_coords(|c| xy(c.x, c.y));
    let ms = |s: f64| TimeDelta::milliseconds((s * 1000.0) as i64);
    let mut t = cruise_from_s;
    waypoints
        .windows(2)
        .map(|l| {
            let t1 = t + distance_m(l[0], l[1]) / speed;
            let from = depart + ms((t - leg_tolerance_s(t)).max(0.0));
            let until = depart + ms(t1 + leg_tolerance_s(t1));
            t = t1;
            let seg = Line::new(xy(l[0].lon, l[0].lat), xy(l[1].lon, l[1].lat));
            (from, until, Euclidean.distance(&seg, &poly))
        })
        .collect()
}

#[test]
fn world_15_the_nearest_drone_reaches_the_casualty_before_the_closure_opens() {
    let w = fixture(15);
    let (need, a) = plan(
        &w,
        IncidentKind::PersonInWater,
        LatLon::new(30.439923, 120.397854),
        "2026-09-28T14:09:34+08:00",
    );
    assert_eq!(a.chosen.drone.0, "d019", "{:?}", a.chosen);
    assert!(
        (a.chosen.eta_s - 169.0).abs() < 5.0,
        "ETA {}",
        a.chosen.eta_s
    );
    for (what, r) in [("out", &a.route), ("home", &a.return_route)] {
        assert!(
            (r.length_m - 2293.0).abs() < 15.0,
            "{what}: {} m",
            r.length_m
        );
    }
    assert!(
        a.rejected
            .iter()
            .all(|r| !matches!(r.reason, RejectReason::NoRoute { .. })),
        "{:?}",
        a.rejected
    );
    // z06-blob opens 187 s after the report, while the drone is on scene
    // 20 m from it: the way home (in force) keeps no less than that.
    let opens = time("2026-09-28T14:12:41+08:00");
    let speed = 17.6;
    let home = legs_near(
        &w,
        &a.return_route.waypoints,
        need.at,
        a.chosen.eta_s + need.on_scene_s,
        speed,
        "z06-blob",
    );
    assert!(home[0].0 > opens);
    assert!(home.iter().all(|&(_, _, d)| d > 15.0), "{home:?}");
}

#[test]
fn world_45_the_outbound_leg_keeps_out_of_a_zone_whose_floor_is_the_cruise_altitude() {
    let w = fixture(45);
    let zone = w.zone(&ZoneId("z07-l".into())).map(|z| z.floor_m);
    assert_eq!(zone, Some(w.params().cruise_altitude_m));
    let (need, a) = plan(
        &w,
        IncidentKind::TidalSurgeWarning,
        LatLon::new(30.419873, 120.620746),
        "2026-09-28T09:30:15+08:00",
    );
    let until = time("2026-09-28T09:31:58+08:00");
    let d = w
        .drone(&a.chosen.drone)
        .unwrap_or_else(|| panic!("{}", a.chosen.drone));
    let speed = d.performance.cruise_speed_mps;
    let cruise_from = a.chosen.eta_s - a.route.length_m / speed;
    let margin = w.params().route_margin_m;
    let legs = legs_near(&w, &a.route.waypoints, need.at, cruise_from, speed, "z07-l");
    for (i, &(from, _, dist)) in legs.iter().enumerate() {
        if from < until {
            assert!(
                dist >= margin - 1.0,
                "leg {i} passes {dist:.1} m from z07-l"
            );
        }
    }
    // Crossing it is fine once it has ended, on a leg flown after that.
    assert!(legs[0].2 >= margin - 1.0);
}

#[test]
fn world_46_the_return_keeps_out_of_a_zone_that_opens_on_the_way_home() {
    let w = fixture(46);
    let (need, a) = plan(
        &w,
        IncidentKind::ForestFire,
        LatLon::new(30.493831, 120.672265),
        "2026-09-28T17:46:13+08:00",
    );
    let opens = time("2026-09-28T18:07:53+08:00");
    let d = w
        .drone(&a.chosen.drone)
        .unwrap_or_else(|| panic!("{}", a.chosen.drone));
    let speed = d.performance.cruise_speed_mps;
    let margin = w.params().route_margin_m;
    let home = legs_near(
        &w,
        &a.return_route.waypoints,
        need.at,
        a.chosen.eta_s + need.on_scene_s,
        speed,
        "z23-star",
    );
    // The drone is still on its way home when the zone opens.
    assert!(home.iter().any(|&(_, until, _)| until > opens));
    for (i, &(_, until, dist)) in home.iter().enumerate() {
        if until > opens {
            assert!(
                dist >= margin - 1.0,
                "leg {i} passes {dist:.1} m from z23-star"
            );
        }
    }
}

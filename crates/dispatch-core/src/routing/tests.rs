//! The planner on named scenarios.

use std::collections::HashMap;

use chrono::DateTime;
use geo::{Coord, LineString, Polygon};

use super::*;
use crate::model::{ActiveWindow, Zone, ZoneKind};
use crate::world::{PlanningParams, Region};

fn t(s: &str) -> Timestamp {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.to_utc())
        .unwrap_or_default()
}

fn rect(id: &str, lat0: f64, lon0: f64, lat1: f64, lon1: f64) -> Zone {
    let ring = vec![
        Coord { x: lon0, y: lat0 },
        Coord { x: lon1, y: lat0 },
        Coord { x: lon1, y: lat1 },
        Coord { x: lon0, y: lat1 },
        Coord { x: lon0, y: lat0 },
    ];
    Zone {
        id: ZoneId(id.into()),
        name: id.into(),
        kind: ZoneKind::Other,
        polygon: Polygon::new(LineString::new(ring), vec![]),
        floor_m: 0.0,
        ceiling_m: 10_000.0,
        window: ActiveWindow::PERMANENT,
        rescue_exempt: false,
    }
}

fn world(zones: Vec<Zone>) -> World {
    let region = Region {
        min_lat: 30.0,
        min_lon: 120.0,
        max_lat: 31.0,
        max_lon: 121.0,
    };
    World::build(
        region,
        PlanningParams::default(),
        HashMap::new(),
        vec![],
        vec![],
        zones,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn req(from: (f64, f64), to: (f64, f64)) -> RouteRequest {
    RouteRequest {
        from: LatLon::new(from.0, from.1),
        to: LatLon::new(to.0, to.1),
        depart: t("2026-09-28T12:00:00Z"),
        pre_cruise_s: 30.0,
        speed_mps: 15.0,
        altitude_m: 60.0,
        rescue: true,
    }
}

/// Plans and checks that no leg crosses any zone of `blocking`.
fn check(w: &World, r: &RouteRequest, blocking: &[&str]) -> Route {
    let route = plan_route(w, r).unwrap_or_else(|e| panic!("{e}"));
    for leg in route.waypoints.windows(2) {
        for id in blocking {
            let z = w
                .zone(&ZoneId((*id).into()))
                .unwrap_or_else(|| panic!("{id}"));
            let seg = geo::Line::new(
                Coord {
                    x: leg[0].lon,
                    y: leg[0].lat,
                },
                Coord {
                    x: leg[1].lon,
                    y: leg[1].lat,
                },
            );
            assert!(
                !geo::Intersects::intersects(&z.polygon, &seg),
                "leg {leg:?} crosses {id}"
            );
        }
    }
    route
}

#[test]
fn open_sky_is_a_straight_line() {
    let w = world(vec![rect("far", 30.8, 120.8, 30.9, 120.9)]);
    let route = check(&w, &req((30.1, 120.1), (30.2, 120.2)), &["far"]);
    assert_eq!(route.waypoints.len(), 2);
    assert!((route.length_m - distance_m(route.waypoints[0], route.waypoints[1])).abs() < 1e-6);
    assert!(route.avoided.is_empty());
}

#[test]
fn bends_around_a_wall_by_its_nearer_end() {
    // A wall across the direct line, longer to the south.
    let w = world(vec![rect("wall", 30.3, 120.49, 30.52, 120.51)]);
    let route = check(&w, &req((30.5, 120.3), (30.5, 120.7)), &["wall"]);
    assert_eq!(route.avoided, vec![ZoneId("wall".into())]);
    // Goes over the north end (30.52 + margin), not the far south end.
    assert!(route.waypoints.iter().any(|p| p.lat > 30.52));
    assert!(route.waypoints.iter().all(|p| p.lat > 30.49));
    let direct = distance_m(LatLon::new(30.5, 120.3), LatLon::new(30.5, 120.7));
    assert!(route.length_m > direct && route.length_m < direct * 1.01);
}

#[test]
fn threads_between_two_zones() {
    let w = world(vec![
        rect("north", 30.51, 120.45, 30.7, 120.55),
        rect("south", 30.3, 120.45, 30.49, 120.55),
    ]);
    let route = check(&w, &req((30.5, 120.3), (30.5, 120.7)), &["north", "south"]);
    assert!(
        route
            .waypoints
            .iter()
            .all(|p| p.lat > 30.49 && p.lat < 30.51)
    );
}

#[test]
fn inactive_and_high_zones_do_not_block() {
    let mut later = rect("later", 30.3, 120.49, 30.7, 120.51);
    later.window = ActiveWindow {
        from: Some(t("2026-09-28T18:00:00Z")),
        until: None,
    };
    let mut high = rect("high", 30.3, 120.55, 30.7, 120.57);
    high.floor_m = 200.0;
    let w = world(vec![later, high]);
    let route = check(&w, &req((30.5, 120.3), (30.5, 120.7)), &[]);
    assert_eq!(route.waypoints.len(), 2);
}

#[test]
fn a_zone_opening_during_the_flight_blocks_it() {
    // Opens 10 minutes after departure; the 38 km flight takes 42 minutes.
    let mut soon = rect("soon", 30.3, 120.49, 30.52, 120.51);
    soon.window.from = Some(t("2026-09-28T12:10:00Z"));
    let w = world(vec![soon]);
    let route = check(&w, &req((30.5, 120.3), (30.5, 120.7)), &["soon"]);
    assert_eq!(route.avoided, vec![ZoneId("soon".into())]);
}

#[test]
fn a_zone_opening_after_the_leg_is_flown_does_not_bend_the_route() {
    // A 5.8 km flight of one leg, over by about 12:07 (12:08 with the
    // tolerance); the wall 2 km out opens at 12:20: straight on, and the
    // fence must know.
    let trip = req((30.5, 120.3), (30.5, 120.36));
    let mut later = rect("later", 30.3, 120.32, 30.7, 120.33);
    later.window.from = Some(t("2026-09-28T12:20:00Z"));
    let w = world(vec![later]);
    let route = plan_route(&w, &trip).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(route.waypoints.len(), 2, "{:?}", route.waypoints);
    assert_eq!(route.crossed_inactive, vec![ZoneId("later".into())]);
    // Opening at 12:05, while the drone is still on that leg (though past
    // the wall, by the plan): the leg is judged over its whole flight, so
    // the route goes round.
    for opens in ["2026-09-28T12:05:00Z", "2026-09-28T12:03:00Z"] {
        let mut soon = rect("soon", 30.3, 120.32, 30.7, 120.33);
        soon.window.from = Some(t(opens));
        let w = world(vec![soon]);
        let route = check(&w, &trip, &["soon"]);
        assert_eq!(
            route.avoided,
            vec![ZoneId("soon".into())],
            "opening {opens}"
        );
        assert!(route.crossed_inactive.is_empty());
    }
}

#[test]
fn clearance_is_the_least_distance_to_a_blocking_zone() {
    // The wall's end: the route bends round it at the margin (100 m).
    let w = world(vec![rect("wall", 30.3, 120.49, 30.52, 120.51)]);
    let route = check(&w, &req((30.5, 120.3), (30.5, 120.7)), &["wall"]);
    let c = route.clearance_m.unwrap_or(f64::NAN);
    assert!((95.0..=101.0).contains(&c), "clearance {c}");
    assert_eq!(route.clearance_zones, vec![ZoneId("wall".into())]);
    // Open sky: nothing within the horizon.
    let w = world(vec![]);
    let route =
        plan_route(&w, &req((30.5, 120.3), (30.5, 120.7))).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((route.clearance_m, route.clearance_zones.len()), (None, 0));
}

#[test]
fn a_zone_that_ends_before_the_leg_across_it_starts_does_not_bend_it() {
    // The route bends round the wall's north end (22 km, about 12:25); its
    // last leg crosses `ending`, in force until 12:15: crossed while not in
    // force, even though it was in force during the first leg.
    let wall = rect("wall", 30.3, 120.49, 30.52, 120.51);
    let mut ending = rect("ending", 30.3, 120.66, 30.7, 120.67);
    ending.window.until = Some(t("2026-09-28T12:15:00Z"));
    let w = world(vec![wall.clone(), ending]);
    let trip = req((30.5, 120.3), (30.5, 120.7));
    let route = check(&w, &trip, &["wall"]);
    assert_eq!(route.avoided, vec![ZoneId("wall".into())]);
    assert_eq!(route.crossed_inactive, vec![ZoneId("ending".into())]);
    // The clearance is judged per leg: `ending` is not in force on the leg
    // that crosses it, so it is not the nearest zone.
    assert_eq!(route.clearance_zones, vec![ZoneId("wall".into())]);
    // In force until 12:40, during that leg: the route may not cross it
    // then, and is longer (it goes round, or crosses it later).
    let mut late = rect("ending", 30.3, 120.66, 30.7, 120.67);
    late.window.until = Some(t("2026-09-28T12:40:00Z"));
    let w = world(vec![wall, late]);
    let longer = plan_route(&w, &trip).unwrap_or_else(|e| panic!("{e}"));
    assert!(crate::audit::audit_route(&w, &trip, &longer).is_ok());
    assert!(longer.length_m > route.length_m + 1000.0);
}

#[test]
fn target_in_a_closed_zone_is_an_error_naming_it() {
    let w = world(vec![rect("npp", 30.4, 120.4, 30.6, 120.6)]);
    let err = plan_route(&w, &req((30.1, 120.1), (30.5, 120.5)));
    assert_eq!(
        err,
        Err(RouteError::TargetInZone {
            zone: ZoneId("npp".into()),
            name: "npp".into()
        })
    );
}

#[test]
fn rescue_may_enter_an_exempt_zone_on_the_final_leg_only() {
    let mut crowd = rect("crowd", 30.45, 120.45, 30.55, 120.55);
    crowd.rescue_exempt = true;
    let w = world(vec![crowd, rect("wall", 30.3, 120.35, 30.52, 120.37)]);
    let route = check(&w, &req((30.5, 120.3), (30.5, 120.5)), &["wall"]);
    assert_eq!(route.final_leg_enters, vec![ZoneId("crowd".into())]);
    // Every leg but the last stays out of the crowd.
    let crowd = w.zone(&ZoneId("crowd".into())).map(|z| z.polygon.clone());
    let crowd = crowd.unwrap_or_else(|| panic!("crowd"));
    let n = route.waypoints.len();
    for leg in route.waypoints[..n - 1].windows(2) {
        let seg = geo::Line::new(
            Coord {
                x: leg[0].lon,
                y: leg[0].lat,
            },
            Coord {
                x: leg[1].lon,
                y: leg[1].lat,
            },
        );
        assert!(!geo::Intersects::intersects(&crowd, &seg));
    }
    // Not a rescue: the same target is refused.
    let mut patrol = req((30.5, 120.3), (30.5, 120.5));
    patrol.rescue = false;
    assert!(matches!(
        plan_route(&w, &patrol),
        Err(RouteError::TargetInZone { .. })
    ));
}

#[test]
fn enclosed_target_is_unreachable_naming_the_ring() {
    // A square ring: a polygon with a hole; the target sits in the hole.
    let outer = LineString::new(vec![
        Coord { x: 120.4, y: 30.4 },
        Coord { x: 120.6, y: 30.4 },
        Coord { x: 120.6, y: 30.6 },
        Coord { x: 120.4, y: 30.6 },
        Coord { x: 120.4, y: 30.4 },
    ]);
    let hole = LineString::new(vec![
        Coord {
            x: 120.45,
            y: 30.45,
        },
        Coord {
            x: 120.55,
            y: 30.45,
        },
        Coord {
            x: 120.55,
            y: 30.55,
        },
        Coord {
            x: 120.45,
            y: 30.55,
        },
        Coord {
            x: 120.45,
            y: 30.45,
        },
    ]);
    let mut ring = rect("ring", 0.0, 0.0, 0.0, 0.0);
    ring.polygon = Polygon::new(outer, vec![hole]);
    let w = world(vec![ring]);
    let err = plan_route(&w, &req((30.1, 120.1), (30.5, 120.5)));
    assert_eq!(
        err,
        Err(RouteError::Unreachable {
            zones: vec![ZoneId("ring".into())]
        })
    );
    assert!(
        err.map_err(|e| e.to_string())
            .unwrap_err()
            .contains("`ring`")
    );
}

#[test]
fn leaves_the_zone_it_starts_in() {
    let w = world(vec![rect("npp", 30.4, 120.4, 30.6, 120.6)]);
    let route =
        plan_route(&w, &req((30.5, 120.5), (30.5, 120.9))).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(route.departs_from, vec![ZoneId("npp".into())]);
    assert_eq!(route.waypoints.len(), 2);
}

// --- Named scenarios, drawn in metres around the region's centre. ---

fn frame() -> crate::geodesy::LocalFrame {
    crate::geodesy::LocalFrame::new(LatLon::new(30.5, 120.5), 30.0, 31.0)
}

fn at(x: f64, y: f64) -> LatLon {
    frame().unproject([x, y])
}

fn zone_m(id: &str, pts: &[(f64, f64)]) -> Zone {
    let mut ring: Vec<Coord> = pts
        .iter()
        .map(|&(x, y)| {
            let p = at(x, y);
            Coord { x: p.lon, y: p.lat }
        })
        .collect();
    ring.push(ring[0]);
    let mut z = rect(id, 0.0, 0.0, 0.0, 0.0);
    z.polygon = Polygon::new(LineString::new(ring), vec![]);
    z
}

fn box_m(id: &str, x0: f64, y0: f64, x1: f64, y1: f64) -> Zone {
    zone_m(id, &[(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
}

fn req_m(from: (f64, f64), to: (f64, f64)) -> RouteRequest {
    let mut r = req((0.0, 0.0), (0.0, 0.0));
    r.from = at(from.0, from.1);
    r.to = at(to.0, to.1);
    r
}

/// Least distance, metres, from each leg of `route` to zone `id`.
fn leg_clearances(w: &World, route: &Route, id: &str) -> Vec<f64> {
    use geo::{Distance, Euclidean};
    let z = w.zone(&ZoneId(id.into())).unwrap_or_else(|| panic!("{id}"));
    let f = frame();
    let poly = Polygon::new(
        LineString::new(
            z.polygon
                .exterior()
                .0
                .iter()
                .map(|&c| f.project_coord(c))
                .collect(),
        ),
        vec![],
    );
    route
        .waypoints
        .windows(2)
        .map(|l| {
            let (a, b) = (f.project(l[0]), f.project(l[1]));
            let seg = geo::Line::new(Coord { x: a[0], y: a[1] }, Coord { x: b[0], y: b[1] });
            Euclidean.distance(&seg, &poly)
        })
        .collect()
}

fn same_as_reference(w: &World, r: &RouteRequest, route: &Route) {
    let reference = plan_route_reference(w, r, ARC_STEP_RAD).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        (route.length_m - reference.length_m).abs() < 1e-6 * reference.length_m,
        "planner {} m, reference {} m",
        route.length_m,
        reference.length_m
    );
}

#[test]
fn a_target_in_a_corridor_half_the_margin_wide_is_reached_on_the_last_leg() {
    // Two walls 50 m apart (the margin is 100 m), 2 km long; the
    // casualty in the middle. The drone comes from the north-west.
    let w = world(vec![
        box_m("south", 0.0, -600.0, 2000.0, -25.0),
        box_m("north", 0.0, 25.0, 2000.0, 600.0),
    ]);
    let r = req_m((-1500.0, 1500.0), (1000.0, 0.0));
    let route = plan_route(&w, &r).unwrap_or_else(|e| panic!("{e}"));
    let last = route.waypoints.len() - 2;
    for id in ["south", "north"] {
        for (i, d) in leg_clearances(&w, &route, id).into_iter().enumerate() {
            let limit = if i == last { 24.9 } else { 100.0 };
            assert!(d >= limit, "leg {i} passes {d:.2} m from {id}");
        }
    }
    // The last leg runs down the corridor from its mouth.
    let entry = frame().project(route.waypoints[last]);
    assert!(
        entry[0] < 0.0 && entry[1].abs() < 1.0,
        "enters from {entry:?}"
    );
    assert_eq!(
        route.within_margin,
        vec![ZoneId("south".into()), ZoneId("north".into())]
    );
    let c = route.clearance_m.unwrap_or(f64::NAN);
    assert!((24.5..=25.1).contains(&c), "clearance {c}");
    same_as_reference(&w, &r, &route);
    // And out again: a drone starting there leaves by the same way.
    let out = plan_route(&w, &req_m((1000.0, 0.0), (-1500.0, 1500.0)));
    assert!(out.is_ok_and(|o| (o.length_m - route.length_m).abs() < 1.0));
}

#[test]
fn a_corridor_two_and_a_half_margins_wide_is_flown_through() {
    let w = world(vec![
        box_m("south", 0.0, -1500.0, 3000.0, -125.0),
        box_m("north", 0.0, 125.0, 3000.0, 1500.0),
    ]);
    let r = req_m((-2000.0, 300.0), (5000.0, -300.0));
    let route = check(&w, &r, &["south", "north"]);
    for id in ["south", "north"] {
        assert!(leg_clearances(&w, &route, id).iter().all(|&d| d >= 100.0));
    }
    assert!(route.waypoints.len() > 2, "it bends at the mouths");
    let straight = distance_m(r.from, r.to);
    assert!(
        route.length_m < straight * 1.01,
        "{} vs {straight}",
        route.length_m
    );
    same_as_reference(&w, &r, &route);
}

/// A five-tipped star, tips 1.5 km out, notches 400 m in.
fn star() -> Zone {
    let pts: Vec<(f64, f64)> = (0..10)
        .map(|k| {
            let a = f64::from(k) * std::f64::consts::PI / 5.0;
            let r = if k % 2 == 0 { 1500.0 } else { 400.0 };
            (r * a.cos(), r * a.sin())
        })
        .collect();
    zone_m("star", &pts)
}

#[test]
fn a_stars_notch_is_reached_and_left() {
    let w = world(vec![star()]);
    // In the notch between the tips at 0° and 72°, 1.1 km out.
    let a = 36f64.to_radians();
    let inside = (1100.0 * a.cos(), 1100.0 * a.sin());
    let outside = (-4000.0, -500.0);
    for r in [req_m(outside, inside), req_m(inside, outside)] {
        let route = plan_route(&w, &r).unwrap_or_else(|e| panic!("{e}"));
        let d = leg_clearances(&w, &route, "star");
        assert!(d.iter().all(|&d| d >= 100.0), "{d:?}");
        assert!(route.within_margin.is_empty());
        same_as_reference(&w, &r, &route);
    }
}

#[test]
fn the_margin_holds_past_a_tip_on_a_straight_leg() {
    // A tip 0.3 m short of the direct line.
    let w = world(vec![zone_m(
        "tip",
        &[(-800.0, -2000.0), (800.0, -2000.0), (0.0, -0.3)],
    )]);
    let r = req_m((-3000.0, 0.0), (3000.0, 0.0));
    let route = plan_route(&w, &r).unwrap_or_else(|e| panic!("{e}"));
    let d = leg_clearances(&w, &route, "tip");
    assert!(d.iter().all(|&d| d >= 100.0), "{d:?}");
    // At least the margin; at most what the node standing on the arc's
    // circumscribed polygon (30° steps) gives.
    let c = route.clearance_m.unwrap_or(f64::NAN);
    assert!((100.0..=104.0).contains(&c), "clearance {c}");
    // The bend costs what the exact offset does, within half a percent.
    let exact = 2.0 * (3000.0f64.powi(2) - 100.0f64.powi(2)).sqrt()
        + 100.0 * 2.0 * (100.0f64 / 3000.0).asin();
    assert!(
        route.length_m < exact * 1.005,
        "{} vs {exact}",
        route.length_m
    );
    same_as_reference(&w, &r, &route);
}

#[test]
fn a_u_trap_is_left_by_its_opening() {
    // A U open to the north: slot 400 m wide and 2 km deep; the drone
    // starts at the bottom of the slot, the target lies south of the base.
    let w = world(vec![zone_m(
        "u",
        &[
            (-700.0, 0.0),
            (700.0, 0.0),
            (700.0, 2500.0),
            (200.0, 2500.0),
            (200.0, 500.0),
            (-200.0, 500.0),
            (-200.0, 2500.0),
            (-700.0, 2500.0),
        ],
    )]);
    let r = req_m((0.0, 700.0), (0.0, -1500.0));
    let route = plan_route(&w, &r).unwrap_or_else(|e| panic!("{e}"));
    let d = leg_clearances(&w, &route, "u");
    assert!(d.iter().all(|&d| d >= 100.0), "{d:?}");
    // Out of the top of the slot, round an arm, down to the target.
    let top = route
        .waypoints
        .iter()
        .map(|&p| frame().project(p)[1])
        .fold(f64::MIN, f64::max);
    assert!(top > 2500.0, "highest point {top}");
    same_as_reference(&w, &r, &route);
}

#[test]
fn a_target_near_a_zone_is_approached_that_close_on_the_last_leg_only() {
    // A casualty 30 m off a wall's face, the drone coming round its end.
    let w = world(vec![box_m("wall", 0.0, -2000.0, 200.0, 2000.0)]);
    let r = req_m((-1000.0, 2500.0), (230.0, 0.0));
    let route = plan_route(&w, &r).unwrap_or_else(|e| panic!("{e}"));
    let d = leg_clearances(&w, &route, "wall");
    let last = d.len() - 1;
    for (i, d) in d.iter().enumerate() {
        assert!(*d >= if i == last { 29.9 } else { 100.0 }, "leg {i}: {d}");
    }
    assert_eq!(route.within_margin, vec![ZoneId("wall".into())]);
    same_as_reference(&w, &r, &route);
}

#[test]
fn a_coastline_of_thousands_of_corners_is_passed_round_its_hull() {
    // A bay-and-headland ring of 3,000 corners, 5 km across.
    let pts = crate::synth::bay_ring(3000, 2500.0, 0.02);
    let w = world(vec![zone_m("coast", &pts)]);
    let r = req_m((-6000.0, 300.0), (6000.0, -300.0));
    let route = plan_route(&w, &r).unwrap_or_else(|e| panic!("{e}"));
    let d = leg_clearances(&w, &route, "coast");
    assert!(d.iter().all(|&d| d >= 100.0), "{d:?}");
    // Few bends (the hull's), and within the arcs' bound of the
    // reference over every corner.
    assert!(
        route.waypoints.len() < 20,
        "{} waypoints",
        route.waypoints.len()
    );
    let reference = plan_route_reference(&w, &r, ARC_STEP_RAD).unwrap_or_else(|e| panic!("{e}"));
    let ratio = route.length_m / reference.length_m;
    assert!((0.99..1.02).contains(&ratio), "{ratio}");
}

#[test]
fn outside_the_region_is_refused() {
    let w = world(vec![]);
    assert!(matches!(
        plan_route(&w, &req((30.5, 120.5), (31.5, 120.5))),
        Err(RouteError::OutsideRegion { .. })
    ));
}

// --- Altitude bands and time windows at the ends of the flight. ---

#[test]
fn a_band_holds_its_floor_and_its_ceiling() {
    // The drone cruises at 60 m: a zone from 60 m up, or up to 60 m, is in
    // its way; one from 60.5 m up is not.
    let trip = req((30.5, 120.3), (30.5, 120.7));
    for (floor, ceiling, blocks) in [
        (60.0, 500.0, true),
        (0.0, 60.0, true),
        (60.5, 500.0, false),
        (0.0, 59.5, false),
    ] {
        let mut z = rect("band", 30.3, 120.49, 30.52, 120.51);
        (z.floor_m, z.ceiling_m) = (floor, ceiling);
        let w = world(vec![z]);
        let route = plan_route(&w, &trip).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(route.waypoints.len() > 2, blocks, "band {floor}-{ceiling}");
        assert_eq!(route.avoided.len(), usize::from(blocks));
    }
}

/// A closure whose south edge runs 20 m north of the casualty at (500, 0),
/// opening `opens_s` after 12:00.
fn closure_north_of_the_casualty(opens_s: i64) -> Zone {
    let mut z = box_m("closure", -1000.0, 20.0, 2000.0, 1500.0);
    z.window.from = Some(t("2026-09-28T12:00:00Z") + chrono::TimeDelta::seconds(opens_s));
    z
}

#[test]
fn a_casualty_by_a_closure_that_opens_on_arrival_is_reached_straight() {
    // 3 km from the south: on scene after 230 s; the closure opens at 240 s,
    // within the arrival's tolerance, so the last leg is judged with it in
    // force, and it may come as close as the casualty is (20 m).
    let w = world(vec![closure_north_of_the_casualty(240)]);
    let out = req_m((500.0, -3000.0), (500.0, 0.0));
    let route = plan_route(&w, &out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(route.waypoints.len(), 2, "{:?}", route.waypoints);
    let straight = distance_m(out.from, out.to);
    assert!(
        (route.length_m - straight).abs() < 1e-6,
        "{}",
        route.length_m
    );
    assert_eq!(route.within_margin, vec![ZoneId("closure".into())]);
    assert!(crate::audit::audit_route(&w, &out, &route).is_ok());
    // The way home, on the sortie's clock (after two minutes on scene):
    // straight out of the margin.
    let mut back = req_m((500.0, 0.0), (500.0, -3000.0));
    back.pre_cruise_s = out.pre_cruise_s + route.duration_s(out.speed_mps) + 120.0;
    let home = plan_route(&w, &back).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(home.waypoints.len(), 2);
    assert!(crate::audit::audit_route(&w, &back, &home).is_ok());
    // The hover is outside the closure: allowed while it opens.
    assert_eq!(check_hover(&w, &out, 230.0, 120.0), Ok(()));
}

#[test]
fn a_zone_opening_on_the_way_home_keeps_out_of_the_return() {
    // A wall across the way home, opening 18 minutes after the report. The
    // outbound flight (10 min) and the time on scene (5 min) come first, so
    // it opens while the drone is on the way home (15 to 24 min): it goes
    // round.
    let mut wall = box_m("wall", -1500.0, -4000.0, 1500.0, -3900.0);
    wall.window.from = Some(t("2026-09-28T12:18:00Z"));
    let w = world(vec![wall]);
    let mut back = req_m((0.0, 0.0), (0.0, -8000.0));
    back.pre_cruise_s = 900.0;
    let home = plan_route(&w, &back).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(home.avoided, vec![ZoneId("wall".into())]);
    assert!(crate::audit::audit_route(&w, &back, &home).is_ok());
    // Asked as if the clock started at the scene, the same wall would be
    // crossed before it opens.
    back.pre_cruise_s = 0.0;
    let early = plan_route(&w, &back).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(early.crossed_inactive, vec![ZoneId("wall".into())]);
}

#[test]
fn a_hover_inside_a_zone_that_opens_on_scene_is_refused() {
    // The casualty lies inside a zone opening 5 minutes after the report;
    // the drone is there after about 4 minutes and hovers for 3.
    let mut z = box_m("closure", -500.0, -500.0, 500.0, 500.0);
    z.window.from = Some(t("2026-09-28T12:05:00Z"));
    let w = world(vec![z.clone()]);
    let out = req_m((0.0, -3500.0), (0.0, 0.0));
    assert_eq!(
        check_hover(&w, &out, 240.0, 180.0),
        Err(RouteError::TargetInZone {
            zone: ZoneId("closure".into()),
            name: "closure".into()
        })
    );
    // Away before it opens (and its tolerance): allowed.
    assert_eq!(check_hover(&w, &out, 100.0, 60.0), Ok(()));
    // A rescue may be in a rescue-exempt zone.
    z.rescue_exempt = true;
    let w = world(vec![z]);
    assert_eq!(check_hover(&w, &out, 240.0, 180.0), Ok(()));
}

#[test]
fn a_target_in_a_zone_that_ends_before_arrival_is_reached_after_it_ends() {
    // The zone round the casualty is in force for the first minute; the
    // drone gets there after about 25 minutes.
    let mut z = box_m("early", -500.0, -500.0, 500.0, 500.0);
    z.window.until = Some(t("2026-09-28T12:01:00Z"));
    let w = world(vec![z]);
    let out = req_m((-20_000.0, 0.0), (0.0, 0.0));
    let route = plan_route(&w, &out).unwrap_or_else(|e| panic!("{e}"));
    assert!(crate::audit::audit_route(&w, &out, &route).is_ok());
    assert_eq!(route.crossed_inactive, vec![ZoneId("early".into())]);
}

//! An audit of planned flights, apart from the planner: for tests, the
//! routing figures and the regression worlds.
//!
//! It shares with the planner only the rules, not the code: every leg is
//! checked with `geo` (the distance from the segment to each zone's polygon
//! in the region's frame) against every zone whose band holds the cruise
//! altitude (inclusive) and that is in force at some moment the drone may
//! be on the leg: from reaching the leg's first point to reaching its last,
//! widened by [`leg_tolerance_s`] of the time flown since the sortie's
//! departure. A leg keeps the route margin from such a zone, except that
//! the first leg may come as close to a zone as its start is (and leave a
//! zone the start lies in), and the last leg as close as its target is (and
//! enter a rescue-exempt zone holding it, on a rescue). On scene, the drone
//! must not be inside a zone in force while it hovers (unless a rescue may
//! enter it).

use chrono::TimeDelta;
use geo::{Contains, Coord, Distance, Euclidean, Line, LineString, Point, Polygon};

use crate::assign::Assignment;
use crate::geodesy::distance_m;
use crate::model::{LatLon, Timestamp, Zone};
use crate::routing::{Route, RouteRequest, leg_tolerance_s};
use crate::world::World;

/// Numerical slack: distances to a zone, metres, and leg interval ends,
/// seconds (the planner measures legs in the frame, the audit geodesically).
const SLACK_M: f64 = 0.5;
const SLACK_S: f64 = 1.0;

/// One flight to audit: its points, when it leaves the first (seconds after
/// `depart`), and how it flies.
#[derive(Debug, Clone)]
pub struct Flight<'a> {
    pub waypoints: &'a [LatLon],
    pub depart: Timestamp,
    /// Seconds after `depart` the drone leaves the first waypoint at cruise.
    pub cruise_from_s: f64,
    pub speed_mps: f64,
    pub altitude_m: f64,
    pub rescue: bool,
    /// Lenient (false): a leg fails only when it is wrong beyond the
    /// numerical slack, to check what the planner gives. Strict (true): a
    /// leg passes only when it is right with the slack to spare, to tell
    /// that a flight the planner refused was surely allowed.
    pub strict: bool,
}

/// Audits the route planned for `req`; returns the least clearance to a zone
/// in force on a leg (infinite if none), or what is wrong.
pub fn audit_route(world: &World, req: &RouteRequest, route: &Route) -> Result<f64, String> {
    audit_flight(
        world,
        &Flight {
            waypoints: &route.waypoints,
            depart: req.depart,
            cruise_from_s: req.pre_cruise_s,
            speed_mps: req.speed_mps,
            altitude_m: req.altitude_m,
            rescue: req.rescue,
            strict: false,
        },
    )
}

/// Audits an assignment: the outbound route (timed back from the arrival),
/// the hover on scene for `on_scene_s`, and the return route after it.
pub fn audit_assignment(
    world: &World,
    a: &Assignment,
    reported: Timestamp,
    on_scene_s: f64,
    rescue: bool,
) -> Result<(), String> {
    let speed = world
        .drone(&a.chosen.drone)
        .map(|d| d.performance.cruise_speed_mps)
        .ok_or_else(|| format!("unknown drone {}", a.chosen.drone))?;
    let out_s = path_length(&a.route.waypoints) / speed;
    audit_sortie(
        world,
        &Sortie {
            out: &a.route.waypoints,
            back: &a.return_route.waypoints,
            depart: reported,
            cruise_from_s: a.chosen.eta_s - out_s,
            on_scene_s,
            speed_mps: speed,
            altitude_m: world.params().cruise_altitude_m,
            rescue,
            strict: false,
        },
    )
}

/// A whole sortie to audit: `out` flown at cruise from `cruise_from_s`
/// after `depart`, a hover of `on_scene_s` at its end, then `back`.
#[derive(Debug, Clone)]
pub struct Sortie<'a> {
    pub out: &'a [LatLon],
    pub back: &'a [LatLon],
    pub depart: Timestamp,
    pub cruise_from_s: f64,
    pub on_scene_s: f64,
    pub speed_mps: f64,
    pub altitude_m: f64,
    pub rescue: bool,
    /// See [`Flight::strict`].
    pub strict: bool,
}

/// Audits a whole sortie.
pub fn audit_sortie(world: &World, s: &Sortie) -> Result<(), String> {
    let flight = |waypoints, cruise_from_s| Flight {
        waypoints,
        depart: s.depart,
        cruise_from_s,
        speed_mps: s.speed_mps,
        altitude_m: s.altitude_m,
        rescue: s.rescue,
        strict: s.strict,
    };
    audit_flight(world, &flight(s.out, s.cruise_from_s)).map_err(|e| format!("outbound: {e}"))?;
    let Some(&scene) = s.out.last() else {
        return Err("empty outbound route".into());
    };
    let arrive_s = s.cruise_from_s + path_length(s.out) / s.speed_mps;
    let leave_s = arrive_s + s.on_scene_s;
    let (from, until) = widened(s.depart, arrive_s, leave_s, s.strict);
    let p = world.frame().project(scene);
    for z in world.zones().filter(|z| in_band(z, s.altitude_m)) {
        let open_to_it = s.rescue && z.rescue_exempt;
        if !open_to_it && z.window.overlaps(from, until) && projected(world, z).contains(&pt(p)) {
            return Err(format!("hovers inside zone {} while it is in force", z.id));
        }
    }
    audit_flight(world, &flight(s.back, leave_s)).map_err(|e| format!("return: {e}"))?;
    Ok(())
}

/// Audits one flight; returns the least clearance found.
pub fn audit_flight(world: &World, f: &Flight) -> Result<f64, String> {
    let margin = world.params().route_margin_m;
    let zones: Vec<(&Zone, Polygon<f64>)> = world
        .zones()
        .filter(|z| in_band(z, f.altitude_m))
        .map(|z| (z, projected(world, z)))
        .collect();
    let pts: Vec<[f64; 2]> = f
        .waypoints
        .iter()
        .map(|&p| world.frame().project(p))
        .collect();
    let (Some(&start), Some(&target)) = (pts.first(), pts.last()) else {
        return Err("empty route".into());
    };
    let legs = pts.len().saturating_sub(1);
    let mut t = f.cruise_from_s;
    let mut least = f64::INFINITY;
    for (i, (leg, ll)) in pts.windows(2).zip(f.waypoints.windows(2)).enumerate() {
        let t1 = t + distance_m(ll[0], ll[1]) / f.speed_mps;
        let (from, until) = widened(f.depart, t, t1, f.strict);
        t = t1;
        let seg = Line::new(
            Coord {
                x: leg[0][0],
                y: leg[0][1],
            },
            Coord {
                x: leg[1][0],
                y: leg[1][1],
            },
        );
        for (z, poly) in &zones {
            if !z.window.overlaps(from, until) {
                continue;
            }
            let mut limit = if f.strict {
                margin + SLACK_M
            } else {
                margin - SLACK_M
            };
            // The target first: a leg from inside a zone to a point in it
            // does not leave it.
            if i + 1 == legs {
                if poly.contains(&pt(target)) || touches(poly, target) {
                    if f.rescue && z.rescue_exempt {
                        continue;
                    }
                    return Err(format!(
                        "leg {i} of {legs} ends inside zone {} in force from {from} to {until}",
                        z.id
                    ));
                }
                limit = limit.min(end_limit(Euclidean.distance(&pt(target), poly), f.strict));
            }
            if i == 0 {
                if poly.contains(&pt(start)) || touches(poly, start) {
                    continue; // leaving the zone it starts in
                }
                limit = limit.min(end_limit(Euclidean.distance(&pt(start), poly), f.strict));
            }
            let d = Euclidean.distance(&seg, poly);
            least = least.min(d);
            if d < limit {
                return Err(format!(
                    "leg {i} of {legs} passes {d:.2} m from zone {} (limit {limit:.2} m), \
                     in force while the drone may be on it ({from} to {until})",
                    z.id
                ));
            }
        }
    }
    Ok(least)
}

fn in_band(z: &Zone, altitude_m: f64) -> bool {
    z.floor_m <= altitude_m && altitude_m <= z.ceiling_m
}

/// The planner's leg interval: from `t0_s` less its tolerance (not before
/// departure) to `t1_s` plus its tolerance; narrowed by the slack, or
/// widened by it when `strict`.
fn widened(depart: Timestamp, t0_s: f64, t1_s: f64, strict: bool) -> (Timestamp, Timestamp) {
    let slack = if strict { -SLACK_S } else { SLACK_S };
    (
        depart + secs((t0_s - leg_tolerance_s(t0_s)).max(0.0) + slack),
        depart + secs(t1_s + leg_tolerance_s(t1_s) - slack),
    )
}

/// How close the first (last) leg may come to a zone its start (target)
/// lies `d` metres from: the planner keeps 0.999 of it; the strict audit
/// asks for a little more, not less.
fn end_limit(d: f64, strict: bool) -> f64 {
    if strict { d * 0.9995 } else { d * 0.999 - 0.05 }
}

fn secs(s: f64) -> TimeDelta {
    TimeDelta::milliseconds((s.max(0.0) * 1000.0).round() as i64)
}

fn pt(p: [f64; 2]) -> Point<f64> {
    Point::new(p[0], p[1])
}

fn touches(poly: &Polygon<f64>, p: [f64; 2]) -> bool {
    Euclidean.distance(&pt(p), poly) < 1e-6
}

fn path_length(w: &[LatLon]) -> f64 {
    w.windows(2).map(|l| distance_m(l[0], l[1])).sum()
}

/// A zone's polygon in the world's frame (metres).
fn projected(world: &World, z: &Zone) -> Polygon<f64> {
    let ring = |r: &LineString<f64>| {
        LineString::new(
            r.0.iter()
                .map(|c| {
                    let q = world.frame().project(LatLon::new(c.y, c.x));
                    Coord { x: q[0], y: q[1] }
                })
                .collect(),
        )
    };
    Polygon::new(
        ring(z.polygon.exterior()),
        z.polygon.interiors().iter().map(ring).collect(),
    )
}

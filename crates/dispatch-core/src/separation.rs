//! Our own sorties in space and time: every sortie's 4D path (where the
//! drone is, how high, when), and the check that keeps a new sortie the
//! configured separation from every other one.
//!
//! A path is piecewise linear in time: on the ground in its hangar until
//! lift-off, straight up to its layer, each leg at the ground speed the wind
//! allows, a hold over the scene (a disc of [`SCENE_RADIUS_M`]), the way home
//! and straight down. Two paths conflict when, at some moment, both drones
//! are in the air and closer than the separation horizontally *and*
//! vertically. Because flights drift from their plans (a launch that takes
//! longer, a gust), each moment of one path is compared with the other path
//! over [`Separation::time_margin_s`] either side.
//!
//! The plan for a new sortie tries its cruise altitude first, then each
//! other configured layer (nearest first), then the same with a delayed
//! start on the ground in steps of [`Separation::delay_step_s`] up to
//! [`Separation::max_start_delay_s`]. A drone in the air cannot wait on the
//! ground: it only changes layer. Two drones of one hangar are sequenced by
//! the same rule: their climbs (or a climb and a descent) over the hangar
//! conflict, so the second waits until the first is clear.

use serde::{Deserialize, Serialize};

use crate::geodesy::distance_m;
use crate::model::{DroneId, IncidentId, LatLon, Timestamp};

/// The horizontal extent of a hold or an orbit over the scene, metres.
pub const SCENE_RADIUS_M: f64 = 100.0;
/// Track spacing of the expanding-square search over a missing person's
/// last known position, metres (the mission the fleet flies uses it too).
pub const SEARCH_SPACING_M: f64 = 60.0;

/// The corners of an expanding-square search round the centre, (north,
/// east) metres: legs of one spacing, one spacing longer every two legs,
/// until `length_m` is flown (at most 60 corners).
pub fn expanding_square_m(length_m: f64, spacing_m: f64) -> Vec<(f64, f64)> {
    let dirs = [(1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0)];
    let (mut n, mut e, mut flown) = (0.0, 0.0, 0.0);
    let mut out = Vec::new();
    let mut leg = 0usize;
    while flown < length_m && out.len() < 60 && spacing_m > 0.0 {
        let len = spacing_m * (leg / 2 + 1) as f64;
        let (dn, de) = dirs[leg % 4];
        n += dn * len;
        e += de * len;
        flown += len;
        out.push((n, e));
        leg += 1;
    }
    out
}

/// How far from its centre an expanding-square search of `length_m` goes, metres.
pub fn search_radius_m(length_m: f64, spacing_m: f64) -> f64 {
    expanding_square_m(length_m, spacing_m)
        .into_iter()
        .map(|(n, e)| n.hypot(e))
        .fold(0.0, f64::max)
}

/// Below this height a drone counts as on the ground (not separated).
pub const GROUND_M: f64 = 2.0;
/// Paths are compared at this step, seconds.
const SAMPLE_S: f64 = 1.0;
/// How fast two of our drones can close on each other, m/s: horizontally
/// (two frames at 30 m/s head on) and vertically (one climbing, one
/// descending); bounds how far ahead a far-apart pair may be skipped.
const CLOSING_MPS: f64 = 60.0;
const CLOSING_VERTICAL_MPS: f64 = 15.0;

/// Separation rules (`[planning]` of the configuration).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Separation {
    pub horizontal_m: f64,
    pub vertical_m: f64,
    /// Altitudes a sortie may cruise at besides the cruise altitude, metres.
    pub layers_m: Vec<f64>,
    /// The legal ceiling: no layer above it, metres.
    pub ceiling_m: f64,
    pub max_start_delay_s: f64,
    pub delay_step_s: f64,
    /// How far a flight may drift from its plan in time, seconds.
    pub time_margin_s: f64,
}

impl Default for Separation {
    fn default() -> Self {
        Separation {
            horizontal_m: 150.0,
            vertical_m: 20.0,
            layers_m: vec![60.0, 85.0, 110.0],
            ceiling_m: 120.0,
            max_start_delay_s: 180.0,
            delay_step_s: 15.0,
            time_margin_s: 10.0,
        }
    }
}

/// One corner of a path in space and time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PathPoint {
    pub at: Timestamp,
    pub position: LatLon,
    /// Height above the hangar, metres.
    pub alt_m: f64,
    /// How far around `position` the drone may be (a hold over the scene).
    #[serde(default)]
    pub radius_m: f64,
}

/// A sortie's path and how it was separated from the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlightPath {
    /// The cruise altitude it flies at, metres.
    pub altitude_m: f64,
    /// Seconds it waits on the ground before its launch, for separation.
    pub start_delay_s: f64,
    /// Why this layer or delay (empty: nothing was in the way).
    pub note: String,
    pub points: Vec<PathPoint>,
}

/// Where two paths come too close.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    pub drone: DroneId,
    /// The other drone's incident (None: it is flying home with none).
    pub incident: Option<IncidentId>,
    pub at: Timestamp,
    pub horizontal_m: f64,
    pub vertical_m: f64,
    pub alt_m: f64,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "drone {} ({}) {:.0} m away and {:.0} m above or below at {} m at {}",
            self.drone,
            match self.incident {
                Some(i) => format!("incident {i}"),
                None => "on its way home".to_owned(),
            },
            self.horizontal_m,
            self.vertical_m,
            self.alt_m.round(),
            self.at.format("%H:%M:%S UTC")
        )
    }
}

fn secs_of(t: Timestamp) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

impl FlightPath {
    pub fn start(&self) -> Option<Timestamp> {
        self.points.first().map(|p| p.at)
    }

    pub fn end(&self) -> Option<Timestamp> {
        self.points.last().map(|p| p.at)
    }

    /// Where the drone is at `t` (None outside the path).
    pub fn at(&self, t: f64) -> Option<(LatLon, f64, f64)> {
        let i = self.points.partition_point(|p| secs_of(p.at) <= t);
        if i == 0 || i > self.points.len() {
            return None;
        }
        let a = self.points[i - 1];
        let Some(b) = self.points.get(i).copied() else {
            return (secs_of(a.at) == t).then_some((a.position, a.alt_m, a.radius_m));
        };
        let (ta, tb) = (secs_of(a.at), secs_of(b.at));
        let k = if tb > ta { (t - ta) / (tb - ta) } else { 1.0 };
        let lerp = |x: f64, y: f64| x + (y - x) * k;
        Some((
            LatLon::new(
                lerp(a.position.lat, b.position.lat),
                lerp(a.position.lon, b.position.lon),
            ),
            lerp(a.alt_m, b.alt_m),
            a.radius_m.max(b.radius_m),
        ))
    }

    /// Whether the boxes round the two paths come within `h_m` of each
    /// other (a cheap test before the sampled one).
    fn near(&self, other: &FlightPath, h_m: f64) -> bool {
        let (a, b) = (self.bounds(), other.bounds());
        let lat_m = 111_195.0;
        let lon_m = lat_m * a.0.to_radians().cos();
        let gap_lat = (b.0 - a.1).max(a.0 - b.1).max(0.0) * lat_m;
        let gap_lon = (b.2 - a.3).max(a.2 - b.3).max(0.0) * lon_m;
        let r = self
            .points
            .iter()
            .chain(&other.points)
            .map(|p| p.radius_m)
            .fold(0.0, f64::max);
        gap_lat.hypot(gap_lon) < h_m + 2.0 * r
    }

    /// (min lat, max lat, min lon, max lon) of the path's corners.
    fn bounds(&self) -> (f64, f64, f64, f64) {
        self.points.iter().fold(
            (f64::MAX, f64::MIN, f64::MAX, f64::MIN),
            |(a, b, c, d), p| {
                (
                    a.min(p.position.lat),
                    b.max(p.position.lat),
                    c.min(p.position.lon),
                    d.max(p.position.lon),
                )
            },
        )
    }

    /// The whole path moved by `delta` (a launch later than planned).
    pub fn shift(&mut self, delta: chrono::TimeDelta) {
        for p in &mut self.points {
            p.at += delta;
        }
    }

    /// The first moment this path comes within `sep` of `other`'s.
    pub fn conflict_with(
        &self,
        other: &FlightPath,
        sep: &Separation,
    ) -> Option<(Timestamp, f64, f64, f64)> {
        let (s0, s1) = (secs_of(self.start()?), secs_of(self.end()?));
        let (o0, o1) = (secs_of(other.start()?), secs_of(other.end()?));
        let m = sep.time_margin_s;
        let (from, to) = (s0.max(o0 - m), s1.min(o1 + m));
        if from > to || !self.near(other, sep.horizontal_m) {
            return None;
        }
        // Far apart, the next moment that could conflict is some way off:
        // the gap cannot close faster than two drones fly at each other
        // (horizontally, or climbing and descending).
        let mut t = from;
        while t <= to {
            let mut skip = f64::MAX;
            if let Some((p, alt, r)) = self.at(t)
                && alt >= GROUND_M
            {
                let mut dt = -m;
                while dt <= m {
                    if let Some((q, alt2, r2)) = other.at(t + dt)
                        && alt2 >= GROUND_M
                    {
                        let h = (distance_m(p, q) - r - r2).max(0.0);
                        let v = (alt - alt2).abs();
                        if h < sep.horizontal_m && v < sep.vertical_m {
                            let at = chrono::DateTime::from_timestamp_millis((t * 1000.0) as i64)
                                .unwrap_or_default();
                            return Some((at, h, v, alt));
                        }
                        let gap = ((h - sep.horizontal_m) / CLOSING_MPS)
                            .max((v - sep.vertical_m) / CLOSING_VERTICAL_MPS);
                        skip = skip.min(gap);
                    } else {
                        skip = skip.min(SAMPLE_S);
                    }
                    dt += (2.0 * SAMPLE_S).min(m.max(SAMPLE_S));
                }
            } else {
                skip = SAMPLE_S;
            }
            t += skip.clamp(SAMPLE_S, 600.0);
        }
        None
    }
}

/// The paths of the sorties planned or flying, one per drone.
#[derive(Debug, Clone, Default)]
pub struct Flights {
    paths: std::collections::BTreeMap<DroneId, (Option<IncidentId>, FlightPath)>,
}

impl Flights {
    pub fn insert(&mut self, drone: DroneId, incident: IncidentId, path: FlightPath) {
        self.paths.insert(drone, (Some(incident), path));
    }

    /// The path of a drone flying home with no incident of ours (one found
    /// in the air at start).
    pub fn insert_homeward(&mut self, drone: DroneId, path: FlightPath) {
        self.paths.insert(drone, (None, path));
    }

    pub fn remove(&mut self, drone: &DroneId) {
        self.paths.remove(drone);
    }

    /// Moves the path of `drone`'s sortie for `incident` by `delta` (the
    /// way home of another drone that once had the incident stays put).
    pub fn shift(&mut self, drone: &DroneId, incident: IncidentId, delta: chrono::TimeDelta) {
        if let Some((i, p)) = self.paths.get_mut(drone)
            && *i == Some(incident)
        {
            p.shift(delta);
        }
    }

    /// Forgets paths that ended before `now` of drones `on_ground` says
    /// are down.
    pub fn expire(&mut self, now: Timestamp, on_ground: impl Fn(&DroneId) -> bool) {
        self.paths
            .retain(|d, (_, p)| p.end().is_none_or(|e| e >= now) || !on_ground(d));
    }

    /// The first other sortie `path` (of `drone`) would come too close to.
    pub fn first_conflict(
        &self,
        drone: &DroneId,
        path: &FlightPath,
        sep: &Separation,
    ) -> Option<Conflict> {
        self.paths
            .iter()
            .filter(|(d, _)| *d != drone)
            .find_map(|(d, (incident, other))| {
                path.conflict_with(other, sep)
                    .map(|(at, h, v, alt)| Conflict {
                        drone: d.clone(),
                        incident: *incident,
                        at,
                        horizontal_m: h,
                        vertical_m: v,
                        alt_m: alt,
                    })
            })
    }

    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// The incident and path of `drone`'s sortie.
    pub fn entry(&self, drone: &DroneId) -> Option<(Option<IncidentId>, &FlightPath)> {
        self.paths.get(drone).map(|(i, p)| (*i, p))
    }

    pub fn get(&self, drone: &DroneId) -> Option<&FlightPath> {
        self.paths.get(drone).map(|(_, p)| p)
    }
}

/// Separates a new sortie `a` (for `need`) from the others: its own plan
/// when nothing is in the way, else the first layer and start delay that
/// is clear; `Err` with the reason when none is within the limits.
pub fn separate(
    world: &crate::world::World,
    flights: &Flights,
    need: &crate::assign::Need,
    a: crate::assign::Assignment,
) -> Result<crate::assign::Assignment, String> {
    let sep = world.separation();
    let drone = a.chosen.drone.clone();
    let Some(path) = a.flight.clone() else {
        return Ok(a);
    };
    let Some(first) = flights.first_conflict(&drone, &path, sep) else {
        return Ok(a);
    };
    let on_ground = world.drone(&drone).is_some_and(|d| d.state.is_on_ground());
    let base = world.params().cruise_altitude_m;
    let layers = layer_order(base, sep);
    let steps = if on_ground && sep.delay_step_s > 0.0 {
        (sep.max_start_delay_s / sep.delay_step_s).floor() as usize
    } else {
        0
    };
    // One plan per layer; a delayed start is that plan later on the ground
    // (the same route), planned again only for the choice.
    let mut last = first.clone();
    let mut plans: Vec<(f64, FlightPath)> = Vec::new();
    for &layer in &layers {
        if (layer - base).abs() < 0.5 {
            plans.push((layer, path.clone()));
            continue;
        }
        let n = crate::assign::Need {
            altitude_m: Some(layer),
            ..*need
        };
        if let Ok(b) = crate::assign::assign_to(world, &n, &drone)
            && let Some(p) = b.flight
        {
            plans.push((layer, p));
        }
    }
    for k in 0..=steps {
        let delay = k as f64 * sep.delay_step_s;
        for (layer, p) in &plans {
            if k == 0 && (layer - base).abs() < 0.5 {
                continue;
            }
            let mut trial = delayed(p, delay);
            if let Some(c) = flights.first_conflict(&drone, &trial, sep) {
                last = c;
                continue;
            }
            let n = crate::assign::Need {
                altitude_m: Some(*layer),
                start_delay_s: delay,
                ..*need
            };
            let Ok(mut b) = crate::assign::assign_to(world, &n, &drone) else {
                continue;
            };
            // The plan made for the delay is the one flown: check it too.
            if let Some(f) = b.flight.as_mut() {
                if let Some(c) = flights.first_conflict(&drone, f, sep) {
                    last = c;
                    continue;
                }
                trial = f.clone();
            }
            let what = match ((layer - base).abs() > 0.5, delay > 0.0) {
                (true, true) => format!("at {layer:.0} m, {delay:.0} s later"),
                (true, false) => format!("at {layer:.0} m"),
                _ => format!("{delay:.0} s later"),
            };
            trial.note = format!("{what}: at {base:.0} m from now it would pass {first}");
            b.flight = Some(trial);
            b.alternatives = a.alternatives;
            b.rejected = a.rejected;
            return Ok(b);
        }
    }
    Err(format!(
        "drone {drone} has no altitude layer free within {:.0} s: it would pass {last}",
        if on_ground {
            sep.max_start_delay_s
        } else {
            0.0
        }
    ))
}

/// `p` with its start on the ground `delay_s` later: the ground point
/// stays, every later corner moves.
pub(crate) fn delayed(p: &FlightPath, delay_s: f64) -> FlightPath {
    let mut q = p.clone();
    if delay_s > 0.0 {
        let d = chrono::TimeDelta::milliseconds((delay_s * 1000.0) as i64);
        for pt in q.points.iter_mut().skip(1) {
            pt.at += d;
        }
        q.start_delay_s += delay_s;
    }
    q
}

/// The layers to try for a sortie whose cruise altitude is `base`: `base`
/// first, then the others under the ceiling, nearest first.
pub fn layer_order(base: f64, sep: &Separation) -> Vec<f64> {
    let mut v: Vec<f64> = sep
        .layers_m
        .iter()
        .copied()
        .filter(|l| (*l - base).abs() > 0.5 && *l <= sep.ceiling_m)
        .collect();
    v.sort_by(|a, b| (a - base).abs().total_cmp(&(b - base).abs()));
    v.insert(0, base);
    v
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone, Utc};

    use super::*;

    fn t(s: f64) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 9, 28, 5, 0, 0).unwrap()
            + TimeDelta::milliseconds((s * 1000.0) as i64)
    }

    /// A straight flight east from `lon0` at `alt`, leaving at `t0`, 15 m/s.
    fn east(t0: f64, lon0: f64, alt: f64, seconds: f64) -> FlightPath {
        let lat: f64 = 30.4;
        let m_per_deg = 111_195.0 * lat.to_radians().cos();
        let end = lon0 + 15.0 * seconds / m_per_deg;
        FlightPath {
            altitude_m: alt,
            start_delay_s: 0.0,
            note: String::new(),
            points: vec![
                PathPoint {
                    at: t(t0),
                    position: LatLon::new(lat, lon0),
                    alt_m: alt,
                    radius_m: 0.0,
                },
                PathPoint {
                    at: t(t0 + seconds),
                    position: LatLon::new(lat, end),
                    alt_m: alt,
                    radius_m: 0.0,
                },
            ],
        }
    }

    #[test]
    fn two_drones_in_line_at_one_height_conflict_and_a_layer_apart_do_not() {
        let sep = Separation::default();
        let a = east(0.0, 120.50, 60.0, 600.0);
        // 3 s behind: 45 m.
        assert!(
            east(3.0, 120.50, 60.0, 600.0)
                .conflict_with(&a, &sep)
                .is_some()
        );
        // 25 m above: apart.
        assert!(
            east(3.0, 120.50, 85.0, 600.0)
                .conflict_with(&a, &sep)
                .is_none()
        );
        // 19 m above: not enough.
        assert!(
            east(3.0, 120.50, 79.0, 600.0)
                .conflict_with(&a, &sep)
                .is_some()
        );
        // Far enough behind even with the drift margin (150 m + 10 s at 15 m/s).
        assert!(
            east(21.0, 120.50, 60.0, 600.0)
                .conflict_with(&a, &sep)
                .is_none()
        );
        assert!(
            east(14.0, 120.50, 60.0, 600.0)
                .conflict_with(&a, &sep)
                .is_some()
        );
    }

    #[test]
    fn paths_that_do_not_overlap_in_time_do_not_conflict() {
        let sep = Separation::default();
        let a = east(0.0, 120.50, 60.0, 100.0);
        let b = east(200.0, 120.50, 60.0, 100.0);
        assert!(a.conflict_with(&b, &sep).is_none());
    }

    #[test]
    fn a_crossing_at_the_same_time_conflicts() {
        let sep = Separation::default();
        let a = east(0.0, 120.50, 60.0, 200.0);
        // North-bound through a's track, at a's position at t = 100 s.
        let (p, _, _) = a.at(secs_of(t(100.0))).unwrap();
        let b = FlightPath {
            points: vec![
                PathPoint {
                    at: t(50.0),
                    position: LatLon::new(p.lat - 50.0 * 15.0 / 111_195.0, p.lon),
                    alt_m: 60.0,
                    radius_m: 0.0,
                },
                PathPoint {
                    at: t(150.0),
                    position: LatLon::new(p.lat + 50.0 * 15.0 / 111_195.0, p.lon),
                    alt_m: 60.0,
                    radius_m: 0.0,
                },
            ],
            ..a.clone()
        };
        let c = b.conflict_with(&a, &sep).unwrap();
        assert!(c.1 < 150.0);
    }

    #[test]
    fn on_the_ground_is_not_in_the_air() {
        let sep = Separation::default();
        let mut a = east(0.0, 120.50, 0.0, 100.0);
        a.points.iter_mut().for_each(|p| p.alt_m = 0.0);
        let b = east(0.0, 120.50, 0.5, 100.0);
        assert!(a.conflict_with(&b, &sep).is_none());
    }

    #[test]
    fn layers_are_tried_base_first_then_nearest_under_the_ceiling() {
        let sep = Separation {
            layers_m: vec![110.0, 60.0, 85.0, 140.0],
            ..Separation::default()
        };
        assert_eq!(layer_order(60.0, &sep), vec![60.0, 85.0, 110.0]);
        assert_eq!(layer_order(50.0, &sep), vec![50.0, 60.0, 85.0, 110.0]);
    }

    #[test]
    fn interpolation_and_shift() {
        let mut a = east(0.0, 120.50, 60.0, 100.0);
        let (p0, alt, _) = a.at(secs_of(t(50.0))).unwrap();
        assert!((alt - 60.0).abs() < 1e-9);
        a.shift(TimeDelta::seconds(10));
        let (p1, _, _) = a.at(secs_of(t(60.0))).unwrap();
        assert!(distance_m(p0, p1) < 0.01);
        assert!(a.at(secs_of(t(5.0))).is_none());
    }
}

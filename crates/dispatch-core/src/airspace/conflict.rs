//! Conflicts between a drone's timed path and a manned aircraft's track, in
//! four dimensions: the drone flies a piecewise-linear path through timed
//! points, the aircraft a straight line at its reported velocity. A
//! conflict is an instant at which they are closer than the horizontal
//! *and* the vertical threshold at once (ArduPilot's avoidance takes the
//! same two-cylinder view: `AVD_F_DIST_XY`, `AVD_F_DIST_Z`).
//!
//! Per leg, the relative motion is linear, so the times inside each
//! threshold are the roots of a quadratic (horizontal) and of a linear
//! inequality (vertical); the first instant of their intersection is the
//! conflict, found exactly, not by sampling.

use serde::Serialize;

use super::traffic::{Track, seconds};
use crate::model::{LatLon, Timestamp};

const M_PER_DEG: f64 = 111_195.08;

/// A point of a drone's path: where it plans to be, and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathPoint {
    pub at: Timestamp,
    pub position: LatLon,
    /// Altitude above mean sea level, metres (the track's datum).
    pub alt_m: f64,
}

/// How close is too close.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    pub horizontal_m: f64,
    pub vertical_m: f64,
}

/// The first instant both separations are under their thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Conflict {
    /// When the conflict begins.
    pub at: Timestamp,
    /// The least horizontal separation while it lasts (on that leg), metres,
    /// and the vertical separation then (aircraft minus drone: positive
    /// when the aircraft is above).
    pub horizontal_m: f64,
    pub vertical_m: f64,
    /// The aircraft's extrapolated altitude (AMSL) at the closest point.
    pub aircraft_alt_m: f64,
}

/// The first conflict between the path and the track within `[from,
/// until]` (the track extrapolated no farther). None if they keep apart,
/// or if the track has no position.
pub fn first_conflict(
    path: &[PathPoint],
    track: &Track,
    th: Thresholds,
    from: Timestamp,
    until: Timestamp,
) -> Option<Conflict> {
    let origin = path.first()?.position;
    let cos0 = origin.lat.to_radians().cos().max(0.01);
    let xy = |p: LatLon| {
        [
            (p.lon - origin.lon) * cos0 * M_PER_DEG,
            (p.lat - origin.lat) * M_PER_DEG,
        ]
    };
    let (tp, t_alt) = track.at(from)?;
    let tr0 = xy(tp);
    let [tve, tvn] = track.velocity_en();
    let tvz = track.vertical_mps;
    // Where the aircraft is `s` seconds after `from`.
    let aircraft = |s: f64| ([tr0[0] + tve * s, tr0[1] + tvn * s], t_alt + tvz * s);
    let single;
    let legs: &[PathPoint] = if path.len() == 1 {
        // A drone standing still (held) from `from` on.
        single = [
            path[0],
            PathPoint {
                at: until,
                ..path[0]
            },
        ];
        &single
    } else {
        path
    };
    for w in legs.windows(2) {
        let (a, b) = (w[0], w[1]);
        // This leg's part of [from, until], in seconds after `from`.
        let s0 = seconds(a.at - from).max(0.0);
        let s1 = seconds(b.at - from).min(seconds(until - from));
        if s1 < s0 {
            continue;
        }
        let leg_s = seconds(b.at - a.at);
        let (pa, pb) = (xy(a.position), xy(b.position));
        // The drone on this leg at `s` seconds after `from`: p0 + v (s - s0).
        let frac0 = if leg_s > 0.0 {
            (seconds(from - a.at) + s0) / leg_s
        } else {
            0.0
        };
        let lerp = |f: f64, u: f64, v: f64| u + (v - u) * f.clamp(0.0, 1.0);
        let d0 = (
            [lerp(frac0, pa[0], pb[0]), lerp(frac0, pa[1], pb[1])],
            lerp(frac0, a.alt_m, b.alt_m),
        );
        let dv = if leg_s > 0.0 {
            (
                [(pb[0] - pa[0]) / leg_s, (pb[1] - pa[1]) / leg_s],
                (b.alt_m - a.alt_m) / leg_s,
            )
        } else {
            ([0.0, 0.0], 0.0)
        };
        // Relative (aircraft minus drone) at s0 and its rate.
        let (ac, az) = aircraft(s0);
        let r = [ac[0] - d0.0[0], ac[1] - d0.0[1]];
        let rv = [tve - dv.0[0], tvn - dv.0[1]];
        let z = az - d0.1;
        let zv = tvz - dv.1;
        let span = s1 - s0;
        let Some((h0, h1)) = horizontal_window(r, rv, th.horizontal_m, span) else {
            continue;
        };
        let Some((v0, v1)) = vertical_window(z, zv, th.vertical_m, span) else {
            continue;
        };
        let (lo, hi) = (h0.max(v0), h1.min(v1));
        if lo > hi {
            continue;
        }
        // The closest horizontal point while both hold.
        let rv2 = rv[0] * rv[0] + rv[1] * rv[1];
        let tmin = if rv2 > 0.0 {
            (-(r[0] * rv[0] + r[1] * rv[1]) / rv2).clamp(lo, hi)
        } else {
            lo
        };
        let hx = [r[0] + rv[0] * tmin, r[1] + rv[1] * tmin];
        let s_at = s0 + lo;
        return Some(Conflict {
            at: from + chrono::TimeDelta::milliseconds((s_at * 1000.0).round() as i64),
            horizontal_m: hx[0].hypot(hx[1]),
            vertical_m: z + zv * tmin,
            aircraft_alt_m: az + tvz * tmin,
        });
    }
    None
}

/// The separations now, between a drone at `position`/`alt_m` and the
/// track extrapolated to `now`: (horizontal m, vertical m, aircraft minus drone).
pub fn separation(
    track: &Track,
    now: Timestamp,
    position: LatLon,
    alt_m: f64,
) -> Option<(f64, f64)> {
    let (p, a) = track.at(now)?;
    let cos0 = position.lat.to_radians().cos().max(0.01);
    let dx = (p.lon - position.lon) * cos0 * M_PER_DEG;
    let dy = (p.lat - position.lat) * M_PER_DEG;
    Some((dx.hypot(dy), a - alt_m))
}

/// Times in `[0, span]` when |r + v t| <= h.
fn horizontal_window(r: [f64; 2], v: [f64; 2], h: f64, span: f64) -> Option<(f64, f64)> {
    let a = v[0] * v[0] + v[1] * v[1];
    let b = 2.0 * (r[0] * v[0] + r[1] * v[1]);
    let c = r[0] * r[0] + r[1] * r[1] - h * h;
    if a < 1e-12 {
        return (c <= 0.0).then_some((0.0, span));
    }
    let disc = b * b - 4.0 * a * c;
    if disc < 0.0 {
        return None;
    }
    let sq = disc.sqrt();
    let (t0, t1) = ((-b - sq) / (2.0 * a), (-b + sq) / (2.0 * a));
    clip(t0, t1, span)
}

/// Times in `[0, span]` when |z + w t| <= v.
fn vertical_window(z: f64, w: f64, v: f64, span: f64) -> Option<(f64, f64)> {
    if w.abs() < 1e-12 {
        return (z.abs() <= v).then_some((0.0, span));
    }
    let (ta, tb) = ((-v - z) / w, (v - z) / w);
    clip(ta.min(tb), ta.max(tb), span)
}

fn clip(t0: f64, t1: f64, span: f64) -> Option<(f64, f64)> {
    let (lo, hi) = (t0.max(0.0), t1.min(span));
    (lo <= hi).then_some((lo, hi))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::TimeDelta;

    use super::*;
    use crate::airspace::traffic::Emitter;

    const TH: Thresholds = Thresholds {
        horizontal_m: 300.0,
        vertical_m: 100.0,
    };
    const HOME: LatLon = LatLon {
        lat: 30.35,
        lon: 120.45,
    };

    fn t0() -> Timestamp {
        "2026-09-28T05:00:00Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn after(s: f64) -> Timestamp {
        t0() + TimeDelta::milliseconds((s * 1000.0) as i64)
    }

    /// `d` metres east (negative: west) and `n` north of HOME.
    fn at(e: f64, n: f64) -> LatLon {
        LatLon::new(
            HOME.lat + n / M_PER_DEG,
            HOME.lon + e / (M_PER_DEG * HOME.lat.to_radians().cos()),
        )
    }

    fn track(p: LatLon, alt: f64, track_deg: f64, gs: f64, vz: f64) -> Track {
        Track {
            icao: 0xABCDEF,
            callsign: None,
            emitter: Emitter::Light,
            position: Some(p),
            position_at: Some(t0()),
            alt_m: Some(alt),
            alt_at: Some(t0()),
            track_deg,
            ground_speed_mps: gs,
            vertical_mps: vz,
            last_seen: t0(),
            sources: BTreeSet::new(),
        }
    }

    /// A drone flying 2 km east at 10 m/s and 60 m, from t0.
    fn eastbound() -> Vec<PathPoint> {
        vec![
            PathPoint {
                at: t0(),
                position: HOME,
                alt_m: 60.0,
            },
            PathPoint {
                at: after(200.0),
                position: at(2000.0, 0.0),
                alt_m: 60.0,
            },
        ]
    }

    fn check(tr: &Track, until_s: f64, expected_at_s: Option<f64>) -> Option<Conflict> {
        let c = first_conflict(&eastbound(), tr, TH, t0(), after(until_s));
        match (c, expected_at_s) {
            (None, None) => {}
            (Some(c), Some(s)) => {
                let got = seconds(c.at - t0());
                assert!(
                    (got - s).abs() < 0.05,
                    "conflict at {got} s, expected {s} s"
                );
            }
            (c, e) => panic!("conflict {c:?}, expected at {e:?}"),
        }
        c
    }

    #[test]
    fn a_crossing_aircraft_at_the_same_height_conflicts_when_it_comes_within_300_m() {
        // The drone reaches 1 km east at t = 100 s; an aircraft crossing
        // from 1 km south heading north at 10 m/s is there at t = 100 s.
        let tr = track(at(1000.0, -1000.0), 80.0, 0.0, 10.0, 0.0);
        let c = check(&tr, 300.0, Some(100.0 - 300.0 / 2f64.sqrt() / 10.0))
            .unwrap_or_else(|| panic!("no conflict"));
        assert!(c.horizontal_m < 1.0, "{}", c.horizontal_m);
        assert!((c.vertical_m - 20.0).abs() < 1e-6);
    }

    #[test]
    fn the_same_crossing_200_m_higher_is_no_conflict() {
        let tr = track(at(1000.0, -1000.0), 260.0, 0.0, 10.0, 0.0);
        check(&tr, 300.0, None);
    }

    #[test]
    fn a_descending_aircraft_conflicts_once_it_is_within_100_m_vertically() {
        // Parked over the drone's path at 1.5 km east, 400 m up, sinking at 2 m/s:
        // horizontally within 300 m from t = 120 s to 180 s; vertically within
        // 100 m from t = (400 - 60 - 100) / 2 = 120 s.
        let tr = track(at(1500.0, 0.0), 400.0, 0.0, 0.0, -2.0);
        check(&tr, 300.0, Some(120.0));
        let tr = track(at(1500.0, 0.0), 440.0, 0.0, 0.0, -2.0);
        // Vertically within from t = 140 s: both hold then.
        check(&tr, 300.0, Some(140.0));
    }

    #[test]
    fn nothing_beyond_the_horizon_counts() {
        let tr = track(at(1000.0, -1000.0), 80.0, 0.0, 10.0, 0.0);
        check(&tr, 60.0, None);
    }

    #[test]
    fn a_parallel_aircraft_400_m_aside_never_conflicts() {
        let tr = track(at(0.0, 400.0), 60.0, 90.0, 10.0, 0.0);
        check(&tr, 300.0, None);
    }

    #[test]
    fn a_held_drone_conflicts_with_an_aircraft_passing_over_it() {
        let held = [PathPoint {
            at: t0(),
            position: HOME,
            alt_m: 60.0,
        }];
        // From 2 km west, eastbound at 50 m/s, 50 m above: within 300 m at t = 34 s.
        let tr = track(at(-2000.0, 0.0), 110.0, 90.0, 50.0, 0.0);
        let c = first_conflict(&held, &tr, TH, t0(), after(120.0))
            .unwrap_or_else(|| panic!("no conflict"));
        assert!((seconds(c.at - t0()) - 34.0).abs() < 0.05);
        assert!(c.horizontal_m < 1.0);
        assert!((c.vertical_m - 50.0).abs() < 1e-6);
        let (h, v) = separation(&tr, t0(), HOME, 60.0).unwrap_or_else(|| panic!("no sep"));
        assert!((h - 2000.0).abs() < 1.0 && (v - 50.0).abs() < 1e-9);
    }

    #[test]
    fn a_conflict_already_under_way_starts_now() {
        let tr = track(at(100.0, 0.0), 60.0, 270.0, 5.0, 0.0);
        check(&tr, 300.0, Some(0.0));
    }

    #[test]
    fn a_path_that_begins_later_is_not_checked_before_it_begins() {
        // The drone leaves at t = 100 s; the aircraft crosses home at t = 40 s
        // and is 2.5 km away by the time it leaves.
        let later: Vec<PathPoint> = eastbound()
            .into_iter()
            .map(|p| PathPoint {
                at: p.at + TimeDelta::seconds(100),
                ..p
            })
            .collect();
        let tr = track(at(0.0, -2000.0), 60.0, 0.0, 50.0, 0.0);
        assert_eq!(first_conflict(&later, &tr, TH, t0(), after(400.0)), None);
        let now = [
            PathPoint {
                at: t0(),
                ..later[0]
            },
            later[1],
        ];
        assert!(first_conflict(&now, &tr, TH, t0(), after(400.0)).is_some());
    }
}

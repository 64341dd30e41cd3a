//! SmartRTL's breadcrumb path, as ArduCopter keeps it: the path flown since
//! arming, thinned to the points that matter and with loops cut out, so that
//! SmartRTL can fly home the way the vehicle came (and so around every zone
//! the outbound flight went around) instead of in a straight line.
//!
//! Thinning is the "angular sleeve" method: points are committed only when
//! the path stops being straight within `accuracy` metres, so a straight leg
//! of any length is two points. Loops (orbits over a scene, a track that
//! comes back on itself) are cut when a new point comes within `accuracy` of
//! an earlier segment. When the points still exceed the buffer, the path is
//! given up ("SmartRTL deactivated") and SmartRTL falls back to RTL or LAND,
//! as ArduCopter does.

use crate::physics::{ne_offset, offset_point};

/// A point of the path: latitude, longitude, altitude above home (m).
pub type Point = (f64, f64, f64);

#[derive(Debug, Clone)]
pub struct Path {
    accuracy_m: f64,
    capacity: usize,
    points: Vec<Point>,
    /// The latest position, not yet committed (the sleeve's far end).
    pending: Option<Point>,
    /// Bearing interval (radians) every skipped point allows from the last committed point.
    sleeve: Option<(f64, f64)>,
    usable: bool,
}

impl Path {
    /// An empty, unusable path (nothing recorded yet).
    pub fn new(accuracy_m: f64, capacity: usize) -> Path {
        Path {
            accuracy_m: accuracy_m.max(0.1),
            capacity,
            points: Vec::new(),
            pending: None,
            sleeve: None,
            usable: false,
        }
    }

    /// Starts recording at `home` (arming).
    pub fn start(&mut self, home: Point, accuracy_m: f64, capacity: usize) {
        *self = Path::new(accuracy_m, capacity);
        self.points.push(home);
        self.usable = capacity >= 2;
    }

    /// Whether SmartRTL can use the path.
    pub fn usable(&self) -> bool {
        self.usable && !self.points.is_empty()
    }

    /// Committed points (home first).
    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Records the vehicle's position. Returns true when the path was given
    /// up just now (buffer full).
    pub fn record(&mut self, p: Point) -> bool {
        if !self.usable {
            return false;
        }
        let Some(&anchor) = self.points.last() else {
            return false;
        };
        let (n, e) = ne_offset(anchor.0, anchor.1, p.0, p.1);
        let d = n.hypot(e);
        if d <= self.accuracy_m {
            // Too close to the last point to tell a direction: keep as the far end.
            if self.sleeve.is_none() {
                self.pending = Some(p);
            }
            return false;
        }
        let bearing = e.atan2(n);
        let half = (self.accuracy_m / d).asin();
        let within = self.sleeve.is_none_or(|(lo, hi)| {
            let b = unwrap_near(bearing, (lo + hi) / 2.0);
            b >= lo && b <= hi
        });
        if within {
            let b = self
                .sleeve
                .map_or(bearing, |(lo, hi)| unwrap_near(bearing, (lo + hi) / 2.0));
            let (lo, hi) = self.sleeve.map_or((b - half, b + half), |(lo, hi)| {
                (lo.max(b - half), hi.min(b + half))
            });
            self.sleeve = Some((lo, hi));
            self.pending = Some(p);
            return false;
        }
        // The path bent: the previous far end becomes a point, and the
        // sleeve starts again from it.
        let corner = self.pending.take().unwrap_or(p);
        let gave_up = self.commit(corner);
        self.sleeve = None;
        if !gave_up && corner != p {
            return self.record(p);
        }
        gave_up
    }

    fn commit(&mut self, p: Point) -> bool {
        // A loop: the new point is back near an earlier segment; cut it out.
        let n = self.points.len();
        if n >= 3 {
            for i in 0..n - 2 {
                let (a, b) = (self.points[i], self.points[i + 1]);
                if distance_to_segment(p, a, b) <= self.accuracy_m {
                    self.points.truncate(i + 1);
                    break;
                }
            }
        }
        self.points.push(p);
        if self.points.len() > self.capacity {
            self.usable = false;
            return true;
        }
        false
    }

    /// The way home: the latest position first, home last.
    pub fn way_home(&self) -> Vec<Point> {
        let mut v: Vec<Point> = self.pending.into_iter().collect();
        v.extend(self.points.iter().rev().copied());
        v
    }
}

/// `b` shifted by whole turns to lie within half a turn of `near`.
fn unwrap_near(b: f64, near: f64) -> f64 {
    let tau = std::f64::consts::TAU;
    b - ((b - near) / tau).round() * tau
}

/// Horizontal distance (m) from `p` to the segment `a`-`b`.
fn distance_to_segment(p: Point, a: Point, b: Point) -> f64 {
    let (bn, be) = ne_offset(a.0, a.1, b.0, b.1);
    let (pn, pe) = ne_offset(a.0, a.1, p.0, p.1);
    let len2 = bn * bn + be * be;
    let t = if len2 > 0.0 {
        ((pn * bn + pe * be) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (pn - t * bn).hypot(pe - t * be)
}

/// A point `n`, `e` metres from `(lat, lon)` at altitude `alt` (for tests and drills).
pub fn at(lat: f64, lon: f64, n: f64, e: f64, alt: f64) -> Point {
    let (la, lo) = offset_point(lat, lon, n, e);
    (la, lo, alt)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: (f64, f64) = (30.404, 120.542);

    fn fly(path: &mut Path, from: (f64, f64), to: (f64, f64), step: f64) {
        let d = (to.0 - from.0).hypot(to.1 - from.1);
        let steps = (d / step).ceil().max(1.0) as usize;
        for i in 1..=steps {
            let t = i as f64 / steps as f64;
            let n = from.0 + (to.0 - from.0) * t;
            let e = from.1 + (to.1 - from.1) * t;
            path.record(at(HOME.0, HOME.1, n, e, 30.0));
        }
    }

    fn local(p: Point) -> (f64, f64) {
        ne_offset(HOME.0, HOME.1, p.0, p.1)
    }

    #[test]
    fn straight_legs_become_their_corners() {
        let mut p = Path::new(2.0, 300);
        p.start((HOME.0, HOME.1, 0.0), 2.0, 300);
        // An L: 3 km north, 2 km east, sampled every 3 m.
        fly(&mut p, (0.0, 0.0), (3000.0, 0.0), 3.0);
        fly(&mut p, (3000.0, 0.0), (3000.0, 2000.0), 3.0);
        let home = p.way_home();
        assert!(home.len() <= 4, "{} points", home.len());
        let corner = home
            .iter()
            .map(|&q| local(q))
            .find(|&(n, e)| (n - 3000.0).hypot(e) < 5.0);
        assert!(corner.is_some(), "the corner is kept: {home:?}");
        let (n, e) = local(home[0]);
        assert!((n - 3000.0).abs() < 1.0 && (e - 2000.0).abs() < 1.0);
        let (n, e) = local(*home.last().unwrap_or(&(0.0, 0.0, 0.0)));
        assert!(n.abs() < 1e-6 && e.abs() < 1e-6, "ends at home");
    }

    #[test]
    fn the_way_home_stays_within_accuracy_of_the_path_flown() {
        let mut p = Path::new(2.0, 300);
        p.start((HOME.0, HOME.1, 0.0), 2.0, 300);
        // A gentle arc: every flown point must be within 2 m of the kept polyline.
        let mut flown = Vec::new();
        for i in 1..=600 {
            let a = f64::from(i) / 600.0 * 1.2;
            let q = (2000.0 * a.sin(), 2000.0 * (1.0 - a.cos()));
            flown.push(q);
            p.record(at(HOME.0, HOME.1, q.0, q.1, 30.0));
        }
        let kept: Vec<Point> = p.way_home();
        assert!(kept.len() < 60, "{} points", kept.len());
        for q in flown {
            let pt = at(HOME.0, HOME.1, q.0, q.1, 30.0);
            let d = kept
                .windows(2)
                .map(|w| distance_to_segment(pt, w[0], w[1]))
                .fold(f64::INFINITY, f64::min);
            assert!(d <= 2.0 + 1e-6, "{q:?} is {d} m off the way home");
        }
    }

    #[test]
    fn orbits_are_cut_out_and_an_overflow_gives_up() {
        let mut p = Path::new(2.0, 300);
        p.start((HOME.0, HOME.1, 0.0), 2.0, 300);
        fly(&mut p, (0.0, 0.0), (1000.0, 0.0), 2.5);
        // Five turns of a 40 m orbit around (1040, 0).
        for i in 0..=500 {
            let a = f64::from(i) / 100.0 * std::f64::consts::TAU;
            p.record(at(
                HOME.0,
                HOME.1,
                1040.0 - 40.0 * a.cos(),
                40.0 * a.sin(),
                30.0,
            ));
        }
        assert!(p.len() < 40, "loops cut: {} points", p.len());
        assert!(p.usable());
        // A zig-zag that never comes back fills a small buffer: given up.
        let mut q = Path::new(2.0, 10);
        q.start((HOME.0, HOME.1, 0.0), 2.0, 10);
        let mut gave_up = false;
        for i in 0..40 {
            let e = if i % 2 == 0 { 0.0 } else { 100.0 };
            let from = (f64::from(i) * 100.0, if i % 2 == 0 { 100.0 } else { 0.0 });
            let to = (f64::from(i + 1) * 100.0, e);
            for k in 1..=50 {
                let t = f64::from(k) / 50.0;
                gave_up |= q.record(at(
                    HOME.0,
                    HOME.1,
                    from.0 + (to.0 - from.0) * t,
                    from.1 + (to.1 - from.1) * t,
                    30.0,
                ));
            }
        }
        assert!(gave_up && !q.usable());
    }
}

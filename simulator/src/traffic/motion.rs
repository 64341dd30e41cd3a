//! Where a played-back aircraft is: straight legs between its waypoints at
//! a steady ground speed, the altitude changing evenly along each leg.

use crate::physics::{ne_offset, offset_point, wrap_deg};

/// A waypoint: latitude, longitude (degrees), geometric altitude AMSL (m).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Waypoint {
    pub lat: f64,
    pub lon: f64,
    pub alt_m: f64,
}

/// The legs an aircraft flies, with the distance flown at each waypoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    points: Vec<Waypoint>,
    /// `cum[i]`: metres flown on arriving at leg end `i` (`cum[0] = 0`); a
    /// looped route has one more entry, back at the first waypoint.
    cum: Vec<f64>,
    looped: bool,
}

/// An aircraft's position and velocity at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct State {
    pub lat: f64,
    pub lon: f64,
    /// Geometric altitude AMSL, metres.
    pub alt_m: f64,
    /// Track over the ground, degrees from north, 0..360.
    pub track_deg: f64,
    pub ground_speed_mps: f64,
    /// Up positive.
    pub vertical_mps: f64,
}

impl Route {
    /// A route through `points` (at least two, checked by the file reader);
    /// `looped` adds the leg from the last point back to the first.
    pub fn new(points: Vec<Waypoint>, looped: bool) -> Route {
        let mut cum = vec![0.0];
        let n = points.len();
        let legs = if looped { n } else { n.saturating_sub(1) };
        for i in 0..legs {
            let (a, b) = (points[i], points[(i + 1) % n]);
            let (dn, de) = ne_offset(a.lat, a.lon, b.lat, b.lon);
            let last = cum.last().copied().unwrap_or(0.0);
            cum.push(last + dn.hypot(de));
        }
        Route {
            points,
            cum,
            looped,
        }
    }

    /// Horizontal length of one time round (or through), metres.
    pub fn length_m(&self) -> f64 {
        self.cum.last().copied().unwrap_or(0.0)
    }

    pub fn points(&self) -> &[Waypoint] {
        &self.points
    }

    /// The state `flown` metres along the route at `speed` m/s; `None`
    /// past the end of a route that does not loop.
    pub fn at(&self, flown: f64, speed: f64) -> Option<State> {
        let total = self.length_m();
        if total <= 0.0 || !flown.is_finite() || flown < 0.0 {
            return None;
        }
        let d = if self.looped {
            flown.rem_euclid(total)
        } else if flown > total {
            return None;
        } else {
            flown
        };
        // The leg being flown: the first that ends beyond `d` (zero-length
        // legs, a waypoint repeated, are never flown); exactly at the end of
        // a route, its last leg.
        let legs = self.cum.len() - 1;
        let leg = (0..legs)
            .find(|&i| self.cum[i + 1] > d)
            .or_else(|| (0..legs).rev().find(|&i| self.cum[i + 1] > self.cum[i]))?;
        let n = self.points.len();
        let (a, b) = (self.points[leg], self.points[(leg + 1) % n]);
        let len = self.cum[leg + 1] - self.cum[leg];
        let f = ((d - self.cum[leg]) / len).clamp(0.0, 1.0);
        let (dn, de) = ne_offset(a.lat, a.lon, b.lat, b.lon);
        let (lat, lon) = offset_point(a.lat, a.lon, dn * f, de * f);
        let leg_s = len / speed;
        Some(State {
            lat,
            lon,
            alt_m: a.alt_m + (b.alt_m - a.alt_m) * f,
            track_deg: wrap_deg(de.atan2(dn).to_degrees()),
            ground_speed_mps: speed,
            vertical_mps: (b.alt_m - a.alt_m) / leg_s,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Waypoint = Waypoint {
        lat: 30.40,
        lon: 120.40,
        alt_m: 150.0,
    };

    fn east_of(p: Waypoint, m: f64, alt_m: f64) -> Waypoint {
        let (lat, lon) = offset_point(p.lat, p.lon, 0.0, m);
        Waypoint { lat, lon, alt_m }
    }

    fn north_of(p: Waypoint, m: f64, alt_m: f64) -> Waypoint {
        let (lat, lon) = offset_point(p.lat, p.lon, m, 0.0);
        Waypoint { lat, lon, alt_m }
    }

    fn metres(s: &State, p: Waypoint) -> f64 {
        let (n, e) = ne_offset(p.lat, p.lon, s.lat, s.lon);
        n.hypot(e)
    }

    #[test]
    fn flies_legs_at_its_speed_with_the_altitude_changing_evenly() {
        let b = east_of(A, 4000.0, 350.0);
        let r = Route::new(vec![A, b], false);
        assert!((r.length_m() - 4000.0).abs() < 1.0);
        // 40 m/s for 50 s: halfway, climbing 200 m over 100 s.
        let s = r.at(2000.0, 40.0).expect("on the route");
        assert!(metres(&s, east_of(A, 2000.0, 0.0)) < 1.0);
        assert!((s.alt_m - 250.0).abs() < 1e-6);
        assert!((s.track_deg - 90.0).abs() < 0.01, "{}", s.track_deg);
        assert!((s.vertical_mps - 2.0).abs() < 0.01, "{}", s.vertical_mps);
        assert_eq!(s.ground_speed_mps, 40.0);
        // The end of the route, and past it: gone.
        let end = r.at(r.length_m(), 40.0).expect("at the end");
        assert!(metres(&end, b) < 0.5);
        assert_eq!(r.at(4100.0, 40.0), None);
    }

    #[test]
    fn a_looped_route_comes_back_to_its_first_waypoint_and_round_again() {
        let b = east_of(A, 3000.0, 150.0);
        let c = north_of(b, 4000.0, 150.0);
        let r = Route::new(vec![A, b, c], true);
        // 3 + 4 + 5 km round.
        assert!((r.length_m() - 12_000.0).abs() < 5.0, "{}", r.length_m());
        // On the closing leg, heading back south-west.
        let s = r.at(9_500.0, 40.0).expect("looped");
        assert!(
            s.track_deg > 180.0 && s.track_deg < 270.0,
            "{}",
            s.track_deg
        );
        // Once round and 1 km on: the first leg again.
        let again = r.at(r.length_m() + 1000.0, 40.0).expect("looped");
        assert!(metres(&again, east_of(A, 1000.0, 0.0)) < 1.0);
        assert!((again.track_deg - 90.0).abs() < 0.01);
    }

    #[test]
    fn a_repeated_waypoint_is_skipped() {
        let b = north_of(A, 1000.0, 150.0);
        let r = Route::new(vec![A, b, b, A], false);
        let s = r.at(1500.0, 30.0).expect("on the way back");
        assert!((s.track_deg - 180.0).abs() < 0.01, "{}", s.track_deg);
        assert!(Route::new(vec![A, A], false).at(0.0, 30.0).is_none());
    }
}

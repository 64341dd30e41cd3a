//! Distances and the local planar frame used for indexing and geometry.
//!
//! Lengths that users see (route length, ETA) are geodesic on the WGS84
//! ellipsoid. Index keys and intersection tests use a local equirectangular
//! frame in metres centred on the operating region: over a region of a few
//! hundred kilometres the frame's straight lines stay within metres of the
//! geodesics, which the planner's safety margin around zones absorbs.

use geo::{Coord, Distance, Geodesic, Point};

use crate::model::LatLon;

/// Metres per degree of latitude on a sphere of the WGS84 mean radius.
const M_PER_DEG: f64 = 111_195.08;

/// Geodesic (WGS84) distance in metres.
pub fn distance_m(a: LatLon, b: LatLon) -> f64 {
    Geodesic.distance(Point::new(a.lon, a.lat), Point::new(b.lon, b.lat))
}

/// The operating region's local frame: x east, y north, metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalFrame {
    origin: LatLon,
    cos_lat0: f64,
    /// Lower bound of geodesic distance / frame distance inside the region.
    lower_bound_factor: f64,
}

impl LocalFrame {
    /// A frame for a region spanning `min_lat..=max_lat`, centred on `origin`.
    pub fn new(origin: LatLon, min_lat: f64, max_lat: f64) -> Self {
        let cos_lat0 = origin.lat.to_radians().cos();
        // East-west metres shrink with cos(lat): the far edge of the region
        // has the smallest ratio. North-south, the ellipsoid's meridian degree
        // is at least 110,574 m, 0.56 % under the spherical figure. One more
        // percent covers the spherical/ellipsoidal difference on diagonals.
        let far = min_lat.abs().max(max_lat.abs()).min(89.0);
        let ew = (far.to_radians().cos() / cos_lat0).min(1.0);
        let lower_bound_factor = 0.99 * ew.min(110_574.0 / M_PER_DEG);
        Self {
            origin,
            cos_lat0,
            lower_bound_factor,
        }
    }

    pub fn origin(&self) -> LatLon {
        self.origin
    }

    pub fn project(&self, p: LatLon) -> [f64; 2] {
        [
            (p.lon - self.origin.lon) * self.cos_lat0 * M_PER_DEG,
            (p.lat - self.origin.lat) * M_PER_DEG,
        ]
    }

    pub fn project_coord(&self, c: Coord<f64>) -> Coord<f64> {
        let [x, y] = self.project(LatLon::new(c.y, c.x));
        Coord { x, y }
    }

    pub fn unproject(&self, xy: [f64; 2]) -> LatLon {
        LatLon::new(
            self.origin.lat + xy[1] / M_PER_DEG,
            self.origin.lon + xy[0] / (self.cos_lat0 * M_PER_DEG),
        )
    }

    /// A distance in this frame times this factor never exceeds the geodesic
    /// distance between the same two points of the region. Candidate search
    /// uses it to stop early without missing a better drone.
    pub fn lower_bound_factor(&self) -> f64 {
        self.lower_bound_factor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geodesic_distance_matches_known_figure() {
        // One degree of latitude at 30° N on WGS84 is 110,852 m.
        let d = distance_m(LatLon::new(29.5, 120.5), LatLon::new(30.5, 120.5));
        assert!((d - 110_852.0).abs() < 5.0, "{d}");
    }

    #[test]
    fn projection_round_trips() {
        let f = LocalFrame::new(LatLon::new(30.5, 120.6), 30.1, 30.9);
        let p = LatLon::new(30.347, 120.457);
        let back = f.unproject(f.project(p));
        assert!((back.lat - p.lat).abs() < 1e-12 && (back.lon - p.lon).abs() < 1e-12);
    }

    #[test]
    fn frame_distance_times_factor_is_a_lower_bound() {
        let f = LocalFrame::new(LatLon::new(30.5, 120.6), 30.1, 30.9);
        let pts = [
            LatLon::new(30.1, 120.2),
            LatLon::new(30.9, 121.0),
            LatLon::new(30.9, 120.2),
            LatLon::new(30.1, 121.0),
            LatLon::new(30.5, 120.6),
        ];
        for a in pts {
            for b in pts {
                let [ax, ay] = f.project(a);
                let [bx, by] = f.project(b);
                let frame = ((ax - bx).powi(2) + (ay - by).powi(2)).sqrt();
                assert!(frame * f.lower_bound_factor() <= distance_m(a, b) + 1e-6);
            }
        }
    }
}

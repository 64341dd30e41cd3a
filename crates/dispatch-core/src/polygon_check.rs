//! Validity of a zone polygon in O(n log n): rings must not cross or touch
//! themselves or each other, must enclose an area, and holes must lie inside
//! the exterior and outside each other.
//!
//! `geo`'s general validation compares every pair of segments, which takes a
//! minute for the 80,000-vertex coastline or airspace polygons real zones
//! files hold; here the segments go into an R-tree (bulk-loaded) and each is
//! tested only against the segments whose envelopes meet its own.

use geo::{Contains, Coord, LineString, Polygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

/// A segment's envelope in the R-tree, with its (ring, segment) index.
type SegmentBox = GeomWithData<Rectangle<[f64; 2]>, (usize, usize)>;

/// Checks `polygon`; the error names the rings, segments and place at fault.
pub fn check_polygon(polygon: &Polygon<f64>) -> Result<(), String> {
    let rings: Vec<&LineString<f64>> = std::iter::once(polygon.exterior())
        .chain(polygon.interiors())
        .collect();
    // Segments without zero-length ones (repeated positions are harmless).
    let mut segs: Vec<Vec<(Coord<f64>, Coord<f64>)>> = Vec::with_capacity(rings.len());
    for (r, ring) in rings.iter().enumerate() {
        let s: Vec<(Coord<f64>, Coord<f64>)> = ring
            .lines()
            .map(|l| (l.start, l.end))
            .filter(|(a, b)| a != b)
            .collect();
        if s.len() < 3 {
            return Err(format!("{} encloses no area", role(r)));
        }
        segs.push(s);
    }
    let items: Vec<SegmentBox> = segs
        .iter()
        .enumerate()
        .flat_map(|(r, s)| {
            s.iter().enumerate().map(move |(i, (a, b))| {
                GeomWithData::new(Rectangle::from_corners([a.x, a.y], [b.x, b.y]), (r, i))
            })
        })
        .collect();
    let tree = RTree::bulk_load(items);
    for (r, s) in segs.iter().enumerate() {
        let n = s.len();
        for (i, &(a, b)) in s.iter().enumerate() {
            let env =
                AABB::from_corners([a.x.min(b.x), a.y.min(b.y)], [a.x.max(b.x), a.y.max(b.y)]);
            for other in tree.locate_in_envelope_intersecting(&env) {
                let (r2, j) = other.data;
                if (r2, j) <= (r, i) {
                    continue; // each pair once
                }
                let (c, d) = segs[r2][j];
                let adjacent = r2 == r && (j == i + 1 || (i == 0 && j == n - 1));
                let bad = if adjacent {
                    // Sharing one end is normal; folding back along itself is not.
                    folds_back(a, b, c, d)
                } else {
                    intersects(a, b, c, d)
                };
                if bad {
                    return Err(format!(
                        "self-intersection: segment {i} of the {} meets segment {j} of the {} near [{:.6}, {:.6}]",
                        role(r),
                        role(r2),
                        c.x,
                        c.y
                    ));
                }
            }
        }
    }
    for (r, s) in segs.iter().enumerate() {
        if signed_area(s) == 0.0 {
            return Err(format!("{} encloses no area", role(r)));
        }
    }
    // No crossings: one vertex tells on which side a whole hole lies.
    let exterior = Polygon::new(polygon.exterior().clone(), Vec::new());
    let holes: Vec<Polygon<f64>> = polygon
        .interiors()
        .iter()
        .map(|h| Polygon::new(h.clone(), Vec::new()))
        .collect();
    for (h, hole) in holes.iter().enumerate() {
        let p = hole.exterior().0[0];
        if !exterior.contains(&p) {
            return Err(format!("{} lies outside the exterior ring", role(h + 1)));
        }
        for (k, other) in holes.iter().enumerate() {
            if k != h && other.contains(&p) {
                return Err(format!("{} lies inside {}", role(h + 1), role(k + 1)));
            }
        }
    }
    Ok(())
}

fn role(r: usize) -> String {
    if r == 0 {
        "exterior ring".into()
    } else {
        format!("hole #{}", r - 1)
    }
}

fn signed_area(s: &[(Coord<f64>, Coord<f64>)]) -> f64 {
    s.iter().map(|(a, b)| a.x * b.y - b.x * a.y).sum::<f64>() / 2.0
}

/// Orientation of c relative to a->b: >0 left, <0 right, 0 collinear.
fn orient(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>) -> f64 {
    (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)
}

/// Whether c lies on segment a-b, given that the three are collinear.
fn on_segment(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>) -> bool {
    c.x >= a.x.min(b.x) && c.x <= a.x.max(b.x) && c.y >= a.y.min(b.y) && c.y <= a.y.max(b.y)
}

/// Whether segments a-b and c-d share any point.
fn intersects(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>, d: Coord<f64>) -> bool {
    let (o1, o2, o3, o4) = (
        orient(a, b, c),
        orient(a, b, d),
        orient(c, d, a),
        orient(c, d, b),
    );
    if o1 * o2 < 0.0 && o3 * o4 < 0.0 {
        return true;
    }
    (o1 == 0.0 && on_segment(a, b, c))
        || (o2 == 0.0 && on_segment(a, b, d))
        || (o3 == 0.0 && on_segment(c, d, a))
        || (o4 == 0.0 && on_segment(c, d, b))
}

/// Adjacent segments (sharing an end) that overlap beyond it: a spike.
fn folds_back(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>, d: Coord<f64>) -> bool {
    // Order them so that p-q then q-r with q shared.
    let (p, q, r) = if b == c {
        (a, b, d)
    } else if d == a {
        (c, a, b)
    } else {
        return intersects(a, b, c, d);
    };
    orient(p, q, r) == 0.0 && ((r.x - q.x) * (p.x - q.x) + (r.y - q.y) * (p.y - q.y)) > 0.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn good_and_bad_polygons() {
        let square =
            polygon![(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 4.0)];
        assert_eq!(check_polygon(&square), Ok(()));
        let bow = polygon![(x: 0.0, y: 0.0), (x: 4.0, y: 4.0), (x: 4.0, y: 0.0), (x: 0.0, y: 4.0)];
        assert!(check_polygon(&bow).is_err_and(|e| e.contains("self-intersection")));
        let spike = polygon![(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 6.0, y: 0.0), (x: 5.0, y: 0.0), (x: 4.0, y: 4.0)];
        assert!(check_polygon(&spike).is_err());
        let flat = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 2.0, y: 0.0)];
        assert!(check_polygon(&flat).is_err());
        let with_hole = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)],
            interiors: [[(x: 2.0, y: 2.0), (x: 4.0, y: 2.0), (x: 4.0, y: 4.0), (x: 2.0, y: 4.0)]],
        );
        assert_eq!(check_polygon(&with_hole), Ok(()));
        let hole_outside = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)],
            interiors: [[(x: 12.0, y: 2.0), (x: 14.0, y: 2.0), (x: 14.0, y: 4.0), (x: 12.0, y: 4.0)]],
        );
        assert!(check_polygon(&hole_outside).is_err_and(|e| e.contains("outside")));
        let hole_crossing = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)],
            interiors: [[(x: 8.0, y: 2.0), (x: 14.0, y: 2.0), (x: 14.0, y: 4.0), (x: 8.0, y: 4.0)]],
        );
        assert!(check_polygon(&hole_crossing).is_err_and(|e| e.contains("hole #0")));
        // Repeated positions are harmless.
        let repeated = polygon![(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 4.0)];
        assert_eq!(check_polygon(&repeated), Ok(()));
    }

    /// Agrees with `geo`'s validation on random small polygons.
    #[test]
    fn agrees_with_geo_on_random_rings() {
        use geo::Validation;
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let mut invalid = 0;
        for _ in 0..3000 {
            let n = rng.random_range(3..8);
            let pts: Vec<(f64, f64)> = (0..n)
                .map(|_| {
                    (
                        f64::from(rng.random_range(0..6)),
                        f64::from(rng.random_range(0..6)),
                    )
                })
                .collect();
            let p = Polygon::new(LineString::from(pts), Vec::new());
            let segs: Vec<_> = p.exterior().lines().map(|l| (l.start, l.end)).collect();
            if signed_area(&segs) == 0.0 {
                // `geo` accepts rings without area; zones must have one.
                assert!(check_polygon(&p).is_err());
                continue;
            }
            let ours = check_polygon(&p).is_ok();
            let theirs = p.is_valid();
            invalid += usize::from(!theirs);
            assert_eq!(ours, theirs, "{p:?}: ours {:?}", check_polygon(&p));
        }
        assert!(
            invalid > 100,
            "the sample must hold invalid rings too: {invalid}"
        );
    }
}

//! A zone's geometry in the region's local frame (metres), indexed so that
//! the planner's questions cost O(log n) in the zone's vertex count: is this
//! point inside, how far is it, does this leg come closer than the margin.
//!
//! It also makes the nodes routes bend at: the zone offset by the route
//! margin, as a polygon *circumscribed* about the true offset (straight
//! offset edges, each convex corner rounded by an arc drawn as tangent
//! segments of at most [`ARC_STEP_RAD`]). A straight line between two
//! consecutive nodes therefore never comes closer than the margin, and a route
//! through them is at most `1 / cos(ARC_STEP_RAD / 2)` longer on its arcs than
//! the exact margin-respecting path.

use rstar::primitives::Line as Edge;
use rstar::{AABB, PointDistance, RTree};

use geo::{LineString, Polygon};

/// The widest angle one node of a rounded corner stands for, radians (30°):
/// arcs are at most 3.5 % longer than the exact offset, and in practice a
/// route's length is within a fraction of a percent of the exact
/// margin-respecting shortest path (docs/performance.md). Finer steps cost
/// quadratically in search time.
pub const ARC_STEP_RAD: f64 = std::f64::consts::PI / 6.0;

/// Nodes sit this much further out than the margin, metres, so that a leg
/// along the offset is never closer than the margin by a rounding error.
pub const NODE_EPSILON_M: f64 = 0.05;

/// A corner node of the offset zone, with the direction from it into the
/// zone (the bisector of the corner it rounds) and half the angle it turns.
/// A shortest route bends at a node only round its zone, so its legs there
/// run along the offset boundary, not into it nor straight away from it:
/// that test (tangency) lets the search skip most candidate legs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct OffsetNode {
    pub(crate) at: [f64; 2],
    pub(crate) inward: [f64; 2],
    pub(crate) half_turn: f64,
}

/// How far from the offset boundary's own direction a leg at a node may
/// turn and still count as tangent, radians. Nodes stand on a polygon drawn
/// round the true offset, so the legs of a shortest route through them
/// meet it at up to about one arc step.
pub const TANGENT_SLACK_RAD: f64 = ARC_STEP_RAD;

impl OffsetNode {
    /// Whether the line through this node along `w` runs along the offset
    /// boundary here (within [`TANGENT_SLACK_RAD`]) rather than into it.
    pub(crate) fn tangent(&self, w: [f64; 2]) -> bool {
        let len = (w[0] * w[0] + w[1] * w[1]).sqrt();
        let limit = (self.half_turn + TANGENT_SLACK_RAD).min(std::f64::consts::FRAC_PI_2);
        dot(w, self.inward).abs() <= limit.sin() * len + 1e-12
    }
}

/// A polygon (with holes) and an R-tree of its edges.
#[derive(Debug, Clone)]
pub(crate) struct ZoneShape {
    polygon: Polygon<f64>,
    edges: RTree<Edge<[f64; 2]>>,
    envelope: AABB<[f64; 2]>,
}

impl ZoneShape {
    pub(crate) fn new(polygon: Polygon<f64>) -> ZoneShape {
        let mut edges = Vec::new();
        for ring in rings(&polygon) {
            for w in ring.0.windows(2) {
                let (a, b) = ([w[0].x, w[0].y], [w[1].x, w[1].y]);
                if a != b {
                    edges.push(Edge::new(a, b));
                }
            }
        }
        let mut lo = [f64::INFINITY; 2];
        let mut hi = [f64::NEG_INFINITY; 2];
        for c in polygon.exterior().coords() {
            lo = [lo[0].min(c.x), lo[1].min(c.y)];
            hi = [hi[0].max(c.x), hi[1].max(c.y)];
        }
        ZoneShape {
            polygon,
            edges: RTree::bulk_load(edges),
            envelope: AABB::from_corners(lo, hi),
        }
    }

    pub(crate) fn polygon(&self) -> &Polygon<f64> {
        &self.polygon
    }

    pub(crate) fn envelope(&self) -> AABB<[f64; 2]> {
        self.envelope
    }

    /// Inside or on the boundary.
    pub(crate) fn contains(&self, p: [f64; 2]) -> bool {
        let (lo, hi) = (self.envelope.lower(), self.envelope.upper());
        if p[0] < lo[0] || p[0] > hi[0] || p[1] < lo[1] || p[1] > hi[1] {
            return false;
        }
        if self
            .edges
            .nearest_neighbor(&p)
            .is_some_and(|e| e.distance_2(&p) <= 1e-18)
        {
            return true;
        }
        // Even-odd rule on a ray towards +x, over the edges it can meet.
        let ray = AABB::from_corners(p, [hi[0] + 1.0, p[1]]);
        let mut inside = false;
        for e in self.edges.locate_in_envelope_intersecting(&ray) {
            let (a, b) = (e.from, e.to);
            if (a[1] > p[1]) != (b[1] > p[1]) {
                let x = a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0]);
                if x > p[0] {
                    inside = !inside;
                }
            }
        }
        inside
    }

    /// Distance from `p` to the zone, 0 inside.
    pub(crate) fn distance_to_point(&self, p: [f64; 2]) -> f64 {
        if self.contains(p) {
            return 0.0;
        }
        self.edges
            .nearest_neighbor(&p)
            .map_or(f64::INFINITY, |e| e.distance_2(&p).sqrt())
    }

    /// The end points of the (at most) `k` edges nearest to `p`.
    pub(crate) fn vertices_near(&self, p: [f64; 2], k: usize) -> Vec<[f64; 2]> {
        self.edges
            .nearest_neighbor_iter(&p)
            .take(k)
            .flat_map(|e| [e.from, e.to])
            .collect()
    }

    /// Whether the segment `a`-`b` comes closer than `limit` to the zone
    /// (crossing it is distance 0).
    pub(crate) fn closer_than(&self, a: [f64; 2], b: [f64; 2], limit: f64) -> bool {
        if self.contains(a) {
            return true;
        }
        let limit2 = limit * limit;
        let mut hit = false;
        self.for_edges_near(a, b, limit, |e| {
            hit = segment_distance_2(a, b, e.from, e.to) < limit2;
            hit
        });
        hit
    }

    /// Distance from the segment `a`-`b` to the zone, if within `horizon`.
    pub(crate) fn distance_to_segment(
        &self,
        a: [f64; 2],
        b: [f64; 2],
        horizon: f64,
    ) -> Option<f64> {
        if self.contains(a) || self.contains(b) {
            return Some(0.0);
        }
        let mut best = horizon * horizon;
        let mut found = false;
        self.for_edges_near(a, b, horizon, |e| {
            let d = segment_distance_2(a, b, e.from, e.to);
            if d <= best {
                best = d;
                found = true;
            }
            false
        });
        found.then(|| best.sqrt())
    }

    /// Calls `f` on the edges whose envelope lies within `r` of the segment,
    /// until it returns true. Long legs are cut into pieces so that a
    /// diagonal leg does not sweep its whole bounding box.
    fn for_edges_near(
        &self,
        a: [f64; 2],
        b: [f64; 2],
        r: f64,
        mut f: impl FnMut(&Edge<[f64; 2]>) -> bool,
    ) {
        let len = ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt();
        let piece = (4.0 * r).max(250.0);
        let pieces = ((len / piece).ceil() as usize).clamp(1, 4096);
        for k in 0..pieces {
            let (s0, s1) = (k as f64 / pieces as f64, (k + 1) as f64 / pieces as f64);
            let p0 = [a[0] + s0 * (b[0] - a[0]), a[1] + s0 * (b[1] - a[1])];
            let p1 = [a[0] + s1 * (b[0] - a[0]), a[1] + s1 * (b[1] - a[1])];
            let env = AABB::from_corners(
                [p0[0].min(p1[0]) - r, p0[1].min(p1[1]) - r],
                [p0[0].max(p1[0]) + r, p0[1].max(p1[1]) + r],
            );
            if !intersects(&env, &self.envelope) {
                continue;
            }
            for e in self.edges.locate_in_envelope_intersecting(&env) {
                if f(e) {
                    return;
                }
            }
        }
    }

    /// The corner nodes of the zone offset by `margin` (see the module
    /// documentation), arcs cut in steps of at most `step` radians. Nodes that
    /// come closer than the margin to another part of this zone (inside a
    /// notch narrower than twice the margin) are left out.
    pub(crate) fn offset_nodes(&self, margin: f64, step: f64) -> Vec<OffsetNode> {
        let mut out = Vec::new();
        let radius = margin + NODE_EPSILON_M;
        for (k, ring) in rings(&self.polygon).enumerate() {
            let mut pts: Vec<[f64; 2]> = ring.0.iter().map(|c| [c.x, c.y]).collect();
            pts.dedup();
            if pts.len() > 1 && pts.first() == pts.last() {
                pts.pop();
            }
            let n = pts.len();
            if n < 3 {
                continue;
            }
            // Material on the left: exterior counter-clockwise, holes clockwise.
            let ccw = signed_area(&pts) > 0.0;
            if ccw != (k == 0) {
                pts.reverse();
            }
            for i in 0..n {
                let (p, v, q) = (pts[(i + n - 1) % n], pts[i], pts[(i + 1) % n]);
                let (Some(d1), Some(d2)) = (unit(sub(v, p)), unit(sub(q, v))) else {
                    continue;
                };
                let turn = cross(d1, d2).atan2(dot(d1, d2));
                if turn <= 1e-9 {
                    continue; // reflex or straight: routes never bend here
                }
                let a1 = (-d1[0]).atan2(d1[1]); // angle of the outward normal (d1.y, -d1.x)
                let parts = (turn / step).ceil().max(1.0);
                let delta = turn / parts;
                let r = radius / (delta / 2.0).cos();
                for j in 0..parts as usize {
                    let t0 = a1 + j as f64 * delta;
                    let mid = t0 + delta / 2.0;
                    let at = [v[0] + r * mid.cos(), v[1] + r * mid.sin()];
                    out.push(OffsetNode {
                        at,
                        inward: [-mid.cos(), -mid.sin()],
                        half_turn: delta / 2.0,
                    });
                }
            }
        }
        out.retain(|node| self.distance_to_point(node.at) >= margin + NODE_EPSILON_M / 2.0);
        out
    }
}

/// A concave zone's convex hull and the nodes of the hull offset by the
/// margin, for routes that pass the zone without going into its pockets.
#[derive(Debug, Clone)]
pub(crate) struct Hull {
    pub(crate) shape: ZoneShape,
    pub(crate) nodes: Vec<OffsetNode>,
}

impl ZoneShape {
    /// The hull of a concave zone (or one with holes), `None` for a convex
    /// one. Its nodes are the corners of a polygon circumscribed about the
    /// hull offset by `margin`: one side along each hull edge at least
    /// `margin` long, more sides at most `step` apart in direction between
    /// them. However many short edges the zone has (a coastline), the hull
    /// gets at most one node per `margin` of its perimeter plus 2π / `step`,
    /// and every side lies on a line that keeps `margin` from the zone.
    pub(crate) fn hull(&self, margin: f64, step: f64) -> Option<Hull> {
        use geo::ConvexHull;
        let ext: Vec<[f64; 2]> = self
            .polygon
            .exterior()
            .0
            .iter()
            .map(|c| [c.x, c.y])
            .collect();
        let hull = self.polygon.exterior().convex_hull();
        let mut h: Vec<[f64; 2]> = hull.exterior().0.iter().map(|c| [c.x, c.y]).collect();
        h.dedup();
        if h.len() > 1 && h.first() == h.last() {
            h.pop();
        }
        let mut e = ext;
        e.dedup();
        if e.len() > 1 && e.first() == e.last() {
            e.pop();
        }
        if h.len() < 3 || (h.len() >= e.len() && self.polygon.interiors().is_empty()) {
            return None;
        }
        if signed_area(&h) < 0.0 {
            h.reverse();
        }
        let m = h.len();
        let normal = |j: usize| {
            let d = sub(h[(j + 1) % m], h[j]);
            (-d[0]).atan2(d[1]) // outward normal (d.y, -d.x) of a CCW ring
        };
        // Directions of the sides: the long hull edges', then fill-ins.
        let long: Vec<f64> = (0..m)
            .filter(|&j| dist(h[j], h[(j + 1) % m]) >= margin)
            .map(normal)
            .collect();
        let seeds = if long.is_empty() {
            vec![normal(0)]
        } else {
            long
        };
        let tau = std::f64::consts::TAU;
        let mut angles = Vec::new();
        for (k, &a) in seeds.iter().enumerate() {
            let next = seeds[(k + 1) % seeds.len()];
            let mut gap = (next - a).rem_euclid(tau);
            if seeds.len() == 1 || gap < 1e-12 {
                gap = if seeds.len() == 1 { tau } else { gap };
            }
            let parts = (gap / step).ceil().max(1.0);
            for i in 0..parts as usize {
                angles.push(a + gap * i as f64 / parts);
            }
        }
        // Support value of each direction: the farthest hull vertex, plus the margin.
        let radius = margin + NODE_EPSILON_M;
        let lines: Vec<([f64; 2], f64)> = angles
            .iter()
            .map(|&t| {
                let n = [t.cos(), t.sin()];
                let s = h
                    .iter()
                    .map(|&v| dot(n, v))
                    .fold(f64::NEG_INFINITY, f64::max);
                (n, s + radius)
            })
            .collect();
        let k = lines.len();
        let mut nodes = Vec::with_capacity(k);
        for i in 0..k {
            let ((n1, s1), (n2, s2)) = (lines[i], lines[(i + 1) % k]);
            let det = cross(n1, n2);
            if det.abs() < 1e-12 {
                continue; // parallel neighbours: no corner
            }
            let at = [
                (s1 * n2[1] - s2 * n1[1]) / det,
                (n1[0] * s2 - n2[0] * s1) / det,
            ];
            let Some(inward) = unit([-(n1[0] + n2[0]), -(n1[1] + n2[1])]) else {
                continue;
            };
            nodes.push(OffsetNode {
                at,
                inward,
                half_turn: cross(n1, n2).atan2(dot(n1, n2)).abs() / 2.0,
            });
        }
        let ring: Vec<geo::Coord<f64>> = h
            .iter()
            .chain(h.first())
            .map(|p| geo::Coord { x: p[0], y: p[1] })
            .collect();
        Some(Hull {
            shape: ZoneShape::new(Polygon::new(LineString::new(ring), vec![])),
            nodes,
        })
    }
}

fn rings(p: &Polygon<f64>) -> impl Iterator<Item = &LineString<f64>> {
    std::iter::once(p.exterior()).chain(p.interiors())
}

fn intersects(a: &AABB<[f64; 2]>, b: &AABB<[f64; 2]>) -> bool {
    let (al, ah, bl, bh) = (a.lower(), a.upper(), b.lower(), b.upper());
    al[0] <= bh[0] && bl[0] <= ah[0] && al[1] <= bh[1] && bl[1] <= ah[1]
}

fn signed_area(pts: &[[f64; 2]]) -> f64 {
    let n = pts.len();
    (0..n)
        .map(|i| {
            let (a, b) = (pts[i], pts[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum::<f64>()
        / 2.0
}

pub(crate) fn sub(a: [f64; 2], b: [f64; 2]) -> [f64; 2] {
    [a[0] - b[0], a[1] - b[1]]
}

pub(crate) fn cross(a: [f64; 2], b: [f64; 2]) -> f64 {
    a[0] * b[1] - a[1] * b[0]
}

pub(crate) fn dot(a: [f64; 2], b: [f64; 2]) -> f64 {
    a[0] * b[0] + a[1] * b[1]
}

pub(crate) fn unit(v: [f64; 2]) -> Option<[f64; 2]> {
    let l = (v[0] * v[0] + v[1] * v[1]).sqrt();
    (l > 1e-9).then(|| [v[0] / l, v[1] / l])
}

pub(crate) fn dist(a: [f64; 2], b: [f64; 2]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

fn point_segment_distance_2(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let ab = sub(b, a);
    let l2 = dot(ab, ab);
    let t = if l2 > 0.0 {
        (dot(sub(p, a), ab) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let c = [a[0] + t * ab[0], a[1] + t * ab[1]];
    let d = sub(p, c);
    dot(d, d)
}

/// Squared distance between the segments `a`-`b` and `c`-`d` (0 if they meet).
pub(crate) fn segment_distance_2(a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]) -> f64 {
    let o1 = cross(sub(b, a), sub(c, a));
    let o2 = cross(sub(b, a), sub(d, a));
    let o3 = cross(sub(d, c), sub(a, c));
    let o4 = cross(sub(d, c), sub(b, c));
    if ((o1 > 0.0 && o2 < 0.0) || (o1 < 0.0 && o2 > 0.0))
        && ((o3 > 0.0 && o4 < 0.0) || (o3 < 0.0 && o4 > 0.0))
    {
        return 0.0;
    }
    point_segment_distance_2(a, c, d)
        .min(point_segment_distance_2(b, c, d))
        .min(point_segment_distance_2(c, a, b))
        .min(point_segment_distance_2(d, a, b))
}

#[cfg(test)]
mod tests {
    use geo::{Coord, LineString, Polygon};

    use super::*;

    fn poly(pts: &[(f64, f64)], holes: &[&[(f64, f64)]]) -> Polygon<f64> {
        let ring = |p: &[(f64, f64)]| {
            let mut v: Vec<Coord> = p.iter().map(|&(x, y)| Coord { x, y }).collect();
            v.push(v[0]);
            LineString::new(v)
        };
        Polygon::new(ring(pts), holes.iter().map(|h| ring(h)).collect())
    }

    #[test]
    fn inside_outside_and_distances() {
        let s = ZoneShape::new(poly(
            &[(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)],
            &[&[(40.0, 40.0), (60.0, 40.0), (60.0, 60.0), (40.0, 60.0)]],
        ));
        assert!(s.contains([10.0, 10.0]));
        assert!(s.contains([0.0, 50.0]), "boundary counts as inside");
        assert!(!s.contains([50.0, 50.0]), "the hole is outside");
        assert!(!s.contains([150.0, 50.0]));
        assert!((s.distance_to_point([150.0, 50.0]) - 50.0).abs() < 1e-9);
        assert!((s.distance_to_point([50.0, 50.0]) - 10.0).abs() < 1e-9);
        // A leg passing 30 m north.
        assert!(s.closer_than([-50.0, 130.0], [150.0, 130.0], 30.5));
        assert!(!s.closer_than([-50.0, 130.0], [150.0, 130.0], 29.5));
        // Crossing: distance 0.
        assert!(s.closer_than([-50.0, 10.0], [150.0, 10.0], 0.1));
        let d = s.distance_to_segment([-50.0, 130.0], [150.0, 130.0], 100.0);
        assert!(d.is_some_and(|d| (d - 30.0).abs() < 1e-9));
        assert_eq!(
            s.distance_to_segment([-50.0, 330.0], [150.0, 330.0], 100.0),
            None
        );
    }

    #[test]
    fn offset_nodes_keep_the_margin_between_neighbours() {
        // An L: five convex corners and one reflex corner.
        let s = ZoneShape::new(poly(
            &[
                (0.0, 0.0),
                (300.0, 0.0),
                (300.0, 100.0),
                (100.0, 100.0),
                (100.0, 300.0),
                (0.0, 300.0),
            ],
            &[],
        ));
        let nodes = s.offset_nodes(50.0, ARC_STEP_RAD);
        // Each 90° convex corner gives 3 nodes of 30°; the reflex one none.
        assert_eq!(nodes.len(), 5 * 3);
        for w in nodes.windows(2) {
            let (a, b) = (w[0].at, w[1].at);
            assert!(s.distance_to_point(a) >= 50.0);
            assert!(!s.closer_than(a, b, 50.0), "{a:?}-{b:?} cuts the margin");
        }
        // Tangency: along the offset edge at a node is tangent; straight into
        // the zone is not.
        let n = nodes[0];
        assert!(n.tangent(sub(nodes[1].at, n.at)));
        let into = sub([150.0, 50.0], n.at);
        assert!(!n.tangent(into));
    }

    #[test]
    fn nodes_in_a_narrow_notch_are_left_out() {
        // A U whose slot is 60 m wide: with a 50 m margin nothing fits inside.
        let s = ZoneShape::new(poly(
            &[
                (0.0, 0.0),
                (300.0, 0.0),
                (300.0, 300.0),
                (180.0, 300.0),
                (180.0, 100.0),
                (120.0, 100.0),
                (120.0, 300.0),
                (0.0, 300.0),
            ],
            &[],
        ));
        for n in s.offset_nodes(50.0, ARC_STEP_RAD) {
            assert!(
                !(n.at[0] > 120.0 && n.at[0] < 180.0 && n.at[1] < 300.0),
                "{n:?}"
            );
        }
    }

    #[test]
    fn a_concave_zone_has_a_hull_with_few_nodes_that_keep_the_margin() {
        // A sawtooth ring of 2,000 vertices, 5 km across: each vertex turns
        // a little, so the hull would be as fine as the zone itself.
        let pts = crate::synth::bay_ring(2000, 2500.0, 0.01);
        let s = ZoneShape::new(poly(&pts, &[]));
        let hull = s
            .hull(100.0, ARC_STEP_RAD)
            .unwrap_or_else(|| panic!("concave"));
        // About 2π / 30° sides, not hundreds.
        assert!(
            (12..=16).contains(&hull.nodes.len()),
            "{}",
            hull.nodes.len()
        );
        for i in 0..hull.nodes.len() {
            let (a, b) = (hull.nodes[i].at, hull.nodes[(i + 1) % hull.nodes.len()].at);
            assert!(!s.closer_than(a, b, 100.0), "side {i} cuts the margin");
            assert!(hull.nodes[i].tangent(sub(b, a)));
        }
        // A convex zone has none.
        let square = ZoneShape::new(poly(
            &[(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)],
            &[],
        ));
        assert!(square.hull(100.0, ARC_STEP_RAD).is_none());
    }

    #[test]
    fn segment_distances() {
        let d = segment_distance_2([0.0, 0.0], [10.0, 0.0], [5.0, -1.0], [5.0, 1.0]);
        assert_eq!(d, 0.0);
        let d = segment_distance_2([0.0, 0.0], [10.0, 0.0], [12.0, 3.0], [12.0, 5.0]);
        assert!((d - 13.0).abs() < 1e-12);
    }
}

//! The graph's nodes: the offset corners of the zones that matter (or of a
//! big concave zone's hull), the ways out of a start or a target closer than
//! the margin to a zone, and the tangency test that prunes the legs between
//! hull nodes.

use super::search::{START, Search, TARGET};
use crate::shape::{ARC_STEP_RAD, NODE_EPSILON_M, OffsetNode, dist, sub};
use crate::world::IndexedZone;

/// A concave zone with more corner nodes than this is passed round its hull
/// when it stands alone: searching every corner of a coastline costs the
/// square of their number, and a route passing it never goes into its bays.
/// Smaller zones are searched at every corner, exactly.
const HULL_MIN_NODES: usize = 256;

/// How far from a start or target closer than the margin to a zone the
/// search looks for a way out, metres.
const APPROACH_RANGE_M: f64 = 10_000.0;

impl Search<'_> {
    /// Least distance from `p` to a zone that may block the flight, other
    /// than `except`, looking no further than `horizon`.
    fn clearance_at(&self, p: [f64; 2], horizon: f64, except: Option<usize>) -> f64 {
        self.clearance_where(p, horizon, except, |z| {
            self.flight.blocked_by(&z.zone, self.altitude)
        })
    }

    /// Least distance from `p` to a zone that blocks the whole flight, other
    /// than `except`, looking no further than `horizon`.
    fn clearance_throughout(&self, p: [f64; 2], horizon: f64, except: Option<usize>) -> f64 {
        self.clearance_where(p, horizon, except, |z| {
            self.flight.blocked_throughout(&z.zone, self.altitude)
        })
    }

    fn clearance_where(
        &self,
        p: [f64; 2],
        horizon: f64,
        except: Option<usize>,
        counts: impl Fn(&IndexedZone) -> bool,
    ) -> f64 {
        self.world
            .zones_within(p, p, horizon)
            .filter(|&o| Some(o) != except)
            .filter_map(|o| self.world.indexed_zone(o))
            .filter(|z| counts(z))
            .map(|z| z.shape.distance_to_point(p))
            .fold(f64::INFINITY, f64::min)
    }

    /// Blocking zones, not yet in the graph, whose margin meets the margin
    /// of zone `zi`.
    pub(super) fn neighbours(&self, zi: usize) -> Vec<usize> {
        let Some(z) = self.world.indexed_zone(zi) else {
            return Vec::new();
        };
        let (lo, hi) = (z.envelope.lower(), z.envelope.upper());
        self.world
            .zones_within(lo, hi, 2.0 * self.margin + NODE_EPSILON_M)
            .filter(|&o| !self.included.contains(&o) && self.is_blocking(o))
            .collect()
    }

    /// Adds the nodes of zone `zi` to the graph; false if it was there.
    pub(super) fn include(&mut self, zi: usize) -> bool {
        if !self.included.insert(zi) {
            return false;
        }
        let Some(z) = self.world.indexed_zone(zi) else {
            return true;
        };
        self.timed |= self.flight.changes(&z.zone);
        // A big concave zone (a coastline) standing alone is passed round
        // its hull, with legs tangent to it (see `tangent`); otherwise every
        // corner is a node, and any leg between nodes is tried.
        let owned;
        let (nodes, hull): (&[OffsetNode], bool) = match (self.reference, &z.hull) {
            (Some(step), _) => {
                owned = z.shape.offset_nodes(self.margin, step);
                (&owned, false)
            }
            (None, Some(hull)) if z.nodes.len() > HULL_MIN_NODES && !self.crowded(zi, z) => {
                (&hull.nodes, true)
            }
            (None, _) => (&z.nodes, false),
        };
        // A node too close to a zone in force the whole flight can never be
        // used. One too close to a zone in force for part of it is kept: the
        // legs to and from it are judged at the times they are flown.
        for node in nodes {
            if self.clearance_throughout(node.at, self.margin, Some(zi)) >= self.margin {
                self.nodes.push(node.at);
                self.node_tangent.push(hull.then_some(*node));
                self.node_zone.push(Some(zi));
            }
        }
        true
    }

    /// Whether zone `zi` is crowded: the start or the target lies within two
    /// margins of its hull, or another blocking zone does. Otherwise a
    /// shortest route round the zone is a shortest route round its hull (it
    /// never goes into the zone's pockets), and bends at the hull's nodes
    /// only to wrap round it.
    fn crowded(&self, zi: usize, z: &IndexedZone) -> bool {
        let hull = z.hull.as_ref().map_or(&z.shape, |h| &h.shape);
        let reach = 2.0 * self.margin + NODE_EPSILON_M;
        if [START, TARGET]
            .iter()
            .any(|&e| hull.distance_to_point(self.nodes[e]) < reach)
        {
            return true;
        }
        let env = hull.envelope();
        let ring = &hull.polygon().exterior().0;
        self.world
            .zones_within(env.lower(), env.upper(), reach)
            .filter(|&o| o != zi && self.is_blocking(o))
            .filter_map(|o| self.world.indexed_zone(o))
            .any(|o| {
                ring.windows(2).any(|w| {
                    o.shape
                        .closer_than([w[0].x, w[0].y], [w[1].x, w[1].y], reach)
                }) || hull.contains(first_vertex(&o.shape))
            })
    }

    /// Nodes from which the start or the target (closer than the margin to
    /// a zone, `near` metres) can be left or reached: along rays that skim
    /// the nearby zones' corners at exactly that distance (the way out of a
    /// narrow corridor runs so), and a fan of 32 directions, the first point
    /// where the margin is regained.
    pub(super) fn add_ways_out(&mut self, end: usize, near: f64) {
        let p = self.nodes[end];
        let exempt = if end == START {
            &self.start_zones
        } else {
            &self.target_zones
        };
        // A node must see the rounded corners next to it without cutting them.
        let node_r = (self.margin + NODE_EPSILON_M) / (ARC_STEP_RAD / 2.0).cos();
        let mut dirs: Vec<f64> = (0..32)
            .map(|k| f64::from(k) * std::f64::consts::TAU / 32.0)
            .collect();
        for zi in self.world.zones_within(p, p, self.margin) {
            if exempt.contains(&zi) || !self.is_blocking(zi) {
                continue;
            }
            let Some(z) = self.world.indexed_zone(zi) else {
                continue;
            };
            for v in z.shape.vertices_near(p, 256) {
                let dv = dist(v, p);
                if dv <= near {
                    continue;
                }
                let base = (v[1] - p[1]).atan2(v[0] - p[0]);
                let a = (near / dv).asin();
                dirs.extend([base + a, base - a]);
            }
        }
        let region = self.world.region();
        let frame = self.world.frame();
        let first_new = self.nodes.len();
        for theta in dirs {
            let dir = [theta.cos(), theta.sin()];
            let mut s = 0.0;
            for _ in 0..2_000 {
                let q = [p[0] + s * dir[0], p[1] + s * dir[1]];
                if s > APPROACH_RANGE_M || !region.contains(frame.unproject(q)) {
                    break;
                }
                let c = self.clearance_at(q, node_r, None);
                if c >= node_r {
                    if self.nodes[first_new..].iter().all(|&n| dist(n, q) > 1.0) {
                        self.nodes.push(q);
                        self.node_tangent.push(None);
                        self.node_zone.push(None);
                    }
                    break;
                }
                // The clearance grows at most as fast as the distance flown.
                s += (node_r - c + 0.01).max(0.05);
            }
        }
    }

    /// Whether the leg `u`-`v` may be on a shortest route as far as the
    /// tangency test tells, at the hull nodes of a concave zone standing
    /// alone (see `crowded`): a route bends there only round the hull, so its
    /// legs run along its offset, not into it. Round a coastline of
    /// thousands of corners this skips nearly every candidate leg. Not
    /// applied at the corners of other zones: a route through nodes on a
    /// polygon drawn round the true offset may meet one at a steep angle and
    /// still be the shortest there is. Nor when a zone of the graph opens or
    /// closes during the flight (a route may then bend only to pass a place
    /// later), nor where a route may leave
    /// the rules at its ends: at the node after the start (`after_start`) and
    /// the node before the target, when the first or last leg may cut into
    /// the margin or leave or enter a zone.
    pub(super) fn tangent(&self, u: usize, v: usize, after_start: bool) -> bool {
        if self.reference.is_some() || self.timed || self.relaxed(u, v) {
            return true;
        }
        let w = sub(self.nodes[v], self.nodes[u]);
        let free_start =
            after_start && (!self.start_near.is_empty() || !self.start_zones.is_empty());
        let free_end = !self.target_near.is_empty() || !self.target_zones.is_empty();
        (free_start || self.node_tangent[u].is_none_or(|n| n.tangent(w)))
            && (free_end || self.node_tangent[v].is_none_or(|n| n.tangent(w)))
    }
}

fn first_vertex(shape: &crate::shape::ZoneShape) -> [f64; 2] {
    let c = shape
        .polygon()
        .exterior()
        .0
        .first()
        .copied()
        .unwrap_or_default();
    [c.x, c.y]
}

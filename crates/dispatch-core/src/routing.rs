//! No-go-aware route planning.
//!
//! A visibility graph over the corners of the zones that matter, pushed out by
//! the route margin, searched with A*. The graph is built lazily: it starts with
//! the zones that block the straight line, and every zone found blocking an edge
//! during the search adds its corners and the search runs again, until no new
//! zone shows up. Edges are tested against *every* zone through the R-tree, so a
//! returned route never crosses a blocking zone whatever the lazy set holds.
//!
//! Time: a zone blocks a leg when its altitude band meets the cruise altitude
//! and it is in force while the drone flies that leg. The search knows when
//! the drone reaches each node (departure, plus the time before cruise, plus
//! the distance so far at cruise speed), so a leg flown before a closure opens,
//! or after it ends, is allowed. Because the real flight drifts from the plan
//! (launch, wind), each leg's interval is widened by [`leg_tolerance_s`] on both
//! sides. Decisions that do not belong to one leg (whether the target lies in a
//! closed zone, which corners of a zone lie inside another) use the whole
//! flight's window; its length is not known before the route is, so planning
//! starts with the straight-line duration and widens it to the planned
//! duration until the two agree. Zones a route crosses while they are not in
//! force are listed in [`Route::crossed_inactive`], so that a vehicle's fence
//! can leave them out.
//!
//! Optimisation happens in the region's local frame; reported lengths are
//! geodesic (WGS84).

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, HashSet};

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::geodesy::distance_m;
use crate::model::{LatLon, Timestamp, ZoneId};
use crate::shape::{ARC_STEP_RAD, NODE_EPSILON_M, OffsetNode, dist, sub};
use crate::world::{IndexedZone, World, pieces};

/// One route question.
#[derive(Debug, Clone, Copy)]
pub struct RouteRequest {
    pub from: LatLon,
    pub to: LatLon,
    pub depart: Timestamp,
    /// Seconds between `depart` and the start of cruise (launch, climb).
    pub pre_cruise_s: f64,
    pub speed_mps: f64,
    pub altitude_m: f64,
    /// A rescue flight may enter a rescue-exempt zone on its final leg.
    pub rescue: bool,
}

/// A planned route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    /// From start to target, both included.
    pub waypoints: Vec<LatLon>,
    /// Geodesic length, metres.
    pub length_m: f64,
    /// Rescue-exempt zones the final leg enters to reach the target.
    pub final_leg_enters: Vec<ZoneId>,
    /// Zones the first leg leaves (the start lay inside them).
    pub departs_from: Vec<ZoneId>,
    /// Zones the route bends around.
    pub avoided: Vec<ZoneId>,
    /// Zones a leg crosses while they are not in force (it passes before a
    /// closure opens or after it ends); a static fence must leave them out.
    pub crossed_inactive: Vec<ZoneId>,
    /// The least distance, metres, from the route to a zone that blocks the
    /// flight (leaving out the zones the route may be in: the one it departs
    /// from, the rescue-exempt zone of the target, those it crosses while not
    /// in force). `None` when no such zone lies within [`CLEARANCE_HORIZON_M`].
    /// At least the route margin, except where the start or the target
    /// itself lies closer than that to a zone.
    pub clearance_m: Option<f64>,
    /// The zones at that least distance.
    pub clearance_zones: Vec<ZoneId>,
    /// Zones the route comes closer to than the margin (its first or last
    /// leg, because the start or the target is that close): a vehicle's
    /// fence around them cannot be grown by the margin.
    pub within_margin: Vec<ZoneId>,
}

/// How far from the route `clearance_m` looks for zones, metres.
pub const CLEARANCE_HORIZON_M: f64 = 2_000.0;

/// The parameter range `[s0, s1]` (0 at `a`, 1 at `b`) of the segment inside
/// the box, if it meets it (Liang-Barsky clipping).
fn clip_to_envelope(a: [f64; 2], b: [f64; 2], env: &rstar::AABB<[f64; 2]>) -> Option<(f64, f64)> {
    let (lo, hi) = (env.lower(), env.upper());
    let (mut s0, mut s1) = (0.0f64, 1.0f64);
    for k in 0..2 {
        let d = b[k] - a[k];
        if d == 0.0 {
            if a[k] < lo[k] || a[k] > hi[k] {
                return None;
            }
            continue;
        }
        let (mut e0, mut e1) = ((lo[k] - a[k]) / d, (hi[k] - a[k]) / d);
        if e0 > e1 {
            std::mem::swap(&mut e0, &mut e1);
        }
        s0 = s0.max(e0);
        s1 = s1.min(e1);
        if s0 > s1 {
            return None;
        }
    }
    Some((s0, s1))
}

/// How much a leg's flight interval is widened on each side, seconds, at
/// `elapsed_s` after departure: 30 s plus 5 % of the time flown so far.
pub fn leg_tolerance_s(elapsed_s: f64) -> f64 {
    30.0 + 0.05 * elapsed_s.max(0.0)
}

impl Route {
    pub fn duration_s(&self, speed_mps: f64) -> f64 {
        self.length_m / speed_mps
    }
}

/// Why no route exists.
#[derive(Debug, Clone, Error, PartialEq, Serialize, Deserialize)]
pub enum RouteError {
    #[error("target lies inside no-go zone `{zone}` ({name}), which is not open to this flight")]
    TargetInZone { zone: ZoneId, name: String },
    #[error("target is unreachable: no-go zone(s) {} close every way in", list(.zones))]
    Unreachable { zones: Vec<ZoneId> },
    #[error("position {position} is outside the operating region")]
    OutsideRegion { position: LatLon },
}

fn list(z: &[ZoneId]) -> String {
    z.iter()
        .map(|z| format!("`{z}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Plans the shortest route for `req` that keeps the route margin from every
/// blocking zone along every leg (see the module documentation).
pub fn plan_route(world: &World, req: &RouteRequest) -> Result<Route, RouteError> {
    plan(world, req, None)
}

/// The reference the planner is tested against: every corner node of every
/// zone blocking the flight (arcs cut in steps of `arc_step_rad`), the full
/// visibility graph with no pruning, Dijkstra. Exact up to the arc steps and
/// slow: for tests and the routing figures, not for dispatch.
pub fn plan_route_reference(
    world: &World,
    req: &RouteRequest,
    arc_step_rad: f64,
) -> Result<Route, RouteError> {
    plan(world, req, Some(arc_step_rad.clamp(0.005, ARC_STEP_RAD)))
}

fn plan(world: &World, req: &RouteRequest, reference: Option<f64>) -> Result<Route, RouteError> {
    for p in [req.from, req.to] {
        if !world.region().contains(p) {
            return Err(RouteError::OutsideRegion { position: p });
        }
    }
    let direct = distance_m(req.from, req.to);
    let mut horizon_s = req.pre_cruise_s + direct / req.speed_mps;
    for _ in 0..4 {
        let end = req.depart + secs(horizon_s);
        let route = plan_in_window(world, req, end, reference)?;
        let needed = req.pre_cruise_s + route.duration_s(req.speed_mps);
        if needed <= horizon_s + 1.0 {
            return Ok(route);
        }
        horizon_s = needed * 1.1;
    }
    // Still growing: treat every zone that starts after departure as active.
    plan_in_window(world, req, Timestamp::MAX_UTC, reference)
}

pub(crate) fn secs(s: f64) -> TimeDelta {
    TimeDelta::milliseconds((s * 1000.0).round().clamp(0.0, 1e15) as i64)
}

const START: usize = 0;
const TARGET: usize = 1;

/// A concave zone with more corner nodes than this is passed round its hull
/// when it stands alone: searching every corner of a coastline costs the
/// square of their number, and a route passing it never goes into its bays.
/// Smaller zones are searched at every corner, exactly.
const HULL_MIN_NODES: usize = 256;

/// How far from a start or target closer than the margin to a zone the
/// search looks for a way out, metres.
const APPROACH_RANGE_M: f64 = 10_000.0;

struct Search<'w> {
    world: &'w World,
    altitude: f64,
    start_t: Timestamp,
    end_t: Timestamp,
    /// Seconds from departure to the start of cruise, and the cruise speed.
    pre_cruise_s: f64,
    speed_mps: f64,
    margin: f64,
    /// `Some(arc step)`: the reference search (every zone, no pruning).
    reference: Option<f64>,
    /// Zones the first leg may leave.
    start_zones: Vec<usize>,
    /// Zones the final leg may enter.
    target_zones: Vec<usize>,
    /// The clearance the first and the last leg keep: the margin, or less
    /// where the start or the target itself is closer than that to a zone.
    start_limit: f64,
    target_limit: f64,
    nodes: Vec<[f64; 2]>,
    /// The offset boundary at the nodes of zones standing alone (for the
    /// tangency test).
    node_tangent: Vec<Option<OffsetNode>>,
    node_zone: Vec<Option<usize>>,
    included: HashSet<usize>,
    /// Whether a zone in the graph opens or closes during the flight: then
    /// a shortest route may bend only to pass a place later (or sooner), and
    /// the tangency test no longer holds.
    timed: bool,
    /// (from, to, second along the route) -> a blocking zone, if any.
    blocked_cache: HashMap<(usize, usize, i64), Option<usize>>,
}

fn plan_in_window(
    world: &World,
    req: &RouteRequest,
    end_t: Timestamp,
    reference: Option<f64>,
) -> Result<Route, RouteError> {
    let frame = world.frame();
    let s = frame.project(req.from);
    let t = frame.project(req.to);
    let blocking = |i: usize| {
        world
            .indexed_zone(i)
            .is_some_and(|z| z.zone.blocks(req.altitude_m, req.depart, end_t))
    };
    let mut target_zones = Vec::new();
    for zi in world.zones_at_point(t).filter(|&i| blocking(i)) {
        let Some(z) = world.indexed_zone(zi) else {
            continue;
        };
        if !z.contains_point(t) {
            continue;
        }
        if !(req.rescue && z.zone.rescue_exempt) {
            return Err(RouteError::TargetInZone {
                zone: z.zone.id.clone(),
                name: z.zone.name.clone(),
            });
        }
        target_zones.push(zi);
    }
    let start_zones: Vec<usize> = world
        .zones_at_point(s)
        .filter(|&i| blocking(i) && world.indexed_zone(i).is_some_and(|z| z.contains_point(s)))
        .collect();
    let margin = world.params().route_margin_m;
    // How close the start and the target are to the zones they are not in.
    let nearest = |p: [f64; 2], exempt: &[usize]| {
        world
            .zones_within(p, p, margin)
            .filter(|&i| blocking(i) && !exempt.contains(&i))
            .filter_map(|i| world.indexed_zone(i))
            .map(|z| z.shape.distance_to_point(p))
            .fold(f64::INFINITY, f64::min)
    };
    let limit = |d: f64| if d < margin { d * 0.999 } else { margin };
    let start_limit = limit(nearest(s, &start_zones));
    let target_limit = limit(nearest(t, &target_zones));

    let mut search = Search {
        world,
        altitude: req.altitude_m,
        start_t: req.depart,
        end_t,
        pre_cruise_s: req.pre_cruise_s,
        speed_mps: req.speed_mps,
        margin,
        reference,
        start_zones,
        target_zones,
        start_limit,
        target_limit,
        nodes: vec![s, t],
        node_tangent: vec![None, None],
        node_zone: vec![None, None],
        included: HashSet::new(),
        timed: false,
        blocked_cache: HashMap::new(),
    };
    for end in [START, TARGET] {
        let d = if end == START {
            start_limit
        } else {
            target_limit
        };
        if d < margin {
            search.add_ways_out(end, d / 0.999);
        }
    }

    let mut pending: Vec<usize> = if reference.is_some() {
        world
            .zone_indices()
            .filter(|&i| search.is_blocking(i))
            .collect()
    } else {
        search.blockers(START, TARGET, 0.0)
    };
    loop {
        // A zone comes with the blocking zones near enough to take away some
        // of its nodes (their margins overlap): the way past both may bend
        // at either's.
        while let Some(zi) = pending.pop() {
            if search.include(zi) {
                pending.extend(search.neighbours(zi));
            }
        }
        let (path, discovered) = search.astar();
        if !discovered.is_empty() {
            pending = discovered;
            continue;
        }
        return match path {
            Some(path) => Ok(search.route(req, &path)),
            None => Err(RouteError::Unreachable {
                zones: search.zones_closing_target(),
            }),
        };
    }
}

impl Search<'_> {
    fn is_blocking(&self, zi: usize) -> bool {
        self.world
            .indexed_zone(zi)
            .is_some_and(|z| z.zone.blocks(self.altitude, self.start_t, self.end_t))
    }

    /// When the drone flies from `g_from` to `g_to` metres along the route,
    /// widened by the tolerance.
    fn flown_between(&self, g_from: f64, g_to: f64) -> (Timestamp, Timestamp) {
        let t0 = self.pre_cruise_s + g_from / self.speed_mps;
        let t1 = self.pre_cruise_s + g_to / self.speed_mps;
        (
            self.start_t + secs((t0 - leg_tolerance_s(t0)).max(0.0)),
            self.start_t + secs(t1 + leg_tolerance_s(t1)),
        )
    }

    /// The clearance the leg `u`-`v` must keep from blocking zones.
    fn limit(&self, u: usize, v: usize) -> f64 {
        let mut l = self.margin;
        if self.touches(u, v, START) {
            l = l.min(self.start_limit);
        }
        if self.touches(u, v, TARGET) {
            l = l.min(self.target_limit);
        }
        l
    }

    /// Whether zone `zi` blocks the straight edge `u`-`v` entered `g_u`
    /// metres along the route: the edge comes closer to it than its limit
    /// while it is in force, and it is not a zone the edge may be in. A
    /// zone's time is the time the drone is within the limit of the zone's
    /// envelope on that edge (a superset of the approach).
    fn zone_blocks(&self, zi: usize, u: usize, v: usize, g_u: f64) -> bool {
        let (a, b) = (self.nodes[u], self.nodes[v]);
        let limit = self.limit(u, v);
        if (self.touches(u, v, START) && self.start_zones.contains(&zi))
            || (self.touches(u, v, TARGET) && self.target_zones.contains(&zi))
        {
            return false;
        }
        let Some(z) = self.world.indexed_zone(zi) else {
            return false;
        };
        let (lo, hi) = (z.envelope.lower(), z.envelope.upper());
        let grown = rstar::AABB::from_corners(
            [lo[0] - limit, lo[1] - limit],
            [hi[0] + limit, hi[1] + limit],
        );
        let Some((s0, s1)) = clip_to_envelope(a, b, &grown) else {
            return false;
        };
        let len = dist(a, b);
        let (t0, t1) = self.flown_between(g_u + s0 * len, g_u + s1 * len);
        z.zone.blocks(self.altitude, t0, t1) && z.shape.closer_than(a, b, limit)
    }

    /// Every zone blocking the edge `u`-`v` entered `g_u` metres along the route.
    fn blockers(&self, u: usize, v: usize, g_u: f64) -> Vec<usize> {
        let (a, b) = (self.nodes[u], self.nodes[v]);
        self.world
            .zones_along(a, b, self.limit(u, v))
            .into_iter()
            .filter(|&zi| self.zone_blocks(zi, u, v, g_u))
            .collect()
    }

    /// A zone blocking the edge `u`-`v` entered `g_u` metres along the
    /// route, found cheaply: first the zones of its end nodes (most legs the
    /// search tries turn into their own zone), then along the edge from `u`,
    /// stopping at the first piece of it with a blocker, preferring a zone
    /// not yet in the graph.
    fn find_blocker(&self, u: usize, v: usize, g_u: f64) -> Option<usize> {
        for zi in [self.node_zone[u], self.node_zone[v]].into_iter().flatten() {
            if self.zone_blocks(zi, u, v, g_u) {
                return Some(zi);
            }
        }
        let (a, b) = (self.nodes[u], self.nodes[v]);
        let limit = self.limit(u, v);
        for (p0, p1) in pieces(a, b, limit) {
            let mut known = None;
            for zi in self.world.zones_within(p0, p1, limit) {
                if known.is_some_and(|k| k == zi) || !self.zone_blocks(zi, u, v, g_u) {
                    continue;
                }
                if !self.included.contains(&zi) {
                    return Some(zi);
                }
                known = known.or(Some(zi));
            }
            if known.is_some() {
                return known;
            }
        }
        None
    }

    fn touches(&self, u: usize, v: usize, n: usize) -> bool {
        u == n || v == n
    }

    /// The zone blocking `u`-`v` flown from `g_u` metres along the route,
    /// preferring one not yet in the graph.
    fn blocked_by(&mut self, u: usize, v: usize, g_u: f64) -> Option<usize> {
        // The same edge at (nearly) the same time gives the same answer.
        let key = (u, v, (g_u / self.speed_mps).round() as i64);
        if let Some(&hit) = self.blocked_cache.get(&key) {
            return hit;
        }
        let hit = self.find_blocker(u, v, g_u);
        self.blocked_cache.insert(key, hit);
        hit
    }

    /// Least distance from `p` to a zone blocking the flight, other than
    /// `except`, looking no further than `horizon`.
    fn clearance_at(&self, p: [f64; 2], horizon: f64, except: Option<usize>) -> f64 {
        self.world
            .zones_within(p, p, horizon)
            .filter(|&o| Some(o) != except && self.is_blocking(o))
            .filter_map(|o| self.world.indexed_zone(o))
            .map(|z| z.shape.distance_to_point(p))
            .fold(f64::INFINITY, f64::min)
    }

    /// Blocking zones, not yet in the graph, whose margin meets the margin
    /// of zone `zi`.
    fn neighbours(&self, zi: usize) -> Vec<usize> {
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
    fn include(&mut self, zi: usize) -> bool {
        if !self.included.insert(zi) {
            return false;
        }
        let Some(z) = self.world.indexed_zone(zi) else {
            return true;
        };
        let w = z.zone.window;
        self.timed |= [w.from, w.until]
            .into_iter()
            .flatten()
            .any(|t| self.start_t < t && t < self.end_t);
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
        for node in nodes {
            if self.clearance_at(node.at, self.margin, Some(zi)) >= self.margin {
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
    fn add_ways_out(&mut self, end: usize, near: f64) {
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
    fn tangent(&self, u: usize, v: usize, after_start: bool) -> bool {
        if self.reference.is_some() || self.timed || self.limit(u, v) < self.margin {
            return true;
        }
        let w = sub(self.nodes[v], self.nodes[u]);
        let free_start =
            after_start && (self.start_limit < self.margin || !self.start_zones.is_empty());
        let free_end = self.target_limit < self.margin || !self.target_zones.is_empty();
        (free_start || self.node_tangent[u].is_none_or(|n| n.tangent(w)))
            && (free_end || self.node_tangent[v].is_none_or(|n| n.tangent(w)))
    }

    /// A* from START to TARGET (Dijkstra for the reference), lazy in its
    /// edges: a leg is pushed unchecked with its cost, and tested against
    /// the zones only when it comes off the heap as the best way to its end.
    /// The legs that never could be on a shorter route than the answer are
    /// never tested. Returns the path (node indices) and the zones discovered
    /// blocking legs that are not yet in the graph.
    fn astar(&mut self) -> (Option<Vec<usize>>, Vec<usize>) {
        let n = self.nodes.len();
        let target = self.nodes[TARGET];
        let guided = self.reference.is_none();
        let h = |p: [f64; 2]| if guided { dist(p, target) } else { 0.0 };
        let mut g = vec![f64::INFINITY; n];
        let mut prev = vec![usize::MAX; n];
        let mut closed = vec![false; n];
        let mut heap = BinaryHeap::new();
        let mut discovered = Vec::new();
        heap.push(Open {
            f: h(self.nodes[START]),
            g: 0.0,
            node: START,
            from: usize::MAX,
        });
        while let Some(Open {
            g: gv,
            node: v,
            from: u,
            ..
        }) = heap.pop()
        {
            if closed[v] {
                continue;
            }
            if u != usize::MAX
                && let Some(zi) = self.blocked_by(u, v, g[u])
            {
                if !self.included.contains(&zi) && !discovered.contains(&zi) {
                    discovered.push(zi);
                }
                continue;
            }
            closed[v] = true;
            g[v] = gv;
            prev[v] = u;
            if v == TARGET {
                let mut path = vec![TARGET];
                let mut c = TARGET;
                while c != START {
                    c = prev[c];
                    path.push(c);
                }
                path.reverse();
                return (Some(path), discovered);
            }
            let a = self.nodes[v];
            for (w, &done) in closed.iter().enumerate() {
                if done || w == START || !self.tangent(v, w, u == START) {
                    continue;
                }
                let b = self.nodes[w];
                let cand = gv + dist(a, b);
                heap.push(Open {
                    f: cand + h(b),
                    g: cand,
                    node: w,
                    from: v,
                });
            }
        }
        (None, discovered)
    }

    fn route(&self, req: &RouteRequest, path: &[usize]) -> Route {
        let frame = self.world.frame();
        let mut waypoints: Vec<LatLon> = path
            .iter()
            .map(|&i| match i {
                START => req.from,
                TARGET => req.to,
                _ => frame.unproject(self.nodes[i]),
            })
            .collect();
        waypoints.dedup();
        let length_m = waypoints.windows(2).map(|w| distance_m(w[0], w[1])).sum();
        let ids = |zs: &[usize]| -> Vec<ZoneId> {
            zs.iter()
                .filter_map(|&z| self.world.indexed_zone(z))
                .map(|z| z.zone.id.clone())
                .collect()
        };
        let mut avoided: Vec<usize> = path.iter().filter_map(|&i| self.node_zone[i]).collect();
        avoided.sort_unstable();
        avoided.dedup();
        // Zones in force during the flight that a leg crosses before they open
        // or after they end.
        let mut crossed = Vec::new();
        for w in path.windows(2) {
            let (a, b) = (self.nodes[w[0]], self.nodes[w[1]]);
            for zi in self.world.zones_along(a, b, 0.0) {
                let Some(z) = self.world.indexed_zone(zi) else {
                    continue;
                };
                let exempt = (w[0] == START && self.start_zones.contains(&zi))
                    || (w[1] == TARGET && self.target_zones.contains(&zi));
                if self.is_blocking(zi) && !exempt && z.crosses(a, b) {
                    crossed.push(zi);
                }
            }
        }
        crossed.sort_unstable();
        crossed.dedup();
        // Clearance: the nearest blocking zone to any leg, and every zone a
        // leg comes closer to than the margin (first and last legs only).
        let mut best: Option<(f64, Vec<usize>)> = None;
        let mut within = Vec::new();
        for w in path.windows(2) {
            let (a, b) = (self.nodes[w[0]], self.nodes[w[1]]);
            for zi in self.world.zones_along(a, b, CLEARANCE_HORIZON_M) {
                let exempt = self.start_zones.contains(&zi)
                    || self.target_zones.contains(&zi)
                    || crossed.contains(&zi);
                if exempt || !self.is_blocking(zi) {
                    continue;
                }
                let Some(z) = self.world.indexed_zone(zi) else {
                    continue;
                };
                let Some(d) = z.shape.distance_to_segment(a, b, CLEARANCE_HORIZON_M) else {
                    continue;
                };
                if d < self.margin - 0.01 && !within.contains(&zi) {
                    within.push(zi);
                }
                match &mut best {
                    Some((bd, zs)) if (d - *bd).abs() < 0.01 => {
                        if !zs.contains(&zi) {
                            zs.push(zi);
                        }
                    }
                    Some((bd, _)) if d > *bd => {}
                    _ => best = Some((d, vec![zi])),
                }
            }
        }
        within.sort_unstable();
        let (clearance_m, clearance_zones) = match best {
            Some((d, mut zs)) => {
                zs.sort_unstable();
                (Some((d * 10.0).round() / 10.0), ids(&zs))
            }
            None => (None, Vec::new()),
        };
        Route {
            waypoints,
            length_m,
            final_leg_enters: ids(&self.target_zones),
            departs_from: ids(&self.start_zones),
            avoided: ids(&avoided),
            crossed_inactive: ids(&crossed),
            clearance_m,
            clearance_zones,
            within_margin: ids(&within),
        }
    }

    /// The zones that block the ways into the target, for the error message.
    fn zones_closing_target(&self) -> Vec<ZoneId> {
        let mut zs: Vec<usize> = self
            .blocked_cache
            .iter()
            .filter(|((u, v, _), _)| *u == TARGET || *v == TARGET)
            .filter_map(|(_, hit)| *hit)
            .collect();
        zs.sort_unstable();
        zs.dedup();
        let mut ids: Vec<ZoneId> = zs
            .into_iter()
            .filter_map(|z| self.world.indexed_zone(z))
            .map(|z| z.zone.id.clone())
            .collect();
        ids.sort();
        ids
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

/// A leg on the heap: reaching `node` from `from` at cost `g`.
#[derive(Debug, PartialEq)]
struct Open {
    f: f64,
    g: f64,
    node: usize,
    from: usize,
}

impl Eq for Open {}

impl Ord for Open {
    fn cmp(&self, other: &Self) -> Ordering {
        // Min-heap on f; ties broken by node and leg for determinism.
        other
            .f
            .total_cmp(&self.f)
            .then_with(|| other.node.cmp(&self.node))
            .then_with(|| other.from.cmp(&self.from))
    }
}

impl PartialOrd for Open {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
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
    fn a_zone_opening_after_the_drone_passes_does_not_bend_the_route() {
        // The wall 2 km out opens 20 minutes after departure; the drone passes
        // it after about 2.5 minutes: straight on, and the fence must know.
        let mut later = rect("later", 30.3, 120.32, 30.7, 120.33);
        later.window.from = Some(t("2026-09-28T12:20:00Z"));
        let w = world(vec![later]);
        let route =
            plan_route(&w, &req((30.5, 120.3), (30.5, 120.7))).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(route.waypoints.len(), 2, "{:?}", route.waypoints);
        assert_eq!(route.crossed_inactive, vec![ZoneId("later".into())]);
        // Opening just before the drone gets there (within the tolerance): around.
        let mut soon = rect("soon", 30.3, 120.32, 30.7, 120.33);
        soon.window.from = Some(t("2026-09-28T12:03:00Z"));
        let w = world(vec![soon]);
        let route = check(&w, &req((30.5, 120.3), (30.5, 120.7)), &["soon"]);
        assert_eq!(route.avoided, vec![ZoneId("soon".into())]);
        assert!(route.crossed_inactive.is_empty());
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
    fn a_zone_that_ends_before_the_drone_gets_there_does_not_bend_the_route() {
        // In force until 12:05; the drone reaches it (35 km out) after about 40 minutes.
        let mut ending = rect("ending", 30.3, 120.66, 30.7, 120.67);
        ending.window.until = Some(t("2026-09-28T12:05:00Z"));
        let w = world(vec![ending]);
        let route =
            plan_route(&w, &req((30.5, 120.3), (30.5, 120.7))).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(route.waypoints.len(), 2);
        assert_eq!(route.crossed_inactive, vec![ZoneId("ending".into())]);
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
        let reference =
            plan_route_reference(&w, &r, ARC_STEP_RAD).unwrap_or_else(|e| panic!("{e}"));
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
}

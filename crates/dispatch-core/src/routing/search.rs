//! The search: setting up one planning question (which zones the start and
//! the target are in or near), the leg test against the zones at the times
//! the drone is on the leg, and the lazy-edge A* over the graph's nodes.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, HashSet};

use super::window::Span;
use super::{Route, RouteError, RouteRequest};
use crate::geodesy::distance_m;
use crate::model::Timestamp;
use crate::shape::{OffsetNode, dist};
use crate::world::{World, pieces};

pub(super) const START: usize = 0;
pub(super) const TARGET: usize = 1;

/// One planning question under way: the request's figures, the graph's
/// nodes so far, and what the ends of the route may do.
pub(super) struct Search<'w> {
    pub(super) world: &'w World,
    pub(super) altitude: f64,
    /// The time the flight's clock starts (the request's `depart`).
    pub(super) depart: Timestamp,
    /// The union of every leg's interval: when the drone may be anywhere
    /// on the route, as far as the planning horizon goes.
    pub(super) flight: Span,
    /// Seconds from departure to the start of cruise, and the cruise speed.
    pub(super) pre_cruise_s: f64,
    pub(super) speed_mps: f64,
    pub(super) margin: f64,
    /// `Some(arc step)`: the reference search (every zone, no pruning).
    pub(super) reference: Option<f64>,
    /// Zones the first leg may leave: every zone at the cruise altitude
    /// holding the start, whatever its times.
    pub(super) start_zones: Vec<usize>,
    /// Zones the final leg may enter: on a rescue, the rescue-exempt zones
    /// holding the target.
    pub(super) target_zones: Vec<usize>,
    /// The zones closer than the margin to the start (to the target), with
    /// that distance: the first (last) leg keeps just under it from each of
    /// them, and the margin from every other zone.
    pub(super) start_near: Vec<(usize, f64)>,
    pub(super) target_near: Vec<(usize, f64)>,
    pub(super) nodes: Vec<[f64; 2]>,
    /// The offset boundary at the nodes of zones standing alone (for the
    /// tangency test).
    pub(super) node_tangent: Vec<Option<OffsetNode>>,
    pub(super) node_zone: Vec<Option<usize>>,
    pub(super) included: HashSet<usize>,
    /// Whether a zone in the graph opens or closes during the flight: then
    /// a shortest route may bend only to pass a place later (or sooner), and
    /// the tangency test no longer holds.
    pub(super) timed: bool,
    /// (from, to, second along the route) -> a blocking zone, if any.
    pub(super) blocked_cache: HashMap<(usize, usize, i64), Option<usize>>,
}

/// Plans with the flight's window taken as `horizon_s` seconds from
/// departure (infinite: open-ended).
pub(super) fn plan_in_window(
    world: &World,
    req: &RouteRequest,
    horizon_s: f64,
    reference: Option<f64>,
) -> Result<Route, RouteError> {
    let frame = world.frame();
    let s = frame.project(req.from);
    let t = frame.project(req.to);
    // `plan` takes a route that arrives up to a second after the horizon.
    let last_s = horizon_s + 1.0;
    let flight = Span::widened(req.depart, req.pre_cruise_s, last_s);
    // The drone reaches the target no sooner than flying straight there and
    // no later than that.
    let straight_s = req.pre_cruise_s + distance_m(req.from, req.to) / req.speed_mps;
    let arrival = Span::widened(req.depart, straight_s.min(last_s), last_s);
    let in_band = |i: usize| {
        world
            .indexed_zone(i)
            .is_some_and(|z| z.zone.floor_m <= req.altitude_m && req.altitude_m <= z.zone.ceiling_m)
    };
    let mut target_zones = Vec::new();
    // Zones holding the target that are in force during the flight but not
    // when the drone gets there: the last leg is judged against them like
    // any other leg (it must be flown after they end).
    let mut target_inside = Vec::new();
    for zi in world.zones_at_point(t).filter(|&i| in_band(i)) {
        let Some(z) = world.indexed_zone(zi) else {
            continue;
        };
        if !z.contains_point(t) {
            continue;
        }
        if req.rescue && z.zone.rescue_exempt {
            target_zones.push(zi);
        } else if arrival.blocked_by(&z.zone, req.altitude_m) {
            return Err(RouteError::TargetInZone {
                zone: z.zone.id.clone(),
                name: z.zone.name.clone(),
            });
        } else {
            target_inside.push(zi);
        }
    }
    // The first leg may leave any zone the start is in, whenever it is in
    // force.
    let start_zones: Vec<usize> = world
        .zones_at_point(s)
        .filter(|&i| in_band(i) && world.indexed_zone(i).is_some_and(|z| z.contains_point(s)))
        .collect();
    let margin = world.params().route_margin_m;
    // The zones at the cruise altitude the start and the target are closer
    // than the margin to, leaving out the zones they are in. Whether and
    // when they are in force is left to the legs: the relaxation matters
    // only on a leg flown while one is.
    let near = |p: [f64; 2], skip: &[&[usize]]| -> Vec<(usize, f64)> {
        world
            .zones_within(p, p, margin)
            .filter(|&i| in_band(i) && !skip.iter().any(|s| s.contains(&i)))
            .filter_map(|i| {
                world
                    .indexed_zone(i)
                    .map(|z| (i, z.shape.distance_to_point(p)))
            })
            .filter(|&(_, d)| d < margin)
            .collect()
    };
    let start_near = near(s, &[&start_zones]);
    let target_near = near(t, &[&target_zones, &target_inside]);

    let mut search = Search {
        world,
        altitude: req.altitude_m,
        depart: req.depart,
        flight,
        pre_cruise_s: req.pre_cruise_s,
        speed_mps: req.speed_mps,
        margin,
        reference,
        start_zones,
        target_zones,
        start_near,
        target_near,
        nodes: vec![s, t],
        node_tangent: vec![None, None],
        node_zone: vec![None, None],
        included: HashSet::new(),
        timed: false,
        blocked_cache: HashMap::new(),
    };
    for end in [START, TARGET] {
        let close = if end == START {
            &search.start_near
        } else {
            &search.target_near
        };
        let d = close.iter().map(|&(_, d)| d).fold(f64::INFINITY, f64::min);
        if d < margin {
            search.add_ways_out(end, d);
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
    /// Whether zone `zi` may block some leg of the flight.
    pub(super) fn is_blocking(&self, zi: usize) -> bool {
        self.world
            .indexed_zone(zi)
            .is_some_and(|z| self.flight.blocked_by(&z.zone, self.altitude))
    }

    /// When the drone may be on the leg flown from `g_from` to `g_to`
    /// metres along the route (geodesic metres, as the ETA counts them).
    pub(super) fn leg_span(&self, g_from: f64, g_to: f64) -> Span {
        Span::widened(
            self.depart,
            self.pre_cruise_s + g_from / self.speed_mps,
            self.pre_cruise_s + g_to / self.speed_mps,
        )
    }

    /// The geodesic length of the leg `u`-`v`: its time is counted so, like
    /// the route's length and the ETA (the frame's lengths differ by up to
    /// a few tenths of a percent, seconds over a long leg).
    pub(super) fn leg_m(&self, u: usize, v: usize) -> f64 {
        let f = self.world.frame();
        distance_m(f.unproject(self.nodes[u]), f.unproject(self.nodes[v]))
    }

    /// The clearance the leg `u`-`v` must keep from zone `zi`: the margin,
    /// or just under the distance of the start (the target) from it, on the
    /// first (last) leg, when that is closer.
    fn limit(&self, zi: usize, u: usize, v: usize) -> f64 {
        let mut l = self.margin;
        for (end, close) in [(START, &self.start_near), (TARGET, &self.target_near)] {
            if self.touches(u, v, end)
                && let Some(&(_, d)) = close.iter().find(|(z, _)| *z == zi)
            {
                l = l.min(d * 0.999);
            }
        }
        l
    }

    /// Whether the leg `u`-`v` may come closer than the margin to a zone.
    pub(super) fn relaxed(&self, u: usize, v: usize) -> bool {
        (self.touches(u, v, START) && !self.start_near.is_empty())
            || (self.touches(u, v, TARGET) && !self.target_near.is_empty())
    }

    /// Whether zone `zi` blocks the straight edge `u`-`v` flown during
    /// `span`: the edge comes closer to it than its limit, it is in force
    /// at some moment of the span, and it is not a zone the edge may be in.
    fn zone_blocks(&self, zi: usize, u: usize, v: usize, span: &Span) -> bool {
        if (self.touches(u, v, START) && self.start_zones.contains(&zi))
            || (self.touches(u, v, TARGET) && self.target_zones.contains(&zi))
        {
            return false;
        }
        let Some(z) = self.world.indexed_zone(zi) else {
            return false;
        };
        let (a, b) = (self.nodes[u], self.nodes[v]);
        span.blocked_by(&z.zone, self.altitude) && z.shape.closer_than(a, b, self.limit(zi, u, v))
    }

    /// Every zone blocking the edge `u`-`v` entered `g_u` metres along the route.
    fn blockers(&self, u: usize, v: usize, g_u: f64) -> Vec<usize> {
        let (a, b) = (self.nodes[u], self.nodes[v]);
        let span = self.leg_span(g_u, g_u + self.leg_m(u, v));
        self.world
            .zones_along(a, b, self.margin)
            .into_iter()
            .filter(|&zi| self.zone_blocks(zi, u, v, &span))
            .collect()
    }

    /// A zone blocking the edge `u`-`v` entered `g_u` metres along the
    /// route, found cheaply: first the zones of its end nodes (most legs the
    /// search tries turn into their own zone), then along the edge from `u`,
    /// stopping at the first piece of it with a blocker, preferring a zone
    /// not yet in the graph.
    fn find_blocker(&self, u: usize, v: usize, g_u: f64) -> Option<usize> {
        let span = self.leg_span(g_u, g_u + self.leg_m(u, v));
        for zi in [self.node_zone[u], self.node_zone[v]].into_iter().flatten() {
            if self.zone_blocks(zi, u, v, &span) {
                return Some(zi);
            }
        }
        let (a, b) = (self.nodes[u], self.nodes[v]);
        for (p0, p1) in pieces(a, b, self.margin) {
            let mut known = None;
            for zi in self.world.zones_within(p0, p1, self.margin) {
                if known.is_some_and(|k| k == zi) || !self.zone_blocks(zi, u, v, &span) {
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

    pub(super) fn touches(&self, u: usize, v: usize, n: usize) -> bool {
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
        // Geodesic metres along the path to each closed node, for the times.
        let mut along = vec![0.0; n];
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
                && let Some(zi) = self.blocked_by(u, v, along[u])
            {
                if !self.included.contains(&zi) && !discovered.contains(&zi) {
                    discovered.push(zi);
                }
                continue;
            }
            closed[v] = true;
            g[v] = gv;
            prev[v] = u;
            if u != usize::MAX {
                along[v] = along[u] + self.leg_m(u, v);
            }
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

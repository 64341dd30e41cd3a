//! No-go-aware route planning.
//!
//! A visibility graph over the corners of the zones that matter, pushed out by
//! the route margin, searched with A*. The graph is built lazily: it starts with
//! the zones that block the straight line, and every zone found blocking an edge
//! during the search adds its corners and the search runs again, until no new
//! zone shows up. Edges are tested against *every* zone through the R-tree, so a
//! returned route never crosses a blocking zone whatever the lazy set holds.
//!
//! Altitude: a zone's band is inclusive; a drone cruising at its floor or its
//! ceiling is in it.
//!
//! Time (see [`window`]): a zone blocks a leg when its band holds the cruise
//! altitude and it is in force at any moment the drone may be on that leg:
//! from the moment it reaches the leg's first node to the moment it reaches
//! the last, widened on both sides by [`leg_tolerance_s`] (the real flight
//! drifts from the plan: launch, wind). The position along a leg is not held
//! to the clock, so a zone is judged over the whole leg, not over the part
//! of it near the zone. The search knows when the drone reaches each node
//! (departure, plus the time before cruise, plus the geodesic distance so
//! far at cruise speed, as the ETA counts it). The zones the start and the
//! target are in or near are found whatever their times (leaving the one
//! the start is in, or coming as close to one as the end itself is, is
//! allowed on that end's leg whenever the zone is in force); whether the
//! target lies in a zone in force on arrival, and which corner nodes can
//! never be used, take the flight's window, the union of every leg's; its
//! length is not known before the route is, so planning starts with the
//! straight-line duration and widens it to the planned duration until the
//! two agree. A
//! return flight is asked with the sortie's departure and the time before its
//! cruise (outbound and on scene), so its legs are judged at the times the
//! drone is really there, with the drift of the whole sortie. Zones a route
//! crosses while they are not in force are listed in
//! [`Route::crossed_inactive`], so that a vehicle's fence can leave them out.
//!
//! Optimisation happens in the region's local frame; reported lengths are
//! geodesic (WGS84).
//!
//! Files: `search` (the graph search and the leg test), `graph` (the nodes:
//! zone corners, ways out of tight starts and targets, tangency pruning),
//! `report` (what a found route tells: zones crossed, clearance), `window`
//! (times: leg intervals, tolerance, the hover on scene).

mod graph;
mod report;
mod search;
#[cfg(test)]
mod tests;
mod window;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::geodesy::distance_m;
use crate::model::{LatLon, Timestamp, ZoneId};
use crate::shape::ARC_STEP_RAD;
use crate::world::World;

pub(crate) use window::secs;
pub use window::{check_hover, leg_tolerance_s};

/// One route question.
#[derive(Debug, Clone, Copy)]
pub struct RouteRequest {
    pub from: LatLon,
    pub to: LatLon,
    /// The time the flight's clock starts (for a return: the sortie's).
    pub depart: Timestamp,
    /// Seconds between `depart` and the start of cruise (launch, climb; for
    /// a return, the whole outbound flight and the time on scene).
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
    /// The least distance, metres, from a leg to a zone in force while the
    /// drone is on that leg (leaving out the zones the leg may be in: the
    /// one the first leg departs from, the rescue-exempt zone the last leg
    /// enters). `None` when no such zone lies within [`CLEARANCE_HORIZON_M`].
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
        let route = search::plan_in_window(world, req, horizon_s, reference)?;
        let needed = req.pre_cruise_s + route.duration_s(req.speed_mps);
        if needed <= horizon_s + 1.0 {
            return Ok(route);
        }
        horizon_s = needed * 1.1;
    }
    // Still growing: treat every zone that starts after departure as active.
    search::plan_in_window(world, req, f64::INFINITY, reference)
}

//! Choosing the drone for an incident.
//!
//! Candidates come from nearest-neighbour iteration over the dispatchable-drone
//! R-tree, nearest first. Each is filtered by availability (preemption rule),
//! capability and a straight-line battery bound, then routed around zones and
//! ranked by ETA over the planned route, launch and climb included. The
//! iteration stops as soon as no drone further out can beat the k-th best ETA
//! even flying straight at the fleet's top speed (the frame distance times the
//! frame's lower-bound factor never exceeds the true distance), so the result is
//! exact without visiting the whole fleet.

use serde::{Deserialize, Serialize};

use crate::geodesy::distance_m;
use crate::model::{
    CapabilitySet, Drone, DroneId, HangarId, IncidentId, KindPolicy, LatLon, Timestamp,
};
use crate::routing::{Route, RouteError, RouteRequest, check_hover, plan_route, secs};
use crate::world::World;

/// What the incident needs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Need {
    pub position: LatLon,
    pub at: Timestamp,
    pub required: CapabilitySet,
    pub priority: u8,
    pub life_threatening: bool,
    pub on_scene_s: f64,
    /// May enter rescue-exempt zones on the final leg.
    pub rescue: bool,
}

impl Need {
    /// What an incident of a kind with `policy` needs at `position`, reported at `at`.
    pub fn new(policy: &KindPolicy, position: LatLon, at: Timestamp) -> Need {
        Need {
            position,
            at,
            required: policy.capabilities,
            priority: policy.priority,
            life_threatening: policy.life_threatening,
            on_scene_s: policy.on_scene_s,
            rescue: policy.rescue,
        }
    }
}

/// Battery use of one sortie, in percentage points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EnergyBudget {
    pub climb_pct: f64,
    pub outbound_pct: f64,
    pub on_scene_pct: f64,
    pub return_pct: f64,
    pub descent_pct: f64,
    pub total_pct: f64,
    pub battery_pct: f64,
    pub reserve_pct: f64,
    /// Battery left on landing above the reserve.
    pub margin_pct: f64,
}

/// A drone that can do the job, with its figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub drone: DroneId,
    pub hangar: HangarId,
    /// Seconds from the report to arrival over the scene.
    pub eta_s: f64,
    pub route_length_m: f64,
    pub battery_on_landing_pct: f64,
    /// Straight-line distance to the scene, metres.
    pub distance_m: f64,
    /// The incident it would be taken from, if it is on preemptable work.
    pub preempts: Option<IncidentId>,
}

/// Why a drone nearer than the chosen one was passed over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum RejectReason {
    MissingCapabilities { missing: CapabilitySet },
    Busy { incident: IncidentId, priority: u8 },
    InsufficientBattery { needed_pct: f64, available_pct: f64 },
    NoRoute { error: RouteError },
    NoReturnRoute { error: RouteError },
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RejectReason::MissingCapabilities { missing } => write!(f, "lacks {missing}"),
            RejectReason::Busy { incident, priority } => {
                write!(f, "busy on incident {incident} (priority {priority})")
            }
            RejectReason::InsufficientBattery {
                needed_pct,
                available_pct,
            } => write!(
                f,
                "battery {available_pct:.0}% but the sortie needs {needed_pct:.0}% with reserve"
            ),
            RejectReason::NoRoute { error } => write!(f, "no route: {error}"),
            RejectReason::NoReturnRoute { error } => write!(f, "no route back: {error}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    pub drone: DroneId,
    pub distance_m: f64,
    #[serde(flatten)]
    pub reason: RejectReason,
}

/// The chosen drone and everything the dispatcher shows about the choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub chosen: Candidate,
    pub route: Route,
    pub return_route: Route,
    pub arrival_at: Timestamp,
    pub energy: EnergyBudget,
    /// Next-best drones, best first.
    pub alternatives: Vec<Candidate>,
    /// Drones nearer than the chosen one that were passed over, nearest first.
    pub rejected: Vec<Rejection>,
}

/// No drone can take the incident now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoCandidate {
    pub reason: String,
    pub rejected: Vec<Rejection>,
}

struct Evaluated {
    candidate: Candidate,
    route: Route,
    return_route: Route,
    energy: EnergyBudget,
}

/// Picks the drone that reaches the scene first among those that can do the job.
pub fn assign(world: &World, need: &Need) -> Result<Assignment, NoCandidate> {
    if !world.region().contains(need.position) {
        return Err(NoCandidate {
            reason: format!("position {} is outside the operating region", need.position),
            rejected: Vec::new(),
        });
    }
    let k = world.params().alternatives + 1;
    let target = world.frame().project(need.position);
    let lbf = world.frame().lower_bound_factor();
    let vmax = world.max_cruise_speed_mps();
    let mut best: Vec<Evaluated> = Vec::with_capacity(k + 1);
    let mut rejected = Vec::new();
    let mut examined = 0usize;

    for (idx, frame_d) in world.dispatchable_near(target) {
        if best.len() == k && frame_d * lbf / vmax > best[k - 1].candidate.eta_s {
            break;
        }
        examined += 1;
        let drone = world.drone_at(idx);
        let bound = best.get(k - 1).map(|b| b.candidate.eta_s);
        match evaluate(world, drone, need, bound, plan_route) {
            Outcome::Feasible(e) => {
                let at = best.partition_point(|b| b.candidate.eta_s <= e.candidate.eta_s);
                best.insert(at, *e);
                best.truncate(k);
            }
            Outcome::Slower => {}
            Outcome::Rejected(reason) => rejected.push(Rejection {
                drone: drone.id.clone(),
                distance_m: distance_m(drone.position, need.position),
                reason,
            }),
        }
    }

    if best.is_empty() {
        let reason = if examined == 0 {
            "no drone is available".to_owned()
        } else {
            summarize(&rejected)
        };
        rejected.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
        return Err(NoCandidate { reason, rejected });
    }
    let mut best = best.into_iter();
    let Some(chosen) = best.next() else {
        unreachable!("checked non-empty above")
    };
    rejected.retain(|r| r.distance_m < chosen.candidate.distance_m);
    rejected.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
    let arrival_at = need.at + secs(chosen.candidate.eta_s);
    Ok(Assignment {
        chosen: chosen.candidate,
        route: chosen.route,
        return_route: chosen.return_route,
        arrival_at,
        energy: chosen.energy,
        alternatives: best.map(|e| e.candidate).collect(),
        rejected,
    })
}

/// Reference implementation for tests: evaluates every drone in the fleet.
pub fn assign_brute_force(world: &World, need: &Need) -> Option<Candidate> {
    assign_brute_force_with(world, need, plan_route)
}

/// [`assign_brute_force`] with another route planner (the reference router).
pub fn assign_brute_force_with(world: &World, need: &Need, router: Router) -> Option<Candidate> {
    let mut all: Vec<Candidate> = world
        .drones()
        .iter()
        .filter(|d| crate::world::is_dispatchable(d))
        .filter_map(|d| match evaluate(world, d, need, None, router) {
            Outcome::Feasible(e) => Some(e.candidate),
            _ => None,
        })
        .collect();
    all.sort_by(|a, b| a.eta_s.total_cmp(&b.eta_s));
    all.into_iter().next()
}

/// The nearest dispatchable drone with `required` and at least `min_battery_pct`,
/// by straight-line distance: the fast path behind assignment, benchmarked
/// against [`nearest_capable_scan`]. Drones at the same distance (the same
/// hangar) are told apart by the lower fleet index, so the answer does not
/// depend on the shape of the tree.
pub fn nearest_capable(
    world: &World,
    position: LatLon,
    required: CapabilitySet,
    min_battery_pct: f64,
) -> Option<&DroneId> {
    let p = world.frame().project(position);
    let fits = |d: &Drone| {
        d.task.is_none()
            && d.capabilities.contains_all(required)
            && d.battery_pct >= min_battery_pct
    };
    let mut best: Option<(usize, f64)> = None;
    // Only drones that carry the rarest required payload are visited.
    for (i, dist) in world.dispatchable_near_with(p, required) {
        if let Some((b, bd)) = best {
            if dist > bd {
                break;
            }
            if i < b && fits(world.drone_at(i)) {
                best = Some((i, dist));
            }
        } else if fits(world.drone_at(i)) {
            best = Some((i, dist));
        }
    }
    best.map(|(i, _)| &world.drone_at(i).id)
}

/// Linear-scan baseline of [`nearest_capable`], with the same tie rule.
pub fn nearest_capable_scan(
    world: &World,
    position: LatLon,
    required: CapabilitySet,
    min_battery_pct: f64,
) -> Option<&DroneId> {
    let p = world.frame().project(position);
    world
        .drones()
        .iter()
        .enumerate()
        .filter(|(_, d)| crate::world::is_dispatchable(d) && d.task.is_none())
        .filter(|(_, d)| d.capabilities.contains_all(required) && d.battery_pct >= min_battery_pct)
        .map(|(i, d)| {
            let q = world.frame().project(d.position);
            (((q[0] - p[0]).powi(2) + (q[1] - p[1]).powi(2)).sqrt(), i)
        })
        .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
        .map(|(_, i)| &world.drone_at(i).id)
}

enum Outcome {
    Feasible(Box<Evaluated>),
    /// Feasible or not, cannot beat the current k-th best ETA.
    Slower,
    Rejected(RejectReason),
}

/// A route planner: [`plan_route`] in dispatch, the reference in tests.
pub type Router = fn(&World, &RouteRequest) -> Result<Route, RouteError>;

fn evaluate(
    world: &World,
    d: &Drone,
    need: &Need,
    bound_eta: Option<f64>,
    router: Router,
) -> Outcome {
    if let Some(t) = d.task {
        let may_preempt =
            need.life_threatening && !t.life_threatening && t.priority < need.priority;
        if !may_preempt {
            return Outcome::Rejected(RejectReason::Busy {
                incident: t.incident,
                priority: t.priority,
            });
        }
    }
    let missing = d.capabilities.missing(need.required);
    if !missing.is_empty() {
        return Outcome::Rejected(RejectReason::MissingCapabilities { missing });
    }
    let Some(home) = world.hangar(&d.hangar) else {
        return Outcome::Rejected(RejectReason::NoReturnRoute {
            error: RouteError::Unreachable { zones: Vec::new() },
        });
    };
    let params = world.params();
    let perf = d.performance;
    let on_ground = d.state.is_on_ground();
    let climb_s = if on_ground {
        params.cruise_altitude_m / perf.climb_rate_mps
    } else {
        0.0
    };
    let pre_cruise_s = if on_ground { home.launch_delay_s } else { 0.0 } + climb_s;
    let straight_out = distance_m(d.position, need.position);
    let straight_back = distance_m(need.position, home.position);
    let energy_for = |out_m: f64, back_m: f64| {
        budget(
            d,
            climb_s,
            out_m / perf.cruise_speed_mps,
            need.on_scene_s,
            back_m / perf.cruise_speed_mps,
            params.cruise_altitude_m / perf.descent_rate_mps,
            params.reserve_pct,
        )
    };
    // Routes are never shorter than the straight line: a cheap early rejection.
    let lower = energy_for(straight_out, straight_back);
    if lower.margin_pct < 0.0 {
        return Outcome::Rejected(RejectReason::InsufficientBattery {
            needed_pct: lower.total_pct + lower.reserve_pct,
            available_pct: d.battery_pct,
        });
    }
    if bound_eta.is_some_and(|b| pre_cruise_s + straight_out / perf.cruise_speed_mps > b) {
        return Outcome::Slower;
    }
    let req = RouteRequest {
        from: d.position,
        to: need.position,
        depart: need.at,
        pre_cruise_s,
        speed_mps: perf.cruise_speed_mps,
        altitude_m: params.cruise_altitude_m,
        rescue: need.rescue,
    };
    let route = match router(world, &req) {
        Ok(r) => r,
        Err(error) => return Outcome::Rejected(RejectReason::NoRoute { error }),
    };
    let eta_s = pre_cruise_s + route.duration_s(perf.cruise_speed_mps);
    if bound_eta.is_some_and(|b| eta_s >= b) {
        return Outcome::Slower;
    }
    if let Err(error) = check_hover(world, &req, eta_s, need.on_scene_s) {
        return Outcome::Rejected(RejectReason::NoRoute { error });
    }
    // The way home is asked on the sortie's clock (cruise starts after the
    // outbound flight and the time on scene), so that its legs are judged
    // at the times the drone is on them, with the drift of the whole sortie.
    let back_req = RouteRequest {
        from: need.position,
        to: home.position,
        depart: need.at,
        pre_cruise_s: eta_s + need.on_scene_s,
        speed_mps: perf.cruise_speed_mps,
        altitude_m: params.cruise_altitude_m,
        rescue: need.rescue,
    };
    let return_route = match router(world, &back_req) {
        Ok(r) => r,
        Err(error) => return Outcome::Rejected(RejectReason::NoReturnRoute { error }),
    };
    let energy = energy_for(route.length_m, return_route.length_m);
    if energy.margin_pct < 0.0 {
        return Outcome::Rejected(RejectReason::InsufficientBattery {
            needed_pct: energy.total_pct + energy.reserve_pct,
            available_pct: d.battery_pct,
        });
    }
    Outcome::Feasible(Box::new(Evaluated {
        candidate: Candidate {
            drone: d.id.clone(),
            hangar: d.hangar.clone(),
            eta_s,
            route_length_m: route.length_m,
            battery_on_landing_pct: d.battery_pct - energy.total_pct,
            distance_m: straight_out,
            preempts: d.task.map(|t| t.incident),
        },
        route,
        return_route,
        energy,
    }))
}

/// Battery model: cruise drains 100 % over the rated endurance; climbing costs
/// 1.5x cruise power, hovering on scene 1.1x, descending 0.8x.
fn budget(
    d: &Drone,
    climb_s: f64,
    out_s: f64,
    on_scene_s: f64,
    back_s: f64,
    descent_s: f64,
    reserve_pct: f64,
) -> EnergyBudget {
    let rate = 100.0 / (d.performance.endurance_min * 60.0);
    let climb_pct = climb_s * rate * 1.5;
    let outbound_pct = out_s * rate;
    let on_scene_pct = on_scene_s * rate * 1.1;
    let return_pct = back_s * rate;
    let descent_pct = descent_s * rate * 0.8;
    let total_pct = climb_pct + outbound_pct + on_scene_pct + return_pct + descent_pct;
    EnergyBudget {
        climb_pct,
        outbound_pct,
        on_scene_pct,
        return_pct,
        descent_pct,
        total_pct,
        battery_pct: d.battery_pct,
        reserve_pct,
        margin_pct: d.battery_pct - total_pct - reserve_pct,
    }
}

fn summarize(rejected: &[Rejection]) -> String {
    let mut caps = 0;
    let mut busy = 0;
    let mut battery = 0;
    let mut route = 0;
    for r in rejected {
        match r.reason {
            RejectReason::MissingCapabilities { .. } => caps += 1,
            RejectReason::Busy { .. } => busy += 1,
            RejectReason::InsufficientBattery { .. } => battery += 1,
            RejectReason::NoRoute { .. } | RejectReason::NoReturnRoute { .. } => route += 1,
        }
    }
    let mut parts = Vec::new();
    for (n, what) in [
        (caps, "lack the payload"),
        (busy, "are on higher-priority work"),
        (battery, "lack the battery"),
        (route, "have no route around the no-go zones"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    let first_route_error = rejected.iter().find_map(|r| match &r.reason {
        RejectReason::NoRoute { error } | RejectReason::NoReturnRoute { error } => Some(error),
        _ => None,
    });
    let mut s = format!("no available drone can take it: {}", parts.join(", "));
    if let Some(e) = first_route_error {
        s.push_str(&format!(" ({e})"));
    }
    s
}

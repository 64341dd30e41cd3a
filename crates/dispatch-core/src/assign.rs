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
use crate::separation::{FlightPath, PathPoint, SCENE_RADIUS_M, SEARCH_SPACING_M, search_radius_m};
use crate::wind::{self, WindEstimate, WindField, bearing_deg, leg_speed, power_factor};
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
    /// Cruise at this altitude instead of the planning one (a separation layer).
    pub altitude_m: Option<f64>,
    /// Wait this long on the ground before the launch (separation), seconds.
    pub start_delay_s: f64,
    /// The sortie searches an expanding square round the position (a
    /// missing person) instead of holding over it: its path holds the
    /// square's sky, not a 100 m disc.
    pub search: bool,
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
            altitude_m: None,
            start_delay_s: 0.0,
            search: false,
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
    MissingCapabilities {
        missing: CapabilitySet,
    },
    Busy {
        incident: IncidentId,
        priority: u8,
    },
    InsufficientBattery {
        needed_pct: f64,
        available_pct: f64,
    },
    NoRoute {
        error: RouteError,
    },
    NoReturnRoute {
        error: RouteError,
    },
    /// The wind somewhere on the sortie is over the airframe's limits.
    WindLimit {
        wind_mps: f64,
        gust_mps: f64,
        from_deg: f64,
        max_wind_mps: f64,
        max_gust_mps: f64,
        /// Who measured it, and how long ago (s).
        source: String,
        age_s: f64,
    },
    /// A leg runs into more wind than the frame has airspeed.
    NoHeadway {
        wind_mps: f64,
        from_deg: f64,
        max_airspeed_mps: f64,
    },
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
            RejectReason::WindLimit {
                wind_mps,
                gust_mps,
                from_deg,
                max_wind_mps,
                max_gust_mps,
                source,
                age_s,
            } => write!(
                f,
                "wind {wind_mps:.1} m/s gusting {gust_mps:.1} from {from_deg:.0}° \
                 ({source}, {age_s:.0} s old) is over its limits of \
                 {max_wind_mps:.1} m/s, gusts {max_gust_mps:.1}"
            ),
            RejectReason::NoHeadway {
                wind_mps,
                from_deg,
                max_airspeed_mps,
            } => write!(
                f,
                "cannot make headway against {wind_mps:.1} m/s from {from_deg:.0}° \
                 at its {max_airspeed_mps:.1} m/s airspeed"
            ),
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
    /// The wind the plan was made with (`None`: no wind known, still air).
    #[serde(default)]
    pub wind: Option<SortieWind>,
    /// The sortie in space and time: its layer, any delayed start, its path
    /// (`None` in logs written before separation was planned).
    #[serde(default)]
    pub flight: Option<FlightPath>,
    /// Next-best drones, best first.
    pub alternatives: Vec<Candidate>,
    /// Drones nearer than the chosen one that were passed over, nearest first.
    pub rejected: Vec<Rejection>,
}

impl Assignment {
    /// The altitude the sortie cruises at (its separation layer; `default`,
    /// the planning altitude, for plans made before layers).
    pub fn cruise_altitude_m(&self, default: f64) -> f64 {
        self.flight.as_ref().map_or(default, |f| f.altitude_m)
    }

    /// Seconds the sortie waits on the ground for separation.
    pub fn start_delay_s(&self) -> f64 {
        self.flight.as_ref().map_or(0.0, |f| f.start_delay_s)
    }
}

/// How the wind shaped a sortie's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SortieWind {
    /// The strongest wind met on the sortie (out, on scene, home).
    pub strongest: WindEstimate,
    /// Mean ground speeds over the routes out and home, m/s.
    pub out_ground_speed_mps: f64,
    pub back_ground_speed_mps: f64,
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
    wind: Option<SortieWind>,
    flight: FlightPath,
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
        wind: chosen.wind,
        flight: Some(chosen.flight),
        alternatives: best.map(|e| e.candidate).collect(),
        rejected,
    })
}

/// The plan for one given drone (a separation layer or delay for the drone
/// already chosen), or why it cannot take the incident so.
pub fn assign_to(world: &World, need: &Need, drone: &DroneId) -> Result<Assignment, RejectReason> {
    let Some(d) = world.drone(drone) else {
        return Err(RejectReason::NoReturnRoute {
            error: RouteError::Unreachable { zones: Vec::new() },
        });
    };
    match evaluate(world, d, need, None, plan_route) {
        Outcome::Feasible(e) => Ok(Assignment {
            arrival_at: need.at + secs(e.candidate.eta_s),
            chosen: e.candidate,
            route: e.route,
            return_route: e.return_route,
            energy: e.energy,
            wind: e.wind,
            flight: Some(e.flight),
            alternatives: Vec::new(),
            rejected: Vec::new(),
        }),
        // Only a bound makes a candidate "slower"; none was given.
        Outcome::Slower => Err(RejectReason::NoRoute {
            error: RouteError::Unreachable { zones: Vec::new() },
        }),
        Outcome::Rejected(r) => Err(r),
    }
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
    let field = world.wind();
    let now = need.at;
    // The wind where the drone is, on scene and at home decides at once.
    let mut strongest: Option<WindEstimate> = None;
    for p in [d.position, need.position, home.position] {
        if let Err(reason) = note_wind(field.at(p, now), &perf, &mut strongest) {
            return Outcome::Rejected(reason);
        }
    }
    let on_ground = d.state.is_on_ground();
    let altitude = need.altitude_m.unwrap_or(params.cruise_altitude_m);
    let climb_s = if on_ground {
        altitude / perf.climb_rate_mps
    } else {
        0.0
    };
    let wait_s = if on_ground {
        home.launch_delay_s + need.start_delay_s
    } else {
        0.0
    };
    let pre_cruise_s = wait_s + climb_s;
    let straight_out = distance_m(d.position, need.position);
    let straight_back = distance_m(need.position, home.position);
    let hover_factor = match field.at(need.position, now) {
        Some(e) => power_factor(0.0, e.wind.speed_mps, perf.cruise_speed_mps),
        None => wind::HOVER_POWER_FACTOR,
    };
    let energy_for = |out_power_s: f64, back_power_s: f64| {
        budget(
            d,
            climb_s,
            out_power_s,
            need.on_scene_s * hover_factor,
            back_power_s,
            altitude / perf.descent_rate_mps,
            params.reserve_pct,
        )
    };
    // Routes are never shorter than the straight line, never faster than
    // cruise, and never cheaper than the power floor in wind: a cheap early
    // rejection.
    let floor = if field.is_empty() {
        1.0
    } else {
        wind::MOVING_POWER_FLOOR
    };
    let lower = energy_for(
        floor * straight_out / perf.cruise_speed_mps,
        floor * straight_back / perf.cruise_speed_mps,
    );
    if lower.margin_pct < 0.0 {
        return Outcome::Rejected(RejectReason::InsufficientBattery {
            needed_pct: lower.total_pct + lower.reserve_pct,
            available_pct: d.battery_pct,
        });
    }
    if bound_eta.is_some_and(|b| pre_cruise_s + straight_out / perf.cruise_speed_mps > b) {
        return Outcome::Slower;
    }
    // Zone windows are judged at the times the drone passes: the route is
    // timed at the ground speed the wind allows on the straight line.
    let timing_speed = |from: LatLon, to: LatLon| -> Result<f64, RejectReason> {
        let mid = LatLon::new((from.lat + to.lat) / 2.0, (from.lon + to.lon) / 2.0);
        match field.at(mid, now) {
            None => Ok(perf.cruise_speed_mps),
            Some(e) => leg_speed(bearing_deg(from, to), e.wind, perf.airspeeds())
                .map(|s| s.ground_mps)
                .ok_or(RejectReason::NoHeadway {
                    wind_mps: e.wind.speed_mps,
                    from_deg: e.wind.from_deg,
                    max_airspeed_mps: perf.max_airspeed_mps,
                }),
        }
    };
    let out_speed = match timing_speed(d.position, need.position) {
        Ok(v) => v,
        Err(reason) => return Outcome::Rejected(reason),
    };
    let req = RouteRequest {
        from: d.position,
        to: need.position,
        depart: need.at,
        pre_cruise_s,
        speed_mps: out_speed,
        altitude_m: altitude,
        rescue: need.rescue,
    };
    let route = match router(world, &req) {
        Ok(r) => r,
        Err(error) => return Outcome::Rejected(RejectReason::NoRoute { error }),
    };
    let out = match fly(&route, field, now, &perf, &mut strongest) {
        Ok(f) => f,
        Err(reason) => return Outcome::Rejected(reason),
    };
    let eta_s = pre_cruise_s + out.seconds;
    if bound_eta.is_some_and(|b| eta_s >= b) {
        return Outcome::Slower;
    }
    if let Err(error) = check_hover(world, &req, eta_s, need.on_scene_s) {
        return Outcome::Rejected(RejectReason::NoRoute { error });
    }
    let back_speed = match timing_speed(need.position, home.position) {
        Ok(v) => v,
        Err(reason) => return Outcome::Rejected(reason),
    };
    // The way home is asked on the sortie's clock (cruise starts after the
    // outbound flight and the time on scene), so that its legs are judged
    // at the times the drone is on them, with the drift of the whole sortie.
    let back_req = RouteRequest {
        from: need.position,
        to: home.position,
        depart: need.at,
        pre_cruise_s: eta_s + need.on_scene_s,
        speed_mps: back_speed,
        altitude_m: altitude,
        rescue: need.rescue,
    };
    let return_route = match router(world, &back_req) {
        Ok(r) => r,
        Err(error) => return Outcome::Rejected(RejectReason::NoReturnRoute { error }),
    };
    let back = match fly(&return_route, field, now, &perf, &mut strongest) {
        Ok(f) => f,
        Err(reason) => return Outcome::Rejected(reason),
    };
    let energy = energy_for(out.power_s, back.power_s);
    if energy.margin_pct < 0.0 {
        return Outcome::Rejected(RejectReason::InsufficientBattery {
            needed_pct: energy.total_pct + energy.reserve_pct,
            available_pct: d.battery_pct,
        });
    }
    let flight = FlightPath {
        altitude_m: altitude,
        start_delay_s: if on_ground { need.start_delay_s } else { 0.0 },
        note: String::new(),
        points: path_points(
            need,
            d.position,
            home.position,
            altitude,
            if on_ground {
                Some((wait_s, climb_s))
            } else {
                None
            },
            (&route, &out.legs),
            (&return_route, &back.legs),
            altitude / perf.descent_rate_mps,
            if need.search {
                search_radius_m(need.on_scene_s * perf.cruise_speed_mps, SEARCH_SPACING_M)
                    .max(SCENE_RADIUS_M)
            } else {
                SCENE_RADIUS_M
            },
        ),
    };
    let wind = strongest.map(|strongest| SortieWind {
        strongest,
        out_ground_speed_mps: route.length_m / out.seconds.max(1e-9),
        back_ground_speed_mps: return_route.length_m / back.seconds.max(1e-9),
    });
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
        wind,
        flight,
    }))
}

/// The corners of a sortie's path (see [`crate::separation`]): on the
/// ground for `ground.0` s and climbing for `ground.1` s when it starts
/// docked, each leg in its time, the hold over the scene, home and down.
#[allow(clippy::too_many_arguments)]
fn path_points(
    need: &Need,
    start: LatLon,
    home: LatLon,
    alt: f64,
    ground: Option<(f64, f64)>,
    out: (&Route, &[f64]),
    back: (&Route, &[f64]),
    descent_s: f64,
    scene_radius_m: f64,
) -> Vec<PathPoint> {
    let mut pts = Vec::new();
    let mut t = 0.0;
    let mut push = |t: f64, position: LatLon, alt_m: f64, radius_m: f64| {
        pts.push(PathPoint {
            at: need.at + secs(t),
            position,
            alt_m,
            radius_m,
        })
    };
    match ground {
        Some((wait_s, climb_s)) => {
            push(0.0, start, 0.0, 0.0);
            t += wait_s;
            push(t, start, 0.0, 0.0);
            t += climb_s;
            push(t, start, alt, 0.0);
        }
        None => push(0.0, start, alt, 0.0),
    }
    for (w, leg_s) in out.0.waypoints.windows(2).zip(out.1) {
        t += leg_s;
        push(t, w[1], alt, 0.0);
    }
    let scene = *out.0.waypoints.last().unwrap_or(&need.position);
    push(t, scene, alt, scene_radius_m);
    t += need.on_scene_s;
    push(t, scene, alt, scene_radius_m);
    for (w, leg_s) in back.0.waypoints.windows(2).zip(back.1) {
        t += leg_s;
        push(t, w[1], alt, 0.0);
    }
    t += descent_s;
    push(t, home, 0.0, 0.0);
    pts
}

/// A route flown in the wind field: seconds, and seconds at cruise power
/// (seconds times the power factor) for the battery.
struct Flown {
    seconds: f64,
    power_s: f64,
    /// Seconds per leg, in order.
    legs: Vec<f64>,
}

/// Times `route` leg by leg at the ground speed the wind at each leg's
/// middle allows, keeping the strongest wind met in `strongest`.
fn fly(
    route: &Route,
    field: &WindField,
    now: crate::model::Timestamp,
    perf: &crate::model::Performance,
    strongest: &mut Option<WindEstimate>,
) -> Result<Flown, RejectReason> {
    let mut f = Flown {
        seconds: 0.0,
        power_s: 0.0,
        legs: Vec::with_capacity(route.waypoints.len()),
    };
    for w in route.waypoints.windows(2) {
        let (a, b) = (w[0], w[1]);
        let len = distance_m(a, b);
        if len < 1e-6 {
            f.legs.push(0.0);
            continue;
        }
        let mid = LatLon::new((a.lat + b.lat) / 2.0, (a.lon + b.lon) / 2.0);
        let estimate = field.at(mid, now);
        let wind = estimate.as_ref().map_or(wind::Wind::CALM, |e| e.wind);
        note_wind(estimate, perf, strongest)?;
        let s = leg_speed(bearing_deg(a, b), wind, perf.airspeeds()).ok_or(
            RejectReason::NoHeadway {
                wind_mps: wind.speed_mps,
                from_deg: wind.from_deg,
                max_airspeed_mps: perf.max_airspeed_mps,
            },
        )?;
        let t = len / s.ground_mps;
        f.legs.push(t);
        f.seconds += t;
        f.power_s += t * power_factor(s.ground_mps, s.air_mps, perf.cruise_speed_mps);
    }
    Ok(f)
}

/// Keeps the stronger of `e` and `strongest`; refuses a wind over the
/// airframe's limits.
fn note_wind(
    e: Option<WindEstimate>,
    perf: &crate::model::Performance,
    strongest: &mut Option<WindEstimate>,
) -> Result<(), RejectReason> {
    let Some(e) = e else {
        return Ok(());
    };
    if e.wind.speed_mps > perf.max_wind_mps || e.gust_mps > perf.max_gust_mps {
        return Err(RejectReason::WindLimit {
            wind_mps: e.wind.speed_mps,
            gust_mps: e.gust_mps,
            from_deg: e.wind.from_deg,
            max_wind_mps: perf.max_wind_mps,
            max_gust_mps: perf.max_gust_mps,
            source: e.source.to_string(),
            age_s: e.age_s,
        });
    }
    if strongest
        .as_ref()
        .is_none_or(|s| e.wind.speed_mps > s.wind.speed_mps)
    {
        *strongest = Some(e);
    }
    Ok(())
}

/// Battery model: cruise drains 100 % over the rated endurance; the legs
/// come as seconds at cruise power (their power factors applied, see
/// [`crate::wind`]); climbing costs 1.5x cruise power, descending 0.8x.
fn budget(
    d: &Drone,
    climb_s: f64,
    out_power_s: f64,
    on_scene_power_s: f64,
    back_power_s: f64,
    descent_s: f64,
    reserve_pct: f64,
) -> EnergyBudget {
    let rate = 100.0 / (d.performance.endurance_min * 60.0);
    let climb_pct = climb_s * rate * wind::CLIMB_POWER_FACTOR;
    let outbound_pct = out_power_s * rate;
    let on_scene_pct = on_scene_power_s * rate;
    let return_pct = back_power_s * rate;
    let descent_pct = descent_s * rate * wind::DESCENT_POWER_FACTOR;
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
    let mut windy = 0;
    for r in rejected {
        match r.reason {
            RejectReason::MissingCapabilities { .. } => caps += 1,
            RejectReason::Busy { .. } => busy += 1,
            RejectReason::InsufficientBattery { .. } => battery += 1,
            RejectReason::NoRoute { .. } | RejectReason::NoReturnRoute { .. } => route += 1,
            RejectReason::WindLimit { .. } | RejectReason::NoHeadway { .. } => windy += 1,
        }
    }
    let mut parts = Vec::new();
    for (n, what) in [
        (caps, "lack the payload"),
        (busy, "are on higher-priority work"),
        (battery, "lack the battery"),
        (route, "have no route around the no-go zones"),
        (windy, "cannot fly in this wind"),
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
    if let Some(r) = rejected.iter().find(|r| {
        matches!(
            r.reason,
            RejectReason::WindLimit { .. } | RejectReason::NoHeadway { .. }
        )
    }) {
        s.push_str(&format!(" ({}: {})", r.drone, r.reason));
    }
    s
}

//! Routing figures for docs/performance.md: the planner against its
//! references on seeded worlds of concave zones and corridors.
//!
//! ```text
//! cargo run --release -p dispatch-core --example routing_figures -- [worlds] [queries per world]
//! ```
//!
//! Per world: random routes (random start and target, departure within 90
//! minutes of the timed zones, rescue or not) and one target in the middle of
//! every corridor. Each route is planned three times: by the planner, by the
//! reference with the planner's arc steps (the 1 % and "no false
//! unreachable" figures) and by a fine reference with 3° arcs, which stands
//! for the exact margin-respecting shortest path (the length ratios). Then
//! assignments against brute force over every drone with the reference.

// A timing harness: it reads the wall clock, which the core itself never does.
#![allow(clippy::disallowed_methods)]

use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use dispatch_core::assign::assign_brute_force_with;
use dispatch_core::shape::ARC_STEP_RAD;
use dispatch_core::synth;
use dispatch_core::{
    IncidentKind, LatLon, Need, Route, RouteError, RouteRequest, World, assign, plan_route,
    plan_route_reference,
};
use geo::Centroid;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const EXTENT: f64 = 0.1;

fn same_steps(world: &World, req: &RouteRequest) -> Result<Route, RouteError> {
    plan_route_reference(world, req, ARC_STEP_RAD)
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let worlds = args.first().copied().unwrap_or(60);
    let per_world = args.get(1).copied().unwrap_or(8);
    let epoch: DateTime<Utc> = DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();

    let (mut routes, mut bends, mut violations, mut false_unreachable) = (0, 0, 0, 0);
    let (mut corridor_targets, mut corridor_reached, mut corridor_ref) = (0, 0, 0);
    let mut over_reference: f64 = 0.0;
    let mut ratios = Vec::new();
    let (mut t_plan, mut t_ref, mut timed) = (0.0, 0.0, 0);
    let (mut assignments, mut mismatches) = (0, 0);
    for seed in 0..worlds as u64 {
        let mut rng = SmallRng::seed_from_u64(seed);
        let zones = rng.random_range(8..16);
        let world = synth::shaped_world(seed, zones, EXTENT, epoch);
        let mut queries: Vec<(LatLon, LatLon, bool)> = (0..per_world)
            .map(|_| {
                (
                    synth::random_point(&mut rng, EXTENT),
                    synth::random_point(&mut rng, EXTENT),
                    false,
                )
            })
            .collect();
        // The middle of every corridor (two walls made together).
        let zs: Vec<_> = world.zones().collect();
        for w in zs.windows(2) {
            if w[0].name.starts_with("Corridor")
                && w[1].name.starts_with("Corridor")
                && let (Some(a), Some(b)) = (w[0].polygon.centroid(), w[1].polygon.centroid())
            {
                let mid = LatLon::new((a.y() + b.y()) / 2.0, (a.x() + b.x()) / 2.0);
                queries.push((synth::random_point(&mut rng, EXTENT), mid, true));
            }
        }
        for (from, to, corridor) in queries {
            let req = RouteRequest {
                from,
                to,
                depart: epoch + TimeDelta::minutes(rng.random_range(-90..90)),
                pre_cruise_s: 30.0,
                speed_mps: 15.0,
                altitude_m: 60.0,
                rescue: rng.random_bool(0.5),
            };
            let t0 = Instant::now();
            let planned = plan_route(&world, &req);
            let t1 = Instant::now();
            let reference = same_steps(&world, &req);
            let t2 = Instant::now();
            t_plan += (t1 - t0).as_secs_f64();
            t_ref += (t2 - t1).as_secs_f64();
            timed += 1;
            corridor_targets += usize::from(corridor);
            corridor_ref += usize::from(corridor && reference.is_ok());
            match (&planned, &reference) {
                (Ok(p), r) => {
                    routes += 1;
                    corridor_reached += usize::from(corridor);
                    if synth::audit_route(&world, &req, p).is_err() {
                        violations += 1;
                    }
                    if let Ok(r) = r {
                        over_reference = over_reference.max(p.length_m / r.length_m);
                    }
                    if p.waypoints.len() > 2 {
                        bends += 1;
                        if let Ok(fine) = plan_route_reference(&world, &req, 3f64.to_radians()) {
                            ratios.push(p.length_m / fine.length_m);
                        }
                    }
                }
                (Err(_), Ok(_)) => false_unreachable += 1,
                (Err(_), Err(_)) => {}
            }
        }
        for kind in [IncidentKind::PersonInWater, IncidentKind::HighriseFire] {
            let policy = synth::policies()[&kind];
            let need = Need::new(&policy, synth::random_point(&mut rng, EXTENT), epoch);
            let fast = assign(&world, &need);
            let slow = assign_brute_force_with(&world, &need, same_steps);
            assignments += 1;
            let agree = match (&fast, &slow) {
                (Ok(a), Some(b)) => a.chosen.eta_s <= b.eta_s * 1.01 + 1e-6,
                (Err(_), None) => true,
                _ => false,
            };
            mismatches += usize::from(!agree);
        }
    }
    let n = ratios.len();
    println!(
        "worlds {worlds}, routes planned {routes} (with a bend {bends}), corridor targets {corridor_targets}"
    );
    println!(
        "length / fine reference (3° arcs), routes with a bend: median {:.4}, p95 {:.4}, max {:.4} (n = {n})",
        quantile(&mut ratios, 0.5),
        quantile(&mut ratios, 0.95),
        quantile(&mut ratios, 1.0)
    );
    println!("length / reference (same nodes), max: {over_reference:.4}");
    println!("routes with a leg closer than the margin: {violations}");
    println!("false \"unreachable\" (reference finds a route): {false_unreachable}");
    println!(
        "corridor targets reached: {corridor_reached} of {corridor_targets} (reference {corridor_ref})"
    );
    println!("assignment mismatches against brute force: {mismatches} of {assignments}");
    println!(
        "mean plan time: planner {:.2} ms, reference {:.2} ms ({:.0}x)",
        t_plan / f64::from(timed) * 1e3,
        t_ref / f64::from(timed) * 1e3,
        t_ref / t_plan
    );
}

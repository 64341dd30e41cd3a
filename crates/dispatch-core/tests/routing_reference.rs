//! The planner against a brute-force reference on seeded worlds of concave
//! zones (L, U, comb, star, ring, corridors), some timed, some rescue-exempt:
//! every leg keeps the margin from every zone in force while the drone is
//! near it, no route is more than 1 % longer than the reference's, and the
//! planner never answers "unreachable" where the reference finds a route.
//! Assignment with the planner agrees with brute force over every drone with
//! the reference router.

use chrono::{DateTime, TimeDelta, Utc};
use dispatch_core::assign::assign_brute_force_with;
use dispatch_core::shape::ARC_STEP_RAD;
use dispatch_core::synth;
use dispatch_core::{
    IncidentKind, LatLon, Need, Route, RouteError, RouteRequest, World, assign, plan_route,
    plan_route_reference,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::SmallRng;

const EXTENT: f64 = 0.1;

fn epoch() -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default()
}

fn point(seed: u64) -> LatLon {
    synth::random_point(&mut SmallRng::seed_from_u64(seed), EXTENT)
}

fn reference(world: &World, req: &RouteRequest) -> Result<Route, RouteError> {
    plan_route_reference(world, req, ARC_STEP_RAD)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn planner_keeps_the_margin_and_matches_the_reference(
        seed in any::<u64>(),
        zones in 4usize..16,
        a in any::<u64>(),
        b in any::<u64>(),
        offset_min in -90i64..90,
        rescue in any::<bool>(),
    ) {
        let world = synth::shaped_world(seed, zones, EXTENT, epoch());
        let req = RouteRequest {
            from: point(a),
            to: point(b),
            depart: epoch() + TimeDelta::minutes(offset_min),
            pre_cruise_s: 30.0,
            speed_mps: 15.0,
            altitude_m: 60.0,
            rescue,
        };
        let planned = plan_route(&world, &req);
        let slow = reference(&world, &req);
        match (&planned, &slow) {
            (Ok(p), Ok(r)) => {
                prop_assert!(
                    p.length_m <= r.length_m * 1.01 + 1e-6,
                    "planner {:.1} m vs reference {:.1} m", p.length_m, r.length_m
                );
                if let Err(e) = synth::audit_route(&world, &req, p) {
                    prop_assert!(false, "{}", e);
                }
            }
            (Err(e), Ok(r)) => prop_assert!(
                false, "planner says {} but the reference flies {:.0} m", e, r.length_m
            ),
            (Ok(p), Err(_)) => {
                if let Err(e) = synth::audit_route(&world, &req, p) {
                    prop_assert!(false, "{}", e);
                }
            }
            (Err(_), Err(_)) => {}
        }
    }

    #[test]
    fn assignment_agrees_with_brute_force_over_the_reference_router(
        seed in any::<u64>(),
        zones in 0usize..12,
        at in any::<u64>(),
        kind in prop::sample::select(IncidentKind::ALL.to_vec()),
    ) {
        let world = synth::shaped_world(seed, zones, EXTENT, epoch());
        let policy = synth::policies()[&kind];
        let need = Need::new(&policy, point(at), epoch());
        let fast = assign(&world, &need);
        let slow = assign_brute_force_with(&world, &need, reference);
        match (&fast, &slow) {
            (Ok(a), Some(b)) => prop_assert!(
                a.chosen.eta_s <= b.eta_s * 1.01 + 1e-6,
                "planner picks {} ({:.1} s), brute force {} ({:.1} s)",
                a.chosen.drone, a.chosen.eta_s, b.drone, b.eta_s
            ),
            (Err(_), None) => {}
            _ => prop_assert!(
                false,
                "planner {:?} vs brute force {:?}", fast.as_ref().map(|a| &a.chosen), slow
            ),
        }
    }
}

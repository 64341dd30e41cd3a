//! The planner and assignment under the independent audit
//! (`dispatch_core::audit`: `geo` distances, zones judged at the times the
//! drone may be on each leg) on seeded worlds of concave zones, some with
//! their floor or ceiling at the cruise altitude, some opening during the
//! flight or on the way home, and incidents and starts at a zone's edge
//! (in its margin, or just inside it) while it is not yet in force:
//! - every sortie assigned passes the audit, outbound, on scene and home;
//! - no drone is refused for want of a route when the straight sortie passes
//!   the audit with room to spare, or when the reference planner finds the
//!   route it was refused;
//! - a route refused by the planner is not clear flown straight.

use chrono::{DateTime, TimeDelta, Utc};
use dispatch_core::audit::{
    Flight, Sortie, audit_assignment, audit_flight, audit_route, audit_sortie,
};
use dispatch_core::shape::ARC_STEP_RAD;
use dispatch_core::synth;
use dispatch_core::{
    ActiveWindow, Drone, IncidentKind, LatLon, Need, RejectReason, RouteError, RouteRequest, World,
    ZoneId, assign, plan_route, plan_route_reference,
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

/// A point `offset_m` from a corner of one of the world's zones (chosen by
/// `pick`), that zone made to open `opens_s` after the epoch and stay; a
/// random point if there is none.
fn by_a_zone_opening_later(
    world: &mut World,
    pick: usize,
    offset_m: f64,
    opens_s: i64,
    fallback: u64,
) -> LatLon {
    let ids: Vec<ZoneId> = world.zones().map(|z| z.id.clone()).collect();
    let Some(id) = ids.get(pick % ids.len().max(1)) else {
        return point(fallback);
    };
    if let Some(mut z) = world.zone(id).cloned() {
        z.window = ActiveWindow {
            from: Some(epoch() + TimeDelta::seconds(opens_s)),
            until: None,
        };
        world.upsert_zone(z);
    }
    synth::by_zone(world, id, pick / ids.len().max(1), offset_m).unwrap_or_else(|| point(fallback))
}

/// The outbound request assignment makes for drone `d`.
fn outbound(world: &World, d: &Drone, need: &Need) -> RouteRequest {
    let params = world.params();
    let pre_cruise_s = if d.state.is_on_ground() {
        world.hangar(&d.hangar).map_or(0.0, |h| h.launch_delay_s)
            + params.cruise_altitude_m / d.performance.climb_rate_mps
    } else {
        0.0
    };
    RouteRequest {
        from: d.position,
        to: need.position,
        depart: need.at,
        pre_cruise_s,
        speed_mps: d.performance.cruise_speed_mps,
        altitude_m: params.cruise_altitude_m,
        rescue: need.rescue,
    }
}

/// Why drone `d`, refused for want of a route, should not have been:
/// the straight sortie passes the strict audit, or the reference planner
/// flies the leg the planner refused.
fn wrongly_refused(world: &World, d: &Drone, need: &Need, home: bool) -> Option<String> {
    let out = outbound(world, d, need);
    let hangar = world.hangar(&d.hangar)?.position;
    let straight = audit_sortie(
        world,
        &Sortie {
            out: &[out.from, out.to],
            back: &[out.to, hangar],
            depart: need.at,
            cruise_from_s: out.pre_cruise_s,
            on_scene_s: need.on_scene_s,
            speed_mps: out.speed_mps,
            altitude_m: out.altitude_m,
            rescue: need.rescue,
            strict: true,
        },
    );
    if straight.is_ok() {
        return Some("the straight sortie is clear".into());
    }
    let reference = |r: &RouteRequest| plan_route_reference(world, r, ARC_STEP_RAD);
    if !home {
        return match (plan_route(world, &out), reference(&out)) {
            (Err(RouteError::Unreachable { .. }), Ok(r)) => {
                Some(format!("the reference flies out in {:.0} m", r.length_m))
            }
            _ => None,
        };
    }
    let there = plan_route(world, &out).ok()?;
    let back = RouteRequest {
        from: out.to,
        to: hangar,
        pre_cruise_s: out.pre_cruise_s + there.duration_s(out.speed_mps) + need.on_scene_s,
        ..out
    };
    match (plan_route(world, &back), reference(&back)) {
        (Err(RouteError::Unreachable { .. }), Ok(r)) => {
            Some(format!("the reference flies home in {:.0} m", r.length_m))
        }
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sorties_pass_the_audit_and_no_drone_is_wrongly_refused(
        seed in any::<u64>(),
        zones in 1usize..12,
        at in any::<u64>(),
        by_edge in any::<bool>(),
        pick in any::<usize>(),
        offset_m in -30.0f64..90.0,
        opens_s in 0i64..900,
        kind in prop::sample::select(IncidentKind::ALL.to_vec()),
    ) {
        let mut world = synth::shaped_world(seed, zones, EXTENT, epoch());
        let position = if by_edge {
            by_a_zone_opening_later(&mut world, pick, offset_m, opens_s, at)
        } else {
            point(at)
        };
        let policy = synth::policies()[&kind];
        let need = Need::new(&policy, position, epoch());
        let result = assign(&world, &need);
        let rejected = match &result {
            Ok(a) => {
                if let Err(e) = audit_assignment(&world, a, need.at, need.on_scene_s, need.rescue) {
                    prop_assert!(false, "{} ({:.0} s): {}", a.chosen.drone, a.chosen.eta_s, e);
                }
                &a.rejected
            }
            Err(nc) => &nc.rejected,
        };
        for r in rejected {
            let home = match &r.reason {
                RejectReason::NoRoute { error: RouteError::Unreachable { .. } } => false,
                RejectReason::NoReturnRoute { error: RouteError::Unreachable { .. } } => true,
                _ => continue,
            };
            let d = world.drone(&r.drone);
            prop_assert!(d.is_some());
            if let Some(why) = d.and_then(|d| wrongly_refused(&world, d, &need, home)) {
                prop_assert!(false, "{} refused ({}) but {}", r.drone, r.reason, why);
            }
        }
    }

    #[test]
    fn routes_from_and_to_zone_edges_pass_the_audit(
        seed in any::<u64>(),
        zones in 1usize..12,
        a in any::<u64>(),
        b in any::<u64>(),
        start_by_edge in any::<bool>(),
        pick in any::<usize>(),
        offset_m in -30.0f64..90.0,
        opens_s in 0i64..1200,
        offset_min in -20i64..20,
        rescue in any::<bool>(),
    ) {
        let mut world = synth::shaped_world(seed, zones, EXTENT, epoch());
        let edge = by_a_zone_opening_later(&mut world, pick, offset_m, opens_s, a);
        let (from, to) = if start_by_edge { (edge, point(b)) } else { (point(b), edge) };
        let req = RouteRequest {
            from,
            to,
            depart: epoch() + TimeDelta::minutes(offset_min),
            pre_cruise_s: 30.0,
            speed_mps: 15.0,
            altitude_m: 60.0,
            rescue,
        };
        match plan_route(&world, &req) {
            Ok(route) => {
                if let Err(e) = audit_route(&world, &req, &route) {
                    prop_assert!(false, "{}", e);
                }
            }
            Err(e) => {
                let straight = audit_flight(&world, &Flight {
                    waypoints: &[from, to],
                    depart: req.depart,
                    cruise_from_s: req.pre_cruise_s,
                    speed_mps: req.speed_mps,
                    altitude_m: req.altitude_m,
                    rescue,
                    strict: true,
                });
                prop_assert!(straight.is_err(), "planner says {} but the straight line is clear", e);
                if matches!(e, RouteError::Unreachable { .. }) {
                    let r = plan_route_reference(&world, &req, ARC_STEP_RAD);
                    prop_assert!(r.is_err(), "planner says {} but the reference flies it", e);
                }
            }
        }
    }
}

//! Property tests: routes never cross an active zone, assignment agrees with a
//! brute-force reference, and incremental index updates agree with a rebuild.

use chrono::{DateTime, TimeDelta, Utc};
use dispatch_core::assign::{assign_brute_force, nearest_capable, nearest_capable_scan};
use dispatch_core::synth::{self, Spec};
use dispatch_core::{
    Capability, CapabilitySet, DroneState, IncidentKind, LatLon, Need, PlanningParams, RouteError,
    RouteRequest, World, assign, plan_route,
};
use geo::{Coord, Intersects, Line};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::SmallRng;

fn epoch() -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default()
}

/// A small dense world: a few dozen zones over ~20 km, so that routes must bend.
fn small_spec(seed: u64, zones: usize) -> Spec {
    Spec {
        seed,
        hangars: 12,
        drones_per_hangar: 3,
        zones,
        extent_deg: 0.2,
        zone_radius_m: (300.0, 2_000.0),
        epoch: epoch(),
    }
}

fn point(seed: u64) -> LatLon {
    synth::random_point(&mut SmallRng::seed_from_u64(seed), 0.2)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn routes_never_cross_an_active_zone(
        seed in any::<u64>(),
        zones in 5usize..60,
        a in any::<u64>(),
        b in any::<u64>(),
        offset_min in -180i64..180,
        rescue in any::<bool>(),
    ) {
        let world = synth::world(&small_spec(seed, zones));
        let req = RouteRequest {
            from: point(a),
            to: point(b),
            depart: epoch() + TimeDelta::minutes(offset_min),
            pre_cruise_s: 30.0,
            speed_mps: 15.0,
            altitude_m: 60.0,
            rescue,
        };
        match plan_route(&world, &req) {
            Ok(route) => {
                prop_assert_eq!(route.waypoints.first(), Some(&req.from));
                prop_assert_eq!(route.waypoints.last(), Some(&req.to));
                // Each leg against the zones in force while the drone is over
                // them: points every 20 m along the leg, each with the time the
                // drone passes it (exact timing; the planner's own is wider by
                // its tolerance).
                let n = route.waypoints.len();
                let mut flown_m = 0.0;
                for (i, leg) in route.waypoints.windows(2).enumerate() {
                    let seg = Line::new(
                        Coord { x: leg[0].lon, y: leg[0].lat },
                        Coord { x: leg[1].lon, y: leg[1].lat },
                    );
                    let len = dispatch_core::geodesy::distance_m(leg[0], leg[1]);
                    let steps = (len / 20.0).ceil().max(1.0) as usize;
                    for z in world.zones().filter(|z| z.floor_m <= req.altitude_m && req.altitude_m <= z.ceiling_m) {
                        let allowed = (i == 0 && route.departs_from.contains(&z.id))
                            || (i == n - 2 && route.final_leg_enters.contains(&z.id));
                        if allowed || !z.polygon.intersects(&seg) {
                            continue;
                        }
                        for k in 0..=steps {
                            let f = k as f64 / steps as f64;
                            let p = Coord {
                                x: leg[0].lon + f * (leg[1].lon - leg[0].lon),
                                y: leg[0].lat + f * (leg[1].lat - leg[0].lat),
                            };
                            if !z.polygon.intersects(&p) {
                                continue;
                            }
                            let at = req.depart + TimeDelta::milliseconds(
                                ((req.pre_cruise_s + (flown_m + f * len) / req.speed_mps) * 1000.0) as i64,
                            );
                            prop_assert!(
                                !z.window.active_at(at),
                                "leg {} is over zone {} at {} while it is in force", i, z.id, at
                            );
                        }
                    }
                    flown_m += len;
                }
                // And the margin, at the legs' times, under the audit.
                if let Err(e) = synth::audit_route(&world, &req, &route) {
                    prop_assert!(false, "{}", e);
                }
                for id in &route.final_leg_enters {
                    let z = world.zone(id);
                    prop_assert!(rescue && z.is_some_and(|z| z.rescue_exempt));
                }
            }
            Err(RouteError::TargetInZone { zone, .. }) => {
                let z = world.zone(&zone);
                prop_assert!(z.is_some_and(|z| !(rescue && z.rescue_exempt)));
                prop_assert!(world.zones_containing(req.to).contains(&zone));
            }
            Err(RouteError::Unreachable { zones }) => {
                prop_assert!(!zones.is_empty());
            }
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }

    #[test]
    fn assignment_agrees_with_brute_force(
        seed in any::<u64>(),
        zones in 0usize..40,
        at in any::<u64>(),
        kind in prop::sample::select(IncidentKind::ALL.to_vec()),
    ) {
        let world = synth::world(&small_spec(seed, zones));
        let policy = synth::policies()[&kind];
        let need = Need::new(&policy, point(at), epoch());
        let fast = assign(&world, &need);
        let slow = assign_brute_force(&world, &need);
        match (&fast, &slow) {
            (Ok(a), Some(b)) => {
                prop_assert!(
                    (a.chosen.eta_s - b.eta_s).abs() < 1e-6,
                    "fast {} ({}) vs brute force {} ({})", a.chosen.drone, a.chosen.eta_s, b.drone, b.eta_s
                );
                for alt in &a.alternatives {
                    prop_assert!(alt.eta_s >= a.chosen.eta_s);
                }
                for r in &a.rejected {
                    prop_assert!(r.distance_m < a.chosen.distance_m);
                }
            }
            (Err(_), None) => {}
            _ => prop_assert!(
                false,
                "fast {:?} vs brute force {:?}", fast.as_ref().map(|a| &a.chosen), slow
            ),
        }
    }

    #[test]
    fn index_updates_agree_with_a_rebuild(
        seed in any::<u64>(),
        ops in prop::collection::vec((any::<u16>(), 0usize..6, any::<u64>()), 1..60),
        zone_removals in prop::collection::vec(any::<u16>(), 0..10),
        probe in any::<u64>(),
    ) {
        let spec = small_spec(seed, 30);
        let mut world = synth::world(&spec);
        let n = world.drones().len();
        let states = [
            DroneState::Docked,
            DroneState::Charging,
            DroneState::EnRoute,
            DroneState::Returning,
            DroneState::Maintenance,
            DroneState::Lost,
        ];
        for (i, state, pos) in ops {
            let d = world.drones()[i as usize % n].clone();
            let state = states[state];
            let task = if state == DroneState::EnRoute { d.task } else { None };
            let position = if state.is_on_ground() { d.position } else { point(pos) };
            world
                .update_drone(&d.id, state, position, (pos % 100) as f64, task)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        let ids: Vec<_> = world.zones().map(|z| z.id.clone()).collect();
        for r in zone_removals {
            if !ids.is_empty() {
                let _ = world.remove_zone(&ids[r as usize % ids.len()]);
            }
        }
        let rebuilt = World::build(
            world.region(),
            PlanningParams::default(),
            synth::policies(),
            world.hangars().to_vec(),
            world.drones().to_vec(),
            world.zones().cloned().collect(),
        )
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(world.dispatchable_ids(), rebuilt.dispatchable_ids());
        prop_assert_eq!(world.capability_index_ids(), rebuilt.capability_index_ids());
        for k in 0..20u64 {
            let p = point(probe.wrapping_add(k));
            let mut a = world.zones_containing(p);
            let mut b = rebuilt.zones_containing(p);
            a.sort();
            b.sort();
            prop_assert_eq!(a, b);
            let caps: CapabilitySet = [Capability::ALL[(k % 5) as usize]].into_iter().collect();
            prop_assert_eq!(
                nearest_capable(&world, p, caps, 30.0),
                nearest_capable(&rebuilt, p, caps, 30.0)
            );
        }
    }

    #[test]
    fn nearest_capable_agrees_with_a_linear_scan(
        seed in any::<u64>(),
        at in any::<u64>(),
        cap in 0usize..5,
        min_battery in 0.0f64..100.0,
    ) {
        let world = synth::world(&small_spec(seed, 0));
        let caps: CapabilitySet = [Capability::ALL[cap]].into_iter().collect();
        let p = point(at);
        prop_assert_eq!(
            nearest_capable(&world, p, caps, min_battery),
            nearest_capable_scan(&world, p, caps, min_battery)
        );
    }
}

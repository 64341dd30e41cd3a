//! Assignment in wind on the Haining scenario: ETAs and energy come from the
//! wind triangle leg by leg, and drones are grounded above their limits.

use std::path::Path;

use chrono::{DateTime, Utc};
use dispatch_core::assign::{Need, RejectReason, assign};
use dispatch_core::geodesy::distance_m;
use dispatch_core::wind::bearing_deg;
use dispatch_core::{
    IncidentKind, LatLon, Scenario, Wind, WindObservation, WindSource, World, config,
};

const RESCUE: LatLon = LatLon {
    lat: 30.347,
    lon: 120.457,
};

fn scenario() -> Scenario {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/haining.toml");
    config::load(&p).unwrap_or_else(|e| panic!("{e}"))
}

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-09-28T13:00:00+08:00")
        .unwrap_or_else(|e| panic!("{e}"))
        .to_utc()
}

/// The world with `wind` reported for the whole region a minute ago.
fn world_in(wind: Option<(f64, f64, f64)>) -> World {
    let s = scenario();
    let mut w = s.world();
    if let Some((speed, from, gust)) = wind {
        let centre = w.region().centre();
        w.wind_mut().observe(WindObservation {
            source: WindSource::Region,
            at: at() - chrono::TimeDelta::seconds(60),
            position: centre,
            wind: Wind {
                speed_mps: speed,
                from_deg: from,
            },
            gust_mps: Some(gust),
        });
    }
    w
}

fn rescue(w: &World) -> Need {
    let policy = w
        .policy(IncidentKind::PersonInWater)
        .unwrap_or_else(|| panic!("the scenario has a policy for people in the water"));
    Need::new(policy, RESCUE, at())
}

/// Ground speed along `track_deg` by bisection on the airspeed the autopilot
/// needs (independent of the closed form the planner uses).
fn ground_speed(track_deg: f64, wind: Wind, cruise: f64, max_air: f64) -> f64 {
    let (wn, we) = wind.velocity();
    let (un, ue) = (track_deg.to_radians().cos(), track_deg.to_radians().sin());
    let air = |g: f64| (g * un - wn).hypot(g * ue - we);
    if air(cruise) <= max_air {
        return cruise;
    }
    let (mut lo, mut hi) = (0.0, cruise);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if air(mid) <= max_air {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

#[test]
fn a_headwind_lengthens_the_eta_by_the_triangle_on_every_leg() {
    let calm =
        assign(&world_in(None), &rescue(&world_in(None))).unwrap_or_else(|e| panic!("{e:?}"));
    let w = world_in(Some((8.0, 248.0, 9.5)));
    let windy = assign(&w, &rescue(&w)).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(calm.chosen.drone.0, "yg-1");
    assert_eq!(windy.chosen.drone.0, "yg-1");
    assert!(calm.wind.is_none());
    let sw = windy
        .wind
        .as_ref()
        .expect("the plan says which wind it used");
    assert_eq!(sw.strongest.source, WindSource::Region);

    // The ETA is launch + climb + each leg at its own ground speed.
    let d = w.drone(&windy.chosen.drone).unwrap();
    let perf = d.performance;
    let h = w.hangar(&d.hangar).unwrap();
    let pre = h.launch_delay_s + w.params().cruise_altitude_m / perf.climb_rate_mps;
    let wind = Wind {
        speed_mps: 8.0,
        from_deg: 248.0,
    };
    let legs: f64 = windy
        .route
        .waypoints
        .windows(2)
        .map(|p| {
            distance_m(p[0], p[1])
                / ground_speed(
                    bearing_deg(p[0], p[1]),
                    wind,
                    perf.cruise_speed_mps,
                    perf.max_airspeed_mps,
                )
        })
        .sum();
    let expected = pre + legs;
    assert!(
        (windy.chosen.eta_s - expected).abs() < 0.5,
        "ETA {} s, the legs give {expected} s",
        windy.chosen.eta_s
    );
    // Out from Yanguan to Laoyancang runs roughly into a 248° wind: slower
    // than in still air, and it costs more battery than calm.
    assert!(windy.chosen.eta_s > calm.chosen.eta_s + 20.0);
    assert!(sw.out_ground_speed_mps < perf.cruise_speed_mps);
    assert!(windy.energy.outbound_pct > calm.energy.outbound_pct);
    // Home with the wind behind: cruise ground speed, less power than cruise.
    assert!((sw.back_ground_speed_mps - perf.cruise_speed_mps).abs() < 0.5);
    assert!(windy.energy.return_pct < calm.energy.return_pct);
    assert!(windy.chosen.battery_on_landing_pct < calm.chosen.battery_on_landing_pct);
}

#[test]
fn above_its_limit_no_drone_takes_the_rescue_and_the_answer_names_the_wind() {
    let w = world_in(Some((14.0, 248.0, 16.0)));
    let err = assign(&w, &rescue(&w))
        .err()
        .unwrap_or_else(|| panic!("the lifebuoy drones are rated to 12 m/s"));
    assert!(err.reason.contains("wind"), "{}", err.reason);
    assert!(err.reason.contains("14.0 m/s"), "{}", err.reason);
    assert!(err.reason.contains("12.0 m/s"), "{}", err.reason);
    let yg1 = err
        .rejected
        .iter()
        .find(|r| r.drone.0 == "yg-1")
        .unwrap_or_else(|| panic!("yg-1 is listed"));
    assert!(
        matches!(yg1.reason, RejectReason::WindLimit { max_wind_mps, .. } if max_wind_mps == 12.0),
        "{:?}",
        yg1.reason
    );
}

#[test]
fn a_drone_rated_for_the_wind_still_flies_in_it() {
    // 14 m/s grounds the 12 m/s lifebuoy drones but not the 15 m/s camera
    // drones: a fire goes to one of those.
    let w = world_in(Some((14.0, 248.0, 16.0)));
    let policy = w.policy(IncidentKind::HighriseFire).unwrap();
    let need = Need::new(policy, LatLon::new(30.52, 120.68), at());
    let a = assign(&w, &need).unwrap_or_else(|e| panic!("{e:?}"));
    let d = w.drone(&a.chosen.drone).unwrap();
    assert!(d.performance.max_wind_mps >= 14.0);
}

#[test]
fn a_gust_over_the_gust_limit_grounds_as_the_mean_does() {
    let w = world_in(Some((10.0, 248.0, 16.0)));
    let err = assign(&w, &rescue(&w))
        .err()
        .unwrap_or_else(|| panic!("gusts of 16 over a 15 m/s limit"));
    assert!(err.reason.contains("gust"), "{}", err.reason);
}

#[test]
fn stale_wind_is_still_air() {
    let s = scenario();
    let mut w = s.world();
    let centre = w.region().centre();
    w.wind_mut().observe(WindObservation {
        source: WindSource::Region,
        at: at() - chrono::TimeDelta::hours(2),
        position: centre,
        wind: Wind {
            speed_mps: 14.0,
            from_deg: 248.0,
        },
        gust_mps: Some(16.0),
    });
    let a = assign(&w, &rescue(&w)).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(a.wind.is_none());
}

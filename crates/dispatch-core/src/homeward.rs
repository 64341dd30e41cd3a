//! The way home of a sortie cut short (called off, handed over, sent home by
//! its watchdog or a wind or battery limit): planned again from where the
//! drone is, and separated from the other sorties as a new one is.
//!
//! The drone flies its mission's way home: from where it is to the return
//! route's waypoints and its hangar at the sortie's layer, then straight
//! down. In the air it cannot wait on the ground, and ArduCopter takes no
//! altitude change in AUTO, so when that way passes too close to another
//! sortie it *holds where it is* (in steps of the separation's delay step,
//! up to its longest delay) until the way is clear, as long as the battery
//! covers the hold and the flight home above the reserve. When no hold
//! clears it, it flies home anyway (it must land) and the conflict is named,
//! so that the dispatcher sees it and new sorties are separated from the
//! path it really flies.

use serde::Serialize;

use crate::geodesy::distance_m;
use crate::model::{DroneId, LatLon, Timestamp};
use crate::separation::{Conflict, FlightPath, Flights, PathPoint};
use crate::wind::{self, bearing_deg, leg_speed, power_factor};
use crate::world::World;

/// A way home and how it was separated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Homeward {
    pub path: FlightPath,
    /// Seconds to hold where it is before flying home (0: go now).
    pub hold_s: f64,
    /// The sortie it would pass too close to when no hold clears it.
    pub conflict: Option<Conflict>,
    /// What was decided, in words.
    pub note: String,
}

/// The path of `drone` flying home now from `from` at `alt_m` through `via`
/// (the return route's waypoints between the scene and the hangar), timed
/// with the wind, and the battery it takes, percent (infinite when a leg
/// makes no headway); `None` for an unknown drone or hangar.
pub fn path(
    world: &World,
    drone: &DroneId,
    from: LatLon,
    alt_m: f64,
    via: &[LatLon],
    now: Timestamp,
) -> Option<(FlightPath, f64)> {
    let d = world.drone(drone)?;
    let home = world.hangar(&d.hangar)?.position;
    let perf = d.performance;
    let at = |p: LatLon, t: f64| PathPoint {
        at: now + crate::routing::secs(t),
        position: p,
        alt_m,
        radius_m: 0.0,
    };
    let mut points = vec![at(from, 0.0)];
    let (mut t, mut power_s) = (0.0, 0.0);
    let mut last = from;
    let mut headway = true;
    for &p in via.iter().chain(std::iter::once(&home)) {
        let length = distance_m(last, p);
        if length < 1.0 {
            continue;
        }
        let mid = LatLon::new((last.lat + p.lat) / 2.0, (last.lon + p.lon) / 2.0);
        let still = wind::LegSpeed {
            ground_mps: perf.cruise_speed_mps,
            air_mps: perf.cruise_speed_mps,
        };
        let speed = match world.wind().at(mid, now) {
            None => still,
            Some(e) => {
                leg_speed(bearing_deg(last, p), e.wind, perf.airspeeds()).unwrap_or_else(|| {
                    // No headway: the slowest progress, at full airspeed,
                    // and no battery to spare for a hold.
                    headway = false;
                    wind::LegSpeed {
                        ground_mps: wind::MIN_GROUND_SPEED_MPS,
                        air_mps: perf.max_airspeed_mps,
                    }
                })
            }
        };
        let leg_s = length / speed.ground_mps.max(wind::MIN_GROUND_SPEED_MPS);
        t += leg_s;
        power_s += leg_s * power_factor(speed.ground_mps, speed.air_mps, perf.cruise_speed_mps);
        points.push(at(p, t));
        last = p;
    }
    if points.len() == 1 {
        points.push(at(home, 0.0));
    }
    let descent_s = alt_m / perf.descent_rate_mps.max(0.1);
    points.push(PathPoint {
        alt_m: 0.0,
        ..at(home, t + descent_s)
    });
    power_s += descent_s * wind::DESCENT_POWER_FACTOR;
    let rate = 100.0 / (perf.endurance_min * 60.0);
    Some((
        FlightPath {
            altitude_m: alt_m,
            start_delay_s: 0.0,
            note: String::new(),
            points,
        },
        if headway {
            power_s * rate
        } else {
            f64::INFINITY
        },
    ))
}

/// `p` held at its first point for `hold_s` before it goes on: that
/// point doubled, then the path delayed after it as a late start is.
pub fn held(p: &FlightPath, hold_s: f64) -> FlightPath {
    let mut q = p.clone();
    if hold_s > 0.0
        && let Some(&first) = q.points.first()
    {
        q.points.insert(0, first);
        q = crate::separation::delayed(&q, hold_s);
    }
    q
}

/// Plans and separates the way home of `drone` (see the module
/// documentation); `None` for an unknown drone or hangar.
pub fn plan(
    world: &World,
    flights: &Flights,
    drone: &DroneId,
    from: LatLon,
    alt_m: f64,
    via: &[LatLon],
    now: Timestamp,
) -> Option<Homeward> {
    let (path, home_pct) = path(world, drone, from, alt_m, via, now)?;
    let sep = world.separation();
    let Some(first) = flights.first_conflict(drone, &path, sep) else {
        return Some(Homeward {
            path,
            hold_s: 0.0,
            conflict: None,
            note: String::new(),
        });
    };
    let d = world.drone(drone)?;
    let perf = d.performance;
    let hover = world
        .wind()
        .at(from, now)
        .map_or(wind::HOVER_POWER_FACTOR, |e| {
            power_factor(0.0, e.wind.speed_mps, perf.cruise_speed_mps)
        });
    let hold_pct_per_s = hover * 100.0 / (perf.endurance_min * 60.0);
    let spare_pct = d.battery_pct - home_pct - world.params().reserve_pct;
    let longest = sep
        .max_start_delay_s
        .min((spare_pct / hold_pct_per_s).max(0.0));
    let mut hold = sep.delay_step_s;
    while sep.delay_step_s > 0.0 && hold <= longest {
        let trial = held(&path, hold);
        if flights.first_conflict(drone, &trial, sep).is_none() {
            let note = format!(
                "holds {hold:.0} s where it is before flying home: now it would pass {first}"
            );
            return Some(Homeward {
                path: FlightPath {
                    note: note.clone(),
                    ..trial
                },
                hold_s: hold,
                conflict: None,
                note,
            });
        }
        hold += sep.delay_step_s;
    }
    let note = format!(
        "flies home now although it passes {first}: no hold of up to {longest:.0} s clears it \
         (battery {:.0} %, {} to get home)",
        d.battery_pct,
        if home_pct.is_finite() {
            format!("{home_pct:.0} %")
        } else {
            "no headway on a leg".to_owned()
        }
    );
    Some(Homeward {
        path: FlightPath {
            note: note.clone(),
            ..path
        },
        hold_s: 0.0,
        conflict: Some(first),
        note,
    })
}

//! Wind: the triangle of velocities, the power it costs, and the wind field
//! the dispatcher keeps from what the vehicles and the weather service report.
//!
//! A multicopter's autopilot holds a ground speed (ArduPilot's `WPNAV_SPEED`)
//! by leaning into the wind, up to the airspeed its frame can make. So along a
//! track the ground speed is the cruise speed while the wind allows it, and
//! what the triangle gives at the maximum airspeed when it does not. Power
//! follows airspeed: the model (the simulator flies the same one, see
//! docs/airspace.md) is a horizontal factor on cruise power of
//! `max(base, airspeed / cruise)`, at most [`MAX_POWER_FACTOR`], with `base`
//! 1.1 when hovering and 0.8 when moving; climbing costs 1.5, descending 0.8.
//!
//! The field holds, per source (a drone's own reports, a hangar's or the
//! region's weather), the mean wind over the last [`MEAN_WINDOW_S`] and the
//! peak speed over the same time (the gust). A question about a place is
//! answered by the nearest source heard within [`WIND_MAX_AGE_S`], with its age
//! and how far away it is. Vehicles within [`POOL_RADIUS_M`] of that nearest
//! one (a hangar's docked drones, drones over one scene) feel the same air:
//! their reports are pooled into one mean, which steadies it against each
//! vehicle's own gusts.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::geodesy::distance_m;
use crate::model::{DroneId, HangarId, LatLon, Timestamp};

/// Horizontal power factors, see the module documentation.
pub const HOVER_POWER_FACTOR: f64 = 1.1;
pub const MOVING_POWER_FLOOR: f64 = 0.8;
pub const MAX_POWER_FACTOR: f64 = 1.6;
pub const CLIMB_POWER_FACTOR: f64 = 1.5;
pub const DESCENT_POWER_FACTOR: f64 = 0.8;

/// Reports older than this do not describe the wind now, seconds.
pub const WIND_MAX_AGE_S: f64 = 900.0;
/// The mean and the gust are taken over this long, seconds: five minutes,
/// within the two to ten of a weather observation's mean wind, so that a
/// vehicle's gusty one-second readings (or a few of them, when a busy link
/// thins them) give a steady figure; the peak over the same time is the gust.
pub const MEAN_WINDOW_S: f64 = 300.0;
/// A region-wide weather report counts as this far from any place, metres:
/// a vehicle's own report nearer than this is preferred.
pub const REGION_DISTANCE_M: f64 = 5_000.0;
/// Vehicles this close to the nearest one measure the same air, metres.
pub const POOL_RADIUS_M: f64 = 300.0;

/// Wind as meteorologists give it: speed and the direction it blows FROM.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Wind {
    pub speed_mps: f64,
    /// Degrees clockwise from true north the wind comes from.
    pub from_deg: f64,
}

impl Wind {
    pub const CALM: Wind = Wind {
        speed_mps: 0.0,
        from_deg: 0.0,
    };

    /// The velocity the air moves with, (north, east) m/s.
    pub fn velocity(self) -> (f64, f64) {
        let to = (self.from_deg + 180.0).to_radians();
        (self.speed_mps * to.cos(), self.speed_mps * to.sin())
    }

    /// The wind whose air moves with velocity (north, east).
    pub fn from_velocity(north: f64, east: f64) -> Wind {
        let speed = north.hypot(east);
        let to = east.atan2(north).to_degrees();
        Wind {
            speed_mps: speed,
            from_deg: if speed < 1e-9 {
                0.0
            } else {
                (to + 180.0).rem_euclid(360.0)
            },
        }
    }
}

/// The airframe figures the triangle needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Airspeeds {
    /// The ground speed the autopilot holds when it can, m/s.
    pub cruise_mps: f64,
    /// The most airspeed the frame makes, m/s.
    pub max_airspeed_mps: f64,
}

/// Ground and air speed along one track.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LegSpeed {
    pub ground_mps: f64,
    pub air_mps: f64,
}

/// Less ground speed than this is no progress: the leg cannot be flown.
pub const MIN_GROUND_SPEED_MPS: f64 = 0.5;

/// Ground and air speed flying the track of bearing `track_deg` in `wind`, or
/// `None` when the frame cannot make progress against it.
pub fn leg_speed(track_deg: f64, wind: Wind, frame: Airspeeds) -> Option<LegSpeed> {
    let (wn, we) = wind.velocity();
    let t = track_deg.to_radians();
    let (un, ue) = (t.cos(), t.sin());
    let along = un * wn + ue * we;
    let air_at = |g: f64| (g * un - wn).hypot(g * ue - we);
    let cruise_air = air_at(frame.cruise_mps);
    if cruise_air <= frame.max_airspeed_mps {
        return Some(LegSpeed {
            ground_mps: frame.cruise_mps,
            air_mps: cruise_air,
        });
    }
    // |g u - w| = V  =>  g = u.w + sqrt(V^2 - |w|^2 + (u.w)^2)
    let v = frame.max_airspeed_mps;
    let disc = v * v - wind.speed_mps * wind.speed_mps + along * along;
    if disc < 0.0 {
        return None;
    }
    let g = along + disc.sqrt();
    (g >= MIN_GROUND_SPEED_MPS).then_some(LegSpeed {
        ground_mps: g,
        air_mps: v,
    })
}

/// The horizontal power factor at `air_mps` (see the module documentation).
pub fn power_factor(ground_mps: f64, air_mps: f64, cruise_mps: f64) -> f64 {
    let base = if ground_mps < 1.0 {
        HOVER_POWER_FACTOR
    } else {
        MOVING_POWER_FLOOR
    };
    base.max(air_mps / cruise_mps).min(MAX_POWER_FACTOR)
}

/// Bearing from `a` to `b`, degrees clockwise from north (flat earth: legs
/// are short against the earth's radius).
pub fn bearing_deg(a: LatLon, b: LatLon) -> f64 {
    let north = b.lat - a.lat;
    let east = (b.lon - a.lon) * a.lat.to_radians().cos();
    east.atan2(north).to_degrees().rem_euclid(360.0)
}

/// Who reported a wind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum WindSource {
    /// A vehicle's own estimate (ArduPilot's `WIND`), docked or flying.
    Drone(DroneId),
    /// A weather report for a hangar.
    Hangar(HangarId),
    /// A weather report for the whole region.
    Region,
}

impl std::fmt::Display for WindSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WindSource::Drone(d) => write!(f, "drone {d}"),
            WindSource::Hangar(h) => write!(f, "weather at hangar {h}"),
            WindSource::Region => f.write_str("regional weather"),
        }
    }
}

/// One wind report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindObservation {
    pub source: WindSource,
    pub at: Timestamp,
    /// Where it was measured (a region report: the region's centre).
    pub position: LatLon,
    pub wind: Wind,
    /// The peak speed the source gives, when it gives one (weather reports);
    /// a vehicle's instantaneous reports make their own peak.
    pub gust_mps: Option<f64>,
}

/// What the field says about the wind at a place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindEstimate {
    /// The mean wind.
    pub wind: Wind,
    /// The peak speed over the averaging time, m/s (at least the mean).
    pub gust_mps: f64,
    pub source: WindSource,
    /// Seconds since the source last reported.
    pub age_s: f64,
    /// From the place asked about to where it was measured, metres.
    pub distance_m: f64,
    /// How many reports the mean is over (pooled vehicles' included).
    #[serde(default)]
    pub samples: usize,
}

#[derive(Debug, Clone)]
struct Track {
    position: LatLon,
    /// Samples in the averaging window: time, north, east.
    samples: VecDeque<(Timestamp, f64, f64)>,
    gust_mps: Option<f64>,
    last: Timestamp,
}

impl Track {
    /// What this source says now, `distance_m` from the place asked about.
    fn estimate(&self, source: &WindSource, now: Timestamp, distance_m: f64) -> WindEstimate {
        pooled(
            source,
            &[self],
            now,
            distance_m,
            self.last - crate::routing::secs(MEAN_WINDOW_S),
        )
    }
}

/// The mean over every sample of `tracks` (the first is the one named)
/// taken since `since`, the peak over them all as the gust, and the age of
/// the freshest.
fn pooled(
    source: &WindSource,
    tracks: &[&Track],
    now: Timestamp,
    distance_m: f64,
    since: Timestamp,
) -> WindEstimate {
    let samples = || {
        tracks
            .iter()
            .flat_map(|t| t.samples.iter())
            .filter(move |s| s.0 >= since)
    };
    let count = samples().count();
    let n = count.max(1) as f64;
    let (sn, se) = samples().fold((0.0, 0.0), |(a, b), s| (a + s.1, b + s.2));
    let wind = Wind::from_velocity(sn / n, se / n);
    let peak = samples()
        .map(|s| s.1.hypot(s.2))
        .fold(wind.speed_mps, f64::max);
    let given = tracks
        .iter()
        .filter_map(|t| t.gust_mps)
        .fold(peak, f64::max);
    let last = tracks.iter().map(|t| t.last).max().unwrap_or(now);
    WindEstimate {
        wind,
        gust_mps: given,
        source: source.clone(),
        age_s: age_s(now, last),
        distance_m,
        samples: count,
    }
}

/// The wind field: the latest reports per source.
#[derive(Debug, Clone, Default)]
pub struct WindField {
    tracks: BTreeMap<WindSource, Track>,
}

impl WindField {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a report. Reports older than the source's last are ignored (a
    /// late datagram does not move the field back).
    pub fn observe(&mut self, obs: WindObservation) {
        let (n, e) = obs.wind.velocity();
        let t = self
            .tracks
            .entry(obs.source.clone())
            .or_insert_with(|| Track {
                position: obs.position,
                samples: VecDeque::new(),
                gust_mps: None,
                last: obs.at,
            });
        if obs.at < t.last {
            return;
        }
        t.position = obs.position;
        t.last = obs.at;
        t.gust_mps = obs.gust_mps;
        if obs.gust_mps.is_some() {
            // A weather report is already a mean: it replaces the history.
            t.samples.clear();
        }
        t.samples.push_back((obs.at, n, e));
        let cutoff = obs.at - crate::routing::secs(MEAN_WINDOW_S);
        while t.samples.front().is_some_and(|s| s.0 < cutoff) {
            t.samples.pop_front();
        }
    }

    /// Forgets sources not heard for [`WIND_MAX_AGE_S`].
    pub fn expire(&mut self, now: Timestamp) {
        self.tracks
            .retain(|_, t| age_s(now, t.last) <= WIND_MAX_AGE_S);
    }

    /// The wind at `p` now: the nearest source heard recently, pooled with
    /// the vehicles around it when it is a vehicle.
    pub fn at(&self, p: LatLon, now: Timestamp) -> Option<WindEstimate> {
        let heard = || {
            self.tracks
                .iter()
                .filter(move |(_, t)| age_s(now, t.last) <= WIND_MAX_AGE_S)
        };
        let (d, source, nearest) = heard()
            .map(|(s, t)| {
                let d = match s {
                    WindSource::Region => REGION_DISTANCE_M,
                    _ => distance_m(p, t.position),
                };
                (d, s, t)
            })
            .min_by(|a, b| a.0.total_cmp(&b.0).then(b.2.last.cmp(&a.2.last)))?;
        if !matches!(source, WindSource::Drone(_)) {
            // A weather report is a mean already, of its own place.
            return Some(nearest.estimate(source, now, d));
        }
        // The neighbours' reports of the nearest one's averaging time only:
        // one heard minutes before it adds nothing stale.
        let since = nearest.last - crate::routing::secs(MEAN_WINDOW_S);
        let mut tracks = vec![nearest];
        tracks.extend(heard().filter_map(|(s, t)| {
            (s != source
                && matches!(s, WindSource::Drone(_))
                && t.last >= since
                && distance_m(t.position, nearest.position) <= POOL_RADIUS_M)
                .then_some(t)
        }));
        Some(pooled(source, &tracks, now, d, since))
    }

    /// What one source says now, if it was heard recently.
    pub fn of(&self, source: &WindSource, now: Timestamp) -> Option<WindEstimate> {
        let t = self.tracks.get(source)?;
        (age_s(now, t.last) <= WIND_MAX_AGE_S).then(|| t.estimate(source, now, 0.0))
    }

    /// Every source heard recently, with where it was measured.
    pub fn sources(&self, now: Timestamp) -> Vec<(LatLon, WindEstimate)> {
        self.tracks
            .keys()
            .filter_map(|s| Some((self.tracks[s].position, self.of(s, now)?)))
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }
}

fn age_s(now: Timestamp, then: Timestamp) -> f64 {
    ((now - then).num_milliseconds() as f64 / 1000.0).max(0.0)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    const FRAME: Airspeeds = Airspeeds {
        cruise_mps: 15.0,
        max_airspeed_mps: 20.0,
    };

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} is not within {tol} of {b}");
    }

    fn t(s: i64) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 9, 18, 5, 0, 0).unwrap() + chrono::TimeDelta::seconds(s)
    }

    #[test]
    fn still_air_is_cruise_at_cruise_airspeed() {
        let s = leg_speed(37.0, Wind::CALM, FRAME).unwrap();
        close(s.ground_mps, 15.0, 1e-9);
        close(s.air_mps, 15.0, 1e-9);
    }

    #[test]
    fn a_tailwind_keeps_ground_speed_with_less_airspeed() {
        // Flying north with the wind from the south.
        let s = leg_speed(
            0.0,
            Wind {
                speed_mps: 8.0,
                from_deg: 180.0,
            },
            FRAME,
        )
        .unwrap();
        close(s.ground_mps, 15.0, 1e-9);
        close(s.air_mps, 7.0, 1e-9);
    }

    #[test]
    fn a_headwind_beyond_the_airspeed_limit_slows_the_ground_speed() {
        // 12 m/s on the nose: 15 + 12 = 27 m/s through the air is too much,
        // at 20 m/s airspeed the ground speed is 8.
        let s = leg_speed(
            248.0,
            Wind {
                speed_mps: 12.0,
                from_deg: 248.0,
            },
            FRAME,
        )
        .unwrap();
        close(s.ground_mps, 8.0, 1e-9);
        close(s.air_mps, 20.0, 1e-9);
        // 5 m/s on the nose is within the limit: ground speed held.
        let s = leg_speed(
            248.0,
            Wind {
                speed_mps: 5.0,
                from_deg: 248.0,
            },
            FRAME,
        )
        .unwrap();
        close(s.ground_mps, 15.0, 1e-9);
        close(s.air_mps, 20.0, 1e-9);
    }

    #[test]
    fn a_crosswind_is_solved_by_the_triangle() {
        // Flying east, 16 m/s from the north: at cruise the air vector is
        // (−(−16)... ) = hypot(15, 16) ≈ 21.9 > 20, so ground speed drops to
        // sqrt(20² − 16²) = 12.
        let s = leg_speed(
            90.0,
            Wind {
                speed_mps: 16.0,
                from_deg: 0.0,
            },
            FRAME,
        )
        .unwrap();
        close(s.ground_mps, 12.0, 1e-9);
        close(s.air_mps, 20.0, 1e-9);
    }

    #[test]
    fn wind_faster_than_the_frame_stops_progress_upwind() {
        let w = Wind {
            speed_mps: 21.0,
            from_deg: 0.0,
        };
        assert_eq!(leg_speed(0.0, w, FRAME), None);
        // Downwind it still flies.
        assert!(leg_speed(180.0, w, FRAME).is_some());
    }

    #[test]
    fn power_follows_airspeed() {
        close(power_factor(15.0, 15.0, 15.0), 1.0, 1e-12);
        close(power_factor(15.0, 7.0, 15.0), 0.8, 1e-12);
        close(power_factor(15.0, 20.0, 15.0), 20.0 / 15.0, 1e-12);
        close(power_factor(0.0, 0.0, 15.0), 1.1, 1e-12);
        close(power_factor(0.0, 20.0, 15.0), 20.0 / 15.0, 1e-12);
        close(power_factor(15.0, 40.0, 15.0), 1.6, 1e-12);
    }

    #[test]
    fn from_velocity_inverts_velocity() {
        for from in [0.0, 45.0, 248.0, 359.0] {
            let w = Wind {
                speed_mps: 7.0,
                from_deg: from,
            };
            let (n, e) = w.velocity();
            let back = Wind::from_velocity(n, e);
            close(back.speed_mps, 7.0, 1e-9);
            close(back.from_deg, from, 1e-9);
        }
    }

    #[test]
    fn the_nearest_recent_source_answers_with_mean_gust_and_age() {
        let mut f = WindField::new();
        let near = LatLon::new(30.40, 120.50);
        let far = LatLon::new(30.60, 120.50);
        for (i, speed) in [6.0, 10.0, 8.0].into_iter().enumerate() {
            f.observe(WindObservation {
                source: WindSource::Drone(DroneId("a".into())),
                at: t(i as i64),
                position: near,
                wind: Wind {
                    speed_mps: speed,
                    from_deg: 90.0,
                },
                gust_mps: None,
            });
        }
        f.observe(WindObservation {
            source: WindSource::Drone(DroneId("b".into())),
            at: t(2),
            position: far,
            wind: Wind {
                speed_mps: 2.0,
                from_deg: 0.0,
            },
            gust_mps: None,
        });
        let e = f.at(LatLon::new(30.41, 120.50), t(12)).unwrap();
        assert_eq!(e.source, WindSource::Drone(DroneId("a".into())));
        close(e.wind.speed_mps, 8.0, 1e-9);
        close(e.wind.from_deg, 90.0, 1e-9);
        close(e.gust_mps, 10.0, 1e-9);
        close(e.age_s, 10.0, 1e-9);
        // Long after, nobody knows.
        assert_eq!(f.at(near, t(2 + 901)), None);
        f.expire(t(2 + 901));
        assert!(f.is_empty());
    }

    #[test]
    fn vehicles_at_one_place_are_pooled_and_a_distant_one_is_not() {
        let mut f = WindField::new();
        let hangar = LatLon::new(30.40, 120.50);
        let next_door = LatLon::new(30.4009, 120.50); // 100 m north
        let far = LatLon::new(30.42, 120.50); // 2.2 km north
        let report = |f: &mut WindField, who: &str, at: i64, p: LatLon, speed: f64, from: f64| {
            f.observe(WindObservation {
                source: WindSource::Drone(DroneId(who.into())),
                at: t(at),
                position: p,
                wind: Wind {
                    speed_mps: speed,
                    from_deg: from,
                },
                gust_mps: None,
            });
        };
        // A neighbour heard long before the nearest one's averaging time.
        report(&mut f, "stale", -400, next_door, 50.0, 248.0);
        report(&mut f, "a", 0, hangar, 6.0, 248.0);
        report(&mut f, "a", 1, hangar, 7.0, 248.0);
        // Its neighbour, the other way: a vector mean, not a scalar one.
        report(&mut f, "b", 2, next_door, 11.0, 68.0);
        report(&mut f, "c", 2, far, 30.0, 248.0);
        // A weather report next door is a mean of its own, never pooled.
        f.observe(WindObservation {
            source: WindSource::Hangar(HangarId("h".into())),
            at: t(1),
            position: next_door,
            wind: Wind {
                speed_mps: 3.0,
                from_deg: 248.0,
            },
            gust_mps: Some(20.0),
        });
        let e = f.at(hangar, t(3)).unwrap();
        // a is nearest and named; b's report joins the mean; c (far), the
        // stale one and the weather report do not.
        assert_eq!(e.source, WindSource::Drone(DroneId("a".into())));
        assert_eq!(e.samples, 3);
        close(e.wind.speed_mps, (6.0 + 7.0 - 11.0) / 3.0, 1e-9);
        close(e.wind.from_deg, 248.0, 1e-6);
        close(e.gust_mps, 11.0, 1e-9);
        // The age is the freshest pooled report's (b's), not the named one's.
        close(e.age_s, 1.0, 1e-9);
        // One source asked by name is that source alone.
        let a = f.of(&WindSource::Drone(DroneId("a".into())), t(3)).unwrap();
        assert_eq!(a.samples, 2);
        close(a.wind.speed_mps, 6.5, 1e-9);
    }

    #[test]
    fn a_late_report_does_not_move_the_field_back_and_old_samples_leave_the_mean() {
        let mut f = WindField::new();
        let p = LatLon::new(30.40, 120.50);
        let obs = |at: i64, speed: f64| WindObservation {
            source: WindSource::Hangar(HangarId("h".into())),
            at: t(at),
            position: p,
            wind: Wind {
                speed_mps: speed,
                from_deg: 248.0,
            },
            gust_mps: None,
        };
        f.observe(obs(0, 20.0));
        f.observe(obs(400, 4.0));
        f.observe(obs(350, 30.0));
        let e = f.at(p, t(400)).unwrap();
        close(e.wind.speed_mps, 4.0, 1e-9);
        close(e.gust_mps, 4.0, 1e-9);
    }

    #[test]
    fn a_region_report_yields_to_a_nearby_vehicle_but_covers_everywhere() {
        let mut f = WindField::new();
        let centre = LatLon::new(30.45, 120.55);
        f.observe(WindObservation {
            source: WindSource::Region,
            at: t(0),
            position: centre,
            wind: Wind {
                speed_mps: 9.0,
                from_deg: 248.0,
            },
            gust_mps: Some(13.0),
        });
        let far = LatLon::new(30.25, 120.35);
        let e = f.at(far, t(10)).unwrap();
        assert_eq!(e.source, WindSource::Region);
        close(e.gust_mps, 13.0, 1e-9);
        f.observe(WindObservation {
            source: WindSource::Drone(DroneId("x".into())),
            at: t(5),
            position: LatLon::new(30.251, 120.35),
            wind: Wind {
                speed_mps: 3.0,
                from_deg: 200.0,
            },
            gust_mps: None,
        });
        assert_eq!(
            f.at(far, t(10)).unwrap().source,
            WindSource::Drone(DroneId("x".into()))
        );
    }
}

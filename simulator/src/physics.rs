//! Multicopter kinematics, wind and battery.
//!
//! Point-mass model: the autopilot asks for a velocity over the ground
//! (north, east, down); the airframe reaches it under horizontal and vertical
//! acceleration limits, climb and descent rates, and its maximum *airspeed*.
//! Wind is steady plus gusts (a first-order random process, per vehicle), and
//! the position controller only partly rejects gusts, so tracks wobble as
//! real ones do.
//!
//! **Wind triangle.** The air velocity is the ground velocity minus the
//! (steady) wind. When the commanded ground velocity would need more than
//! `Airframe::max_airspeed_mps` through the air, the vehicle keeps the
//! commanded direction `u` and gets the ground speed the triangle allows,
//! `g = u·w + sqrt(V² − |w|² + (u·w)²)` (V the maximum airspeed, w the wind);
//! asked to go slower than the wind lets it (a strong tailwind), the smaller
//! root. When no forward progress is possible (`g ≤ 0`, or a wind stronger
//! than V across the track), it flies at full airspeed along `u` and is blown
//! back, as a real one is. A 12 m/s headwind at cruise 15 and maximum airspeed
//! 20 gives 8 m/s over the ground. See [`achievable_velocity`].
//!
//! **Power** follows airspeed, not ground speed (the dispatcher's energy model
//! uses exactly this; keep them equal): cruise current = capacity / endurance,
//! times a factor ([`power_factor`]):
//!
//! | phase | factor |
//! |---|---|
//! | disarmed | 0 |
//! | armed on the ground | 0.05 |
//! | climbing (vd < −0.5 m/s) | 1.5 |
//! | descending (vd > 0.5 m/s) | 0.8 |
//! | level | max(base, air / cruise), at most 1.6; base 1.1 hovering (ground speed < 1 m/s), 0.8 moving |

use rand::Rng;
use rand::rngs::SmallRng;

const M_PER_DEG_LAT: f64 = 111_195.08;
const GRAVITY: f64 = 9.81;

/// Wind settings, metres per second, direction the wind blows *from*, degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wind {
    pub speed_mps: f64,
    pub from_deg: f64,
    /// Standard deviation of gusts, m/s.
    pub gust_mps: f64,
}

impl Wind {
    pub const CALM: Wind = Wind {
        speed_mps: 0.0,
        from_deg: 0.0,
        gust_mps: 0.0,
    };

    /// Steady wind as a velocity (north, east) the air moves with.
    pub fn steady(&self) -> (f64, f64) {
        let to = (self.from_deg + 180.0).to_radians();
        (self.speed_mps * to.cos(), self.speed_mps * to.sin())
    }
}

/// Airframe limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Airframe {
    pub cruise_speed_mps: f64,
    /// Fastest the airframe moves through the air (not over the ground):
    /// the wind triangle limits the ground speed it reaches.
    pub max_airspeed_mps: f64,
    pub climb_rate_mps: f64,
    pub descent_rate_mps: f64,
    pub accel_mps2: f64,
    pub vert_accel_mps2: f64,
    pub yaw_rate_dps: f64,
    /// Flight time in cruise on a full battery, minutes.
    pub endurance_min: f64,
    pub capacity_mah: f64,
    pub cells: u8,
}

/// What the vehicle is doing, for the power model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Off,
    GroundIdle,
    Flying,
}

/// The simulated body.
#[derive(Debug, Clone)]
pub struct Body {
    pub lat: f64,
    pub lon: f64,
    /// Altitude above home, metres, up positive.
    pub alt: f64,
    pub vn: f64,
    pub ve: f64,
    /// Down positive, as MAVLink's NED.
    pub vd: f64,
    pub yaw_rad: f64,
    pub roll_rad: f64,
    pub pitch_rad: f64,
    pub consumed_mah: f64,
    pub current_a: f64,
    gust: (f64, f64),
}

impl Body {
    pub fn at(lat: f64, lon: f64) -> Body {
        Body {
            lat,
            lon,
            alt: 0.0,
            vn: 0.0,
            ve: 0.0,
            vd: 0.0,
            yaw_rad: 0.0,
            roll_rad: 0.0,
            pitch_rad: 0.0,
            consumed_mah: 0.0,
            current_a: 0.0,
            gust: (0.0, 0.0),
        }
    }

    pub fn ground_speed(&self) -> f64 {
        self.vn.hypot(self.ve)
    }

    /// Horizontal speed through the (steady) air.
    pub fn airspeed(&self, wind: &Wind) -> f64 {
        let (wn, we) = wind.steady();
        (self.vn - wn).hypot(self.ve - we)
    }

    /// The wind where the vehicle is (steady plus its current gust), as a
    /// velocity (north, east) the air moves with: what its anemometer or
    /// wind estimator reads, docked or flying.
    pub fn local_wind(&self, wind: &Wind) -> (f64, f64) {
        let (wn, we) = wind.steady();
        (wn + self.gust.0, we + self.gust.1)
    }

    /// Advances `dt` seconds towards the commanded velocity.
    pub fn step(
        &mut self,
        dt: f64,
        cmd: Setpoint,
        frame: &Airframe,
        wind: &Wind,
        phase: Phase,
        rng: &mut SmallRng,
    ) {
        // Gusts: the air around the vehicle (and the dock's anemometer) moves
        // whether or not it flies; only an airborne airframe is pushed.
        let airborne = phase == Phase::Flying && self.alt > 0.5;
        let tau = 2.0;
        let a = (-dt / tau).exp();
        if wind.gust_mps > 0.0 {
            let s = wind.gust_mps * (1.0 - a * a).sqrt();
            self.gust.0 = a * self.gust.0 + s * rng.random_range(-1.7..1.7);
            self.gust.1 = a * self.gust.1 + s * rng.random_range(-1.7..1.7);
        } else {
            // Gusts switched off: what is left dies away.
            self.gust.0 *= a;
            self.gust.1 *= a;
        }

        // Horizontal: accelerate towards the commanded ground velocity, as
        // far as the maximum airspeed lets it in this wind.
        let (tn, te) = if airborne {
            achievable_velocity((cmd.vn, cmd.ve), wind.steady(), frame.max_airspeed_mps)
        } else {
            (cmd.vn, cmd.ve)
        };
        let (dn, de) = (tn - self.vn, te - self.ve);
        let dv = dn.hypot(de);
        let max_dv = frame.accel_mps2 * dt;
        let k = if dv > max_dv { max_dv / dv } else { 1.0 };
        let (an, ae) = (dn * k / dt.max(1e-9), de * k / dt.max(1e-9));
        self.vn += dn * k;
        self.ve += de * k;

        // Vertical.
        let vd_target = cmd.vd.clamp(-frame.climb_rate_mps, frame.descent_rate_mps);
        let dvd = vd_target - self.vd;
        let max_dvd = frame.vert_accel_mps2 * dt;
        self.vd += dvd.clamp(-max_dvd, max_dvd);

        // The controller rejects most of a gust's push.
        let (pn, pe) = if airborne {
            (0.2 * self.gust.0, 0.2 * self.gust.1)
        } else {
            (0.0, 0.0)
        };

        let dn_m = (self.vn + pn) * dt;
        let de_m = (self.ve + pe) * dt;
        self.lat += dn_m / M_PER_DEG_LAT;
        self.lon += de_m / (M_PER_DEG_LAT * self.lat.to_radians().cos());
        self.alt -= self.vd * dt;
        if self.alt <= 0.0 {
            self.alt = 0.0;
            self.vd = self.vd.min(0.0);
        }

        // Attitude follows acceleration; heading turns towards the track.
        self.pitch_rad = (-(an * self.yaw_rad.cos() + ae * self.yaw_rad.sin()) / GRAVITY).atan();
        self.roll_rad = ((ae * self.yaw_rad.cos() - an * self.yaw_rad.sin()) / GRAVITY).atan();
        let want = cmd.yaw_rad.unwrap_or_else(|| {
            if self.ground_speed() > 1.0 {
                self.ve.atan2(self.vn)
            } else {
                self.yaw_rad
            }
        });
        let mut err = want - self.yaw_rad;
        while err > std::f64::consts::PI {
            err -= std::f64::consts::TAU;
        }
        while err < -std::f64::consts::PI {
            err += std::f64::consts::TAU;
        }
        let max_turn = frame.yaw_rate_dps.to_radians() * dt;
        self.yaw_rad =
            (self.yaw_rad + err.clamp(-max_turn, max_turn)).rem_euclid(std::f64::consts::TAU);

        // Power: cruise drains the pack over the rated endurance (module docs).
        let cruise_a = frame.capacity_mah / 1000.0 / (frame.endurance_min / 60.0);
        let factor = power_factor(
            phase,
            self.ground_speed(),
            self.airspeed(wind),
            self.vd,
            frame.cruise_speed_mps,
        );
        self.current_a = cruise_a * factor;
        self.consumed_mah += self.current_a * 1000.0 * dt / 3600.0;
    }

    /// Remaining charge, percent.
    pub fn remaining_pct(&self, frame: &Airframe) -> f64 {
        (100.0 * (1.0 - self.consumed_mah / frame.capacity_mah)).clamp(0.0, 100.0)
    }

    /// Pack voltage under the present load.
    pub fn voltage(&self, frame: &Airframe) -> f64 {
        let soc = self.remaining_pct(frame) / 100.0;
        let cell = 3.3 + 0.9 * soc - 0.002 * self.current_a;
        cell * f64::from(frame.cells)
    }
}

/// The ground velocity (north, east) reached when `cmd` is asked for in wind
/// `wind` (the velocity the air moves with) by an airframe that flies at most
/// `max_airspeed` through the air: the wind triangle of the module docs.
pub fn achievable_velocity(cmd: (f64, f64), wind: (f64, f64), max_airspeed: f64) -> (f64, f64) {
    let v = max_airspeed.max(0.0);
    let (wn, we) = wind;
    if (cmd.0 - wn).hypot(cmd.1 - we) <= v {
        return cmd;
    }
    let sp = cmd.0.hypot(cmd.1);
    let w = wn.hypot(we);
    // Asked to hover in a wind stronger than the airframe: nose into wind
    // at full airspeed, drifting downwind.
    let (un, ue) = if sp > 1e-9 {
        (cmd.0 / sp, cmd.1 / sp)
    } else {
        (-wn / w, -we / w)
    };
    let along = un * wn + ue * we;
    let disc = v * v - w * w + along * along;
    if disc >= 0.0 && sp > 1e-9 {
        let (fast, slow) = (along + disc.sqrt(), along - disc.sqrt());
        if sp > fast && fast > 0.0 {
            return (un * fast, ue * fast);
        }
        if sp < slow {
            return (un * slow, ue * slow);
        }
    }
    // No forward progress possible: full airspeed along the track, blown back.
    (wn + v * un, we + v * ue)
}

/// The share of cruise current the vehicle draws (module docs): follows the
/// airspeed when flying level.
pub fn power_factor(phase: Phase, ground_speed: f64, airspeed: f64, vd: f64, cruise: f64) -> f64 {
    match phase {
        Phase::Off => 0.0,
        Phase::GroundIdle => 0.05,
        Phase::Flying if vd < -0.5 => 1.5,
        Phase::Flying if vd > 0.5 => 0.8,
        Phase::Flying => {
            let base: f64 = if ground_speed < 1.0 { 1.1 } else { 0.8 };
            base.max(airspeed / cruise).min(1.6)
        }
    }
}

/// The velocity the autopilot asks for.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Setpoint {
    pub vn: f64,
    pub ve: f64,
    pub vd: f64,
    pub yaw_rad: Option<f64>,
}

/// An angle in degrees brought into 0..360 (`rem_euclid` alone gives 360
/// for a tiny negative angle).
pub fn wrap_deg(d: f64) -> f64 {
    let w = d.rem_euclid(360.0);
    if w >= 360.0 { 0.0 } else { w }
}

/// Offset of `(lat, lon)` from `(lat0, lon0)` in metres north and east.
pub fn ne_offset(lat0: f64, lon0: f64, lat: f64, lon: f64) -> (f64, f64) {
    (
        (lat - lat0) * M_PER_DEG_LAT,
        (lon - lon0) * M_PER_DEG_LAT * lat0.to_radians().cos(),
    )
}

/// The point `n` metres north and `e` metres east of `(lat, lon)`.
pub fn offset_point(lat: f64, lon: f64, n: f64, e: f64) -> (f64, f64) {
    (
        lat + n / M_PER_DEG_LAT,
        lon + e / (M_PER_DEG_LAT * lat.to_radians().cos()),
    )
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn frame() -> Airframe {
        Airframe {
            cruise_speed_mps: 15.0,
            max_airspeed_mps: 20.0,
            climb_rate_mps: 5.0,
            descent_rate_mps: 3.0,
            accel_mps2: 3.0,
            vert_accel_mps2: 2.0,
            yaw_rate_dps: 90.0,
            endurance_min: 30.0,
            capacity_mah: 10_000.0,
            cells: 6,
        }
    }

    #[test]
    fn acceleration_is_limited_and_speed_reached() {
        let mut b = Body::at(30.0, 120.0);
        b.alt = 50.0;
        let mut rng = SmallRng::seed_from_u64(1);
        let cmd = Setpoint {
            vn: 15.0,
            ..Setpoint::default()
        };
        b.step(1.0, cmd, &frame(), &Wind::CALM, Phase::Flying, &mut rng);
        assert!((b.vn - 3.0).abs() < 1e-9);
        for _ in 0..10 {
            b.step(1.0, cmd, &frame(), &Wind::CALM, Phase::Flying, &mut rng);
        }
        assert!((b.vn - 15.0).abs() < 1e-9);
        assert!(b.lat > 30.0);
    }

    #[test]
    fn thirty_minutes_of_cruise_empties_the_pack() {
        let mut b = Body::at(30.0, 120.0);
        b.alt = 50.0;
        b.vn = 15.0;
        let mut rng = SmallRng::seed_from_u64(1);
        let cmd = Setpoint {
            vn: 15.0,
            ..Setpoint::default()
        };
        for _ in 0..(30 * 60) {
            b.step(1.0, cmd, &frame(), &Wind::CALM, Phase::Flying, &mut rng);
        }
        assert!(
            b.remaining_pct(&frame()) < 0.5,
            "{}",
            b.remaining_pct(&frame())
        );
    }

    /// Wind blowing from `from_deg` at `speed`, as the velocity of the air.
    fn wind(speed: f64, from_deg: f64) -> (f64, f64) {
        Wind {
            speed_mps: speed,
            from_deg,
            gust_mps: 0.0,
        }
        .steady()
    }

    fn check_velocity(cmd: (f64, f64), w: (f64, f64), v: f64, expected: (f64, f64)) {
        let got = achievable_velocity(cmd, w, v);
        assert!(
            (got.0 - expected.0).abs() < 1e-9 && (got.1 - expected.1).abs() < 1e-9,
            "cmd {cmd:?} wind {w:?} airspeed {v}: got {got:?}, expected {expected:?}"
        );
    }

    /// The triangle's ground speed along unit `u`, written out independently.
    fn triangle(u: (f64, f64), w: (f64, f64), v: f64) -> f64 {
        let uw = u.0 * w.0 + u.1 * w.1;
        uw + (v * v - (w.0 * w.0 + w.1 * w.1) + uw * uw).sqrt()
    }

    #[test]
    fn ground_speed_follows_the_wind_triangle() {
        // Within the airspeed limit the command is met, whatever the wind.
        check_velocity((15.0, 0.0), wind(4.0, 0.0), 20.0, (15.0, 0.0));
        check_velocity((15.0, 0.0), wind(12.0, 180.0), 20.0, (15.0, 0.0));
        // Headwind: 12 m/s from the north, flying north, 20 m/s through the air.
        let g = triangle((1.0, 0.0), wind(12.0, 0.0), 20.0);
        assert!((g - 8.0).abs() < 1e-9, "{g}");
        check_velocity((15.0, 0.0), wind(12.0, 0.0), 20.0, (g, 0.0));
        // Tailwind: asked for more than air plus wind allow.
        let g = triangle((1.0, 0.0), wind(12.0, 180.0), 20.0);
        assert!((g - 32.0).abs() < 1e-9, "{g}");
        check_velocity((40.0, 0.0), wind(12.0, 180.0), 20.0, (g, 0.0));
        // Crosswind from the east, flying north: sqrt(20² - 12²) = 16.
        let g = triangle((1.0, 0.0), wind(12.0, 90.0), 20.0);
        assert!((g - 16.0).abs() < 1e-9, "{g}");
        check_velocity((20.0, 0.0), wind(12.0, 90.0), 20.0, (g, 0.0));
        // Quartering headwind, flying east: along the track, not across it.
        let u = (0.0, 1.0);
        let w = wind(10.0, 45.0);
        let g = triangle(u, w, 20.0);
        check_velocity((0.0, 20.0), w, 20.0, (0.0, g));
        // A strong tailwind with a slow command: at least wind minus airspeed.
        check_velocity((2.0, 0.0), wind(25.0, 180.0), 20.0, (5.0, 0.0));
    }

    #[test]
    fn a_wind_stronger_than_the_airframe_blows_it_back() {
        // 25 m/s on the nose, 20 m/s through the air: 5 m/s backwards.
        check_velocity((15.0, 0.0), wind(25.0, 0.0), 20.0, (-5.0, 0.0));
        // Hovering in it: nose into wind, drifting downwind.
        check_velocity((0.0, 0.0), wind(25.0, 90.0), 20.0, (0.0, -5.0));
        // Across the track and too strong to hold it: full airspeed along
        // the track, carried off downwind.
        let got = achievable_velocity((15.0, 0.0), wind(25.0, 90.0), 20.0);
        assert!((got.0 - 20.0).abs() < 1e-9 && (got.1 + 25.0).abs() < 1e-9);
    }

    #[test]
    fn a_headwind_at_cruise_gives_eight_metres_per_second_over_the_ground() {
        let mut b = Body::at(30.0, 120.0);
        b.alt = 50.0;
        let mut rng = SmallRng::seed_from_u64(1);
        let cmd = Setpoint {
            vn: 15.0,
            ..Setpoint::default()
        };
        let headwind = Wind {
            speed_mps: 12.0,
            from_deg: 0.0,
            gust_mps: 0.0,
        };
        for _ in 0..600 {
            b.step(0.05, cmd, &frame(), &headwind, Phase::Flying, &mut rng);
        }
        assert!(
            (b.vn - 8.0).abs() < 0.01 && b.ve.abs() < 1e-9,
            "{} {}",
            b.vn,
            b.ve
        );
        assert!((b.airspeed(&headwind) - 20.0).abs() < 0.01);
        // Power follows the 20 m/s through the air: 20 / 15 of cruise.
        let cruise_a = 10.0 / 0.5;
        assert!(
            (b.current_a - cruise_a * 20.0 / 15.0).abs() < 0.01,
            "{}",
            b.current_a
        );
    }

    #[test]
    fn power_factor_follows_airspeed() {
        let check = |phase, ground: f64, air: f64, vd: f64, expected: f64| {
            let f = power_factor(phase, ground, air, vd, 15.0);
            assert!(
                (f - expected).abs() < 1e-9,
                "{phase:?} ground {ground} air {air} vd {vd}: {f}, expected {expected}"
            );
        };
        check(Phase::Off, 0.0, 0.0, 0.0, 0.0);
        check(Phase::GroundIdle, 0.0, 12.0, 0.0, 0.05);
        check(Phase::Flying, 0.0, 0.0, 0.0, 1.1); // hover, calm
        check(Phase::Flying, 0.0, 12.0, 0.0, 1.1); // hover in 12 m/s: still the hover floor
        check(Phase::Flying, 0.0, 20.0, 0.0, 20.0 / 15.0); // hover in 20 m/s
        check(Phase::Flying, 0.0, 30.0, 0.0, 1.6); // capped
        check(Phase::Flying, 15.0, 15.0, 0.0, 1.0); // cruise, calm
        check(Phase::Flying, 8.0, 20.0, 0.0, 20.0 / 15.0); // headwind
        check(Phase::Flying, 15.0, 3.0, 0.0, 0.8); // tailwind: the moving floor
        check(Phase::Flying, 16.0, 20.0, 0.0, 20.0 / 15.0); // crosswind
        check(Phase::Flying, 5.0, 20.0, -2.0, 1.5); // climbing
        check(Phase::Flying, 5.0, 20.0, 2.0, 0.8); // descending
    }

    #[test]
    fn docked_vehicles_feel_gusts_but_do_not_move() {
        let mut b = Body::at(30.0, 120.0);
        let mut rng = SmallRng::seed_from_u64(3);
        let gusty = Wind {
            speed_mps: 6.0,
            from_deg: 90.0,
            gust_mps: 3.0,
        };
        let mut max_dev: f64 = 0.0;
        for _ in 0..500 {
            b.step(
                0.1,
                Setpoint::default(),
                &frame(),
                &gusty,
                Phase::Off,
                &mut rng,
            );
            let (n, e) = b.local_wind(&gusty);
            max_dev = max_dev.max((n - 0.0).hypot(e + 6.0));
        }
        assert!(max_dev > 0.5, "{max_dev}");
        assert_eq!((b.lat, b.lon), (30.0, 120.0));
        // Gusts switched off die away.
        for _ in 0..200 {
            b.step(
                0.1,
                Setpoint::default(),
                &frame(),
                &Wind {
                    gust_mps: 0.0,
                    ..gusty
                },
                Phase::Off,
                &mut rng,
            );
        }
        let (n, e) = b.local_wind(&gusty);
        assert!(n.abs() < 1e-3 && (e + 6.0).abs() < 1e-3, "{n} {e}");
    }

    #[test]
    fn angles_wrap_into_a_full_turn() {
        assert_eq!(wrap_deg(-1e-15), 0.0);
        assert_eq!(wrap_deg(360.0), 0.0);
        assert_eq!(wrap_deg(-90.0), 270.0);
        assert_eq!(wrap_deg(725.0), 5.0);
    }

    #[test]
    fn offsets_round_trip() {
        let (lat, lon) = offset_point(30.4, 120.5, 500.0, -300.0);
        let (n, e) = ne_offset(30.4, 120.5, lat, lon);
        assert!((n - 500.0).abs() < 0.01 && (e + 300.0).abs() < 0.5);
    }
}

//! Multicopter kinematics, wind and battery.
//!
//! Point-mass model: the autopilot asks for a velocity (north, east, down);
//! the airframe reaches it under horizontal and vertical acceleration limits
//! and speed limits. Wind is steady plus gusts (a first-order random process),
//! and the position controller only partly rejects gusts, so tracks wobble as
//! real ones do. The battery drains with the power the flight phase needs.

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
    fn steady(&self) -> (f64, f64) {
        let to = (self.from_deg + 180.0).to_radians();
        (self.speed_mps * to.cos(), self.speed_mps * to.sin())
    }
}

/// Airframe limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Airframe {
    pub cruise_speed_mps: f64,
    pub max_speed_mps: f64,
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
        // Horizontal: accelerate towards the commanded velocity.
        let (mut tn, mut te) = (cmd.vn, cmd.ve);
        let sp = tn.hypot(te);
        if sp > frame.max_speed_mps {
            tn *= frame.max_speed_mps / sp;
            te *= frame.max_speed_mps / sp;
        }
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

        // Gusts push the airframe; the controller rejects most of it.
        let airborne = phase == Phase::Flying && self.alt > 0.5;
        let (mut pn, mut pe) = (0.0, 0.0);
        if airborne && wind.gust_mps > 0.0 {
            let tau = 2.0;
            let a = (-dt / tau).exp();
            let s = wind.gust_mps * (1.0 - a * a).sqrt();
            self.gust.0 = a * self.gust.0 + s * rng.random_range(-1.7..1.7);
            self.gust.1 = a * self.gust.1 + s * rng.random_range(-1.7..1.7);
            pn = 0.2 * self.gust.0;
            pe = 0.2 * self.gust.1;
        }

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

        // Power: cruise drains the pack over the rated endurance; hover costs
        // 1.1x, climbing 1.5x, descending 0.8x; flying into wind costs more.
        let cruise_a = frame.capacity_mah / 1000.0 / (frame.endurance_min / 60.0);
        let factor = match phase {
            Phase::Off => 0.0,
            Phase::GroundIdle => 0.05,
            Phase::Flying => {
                let (wn, we) = wind.steady();
                let air = (self.vn - wn).hypot(self.ve - we);
                let horizontal = if self.ground_speed() < 1.0 && air < 1.0 {
                    1.1
                } else {
                    (air / frame.cruise_speed_mps).clamp(0.8, 1.6)
                };
                if self.vd < -0.5 {
                    1.5
                } else if self.vd > 0.5 {
                    0.8
                } else {
                    horizontal
                }
            }
        };
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

/// The velocity the autopilot asks for.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Setpoint {
    pub vn: f64,
    pub ve: f64,
    pub vd: f64,
    pub yaw_rad: Option<f64>,
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
            max_speed_mps: 20.0,
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

    #[test]
    fn offsets_round_trip() {
        let (lat, lon) = offset_point(30.4, 120.5, 500.0, -300.0);
        let (n, e) = ne_offset(30.4, 120.5, lat, lon);
        assert!((n - 500.0).abs() < 0.01 && (e + 300.0).abs() < 0.5);
    }
}

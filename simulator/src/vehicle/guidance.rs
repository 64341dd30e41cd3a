//! Guidance: the velocity setpoint each mode flies (go to a point, hold,
//! descend, RTL's climb-return-descend, SmartRTL's retraced path).

use mavlink_link::mav::MavCmd;

use crate::physics::{Setpoint, ne_offset};

use super::{Mode, Out, RtlPhase, Vehicle};

/// Distance that counts as arriving: the least waypoint acceptance radius,
/// and home for RTL and SmartRTL.
pub(super) const HEADING_HOLD_RADIUS_M: f64 = 2.0;

impl Vehicle {
    pub(super) fn speed(&self) -> f64 {
        self.speed_override
            .unwrap_or(self.cfg.airframe.cruise_speed_mps)
            .min(self.cfg.airframe.max_airspeed_mps)
    }

    /// Velocity towards a point, slowing to stop on it.
    pub(super) fn goto(&self, lat: f64, lon: f64, alt: f64, speed: f64) -> (Setpoint, f64) {
        let (n, e) = ne_offset(self.body.lat, self.body.lon, lat, lon);
        let d = n.hypot(e);
        let brake = (2.0 * self.cfg.airframe.accel_mps2 * 0.7 * d).sqrt();
        let v = speed.min(brake).min(d * 1.2);
        let (vn, ve) = if d > 1e-3 {
            (n / d * v, e / d * v)
        } else {
            (0.0, 0.0)
        };
        let climb = ((alt - self.body.alt) * 1.0).clamp(
            -self.cfg.airframe.descent_rate_mps,
            self.cfg.airframe.climb_rate_mps,
        );
        (
            Setpoint {
                vn,
                ve,
                vd: -climb,
                yaw_rad: None,
            },
            d,
        )
    }

    pub(super) fn hold(&self) -> Setpoint {
        match self.hold_point {
            Some((lat, lon, alt)) => self.goto(lat, lon, alt, self.speed()).0,
            None => Setpoint::default(),
        }
    }

    pub(super) fn descend_here(&self) -> Setpoint {
        let rate = if self.body.alt > 10.0 {
            self.cfg.airframe.descent_rate_mps
        } else {
            0.7_f64.min(self.cfg.airframe.descent_rate_mps)
        };
        Setpoint {
            vd: rate,
            ..Setpoint::default()
        }
    }

    /// The velocity setpoint for the current mode.
    pub(super) fn control(&mut self, out: &mut Vec<Out>) -> Setpoint {
        if !self.armed {
            return Setpoint::default();
        }
        if self.landed {
            // Only a take-off leaves the ground: GUIDED's command or AUTO's first item.
            let taking_off = self.mode == Mode::Auto
                && !self.mission_done
                && self
                    .mission
                    .get(usize::from(self.current))
                    .is_some_and(|it| it.command == MavCmd::MAV_CMD_NAV_TAKEOFF);
            if !taking_off {
                return Setpoint::default();
            }
            self.landed = false;
        }
        match self.mode {
            Mode::Guided => match self.guided_target {
                Some((lat, lon, alt)) => self.goto(lat, lon, alt, self.speed()).0,
                None => self.hold(),
            },
            Mode::Loiter | Mode::Brake | Mode::AltHold | Mode::Stabilize => self.hold(),
            Mode::Land => self.descend_here(),
            Mode::Rtl => self.rtl_control(out),
            Mode::SmartRtl => self.smart_rtl_control(),
            Mode::Auto => self.auto_control(out),
        }
    }

    pub(super) fn rtl_control(&mut self, _out: &mut [Out]) -> Setpoint {
        let (hl, ho) = self.cfg.home;
        let rtl_alt = self.cfg.rtl_alt_m.max(self.body.alt.min(120.0));
        match self.rtl {
            RtlPhase::Climb => {
                if self.body.alt >= rtl_alt - 1.0 {
                    self.rtl = RtlPhase::Return;
                }
                Setpoint {
                    vd: -self.cfg.airframe.climb_rate_mps,
                    ..Setpoint::default()
                }
            }
            RtlPhase::Return => {
                let (sp, d) = self.goto(
                    hl,
                    ho,
                    self.body
                        .alt
                        .max(self.cfg.rtl_alt_m.min(self.body.alt + 1.0)),
                    self.speed(),
                );
                if d < HEADING_HOLD_RADIUS_M && self.body.ground_speed() < 1.0 {
                    self.rtl = RtlPhase::Descend;
                }
                sp
            }
            RtlPhase::Descend => {
                let (mut sp, _) = self.goto(hl, ho, 0.0, 2.0);
                sp.vd = self.descend_here().vd;
                sp
            }
        }
    }

    /// SmartRTL: back through the breadcrumbs (latest first) at no lower
    /// than the altitude flown there, then down at the first one (home).
    fn smart_rtl_control(&mut self) -> Setpoint {
        if self.rtl == RtlPhase::Descend || self.srtl_home.is_empty() {
            self.rtl = RtlPhase::Descend;
            let (hl, ho) = self.cfg.home;
            let (mut sp, _) = self.goto(hl, ho, 0.0, 2.0);
            sp.vd = self.descend_here().vd;
            return sp;
        }
        let (lat, lon, alt) = self.srtl_home[0];
        let last = self.srtl_home.len() == 1;
        // Home is the way in to land: reached at the altitude flying.
        let alt = if last {
            self.body.alt
        } else {
            alt.max(self.body.alt.min(self.cfg.rtl_alt_m))
        };
        let (sp, d) = self.goto(lat, lon, alt, self.speed());
        let close = if last { HEADING_HOLD_RADIUS_M } else { 3.0 };
        if d < close && (!last || self.body.ground_speed() < 1.0) {
            self.srtl_home.remove(0);
            if self.srtl_home.is_empty() {
                self.rtl = RtlPhase::Descend;
            }
        }
        sp
    }
}

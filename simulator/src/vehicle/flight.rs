//! `Vehicle::step`: one tick of sim time (failsafes, the mode's setpoint,
//! physics or a fall, touchdown, the fence, SmartRTL breadcrumbs, hangar
//! charging, telemetry).

use mavlink_link::mav::{MISSION_ITEM_REACHED_DATA, MavCmd, MavMessage, MavSeverity};
use rand::rngs::SmallRng;

use crate::physics::{Phase, ne_offset};
use crate::traffic::Traffic;

use super::{Dest, Mode, Out, RtlPhase, Vehicle, text, text_msg};

impl Vehicle {
    /// Advances the vehicle by `dt` seconds of sim time; returns what it
    /// sends. `traffic` is the manned traffic its ADS-B receiver hears.
    pub fn step(
        &mut self,
        link_t: f64,
        dt: f64,
        rng: &mut SmallRng,
        traffic: &Traffic,
    ) -> Vec<Out> {
        let mut out = Vec::new();
        self.sim_t += dt;
        self.upload_timeouts(link_t, &mut out);
        if self.armed && !self.landed {
            self.failsafes(link_t, &mut out);
        }
        let setpoint = self.control(&mut out);
        let phase = match (self.armed, self.landed) {
            (false, _) => Phase::Off,
            (true, true) => Phase::GroundIdle,
            (true, false) => Phase::Flying,
        };
        if (self.faults.motor_failed || !self.armed) && !self.landed {
            // Falling: no thrust worth the name (a failed motor, or motors
            // stopped in the air by a forced disarm).
            self.body.vd = (self.body.vd + 9.81 * dt).min(25.0);
            self.body.alt = (self.body.alt - self.body.vd * dt).max(0.0);
            self.body.vn *= 0.98;
            self.body.ve *= 0.98;
            if self.body.alt <= 0.0 {
                self.crashed = true;
                self.landed = true;
                self.body.vd = 0.0;
                self.body.vn = 0.0;
                self.body.ve = 0.0;
                self.armed = false;
                out.push(text(
                    MavSeverity::MAV_SEVERITY_EMERGENCY,
                    "Crash: vehicle hit the ground",
                ));
            }
        } else {
            self.body
                .step(dt, setpoint, &self.cfg.airframe, &self.cfg.wind, phase, rng);
        }
        if self.armed && !self.landed {
            self.touchdown(&mut out);
            self.fence_check(&mut out);
            if self.mode != Mode::SmartRtl
                && self
                    .srtl_path
                    .record((self.body.lat, self.body.lon, self.body.alt))
            {
                out.push(text(
                    MavSeverity::MAV_SEVERITY_WARNING,
                    "SmartRTL deactivated: path buffer full",
                ));
            }
        }
        self.charge(dt);
        self.telemetry(traffic, &mut out);
        out
    }

    /// Parked and disarmed in the hangar (within 10 m of home): the pack charges.
    fn charge(&mut self, dt: f64) {
        if self.armed || !self.landed || self.cfg.charge_rate_pct_per_min <= 0.0 {
            return;
        }
        let (n, e) = ne_offset(
            self.cfg.home.0,
            self.cfg.home.1,
            self.body.lat,
            self.body.lon,
        );
        if n.hypot(e) > 10.0 {
            return;
        }
        let per_s =
            self.cfg.charge_rate_pct_per_min / 100.0 / 60.0 * self.cfg.airframe.capacity_mah;
        self.body.consumed_mah = (self.body.consumed_mah - per_s * dt).max(0.0);
    }

    fn touchdown(&mut self, out: &mut Vec<Out>) {
        let descending = matches!(self.mode, Mode::Land)
            || (matches!(self.mode, Mode::Rtl | Mode::SmartRtl) && self.rtl == RtlPhase::Descend)
            || self.auto_landing();
        if descending && self.body.alt <= 0.05 {
            self.landed = true;
            self.body.vn = 0.0;
            self.body.ve = 0.0;
            self.body.vd = 0.0;
            let mut extra = vec![text_msg(MavSeverity::MAV_SEVERITY_INFO, "Landed")];
            self.disarm(&mut extra, "Disarming motors: landed");
            if self.mode == Mode::Auto {
                self.mission_done = true;
                let seq = self.current;
                extra.push(MavMessage::MISSION_ITEM_REACHED(
                    MISSION_ITEM_REACHED_DATA { seq },
                ));
            }
            out.extend(extra.into_iter().map(|m| Out {
                dest: Dest::All,
                msg: m,
            }));
        }
    }

    pub(super) fn auto_landing(&self) -> bool {
        self.mode == Mode::Auto
            && self
                .mission
                .get(usize::from(self.current))
                .is_some_and(|it| {
                    matches!(it.command, MavCmd::MAV_CMD_NAV_LAND)
                        || (it.command == MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH
                            && self.rtl == RtlPhase::Descend)
                })
    }
}

//! COMMAND_LONG and COMMAND_INT: what each command does and the result its
//! COMMAND_ACK reports, with the pre-arm checks, disarming and the payloads
//! (gripper, loudspeaker).

use mavlink_link::mav::{
    COMMAND_INT_DATA, COMMAND_LONG_DATA, MESSAGE_INTERVAL_DATA, MavCmd, MavMessage, MavResult,
    MavSeverity,
};

use super::telemetry::STREAMS;
use super::{Dest, ItemProgress, Mode, Out, Vehicle, text_msg};

/// COMPONENT_ARM_DISARM param2 that disarms even in the air (ArduPilot's value).
const FORCE_DISARM_MAGIC: f32 = 21196.0;

impl Vehicle {
    pub(super) fn command_long(&mut self, c: &COMMAND_LONG_DATA) -> (MavResult, Vec<MavMessage>) {
        let p = [
            c.param1, c.param2, c.param3, c.param4, c.param5, c.param6, c.param7,
        ];
        match c.command {
            MavCmd::MAV_CMD_DO_REPOSITION => {
                let target = (f64::from(p[4]), f64::from(p[5]), f64::from(p[6]));
                (self.reposition(p[0], target), Vec::new())
            }
            _ => self.command(c.command, p),
        }
    }

    pub(super) fn command_int(&mut self, c: &COMMAND_INT_DATA) -> (MavResult, Vec<Out>) {
        match c.command {
            MavCmd::MAV_CMD_DO_REPOSITION => {
                let alt = self.relative_alt(c.frame, f64::from(c.z));
                let target = (f64::from(c.x) / 1e7, f64::from(c.y) / 1e7, alt);
                (self.reposition(c.param1, target), Vec::new())
            }
            other => {
                let p = [
                    c.param1, c.param2, c.param3, c.param4, c.x as f32, c.y as f32, c.z,
                ];
                let (r, extra) = self.command(other, p);
                (
                    r,
                    extra
                        .into_iter()
                        .map(|m| Out {
                            dest: Dest::All,
                            msg: m,
                        })
                        .collect(),
                )
            }
        }
    }

    fn reposition(&mut self, speed: f32, (lat, lon, alt): (f64, f64, f64)) -> MavResult {
        if !(-90.0..=90.0).contains(&lat)
            || !(-180.0..=180.0).contains(&lon)
            || (lat == 0.0 && lon == 0.0)
        {
            return MavResult::MAV_RESULT_DENIED;
        }
        if !self.armed || self.landed {
            return MavResult::MAV_RESULT_TEMPORARILY_REJECTED;
        }
        if self.mode != Mode::Guided {
            // ArduPilot switches to GUIDED for a reposition.
            self.mode = Mode::Guided;
        }
        if speed > 0.0 {
            self.speed_override = Some(f64::from(speed));
        }
        self.guided_target = Some((
            lat,
            lon,
            if alt.is_finite() && alt > 0.0 {
                alt
            } else {
                self.body.alt
            },
        ));
        MavResult::MAV_RESULT_ACCEPTED
    }

    fn command(&mut self, cmd: MavCmd, p: [f32; 7]) -> (MavResult, Vec<MavMessage>) {
        let mut extra = Vec::new();
        let result = match cmd {
            MavCmd::MAV_CMD_COMPONENT_ARM_DISARM => {
                if p[0] == 1.0 {
                    self.arm(&mut extra)
                } else if p[0] == 0.0 {
                    if !self.landed && p[1] != FORCE_DISARM_MAGIC {
                        extra.push(text_msg(
                            MavSeverity::MAV_SEVERITY_WARNING,
                            "Disarm refused: flying",
                        ));
                        MavResult::MAV_RESULT_DENIED
                    } else {
                        self.disarm(&mut extra, "Disarmed by command");
                        MavResult::MAV_RESULT_ACCEPTED
                    }
                } else {
                    MavResult::MAV_RESULT_DENIED
                }
            }
            MavCmd::MAV_CMD_NAV_TAKEOFF => {
                if self.mode != Mode::Guided {
                    extra.push(text_msg(
                        MavSeverity::MAV_SEVERITY_WARNING,
                        "Takeoff refused: not in GUIDED",
                    ));
                    MavResult::MAV_RESULT_DENIED
                } else if !self.armed {
                    MavResult::MAV_RESULT_TEMPORARILY_REJECTED
                } else if !(self.landed && p[6] > 0.0 && p[6] <= 1000.0) {
                    // Already flying, or an altitude that makes no sense.
                    MavResult::MAV_RESULT_DENIED
                } else {
                    self.landed = false;
                    self.guided_target = Some((self.body.lat, self.body.lon, f64::from(p[6])));
                    extra.push(text_msg(
                        MavSeverity::MAV_SEVERITY_INFO,
                        &format!("Takeoff to {:.0} m", p[6]),
                    ));
                    MavResult::MAV_RESULT_ACCEPTED
                }
            }
            MavCmd::MAV_CMD_DO_SET_MODE => {
                if (p[0] as u32) & 1 == 0 {
                    MavResult::MAV_RESULT_UNSUPPORTED
                } else {
                    let mut outs = Vec::new();
                    let r = self.set_mode_number(p[1] as u32, &mut outs);
                    extra.extend(outs.into_iter().map(|o| o.msg));
                    r
                }
            }
            MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH => self.request_mode(Mode::Rtl, &mut extra),
            MavCmd::MAV_CMD_NAV_LAND => self.request_mode(Mode::Land, &mut extra),
            MavCmd::MAV_CMD_MISSION_START => {
                if self.mission.len() < 2 {
                    extra.push(text_msg(
                        MavSeverity::MAV_SEVERITY_WARNING,
                        "Mission start refused: no mission",
                    ));
                    MavResult::MAV_RESULT_DENIED
                } else if !self.armed {
                    MavResult::MAV_RESULT_TEMPORARILY_REJECTED
                } else {
                    let first = (p[0] as u16).max(1);
                    self.current = first.min(self.mission.len() as u16 - 1);
                    self.progress = ItemProgress::default();
                    self.mission_done = false;
                    self.enter_mode(Mode::Auto, &mut extra);
                    MavResult::MAV_RESULT_ACCEPTED
                }
            }
            MavCmd::MAV_CMD_DO_SET_MISSION_CURRENT => {
                // param1: the item to fly next (ArduPilot: keeps the mode; AUTO goes there).
                let seq = p[0];
                if !(seq.is_finite() && seq >= 1.0 && (seq as usize) < self.mission.len()) {
                    extra.push(text_msg(
                        MavSeverity::MAV_SEVERITY_WARNING,
                        &format!(
                            "Set mission current {seq} refused: {} items",
                            self.mission.len()
                        ),
                    ));
                    MavResult::MAV_RESULT_DENIED
                } else {
                    self.current = seq as u16;
                    self.progress = ItemProgress::default();
                    self.mission_done = false;
                    extra.push(self.mission_current());
                    MavResult::MAV_RESULT_ACCEPTED
                }
            }
            MavCmd::MAV_CMD_DO_GRIPPER => self.gripper(p[1], &mut extra),
            MavCmd::MAV_CMD_USER_1 => self.loudspeaker(p[0], &mut extra),
            MavCmd::MAV_CMD_DO_CHANGE_SPEED => {
                if p[1] > 0.0 {
                    self.speed_override =
                        Some(f64::from(p[1]).min(self.cfg.airframe.max_airspeed_mps));
                    MavResult::MAV_RESULT_ACCEPTED
                } else {
                    MavResult::MAV_RESULT_DENIED
                }
            }
            MavCmd::MAV_CMD_DO_FENCE_ENABLE => {
                self.fence_enabled = p[0] != 0.0;
                MavResult::MAV_RESULT_ACCEPTED
            }
            MavCmd::MAV_CMD_SET_MESSAGE_INTERVAL => {
                let id = p[0] as u32;
                let default = STREAMS
                    .iter()
                    .find(|(m, _)| *m == id)
                    .and_then(|(_, hz)| (*hz > 0.0).then(|| 1.0 / hz));
                match self.rates.get_mut(&id) {
                    None => MavResult::MAV_RESULT_UNSUPPORTED,
                    Some(rate) => {
                        // -1 disables, 0 restores the default, else microseconds.
                        *rate = if p[1] < 0.0 {
                            None
                        } else if p[1] == 0.0 {
                            default
                        } else {
                            Some(f64::from(p[1]) / 1e6)
                        };
                        self.next_due.remove(&id);
                        MavResult::MAV_RESULT_ACCEPTED
                    }
                }
            }
            MavCmd::MAV_CMD_GET_MESSAGE_INTERVAL => {
                let id = p[0] as u32;
                let interval_us = match self.rates.get(&id) {
                    None => 0,
                    Some(None) => -1,
                    Some(Some(s)) => (s * 1e6) as i32,
                };
                extra.push(MavMessage::MESSAGE_INTERVAL(MESSAGE_INTERVAL_DATA {
                    interval_us,
                    message_id: id as u16,
                }));
                MavResult::MAV_RESULT_ACCEPTED
            }
            MavCmd::MAV_CMD_REQUEST_MESSAGE => match self.build(p[0] as u32) {
                Some(m) => {
                    extra.push(m);
                    MavResult::MAV_RESULT_ACCEPTED
                }
                None => MavResult::MAV_RESULT_UNSUPPORTED,
            },
            MavCmd::MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES => {
                extra.push(self.autopilot_version());
                MavResult::MAV_RESULT_ACCEPTED
            }
            _ => MavResult::MAV_RESULT_UNSUPPORTED,
        };
        (result, extra)
    }

    pub(super) fn arm(&mut self, extra: &mut Vec<MavMessage>) -> MavResult {
        if self.armed {
            return MavResult::MAV_RESULT_ACCEPTED;
        }
        let problem = if self.faults.gps_lost {
            Some("PreArm: GPS fix required".to_owned())
        } else if self.faults.motor_failed || self.crashed {
            Some("PreArm: motor failure".to_owned())
        } else if self.battery_pct() < self.cfg.arm_min_battery_pct {
            Some(format!(
                "PreArm: battery {:.0}% below {:.0}%",
                self.battery_pct(),
                self.cfg.arm_min_battery_pct
            ))
        } else if matches!(self.mode, Mode::Rtl | Mode::SmartRtl | Mode::Land) {
            Some(format!("PreArm: mode {} not armable", self.mode.name()))
        } else {
            None
        };
        if let Some(p) = problem {
            extra.push(text_msg(MavSeverity::MAV_SEVERITY_CRITICAL, &p));
            return MavResult::MAV_RESULT_FAILED;
        }
        self.armed = true;
        self.landed = true;
        self.gcs_failsafe = false;
        self.srtl_path.start(
            (self.body.lat, self.body.lon, self.body.alt),
            f64::from(self.param("SRTL_ACCURACY")),
            self.param("SRTL_POINTS") as usize,
        );
        self.battery_low_done = false;
        self.battery_critical_done = false;
        self.fence_breached = false;
        extra.push(text_msg(MavSeverity::MAV_SEVERITY_INFO, "Arming motors"));
        MavResult::MAV_RESULT_ACCEPTED
    }

    pub(super) fn disarm(&mut self, extra: &mut Vec<MavMessage>, why: &str) {
        if self.armed {
            self.armed = false;
            extra.push(text_msg(MavSeverity::MAV_SEVERITY_INFO, why));
        }
        self.guided_target = None;
    }

    pub(super) fn gripper(&mut self, action: f32, extra: &mut Vec<MavMessage>) -> MavResult {
        if !self.cfg.has_gripper {
            extra.push(text_msg(
                MavSeverity::MAV_SEVERITY_WARNING,
                "Gripper: none fitted",
            ));
            return MavResult::MAV_RESULT_UNSUPPORTED;
        }
        if action == 0.0 {
            if !self.lifebuoy_released {
                self.lifebuoy_released = true;
                extra.push(text_msg(
                    MavSeverity::MAV_SEVERITY_NOTICE,
                    "Gripper: lifebuoy released",
                ));
            }
        } else {
            extra.push(text_msg(MavSeverity::MAV_SEVERITY_INFO, "Gripper: grab"));
        }
        MavResult::MAV_RESULT_ACCEPTED
    }

    pub(super) fn loudspeaker(&mut self, clip: f32, extra: &mut Vec<MavMessage>) -> MavResult {
        if !self.cfg.has_loudspeaker {
            extra.push(text_msg(
                MavSeverity::MAV_SEVERITY_WARNING,
                "Loudspeaker: none fitted",
            ));
            return MavResult::MAV_RESULT_UNSUPPORTED;
        }
        let Some(t) = self.cfg.clips.get(clip as usize).filter(|_| clip >= 0.0) else {
            extra.push(text_msg(
                MavSeverity::MAV_SEVERITY_WARNING,
                &format!("Loudspeaker: no clip {clip}"),
            ));
            return MavResult::MAV_RESULT_DENIED;
        };
        let t = format!("Loudspeaker: {t}");
        extra.push(text_msg(MavSeverity::MAV_SEVERITY_NOTICE, &t));
        MavResult::MAV_RESULT_ACCEPTED
    }
}

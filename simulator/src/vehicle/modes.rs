//! Mode changes: which mode may be entered when (a mission for AUTO, a path
//! for SmartRTL, GPS for the position modes), and what entering one resets.

use mavlink_link::mav::{MavMessage, MavResult, MavSeverity};

use super::{Dest, ItemProgress, Mode, Out, RtlPhase, Vehicle, text_msg};

impl Vehicle {
    pub(super) fn set_mode_number(&mut self, n: u32, out: &mut Vec<Out>) -> MavResult {
        let mut extra = Vec::new();
        let r = match Mode::from_number(n) {
            Some(m) => self.request_mode(m, &mut extra),
            None => {
                extra.push(text_msg(
                    MavSeverity::MAV_SEVERITY_WARNING,
                    &format!("Unknown mode {n}"),
                ));
                MavResult::MAV_RESULT_DENIED
            }
        };
        out.extend(extra.into_iter().map(|m| Out {
            dest: Dest::All,
            msg: m,
        }));
        r
    }

    pub(super) fn request_mode(&mut self, m: Mode, extra: &mut Vec<MavMessage>) -> MavResult {
        if m == Mode::SmartRtl && (!self.srtl_path.usable() || self.landed) {
            extra.push(text_msg(
                MavSeverity::MAV_SEVERITY_WARNING,
                "SmartRTL refused: no path to retrace",
            ));
            return MavResult::MAV_RESULT_DENIED;
        }
        if m == Mode::Auto && self.mission.len() < 2 {
            extra.push(text_msg(
                MavSeverity::MAV_SEVERITY_WARNING,
                "AUTO refused: no mission",
            ));
            return MavResult::MAV_RESULT_DENIED;
        }
        if matches!(
            m,
            Mode::Rtl | Mode::SmartRtl | Mode::Land | Mode::Auto | Mode::Guided | Mode::Loiter
        ) && self.faults.gps_lost
            && !self.landed
            && m != Mode::Land
        {
            extra.push(text_msg(
                MavSeverity::MAV_SEVERITY_WARNING,
                "Mode change refused: no GPS",
            ));
            return MavResult::MAV_RESULT_DENIED;
        }
        if m == Mode::Auto && self.mode != Mode::Auto {
            if self.current == 0 || usize::from(self.current) >= self.mission.len() {
                self.current = 1;
            }
            self.progress = ItemProgress::default();
            self.mission_done = false;
        }
        self.enter_mode(m, extra);
        MavResult::MAV_RESULT_ACCEPTED
    }

    pub(super) fn enter_mode(&mut self, m: Mode, extra: &mut Vec<MavMessage>) {
        if m == Mode::Rtl {
            self.rtl = RtlPhase::Climb;
        }
        if m == Mode::SmartRtl && self.mode != Mode::SmartRtl {
            self.rtl = RtlPhase::Return;
            self.srtl_home = self.srtl_path.way_home();
        }
        if matches!(
            m,
            Mode::Loiter | Mode::Brake | Mode::AltHold | Mode::Stabilize
        ) || (m == Mode::Guided && self.mode != Mode::Guided)
        {
            self.hold_point = Some((self.body.lat, self.body.lon, self.body.alt));
            if m == Mode::Guided {
                self.guided_target = None;
            }
        }
        if self.mode != m {
            extra.push(text_msg(
                MavSeverity::MAV_SEVERITY_INFO,
                &format!("Mode {}", m.name()),
            ));
        }
        self.mode = m;
    }
}

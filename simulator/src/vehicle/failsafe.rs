//! Failsafes: ground-station loss (`FS_GCS_ENABLE` / `FS_OPTIONS`, as
//! ArduCopter), low and critical battery, GPS loss, fence breaches, and the
//! RTL that turns into LAND when the way home crosses the fence.

use mavlink_link::mav::{MavMessage, MavSeverity};

use crate::mission::Breach;

use super::{Dest, Mode, Out, RtlPhase, Vehicle, text_msg};

impl Vehicle {
    pub(super) fn failsafes(&mut self, link_t: f64, out: &mut Vec<Out>) {
        let mut extra = Vec::new();
        if let Some(last) = self.last_gcs_heartbeat
            && !self.gcs_failsafe
            && link_t - last > self.cfg.gcs_timeout_s
        {
            self.gcs_failsafe = true;
            self.gcs_failsafe_action(&mut extra);
        }
        let pct = self.battery_pct();
        if pct < self.cfg.battery_critical_pct && !self.battery_critical_done {
            self.battery_critical_done = true;
            self.battery_low_done = true;
            extra.push(text_msg(
                MavSeverity::MAV_SEVERITY_EMERGENCY,
                &format!("Failsafe: battery critical {pct:.0}%, LAND"),
            ));
            if self.mode != Mode::Land {
                self.fs_mode(Mode::Land, &mut extra);
            }
        } else if pct < self.cfg.battery_low_pct && !self.battery_low_done {
            self.battery_low_done = true;
            extra.push(text_msg(
                MavSeverity::MAV_SEVERITY_CRITICAL,
                &format!("Failsafe: battery low {pct:.0}%, RTL"),
            ));
            if !matches!(self.mode, Mode::Rtl | Mode::SmartRtl | Mode::Land) {
                self.fs_mode(Mode::Rtl, &mut extra);
            }
        }
        if self.faults.gps_lost && self.mode != Mode::Land {
            extra.push(text_msg(
                MavSeverity::MAV_SEVERITY_CRITICAL,
                "Failsafe: no GPS, LAND",
            ));
            self.fs_mode(Mode::Land, &mut extra);
        }
        out.extend(extra.into_iter().map(|m| Out {
            dest: Dest::All,
            msg: m,
        }));
    }

    /// What ArduCopter does on ground-station loss: FS_GCS_ENABLE picks the
    /// action (0 none, 1 RTL, 2 continue in AUTO (old), 3 SmartRTL or RTL,
    /// 4 SmartRTL or LAND, 5 LAND, 6 RTL, 7 BRAKE or LAND); FS_OPTIONS bit 1
    /// (2) keeps an AUTO mission going, bit 3 (8) lets a landing finish.
    fn gcs_failsafe_action(&mut self, extra: &mut Vec<MavMessage>) {
        let enable = self.param("FS_GCS_ENABLE") as u32;
        let options = self.param("FS_OPTIONS") as u32;
        if enable == 0 {
            extra.push(text_msg(
                MavSeverity::MAV_SEVERITY_WARNING,
                "GCS heartbeat lost (GCS failsafe disabled)",
            ));
            return;
        }
        let landing = self.mode == Mode::Land
            || (matches!(self.mode, Mode::Rtl | Mode::SmartRtl) && self.rtl == RtlPhase::Descend)
            || self.auto_landing();
        if self.mode == Mode::Auto && (options & 2 != 0 || enable == 2) {
            extra.push(text_msg(
                MavSeverity::MAV_SEVERITY_CRITICAL,
                "GCS Failsafe - Continuing Auto Mode",
            ));
            return;
        }
        if landing && options & 8 != 0 {
            extra.push(text_msg(
                MavSeverity::MAV_SEVERITY_CRITICAL,
                "GCS Failsafe - Continuing Landing",
            ));
            return;
        }
        let (action, fallback) = match enable {
            3 => (Mode::SmartRtl, Mode::Rtl),
            4 => (Mode::SmartRtl, Mode::Land),
            5 => (Mode::Land, Mode::Land),
            7 => (Mode::Brake, Mode::Land),
            _ => (Mode::Rtl, Mode::Land),
        };
        extra.push(text_msg(
            MavSeverity::MAV_SEVERITY_CRITICAL,
            &format!("Failsafe: GCS heartbeat lost, {}", action.name()),
        ));
        if self.mode == action || (self.mode == Mode::Land && action != Mode::Brake) {
            return;
        }
        match action {
            Mode::SmartRtl if self.srtl_path.usable() && !self.faults.gps_lost => {
                self.enter_mode(Mode::SmartRtl, extra);
            }
            Mode::SmartRtl => {
                extra.push(text_msg(
                    MavSeverity::MAV_SEVERITY_WARNING,
                    &format!("SmartRTL unavailable, {}", fallback.name()),
                ));
                self.fs_mode(fallback, extra);
            }
            Mode::Brake if self.faults.gps_lost => self.fs_mode(Mode::Land, extra),
            m => self.fs_mode(m, extra),
        }
    }

    /// RTL unless the way home crosses a fence or there is no GPS: then LAND.
    fn fs_mode(&mut self, m: Mode, extra: &mut Vec<MavMessage>) {
        let m = if m == Mode::Rtl && (self.faults.gps_lost || self.rtl_would_breach()) {
            extra.push(text_msg(
                MavSeverity::MAV_SEVERITY_CRITICAL,
                "RTL would breach the fence: LAND",
            ));
            Mode::Land
        } else {
            m
        };
        self.enter_mode(m, extra);
    }

    fn rtl_would_breach(&self) -> bool {
        if self.fence.is_empty() {
            return false;
        }
        let here = (self.body.lat, self.body.lon);
        let inside_now = self.fence.breaches(here.0, here.1);
        !self
            .fence
            .breaches(self.cfg.home.0, self.cfg.home.1)
            .is_empty()
            || self
                .fence
                .path_crosses_exclusion(here, self.cfg.home, &inside_now)
    }

    pub(super) fn fence_check(&mut self, out: &mut Vec<Out>) {
        if !self.fence_enabled || self.fence.is_empty() {
            return;
        }
        let breaches = self.fence.breaches(self.body.lat, self.body.lon);
        if breaches.is_empty() {
            self.fence_breached = false;
            return;
        }
        if self.fence_breached {
            return;
        }
        self.fence_breached = true;
        let what: Vec<String> = breaches.iter().map(Breach::to_string).collect();
        let mut extra = vec![text_msg(
            MavSeverity::MAV_SEVERITY_CRITICAL,
            &format!("Fence breach: {}", what.join(", ")),
        )];
        if !matches!(self.mode, Mode::Rtl | Mode::SmartRtl | Mode::Land) {
            self.fs_mode(Mode::Rtl, &mut extra);
        }
        out.extend(extra.into_iter().map(|m| Out {
            dest: Dest::All,
            msg: m,
        }));
    }
}

#[cfg(test)]
mod tests {
    //! Ground-station loss drills in sim time: an L-shaped flight around an
    //! exclusion zone that lies on the straight line home.
    use mavlink_link::mav::{HEARTBEAT_DATA, MavCmd, MavFrame, MavMessage, MavResult, MavType};
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    use crate::mission::{self, Item};
    use crate::physics::{ne_offset, offset_point};
    use crate::traffic::Traffic;
    use crate::vehicle::testing::{HOME, config};
    use crate::vehicle::{Mode, Vehicle};

    fn item(command: MavCmd, n: f64, e: f64, z: f32) -> Item {
        let (lat, lon) = offset_point(HOME.0, HOME.1, n, e);
        Item {
            command,
            frame: MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
            params: [0.0; 4],
            x: (lat * 1e7).round() as i32,
            y: (lon * 1e7).round() as i32,
            z,
            autocontinue: true,
        }
    }

    /// A vehicle flying out 2 km north, 2 km east, and back the same way,
    /// with a fenced square between the far corner and home.
    fn vehicle(params: &[(&str, f32)]) -> Vehicle {
        let mut v = Vehicle::new(config());
        for &(name, value) in params {
            let i = v.param_index(name).unwrap_or_else(|| panic!("{name}"));
            v.set_param(i, value);
            assert_eq!(v.param(name), value, "{name} set");
        }
        use MavCmd::*;
        v.mission = vec![
            item(MAV_CMD_NAV_WAYPOINT, 0.0, 0.0, 0.0),
            item(MAV_CMD_NAV_TAKEOFF, 0.0, 0.0, 40.0),
            item(MAV_CMD_NAV_WAYPOINT, 2000.0, 0.0, 40.0),
            item(MAV_CMD_NAV_WAYPOINT, 2000.0, 2000.0, 40.0),
            item(MAV_CMD_NAV_WAYPOINT, 2000.0, 0.0, 40.0),
            item(MAV_CMD_NAV_WAYPOINT, 0.0, 0.0, 40.0),
            item(MAV_CMD_NAV_LAND, 0.0, 0.0, 0.0),
        ];
        let corner = |n: f64, e: f64| {
            let mut it = item(MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION, n, e, 0.0);
            it.params[0] = 4.0;
            it
        };
        v.fence_items = vec![
            corner(600.0, 600.0),
            corner(600.0, 1400.0),
            corner(1400.0, 1400.0),
            corner(1400.0, 600.0),
        ];
        v.fence = mission::parse_fence(&v.fence_items).unwrap_or_else(|e| panic!("{e:?}"));
        v
    }

    fn in_zone(v: &Vehicle) -> bool {
        let (n, e) = ne_offset(HOME.0, HOME.1, v.body.lat, v.body.lon);
        (600.0..=1400.0).contains(&n) && (600.0..=1400.0).contains(&e)
    }

    /// Flies (0.1 s steps) with the ground station heard until the vehicle is
    /// past the far corner, then silent; returns the modes seen and whether
    /// the zone was entered, once the vehicle is on the ground.
    fn drill(v: &mut Vehicle, start_in: Mode) -> (Vec<Mode>, bool) {
        let mut rng = SmallRng::seed_from_u64(1);
        let gcs = MavMessage::HEARTBEAT(HEARTBEAT_DATA {
            mavtype: MavType::MAV_TYPE_GCS,
            ..Default::default()
        });
        let mut extra = Vec::new();
        assert_eq!(v.arm(&mut extra), MavResult::MAV_RESULT_ACCEPTED);
        assert_eq!(
            v.request_mode(Mode::Auto, &mut extra),
            MavResult::MAV_RESULT_ACCEPTED
        );
        let (mut t, mut silent_from) = (0.0, None);
        let (mut modes, mut entered) = (vec![v.mode], false);
        while t < 3600.0 {
            t += 0.1;
            if silent_from.is_none() {
                v.handle(t, 1, (255, 190), &gcs);
                if v.current >= 4 {
                    // Past the far corner, on the way back: the link drops.
                    silent_from = Some(t);
                    if start_in != Mode::Auto {
                        assert_eq!(
                            v.request_mode(start_in, &mut extra),
                            MavResult::MAV_RESULT_ACCEPTED
                        );
                    }
                }
            }
            v.step(t, 0.1, &mut rng, &Traffic::default());
            if modes.last() != Some(&v.mode) {
                modes.push(v.mode);
            }
            entered |= in_zone(v);
            if v.landed && !v.armed && t > 10.0 {
                break;
            }
        }
        (modes, entered)
    }

    fn from_home(v: &Vehicle) -> f64 {
        let (n, e) = ne_offset(HOME.0, HOME.1, v.body.lat, v.body.lon);
        n.hypot(e)
    }

    #[test]
    fn rtl_on_gcs_loss_lands_where_the_fence_blocks_the_way_home() {
        // FS_GCS_ENABLE 1 and no FS_OPTIONS: the straight way home crosses
        // the zone, so the vehicle lands where it is (the stranded drone).
        let mut v = vehicle(&[]);
        let (modes, entered) = drill(&mut v, Mode::Auto);
        assert!(modes.contains(&Mode::Land), "{modes:?}");
        assert!(!entered);
        assert!(from_home(&v) > 1500.0, "{} m from home", from_home(&v));
    }

    #[test]
    fn continue_in_auto_flies_the_mission_home() {
        let mut v = vehicle(&[("FS_GCS_ENABLE", 4.0), ("FS_OPTIONS", 10.0)]);
        let (modes, entered) = drill(&mut v, Mode::Auto);
        assert_eq!(modes, vec![Mode::Auto], "never left AUTO");
        assert!(v.gcs_failsafe, "the failsafe did trigger");
        assert!(!entered && !v.crashed);
        assert!(from_home(&v) < 3.0, "{} m from home", from_home(&v));
    }

    #[test]
    fn smart_rtl_retraces_the_path_around_the_zone() {
        // Out of AUTO (a pilot's LOITER) when the link drops: SmartRTL.
        let mut v = vehicle(&[("FS_GCS_ENABLE", 4.0), ("FS_OPTIONS", 10.0)]);
        let (modes, entered) = drill(&mut v, Mode::Loiter);
        assert!(modes.contains(&Mode::SmartRtl), "{modes:?}");
        assert!(!modes.contains(&Mode::Land), "{modes:?}");
        assert!(!entered, "the way home went around the zone");
        assert!(from_home(&v) < 3.0, "{} m from home", from_home(&v));
        // Without a path (buffer of 0 points) it falls back to LAND, not a
        // straight line through the zone.
        let mut v = vehicle(&[("FS_GCS_ENABLE", 4.0), ("SRTL_POINTS", 0.0)]);
        let (modes, entered) = drill(&mut v, Mode::Loiter);
        assert!(modes.contains(&Mode::Land) && !modes.contains(&Mode::SmartRtl));
        assert!(!entered);
    }
}

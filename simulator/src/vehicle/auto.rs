//! AUTO: executing the uploaded mission item by item (DO items at once, then
//! take-off, waypoints with holds, loiters, orbits, land, RTL).

use mavlink_link::mav::{MISSION_ITEM_REACHED_DATA, MavCmd, MavMessage, MavSeverity};

use crate::mission::Item;
use crate::physics::{Setpoint, ne_offset, offset_point};

use super::guidance::HEADING_HOLD_RADIUS_M;
use super::{Dest, ItemProgress, Out, Vehicle, text};

impl Vehicle {
    pub(super) fn auto_control(&mut self, out: &mut Vec<Out>) -> Setpoint {
        // Run "do" items at once, then fly the current nav item.
        for _ in 0..self.mission.len() {
            if self.mission_done {
                return self.hold();
            }
            let Some(item) = self.mission.get(usize::from(self.current)).cloned() else {
                self.finish_mission(out);
                return self.hold();
            };
            let mut extra = Vec::new();
            let done = match item.command {
                MavCmd::MAV_CMD_DO_GRIPPER => {
                    self.gripper(item.params[1], &mut extra);
                    true
                }
                MavCmd::MAV_CMD_USER_1 => {
                    self.loudspeaker(item.params[0], &mut extra);
                    true
                }
                MavCmd::MAV_CMD_DO_CHANGE_SPEED => {
                    if item.params[1] > 0.0 {
                        self.speed_override = Some(f64::from(item.params[1]));
                    }
                    true
                }
                _ => false,
            };
            out.extend(extra.into_iter().map(|m| Out {
                dest: Dest::All,
                msg: m,
            }));
            if !done {
                return self.fly_item(&item, out);
            }
            self.advance(out, false);
        }
        self.hold()
    }

    fn advance(&mut self, out: &mut Vec<Out>, reached: bool) {
        if reached {
            out.push(Out {
                dest: Dest::All,
                msg: MavMessage::MISSION_ITEM_REACHED(MISSION_ITEM_REACHED_DATA {
                    seq: self.current,
                }),
            });
        }
        self.current += 1;
        self.progress = ItemProgress::default();
        self.hold_point = Some((self.body.lat, self.body.lon, self.body.alt));
        if usize::from(self.current) >= self.mission.len() {
            self.current = self.mission.len().saturating_sub(1) as u16;
            self.finish_mission(out);
        }
        out.push(Out {
            dest: Dest::All,
            msg: self.mission_current(),
        });
    }

    fn finish_mission(&mut self, out: &mut Vec<Out>) {
        if !self.mission_done {
            self.mission_done = true;
            self.hold_point = Some((self.body.lat, self.body.lon, self.body.alt));
            out.push(text(MavSeverity::MAV_SEVERITY_INFO, "Mission complete"));
        }
    }

    fn item_target(&self, item: &Item) -> (f64, f64, f64) {
        let (lat, lon) = if item.x == 0 && item.y == 0 {
            (self.body.lat, self.body.lon)
        } else {
            (item.lat(), item.lon())
        };
        let alt = self.relative_alt(item.frame, f64::from(item.z));
        (lat, lon, if alt > 0.0 { alt } else { self.body.alt })
    }

    fn fly_item(&mut self, item: &Item, out: &mut Vec<Out>) -> Setpoint {
        let t = self.sim_t;
        match item.command {
            MavCmd::MAV_CMD_NAV_TAKEOFF => {
                let alt = f64::from(item.z).max(1.0);
                if self.body.alt >= alt - 1.0 {
                    self.advance(out, true);
                }
                Setpoint {
                    vd: -((alt - self.body.alt).clamp(0.5, self.cfg.airframe.climb_rate_mps)),
                    ..Setpoint::default()
                }
            }
            MavCmd::MAV_CMD_NAV_WAYPOINT
            | MavCmd::MAV_CMD_NAV_LOITER_TIME
            | MavCmd::MAV_CMD_NAV_LOITER_UNLIM => {
                let (lat, lon, alt) = self.item_target(item);
                let (sp, d) = self.goto(lat, lon, alt, self.speed());
                let radius = if item.command == MavCmd::MAV_CMD_NAV_WAYPOINT {
                    f64::from(item.params[1]).max(HEADING_HOLD_RADIUS_M)
                } else {
                    HEADING_HOLD_RADIUS_M
                };
                if self.progress.reached_at.is_none()
                    && d <= radius
                    && (alt - self.body.alt).abs() < 2.0
                {
                    self.progress.reached_at = Some(t);
                }
                let hold_s = match item.command {
                    MavCmd::MAV_CMD_NAV_WAYPOINT => f64::from(item.params[0]),
                    MavCmd::MAV_CMD_NAV_LOITER_TIME => f64::from(item.params[0]),
                    _ => f64::INFINITY,
                };
                if self.progress.reached_at.is_some_and(|r| t - r >= hold_s) {
                    self.advance(out, true);
                }
                sp
            }
            MavCmd::MAV_CMD_NAV_LOITER_TURNS => self.orbit(item, out),
            MavCmd::MAV_CMD_NAV_LAND => {
                let (lat, lon, _) = self.item_target(item);
                let (mut sp, d) = self.goto(lat, lon, self.body.alt, self.speed());
                if d < HEADING_HOLD_RADIUS_M * 2.0 {
                    sp.vd = self.descend_here().vd;
                }
                sp
            }
            MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH => self.rtl_control(out),
            _ => {
                self.advance(out, false);
                self.hold()
            }
        }
    }

    /// NAV_LOITER_TURNS: reach the circle, then orbit `param1` turns of radius `param3`.
    fn orbit(&mut self, item: &Item, out: &mut Vec<Out>) -> Setpoint {
        let (clat, clon, alt) = self.item_target(item);
        let r = f64::from(item.params[2].abs()).max(5.0);
        let dir = if item.params[2] < 0.0 { -1.0 } else { 1.0 };
        let turns = f64::from(item.params[0]).max(0.0);
        let (n, e) = ne_offset(clat, clon, self.body.lat, self.body.lon);
        let d = n.hypot(e);
        if self.progress.reached_at.is_none() {
            if (d - r).abs() < 5.0 {
                self.progress.reached_at = Some(self.sim_t);
            } else {
                // Fly to the nearest point of the circle.
                let (tn, te) = if d > 1e-3 {
                    (n / d * r, e / d * r)
                } else {
                    (r, 0.0)
                };
                let (plat, plon) = offset_point(clat, clon, tn, te);
                return self.goto(plat, plon, alt, self.speed()).0;
            }
        }
        let bearing = e.atan2(n);
        if let Some(last) = self.progress.last_bearing {
            let mut db = bearing - last;
            while db > std::f64::consts::PI {
                db -= std::f64::consts::TAU;
            }
            while db < -std::f64::consts::PI {
                db += std::f64::consts::TAU;
            }
            self.progress.swept += db * dir;
        }
        self.progress.last_bearing = Some(bearing);
        if self.progress.swept >= turns * std::f64::consts::TAU {
            self.advance(out, true);
            return self.hold();
        }
        // Tangential speed limited by lateral acceleration; radial correction.
        let v = self
            .speed()
            .min((self.cfg.airframe.accel_mps2 * 0.8 * r).sqrt());
        let (un, ue) = if d > 1e-3 { (n / d, e / d) } else { (1.0, 0.0) };
        let (tn, te) = (-ue * dir, un * dir);
        let radial = (r - d) * 0.5;
        let climb = (alt - self.body.alt).clamp(
            -self.cfg.airframe.descent_rate_mps,
            self.cfg.airframe.climb_rate_mps,
        );
        Setpoint {
            vn: tn * v + un * radial,
            ve: te * v + ue * radial,
            vd: -climb,
            // Camera on the fire: face the centre.
            yaw_rad: Some((-e).atan2(-n)),
        }
    }
}

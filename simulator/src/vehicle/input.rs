//! Incoming messages: `Vehicle::handle` routes each MAVLink message from a
//! peer to the command, mode, mission-protocol or parameter code and
//! collects the answers.

use mavlink_link::mav::{MavCmd, MavFrame, MavMessage, MavMissionResult, MavSeverity, MavType};

use crate::mission;

use super::{Dest, ItemProgress, Mode, Out, PeerId, Vehicle, ack, text};

impl Vehicle {
    /// Handles one message from peer `from` (system `src_sys`, component `src_comp`).
    pub fn handle(
        &mut self,
        link_t: f64,
        from: PeerId,
        src: (u8, u8),
        msg: &MavMessage,
    ) -> Vec<Out> {
        let mut out = Vec::new();
        let reply = Dest::Peer(from);
        match msg {
            MavMessage::HEARTBEAT(hb) if hb.mavtype == MavType::MAV_TYPE_GCS => {
                self.last_gcs_heartbeat = Some(link_t);
                if self.gcs_failsafe {
                    self.gcs_failsafe = false;
                    out.push(text(MavSeverity::MAV_SEVERITY_INFO, "GCS failsafe cleared"));
                }
            }
            MavMessage::COMMAND_LONG(c) if self.for_me(c.target_system) => {
                let (result, extra) = self.command_long(c);
                out.push(Out {
                    dest: reply,
                    msg: ack(c.command, result, src),
                });
                out.extend(extra.into_iter().map(|m| Out {
                    dest: reply,
                    msg: m,
                }));
            }
            MavMessage::COMMAND_INT(c) if self.for_me(c.target_system) => {
                let (result, extra) = self.command_int(c);
                out.push(Out {
                    dest: reply,
                    msg: ack(c.command, result, src),
                });
                out.extend(extra);
            }
            MavMessage::SET_MODE(m) if self.for_me(m.target_system) => {
                let result = self.set_mode_number(m.custom_mode, &mut out);
                out.push(Out {
                    dest: reply,
                    msg: ack(MavCmd::MAV_CMD_DO_SET_MODE, result, src),
                });
            }
            MavMessage::SET_POSITION_TARGET_GLOBAL_INT(p)
                if self.for_me(p.target_system)
                    && self.mode == Mode::Guided
                    && self.armed
                    && !self.landed =>
            {
                let alt = self.relative_alt(p.coordinate_frame, f64::from(p.alt));
                self.guided_target =
                    Some((f64::from(p.lat_int) / 1e7, f64::from(p.lon_int) / 1e7, alt));
            }
            MavMessage::MISSION_COUNT(c) if self.for_me(c.target_system) => {
                self.start_upload(link_t, from, src, c.mission_type, c.count, &mut out);
            }
            MavMessage::MISSION_ITEM_INT(it) if self.for_me(it.target_system) => {
                self.upload_item(link_t, from, src, it, &mut out);
            }
            MavMessage::MISSION_REQUEST_LIST(r)
                if self.for_me(r.target_system)
                    && self
                        .upload
                        .as_ref()
                        .is_some_and(|u| u.kind == r.mission_type) =>
            {
                // As ArduPilot: no download (not even the count) while an
                // upload of that kind is under way.
                out.push(Out {
                    dest: reply,
                    msg: mission::ack(src, r.mission_type, MavMissionResult::MAV_MISSION_DENIED),
                });
            }
            MavMessage::MISSION_REQUEST_LIST(r) if self.for_me(r.target_system) => {
                let n = self.store(r.mission_type).len();
                out.push(Out {
                    dest: reply,
                    msg: mission::count(src, r.mission_type, n),
                });
            }
            MavMessage::MISSION_REQUEST_INT(r) if self.for_me(r.target_system) => {
                self.send_item(r.seq, r.mission_type, src, reply, &mut out);
            }
            MavMessage::MISSION_REQUEST(r) if self.for_me(r.target_system) => {
                self.send_item(r.seq, r.mission_type, src, reply, &mut out);
            }
            MavMessage::MISSION_CLEAR_ALL(c) if self.for_me(c.target_system) => {
                self.clear(c.mission_type);
                out.push(Out {
                    dest: reply,
                    msg: mission::ack(src, c.mission_type, MavMissionResult::MAV_MISSION_ACCEPTED),
                });
            }
            MavMessage::MISSION_SET_CURRENT(s) if self.for_me(s.target_system) => {
                if usize::from(s.seq) < self.mission.len() {
                    self.current = s.seq;
                    self.progress = ItemProgress::default();
                    self.mission_done = false;
                    out.push(Out {
                        dest: Dest::All,
                        msg: self.mission_current(),
                    });
                } else {
                    out.push(text(
                        MavSeverity::MAV_SEVERITY_WARNING,
                        &format!(
                            "Mission set current {} rejected: {} items",
                            s.seq,
                            self.mission.len()
                        ),
                    ));
                }
            }
            MavMessage::MISSION_ACK(_) => {} // end of a download
            MavMessage::PARAM_REQUEST_LIST(p) if self.for_me(p.target_system) => {
                for i in 0..self.params.len() {
                    out.push(Out {
                        dest: reply,
                        msg: self.param_value(i),
                    });
                }
            }
            MavMessage::PARAM_REQUEST_READ(p) if self.for_me(p.target_system) => {
                let idx = if p.param_index >= 0 {
                    Some(p.param_index as usize).filter(|&i| i < self.params.len())
                } else {
                    self.param_index(p.param_id.to_str().unwrap_or_default())
                };
                if let Some(i) = idx {
                    out.push(Out {
                        dest: reply,
                        msg: self.param_value(i),
                    });
                }
            }
            MavMessage::PARAM_SET(p) if self.for_me(p.target_system) => {
                if let Some(i) = self.param_index(p.param_id.to_str().unwrap_or_default()) {
                    self.set_param(i, p.param_value);
                    out.push(Out {
                        dest: reply,
                        msg: self.param_value(i),
                    });
                }
            }
            _ => {}
        }
        out
    }

    fn for_me(&self, target: u8) -> bool {
        target == 0 || target == self.cfg.system_id
    }

    pub(super) fn relative_alt(&self, frame: MavFrame, alt: f64) -> f64 {
        match frame {
            MavFrame::MAV_FRAME_GLOBAL | MavFrame::MAV_FRAME_GLOBAL_INT => {
                alt - self.cfg.home_amsl_m
            }
            _ => alt,
        }
    }
}

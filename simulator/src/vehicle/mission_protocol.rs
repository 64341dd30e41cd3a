//! The vehicle side of the MAVLink mission protocol for missions, fences and
//! rally points: uploads (item requests, re-requests on silence, validation
//! before acceptance), downloads and clearing.

use mavlink_link::mav::{MavMessage, MavMissionResult, MavMissionType, MavSeverity};

use crate::mission::{self, Fence, Item, Upload};

use super::{Dest, ItemProgress, Out, PeerId, Vehicle, text};

impl Vehicle {
    pub(super) fn store(&self, kind: MavMissionType) -> &[Item] {
        match kind {
            MavMissionType::MAV_MISSION_TYPE_MISSION => &self.mission,
            MavMissionType::MAV_MISSION_TYPE_FENCE => &self.fence_items,
            _ => &self.rally_items,
        }
    }

    pub(super) fn clear(&mut self, kind: MavMissionType) {
        match kind {
            MavMissionType::MAV_MISSION_TYPE_MISSION => {
                self.mission.clear();
                self.current = 0;
            }
            MavMissionType::MAV_MISSION_TYPE_FENCE => {
                self.fence_items.clear();
                self.fence = Fence::default();
            }
            MavMissionType::MAV_MISSION_TYPE_RALLY => self.rally_items.clear(),
            _ => {
                self.mission.clear();
                self.fence_items.clear();
                self.fence = Fence::default();
                self.rally_items.clear();
            }
        }
    }

    pub(super) fn start_upload(
        &mut self,
        link_t: f64,
        from: PeerId,
        peer: (u8, u8),
        kind: MavMissionType,
        count: u16,
        out: &mut Vec<Out>,
    ) {
        if count == 0 {
            self.clear(kind);
            self.upload = None;
            out.push(Out {
                dest: Dest::Peer(from),
                msg: mission::ack(peer, kind, MavMissionResult::MAV_MISSION_ACCEPTED),
            });
            return;
        }
        let up = Upload {
            kind,
            count,
            items: Vec::with_capacity(count.into()),
            last_request: link_t,
            last_receive: link_t,
            peer,
        };
        out.push(Out {
            dest: Dest::Peer(from),
            msg: mission::request(&up),
        });
        self.upload_peer = from;
        self.upload = Some(up);
    }

    pub(super) fn upload_item(
        &mut self,
        link_t: f64,
        from: PeerId,
        peer: (u8, u8),
        it: &mavlink_link::mav::MISSION_ITEM_INT_DATA,
        out: &mut Vec<Out>,
    ) {
        let Some(up) = self.upload.as_mut() else {
            return;
        };
        if it.mission_type != up.kind || peer != up.peer {
            return;
        }
        let expected = up.items.len() as u16;
        if it.seq != expected {
            // Out of order (a duplicate or a gap): as ArduPilot, say so and
            // keep waiting for the one requested (asked again on silence).
            out.push(Out {
                dest: Dest::Peer(from),
                msg: mission::ack(
                    up.peer,
                    up.kind,
                    MavMissionResult::MAV_MISSION_INVALID_SEQUENCE,
                ),
            });
            return;
        }
        up.items.push(Item::from_msg(it));
        up.last_request = link_t;
        up.last_receive = link_t;
        if up.items.len() < usize::from(up.count) {
            out.push(Out {
                dest: Dest::Peer(from),
                msg: mission::request(up),
            });
            return;
        }
        let Some(up) = self.upload.take() else { return };
        let result = match up.kind {
            MavMissionType::MAV_MISSION_TYPE_FENCE => match mission::parse_fence(&up.items) {
                Ok(f) => {
                    self.fence = f;
                    self.fence_items = up.items;
                    self.fence_breached = false;
                    out.push(text(
                        MavSeverity::MAV_SEVERITY_INFO,
                        &format!("Fence: {} items accepted", up.count),
                    ));
                    MavMissionResult::MAV_MISSION_ACCEPTED
                }
                Err((r, why)) => {
                    out.push(text(
                        MavSeverity::MAV_SEVERITY_ERROR,
                        &format!("Fence rejected: {why}"),
                    ));
                    r
                }
            },
            MavMissionType::MAV_MISSION_TYPE_MISSION => {
                // Item 0 is home (ArduPilot convention); it is not checked.
                match mission::check_mission(&up.items[1.min(up.items.len())..]) {
                    Ok(()) => {
                        self.mission = up.items;
                        if usize::from(self.current) >= self.mission.len() || self.current == 0 {
                            self.current = 1.min(self.mission.len() as u16 - 1);
                        }
                        self.progress = ItemProgress::default();
                        self.mission_done = false;
                        MavMissionResult::MAV_MISSION_ACCEPTED
                    }
                    Err((r, why)) => {
                        out.push(text(
                            MavSeverity::MAV_SEVERITY_ERROR,
                            &format!("Mission rejected: {why}"),
                        ));
                        r
                    }
                }
            }
            _ => {
                self.rally_items = up.items;
                MavMissionResult::MAV_MISSION_ACCEPTED
            }
        };
        out.push(Out {
            dest: Dest::Peer(from),
            msg: mission::ack(peer, up.kind, result),
        });
    }

    pub(super) fn send_item(
        &self,
        seq: u16,
        kind: MavMissionType,
        peer: (u8, u8),
        dest: Dest,
        out: &mut Vec<Out>,
    ) {
        let items = self.store(kind);
        match items.get(usize::from(seq)) {
            Some(item) => out.push(Out {
                dest,
                msg: MavMessage::MISSION_ITEM_INT(item.to_msg(seq, kind, peer)),
            }),
            None => out.push(Out {
                dest,
                msg: mission::ack(peer, kind, MavMissionResult::MAV_MISSION_INVALID_SEQUENCE),
            }),
        }
    }

    /// Re-requests a stalled upload item; gives the upload up after
    /// `UPLOAD_TIMEOUT_S` without an item.
    pub(super) fn upload_timeouts(&mut self, link_t: f64, out: &mut Vec<Out>) {
        let Some(up) = self.upload.as_mut() else {
            return;
        };
        if link_t - up.last_request < mission::REQUEST_TIMEOUT_S {
            return;
        }
        let dest = Dest::Peer(self.upload_peer);
        if link_t - up.last_receive > mission::UPLOAD_TIMEOUT_S {
            out.push(Out {
                dest,
                msg: mission::ack(
                    up.peer,
                    up.kind,
                    MavMissionResult::MAV_MISSION_OPERATION_CANCELLED,
                ),
            });
            out.push(text(
                MavSeverity::MAV_SEVERITY_WARNING,
                "Mission upload timed out",
            ));
            self.upload = None;
            return;
        }
        up.last_request = link_t;
        out.push(Out {
            dest,
            msg: mission::request(up),
        });
    }
}

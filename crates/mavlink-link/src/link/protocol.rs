//! The command, mission and parameter protocols on the link task's side:
//! requests from handles start a transaction, the vehicle's answers
//! (COMMAND_ACK, MISSION_REQUEST, MISSION_ACK, MISSION_COUNT, PARAM_VALUE)
//! settle it, and the timer resends on silence or gives up.

use std::sync::PoisonError;
use std::time::Instant;

use tokio::sync::oneshot;

use super::driver::Driver;
use super::{Command, CommandError, LinkEvent, ParamError, Request, UploadError};
use crate::mav::{
    COMMAND_INT_DATA, COMMAND_LONG_DATA, MISSION_COUNT_DATA, MISSION_ITEM_INT_DATA,
    MISSION_REQUEST_LIST_DATA, MavCmd, MavMessage, MavMissionResult, MavMissionType, MavParamType,
    MavResult, PARAM_REQUEST_READ_DATA, PARAM_SET_DATA,
};
use crate::state::LinkStatus;

pub(super) struct PendingCommand {
    pub(super) command: Command,
    pub(super) attempts: u32,
    pub(super) confirmation: u8,
    pub(super) deadline: Instant,
    pub(super) reply: oneshot::Sender<Result<(), CommandError>>,
}

pub(super) struct PendingParam {
    /// The message to resend on silence.
    pub(super) msg: MavMessage,
    pub(super) attempts: u32,
    pub(super) deadline: Instant,
    pub(super) reply: oneshot::Sender<Result<(f32, MavParamType), ParamError>>,
}

pub(super) struct PendingUpload {
    pub(super) kind: MavMissionType,
    pub(super) items: Vec<MISSION_ITEM_INT_DATA>,
    /// What we sent last (to resend on silence).
    pub(super) last: MavMessage,
    pub(super) deadline: Instant,
    pub(super) resends: u32,
    /// The last item went out: on silence, ask for the vehicle's count too
    /// (its MISSION_ACK may be what was lost).
    pub(super) final_sent: bool,
    pub(super) reply: oneshot::Sender<Result<(), UploadError>>,
}

impl Driver {
    pub(super) async fn protocol(&mut self, sysid: u8, msg: MavMessage) {
        match msg {
            MavMessage::COMMAND_ACK(ack) => {
                let key = (sysid, ack.command as u32);
                let Some(p) = self.commands.get_mut(&key) else {
                    return; // an ack for a fire-and-forget request, or a duplicate
                };
                match ack.result {
                    MavResult::MAV_RESULT_ACCEPTED => {
                        if let Some(p) = self.commands.remove(&key) {
                            let _ = p.reply.send(Ok(()));
                        }
                    }
                    MavResult::MAV_RESULT_IN_PROGRESS => {
                        p.deadline = Instant::now() + self.cfg.in_progress_timeout;
                    }
                    result => {
                        if let Some(p) = self.commands.remove(&key) {
                            let _ = p.reply.send(Err(CommandError::Rejected {
                                system_id: sysid,
                                command: ack.command,
                                result,
                            }));
                        }
                    }
                }
            }
            MavMessage::PARAM_VALUE(v) => {
                let name = v.param_id.to_str().unwrap_or_default().to_owned();
                if let Some(p) = self.params.remove(&(sysid, name)) {
                    let _ = p.reply.send(Ok((v.param_value, v.param_type)));
                }
            }
            MavMessage::MISSION_REQUEST_INT(r) => {
                self.mission_request(sysid, r.seq, r.mission_type).await
            }
            #[allow(deprecated)]
            MavMessage::MISSION_REQUEST(r) => {
                self.mission_request(sysid, r.seq, r.mission_type).await
            }
            MavMessage::MISSION_COUNT(c) => {
                // The answer to the count request sent after the last item:
                // the vehicle holds as many items as were sent, so the
                // upload went through and only its MISSION_ACK was lost.
                // (ArduPilot answers no count while it is still receiving,
                // so an older mission of the same length cannot answer.)
                let done = self.uploads.get(&sysid).is_some_and(|up| {
                    up.final_sent
                        && up.kind == c.mission_type
                        && usize::from(c.count) == up.items.len()
                });
                if done && let Some(up) = self.uploads.remove(&sysid) {
                    let _ = up.reply.send(Ok(()));
                }
            }
            MavMessage::MISSION_ACK(a) => {
                let Some(up) = self.uploads.get(&sysid) else {
                    return;
                };
                if a.mission_type != up.kind {
                    return;
                }
                if a.mavtype == MavMissionResult::MAV_MISSION_INVALID_SEQUENCE
                    || (up.final_sent && a.mavtype == MavMissionResult::MAV_MISSION_DENIED)
                {
                    // ArduPilot's answer to an item it did not ask for (our
                    // resend crossed its next request), or to our count
                    // request while it still receives: the upload goes on.
                    return;
                }
                if let Some(up) = self.uploads.remove(&sysid) {
                    let r = if a.mavtype == MavMissionResult::MAV_MISSION_ACCEPTED {
                        Ok(())
                    } else {
                        Err(UploadError::Rejected {
                            system_id: sysid,
                            kind: up.kind,
                            result: a.mavtype,
                        })
                    };
                    let _ = up.reply.send(r);
                }
            }
            _ => {}
        }
    }

    async fn mission_request(&mut self, sysid: u8, seq: u16, kind: MavMissionType) {
        let timeout = self.cfg.mission_timeout;
        let Some(up) = self.uploads.get_mut(&sysid) else {
            return;
        };
        if kind != up.kind {
            return;
        }
        let Some(item) = up.items.get(usize::from(seq)) else {
            return;
        };
        let mut item = item.clone();
        item.seq = seq;
        item.target_system = sysid;
        item.mission_type = kind;
        let msg = MavMessage::MISSION_ITEM_INT(item);
        up.final_sent = usize::from(seq) + 1 == up.items.len();
        up.last = msg.clone();
        up.deadline = Instant::now() + timeout;
        up.resends = 0;
        self.send(Some(sysid), &msg).await;
    }

    fn knows(&self, system_id: u8) -> bool {
        self.fleet
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(system_id)
            .is_some()
    }

    pub(super) async fn request(&mut self, r: Request) {
        match r {
            Request::Command {
                system_id,
                command,
                reply,
            } => {
                if !self.knows(system_id) {
                    let _ = reply.send(Err(CommandError::UnknownVehicle(system_id)));
                    return;
                }
                let key = (system_id, command.id() as u32);
                // Same for a command nobody waits for any more.
                if self
                    .commands
                    .get(&key)
                    .is_some_and(|c| !c.reply.is_closed())
                {
                    let _ = reply.send(Err(CommandError::Busy {
                        system_id,
                        command: command.id(),
                    }));
                    return;
                }
                let p = PendingCommand {
                    command,
                    attempts: 1,
                    confirmation: 0,
                    deadline: Instant::now() + self.cfg.command_timeout,
                    reply,
                };
                let msg = command_msg(system_id, &p.command, p.confirmation);
                self.commands.insert(key, p);
                self.send(Some(system_id), &msg).await;
            }
            Request::Upload {
                system_id,
                kind,
                items,
                reply,
            } => {
                if !self.knows(system_id) {
                    let _ = reply.send(Err(UploadError::UnknownVehicle(system_id)));
                    return;
                }
                // An upload whose requester has gone (a launch called off) is
                // superseded: a new MISSION_COUNT restarts the transaction on
                // the vehicle, as the mission protocol allows.
                if self
                    .uploads
                    .get(&system_id)
                    .is_some_and(|u| !u.reply.is_closed())
                {
                    let _ = reply.send(Err(UploadError::Busy { system_id }));
                    return;
                }
                let count = MavMessage::MISSION_COUNT(MISSION_COUNT_DATA {
                    count: items.len() as u16,
                    target_system: system_id,
                    target_component: 1,
                    mission_type: kind,
                    opaque_id: 0,
                });
                self.uploads.insert(
                    system_id,
                    PendingUpload {
                        kind,
                        items,
                        last: count.clone(),
                        deadline: Instant::now() + self.cfg.mission_timeout,
                        resends: 0,
                        final_sent: false,
                        reply,
                    },
                );
                self.send(Some(system_id), &count).await;
            }
            Request::Param {
                system_id,
                name,
                set,
                reply,
            } => {
                if !self.knows(system_id) {
                    let _ = reply.send(Err(ParamError::UnknownVehicle(system_id)));
                    return;
                }
                let key = (system_id, name);
                if self.params.get(&key).is_some_and(|p| !p.reply.is_closed()) {
                    let _ = reply.send(Err(ParamError::Busy {
                        system_id,
                        name: key.1,
                    }));
                    return;
                }
                let param_id = key.1.as_str().into();
                let msg = match set {
                    None => MavMessage::PARAM_REQUEST_READ(PARAM_REQUEST_READ_DATA {
                        param_index: -1,
                        target_system: system_id,
                        target_component: 1,
                        param_id,
                    }),
                    Some((value, param_type)) => MavMessage::PARAM_SET(PARAM_SET_DATA {
                        param_value: value,
                        target_system: system_id,
                        target_component: 1,
                        param_id,
                        param_type,
                    }),
                };
                self.params.insert(
                    key,
                    PendingParam {
                        msg: msg.clone(),
                        attempts: 1,
                        deadline: Instant::now() + self.cfg.command_timeout,
                        reply,
                    },
                );
                self.send(Some(system_id), &msg).await;
            }
        }
    }

    pub(super) async fn timers(&mut self, now: Instant) {
        // Command retransmissions and timeouts.
        let due: Vec<(u8, u32)> = self
            .commands
            .iter()
            .filter(|(_, p)| now >= p.deadline)
            .map(|(k, _)| *k)
            .collect();
        for key in due {
            let Some(mut p) = self.commands.remove(&key) else {
                continue;
            };
            if p.attempts > self.cfg.command_retries {
                let _ = p.reply.send(Err(CommandError::Timeout {
                    system_id: key.0,
                    command: p.command.id(),
                    attempts: p.attempts,
                }));
                continue;
            }
            p.attempts += 1;
            p.confirmation = p.confirmation.saturating_add(1);
            p.deadline = now + self.cfg.command_timeout;
            let msg = command_msg(key.0, &p.command, p.confirmation);
            self.commands.insert(key, p);
            self.send(Some(key.0), &msg).await;
        }
        // Parameter requests: resend (a PARAM_SET is idempotent) or give up.
        let due: Vec<(u8, String)> = self
            .params
            .iter()
            .filter(|(_, p)| now >= p.deadline)
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            let Some(mut p) = self.params.remove(&key) else {
                continue;
            };
            if p.attempts > self.cfg.command_retries || p.reply.is_closed() {
                let _ = p.reply.send(Err(ParamError::Timeout {
                    system_id: key.0,
                    name: key.1,
                    attempts: p.attempts,
                }));
                continue;
            }
            p.attempts += 1;
            p.deadline = now + self.cfg.command_timeout;
            let msg = p.msg.clone();
            self.params.insert(key.clone(), p);
            self.send(Some(key.0), &msg).await;
        }
        // Mission upload resends.
        let due: Vec<u8> = self
            .uploads
            .iter()
            .filter(|(_, u)| now >= u.deadline)
            .map(|(k, _)| *k)
            .collect();
        for sysid in due {
            let Some(mut up) = self.uploads.remove(&sysid) else {
                continue;
            };
            if up.resends >= self.cfg.mission_retries {
                let _ = up.reply.send(Err(UploadError::Timeout {
                    system_id: sysid,
                    kind: up.kind,
                }));
                continue;
            }
            up.resends += 1;
            up.deadline = now + self.cfg.mission_timeout;
            let msg = up.last.clone();
            let verify = up.final_sent.then_some(MavMessage::MISSION_REQUEST_LIST(
                MISSION_REQUEST_LIST_DATA {
                    target_system: sysid,
                    target_component: 1,
                    mission_type: up.kind,
                },
            ));
            self.uploads.insert(sysid, up);
            self.send(Some(sysid), &msg).await;
            if let Some(v) = verify {
                self.send(Some(sysid), &v).await;
            }
        }
        // Link health.
        let t = self.link_t();
        let changes: Vec<(u8, LinkStatus)> = {
            let fleet = self.fleet.lock().unwrap_or_else(PoisonError::into_inner);
            fleet
                .iter()
                .filter_map(|v| {
                    let s = v.link_at(t, &self.cfg.timeouts);
                    (self.status.get(&v.system_id).is_some_and(|old| *old != s))
                        .then_some((v.system_id, s))
                })
                .collect()
        };
        for (system_id, status) in changes {
            self.status.insert(system_id, status);
            if let Some(v) = self
                .fleet
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_mut(system_id)
            {
                v.link = status;
            }
            let _ = self
                .events
                .send(LinkEvent::LinkStatus { system_id, status });
        }
    }
}

fn command_msg(system_id: u8, c: &Command, confirmation: u8) -> MavMessage {
    match c {
        Command::Long { command, params } | Command::Camera { command, params } => {
            let target_component = match c {
                Command::Camera { .. } => crate::camera::COMPONENT_CAMERA,
                _ => 1,
            };
            long_msg(system_id, target_component, *command, params, confirmation)
        }
        Command::Int {
            command,
            frame,
            params,
            x,
            y,
            z,
        } => MavMessage::COMMAND_INT(COMMAND_INT_DATA {
            param1: params[0],
            param2: params[1],
            param3: params[2],
            param4: params[3],
            x: *x,
            y: *y,
            z: *z,
            command: *command,
            target_system: system_id,
            target_component: 1,
            frame: *frame,
            current: 0,
            autocontinue: 0,
        }),
    }
}

fn long_msg(
    system_id: u8,
    target_component: u8,
    command: MavCmd,
    params: &[f32; 7],
    confirmation: u8,
) -> MavMessage {
    MavMessage::COMMAND_LONG(COMMAND_LONG_DATA {
        param1: params[0],
        param2: params[1],
        param3: params[2],
        param4: params[3],
        param5: params[4],
        param6: params[5],
        param7: params[6],
        command,
        target_system: system_id,
        target_component,
        confirmation,
    })
}

//! What the link task sends: each message encoded once, signed per key
//! (one frame per group of vehicles holding the same key), and routed to
//! where each vehicle is heard from, never to a contested one, and nothing
//! at all while the link's [`super::SendGate`] is shut.

use std::net::SocketAddr;
use std::sync::PoisonError;

use mavlink::Message as _;
use tokio::io::AsyncWriteExt;

use super::driver::Driver;
use super::transport::Transport;
use crate::codec::encode_v2;
use crate::mav::{HEARTBEAT_DATA, MavAutopilot, MavMessage, MavModeFlag, MavState, MavType};
use crate::signing::SecretKey;

impl Driver {
    /// The frames to send for `msg`: one unsigned frame without signing;
    /// with signing, one frame per key, each with the system ids it is for
    /// (None: every destination).
    fn frames(
        &mut self,
        system_id: Option<u8>,
        msg: &MavMessage,
    ) -> Vec<(Option<Vec<u8>>, Vec<u8>)> {
        let plain = encode_v2(self.cfg.system_id, self.cfg.component_id, self.seq, msg);
        self.seq = self.seq.wrapping_add(1);
        let Some(keys) = &self.cfg.signing else {
            return vec![(None, plain)];
        };
        let extra = MavMessage::extra_crc(msg.message_id());
        let systems: Vec<u8> = match system_id {
            Some(s) => vec![s],
            None => self
                .fleet
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .map(|v| v.system_id)
                .collect(),
        };
        // Group the systems by the key they hold (None: no key, unsigned).
        let mut groups: Vec<(Option<&SecretKey>, Vec<u8>)> = Vec::new();
        for s in systems {
            let k = keys.key_for(s);
            match groups.iter_mut().find(|(g, _)| *g == k) {
                Some((_, v)) => v.push(s),
                None => groups.push((k, vec![s])),
            }
        }
        groups
            .into_iter()
            .map(|(k, systems)| {
                let bytes = match k {
                    Some(k) => self.signer.sign(k, &plain, extra),
                    None => plain.clone(),
                };
                (Some(systems), bytes)
            })
            .collect()
    }

    pub(super) async fn send(&mut self, system_id: Option<u8>, msg: &MavMessage) {
        for (systems, bytes) in self.frames(system_id, msg) {
            // Nothing goes to a contested vehicle, nor to an address only
            // contested vehicles are heard from; a bound (or pinned) address
            // is where a vehicle is.
            let now = self.link_t();
            let (routed, contested_only) = {
                let fleet = self.fleet.lock().unwrap_or_else(PoisonError::into_inner);
                let contested = |s: &u8| fleet.get(*s).is_some_and(|v| v.contested_at(now));
                let to = |s: &u8| -> Option<SocketAddr> {
                    if contested(s) {
                        return None;
                    }
                    fleet
                        .get(*s)
                        .and_then(|v| v.bound_to)
                        .or_else(|| self.addrs.get(s).copied())
                };
                let routed: Vec<SocketAddr> = match &systems {
                    Some(list) => list.iter().filter_map(to).collect(),
                    None => self.addrs.keys().filter_map(to).collect(),
                };
                let only = systems
                    .as_ref()
                    .is_some_and(|l| !l.is_empty() && l.iter().all(contested));
                (routed, only)
            };
            if contested_only && !matches!(self.transport, Transport::Udp { peer: None, .. }) {
                tracing::debug!("nothing sent to contested system(s) {systems:?}");
                continue;
            }
            let gate = self.cfg.send_gate.clone();
            // Checked again right before each write: a frame built before a
            // pause is not sent after it.
            let allowed = || match &gate {
                Some(g) if !g.is_open() => {
                    g.count_refused();
                    false
                }
                _ => true,
            };
            let result = match &mut self.transport {
                Transport::Udp { socket, peer } => {
                    let mut dests: Vec<SocketAddr> = match peer {
                        Some(_) if contested_only => vec![],
                        Some(p) => vec![*p],
                        None => routed,
                    };
                    dests.sort();
                    dests.dedup();
                    let mut r = Ok(());
                    for d in dests {
                        if !allowed() {
                            continue;
                        }
                        if let Err(e) = socket.send_to(&bytes, d).await {
                            r = Err(e);
                        }
                    }
                    r
                }
                Transport::Tcp(_) | Transport::Memory { .. } if !allowed() => Ok(()),
                Transport::Tcp(s) => s.write_all(&bytes).await,
                Transport::Memory { tx, .. } => tx
                    .send(bytes)
                    .map_err(|_| std::io::Error::other("far end closed")),
            };
            if let Err(e) = result {
                tracing::debug!("link send error: {e}");
            }
        }
    }

    pub(super) async fn heartbeat(&mut self) {
        let hb = MavMessage::HEARTBEAT(HEARTBEAT_DATA {
            custom_mode: 0,
            mavtype: MavType::MAV_TYPE_GCS,
            autopilot: MavAutopilot::MAV_AUTOPILOT_INVALID,
            base_mode: MavModeFlag::empty(),
            system_status: MavState::MAV_STATE_ACTIVE,
            mavlink_version: 3,
        });
        self.send(None, &hb).await;
    }
}

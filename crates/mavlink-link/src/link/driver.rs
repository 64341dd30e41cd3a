//! The link task: its state, its loop (requests from handles, the 50 ms
//! tick with the 1 Hz heartbeat, datagrams from the transport), and what an
//! incoming datagram does (telemetry into the fleet table, events, link up,
//! stream requests). Sending is in `send`, the protocols in `protocol`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc, watch};

use super::protocol::{PendingCommand, PendingParam, PendingUpload};
use super::transport::{Transport, recv};
use super::{LinkConfig, LinkEvent, Request};
use crate::mav::{COMMAND_LONG_DATA, MavCmd, MavMessage};
use crate::signing::Signer;
use crate::state::{Fleet, Ingested, LinkStatus};

pub(super) struct Driver {
    pub(super) cfg: LinkConfig,
    pub(super) transport: Transport,
    pub(super) fleet: Arc<Mutex<Fleet>>,
    pub(super) events: broadcast::Sender<LinkEvent>,
    /// Where each system id was last heard from (UDP listen mode).
    pub(super) addrs: HashMap<u8, SocketAddr>,
    pub(super) status: HashMap<u8, LinkStatus>,
    pub(super) commands: HashMap<(u8, u32), PendingCommand>,
    pub(super) uploads: HashMap<u8, PendingUpload>,
    pub(super) params: HashMap<(u8, String), PendingParam>,
    pub(super) seq: u8,
    pub(super) start: Instant,
    pub(super) tcp_buf: Vec<u8>,
    pub(super) telemetry: watch::Sender<u64>,
    /// Rejected frames not yet reported, and when the last report went out.
    pub(super) bad_pending: u64,
    pub(super) bad_reported_at: Option<Instant>,
    /// Frames from foreign addresses per (system id, address) not yet
    /// reported, and when that pair was last reported.
    pub(super) foreign: HashMap<(u8, SocketAddr), (u64, Option<Instant>)>,
    pub(super) signer: Signer,
    /// Signature refusals not yet reported, and when the last report went out.
    pub(super) refused_pending: u64,
    pub(super) refused_reported_at: Option<Instant>,
}

impl Driver {
    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Request>) {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        let mut next_heartbeat = Instant::now();
        let mut buf = vec![0u8; 65_536];
        loop {
            tokio::select! {
                req = rx.recv() => match req {
                    Some(r) => self.request(r).await,
                    None => break,
                },
                _ = tick.tick() => {
                    let now = Instant::now();
                    if now >= next_heartbeat {
                        next_heartbeat = now + Duration::from_secs(1);
                        self.heartbeat().await;
                    }
                    self.timers(now).await;
                }
                got = recv(&mut self.transport, &mut buf, &mut self.tcp_buf) => match got {
                    Ok(Some((data, from))) => self.datagram(&data, from).await,
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!("link receive error: {e}");
                        if matches!(self.transport, Transport::Tcp(_) | Transport::Memory { .. }) {
                            break;
                        }
                    }
                },
            }
        }
    }

    pub(super) fn link_t(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    async fn datagram(&mut self, data: &[u8], from: Option<SocketAddr>) {
        let now = self.link_t();
        let mut out = Ingested::default();
        let seq = {
            let mut fleet = self.fleet.lock().unwrap_or_else(PoisonError::into_inner);
            fleet.timeouts = self.cfg.timeouts;
            fleet.ingest_from(data, from, now, &mut out);
            fleet.seq()
        };
        if out.telemetry_changed {
            self.telemetry.send_replace(seq);
        }
        for sysid in out.new_unknown_systems {
            tracing::warn!(
                system_id = sysid,
                "frames from an unconfigured system id; ignored"
            );
            let _ = self
                .events
                .send(LinkEvent::UnknownSystem { system_id: sysid });
        }
        for (system_id, report) in out.traffic {
            let _ = self.events.send(LinkEvent::Traffic { system_id, report });
        }
        for (system_id, severity, text) in out.texts {
            let _ = self.events.send(LinkEvent::StatusText {
                system_id,
                severity,
                text,
            });
        }
        self.bad_pending += out.errors.len() as u64;
        if let Some(error) = out.errors.pop()
            && self
                .bad_reported_at
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            let count = std::mem::take(&mut self.bad_pending);
            self.bad_reported_at = Some(Instant::now());
            let _ = self.events.send(LinkEvent::BadFrame { error, count });
        }
        self.refused_pending += out.signing.len() as u64;
        if let Some((system_id, error)) = out.signing.pop()
            && self
                .refused_reported_at
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            let count = std::mem::take(&mut self.refused_pending);
            self.refused_reported_at = Some(Instant::now());
            let _ = self.events.send(LinkEvent::SigningRefused {
                system_id,
                error,
                count,
            });
        }
        for (system_id, from, to) in std::mem::take(&mut out.rebound) {
            self.addrs.insert(system_id, to);
            let _ = self.events.send(LinkEvent::Rebound {
                system_id,
                from,
                to,
            });
        }
        for (system_id, from, bound_to) in std::mem::take(&mut out.foreign) {
            if self.foreign.len() >= 1024 && !self.foreign.contains_key(&(system_id, from)) {
                // An address spray: forget the oldest bookkeeping, keep counting.
                self.foreign.clear();
            }
            let key = (system_id, from);
            let n = self.foreign.entry(key).or_insert((0, None));
            n.0 += 1;
            if n.1
                .is_none_or(|t: Instant| t.elapsed() >= Duration::from_secs(1))
            {
                let count = std::mem::take(&mut n.0);
                n.1 = Some(Instant::now());
                let _ = self.events.send(LinkEvent::ForeignAddress {
                    system_id,
                    from,
                    bound_to,
                    count,
                });
            }
        }
        for sysid in out.heartbeats {
            if let Some(addr) = from {
                self.addrs.insert(sysid, addr);
            }
            let prev = self.status.insert(sysid, LinkStatus::Up);
            if prev != Some(LinkStatus::Up) {
                let _ = self.events.send(LinkEvent::LinkStatus {
                    system_id: sysid,
                    status: LinkStatus::Up,
                });
                if prev.is_none() || prev == Some(LinkStatus::Lost) {
                    self.request_streams(sysid).await;
                }
            }
        }
        for frame in out.protocol {
            if let Some(addr) = from {
                self.addrs.entry(frame.system_id).or_insert(addr);
            }
            self.protocol(frame.system_id, frame.message).await;
        }
    }

    /// Asks a vehicle for the telemetry rates the dispatcher needs (fire and forget:
    /// the acks are not awaited; a vehicle that comes back after a loss is asked again).
    async fn request_streams(&mut self, sysid: u8) {
        for (id, hz) in self.cfg.stream_rates.clone() {
            let msg = MavMessage::COMMAND_LONG(COMMAND_LONG_DATA {
                param1: id as f32,
                param2: (1e6 / hz) as f32,
                command: MavCmd::MAV_CMD_SET_MESSAGE_INTERVAL,
                target_system: sysid,
                target_component: 1,
                ..Default::default()
            });
            self.send(Some(sysid), &msg).await;
        }
    }
}

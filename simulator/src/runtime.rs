//! The IO around the vehicles: sockets, the clock, routing, faults, stats.
//!
//! One task owns every vehicle. Socket readers forward datagrams to it over a
//! channel; a 50 Hz tick advances sim time by `wall elapsed x speedup` in
//! steps of at most 20 ms of sim time; control commands arrive over another
//! channel with a oneshot reply. The played-back manned traffic flies in the
//! same sim time; its SBS-1 lines go out over a broadcast channel that the
//! feed's clients read at their own pace.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mavlink_link::codec::{FrameError, decode_datagram, encode_v2};
use mavlink_link::mav::{MavMessage, MavType};
use mavlink_link::mavlink::Message as _;
use mavlink_link::signing::{Keyring, SecretKey, Signer, Verified, Verifier};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{broadcast, mpsc};

use crate::Cli;
use crate::camera::hub::Cameras;
use crate::camera::{COMPONENT_CAMERA, scene};
use crate::control::{self, Command, Fault, Request, Target};
use crate::physics::Wind;
use crate::traffic::{self, Traffic, sbs};
use crate::vehicle::{Dest, Out, PeerId, Vehicle, VehicleConfig};

const VEHICLES_PER_LINK: usize = 250;
const MAX_SIM_STEP_S: f64 = 0.02;
const TICK: Duration = Duration::from_millis(20);
/// Extra ground stations are forgotten after this much silence, seconds of
/// link time (they send a heartbeat every second).
const PEER_TIMEOUT_S: f64 = 10.0;
/// Ground stations a vehicle streams its telemetry to, beside the permanent ones.
const MAX_GROUND_STATIONS: usize = 4;
const COMPONENT_AUTOPILOT: u8 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Link(usize),
    Vehicle(usize),
}

struct Peer {
    socket: usize,
    addr: SocketAddr,
    last_seen: f64,
    permanent: bool,
}

struct Slot {
    vehicle: Vehicle,
    peers: Vec<PeerId>,
    seq: u8,
    link_down_until: Option<f64>,
    loss_pct: f64,
    signing: Option<SlotSigning>,
}

/// A vehicle's MAVLink signing: its key, replay state and outgoing timestamps.
struct SlotSigning {
    key: SecretKey,
    verifier: Verifier,
    signer: Signer,
}

/// Messages that change a vehicle: never taken unsigned from a vehicle with a key.
#[allow(deprecated)] // SET_MODE and MISSION_SET_CURRENT are still sent by older stations.
fn is_write(m: &MavMessage) -> bool {
    matches!(
        m,
        MavMessage::COMMAND_LONG(_)
            | MavMessage::COMMAND_INT(_)
            | MavMessage::SET_MODE(_)
            | MavMessage::MISSION_COUNT(_)
            | MavMessage::MISSION_ITEM_INT(_)
            | MavMessage::MISSION_CLEAR_ALL(_)
            | MavMessage::MISSION_SET_CURRENT(_)
            | MavMessage::PARAM_SET(_)
            | MavMessage::SET_POSITION_TARGET_GLOBAL_INT(_)
            | MavMessage::SET_POSITION_TARGET_LOCAL_NED(_)
            | MavMessage::MANUAL_CONTROL(_)
            | MavMessage::RC_CHANNELS_OVERRIDE(_)
            | MavMessage::SETUP_SIGNING(_)
    ) || m.message_id() == 39 // MISSION_ITEM (deprecated)
}

/// Counters reported by `status` and at exit.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Stats {
    pub datagrams_in: u64,
    pub frames_in: u64,
    pub frames_out: u64,
    pub position_frames_out: u64,
    pub send_errors: u64,
    pub dropped_by_fault: u64,
    pub unroutable_frames: u64,
    /// Ground-station heartbeats not answered: the vehicle already streams to
    /// `MAX_GROUND_STATIONS` others.
    pub ground_stations_refused: u64,
    pub bad_frames: HashMap<String, u64>,
    /// Frames refused by vehicles' signature checks, by kind
    /// (`unsigned`, `unsigned_write`, `bad_signature`, `replayed`, `unknown_link`).
    pub signing_refused: HashMap<String, u64>,
    pub signed_frames_in: u64,
}

struct Sim {
    record: Option<std::io::BufWriter<std::fs::File>>,
    slots: Vec<Slot>,
    sockets: Vec<Arc<UdpSocket>>,
    roles: Vec<Role>,
    links: Vec<HashMap<u8, usize>>,
    peers: Vec<Peer>,
    peer_index: HashMap<(usize, SocketAddr), PeerId>,
    stats: Stats,
    rng: SmallRng,
    start: Instant,
    /// Sim time since start, seconds: the vehicles' and the traffic's clock.
    sim_t: f64,
    /// The wind every vehicle flies in (each adds its own gusts).
    wind: Wind,
    traffic: Traffic,
    /// The SBS-1 feed's lines, when `--sbs-listen` serves it.
    sbs: Option<broadcast::Sender<Arc<str>>>,
    next_sbs_s: f64,
    next_ident_s: f64,
    /// The vehicles' camera components and their HTTP servers.
    cameras: Cameras,
}

pub async fn run(
    cli: &Cli,
    configs: Vec<VehicleConfig>,
    faults: Vec<(Target, Fault)>,
) -> Result<()> {
    let n_links = configs.iter().map(|c| c.link + 1).max().unwrap_or(1);
    for l in 0..n_links {
        let on = configs.iter().filter(|c| c.link == l).count();
        if on > VEHICLES_PER_LINK {
            anyhow::bail!(
                "link {l} has {on} vehicles: at most {VEHICLES_PER_LINK} per link (system ids are one byte)"
            );
        }
    }
    let mut sockets = Vec::new();
    let mut roles = Vec::new();
    for l in 0..n_links {
        let mut bind = cli.bind;
        if l > 0 {
            bind.set_port(0);
        }
        let s = UdpSocket::bind(bind)
            .await
            .with_context(|| format!("cannot bind the fleet socket on {bind}"))?;
        sockets.push(Arc::new(s));
        roles.push(Role::Link(l));
    }
    let mut listen_ports = Vec::new();
    if let Some(base) = cli.listen_base {
        for (i, c) in configs.iter().enumerate() {
            let port = u16::try_from(usize::from(base) + i)
                .ok()
                .context("--listen-base leaves no room for every vehicle below port 65536")?;
            let addr = SocketAddr::new(cli.bind.ip(), port);
            let s = UdpSocket::bind(addr).await.with_context(|| {
                format!("cannot bind vehicle {} listening port {addr}", c.system_id)
            })?;
            listen_ports
                .push(serde_json::json!({"system_id": c.system_id, "name": c.name, "port": port}));
            sockets.push(Arc::new(s));
            roles.push(Role::Vehicle(i));
        }
    }

    let traffic = match &cli.traffic {
        Some(p) => traffic::load(p)?,
        None => Traffic::default(),
    };
    let record = match &cli.record {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => None,
    };
    // The scenario again for what the cameras see (its zones); `fleet`
    // has already refused a bad one.
    let scenario = cli
        .config
        .as_ref()
        .and_then(|p| dispatch_core::config::load(p).ok());
    let camera_specs = configs.iter().map(|c| c.camera.clone()).collect();
    let cameras = Cameras::start(
        camera_specs,
        cli.camera_host,
        scene::ground(scenario.as_ref()),
    )
    .await?;
    let mut sim = Sim {
        cameras,
        record,
        slots: Vec::new(),
        sockets,
        roles,
        links: vec![HashMap::new(); n_links],
        peers: Vec::new(),
        peer_index: HashMap::new(),
        stats: Stats::default(),
        rng: SmallRng::seed_from_u64(cli.seed),
        start: Instant::now(),
        sim_t: 0.0,
        wind: Wind {
            speed_mps: cli.wind.0,
            from_deg: cli.wind.1,
            gust_mps: cli.gust,
        },
        traffic,
        sbs: None,
        next_sbs_s: 0.0,
        next_ident_s: 0.0,
    };
    for (i, c) in configs.into_iter().enumerate() {
        let link = c.link;
        if sim.links[link].insert(c.system_id, i).is_some() {
            anyhow::bail!("system id {} is used twice on link {link}", c.system_id);
        }
        let to: Vec<SocketAddr> = match cli.link_gcs.get(link) {
            Some(list) => list.0.clone(),
            None => cli.gcs.clone(),
        };
        let gcs: Vec<PeerId> = to.into_iter().map(|a| sim.peer(link, a, true)).collect();
        let signing = c.signing_key.clone().map(|key| SlotSigning {
            verifier: Verifier::new(Keyring {
                default: Some(key.clone()),
                per_system: HashMap::new(),
                allow_unsigned: c.allow_unsigned,
            }),
            key,
            signer: Signer::new(0),
        });
        sim.slots.push(Slot {
            signing,
            vehicle: Vehicle::new(c),
            peers: gcs,
            seq: 0,
            link_down_until: None,
            loss_pct: 0.0,
        });
    }
    for (t, f) in faults {
        let reply = sim.apply_fault(t, f);
        if reply.starts_with("error") {
            anyhow::bail!("--fault: {reply}");
        }
    }

    let (dg_tx, mut dg_rx) = mpsc::channel::<(usize, SocketAddr, Vec<u8>)>(4096);
    for (i, s) in sim.sockets.iter().enumerate() {
        let s = Arc::clone(s);
        let tx = dg_tx.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            loop {
                match s.recv_from(&mut buf).await {
                    Ok((n, from)) => {
                        if tx.send((i, from, buf[..n].to_vec())).await.is_err() {
                            break;
                        }
                    }
                    // ICMP port unreachable from a peer that went away: keep serving.
                    Err(e) => tracing::debug!("receive error on socket {i}: {e}"),
                }
            }
        });
    }
    drop(dg_tx);

    let (ctl_tx, mut ctl_rx) = mpsc::channel::<Request>(64);
    let control_addr = match cli.control {
        Some(addr) => {
            let l = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot bind the control interface on {addr}"))?;
            let a = l.local_addr()?;
            tokio::spawn(control::serve(l, ctl_tx.clone()));
            Some(a)
        }
        None => None,
    };

    let sbs_addr = match cli.sbs_listen {
        Some(addr) => {
            let l = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot bind the SBS feed on {addr}"))?;
            let a = l.local_addr()?;
            let (tx, _) = broadcast::channel(sbs::BACKLOG);
            tokio::spawn(sbs::serve(l, tx.clone()));
            sim.sbs = Some(tx);
            Some(a)
        }
        None => None,
    };

    let mavlink_addrs: Vec<String> = sim
        .sockets
        .iter()
        .zip(&sim.roles)
        .filter(|(_, r)| matches!(r, Role::Link(_)))
        .filter_map(|(s, _)| s.local_addr().ok().map(|a| a.to_string()))
        .collect();
    let ready = serde_json::json!({
        "event": "ready",
        "mavlink": mavlink_addrs.first(),
        "links": mavlink_addrs,
        "gcs": cli.gcs.first().map(|a| a.to_string()),
        "ground_stations": cli.gcs.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "control": control::describe(control_addr),
        "listen": listen_ports,
        "sbs": control::describe(sbs_addr),
        "traffic": sim.traffic.aircraft.len(),
        "cameras": sim.cameras.listing(&sim.slots.iter().map(|s| &s.vehicle).collect::<Vec<_>>()),
        "vehicles": sim.slots.len(),
        "speedup": cli.speedup,
    });
    println!("{ready}");
    tracing::info!(
        vehicles = sim.slots.len(),
        gcs = %cli.gcs.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(","),
        "simulator ready; MAVLink on {}",
        mavlink_addrs.join(", ")
    );

    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = Instant::now();
    let deadline = cli
        .duration
        .map(|d| sim.start + Duration::from_secs_f64(d.max(0.0)));
    let cpu_start = cpu_seconds();
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let now = Instant::now();
                let wall = now.duration_since(last).as_secs_f64();
                last = now;
                // Never more than a few ticks' worth at once: an overloaded
                // simulator falls behind (the achieved speedup drops) instead
                // of spiralling into ever longer ticks.
                sim.advance((wall * cli.speedup).min(TICK.as_secs_f64() * cli.speedup * 3.0));
                sim.camera_tick();
                if deadline.is_some_and(|d| now >= d) {
                    break;
                }
            }
            Some((sock, from, data)) = dg_rx.recv() => sim.on_datagram(sock, from, &data),
            Some((cmd, reply)) = ctl_rx.recv() => {
                let text = sim.command(cmd);
                let _ = reply.send(text);
            }
            _ = &mut shutdown => break,
        }
    }
    if let Some(mut w) = sim.record.take() {
        use std::io::Write as _;
        w.flush().context("cannot finish the recording")?;
    }
    let elapsed = sim.start.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu_start).map(|(b, a)| b - a);
    let stats = serde_json::json!({
        "event": "stats",
        "elapsed_s": elapsed,
        "vehicles": sim.slots.len(),
        "speedup": cli.speedup,
        "frames_out_per_s": sim.stats.frames_out as f64 / elapsed,
        "position_frames_out_per_s": sim.stats.position_frames_out as f64 / elapsed,
        "position_hz_per_vehicle": sim.stats.position_frames_out as f64 / elapsed / sim.slots.len().max(1) as f64 / cli.speedup,
        "cpu_percent_of_one_core": cpu.map(|c| 100.0 * c / elapsed),
        "counters": sim.stats,
        "cameras": &*sim.cameras.stats,
    });
    println!("{stats}");
    Ok(())
}

impl Sim {
    fn link_t(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    fn peer(&mut self, socket: usize, addr: SocketAddr, permanent: bool) -> PeerId {
        let t = self.link_t();
        if let Some(&id) = self.peer_index.get(&(socket, addr)) {
            self.peers[id as usize].last_seen = t;
            return id;
        }
        let id = self.peers.len() as PeerId;
        self.peers.push(Peer {
            socket,
            addr,
            last_seen: t,
            permanent,
        });
        self.peer_index.insert((socket, addr), id);
        id
    }

    fn advance(&mut self, mut sim_dt: f64) {
        let link_t = self.link_t();
        while sim_dt > 1e-9 {
            let dt = sim_dt.min(MAX_SIM_STEP_S);
            sim_dt -= dt;
            self.sim_t += dt;
            for i in 0..self.slots.len() {
                let outs = self.slots[i]
                    .vehicle
                    .step(link_t, dt, &mut self.rng, &self.traffic);
                self.send(i, outs);
            }
            if self.sim_t >= self.next_sbs_s {
                self.next_sbs_s += 1.0;
                self.sbs_report();
            }
        }
    }

    /// One second's SBS-1 lines for every aircraft in the air.
    fn sbs_report(&mut self) {
        let ident = self.sim_t >= self.next_ident_s;
        if ident {
            self.next_ident_s += sbs::IDENT_EVERY_S;
        }
        let Some(tx) = &self.sbs else { return };
        if tx.receiver_count() == 0 || self.traffic.is_empty() {
            return;
        }
        let now = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now());
        let batch: String = self
            .traffic
            .contacts_at(self.sim_t)
            .iter()
            .map(|c| sbs::lines(c, ident, now))
            .collect();
        if !batch.is_empty() {
            // Fails only with no client left: nothing to do.
            let _ = tx.send(Arc::from(batch));
        }
    }

    fn on_datagram(&mut self, sock: usize, from: SocketAddr, data: &[u8]) {
        self.stats.datagrams_in += 1;
        let peer = self.peer(sock, from, false);
        for r in decode_datagram(data) {
            let frame = match r {
                Ok(f) => f,
                Err(e) => {
                    self.bad_frame(from, &e);
                    continue;
                }
            };
            self.stats.frames_in += 1;
            let targets: Vec<usize> = match self.roles[sock] {
                Role::Vehicle(i) => vec![i],
                Role::Link(l) => match frame.message.target_system_id() {
                    Some(t) if t != 0 => match self.links[l].get(&t) {
                        Some(&i) => vec![i],
                        None => {
                            self.stats.unroutable_frames += 1;
                            tracing::debug!(
                                target_system = t,
                                "frame for a system id this simulator does not run"
                            );
                            continue;
                        }
                    },
                    _ => self.links[l].values().copied().collect(),
                },
            };
            let bytes = data.get(frame.span.clone()).unwrap_or_default();
            let mut refusal: Option<&'static str> = None;
            let mut accepted_by_any = false;
            for i in targets {
                if let Some(sg) = self.slots[i].signing.as_mut() {
                    match sg
                        .verifier
                        .verify(bytes, frame.system_id, frame.component_id)
                    {
                        Ok(Verified::Signed { .. }) => self.stats.signed_frames_in += 1,
                        Ok(Verified::Unsigned) if is_write(&frame.message) => {
                            refusal = Some("unsigned_write");
                            continue;
                        }
                        Ok(Verified::Unsigned) => {}
                        Err(e) => {
                            refusal = Some(e.kind());
                            continue;
                        }
                    }
                }
                accepted_by_any = true;
                if self.faulted(i) {
                    self.stats.dropped_by_fault += 1;
                    continue;
                }
                // Only a ground station's heartbeat subscribes its sender to
                // the vehicle's telemetry (commands get their answers all the
                // same), and only a few at a time: one datagram to all
                // vehicles must not make them all stream to anyone.
                let gcs_heartbeat = matches!(
                    &frame.message,
                    MavMessage::HEARTBEAT(h) if h.mavtype == MavType::MAV_TYPE_GCS
                );
                if gcs_heartbeat && !self.slots[i].peers.contains(&peer) {
                    let extra = self.slots[i]
                        .peers
                        .iter()
                        .filter(|&&p| !self.peers[p as usize].permanent)
                        .count();
                    if extra < MAX_GROUND_STATIONS {
                        self.slots[i].peers.push(peer);
                    } else {
                        self.stats.ground_stations_refused += 1;
                        if self.stats.ground_stations_refused.is_power_of_two() {
                            tracing::warn!(
                                %from,
                                count = self.stats.ground_stations_refused,
                                "ground station not answered: the vehicle already streams to {MAX_GROUND_STATIONS} others"
                            );
                        }
                    }
                }
                let link_t = self.link_t();
                let src = (frame.system_id, frame.component_id);
                if self.cameras.claims(i, &frame.message) {
                    let vehicles: Vec<&Vehicle> = self.slots.iter().map(|s| &s.vehicle).collect();
                    let msgs = self.cameras.handle(i, &frame.message, src, &vehicles);
                    let outs = msgs
                        .into_iter()
                        .map(|msg| Out {
                            dest: Dest::Peer(peer),
                            msg,
                        })
                        .collect();
                    self.send_from(i, COMPONENT_CAMERA, outs);
                    continue;
                }
                let outs = self.slots[i]
                    .vehicle
                    .handle(link_t, peer, src, &frame.message);
                self.send(i, outs);
            }
            // A broadcast frame signed for some vehicles is not refused by
            // the others' keys: counted only when no vehicle took it.
            if let Some(kind) = refusal
                && !accepted_by_any
            {
                let n = self
                    .stats
                    .signing_refused
                    .entry(kind.to_owned())
                    .or_default();
                *n += 1;
                if *n <= 10 || (*n).is_multiple_of(1000) {
                    tracing::warn!(%from, count = *n, kind, system_id = frame.system_id, "MAVLink frame refused by signature checks");
                }
            }
        }
    }

    fn bad_frame(&mut self, from: SocketAddr, e: &FrameError) {
        let kind = match e {
            FrameError::Garbage { .. } => "garbage",
            FrameError::Truncated { .. } => "truncated",
            FrameError::BadCrc { .. } => "bad_crc",
            FrameError::UnknownMessage { .. } => "unknown_message",
            FrameError::BadPayload { .. } => "bad_payload",
            FrameError::UnsupportedFlags { .. } => "unsupported_flags",
        };
        let n = self.stats.bad_frames.entry(kind.to_owned()).or_default();
        *n += 1;
        // Every bad frame is counted; the log shows the first ones and then one in a thousand.
        if *n <= 10 || (*n).is_multiple_of(1000) {
            tracing::warn!(%from, count = *n, "rejected MAVLink input: {e}");
        }
    }

    /// Whether the vehicle's link is down or this frame is lost to injected loss.
    fn faulted(&mut self, i: usize) -> bool {
        let t = self.link_t();
        let s = &mut self.slots[i];
        if s.link_down_until.is_some_and(|u| t < u) {
            return true;
        }
        s.loss_pct > 0.0 && self.rng.random_range(0.0..100.0) < s.loss_pct
    }

    /// Queues a frame of every watched camera stream that is due.
    fn camera_tick(&mut self) {
        let wall_t = self.link_t();
        let vehicles: Vec<&Vehicle> = self.slots.iter().map(|s| &s.vehicle).collect();
        self.cameras.tick(wall_t, self.sim_t, &vehicles);
    }

    fn send(&mut self, i: usize, outs: Vec<Out>) {
        self.send_from(i, COMPONENT_AUTOPILOT, outs);
    }

    /// Sends `outs` from component `component` of vehicle `i`.
    fn send_from(&mut self, i: usize, component: u8, outs: Vec<Out>) {
        if outs.is_empty() {
            return;
        }
        let t = self.link_t();
        // Forget extra ground stations that went quiet.
        let peers = &self.peers;
        self.slots[i].peers.retain(|&p| {
            peers[p as usize].permanent || t - peers[p as usize].last_seen < PEER_TIMEOUT_S
        });
        for out in outs {
            if self.faulted(i) {
                self.stats.dropped_by_fault += 1;
                continue;
            }
            let slot = &mut self.slots[i];
            let mut bytes = encode_v2(slot.vehicle.system_id(), component, slot.seq, &out.msg);
            if let Some(sg) = slot.signing.as_mut() {
                bytes =
                    sg.signer
                        .sign(&sg.key, &bytes, MavMessage::extra_crc(out.msg.message_id()));
            }
            slot.seq = slot.seq.wrapping_add(1);
            let dests: Vec<PeerId> = match out.dest {
                Dest::All => slot.peers.clone(),
                Dest::Peer(p) => vec![p],
            };
            if out.msg.message_id() == 33 {
                self.stats.position_frames_out += 1;
            }
            if let Some(w) = self.record.as_mut() {
                use std::io::Write as _;
                let len = (bytes.len() as u32).to_le_bytes();
                if let Err(e) = w.write_all(&len).and_then(|()| w.write_all(&bytes)) {
                    tracing::error!("recording stopped: {e}");
                    self.record = None;
                }
            }
            for p in dests {
                let peer = &self.peers[p as usize];
                match self.sockets[peer.socket].try_send_to(&bytes, peer.addr) {
                    Ok(_) => self.stats.frames_out += 1,
                    Err(e) => {
                        self.stats.send_errors += 1;
                        if self.stats.send_errors <= 10
                            || self.stats.send_errors.is_multiple_of(10_000)
                        {
                            tracing::warn!(to = %peer.addr, count = self.stats.send_errors, "send failed: {e}");
                        }
                    }
                }
            }
        }
    }

    fn targets(&self, t: Target) -> Vec<usize> {
        match t {
            Target::All => (0..self.slots.len()).collect(),
            Target::System(s) => self
                .slots
                .iter()
                .enumerate()
                .filter(|(_, v)| v.vehicle.system_id() == s)
                .map(|(i, _)| i)
                .collect(),
        }
    }

    fn apply_fault(&mut self, t: Target, f: Fault) -> String {
        let idx = self.targets(t);
        if idx.is_empty() {
            return format!("error: no vehicle with system id {t:?}");
        }
        let now = self.link_t();
        for &i in &idx {
            let outs = {
                let s = &mut self.slots[i];
                match f {
                    Fault::LinkDrop { seconds } => {
                        s.link_down_until = Some(now + seconds);
                        Vec::new()
                    }
                    Fault::PacketLoss { percent } => {
                        s.loss_pct = percent;
                        Vec::new()
                    }
                    Fault::GpsLoss => {
                        let mut fl = s.vehicle.faults();
                        fl.gps_lost = true;
                        s.vehicle.set_faults(fl)
                    }
                    Fault::MotorFailure => {
                        let mut fl = s.vehicle.faults();
                        fl.motor_failed = true;
                        s.vehicle.set_faults(fl)
                    }
                    Fault::Battery { percent } => s.vehicle.battery_fault(percent),
                }
            };
            self.send(i, outs);
        }
        format!("ok {f:?} on {} vehicle(s)", idx.len())
    }

    fn command(&mut self, cmd: Command) -> String {
        match cmd {
            Command::Status => {
                let vehicles: Vec<_> = self.slots.iter().map(|s| s.vehicle.status()).collect();
                serde_json::json!({
                    "vehicles": vehicles,
                    "counters": self.stats,
                    "uptime_s": self.link_t(),
                    "sim_time_s": self.sim_t,
                    "wind": {
                        "speed_mps": self.wind.speed_mps,
                        "from_deg": self.wind.from_deg,
                        "gust_mps": self.wind.gust_mps,
                    },
                    "traffic": self.traffic.status_at(self.sim_t),
                    "cameras": &*self.cameras.stats,
                })
                .to_string()
            }
            Command::Fault(t, f) => self.apply_fault(t, f),
            Command::Wind {
                speed_mps,
                from_deg,
                gust_mps,
            } => {
                self.wind = Wind {
                    speed_mps,
                    from_deg,
                    gust_mps: gust_mps.unwrap_or(self.wind.gust_mps),
                };
                for s in &mut self.slots {
                    s.vehicle.set_wind(self.wind);
                }
                format!(
                    "ok wind {} m/s from {} deg, gusts {} m/s, on {} vehicle(s)",
                    self.wind.speed_mps,
                    self.wind.from_deg,
                    self.wind.gust_mps,
                    self.slots.len()
                )
            }
            Command::Clear(t) => {
                let idx = self.targets(t);
                if idx.is_empty() {
                    return format!("error: no vehicle with system id {t:?}");
                }
                for &i in &idx {
                    let s = &mut self.slots[i];
                    s.link_down_until = None;
                    s.loss_pct = 0.0;
                    let outs = s.vehicle.set_faults(Default::default());
                    self.send(i, outs);
                }
                format!("ok cleared {} vehicle(s)", idx.len())
            }
        }
    }
}

/// Ctrl-C or SIGTERM: stop and print the statistics.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Process CPU time (user + system), from /proc on Linux; `None` elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

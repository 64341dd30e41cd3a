//! What the dispatcher knows of each vehicle, fed by telemetry.
//!
//! `Fleet::ingest` is the hot path (decode + state update): every frame of
//! every vehicle passes through it. Vehicles are looked up by system id in a
//! 256-entry table; frames from system ids that are not configured are
//! counted per id and never trusted.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::codec::{Frame, FrameError, decode_datagram};
use crate::mav::{MavMessage, MavModeFlag, MavState};
use crate::modes::{Autopilot, FlightMode};
use crate::signing::{Keyring, SignError, Verified, Verifier};

/// Link health from heartbeat timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStatus {
    /// No heartbeat seen yet.
    Unknown,
    Up,
    /// Heartbeats late (more than `degraded_after_s`).
    Degraded,
    /// No heartbeat for `lost_after_s`.
    Lost,
}

impl LinkStatus {
    /// `unknown`, `up`, `degraded` or `lost`.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Unknown => "unknown",
            LinkStatus::Up => "up",
            LinkStatus::Degraded => "degraded",
            LinkStatus::Lost => "lost",
        }
    }
}

/// Timeouts for link health, seconds of the link clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkTimeouts {
    pub degraded_after_s: f64,
    pub lost_after_s: f64,
}

impl Default for LinkTimeouts {
    fn default() -> Self {
        // QGroundControl calls a link lost after about 3 s without a heartbeat.
        Self {
            degraded_after_s: 1.5,
            lost_after_s: 3.0,
        }
    }
}

/// State of one vehicle.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleState {
    pub system_id: u8,
    pub autopilot: Option<Autopilot>,
    pub custom_mode: u32,
    pub mode: FlightMode,
    pub armed: bool,
    pub system_status: MavState,
    pub lat: f64,
    pub lon: f64,
    /// Altitude above home, metres.
    pub rel_alt_m: f64,
    pub heading_deg: f64,
    pub ground_speed_mps: f64,
    pub climb_mps: f64,
    pub battery_pct: Option<f64>,
    pub voltage_v: Option<f64>,
    pub mission_seq: u16,
    pub mission_reached: Option<u16>,
    pub landed: Option<bool>,
    /// Vehicle clock, ms since boot (sim time on the simulator).
    pub time_boot_ms: u32,
    /// Link time at which `time_boot_ms` was last read from the vehicle
    /// (for comparing the vehicle's clock with ours).
    pub time_boot_at: f64,
    /// Height above home (m) when a heartbeat last showed the vehicle going
    /// from armed to disarmed (None since it was armed again): a disarm in
    /// the air shows here even when the fall is over before anyone looks.
    pub disarmed_at_alt_m: Option<f64>,
    /// The address this system id is bound to (the first it was heard from,
    /// or the next one after its link was lost): frames from any other
    /// address are not believed, and replies go only here.
    pub bound_to: Option<SocketAddr>,
    /// Claimed from a second address while the bound one is alive: which
    /// is the vehicle cannot be told (without signing), so nothing is sent
    /// to it until the claims stop, it is bound by hand, or its address is
    /// pinned in the configuration.
    pub contested: Option<Contest>,
    /// Positions refused as impossible jumps (faster than any airframe).
    pub implausible_positions: u64,
    /// The vehicle's clock at the last position taken (None: no fix yet).
    pub fix_boot_ms: Option<u32>,
    pub last_heartbeat: Option<f64>,
    pub link: LinkStatus,
    pub frames: u64,
    /// Fleet-wide sequence number of the last telemetry change (0: never), so
    /// that readers can ask "what changed since I last looked".
    pub changed_seq: u64,
    /// Link clock (s) when the last telemetry change arrived.
    pub changed_at: f64,
    /// The vehicle's latest wind estimate (ArduPilot's `WIND`).
    pub wind: Option<WindReport>,
    /// `WIND` messages refused as impossible (not finite, over 100 m/s).
    pub bad_wind_reports: u64,
    /// What its camera component said (None: no camera heard).
    pub camera: Option<crate::camera::CameraInfo>,
}

/// A vehicle's wind estimate as it sent it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindReport {
    pub speed_mps: f64,
    /// Degrees clockwise from north the wind blows FROM, in [0, 360).
    pub from_deg: f64,
    /// Vertical wind, m/s (up positive in ArduPilot's convention).
    pub vertical_mps: f64,
    /// Link clock (s) when it arrived.
    pub at: f64,
}

impl VehicleState {
    /// A vehicle not heard yet.
    pub fn new(system_id: u8) -> Self {
        Self {
            system_id,
            autopilot: None,
            custom_mode: 0,
            mode: FlightMode::Other(0),
            armed: false,
            system_status: MavState::MAV_STATE_UNINIT,
            lat: 0.0,
            lon: 0.0,
            rel_alt_m: 0.0,
            heading_deg: 0.0,
            ground_speed_mps: 0.0,
            climb_mps: 0.0,
            battery_pct: None,
            voltage_v: None,
            mission_seq: 0,
            mission_reached: None,
            landed: None,
            time_boot_ms: 0,
            time_boot_at: 0.0,
            disarmed_at_alt_m: None,
            bound_to: None,
            contested: None,
            implausible_positions: 0,
            fix_boot_ms: None,
            last_heartbeat: None,
            link: LinkStatus::Unknown,
            frames: 0,
            changed_seq: 0,
            changed_at: 0.0,
            wind: None,
            bad_wind_reports: 0,
            camera: None,
        }
    }

    /// Updates from one message. Returns true for a heartbeat.
    pub fn apply(&mut self, msg: &MavMessage, now: f64) -> bool {
        self.frames += 1;
        match msg {
            MavMessage::HEARTBEAT(hb) => {
                let ap = Autopilot::from_mav_autopilot(hb.autopilot as u8);
                self.autopilot = ap.or(self.autopilot);
                self.custom_mode = hb.custom_mode;
                self.mode = ap.unwrap_or(Autopilot::ArduCopter).decode(hb.custom_mode);
                let armed = hb
                    .base_mode
                    .contains(MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED);
                if self.armed && !armed {
                    self.disarmed_at_alt_m = Some(self.rel_alt_m);
                } else if armed {
                    self.disarmed_at_alt_m = None;
                }
                self.armed = armed;
                self.system_status = hb.system_status;
                self.last_heartbeat = Some(now);
                self.link = LinkStatus::Up;
                return true;
            }
            MavMessage::GLOBAL_POSITION_INT(p) => {
                if !self.plausible_move(p) {
                    self.implausible_positions += 1;
                    return false;
                }
                self.fix_boot_ms = Some(p.time_boot_ms);
                self.lat = f64::from(p.lat) / 1e7;
                self.lon = f64::from(p.lon) / 1e7;
                self.rel_alt_m = f64::from(p.relative_alt) / 1000.0;
                self.ground_speed_mps = f64::from(p.vx).hypot(f64::from(p.vy)) / 100.0;
                self.climb_mps = -f64::from(p.vz) / 100.0;
                if p.hdg != u16::MAX {
                    self.heading_deg = f64::from(p.hdg) / 100.0;
                }
                if p.time_boot_ms != self.time_boot_ms {
                    self.time_boot_at = now;
                }
                self.time_boot_ms = p.time_boot_ms;
            }
            MavMessage::ATTITUDE(a) => {
                self.time_boot_ms = self.time_boot_ms.max(a.time_boot_ms);
            }
            MavMessage::SYS_STATUS(s) => {
                if s.battery_remaining >= 0 {
                    self.battery_pct = Some(f64::from(s.battery_remaining));
                }
                if s.voltage_battery != u16::MAX {
                    self.voltage_v = Some(f64::from(s.voltage_battery) / 1000.0);
                }
            }
            MavMessage::BATTERY_STATUS(b) if b.battery_remaining >= 0 => {
                self.battery_pct = Some(f64::from(b.battery_remaining));
            }
            MavMessage::VFR_HUD(v) => {
                self.ground_speed_mps = f64::from(v.groundspeed);
                self.climb_mps = f64::from(v.climb);
            }
            MavMessage::MISSION_CURRENT(m) => self.mission_seq = m.seq,
            MavMessage::MISSION_ITEM_REACHED(m) => self.mission_reached = Some(m.seq),
            MavMessage::EXTENDED_SYS_STATE(e) => {
                self.landed =
                    Some(e.landed_state == crate::mav::MavLandedState::MAV_LANDED_STATE_ON_GROUND);
            }
            MavMessage::WIND(w) => {
                let (dir, speed, vz) = (
                    f64::from(w.direction),
                    f64::from(w.speed),
                    f64::from(w.speed_z),
                );
                if dir.is_finite()
                    && speed.is_finite()
                    && vz.is_finite()
                    && (0.0..=100.0).contains(&speed)
                {
                    self.wind = Some(WindReport {
                        speed_mps: speed,
                        from_deg: dir.rem_euclid(360.0),
                        vertical_mps: vz,
                        at: now,
                    });
                } else {
                    self.bad_wind_reports += 1;
                }
            }
            _ => {}
        }
        false
    }

    /// Whether a new position could have been flown to from the last one:
    /// no faster than `MAX_PLAUSIBLE_SPEED_MPS` over the vehicle's own clock,
    /// plus `JUMP_SLACK_M` for GPS glitches. A clock that went backwards (a
    /// reboot) counts as a tenth of a second.
    fn plausible_move(&self, p: &crate::mav::GLOBAL_POSITION_INT_DATA) -> bool {
        let Some(at_ms) = self.fix_boot_ms else {
            return true; // the first fix
        };
        let lat = f64::from(p.lat) / 1e7;
        let lon = f64::from(p.lon) / 1e7;
        let dn = (lat - self.lat) * 111_195.0;
        let de = (lon - self.lon) * 111_195.0 * self.lat.to_radians().cos();
        let dt = if p.time_boot_ms > at_ms {
            f64::from(p.time_boot_ms - at_ms) / 1000.0
        } else {
            0.1
        };
        dn.hypot(de) <= MAX_PLAUSIBLE_SPEED_MPS * dt + JUMP_SLACK_M
    }

    /// Whether the vehicle is contested at `now`: claimed from a second
    /// address within the last [`CONTEST_CLEAR_S`].
    pub fn contested_at(&self, now: f64) -> bool {
        self.contested
            .is_some_and(|c| now - c.last_claim <= CONTEST_CLEAR_S)
    }

    /// Link health at `now` from the last heartbeat.
    pub fn link_at(&self, now: f64, t: &LinkTimeouts) -> LinkStatus {
        match self.last_heartbeat {
            None => LinkStatus::Unknown,
            Some(h) if now - h > t.lost_after_s => LinkStatus::Lost,
            Some(h) if now - h > t.degraded_after_s => LinkStatus::Degraded,
            Some(_) => LinkStatus::Up,
        }
    }
}

/// Frames claiming a vehicle from a second address.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contest {
    /// The address that is not bound.
    pub other: SocketAddr,
    /// Link time of its latest frame.
    pub last_claim: f64,
}

/// Seconds without a second claim after which a contest is over.
pub const CONTEST_CLEAR_S: f64 = 10.0;

/// No multicopter of the fleet flies faster (m/s); a position further away
/// than this allows is a glitch or a forgery.
pub const MAX_PLAUSIBLE_SPEED_MPS: f64 = 60.0;
pub const JUMP_SLACK_M: f64 = 100.0;

/// Counters of input that was not used.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestCounters {
    pub frames: u64,
    pub bad_frames: u64,
    /// Frames per unconfigured system id.
    pub unknown_systems: BTreeMap<u8, u64>,
    /// Frames per system id from an address it is not bound to.
    pub foreign_address: BTreeMap<u8, u64>,
    /// Frames refused by signature checks, by kind (`unsigned`,
    /// `bad_signature`, `replayed`, `unknown_link`).
    pub signing_refused: BTreeMap<&'static str, u64>,
    /// Signed frames that verified.
    pub signed_frames: u64,
    pub last_error: Option<String>,
}

impl IngestCounters {
    /// Adds another link's counters (a server with several links).
    pub fn merge(&mut self, o: &IngestCounters) {
        self.frames += o.frames;
        self.bad_frames += o.bad_frames;
        for (k, v) in &o.unknown_systems {
            *self.unknown_systems.entry(*k).or_default() += v;
        }
        for (k, v) in &o.foreign_address {
            *self.foreign_address.entry(*k).or_default() += v;
        }
        for (k, v) in &o.signing_refused {
            *self.signing_refused.entry(k).or_default() += v;
        }
        self.signed_frames += o.signed_frames;
        if o.last_error.is_some() {
            self.last_error = o.last_error.clone();
        }
    }
}

/// All configured vehicles.
#[derive(Debug, Clone)]
pub struct Fleet {
    slots: Vec<Option<VehicleState>>,
    pub counters: IngestCounters,
    /// Last telemetry change sequence number handed out.
    seq: u64,
    /// When a bound address counts as gone (its link lost), so that another may bind.
    pub timeouts: LinkTimeouts,
    /// Signature checks, when the link has keys.
    verifier: Option<Verifier>,
    /// Addresses fixed by configuration (or by hand): frames from any
    /// other are foreign, never a contest, never a rebinding.
    pinned: BTreeMap<u8, SocketAddr>,
}

/// What a datagram changed, for the caller's bookkeeping.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ingested {
    /// Vehicles that sent a heartbeat (first sightings trigger rate requests).
    pub heartbeats: Vec<u8>,
    /// Frames for the protocol layers (acks, mission requests), with their sender.
    pub protocol: Vec<Frame>,
    /// STATUSTEXT messages of configured vehicles.
    /// (system id, MAV_SEVERITY 0 emergency ..= 7 debug, text).
    pub texts: Vec<(u8, u8, String)>,
    /// ADSB_VEHICLE reports forwarded by configured vehicles: (system id, report).
    pub traffic: Vec<(u8, crate::adsb::AdsbReport)>,
    /// Unconfigured system ids heard for the first time.
    pub new_unknown_systems: Vec<u8>,
    pub errors: Vec<FrameError>,
    /// Frames refused because they came from an address their system id is
    /// not bound to: (system id, that address, the bound one).
    pub foreign: Vec<(u8, SocketAddr, SocketAddr)>,
    /// System ids bound to a new address after their link was lost:
    /// (system id, old address, new address).
    pub rebound: Vec<(u8, SocketAddr, SocketAddr)>,
    /// Frames refused by signature checks: (claimed system id, why).
    pub signing: Vec<(u8, SignError)>,
    /// Some vehicle's position, attitude, battery or mode changed.
    pub telemetry_changed: bool,
}

impl Fleet {
    /// A fleet of the given MAVLink system ids.
    pub fn new(system_ids: impl IntoIterator<Item = u8>) -> Fleet {
        let mut slots = vec![None; 256];
        for id in system_ids {
            slots[usize::from(id)] = Some(VehicleState::new(id));
        }
        Fleet {
            slots,
            counters: IngestCounters::default(),
            seq: 0,
            timeouts: LinkTimeouts::default(),
            verifier: None,
            pinned: BTreeMap::new(),
        }
    }

    /// Checks every frame's MAVLink 2 signature against these keys from now on.
    pub fn require_signatures(&mut self, keys: Keyring) {
        self.verifier = Some(Verifier::new(keys));
    }

    pub fn get(&self, system_id: u8) -> Option<&VehicleState> {
        self.slots[usize::from(system_id)].as_ref()
    }

    /// Binds a system id to `addr` for good: it is heard only from there,
    /// and a contest is over.
    pub fn pin(&mut self, system_id: u8, addr: SocketAddr) -> bool {
        let Some(v) = self.slots[usize::from(system_id)].as_mut() else {
            return false;
        };
        v.bound_to = Some(addr);
        v.contested = None;
        self.pinned.insert(system_id, addr);
        self.seq += 1;
        v.changed_seq = self.seq;
        true
    }

    pub fn get_mut(&mut self, system_id: u8) -> Option<&mut VehicleState> {
        self.slots[usize::from(system_id)].as_mut()
    }

    pub fn iter(&self) -> impl Iterator<Item = &VehicleState> {
        self.slots.iter().flatten()
    }

    /// The sequence number of the latest telemetry change.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Vehicles whose telemetry changed after sequence number `since`.
    pub fn changed_since(&self, since: u64) -> impl Iterator<Item = &VehicleState> {
        self.iter().filter(move |v| v.changed_seq > since)
    }

    /// Decodes a datagram and updates the vehicles it speaks for (no sender
    /// address: a byte stream or an in-memory link).
    pub fn ingest(&mut self, datagram: &[u8], now: f64, out: &mut Ingested) {
        self.ingest_from(datagram, None, now, out);
    }

    /// Decodes a datagram from `from` and updates the vehicles it speaks for,
    /// believing a system id only from the address it is bound to.
    pub fn ingest_from(
        &mut self,
        datagram: &[u8],
        from: Option<SocketAddr>,
        now: f64,
        out: &mut Ingested,
    ) {
        for r in decode_datagram(datagram) {
            match r {
                Ok(frame) => {
                    if let Some(v) = self.verifier.as_mut() {
                        let bytes = datagram.get(frame.span.clone()).unwrap_or_default();
                        match v.verify(bytes, frame.system_id, frame.component_id) {
                            Ok(Verified::Signed { .. }) => self.counters.signed_frames += 1,
                            Ok(Verified::Unsigned) => {}
                            Err(e) => {
                                *self.counters.signing_refused.entry(e.kind()).or_default() += 1;
                                out.signing.push((frame.system_id, e));
                                continue;
                            }
                        }
                    }
                    self.ingest_frame(frame, from, now, out)
                }
                Err(e) => {
                    self.counters.bad_frames += 1;
                    self.counters.last_error = Some(e.to_string());
                    out.errors.push(e);
                }
            }
        }
    }

    fn ingest_frame(
        &mut self,
        frame: Frame,
        from: Option<SocketAddr>,
        now: f64,
        out: &mut Ingested,
    ) {
        self.counters.frames += 1;
        let Some(v) = self.slots[usize::from(frame.system_id)].as_mut() else {
            let n = self
                .counters
                .unknown_systems
                .entry(frame.system_id)
                .or_default();
            *n += 1;
            if *n == 1 {
                out.new_unknown_systems.push(frame.system_id);
            }
            return;
        };
        if let Some(addr) = from {
            match v.bound_to {
                None => v.bound_to = Some(addr),
                Some(b) if b == addr => {}
                Some(b)
                    if v.link_at(now, &self.timeouts) == LinkStatus::Lost
                        && !self.pinned.contains_key(&frame.system_id) =>
                {
                    // The bound address went silent: the vehicle may come back
                    // through another route (a restarted radio, a new port);
                    // the other claims, if any, were this one.
                    v.bound_to = Some(addr);
                    v.contested = None;
                    out.rebound.push((frame.system_id, b, addr));
                }
                Some(b) => {
                    *self
                        .counters
                        .foreign_address
                        .entry(frame.system_id)
                        .or_default() += 1;
                    out.foreign.push((frame.system_id, addr, b));
                    if !self.pinned.contains_key(&frame.system_id) {
                        // Readers learn of it at most once a second.
                        let news = v.contested.is_none_or(|c| now - c.last_claim >= 1.0);
                        v.contested = Some(Contest {
                            other: addr,
                            last_claim: if news {
                                now
                            } else {
                                v.contested.map_or(now, |c| c.last_claim)
                            },
                        });
                        if news {
                            self.seq += 1;
                            v.changed_seq = self.seq;
                            out.telemetry_changed = true;
                        }
                    }
                    return;
                }
            }
        }
        if crate::camera::is_camera_component(frame.component_id) {
            // A camera speaks for itself, never for the autopilot: its
            // heartbeat is not the vehicle's, its answers are its own.
            let about_itself = matches!(
                frame.message,
                MavMessage::CAMERA_INFORMATION(_) | MavMessage::VIDEO_STREAM_INFORMATION(_)
            );
            if about_itself
                && v.camera
                    .get_or_insert_with(Default::default)
                    .apply(&frame.message)
            {
                self.seq += 1;
                v.changed_seq = self.seq;
                v.changed_at = now;
                out.telemetry_changed = true;
            }
            if matches!(frame.message, MavMessage::COMMAND_ACK(_)) {
                out.protocol.push(frame);
            }
            return;
        }
        if v.apply(&frame.message, now) {
            out.heartbeats.push(frame.system_id);
        }
        if is_telemetry(&frame.message) {
            self.seq += 1;
            v.changed_seq = self.seq;
            v.changed_at = now;
            out.telemetry_changed = true;
        }
        if let MavMessage::STATUSTEXT(t) = &frame.message {
            let text = t.text.to_str().unwrap_or("<non-UTF-8 text>").to_owned();
            out.texts.push((frame.system_id, t.severity as u8, text));
        }
        if let MavMessage::ADSB_VEHICLE(a) = &frame.message {
            out.traffic
                .push((frame.system_id, crate::adsb::AdsbReport::decode(a)));
        }
        if matches!(
            frame.message,
            MavMessage::COMMAND_ACK(_)
                | MavMessage::MISSION_REQUEST_INT(_)
                | MavMessage::MISSION_ACK(_)
                | MavMessage::MISSION_COUNT(_)
                | MavMessage::MISSION_ITEM_INT(_)
                | MavMessage::PARAM_VALUE(_)
        ) || is_legacy_request(&frame.message)
        {
            out.protocol.push(frame);
        }
    }
}

/// Messages that change what a map shows of a vehicle.
fn is_telemetry(m: &MavMessage) -> bool {
    matches!(
        m,
        MavMessage::HEARTBEAT(_)
            | MavMessage::GLOBAL_POSITION_INT(_)
            | MavMessage::SYS_STATUS(_)
            | MavMessage::BATTERY_STATUS(_)
            | MavMessage::VFR_HUD(_)
            | MavMessage::MISSION_CURRENT(_)
            | MavMessage::EXTENDED_SYS_STATE(_)
            | MavMessage::WIND(_)
    )
}

/// MISSION_REQUEST is deprecated but still sent by older autopilots.
#[allow(deprecated)]
fn is_legacy_request(m: &MavMessage) -> bool {
    matches!(m, MavMessage::MISSION_REQUEST(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode_v2;
    use crate::mav::{GLOBAL_POSITION_INT_DATA, HEARTBEAT_DATA, MavAutopilot, MavType};

    fn hb(mode: u32, armed: bool) -> MavMessage {
        let mut base = MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED;
        if armed {
            base |= MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED;
        }
        MavMessage::HEARTBEAT(HEARTBEAT_DATA {
            custom_mode: mode,
            mavtype: MavType::MAV_TYPE_QUADROTOR,
            autopilot: MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
            base_mode: base,
            system_status: MavState::MAV_STATE_ACTIVE,
            mavlink_version: 3,
        })
    }

    #[test]
    fn a_system_id_is_believed_only_from_its_address_until_its_link_is_lost() {
        let mut fleet = Fleet::new([11]);
        let real: SocketAddr = "127.0.0.1:5000".parse().unwrap_or_else(|e| panic!("{e}"));
        let fake: SocketAddr = "127.0.0.1:6666".parse().unwrap_or_else(|e| panic!("{e}"));
        let mut out = Ingested::default();
        fleet.ingest_from(
            &encode_v2(11, 1, 0, &hb(4, true)),
            Some(real),
            1.0,
            &mut out,
        );
        // A forged "disarmed" heartbeat from elsewhere changes nothing.
        let mut out = Ingested::default();
        fleet.ingest_from(
            &encode_v2(11, 1, 1, &hb(4, false)),
            Some(fake),
            1.5,
            &mut out,
        );
        let v = fleet.get(11).unwrap_or_else(|| panic!("vehicle 11"));
        assert!(v.armed && v.bound_to == Some(real));
        assert_eq!(out.foreign, vec![(11, fake, real)]);
        assert!(out.heartbeats.is_empty() && out.protocol.is_empty());
        assert_eq!(fleet.counters.foreign_address.get(&11), Some(&1));
        // Once the real address has been silent past the lost timeout, another may take over.
        let mut out = Ingested::default();
        fleet.ingest_from(
            &encode_v2(11, 1, 2, &hb(4, false)),
            Some(fake),
            10.0,
            &mut out,
        );
        assert_eq!(out.rebound, vec![(11, real, fake)]);
        assert!(!fleet.get(11).is_some_and(|v| v.armed));
    }

    #[test]
    fn impossible_position_jumps_are_refused() {
        let mut fleet = Fleet::new([11]);
        let pos = |lat: i32, t: u32| {
            MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
                lat,
                lon: 1_205_420_000,
                relative_alt: 60_000,
                time_boot_ms: t,
                ..Default::default()
            })
        };
        let mut out = Ingested::default();
        // An ATTITUDE (with a boot time) before the first position does not
        // make the first fix look like a jump from 0,0.
        let att = MavMessage::ATTITUDE(crate::mav::ATTITUDE_DATA {
            time_boot_ms: 9_000,
            ..Default::default()
        });
        fleet.ingest(&encode_v2(11, 1, 0, &att), 0.9, &mut out);
        fleet.ingest(
            &encode_v2(11, 1, 0, &pos(303_470_000, 10_000)),
            1.0,
            &mut out,
        );
        assert!((fleet.get(11).map_or(0.0, |v| v.lat) - 30.347).abs() < 1e-9);
        // 15 m/s for 1 s: fine. 6 km in 1 s: refused.
        fleet.ingest(
            &encode_v2(11, 1, 1, &pos(303_471_350, 11_000)),
            1.1,
            &mut out,
        );
        fleet.ingest(
            &encode_v2(11, 1, 2, &pos(304_010_000, 12_000)),
            1.2,
            &mut out,
        );
        let v = fleet.get(11).unwrap_or_else(|| panic!("vehicle 11"));
        assert!((v.lat - 30.347_135).abs() < 1e-9, "{}", v.lat);
        assert_eq!(v.implausible_positions, 1);
        // A minute later the same place is within reach again (at 60 m/s, 3.6 km).
        fleet.ingest(
            &encode_v2(11, 1, 3, &pos(303_790_000, 71_000)),
            1.3,
            &mut out,
        );
        assert!((fleet.get(11).map_or(0.0, |v| v.lat) - 30.379).abs() < 1e-9);
    }

    #[test]
    fn telemetry_updates_state_and_strangers_are_counted() {
        let mut fleet = Fleet::new([11, 12]);
        let mut dg = encode_v2(11, 1, 0, &hb(4, true));
        dg.extend(encode_v2(
            11,
            1,
            1,
            &MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
                lat: 303_470_000,
                lon: 1_204_570_000,
                relative_alt: 30_500,
                time_boot_ms: 1234,
                ..Default::default()
            }),
        ));
        dg.extend(encode_v2(99, 1, 0, &hb(0, false)));
        let mut out = Ingested::default();
        fleet.ingest(&dg, 10.0, &mut out);
        let v = fleet.get(11).unwrap_or_else(|| panic!("vehicle 11"));
        assert_eq!(v.mode, FlightMode::Guided);
        assert!(v.armed);
        assert!((v.lat - 30.347).abs() < 1e-9 && (v.rel_alt_m - 30.5).abs() < 1e-9);
        assert_eq!(out.heartbeats, vec![11]);
        assert_eq!(fleet.counters.unknown_systems.get(&99), Some(&1));
        assert_eq!(out.new_unknown_systems, vec![99]);
        assert_eq!(
            v.link_at(12.0, &LinkTimeouts::default()),
            LinkStatus::Degraded
        );
        assert_eq!(v.link_at(13.5, &LinkTimeouts::default()), LinkStatus::Lost);
        // A stranger is reported once, however often it speaks.
        let mut again = Ingested::default();
        fleet.ingest(&encode_v2(99, 1, 1, &hb(0, false)), 10.5, &mut again);
        assert!(again.new_unknown_systems.is_empty());
        assert_eq!(fleet.counters.unknown_systems.get(&99), Some(&2));
    }

    #[test]
    fn wind_reports_are_kept_and_impossible_ones_counted() {
        let mut v = VehicleState::new(11);
        let wind = |direction: f32, speed: f32| {
            MavMessage::WIND(crate::mav::WIND_DATA {
                direction,
                speed,
                speed_z: 0.2,
            })
        };
        v.apply(&wind(-112.0, 8.0), 3.0);
        let w = v.wind.unwrap_or_else(|| panic!("wind kept"));
        assert!((w.from_deg - 248.0).abs() < 1e-4 && (w.speed_mps - 8.0).abs() < 1e-6);
        assert_eq!(w.at, 3.0);
        v.apply(&wind(10.0, f32::NAN), 4.0);
        v.apply(&wind(10.0, 250.0), 5.0);
        assert_eq!(v.bad_wind_reports, 2);
        assert_eq!(v.wind.map(|w| w.at), Some(3.0));
    }
}

//! One simulated ArduCopter-like vehicle, sans IO.
//!
//! The runtime feeds it MAVLink messages (`handle`) and time (`step`); it
//! answers with messages to send, each addressed to the peer that asked or to
//! every peer. Two clocks are passed in: *sim time* (physics, telemetry
//! rates, `time_boot_ms`, mission hold times), which runs `--speedup` times
//! faster than the wall, and *link time* (wall seconds: ground-station
//! heartbeat loss, mission-protocol re-requests), because the peers at the
//! other end of the link live in wall time.

// Ground stations still send SET_MODE, MISSION_SET_CURRENT and MISSION_REQUEST,
// which MAVLink marks deprecated; a vehicle must keep answering them.
#![allow(deprecated)]

use std::collections::HashMap;

use mavlink_link::mav::{
    ATTITUDE_DATA, AUTOPILOT_VERSION_DATA, BATTERY_STATUS_DATA, COMMAND_ACK_DATA, COMMAND_INT_DATA,
    COMMAND_LONG_DATA, EXTENDED_SYS_STATE_DATA, GLOBAL_POSITION_INT_DATA, GPS_RAW_INT_DATA,
    GpsFixType, HEARTBEAT_DATA, HOME_POSITION_DATA, MESSAGE_INTERVAL_DATA, MISSION_CURRENT_DATA,
    MISSION_ITEM_REACHED_DATA, MavAutopilot, MavBatteryFunction, MavBatteryType, MavCmd, MavFrame,
    MavLandedState, MavMessage, MavMissionResult, MavMissionType, MavModeFlag, MavParamType,
    MavProtocolCapability, MavResult, MavSeverity, MavState, MavSysStatusSensor, MavType,
    MavVtolState, MissionState, PARAM_VALUE_DATA, STATUSTEXT_DATA, SYS_STATUS_DATA, VFR_HUD_DATA,
};
use rand::rngs::SmallRng;

use crate::mission::{self, Breach, Fence, Item, Upload};
use crate::physics::{Airframe, Body, Phase, Setpoint, Wind, ne_offset, offset_point};
use crate::smartrtl;

/// Opaque handle of a peer (an address on a socket), chosen by the runtime.
pub type PeerId = u32;

/// Where an outgoing message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dest {
    /// Every peer of this vehicle (telemetry, events).
    All,
    Peer(PeerId),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Out {
    pub dest: Dest,
    pub msg: MavMessage,
}

/// ArduCopter flight modes (HEARTBEAT.custom_mode numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Stabilize = 0,
    AltHold = 2,
    Auto = 3,
    Guided = 4,
    Loiter = 5,
    Rtl = 6,
    Land = 9,
    Brake = 17,
    SmartRtl = 21,
}

impl Mode {
    pub fn from_number(n: u32) -> Option<Mode> {
        Some(match n {
            0 => Mode::Stabilize,
            2 => Mode::AltHold,
            3 => Mode::Auto,
            4 => Mode::Guided,
            5 => Mode::Loiter,
            6 => Mode::Rtl,
            9 => Mode::Land,
            17 => Mode::Brake,
            21 => Mode::SmartRtl,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Stabilize => "STABILIZE",
            Mode::AltHold => "ALT_HOLD",
            Mode::Auto => "AUTO",
            Mode::Guided => "GUIDED",
            Mode::Loiter => "LOITER",
            Mode::Rtl => "RTL",
            Mode::Land => "LAND",
            Mode::Brake => "BRAKE",
            Mode::SmartRtl => "SMART_RTL",
        }
    }
}

/// Per-vehicle settings.
#[derive(Debug, Clone)]
pub struct VehicleConfig {
    pub system_id: u8,
    pub name: String,
    pub home: (f64, f64),
    pub home_amsl_m: f64,
    pub airframe: Airframe,
    pub wind: Wind,
    pub has_gripper: bool,
    pub has_loudspeaker: bool,
    /// Loudspeaker clips by number (MAV_CMD_USER_1 param1).
    pub clips: Vec<String>,
    /// Seconds without a ground-station heartbeat before the RTL failsafe.
    pub gcs_timeout_s: f64,
    pub battery_low_pct: f64,
    pub battery_critical_pct: f64,
    pub arm_min_battery_pct: f64,
    pub rtl_alt_m: f64,
    /// Default GLOBAL_POSITION_INT rate, Hz.
    pub position_rate_hz: f64,
    /// Hangar charging rate, percentage points per minute of sim time (0: none).
    pub charge_rate_pct_per_min: f64,
    /// Stream only HEARTBEAT and GLOBAL_POSITION_INT until asked for more.
    pub minimal_streams: bool,
    /// Battery charge at start, percent.
    pub initial_battery_pct: f64,
    /// MAVLink 2 signing key: frames out are signed, frames in verified.
    pub signing_key: Option<mavlink_link::signing::SecretKey>,
    /// With a key: still accept unsigned frames that only read (commands,
    /// mission and parameter writes need a signature all the same).
    pub allow_unsigned: bool,
}

/// Faults injected for drills.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    pub gps_lost: bool,
    pub motor_failed: bool,
}

/// A vehicle snapshot for status reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    pub system_id: u8,
    pub name: String,
    pub mode: &'static str,
    pub armed: bool,
    pub landed: bool,
    pub crashed: bool,
    pub lat: f64,
    pub lon: f64,
    pub alt_m: f64,
    pub ground_speed_mps: f64,
    pub battery_pct: f64,
    pub gps_fix: bool,
    pub mission_items: usize,
    pub mission_current: u16,
    pub fence_breached: bool,
    pub lifebuoy_released: bool,
    pub time_boot_s: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum RtlPhase {
    Climb,
    Return,
    Descend,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct ItemProgress {
    /// Sim time the position was reached, for holds.
    reached_at: Option<f64>,
    /// Orbit: angle swept so far, radians, and the last bearing.
    swept: f64,
    last_bearing: Option<f64>,
}

#[derive(Debug)]
pub struct Vehicle {
    cfg: VehicleConfig,
    body: Body,
    mode: Mode,
    armed: bool,
    landed: bool,
    crashed: bool,
    faults: Faults,
    guided_target: Option<(f64, f64, f64)>,
    speed_override: Option<f64>,
    hold_point: Option<(f64, f64, f64)>,
    rtl: RtlPhase,
    mission: Vec<Item>,
    current: u16,
    progress: ItemProgress,
    mission_done: bool,
    fence: Fence,
    fence_items: Vec<Item>,
    rally_items: Vec<Item>,
    fence_enabled: bool,
    fence_breached: bool,
    upload: Option<Upload>,
    upload_peer: PeerId,
    last_gcs_heartbeat: Option<f64>,
    gcs_failsafe: bool,
    battery_low_done: bool,
    battery_critical_done: bool,
    lifebuoy_released: bool,
    rates: HashMap<u32, Option<f64>>,
    next_due: HashMap<u32, f64>,
    sim_t: f64,
    params: Vec<(&'static str, f32, MavParamType)>,
    /// SmartRTL's breadcrumbs since arming, and the way home being flown.
    srtl_path: smartrtl::Path,
    srtl_home: Vec<smartrtl::Point>,
}

const MSG_HEARTBEAT: u32 = 0;
const MSG_SYS_STATUS: u32 = 1;
const MSG_GPS_RAW_INT: u32 = 24;
const MSG_ATTITUDE: u32 = 30;
const MSG_GLOBAL_POSITION_INT: u32 = 33;
const MSG_MISSION_CURRENT: u32 = 42;
const MSG_VFR_HUD: u32 = 74;
const MSG_BATTERY_STATUS: u32 = 147;
const MSG_AUTOPILOT_VERSION: u32 = 148;
const MSG_HOME_POSITION: u32 = 242;
const MSG_EXTENDED_SYS_STATE: u32 = 245;

/// Messages this vehicle can stream, with default rates in Hz (0 = on request only).
const STREAMS: [(u32, f64); 10] = [
    (MSG_HEARTBEAT, 1.0),
    (MSG_SYS_STATUS, 1.0),
    (MSG_GPS_RAW_INT, 1.0),
    (MSG_ATTITUDE, 4.0),
    (MSG_GLOBAL_POSITION_INT, 4.0),
    (MSG_MISSION_CURRENT, 1.0),
    (MSG_VFR_HUD, 2.0),
    (MSG_BATTERY_STATUS, 1.0),
    (MSG_HOME_POSITION, 0.2),
    (MSG_EXTENDED_SYS_STATE, 1.0),
];

const FORCE_DISARM_MAGIC: f32 = 21196.0;
const HEADING_HOLD_RADIUS_M: f64 = 2.0;

impl Vehicle {
    pub fn new(cfg: VehicleConfig) -> Vehicle {
        let mut rates = HashMap::new();
        for (id, hz) in STREAMS {
            let hz = if id == MSG_GLOBAL_POSITION_INT {
                cfg.position_rate_hz
            } else if cfg.minimal_streams && id != MSG_HEARTBEAT {
                0.0
            } else {
                hz
            };
            rates.insert(id, (hz > 0.0).then(|| 1.0 / hz));
        }
        use MavParamType::{
            MAV_PARAM_TYPE_INT8 as I8, MAV_PARAM_TYPE_INT16 as I16, MAV_PARAM_TYPE_INT32 as I32,
            MAV_PARAM_TYPE_REAL32 as F32,
        };
        let params = vec![
            ("SYSID_THISMAV", f32::from(cfg.system_id), I16),
            // 1: RTL on ground-station loss (FS_OPTIONS may keep AUTO going).
            ("FS_GCS_ENABLE", 1.0, I8),
            ("FS_GCS_TIMEOUT", cfg.gcs_timeout_s as f32, F32),
            ("FS_OPTIONS", 0.0, I32),
            ("SRTL_POINTS", 300.0, I16),
            ("SRTL_ACCURACY", 2.0, F32),
            ("RTL_ALT", (cfg.rtl_alt_m * 100.0) as f32, I32),
            (
                "WPNAV_SPEED",
                (cfg.airframe.cruise_speed_mps * 100.0) as f32,
                F32,
            ),
            ("BATT_CAPACITY", cfg.airframe.capacity_mah as f32, I32),
            ("BATT_LOW_PCT", cfg.battery_low_pct as f32, F32),
            ("BATT_CRT_PCT", cfg.battery_critical_pct as f32, F32),
            ("FENCE_ENABLE", 1.0, I8),
        ];
        let mut body = Body::at(cfg.home.0, cfg.home.1);
        body.consumed_mah =
            cfg.airframe.capacity_mah * (1.0 - cfg.initial_battery_pct.clamp(0.0, 100.0) / 100.0);
        Vehicle {
            body,
            cfg,
            mode: Mode::Stabilize,
            armed: false,
            landed: true,
            crashed: false,
            faults: Faults::default(),
            guided_target: None,
            speed_override: None,
            hold_point: None,
            rtl: RtlPhase::Climb,
            mission: Vec::new(),
            current: 0,
            progress: ItemProgress::default(),
            mission_done: false,
            fence: Fence::default(),
            fence_items: Vec::new(),
            rally_items: Vec::new(),
            fence_enabled: true,
            fence_breached: false,
            upload: None,
            upload_peer: 0,
            last_gcs_heartbeat: None,
            gcs_failsafe: false,
            battery_low_done: false,
            battery_critical_done: false,
            lifebuoy_released: false,
            rates,
            next_due: HashMap::new(),
            sim_t: 0.0,
            params,
            srtl_path: smartrtl::Path::new(2.0, 300),
            srtl_home: Vec::new(),
        }
    }

    pub fn system_id(&self) -> u8 {
        self.cfg.system_id
    }

    pub fn status(&self) -> Status {
        Status {
            system_id: self.cfg.system_id,
            name: self.cfg.name.clone(),
            mode: self.mode.name(),
            armed: self.armed,
            landed: self.landed,
            crashed: self.crashed,
            lat: self.body.lat,
            lon: self.body.lon,
            alt_m: self.body.alt,
            ground_speed_mps: self.body.ground_speed(),
            battery_pct: self.battery_pct(),
            gps_fix: !self.faults.gps_lost,
            mission_items: self.mission.len(),
            mission_current: self.current,
            fence_breached: self.fence_breached,
            lifebuoy_released: self.lifebuoy_released,
            time_boot_s: self.sim_t,
        }
    }

    fn battery_pct(&self) -> f64 {
        self.body.remaining_pct(&self.cfg.airframe)
    }

    /// Injects or clears faults.
    pub fn set_faults(&mut self, faults: Faults) -> Vec<Out> {
        let mut out = Vec::new();
        if faults.gps_lost && !self.faults.gps_lost {
            out.push(text(MavSeverity::MAV_SEVERITY_CRITICAL, "GPS lost: no fix"));
        }
        if !faults.gps_lost && self.faults.gps_lost {
            out.push(text(MavSeverity::MAV_SEVERITY_INFO, "GPS fix regained"));
        }
        if faults.motor_failed && !self.faults.motor_failed {
            out.push(text(
                MavSeverity::MAV_SEVERITY_EMERGENCY,
                "Motor failure: vehicle falling",
            ));
        }
        self.faults = faults;
        out
    }

    pub fn faults(&self) -> Faults {
        self.faults
    }

    /// Battery fault: the pack suddenly holds only `pct` percent.
    pub fn battery_fault(&mut self, pct: f64) -> Vec<Out> {
        let cap = self.cfg.airframe.capacity_mah;
        self.body.consumed_mah = cap * (1.0 - pct.clamp(0.0, 100.0) / 100.0);
        vec![text(
            MavSeverity::MAV_SEVERITY_CRITICAL,
            &format!("Battery fault: {pct:.0}% remaining"),
        )]
    }

    // ---------------------------------------------------------------- input

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

    fn relative_alt(&self, frame: MavFrame, alt: f64) -> f64 {
        match frame {
            MavFrame::MAV_FRAME_GLOBAL | MavFrame::MAV_FRAME_GLOBAL_INT => {
                alt - self.cfg.home_amsl_m
            }
            _ => alt,
        }
    }

    fn command_long(&mut self, c: &COMMAND_LONG_DATA) -> (MavResult, Vec<MavMessage>) {
        let p = [
            c.param1, c.param2, c.param3, c.param4, c.param5, c.param6, c.param7,
        ];
        match c.command {
            MavCmd::MAV_CMD_DO_REPOSITION => {
                let target = (f64::from(p[4]), f64::from(p[5]), f64::from(p[6]));
                (self.reposition(p[0], target), Vec::new())
            }
            _ => self.command(c.command, p),
        }
    }

    fn command_int(&mut self, c: &COMMAND_INT_DATA) -> (MavResult, Vec<Out>) {
        match c.command {
            MavCmd::MAV_CMD_DO_REPOSITION => {
                let alt = self.relative_alt(c.frame, f64::from(c.z));
                let target = (f64::from(c.x) / 1e7, f64::from(c.y) / 1e7, alt);
                (self.reposition(c.param1, target), Vec::new())
            }
            other => {
                let p = [
                    c.param1, c.param2, c.param3, c.param4, c.x as f32, c.y as f32, c.z,
                ];
                let (r, extra) = self.command(other, p);
                (
                    r,
                    extra
                        .into_iter()
                        .map(|m| Out {
                            dest: Dest::All,
                            msg: m,
                        })
                        .collect(),
                )
            }
        }
    }

    fn reposition(&mut self, speed: f32, (lat, lon, alt): (f64, f64, f64)) -> MavResult {
        if !(-90.0..=90.0).contains(&lat)
            || !(-180.0..=180.0).contains(&lon)
            || (lat == 0.0 && lon == 0.0)
        {
            return MavResult::MAV_RESULT_DENIED;
        }
        if !self.armed || self.landed {
            return MavResult::MAV_RESULT_TEMPORARILY_REJECTED;
        }
        if self.mode != Mode::Guided {
            // ArduPilot switches to GUIDED for a reposition.
            self.mode = Mode::Guided;
        }
        if speed > 0.0 {
            self.speed_override = Some(f64::from(speed));
        }
        self.guided_target = Some((
            lat,
            lon,
            if alt.is_finite() && alt > 0.0 {
                alt
            } else {
                self.body.alt
            },
        ));
        MavResult::MAV_RESULT_ACCEPTED
    }

    fn command(&mut self, cmd: MavCmd, p: [f32; 7]) -> (MavResult, Vec<MavMessage>) {
        let mut extra = Vec::new();
        let result = match cmd {
            MavCmd::MAV_CMD_COMPONENT_ARM_DISARM => {
                if p[0] == 1.0 {
                    self.arm(&mut extra)
                } else if p[0] == 0.0 {
                    if !self.landed && p[1] != FORCE_DISARM_MAGIC {
                        extra.push(text_msg(
                            MavSeverity::MAV_SEVERITY_WARNING,
                            "Disarm refused: flying",
                        ));
                        MavResult::MAV_RESULT_DENIED
                    } else {
                        self.disarm(&mut extra, "Disarmed by command");
                        MavResult::MAV_RESULT_ACCEPTED
                    }
                } else {
                    MavResult::MAV_RESULT_DENIED
                }
            }
            MavCmd::MAV_CMD_NAV_TAKEOFF => {
                if self.mode != Mode::Guided {
                    extra.push(text_msg(
                        MavSeverity::MAV_SEVERITY_WARNING,
                        "Takeoff refused: not in GUIDED",
                    ));
                    MavResult::MAV_RESULT_DENIED
                } else if !self.armed {
                    MavResult::MAV_RESULT_TEMPORARILY_REJECTED
                } else if !(self.landed && p[6] > 0.0 && p[6] <= 1000.0) {
                    // Already flying, or an altitude that makes no sense.
                    MavResult::MAV_RESULT_DENIED
                } else {
                    self.landed = false;
                    self.guided_target = Some((self.body.lat, self.body.lon, f64::from(p[6])));
                    extra.push(text_msg(
                        MavSeverity::MAV_SEVERITY_INFO,
                        &format!("Takeoff to {:.0} m", p[6]),
                    ));
                    MavResult::MAV_RESULT_ACCEPTED
                }
            }
            MavCmd::MAV_CMD_DO_SET_MODE => {
                if (p[0] as u32) & 1 == 0 {
                    MavResult::MAV_RESULT_UNSUPPORTED
                } else {
                    let mut outs = Vec::new();
                    let r = self.set_mode_number(p[1] as u32, &mut outs);
                    extra.extend(outs.into_iter().map(|o| o.msg));
                    r
                }
            }
            MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH => self.request_mode(Mode::Rtl, &mut extra),
            MavCmd::MAV_CMD_NAV_LAND => self.request_mode(Mode::Land, &mut extra),
            MavCmd::MAV_CMD_MISSION_START => {
                if self.mission.len() < 2 {
                    extra.push(text_msg(
                        MavSeverity::MAV_SEVERITY_WARNING,
                        "Mission start refused: no mission",
                    ));
                    MavResult::MAV_RESULT_DENIED
                } else if !self.armed {
                    MavResult::MAV_RESULT_TEMPORARILY_REJECTED
                } else {
                    let first = (p[0] as u16).max(1);
                    self.current = first.min(self.mission.len() as u16 - 1);
                    self.progress = ItemProgress::default();
                    self.mission_done = false;
                    self.enter_mode(Mode::Auto, &mut extra);
                    MavResult::MAV_RESULT_ACCEPTED
                }
            }
            MavCmd::MAV_CMD_DO_SET_MISSION_CURRENT => {
                // param1: the item to fly next (ArduPilot: keeps the mode; AUTO goes there).
                let seq = p[0];
                if !(seq.is_finite() && seq >= 1.0 && (seq as usize) < self.mission.len()) {
                    extra.push(text_msg(
                        MavSeverity::MAV_SEVERITY_WARNING,
                        &format!(
                            "Set mission current {seq} refused: {} items",
                            self.mission.len()
                        ),
                    ));
                    MavResult::MAV_RESULT_DENIED
                } else {
                    self.current = seq as u16;
                    self.progress = ItemProgress::default();
                    self.mission_done = false;
                    extra.push(self.mission_current());
                    MavResult::MAV_RESULT_ACCEPTED
                }
            }
            MavCmd::MAV_CMD_DO_GRIPPER => self.gripper(p[1], &mut extra),
            MavCmd::MAV_CMD_USER_1 => self.loudspeaker(p[0], &mut extra),
            MavCmd::MAV_CMD_DO_CHANGE_SPEED => {
                if p[1] > 0.0 {
                    self.speed_override =
                        Some(f64::from(p[1]).min(self.cfg.airframe.max_speed_mps));
                    MavResult::MAV_RESULT_ACCEPTED
                } else {
                    MavResult::MAV_RESULT_DENIED
                }
            }
            MavCmd::MAV_CMD_DO_FENCE_ENABLE => {
                self.fence_enabled = p[0] != 0.0;
                MavResult::MAV_RESULT_ACCEPTED
            }
            MavCmd::MAV_CMD_SET_MESSAGE_INTERVAL => {
                let id = p[0] as u32;
                let default = STREAMS
                    .iter()
                    .find(|(m, _)| *m == id)
                    .and_then(|(_, hz)| (*hz > 0.0).then(|| 1.0 / hz));
                match self.rates.get_mut(&id) {
                    None => MavResult::MAV_RESULT_UNSUPPORTED,
                    Some(rate) => {
                        // -1 disables, 0 restores the default, else microseconds.
                        *rate = if p[1] < 0.0 {
                            None
                        } else if p[1] == 0.0 {
                            default
                        } else {
                            Some(f64::from(p[1]) / 1e6)
                        };
                        self.next_due.remove(&id);
                        MavResult::MAV_RESULT_ACCEPTED
                    }
                }
            }
            MavCmd::MAV_CMD_GET_MESSAGE_INTERVAL => {
                let id = p[0] as u32;
                let interval_us = match self.rates.get(&id) {
                    None => 0,
                    Some(None) => -1,
                    Some(Some(s)) => (s * 1e6) as i32,
                };
                extra.push(MavMessage::MESSAGE_INTERVAL(MESSAGE_INTERVAL_DATA {
                    interval_us,
                    message_id: id as u16,
                }));
                MavResult::MAV_RESULT_ACCEPTED
            }
            MavCmd::MAV_CMD_REQUEST_MESSAGE => match self.build(p[0] as u32) {
                Some(m) => {
                    extra.push(m);
                    MavResult::MAV_RESULT_ACCEPTED
                }
                None => MavResult::MAV_RESULT_UNSUPPORTED,
            },
            MavCmd::MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES => {
                extra.push(self.autopilot_version());
                MavResult::MAV_RESULT_ACCEPTED
            }
            _ => MavResult::MAV_RESULT_UNSUPPORTED,
        };
        (result, extra)
    }

    fn arm(&mut self, extra: &mut Vec<MavMessage>) -> MavResult {
        if self.armed {
            return MavResult::MAV_RESULT_ACCEPTED;
        }
        let problem = if self.faults.gps_lost {
            Some("PreArm: GPS fix required".to_owned())
        } else if self.faults.motor_failed || self.crashed {
            Some("PreArm: motor failure".to_owned())
        } else if self.battery_pct() < self.cfg.arm_min_battery_pct {
            Some(format!(
                "PreArm: battery {:.0}% below {:.0}%",
                self.battery_pct(),
                self.cfg.arm_min_battery_pct
            ))
        } else if matches!(self.mode, Mode::Rtl | Mode::SmartRtl | Mode::Land) {
            Some(format!("PreArm: mode {} not armable", self.mode.name()))
        } else {
            None
        };
        if let Some(p) = problem {
            extra.push(text_msg(MavSeverity::MAV_SEVERITY_CRITICAL, &p));
            return MavResult::MAV_RESULT_FAILED;
        }
        self.armed = true;
        self.landed = true;
        self.gcs_failsafe = false;
        self.srtl_path.start(
            (self.body.lat, self.body.lon, self.body.alt),
            f64::from(self.param("SRTL_ACCURACY")),
            self.param("SRTL_POINTS") as usize,
        );
        self.battery_low_done = false;
        self.battery_critical_done = false;
        self.fence_breached = false;
        extra.push(text_msg(MavSeverity::MAV_SEVERITY_INFO, "Arming motors"));
        MavResult::MAV_RESULT_ACCEPTED
    }

    fn disarm(&mut self, extra: &mut Vec<MavMessage>, why: &str) {
        if self.armed {
            self.armed = false;
            extra.push(text_msg(MavSeverity::MAV_SEVERITY_INFO, why));
        }
        self.guided_target = None;
    }

    fn gripper(&mut self, action: f32, extra: &mut Vec<MavMessage>) -> MavResult {
        if !self.cfg.has_gripper {
            extra.push(text_msg(
                MavSeverity::MAV_SEVERITY_WARNING,
                "Gripper: none fitted",
            ));
            return MavResult::MAV_RESULT_UNSUPPORTED;
        }
        if action == 0.0 {
            if !self.lifebuoy_released {
                self.lifebuoy_released = true;
                extra.push(text_msg(
                    MavSeverity::MAV_SEVERITY_NOTICE,
                    "Gripper: lifebuoy released",
                ));
            }
        } else {
            extra.push(text_msg(MavSeverity::MAV_SEVERITY_INFO, "Gripper: grab"));
        }
        MavResult::MAV_RESULT_ACCEPTED
    }

    fn loudspeaker(&mut self, clip: f32, extra: &mut Vec<MavMessage>) -> MavResult {
        if !self.cfg.has_loudspeaker {
            extra.push(text_msg(
                MavSeverity::MAV_SEVERITY_WARNING,
                "Loudspeaker: none fitted",
            ));
            return MavResult::MAV_RESULT_UNSUPPORTED;
        }
        let Some(t) = self.cfg.clips.get(clip as usize).filter(|_| clip >= 0.0) else {
            extra.push(text_msg(
                MavSeverity::MAV_SEVERITY_WARNING,
                &format!("Loudspeaker: no clip {clip}"),
            ));
            return MavResult::MAV_RESULT_DENIED;
        };
        let t = format!("Loudspeaker: {t}");
        extra.push(text_msg(MavSeverity::MAV_SEVERITY_NOTICE, &t));
        MavResult::MAV_RESULT_ACCEPTED
    }

    fn set_mode_number(&mut self, n: u32, out: &mut Vec<Out>) -> MavResult {
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

    fn request_mode(&mut self, m: Mode, extra: &mut Vec<MavMessage>) -> MavResult {
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

    fn enter_mode(&mut self, m: Mode, extra: &mut Vec<MavMessage>) {
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

    // ------------------------------------------------------- mission protocol

    fn store(&self, kind: MavMissionType) -> &[Item] {
        match kind {
            MavMissionType::MAV_MISSION_TYPE_MISSION => &self.mission,
            MavMissionType::MAV_MISSION_TYPE_FENCE => &self.fence_items,
            _ => &self.rally_items,
        }
    }

    fn clear(&mut self, kind: MavMissionType) {
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

    fn start_upload(
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

    fn upload_item(
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

    fn send_item(
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
    fn upload_timeouts(&mut self, link_t: f64, out: &mut Vec<Out>) {
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

impl Vehicle {
    fn param_index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|(n, _, _)| *n == name)
    }

    /// A parameter's value (0 for a name this vehicle does not have).
    fn param(&self, name: &str) -> f32 {
        self.param_index(name).map_or(0.0, |i| self.params[i].1)
    }

    /// Sets a parameter if the value is valid for it; an invalid value
    /// leaves it as it was (the PARAM_VALUE answer shows the value kept, so
    /// the ground station's read-back catches the refusal, as on ArduPilot).
    fn set_param(&mut self, i: usize, v: f32) {
        let (name, _, ty) = self.params[i];
        let integer = !matches!(ty, MavParamType::MAV_PARAM_TYPE_REAL32);
        let range = match name {
            "FS_GCS_ENABLE" => 0.0..=7.0,
            "FS_OPTIONS" => 0.0..=65535.0,
            "FS_GCS_TIMEOUT" => 2.0..=120.0,
            "SRTL_POINTS" => 0.0..=500.0,
            "SRTL_ACCURACY" => 0.0..=10.0,
            "FENCE_ENABLE" => 0.0..=1.0,
            "SYSID_THISMAV" => 1.0..=255.0,
            _ => 0.0..=f32::MAX,
        };
        if !v.is_finite() || !range.contains(&v) || (integer && v.fract() != 0.0) {
            return;
        }
        self.params[i].1 = v;
        match name {
            "FS_GCS_TIMEOUT" => self.cfg.gcs_timeout_s = f64::from(v),
            "RTL_ALT" => self.cfg.rtl_alt_m = f64::from(v) / 100.0,
            "WPNAV_SPEED" => self.cfg.airframe.cruise_speed_mps = f64::from(v) / 100.0,
            "FENCE_ENABLE" => self.fence_enabled = v != 0.0,
            _ => {}
        }
    }

    fn param_value(&self, i: usize) -> MavMessage {
        let (name, value, param_type) = self.params[i];
        MavMessage::PARAM_VALUE(PARAM_VALUE_DATA {
            param_value: value,
            param_count: self.params.len() as u16,
            param_index: i as u16,
            param_id: name.into(),
            param_type,
        })
    }
}

// ------------------------------------------------------------------- flight

impl Vehicle {
    /// Advances the vehicle by `dt` seconds of sim time; returns what it sends.
    pub fn step(&mut self, link_t: f64, dt: f64, rng: &mut SmallRng) -> Vec<Out> {
        let mut out = Vec::new();
        self.sim_t += dt;
        self.upload_timeouts(link_t, &mut out);
        if self.armed && !self.landed {
            self.failsafes(link_t, &mut out);
        }
        let setpoint = self.control(&mut out);
        let phase = match (self.armed, self.landed) {
            (false, _) => Phase::Off,
            (true, true) => Phase::GroundIdle,
            (true, false) => Phase::Flying,
        };
        if (self.faults.motor_failed || !self.armed) && !self.landed {
            // Falling: no thrust worth the name (a failed motor, or motors
            // stopped in the air by a forced disarm).
            self.body.vd = (self.body.vd + 9.81 * dt).min(25.0);
            self.body.alt = (self.body.alt - self.body.vd * dt).max(0.0);
            self.body.vn *= 0.98;
            self.body.ve *= 0.98;
            if self.body.alt <= 0.0 {
                self.crashed = true;
                self.landed = true;
                self.body.vd = 0.0;
                self.body.vn = 0.0;
                self.body.ve = 0.0;
                self.armed = false;
                out.push(text(
                    MavSeverity::MAV_SEVERITY_EMERGENCY,
                    "Crash: vehicle hit the ground",
                ));
            }
        } else {
            self.body
                .step(dt, setpoint, &self.cfg.airframe, &self.cfg.wind, phase, rng);
        }
        if self.armed && !self.landed {
            self.touchdown(&mut out);
            self.fence_check(&mut out);
            if self.mode != Mode::SmartRtl
                && self
                    .srtl_path
                    .record((self.body.lat, self.body.lon, self.body.alt))
            {
                out.push(text(
                    MavSeverity::MAV_SEVERITY_WARNING,
                    "SmartRTL deactivated: path buffer full",
                ));
            }
        }
        self.charge(dt);
        self.telemetry(&mut out);
        out
    }

    /// Parked and disarmed in the hangar (within 10 m of home): the pack charges.
    fn charge(&mut self, dt: f64) {
        if self.armed || !self.landed || self.cfg.charge_rate_pct_per_min <= 0.0 {
            return;
        }
        let (n, e) = ne_offset(
            self.cfg.home.0,
            self.cfg.home.1,
            self.body.lat,
            self.body.lon,
        );
        if n.hypot(e) > 10.0 {
            return;
        }
        let per_s =
            self.cfg.charge_rate_pct_per_min / 100.0 / 60.0 * self.cfg.airframe.capacity_mah;
        self.body.consumed_mah = (self.body.consumed_mah - per_s * dt).max(0.0);
    }

    fn failsafes(&mut self, link_t: f64, out: &mut Vec<Out>) {
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

    fn fence_check(&mut self, out: &mut Vec<Out>) {
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

    fn touchdown(&mut self, out: &mut Vec<Out>) {
        let descending = matches!(self.mode, Mode::Land)
            || (matches!(self.mode, Mode::Rtl | Mode::SmartRtl) && self.rtl == RtlPhase::Descend)
            || self.auto_landing();
        if descending && self.body.alt <= 0.05 {
            self.landed = true;
            self.body.vn = 0.0;
            self.body.ve = 0.0;
            self.body.vd = 0.0;
            let mut extra = vec![text_msg(MavSeverity::MAV_SEVERITY_INFO, "Landed")];
            self.disarm(&mut extra, "Disarming motors: landed");
            if self.mode == Mode::Auto {
                self.mission_done = true;
                let seq = self.current;
                extra.push(MavMessage::MISSION_ITEM_REACHED(
                    MISSION_ITEM_REACHED_DATA { seq },
                ));
            }
            out.extend(extra.into_iter().map(|m| Out {
                dest: Dest::All,
                msg: m,
            }));
        }
    }

    fn auto_landing(&self) -> bool {
        self.mode == Mode::Auto
            && self
                .mission
                .get(usize::from(self.current))
                .is_some_and(|it| {
                    matches!(it.command, MavCmd::MAV_CMD_NAV_LAND)
                        || (it.command == MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH
                            && self.rtl == RtlPhase::Descend)
                })
    }

    fn speed(&self) -> f64 {
        self.speed_override
            .unwrap_or(self.cfg.airframe.cruise_speed_mps)
            .min(self.cfg.airframe.max_speed_mps)
    }

    /// Velocity towards a point, slowing to stop on it.
    fn goto(&self, lat: f64, lon: f64, alt: f64, speed: f64) -> (Setpoint, f64) {
        let (n, e) = ne_offset(self.body.lat, self.body.lon, lat, lon);
        let d = n.hypot(e);
        let brake = (2.0 * self.cfg.airframe.accel_mps2 * 0.7 * d).sqrt();
        let v = speed.min(brake).min(d * 1.2);
        let (vn, ve) = if d > 1e-3 {
            (n / d * v, e / d * v)
        } else {
            (0.0, 0.0)
        };
        let climb = ((alt - self.body.alt) * 1.0).clamp(
            -self.cfg.airframe.descent_rate_mps,
            self.cfg.airframe.climb_rate_mps,
        );
        (
            Setpoint {
                vn,
                ve,
                vd: -climb,
                yaw_rad: None,
            },
            d,
        )
    }

    fn hold(&self) -> Setpoint {
        match self.hold_point {
            Some((lat, lon, alt)) => self.goto(lat, lon, alt, self.speed()).0,
            None => Setpoint::default(),
        }
    }

    fn descend_here(&self) -> Setpoint {
        let rate = if self.body.alt > 10.0 {
            self.cfg.airframe.descent_rate_mps
        } else {
            0.7_f64.min(self.cfg.airframe.descent_rate_mps)
        };
        Setpoint {
            vd: rate,
            ..Setpoint::default()
        }
    }

    /// The velocity setpoint for the current mode.
    fn control(&mut self, out: &mut Vec<Out>) -> Setpoint {
        if !self.armed {
            return Setpoint::default();
        }
        if self.landed {
            // Only a take-off leaves the ground: GUIDED's command or AUTO's first item.
            let taking_off = self.mode == Mode::Auto
                && !self.mission_done
                && self
                    .mission
                    .get(usize::from(self.current))
                    .is_some_and(|it| it.command == MavCmd::MAV_CMD_NAV_TAKEOFF);
            if !taking_off {
                return Setpoint::default();
            }
            self.landed = false;
        }
        match self.mode {
            Mode::Guided => match self.guided_target {
                Some((lat, lon, alt)) => self.goto(lat, lon, alt, self.speed()).0,
                None => self.hold(),
            },
            Mode::Loiter | Mode::Brake | Mode::AltHold | Mode::Stabilize => self.hold(),
            Mode::Land => self.descend_here(),
            Mode::Rtl => self.rtl_control(out),
            Mode::SmartRtl => self.smart_rtl_control(),
            Mode::Auto => self.auto_control(out),
        }
    }

    fn rtl_control(&mut self, _out: &mut [Out]) -> Setpoint {
        let (hl, ho) = self.cfg.home;
        let rtl_alt = self.cfg.rtl_alt_m.max(self.body.alt.min(120.0));
        match self.rtl {
            RtlPhase::Climb => {
                if self.body.alt >= rtl_alt - 1.0 {
                    self.rtl = RtlPhase::Return;
                }
                Setpoint {
                    vd: -self.cfg.airframe.climb_rate_mps,
                    ..Setpoint::default()
                }
            }
            RtlPhase::Return => {
                let (sp, d) = self.goto(
                    hl,
                    ho,
                    self.body
                        .alt
                        .max(self.cfg.rtl_alt_m.min(self.body.alt + 1.0)),
                    self.speed(),
                );
                if d < HEADING_HOLD_RADIUS_M && self.body.ground_speed() < 1.0 {
                    self.rtl = RtlPhase::Descend;
                }
                sp
            }
            RtlPhase::Descend => {
                let (mut sp, _) = self.goto(hl, ho, 0.0, 2.0);
                sp.vd = self.descend_here().vd;
                sp
            }
        }
    }

    /// SmartRTL: back through the breadcrumbs (latest first) at no lower
    /// than the altitude flown there, then down at the first one (home).
    fn smart_rtl_control(&mut self) -> Setpoint {
        if self.rtl == RtlPhase::Descend || self.srtl_home.is_empty() {
            self.rtl = RtlPhase::Descend;
            let (hl, ho) = self.cfg.home;
            let (mut sp, _) = self.goto(hl, ho, 0.0, 2.0);
            sp.vd = self.descend_here().vd;
            return sp;
        }
        let (lat, lon, alt) = self.srtl_home[0];
        let last = self.srtl_home.len() == 1;
        // Home is the way in to land: reached at the altitude flying.
        let alt = if last {
            self.body.alt
        } else {
            alt.max(self.body.alt.min(self.cfg.rtl_alt_m))
        };
        let (sp, d) = self.goto(lat, lon, alt, self.speed());
        let close = if last { HEADING_HOLD_RADIUS_M } else { 3.0 };
        if d < close && (!last || self.body.ground_speed() < 1.0) {
            self.srtl_home.remove(0);
            if self.srtl_home.is_empty() {
                self.rtl = RtlPhase::Descend;
            }
        }
        sp
    }

    fn auto_control(&mut self, out: &mut Vec<Out>) -> Setpoint {
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

    // ---------------------------------------------------------- telemetry

    fn telemetry(&mut self, out: &mut Vec<Out>) {
        let t = self.sim_t;
        let mut due = Vec::new();
        for (&id, interval) in &self.rates {
            let Some(interval) = *interval else { continue };
            let next = self.next_due.get(&id).copied().unwrap_or(0.0);
            if t >= next {
                due.push(id);
                // Catch up without bursts after a long step.
                let next = if t - next > interval {
                    t + interval
                } else {
                    next + interval
                };
                self.next_due.insert(id, next);
            }
        }
        due.sort_unstable();
        for id in due {
            if let Some(m) = self.build(id) {
                out.push(Out {
                    dest: Dest::All,
                    msg: m,
                });
            }
        }
    }

    fn time_boot_ms(&self) -> u32 {
        (self.sim_t * 1000.0) as u32
    }

    fn system_state(&self) -> MavState {
        if self.crashed || self.faults.motor_failed {
            MavState::MAV_STATE_EMERGENCY
        } else if self.gcs_failsafe
            || self.battery_low_done
            || self.faults.gps_lost
            || self.fence_breached
        {
            MavState::MAV_STATE_CRITICAL
        } else if self.armed {
            MavState::MAV_STATE_ACTIVE
        } else {
            MavState::MAV_STATE_STANDBY
        }
    }

    fn mission_current(&self) -> MavMessage {
        let total = self.mission.len().saturating_sub(1) as u16;
        let state = if self.mission.len() < 2 {
            MissionState::MISSION_STATE_NO_MISSION
        } else if self.mission_done {
            MissionState::MISSION_STATE_COMPLETE
        } else if self.mode == Mode::Auto {
            MissionState::MISSION_STATE_ACTIVE
        } else {
            MissionState::MISSION_STATE_NOT_STARTED
        };
        MavMessage::MISSION_CURRENT(MISSION_CURRENT_DATA {
            seq: self.current,
            total,
            mission_state: state,
            mission_mode: u8::from(self.mode == Mode::Auto),
            ..Default::default()
        })
    }

    fn autopilot_version(&self) -> MavMessage {
        MavMessage::AUTOPILOT_VERSION(AUTOPILOT_VERSION_DATA {
            capabilities: MavProtocolCapability::MAV_PROTOCOL_CAPABILITY_MISSION_INT
                | MavProtocolCapability::MAV_PROTOCOL_CAPABILITY_COMMAND_INT
                | MavProtocolCapability::MAV_PROTOCOL_CAPABILITY_SET_POSITION_TARGET_GLOBAL_INT
                | MavProtocolCapability::MAV_PROTOCOL_CAPABILITY_MAVLINK2
                | MavProtocolCapability::MAV_PROTOCOL_CAPABILITY_MISSION_FENCE
                | MavProtocolCapability::MAV_PROTOCOL_CAPABILITY_MISSION_RALLY,
            uid: u64::from(self.cfg.system_id),
            // 4.5.0 official, as ArduPilot encodes it.
            flight_sw_version: 4 << 24 | 5 << 16 | 0xFF,
            vendor_id: 0,
            product_id: 0,
            ..Default::default()
        })
    }

    /// Builds message `id` from the current state, if this vehicle provides it.
    fn build(&self, id: u32) -> Option<MavMessage> {
        let b = &self.body;
        let lat = (b.lat * 1e7) as i32;
        let lon = (b.lon * 1e7) as i32;
        let amsl_mm = ((self.cfg.home_amsl_m + b.alt) * 1000.0) as i32;
        let hdg_cd = (b.yaw_rad.to_degrees().rem_euclid(360.0) * 100.0) as u16;
        let gps_ok = !self.faults.gps_lost;
        Some(match id {
            MSG_HEARTBEAT => {
                let mut base = MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
                    | MavModeFlag::MAV_MODE_FLAG_STABILIZE_ENABLED;
                if self.armed {
                    base |= MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED;
                }
                if matches!(
                    self.mode,
                    Mode::Guided | Mode::Auto | Mode::Rtl | Mode::SmartRtl | Mode::Land
                ) {
                    base |= MavModeFlag::MAV_MODE_FLAG_GUIDED_ENABLED;
                }
                MavMessage::HEARTBEAT(HEARTBEAT_DATA {
                    custom_mode: self.mode as u32,
                    mavtype: MavType::MAV_TYPE_QUADROTOR,
                    autopilot: MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
                    base_mode: base,
                    system_status: self.system_state(),
                    mavlink_version: 3,
                })
            }
            MSG_GLOBAL_POSITION_INT => MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
                time_boot_ms: self.time_boot_ms(),
                lat,
                lon,
                alt: amsl_mm,
                relative_alt: (b.alt * 1000.0) as i32,
                vx: (b.vn * 100.0) as i16,
                vy: (b.ve * 100.0) as i16,
                vz: (b.vd * 100.0) as i16,
                hdg: hdg_cd,
            }),
            MSG_ATTITUDE => MavMessage::ATTITUDE(ATTITUDE_DATA {
                time_boot_ms: self.time_boot_ms(),
                roll: b.roll_rad as f32,
                pitch: b.pitch_rad as f32,
                yaw: b.yaw_rad as f32,
                ..Default::default()
            }),
            MSG_VFR_HUD => MavMessage::VFR_HUD(VFR_HUD_DATA {
                airspeed: b.ground_speed() as f32,
                groundspeed: b.ground_speed() as f32,
                alt: (self.cfg.home_amsl_m + b.alt) as f32,
                climb: -b.vd as f32,
                heading: (b.yaw_rad.to_degrees().rem_euclid(360.0)) as i16,
                throttle: if self.armed && !self.landed { 55 } else { 0 },
            }),
            MSG_SYS_STATUS => {
                let sensors = MavSysStatusSensor::MAV_SYS_STATUS_SENSOR_3D_GYRO
                    | MavSysStatusSensor::MAV_SYS_STATUS_SENSOR_3D_ACCEL
                    | MavSysStatusSensor::MAV_SYS_STATUS_SENSOR_GPS
                    | MavSysStatusSensor::MAV_SYS_STATUS_SENSOR_BATTERY
                    | MavSysStatusSensor::MAV_SYS_STATUS_GEOFENCE;
                let mut health = sensors;
                if !gps_ok {
                    health.remove(MavSysStatusSensor::MAV_SYS_STATUS_SENSOR_GPS);
                }
                if self.fence_breached {
                    health.remove(MavSysStatusSensor::MAV_SYS_STATUS_GEOFENCE);
                }
                MavMessage::SYS_STATUS(SYS_STATUS_DATA {
                    onboard_control_sensors_present: sensors,
                    onboard_control_sensors_enabled: sensors,
                    onboard_control_sensors_health: health,
                    load: 300,
                    voltage_battery: (b.voltage(&self.cfg.airframe) * 1000.0) as u16,
                    current_battery: (b.current_a * 100.0) as i16,
                    battery_remaining: self.battery_pct().round() as i8,
                    ..Default::default()
                })
            }
            MSG_BATTERY_STATUS => {
                let mut voltages = [u16::MAX; 10];
                let cells = usize::from(self.cfg.airframe.cells).min(10);
                let v = b.voltage(&self.cfg.airframe) / cells as f64;
                for c in voltages.iter_mut().take(cells) {
                    *c = (v * 1000.0) as u16;
                }
                MavMessage::BATTERY_STATUS(BATTERY_STATUS_DATA {
                    current_consumed: b.consumed_mah as i32,
                    energy_consumed: -1,
                    temperature: i16::MAX,
                    voltages,
                    current_battery: (b.current_a * 100.0) as i16,
                    id: 0,
                    battery_function: MavBatteryFunction::MAV_BATTERY_FUNCTION_ALL,
                    mavtype: MavBatteryType::MAV_BATTERY_TYPE_LIPO,
                    battery_remaining: self.battery_pct().round() as i8,
                    ..Default::default()
                })
            }
            MSG_GPS_RAW_INT => MavMessage::GPS_RAW_INT(GPS_RAW_INT_DATA {
                time_usec: (self.sim_t * 1e6) as u64,
                lat: if gps_ok { lat } else { 0 },
                lon: if gps_ok { lon } else { 0 },
                alt: amsl_mm,
                eph: if gps_ok { 70 } else { u16::MAX },
                epv: if gps_ok { 110 } else { u16::MAX },
                vel: (b.ground_speed() * 100.0) as u16,
                cog: hdg_cd,
                fix_type: if gps_ok {
                    GpsFixType::GPS_FIX_TYPE_3D_FIX
                } else {
                    GpsFixType::GPS_FIX_TYPE_NO_FIX
                },
                satellites_visible: if gps_ok { 16 } else { 0 },
                ..Default::default()
            }),
            MSG_MISSION_CURRENT => self.mission_current(),
            MSG_EXTENDED_SYS_STATE => MavMessage::EXTENDED_SYS_STATE(EXTENDED_SYS_STATE_DATA {
                vtol_state: MavVtolState::MAV_VTOL_STATE_UNDEFINED,
                landed_state: if self.landed {
                    MavLandedState::MAV_LANDED_STATE_ON_GROUND
                } else if self.body.vd > 0.3
                    && matches!(self.mode, Mode::Land | Mode::Rtl | Mode::SmartRtl)
                {
                    MavLandedState::MAV_LANDED_STATE_LANDING
                } else if self.body.vd < -0.3 && self.body.alt < 5.0 {
                    MavLandedState::MAV_LANDED_STATE_TAKEOFF
                } else {
                    MavLandedState::MAV_LANDED_STATE_IN_AIR
                },
            }),
            MSG_HOME_POSITION => MavMessage::HOME_POSITION(HOME_POSITION_DATA {
                latitude: (self.cfg.home.0 * 1e7) as i32,
                longitude: (self.cfg.home.1 * 1e7) as i32,
                altitude: (self.cfg.home_amsl_m * 1000.0) as i32,
                q: [1.0, 0.0, 0.0, 0.0],
                time_usec: (self.sim_t * 1e6) as u64,
                ..Default::default()
            }),
            MSG_AUTOPILOT_VERSION => self.autopilot_version(),
            _ => return None,
        })
    }
}

fn ack(command: MavCmd, result: MavResult, to: (u8, u8)) -> MavMessage {
    MavMessage::COMMAND_ACK(COMMAND_ACK_DATA {
        command,
        result,
        progress: 0,
        result_param2: 0,
        target_system: to.0,
        target_component: to.1,
    })
}

fn text_msg(severity: MavSeverity, s: &str) -> MavMessage {
    // STATUSTEXT carries at most 50 bytes; longer texts are cut at a char boundary.
    let mut cut = s.len().min(50);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    MavMessage::STATUSTEXT(STATUSTEXT_DATA {
        severity,
        text: s[..cut].into(),
        id: 0,
        chunk_seq: 0,
    })
}

fn text(severity: MavSeverity, s: &str) -> Out {
    Out {
        dest: Dest::All,
        msg: text_msg(severity, s),
    }
}

#[cfg(test)]
mod tests {
    //! Ground-station loss drills in sim time: an L-shaped flight around an
    //! exclusion zone that lies on the straight line home.
    use rand::SeedableRng;

    use super::*;

    const HOME: (f64, f64) = (30.40, 120.54);

    fn config() -> VehicleConfig {
        VehicleConfig {
            system_id: 11,
            name: "t".into(),
            home: HOME,
            home_amsl_m: 5.0,
            airframe: Airframe {
                cruise_speed_mps: 15.0,
                max_speed_mps: 20.0,
                climb_rate_mps: 5.0,
                descent_rate_mps: 3.0,
                accel_mps2: 3.0,
                vert_accel_mps2: 2.5,
                yaw_rate_dps: 90.0,
                endurance_min: 40.0,
                capacity_mah: 10_000.0,
                cells: 6,
            },
            wind: Wind {
                speed_mps: 0.0,
                from_deg: 0.0,
                gust_mps: 0.0,
            },
            has_gripper: true,
            has_loudspeaker: false,
            clips: Vec::new(),
            gcs_timeout_s: 5.0,
            battery_low_pct: 25.0,
            battery_critical_pct: 12.0,
            arm_min_battery_pct: 30.0,
            rtl_alt_m: 60.0,
            position_rate_hz: 4.0,
            charge_rate_pct_per_min: 0.0,
            minimal_streams: true,
            initial_battery_pct: 100.0,
            signing_key: None,
            allow_unsigned: false,
        }
    }

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
            v.step(t, 0.1, &mut rng);
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

    #[test]
    fn invalid_parameter_values_are_kept_out() {
        let mut v = Vehicle::new(config());
        for (name, bad) in [
            ("FS_GCS_ENABLE", 9.0),
            ("FS_GCS_ENABLE", 1.5),
            ("FS_OPTIONS", f32::NAN),
            ("SRTL_ACCURACY", f32::INFINITY),
            ("FS_GCS_TIMEOUT", 0.0),
        ] {
            let before = v.param(name);
            let i = v.param_index(name).unwrap_or_else(|| panic!("{name}"));
            v.set_param(i, bad);
            assert!(v.param(name) == before, "{name} = {bad} refused");
        }
    }
}

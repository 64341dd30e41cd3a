//! One simulated ArduCopter-like vehicle, sans IO.
//!
//! The runtime feeds it MAVLink messages (`handle`) and time (`step`); it
//! answers with messages to send, each addressed to the peer that asked or to
//! every peer. Two clocks are passed in: *sim time* (physics, telemetry
//! rates, `time_boot_ms`, mission hold times), which runs `--speedup` times
//! faster than the wall, and *link time* (wall seconds: ground-station
//! heartbeat loss, mission-protocol re-requests), because the peers at the
//! other end of the link live in wall time.
//!
//! One state machine, one `impl Vehicle` block per concern: `input` routes
//! incoming messages; `commands` (COMMAND_LONG/INT, arming), `modes`,
//! `mission_protocol` (mission, fence and rally transfers) and `params`
//! answer them; `flight` runs a tick of sim time through `failsafe`,
//! `guidance` (the setpoint per mode), `auto` (mission execution) and
//! `telemetry` (streams and message building).

// Ground stations still send SET_MODE, MISSION_SET_CURRENT and MISSION_REQUEST,
// which MAVLink marks deprecated; a vehicle must keep answering them.
#![allow(deprecated)]

mod auto;
mod camera_view;
mod commands;
mod failsafe;
mod flight;
mod guidance;
mod input;
mod mission_protocol;
mod modes;
mod params;
mod telemetry;
#[cfg(test)]
pub(crate) mod testing;

use std::collections::HashMap;

use mavlink_link::mav::{
    COMMAND_ACK_DATA, MavCmd, MavMessage, MavParamType, MavResult, MavSeverity, STATUSTEXT_DATA,
};

use crate::mission::{Fence, Item, Upload};
use crate::physics::{Airframe, Body, Wind};
use crate::smartrtl;

pub use self::camera_view::{CameraPose, MissionScene};
use self::params::default_params;
use self::telemetry::default_rates;

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
    /// Which of the fleet's links (sockets) it is on: the scenario's
    /// `[[link]]` order, or 250 synthetic vehicles per link.
    pub link: usize,
    pub name: String,
    pub home: (f64, f64),
    pub home_amsl_m: f64,
    pub airframe: Airframe,
    /// The wind here; the control interface's `wind` changes it in flight.
    pub wind: Wind,
    /// How far the ADS-B In receiver hears manned traffic, metres.
    pub adsb_range_m: f64,
    pub has_gripper: bool,
    pub has_loudspeaker: bool,
    /// The camera payload (a MAVLink camera component of its own), if any.
    pub camera: Option<crate::camera::CameraSpec>,
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
    pub airspeed_mps: f64,
    /// The wind where the vehicle is (steady plus its gust), m/s, and the
    /// direction it blows from, degrees.
    pub wind_mps: f64,
    pub wind_from_deg: f64,
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
    /// Where in each stream's interval this vehicle's first message falls,
    /// 0..1 (from its system id and link: fixed, different per vehicle).
    stream_phase: f64,
    sim_t: f64,
    params: Vec<(&'static str, f32, MavParamType)>,
    /// SmartRTL's breadcrumbs since arming, and the way home being flown.
    srtl_path: smartrtl::Path,
    srtl_home: Vec<smartrtl::Point>,
}

impl Vehicle {
    pub fn new(cfg: VehicleConfig) -> Vehicle {
        let rates = default_rates(&cfg);
        let params = default_params(&cfg);
        let (cfg_system_id, cfg_link) = (cfg.system_id, cfg.link);
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
            // The golden ratio spreads consecutive ids evenly over the interval.
            stream_phase: ((f64::from(cfg_system_id) + 97.0 * cfg_link as f64) * 0.618_033_988_75)
                .fract(),
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
        let (wind_mps, wind_from_deg) = self.local_wind();
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
            airspeed_mps: if self.landed {
                0.0
            } else {
                self.body.airspeed(&self.cfg.wind)
            },
            wind_mps,
            wind_from_deg,
            battery_pct: self.battery_pct(),
            gps_fix: !self.faults.gps_lost,
            mission_items: self.mission.len(),
            mission_current: self.current,
            fence_breached: self.fence_breached,
            lifebuoy_released: self.lifebuoy_released,
            time_boot_s: self.sim_t,
        }
    }

    /// Changes the wind (steady speed, direction and gust strength).
    pub fn set_wind(&mut self, wind: Wind) {
        self.cfg.wind = wind;
    }

    /// The wind where the vehicle is: speed (m/s) and the direction it
    /// blows from (degrees, 0..360), as a wind vane reads it.
    pub fn local_wind(&self) -> (f64, f64) {
        let (n, e) = self.body.local_wind(&self.cfg.wind);
        let speed = n.hypot(e);
        let from = if speed > 1e-9 {
            crate::physics::wrap_deg((-e).atan2(-n).to_degrees())
        } else {
            0.0
        };
        (speed, from)
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

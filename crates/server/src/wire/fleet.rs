//! Drones and hangars, one telemetry entry, an operator command's answer.
//!
//! One drone shape for REST and the websocket: the altitude is `alt_m`
//! (metres above home) in both.

use dispatch_core::model as core;
use serde::Serialize;
use utoipa::ToSchema;

use super::{Capability, DroneState, LatLon, LinkStatus, capabilities};

/// One drone: the dispatcher's view and the vehicle's latest telemetry.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Drone {
    pub id: String,
    pub name: String,
    /// Its home hangar.
    pub hangar: String,
    /// MAVLink system id of its flight controller.
    pub system_id: u8,
    pub capabilities: Vec<Capability>,
    pub state: DroneState,
    /// The incident it serves, if any.
    pub incident: Option<u64>,
    pub lat: f64,
    pub lon: f64,
    /// Altitude above home, metres.
    pub alt_m: f64,
    pub heading_deg: f64,
    pub ground_speed_mps: f64,
    pub battery_pct: f64,
    /// The autopilot's flight mode (AUTO, GUIDED, LOITER, RTL, LAND...).
    pub mode: String,
    pub armed: bool,
    pub link: DroneLink,
    /// Its camera as the vehicle's camera component described it; null:
    /// none answered. Watch it at `/api/drones/{id}/video`.
    pub camera: Option<DroneCamera>,
}

/// A drone's camera (MAVLink CAMERA_INFORMATION and VIDEO_STREAM_INFORMATION).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DroneCamera {
    pub vendor: String,
    pub model: String,
    /// Its video streams, by id; the first is what `/video` relays by default.
    pub streams: Vec<VideoStream>,
}

/// One of a camera's video streams.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct VideoStream {
    /// Stream id (1-based), as `/video?stream=` takes it.
    pub id: u8,
    pub name: String,
    /// Where the vehicle serves it.
    pub uri: String,
    /// `mjpeg` (relayed by the server), `rtsp`, `rtp_udp`, `tcp_mpeg`,
    /// `mpeg_ts`, `whep` or `other`.
    pub kind: String,
    pub width: u16,
    pub height: u16,
    /// Frames per second.
    pub framerate: f32,
    /// A thermal (infrared) picture.
    pub thermal: bool,
}

/// How well the dispatcher hears a vehicle.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DroneLink {
    pub status: LinkStatus,
    /// Seconds since the last heartbeat; null if never heard.
    pub last_heard_s: Option<f64>,
    pub frames: u64,
}

/// A hangar with the drones docked or charging in it now.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Hangar {
    pub id: String,
    pub name: String,
    pub position: LatLon,
    /// Number of drone bays.
    pub slots: u32,
    /// Whether bays charge docked drones.
    pub charging: bool,
    /// Battery percentage points gained per minute while docked and charging.
    pub charge_rate_pct_per_min: f64,
    /// Seconds from the launch order to lift-off.
    pub launch_delay_s: f64,
    /// Drones docked or charging here.
    pub drones: Vec<String>,
}

/// One drone's entry in a websocket `telemetry` message.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TelemetryEntry {
    pub drone: String,
    pub lat: f64,
    pub lon: f64,
    /// Altitude above home, metres (0.1 m).
    pub alt_m: f64,
    /// Degrees, rounded.
    pub heading_deg: f64,
    /// Ground speed, m/s (0.1).
    pub ground_speed_mps: f64,
    /// Battery percentage; null until the vehicle reports it.
    pub battery_pct: Option<f64>,
    pub mode: String,
    pub armed: bool,
    pub link: LinkStatus,
    /// The vehicle's own wind estimate (ArduPilot's `WIND`); null: none yet.
    pub wind: Option<VehicleWind>,
    /// When the server sent it, milliseconds since 1970.
    pub time: i64,
}

/// A vehicle's wind estimate as it reported it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct VehicleWind {
    /// m/s (0.1).
    pub speed_mps: f64,
    /// Degrees the wind blows FROM, rounded.
    pub from_deg: f64,
    /// Seconds since it arrived (0.1).
    pub age_s: f64,
}

/// The vehicle's answer to an operator command.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CommandResult {
    pub drone: String,
    /// The action sent (rtl, land, hold, resume, goto, drop_payload, loudspeaker).
    pub action: String,
    pub result: CommandAccepted,
    /// What the vehicle answered.
    pub message: String,
}

/// The only result of a command that succeeded; refusals are errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommandAccepted {
    Accepted,
}

impl From<&fleet::DroneView> for Drone {
    fn from(d: &fleet::DroneView) -> Self {
        Drone {
            id: d.id.0.clone(),
            name: d.name.clone(),
            hangar: d.hangar.0.clone(),
            system_id: d.system_id,
            capabilities: capabilities(d.capabilities),
            state: d.state.into(),
            incident: d.incident.map(|i| i.0),
            lat: d.lat,
            lon: d.lon,
            alt_m: d.alt_m,
            heading_deg: d.heading_deg,
            ground_speed_mps: d.ground_speed_mps,
            battery_pct: d.battery_pct,
            mode: d.mode.clone(),
            armed: d.armed,
            link: DroneLink {
                status: LinkStatus::parse(d.link.status),
                last_heard_s: d.link.last_heard_s,
                frames: d.link.frames,
            },
            camera: d.camera.as_ref().map(|c| DroneCamera {
                vendor: c.vendor.clone(),
                model: c.model.clone(),
                streams: c
                    .streams
                    .iter()
                    .map(|s| VideoStream {
                        id: s.id,
                        name: s.name.clone(),
                        uri: s.uri.clone(),
                        kind: s.kind.to_owned(),
                        width: s.width,
                        height: s.height,
                        framerate: s.framerate,
                        thermal: s.thermal,
                    })
                    .collect(),
            }),
        }
    }
}

impl From<&fleet::HangarView> for Hangar {
    fn from(h: &fleet::HangarView) -> Self {
        let core::Hangar {
            id,
            name,
            position,
            slots,
            charging,
            charge_rate_pct_per_min,
            launch_delay_s,
        } = &h.hangar;
        Hangar {
            id: id.0.clone(),
            name: name.clone(),
            position: (*position).into(),
            slots: *slots,
            charging: *charging,
            charge_rate_pct_per_min: *charge_rate_pct_per_min,
            launch_delay_s: *launch_delay_s,
            drones: h.drones.iter().map(|d| d.0.clone()).collect(),
        }
    }
}

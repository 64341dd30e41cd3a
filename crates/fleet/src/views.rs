//! What clients see of the fleet: incidents, hangars, drones and the whole
//! state at one moment, as the fleet service answers them. The server crate
//! turns these into its own wire types.

use dispatch_core::model::{CapabilitySet, Hangar, HangarId, Incident, Zone};
use dispatch_core::{
    Assignment, DroneId, DroneState, IncidentId, Region, Timestamp, dispatch::TimelineEntry,
};
use mavlink_link::link::LinkHandle;
use mavlink_link::state::{LinkStatus, LinkTimeouts, VehicleState};
use serde::Serialize;

use crate::events::IncidentMeta;

/// The answer to a report.
#[derive(Debug, Clone, Serialize)]
pub struct ReportOutcome {
    /// False when `(source, external_id)` named an incident already reported.
    pub created: bool,
    pub incident: IncidentView,
}

/// An incident as clients see it.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentView {
    #[serde(flatten)]
    pub incident: Incident,
    /// Predicted arrival on scene while a drone is proposed or on its way.
    pub eta: Option<Timestamp>,
    pub auto_launch: bool,
    pub assignment: Option<Assignment>,
    #[serde(flatten)]
    pub meta: IncidentMeta,
    pub timeline: Vec<TimelineEntry>,
}

/// A hangar with the drones it holds now.
#[derive(Debug, Clone, Serialize)]
pub struct HangarView {
    #[serde(flatten)]
    pub hangar: Hangar,
    /// Drones docked or charging here.
    pub drones: Vec<DroneId>,
}

/// One drone: the dispatcher's view and the vehicle's latest telemetry.
#[derive(Debug, Clone, Serialize)]
pub struct DroneView {
    pub id: DroneId,
    pub name: String,
    pub hangar: HangarId,
    pub system_id: u8,
    pub capabilities: CapabilitySet,
    pub state: DroneState,
    /// The incident it serves, if any.
    pub incident: Option<IncidentId>,
    pub lat: f64,
    pub lon: f64,
    /// Altitude above home, metres.
    pub alt_m: f64,
    pub heading_deg: f64,
    pub ground_speed_mps: f64,
    pub battery_pct: f64,
    pub mode: String,
    pub armed: bool,
    pub link: LinkQuality,
    /// Its camera, as the vehicle's camera component described it (None:
    /// no camera has answered).
    pub camera: Option<CameraView>,
}

/// A drone's camera and its video streams.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CameraView {
    pub vendor: String,
    pub model: String,
    pub streams: Vec<StreamView>,
}

/// One video stream of a drone's camera.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamView {
    pub id: u8,
    pub name: String,
    /// Where the vehicle serves it (the server relays `mjpeg` streams).
    pub uri: String,
    /// `mjpeg`, `rtsp`, `rtp_udp`, `tcp_mpeg`, `mpeg_ts`, `whep` or `other`.
    pub kind: &'static str,
    pub width: u16,
    pub height: u16,
    pub framerate: f32,
    pub thermal: bool,
}

impl CameraView {
    /// A camera that described at least one stream.
    pub fn of(c: &mavlink_link::camera::CameraInfo) -> Option<CameraView> {
        if c.streams.is_empty() {
            return None;
        }
        Some(CameraView {
            vendor: c.vendor.clone(),
            model: c.model.clone(),
            streams: c
                .streams
                .iter()
                .map(|s| StreamView {
                    id: s.id,
                    name: s.name.clone(),
                    uri: s.uri.clone(),
                    kind: s.kind,
                    width: s.width,
                    height: s.height,
                    framerate: s.framerate,
                    thermal: s.thermal,
                })
                .collect(),
        })
    }
}

/// How well the dispatcher hears a vehicle.
#[derive(Debug, Clone, Serialize)]
pub struct LinkQuality {
    /// `unknown` (never heard), `up`, `degraded` (heartbeats late) or `lost`.
    pub status: &'static str,
    /// Seconds since the last heartbeat.
    pub last_heard_s: Option<f64>,
    pub frames: u64,
}

/// The whole state at one moment.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub time: Timestamp,
    pub scenario: String,
    pub region: Region,
    pub hangars: Vec<HangarView>,
    pub drones: Vec<DroneView>,
    /// Every zone, active now or not (see each zone's window).
    #[serde(skip)]
    pub zones: Vec<Zone>,
    pub incidents: Vec<IncidentView>,
    /// Queued incidents in the order they are served.
    pub queue: Vec<IncidentId>,
}

/// A drone's view from the dispatcher's record and the vehicle's telemetry
/// (where the vehicle has been heard; the record otherwise).
pub fn drone_view(
    d: &dispatch_core::Drone,
    v: Option<&VehicleState>,
    link: &LinkHandle,
) -> DroneView {
    drone_view_at(d, v, link.link_time(), &link.timeouts())
}

/// [`drone_view`] at a given link time (the fleet core's latest telemetry).
pub fn drone_view_at(
    d: &dispatch_core::Drone,
    v: Option<&VehicleState>,
    now_link: f64,
    timeouts: &LinkTimeouts,
) -> DroneView {
    let heard = v.filter(|v| v.last_heartbeat.is_some() && (v.lat != 0.0 || v.lon != 0.0));
    DroneView {
        id: d.id.clone(),
        name: d.name.clone(),
        hangar: d.hangar.clone(),
        system_id: d.system_id,
        capabilities: d.capabilities,
        state: d.state,
        incident: d.task.map(|t| t.incident),
        lat: heard.map_or(d.position.lat, |v| v.lat),
        lon: heard.map_or(d.position.lon, |v| v.lon),
        alt_m: heard.map_or(0.0, |v| v.rel_alt_m),
        heading_deg: heard.map_or(0.0, |v| v.heading_deg),
        ground_speed_mps: heard.map_or(0.0, |v| v.ground_speed_mps),
        battery_pct: v.and_then(|v| v.battery_pct).unwrap_or(d.battery_pct),
        mode: v.map_or_else(|| "unknown".into(), |v| v.mode.to_string()),
        armed: v.is_some_and(|v| v.armed),
        link: LinkQuality {
            status: v
                .map_or(LinkStatus::Unknown, |v| v.link_at(now_link, timeouts))
                .as_str(),
            last_heard_s: v
                .and_then(|v| v.last_heartbeat)
                .map(|h| ((now_link - h).max(0.0) * 10.0).round() / 10.0),
            frames: v.map_or(0, |v| v.frames),
        },
        camera: v.and_then(|v| v.camera.as_ref()).and_then(CameraView::of),
    }
}

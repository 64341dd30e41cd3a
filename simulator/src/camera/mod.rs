//! The simulated camera payload: a MAVLink camera component (id 100) on
//! each vehicle whose drone carries a `thermal_camera` or `zoom_camera`,
//! with its video served over HTTP as MJPEG.
//!
//! `Camera` is sans IO: it answers the camera protocol's commands
//! (MAV_CMD_REQUEST_MESSAGE for CAMERA_INFORMATION, CAMERA_SETTINGS,
//! CAMERA_CAPTURE_STATUS and VIDEO_STREAM_INFORMATION, and
//! MAV_CMD_IMAGE_START_CAPTURE) with the messages to send from component
//! 100, and says when a still is to be taken. `render` draws a frame from a
//! vehicle's state (`farmland` its ground, `raster` the rest), `jpeg`
//! encodes it, `server` serves the streams and stills, and `hub` ties them
//! to the runtime: one HTTP port per camera, frames rendered on a worker
//! thread only for streams somebody watches.

mod farmland;
mod font;
pub mod hub;
pub mod jpeg;
mod raster;
pub mod render;
pub mod scene;
pub mod server;

use mavlink_link::mav::{
    CAMERA_CAPTURE_STATUS_DATA, CAMERA_IMAGE_CAPTURED_DATA, CAMERA_INFORMATION_DATA,
    CAMERA_SETTINGS_DATA, COMMAND_ACK_DATA, CameraCapFlags, CameraMode, MavBool, MavCmd,
    MavMessage, MavResult, VIDEO_STREAM_INFORMATION_DATA, VideoStreamEncoding,
    VideoStreamStatusFlags, VideoStreamType,
};

/// MAV_COMP_ID_CAMERA: the component id real camera components use.
pub const COMPONENT_CAMERA: u8 = 100;

const CAMERA_INFORMATION: u32 = 259;
const CAMERA_SETTINGS: u32 = 260;
const CAMERA_CAPTURE_STATUS: u32 = 262;
const VIDEO_STREAM_INFORMATION: u32 = 269;

/// One video stream of a camera.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSpec {
    /// 1-based, as VIDEO_STREAM_INFORMATION numbers them.
    pub id: u8,
    pub name: &'static str,
    /// Path on the camera's HTTP server, e.g. `/stream.mjpg`.
    pub path: &'static str,
    pub thermal: bool,
    pub width: u16,
    pub height: u16,
    pub fps: f32,
    pub hfov_deg: f32,
    /// The gimbal's look forward from straight down, degrees: the thermal
    /// sensor looks ahead at what the vehicle orbits, the daylight one down
    /// at what it hovers over.
    pub tilt_deg: f32,
}

/// What a vehicle's camera is.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraSpec {
    pub model: &'static str,
    pub streams: Vec<StreamSpec>,
}

/// Where the vehicle is when a still is taken (for CAMERA_IMAGE_CAPTURED).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    pub lat: f64,
    pub lon: f64,
    pub alt_amsl_m: f64,
    pub rel_alt_m: f64,
    pub heading_deg: f64,
    /// The first stream's gimbal tilt from straight down, degrees.
    pub tilt_deg: f64,
    pub time_boot_ms: u32,
    /// Wall clock, microseconds since the Unix epoch.
    pub time_utc_us: u64,
}

/// The answer to one message: what to send (from component 100) and
/// whether a still is to be taken first, with its index.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Answer {
    pub messages: Vec<MavMessage>,
    pub capture: Option<u32>,
}

/// One vehicle's camera component.
#[derive(Debug, Clone)]
pub struct Camera {
    pub spec: CameraSpec,
    /// `http://HOST:PORT` of its server.
    base_uri: String,
    images: u32,
}

impl CameraSpec {
    /// The camera a drone with these payloads carries, if any: a thermal
    /// camera has a white-hot stream, a zoom camera a daylight one; a drone
    /// with both has both (daylight first, as on dual-sensor payloads).
    pub fn for_payloads(thermal: bool, zoom: bool) -> Option<CameraSpec> {
        let eo = StreamSpec {
            id: 1,
            name: "EO",
            path: "/stream.mjpg",
            thermal: false,
            width: 640,
            height: 360,
            fps: 5.0,
            hfov_deg: 62.0,
            tilt_deg: 0.0,
        };
        let ir = StreamSpec {
            id: 1,
            name: "IR",
            path: "/stream.mjpg",
            thermal: true,
            width: 640,
            height: 360,
            fps: 5.0,
            hfov_deg: 50.0,
            tilt_deg: 50.0,
        };
        let (model, streams) = match (thermal, zoom) {
            (false, false) => return None,
            (true, false) => ("SIM-IR640", vec![ir]),
            (false, true) => ("SIM-EO640", vec![eo]),
            (true, true) => (
                "SIM-DUAL640",
                vec![
                    eo,
                    StreamSpec {
                        id: 2,
                        path: "/thermal.mjpg",
                        ..ir
                    },
                ],
            ),
        };
        Some(CameraSpec { model, streams })
    }
}

impl Camera {
    pub fn new(spec: CameraSpec, base_uri: String) -> Camera {
        Camera {
            spec,
            base_uri,
            images: 0,
        }
    }

    /// The stream's URI, e.g. `http://127.0.0.1:40001/stream.mjpg`.
    pub fn uri(&self, s: &StreamSpec) -> String {
        format!("{}{}", self.base_uri, s.path)
    }

    /// Where still `index` is served.
    pub fn capture_uri(&self, index: u32) -> String {
        format!("{}/capture/{index}.jpg", self.base_uri)
    }

    /// Whether a message is the camera's to answer: a command addressed
    /// to component 100, or a camera command broadcast to every component
    /// (target component 0). Everything else is the autopilot's.
    pub fn claims(msg: &MavMessage) -> bool {
        let (component, command, p1) = match msg {
            MavMessage::COMMAND_LONG(c) => (c.target_component, c.command, c.param1),
            MavMessage::COMMAND_INT(c) => (c.target_component, c.command, c.param1),
            _ => return false,
        };
        component == COMPONENT_CAMERA || (component == 0 && is_camera_command(command, p1))
    }

    /// Answers a message `claims` gave to the camera, from `src` (system,
    /// component), with the vehicle at `pose`.
    pub fn handle(&mut self, msg: &MavMessage, src: (u8, u8), pose: &Pose) -> Answer {
        let (command, p) = match msg {
            MavMessage::COMMAND_LONG(c) => (
                c.command,
                [
                    c.param1, c.param2, c.param3, c.param4, c.param5, c.param6, c.param7,
                ],
            ),
            MavMessage::COMMAND_INT(c) => (
                c.command,
                [
                    c.param1, c.param2, c.param3, c.param4, c.x as f32, c.y as f32, c.z,
                ],
            ),
            _ => return Answer::default(),
        };
        let mut out = Vec::new();
        let mut capture = None;
        let result = match command {
            MavCmd::MAV_CMD_REQUEST_MESSAGE => self.request(p[0], p[1], pose, &mut out),
            #[allow(deprecated)]
            MavCmd::MAV_CMD_REQUEST_CAMERA_INFORMATION => {
                self.request(CAMERA_INFORMATION as f32, 0.0, pose, &mut out)
            }
            #[allow(deprecated)]
            MavCmd::MAV_CMD_REQUEST_CAMERA_SETTINGS => {
                self.request(CAMERA_SETTINGS as f32, 0.0, pose, &mut out)
            }
            #[allow(deprecated)]
            MavCmd::MAV_CMD_REQUEST_CAMERA_CAPTURE_STATUS => {
                self.request(CAMERA_CAPTURE_STATUS as f32, 0.0, pose, &mut out)
            }
            #[allow(deprecated)]
            MavCmd::MAV_CMD_REQUEST_VIDEO_STREAM_INFORMATION => {
                self.request(VIDEO_STREAM_INFORMATION as f32, p[0], pose, &mut out)
            }
            MavCmd::MAV_CMD_IMAGE_START_CAPTURE => {
                // param1: 0 all sensors, 1..=7 one of them; param3: images
                // (only single shots: 0 with an interval, or more than one,
                // would need a timer this camera does not keep).
                let target_ok = p[0].is_finite() && (0.0..=7.0).contains(&p[0]);
                if !target_ok {
                    MavResult::MAV_RESULT_DENIED
                } else if p[2] != 1.0 {
                    MavResult::MAV_RESULT_UNSUPPORTED
                } else {
                    let index = self.images;
                    self.images += 1;
                    capture = Some(index);
                    out.push(self.captured(index, pose));
                    MavResult::MAV_RESULT_ACCEPTED
                }
            }
            _ => MavResult::MAV_RESULT_UNSUPPORTED,
        };
        let mut messages = vec![MavMessage::COMMAND_ACK(COMMAND_ACK_DATA {
            command,
            result,
            progress: 0,
            result_param2: 0,
            target_system: src.0,
            target_component: src.1,
        })];
        messages.extend(out);
        Answer { messages, capture }
    }

    /// MAV_CMD_REQUEST_MESSAGE: `id` the message, `p2` its first parameter
    /// (the stream id for VIDEO_STREAM_INFORMATION, 0 for all).
    fn request(&self, id: f32, p2: f32, pose: &Pose, out: &mut Vec<MavMessage>) -> MavResult {
        if !(id.is_finite() && id >= 0.0) {
            return MavResult::MAV_RESULT_DENIED;
        }
        match id as u32 {
            CAMERA_INFORMATION => out.push(self.information(pose)),
            CAMERA_SETTINGS => out.push(MavMessage::CAMERA_SETTINGS(CAMERA_SETTINGS_DATA {
                time_boot_ms: pose.time_boot_ms,
                mode_id: CameraMode::CAMERA_MODE_VIDEO,
                ..Default::default()
            })),
            CAMERA_CAPTURE_STATUS => out.push(MavMessage::CAMERA_CAPTURE_STATUS(
                CAMERA_CAPTURE_STATUS_DATA {
                    time_boot_ms: pose.time_boot_ms,
                    available_capacity: 1024.0,
                    image_count: self.images as i32,
                    ..Default::default()
                },
            )),
            VIDEO_STREAM_INFORMATION => {
                let wanted = if p2.is_finite() && p2 >= 1.0 {
                    Some(p2 as u8)
                } else {
                    None
                };
                let before = out.len();
                for s in &self.spec.streams {
                    if wanted.is_none_or(|w| w == s.id) {
                        out.push(self.stream_information(s));
                    }
                }
                if out.len() == before {
                    return MavResult::MAV_RESULT_DENIED;
                }
            }
            _ => return MavResult::MAV_RESULT_UNSUPPORTED,
        }
        MavResult::MAV_RESULT_ACCEPTED
    }

    fn information(&self, pose: &Pose) -> MavMessage {
        let first = &self.spec.streams[0];
        // A 1/2.3" sensor (6.17 x 4.55 mm) behind the lens that gives the
        // first stream its field of view.
        let sensor_h = 6.17f32;
        let focal = sensor_h / 2.0 / (first.hfov_deg.to_radians() / 2.0).tan();
        MavMessage::CAMERA_INFORMATION(CAMERA_INFORMATION_DATA {
            time_boot_ms: pose.time_boot_ms,
            vendor_name: padded(b"drone-sim"),
            model_name: padded(self.spec.model.as_bytes()),
            firmware_version: 1,
            focal_length: focal,
            sensor_size_h: sensor_h,
            sensor_size_v: sensor_h * f32::from(first.height) / f32::from(first.width),
            resolution_h: first.width,
            resolution_v: first.height,
            lens_id: 0,
            flags: CameraCapFlags::CAMERA_CAP_FLAGS_CAPTURE_IMAGE
                | CameraCapFlags::CAMERA_CAP_FLAGS_HAS_VIDEO_STREAM,
            cam_definition_version: 0,
            ..Default::default()
        })
    }

    fn stream_information(&self, s: &StreamSpec) -> MavMessage {
        let mut flags = VideoStreamStatusFlags::VIDEO_STREAM_STATUS_FLAGS_RUNNING;
        if s.thermal {
            flags |= VideoStreamStatusFlags::VIDEO_STREAM_STATUS_FLAGS_THERMAL;
        }
        MavMessage::VIDEO_STREAM_INFORMATION(VIDEO_STREAM_INFORMATION_DATA {
            stream_id: s.id,
            count: self.spec.streams.len() as u8,
            // MAVLink has no MJPEG type: MJPEG over HTTP is a stream on TCP,
            // and the URI's scheme and path say the rest (docs/simulator.md).
            mavtype: VideoStreamType::VIDEO_STREAM_TYPE_TCP_MPEG,
            flags,
            framerate: s.fps,
            resolution_h: s.width,
            resolution_v: s.height,
            // About 30 KB a frame.
            bitrate: (s.fps * 30_000.0 * 8.0) as u32,
            rotation: 0,
            hfov: s.hfov_deg.round() as u16,
            name: s.name.into(),
            uri: self.uri(s).as_str().into(),
            encoding: VideoStreamEncoding::VIDEO_STREAM_ENCODING_UNKNOWN,
            ..Default::default()
        })
    }

    fn captured(&self, index: u32, pose: &Pose) -> MavMessage {
        // The gimbal looks along the nose, pitched down: yaw by the
        // heading, then pitch -(90 - tilt) degrees.
        let (sy, cy) = (pose.heading_deg.to_radians() / 2.0).sin_cos();
        let (sp, cp) = ((pose.tilt_deg - 90.0).to_radians() / 2.0).sin_cos();
        let q = [cy * cp, -sy * sp, cy * sp, sy * cp].map(|v| v as f32);
        MavMessage::CAMERA_IMAGE_CAPTURED(CAMERA_IMAGE_CAPTURED_DATA {
            time_boot_ms: pose.time_boot_ms,
            time_utc: pose.time_utc_us,
            camera_id: 0,
            lat: (pose.lat * 1e7).round() as i32,
            lon: (pose.lon * 1e7).round() as i32,
            alt: (pose.alt_amsl_m * 1000.0).round() as i32,
            relative_alt: (pose.rel_alt_m * 1000.0).round() as i32,
            q,
            image_index: index as i32,
            capture_result: MavBool::MAV_BOOL_TRUE,
            file_url: self.capture_uri(index).as_str().into(),
        })
    }
}

fn is_camera_command(c: MavCmd, p1: f32) -> bool {
    #[allow(deprecated)]
    let legacy = matches!(
        c,
        MavCmd::MAV_CMD_REQUEST_CAMERA_INFORMATION
            | MavCmd::MAV_CMD_REQUEST_CAMERA_SETTINGS
            | MavCmd::MAV_CMD_REQUEST_CAMERA_CAPTURE_STATUS
            | MavCmd::MAV_CMD_REQUEST_VIDEO_STREAM_INFORMATION
    );
    legacy
        || c == MavCmd::MAV_CMD_IMAGE_START_CAPTURE
        || (c == MavCmd::MAV_CMD_REQUEST_MESSAGE
            && p1.is_finite()
            && matches!(
                p1 as u32,
                CAMERA_INFORMATION
                    | CAMERA_SETTINGS
                    | CAMERA_CAPTURE_STATUS
                    | VIDEO_STREAM_INFORMATION
            ))
}

/// `s` in a NUL-padded 32-byte field, cut at 32 bytes.
fn padded(s: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let n = s.len().min(32);
    out[..n].copy_from_slice(&s[..n]);
    out
}

#[cfg(test)]
mod tests;

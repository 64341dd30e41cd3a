//! A vehicle's MAVLink camera component in plain terms: what its
//! CAMERA_INFORMATION and VIDEO_STREAM_INFORMATION said.
//!
//! Camera components (MAV_COMP_ID_CAMERA 100 to CAMERA6 105) answer for
//! themselves; their frames never change the autopilot's state (a camera's
//! own HEARTBEAT is not the vehicle's). Strings that are not UTF-8, and a
//! stream without a URI, are left out and counted, not believed.

use crate::mav::{MavMessage, VideoStreamStatusFlags, VideoStreamType};

/// MAV_COMP_ID_CAMERA, the component the camera protocol is addressed to.
pub const COMPONENT_CAMERA: u8 = 100;

/// Whether a component id is one of MAVLink's camera components.
pub fn is_camera_component(component: u8) -> bool {
    (100..=105).contains(&component)
}

/// What a vehicle's camera said about itself.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CameraInfo {
    /// Empty until CAMERA_INFORMATION arrives.
    pub vendor: String,
    pub model: String,
    /// Still resolution, pixels (0 when unknown).
    pub resolution: (u16, u16),
    /// By stream id.
    pub streams: Vec<VideoStream>,
    /// Messages refused (not UTF-8, no URI).
    pub refused: u64,
}

/// One video stream of a camera.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoStream {
    pub id: u8,
    pub name: String,
    pub uri: String,
    /// `rtsp`, `rtp_udp`, `mjpeg` (MPEG on TCP at an http URI, as MJPEG
    /// cameras and the bundled simulator announce it), `tcp_mpeg`,
    /// `mpeg_ts`, `whep`, or `other`.
    pub kind: &'static str,
    pub width: u16,
    pub height: u16,
    pub framerate: f32,
    pub thermal: bool,
    pub hfov_deg: u16,
}

impl CameraInfo {
    /// Takes in one message from a camera component; true when something changed.
    pub fn apply(&mut self, msg: &MavMessage) -> bool {
        match msg {
            MavMessage::CAMERA_INFORMATION(c) => {
                let (Some(vendor), Some(model)) = (text(&c.vendor_name), text(&c.model_name))
                else {
                    self.refused += 1;
                    return false;
                };
                let before = (self.vendor.clone(), self.model.clone(), self.resolution);
                self.vendor = vendor;
                self.model = model;
                self.resolution = (c.resolution_h, c.resolution_v);
                before != (self.vendor.clone(), self.model.clone(), self.resolution)
            }
            MavMessage::VIDEO_STREAM_INFORMATION(v) => {
                let (Ok(uri), Ok(name)) = (v.uri.to_str(), v.name.to_str()) else {
                    self.refused += 1;
                    return false;
                };
                if uri.is_empty() {
                    self.refused += 1;
                    return false;
                }
                let s = VideoStream {
                    id: v.stream_id,
                    name: name.to_owned(),
                    uri: uri.to_owned(),
                    kind: kind(v.mavtype, uri),
                    width: v.resolution_h,
                    height: v.resolution_v,
                    framerate: if v.framerate.is_finite() {
                        v.framerate
                    } else {
                        0.0
                    },
                    thermal: v
                        .flags
                        .contains(VideoStreamStatusFlags::VIDEO_STREAM_STATUS_FLAGS_THERMAL),
                    hfov_deg: v.hfov,
                };
                match self.streams.iter_mut().find(|x| x.id == s.id) {
                    Some(old) if *old == s => false,
                    Some(old) => {
                        *old = s;
                        true
                    }
                    None => {
                        self.streams.push(s);
                        self.streams.sort_by_key(|x| x.id);
                        true
                    }
                }
            }
            _ => false,
        }
    }
}

fn kind(t: VideoStreamType, uri: &str) -> &'static str {
    let http = uri.starts_with("http://") || uri.starts_with("https://");
    match t {
        VideoStreamType::VIDEO_STREAM_TYPE_RTSP => "rtsp",
        VideoStreamType::VIDEO_STREAM_TYPE_RTPUDP => "rtp_udp",
        VideoStreamType::VIDEO_STREAM_TYPE_TCP_MPEG if http => "mjpeg",
        VideoStreamType::VIDEO_STREAM_TYPE_TCP_MPEG => "tcp_mpeg",
        VideoStreamType::VIDEO_STREAM_TYPE_MPEG_TS => "mpeg_ts",
        VideoStreamType::VIDEO_STREAM_TYPE_WHEP => "whep",
        #[allow(unreachable_patterns)]
        _ => "other",
    }
}

/// A NUL-padded byte field as text; `None` if it is not UTF-8.
fn text(b: &[u8]) -> Option<String> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    std::str::from_utf8(&b[..end]).ok().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mav::{CAMERA_INFORMATION_DATA, VIDEO_STREAM_INFORMATION_DATA};

    fn stream(id: u8, uri: &str, thermal: bool) -> MavMessage {
        let mut flags = VideoStreamStatusFlags::VIDEO_STREAM_STATUS_FLAGS_RUNNING;
        if thermal {
            flags |= VideoStreamStatusFlags::VIDEO_STREAM_STATUS_FLAGS_THERMAL;
        }
        MavMessage::VIDEO_STREAM_INFORMATION(VIDEO_STREAM_INFORMATION_DATA {
            stream_id: id,
            count: 2,
            mavtype: VideoStreamType::VIDEO_STREAM_TYPE_TCP_MPEG,
            flags,
            framerate: 5.0,
            resolution_h: 640,
            resolution_v: 360,
            hfov: 50,
            name: "IR".into(),
            uri: uri.into(),
            ..Default::default()
        })
    }

    #[test]
    fn information_and_streams_are_kept_by_id_and_garbage_is_refused() {
        let mut c = CameraInfo::default();
        let mut vendor = [0u8; 32];
        vendor[..3].copy_from_slice(b"ACM");
        let mut model = [0u8; 32];
        model[..2].copy_from_slice(&[0xFF, 0xFE]);
        let bad = MavMessage::CAMERA_INFORMATION(CAMERA_INFORMATION_DATA {
            vendor_name: vendor,
            model_name: model,
            ..Default::default()
        });
        assert!(!c.apply(&bad));
        assert_eq!(c.refused, 1);
        model[..2].copy_from_slice(b"X1");
        let good = MavMessage::CAMERA_INFORMATION(CAMERA_INFORMATION_DATA {
            vendor_name: vendor,
            model_name: model,
            resolution_h: 640,
            resolution_v: 360,
            ..Default::default()
        });
        assert!(c.apply(&good));
        assert!(!c.apply(&good));
        assert_eq!(
            (c.vendor.as_str(), c.model.as_str(), c.resolution),
            ("ACM", "X1", (640, 360))
        );

        assert!(c.apply(&stream(2, "http://127.0.0.1:9/thermal.mjpg", true)));
        assert!(c.apply(&stream(1, "rtsp://10.0.0.1/live", false)));
        assert!(!c.apply(&stream(1, "rtsp://10.0.0.1/live", false)));
        assert!(!c.apply(&stream(3, "", false)));
        assert_eq!(c.refused, 2);
        let ids: Vec<u8> = c.streams.iter().map(|s| s.id).collect();
        assert_eq!(ids, [1, 2]);
        assert_eq!(
            (c.streams[0].kind, c.streams[1].kind),
            ("tcp_mpeg", "mjpeg")
        );
        assert!(c.streams[1].thermal && !c.streams[0].thermal);
    }

    #[test]
    fn camera_components_are_100_to_105() {
        assert!(is_camera_component(100) && is_camera_component(105));
        assert!(!is_camera_component(1) && !is_camera_component(154));
    }
}

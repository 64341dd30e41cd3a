//! The camera component, its renderer and its server.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use mavlink_link::mav::{COMMAND_LONG_DATA, MavCmd, MavMessage, MavResult, VideoStreamStatusFlags};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::hub::Cameras;
use super::jpeg::encode_jpeg;
use super::render::{Ground, HotKind, HotSpot, Mark, Scene, View, render, render_into};
use super::{COMPONENT_CAMERA, Camera, CameraSpec, Pose, scene};
use crate::vehicle::testing::{HOME, config};
use crate::vehicle::{Vehicle, VehicleConfig};

fn view(thermal: bool) -> View {
    View {
        lat: 30.3760,
        lon: 120.5000,
        alt_m: 60.0,
        heading_deg: 30.0,
        hfov_deg: 62.0,
        tilt_deg: 0.0,
        width: 640,
        height: 360,
        thermal,
        t_s: 12.0,
        caption: "YG-1".into(),
        clock: "12:00:00Z".into(),
    }
}

fn scene_with_person() -> Scene {
    Scene {
        ground: Arc::new(scene::ground(None)),
        hotspots: vec![HotSpot {
            lat: 30.3760,
            lon: 120.5000,
            kind: HotKind::Person,
        }],
        vehicles: vec![Mark {
            lat: 30.3762,
            lon: 120.5001,
            name: "YG-2".into(),
        }],
    }
}

fn command(target_component: u8, command: MavCmd, p: [f32; 7]) -> MavMessage {
    MavMessage::COMMAND_LONG(COMMAND_LONG_DATA {
        target_system: 11,
        target_component,
        command,
        confirmation: 0,
        param1: p[0],
        param2: p[1],
        param3: p[2],
        param4: p[3],
        param5: p[4],
        param6: p[5],
        param7: p[6],
    })
}

fn request(component: u8, id: f32, p2: f32) -> MavMessage {
    command(
        component,
        MavCmd::MAV_CMD_REQUEST_MESSAGE,
        [id, p2, 0.0, 0.0, 0.0, 0.0, 0.0],
    )
}

fn pose() -> Pose {
    Pose {
        lat: 30.38,
        lon: 120.5,
        alt_amsl_m: 65.0,
        rel_alt_m: 60.0,
        heading_deg: 90.0,
        tilt_deg: 0.0,
        time_boot_ms: 5000,
        time_utc_us: 1_700_000_000_000_000,
    }
}

fn ack_result(m: &MavMessage) -> Option<MavResult> {
    match m {
        MavMessage::COMMAND_ACK(a) => Some(a.result),
        _ => None,
    }
}

fn dual() -> Camera {
    let spec = CameraSpec::for_payloads(true, true).unwrap_or_else(|| unreachable!());
    Camera::new(spec, "http://127.0.0.1:4000".into())
}

#[test]
fn a_state_gives_the_same_frame_and_another_state_another() {
    let s = scene_with_person();
    let a = render(&view(false), &s);
    let b = render(&view(false), &s);
    assert_eq!(a.as_raw(), b.as_raw());
    let turned = View {
        heading_deg: 120.0,
        ..view(false)
    };
    assert_ne!(a.as_raw(), render(&turned, &s).as_raw());
    let higher = View {
        alt_m: 90.0,
        ..view(false)
    };
    assert_ne!(a.as_raw(), render(&higher, &s).as_raw());
}

#[test]
fn a_reused_frame_buffer_gives_the_frame_a_fresh_one_does() {
    let s = scene_with_person();
    let mut buf = image::RgbImage::new(0, 0);
    // Last held another sensor's frame, then a frame of another size.
    render_into(&mut buf, &view(true), &s);
    assert_eq!(buf.as_raw(), render(&view(true), &s).as_raw());
    render_into(&mut buf, &view(false), &s);
    assert_eq!(buf.as_raw(), render(&view(false), &s).as_raw());
    let small = View {
        width: 320,
        height: 180,
        ..view(false)
    };
    render_into(&mut buf, &small, &s);
    assert_eq!(buf.dimensions(), (320, 180));
    assert_eq!(buf.as_raw(), render(&small, &s).as_raw());
}

#[test]
fn the_casualty_under_the_crosshair_is_orange_by_day_and_white_hot_in_thermal() {
    let s = scene_with_person();
    let day = render(&view(false), &s);
    let ir = render(&view(true), &s);
    assert_ne!(day.as_raw(), ir.as_raw());
    assert_eq!(day.get_pixel(320, 180).0, [255, 110, 20]);
    assert_eq!(ir.get_pixel(320, 180).0, [250, 250, 250]);
    // Thermal ground is grey: away from the display, r = g = b.
    let grey = (60..300)
        .step_by(7)
        .flat_map(|y| (40..600).step_by(11).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let [r, g, b] = ir.get_pixel(x, y).0;
            r == g && g == b
        })
        .count();
    let total = (60..300).step_by(7).count() * (40..600).step_by(11).count();
    assert!(grey * 10 >= total * 9, "{grey} of {total} grey");
    // The river (the view is over the channel near Laoyancang) is darker
    // than the farmland in thermal: cool water.
    let water = ir.get_pixel(100, 300).0[0];
    assert!(water < 80, "water {water}");
}

#[test]
fn frames_encode_as_jpeg_of_a_plausible_size() {
    let img = render(&view(true), &scene_with_person());
    let jpeg = encode_jpeg(&img, 70).unwrap_or_default();
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    assert_eq!(&jpeg[jpeg.len() - 2..], &[0xFF, 0xD9]);
    assert!((5_000..200_000).contains(&jpeg.len()), "{}", jpeg.len());
}

#[test]
fn a_frame_carries_its_number_and_time_in_a_comment_before_the_picture() {
    let img = render(&view(false), &scene_with_person());
    let jpeg = encode_jpeg(&img, 70).unwrap_or_default();
    let one = super::hub::stamped(jpeg.clone(), 7, 1_790_000_000_123_456);
    let two = super::hub::stamped(jpeg.clone(), 8, 1_790_000_000_323_456);
    assert_ne!(one, two, "an unchanged view's frames differ by their stamp");
    let text = b"frame 7 t=1790000000123456";
    assert_eq!(&one[..4], &[0xFF, 0xD8, 0xFF, 0xFE]);
    assert_eq!(
        usize::from(u16::from_be_bytes([one[4], one[5]])),
        text.len() + 2
    );
    assert_eq!(&one[6..6 + text.len()], text);
    // A whole segment, and the picture after it byte for byte: what a
    // decoder skips and what it decodes (the browser test decodes them).
    assert_eq!(&one[6 + text.len()..], &jpeg[2..]);
    assert_eq!(one.len(), jpeg.len() + 4 + text.len());
    // Not a JPEG: left as it is.
    assert_eq!(super::hub::stamped(vec![1, 2, 3], 1, 0), vec![1, 2, 3]);
}

#[test]
fn a_view_from_nowhere_or_with_nonsense_numbers_still_renders() {
    let v = View {
        alt_m: f64::NAN,
        heading_deg: f64::INFINITY,
        hfov_deg: -5.0,
        width: 0,
        height: 0,
        ..view(false)
    };
    let img = render(&v, &Scene::default());
    assert_eq!((img.width(), img.height()), (16, 16));
}

#[test]
fn camera_information_and_each_stream_are_answered_from_the_camera() {
    let mut cam = dual();
    let a = cam.handle(&request(COMPONENT_CAMERA, 259.0, 0.0), (255, 190), &pose());
    assert_eq!(
        ack_result(&a.messages[0]),
        Some(MavResult::MAV_RESULT_ACCEPTED)
    );
    let MavMessage::CAMERA_INFORMATION(info) = &a.messages[1] else {
        panic!("{:?}", a.messages)
    };
    assert_eq!((info.resolution_h, info.resolution_v), (640, 360));
    assert_eq!(&info.model_name[..11], b"SIM-DUAL640");

    let a = cam.handle(&request(0, 269.0, 0.0), (255, 190), &pose());
    let streams: Vec<_> = a
        .messages
        .iter()
        .filter_map(|m| match m {
            MavMessage::VIDEO_STREAM_INFORMATION(v) => Some(v.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(streams.len(), 2);
    assert_eq!(
        streams[0].uri.to_str().ok(),
        Some("http://127.0.0.1:4000/stream.mjpg")
    );
    assert_eq!(
        streams[1].uri.to_str().ok(),
        Some("http://127.0.0.1:4000/thermal.mjpg")
    );
    assert!(
        !streams[0]
            .flags
            .contains(VideoStreamStatusFlags::VIDEO_STREAM_STATUS_FLAGS_THERMAL)
    );
    assert!(
        streams[1]
            .flags
            .contains(VideoStreamStatusFlags::VIDEO_STREAM_STATUS_FLAGS_THERMAL)
    );
    assert_eq!((streams[1].framerate, streams[1].count), (5.0, 2));

    let a = cam.handle(&request(COMPONENT_CAMERA, 269.0, 2.0), (255, 190), &pose());
    assert_eq!(a.messages.len(), 2);
    let a = cam.handle(&request(COMPONENT_CAMERA, 269.0, 7.0), (255, 190), &pose());
    assert_eq!(
        ack_result(&a.messages[0]),
        Some(MavResult::MAV_RESULT_DENIED)
    );
    let a = cam.handle(&request(COMPONENT_CAMERA, 33.0, 0.0), (255, 190), &pose());
    assert_eq!(
        ack_result(&a.messages[0]),
        Some(MavResult::MAV_RESULT_UNSUPPORTED)
    );
    let a = cam.handle(
        &request(COMPONENT_CAMERA, f32::NAN, 0.0),
        (255, 190),
        &pose(),
    );
    assert_eq!(
        ack_result(&a.messages[0]),
        Some(MavResult::MAV_RESULT_DENIED)
    );
}

#[test]
fn the_camera_claims_its_own_commands_and_leaves_the_autopilot_its_own() {
    assert!(Camera::claims(&request(COMPONENT_CAMERA, 33.0, 0.0)));
    assert!(Camera::claims(&request(0, 259.0, 0.0)));
    assert!(!Camera::claims(&request(0, 148.0, 0.0)));
    assert!(!Camera::claims(&request(1, 259.0, 0.0)));
    let arm = command(
        0,
        MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    );
    assert!(!Camera::claims(&arm));
}

#[test]
fn each_capture_is_acknowledged_and_reported_with_its_index_and_url() {
    let mut cam = dual();
    let shoot = command(
        COMPONENT_CAMERA,
        MavCmd::MAV_CMD_IMAGE_START_CAPTURE,
        [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0],
    );
    for index in 0..2u32 {
        let a = cam.handle(&shoot, (255, 190), &pose());
        assert_eq!(a.capture, Some(index));
        assert_eq!(
            ack_result(&a.messages[0]),
            Some(MavResult::MAV_RESULT_ACCEPTED)
        );
        let MavMessage::CAMERA_IMAGE_CAPTURED(c) = &a.messages[1] else {
            panic!("{:?}", a.messages)
        };
        assert_eq!(c.image_index, index as i32);
        assert_eq!(
            (c.lat, c.lon, c.relative_alt),
            (303_800_000, 1_205_000_000, 60_000)
        );
        assert_eq!(
            c.file_url.to_str().ok().map(str::to_owned),
            Some(format!("http://127.0.0.1:4000/capture/{index}.jpg"))
        );
    }
    let burst = command(
        COMPONENT_CAMERA,
        MavCmd::MAV_CMD_IMAGE_START_CAPTURE,
        [0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    );
    let a = cam.handle(&burst, (255, 190), &pose());
    assert_eq!(
        ack_result(&a.messages[0]),
        Some(MavResult::MAV_RESULT_UNSUPPORTED)
    );
    assert_eq!(a.capture, None);
}

fn camera_vehicle() -> VehicleConfig {
    VehicleConfig {
        camera: CameraSpec::for_payloads(true, false),
        ..config()
    }
}

async fn get(addr: &str, path: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{addr}: {e}"));
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    s.write_all(req.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    s
}

/// Bytes from `s` until `needle` has been seen `times` times (10 s at most).
async fn read_until(s: &mut TcpStream, needle: &[u8], times: usize) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while buf.windows(needle.len()).filter(|w| *w == needle).count() < times {
        let n = tokio::time::timeout_at(deadline, s.read(&mut chunk))
            .await
            .unwrap_or_else(|_| panic!("timed out with {} bytes", buf.len()))
            .unwrap_or_else(|e| panic!("{e}"));
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    buf
}

#[tokio::test]
async fn only_a_watched_stream_is_rendered_and_it_serves_jpeg_parts() {
    let vehicle = Vehicle::new(camera_vehicle());
    let mut cams = Cameras::start(
        vec![Some(
            CameraSpec::for_payloads(true, false).unwrap_or_else(|| unreachable!()),
        )],
        "127.0.0.1".parse().unwrap_or_else(|_| unreachable!()),
        Ground::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let addr = cams.listing(&[&vehicle])[0].http.clone();
    let mut t = 0.0;
    for _ in 0..10 {
        t += 0.25;
        cams.tick(t, t, &[&vehicle]);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(cams.stats.frames_rendered.load(Ordering::Relaxed), 0);

    let mut s = get(&addr, "/stream.mjpg").await;
    // Wait for the server to subscribe the client, ticking as the runtime does.
    let reader = tokio::spawn(async move { read_until(&mut s, b"\xFF\xD9\r\n", 2).await });
    while !reader.is_finished() {
        t += 0.25;
        cams.tick(t, t, &[&vehicle]);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let body = reader.await.unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text:.200}");
    assert!(text.contains("Content-Type: multipart/x-mixed-replace; boundary=frame"));
    assert!(text.contains("--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "));
    assert!(body.windows(2).any(|w| w == [0xFF, 0xD8]));
    assert!(cams.stats.frames_rendered.load(Ordering::Relaxed) >= 2);
    let _ = HOME;
}

#[tokio::test]
async fn a_capture_is_served_and_bad_requests_get_a_clear_status() {
    let vehicle = Vehicle::new(camera_vehicle());
    let mut cams = Cameras::start(
        vec![Some(
            CameraSpec::for_payloads(false, true).unwrap_or_else(|| unreachable!()),
        )],
        "127.0.0.1".parse().unwrap_or_else(|_| unreachable!()),
        scene::ground(None),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let addr = cams.listing(&[&vehicle])[0].http.clone();
    let shoot = command(
        0,
        MavCmd::MAV_CMD_IMAGE_START_CAPTURE,
        [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0],
    );
    assert!(cams.claims(0, &shoot));
    let out = cams.handle(0, &shoot, (255, 190), &[&vehicle]);
    assert_eq!(out.len(), 2);

    let mut s = get(&addr, "/capture/0.jpg").await;
    let body = read_until(&mut s, b"\xFF\xD9", 1).await;
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.starts_with("HTTP/1.1 200 OK\r\nContent-Type: image/jpeg"),
        "{text:.100}"
    );

    for (req, status) in [
        ("GET /capture/9.jpg HTTP/1.1\r\n\r\n", "404"),
        ("GET /capture/x.jpg HTTP/1.1\r\n\r\n", "404"),
        ("GET /nothing HTTP/1.1\r\n\r\n", "404"),
        ("POST /stream.mjpg HTTP/1.1\r\n\r\n", "405"),
        ("\u{1}\u{2}garbage\r\n\r\n", "400"),
    ] {
        let mut s = TcpStream::connect(&addr)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        s.write_all(req.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut out = String::new();
        let _ = s.read_to_string(&mut out).await;
        assert!(
            out.starts_with(&format!("HTTP/1.1 {status}")),
            "{req:?}: {out}"
        );
    }
}

#[test]
fn a_tilted_thermal_camera_on_an_orbit_sees_the_fire_it_circles() {
    // 80 m south of a fire, nose north, 60 m up, the sensor 50° from
    // straight down: the axis meets the ground 72 m ahead, 8 m short of it.
    let fire = (30.4320, 120.8840);
    let v = View {
        lat: fire.0 - 80.0 / 111_320.0,
        lon: fire.1,
        heading_deg: 0.0,
        tilt_deg: 50.0,
        hfov_deg: 50.0,
        ..view(true)
    };
    let s = Scene {
        ground: Arc::new(Ground::default()),
        hotspots: vec![HotSpot {
            lat: fire.0,
            lon: fire.1,
            kind: HotKind::Fire,
        }],
        vehicles: vec![],
    };
    // Hot pixels away from the display's text (the crosshair is a few
    // hundred at most).
    let hot = |img: &image::RgbImage| {
        (40..320)
            .flat_map(|y| (0..640).map(move |x| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0[0] > 200)
            .count()
    };
    let tilted = hot(&render(&v, &s));
    assert!(tilted > 3_000, "{tilted} hot pixels");
    let nadir = hot(&render(&View { tilt_deg: 0.0, ..v }, &s));
    assert!(nadir < 500, "nadir {nadir}");
}

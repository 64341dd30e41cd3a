//! Camera discovery in simulated time.

use mavlink_link::camera::{CameraInfo, VideoStream};
use mavlink_link::link::CommandError;
use mavlink_link::mav::{MavCmd, MavResult};

use super::{Sim, drone};
use crate::core::ActionOutcome;
use crate::core::camera::{ATTEMPTS, RETRY_S};

fn asks(sim: &Sim, sysid: u8) -> usize {
    let d = sim.drone_of(sysid);
    sim.effects
        .iter()
        .filter(|e| {
            matches!(e, crate::core::Effect::Act { action: crate::core::Action::AskCamera { drone }, .. } if *drone == d)
        })
        .count()
}

fn camera() -> CameraInfo {
    CameraInfo {
        vendor: "drone-sim".into(),
        model: "SIM-IR640".into(),
        resolution: (640, 360),
        streams: vec![VideoStream {
            id: 1,
            name: "IR".into(),
            uri: "http://127.0.0.1:4000/stream.mjpg".into(),
            kind: "mjpeg",
            width: 640,
            height: 360,
            framerate: 5.0,
            thermal: true,
            hfov_deg: 50,
        }],
        refused: 0,
    }
}

#[test]
fn each_vehicle_heard_is_asked_once_and_a_refusal_means_no_camera() {
    let mut sim = Sim::new();
    sim.start();
    sim.advance(1.0);
    assert_eq!(asks(&sim, 11), 1);
    assert_eq!(asks(&sim, 42), 1);
    // yg-1's autopilot answers for the missing camera: UNSUPPORTED.
    let (aid, _) = sim
        .action(11, "camera")
        .unwrap_or_else(|| panic!("no question"));
    sim.done(
        aid,
        ActionOutcome::CameraAsked(Err(CommandError::Rejected {
            system_id: 11,
            command: MavCmd::MAV_CMD_REQUEST_MESSAGE,
            result: MavResult::MAV_RESULT_UNSUPPORTED,
        })),
    );
    sim.advance(3.0 * RETRY_S);
    assert_eq!(asks(&sim, 11), 1, "a refusal is final");
    assert!(
        sim.core
            .camera_ask(&drone("yg-1"))
            .is_some_and(|a| a.settled())
    );
    // hn-2's camera answers; the messages come with its telemetry.
    let (aid, _) = sim
        .action(42, "camera")
        .unwrap_or_else(|| panic!("no question"));
    sim.done(aid, ActionOutcome::CameraAsked(Ok(())));
    sim.vehicle(42).camera = Some(camera());
    sim.advance(3.0 * RETRY_S);
    assert_eq!(asks(&sim, 42), 1, "a camera found is not asked for again");
    let view = crate::views::drone_view_at(
        sim.core
            .scenario()
            .drones
            .iter()
            .find(|d| d.id == drone("hn-2"))
            .unwrap_or_else(|| panic!("no hn-2")),
        sim.vehicles.get(&42),
        sim.link_t,
        &Default::default(),
    );
    let cam = view
        .camera
        .unwrap_or_else(|| panic!("no camera in the view"));
    assert_eq!(
        (cam.streams[0].kind, cam.streams[0].thermal),
        ("mjpeg", true)
    );
}

#[test]
fn a_silent_camera_is_asked_again_a_few_times_and_again_after_a_lost_link() {
    let mut sim = Sim::new();
    sim.start();
    sim.advance(1.0);
    for attempt in 1..=ATTEMPTS {
        assert_eq!(asks(&sim, 21), attempt as usize);
        let (aid, _) = sim
            .action(21, "camera")
            .unwrap_or_else(|| panic!("no question"));
        sim.done(
            aid,
            ActionOutcome::CameraAsked(Err(CommandError::Timeout {
                system_id: 21,
                command: MavCmd::MAV_CMD_REQUEST_MESSAGE,
                attempts: 6,
            })),
        );
        // Nothing before the retry time, the next question after it.
        sim.advance(RETRY_S / 2.0);
        assert_eq!(asks(&sim, 21), attempt as usize);
        sim.advance(RETRY_S / 2.0 + 1.0);
    }
    assert_eq!(asks(&sim, 21), ATTEMPTS as usize);
    sim.advance(5.0 * RETRY_S);
    assert_eq!(
        asks(&sim, 21),
        ATTEMPTS as usize,
        "no more questions this session"
    );
    // The link lost and back: a new session, asked again.
    sim.silent.push(21);
    sim.advance(30.0);
    sim.silent.clear();
    sim.advance(1.0);
    assert_eq!(asks(&sim, 21), ATTEMPTS as usize + 1);
}

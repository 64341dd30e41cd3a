//! The link actions the fleet core asks for, carried out on a drone's link:
//! a launch (failsafe parameters, fence and mission up, the hangar's delay,
//! arming, mission start), sending home, disarming, an operator's steps, a
//! binding. Every path ends in an [`ActionOutcome`]: the runtime feeds it
//! back to the core, which makes it an event.

// The runtime's side: the hangar's delay is a real wait.
#![allow(clippy::disallowed_methods)]

use std::time::Duration;

use mavlink_link::link::{Command, LinkHandle};
use mavlink_link::mav::{MavCmd, MavMissionType};
use mavlink_link::modes::FlightMode;

use crate::core::{Action, ActionOutcome, HomeVia, Step};

/// Carries out one link action on `system_id` of `link`; every path gives an outcome.
pub(crate) async fn run_action(link: &LinkHandle, system_id: u8, action: Action) -> ActionOutcome {
    match action {
        Action::Launch {
            fence,
            mission,
            delay,
            airborne,
            ..
        } => {
            ActionOutcome::Launched(launch(link, system_id, fence, mission, delay, airborne).await)
        }
        Action::SendHome {
            return_start, seq, ..
        } => ActionOutcome::SentHome(send_home(link, system_id, return_start, seq).await),
        Action::Disarm { .. } => {
            let armed = link.vehicle(system_id).is_some_and(|v| v.armed);
            ActionOutcome::Disarmed(if armed {
                link.arm(system_id, false)
                    .await
                    .map(|()| true)
                    .map_err(|e| e.to_string())
            } else {
                Ok(false)
            })
        }
        Action::AskCamera { .. } => ActionOutcome::CameraAsked(ask_camera(link, system_id).await),
        Action::Bind { address, .. } => ActionOutcome::Bound(if link.bind(system_id, address) {
            Ok(())
        } else {
            Err(format!(
                "system id {system_id} is not configured on this link"
            ))
        }),
        Action::Operator { steps, .. } => {
            let mut r = Ok(());
            for step in &steps {
                r = match step {
                    Step::Mode(mode) => link.set_mode(system_id, *mode).await,
                    Step::Command(c) => link.command(system_id, c.clone()).await,
                };
                if r.is_err() {
                    break;
                }
            }
            ActionOutcome::Commanded(r)
        }
    }
}

async fn launch(
    link: &LinkHandle,
    sysid: u8,
    fence: Vec<mavlink_link::mav::MISSION_ITEM_INT_DATA>,
    mission: Vec<mavlink_link::mav::MISSION_ITEM_INT_DATA>,
    delay: Duration,
    airborne: bool,
) -> Result<String, String> {
    // The hangar opens and runs its checks while the mission goes up.
    let sleep = tokio::time::sleep(delay);
    // Losing the ground station must not strand the drone: keep flying the
    // mission (its way home avoids every zone).
    let failsafe = crate::failsafe::configure(link, sysid)
        .await
        .map_err(|e| format!("failsafe parameters: {e}"))?;
    link.upload(sysid, MavMissionType::MAV_MISSION_TYPE_FENCE, fence)
        .await
        .map_err(|e| format!("fence upload: {e}"))?;
    link.upload(sysid, MavMissionType::MAV_MISSION_TYPE_MISSION, mission)
        .await
        .map_err(|e| format!("mission upload: {e}"))?;
    sleep.await;
    if !airborne {
        link.set_mode(sysid, FlightMode::Guided)
            .await
            .map_err(|e| format!("mode GUIDED: {e}"))?;
        link.arm(sysid, true)
            .await
            .map_err(|e| format!("arm: {e}"))?;
    }
    link.command(
        sysid,
        Command::Long {
            command: MavCmd::MAV_CMD_MISSION_START,
            params: [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        },
    )
    .await
    .map_err(|e| format!("mission start: {e}"))?;
    Ok(failsafe)
}

async fn send_home(
    link: &LinkHandle,
    sysid: u8,
    return_start: Option<u16>,
    seq: u16,
) -> Result<HomeVia, String> {
    let auto = async {
        let Some(return_start) = return_start else {
            return Err("no mission of ours to finish".to_owned());
        };
        if seq < return_start {
            link.command_long(
                sysid,
                MavCmd::MAV_CMD_DO_SET_MISSION_CURRENT,
                [f32::from(return_start), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            )
            .await
            .map_err(|e| e.to_string())?;
        }
        link.set_mode(sysid, FlightMode::Auto)
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    let Err(auto_error) = auto else {
        return Ok(HomeVia::Auto);
    };
    match link.set_mode(sysid, FlightMode::SmartRtl).await {
        Ok(()) => Ok(HomeVia::Fallback {
            mode: "SMART_RTL",
            auto_error,
        }),
        Err(_) => match link.set_mode(sysid, FlightMode::Rtl).await {
            Ok(()) => Ok(HomeVia::Fallback {
                mode: "RTL",
                auto_error,
            }),
            Err(e2) => Err(format!("{auto_error}; RTL: {e2}")),
        },
    }
}

/// MAV_CMD_REQUEST_MESSAGE to the camera component for CAMERA_INFORMATION
/// (259), then for every VIDEO_STREAM_INFORMATION (269, stream 0: all).
/// The messages themselves arrive as telemetry.
async fn ask_camera(
    link: &LinkHandle,
    system_id: u8,
) -> Result<(), mavlink_link::link::CommandError> {
    for (id, p2) in [(259.0, 0.0), (269.0, 0.0)] {
        link.command(
            system_id,
            Command::Camera {
                command: MavCmd::MAV_CMD_REQUEST_MESSAGE,
                params: [id, p2, 0.0, 0.0, 0.0, 0.0, 0.0],
            },
        )
        .await?;
    }
    Ok(())
}

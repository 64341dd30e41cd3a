//! The vehicle-side failsafe settings every sortie relies on, written
//! before each launch with PARAM_SET and verified by read-back.
//!
//! A mission from the dispatcher already holds the planned, zone-free way
//! home and the landing at the hangar. So when the vehicle loses its ground
//! station (a link blip, the dispatcher killed or restarted), the right
//! thing is to keep flying that mission, not to RTL in a straight line that
//! may cross a zone the fence excludes (and then land wherever the fence
//! stops it). Outside a mission (a pilot took over, the mission was
//! abandoned), the vehicle retraces the path it flew (SmartRTL), which went
//! around every zone, and lands where it is if it has no path.
//!
//! - ArduCopter: `FS_GCS_ENABLE = 4` (SmartRTL, else LAND) and `FS_OPTIONS`
//!   bits 1 (continue in AUTO on ground-station loss) and 3 (continue a
//!   landing), other bits kept as they were.
//! - PX4: `NAV_DLL_ACT = 2` (Return) and `COM_DLL_EXCEPT` bit 0 (a mission
//!   in progress continues on data-link loss), other bits kept.

use mavlink_link::link::{LinkHandle, ParamError};
use mavlink_link::modes::Autopilot;

/// ArduCopter FS_GCS_ENABLE: "always SmartRTL or Land".
pub const FS_GCS_SMARTRTL_OR_LAND: f64 = 4.0;
/// ArduCopter FS_OPTIONS bits: continue in AUTO on GCS failsafe, continue landing.
pub const FS_OPTIONS_CONTINUE_AUTO_GCS: u32 = 1 << 1;
pub const FS_OPTIONS_CONTINUE_LANDING: u32 = 1 << 3;
/// PX4 NAV_DLL_ACT: Return mode.
pub const PX4_DLL_RETURN: f64 = 2.0;
/// PX4 COM_DLL_EXCEPT bit: mission.
pub const PX4_DLL_EXCEPT_MISSION: u32 = 1 << 0;

/// One parameter to hold a value: either exactly, or with some bits set.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Value(f64),
    Bits(u32),
}

fn wanted(autopilot: Autopilot) -> [(&'static str, Want); 2] {
    match autopilot {
        Autopilot::ArduCopter => [
            ("FS_GCS_ENABLE", Want::Value(FS_GCS_SMARTRTL_OR_LAND)),
            (
                "FS_OPTIONS",
                Want::Bits(FS_OPTIONS_CONTINUE_AUTO_GCS | FS_OPTIONS_CONTINUE_LANDING),
            ),
        ],
        Autopilot::Px4 => [
            ("NAV_DLL_ACT", Want::Value(PX4_DLL_RETURN)),
            ("COM_DLL_EXCEPT", Want::Bits(PX4_DLL_EXCEPT_MISSION)),
        ],
    }
}

/// Sets (and verifies) the failsafe parameters on one vehicle. Returns a
/// line for the log, e.g. `FS_GCS_ENABLE=4 FS_OPTIONS=10 (read back)`.
/// A parameter that already holds what is wanted is read, not written.
pub async fn configure(link: &LinkHandle, system_id: u8) -> Result<String, ParamError> {
    let autopilot = link
        .vehicle(system_id)
        .ok_or(ParamError::UnknownVehicle(system_id))?
        .autopilot
        .unwrap_or(Autopilot::ArduCopter);
    let mut done = Vec::new();
    for (name, want) in wanted(autopilot) {
        let current = link.param(system_id, name).await?;
        let target = match want {
            Want::Value(v) => v,
            Want::Bits(b) => f64::from(current.value.max(0.0) as u32 | b),
        };
        let held = if current.value == target {
            current.value
        } else {
            link.write_param(system_id, name, target, current.param_type)
                .await?
                .value
        };
        done.push(format!("{name}={held}"));
    }
    Ok(format!("{} (read back)", done.join(" ")))
}

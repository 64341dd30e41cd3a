//! What the vehicle's camera needs of it: where it is and where it looks,
//! and the scene its mission works (the casualty or the fire a camera on
//! the way sees).

use mavlink_link::mav::MavCmd;

use super::Vehicle;

/// The vehicle's pose for its camera.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraPose {
    pub lat: f64,
    pub lon: f64,
    /// Above home, metres.
    pub rel_alt_m: f64,
    pub amsl_m: f64,
    pub heading_deg: f64,
    pub time_boot_ms: u32,
}

/// The scene of a mission: where it hovers (a casualty) or orbits (a fire).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MissionScene {
    pub lat: f64,
    pub lon: f64,
    pub fire: bool,
}

impl Vehicle {
    pub fn camera_pose(&self) -> CameraPose {
        CameraPose {
            lat: self.body.lat,
            lon: self.body.lon,
            rel_alt_m: self.body.alt,
            amsl_m: self.body.alt + self.cfg.home_amsl_m,
            heading_deg: self.body.yaw_rad.to_degrees().rem_euclid(360.0),
            time_boot_ms: (self.sim_t * 1000.0) as u32,
        }
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    /// The first hover (NAV_LOITER_TIME: a casualty) or orbit
    /// (NAV_LOITER_TURNS: a fire) of the mission loaded, as the dispatcher's
    /// missions put the scene (crates/fleet/src/mission.rs).
    pub fn mission_scene(&self) -> Option<MissionScene> {
        self.mission.iter().find_map(|it| {
            let fire = match it.command {
                MavCmd::MAV_CMD_NAV_LOITER_TURNS => true,
                MavCmd::MAV_CMD_NAV_LOITER_TIME => false,
                _ => return None,
            };
            it.position_ok().then(|| MissionScene {
                lat: it.lat(),
                lon: it.lon(),
                fire,
            })
        })
    }
}

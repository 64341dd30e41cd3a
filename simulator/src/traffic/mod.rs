//! Manned traffic played back from a file (`--traffic`): aircraft flying
//! their waypoints in sim time, reported to the vehicles as ADS-B In
//! (`ADSB_VEHICLE`, as ArduPilot forwards what its receiver hears) and to
//! anyone on the SBS-1 BaseStation feed (`--sbs-listen`).
//!
//! Sans IO apart from the feed's server: `file` reads and checks the
//! playback file, `motion` says where each aircraft is at a sim time,
//! `adsb` builds the MAVLink message and `sbs` the BaseStation lines.

pub mod adsb;
pub mod file;
pub mod motion;
pub mod sbs;

pub use file::{TrafficError, load, parse};

use self::motion::{Route, State};

/// Every aircraft of the playback file (none without `--traffic`).
#[derive(Debug, Clone, Default)]
pub struct Traffic {
    pub aircraft: Vec<Aircraft>,
}

/// One manned aircraft and how it flies.
#[derive(Debug, Clone, PartialEq)]
pub struct Aircraft {
    /// 24-bit ICAO address.
    pub icao: u32,
    /// At most 8 characters, A-Z, 0-9 and space.
    pub callsign: String,
    pub emitter: Emitter,
    /// Transponder code as its four octal digits written in decimal
    /// (7000 is 7000), as MAVLink carries it; `None`: not reported.
    pub squawk: Option<u16>,
    pub speed_mps: f64,
    /// Sim time it appears at its first waypoint, seconds.
    pub start_s: f64,
    /// Its waypoints; a looped route flies back to the first and round
    /// again, otherwise the aircraft is gone (landed, out of coverage)
    /// after its last one.
    pub route: Route,
}

/// ADS-B emitter category (ADSB_EMITTER_TYPE), named in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emitter {
    NoInfo,
    Light,
    Small,
    Large,
    HighVortexLarge,
    Heavy,
    HighlyManeuverable,
    Rotorcraft,
    Glider,
    LighterThanAir,
    Parachute,
    Ultralight,
    Uav,
    Space,
    EmergencySurface,
    ServiceSurface,
    PointObstacle,
}

/// An aircraft where it is at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contact<'a> {
    pub aircraft: &'a Aircraft,
    pub state: State,
}

impl Emitter {
    /// The file's names, in ADSB_EMITTER_TYPE order.
    pub const NAMES: [(&'static str, Emitter); 17] = [
        ("no_info", Emitter::NoInfo),
        ("light", Emitter::Light),
        ("small", Emitter::Small),
        ("large", Emitter::Large),
        ("high_vortex_large", Emitter::HighVortexLarge),
        ("heavy", Emitter::Heavy),
        ("highly_maneuverable", Emitter::HighlyManeuverable),
        ("rotorcraft", Emitter::Rotorcraft),
        ("glider", Emitter::Glider),
        ("lighter_than_air", Emitter::LighterThanAir),
        ("parachute", Emitter::Parachute),
        ("ultralight", Emitter::Ultralight),
        ("uav", Emitter::Uav),
        ("space", Emitter::Space),
        ("emergency_surface", Emitter::EmergencySurface),
        ("service_surface", Emitter::ServiceSurface),
        ("point_obstacle", Emitter::PointObstacle),
    ];

    pub fn from_name(name: &str) -> Option<Emitter> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, e)| *e)
    }
}

impl Aircraft {
    /// Where it is at sim time `t`, or `None` before its start and after
    /// the end of a route that does not loop.
    pub fn state_at(&self, t: f64) -> Option<State> {
        if t < self.start_s {
            return None;
        }
        let flown = (t - self.start_s) * self.speed_mps;
        self.route.at(flown, self.speed_mps)
    }

    /// Squawks 7500, 7600 and 7700 declare an emergency.
    pub fn emergency(&self) -> bool {
        matches!(self.squawk, Some(7500 | 7600 | 7700))
    }
}

impl Traffic {
    pub fn is_empty(&self) -> bool {
        self.aircraft.is_empty()
    }

    /// The aircraft in the air at sim time `t`, for the control
    /// interface's `status`.
    pub fn status_at(&self, t: f64) -> serde_json::Value {
        self.contacts_at(t)
            .iter()
            .map(|c| {
                serde_json::json!({
                    "icao": format!("{:06X}", c.aircraft.icao),
                    "callsign": c.aircraft.callsign,
                    "lat": c.state.lat,
                    "lon": c.state.lon,
                    "alt_m": c.state.alt_m,
                    "track_deg": c.state.track_deg,
                })
            })
            .collect()
    }

    /// The aircraft in the air at sim time `t`.
    pub fn contacts_at(&self, t: f64) -> Vec<Contact<'_>> {
        self.aircraft
            .iter()
            .filter_map(|a| a.state_at(t).map(|state| Contact { aircraft: a, state }))
            .collect()
    }
}

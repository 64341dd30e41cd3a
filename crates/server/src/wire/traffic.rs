//! Manned traffic on the wire: the tracks (`GET /api/traffic`, the
//! websocket's `traffic` message), what the fleet holds for them, and the
//! feed's health. Converted from `dispatch_core::airspace` and the fleet's
//! `TrafficView`; the enums are mirrored with exhaustive matches.

use chrono::{DateTime, Utc};
use dispatch_core::airspace as core;
use serde::Serialize;
use utoipa::ToSchema;

/// What kind of aircraft an ADS-B emitter says it is (the map's symbol).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Emitter {
    Unknown,
    Light,
    Small,
    Large,
    Heavy,
    Rotorcraft,
    Glider,
    LighterThanAir,
    Parachute,
    Ultralight,
    Uav,
    Other,
}

impl From<core::Emitter> for Emitter {
    fn from(e: core::Emitter) -> Self {
        use core::Emitter as C;
        match e {
            C::Unknown => Emitter::Unknown,
            C::Light => Emitter::Light,
            C::Small => Emitter::Small,
            C::Large => Emitter::Large,
            C::Heavy => Emitter::Heavy,
            C::Rotorcraft => Emitter::Rotorcraft,
            C::Glider => Emitter::Glider,
            C::LighterThanAir => Emitter::LighterThanAir,
            C::Parachute => Emitter::Parachute,
            C::Ultralight => Emitter::Ultralight,
            C::Uav => Emitter::Uav,
            C::Other => Emitter::Other,
        }
    }
}

/// What manned traffic made the fleet do (the `airspace` websocket message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AirspaceStep {
    LaunchHeld,
    LaunchReleased,
    LaunchedAnyway,
    ConflictAhead,
    Hold,
    Descend,
    Resume,
}

impl From<fleet::events::AirspaceStep> for AirspaceStep {
    fn from(s: fleet::events::AirspaceStep) -> Self {
        use fleet::events::AirspaceStep as C;
        match s {
            C::LaunchHeld => AirspaceStep::LaunchHeld,
            C::LaunchReleased => AirspaceStep::LaunchReleased,
            C::LaunchedAnyway => AirspaceStep::LaunchedAnyway,
            C::ConflictAhead => AirspaceStep::ConflictAhead,
            C::Hold => AirspaceStep::Hold,
            C::Descend => AirspaceStep::Descend,
            C::Resume => AirspaceStep::Resume,
        }
    }
}

/// One aircraft, extrapolated to now.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TrafficTrack {
    /// ICAO address, six hex digits.
    pub icao: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callsign: Option<String>,
    pub emitter: Emitter,
    /// Extrapolated position and altitude (AMSL, m); absent until a position is heard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alt_m: Option<f64>,
    pub ground_speed_mps: f64,
    pub track_deg: f64,
    pub vertical_mps: f64,
    /// Seconds since anything was heard of it.
    pub age_s: f64,
    /// Older than half the configured maximum age: shown faded.
    pub stale: bool,
    /// Where it was heard: `sbs`, or `adsb:DRONE`.
    pub sources: Vec<String>,
}

/// A launch waiting for traffic.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HeldLaunch {
    pub drone: String,
    pub incident: u64,
    pub since: DateTime<Utc>,
    /// Callsign or ICAO address.
    pub aircraft: String,
}

/// A drone held in the air for traffic.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HeldDrone {
    pub drone: String,
    pub aircraft: String,
    /// Held at the safe height, not just in place.
    pub descended: bool,
}

/// The traffic picture.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TrafficPicture {
    pub time: DateTime<Utc>,
    pub tracks: Vec<TrafficTrack>,
    pub held_launches: Vec<HeldLaunch>,
    pub held_drones: Vec<HeldDrone>,
}

/// The feed and the picture for `/api/health`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TrafficHealth {
    pub tracks: usize,
    /// Reports taken into the picture (ADS-B and SBS).
    pub reports: u64,
    /// Reports with impossible values, refused.
    pub refused: u64,
    pub expired: u64,
    /// The SBS-1 feed, if one is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sbs: Option<SbsHealth>,
}

/// The ground receiver's SBS-1 feed.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SbsHealth {
    pub address: String,
    pub connected: bool,
    pub connects: u64,
    pub lines: u64,
    pub reports: u64,
    pub ignored: u64,
    /// Lines that are not SBS-1 (counted, skipped).
    pub bad_lines: u64,
    pub dropped: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_bad: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl From<&fleet::sbs_client::SbsSnapshot> for SbsHealth {
    fn from(s: &fleet::sbs_client::SbsSnapshot) -> Self {
        SbsHealth {
            address: s.address.clone(),
            connected: s.connected,
            connects: s.connects,
            lines: s.lines,
            reports: s.reports,
            ignored: s.ignored,
            bad_lines: s.bad_lines,
            dropped: s.dropped,
            last_bad: s.last_bad.clone(),
            last_error: s.last_error.clone(),
        }
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let k = 10f64.powi(digits);
    (x * k).round() / k
}

impl TrafficPicture {
    pub fn new(v: &fleet::core::TrafficView) -> TrafficPicture {
        let time = v.now;
        TrafficPicture {
            time,
            tracks: v
                .tracks
                .iter()
                .map(|(t, now)| {
                    let age = t.age_s(time).max(0.0);
                    TrafficTrack {
                        icao: t.icao_hex(),
                        callsign: t.callsign.clone(),
                        emitter: t.emitter.into(),
                        lat: now.map(|(p, _)| round(p.lat, 6)),
                        lon: now.map(|(p, _)| round(p.lon, 6)),
                        alt_m: now.map(|(_, a)| round(a, 1)),
                        ground_speed_mps: round(t.ground_speed_mps, 1),
                        track_deg: round(t.track_deg, 0),
                        vertical_mps: round(t.vertical_mps, 1),
                        age_s: round(age, 1),
                        stale: age > v.max_age_s / 2.0,
                        sources: t
                            .sources
                            .iter()
                            .map(|s| match s {
                                core::TrafficSource::Sbs => "sbs".to_owned(),
                                core::TrafficSource::Adsb(d) => format!("adsb:{d}"),
                            })
                            .collect(),
                    }
                })
                .collect(),
            held_launches: v
                .held
                .iter()
                .map(|(d, i, since, a)| HeldLaunch {
                    drone: d.0.clone(),
                    incident: i.0,
                    since: *since,
                    aircraft: a.clone(),
                })
                .collect(),
            held_drones: v
                .avoiding
                .iter()
                .map(|(d, a, descended)| HeldDrone {
                    drone: d.0.clone(),
                    aircraft: a.clone(),
                    descended: *descended,
                })
                .collect(),
        }
    }
}

impl TrafficHealth {
    pub fn new(
        v: &fleet::core::TrafficView,
        sbs: Option<&fleet::sbs_client::SbsSnapshot>,
    ) -> TrafficHealth {
        TrafficHealth {
            tracks: v.tracks.len(),
            reports: v.counters.reports,
            refused: v.counters.refused,
            expired: v.counters.expired,
            sbs: sbs.map(SbsHealth::from),
        }
    }
}

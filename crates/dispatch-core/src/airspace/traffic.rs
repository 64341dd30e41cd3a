//! The traffic picture: manned aircraft heard over ADS-B (forwarded by any
//! vehicle, or from a ground receiver's SBS-1 feed), one [`Track`] per ICAO
//! address whatever the number of sources, extrapolated along its velocity
//! and dropped when nothing was heard of it for `max_age_s`.
//!
//! Reports are partial (an SBS-1 line carries a callsign, or a position, or
//! a velocity); each field of a track keeps the newest value heard, and a
//! report older than what a track holds (a slower source, a relayed copy)
//! does not overwrite it. Sans-IO: the time of each report is given.

use std::collections::{BTreeMap, BTreeSet};

use chrono::TimeDelta;
use serde::Serialize;
use thiserror::Error;

use crate::model::{LatLon, Timestamp};

/// Metres per degree of latitude (mean Earth radius), for the short
/// extrapolations of a track (a few km, where a flat frame is exact enough).
const M_PER_DEG: f64 = 111_195.08;

/// What kind of aircraft an ADS-B emitter says it is (ADSB_EMITTER_TYPE,
/// grouped as a map draws them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Emitter {
    #[default]
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
    /// Space vehicles, surface vehicles, obstacles.
    Other,
}

impl Emitter {
    /// From MAVLink's ADSB_EMITTER_TYPE number.
    pub fn from_adsb(n: u8) -> Emitter {
        match n {
            1 => Emitter::Light,
            2 => Emitter::Small,
            3 | 4 => Emitter::Large,
            5 | 6 => Emitter::Heavy,
            7 => Emitter::Rotorcraft,
            9 => Emitter::Glider,
            10 => Emitter::LighterThanAir,
            11 => Emitter::Parachute,
            12 => Emitter::Ultralight,
            14 => Emitter::Uav,
            15 | 17..=19 => Emitter::Other,
            _ => Emitter::Unknown,
        }
    }
}

/// Where a report came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "via")]
pub enum TrafficSource {
    /// ADSB_VEHICLE forwarded by this drone's vehicle.
    Adsb(String),
    /// The ground receiver's SBS-1 feed.
    Sbs,
}

impl std::fmt::Display for TrafficSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrafficSource::Adsb(d) => write!(f, "ADS-B via {d}"),
            TrafficSource::Sbs => f.write_str("SBS feed"),
        }
    }
}

/// One report about one aircraft; fields not carried are None.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficReport {
    /// The 24-bit ICAO address.
    pub icao: u32,
    pub callsign: Option<String>,
    pub position: Option<LatLon>,
    /// Altitude above mean sea level, metres.
    pub alt_m: Option<f64>,
    /// Course over ground, degrees from north.
    pub track_deg: Option<f64>,
    pub ground_speed_mps: Option<f64>,
    /// Positive up.
    pub vertical_mps: Option<f64>,
    pub emitter: Emitter,
    /// How old the information already was when it was received (ADS-B's
    /// time since last communication), seconds.
    pub age_s: f64,
    pub source: TrafficSource,
}

impl TrafficReport {
    /// A report of `icao` that carries nothing yet.
    pub fn new(icao: u32, source: TrafficSource) -> TrafficReport {
        TrafficReport {
            icao,
            callsign: None,
            position: None,
            alt_m: None,
            track_deg: None,
            ground_speed_mps: None,
            vertical_mps: None,
            emitter: Emitter::Unknown,
            age_s: 0.0,
            source,
        }
    }
}

/// A report the picture refuses (it changes nothing).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TrafficError {
    #[error("ICAO address {0:#x} is not 24 bits")]
    BadIcao(u32),
    #[error("aircraft {icao}: {what} = {value} is out of range")]
    OutOfRange {
        icao: String,
        what: &'static str,
        value: f64,
    },
}

/// One aircraft as the picture knows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Track {
    pub icao: u32,
    pub callsign: Option<String>,
    pub emitter: Emitter,
    /// Last reported position and when it was true.
    pub position: Option<LatLon>,
    pub position_at: Option<Timestamp>,
    /// Last reported altitude (AMSL, m) and when it was true.
    pub alt_m: Option<f64>,
    pub alt_at: Option<Timestamp>,
    pub track_deg: f64,
    pub ground_speed_mps: f64,
    pub vertical_mps: f64,
    /// When anything was last heard of it.
    pub last_seen: Timestamp,
    /// Every source it was heard from.
    pub sources: BTreeSet<TrafficSource>,
}

impl Track {
    /// The ICAO address as the six hex digits people use.
    pub fn icao_hex(&self) -> String {
        icao_hex(self.icao)
    }

    /// The callsign if known, else the ICAO address.
    pub fn name(&self) -> String {
        self.callsign.clone().unwrap_or_else(|| self.icao_hex())
    }

    /// Seconds since anything was heard of it.
    pub fn age_s(&self, now: Timestamp) -> f64 {
        seconds(now - self.last_seen)
    }

    /// Velocity east and north, m/s.
    pub fn velocity_en(&self) -> [f64; 2] {
        let (s, c) = self.track_deg.to_radians().sin_cos();
        [self.ground_speed_mps * s, self.ground_speed_mps * c]
    }

    /// Where it is at `t`: the last position moved along the velocity (and
    /// the altitude along the vertical rate) for the time since. None
    /// without a position or an altitude.
    pub fn at(&self, t: Timestamp) -> Option<(LatLon, f64)> {
        let (p, pt) = (self.position?, self.position_at?);
        let (a, at) = (self.alt_m?, self.alt_at?);
        let dt = seconds(t - pt);
        let [ve, vn] = self.velocity_en();
        let lat = p.lat + vn * dt / M_PER_DEG;
        let lon = p.lon + ve * dt / (M_PER_DEG * p.lat.to_radians().cos().max(0.01));
        Some((
            LatLon::new(lat, lon),
            a + self.vertical_mps * seconds(t - at),
        ))
    }
}

/// The ICAO address as six hex digits.
pub fn icao_hex(icao: u32) -> String {
    format!("{icao:06X}")
}

/// Counters of what the picture was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TrafficCounters {
    pub reports: u64,
    pub refused: u64,
    /// Reports older than what their track held already.
    pub stale: u64,
    pub expired: u64,
}

/// Every aircraft heard recently.
#[derive(Debug, Clone)]
pub struct TrafficPicture {
    max_age_s: f64,
    tracks: BTreeMap<u32, Track>,
    counters: TrafficCounters,
}

impl TrafficPicture {
    /// A picture that drops a track `max_age_s` after it was last heard.
    pub fn new(max_age_s: f64) -> TrafficPicture {
        TrafficPicture {
            max_age_s,
            tracks: BTreeMap::new(),
            counters: TrafficCounters::default(),
        }
    }

    /// Takes one report received at `now`. Returns whether it made a new track.
    pub fn handle(&mut self, now: Timestamp, r: TrafficReport) -> Result<bool, TrafficError> {
        if let Err(e) = check(&r) {
            self.counters.refused += 1;
            return Err(e);
        }
        self.counters.reports += 1;
        let true_at = now - TimeDelta::milliseconds((r.age_s.clamp(0.0, 3600.0) * 1000.0) as i64);
        let new = !self.tracks.contains_key(&r.icao);
        let t = self.tracks.entry(r.icao).or_insert_with(|| Track {
            icao: r.icao,
            callsign: None,
            emitter: Emitter::Unknown,
            position: None,
            position_at: None,
            alt_m: None,
            alt_at: None,
            track_deg: 0.0,
            ground_speed_mps: 0.0,
            vertical_mps: 0.0,
            last_seen: true_at,
            sources: BTreeSet::new(),
        });
        let mut stale = false;
        if let Some(p) = r.position {
            if t.position_at.is_none_or(|at| at <= true_at) {
                t.position = Some(p);
                t.position_at = Some(true_at);
            } else {
                stale = true;
            }
        }
        if let Some(a) = r.alt_m {
            if t.alt_at.is_none_or(|at| at <= true_at) {
                t.alt_m = Some(a);
                t.alt_at = Some(true_at);
            } else {
                stale = true;
            }
        }
        if let Some(c) = r
            .callsign
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
        {
            t.callsign = Some(c);
        }
        if r.emitter != Emitter::Unknown {
            t.emitter = r.emitter;
        }
        if !stale {
            if let (Some(tr), Some(gs)) = (r.track_deg, r.ground_speed_mps) {
                t.track_deg = tr;
                t.ground_speed_mps = gs;
            }
            if let Some(vz) = r.vertical_mps {
                t.vertical_mps = vz;
            }
        } else {
            self.counters.stale += 1;
        }
        if true_at > t.last_seen {
            t.last_seen = true_at;
        }
        t.sources.insert(r.source);
        Ok(new)
    }

    /// Drops the tracks not heard for `max_age_s`; returns them.
    pub fn expire(&mut self, now: Timestamp) -> Vec<Track> {
        let max = self.max_age_s;
        let old: Vec<u32> = self
            .tracks
            .values()
            .filter(|t| t.age_s(now) > max)
            .map(|t| t.icao)
            .collect();
        self.counters.expired += old.len() as u64;
        old.iter().filter_map(|i| self.tracks.remove(i)).collect()
    }

    pub fn tracks(&self) -> impl Iterator<Item = &Track> {
        self.tracks.values()
    }

    pub fn track(&self, icao: u32) -> Option<&Track> {
        self.tracks.get(&icao)
    }

    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    pub fn counters(&self) -> TrafficCounters {
        self.counters
    }

    pub fn max_age_s(&self) -> f64 {
        self.max_age_s
    }
}

fn check(r: &TrafficReport) -> Result<(), TrafficError> {
    if r.icao > 0xFF_FFFF {
        return Err(TrafficError::BadIcao(r.icao));
    }
    let range = |what: &'static str, v: Option<f64>, lo: f64, hi: f64| match v {
        Some(x) if !(x.is_finite() && (lo..=hi).contains(&x)) => Err(TrafficError::OutOfRange {
            icao: icao_hex(r.icao),
            what,
            value: x,
        }),
        _ => Ok(()),
    };
    range("latitude", r.position.map(|p| p.lat), -90.0, 90.0)?;
    range("longitude", r.position.map(|p| p.lon), -180.0, 180.0)?;
    range("altitude (m)", r.alt_m, -1_000.0, 30_000.0)?;
    range("track (deg)", r.track_deg, 0.0, 360.0)?;
    range("ground speed (m/s)", r.ground_speed_mps, 0.0, 1_000.0)?;
    range("vertical rate (m/s)", r.vertical_mps, -200.0, 200.0)?;
    range("age (s)", Some(r.age_s), 0.0, f64::MAX)?;
    Ok(())
}

pub(crate) fn seconds(d: TimeDelta) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Timestamp {
        "2026-09-28T05:00:00Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn after(s: f64) -> Timestamp {
        t0() + TimeDelta::milliseconds((s * 1000.0) as i64)
    }

    fn position(icao: u32, src: TrafficSource, at: LatLon, alt: f64) -> TrafficReport {
        TrafficReport {
            position: Some(at),
            alt_m: Some(alt),
            ..TrafficReport::new(icao, src)
        }
    }

    fn velocity(icao: u32, src: TrafficSource, track: f64, gs: f64, vz: f64) -> TrafficReport {
        TrafficReport {
            track_deg: Some(track),
            ground_speed_mps: Some(gs),
            vertical_mps: Some(vz),
            ..TrafficReport::new(icao, src)
        }
    }

    const P: LatLon = LatLon {
        lat: 30.35,
        lon: 120.45,
    };

    #[test]
    fn one_aircraft_heard_from_several_sources_is_one_track() {
        let mut pic = TrafficPicture::new(30.0);
        let via = |d: &str| TrafficSource::Adsb(d.into());
        assert_eq!(
            pic.handle(t0(), position(0xABC123, via("yg-1"), P, 300.0)),
            Ok(true)
        );
        assert_eq!(
            pic.handle(after(0.5), position(0xABC123, via("yg-2"), P, 301.0)),
            Ok(false)
        );
        assert_eq!(
            pic.handle(
                after(1.0),
                velocity(0xABC123, TrafficSource::Sbs, 90.0, 50.0, 0.0)
            ),
            Ok(false)
        );
        let mut id = TrafficReport::new(0xABC123, TrafficSource::Sbs);
        id.callsign = Some("CES5301 ".into());
        assert_eq!(pic.handle(after(1.0), id), Ok(false));
        assert_eq!(pic.len(), 1);
        let t = pic.track(0xABC123).unwrap_or_else(|| panic!("no track"));
        assert_eq!(t.name(), "CES5301");
        assert_eq!(t.icao_hex(), "ABC123");
        assert_eq!(t.alt_m, Some(301.0));
        assert_eq!(t.sources.len(), 3);
        assert_eq!(pic.counters().reports, 4);
    }

    #[test]
    fn a_report_older_than_the_track_does_not_overwrite_it() {
        let mut pic = TrafficPicture::new(30.0);
        let fresh = LatLon::new(30.36, 120.45);
        pic.handle(after(10.0), position(1, TrafficSource::Sbs, fresh, 500.0))
            .unwrap_or_else(|e| panic!("{e}"));
        // Relayed by a vehicle, 5 s old on arrival: older than what is held.
        let mut old = position(1, TrafficSource::Adsb("yg-1".into()), P, 400.0);
        old.age_s = 5.0;
        pic.handle(after(12.0), old)
            .unwrap_or_else(|e| panic!("{e}"));
        let t = pic.track(1).unwrap_or_else(|| panic!("no track"));
        assert_eq!(t.position, Some(fresh));
        assert_eq!(t.alt_m, Some(500.0));
        assert_eq!(pic.counters().stale, 1);
    }

    #[test]
    fn a_track_is_extrapolated_along_its_velocity() {
        let mut pic = TrafficPicture::new(30.0);
        pic.handle(t0(), position(7, TrafficSource::Sbs, P, 300.0))
            .unwrap_or_else(|e| panic!("{e}"));
        pic.handle(t0(), velocity(7, TrafficSource::Sbs, 0.0, 100.0, -5.0))
            .unwrap_or_else(|e| panic!("{e}"));
        let t = pic.track(7).unwrap_or_else(|| panic!("no track"));
        let (p, alt) = t.at(after(10.0)).unwrap_or_else(|| panic!("no position"));
        // 1 km north, 50 m lower.
        let d = crate::geodesy::distance_m(P, p);
        assert!((d - 1000.0).abs() < 10.0, "{d}");
        assert!(p.lat > P.lat && (p.lon - P.lon).abs() < 1e-9);
        assert!((alt - 250.0).abs() < 1e-9);
        // East at 100 m/s.
        pic.handle(t0(), velocity(7, TrafficSource::Sbs, 90.0, 100.0, 0.0))
            .unwrap_or_else(|e| panic!("{e}"));
        let t = pic.track(7).unwrap_or_else(|| panic!("no track"));
        let (p, _) = t.at(after(10.0)).unwrap_or_else(|| panic!("no position"));
        assert!((crate::geodesy::distance_m(P, p) - 1000.0).abs() < 10.0);
        assert!(p.lon > P.lon);
    }

    #[test]
    fn a_track_without_a_position_has_no_place() {
        let mut pic = TrafficPicture::new(30.0);
        pic.handle(t0(), velocity(9, TrafficSource::Sbs, 0.0, 10.0, 0.0))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pic.track(9).and_then(|t| t.at(after(1.0))), None);
    }

    #[test]
    fn tracks_expire_after_their_age() {
        let mut pic = TrafficPicture::new(20.0);
        pic.handle(t0(), position(1, TrafficSource::Sbs, P, 300.0))
            .unwrap_or_else(|e| panic!("{e}"));
        pic.handle(after(15.0), position(2, TrafficSource::Sbs, P, 300.0))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(pic.expire(after(20.0)).is_empty());
        let gone = pic.expire(after(20.5));
        assert_eq!(gone.iter().map(|t| t.icao).collect::<Vec<_>>(), vec![1]);
        assert_eq!(pic.len(), 1);
        // A report that was already old when received ages the track.
        let mut late = position(3, TrafficSource::Sbs, P, 300.0);
        late.age_s = 25.0;
        pic.handle(after(21.0), late)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pic.expire(after(21.0)).len(), 1);
        assert_eq!(pic.counters().expired, 2);
    }

    #[test]
    fn impossible_reports_are_refused_and_change_nothing() {
        let mut pic = TrafficPicture::new(20.0);
        let bad = [
            position(0x1_000_000, TrafficSource::Sbs, P, 300.0),
            position(1, TrafficSource::Sbs, LatLon::new(91.0, 0.0), 300.0),
            position(1, TrafficSource::Sbs, P, f64::NAN),
            velocity(1, TrafficSource::Sbs, 400.0, 10.0, 0.0),
            velocity(1, TrafficSource::Sbs, 10.0, -1.0, 0.0),
        ];
        for r in bad {
            assert!(pic.handle(t0(), r.clone()).is_err(), "{r:?}");
        }
        assert!(pic.is_empty());
        assert_eq!(pic.counters().refused, 5);
    }
}

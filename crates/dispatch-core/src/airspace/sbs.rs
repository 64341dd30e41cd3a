//! The SBS-1 (BaseStation) text format that dump1090 and readsb serve on
//! TCP port 30003: one message per line, 22 comma-separated fields.
//!
//! Only transmission messages (`MSG`) of types 1 (identification:
//! callsign), 3 (airborne position: altitude in feet, latitude, longitude)
//! and 4 (airborne velocity: ground speed in knots, track in degrees,
//! vertical rate in feet per minute) carry what a traffic picture needs;
//! other message kinds and types are [`SbsLine::Ignored`]. Every malformed
//! line is a typed [`SbsError`], never a panic, so the feed's client can
//! count it and go on.
//!
//! Fields (1-based): 1 message kind, 2 transmission type, 5 ICAO address
//! (hex), 11 callsign, 12 altitude (ft), 13 ground speed (kt), 14 track
//! (deg), 15 latitude, 16 longitude, 17 vertical rate (ft/min), 22
//! is-on-ground flag.

use thiserror::Error;

use super::traffic::{Emitter, TrafficReport, TrafficSource};
use crate::model::LatLon;

/// Metres per foot.
pub const M_PER_FT: f64 = 0.3048;
/// Metres per second per knot.
pub const MPS_PER_KT: f64 = 1852.0 / 3600.0;

/// What one line of the feed says.
#[derive(Debug, Clone, PartialEq)]
pub enum SbsLine {
    /// A report about one aircraft.
    Report(TrafficReport),
    /// A well-formed line that carries nothing for the picture (other
    /// message kinds, other transmission types, an aircraft on the ground).
    Ignored,
}

/// Why a line was refused.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SbsError {
    #[error("empty line")]
    Empty,
    #[error("{0} comma-separated fields, an SBS-1 line has 22")]
    FieldCount(usize),
    #[error("transmission type `{0}` is not a number 1..=8")]
    BadType(String),
    #[error("ICAO address `{0}` is not 6 hexadecimal digits")]
    BadIcao(String),
    #[error("field {field} ({name}) `{value}` is not a number")]
    BadNumber {
        field: usize,
        name: &'static str,
        value: String,
    },
    #[error("field {field} ({name}) = {value} is out of range")]
    OutOfRange {
        field: usize,
        name: &'static str,
        value: f64,
    },
    #[error("MSG,{0} without the fields it carries")]
    Missing(u8),
}

/// Parses one line (trailing `\r`/`\n` allowed).
pub fn parse_line(line: &str) -> Result<SbsLine, SbsError> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return Err(SbsError::Empty);
    }
    let f: Vec<&str> = line.split(',').map(str::trim).collect();
    if f.len() != 22 {
        return Err(SbsError::FieldCount(f.len()));
    }
    if f[0] != "MSG" {
        return Ok(SbsLine::Ignored);
    }
    let kind: u8 = match f[1].parse() {
        Ok(k @ 1..=8) => k,
        _ => return Err(SbsError::BadType(f[1].to_owned())),
    };
    let icao = parse_icao(f[4])?;
    let mut r = TrafficReport::new(icao, TrafficSource::Sbs);
    match kind {
        1 => {
            if f[10].is_empty() {
                return Err(SbsError::Missing(1));
            }
            r.callsign = Some(f[10].to_owned());
        }
        3 => {
            if f[21] == "-1" || f[21] == "1" {
                // On the ground: no conflict with a flight in the air.
                return Ok(SbsLine::Ignored);
            }
            let alt_ft = number(&f, 12, "altitude (ft)", -2_000.0, 100_000.0)?;
            let lat = number(&f, 15, "latitude", -90.0, 90.0)?;
            let lon = number(&f, 16, "longitude", -180.0, 180.0)?;
            let (Some(alt_ft), Some(lat), Some(lon)) = (alt_ft, lat, lon) else {
                return Err(SbsError::Missing(3));
            };
            r.position = Some(LatLon::new(lat, lon));
            r.alt_m = Some(alt_ft * M_PER_FT);
        }
        4 => {
            let gs = number(&f, 13, "ground speed (kt)", 0.0, 2_000.0)?;
            let track = number(&f, 14, "track (deg)", 0.0, 360.0)?;
            let vr = number(&f, 17, "vertical rate (ft/min)", -20_000.0, 20_000.0)?;
            let (Some(gs), Some(track)) = (gs, track) else {
                return Err(SbsError::Missing(4));
            };
            r.ground_speed_mps = Some(gs * MPS_PER_KT);
            r.track_deg = Some(track % 360.0);
            r.vertical_mps = Some(vr.unwrap_or(0.0) * M_PER_FT / 60.0);
        }
        _ => return Ok(SbsLine::Ignored),
    }
    r.emitter = Emitter::Unknown;
    Ok(SbsLine::Report(r))
}

fn parse_icao(s: &str) -> Result<u32, SbsError> {
    let bad = || SbsError::BadIcao(s.to_owned());
    if s.len() != 6 {
        return Err(bad());
    }
    u32::from_str_radix(s, 16).map_err(|_| bad())
}

/// Field `field` (1-based) as a number in `[lo, hi]`, None when empty.
fn number(
    f: &[&str],
    field: usize,
    name: &'static str,
    lo: f64,
    hi: f64,
) -> Result<Option<f64>, SbsError> {
    let s = f[field - 1];
    if s.is_empty() {
        return Ok(None);
    }
    let v: f64 = s.parse().map_err(|_| SbsError::BadNumber {
        field,
        name,
        value: s.to_owned(),
    })?;
    if !(v.is_finite() && (lo..=hi).contains(&v)) {
        return Err(SbsError::OutOfRange {
            field,
            name,
            value: v,
        });
    }
    Ok(Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(line: &str, expected: Result<SbsLine, SbsError>) {
        assert_eq!(parse_line(line), expected, "{line}");
    }

    fn report(icao: u32, f: impl FnOnce(&mut TrafficReport)) -> Result<SbsLine, SbsError> {
        let mut r = TrafficReport::new(icao, TrafficSource::Sbs);
        f(&mut r);
        Ok(SbsLine::Report(r))
    }

    #[test]
    fn identification_position_and_velocity_lines_become_reports() {
        check(
            "MSG,1,111,11111,780A3B,111111,2026/09/28,13:00:00.000,2026/09/28,13:00:00.000,CES5301 ,,,,,,,,,,,0\r\n",
            report(0x780A3B, |r| r.callsign = Some("CES5301".into())),
        );
        check(
            "MSG,3,111,11111,780a3b,111111,2026/09/28,13:00:00.000,2026/09/28,13:00:00.000,,1000,,,30.35000,120.45000,,,0,0,0,0",
            report(0x780A3B, |r| {
                r.position = Some(LatLon::new(30.35, 120.45));
                r.alt_m = Some(304.8);
            }),
        );
        let Ok(SbsLine::Report(v)) = parse_line(
            "MSG,4,111,11111,780A3B,111111,2026/09/28,13:00:00.000,2026/09/28,13:00:00.000,,,120,90,,,-600,,,,,0",
        ) else {
            panic!("not a report");
        };
        assert!((v.ground_speed_mps.unwrap_or(0.0) - 61.733).abs() < 0.01);
        assert_eq!(v.track_deg, Some(90.0));
        assert!((v.vertical_mps.unwrap_or(0.0) + 3.048).abs() < 1e-9);
        assert_eq!(v.position, None);
    }

    #[test]
    fn other_kinds_and_aircraft_on_the_ground_are_ignored() {
        check(
            "MSG,8,111,11111,780A3B,111111,2026/09/28,13:00:00.000,2026/09/28,13:00:00.000,,,,,,,,,,,,0",
            Ok(SbsLine::Ignored),
        );
        check(
            "AIR,,111,11111,780A3B,111111,2026/09/28,13:00:00.000,2026/09/28,13:00:00.000,,,,,,,,,,,,",
            Ok(SbsLine::Ignored),
        );
        check(
            "MSG,3,111,11111,780A3B,111111,2026/09/28,13:00:00.000,2026/09/28,13:00:00.000,,0,,,30.35,120.45,,,0,0,0,-1",
            Ok(SbsLine::Ignored),
        );
    }

    #[test]
    fn bad_lines_are_typed_errors() {
        check("", Err(SbsError::Empty));
        check("MSG,3,1", Err(SbsError::FieldCount(3)));
        check(
            "MSG,x,111,11111,780A3B,111111,,,,,,,,,,,,,,,,0",
            Err(SbsError::BadType("x".into())),
        );
        check(
            "MSG,3,111,11111,78ZZ3B,111111,,,,,,1000,,,30.35,120.45,,,,,,0",
            Err(SbsError::BadIcao("78ZZ3B".into())),
        );
        check(
            "MSG,3,111,11111,780A3B,111111,,,,,,1000,,,thirty,120.45,,,,,,0",
            Err(SbsError::BadNumber {
                field: 15,
                name: "latitude",
                value: "thirty".into(),
            }),
        );
        check(
            "MSG,3,111,11111,780A3B,111111,,,,,,1000,,,95.0,120.45,,,,,,0",
            Err(SbsError::OutOfRange {
                field: 15,
                name: "latitude",
                value: 95.0,
            }),
        );
        check(
            "MSG,3,111,11111,780A3B,111111,,,,,,,,,30.35,120.45,,,,,,0",
            Err(SbsError::Missing(3)),
        );
        check(
            "MSG,4,111,11111,780A3B,111111,,,,,,,,90,,,,,,,,0",
            Err(SbsError::Missing(4)),
        );
        check(
            "MSG,1,111,11111,780A3B,111111,,,,,,,,,,,,,,,,0",
            Err(SbsError::Missing(1)),
        );
    }

    #[test]
    fn not_a_number_is_out_of_range() {
        assert!(matches!(
            parse_line("MSG,3,111,11111,780A3B,111111,,,,,,NaN,,,30.0,120.45,,,,,,0"),
            Err(SbsError::OutOfRange { field: 12, .. })
        ));
    }
}

//! The traffic playback file (`--traffic FILE`, TOML): one `[[aircraft]]`
//! table per manned aircraft. Every field is checked, and a bad file is
//! refused with the file, the aircraft and the field named.
//!
//! ```toml
//! [[aircraft]]
//! icao = "7808A1"            # 24-bit ICAO address, 6 hex digits, unique
//! callsign = "B7301"         # 1-8 characters: A-Z, 0-9, space
//! emitter = "rotorcraft"     # ADSB_EMITTER_TYPE by name (default "no_info")
//! squawk = 7000              # optional: 4 octal digits
//! altitude_m = 150           # geometric altitude AMSL, for waypoints without their own
//! speed_mps = 40             # ground speed
//! start_s = 0                # optional: sim time it appears (default 0)
//! loop = true                # optional: round again after the last waypoint (default false)
//! waypoints = [[30.405, 120.45], [30.41, 120.55, 200]]   # [lat, lon] or [lat, lon, altitude_m]
//! ```

use std::collections::HashSet;
use std::path::Path;

use super::motion::{Route, Waypoint};
use super::{Aircraft, Emitter, Traffic};

/// A playback file that cannot be used, saying where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("traffic file {file}: {place}{message}")]
pub struct TrafficError {
    pub file: String,
    /// `aircraft 2 (icao 7808A1): field `speed_mps`: ` or empty for the file as a whole.
    pub place: String,
    pub message: String,
}

const FIELDS: [&str; 9] = [
    "icao",
    "callsign",
    "emitter",
    "squawk",
    "altitude_m",
    "speed_mps",
    "start_s",
    "loop",
    "waypoints",
];

/// Reads and checks the playback file at `path`.
pub fn load(path: &Path) -> Result<Traffic, TrafficError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| TrafficError {
        file: name.clone(),
        place: String::new(),
        message: format!("cannot read it: {e}"),
    })?;
    parse(&text, &name)
}

/// Checks the playback file `text`; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Traffic, TrafficError> {
    let whole = |message: String| TrafficError {
        file: file.to_owned(),
        place: String::new(),
        message,
    };
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| whole(format!("not valid TOML: {}", e.message())))?;
    if let Some(k) = table.keys().find(|k| k.as_str() != "aircraft") {
        return Err(whole(format!(
            "unknown key `{k}` (the file holds [[aircraft]] tables)"
        )));
    }
    let list = match table.get("aircraft") {
        None => return Err(whole("no [[aircraft]] in it".into())),
        Some(toml::Value::Array(a)) => a,
        Some(_) => return Err(whole("`aircraft` must be [[aircraft]] tables".into())),
    };
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (i, v) in list.iter().enumerate() {
        let mut at = Place {
            file,
            label: format!("aircraft {}", i + 1),
        };
        let toml::Value::Table(t) = v else {
            return Err(at.whole("must be a table".into()));
        };
        let a = aircraft(t, &mut at)?;
        if !seen.insert(a.icao) {
            return Err(at.field("icao", format!("{:06X} is used twice", a.icao)));
        }
        out.push(a);
    }
    Ok(Traffic { aircraft: out })
}

/// Which aircraft of which file an error is about.
struct Place<'a> {
    file: &'a str,
    label: String,
}

impl Place<'_> {
    fn whole(&self, message: String) -> TrafficError {
        TrafficError {
            file: self.file.to_owned(),
            place: format!("{}: ", self.label),
            message,
        }
    }

    fn field(&self, name: &str, message: String) -> TrafficError {
        TrafficError {
            file: self.file.to_owned(),
            place: format!("{}: field `{name}`: ", self.label),
            message,
        }
    }
}

fn aircraft(t: &toml::Table, at: &mut Place<'_>) -> Result<Aircraft, TrafficError> {
    let icao_text = string(t, "icao", at)?.ok_or_else(|| at.field("icao", "missing".into()))?;
    let icao = match u32::from_str_radix(icao_text, 16) {
        Ok(n) if icao_text.len() == 6 && n != 0 && n != 0xFF_FFFF => n,
        _ => {
            return Err(at.field(
                "icao",
                format!(
                    "`{icao_text}` is not a 24-bit ICAO address (6 hex digits, e.g. \"7808A1\")"
                ),
            ));
        }
    };
    at.label = format!("{} (icao {icao:06X})", at.label);
    if let Some(k) = t.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(at.whole(format!(
            "unknown field `{k}`; fields: {}",
            FIELDS.join(", ")
        )));
    }
    let callsign = string(t, "callsign", at)?
        .ok_or_else(|| at.field("callsign", "missing".into()))?
        .to_owned();
    if callsign.trim().is_empty()
        || callsign.len() > 8
        || !callsign
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == ' ')
    {
        return Err(at.field(
            "callsign",
            format!("`{callsign}` is not 1-8 characters of A-Z, 0-9 and space"),
        ));
    }
    let emitter = match string(t, "emitter", at)? {
        None => Emitter::NoInfo,
        Some(name) => Emitter::from_name(name).ok_or_else(|| {
            let names: Vec<&str> = Emitter::NAMES.iter().map(|(n, _)| *n).collect();
            at.field(
                "emitter",
                format!("unknown emitter `{name}`; one of {}", names.join(", ")),
            )
        })?,
    };
    let squawk = match number(t, "squawk", at)? {
        None => None,
        Some(s) => {
            let code = s as u16;
            let octal = f64::from(code) == s
                && s <= 7777.0
                && code.to_string().chars().all(|c| ('0'..='7').contains(&c));
            if !octal {
                return Err(at.field(
                    "squawk",
                    format!("{s} is not a transponder code (4 octal digits, e.g. 7000)"),
                ));
            }
            Some(code)
        }
    };
    let altitude_m =
        number(t, "altitude_m", at)?.ok_or_else(|| at.field("altitude_m", "missing".into()))?;
    check_altitude(altitude_m).map_err(|m| at.field("altitude_m", m))?;
    let speed_mps =
        number(t, "speed_mps", at)?.ok_or_else(|| at.field("speed_mps", "missing".into()))?;
    if !(speed_mps > 0.0 && speed_mps <= 350.0) {
        return Err(at.field(
            "speed_mps",
            format!("{speed_mps} is not a ground speed in (0, 350] m/s"),
        ));
    }
    let start_s = number(t, "start_s", at)?.unwrap_or(0.0);
    if start_s < 0.0 {
        return Err(at.field(
            "start_s",
            format!("{start_s} is not a sim time of 0 s or more"),
        ));
    }
    let looped = match t.get("loop") {
        None => false,
        Some(toml::Value::Boolean(b)) => *b,
        Some(v) => {
            return Err(at.field(
                "loop",
                format!("expected true or false, found {}", v.type_str()),
            ));
        }
    };
    let points = waypoints(t, altitude_m, at)?;
    let route = Route::new(points, looped);
    if route.length_m() < 1.0 {
        return Err(at.field(
            "waypoints",
            "the waypoints are all in one place: nothing to fly".into(),
        ));
    }
    Ok(Aircraft {
        icao,
        callsign,
        emitter,
        squawk,
        speed_mps,
        start_s,
        route,
    })
}

fn waypoints(
    t: &toml::Table,
    default_alt: f64,
    at: &Place<'_>,
) -> Result<Vec<Waypoint>, TrafficError> {
    let list = match t.get("waypoints") {
        None => return Err(at.field("waypoints", "missing".into())),
        Some(toml::Value::Array(a)) => a,
        Some(v) => {
            return Err(at.field(
                "waypoints",
                format!(
                    "expected an array of [lat, lon] or [lat, lon, altitude_m], found {}",
                    v.type_str()
                ),
            ));
        }
    };
    if list.len() < 2 {
        return Err(at.field(
            "waypoints",
            format!("{} waypoint(s): at least 2 are needed", list.len()),
        ));
    }
    let mut out = Vec::new();
    for (j, w) in list.iter().enumerate() {
        let bad = |m: String| at.field("waypoints", format!("waypoint {}: {m}", j + 1));
        let toml::Value::Array(xs) = w else {
            return Err(bad(format!(
                "expected [lat, lon] or [lat, lon, altitude_m], found {}",
                w.type_str()
            )));
        };
        let nums: Vec<f64> = xs
            .iter()
            .map(as_number)
            .collect::<Option<_>>()
            .ok_or_else(|| bad("every value must be a number".into()))?;
        let (lat, lon, alt_m) = match nums.as_slice() {
            [lat, lon] => (*lat, *lon, default_alt),
            [lat, lon, alt] => (*lat, *lon, *alt),
            _ => {
                return Err(bad(format!(
                    "{} values: expected [lat, lon] or [lat, lon, altitude_m]",
                    nums.len()
                )));
            }
        };
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Err(bad(format!(
                "({lat}, {lon}) is not a latitude and longitude in degrees"
            )));
        }
        check_altitude(alt_m).map_err(bad)?;
        out.push(Waypoint { lat, lon, alt_m });
    }
    Ok(out)
}

fn check_altitude(alt: f64) -> Result<(), String> {
    if (-500.0..=20_000.0).contains(&alt) {
        Ok(())
    } else {
        Err(format!("{alt} m is not an altitude AMSL in -500..=20000 m"))
    }
}

fn as_number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) if f.is_finite() => Some(*f),
        _ => None,
    }
}

fn number(t: &toml::Table, key: &str, at: &Place<'_>) -> Result<Option<f64>, TrafficError> {
    match t.get(key) {
        None => Ok(None),
        Some(v) => as_number(v)
            .map(Some)
            .ok_or_else(|| at.field(key, format!("expected a number, found {}", describe(v)))),
    }
}

fn string<'t>(
    t: &'t toml::Table,
    key: &str,
    at: &Place<'_>,
) -> Result<Option<&'t str>, TrafficError> {
    match t.get(key) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(at.field(key, format!("expected a string, found {}", describe(v)))),
    }
}

fn describe(v: &toml::Value) -> String {
    match v {
        toml::Value::Float(f) => format!("{f}"),
        other => other.type_str().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[aircraft]]
icao = "7808A1"
callsign = "B7301"
emitter = "rotorcraft"
squawk = 7000
altitude_m = 150
speed_mps = 40
loop = true
waypoints = [[30.405, 120.45], [30.41, 120.55, 200]]

[[aircraft]]
icao = "780ABC"
callsign = "B9876"
emitter = "light"
altitude_m = 900.5
speed_mps = 55
start_s = 30
waypoints = [[30.30, 120.40], [30.50, 120.70]]
"#;

    /// The error for `GOOD` with `from` replaced by `to`.
    fn error(from: &str, to: &str) -> String {
        assert!(GOOD.contains(from), "{from}");
        match parse(&GOOD.replacen(from, to, 1), "t.toml") {
            Ok(_) => panic!("`{to}` was accepted"),
            Err(e) => e.to_string(),
        }
    }

    fn check(from: &str, to: &str, expected: &str) {
        let e = error(from, to);
        assert!(e.contains(expected), "`{to}`: {e}\nexpected: {expected}");
        assert!(e.starts_with("traffic file t.toml: "), "{e}");
    }

    #[test]
    fn reads_a_good_file() {
        let t = parse(GOOD, "t.toml").expect("good file");
        let [heli, light] = t.aircraft.as_slice() else {
            panic!("{:?}", t.aircraft)
        };
        assert_eq!(heli.icao, 0x7808A1);
        assert_eq!(heli.callsign, "B7301");
        assert_eq!(heli.emitter, Emitter::Rotorcraft);
        assert_eq!(heli.squawk, Some(7000));
        assert_eq!(heli.route.points()[0].alt_m, 150.0);
        assert_eq!(heli.route.points()[1].alt_m, 200.0);
        assert!(heli.state_at(1e6).is_some(), "loops");
        assert_eq!(light.emitter, Emitter::Light);
        assert_eq!(light.squawk, None);
        assert_eq!(light.start_s, 30.0);
        assert_eq!(light.state_at(29.0), None);
        assert!(light.state_at(31.0).is_some());
        assert_eq!(light.state_at(1e6), None, "gone after its last waypoint");
    }

    #[test]
    fn refuses_bad_files_naming_the_aircraft_and_the_field() {
        check(
            "icao = \"7808A1\"",
            "icao = \"7808G1\"",
            "aircraft 1: field `icao`: `7808G1` is not a 24-bit ICAO address",
        );
        check(
            "icao = \"780ABC\"",
            "icao = \"7808A1\"",
            "aircraft 2 (icao 7808A1): field `icao`: 7808A1 is used twice",
        );
        check(
            "icao = \"780ABC\"",
            "icao = 780",
            "aircraft 2: field `icao`: expected a string, found integer",
        );
        check(
            "callsign = \"B7301\"",
            "callsign = \"police-1\"",
            "aircraft 1 (icao 7808A1): field `callsign`: `police-1` is not 1-8",
        );
        check(
            "callsign = \"B7301\"",
            "callsign = \"B73012345\"",
            "field `callsign`",
        );
        check(
            "emitter = \"light\"",
            "emitter = \"jumbo\"",
            "aircraft 2 (icao 780ABC): field `emitter`: unknown emitter `jumbo`; one of no_info, light",
        );
        check(
            "squawk = 7000",
            "squawk = 7080",
            "field `squawk`: 7080 is not a transponder code",
        );
        check(
            "altitude_m = 150",
            "altitude_m = \"high\"",
            "field `altitude_m`: expected a number, found string",
        );
        check(
            "altitude_m = 150",
            "altitude_m = 30000",
            "field `altitude_m`: 30000 m is not an altitude",
        );
        check(
            "altitude_m = 150\n",
            "",
            "aircraft 1 (icao 7808A1): field `altitude_m`: missing",
        );
        check(
            "speed_mps = 40",
            "speed_mps = -3",
            "aircraft 1 (icao 7808A1): field `speed_mps`: -3 is not a ground speed",
        );
        check(
            "speed_mps = 40",
            "speed_mps = nan",
            "field `speed_mps`: expected a number, found NaN",
        );
        check(
            "start_s = 30",
            "start_s = -1",
            "aircraft 2 (icao 780ABC): field `start_s`",
        );
        check(
            "loop = true",
            "loop = \"yes\"",
            "field `loop`: expected true or false, found string",
        );
        check(
            "waypoints = [[30.30, 120.40], [30.50, 120.70]]",
            "waypoints = [[30.30, 120.40]]",
            "aircraft 2 (icao 780ABC): field `waypoints`: 1 waypoint(s): at least 2",
        );
        check(
            "[[30.405, 120.45], [30.41, 120.55, 200]]",
            "[[30.405, 120.45], [30.41]]",
            "field `waypoints`: waypoint 2: 1 values",
        );
        check(
            "[[30.405, 120.45], [30.41, 120.55, 200]]",
            "[[30.405, 120.45], [95.0, 120.55]]",
            "field `waypoints`: waypoint 2: (95, 120.55) is not a latitude",
        );
        check(
            "[[30.405, 120.45], [30.41, 120.55, 200]]",
            "[[30.405, 120.45], [30.405, 120.45]]",
            "field `waypoints`: the waypoints are all in one place",
        );
        check(
            "loop = true",
            "lopo = true",
            "aircraft 1 (icao 7808A1): unknown field `lopo`",
        );
        check(
            "[[aircraft]]\nicao = \"7808A1\"",
            "[[aircraft]]\nicao = \"7808A1\"\n[[aircraft]",
            "not valid TOML",
        );
        check(
            "[[aircraft]]\nicao = \"7808A1\"",
            "receiver = 3\n[[aircraft]]\nicao = \"7808A1\"",
            "unknown key `receiver`",
        );
        assert!(
            parse("", "e.toml")
                .is_err_and(|e| e.to_string() == "traffic file e.toml: no [[aircraft]] in it")
        );
    }

    /// Mutated files (tokens swapped for hostile ones, bytes flipped, cut
    /// short) never panic the reader; what it accepts always flies finite
    /// positions, and what it refuses names the file.
    #[test]
    fn hostile_files_are_refused_or_fly_finite() {
        use rand::rngs::SmallRng;
        use rand::{Rng, SeedableRng};
        const TOKENS: [&str; 14] = [
            "nan",
            "inf",
            "-inf",
            "1e999",
            "-0",
            "0",
            "1e-300",
            "\"\"",
            "[]",
            "[[]]",
            "true",
            "99999999999999999999",
            "-1",
            "\"\\u0000\"",
        ];
        let mut rng = SmallRng::seed_from_u64(7);
        let (mut accepted, mut refused) = (0, 0);
        for _ in 0..3000 {
            let mut text = GOOD.to_owned();
            for _ in 0..rng.random_range(1..3) {
                if text.is_empty() {
                    break;
                }
                match rng.random_range(0..3) {
                    0 => {
                        // A value replaced by a hostile token.
                        let at: Vec<usize> = text
                            .match_indices(['=', ',', '['])
                            .map(|(i, _)| i)
                            .collect();
                        let Some(&at) = at.get(rng.random_range(0..at.len().max(1))) else {
                            continue;
                        };
                        let i = at + 1;
                        let end = text[i..]
                            .find([',', ']', '\n'])
                            .map_or(text.len(), |e| i + e);
                        let tok = TOKENS[rng.random_range(0..TOKENS.len())];
                        text.replace_range(i..end, &format!(" {tok}"));
                    }
                    1 => {
                        let mut bytes = text.into_bytes();
                        let i = rng.random_range(0..bytes.len());
                        bytes[i] = rng.random();
                        text = String::from_utf8_lossy(&bytes).into_owned();
                    }
                    _ => {
                        let mut cut = rng.random_range(0..text.len());
                        while !text.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        text.truncate(cut);
                    }
                }
            }
            match parse(&text, "m.toml") {
                Ok(t) => {
                    accepted += 1;
                    for a in &t.aircraft {
                        for k in 0..50 {
                            let Some(s) = a.state_at(f64::from(k) * 97.3) else {
                                continue;
                            };
                            assert!(
                                s.lat.is_finite() && s.lon.is_finite() && s.alt_m.is_finite(),
                                "{text}\n{s:?}"
                            );
                            assert!((0.0..360.0).contains(&s.track_deg), "{text}\n{s:?}");
                            assert!(s.vertical_mps.is_finite(), "{text}\n{s:?}");
                        }
                    }
                }
                Err(e) => {
                    refused += 1;
                    assert!(e.to_string().starts_with("traffic file m.toml: "), "{e}");
                }
            }
        }
        // Both sides were exercised.
        assert!(
            accepted > 30 && refused > 1000,
            "{accepted} accepted, {refused} refused"
        );
    }

    #[test]
    fn a_missing_file_is_named() {
        let e = load(Path::new("/nonexistent/traffic.toml")).expect_err("no such file");
        assert!(
            e.to_string()
                .starts_with("traffic file /nonexistent/traffic.toml: cannot read it"),
            "{e}"
        );
    }
}

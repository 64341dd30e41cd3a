//! Fuzzing the configuration loader: the demo scenario mutated at random
//! (numbers replaced by extremes, lines dropped or duplicated, bytes
//! flipped, the zones file cut short) must load or be refused with problems,
//! never panic, and whatever loads must plan and assign without panicking.

use std::path::{Path, PathBuf};

use chrono::DateTime;
use dispatch_core::config::parse;
use dispatch_core::{IncidentKind, Need, assign};
use proptest::prelude::*;

const SCENARIO: &str = include_str!("../../../config/haining.toml");
const ZONES: &str = include_str!("../../../config/zones/haining.geojson");

const EXTREMES: [&str; 14] = [
    "0",
    "-1",
    "1e308",
    "-1e308",
    "1e-300",
    "inf",
    "-inf",
    "nan",
    "9223372036854775807",
    "-9223372036854775808",
    "0.0",
    "1e30",
    "\"\"",
    "[]",
];

#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the n-th number of the text by an extreme value.
    Number(usize, usize),
    DropLine(usize),
    DuplicateLine(usize),
    FlipByte(usize, u8),
    /// Cut the zones file at this fraction (per mille).
    CutZones(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 0..EXTREMES.len()).prop_map(|(n, e)| Mutation::Number(n, e)),
        1 => any::<usize>().prop_map(Mutation::DropLine),
        1 => any::<usize>().prop_map(Mutation::DuplicateLine),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::FlipByte(i, b)),
        1 => (0usize..1000).prop_map(Mutation::CutZones),
    ]
}

fn apply(m: &Mutation, toml: &mut String, zones: &mut String) {
    match *m {
        Mutation::Number(n, e) => {
            // Spans of digits (with sign, dot, exponent) in the TOML text.
            let bytes = toml.as_bytes();
            let mut spans = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) {
                    let start = if i > 0 && bytes[i - 1] == b'-' {
                        i - 1
                    } else {
                        i
                    };
                    let mut j = i;
                    while j < bytes.len()
                        && (bytes[j].is_ascii_digit() || matches!(bytes[j], b'.' | b'e' | b'E'))
                    {
                        j += 1;
                    }
                    spans.push((start, j));
                    i = j;
                } else {
                    i += 1;
                }
            }
            if !spans.is_empty() {
                let (a, b) = spans[n % spans.len()];
                toml.replace_range(a..b, EXTREMES[e]);
            }
        }
        Mutation::DropLine(n) | Mutation::DuplicateLine(n) => {
            let mut lines: Vec<&str> = toml.lines().collect();
            let k = n % lines.len().max(1);
            if matches!(m, Mutation::DropLine(_)) {
                lines.remove(k);
            } else {
                lines.insert(k, lines[k]);
            }
            *toml = lines.join("\n");
        }
        Mutation::FlipByte(i, b) => {
            let mut bytes = toml.clone().into_bytes();
            let k = i % bytes.len();
            bytes[k] = b;
            *toml = String::from_utf8_lossy(&bytes).into_owned();
        }
        Mutation::CutZones(per_mille) => {
            let mut cut = zones.len() * per_mille / 1000;
            while !zones.is_char_boundary(cut) {
                cut -= 1;
            }
            zones.truncate(cut);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn no_configuration_panics_the_loader_or_the_planner(
        mutations in prop::collection::vec(mutation(), 1..4),
        at in (0.0f64..1.0, 0.0f64..1.0),
    ) {
        let (mut toml, mut zones) = (SCENARIO.to_owned(), ZONES.to_owned());
        for m in &mutations {
            apply(m, &mut toml, &mut zones);
        }
        let zones_text = zones.clone();
        let loaded = parse(Path::new("haining.toml"), &toml, move |_| {
            Ok((PathBuf::from("haining.geojson"), zones_text))
        });
        match loaded {
            Err(e) => prop_assert!(!e.problems.is_empty()),
            Ok(s) => {
                // Whatever loads must plan and assign.
                let world = s.world();
                let r = s.region;
                let p = dispatch_core::LatLon::new(
                    r.min_lat + at.0 * (r.max_lat - r.min_lat),
                    r.min_lon + at.1 * (r.max_lon - r.min_lon),
                );
                let now = DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
                for kind in [IncidentKind::PersonInWater, IncidentKind::SpectatorInDangerZone] {
                    if let Some(policy) = s.policies.get(&kind) {
                        let _ = assign(&world, &Need::new(policy, p, now));
                    }
                }
            }
        }
    }
}

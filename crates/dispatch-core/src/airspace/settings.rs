//! The scenario's `[traffic]` section: where manned traffic is heard from
//! and how close it may come. Parsed with the rest of the scenario
//! (`config`), validated here, every problem collected.

use serde::Deserialize;

use super::conflict::Thresholds;

/// What the fleet does about manned traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficSettings {
    /// A ground receiver's SBS-1 feed (`HOST:PORT`, dump1090/readsb port 30003).
    pub sbs: Option<String>,
    /// Closer than both at once is a conflict.
    pub thresholds: Thresholds,
    /// A track not heard for this long is dropped (s).
    pub max_age_s: f64,
    /// Tracks are extrapolated no farther ahead than this (s): beyond it a
    /// straight line says nothing about where an aircraft will be.
    pub horizon_s: f64,
    /// In flight, a conflict predicted within this is an alert (s).
    pub look_ahead_s: f64,
    /// In flight, a conflict under way or due within this holds the drone (s).
    pub hold_lead_s: f64,
    /// A held drone with an aircraft above and close descends to this
    /// height above home (m).
    pub safe_alt_m: f64,
    /// A launch held longer than this for a life-threatening kind is a
    /// critical alert, so that a dispatcher can launch anyway (s).
    pub hold_alert_s: f64,
    /// The ground's height above mean sea level at the hangars (m): ADS-B
    /// altitudes are above sea level, the drones' above home.
    pub ground_elevation_m: f64,
}

impl Default for TrafficSettings {
    fn default() -> Self {
        TrafficSettings {
            sbs: None,
            thresholds: Thresholds {
                horizontal_m: 300.0,
                vertical_m: 100.0,
            },
            max_age_s: 20.0,
            horizon_s: 300.0,
            look_ahead_s: 60.0,
            hold_lead_s: 15.0,
            safe_alt_m: 30.0,
            hold_alert_s: 60.0,
            ground_elevation_m: 0.0,
        }
    }
}

/// `[traffic]` as written.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawTraffic {
    sbs: Option<String>,
    horizontal_m: Option<f64>,
    vertical_m: Option<f64>,
    max_age_s: Option<f64>,
    horizon_s: Option<f64>,
    look_ahead_s: Option<f64>,
    hold_lead_s: Option<f64>,
    safe_alt_m: Option<f64>,
    hold_alert_s: Option<f64>,
    ground_elevation_m: Option<f64>,
}

/// Checks `[traffic]`; the problems say the key, its value and its range.
pub(crate) fn validate(raw: &RawTraffic, cruise_alt_m: f64) -> (TrafficSettings, Vec<String>) {
    let d = TrafficSettings::default();
    let mut problems = Vec::new();
    let mut num = |key: &str, v: Option<f64>, default: f64, lo: f64, hi: f64, unit: &str| {
        let x = v.unwrap_or(default);
        if !(x.is_finite() && (lo..=hi).contains(&x)) {
            problems.push(format!(
                "{key} = {x} must be a number in [{lo}, {hi}] {unit}"
            ));
        }
        x
    };
    let s = TrafficSettings {
        sbs: raw.sbs.clone(),
        thresholds: Thresholds {
            horizontal_m: num(
                "horizontal_m",
                raw.horizontal_m,
                d.thresholds.horizontal_m,
                50.0,
                10_000.0,
                "m",
            ),
            vertical_m: num(
                "vertical_m",
                raw.vertical_m,
                d.thresholds.vertical_m,
                15.0,
                3_000.0,
                "m",
            ),
        },
        max_age_s: num("max_age_s", raw.max_age_s, d.max_age_s, 1.0, 600.0, "s"),
        horizon_s: num("horizon_s", raw.horizon_s, d.horizon_s, 10.0, 3_600.0, "s"),
        look_ahead_s: num(
            "look_ahead_s",
            raw.look_ahead_s,
            d.look_ahead_s,
            1.0,
            600.0,
            "s",
        ),
        hold_lead_s: num(
            "hold_lead_s",
            raw.hold_lead_s,
            d.hold_lead_s,
            0.0,
            120.0,
            "s",
        ),
        safe_alt_m: num(
            "safe_alt_m",
            raw.safe_alt_m,
            d.safe_alt_m,
            5.0,
            500.0,
            "m above home",
        ),
        hold_alert_s: num(
            "hold_alert_s",
            raw.hold_alert_s,
            d.hold_alert_s,
            0.0,
            3_600.0,
            "s",
        ),
        ground_elevation_m: num(
            "ground_elevation_m",
            raw.ground_elevation_m,
            d.ground_elevation_m,
            -500.0,
            9_000.0,
            "m above sea level",
        ),
    };
    if let Some(a) = &s.sbs
        && !valid_host_port(a)
    {
        problems.push(format!(
            "sbs = \"{a}\" must be HOST:PORT (a dump1090/readsb BaseStation feed, usually port 30003)"
        ));
    }
    if s.hold_lead_s > s.look_ahead_s {
        problems.push(format!(
            "hold_lead_s = {} must not exceed look_ahead_s = {}: a conflict is alerted before the drone is held",
            s.hold_lead_s, s.look_ahead_s
        ));
    }
    if s.safe_alt_m > cruise_alt_m {
        problems.push(format!(
            "safe_alt_m = {} must not exceed the cruise altitude {cruise_alt_m} m: it is the height a drone descends to",
            s.safe_alt_m
        ));
    }
    (s, problems)
}

/// `HOST:PORT` with a non-empty host and a port 1..=65535.
pub fn valid_host_port(a: &str) -> bool {
    match a.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty()
                && !host.contains(char::is_whitespace)
                && port.parse::<u16>().is_ok_and(|p| p > 0)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> RawTraffic {
        toml::from_str(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn defaults_follow_ardupilot_avoidance() {
        let (s, p) = validate(&RawTraffic::default(), 60.0);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(s, TrafficSettings::default());
        assert_eq!(s.thresholds.horizontal_m, 300.0);
        assert_eq!(s.thresholds.vertical_m, 100.0);
    }

    #[test]
    fn every_bad_value_is_reported_with_its_range() {
        let (_, p) = validate(
            &raw(
                "sbs = \"nowhere\"\nhorizontal_m = -1\nsafe_alt_m = 100\nhold_lead_s = 90\nmax_age_s = nan\n",
            ),
            60.0,
        );
        let all = p.join("\n");
        for want in [
            "sbs = \"nowhere\" must be HOST:PORT",
            "horizontal_m = -1 must be a number in [50, 10000] m",
            "max_age_s = NaN must be a number in [1, 600] s",
            "hold_lead_s = 90 must not exceed look_ahead_s = 60",
            "safe_alt_m = 100 must not exceed the cruise altitude 60 m",
        ] {
            assert!(all.contains(want), "{want} not in:\n{all}");
        }
        assert_eq!(p.len(), 5, "{all}");
    }

    #[test]
    fn host_and_port() {
        assert!(valid_host_port("127.0.0.1:30003"));
        assert!(valid_host_port("adsb.local:30003"));
        assert!(!valid_host_port("adsb.local"));
        assert!(!valid_host_port(":30003"));
        assert!(!valid_host_port("h:0"));
        assert!(!valid_host_port("h:99999"));
    }

    #[test]
    fn the_scenario_loader_reports_traffic_problems_with_the_others() {
        let base = std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../config/haining.toml"
        ));
        let good = crate::config::load(base).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(good.traffic, TrafficSettings::default());
        let text = std::fs::read_to_string(base)
            .unwrap_or_else(|e| panic!("{e}"))
            .replace("vertical_m = 100", "vertical_m = 1\nspeed_kt = 3");
        let dir = base.parent().unwrap_or(std::path::Path::new("."));
        let read = |z: &str| {
            let f = dir.join(z);
            std::fs::read_to_string(&f)
                .map(|t| (f, t))
                .map_err(|e| crate::config::ConfigError {
                    problems: vec![crate::config::ConfigProblem {
                        file: base.to_path_buf(),
                        item: None,
                        message: e.to_string(),
                    }],
                })
        };
        // An unknown key is refused first, by its path.
        let e = crate::config::parse(base, &text, read)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("unknown key `traffic.speed_kt`"), "{e}");
        let text = text.replace("speed_kt = 3", "");
        let e = crate::config::parse(base, &text, read)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("[traffic]")
                && e.contains("vertical_m = 1 must be a number in [15, 3000] m"),
            "{e}"
        );
    }
}

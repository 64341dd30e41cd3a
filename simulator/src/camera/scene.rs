//! What the cameras see that does not move: the water and the scenario's
//! zones, as rings of (lat, lon).
//!
//! The water is the Qiantang river channel upstream of Daquekou (the same
//! centreline the map's basemap is drawn from, web/scripts/basemap.mjs,
//! widened to a band) and a rough outline of Hangzhou Bay east of it: the
//! simulator carries no coastline data set, and a camera at 60 m sees a few
//! hundred metres, so this is enough to put land and water in the right
//! places over the demo's scenes.

use dispatch_core::config::Scenario;
use dispatch_core::model::ZoneKind;

use super::render::{Ground, Ring, ZoneMark, ZoneStyle};

/// Centreline of the river channel, (lon, lat), downstream first.
const RIVER: [(f64, f64); 12] = [
    (120.70, 30.352),
    (120.676, 30.362),
    (120.62, 30.372),
    (120.575, 30.382),
    (120.539, 30.386),
    (120.50, 30.374),
    (120.475, 30.356),
    (120.457, 30.337),
    (120.43, 30.318),
    (120.40, 30.300),
    (120.36, 30.278),
    (120.32, 30.262),
];

/// Hangzhou Bay east of Daquekou, (lon, lat): the north shore from
/// Daquekou past Haiyan, the mouth, the south shore back.
const BAY: [(f64, f64); 9] = [
    (120.69, 30.362),
    (120.80, 30.385),
    (120.92, 30.405),
    (121.05, 30.45),
    (121.15, 30.45),
    (121.15, 30.10),
    (120.90, 30.20),
    (120.75, 30.27),
    (120.69, 30.335),
];

/// The ground of a scenario (its zones) or of a synthetic fleet (`None`:
/// the water only).
pub fn ground(scenario: Option<&Scenario>) -> Ground {
    let mut g = Ground {
        water: vec![
            river_band(),
            Ring::new(BAY.iter().map(|&(x, y)| (y, x)).collect()),
        ],
        zones: Vec::new(),
    };
    if let Some(s) = scenario {
        for z in &s.zones {
            let style = match z.kind {
                ZoneKind::Crowd => ZoneStyle::Crowd,
                ZoneKind::TemporaryClosure => ZoneStyle::Temporary,
                _ => ZoneStyle::NoGo,
            };
            let pts: Vec<(f64, f64)> = z
                .polygon
                .exterior()
                .points()
                .map(|p| (p.y(), p.x()))
                .collect();
            if pts.len() >= 3 {
                g.zones.push(ZoneMark {
                    ring: Ring::new(pts),
                    style,
                });
            }
        }
    }
    g
}

/// The channel: the centreline widened to 0.010° either side downstream,
/// narrowing to 0.006° upstream (as the basemap draws it).
fn river_band() -> Ring {
    let n = RIVER.len();
    let mut left = Vec::with_capacity(n);
    let mut right = Vec::with_capacity(n);
    for i in 0..n {
        let a = RIVER[i.saturating_sub(1)];
        let b = RIVER[(i + 1).min(n - 1)];
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len = dx.hypot(dy).max(1e-12);
        let (nx, ny) = (-dy / len, dx / len);
        let w = 0.010 - 0.004 * i as f64 / (n - 1) as f64;
        let c = RIVER[i];
        left.push((c.1 + ny * w, c.0 + nx * w));
        right.push((c.1 - ny * w, c.0 - nx * w));
    }
    right.reverse();
    left.extend(right);
    Ring::new(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_channel_is_a_closed_band_round_its_centreline() {
        let g = ground(None);
        assert_eq!(g.water.len(), 2);
        assert_eq!(g.water[0].points.len(), 2 * RIVER.len());
        assert!(g.zones.is_empty());
    }
}

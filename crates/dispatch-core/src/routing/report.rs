//! What a found route tells: its waypoints and length, the zones it bends
//! round, leaves, enters or crosses while they are not in force, and its
//! clearance from the zones in force while it is flown.

use super::search::{START, Search, TARGET};
use super::{CLEARANCE_HORIZON_M, Route, RouteRequest};
use crate::geodesy::distance_m;
use crate::model::{LatLon, ZoneId};

impl Search<'_> {
    pub(super) fn route(&self, req: &RouteRequest, path: &[usize]) -> Route {
        let frame = self.world.frame();
        let mut waypoints: Vec<LatLon> = path
            .iter()
            .map(|&i| match i {
                START => req.from,
                TARGET => req.to,
                _ => frame.unproject(self.nodes[i]),
            })
            .collect();
        waypoints.dedup();
        let length_m = waypoints.windows(2).map(|w| distance_m(w[0], w[1])).sum();
        let ids = |zs: &[usize]| -> Vec<ZoneId> {
            zs.iter()
                .filter_map(|&z| self.world.indexed_zone(z))
                .map(|z| z.zone.id.clone())
                .collect()
        };
        // The zones the ends may be in are reported if they may be in force
        // during the flight (a fence need not know the others).
        let in_force = |zs: &[usize]| -> Vec<usize> {
            zs.iter()
                .copied()
                .filter(|&z| self.is_blocking(z))
                .collect()
        };
        let mut avoided: Vec<usize> = path.iter().filter_map(|&i| self.node_zone[i]).collect();
        avoided.sort_unstable();
        avoided.dedup();
        // How far along the route each node lies, for the legs' times.
        let mut along = vec![0.0];
        for w in path.windows(2) {
            let g = along.last().copied().unwrap_or(0.0);
            along.push(g + self.leg_m(w[0], w[1]));
        }
        let last = path.len().saturating_sub(2);
        let exempt = |i: usize, zi: usize| {
            (i == 0 && self.start_zones.contains(&zi))
                || (i == last && self.target_zones.contains(&zi))
        };
        // Zones at the cruise altitude that a leg crosses: the search let it
        // through only while they are not in force. Whether they are in
        // force at some other time of this flight or not, a fence for the
        // whole sortie must leave them out.
        let mut crossed = Vec::new();
        for (i, w) in path.windows(2).enumerate() {
            let (a, b) = (self.nodes[w[0]], self.nodes[w[1]]);
            for zi in self.world.zones_along(a, b, 0.0) {
                let Some(z) = self.world.indexed_zone(zi) else {
                    continue;
                };
                let in_band = z.zone.floor_m <= self.altitude && self.altitude <= z.zone.ceiling_m;
                if in_band && !exempt(i, zi) && z.crosses(a, b) {
                    crossed.push(zi);
                }
            }
        }
        crossed.sort_unstable();
        crossed.dedup();
        // Clearance: the nearest zone to a leg in force while the drone may
        // be on that leg, and every zone a leg comes closer to than the
        // margin (first and last legs only).
        let mut best: Option<(f64, Vec<usize>)> = None;
        let mut within = Vec::new();
        for (i, w) in path.windows(2).enumerate() {
            let (a, b) = (self.nodes[w[0]], self.nodes[w[1]]);
            let span = self.leg_span(along[i], along[i + 1]);
            for zi in self.world.zones_along(a, b, CLEARANCE_HORIZON_M) {
                let Some(z) = self.world.indexed_zone(zi) else {
                    continue;
                };
                if exempt(i, zi) || !span.blocked_by(&z.zone, self.altitude) {
                    continue;
                }
                let Some(d) = z.shape.distance_to_segment(a, b, CLEARANCE_HORIZON_M) else {
                    continue;
                };
                if d < self.margin - 0.01 && !within.contains(&zi) {
                    within.push(zi);
                }
                match &mut best {
                    Some((bd, zs)) if (d - *bd).abs() < 0.01 => {
                        if !zs.contains(&zi) {
                            zs.push(zi);
                        }
                    }
                    Some((bd, _)) if d > *bd => {}
                    _ => best = Some((d, vec![zi])),
                }
            }
        }
        within.sort_unstable();
        let (clearance_m, clearance_zones) = match best {
            Some((d, mut zs)) => {
                zs.sort_unstable();
                (Some((d * 10.0).round() / 10.0), ids(&zs))
            }
            None => (None, Vec::new()),
        };
        Route {
            waypoints,
            length_m,
            final_leg_enters: ids(&in_force(&self.target_zones)),
            departs_from: ids(&in_force(&self.start_zones)),
            avoided: ids(&avoided),
            crossed_inactive: ids(&crossed),
            clearance_m,
            clearance_zones,
            within_margin: ids(&within),
        }
    }

    /// The zones that block the ways into the target, for the error message.
    pub(super) fn zones_closing_target(&self) -> Vec<ZoneId> {
        let mut zs: Vec<usize> = self
            .blocked_cache
            .iter()
            .filter(|((u, v, _), _)| *u == TARGET || *v == TARGET)
            .filter_map(|(_, hit)| *hit)
            .collect();
        zs.sort_unstable();
        zs.dedup();
        let mut ids: Vec<ZoneId> = zs
            .into_iter()
            .filter_map(|z| self.world.indexed_zone(z))
            .map(|z| z.zone.id.clone())
            .collect();
        ids.sort();
        ids
    }
}

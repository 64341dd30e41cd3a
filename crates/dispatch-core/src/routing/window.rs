//! Times: when the drone may be on a leg, over the whole flight, and on
//! scene.
//!
//! Every interval is measured from the request's `depart` and widened on
//! both sides by [`leg_tolerance_s`] of the time flown so far, because the
//! real flight drifts from the plan. A return is asked from the sortie's
//! departure (see [`super::RouteRequest::pre_cruise_s`]), so its tolerance
//! grows with the whole sortie, not from zero at the scene.

use chrono::TimeDelta;

use super::{RouteError, RouteRequest};
use crate::model::{Timestamp, Zone};
use crate::world::World;

/// How much a leg's flight interval is widened on each side, seconds, at
/// `elapsed_s` after departure: 30 s plus 5 % of the time flown so far.
pub fn leg_tolerance_s(elapsed_s: f64) -> f64 {
    30.0 + 0.05 * elapsed_s.max(0.0)
}

pub(crate) fn secs(s: f64) -> TimeDelta {
    TimeDelta::milliseconds((s * 1000.0).round().clamp(0.0, 1e15) as i64)
}

/// A closed interval of time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Span {
    pub(super) from: Timestamp,
    pub(super) until: Timestamp,
}

impl Span {
    /// The moments the drone may be between `t0_s` and `t1_s` seconds after
    /// `depart` on the plan: `t0_s` less its tolerance (never before
    /// `depart`) to `t1_s` plus its tolerance. An infinite `t1_s` is open.
    pub(super) fn widened(depart: Timestamp, t0_s: f64, t1_s: f64) -> Span {
        let from = if t0_s.is_finite() {
            (t0_s - leg_tolerance_s(t0_s)).max(0.0)
        } else {
            0.0
        };
        Span {
            from: depart + secs(from),
            until: depart + secs(t1_s + leg_tolerance_s(t1_s)),
        }
    }

    /// Whether `zone` blocks flight at `altitude_m` at some moment of the span.
    pub(super) fn blocked_by(&self, zone: &Zone, altitude_m: f64) -> bool {
        zone.blocks(altitude_m, self.from, self.until)
    }

    /// Whether `zone` blocks flight at `altitude_m` at every moment of the
    /// span: a node too close to it can never be used.
    pub(super) fn blocked_throughout(&self, zone: &Zone, altitude_m: f64) -> bool {
        let w = zone.window;
        zone.floor_m <= altitude_m
            && altitude_m <= zone.ceiling_m
            && w.from.is_none_or(|f| f <= self.from)
            && w.until.is_none_or(|u| u > self.until)
    }

    /// Whether a zone opens or ends strictly inside the span.
    pub(super) fn changes(&self, zone: &Zone) -> bool {
        [zone.window.from, zone.window.until]
            .into_iter()
            .flatten()
            .any(|t| self.from < t && t < self.until)
    }
}

/// Checks the hover on scene of the outbound flight `req`: the drone is over
/// the target from `arrive_s` (after `req.depart`) for `on_scene_s`, both
/// widened by the tolerance. Once a zone holding the target is in force the
/// drone must not be in it, so a zone that opens during the hover refuses
/// the job as if the target lay in it on arrival (unless a rescue may enter
/// it: then the return leaves it as it entered). A zone that only comes
/// within the margin of the hover does not: the drone holds a fixed point,
/// outside the zone, and the margin that guards a moving drone's drift along
/// a leg is already given up there for the target, as on the last leg.
pub fn check_hover(
    world: &World,
    req: &RouteRequest,
    arrive_s: f64,
    on_scene_s: f64,
) -> Result<(), RouteError> {
    let hover = Span::widened(req.depart, arrive_s, arrive_s + on_scene_s.max(0.0));
    let at = world.frame().project(req.to);
    for zi in world.zones_at_point(at) {
        let Some(z) = world.indexed_zone(zi) else {
            continue;
        };
        let open_to_it = req.rescue && z.zone.rescue_exempt;
        if !open_to_it && hover.blocked_by(&z.zone, req.altitude_m) && z.contains_point(at) {
            return Err(RouteError::TargetInZone {
                zone: z.zone.id.clone(),
                name: z.zone.name.clone(),
            });
        }
    }
    Ok(())
}

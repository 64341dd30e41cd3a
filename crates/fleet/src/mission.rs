//! From an assignment to MAVLink mission and fence items (pure functions).
//!
//! Mission layout (ArduPilot convention: item 0 is home and is not flown):
//!
//! | items | phase |
//! |---|---|
//! | 0 home, 1 NAV_TAKEOFF (skipped when already airborne) | launch |
//! | the planned waypoints around the zones | en route |
//! | the scene: arrival waypoint, then the action for the kind | on scene |
//! | the planned return waypoints, NAV_LAND at the hangar | returning |
//!
//! Actions on scene: lifebuoy drop (DO_GRIPPER release) and a hover; a
//! loudspeaker clip (MAV_CMD_USER_1, param1 = clip, see docs/simulator.md)
//! and a hover; an orbit with the thermal camera (NAV_LOITER_TURNS) for fires;
//! an expanding-square search around the last-seen point for a missing
//! person; the patrol route for patrols.

use dispatch_core::{Assignment, IncidentKind, LatLon, Route, Timestamp, World};
use geo::{BoundingRect, Intersects, Rect};
use mavlink_link::mav::{MISSION_ITEM_INT_DATA, MavCmd, MavFrame, MavMissionType};

/// Radius of the thermal-camera orbit over a fire, metres.
pub const ORBIT_RADIUS_M: f64 = 80.0;
/// Track spacing of the expanding-square search, metres (the dispatcher's
/// separation plans the same square).
pub const SEARCH_SPACING_M: f64 = dispatch_core::separation::SEARCH_SPACING_M;

/// A mission with the index ranges of its phases.
#[derive(Debug, Clone, PartialEq)]
pub struct MissionPlan {
    pub items: Vec<MISSION_ITEM_INT_DATA>,
    /// Index of the waypoint over the scene: reaching it is arrival.
    pub scene_arrival: u16,
    /// First index of the return leg.
    pub return_start: u16,
    /// Index of the payload drop (DO_GRIPPER release), if the sortie has one:
    /// the vehicle's MISSION_CURRENT moving past it confirms the release.
    pub payload_release: Option<u16>,
    /// Built for a drone already in the air (no take-off item).
    pub airborne_at_launch: bool,
}

/// What the mission needs to know beyond the assignment.
#[derive(Debug, Clone)]
pub struct SortieSpec<'a> {
    pub kind: IncidentKind,
    pub home: LatLon,
    pub cruise_alt_m: f64,
    pub cruise_speed_mps: f64,
    pub on_scene_s: f64,
    pub airborne: bool,
    /// Patrol waypoints, for patrols.
    pub patrol: &'a [LatLon],
}

pub fn build(a: &Assignment, spec: &SortieSpec<'_>) -> MissionPlan {
    let alt = spec.cruise_alt_m as f32;
    let mut items = vec![item(MavCmd::MAV_CMD_NAV_WAYPOINT, spec.home, 0.0, [0.0; 4])];
    if !spec.airborne {
        items.push(item(
            MavCmd::MAV_CMD_NAV_TAKEOFF,
            LatLon::new(0.0, 0.0),
            alt,
            [0.0; 4],
        ));
    }
    // Route waypoints, without the start (the drone is there) and the target.
    let wps = &a.route.waypoints;
    for w in wps.iter().skip(1).take(wps.len().saturating_sub(2)) {
        items.push(item(MavCmd::MAV_CMD_NAV_WAYPOINT, *w, alt, [0.0; 4]));
    }
    let target = *wps.last().unwrap_or(&spec.home);
    let scene_arrival = items.len() as u16;
    items.push(item(MavCmd::MAV_CMD_NAV_WAYPOINT, target, alt, [0.0; 4]));
    let mut payload_release = None;
    let hover = |s: f64| {
        item(
            MavCmd::MAV_CMD_NAV_LOITER_TIME,
            target,
            alt,
            [s as f32, 0.0, 0.0, 0.0],
        )
    };
    match spec.kind {
        IncidentKind::PersonInWater => {
            payload_release = Some(items.len() as u16);
            items.push(do_item(MavCmd::MAV_CMD_DO_GRIPPER, [1.0, 0.0, 0.0, 0.0]));
            items.push(hover(spec.on_scene_s));
        }
        IncidentKind::SpectatorInDangerZone | IncidentKind::TidalSurgeWarning => {
            items.push(do_item(
                MavCmd::MAV_CMD_USER_1,
                [clip(spec.kind), 0.0, 0.0, 0.0],
            ));
            items.push(hover(spec.on_scene_s));
        }
        IncidentKind::HighriseFire | IncidentKind::ForestFire => {
            let lap_s = std::f64::consts::TAU * ORBIT_RADIUS_M / spec.cruise_speed_mps.min(12.0);
            let turns = (spec.on_scene_s / lap_s).ceil().max(1.0);
            items.push(item(
                MavCmd::MAV_CMD_NAV_LOITER_TURNS,
                target,
                alt,
                [turns as f32, 0.0, ORBIT_RADIUS_M as f32, 0.0],
            ));
        }
        IncidentKind::MissingPerson => {
            for p in expanding_square(
                target,
                spec.on_scene_s * spec.cruise_speed_mps,
                SEARCH_SPACING_M,
            ) {
                items.push(item(MavCmd::MAV_CMD_NAV_WAYPOINT, p, alt, [0.0; 4]));
            }
        }
        IncidentKind::Patrol => {
            items.push(do_item(
                MavCmd::MAV_CMD_USER_1,
                [clip(spec.kind), 0.0, 0.0, 0.0],
            ));
            for p in spec.patrol.iter().skip(1) {
                items.push(item(MavCmd::MAV_CMD_NAV_WAYPOINT, *p, alt, [0.0; 4]));
            }
        }
    }
    let return_start = items.len() as u16;
    let back = &a.return_route.waypoints;
    for w in back.iter().skip(1).take(back.len().saturating_sub(2)) {
        items.push(item(MavCmd::MAV_CMD_NAV_WAYPOINT, *w, alt, [0.0; 4]));
    }
    items.push(item(MavCmd::MAV_CMD_NAV_LAND, spec.home, 0.0, [0.0; 4]));
    for (i, it) in items.iter_mut().enumerate() {
        it.seq = i as u16;
    }
    MissionPlan {
        items,
        scene_arrival,
        return_start,
        payload_release,
        airborne_at_launch: spec.airborne,
    }
}

/// Loudspeaker clip number of a kind (its index in `IncidentKind::ALL`).
pub fn clip(kind: IncidentKind) -> f32 {
    IncidentKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(0) as f32
}

/// When and how high a sortie flies: the fence holds exactly the zones the
/// planner kept out of (`Zone::blocks` over this window at this altitude).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlightWindow {
    pub start: Timestamp,
    pub end: Timestamp,
    pub cruise_alt_m: f64,
}

/// Exclusion fence of the zones that block the sortie near its route, leaving
/// out the zones the route is allowed to be in (the one it departs from, the
/// rescue-exempt zone of the casualty, those it crosses while not in force)
/// and any zone around the home hangar. A fence is two-dimensional, so a zone
/// above the cruise altitude or not in force during the sortie must not be in
/// it.
///
/// Each zone is fenced grown by half the route margin, from the same offset
/// geometry the planner keeps the whole margin from: the planned legs stay a
/// half margin outside the fence (room for navigation error), and a vehicle
/// that drifts toward the zone is stopped before it is in. Zones the route
/// must come closer to (its start or target lies that close) are fenced as
/// they are.
pub fn fence(
    world: &World,
    route: &Route,
    back: &Route,
    home: LatLon,
    window: FlightWindow,
) -> Vec<MISSION_ITEM_INT_DATA> {
    let mut lo = (f64::INFINITY, f64::INFINITY);
    let mut hi = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for p in route.waypoints.iter().chain(&back.waypoints) {
        lo = (lo.0.min(p.lon), lo.1.min(p.lat));
        hi = (hi.0.max(p.lon), hi.1.max(p.lat));
    }
    // About 5 km around the flight.
    let bbox = Rect::new((lo.0 - 0.05, lo.1 - 0.05), (hi.0 + 0.05, hi.1 + 0.05));
    let home_pt = geo::Point::new(home.lon, home.lat);
    let half_margin = world.params().route_margin_m / 2.0;
    let mut items = Vec::new();
    for z in world
        .zones()
        .filter(|z| z.blocks(window.cruise_alt_m, window.start, window.end))
    {
        let allowed = route.final_leg_enters.contains(&z.id)
            || route.departs_from.contains(&z.id)
            || back.departs_from.contains(&z.id)
            // Flown over before it opens or after it ends (the planner's timing).
            || route.crossed_inactive.contains(&z.id)
            || back.crossed_inactive.contains(&z.id)
            || z.polygon.intersects(&home_pt);
        if allowed
            || !z
                .polygon
                .bounding_rect()
                .is_some_and(|r| r.intersects(&bbox))
        {
            continue;
        }
        let close = route.within_margin.contains(&z.id) || back.within_margin.contains(&z.id);
        let offset = if close { 0.0 } else { half_margin };
        for ring in world.fence_rings(&z.id, offset).unwrap_or_default() {
            let n = ring.len();
            for c in &ring {
                let mut it = item(
                    MavCmd::MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
                    *c,
                    0.0,
                    [n as f32, 0.0, 0.0, 0.0],
                );
                it.frame = MavFrame::MAV_FRAME_GLOBAL;
                it.mission_type = MavMissionType::MAV_MISSION_TYPE_FENCE;
                items.push(it);
            }
        }
    }
    for (i, it) in items.iter_mut().enumerate() {
        it.seq = i as u16;
    }
    items
}

/// Corners of an expanding-square search of about `length_m` of track.
fn expanding_square(c: LatLon, length_m: f64, spacing: f64) -> Vec<LatLon> {
    let m_lat = 111_195.0;
    let m_lon = m_lat * c.lat.to_radians().cos();
    dispatch_core::separation::expanding_square_m(length_m, spacing)
        .into_iter()
        .map(|(n, e)| LatLon::new(c.lat + n / m_lat, c.lon + e / m_lon))
        .collect()
}

/// The position of a mission item (its `x`, `y` in 1e-7 degrees).
pub fn item_position(it: &MISSION_ITEM_INT_DATA) -> LatLon {
    LatLon::new(f64::from(it.x) / 1e7, f64::from(it.y) / 1e7)
}

fn item(command: MavCmd, p: LatLon, alt: f32, params: [f32; 4]) -> MISSION_ITEM_INT_DATA {
    MISSION_ITEM_INT_DATA {
        param1: params[0],
        param2: params[1],
        param3: params[2],
        param4: params[3],
        x: (p.lat * 1e7).round() as i32,
        y: (p.lon * 1e7).round() as i32,
        z: alt,
        seq: 0,
        command,
        target_system: 0,
        target_component: 1,
        frame: MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT,
        current: 0,
        autocontinue: 1,
        mission_type: MavMissionType::MAV_MISSION_TYPE_MISSION,
    }
}

fn do_item(command: MavCmd, params: [f32; 4]) -> MISSION_ITEM_INT_DATA {
    let mut it = item(command, LatLon::new(0.0, 0.0), 0.0, params);
    it.frame = MavFrame::MAV_FRAME_MISSION;
    it
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expanding_square_grows_by_one_spacing_every_two_legs() {
        let c = LatLon::new(30.0, 120.0);
        let pts = expanding_square(c, 600.0, 60.0);
        // Legs 60, 60, 120, 120, 180, 180 -> 720 m >= 600 m after 6 legs.
        assert_eq!(pts.len(), 6);
        assert!((pts[0].lat - (30.0 + 60.0 / 111_195.0)).abs() < 1e-9);
    }

    #[test]
    fn fence_holds_only_the_zones_that_block_the_sortie() {
        use dispatch_core::{ActiveWindow, ZoneId, ZoneKind};
        use geo::{LineString, Polygon};
        let t = |h: u32| {
            chrono::DateTime::from_timestamp(1_790_000_000 + i64::from(h) * 3600, 0)
                .unwrap_or_default()
        };
        let square = |id: &str, lat: f64| dispatch_core::Zone {
            id: ZoneId(id.into()),
            name: id.into(),
            kind: ZoneKind::Other,
            polygon: Polygon::new(
                LineString::from(vec![
                    (120.0, lat),
                    (120.01, lat),
                    (120.01, lat + 0.01),
                    (120.0, lat + 0.01),
                    (120.0, lat),
                ]),
                vec![],
            ),
            floor_m: 0.0,
            ceiling_m: 10_000.0,
            window: ActiveWindow::PERMANENT,
            rescue_exempt: false,
        };
        let blocking = square("blocking", 30.0);
        let mut high = square("high", 30.02);
        high.floor_m = 200.0;
        let mut later = square("later", 30.04);
        later.window.from = Some(t(3));
        let route = Route {
            waypoints: vec![LatLon::new(29.99, 119.99), LatLon::new(30.06, 120.02)],
            length_m: 0.0,
            final_leg_enters: vec![],
            departs_from: vec![],
            avoided: vec![],
            crossed_inactive: vec![],
            clearance_m: None,
            clearance_zones: vec![],
            within_margin: vec![],
        };
        let window = FlightWindow {
            start: t(0),
            end: t(1),
            cruise_alt_m: 60.0,
        };
        let world = dispatch_core::World::build(
            dispatch_core::Region {
                min_lat: 29.5,
                min_lon: 119.5,
                max_lat: 30.5,
                max_lon: 120.5,
            },
            dispatch_core::PlanningParams::default(),
            std::collections::HashMap::new(),
            vec![],
            vec![],
            vec![blocking.clone(), high, later],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let items = fence(&world, &route, &route, LatLon::new(29.9, 119.9), window);
        // Only "blocking", grown by half the 100 m margin: every vertex
        // carries the vertex count, lies 50 m (less the arcs' sag) out.
        let n = items.len();
        assert!(n > 4, "rounded corners: {n} vertices");
        assert!(items.iter().all(|i| i.param1 == n as f32));
        let frame = world.frame();
        let shape = frame.project(LatLon::new(30.0, 120.0));
        let far = frame.project(LatLon::new(30.01, 120.01));
        for i in &items {
            let p = frame.project(item_position(i));
            // Outside the square by between 45 and 51 m on some side.
            let dx = (shape[0] - p[0]).max(p[0] - far[0]).max(0.0);
            let dy = (shape[1] - p[1]).max(p[1] - far[1]).max(0.0);
            let d = (dx * dx + dy * dy).sqrt();
            assert!((45.0..=51.0).contains(&d), "vertex {d:.1} m out");
        }
        // A route that must come closer: that zone is fenced as it is.
        let mut close = route.clone();
        close.within_margin = vec![blocking.id.clone()];
        let items = fence(&world, &close, &route, LatLon::new(29.9, 119.9), window);
        assert_eq!(items.len(), 4);
    }

    #[test]
    fn clip_numbers_follow_the_kind_order() {
        assert_eq!(clip(IncidentKind::SpectatorInDangerZone), 0.0);
        assert_eq!(clip(IncidentKind::TidalSurgeWarning), 2.0);
    }
}

//! Mission, fence and rally storage, and the vehicle side of the MAVLink
//! mission protocol (upload and download, with re-requests on timeout).

use geo::{Contains, Coord, Intersects, Line, LineString, Polygon, Validation};
use mavlink_link::mav::{
    MISSION_ACK_DATA, MISSION_COUNT_DATA, MISSION_ITEM_INT_DATA, MISSION_REQUEST_INT_DATA, MavCmd,
    MavFrame, MavMessage, MavMissionResult, MavMissionType,
};

/// One stored item (the MISSION_ITEM_INT fields that matter).
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub command: MavCmd,
    pub frame: MavFrame,
    pub params: [f32; 4],
    pub x: i32,
    pub y: i32,
    pub z: f32,
    pub autocontinue: bool,
}

impl Item {
    pub fn lat(&self) -> f64 {
        f64::from(self.x) / 1e7
    }

    pub fn lon(&self) -> f64 {
        f64::from(self.y) / 1e7
    }

    /// Latitude and longitude within their ranges.
    pub fn position_ok(&self) -> bool {
        (-90.0..=90.0).contains(&self.lat()) && (-180.0..=180.0).contains(&self.lon())
    }

    pub fn from_msg(m: &MISSION_ITEM_INT_DATA) -> Item {
        Item {
            command: m.command,
            frame: m.frame,
            params: [m.param1, m.param2, m.param3, m.param4],
            x: m.x,
            y: m.y,
            z: m.z,
            autocontinue: m.autocontinue != 0,
        }
    }

    pub fn to_msg(
        &self,
        seq: u16,
        kind: MavMissionType,
        target: (u8, u8),
    ) -> MISSION_ITEM_INT_DATA {
        MISSION_ITEM_INT_DATA {
            param1: self.params[0],
            param2: self.params[1],
            param3: self.params[2],
            param4: self.params[3],
            x: self.x,
            y: self.y,
            z: self.z,
            seq,
            command: self.command,
            target_system: target.0,
            target_component: target.1,
            frame: self.frame,
            current: 0,
            autocontinue: u8::from(self.autocontinue),
            mission_type: kind,
        }
    }
}

/// A parsed geofence.
#[derive(Debug, Clone, Default)]
pub struct Fence {
    /// Polygons in (x = lon, y = lat).
    pub inclusion: Vec<Polygon<f64>>,
    pub exclusion: Vec<Polygon<f64>>,
    /// (lat, lon, radius m).
    pub inclusion_circles: Vec<(f64, f64, f64)>,
    pub exclusion_circles: Vec<(f64, f64, f64)>,
}

/// Which fence element a position or path violates.
#[derive(Debug, Clone, PartialEq)]
pub enum Breach {
    OutsideInclusion(usize),
    InsideExclusion(usize),
    OutsideInclusionCircle(usize),
    InsideExclusionCircle(usize),
}

impl std::fmt::Display for Breach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Breach::OutsideInclusion(i) => write!(f, "outside inclusion polygon {i}"),
            Breach::InsideExclusion(i) => write!(f, "inside exclusion polygon {i}"),
            Breach::OutsideInclusionCircle(i) => write!(f, "outside inclusion circle {i}"),
            Breach::InsideExclusionCircle(i) => write!(f, "inside exclusion circle {i}"),
        }
    }
}

impl Fence {
    pub fn is_empty(&self) -> bool {
        self.inclusion.is_empty()
            && self.exclusion.is_empty()
            && self.inclusion_circles.is_empty()
            && self.exclusion_circles.is_empty()
    }

    /// Fence elements the position violates.
    pub fn breaches(&self, lat: f64, lon: f64) -> Vec<Breach> {
        let p = Coord { x: lon, y: lat };
        let mut out = Vec::new();
        for (i, poly) in self.inclusion.iter().enumerate() {
            if !poly.contains(&p) {
                out.push(Breach::OutsideInclusion(i));
            }
        }
        for (i, poly) in self.exclusion.iter().enumerate() {
            if poly.intersects(&p) {
                out.push(Breach::InsideExclusion(i));
            }
        }
        for (i, &(clat, clon, r)) in self.inclusion_circles.iter().enumerate() {
            if dist_m(clat, clon, lat, lon) > r {
                out.push(Breach::OutsideInclusionCircle(i));
            }
        }
        for (i, &(clat, clon, r)) in self.exclusion_circles.iter().enumerate() {
            if dist_m(clat, clon, lat, lon) < r {
                out.push(Breach::InsideExclusionCircle(i));
            }
        }
        out
    }

    /// Whether the straight path crosses an exclusion polygon other than
    /// those in `ignore` (the ones the vehicle is already inside).
    pub fn path_crosses_exclusion(
        &self,
        from: (f64, f64),
        to: (f64, f64),
        ignore: &[Breach],
    ) -> bool {
        let seg = Line::new(
            Coord {
                x: from.1,
                y: from.0,
            },
            Coord { x: to.1, y: to.0 },
        );
        self.exclusion
            .iter()
            .enumerate()
            .filter(|(i, _)| !ignore.contains(&Breach::InsideExclusion(*i)))
            .any(|(_, p)| p.intersects(&seg))
    }
}

fn dist_m(lat0: f64, lon0: f64, lat: f64, lon: f64) -> f64 {
    let (n, e) = crate::physics::ne_offset(lat0, lon0, lat, lon);
    n.hypot(e)
}

/// Builds a fence from uploaded items, or says why the upload is invalid.
pub fn parse_fence(items: &[Item]) -> Result<Fence, (MavMissionResult, String)> {
    let mut fence = Fence::default();
    let mut i = 0;
    while i < items.len() {
        let it = &items[i];
        match it.command {
            MavCmd::MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION
            | MavCmd::MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION => {
                let n = it.params[0];
                if !(n >= 3.0 && n.fract() == 0.0) {
                    return Err((
                        MavMissionResult::MAV_MISSION_INVALID_PARAM1,
                        format!("fence item {i}: polygon vertex count {n} (need an integer >= 3)"),
                    ));
                }
                // Compared before any conversion: a count of 1e30 is refused,
                // not wrapped.
                if f64::from(n) > (items.len() - i) as f64 {
                    return Err((
                        MavMissionResult::MAV_MISSION_INVALID,
                        format!(
                            "fence item {i}: polygon of {n} vertices runs past the end ({} items)",
                            items.len()
                        ),
                    ));
                }
                let n = n as usize;
                if let Some(bad) = items[i..i + n].iter().position(|g| !g.position_ok()) {
                    return Err((
                        MavMissionResult::MAV_MISSION_INVALID_PARAM5_X,
                        format!("fence item {}: vertex position out of range", i + bad),
                    ));
                }
                let group = &items[i..i + n];
                if group
                    .iter()
                    .any(|g| g.command != it.command || g.params[0] as usize != n)
                {
                    return Err((
                        MavMissionResult::MAV_MISSION_INVALID,
                        format!(
                            "fence items {i}..{}: vertices of one polygon disagree on type or count",
                            i + n
                        ),
                    ));
                }
                let mut coords: Vec<Coord<f64>> = group
                    .iter()
                    .map(|g| Coord {
                        x: g.lon(),
                        y: g.lat(),
                    })
                    .collect();
                coords.push(coords[0]);
                let poly = Polygon::new(LineString::new(coords), vec![]);
                if let Err(e) = poly.check_validation() {
                    return Err((
                        MavMissionResult::MAV_MISSION_INVALID,
                        format!("fence items {i}..{}: invalid polygon: {e}", i + n),
                    ));
                }
                if it.command == MavCmd::MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION {
                    fence.inclusion.push(poly);
                } else {
                    fence.exclusion.push(poly);
                }
                i += n;
            }
            MavCmd::MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION
            | MavCmd::MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION => {
                let r = f64::from(it.params[0]);
                if !(r > 0.0 && r.is_finite()) {
                    return Err((
                        MavMissionResult::MAV_MISSION_INVALID_PARAM1,
                        format!("fence item {i}: circle radius {r} must be a positive number"),
                    ));
                }
                if !it.position_ok() {
                    return Err((
                        MavMissionResult::MAV_MISSION_INVALID_PARAM5_X,
                        format!("fence item {i}: circle centre out of range"),
                    ));
                }
                let c = (it.lat(), it.lon(), r);
                if it.command == MavCmd::MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION {
                    fence.inclusion_circles.push(c);
                } else {
                    fence.exclusion_circles.push(c);
                }
                i += 1;
            }
            MavCmd::MAV_CMD_NAV_FENCE_RETURN_POINT => i += 1,
            other => {
                return Err((
                    MavMissionResult::MAV_MISSION_UNSUPPORTED,
                    format!("fence item {i}: {other:?} is not a fence item"),
                ));
            }
        }
    }
    Ok(fence)
}

/// Checks a mission upload: supported commands, sane coordinates.
pub fn check_mission(items: &[Item]) -> Result<(), (MavMissionResult, String)> {
    for (i, it) in items.iter().enumerate() {
        let positional = matches!(
            it.command,
            MavCmd::MAV_CMD_NAV_WAYPOINT
                | MavCmd::MAV_CMD_NAV_LOITER_TIME
                | MavCmd::MAV_CMD_NAV_LOITER_TURNS
                | MavCmd::MAV_CMD_NAV_LOITER_UNLIM
                | MavCmd::MAV_CMD_NAV_LAND
                | MavCmd::MAV_CMD_NAV_TAKEOFF
                | MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH
        );
        let action = matches!(
            it.command,
            MavCmd::MAV_CMD_DO_GRIPPER | MavCmd::MAV_CMD_USER_1 | MavCmd::MAV_CMD_DO_CHANGE_SPEED
        );
        if !positional && !action {
            return Err((
                MavMissionResult::MAV_MISSION_UNSUPPORTED,
                format!("mission item {i}: {:?} is not supported", it.command),
            ));
        }
        if positional && !it.z.is_finite() {
            return Err((
                MavMissionResult::MAV_MISSION_INVALID_PARAM7,
                format!("mission item {i}: altitude {} is not a number", it.z),
            ));
        }
        if positional && (it.x != 0 || it.y != 0) {
            if !(-90.0..=90.0).contains(&it.lat()) {
                return Err((
                    MavMissionResult::MAV_MISSION_INVALID_PARAM5_X,
                    format!("mission item {i}: latitude {} out of range", it.lat()),
                ));
            }
            if !(-180.0..=180.0).contains(&it.lon()) {
                return Err((
                    MavMissionResult::MAV_MISSION_INVALID_PARAM6_Y,
                    format!("mission item {i}: longitude {} out of range", it.lon()),
                ));
            }
        }
    }
    Ok(())
}

/// An upload in progress (vehicle side).
#[derive(Debug, Clone)]
pub struct Upload {
    pub kind: MavMissionType,
    pub count: u16,
    pub items: Vec<Item>,
    /// Link time of the last request and of the last item received, seconds.
    pub last_request: f64,
    pub last_receive: f64,
    /// Who is uploading (system id, component id).
    pub peer: (u8, u8),
}

/// As ArduPilot's MissionItemProtocol: ask again for an item after 1 s of
/// silence; give the upload up (MISSION_ACK OPERATION_CANCELLED) after 8 s
/// without an item.
pub const REQUEST_TIMEOUT_S: f64 = 1.0;
pub const UPLOAD_TIMEOUT_S: f64 = 8.0;

pub fn request(upload: &Upload) -> MavMessage {
    MavMessage::MISSION_REQUEST_INT(MISSION_REQUEST_INT_DATA {
        seq: upload.items.len() as u16,
        target_system: upload.peer.0,
        target_component: upload.peer.1,
        mission_type: upload.kind,
    })
}

pub fn ack(peer: (u8, u8), kind: MavMissionType, result: MavMissionResult) -> MavMessage {
    MavMessage::MISSION_ACK(MISSION_ACK_DATA {
        target_system: peer.0,
        target_component: peer.1,
        mavtype: result,
        mission_type: kind,
        opaque_id: 0,
    })
}

pub fn count(peer: (u8, u8), kind: MavMissionType, n: usize) -> MavMessage {
    MavMessage::MISSION_COUNT(MISSION_COUNT_DATA {
        count: n as u16,
        target_system: peer.0,
        target_component: peer.1,
        mission_type: kind,
        opaque_id: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vertex(cmd: MavCmd, n: f32, lat: f64, lon: f64) -> Item {
        Item {
            command: cmd,
            frame: MavFrame::MAV_FRAME_GLOBAL,
            params: [n, 0.0, 0.0, 0.0],
            x: (lat * 1e7) as i32,
            y: (lon * 1e7) as i32,
            z: 0.0,
            autocontinue: true,
        }
    }

    #[test]
    fn exclusion_polygon_and_circle() {
        let ex = MavCmd::MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION;
        let items = vec![
            vertex(ex, 4.0, 30.0, 120.0),
            vertex(ex, 4.0, 30.0, 120.01),
            vertex(ex, 4.0, 30.01, 120.01),
            vertex(ex, 4.0, 30.01, 120.0),
            vertex(
                MavCmd::MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
                100.0,
                30.1,
                120.1,
            ),
        ];
        let f = parse_fence(&items).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            f.breaches(30.005, 120.005),
            vec![Breach::InsideExclusion(0)]
        );
        assert_eq!(
            f.breaches(30.1, 120.1),
            vec![Breach::InsideExclusionCircle(0)]
        );
        assert!(f.breaches(30.05, 120.05).is_empty());
        assert!(f.path_crosses_exclusion((29.99, 120.005), (30.02, 120.005), &[]));
    }

    #[test]
    fn hostile_fences_are_refused_not_crashed_on() {
        // The three-datagram crash: a circle, then a vertex claiming 1e30 vertices.
        let mut circle = vertex(
            MavCmd::MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
            50.0,
            30.0,
            120.0,
        );
        let huge = vertex(
            MavCmd::MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
            1e30,
            30.0,
            120.0,
        );
        let err = parse_fence(&[circle.clone(), huge])
            .map(|_| ())
            .unwrap_err();
        assert_eq!(err.0, MavMissionResult::MAV_MISSION_INVALID);
        assert!(err.1.contains("runs past the end"), "{}", err.1);
        for bad in [f32::NAN, f32::INFINITY, -1.0, 0.0] {
            circle.params[0] = bad;
            let err = parse_fence(std::slice::from_ref(&circle))
                .map(|_| ())
                .unwrap_err();
            assert_eq!(err.0, MavMissionResult::MAV_MISSION_INVALID_PARAM1, "{bad}");
        }
        let nan = vertex(
            MavCmd::MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
            f32::NAN,
            30.0,
            120.0,
        );
        assert!(parse_fence(&[nan.clone(), nan.clone(), nan]).is_err());
        let mut far = vertex(
            MavCmd::MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
            50.0,
            30.0,
            120.0,
        );
        far.x = 1_000_000_000; // 100° north
        assert!(parse_fence(&[far]).is_err());
    }

    #[test]
    fn a_mission_item_without_an_altitude_is_refused() {
        let mut wp = vertex(MavCmd::MAV_CMD_NAV_WAYPOINT, 0.0, 30.0, 120.0);
        wp.z = f32::NAN;
        let err = check_mission(&[wp]).map(|_| ()).unwrap_err();
        assert_eq!(err.0, MavMissionResult::MAV_MISSION_INVALID_PARAM7);
    }

    #[test]
    fn invalid_polygons_are_rejected_loudly() {
        let inc = MavCmd::MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION;
        // Bow tie.
        let bow = vec![
            vertex(inc, 4.0, 30.0, 120.0),
            vertex(inc, 4.0, 30.01, 120.01),
            vertex(inc, 4.0, 30.0, 120.01),
            vertex(inc, 4.0, 30.01, 120.0),
        ];
        let err = parse_fence(&bow).err().map(|e| e.1).unwrap_or_default();
        assert!(err.contains("self-intersection"), "{err}");
        // Vertex counts disagree.
        let mut short = bow.clone();
        short[2].params[0] = 3.0;
        assert!(parse_fence(&short).is_err());
        // Two vertices only.
        let two = vec![vertex(inc, 2.0, 30.0, 120.0), vertex(inc, 2.0, 30.1, 120.0)];
        assert_eq!(
            parse_fence(&two).err().map(|e| e.0),
            Some(MavMissionResult::MAV_MISSION_INVALID_PARAM1)
        );
    }
}

//! The world: hangars, drones and zones, with the R-trees that answer
//! "what is near here" without scanning.
//!
//! Three `rstar` trees, all keyed in the region's [`LocalFrame`] (metres):
//! - hangars as points (static between configuration loads);
//! - zones by envelope, with the exact `geo` test done by callers after the
//!   envelope filter; zones are inserted, removed and expired one by one;
//! - *dispatchable* drones as points: idle drones in their hangars and drones
//!   on preemptable work. A drone changing state or position is removed and
//!   re-inserted on its own; nothing is ever rebuilt wholesale.

use std::collections::HashMap;

use geo::{LineString, Polygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use serde::Serialize;
use thiserror::Error;

use crate::geodesy::LocalFrame;
use crate::model::{
    Capability, CapabilitySet, Drone, DroneId, DroneState, Hangar, HangarId, IncidentKind,
    KindPolicy, LatLon, Tasking, Timestamp, Zone, ZoneId,
};
use crate::separation::Separation;
use crate::shape::{ARC_STEP_RAD, Hull, OffsetNode, ZoneShape};
use crate::wind::WindField;

pub(crate) type PointEntry = GeomWithData<[f64; 2], usize>;
type ZoneEntry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// The rectangle dispatch operates in. Positions outside it are refused: the
/// local frame and the search bounds are only valid inside.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Region {
    pub min_lat: f64,
    pub min_lon: f64,
    pub max_lat: f64,
    pub max_lon: f64,
}

impl Region {
    pub fn contains(&self, p: LatLon) -> bool {
        (self.min_lat..=self.max_lat).contains(&p.lat)
            && (self.min_lon..=self.max_lon).contains(&p.lon)
    }

    pub fn centre(&self) -> LatLon {
        LatLon::new(
            (self.min_lat + self.max_lat) / 2.0,
            (self.min_lon + self.max_lon) / 2.0,
        )
    }
}

/// Settings that shape planning for the whole world.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PlanningParams {
    /// Cruise altitude above ground, metres.
    pub cruise_altitude_m: f64,
    /// Battery percentage that must remain on landing.
    pub reserve_pct: f64,
    /// Clearance kept from zone corners by the route planner, metres.
    pub route_margin_m: f64,
    /// How many runner-up drones an assignment reports.
    pub alternatives: usize,
}

impl Default for PlanningParams {
    fn default() -> Self {
        Self {
            cruise_altitude_m: 60.0,
            reserve_pct: 20.0,
            route_margin_m: 100.0,
            alternatives: 3,
        }
    }
}

/// Errors from changing the world.
#[derive(Debug, Error, PartialEq)]
pub enum WorldError {
    #[error("unknown drone `{0}`")]
    UnknownDrone(DroneId),
    #[error("unknown hangar `{0}`")]
    UnknownHangar(HangarId),
    #[error("unknown zone `{0}`")]
    UnknownZone(ZoneId),
    #[error("duplicate {what} id `{id}`")]
    Duplicate { what: &'static str, id: String },
    #[error("position {position} is outside the operating region")]
    OutsideRegion { position: LatLon },
}

/// A zone with its frame geometry and the corner nodes routes may bend at.
#[derive(Debug, Clone)]
pub(crate) struct IndexedZone {
    pub(crate) zone: Zone,
    pub(crate) shape: ZoneShape,
    pub(crate) envelope: AABB<[f64; 2]>,
    /// The corners of the zone offset by the route margin (see
    /// [`crate::shape`]), those closer than the margin to the zone left out.
    pub(crate) nodes: Vec<OffsetNode>,
    /// For a concave zone, its convex hull and the hull's offset nodes:
    /// enough for a route that does not go into the zone's pockets.
    pub(crate) hull: Option<Hull>,
}

/// Hangars, drones, zones and their spatial indexes.
#[derive(Debug, Clone)]
pub struct World {
    region: Region,
    frame: LocalFrame,
    params: PlanningParams,
    policies: HashMap<IncidentKind, KindPolicy>,
    hangars: Vec<Hangar>,
    hangar_by_id: HashMap<HangarId, usize>,
    drones: Vec<Drone>,
    drone_by_id: HashMap<DroneId, usize>,
    zones: Vec<Option<IndexedZone>>,
    zone_by_id: HashMap<ZoneId, usize>,
    hangar_tree: RTree<PointEntry>,
    zone_tree: RTree<ZoneEntry>,
    dispatchable_tree: RTree<PointEntry>,
    /// Key each drone is filed under in `dispatchable_tree`, if it is.
    dispatchable_key: Vec<Option<[f64; 2]>>,
    /// The dispatchable drones that carry each capability (by
    /// `Capability::ALL` order), so that a query for a rare payload starts
    /// from drones that have it.
    capability_trees: [RTree<PointEntry>; 5],
    max_cruise_speed_mps: f64,
    /// What the vehicles and the weather service say of the wind.
    wind: WindField,
    /// How far apart our own sorties are kept.
    separation: Separation,
}

impl World {
    pub fn new(
        region: Region,
        params: PlanningParams,
        policies: HashMap<IncidentKind, KindPolicy>,
    ) -> Self {
        let frame = LocalFrame::new(region.centre(), region.min_lat, region.max_lat);
        Self {
            region,
            frame,
            params,
            policies,
            hangars: Vec::new(),
            hangar_by_id: HashMap::new(),
            drones: Vec::new(),
            drone_by_id: HashMap::new(),
            zones: Vec::new(),
            zone_by_id: HashMap::new(),
            hangar_tree: RTree::new(),
            zone_tree: RTree::new(),
            dispatchable_tree: RTree::new(),
            dispatchable_key: Vec::new(),
            capability_trees: Default::default(),
            max_cruise_speed_mps: f64::MIN_POSITIVE,
            wind: WindField::new(),
            separation: Separation::default(),
        }
    }

    /// Builds a world in one go, bulk-loading the trees.
    pub fn build(
        region: Region,
        params: PlanningParams,
        policies: HashMap<IncidentKind, KindPolicy>,
        hangars: Vec<Hangar>,
        drones: Vec<Drone>,
        zones: Vec<Zone>,
    ) -> Result<Self, WorldError> {
        let mut w = World::new(region, params, policies);
        for h in hangars {
            w.check_position(h.position)?;
            if w.hangar_by_id
                .insert(h.id.clone(), w.hangars.len())
                .is_some()
            {
                return Err(WorldError::Duplicate {
                    what: "hangar",
                    id: h.id.0,
                });
            }
            w.hangars.push(h);
        }
        for d in drones {
            w.check_position(d.position)?;
            if !w.hangar_by_id.contains_key(&d.hangar) {
                return Err(WorldError::UnknownHangar(d.hangar));
            }
            if w.drone_by_id.insert(d.id.clone(), w.drones.len()).is_some() {
                return Err(WorldError::Duplicate {
                    what: "drone",
                    id: d.id.0,
                });
            }
            w.max_cruise_speed_mps = w.max_cruise_speed_mps.max(d.performance.cruise_speed_mps);
            w.drones.push(d);
        }
        let mut zone_entries = Vec::new();
        for z in zones {
            if w.zone_by_id.contains_key(&z.id) {
                return Err(WorldError::Duplicate {
                    what: "zone",
                    id: z.id.0,
                });
            }
            let iz = w.index_zone(z);
            zone_entries.push(ZoneEntry::new(
                Rectangle::from_aabb(iz.envelope),
                w.zones.len(),
            ));
            w.zone_by_id.insert(iz.zone.id.clone(), w.zones.len());
            w.zones.push(Some(iz));
        }
        w.zone_tree = RTree::bulk_load(zone_entries);
        w.hangar_tree = RTree::bulk_load(
            w.hangars
                .iter()
                .enumerate()
                .map(|(i, h)| PointEntry::new(w.frame.project(h.position), i))
                .collect(),
        );
        w.dispatchable_key = vec![None; w.drones.len()];
        let mut entries = Vec::new();
        for i in 0..w.drones.len() {
            if is_dispatchable(&w.drones[i]) {
                let key = w.frame.project(w.drones[i].position);
                w.dispatchable_key[i] = Some(key);
                entries.push(PointEntry::new(key, i));
            }
        }
        w.capability_trees = std::array::from_fn(|c| {
            RTree::bulk_load(
                entries
                    .iter()
                    .filter(|e| w.drones[e.data].capabilities.contains(Capability::ALL[c]))
                    .cloned()
                    .collect(),
            )
        });
        w.dispatchable_tree = RTree::bulk_load(entries);
        Ok(w)
    }

    pub fn region(&self) -> Region {
        self.region
    }

    /// The wind field that ETAs, energy and the wind limits are judged by.
    pub fn wind(&self) -> &WindField {
        &self.wind
    }

    pub fn wind_mut(&mut self) -> &mut WindField {
        &mut self.wind
    }

    pub fn separation(&self) -> &Separation {
        &self.separation
    }

    pub fn set_separation(&mut self, s: Separation) {
        self.separation = s;
    }

    pub fn frame(&self) -> &LocalFrame {
        &self.frame
    }

    /// Fastest cruise speed of the fleet: bounds how early a far drone could arrive.
    pub fn max_cruise_speed_mps(&self) -> f64 {
        self.max_cruise_speed_mps
    }

    pub fn params(&self) -> &PlanningParams {
        &self.params
    }

    pub fn policy(&self, kind: IncidentKind) -> Option<&KindPolicy> {
        self.policies.get(&kind)
    }

    pub fn policies(&self) -> &HashMap<IncidentKind, KindPolicy> {
        &self.policies
    }

    pub fn hangars(&self) -> &[Hangar] {
        &self.hangars
    }

    pub fn hangar(&self, id: &HangarId) -> Option<&Hangar> {
        self.hangar_by_id.get(id).map(|&i| &self.hangars[i])
    }

    pub fn drones(&self) -> &[Drone] {
        &self.drones
    }

    pub fn drone(&self, id: &DroneId) -> Option<&Drone> {
        self.drone_by_id.get(id).map(|&i| &self.drones[i])
    }

    pub(crate) fn drone_at(&self, idx: usize) -> &Drone {
        &self.drones[idx]
    }

    pub(crate) fn drone_index(&self, id: &DroneId) -> Option<usize> {
        self.drone_by_id.get(id).copied()
    }

    pub fn zones(&self) -> impl Iterator<Item = &Zone> {
        self.zones.iter().flatten().map(|z| &z.zone)
    }

    pub fn zone(&self, id: &ZoneId) -> Option<&Zone> {
        self.zone_by_id
            .get(id)
            .and_then(|&i| self.zones[i].as_ref())
            .map(|z| &z.zone)
    }

    pub(crate) fn indexed_zone(&self, idx: usize) -> Option<&IndexedZone> {
        self.zones.get(idx).and_then(Option::as_ref)
    }

    pub fn check_position(&self, p: LatLon) -> Result<(), WorldError> {
        if self.region.contains(p) {
            Ok(())
        } else {
            Err(WorldError::OutsideRegion { position: p })
        }
    }

    /// Hangars by increasing distance from `p`.
    pub fn hangars_near(&self, p: LatLon) -> impl Iterator<Item = &Hangar> {
        self.hangar_tree
            .nearest_neighbor_iter(&self.frame.project(p))
            .map(|e| &self.hangars[e.data])
    }

    /// Dispatchable drones by increasing frame distance (metres) from `p`.
    pub(crate) fn dispatchable_near(&self, p: [f64; 2]) -> impl Iterator<Item = (usize, f64)> {
        self.dispatchable_tree
            .nearest_neighbor_iter_with_distance_2(&p)
            .map(|(e, d2)| (e.data, d2.sqrt()))
    }

    /// Dispatchable drones carrying every capability of `required` are all in
    /// the returned tree (the smallest fitting one), by increasing distance.
    pub(crate) fn dispatchable_near_with(
        &self,
        p: [f64; 2],
        required: CapabilitySet,
    ) -> impl Iterator<Item = (usize, f64)> {
        let tree = required
            .iter()
            .filter_map(|c| Capability::ALL.iter().position(|x| *x == c))
            .map(|i| &self.capability_trees[i])
            .min_by_key(|t| t.size())
            .unwrap_or(&self.dispatchable_tree);
        tree.nearest_neighbor_iter_with_distance_2(&p)
            .map(|(e, d2)| (e.data, d2.sqrt()))
    }

    pub fn dispatchable_count(&self) -> usize {
        self.dispatchable_tree.size()
    }

    /// Zones whose envelope comes within `r` metres of the envelope of `a`-`b`.
    pub(crate) fn zones_within(
        &self,
        a: [f64; 2],
        b: [f64; 2],
        r: f64,
    ) -> impl Iterator<Item = usize> {
        let env = AABB::from_corners(
            [a[0].min(b[0]) - r, a[1].min(b[1]) - r],
            [a[0].max(b[0]) + r, a[1].max(b[1]) + r],
        );
        self.zone_tree
            .locate_in_envelope_intersecting(&env)
            .map(|e| e.data)
    }

    /// Zones whose envelope comes within `r` metres of the segment `a`-`b`,
    /// each once. A long leg is cut into pieces so that a diagonal one does
    /// not collect every zone of its bounding box.
    pub(crate) fn zones_along(&self, a: [f64; 2], b: [f64; 2], r: f64) -> Vec<usize> {
        let pieces = pieces(a, b, r);
        let mut out = Vec::new();
        for &(p0, p1) in &pieces {
            out.extend(self.zones_within(p0, p1, r));
        }
        if pieces.len() > 1 {
            out.sort_unstable();
            out.dedup();
        }
        out
    }

    /// Zones whose envelope holds the frame point `p`.
    pub(crate) fn zones_at_point(&self, p: [f64; 2]) -> impl Iterator<Item = usize> {
        self.zone_tree.locate_all_at_point(&p).map(|e| e.data)
    }

    /// Every zone's index.
    pub(crate) fn zone_indices(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.zones.len()).filter(|&i| self.zones[i].is_some())
    }

    /// Ids of the zones whose polygon contains `p` (any time, any altitude).
    pub fn zones_containing(&self, p: LatLon) -> Vec<ZoneId> {
        let q = self.frame.project(p);
        self.zones_at_point(q)
            .filter_map(|i| self.indexed_zone(i))
            .filter(|z| z.contains_point(q))
            .map(|z| z.zone.id.clone())
            .collect()
    }

    /// The zone grown by `offset_m` metres (rounded corners drawn inside the
    /// exact offset, overlapping parts merged), as lat/lon rings: the shape a
    /// vehicle's exclusion fence gets. Holes are not kept (a fence exclusion
    /// polygon has none). `None` for an unknown zone.
    pub fn fence_rings(&self, id: &ZoneId, offset_m: f64) -> Option<Vec<Vec<LatLon>>> {
        use geo::Buffer;
        use geo::algorithm::buffer::{BufferStyle, LineJoin};
        let z = self
            .zone_by_id
            .get(id)
            .and_then(|&i| self.indexed_zone(i))?;
        let outline = Polygon::new(z.shape.polygon().exterior().clone(), vec![]);
        let rings: Vec<LineString<f64>> = if offset_m > 0.0 {
            // Segments of at most a quarter of the radius: about 14° of arc.
            let style = BufferStyle::new(offset_m).line_join(LineJoin::Round(0.25));
            // Then simplified (Ramer-Douglas-Peucker) to within a quarter of
            // the offset, so that the fence is a few items, not one per arc
            // step (each is an exchange over the radio before take-off): the
            // fence stays between 3/4 and 5/4 of the offset from the zone.
            use geo::{Simplify, Validation};
            outline
                .buffer_with_style(style)
                .0
                .into_iter()
                .map(|p| {
                    let simple = p.simplify(offset_m / 4.0);
                    if simple.is_valid() && simple.exterior().0.len() >= 4 {
                        simple.exterior().clone()
                    } else {
                        p.exterior().clone()
                    }
                })
                .collect()
        } else {
            vec![outline.exterior().clone()]
        };
        Some(
            rings
                .iter()
                .map(|r| {
                    let mut pts: Vec<LatLon> =
                        r.0.iter()
                            .map(|&c| self.frame.unproject([c.x, c.y]))
                            .collect();
                    if pts.len() > 1 && pts.first() == pts.last() {
                        pts.pop();
                    }
                    pts
                })
                .filter(|r| r.len() >= 3)
                .collect(),
        )
    }

    /// Adds a zone, or replaces the zone with the same id.
    pub fn upsert_zone(&mut self, zone: Zone) {
        if self.zone_by_id.contains_key(&zone.id) {
            // Replacing is remove + insert: the envelope may have moved.
            let _ = self.remove_zone(&zone.id.clone());
        }
        let iz = self.index_zone(zone);
        let idx = self.zones.len();
        self.zone_tree
            .insert(ZoneEntry::new(Rectangle::from_aabb(iz.envelope), idx));
        self.zone_by_id.insert(iz.zone.id.clone(), idx);
        self.zones.push(Some(iz));
    }

    pub fn remove_zone(&mut self, id: &ZoneId) -> Result<Zone, WorldError> {
        let idx = self
            .zone_by_id
            .remove(id)
            .ok_or_else(|| WorldError::UnknownZone(id.clone()))?;
        let iz = self.zones[idx]
            .take()
            .ok_or_else(|| WorldError::UnknownZone(id.clone()))?;
        self.zone_tree
            .remove(&ZoneEntry::new(Rectangle::from_aabb(iz.envelope), idx));
        Ok(iz.zone)
    }

    /// Removes zones whose window has closed for good; returns their ids.
    pub fn expire_zones(&mut self, now: Timestamp) -> Vec<ZoneId> {
        let expired: Vec<ZoneId> = self
            .zones()
            .filter(|z| z.window.expired(now))
            .map(|z| z.id.clone())
            .collect();
        for id in &expired {
            let _ = self.remove_zone(id);
        }
        expired
    }

    /// Records a drone's new state, position, battery and tasking, and keeps
    /// the dispatchable index in step with it.
    pub fn update_drone(
        &mut self,
        id: &DroneId,
        state: DroneState,
        position: LatLon,
        battery_pct: f64,
        task: Option<Tasking>,
    ) -> Result<(), WorldError> {
        let idx = self
            .drone_index(id)
            .ok_or_else(|| WorldError::UnknownDrone(id.clone()))?;
        let d = &mut self.drones[idx];
        d.state = state;
        d.position = position;
        d.battery_pct = battery_pct.clamp(0.0, 100.0);
        d.task = task;
        self.reindex_drone(idx);
        Ok(())
    }

    pub(crate) fn set_task(&mut self, idx: usize, state: DroneState, task: Option<Tasking>) {
        self.drones[idx].state = state;
        self.drones[idx].task = task;
        self.reindex_drone(idx);
    }

    fn reindex_drone(&mut self, idx: usize) {
        let want = is_dispatchable(&self.drones[idx])
            .then(|| self.frame.project(self.drones[idx].position));
        let have = self.dispatchable_key[idx];
        if want == have {
            return;
        }
        let caps = self.drones[idx].capabilities;
        let with: Vec<usize> = (0..Capability::ALL.len())
            .filter(|&c| caps.contains(Capability::ALL[c]))
            .collect();
        if let Some(key) = have {
            self.dispatchable_tree.remove(&PointEntry::new(key, idx));
            for &c in &with {
                self.capability_trees[c].remove(&PointEntry::new(key, idx));
            }
        }
        if let Some(key) = want {
            self.dispatchable_tree.insert(PointEntry::new(key, idx));
            for &c in &with {
                self.capability_trees[c].insert(PointEntry::new(key, idx));
            }
        }
        self.dispatchable_key[idx] = want;
    }

    /// Per capability, the drones in its index, for consistency checks.
    pub fn capability_index_ids(&self) -> Vec<Vec<DroneId>> {
        self.capability_trees
            .iter()
            .map(|t| {
                let mut v: Vec<DroneId> =
                    t.iter().map(|e| self.drones[e.data].id.clone()).collect();
                v.sort();
                v
            })
            .collect()
    }

    /// Drone indices in the dispatchable tree, for consistency checks.
    pub fn dispatchable_ids(&self) -> Vec<DroneId> {
        let mut v: Vec<DroneId> = self
            .dispatchable_tree
            .iter()
            .map(|e| self.drones[e.data].id.clone())
            .collect();
        v.sort();
        v
    }

    fn index_zone(&self, zone: Zone) -> IndexedZone {
        let f = &self.frame;
        let project_ring = |r: &LineString<f64>| {
            LineString::new(r.0.iter().map(|&c| f.project_coord(c)).collect())
        };
        let projected = Polygon::new(
            project_ring(zone.polygon.exterior()),
            zone.polygon.interiors().iter().map(project_ring).collect(),
        );
        let shape = ZoneShape::new(projected);
        let nodes = shape.offset_nodes(self.params.route_margin_m, ARC_STEP_RAD);
        let hull = shape.hull(self.params.route_margin_m, ARC_STEP_RAD);
        IndexedZone {
            zone,
            envelope: shape.envelope(),
            shape,
            nodes,
            hull,
        }
    }
}

impl IndexedZone {
    /// Whether the segment `a`-`b` meets the zone.
    pub(crate) fn crosses(&self, a: [f64; 2], b: [f64; 2]) -> bool {
        self.shape.closer_than(a, b, 1e-9)
    }

    /// Inside or on the boundary.
    pub(crate) fn contains_point(&self, p: [f64; 2]) -> bool {
        self.shape.contains(p)
    }
}

/// In the dispatchable index: idle in a hangar, or on work a life-threatening
/// incident may take it from (the assigner checks priorities).
pub(crate) fn is_dispatchable(d: &Drone) -> bool {
    match (d.state, d.task) {
        (DroneState::Docked | DroneState::Charging, None) => true,
        (DroneState::EnRoute | DroneState::OnScene, Some(t)) => !t.life_threatening,
        _ => false,
    }
}

/// The segment `a`-`b` cut into pieces of at most `max(8 r, 1 km)`, in order
/// from `a`, for R-tree queries that grow each piece by `r`.
pub(crate) fn pieces(a: [f64; 2], b: [f64; 2], r: f64) -> Vec<([f64; 2], [f64; 2])> {
    let len = ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt();
    let n = ((len / (8.0 * r).max(1_000.0)).ceil() as usize).clamp(1, 4096);
    (0..n)
        .map(|k| {
            let (s0, s1) = (k as f64 / n as f64, (k + 1) as f64 / n as f64);
            (
                [a[0] + s0 * (b[0] - a[0]), a[1] + s0 * (b[1] - a[1])],
                [a[0] + s1 * (b[0] - a[0]), a[1] + s1 * (b[1] - a[1])],
            )
        })
        .collect()
}

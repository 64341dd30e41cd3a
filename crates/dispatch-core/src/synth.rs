//! Seeded synthetic worlds for benchmarks, load tests and property tests.
//!
//! The same seed always gives the same world, so a failing property test or a
//! surprising benchmark can be reproduced exactly.

use std::collections::HashMap;

use geo::{Coord, LineString, Polygon};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::model::{
    ActiveWindow, Capability, CapabilitySet, Drone, DroneId, DroneState, Hangar, HangarId,
    IncidentId, IncidentKind, KindPolicy, LatLon, Performance, Tasking, Timestamp, Zone, ZoneId,
    ZoneKind,
};
use crate::world::{PlanningParams, Region, World};

/// The audit the routing property tests use, kept here for its old callers.
pub use crate::audit::audit_route;

/// Shape of a synthetic world.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub seed: u64,
    pub hangars: usize,
    pub drones_per_hangar: usize,
    pub zones: usize,
    /// Side of the square region, degrees.
    pub extent_deg: f64,
    /// Zone radius range, metres.
    pub zone_radius_m: (f64, f64),
    /// Time around which timed zones are placed.
    pub epoch: Timestamp,
}

impl Spec {
    /// The benchmark world of the dispatch-core issue: 10,000 hangars,
    /// 40,000 drones, 2,000 no-go polygons over about 100 km x 100 km.
    pub fn benchmark(epoch: Timestamp) -> Spec {
        Spec {
            seed: 7,
            hangars: 10_000,
            drones_per_hangar: 4,
            zones: 2_000,
            extent_deg: 1.0,
            zone_radius_m: (150.0, 600.0),
            epoch,
        }
    }
}

/// Region used by synthetic worlds of the given extent.
pub fn region(extent_deg: f64) -> Region {
    Region {
        min_lat: 30.0,
        min_lon: 120.0,
        max_lat: 30.0 + extent_deg,
        max_lon: 120.0 + extent_deg,
    }
}

/// Incident policies shared by synthetic worlds.
pub fn policies() -> HashMap<IncidentKind, KindPolicy> {
    use Capability::*;
    let p = |priority, life_threatening, caps: &[Capability], on_scene_s| KindPolicy {
        priority,
        life_threatening,
        capabilities: caps.iter().copied().collect(),
        on_scene_s,
        rescue: life_threatening,
    };
    HashMap::from([
        (IncidentKind::PersonInWater, p(5, true, &[Lifebuoy], 120.0)),
        (
            IncidentKind::SpectatorInDangerZone,
            p(4, true, &[Loudspeaker], 180.0),
        ),
        (
            IncidentKind::TidalSurgeWarning,
            p(4, true, &[Loudspeaker], 300.0),
        ),
        (
            IncidentKind::HighriseFire,
            p(4, true, &[ThermalCamera], 600.0),
        ),
        (
            IncidentKind::ForestFire,
            p(3, true, &[ThermalCamera], 600.0),
        ),
        (
            IncidentKind::MissingPerson,
            p(3, true, &[ThermalCamera], 900.0),
        ),
        (IncidentKind::Patrol, p(1, false, &[Loudspeaker], 600.0)),
    ])
}

/// Generates the parts of a world (hangars, drones, zones).
pub fn parts(spec: &Spec) -> (Vec<Hangar>, Vec<Drone>, Vec<Zone>) {
    let mut rng = SmallRng::seed_from_u64(spec.seed);
    let r = region(spec.extent_deg);
    let point = |rng: &mut SmallRng| {
        LatLon::new(
            rng.random_range(r.min_lat..r.max_lat),
            rng.random_range(r.min_lon..r.max_lon),
        )
    };
    let hangars: Vec<Hangar> = (0..spec.hangars)
        .map(|i| Hangar {
            id: HangarId(format!("h{i}")),
            name: format!("hangar {i}"),
            position: point(&mut rng),
            slots: spec.drones_per_hangar.max(1) as u32,
            charging: true,
            charge_rate_pct_per_min: 2.0,
            launch_delay_s: rng.random_range(10.0..40.0),
        })
        .collect();
    let mut drones = Vec::new();
    for h in &hangars {
        for _ in 0..spec.drones_per_hangar {
            let n = drones.len();
            let mut caps: CapabilitySet = Capability::ALL
                .into_iter()
                .filter(|_| rng.random_bool(0.3))
                .collect();
            if caps.is_empty() {
                caps.insert(Capability::Loudspeaker);
            }
            let roll: f64 = rng.random();
            let (state, task, position) = if roll < 0.80 {
                (DroneState::Docked, None, h.position)
            } else if roll < 0.85 {
                (DroneState::Charging, None, h.position)
            } else if roll < 0.90 {
                (DroneState::Maintenance, None, h.position)
            } else if roll < 0.95 {
                let task = Tasking {
                    incident: IncidentId(1_000_000 + n as u64),
                    kind: IncidentKind::Patrol,
                    priority: 1,
                    life_threatening: false,
                };
                (DroneState::EnRoute, Some(task), point(&mut rng))
            } else {
                (DroneState::Returning, None, point(&mut rng))
            };
            drones.push(Drone {
                id: DroneId(format!("d{n}")),
                name: format!("drone {n}"),
                hangar: h.id.clone(),
                system_id: (n % 250 + 1) as u8,
                link: format!("synthetic-{}", n / 250),
                address: None,
                capabilities: caps,
                performance: Performance::with_defaults(
                    rng.random_range(12.0..20.0),
                    rng.random_range(3.0..7.0),
                    3.0,
                    rng.random_range(25.0..55.0),
                ),
                state,
                battery_pct: rng.random_range(30.0..100.0),
                position,
                task,
            });
        }
    }
    let zones = (0..spec.zones)
        .map(|i| {
            let c = point(&mut rng);
            let radius = rng.random_range(spec.zone_radius_m.0..spec.zone_radius_m.1);
            let polygon = convex_polygon(&mut rng, c, radius);
            let window = if rng.random_bool(0.7) {
                ActiveWindow::PERMANENT
            } else {
                let start = rng.random_range(-3.0..3.0);
                let len = rng.random_range(0.5..4.0);
                ActiveWindow {
                    from: Some(spec.epoch + hours(start)),
                    until: Some(spec.epoch + hours(start + len)),
                }
            };
            let (floor_m, ceiling_m) = if rng.random_bool(0.9) {
                (0.0, 10_000.0)
            } else {
                (100.0, 500.0)
            };
            Zone {
                id: ZoneId(format!("z{i}")),
                name: format!("zone {i}"),
                kind: ZoneKind::Other,
                polygon,
                floor_m,
                ceiling_m,
                window,
                rescue_exempt: rng.random_bool(0.2),
            }
        })
        .collect();
    (hangars, drones, zones)
}

/// Builds a synthetic world.
pub fn world(spec: &Spec) -> World {
    let (hangars, drones, zones) = parts(spec);
    match World::build(
        region(spec.extent_deg),
        PlanningParams::default(),
        policies(),
        hangars,
        drones,
        zones,
    ) {
        Ok(w) => w,
        Err(e) => unreachable!("synthetic worlds have unique ids inside the region: {e}"),
    }
}

/// A random point of the region of `spec`.
pub fn random_point(rng: &mut SmallRng, extent_deg: f64) -> LatLon {
    let r = region(extent_deg);
    LatLon::new(
        rng.random_range(r.min_lat..r.max_lat),
        rng.random_range(r.min_lon..r.max_lon),
    )
}

fn hours(h: f64) -> chrono::TimeDelta {
    chrono::TimeDelta::seconds((h * 3600.0) as i64)
}

/// A convex polygon around `c`: points at sorted random angles on an ellipse.
fn convex_polygon(rng: &mut SmallRng, c: LatLon, radius_m: f64) -> Polygon<f64> {
    let n = rng.random_range(4..9);
    let mut angles: Vec<f64> = (0..n)
        .map(|_| rng.random_range(0.0..std::f64::consts::TAU))
        .collect();
    angles.sort_by(f64::total_cmp);
    angles.dedup_by(|a, b| (*a - *b).abs() < 0.2);
    if angles.len() < 3 {
        angles = vec![0.0, 2.1, 4.2];
    }
    let squash = rng.random_range(0.4..1.0);
    let rot = rng.random_range(0.0..std::f64::consts::PI);
    let m_lat = 111_195.0;
    let m_lon = m_lat * c.lat.to_radians().cos();
    let mut coords: Vec<Coord<f64>> = angles
        .iter()
        .map(|a| {
            let (x, y) = (radius_m * a.cos(), radius_m * squash * a.sin());
            let (xr, yr) = (x * rot.cos() - y * rot.sin(), x * rot.sin() + y * rot.cos());
            Coord {
                x: c.lon + xr / m_lon,
                y: c.lat + yr / m_lat,
            }
        })
        .collect();
    if let Some(&first) = coords.first() {
        coords.push(first);
    }
    Polygon::new(LineString::new(coords), vec![])
}

/// A coastline-like ring of `n` points (metres, centred on 0): a circle of
/// `radius_m` whose radius rises by `depth` (a fraction) over every seven
/// points and drops back, so that most corners turn a little and one in
/// seven is a bay.
pub fn bay_ring(n: usize, radius_m: f64, depth: f64) -> Vec<(f64, f64)> {
    (0..n)
        .map(|i| {
            let a = i as f64 / n as f64 * std::f64::consts::TAU;
            let r = radius_m * (1.0 + depth * ((i % 7) as f64 / 7.0));
            (r * a.cos(), r * a.sin())
        })
        .collect()
}

/// The shapes [`shaped_world`] draws zones from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Convex,
    L,
    /// A U whose slot is a random multiple of the route margin wide.
    U,
    Comb,
    Star,
    /// A square with a square hole.
    Ring,
    /// Two long walls with a gap of 0.5, 1.5, 2.5 or 4 route margins.
    Corridor,
}

impl Shape {
    pub const ALL: [Shape; 7] = [
        Shape::Convex,
        Shape::L,
        Shape::U,
        Shape::Comb,
        Shape::Star,
        Shape::Ring,
        Shape::Corridor,
    ];
}

/// A world of concave zones for routing tests: L, U, comb, star and ring
/// shapes and corridors between walls, some timed around `epoch`, some
/// rescue-exempt, over a `extent_deg` square, with the default route margin.
/// Hangars and drones as in [`parts`].
pub fn shaped_world(seed: u64, zones: usize, extent_deg: f64, epoch: Timestamp) -> World {
    let spec = Spec {
        seed,
        hangars: 12,
        drones_per_hangar: 3,
        zones: 0,
        extent_deg,
        zone_radius_m: (300.0, 1_500.0),
        epoch,
    };
    let (hangars, drones, _) = parts(&spec);
    let params = PlanningParams::default();
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x5eed_2013);
    let mut out = Vec::new();
    while out.len() < zones {
        let shape = Shape::ALL[rng.random_range(0..Shape::ALL.len())];
        let c = random_point(&mut rng, extent_deg);
        let size = rng.random_range(spec.zone_radius_m.0..spec.zone_radius_m.1);
        let window = timed_window(&mut rng, epoch);
        let band = band(&mut rng, params.cruise_altitude_m);
        let exempt = rng.random_bool(0.15);
        for polygon in shaped(&mut rng, shape, c, size, params.route_margin_m) {
            let i = out.len();
            out.push(Zone {
                id: ZoneId(format!("z{i}")),
                name: format!("{shape:?} {i}"),
                kind: ZoneKind::Other,
                polygon,
                floor_m: band.0,
                ceiling_m: band.1,
                window,
                rescue_exempt: exempt,
            });
        }
    }
    match World::build(region(extent_deg), params, policies(), hangars, drones, out) {
        Ok(w) => w,
        Err(e) => unreachable!("synthetic worlds have unique ids inside the region: {e}"),
    }
}

/// When a zone of [`shaped_world`] is in force: mostly always; else a
/// window within an hour of `epoch`, or one that opens a few minutes after
/// it (during an outbound flight, the time on scene or the way home of an
/// incident reported at `epoch`), or one that ends a few minutes after it.
fn timed_window(rng: &mut SmallRng, epoch: Timestamp) -> ActiveWindow {
    let minutes = |m: f64| chrono::TimeDelta::seconds((m * 60.0) as i64);
    match rng.random_range(0..8) {
        0..5 => ActiveWindow::PERMANENT,
        5 => {
            let start = rng.random_range(-1.0..1.0);
            let len = rng.random_range(0.2..2.0);
            ActiveWindow {
                from: Some(epoch + hours(start)),
                until: Some(epoch + hours(start + len)),
            }
        }
        6 => ActiveWindow {
            from: Some(epoch + minutes(rng.random_range(0.5..40.0))),
            until: None,
        },
        _ => ActiveWindow {
            from: None,
            until: Some(epoch + minutes(rng.random_range(0.5..30.0))),
        },
    }
}

/// The altitude band of a zone of [`shaped_world`]: mostly from the ground
/// up; sometimes with its floor or its ceiling at the cruise altitude
/// (which it then holds), or its floor just above it (then it does not).
fn band(rng: &mut SmallRng, cruise_m: f64) -> (f64, f64) {
    match rng.random_range(0..10) {
        0 => (cruise_m, 10_000.0),
        1 => (0.0, cruise_m),
        2 => (cruise_m + 1.0, 10_000.0),
        _ => (0.0, 10_000.0),
    }
}

/// A point `offset_m` metres out from a corner of the zone `id` (away from
/// the corner's neighbours' midpoint; negative: into the zone), for
/// casualties and starts at a zone's edge. `pick` chooses the corner.
pub fn by_zone(world: &World, id: &ZoneId, pick: usize, offset_m: f64) -> Option<LatLon> {
    let z = world.zone(id)?;
    let ring = &z.polygon.exterior().0;
    let n = ring.len().checked_sub(1).filter(|&n| n >= 3)?;
    let f = world.frame();
    let xy = |c: &Coord<f64>| f.project(LatLon::new(c.y, c.x));
    let k = pick % n;
    let (prev, here, next) = (xy(&ring[(k + n - 1) % n]), xy(&ring[k]), xy(&ring[k + 1]));
    let mid = [(prev[0] + next[0]) / 2.0, (prev[1] + next[1]) / 2.0];
    let (dx, dy) = (here[0] - mid[0], here[1] - mid[1]);
    let len = (dx * dx + dy * dy).sqrt();
    if len < 1e-6 {
        return None;
    }
    // Out of the zone at a convex corner; at a concave one the other way.
    let inside_mid = geo::Contains::contains(&z.polygon, &{
        let m = f.unproject(mid);
        Coord { x: m.lon, y: m.lat }
    });
    let s = if inside_mid { offset_m } else { -offset_m } / len;
    let p = f.unproject([here[0] + s * dx, here[1] + s * dy]);
    world.region().contains(p).then_some(p)
}

/// A ring of points in metres.
type Ring = Vec<(f64, f64)>;

/// The polygons of one shape around `c` (two for a corridor), `size` metres
/// across, turned by a random angle.
pub fn shaped(
    rng: &mut SmallRng,
    shape: Shape,
    c: LatLon,
    size: f64,
    margin: f64,
) -> Vec<Polygon<f64>> {
    let s = size;
    let rings: Vec<(Ring, Option<Ring>)> = match shape {
        Shape::Convex => return vec![convex_polygon(rng, c, size)],
        Shape::L => {
            let t = s * rng.random_range(0.2..0.45);
            vec![(
                vec![(0.0, 0.0), (s, 0.0), (s, t), (t, t), (t, s), (0.0, s)],
                None,
            )]
        }
        Shape::U => {
            let gap = margin * [0.5, 1.5, 2.5, 4.0][rng.random_range(0..4)];
            let t = s * 0.3;
            let (x0, x1) = (t, t + gap);
            let w = x1 + t;
            vec![(
                vec![
                    (0.0, 0.0),
                    (w, 0.0),
                    (w, s),
                    (x1, s),
                    (x1, t),
                    (x0, t),
                    (x0, s),
                    (0.0, s),
                ],
                None,
            )]
        }
        Shape::Comb => {
            let teeth = rng.random_range(3..6);
            let pitch = s / f64::from(teeth);
            let tooth = pitch * rng.random_range(0.3..0.7);
            let mut pts = vec![(0.0, 0.0), (s, 0.0)];
            for k in (0..teeth).rev() {
                let x = f64::from(k) * pitch;
                pts.extend([(x + tooth, s * 0.3), (x + tooth, s), (x, s)]);
                if k > 0 {
                    pts.push((x, s * 0.3));
                }
            }
            vec![(pts, None)]
        }
        Shape::Star => {
            let tips = rng.random_range(5..9);
            let inner = rng.random_range(0.25..0.5);
            let pts = (0..2 * tips)
                .map(|k| {
                    let a = f64::from(k) * std::f64::consts::PI / f64::from(tips);
                    let r = if k % 2 == 0 { s / 2.0 } else { s / 2.0 * inner };
                    (s / 2.0 + r * a.cos(), s / 2.0 + r * a.sin())
                })
                .collect();
            vec![(pts, None)]
        }
        Shape::Ring => {
            let t = s * rng.random_range(0.15..0.3);
            vec![(
                vec![(0.0, 0.0), (s, 0.0), (s, s), (0.0, s)],
                Some(vec![(t, t), (s - t, t), (s - t, s - t), (t, s - t)]),
            )]
        }
        Shape::Corridor => {
            let gap = margin * [0.5, 1.5, 2.5, 4.0][rng.random_range(0..4)];
            let t = s * 0.25;
            vec![
                (vec![(0.0, 0.0), (s, 0.0), (s, t), (0.0, t)], None),
                (
                    vec![
                        (0.0, t + gap),
                        (s, t + gap),
                        (s, 2.0 * t + gap),
                        (0.0, 2.0 * t + gap),
                    ],
                    None,
                ),
            ]
        }
    };
    let rot = rng.random_range(0.0..std::f64::consts::TAU);
    let m_lat = 111_195.0;
    let m_lon = m_lat * c.lat.to_radians().cos();
    let to_ring = |pts: &[(f64, f64)]| {
        let mut coords: Vec<Coord<f64>> = pts
            .iter()
            .map(|&(x, y)| {
                let (x, y) = (x - s / 2.0, y - s / 2.0);
                let (xr, yr) = (x * rot.cos() - y * rot.sin(), x * rot.sin() + y * rot.cos());
                Coord {
                    x: c.lon + xr / m_lon,
                    y: c.lat + yr / m_lat,
                }
            })
            .collect();
        coords.push(coords[0]);
        LineString::new(coords)
    };
    rings
        .iter()
        .map(|(outer, hole)| {
            Polygon::new(to_ring(outer), hole.iter().map(|h| to_ring(h)).collect())
        })
        .collect()
}

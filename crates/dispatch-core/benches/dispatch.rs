//! Benchmarks on the synthetic world of 10,000 hangars, 40,000 drones and
//! 2,000 no-go polygons (`synth::Spec::benchmark`).
//!
//! Run: `cargo bench -p dispatch-core --bench dispatch`

use std::hint::black_box;

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use dispatch_core::assign::{nearest_capable, nearest_capable_scan};
use dispatch_core::synth::{self, Spec};
use dispatch_core::{
    Capability, CapabilitySet, IncidentKind, LatLon, Need, RouteRequest, World, assign, plan_route,
};
use rand::SeedableRng;
use rand::rngs::SmallRng;

fn epoch() -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default()
}

fn targets(n: usize, extent: f64) -> Vec<LatLon> {
    let mut rng = SmallRng::seed_from_u64(99);
    (0..n)
        .map(|_| synth::random_point(&mut rng, extent))
        .collect()
}

fn benches(c: &mut Criterion) {
    let spec = Spec::benchmark(epoch());
    let world = synth::world(&spec);
    let pts = targets(1024, spec.extent_deg);
    let lifebuoy: CapabilitySet = [Capability::Lifebuoy].into_iter().collect();

    let mut g = c.benchmark_group("nearest_capable");
    let mut i = 0;
    g.bench_function("rtree", |b| {
        b.iter(|| {
            i = (i + 1) % pts.len();
            black_box(nearest_capable(&world, pts[i], lifebuoy, 50.0))
        })
    });
    let mut i = 0;
    g.bench_function("linear_scan", |b| {
        b.iter(|| {
            i = (i + 1) % pts.len();
            black_box(nearest_capable_scan(&world, pts[i], lifebuoy, 50.0))
        })
    });
    g.finish();

    let policy = synth::policies()[&IncidentKind::PersonInWater];
    let mut g = c.benchmark_group("assign");
    let mut i = 0;
    g.bench_function("person_in_water_full", |b| {
        b.iter(|| {
            i = (i + 1) % pts.len();
            let need = Need::new(&policy, pts[i], epoch());
            black_box(assign(&world, &need).is_ok())
        })
    });
    g.finish();

    // Plan time on the benchmark world: a route between random points.
    let mut g = c.benchmark_group("plan");
    let mut i = 0;
    g.bench_function("benchmark_world", |b| {
        b.iter(|| {
            i = (i + 1) % (pts.len() - 1);
            let req = route_request(pts[i], pts[i + 1]);
            black_box(plan_route(&world, &req).map(|r| r.length_m).ok())
        })
    });
    g.finish();
}

fn route_request(from: LatLon, to: LatLon) -> RouteRequest {
    RouteRequest {
        from,
        to,
        depart: epoch(),
        pre_cruise_s: 30.0,
        speed_mps: 15.0,
        altitude_m: 60.0,
        rescue: true,
    }
}

/// A world holding the zone of [`big_zone`] only.
fn big_zone_world(n: usize) -> World {
    let region = dispatch_core::Region {
        min_lat: 30.0,
        min_lon: 120.0,
        max_lat: 31.0,
        max_lon: 121.0,
    };
    let zones = dispatch_core::config::parse_zones(
        std::path::Path::new("big.geojson"),
        &big_zone(n),
        region,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    World::build(
        region,
        dispatch_core::PlanningParams::default(),
        synth::policies(),
        vec![],
        vec![],
        zones,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A route that must go round a zone of 10,000 and 100,000 vertices (a
/// ring about 11 km across), and one that passes it 1 km off.
fn plan_big_zone(c: &mut Criterion) {
    let mut g = c.benchmark_group("plan");
    g.sample_size(10);
    for n in [10_000usize, 100_000] {
        let world = big_zone_world(n);
        let across = route_request(LatLon::new(30.5, 120.5), LatLon::new(30.51, 120.7));
        g.bench_function(format!("around_zone_{n}"), |b| {
            b.iter(|| black_box(plan_route(&world, &across).map(|r| r.length_m).ok()))
        });
        let past = route_request(LatLon::new(30.57, 120.5), LatLon::new(30.57, 120.7));
        g.bench_function(format!("past_zone_{n}"), |b| {
            b.iter(|| black_box(plan_route(&world, &past).map(|r| r.length_m).ok()))
        });
    }
    g.finish();
}

/// A zones file with one wavy ring of `n` vertices (a coastline-like zone).
fn big_zone(n: usize) -> String {
    let mut pts: Vec<String> = (0..n)
        .map(|i| {
            let a = i as f64 / n as f64 * std::f64::consts::TAU;
            let r = 0.05 * (1.0 + 0.1 * ((i % 7) as f64 / 7.0));
            format!("[{:.7},{:.7}]", 120.6 + r * a.cos(), 30.5 + r * a.sin())
        })
        .collect();
    pts.push(pts[0].clone());
    format!(
        r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"id":"big","name":"Big","kind":"other"}},"geometry":{{"type":"Polygon","coordinates":[[{}]]}}}}]}}"#,
        pts.join(",")
    )
}

/// Loading and validating one zone of 10,000 and 100,000 vertices.
fn zone_load(c: &mut Criterion) {
    let region = dispatch_core::Region {
        min_lat: 30.0,
        min_lon: 120.0,
        max_lat: 31.0,
        max_lon: 121.0,
    };
    let mut g = c.benchmark_group("zone_load");
    g.sample_size(10);
    for n in [10_000usize, 100_000] {
        let text = big_zone(n);
        g.bench_function(format!("vertices_{n}"), |b| {
            b.iter(|| {
                let z = dispatch_core::config::parse_zones(
                    std::path::Path::new("big.geojson"),
                    black_box(&text),
                    region,
                );
                black_box(z.map(|z| z.len()).unwrap_or(0))
            })
        });
    }
    g.finish();
}

criterion_group!(benches_group, benches, zone_load, plan_big_zone);
criterion_main!(benches_group);

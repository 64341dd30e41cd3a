//! Telemetry ingest (decode + vehicle state update) over a capture recorded
//! from drone-sim (benches/data/haining-telemetry.bin: HEARTBEAT, SYS_STATUS,
//! ATTITUDE, GLOBAL_POSITION_INT and BATTERY_STATUS of the 15 Haining drones).
//!
//! Run: `cargo bench -p mavlink-link --bench ingest`; `scripts/bench-ingest.sh`
//! runs it beside pymavlink decoding the same capture.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mavlink_link::state::{Fleet, Ingested};

const CAPTURE: &[u8] = include_bytes!("data/haining-telemetry.bin");
const SYSTEMS: [u8; 15] = [11, 12, 13, 21, 22, 31, 32, 41, 42, 51, 52, 61, 62, 71, 81];

fn datagrams() -> Vec<&'static [u8]> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 4 <= CAPTURE.len() {
        let n = u32::from_le_bytes([CAPTURE[i], CAPTURE[i + 1], CAPTURE[i + 2], CAPTURE[i + 3]])
            as usize;
        out.push(&CAPTURE[i + 4..(i + 4 + n).min(CAPTURE.len())]);
        i += 4 + n;
    }
    out
}

fn ingest(c: &mut Criterion) {
    let dgs = datagrams();
    let mut fleet = Fleet::new(SYSTEMS);
    let mut out = Ingested::default();
    // Frames per pass, counted by ingesting once.
    for d in &dgs {
        fleet.ingest(d, 0.0, &mut out);
    }
    let frames = fleet.counters.frames;
    assert_eq!(
        fleet.counters.bad_frames, 0,
        "the capture must decode cleanly"
    );
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(frames));
    g.bench_function("haining_capture", |b| {
        b.iter(|| {
            let mut out = Ingested::default();
            for d in &dgs {
                fleet.ingest(black_box(d), 1.0, &mut out);
            }
            black_box(&out);
        })
    });
    g.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);

//! Telemetry ingest (decode + vehicle state update) over a capture recorded
//! from drone-sim (benches/data/haining-telemetry.bin: HEARTBEAT, SYS_STATUS,
//! ATTITUDE, GLOBAL_POSITION_INT and BATTERY_STATUS of the 15 Haining drones).
//!
//! Run: `cargo bench -p mavlink-link --bench ingest`; `scripts/bench-ingest.sh`
//! runs it beside pymavlink decoding the same capture.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mavlink_link::codec::decode_datagram;
use mavlink_link::mav::MavMessage;
use mavlink_link::mavlink::Message as _;
use mavlink_link::signing::{Keyring, SecretKey, Signer};
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
    // The same capture, every frame signed: verification (SHA-256 per
    // frame, replay check) before the state update. A fresh fleet per pass,
    // so that no frame is a replay of the previous pass.
    let key = SecretKey::new([7; 32]);
    let mut signer = Signer::new(0);
    let signed: Vec<Vec<u8>> = dgs
        .iter()
        .map(|d| {
            decode_datagram(d)
                .into_iter()
                .flatten()
                .flat_map(|f| {
                    signer.sign(
                        &key,
                        &d[f.span.clone()],
                        MavMessage::extra_crc(f.message.message_id()),
                    )
                })
                .collect()
        })
        .collect();
    g.bench_function("haining_capture_signed", |b| {
        b.iter_batched(
            || {
                let mut f = Fleet::new(SYSTEMS);
                f.require_signatures(Keyring::single(key.clone()));
                f
            },
            |mut fleet| {
                let mut out = Ingested::default();
                for d in &signed {
                    fleet.ingest(black_box(d), 1.0, &mut out);
                }
                assert_eq!(fleet.counters.signing_refused.len(), 0);
                black_box(&out);
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);

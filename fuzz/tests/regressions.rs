//! Edge cases and every input that once broke a target
//! (fuzz/regressions/<target>/*) run
//! again on every `cargo test`, and a short fuzzing run of each target.

use std::time::Duration;

#[test]
fn edge_cases_and_inputs_that_once_broke_a_target_pass() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let mut ran = 0;
    for name in fuzz_harness::TARGETS {
        let dir = root.join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut t = fuzz_harness::target(name).unwrap_or_else(|| panic!("target {name}"));
        for e in entries.flatten() {
            let input = std::fs::read(e.path()).unwrap_or_else(|err| panic!("{err}"));
            if let Err(why) = fuzz_harness::run_one(t.as_mut(), &input) {
                panic!("{}: {why}", e.path().display());
            }
            ran += 1;
        }
    }
    assert!(ran > 0, "no regression inputs under {}", root.display());
}

#[test]
fn a_short_run_of_every_target_breaks_nothing() {
    for name in fuzz_harness::TARGETS {
        let mut t = fuzz_harness::target(name).unwrap_or_else(|| panic!("target {name}"));
        let r = fuzz_harness::fuzz(t.as_mut(), Duration::from_secs(60), 300, 99);
        assert!(r.execs > 0, "{name}: nothing ran");
        assert!(
            r.failures.is_empty(),
            "{name}: {:?}",
            r.failures.iter().map(|(_, w)| w).collect::<Vec<_>>()
        );
    }
}

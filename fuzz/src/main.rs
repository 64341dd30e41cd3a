//! `fuzz`: runs the in-tree fuzz targets for a bounded time; see the library docs
//! and docs/testing.md. Exit code 1 when an input broke a target (saved under
//! fuzz/crashes/).

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "fuzz",
    about = "Bounded in-tree fuzzing of the system's input surfaces"
)]
struct Cli {
    /// Targets: link, sim, api, config, or all.
    #[arg(default_value = "all")]
    targets: Vec<String>,
    /// Seconds per target.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// At most this many inputs per target.
    #[arg(long, default_value_t = u64::MAX)]
    max_execs: u64,
    /// Random seed (the same seed and budget give the same inputs).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Panics are caught and reported per input; keep their default message short.
    std::panic::set_hook(Box::new(|_| {}));
    let names: Vec<&str> = if cli.targets.iter().any(|t| t == "all") {
        fuzz_harness::TARGETS.to_vec()
    } else {
        cli.targets.iter().map(String::as_str).collect()
    };
    let mut failed = false;
    for name in names {
        let Some(mut t) = fuzz_harness::target(name) else {
            eprintln!(
                "unknown target `{name}`; targets: {}",
                fuzz_harness::TARGETS.join(", ")
            );
            return ExitCode::from(2);
        };
        let r = fuzz_harness::fuzz(
            t.as_mut(),
            Duration::from_secs_f64(cli.seconds.max(0.0)),
            cli.max_execs,
            cli.seed,
        );
        println!(
            "fuzz {name}: {} inputs in {:.1} s ({:.0}/s), {} distinct outcomes, {} seeds, {} failure(s)",
            r.execs,
            r.seconds,
            r.execs as f64 / r.seconds.max(1e-9),
            r.outcomes,
            r.seeds,
            r.failures.len()
        );
        for (i, (input, why)) in r.failures.iter().enumerate() {
            failed = true;
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crashes");
            let path = dir.join(format!("{name}-{}-{i}.bin", cli.seed));
            let saved = std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(&path, input))
                .map_or_else(
                    |e| format!("not saved: {e}"),
                    |()| path.display().to_string(),
                );
            println!("  FAILED: {why}\n  input ({} bytes): {saved}", input.len());
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

//! `drone-sim` command line; see the library docs and docs/simulator.md.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;
use drone_sim::{Cli, control, fleet, runtime};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = (|| -> Result<()> {
        if !(cli.speedup > 0.0 && cli.speedup <= 1000.0) {
            bail!("--speedup {} is outside (0, 1000]", cli.speedup);
        }
        if !(cli.position_rate > 0.0 && cli.position_rate <= 100.0) {
            bail!(
                "--position-rate {} is outside (0, 100] Hz",
                cli.position_rate
            );
        }
        let vehicles = fleet(&cli)?;
        let faults = cli
            .faults
            .iter()
            .map(|f| control::parse_startup_fault(f).map_err(anyhow::Error::msg))
            .collect::<Result<Vec<_>>>()?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        rt.block_on(runtime::run(&cli, vehicles, faults))
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

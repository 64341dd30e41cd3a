//! Whose clock runs how fast: the vehicles' `time_boot_ms` against the
//! wall, so that a `--speedup` that does not match the simulator's (or a
//! speed-up given for real vehicles) is caught before anything flies. Every
//! scenario-time figure (ETAs, on-scene times, zone windows, the stall
//! watchdog) depends on it.

// The runtime's side: the one place of the fleet that reads a clock and spawns.
#![allow(clippy::disallowed_methods)]

use std::time::Duration;

use mavlink_link::link::LinkHandle;

/// A measured clock rate: vehicle seconds per wall second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockRate {
    pub system_id: u8,
    pub rate: f64,
    /// Vehicle and wall seconds the rate was measured over.
    pub vehicle_s: f64,
    pub wall_s: f64,
}

/// Measures the clock of the first vehicle that reports its boot time, over
/// about `over` of wall time (waiting up to `wait` for one to be heard).
/// None when no vehicle reported a position with a boot time.
pub async fn measure(
    link: &LinkHandle,
    system_ids: &[u8],
    wait: Duration,
    over: Duration,
) -> Option<ClockRate> {
    let first = |link: &LinkHandle| {
        system_ids.iter().find_map(|&id| {
            link.vehicle(id)
                .filter(|v| v.time_boot_ms > 0)
                .map(|v| (id, v.time_boot_ms, v.time_boot_at))
        })
    };
    let deadline = tokio::time::Instant::now() + wait;
    let (id, ms0, at0) = loop {
        if let Some(x) = first(link) {
            break x;
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(over).await;
    let v = link.vehicle(id)?;
    let wall_s = v.time_boot_at - at0;
    let vehicle_s = f64::from(v.time_boot_ms.wrapping_sub(ms0)) / 1000.0;
    (wall_s > 0.5 * over.as_secs_f64()).then_some(ClockRate {
        system_id: id,
        rate: vehicle_s / wall_s,
        vehicle_s,
        wall_s,
    })
}

/// Whether `speedup` matches a measured rate. Off by more than 2x (a
/// speed-up meant for another run, or one given for real vehicles) is an
/// error; off by more than 20 % is a warning (a simulator that cannot keep
/// up on a loaded machine runs slower than asked): `Ok(Some(warning))`.
pub fn check(speedup: f64, m: &ClockRate) -> Result<Option<String>, String> {
    let ratio = m.rate / speedup;
    let what = format!(
        "the vehicles' clock runs at {:.1}x wall time (system {}: time_boot_ms advanced {:.1} s in {:.1} s) but --speedup is {speedup}",
        m.rate, m.system_id, m.vehicle_s, m.wall_s
    );
    if !(0.5..=2.0).contains(&ratio) {
        return Err(format!(
            "{what}: give the dispatcher the simulator's --speedup (1 for real vehicles)"
        ));
    }
    Ok((!(0.8..=1.25).contains(&ratio))
        .then(|| format!("{what}: scenario times (ETAs, zone windows) will be off by that much")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matching_speedup_passes_and_a_wrong_one_is_explained() {
        let m = ClockRate {
            system_id: 11,
            rate: 49.2,
            vehicle_s: 98.4,
            wall_s: 2.0,
        };
        assert_eq!(check(50.0, &m), Ok(None));
        let e = check(10.0, &m).expect_err("5x off");
        assert!(e.contains("49.2x") && e.contains("--speedup is 10"), "{e}");
        assert!(check(1.0, &m).is_err());
        // A simulator lagging behind on a busy machine: a warning, not a refusal.
        let w = check(70.0, &m).map(|w| w.unwrap_or_default());
        assert!(w.is_ok_and(|w| w.contains("will be off")));
    }
}

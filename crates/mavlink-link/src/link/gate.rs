//! Permission to transmit, until a deadline on the local monotonic clock.
//!
//! A link given a [`SendGate`] checks it immediately before every frame it
//! writes to its socket (heartbeats, stream-rate requests, commands and
//! their retransmissions, mission and parameter traffic alike) and drops
//! the frame when the gate is shut or its deadline has passed. Whoever
//! holds the right to command (a dispatch server holding its lease) moves
//! the deadline forward; nobody has to close it in time, because the
//! deadline passes by itself: a process frozen past it and then resumed
//! sends nothing, whatever its timers do on waking. [`SendGate::close`] is
//! for good: nothing opens it again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// A shared, cheap to clone send permission (see the module docs).
#[derive(Debug, Clone)]
pub struct SendGate {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    origin: Instant,
    /// Nanoseconds after `origin` until which sending is allowed; 0 while
    /// never opened, [`SHUT`] once closed for good.
    until_ns: AtomicU64,
    /// Frames dropped because the gate was shut.
    refused: AtomicU64,
}

const SHUT: u64 = u64::MAX;

impl SendGate {
    /// A gate that lets nothing through until [`SendGate::open_until`].
    pub fn closed() -> SendGate {
        SendGate {
            inner: Arc::new(Inner {
                origin: Instant::now(),
                until_ns: AtomicU64::new(0),
                refused: AtomicU64::new(0),
            }),
        }
    }

    /// Lets frames through until `until` (earlier or later than before);
    /// no effect once closed for good.
    pub fn open_until(&self, until: Instant) {
        let ns = until
            .checked_duration_since(self.inner.origin)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(SHUT - 1))
            .min(SHUT - 1);
        let _ = self
            .inner
            .until_ns
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                (v != SHUT).then_some(ns)
            });
    }

    /// Shuts the gate for good.
    pub fn close(&self) {
        self.inner.until_ns.store(SHUT, Ordering::Release);
    }

    /// Whether a frame may go out now.
    pub fn is_open(&self) -> bool {
        let until = self.inner.until_ns.load(Ordering::Acquire);
        if until == SHUT || until == 0 {
            return false;
        }
        let now = u64::try_from(self.inner.origin.elapsed().as_nanos()).unwrap_or(SHUT);
        now < until
    }

    /// Whether it was closed for good.
    pub fn is_shut(&self) -> bool {
        self.inner.until_ns.load(Ordering::Acquire) == SHUT
    }

    /// Frames dropped so far because the gate was shut.
    pub fn refused(&self) -> u64 {
        self.inner.refused.load(Ordering::Relaxed)
    }

    pub(super) fn count_refused(&self) {
        self.inner.refused.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_gate_opens_until_its_deadline_and_closing_is_for_good() {
        let g = SendGate::closed();
        assert!(!g.is_open());
        g.open_until(Instant::now() + Duration::from_secs(60));
        assert!(g.is_open());
        g.open_until(Instant::now() - Duration::from_millis(1));
        assert!(!g.is_open(), "a deadline in the past lets nothing through");
        g.open_until(Instant::now() + Duration::from_secs(60));
        g.close();
        assert!(!g.is_open() && g.is_shut());
        g.open_until(Instant::now() + Duration::from_secs(60));
        assert!(!g.is_open(), "nothing opens a closed gate again");
    }
}

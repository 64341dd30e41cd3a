//! The ground receiver's SBS-1 feed (dump1090/readsb BaseStation output,
//! TCP port 30003) as traffic reports for the fleet loop. A thin IO shell
//! around `dispatch_core::airspace::sbs`: connect, read lines, parse, hand
//! reports over; reconnect with a backoff (1 s doubling to 30 s) whenever
//! the feed cannot be reached or drops. Bad lines are counted (and the
//! latest kept for `/api/health`), never fatal; a line longer than
//! [`MAX_LINE`] is one bad line.

// The runtime's side: the one place of the fleet that reads a clock and spawns.
#![allow(clippy::disallowed_methods)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use dispatch_core::airspace::TrafficReport;
use dispatch_core::airspace::sbs::{SbsLine, parse_line};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// A BaseStation line is under 200 bytes; anything this long is garbage.
pub const MAX_LINE: usize = 1024;
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// What the feed delivered, shared with `/api/health`.
#[derive(Debug, Default)]
pub struct SbsStats {
    pub address: String,
    pub connected: AtomicBool,
    /// Connections made (the first and every reconnection).
    pub connects: AtomicU64,
    pub lines: AtomicU64,
    pub reports: AtomicU64,
    /// Well-formed lines that carry nothing for the picture.
    pub ignored: AtomicU64,
    pub bad_lines: AtomicU64,
    /// Reports lost because the fleet loop was behind.
    pub dropped: AtomicU64,
    last_bad: Mutex<Option<String>>,
    last_error: Mutex<Option<String>>,
}

/// A copy of [`SbsStats`] at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct SbsSnapshot {
    pub address: String,
    pub connected: bool,
    pub connects: u64,
    pub lines: u64,
    pub reports: u64,
    pub ignored: u64,
    pub bad_lines: u64,
    pub dropped: u64,
    /// The latest bad line's error.
    pub last_bad: Option<String>,
    /// Why the feed was last lost or could not be reached.
    pub last_error: Option<String>,
}

impl SbsStats {
    pub fn new(address: &str) -> SbsStats {
        SbsStats {
            address: address.to_owned(),
            ..SbsStats::default()
        }
    }

    pub fn snapshot(&self) -> SbsSnapshot {
        let get =
            |m: &Mutex<Option<String>>| m.lock().unwrap_or_else(PoisonError::into_inner).clone();
        SbsSnapshot {
            address: self.address.clone(),
            connected: self.connected.load(Ordering::Relaxed),
            connects: self.connects.load(Ordering::Relaxed),
            lines: self.lines.load(Ordering::Relaxed),
            reports: self.reports.load(Ordering::Relaxed),
            ignored: self.ignored.load(Ordering::Relaxed),
            bad_lines: self.bad_lines.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            last_bad: get(&self.last_bad),
            last_error: get(&self.last_error),
        }
    }

    fn set(m: &Mutex<Option<String>>, v: String) {
        *m.lock().unwrap_or_else(PoisonError::into_inner) = Some(v);
    }

    /// One line of the feed: a report goes to `tx` (never waited for).
    fn line(&self, line: &[u8], tx: &mpsc::Sender<TrafficReport>) {
        self.lines.fetch_add(1, Ordering::Relaxed);
        let parsed = std::str::from_utf8(line)
            .map_err(|_| "not UTF-8 text".to_owned())
            .and_then(|s| parse_line(s).map_err(|e| e.to_string()));
        match parsed {
            Ok(SbsLine::Report(r)) => {
                self.reports.fetch_add(1, Ordering::Relaxed);
                if tx.try_send(r).is_err() {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(SbsLine::Ignored) => {
                self.ignored.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.bad_lines.fetch_add(1, Ordering::Relaxed);
                Self::set(&self.last_bad, e);
            }
        }
    }
}

/// Reads the feed at `address` until `tx` closes, reconnecting as needed.
pub async fn run(address: String, stats: Arc<SbsStats>, tx: mpsc::Sender<TrafficReport>) {
    let mut backoff = BACKOFF_MIN;
    while !tx.is_closed() {
        match TcpStream::connect(&address).await {
            Ok(stream) => {
                stats.connects.fetch_add(1, Ordering::Relaxed);
                stats.connected.store(true, Ordering::Relaxed);
                tracing::info!("SBS feed {address}: connected");
                let before = stats.lines.load(Ordering::Relaxed);
                let why = read(stream, &stats, &tx).await;
                stats.connected.store(false, Ordering::Relaxed);
                tracing::warn!("SBS feed {address}: {why}; reconnecting");
                SbsStats::set(&stats.last_error, why);
                if stats.lines.load(Ordering::Relaxed) > before {
                    backoff = BACKOFF_MIN;
                }
            }
            Err(e) => {
                SbsStats::set(&stats.last_error, format!("cannot connect: {e}"));
                tracing::debug!("SBS feed {address}: cannot connect: {e}");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Reads lines until the connection ends; says why it ended.
async fn read(mut stream: TcpStream, stats: &SbsStats, tx: &mpsc::Sender<TrafficReport>) -> String {
    let mut buf = vec![0u8; 8192];
    let mut pending: Vec<u8> = Vec::with_capacity(MAX_LINE);
    let mut overlong = false;
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) => return "the feed closed the connection".into(),
            Ok(n) => n,
            Err(e) => return format!("read failed: {e}"),
        };
        for &b in &buf[..n] {
            if b == b'\n' {
                if overlong {
                    stats.lines.fetch_add(1, Ordering::Relaxed);
                    stats.bad_lines.fetch_add(1, Ordering::Relaxed);
                    SbsStats::set(
                        &stats.last_bad,
                        format!("a line longer than {MAX_LINE} bytes"),
                    );
                } else {
                    stats.line(&pending, tx);
                }
                pending.clear();
                overlong = false;
            } else if pending.len() >= MAX_LINE {
                overlong = true;
            } else {
                pending.push(b);
            }
        }
        if tx.is_closed() {
            return "the fleet stopped".into();
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    use super::*;

    const POS: &str = "MSG,3,1,1,780A3B,1,2026/09/28,13:00:00.000,2026/09/28,13:00:00.000,,1000,,,30.35,120.45,,,0,0,0,0\r\n";

    #[tokio::test]
    async fn lines_become_reports_bad_ones_are_counted_and_a_dropped_feed_is_reconnected() {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let stats = Arc::new(SbsStats::new(&addr.to_string()));
        let (tx, mut rx) = mpsc::channel(16);
        let client = tokio::spawn(run(addr.to_string(), Arc::clone(&stats), tx));
        // First connection: a report, a bad line, an overlong line, then closed.
        let (mut s, _) = listener.accept().await.unwrap_or_else(|e| panic!("{e}"));
        let long = "x".repeat(MAX_LINE + 10);
        s.write_all(format!("{POS}MSG,3,garbage\n{long}\n").as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let r = rx.recv().await.unwrap_or_else(|| panic!("no report"));
        assert_eq!(r.icao, 0x780A3B);
        drop(s);
        // It comes back by itself.
        let (mut s, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
            .await
            .unwrap_or_else(|_| panic!("no reconnection"))
            .unwrap_or_else(|e| panic!("{e}"));
        s.write_all(POS.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(rx.recv().await.is_some());
        let snap = stats.snapshot();
        assert_eq!(snap.connects, 2);
        assert_eq!(snap.reports, 2);
        assert_eq!(snap.bad_lines, 2, "{snap:?}");
        assert!(snap.last_bad.is_some_and(|e| e.contains("longer than")));
        assert_eq!(
            snap.last_error.as_deref(),
            Some("the feed closed the connection")
        );
        drop(rx);
        client.abort();
    }
}

//! One-click share: a read-only live view of one incident (or one drone)
//! behind a link with an unguessable token, for whoever the dispatcher
//! gives it to, with no login.
//!
//! - `book`: the decisions, sans IO (valid, expired, revoked, PIN tries,
//!   what a view may see), on the wall-clock time it is given.
//! - `secret`: the token (256 bits from the OS's CSPRNG), its SHA-256 (all
//!   that is kept), the PIN's salted hash.
//! - `http`: `POST/GET /api/shares`, `DELETE /api/shares/{id}` (dispatcher),
//!   `GET /api/share/{token}` (the view's state) and the page `/share/{token}`.
//! - `socket`: `/ws/share/{token}`, the hub's output filtered to what the
//!   share may see, closed within a second of a revocation (4403) or the
//!   expiry (4410).
//!
//! Shares are kept as `share` events in the fleet's durable event log
//! (SQLite or PostgreSQL, the same rows as every other event): created,
//! revoked and every opening. [`Shares::recover`] replays them at start.
//! The book changes only from a logged entry ([`Shares::record`]), so what
//! the server answers is what survives a restart.

pub mod book;
pub mod http;
pub mod secret;
pub mod socket;

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use fleet::{FleetHandle, ShareEntry};

use crate::error::ApiError;
use book::{Book, Input, Output};

/// Where the book's time comes from (the wall clock; tests move their own).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The server's shares: the book behind a lock held only for one
/// decision (never across an await), and its clock. Cheap to clone.
#[derive(Clone)]
pub struct Shares {
    book: Arc<Mutex<Book>>,
    clock: Clock,
}

impl std::fmt::Debug for Shares {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shares").finish_non_exhaustive()
    }
}

impl Default for Shares {
    fn default() -> Self {
        Shares::with_clock(Arc::new(Utc::now))
    }
}

impl Shares {
    /// With another clock than the wall clock (tests).
    pub fn with_clock(clock: Clock) -> Shares {
        Shares {
            book: Arc::new(Mutex::new(Book::default())),
            clock,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// One decision of the book, now.
    pub fn handle(&self, input: Input) -> Output {
        let now = self.now();
        self.book
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .handle(now, input)
    }

    /// Reads the book (a listing).
    pub fn read<T>(&self, f: impl FnOnce(&Book, DateTime<Utc>) -> T) -> T {
        let now = self.now();
        f(
            &self.book.lock().unwrap_or_else(PoisonError::into_inner),
            now,
        )
    }

    /// Logs an entry (answered once it is durable), then takes it in.
    pub async fn record(&self, fleet: &FleetHandle, entry: ShareEntry) -> Result<(), ApiError> {
        fleet.record_share(entry.clone()).await?;
        self.handle(Input::Logged(entry));
        Ok(())
    }

    /// Replays the shares of the fleet's event log (none without a log).
    /// Returns how many entries were read.
    pub async fn recover(&self, fleet: &FleetHandle) -> Result<usize, String> {
        let Some(store) = fleet.store() else {
            return Ok(0);
        };
        let rows = tokio::task::spawn_blocking(move || {
            store
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .events_between(
                    &["share"],
                    DateTime::<Utc>::MIN_UTC,
                    DateTime::<Utc>::MAX_UTC,
                )
        })
        .await
        .map_err(|e| format!("reading the shares from the event log failed: {e}"))?
        .map_err(|e| format!("cannot read the shares from the event log: {e}"))?;
        let n = rows.len();
        for row in rows {
            match serde_json::from_value::<fleet::store_row::EventRow>(row.body) {
                Ok(fleet::store_row::EventRow {
                    what: fleet::store_row::RowWhat::Share(entry),
                    ..
                }) => {
                    self.handle(Input::Logged(entry));
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("event {} of the log is no share entry: {e}", row.seq),
            }
        }
        Ok(n)
    }
}

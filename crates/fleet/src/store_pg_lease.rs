//! The dispatch lease: which one of several servers on one database
//! dispatches, with a fencing token.
//!
//! A row of `dispatch_lease` names its holder and until when it holds, by
//! the database's clock (`now()`): the servers' own clocks are never
//! compared. A server takes the lease when it is free or ran out, which
//! makes the token one larger, and renews it well before it runs out. A
//! server that was paused past its lease (a long GC, a frozen VM, a cut
//! network) may still believe it leads: its store's fence
//! ([`crate::store_pg::PostgresStore::set_fence`]) makes its commits fail
//! once another holds a larger token, so it cannot write over the new
//! leader's decisions.
//!
//! Each call is one statement on the lease's own connection (never behind
//! a long commit). Deciding when to renew or step down is the caller's:
//! this is the database side only.

use std::time::Duration;

use crate::store::StoreError;
use crate::store_pg_conn::{PgThread, error};

type Timestamp = chrono::DateTime<chrono::Utc>;

/// A named lease in the database.
#[derive(Debug)]
pub struct Lease {
    conn: PgThread,
    name: String,
}

/// The lease as the database has it now.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaseState {
    /// None once released.
    pub holder: Option<String>,
    pub token: u64,
    pub expires_at: Timestamp,
    pub renewed_at: Timestamp,
    /// Since it was last taken or renewed, by the database's clock.
    pub age: Duration,
    /// Held and not run out, by the database's clock.
    pub live: bool,
}

/// What a store's commits must hold: the lease's name and a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub lease: String,
    pub token: u64,
}

/// The lease the dispatch servers share.
pub const DISPATCH_LEASE: &str = "dispatch";

impl Lease {
    /// Connects to the database at `url` (bringing its schema up to date,
    /// as the store does) for the lease called `name`.
    pub fn connect(url: &str, name: &str) -> Result<Lease, StoreError> {
        let conn = PgThread::connect(url, "dispatch-lease", |_| Ok(()))?;
        conn.call(crate::store_pg_schema::migrate)?;
        Ok(Lease {
            conn,
            name: name.to_owned(),
        })
    }

    /// Takes the lease for `node` for `ttl` if nobody holds it or its
    /// holder's time ran out: the new token, or None while another (or
    /// `node` itself: it renews instead) holds it.
    pub fn try_acquire(&self, node: &str, ttl: Duration) -> Result<Option<u64>, StoreError> {
        let (name, node) = (self.name.clone(), node.to_owned());
        self.conn.call(move |c, url| {
            // Two at once: the second waits for the first's row lock and
            // then sees a live lease.
            let row = c
                .query_opt(
                    "INSERT INTO dispatch_lease (name, holder, token, expires_at, renewed_at)
                     VALUES ($1, $2, 1, now() + make_interval(secs => $3), now())
                     ON CONFLICT (name) DO UPDATE SET
                         holder = excluded.holder,
                         token = dispatch_lease.token + 1,
                         expires_at = excluded.expires_at,
                         renewed_at = excluded.renewed_at
                     WHERE dispatch_lease.holder IS NULL OR dispatch_lease.expires_at <= now()
                     RETURNING token",
                    &[&name, &node, &ttl.as_secs_f64()],
                )
                .map_err(|e| error(url, "taking the lease", &e))?;
            row.map(|r| r.try_get::<_, i64>(0).map(|t| t as u64))
                .transpose()
                .map_err(|e| error(url, "taking the lease", &e))
        })
    }

    /// Extends the lease by `ttl` from now, if `node` still holds it with
    /// `token` and it has not run out; false otherwise (step down).
    pub fn renew(&self, node: &str, token: u64, ttl: Duration) -> Result<bool, StoreError> {
        let (name, node) = (self.name.clone(), node.to_owned());
        self.conn.call(move |c, url| {
            c.execute(
                "UPDATE dispatch_lease
                 SET expires_at = now() + make_interval(secs => $4), renewed_at = now()
                 WHERE name = $1 AND holder = $2 AND token = $3 AND expires_at > now()",
                &[&name, &node, &(token as i64), &ttl.as_secs_f64()],
            )
            .map(|n| n == 1)
            .map_err(|e| error(url, "renewing the lease", &e))
        })
    }

    /// Gives the lease up (a clean stop), so that another takes it at once;
    /// false if `node` no longer held it with `token`.
    pub fn release(&self, node: &str, token: u64) -> Result<bool, StoreError> {
        let (name, node) = (self.name.clone(), node.to_owned());
        self.conn.call(move |c, url| {
            c.execute(
                "UPDATE dispatch_lease SET holder = NULL, expires_at = now()
                 WHERE name = $1 AND holder = $2 AND token = $3",
                &[&name, &node, &(token as i64)],
            )
            .map(|n| n == 1)
            .map_err(|e| error(url, "releasing the lease", &e))
        })
    }

    /// The lease now (None: never taken), for health reports.
    pub fn current(&self) -> Result<Option<LeaseState>, StoreError> {
        let name = self.name.clone();
        self.conn.call(move |c, url| {
            let fail = |e: postgres::Error| error(url, "reading the lease", &e);
            let Some(r) = c
                .query_opt(
                    "SELECT holder, token, expires_at, renewed_at,
                            extract(epoch FROM now() - renewed_at)::float8,
                            holder IS NOT NULL AND expires_at > now()
                     FROM dispatch_lease WHERE name = $1",
                    &[&name],
                )
                .map_err(fail)?
            else {
                return Ok(None);
            };
            let age: f64 = r.try_get(4).map_err(fail)?;
            Ok(Some(LeaseState {
                holder: r.try_get(0).map_err(fail)?,
                token: r.try_get::<_, i64>(1).map_err(fail)? as u64,
                expires_at: r.try_get(2).map_err(fail)?,
                renewed_at: r.try_get(3).map_err(fail)?,
                age: Duration::try_from_secs_f64(age.max(0.0)).unwrap_or_default(),
                live: r.try_get(5).map_err(fail)?,
            }))
        })
    }

    /// The fence for a store that writes under this lease with `token`.
    pub fn fence(&self, token: u64) -> Fence {
        Fence {
            lease: self.name.clone(),
            token,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

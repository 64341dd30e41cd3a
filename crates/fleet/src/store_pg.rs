//! The event log in PostgreSQL: the [`Store`] of the SQLite log, for
//! several dispatch servers sharing one database.
//!
//! The same tables and the same answers as [`crate::store::SqliteStore`]
//! (times kept to the millisecond and clamped to years 1..=9999 as the
//! SQLite log's text does, texts ordered bytewise), one transaction per
//! [`Store::commit`], durable when it returns (`synchronous_commit` is
//! never off for this connection). The schema comes from the migrations
//! ([`crate::store_pg_schema`]).
//!
//! With a fence set ([`PostgresStore::set_fence`]), every commit first
//! locks the dispatch lease's row and checks, in the same transaction,
//! that the lease still carries this server's token and has not run out:
//! a server that was paused and lost its lease writes nothing
//! ([`StoreError::Fenced`]).

use chrono::SubsecRound;
use dispatch_core::{DroneId, IncidentId};
use postgres::Client;
use serde_json::Value;

use crate::store::{
    Batch, IncidentRow, Recovered, Store, StoreError, StoredEvent, TrackPoint, clamp,
};
use crate::store_pg_conn::{PgThread, error};
use crate::store_pg_lease::Fence;

pub use crate::store_pg_schema::SCHEMA_VERSION;

type Timestamp = chrono::DateTime<chrono::Utc>;

/// The log in a PostgreSQL database.
pub struct PostgresStore {
    conn: PgThread,
    /// The URL as given (it may hold a password: never printed), for the
    /// reader's connection.
    url: String,
    fence: Option<Fence>,
}

impl PostgresStore {
    /// Connects to the database at `url` and brings its schema up to date.
    pub fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let conn = PgThread::connect(url, "event-log", writer_session)?;
        conn.call(crate::store_pg_schema::migrate)?;
        Ok(PostgresStore {
            conn,
            url: url.to_owned(),
            fence: None,
        })
    }

    /// A connection that only reads (the session is read-only), to a
    /// database that [`PostgresStore::open`] has set up.
    pub fn open_reader(url: &str) -> Result<PostgresStore, StoreError> {
        Ok(PostgresStore {
            conn: PgThread::connect(url, "event-log-reader", reader_session)?,
            url: url.to_owned(),
            fence: None,
        })
    }

    /// From now on, every commit must hold `fence`'s lease token.
    pub fn set_fence(&mut self, fence: Fence) {
        self.fence = Some(fence);
    }

    /// Commits without a lease again.
    pub fn clear_fence(&mut self) {
        self.fence = None;
    }

    /// The database's URL without its password.
    pub fn url(&self) -> &str {
        self.conn.url()
    }

    fn query<R, F>(&self, what: &'static str, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Client) -> Result<R, Failed> + Send + 'static,
    {
        self.conn
            .call(move |c, url| f(c).map_err(|e| e.store(url, what)))
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.conn.url())
            .field("fence", &self.fence)
            .finish()
    }
}

/// The writer's session: a commit waits for the WAL to be flushed, even
/// where the server's default is `synchronous_commit = off` (a stronger
/// setting, `remote_apply` for one, is left as it is).
///
/// A writer frozen inside a transaction (SIGSTOP, a frozen VM) would hold
/// the lease row's lock that every commit takes, and keep a standby from
/// taking the lease however long its own lease ran out: the session is
/// ended by the database after 2 s idle in a transaction, which rolls the
/// transaction back and frees the lock. A commit never waits that long
/// between its own statements.
fn writer_session(c: &mut Client) -> Result<(), postgres::Error> {
    let row = c.query_one("SELECT current_setting('synchronous_commit')", &[])?;
    let setting: String = row.try_get(0)?;
    if setting == "off" {
        c.batch_execute("SET synchronous_commit = on")?;
    }
    c.batch_execute("SET idle_in_transaction_session_timeout = '2s'")
}

fn reader_session(c: &mut Client) -> Result<(), postgres::Error> {
    c.batch_execute("SET default_transaction_read_only = on")
}

/// What went wrong inside a call, made a [`StoreError`] with the URL.
enum Failed {
    Pg(postgres::Error),
    Json(serde_json::Error),
    Store(StoreError),
}

impl From<postgres::Error> for Failed {
    fn from(e: postgres::Error) -> Self {
        Failed::Pg(e)
    }
}

impl From<serde_json::Error> for Failed {
    fn from(e: serde_json::Error) -> Self {
        Failed::Json(e)
    }
}

impl Failed {
    fn store(self, url: &str, what: &str) -> StoreError {
        match self {
            Failed::Pg(e) => error(url, what, &e),
            Failed::Json(e) => StoreError::Decode(e),
            Failed::Store(e) => e,
        }
    }
}

/// A time as both logs keep it: to the millisecond, within years 1..=9999.
fn at(t: &Timestamp) -> Timestamp {
    clamp(t).trunc_subsecs(3)
}

/// A batch as rows, made on the caller's thread (the connection's thread
/// only runs SQL).
struct Rows {
    events: EventColumns,
    /// id, reported_at, status, record, meta.
    incidents: Vec<(i64, Timestamp, &'static str, Value, Value)>,
    sorties: Vec<(String, Option<Value>)>,
    zones: Vec<Value>,
    track: TrackColumns,
    /// id, JPEG.
    stills: Vec<(String, std::sync::Arc<Vec<u8>>)>,
    next_incident_id: String,
}

/// Events as columns, written with one `unnest`.
#[derive(Default)]
struct EventColumns {
    t: Vec<Timestamp>,
    kind: Vec<&'static str>,
    incident: Vec<Option<i64>>,
    drone: Vec<Option<String>>,
    body: Vec<Value>,
}

/// Track points as columns, written with one `unnest`.
#[derive(Default)]
struct TrackColumns {
    drone: Vec<String>,
    t: Vec<Timestamp>,
    lat: Vec<f64>,
    lon: Vec<f64>,
    alt_m: Vec<f64>,
    incident: Vec<Option<i64>>,
}

impl Rows {
    fn of(batch: &Batch) -> Result<Rows, serde_json::Error> {
        let mut events = EventColumns::default();
        for e in &batch.events {
            let row = crate::store_row::EventRow::from(e);
            let (kind, incident, drone) = row.keys();
            events.t.push(at(&e.t));
            events.kind.push(kind);
            events.incident.push(incident.map(|i| i as i64));
            events.drone.push(drone);
            events.body.push(serde_json::to_value(&row)?);
        }
        let mut incidents = Vec::new();
        for (r, m) in &batch.incidents {
            incidents.push((
                r.incident.id.0 as i64,
                at(&r.incident.reported_at),
                r.incident.status.as_str(),
                serde_json::to_value(r)?,
                serde_json::to_value(m)?,
            ));
        }
        let mut sorties = Vec::new();
        for (drone, s) in &batch.sorties {
            sorties.push((
                drone.0.clone(),
                s.as_ref().map(serde_json::to_value).transpose()?,
            ));
        }
        let zones = batch
            .zones
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()?;
        let mut track = TrackColumns::default();
        for p in &batch.track {
            track.drone.push(p.drone.0.clone());
            track.t.push(at(&p.t));
            track.lat.push(p.lat);
            track.lon.push(p.lon);
            track.alt_m.push(p.alt_m);
            track.incident.push(p.incident.map(|i| i.0 as i64));
        }
        let stills = batch
            .events
            .iter()
            .filter_map(|e| match &e.what {
                crate::events::What::Still(s) if !s.jpeg.is_empty() => {
                    Some((s.still.clone(), std::sync::Arc::clone(&s.jpeg)))
                }
                _ => None,
            })
            .collect();
        Ok(Rows {
            events,
            incidents,
            sorties,
            zones,
            track,
            stills,
            next_incident_id: batch.next_incident_id.to_string(),
        })
    }

    fn write(&self, tx: &mut postgres::Transaction<'_>) -> Result<(), postgres::Error> {
        let e = &self.events;
        if !e.t.is_empty() {
            // Row by row in the batch's order, so that `seq` is that order.
            tx.execute(
                "INSERT INTO events (t, event, incident, drone, body)
                 SELECT t, event, incident, drone, body
                 FROM unnest($1::timestamptz[], $2::text[], $3::bigint[], $4::text[], $5::json[])
                      WITH ORDINALITY AS r(t, event, incident, drone, body, n)
                 ORDER BY n",
                &[&e.t, &e.kind, &e.incident, &e.drone, &e.body],
            )?;
        }
        if !self.incidents.is_empty() {
            let st = tx.prepare(
                "INSERT INTO incidents (id, reported_at, status, record, meta) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status, record = excluded.record, meta = excluded.meta",
            )?;
            for (id, reported, status, record, meta) in &self.incidents {
                tx.execute(&st, &[id, reported, status, record, meta])?;
            }
        }
        for (drone, body) in &self.sorties {
            match body {
                Some(b) => tx.execute(
                    "INSERT INTO sorties (drone, body) VALUES ($1, $2)
                     ON CONFLICT (drone) DO UPDATE SET body = excluded.body",
                    &[drone, b],
                )?,
                None => tx.execute("DELETE FROM sorties WHERE drone = $1", &[drone])?,
            };
        }
        if !self.zones.is_empty() {
            tx.execute(
                "INSERT INTO zone_changes (body)
                 SELECT body FROM unnest($1::json[]) WITH ORDINALITY AS r(body, n) ORDER BY n",
                &[&self.zones],
            )?;
        }
        let p = &self.track;
        if !p.drone.is_empty() {
            tx.execute(
                "INSERT INTO tracks (drone, t, lat, lon, alt_m, incident)
                 SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::float8[], $4::float8[], $5::float8[], $6::bigint[])",
                &[&p.drone, &p.t, &p.lat, &p.lon, &p.alt_m, &p.incident],
            )?;
        }
        for (id, jpeg) in &self.stills {
            tx.execute(
                "INSERT INTO stills (id, jpeg) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                &[id, &**jpeg],
            )?;
        }
        tx.execute(
            "INSERT INTO kv (key, value) VALUES ('next_incident_id', $1)
             ON CONFLICT (key) DO UPDATE SET value = greatest(kv.value::numeric, excluded.value::numeric)::text",
            &[&self.next_incident_id],
        )?;
        Ok(())
    }
}

/// Locks the lease's row (a new holder waits until this commit is done)
/// and checks that it still carries the fence's token and has not run out.
fn check_fence(tx: &mut postgres::Transaction<'_>, fence: &Fence) -> Result<(), Failed> {
    tx.execute(
        "SELECT 1 FROM dispatch_lease WHERE name = $1 FOR SHARE",
        &[&fence.lease],
    )?;
    // Read again under the lock: the row as it is now, by the database's clock.
    let row = tx.query_opt(
        "SELECT token, holder, expires_at > clock_timestamp() FROM dispatch_lease WHERE name = $1",
        &[&fence.lease],
    )?;
    let (current, holder, live) = match row {
        Some(r) => (
            Some(r.try_get::<_, i64>(0)? as u64),
            r.try_get::<_, Option<String>>(1)?,
            r.try_get::<_, bool>(2)?,
        ),
        None => (None, None, false),
    };
    if current == Some(fence.token) && live {
        return Ok(());
    }
    Err(Failed::Store(StoreError::Fenced {
        lease: fence.lease.clone(),
        held: fence.token,
        current,
        holder,
        expired: !live,
    }))
}

fn events(rows: Vec<postgres::Row>) -> Result<Vec<StoredEvent>, Failed> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(StoredEvent {
            seq: r.try_get(0)?,
            t: r.try_get(1)?,
            event: r.try_get(2)?,
            body: r.try_get(3)?,
        });
    }
    Ok(out)
}

fn incident_rows(rows: Vec<postgres::Row>) -> Result<Vec<IncidentRow>, Failed> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(IncidentRow {
            record: serde_json::from_value(r.try_get(0)?)?,
            meta: serde_json::from_value(r.try_get(1)?)?,
        });
    }
    Ok(out)
}

impl Store for PostgresStore {
    fn backend(&self) -> crate::store::Backend {
        crate::store::Backend::Postgres
    }

    /// One round trip; while the connection is down, an answer at once
    /// (see [`crate::store_pg_conn`]).
    fn check(&mut self) -> Result<(), StoreError> {
        self.query("checking the connection", |c| {
            c.batch_execute("SELECT 1")?;
            Ok(())
        })
    }

    fn reader(&self) -> Result<Option<Box<dyn Store>>, StoreError> {
        Ok(Some(Box::new(PostgresStore::open_reader(&self.url)?)))
    }

    fn commit(&mut self, batch: &Batch) -> Result<(), StoreError> {
        let rows = Rows::of(batch)?;
        let fence = self.fence.clone();
        self.query("commit", move |c| {
            let mut tx = c.transaction()?;
            if let Some(f) = &fence {
                check_fence(&mut tx, f)?;
            }
            rows.write(&mut tx)?;
            // Dropped without a commit on any error above: rolled back.
            tx.commit()?;
            Ok(())
        })
    }

    fn recover(&mut self) -> Result<Recovered, StoreError> {
        self.query("recover", |c| {
            // One snapshot for the whole answer.
            let mut tx = c
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let mut out = Recovered::default();
            let rows = tx.query("SELECT record, meta FROM incidents ORDER BY id", &[])?;
            out.incidents = incident_rows(rows)?
                .into_iter()
                .map(|r| (r.record, r.meta))
                .collect();
            for r in tx.query("SELECT body FROM sorties ORDER BY drone COLLATE \"C\"", &[])? {
                out.sorties.push(serde_json::from_value(r.try_get(0)?)?);
            }
            for r in tx.query("SELECT body FROM zone_changes ORDER BY seq", &[])? {
                out.zones.push(serde_json::from_value(r.try_get(0)?)?);
            }
            let next = tx.query_opt("SELECT value FROM kv WHERE key = 'next_incident_id'", &[])?;
            let next: Option<String> = next.map(|r| r.try_get(0)).transpose()?;
            out.next_incident_id = next.and_then(|v| v.parse().ok()).unwrap_or(1);
            out.last_event_at = tx.query_one("SELECT max(t) FROM events", &[])?.try_get(0)?;
            tx.commit()?;
            Ok(out)
        })
    }

    fn incident_events(&self, incident: IncidentId) -> Result<Vec<StoredEvent>, StoreError> {
        self.query("reading an incident's events", move |c| {
            events(c.query(
                "SELECT seq, t, event, body FROM events WHERE incident = $1 ORDER BY seq",
                &[&(incident.0 as i64)],
            )?)
        })
    }

    fn track(
        &self,
        drone: &DroneId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<TrackPoint>, StoreError> {
        let drone = drone.clone();
        self.query("reading a track", move |c| {
            let rows = c.query(
                "SELECT t, lat, lon, alt_m, incident FROM tracks
                 WHERE drone = $1 AND t >= $2 AND t <= $3 ORDER BY t",
                &[&drone.0, &at(&from), &at(&to)],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(TrackPoint {
                    drone: drone.clone(),
                    t: r.try_get(0)?,
                    lat: r.try_get(1)?,
                    lon: r.try_get(2)?,
                    alt_m: r.try_get(3)?,
                    incident: r
                        .try_get::<_, Option<i64>>(4)?
                        .map(|i| IncidentId(i as u64)),
                });
            }
            Ok(out)
        })
    }

    fn incidents_reported(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<IncidentRow>, StoreError> {
        self.query("reading incidents", move |c| {
            incident_rows(c.query(
                "SELECT record, meta FROM incidents
                 WHERE reported_at >= $1 AND reported_at < $2 ORDER BY id",
                &[&at(&from), &at(&to)],
            )?)
        })
    }

    fn events_between(
        &self,
        kinds: &[&str],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let kinds: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
        self.query("reading events", move |c| {
            events(c.query(
                "SELECT seq, t, event, body FROM events
                 WHERE event = ANY($1) AND t >= $2 AND t < $3 ORDER BY seq",
                &[&kinds, &at(&from), &at(&to)],
            )?)
        })
    }

    fn still(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let id = id.to_owned();
        self.query("reading a still", move |c| {
            Ok(
                c.query_opt("SELECT jpeg FROM stills WHERE id = $1", &[&id])?
                    .map(|r| r.try_get(0))
                    .transpose()?,
            )
        })
    }
}

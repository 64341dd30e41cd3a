//! The durable event log: what the fleet service must not forget when it
//! stops or is killed.
//!
//! Behind [`Store`] so that a server database can replace the embedded
//! default, SQLite ([`SqliteStore`]: one file, WAL journal, `synchronous =
//! FULL` so that a commit is on disk, fsynced, when it returns). The
//! server database is PostgreSQL ([`crate::store_pg::PostgresStore`]: the
//! same tables, and a dispatch lease that fences off a server that lost it). The
//! manager writes one [`Batch`] per step of its loop, and before it answers
//! a request that changed something (an incident is durable before the API
//! says `201 Created`).
//!
//! What is kept: every event (incident status changes, drone states,
//! commands and alerts, zone changes), each incident's current record (id,
//! status, assignment, time line, intake metadata), the sorties in flight,
//! zones changed at run time, and each drone's track, downsampled. On start
//! [`Store::recover`] gives back what is needed to carry on: open
//! incidents, sorties, zones and the incident numbering.

use std::path::Path;

use chrono::{DateTime, Utc};
use dispatch_core::{
    ActiveWindow, DroneId, IncidentId, IncidentRecord, LatLon, Zone, ZoneId, ZoneKind,
};
use geo::{Coord, LineString, Polygon};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::events::{FleetEvent, IncidentMeta};

type Timestamp = DateTime<Utc>;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("event log: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("event log: a stored record does not decode: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("event log {path}: {message}")]
    Open { path: String, message: String },
    /// PostgreSQL ([`crate::store_pg`]): what was being done, the database
    /// (its URL without a password) and the server's or the client's answer.
    #[error("event log {url}: {what}: {message}")]
    Postgres {
        url: String,
        what: String,
        message: String,
    },
    /// The database cannot be reached (refused, timed out, the connection
    /// lost, the server shutting down or starting up): nothing of the call
    /// was done, and the same call may work once the database is back.
    #[error("event log {url}: the database is unreachable ({what}): {message}")]
    Unavailable {
        url: String,
        what: String,
        message: String,
    },
    /// A commit under a dispatch lease ([`crate::store_pg_lease`]) that this
    /// server no longer holds: another took it over, or it expired. The
    /// transaction was rolled back; nothing of the batch was written.
    #[error("{}", fenced_message(.lease, *.held, *.current, .holder.as_deref(), *.expired))]
    Fenced {
        lease: String,
        /// The token this server writes with.
        held: u64,
        /// The lease's token now (None: nobody ever took the lease).
        current: Option<u64>,
        holder: Option<String>,
        /// The lease still carries `held` but ran out.
        expired: bool,
    },
}

impl StoreError {
    /// The database is unreachable (as opposed to refusing a write, a
    /// full disk or a record that does not decode).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}

fn fenced_message(
    lease: &str,
    held: u64,
    current: Option<u64>,
    holder: Option<&str>,
    expired: bool,
) -> String {
    let now = match (current, holder) {
        (None, _) => "was never taken".to_owned(),
        (Some(c), _) if c == held && expired => format!("ran out (token {c})"),
        (Some(c), Some(h)) => format!("is now token {c}, held by {h}"),
        (Some(c), None) => format!("is now token {c}, released"),
    };
    format!(
        "fenced: this server writes under lease `{lease}` with token {held}, but the lease {now}; nothing was written"
    )
}

/// A sortie as the log keeps it: enough to follow the drone again after a
/// restart (the mission is rebuilt from the incident's assignment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSortie {
    pub drone: DroneId,
    pub incident: IncidentId,
    pub system_id: u8,
    /// The drone was in the air when the sortie began (no take-off item).
    pub airborne_at_launch: bool,
    pub predicted_eta_s: f64,
    pub on_scene_s: f64,
    pub start_boot_ms: Option<u32>,
    pub payload_confirmed: bool,
}

/// A zone in a form that round-trips (the polygon as rings of lon/lat).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredZone {
    pub id: ZoneId,
    pub name: String,
    pub kind: ZoneKind,
    pub rings: Vec<Vec<[f64; 2]>>,
    pub floor_m: f64,
    pub ceiling_m: f64,
    pub window: ActiveWindow,
    pub rescue_exempt: bool,
}

impl From<&Zone> for StoredZone {
    fn from(z: &Zone) -> Self {
        let ring = |l: &LineString<f64>| l.coords().map(|c| [c.x, c.y]).collect::<Vec<_>>();
        let mut rings = vec![ring(z.polygon.exterior())];
        rings.extend(z.polygon.interiors().iter().map(ring));
        StoredZone {
            id: z.id.clone(),
            name: z.name.clone(),
            kind: z.kind,
            rings,
            floor_m: z.floor_m,
            ceiling_m: z.ceiling_m,
            window: z.window,
            rescue_exempt: z.rescue_exempt,
        }
    }
}

impl From<StoredZone> for Zone {
    fn from(z: StoredZone) -> Self {
        let line = |r: &Vec<[f64; 2]>| {
            LineString::from(
                r.iter()
                    .map(|[x, y]| Coord { x: *x, y: *y })
                    .collect::<Vec<_>>(),
            )
        };
        let mut rings = z.rings.iter();
        let exterior = rings
            .next()
            .map(line)
            .unwrap_or_else(|| LineString::new(vec![]));
        Zone {
            id: z.id,
            name: z.name,
            kind: z.kind,
            polygon: Polygon::new(exterior, rings.map(line).collect()),
            floor_m: z.floor_m,
            ceiling_m: z.ceiling_m,
            window: z.window,
            rescue_exempt: z.rescue_exempt,
        }
    }
}

/// A zone added, changed or removed at run time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum ZoneChange {
    Upsert { zone: StoredZone },
    Remove { id: ZoneId },
}

/// One point of a drone's track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackPoint {
    pub drone: DroneId,
    pub t: Timestamp,
    pub lat: f64,
    pub lon: f64,
    pub alt_m: f64,
    pub incident: Option<IncidentId>,
}

/// What one step of the manager changed.
#[derive(Debug, Default)]
pub struct Batch {
    pub events: Vec<FleetEvent>,
    pub incidents: Vec<(IncidentRecord, IncidentMeta)>,
    /// Sorties begun or updated (Some) and ended (None).
    pub sorties: Vec<(DroneId, Option<StoredSortie>)>,
    pub zones: Vec<ZoneChange>,
    pub track: Vec<TrackPoint>,
    pub next_incident_id: u64,
}

impl Batch {
    /// Adds a later batch to this one (a log that failed keeps one batch
    /// of everything not yet written): the latest record of an incident or
    /// sortie wins, events, zones and tracks keep their order.
    pub fn merge(&mut self, later: Batch) {
        self.events.extend(later.events);
        for (rec, meta) in later.incidents {
            let id = rec.incident.id;
            self.incidents.retain(|(r, _)| r.incident.id != id);
            self.incidents.push((rec, meta));
        }
        for (drone, s) in later.sorties {
            self.sorties.retain(|(d, _)| *d != drone);
            self.sorties.push((drone, s));
        }
        self.zones.extend(later.zones);
        self.track.extend(later.track);
        self.next_incident_id = self.next_incident_id.max(later.next_incident_id);
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.incidents.is_empty()
            && self.sorties.is_empty()
            && self.zones.is_empty()
            && self.track.is_empty()
    }
}

/// What a restart takes back.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Every incident the log knows, oldest first.
    pub incidents: Vec<(IncidentRecord, IncidentMeta)>,
    pub sorties: Vec<StoredSortie>,
    /// Run-time zone changes in the order they were made.
    pub zones: Vec<ZoneChange>,
    pub next_incident_id: u64,
    /// Time of the newest event, to carry the clock on from.
    pub last_event_at: Option<Timestamp>,
}

/// An event as stored: its time, kind and the JSON the websocket sent.
#[derive(Debug, Clone, Serialize)]
pub struct StoredEvent {
    pub seq: i64,
    pub t: Timestamp,
    pub event: String,
    pub body: serde_json::Value,
}

/// An incident with its intake metadata, for reports.
#[derive(Debug, Clone)]
pub struct IncidentRow {
    pub record: IncidentRecord,
    pub meta: IncidentMeta,
}

/// Which database keeps the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// The embedded default, one file ([`SqliteStore`]).
    Sqlite,
    /// A server database shared by several dispatch servers
    /// ([`crate::store_pg::PostgresStore`]).
    Postgres,
}

/// Whether the log takes writes now, for health and for deciding whether a
/// change may be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseState {
    /// The last commit or check worked, and nothing waits to be written.
    Ok,
    /// The database cannot be reached ([`StoreError::Unavailable`]).
    Unreachable,
    /// It answers but refuses the writes (a full disk, an I/O error, a
    /// broken schema).
    Failing,
    /// A commit was refused by the dispatch lease's fence: another server
    /// leads; nothing more is written by this one.
    Fenced,
}

/// The log as the fleet service found it: what `/api/health` says of the
/// database.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseHealth {
    pub backend: Backend,
    pub state: DatabaseState,
    /// Since when (wall clock) the log is in this state.
    pub since: Timestamp,
    /// The last error of a commit or check (kept once it works again).
    pub last_error: Option<String>,
    /// When that error was (wall clock).
    pub last_error_at: Option<Timestamp>,
    /// Events changed in memory and not yet written (the rescue goes on
    /// while the log fails; they are written when it works again).
    pub unsaved_events: usize,
    /// Of those, how many of the oldest were let go to bound memory.
    pub dropped_events: u64,
}

impl DatabaseHealth {
    pub fn new(backend: Backend, now: Timestamp) -> DatabaseHealth {
        DatabaseHealth {
            backend,
            state: DatabaseState::Ok,
            since: now,
            last_error: None,
            last_error_at: None,
            unsaved_events: 0,
            dropped_events: 0,
        }
    }

    /// The state an error puts the log in.
    pub fn state_of(e: &StoreError) -> DatabaseState {
        match e {
            StoreError::Unavailable { .. } => DatabaseState::Unreachable,
            StoreError::Fenced { .. } => DatabaseState::Fenced,
            _ => DatabaseState::Failing,
        }
    }
}

/// The durable log. Writes are atomic per batch and on disk when `commit` returns.
pub trait Store: Send + std::fmt::Debug {
    fn backend(&self) -> Backend;
    fn commit(&mut self, batch: &Batch) -> Result<(), StoreError>;
    /// Whether the log can be written now, as cheaply as it can tell
    /// (PostgreSQL: one round trip; an embedded file: always yes, its
    /// errors come with the commit). Asked before a change is made, so
    /// that a change is refused rather than made and left unwritten.
    fn check(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    /// A second, read-only connection to the same log, for reports and time
    /// lines, so that a long read never holds up the writer (None: this
    /// store has no such thing, readers share the writer).
    fn reader(&self) -> Result<Option<Box<dyn Store>>, StoreError> {
        Ok(None)
    }
    fn recover(&mut self) -> Result<Recovered, StoreError>;
    /// Events that name the incident, oldest first.
    fn incident_events(&self, incident: IncidentId) -> Result<Vec<StoredEvent>, StoreError>;
    /// Track points of a drone in `[from, to]`, oldest first.
    fn track(
        &self,
        drone: &DroneId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<TrackPoint>, StoreError>;
    /// Incidents reported in `[from, to)`.
    fn incidents_reported(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<IncidentRow>, StoreError>;
    /// Events of the given kinds (`alert`, `drone`...) in `[from, to)`, oldest first.
    fn events_between(
        &self,
        kinds: &[&str],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<StoredEvent>, StoreError>;
    /// A still's JPEG by its id (None: no such still).
    fn still(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError>;
}

/// The stills of a batch: (id, JPEG) of each still event that carries one.
pub(crate) fn stills(batch: &Batch) -> impl Iterator<Item = (&str, &[u8])> {
    batch.events.iter().filter_map(|e| match &e.what {
        crate::events::What::Still(s) if !s.jpeg.is_empty() => {
            Some((s.still.as_str(), s.jpeg.as_slice()))
        }
        _ => None,
    })
}

/// The embedded default: one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    /// The file, for a reader's connection (None in memory).
    path: Option<std::path::PathBuf>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    t TEXT NOT NULL,
    event TEXT NOT NULL,
    incident INTEGER,
    drone TEXT,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_incident ON events(incident);
CREATE INDEX IF NOT EXISTS events_t ON events(t);
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY,
    reported_at TEXT NOT NULL,
    status TEXT NOT NULL,
    record TEXT NOT NULL,
    meta TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_reported ON incidents(reported_at);
CREATE TABLE IF NOT EXISTS sorties (
    drone TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS zone_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tracks (
    drone TEXT NOT NULL,
    t TEXT NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    alt_m REAL NOT NULL,
    incident INTEGER
);
CREATE INDEX IF NOT EXISTS tracks_drone_t ON tracks(drone, t);
CREATE TABLE IF NOT EXISTS stills (
    id TEXT PRIMARY KEY,
    jpeg BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

/// Timestamps are stored as RFC 3339 UTC with fixed millisecond digits, so
/// that text order is time order.
/// Times beyond years 1..=9999 (open ends of a query) are clamped, so that
/// they still compare as text.
fn ts(t: &Timestamp) -> String {
    clamp(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A time within years 1..=9999 (the PostgreSQL store clamps the same way).
pub(crate) fn clamp(t: &Timestamp) -> Timestamp {
    const MIN_S: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
    const MAX_S: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let s = t.timestamp().clamp(MIN_S, MAX_S);
    if s == t.timestamp() {
        *t
    } else {
        DateTime::from_timestamp(s, 0).unwrap_or(*t)
    }
}

fn parse_ts(s: &str) -> Result<Timestamp, rusqlite::Error> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
}

impl SqliteStore {
    /// Opens (creating if needed) the log at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                message: format!("cannot create its directory: {e}"),
            })?;
        }
        let conn = Connection::open(path).map_err(|e| StoreError::Open {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let mut store = Self::init(conn).map_err(|e| StoreError::Open {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        store.path = Some(path.to_owned());
        Ok(store)
    }

    /// A read-only connection to the log at `path` (which must exist): with
    /// WAL, it reads committed data while the writer goes on.
    pub fn open_reader(path: &Path) -> Result<SqliteStore, StoreError> {
        let fail = |e: rusqlite::Error| StoreError::Open {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(fail)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(fail)?;
        Ok(SqliteStore {
            conn,
            path: Some(path.to_owned()),
        })
    }

    /// A log in memory (tests).
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        Ok(Self::init(Connection::open_in_memory()?)?)
    }

    fn init(conn: Connection) -> Result<SqliteStore, rusqlite::Error> {
        // WAL: readers do not block the writer; FULL: the WAL is fsynced at
        // every commit, so a committed batch survives a crash or power loss.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        // The row format: a log without one was written in format 1.
        let format: Option<String> = conn
            .query_row("SELECT value FROM kv WHERE key = 'log_format'", [], |r| {
                r.get(0)
            })
            .optional()?;
        match format.as_deref().map(str::parse::<u32>) {
            None => {
                conn.execute(
                    "INSERT INTO kv (key, value) VALUES ('log_format', ?1)",
                    params![crate::store_row::LOG_FORMAT.to_string()],
                )?;
            }
            Some(Ok(v)) if v <= crate::store_row::LOG_FORMAT => {}
            Some(_) => {
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                    Some(format!(
                        "the log's row format is {}, newer than this dispatcher's {}: use a newer dispatcher",
                        format.unwrap_or_default(),
                        crate::store_row::LOG_FORMAT
                    )),
                ));
            }
        }
        Ok(SqliteStore { conn, path: None })
    }

    fn rows_to_events(
        stmt: &mut rusqlite::Statement<'_>,
        params: impl rusqlite::Params,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = stmt.query_map(params, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, t, event, body) = row?;
            out.push(StoredEvent {
                seq,
                t: parse_ts(&t)?,
                event,
                body: serde_json::from_str(&body)?,
            });
        }
        Ok(out)
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn reader(&self) -> Result<Option<Box<dyn Store>>, StoreError> {
        match &self.path {
            Some(p) => Ok(Some(Box::new(SqliteStore::open_reader(p)?))),
            None => Ok(None),
        }
    }

    fn commit(&mut self, batch: &Batch) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut ev = tx.prepare_cached(
                "INSERT INTO events (t, event, incident, drone, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for e in &batch.events {
                let row = crate::store_row::EventRow::from(e);
                let (kind, incident, drone) = row.keys();
                ev.execute(params![
                    ts(&e.t),
                    kind,
                    incident.map(|i| i as i64),
                    drone,
                    serde_json::to_string(&row)?
                ])?;
            }
            let mut inc = tx.prepare_cached(
                "INSERT INTO incidents (id, reported_at, status, record, meta) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(id) DO UPDATE SET status = excluded.status, record = excluded.record, meta = excluded.meta",
            )?;
            for (r, m) in &batch.incidents {
                inc.execute(params![
                    r.incident.id.0 as i64,
                    ts(&r.incident.reported_at),
                    r.incident.status.as_str(),
                    serde_json::to_string(r)?,
                    serde_json::to_string(m)?,
                ])?;
            }
            for (drone, s) in &batch.sorties {
                match s {
                    Some(s) => tx.execute(
                        "INSERT INTO sorties (drone, body) VALUES (?1, ?2)
                         ON CONFLICT(drone) DO UPDATE SET body = excluded.body",
                        params![drone.0, serde_json::to_string(s)?],
                    )?,
                    None => tx.execute("DELETE FROM sorties WHERE drone = ?1", params![drone.0])?,
                };
            }
            for z in &batch.zones {
                tx.execute(
                    "INSERT INTO zone_changes (body) VALUES (?1)",
                    params![serde_json::to_string(z)?],
                )?;
            }
            let mut tr = tx.prepare_cached(
                "INSERT INTO tracks (drone, t, lat, lon, alt_m, incident) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for p in &batch.track {
                tr.execute(params![
                    p.drone.0,
                    ts(&p.t),
                    p.lat,
                    p.lon,
                    p.alt_m,
                    p.incident.map(|i| i.0 as i64)
                ])?;
            }
            let mut st = tx.prepare_cached(
                "INSERT INTO stills (id, jpeg) VALUES (?1, ?2) ON CONFLICT(id) DO NOTHING",
            )?;
            for (id, jpeg) in stills(batch) {
                st.execute(params![id, jpeg])?;
            }
            tx.execute(
                "INSERT INTO kv (key, value) VALUES ('next_incident_id', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
                params![batch.next_incident_id.to_string()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn recover(&mut self) -> Result<Recovered, StoreError> {
        let mut out = Recovered::default();
        let mut stmt = self
            .conn
            .prepare("SELECT record, meta FROM incidents ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (rec, meta) = row?;
            out.incidents
                .push((serde_json::from_str(&rec)?, serde_json::from_str(&meta)?));
        }
        let mut stmt = self
            .conn
            .prepare("SELECT body FROM sorties ORDER BY drone")?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
            out.sorties.push(serde_json::from_str(&row?)?);
        }
        let mut stmt = self
            .conn
            .prepare("SELECT body FROM zone_changes ORDER BY seq")?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
            out.zones.push(serde_json::from_str(&row?)?);
        }
        let next: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM kv WHERE key = 'next_incident_id'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        out.next_incident_id = next.and_then(|v| v.parse().ok()).unwrap_or(1);
        let last: Option<String> = self
            .conn
            .query_row("SELECT max(t) FROM events", [], |r| r.get(0))?;
        out.last_event_at = last.map(|t| parse_ts(&t)).transpose()?;
        Ok(out)
    }

    fn incident_events(&self, incident: IncidentId) -> Result<Vec<StoredEvent>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, t, event, body FROM events WHERE incident = ?1 ORDER BY seq",
        )?;
        Self::rows_to_events(&mut stmt, params![incident.0 as i64])
    }

    fn track(
        &self,
        drone: &DroneId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<TrackPoint>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT t, lat, lon, alt_m, incident FROM tracks WHERE drone = ?1 AND t >= ?2 AND t <= ?3 ORDER BY t",
        )?;
        let rows = stmt.query_map(params![drone.0, ts(&from), ts(&to)], |r| {
            Ok(TrackPoint {
                drone: drone.clone(),
                t: parse_ts(&r.get::<_, String>(0)?)?,
                lat: r.get(1)?,
                lon: r.get(2)?,
                alt_m: r.get(3)?,
                incident: r.get::<_, Option<i64>>(4)?.map(|i| IncidentId(i as u64)),
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn incidents_reported(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<IncidentRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT record, meta FROM incidents WHERE reported_at >= ?1 AND reported_at < ?2 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![ts(&from), ts(&to)], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (rec, meta) = row?;
            out.push(IncidentRow {
                record: serde_json::from_str(&rec)?,
                meta: serde_json::from_str(&meta)?,
            });
        }
        Ok(out)
    }

    fn events_between(
        &self,
        kinds: &[&str],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut out = Vec::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, t, event, body FROM events WHERE event = ?1 AND t >= ?2 AND t < ?3 ORDER BY seq",
        )?;
        for k in kinds {
            out.extend(Self::rows_to_events(
                &mut stmt,
                params![k, ts(&from), ts(&to)],
            )?);
        }
        out.sort_by_key(|e| e.seq);
        Ok(out)
    }

    fn still(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT jpeg FROM stills WHERE id = ?1", params![id], |r| {
                r.get(0)
            })
            .optional()?)
    }
}

/// Position of a track point (for callers that want a [`LatLon`]).
impl TrackPoint {
    pub fn position(&self) -> LatLon {
        LatLon::new(self.lat, self.lon)
    }
}

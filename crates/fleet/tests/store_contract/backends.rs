//! The two logs the contract runs on, and what a test does to them
//! behind the store's back.

use fleet::store::{SqliteStore, Store, StoreError};
use fleet::store_pg::PostgresStore;

use crate::common;

/// One kind of log, opened again as often as a test likes on the same data.
pub(crate) trait Backend {
    fn open(&self) -> Result<Box<dyn Store>, StoreError>;
    /// From now on, writing a track point north of latitude 1000 fails
    /// inside the database (a batch that breaks halfway).
    fn fail_tracks_above_1000(&self);
    /// Says the log was written in row format `v`.
    fn set_log_format(&self, v: u32);
    /// Puts in an incident whose record is JSON of another shape.
    fn insert_bad_incident(&self);
}

pub(crate) struct Sqlite {
    dir: std::path::PathBuf,
}

impl Sqlite {
    pub(crate) fn new() -> Sqlite {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "fleet-contract-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        Sqlite { dir }
    }
    fn path(&self) -> std::path::PathBuf {
        self.dir.join("events.sqlite")
    }
    fn exec(&self, sql: &str) {
        let c = rusqlite::Connection::open(self.path()).unwrap_or_else(|e| panic!("{e}"));
        c.execute_batch(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

impl Drop for Sqlite {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Backend for Sqlite {
    fn open(&self) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(SqliteStore::open(&self.path())?))
    }
    fn fail_tracks_above_1000(&self) {
        self.exec(
            "CREATE TRIGGER boom BEFORE INSERT ON tracks WHEN NEW.lat > 1000
             BEGIN SELECT RAISE(ABORT, 'no such latitude'); END;",
        );
    }
    fn set_log_format(&self, v: u32) {
        self.exec(&format!(
            "UPDATE kv SET value = '{v}' WHERE key = 'log_format'"
        ));
    }
    fn insert_bad_incident(&self) {
        self.exec(
            "INSERT INTO incidents (id, reported_at, status, record, meta)
             VALUES (77, '2026-09-28T05:00:00.000Z', 'queued', '{\"not\":\"a record\"}', '{}')",
        );
    }
}

pub(crate) struct Pg {
    db: common::TestDb,
}

impl Pg {
    pub(crate) fn new() -> Pg {
        Pg {
            db: common::TestDb::new(),
        }
    }
    fn exec(&self, sql: &str) {
        self.db
            .client()
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

impl Backend for Pg {
    fn open(&self) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(PostgresStore::open(&self.db.url)?))
    }
    fn fail_tracks_above_1000(&self) {
        self.exec(
            "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN RAISE EXCEPTION 'no such latitude'; END $$;
             CREATE TRIGGER boom BEFORE INSERT ON tracks
             FOR EACH ROW WHEN (NEW.lat > 1000) EXECUTE FUNCTION boom();",
        );
    }
    fn set_log_format(&self, v: u32) {
        self.exec(&format!(
            "UPDATE kv SET value = '{v}' WHERE key = 'log_format'"
        ));
    }
    fn insert_bad_incident(&self) {
        self.exec(
            "INSERT INTO incidents (id, reported_at, status, record, meta)
             VALUES (77, '2026-09-28T05:00:00Z', 'queued', '{\"not\":\"a record\"}', '{}')",
        );
    }
}

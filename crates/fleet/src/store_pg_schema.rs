//! The PostgreSQL event log's schema: the migrations in
//! `crates/fleet/migrations/postgres/`, applied in order at open.
//!
//! One transaction holds an advisory lock while it reads
//! `schema_migrations`, applies what is missing and records it, so that
//! servers starting together migrate once, one after the other. A database
//! migrated by a newer dispatcher (a version this one does not know) is
//! refused, as is a log whose row format is newer (`kv.log_format`, the
//! SQLite log's rule).

use postgres::Client;

use crate::store::StoreError;
use crate::store_pg_conn::error;

/// The migrations, in order: (version, SQL).
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_event_log.sql")),
    (
        2,
        include_str!("../migrations/postgres/0002_dispatch_lease.sql"),
    ),
    (3, include_str!("../migrations/postgres/0003_stills.sql")),
];

/// The schema version this dispatcher writes.
pub const SCHEMA_VERSION: i32 = 3;

/// The advisory lock held while migrating ("dispatch" in ASCII).
const MIGRATION_LOCK: i64 = 0x6469_7370_6174_6368;

/// Brings the database to [`SCHEMA_VERSION`] (creating the tables in an
/// empty one); returns the versions applied now.
pub(crate) fn migrate(client: &mut Client, url: &str) -> Result<Vec<i32>, StoreError> {
    let fail = |what: &str| {
        let what = what.to_owned();
        move |e: postgres::Error| error(url, &what, &e)
    };
    let mut tx = client.transaction().map_err(fail("migration: begin"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(fail("migration: lock"))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .map_err(fail("migration: schema_migrations"))?;
    let row = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .map_err(fail("migration: reading schema_migrations"))?;
    let current: i32 = row
        .try_get(0)
        .map_err(fail("migration: reading schema_migrations"))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::Postgres {
            url: url.to_owned(),
            what: "schema".into(),
            message: format!(
                "the database's schema is version {current}, newer than this dispatcher's {SCHEMA_VERSION}: use a newer dispatcher"
            ),
        });
    }
    let mut applied = Vec::new();
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let what = format!("migration {version}");
        tx.batch_execute(sql).map_err(fail(&what))?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[version],
        )
        .map_err(fail(&what))?;
        applied.push(*version);
    }
    check_log_format(&mut tx, url)?;
    tx.commit().map_err(fail("migration: commit"))?;
    Ok(applied)
}

/// The row format of `events.body`: recorded in a new log, a newer one refused.
fn check_log_format(tx: &mut postgres::Transaction<'_>, url: &str) -> Result<(), StoreError> {
    let ours = crate::store_row::LOG_FORMAT;
    let row = tx
        .query_opt("SELECT value FROM kv WHERE key = 'log_format'", &[])
        .map_err(|e| error(url, "reading the log format", &e))?;
    let format: Option<String> = row
        .map(|r| r.try_get(0))
        .transpose()
        .map_err(|e| error(url, "reading the log format", &e))?;
    match format.as_deref().map(str::parse::<u32>) {
        None => {
            tx.execute(
                "INSERT INTO kv (key, value) VALUES ('log_format', $1)",
                &[&ours.to_string()],
            )
            .map_err(|e| error(url, "recording the log format", &e))?;
            Ok(())
        }
        Some(Ok(v)) if v <= ours => Ok(()),
        Some(_) => Err(StoreError::Postgres {
            url: url.to_owned(),
            what: "log format".into(),
            message: format!(
                "the log's row format is {}, newer than this dispatcher's {ours}: use a newer dispatcher",
                format.unwrap_or_default()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_migrations_are_numbered_from_one_without_a_gap() {
        let versions: Vec<i32> = MIGRATIONS.iter().map(|(v, _)| *v).collect();
        assert_eq!(versions, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
    }
}

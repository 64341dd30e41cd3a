//! What only the PostgreSQL log has: its migrations, its connection
//! errors, the dispatch lease and the fence on commits. Each test has a
//! fresh database (see `common`).

// Leases run out by the database's clock: the tests wait in real time.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use dispatch_core::{DroneId, IncidentId, IncidentStatus};
use fleet::events::{FleetEvent, What};
use fleet::store::{Batch, Store, StoreError, TrackPoint};
use fleet::store_pg::{PostgresStore, SCHEMA_VERSION};
use fleet::store_pg_lease::{DISPATCH_LEASE, Lease};

fn open(db: &common::TestDb) -> PostgresStore {
    PostgresStore::open(&db.url).unwrap_or_else(|e| panic!("{e}"))
}

fn lease(db: &common::TestDb) -> Lease {
    Lease::connect(&db.url, DISPATCH_LEASE).unwrap_or_else(|e| panic!("{e}"))
}

/// (version, applied_at) as recorded.
fn migrations(db: &common::TestDb) -> Vec<(i32, DateTime<Utc>)> {
    db.client()
        .query(
            "SELECT version, applied_at FROM schema_migrations ORDER BY version",
            &[],
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

fn t0() -> DateTime<Utc> {
    "2026-09-28T05:00:00Z"
        .parse()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A batch that leaves a trace: an event of incident 1 and a track point.
fn batch(note: &str) -> Batch {
    Batch {
        events: vec![FleetEvent {
            t: t0(),
            what: What::Incident {
                incident: IncidentId(1),
                status: IncidentStatus::Queued,
                note: note.into(),
                drone: None,
                eta: None,
            },
        }],
        track: vec![TrackPoint {
            drone: DroneId("yg-1".into()),
            t: t0(),
            lat: 30.3,
            lon: 120.4,
            alt_m: 10.0,
            incident: None,
        }],
        next_incident_id: 2,
        ..Batch::default()
    }
}

fn notes(store: &PostgresStore) -> Vec<String> {
    store
        .incident_events(IncidentId(1))
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|e| e.body["note"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Polls until `f` gives Some (the database's clock decides when a lease
/// runs out), for at most 10 s.
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_empty_database_is_migrated_once_and_reopened_without_migrating() {
    let db = common::TestDb::new();
    drop(open(&db));
    let first = migrations(&db);
    assert_eq!(
        first.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
        (1..=SCHEMA_VERSION).collect::<Vec<_>>()
    );
    drop(open(&db));
    drop(lease(&db));
    assert_eq!(migrations(&db), first);
}

#[test]
fn three_servers_starting_together_migrate_once() {
    let db = common::TestDb::new();
    let url = db.url.clone();
    let opened: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PostgresStore::open(&url).map(drop))
        })
        .collect();
    for t in opened {
        t.join()
            .unwrap_or_else(|_| panic!("a thread panicked"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(migrations(&db).len(), SCHEMA_VERSION as usize);
}

#[test]
fn a_database_of_a_newer_schema_is_refused() {
    let db = common::TestDb::new();
    drop(open(&db));
    db.client()
        .execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&(SCHEMA_VERSION + 1)],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let err = PostgresStore::open(&db.url)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains(&format!(
            "schema is version {}, newer than this dispatcher's {SCHEMA_VERSION}: use a newer dispatcher",
            SCHEMA_VERSION + 1
        )),
        "{err}"
    );
}

#[test]
fn an_unreachable_server_or_a_bad_url_is_an_error_without_the_password() {
    // Port 1: nothing listens there.
    let refused = PostgresStore::open("postgres://disp:hunter2@127.0.0.1:1/dispatch").err();
    assert!(
        refused.as_ref().is_some_and(StoreError::is_unavailable),
        "{refused:?}"
    );
    let err = refused.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        err.starts_with(
            "event log postgres://disp@127.0.0.1:1/dispatch: the database is unreachable (cannot connect): error connecting to server: "
        ) && err.contains("refused"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    let err = PostgresStore::open("postgres://h:notaport/db")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("not a PostgreSQL URL") && err.contains("invalid connection string: "),
        "{err}"
    );
    // A database that is not there.
    let db = common::TestDb::new();
    let missing = db.url.replace(&db.name, "dispatch_test_no_such_db");
    let missing = PostgresStore::open(&missing).err();
    // The server answers: not unreachable, a mistake in the URL.
    assert!(
        matches!(missing, Some(StoreError::Postgres { .. })),
        "{missing:?}"
    );
    let err = missing.map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn a_lost_connection_is_opened_again_and_the_failed_batch_commits_on_retry() {
    let db = common::TestDb::new();
    let mut store = open(&db);
    store
        .commit(&batch("before"))
        .unwrap_or_else(|e| panic!("{e}"));
    // The server ends the store's sessions (a restart, a failover).
    db.client()
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    // The call that finds the connection gone fails, as unreachable (the
    // fleet keeps the batch and retries); the retry connects again at once.
    let retried = batch("after");
    let first = store.commit(&retried);
    if let Err(e) = &first {
        assert!(e.is_unavailable(), "{e:?}");
        store.commit(&retried).unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(notes(&store), vec!["before", "after"]);
}

#[test]
fn two_nodes_one_lease_the_second_takes_over_after_expiry_with_a_larger_token() {
    let db = common::TestDb::new();
    let (a, b) = (lease(&db), lease(&db));
    assert_eq!(a.current().unwrap_or_else(|e| panic!("{e}")), None);
    let ttl = Duration::from_millis(400);
    let ta = a
        .try_acquire("node-a", ttl)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("a free lease is taken"));
    assert_eq!(ta, 1);
    // Held: neither the other node nor the holder itself takes it again.
    assert_eq!(b.try_acquire("node-b", ttl).ok(), Some(None));
    assert_eq!(a.try_acquire("node-a", ttl).ok(), Some(None));
    assert_eq!(a.renew("node-a", ta, ttl).ok(), Some(true));
    let now = b
        .current()
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("a lease"));
    assert_eq!(
        (now.holder.as_deref(), now.token, now.live),
        (Some("node-a"), 1, true)
    );
    assert!(now.expires_at > now.renewed_at && now.age < Duration::from_secs(5));
    // node-a stops renewing: once the lease ran out, node-b has it.
    let tb = eventually("the lease to run out", || {
        b.try_acquire("node-b", Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{e}"))
    });
    assert!(tb > ta, "{tb} > {ta}");
    // The old holder cannot renew or release what it no longer holds.
    assert_eq!(a.renew("node-a", ta, ttl).ok(), Some(false));
    assert_eq!(a.release("node-a", ta).ok(), Some(false));
    assert_eq!(a.try_acquire("node-a", ttl).ok(), Some(None));
    // A clean stop gives it up at once.
    assert_eq!(b.release("node-b", tb).ok(), Some(true));
    let released = a
        .current()
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("a lease"));
    assert_eq!((released.holder, released.live), (None, false));
    let again = a
        .try_acquire("node-a", ttl)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, Some(tb + 1));
}

#[test]
fn nodes_racing_for_a_free_lease_get_it_once() {
    let db = common::TestDb::new();
    let url = db.url.clone();
    let racers: Vec<_> = (0..4)
        .map(|i| {
            let url = url.clone();
            std::thread::spawn(move || {
                let l = Lease::connect(&url, DISPATCH_LEASE)?;
                l.try_acquire(&format!("node-{i}"), Duration::from_secs(30))
            })
        })
        .collect();
    let won: Vec<u64> = racers
        .into_iter()
        .filter_map(|t| {
            t.join()
                .unwrap_or_else(|_| panic!("a thread panicked"))
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    assert_eq!(won, vec![1]);
}

#[test]
fn a_commit_under_a_stale_token_is_fenced_and_writes_nothing() {
    let db = common::TestDb::new();
    let (a, b) = (lease(&db), lease(&db));
    let mut old = open(&db);
    let ta = a
        .try_acquire("node-a", Duration::from_millis(300))
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("a free lease is taken"));
    old.set_fence(a.fence(ta));
    old.commit(&batch("while leading"))
        .unwrap_or_else(|e| panic!("{e}"));
    // node-a is paused past its lease; node-b takes over.
    let tb = eventually("node-b to take over", || {
        b.try_acquire("node-b", Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{e}"))
    });
    match old.commit(&batch("after losing the lease")) {
        Err(StoreError::Fenced {
            lease,
            held,
            current,
            holder,
            expired,
        }) => {
            assert_eq!(
                (lease.as_str(), held, current, holder.as_deref(), expired),
                (DISPATCH_LEASE, ta, Some(tb), Some("node-b"), false)
            );
        }
        other => panic!("expected Fenced, got {other:?}"),
    }
    let msg = old
        .commit(&batch("again"))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.contains(&format!("token {ta}"))
            && msg.contains(&format!("token {tb}, held by node-b")),
        "{msg}"
    );
    // Nothing of the fenced batches: the event, the track point, the numbering.
    assert_eq!(notes(&old), vec!["while leading".to_owned()]);
    let track = old
        .track(&DroneId("yg-1".into()), t0(), t0())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(track.len(), 1);
    // The new leader writes under its token.
    let mut new = open(&db);
    new.set_fence(b.fence(tb));
    new.commit(&batch("the new leader"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(notes(&new), vec!["while leading", "the new leader"]);
}

#[test]
fn a_commit_after_the_lease_ran_out_is_fenced_even_before_a_new_holder() {
    let db = common::TestDb::new();
    let a = lease(&db);
    let mut store = open(&db);
    let ta = a
        .try_acquire("node-a", Duration::from_millis(200))
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("a free lease is taken"));
    store.set_fence(a.fence(ta));
    let err = eventually("the lease to run out", || store.commit(&batch("x")).err());
    assert!(
        matches!(
            err,
            StoreError::Fenced { held, current: Some(c), expired: true, .. } if held == ta && c == ta
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("ran out"), "{err}");
    // A fence on a lease never taken refuses too.
    let mut other = open(&db);
    other.set_fence(fleet::store_pg_lease::Fence {
        lease: "nobody-took-this".into(),
        token: 1,
    });
    let err = other.commit(&batch("y")).err().map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("was never taken")),
        "{err:?}"
    );
    // Without a fence, commits go on.
    other.clear_fence();
    other.commit(&batch("z")).unwrap_or_else(|e| panic!("{e}"));
}

//! A fresh PostgreSQL database per test, dropped at the end even when the
//! test fails. The server is `DISPATCH_TEST_POSTGRES` (default: the local
//! one, `postgres://postgres@127.0.0.1:5432/postgres`); a test never skips
//! when it is not there, it fails and says how to start one.

use std::sync::atomic::{AtomicU32, Ordering};

pub(crate) const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database made for one test.
pub(crate) struct TestDb {
    admin: String,
    pub(crate) name: String,
    /// Its URL.
    pub(crate) url: String,
}

impl TestDb {
    pub(crate) fn new() -> TestDb {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let admin = std::env::var("DISPATCH_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.into());
        // The wall clock only makes a name unlikely to clash with an older run's.
        #[allow(clippy::disallowed_methods)]
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "dispatch_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        admin_client(&admin)
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e:?}"));
        let url = with_dbname(&admin, &name);
        TestDb { admin, name, url }
    }

    /// A connection to the test database, for what the store's API cannot do.
    pub(crate) fn client(&self) -> postgres::Client {
        admin_client(&self.url)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // FORCE: a store the test still holds is disconnected.
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = admin_client(&self.admin).batch_execute(&sql) {
            eprintln!("cannot drop the test database {}: {e:?}", self.name);
        }
    }
}

fn admin_client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable at {url}: {e}\n\
             The store's tests need one. scripts/test.sh starts a private one when none answers;\n\
             or install Debian's `postgresql` (apt-get install postgresql; pg_ctlcluster 15 main start)\n\
             or point DISPATCH_TEST_POSTGRES at a server where this user may create databases\n\
             (postgres://USER@HOST:PORT/postgres)."
        )
    })
}

/// The same server and user, another database.
fn with_dbname(url: &str, name: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return format!("{url} dbname={name}");
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let query = tail
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{scheme}://{authority}/{name}{query}")
}

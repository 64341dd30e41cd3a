//! One PostgreSQL connection on a thread of its own.
//!
//! The store's trait is synchronous and is called from the fleet loop, on
//! a tokio worker thread; the synchronous `postgres` client runs a runtime
//! of its own and panics inside another one. So each connection lives on a
//! plain thread that owns the client, and a call sends it a closure over a
//! channel and waits for the answer.
//!
//! A lost connection (the server restarted, crashed, or is cut off) is
//! opened again at the next call, once, with a short timeout: a server that
//! restarted answers again at once. If that fails too, the connection is
//! *down*: a thread of its own tries to connect once a second, and every
//! call meanwhile fails at once with [`StoreError::Unavailable`], so that
//! the fleet loop calling it is never held up by a database that does not
//! answer. The first call after the reconnecting thread got through uses
//! its connection.

use std::sync::mpsc;
use std::time::Duration;

use postgres::{Client, NoTls};

use crate::store::StoreError;

/// A handle on the connection's thread; dropping it ends the thread and
/// closes the connection.
pub(crate) struct PgThread {
    jobs: mpsc::Sender<Job>,
    /// The URL without its password, for messages.
    url: String,
}

/// What runs after every (re)connect: settings of the session.
pub(crate) type Setup = fn(&mut Client) -> Result<(), postgres::Error>;

type Job = Box<dyn FnOnce(&mut Conn) + Send>;

/// The thread's side: the client, opened again when it was lost.
struct Conn {
    config: postgres::Config,
    url: String,
    setup: Setup,
    client: Option<Client>,
    /// While the connection is down: the thread connecting again.
    reconnect: Option<Reconnect>,
}

/// A thread that tries to connect once a second until it gets through:
/// it sends each failure's message, then the connection.
struct Reconnect {
    attempts: mpsc::Receiver<Result<Client, String>>,
    /// Why the last attempt failed.
    last: String,
}

/// How long a connect may take when the URL says nothing
/// (`connect_timeout`): an unreachable host is an error, not a hang.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the one attempt at once after a lost connection may take
/// (the caller waits for it), at most.
const QUICK_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How often a down connection is tried again.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

/// How long sent data may stay unacknowledged before the connection
/// counts as lost, when the URL says nothing (`tcp_user_timeout`): a
/// database cut off in the middle of a commit fails the commit instead of
/// holding it for the kernel's retransmission time (about 15 minutes).
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(10);

impl PgThread {
    /// Connects to `url` (a `postgres://` URL or `key=value` settings) on a
    /// new thread named `name`, and runs `setup` on the session.
    pub(crate) fn connect(url: &str, name: &str, setup: Setup) -> Result<PgThread, StoreError> {
        let shown = redact(url);
        let mut config: postgres::Config = url.parse().map_err(|e| StoreError::Postgres {
            url: shown.clone(),
            what: "not a PostgreSQL URL (postgres://USER@HOST:PORT/DATABASE)".into(),
            message: with_causes(&e),
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(TCP_USER_TIMEOUT);
        }
        let mut conn = Conn {
            config,
            url: shown.clone(),
            setup,
            client: None,
            reconnect: None,
        };
        let (jobs, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let first = conn.open(None).map(|c| conn.client = Some(c));
                let ok = first.is_ok();
                let _ = ready_tx.send(first);
                if ok {
                    while let Ok(job) = rx.recv() {
                        job(&mut conn);
                    }
                }
            })
            .map_err(|e| StoreError::Postgres {
                url: shown.clone(),
                what: "cannot start the connection's thread".into(),
                message: e.to_string(),
            })?;
        let thread = PgThread { jobs, url: shown };
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(thread),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(thread.stopped()),
        }
    }

    /// Runs `f` on the connection and waits for its answer.
    pub(crate) fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Client, &str) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |conn: &mut Conn| {
            let url = conn.url.clone();
            let r = conn.client().and_then(|c| f(c, &url));
            // Lost during the call (or the server said it is going away,
            // before the client noticed the socket close): the next call
            // connects again.
            let lost = matches!(&r, Err(e) if e.is_unavailable());
            if lost || conn.client.as_ref().is_some_and(Client::is_closed) {
                conn.client = None;
            }
            let _ = tx.send(r);
        });
        self.jobs.send(job).map_err(|_| self.stopped())?;
        rx.recv().map_err(|_| self.stopped())?
    }

    /// The URL without its password.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    fn stopped(&self) -> StoreError {
        StoreError::Postgres {
            url: self.url.clone(),
            what: "the connection's thread has stopped".into(),
            message: "no answer".into(),
        }
    }
}

impl std::fmt::Debug for PgThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgThread").field("url", &self.url).finish()
    }
}

impl Conn {
    /// The connection, opened again if it was lost (see the module docs).
    fn client(&mut self) -> Result<&mut Client, StoreError> {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
        }
        if self.client.is_none() {
            let c = match &mut self.reconnect {
                None => match self.open(Some(QUICK_CONNECT_TIMEOUT)) {
                    Ok(c) => c,
                    Err(e) => {
                        self.start_reconnecting(e.to_string());
                        return Err(e);
                    }
                },
                Some(r) => {
                    let mut got = None;
                    let gone = loop {
                        match r.attempts.try_recv() {
                            Ok(Ok(c)) => got = Some(c),
                            Ok(Err(why)) => r.last = why,
                            Err(mpsc::TryRecvError::Empty) => break false,
                            Err(mpsc::TryRecvError::Disconnected) => break true,
                        }
                    };
                    match got {
                        Some(c) => c,
                        None => {
                            let e = StoreError::Unavailable {
                                url: self.url.clone(),
                                what: "connecting again once a second".into(),
                                message: r.last.clone(),
                            };
                            if gone {
                                // Its thread is gone: the next call tries at once.
                                self.reconnect = None;
                            }
                            return Err(e);
                        }
                    }
                }
            };
            self.reconnect = None;
            self.client = Some(c);
        }
        self.client.as_mut().ok_or_else(|| StoreError::Unavailable {
            url: self.url.clone(),
            what: "cannot connect".into(),
            message: "no connection".into(),
        })
    }

    /// Connects and sets the session up, within `timeout` if given (else
    /// the configuration's).
    fn open(&self, timeout: Option<Duration>) -> Result<Client, StoreError> {
        let mut config = self.config.clone();
        if let Some(t) = timeout
            && config.get_connect_timeout().is_none_or(|c| *c > t)
        {
            config.connect_timeout(t);
        }
        connect(&config, &self.url, self.setup)
    }

    /// A thread that connects once a second until it gets through; it
    /// ends when this side is gone.
    fn start_reconnecting(&mut self, why: String) {
        let (tx, attempts) = mpsc::channel();
        let (config, url, setup) = (self.config.clone(), self.url.clone(), self.setup);
        let spawned = std::thread::Builder::new()
            .name("pg-reconnect".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(RECONNECT_EVERY);
                    let attempt = connect(&config, &url, setup).map_err(|e| e.to_string());
                    let done = attempt.is_ok();
                    if tx.send(attempt).is_err() || done {
                        return;
                    }
                }
            });
        if let Err(e) = spawned {
            // No thread: the next call tries at once again, as before.
            tracing::error!(
                "{url}: cannot start a thread to reconnect: {e}",
                url = self.url
            );
            return;
        }
        self.reconnect = Some(Reconnect {
            attempts,
            last: why,
        });
    }
}

fn connect(config: &postgres::Config, url: &str, setup: Setup) -> Result<Client, StoreError> {
    let mut c = config
        .connect(NoTls)
        .map_err(|e| error(url, "cannot connect", &e))?;
    setup(&mut c).map_err(|e| error(url, "cannot set up the session", &e))?;
    Ok(c)
}

/// A PostgreSQL error as a store error: what was being done, and the
/// server's message with its detail and hint where it gave them.
/// An error that says the database cannot be reached ([`unreachable`])
/// is [`StoreError::Unavailable`].
pub(crate) fn error(url: &str, what: &str, e: &postgres::Error) -> StoreError {
    let message = match e.as_db_error() {
        Some(db) => {
            let mut m = format!("{}: {}", db.severity(), db.message());
            if let Some(d) = db.detail() {
                m.push_str(&format!(" ({d})"));
            }
            if let Some(h) = db.hint() {
                m.push_str(&format!("; hint: {h}"));
            }
            m
        }
        None => with_causes(e),
    };
    let (url, what) = (url.to_owned(), what.to_owned());
    if unreachable(e) {
        StoreError::Unavailable { url, what, message }
    } else {
        StoreError::Postgres { url, what, message }
    }
}

/// The database cannot be reached or is not taking connections: the
/// connection is closed or failed at the socket (refused, reset, timed
/// out), or the server says so (SQLSTATE class 08, connection exception;
/// 57P01 to 57P03: shutting down, crashed, starting up).
fn unreachable(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        let c = code.code();
        return c.starts_with("08") || matches!(c, "57P01" | "57P02" | "57P03");
    }
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        if c.is::<std::io::Error>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// The client's error and what caused it ("error connecting to server:
/// Connection refused (os error 111)"): its own text names only the kind.
fn with_causes(e: &postgres::Error) -> String {
    let mut out = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        out.push_str(&format!(": {c}"));
        cause = c.source();
    }
    out
}

/// A connection URL fit to print: the password of a `postgres://` URL
/// (user info or `password=` parameter) or of `key=value` settings left out.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        let mut out = Vec::new();
        let mut in_quoted_password = false;
        for word in url.split_whitespace() {
            if in_quoted_password {
                in_quoted_password = !word.ends_with('\'');
                continue;
            }
            if let Some(v) = word.strip_prefix("password=") {
                in_quoted_password = v.starts_with('\'') && (v.len() == 1 || !v.ends_with('\''));
                continue;
            }
            out.push(word);
        }
        return out.join(" ");
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            format!("{user}@{host}")
        }
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|p| !p.starts_with("password="))
                .collect();
            if kept.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn a_printed_url_has_no_password() {
        for (url, shown) in [
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "postgres://postgres@127.0.0.1:5432/postgres",
            ),
            (
                "postgres://disp:s3cr:et@db.example:5432/dispatch",
                "postgres://disp@db.example:5432/dispatch",
            ),
            ("postgresql://u:p@h", "postgresql://u@h"),
            ("postgres://h/db?password=x", "postgres://h/db"),
            (
                "postgres://h/db?sslmode=disable&password=x&application_name=d",
                "postgres://h/db?sslmode=disable&application_name=d",
            ),
            (
                "host=127.0.0.1 user=disp password=hunter2 dbname=dispatch",
                "host=127.0.0.1 user=disp dbname=dispatch",
            ),
            ("host=h password='two words' dbname=d", "host=h dbname=d"),
            ("host=h password='one' dbname=d", "host=h dbname=d"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
    }
}

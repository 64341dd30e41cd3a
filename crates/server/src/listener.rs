//! Where the server listens: plain HTTP on a TCP listener, or HTTPS over
//! it with a [`TlsConfig`]. Both are served by `axum::serve` with the same
//! graceful shutdown, so the single server and a cluster node (which
//! switches its router on the same listener) behave alike over either.
//!
//! A TLS handshake runs as a task of its own with a time limit, so a slow
//! or silent client never holds up the others' accepts, and at most
//! [`MAX_HANDSHAKES`] are under way at once (the accept waits beyond).
//! A client that does not speak TLS (plain HTTP to the HTTPS port) fails
//! its handshake and is dropped: nothing of the API answers it.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::tls::TlsConfig;

/// TLS handshakes under way at once, at most.
pub const MAX_HANDSHAKES: usize = 256;

/// How long a client has to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A listener for [`crate::serve`] and [`crate::standby::serve`]. A bare
/// `tokio::net::TcpListener` converts into a plain one.
#[derive(Debug)]
pub enum Listener {
    Plain(TcpListener),
    Tls(TlsListener),
}

/// HTTPS: accepts TCP connections and hands on those whose handshake
/// succeeded.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: JoinSet<Handshake>,
}

impl Listener {
    /// `tcp`, over TLS when `tls` is given.
    pub fn new(tcp: TcpListener, tls: Option<&TlsConfig>) -> Listener {
        match tls {
            Some(t) => Listener::Tls(TlsListener {
                tcp,
                acceptor: TlsAcceptor::from(t.server.clone()),
                handshakes: JoinSet::new(),
            }),
            None => Listener::Plain(tcp),
        }
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match self {
            Listener::Plain(l) => l.local_addr(),
            Listener::Tls(l) => l.tcp.local_addr(),
        }
    }

    /// `https` over TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        match self {
            Listener::Plain(_) => "http",
            Listener::Tls(_) => "https",
        }
    }

    /// The server's root URL, `http://127.0.0.1:8080/` or `https://...`.
    pub fn url(&self) -> std::io::Result<String> {
        Ok(format!("{}://{}/", self.scheme(), self.local_addr()?))
    }
}

impl From<TcpListener> for Listener {
    fn from(tcp: TcpListener) -> Listener {
        Listener::Plain(tcp)
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets open
/// requests finish.
pub(crate) async fn serve(
    listener: Listener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match listener {
        // The peer's address (`ConnectInfo`) for the log of a share's openings.
        Listener::Plain(l) => {
            axum::serve(l, router.into_make_service_with_connect_info::<Peer>())
                .with_graceful_shutdown(shutdown)
                .await
        }
        Listener::Tls(l) => {
            axum::serve(l, router.into_make_service_with_connect_info::<Peer>())
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
}

/// The peer's address of a connection, plain or TLS (`ConnectInfo<Peer>`
/// in a handler; absent when a request did not come over a socket, e.g.
/// forwarded by another server or in a test's `oneshot`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TcpListener>> for Peer {
    fn connect_info(s: axum::serve::IncomingStream<'_, TcpListener>) -> Peer {
        Peer(*s.remote_addr())
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(s: axum::serve::IncomingStream<'_, TlsListener>) -> Peer {
        Peer(*s.remote_addr())
    }
}

/// A finished handshake task: the stream, or why not, and who it was.
type Handshake = (
    Result<std::io::Result<TlsStream<TcpStream>>, tokio::time::error::Elapsed>,
    SocketAddr,
);

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("tcp", &self.tcp)
            .field("handshakes", &self.handshakes.len())
            .finish_non_exhaustive()
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    /// Cancel-safe (graceful shutdown drops it mid-way): a TCP accept and
    /// a `join_next` are, and a handshake started stays in the set.
    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            tokio::select! {
                r = self.tcp.accept(), if self.handshakes.len() < MAX_HANDSHAKES => match r {
                    Ok((tcp, peer)) => {
                        let acceptor = self.acceptor.clone();
                        self.handshakes.spawn(async move {
                            (tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await, peer)
                        });
                    }
                    Err(e) => accept_failed(e).await,
                },
                Some(done) = self.handshakes.join_next() => match done {
                    Ok((Ok(Ok(stream)), peer)) => return (stream, peer),
                    Ok((Ok(Err(e)), peer)) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
                    Ok((Err(_), peer)) => tracing::debug!(
                        "TLS handshake with {peer} not finished within {} s: dropped",
                        HANDSHAKE_TIMEOUT.as_secs()
                    ),
                    Err(e) => tracing::warn!("a TLS handshake task ended: {e}"),
                },
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// As axum's own TCP listener does: a connection's own error is nobody
/// else's; anything else (out of file descriptors) waits a second.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!("accept error: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

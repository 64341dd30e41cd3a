//! HTTPS over a real socket (port 0): a client trusting the certificate
//! gets its answer, plain HTTP to the port gets none, a silent client does
//! not hold up the others' handshakes, and graceful shutdown ends the
//! server as it does without TLS.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use dispatch_server::{Listener, TlsConfig};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A self-signed certificate for localhost, its files and a client that
/// trusts it; the files are removed when dropped.
struct Cert {
    dir: PathBuf,
    tls: TlsConfig,
    client: tokio_rustls::TlsConnector,
}

impl Cert {
    fn new(name: &str) -> Cert {
        let c = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .unwrap_or_else(|e| panic!("{e}"));
        let dir = std::env::temp_dir().join(format!("server-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, c.cert.pem()).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&key, c.signing_key.serialize_pem()).unwrap_or_else(|e| panic!("{e}"));
        let tls = TlsConfig::load(&cert, &key).unwrap_or_else(|e| panic!("{e}"));
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(c.cert.der().clone())
            .unwrap_or_else(|e| panic!("{e}"));
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|e| panic!("{e}"))
        .with_root_certificates(roots)
        .with_no_client_auth();
        Cert {
            dir,
            tls,
            client: tokio_rustls::TlsConnector::from(Arc::new(config)),
        }
    }

    /// One GET over TLS; the whole answer.
    async fn get(&self, addr: SocketAddr, path: &str) -> String {
        let tcp = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let name = ServerName::try_from("localhost").unwrap_or_else(|e| panic!("{e}"));
        let mut s = self
            .client
            .connect(name, tcp)
            .await
            .unwrap_or_else(|e| panic!("TLS handshake: {e}"));
        let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        // A server closing without close_notify is its own business here.
        let _ = s.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl Drop for Cert {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn router() -> Router {
    Router::new().route("/api/health", get(|| async { "{\"status\":\"ok\"}" }))
}

#[tokio::test]
async fn https_answers_plain_http_does_not_a_silent_client_holds_nobody_up_and_shutdown_ends_it() {
    let cert = Cert::new("serve");
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let listener = Listener::new(tcp, Some(&cert.tls));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        listener.url().unwrap_or_else(|e| panic!("{e}")),
        format!("https://{addr}/")
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(dispatch_server::standby::serve(
        listener,
        router(),
        async move {
            let _ = stopped.await;
        },
    ));

    let answer = cert.get(addr, "/api/health").await;
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("{\"status\":\"ok\"}"),
        "{answer}"
    );

    // Plain HTTP to the HTTPS port: the handshake fails, no HTTP answer.
    let mut plain = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    plain
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut raw)).await;
    assert!(
        !String::from_utf8_lossy(&raw).contains("HTTP/1.1") && !raw.starts_with(b"HTTP"),
        "plain HTTP got {:?}",
        String::from_utf8_lossy(&raw)
    );

    // A client that connects and says nothing does not hold up the next
    // one's handshake (its own is cut at the handshake timeout).
    let _silent = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let answer = tokio::time::timeout(Duration::from_secs(3), cert.get(addr, "/api/health"))
        .await
        .unwrap_or_else(|_| panic!("a silent client held up the next handshake"));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // Graceful shutdown: the server ends, the port is closed.
    let _ = stop.send(());
    let ended = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap_or_else(|_| panic!("the TLS server did not stop on shutdown"));
    assert!(matches!(ended, Ok(Ok(()))), "{ended:?}");
    assert!(TcpStream::connect(addr).await.is_err(), "still listening");
}

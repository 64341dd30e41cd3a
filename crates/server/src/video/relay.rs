//! One upstream connection per camera stream, shared by every viewer.
//!
//! `Relays::subscribe(uri)` joins the stream's relay, starting it if none
//! runs: a task that GETs the camera's MJPEG URI (hyper's HTTP/1 client),
//! splits the body into JPEG frames (`multipart::Parts`) and sends each on
//! a `broadcast` channel. Each viewer reads its own receiver: one that
//! falls behind loses the oldest frames (`Lagged`), and the sender never
//! waits for anybody. The task ends when the camera fails or the last
//! viewer has gone; its state (`Upstream`) tells viewers which.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::http::{Request, StatusCode, Uri, header};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::{broadcast, watch};

use super::multipart::Parts;

/// Frames a viewer may fall behind by before it loses the oldest.
pub const VIEWER_QUEUE: usize = 4;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// A camera that sends nothing for this long is taken as gone.
const STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// How the upstream connection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    Connecting,
    Streaming,
    /// No connection, or a camera that stopped sending (503).
    Unreachable(String),
    /// It answered, but not with MJPEG (502).
    BadAnswer(String),
    /// Every viewer left.
    Idle,
}

/// The relays running, by stream URI.
#[derive(Debug, Clone, Default)]
pub struct Relays {
    running: Arc<Mutex<HashMap<String, Arc<Relay>>>>,
}

/// One stream's relay.
#[derive(Debug)]
pub struct Relay {
    frames: broadcast::Sender<Bytes>,
    state: watch::Sender<Upstream>,
}

/// A viewer of a relay.
#[derive(Debug)]
pub struct Viewer {
    pub frames: broadcast::Receiver<Bytes>,
    pub state: watch::Receiver<Upstream>,
}

impl Relays {
    /// Joins the relay of `uri`, starting it if none runs.
    pub fn subscribe(&self, uri: &str) -> Viewer {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(r) = running.get(uri) {
            return Viewer {
                frames: r.frames.subscribe(),
                state: r.state.subscribe(),
            };
        }
        let (frames, rx) = broadcast::channel(VIEWER_QUEUE);
        let (state, state_rx) = watch::channel(Upstream::Connecting);
        let relay = Arc::new(Relay { frames, state });
        running.insert(uri.to_owned(), Arc::clone(&relay));
        let relays = self.clone();
        let uri = uri.to_owned();
        tokio::spawn(async move {
            let end = pump(&uri, &relay, &relays).await;
            tracing::info!(%uri, "video relay ended: {end:?}");
            relays.remove(&uri, &relay);
            relay.state.send_replace(end);
        });
        Viewer {
            frames: rx,
            state: state_rx,
        }
    }

    /// Upstream connections open now.
    pub fn running(&self) -> usize {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn remove(&self, uri: &str, relay: &Arc<Relay>) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if running.get(uri).is_some_and(|r| Arc::ptr_eq(r, relay)) {
            running.remove(uri);
        }
    }

    /// Ends the relay if nobody watches; under the lock, so that a viewer
    /// joining now either gets this relay before it is gone or a new one.
    fn retire_if_idle(&self, uri: &str, relay: &Arc<Relay>) -> bool {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if relay.frames.receiver_count() > 0 {
            return false;
        }
        if running.get(uri).is_some_and(|r| Arc::ptr_eq(r, relay)) {
            running.remove(uri);
        }
        true
    }
}

/// Reads the camera until it fails or nobody watches.
async fn pump(uri: &str, relay: &Arc<Relay>, relays: &Relays) -> Upstream {
    let (mut body, boundary) = match open(uri).await {
        Ok(x) => x,
        Err(e) => return e,
    };
    let mut parts = Parts::new(&boundary);
    loop {
        let frame = match tokio::time::timeout(STALL_TIMEOUT, body.frame()).await {
            Err(_) => {
                return Upstream::Unreachable(format!(
                    "the camera sent nothing for {} s",
                    STALL_TIMEOUT.as_secs()
                ));
            }
            Ok(None) => return Upstream::Unreachable("the camera ended the stream".into()),
            Ok(Some(Err(e))) => {
                return Upstream::Unreachable(format!("the camera's stream broke: {e}"));
            }
            Ok(Some(Ok(f))) => f,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let jpegs = match parts.push(&data) {
            Ok(j) => j,
            Err(e) => return Upstream::BadAnswer(format!("not an MJPEG stream: {e}")),
        };
        for jpeg in jpegs {
            if *relay.state.borrow() != Upstream::Streaming {
                relay.state.send_replace(Upstream::Streaming);
            }
            // Fails only with no receiver: checked below.
            let _ = relay.frames.send(jpeg);
        }
        if relays.retire_if_idle(uri, relay) {
            return Upstream::Idle;
        }
    }
}

type Body = hyper::body::Incoming;

/// Connects and checks the answer: 200 with a multipart/x-mixed-replace
/// body. Gives the body and the boundary.
async fn open(uri: &str) -> Result<(Body, String), Upstream> {
    let bad = |m: String| Upstream::BadAnswer(m);
    let u: Uri = uri
        .parse()
        .map_err(|e| bad(format!("the camera's URI `{uri}` is not a URI: {e}")))?;
    if u.scheme_str() != Some("http") {
        return Err(bad(format!(
            "the camera's URI `{uri}` is not http:// (see docs/video.md for RTSP cameras)"
        )));
    }
    let host = u.host().unwrap_or_default().to_owned();
    let port = u.port_u16().unwrap_or(80);
    let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host.as_str(), port)))
        .await
    {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            return Err(Upstream::Unreachable(format!(
                "cannot connect to the camera at {host}:{port}: {e}"
            )));
        }
        Err(_) => {
            return Err(Upstream::Unreachable(format!(
                "the camera at {host}:{port} did not accept a connection within {} s",
                CONNECT_TIMEOUT.as_secs()
            )));
        }
    };
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| Upstream::Unreachable(format!("HTTP with the camera failed: {e}")))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("camera connection: {e}");
        }
    });
    let path = u.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let req = Request::get(path)
        .header(header::HOST, format!("{host}:{port}"))
        .header(header::ACCEPT, "multipart/x-mixed-replace, image/jpeg")
        .body(Empty::<Bytes>::new())
        .map_err(|e| bad(format!("cannot build the request: {e}")))?;
    let resp = match tokio::time::timeout(ANSWER_TIMEOUT, send.send_request(req)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            return Err(Upstream::Unreachable(format!(
                "the camera did not answer: {e}"
            )));
        }
        Err(_) => {
            return Err(Upstream::Unreachable(format!(
                "the camera did not answer within {} s",
                ANSWER_TIMEOUT.as_secs()
            )));
        }
    };
    if resp.status() != StatusCode::OK {
        return Err(bad(format!("the camera answered {}", resp.status())));
    }
    let ctype = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let lower = ctype.to_ascii_lowercase();
    let boundary = lower
        .starts_with("multipart/x-mixed-replace")
        .then(|| {
            ctype
                .split(';')
                .filter_map(|p| p.trim().split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
                .map(|(_, v)| v.trim().to_owned())
        })
        .flatten()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| {
            bad(format!(
                "the camera's answer is `{ctype}`, not multipart/x-mixed-replace with a boundary"
            ))
        })?;
    Ok((resp.into_body(), boundary))
}

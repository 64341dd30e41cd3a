//! One camera's HTTP server: its streams as MJPEG
//! (`multipart/x-mixed-replace`, one `image/jpeg` part per frame) and the
//! stills it took (`/capture/N.jpg`).
//!
//! A client waits for the stream's next frame on a `watch` channel, so a
//! slow client skips frames and never holds up the renderer or the other
//! clients; the hub renders a stream only while it has receivers. Bad
//! requests get a plain-text 400, 404 or 405 and the connection closes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

/// A JPEG frame.
pub type Jpeg = Arc<[u8]>;

/// The multipart boundary of the streams.
pub const BOUNDARY: &str = "frame";
/// Clients at once per camera.
const MAX_CLIENTS: usize = 16;
/// Stills kept per camera (the oldest go first).
const MAX_CAPTURES: usize = 64;
const HEAD_LIMIT: usize = 8 * 1024;
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// A client that takes longer than this to take one frame is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// A stream with no new frame for this long ends (the simulator stopped).
const FRAME_TIMEOUT: Duration = Duration::from_secs(30);

/// What one camera's server hands out.
#[derive(Debug)]
pub struct Feeds {
    /// Each stream's path and its latest frame.
    pub streams: Vec<(&'static str, watch::Sender<Option<Jpeg>>)>,
    captures: Mutex<BTreeMap<u32, Jpeg>>,
}

impl Feeds {
    pub fn new(paths: &[&'static str]) -> Feeds {
        Feeds {
            streams: paths
                .iter()
                .map(|p| (*p, watch::Sender::new(None)))
                .collect(),
            captures: Mutex::new(BTreeMap::new()),
        }
    }

    /// Keeps still `index`.
    pub fn store_capture(&self, index: u32, jpeg: Jpeg) {
        let mut c = self.captures.lock().unwrap_or_else(|p| p.into_inner());
        c.insert(index, jpeg);
        while c.len() > MAX_CAPTURES {
            c.pop_first();
        }
    }

    fn capture(&self, index: u32) -> Option<Jpeg> {
        let c = self.captures.lock().unwrap_or_else(|p| p.into_inner());
        c.get(&index).cloned()
    }
}

/// Serves `feeds` on `listener` until the runtime stops.
pub async fn serve(listener: TcpListener, feeds: Arc<Feeds>) {
    let slots = Arc::new(Semaphore::new(MAX_CLIENTS));
    loop {
        let (sock, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::debug!("camera server accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            tokio::spawn(async move {
                let mut sock = sock;
                let _ = reply(&mut sock, "503 Service Unavailable", "too many clients\n").await;
            });
            continue;
        };
        let feeds = Arc::clone(&feeds);
        tokio::spawn(async move {
            if let Err(e) = client(sock, &feeds).await {
                tracing::debug!(%peer, "camera client: {e}");
            }
            drop(permit);
        });
    }
}

async fn client(mut sock: TcpStream, feeds: &Feeds) -> std::io::Result<()> {
    let head = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut sock)).await {
        Ok(Ok(Some(h))) => h,
        Ok(Ok(None)) => return reply(&mut sock, "400 Bad Request", "bad request head\n").await,
        Ok(Err(e)) => return Err(e),
        Err(_) => return reply(&mut sock, "408 Request Timeout", "request head too slow\n").await,
    };
    let mut parts = head.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return reply(&mut sock, "400 Bad Request", "bad request line\n").await;
    };
    if method != "GET" {
        return reply(&mut sock, "405 Method Not Allowed", "only GET\n").await;
    }
    let path = target.split('?').next().unwrap_or_default();
    if let Some((_, tx)) = feeds.streams.iter().find(|(p, _)| *p == path) {
        return stream(sock, tx.subscribe()).await;
    }
    if let Some(n) = path
        .strip_prefix("/capture/")
        .and_then(|s| s.strip_suffix(".jpg"))
    {
        return match n.parse::<u32>().ok().and_then(|i| feeds.capture(i)) {
            Some(jpeg) => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    jpeg.len()
                );
                sock.write_all(head.as_bytes()).await?;
                sock.write_all(&jpeg).await?;
                sock.shutdown().await
            }
            None => reply(&mut sock, "404 Not Found", "no such capture\n").await,
        };
    }
    reply(&mut sock, "404 Not Found", "no such stream\n").await
}

/// The request line of a head ending in an empty line; `None` when the
/// head is too long, not UTF-8, or the peer closed before its end.
async fn read_head(sock: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8(buf[..end].to_vec()).ok();
            return Ok(head.and_then(|h| h.lines().next().map(str::to_owned)));
        }
        if buf.len() > HEAD_LIMIT {
            return Ok(None);
        }
    }
}

async fn stream(mut sock: TcpStream, mut rx: watch::Receiver<Option<Jpeg>>) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary={BOUNDARY}\r\nCache-Control: no-cache, no-store\r\nPragma: no-cache\r\nConnection: close\r\n\r\n"
    );
    sock.write_all(head.as_bytes()).await?;
    // The frame held now may be old (nobody watched for a while): wait for
    // the first one rendered for this client.
    rx.borrow_and_update();
    loop {
        match tokio::time::timeout(FRAME_TIMEOUT, rx.changed()).await {
            Ok(Ok(())) => {}
            _ => return Ok(()),
        }
        let Some(jpeg) = rx.borrow_and_update().clone() else {
            continue;
        };
        let part = format!(
            "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
            jpeg.len()
        );
        let write = async {
            sock.write_all(part.as_bytes()).await?;
            sock.write_all(&jpeg).await?;
            sock.write_all(b"\r\n").await
        };
        match tokio::time::timeout(WRITE_TIMEOUT, write).await {
            Ok(r) => r?,
            Err(_) => return Ok(()),
        }
    }
}

async fn reply(sock: &mut TcpStream, status: &str, body: &str) -> std::io::Result<()> {
    let msg = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    sock.write_all(msg.as_bytes()).await?;
    sock.shutdown().await
}

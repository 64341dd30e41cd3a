//! The relay against fake cameras on 127.0.0.1:0.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::sync::broadcast::error::RecvError;

use super::relay::{Relays, Upstream};

const FRAMES: u32 = 40;

/// A camera that sends `FRAMES` numbered JPEGs 20 ms apart to each client,
/// counting its connections. Gives its stream URI.
async fn fake_camera(accepted: Arc<AtomicUsize>) -> String {
    let l = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = l.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            accepted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut head = [0u8; 1024];
                let _ = s.read(&mut head).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=cam\r\nConnection: close\r\n\r\n")
                    .await;
                for n in 0..FRAMES {
                    let mut body = vec![0xFF, 0xD8];
                    body.extend_from_slice(&n.to_be_bytes());
                    body.extend_from_slice(&[0u8; 2000]);
                    body.extend_from_slice(&[0xFF, 0xD9]);
                    let part = format!(
                        "--cam\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    if s.write_all(part.as_bytes()).await.is_err()
                        || s.write_all(&body).await.is_err()
                        || s.write_all(b"\r\n").await.is_err()
                    {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            });
        }
    });
    format!("http://{addr}/stream.mjpg")
}

#[tokio::test]
async fn a_stalled_viewer_costs_the_other_no_frame_and_one_upstream_serves_both() {
    let accepted = Arc::new(AtomicUsize::new(0));
    let uri = fake_camera(Arc::clone(&accepted)).await;
    let relays = Relays::default();
    let mut reader = relays.subscribe(&uri);
    // Subscribed and never read: its queue fills and it lags.
    let _stalled = relays.subscribe(&uri);
    assert_eq!(relays.running(), 1);
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while got.len() < FRAMES as usize {
        match tokio::time::timeout_at(deadline, reader.frames.recv()).await {
            Ok(Ok(jpeg)) => {
                let n = u32::from_be_bytes([jpeg[2], jpeg[3], jpeg[4], jpeg[5]]);
                got.push(n);
            }
            Ok(Err(RecvError::Lagged(k))) => panic!("the reading viewer lost {k} frames"),
            Ok(Err(RecvError::Closed)) => break,
            Err(_) => panic!("only {} frames in 10 s", got.len()),
        }
    }
    assert_eq!(got, (0..FRAMES).collect::<Vec<_>>());
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_camera_that_is_not_there_or_not_mjpeg_says_so() {
    // Nothing listens: bind a port and close it.
    let l = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dead = format!(
        "http://{}/stream.mjpg",
        l.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    drop(l);
    let relays = Relays::default();
    let mut v = relays.subscribe(&dead);
    let end = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let s = v.state.borrow_and_update().clone();
            if s != Upstream::Connecting {
                return s;
            }
            if v.state.changed().await.is_err() {
                return v.state.borrow().clone();
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no verdict"));
    assert!(matches!(end, Upstream::Unreachable(_)), "{end:?}");

    let l = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let html = format!(
        "http://{}/",
        l.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let mut head = [0u8; 1024];
            let _ = s.read(&mut head).await;
            let _ = s
                .write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello",
                )
                .await;
        }
    });
    let mut v = relays.subscribe(&html);
    let end = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let s = v.state.borrow_and_update().clone();
            if s != Upstream::Connecting {
                return s;
            }
            if v.state.changed().await.is_err() {
                return v.state.borrow().clone();
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no verdict"));
    assert!(
        matches!(&end, Upstream::BadAnswer(m) if m.contains("text/html")),
        "{end:?}"
    );
    assert!(matches!(
        relays.subscribe("ftp://x/y").state.borrow().clone(),
        Upstream::Connecting | Upstream::BadAnswer(_)
    ));
}

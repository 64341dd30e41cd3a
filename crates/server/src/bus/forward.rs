//! A follower's side of a request to the leader over the bus.
//!
//! An API call that reaches a follower is sent whole (method, path and
//! query, the headers that matter, the body) to `{prefix}.leader.{node}` of
//! the leader as the lease names it; the leader runs it through its own
//! router ([`super::answer`]) and sends the response back to this request's
//! own inbox, cut in chunks when it is larger than one NATS message. So the
//! follower answers exactly what the leader answered, only after the leader
//! committed it, with the leader's status and body.
//!
//! When nobody answers (no leader holds the lease, or the one the lease
//! names is gone from the bus) the answer is `503` with `Retry-After`,
//! at once: the client retries, here or on another server (reports are
//! idempotent by `source` and `external_id`). When the leader does not
//! answer in time the answer is `504`, saying the change may have been made.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::StatusCode as NatsStatus;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Response, StatusCode};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use super::Bus;

/// Request header: what is asked (`http` or `snapshot`).
pub(crate) const OP: &str = "Dispatch-Op";
pub(crate) const OP_HTTP: &str = "http";
pub(crate) const OP_SNAPSHOT: &str = "snapshot";
/// Request header: the follower that forwards it.
pub(crate) const FROM: &str = "Dispatch-From";
pub(crate) const METHOD: &str = "Http-Method";
pub(crate) const URI: &str = "Http-Uri";
/// Reply header: the HTTP status.
pub(crate) const STATUS: &str = "Http-Status";
/// Reply header: `i/n`, this chunk of how many (from 1).
pub(crate) const CHUNK: &str = "Chunk";
/// HTTP headers cross the bus under their own name after this.
pub(crate) const HEADER: &str = "H-";

/// The request headers a follower passes on.
pub(crate) const REQUEST_HEADERS: [&str; 5] = [
    "authorization",
    "content-type",
    "accept",
    "user-agent",
    "x-forwarded-for",
];
/// The response headers the leader passes back.
pub(crate) const RESPONSE_HEADERS: [&str; 6] = [
    "content-type",
    "cache-control",
    "content-disposition",
    "retry-after",
    "www-authenticate",
    "location",
];

/// How long a follower waits for the leader's answer. Operator commands
/// wait for the vehicle's acknowledgement, with the link's retries.
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a request to the leader got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForwardError {
    #[error("nobody answers for {0} on the bus")]
    NoResponders(String),
    #[error("{0} did not answer within {1} s")]
    TimedOut(String, u64),
    #[error("the bus: {0}")]
    Bus(String),
    #[error("{0} sent a malformed answer: {1}")]
    Malformed(String, String),
}

/// The leader's answer: status, headers, body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Answer {
    /// The answer as this server's HTTP response, saying who made it.
    pub fn into_response(self, leader: &str) -> Response<Body> {
        let mut r = Response::new(Body::from(self.body));
        *r.status_mut() = self.status;
        let h = r.headers_mut();
        for (k, v) in self.headers {
            if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
                h.insert(k, v);
            }
        }
        if let Ok(v) = HeaderValue::try_from(leader) {
            h.insert(HeaderName::from_static("x-dispatch-leader"), v);
        }
        r
    }
}

impl Bus {
    /// Sends an HTTP request to the leader `leader` and waits for its answer.
    pub async fn forward_http(
        &self,
        leader: &str,
        method: &str,
        uri: &str,
        headers: &[(String, String)],
        body: Bytes,
    ) -> Result<Answer, ForwardError> {
        let mut h = HeaderMap::new();
        h.insert(OP, OP_HTTP);
        h.insert(METHOD, method);
        h.insert(URI, uri);
        for (k, v) in headers {
            h.insert(format!("{HEADER}{k}").as_str(), v.as_str());
        }
        self.ask(leader, h, body, FORWARD_TIMEOUT).await
    }

    /// The websocket's opening snapshot, as the leader makes it.
    pub async fn snapshot(&self, leader: &str) -> Result<Bytes, ForwardError> {
        let mut h = HeaderMap::new();
        h.insert(OP, OP_SNAPSHOT);
        let a = self
            .ask(leader, h, Bytes::new(), Duration::from_secs(10))
            .await?;
        if a.status == StatusCode::OK {
            Ok(a.body)
        } else {
            Err(ForwardError::Malformed(
                leader.to_owned(),
                format!(
                    "snapshot answered {}: {}",
                    a.status,
                    String::from_utf8_lossy(&a.body)
                ),
            ))
        }
    }

    async fn ask(
        &self,
        leader: &str,
        mut headers: HeaderMap,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Answer, ForwardError> {
        let r = self.ask_once(leader, &mut headers, body, timeout).await;
        let c = self.counters();
        let n = if r.is_ok() {
            &c.forwarded
        } else {
            &c.forward_failed
        };
        n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        r
    }

    async fn ask_once(
        &self,
        leader: &str,
        headers: &mut HeaderMap,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Answer, ForwardError> {
        let bus = |e: &dyn std::fmt::Display| ForwardError::Bus(e.to_string());
        if !self.is_connected() {
            return Err(ForwardError::Bus(
                "not connected to the NATS server".to_owned(),
            ));
        }
        headers.insert(FROM, self.node());
        let client = self.client();
        let inbox = client.new_inbox();
        let mut replies = client.subscribe(inbox.clone()).await.map_err(|e| bus(&e))?;
        client
            .publish_with_reply_and_headers(
                self.leader_subject(leader),
                inbox,
                headers.clone(),
                body,
            )
            .await
            .map_err(|e| bus(&e))?;
        client.flush().await.map_err(|e| bus(&e))?;
        let deadline = tokio::time::Instant::now() + timeout;
        let mut chunks = Chunks::default();
        loop {
            let msg = match tokio::time::timeout_at(deadline, replies.next()).await {
                Ok(Some(m)) => m,
                Ok(None) => return Err(ForwardError::Bus("the reply subscription ended".into())),
                Err(_) => {
                    return Err(ForwardError::TimedOut(leader.to_owned(), timeout.as_secs()));
                }
            };
            if msg.status == Some(NatsStatus::NO_RESPONDERS) {
                return Err(ForwardError::NoResponders(leader.to_owned()));
            }
            match chunks.take(msg) {
                Ok(Some(answer)) => return Ok(answer),
                Ok(None) => {}
                Err(e) => return Err(ForwardError::Malformed(leader.to_owned(), e)),
            }
        }
    }
}

/// A reply in chunks, put back together.
#[derive(Debug, Default)]
struct Chunks {
    status: Option<StatusCode>,
    headers: Vec<(String, String)>,
    body: BytesMut,
    next: usize,
}

impl Chunks {
    /// Takes the next chunk; the whole answer once the last one came.
    fn take(&mut self, msg: async_nats::Message) -> Result<Option<Answer>, String> {
        let h = msg.headers.unwrap_or_default();
        let (i, n) = h
            .get(CHUNK)
            .and_then(|v| {
                let (i, n) = v.as_str().split_once('/')?;
                Some((i.parse::<usize>().ok()?, n.parse::<usize>().ok()?))
            })
            .ok_or("a reply without its `Chunk: i/n` header")?;
        if i != self.next + 1 || i > n || n == 0 {
            return Err(format!(
                "chunk {i}/{n} arrived after chunk {} (out of order or lost)",
                self.next
            ));
        }
        self.next = i;
        if i == 1 {
            let status = h
                .get(STATUS)
                .and_then(|v| v.as_str().parse::<u16>().ok())
                .and_then(|s| StatusCode::from_u16(s).ok())
                .ok_or("the first chunk carries no valid `Http-Status`")?;
            self.status = Some(status);
            for name in RESPONSE_HEADERS {
                if let Some(v) = h.get(format!("{HEADER}{name}").as_str()) {
                    self.headers.push((name.to_owned(), v.as_str().to_owned()));
                }
            }
        }
        self.body.extend_from_slice(&msg.payload);
        if i < n {
            return Ok(None);
        }
        Ok(Some(Answer {
            status: self.status.unwrap_or(StatusCode::BAD_GATEWAY),
            headers: std::mem::take(&mut self.headers),
            body: std::mem::take(&mut self.body).freeze(),
        }))
    }
}

/// Cuts `body` in pieces that fit a NATS message with room for headers.
pub(crate) fn cut(body: &Bytes, max_payload: usize) -> Vec<Bytes> {
    let room = max_payload.saturating_sub(8 * 1024).max(1024);
    if body.is_empty() {
        return vec![Bytes::new()];
    }
    (0..body.len())
        .step_by(room)
        .map(|s| body.slice(s..(s + room).min(body.len())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(
        i: usize,
        n: usize,
        status: Option<u16>,
        payload: &'static [u8],
    ) -> async_nats::Message {
        let mut h = HeaderMap::new();
        h.insert(CHUNK, format!("{i}/{n}").as_str());
        if let Some(s) = status {
            h.insert(STATUS, s.to_string().as_str());
            h.insert("H-content-type", "application/json");
        }
        async_nats::Message {
            subject: "x".into(),
            reply: None,
            payload: Bytes::from_static(payload),
            headers: Some(h),
            status: None,
            description: None,
            length: payload.len(),
        }
    }

    #[test]
    fn a_body_is_cut_to_fit_and_put_back_in_order() {
        let body = Bytes::from((0..50_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>());
        let parts = cut(&body, 9 * 1024 + 10);
        assert!(parts.len() > 40, "{}", parts.len());
        assert!(parts.iter().all(|p| p.len() <= 1024 + 10));
        let joined: Vec<u8> = parts.iter().flat_map(|p| p.to_vec()).collect();
        assert_eq!(joined, body.to_vec());
        assert_eq!(
            cut(&Bytes::new(), 1 << 20).len(),
            1,
            "an empty body is one chunk"
        );
    }

    #[test]
    fn chunks_make_one_answer_and_a_gap_is_an_error() {
        let mut c = Chunks::default();
        assert!(matches!(
            c.take(chunk(1, 2, Some(201), b"{\"a\":")),
            Ok(None)
        ));
        let a = c
            .take(chunk(2, 2, None, b"1}"))
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("the last chunk ends it"));
        assert_eq!(a.status, StatusCode::CREATED);
        assert_eq!(&a.body[..], b"{\"a\":1}");
        assert_eq!(
            a.headers,
            vec![("content-type".to_owned(), "application/json".to_owned())]
        );
        let mut c = Chunks::default();
        assert!(c.take(chunk(1, 3, Some(200), b"a")).is_ok());
        let e = c.take(chunk(3, 3, None, b"c")).err().unwrap_or_default();
        assert!(e.contains("chunk 3/3 arrived after chunk 1"), "{e}");
        let mut c = Chunks::default();
        let e = c.take(chunk(1, 1, None, b"")).err().unwrap_or_default();
        assert!(e.contains("Http-Status"), "{e}");
    }
}

//! Rate limits on the write endpoints, per caller (token name): a runaway
//! integration or a flood of requests is answered `429 Too Many Requests`
//! with `Retry-After` before it reaches the fleet service, so that it cannot
//! slow the rescues that are being flown. Reads and the websocket are not
//! limited here (they do not queue work on the fleet service).

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;

/// Writes per minute and burst per caller.
#[derive(Debug, Clone, Copy)]
pub struct WriteLimit {
    pub per_minute: u32,
    pub burst: u32,
}

impl Default for WriteLimit {
    fn default() -> Self {
        Self {
            per_minute: 600,
            burst: 60,
        }
    }
}

/// The shared limiter (cheap to clone).
#[derive(Clone)]
pub struct Limiter {
    inner: Arc<RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>>,
    clock: DefaultClock,
    pub limit: WriteLimit,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("limit", &self.limit)
            .finish()
    }
}

impl Limiter {
    pub fn new(limit: WriteLimit) -> Limiter {
        let per_minute = NonZeroU32::new(limit.per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(limit.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        Limiter {
            inner: Arc::new(RateLimiter::keyed(quota)),
            clock: DefaultClock::default(),
            limit,
        }
    }

    /// None: go ahead; Some(seconds): wait this long.
    pub fn check(&self, key: &str) -> Option<u64> {
        if self.inner.len() > 10_000 {
            self.inner.retain_recent();
        }
        match self.inner.check_key(&key.to_owned()) {
            Ok(()) => None,
            Err(not_until) => Some(
                not_until
                    .wait_time_from(self.clock.now())
                    .as_secs_f64()
                    .ceil()
                    .max(1.0) as u64,
            ),
        }
    }
}

/// Middleware for write routes, after authentication.
pub async fn writes(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let who = req
        .extensions()
        .get::<Principal>()
        .map_or_else(|| "anonymous".to_owned(), |p| p.name.clone());
    match s.limiter.check(&who) {
        None => next.run(req).await,
        Some(wait) => {
            s.rate_limited
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut r = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many changes from `{who}`: at most {} a minute (bursts of {}); retry in {wait} s",
                    s.limiter.limit.per_minute, s.limiter.limit.burst
                ),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
    }
}

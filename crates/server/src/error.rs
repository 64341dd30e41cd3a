//! The one error type of the HTTP edge: a status, a stable machine-readable
//! `code` and a human `message`, sent as `{"error": {"code", "message"}}`.
//! Internal details are logged, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fleet::ServiceError;
use mavlink_link::link::CommandError;

use crate::wire::{ErrorBody, ErrorDetail};

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds for the client to wait before it tries again (`Retry-After`).
    pub retry_after: Option<u32>,
}

/// How long a client is told to wait while the database is unreachable or
/// the log cannot be written: a restarted database answers within a few
/// seconds, and the service checks it every second.
pub const DATABASE_RETRY_AFTER_S: u32 = 2;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// With a `Retry-After` of `seconds`.
    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// A request field is missing, malformed or out of range.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        let mut r = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        r
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let msg = e.to_string();
        match e {
            ServiceError::UnknownIncident(_)
            | ServiceError::UnknownDrone(_)
            | ServiceError::UnknownZone(_) => ApiError::not_found(msg),
            ServiceError::Conflict(_) => ApiError::conflict(msg),
            ServiceError::Invalid(_) => ApiError::invalid(msg),
            ServiceError::Vehicle(CommandError::Rejected { .. }) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "vehicle_rejected", msg)
            }
            ServiceError::Vehicle(CommandError::Timeout { .. }) => {
                ApiError::new(StatusCode::GATEWAY_TIMEOUT, "vehicle_timeout", msg)
            }
            ServiceError::Vehicle(CommandError::Busy { .. }) => {
                ApiError::new(StatusCode::CONFLICT, "vehicle_busy", msg)
            }
            ServiceError::Vehicle(_) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "vehicle_error", msg)
            }
            ServiceError::Storage(_) => {
                tracing::error!("{msg}");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_durable", msg)
                    .retry_after(DATABASE_RETRY_AFTER_S)
            }
            ServiceError::DatabaseUnavailable { .. } => {
                tracing::warn!("{msg}");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "database_unavailable", msg)
                    .retry_after(DATABASE_RETRY_AFTER_S)
            }
            ServiceError::Stopped => {
                tracing::error!("request while the fleet service is stopped");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the dispatch service is shutting down",
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(e: ServiceError) -> (StatusCode, Option<String>, serde_json::Value) {
        let r = ApiError::from(e).into_response();
        let status = r.status();
        let retry = r
            .headers()
            .get(axum::http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let body = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{e}"));
        (status, retry, body)
    }

    #[tokio::test]
    async fn an_unreachable_database_is_503_database_unavailable_with_retry_after() {
        let (status, retry, body) = answer(ServiceError::DatabaseUnavailable {
            message: "event log postgres://disp@db:5432/dispatch: the database is unreachable (cannot connect): Connection refused".into(),
            kept: false,
        })
        .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry.as_deref(), Some("2"));
        assert_eq!(body["error"]["code"], "database_unavailable");
        let m = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            m.starts_with("the database is unreachable: nothing was changed")
                && m.contains("refused"),
            "{m}"
        );
        // Made, then not written: said so.
        let (_, _, body) = answer(ServiceError::DatabaseUnavailable {
            message: "gone".into(),
            kept: true,
        })
        .await;
        let m = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            m.contains("kept in memory") && m.contains("not durable yet"),
            "{m}"
        );
        let (status, retry, body) = answer(ServiceError::Storage("disk I/O error".into())).await;
        assert_eq!(
            (status, retry.as_deref(), body["error"]["code"].as_str()),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Some("2"),
                Some("not_durable")
            )
        );
    }
}

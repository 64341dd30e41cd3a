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
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
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

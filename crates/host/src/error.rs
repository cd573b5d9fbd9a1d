//! The host's error type: each variant maps to a status, a stable code and a safe message.
//! Causes of internal errors are logged, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error answered by the host's API.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A request the client must correct (400).
    #[error("{message}")]
    BadRequest {
        /// Stable code, e.g. `amount_too_small`.
        code: &'static str,
        /// Safe message.
        message: String,
    },
    /// Unknown id (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The same pay attempt is still running (409).
    #[error("this payment attempt is still in progress; retry shortly")]
    InProgress,
    /// Too many requests from one address (429).
    #[error("too many requests; slow down")]
    RateLimited,
    /// The gateway could not be reached or answered unexpectedly (502).
    #[error("the payment gateway is unavailable; please try again")]
    Gateway(String),
    /// Our fault (500); the cause is logged.
    #[error("internal error")]
    Internal(String),
}

impl HostError {
    /// A 400 with a code and message.
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        HostError::BadRequest {
            code,
            message: message.into(),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            HostError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            HostError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            HostError::InProgress => (StatusCode::CONFLICT, "in_progress"),
            HostError::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            HostError::Gateway(_) => (StatusCode::BAD_GATEWAY, "gateway_unavailable"),
            HostError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<sqlx::Error> for HostError {
    fn from(e: sqlx::Error) -> Self {
        HostError::Internal(format!("database: {e}"))
    }
}

impl From<serde_json::Error> for HostError {
    fn from(e: serde_json::Error) -> Self {
        HostError::Internal(format!("json: {e}"))
    }
}

impl IntoResponse for HostError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        match &self {
            HostError::Internal(cause) => tracing::error!(%cause, "internal error"),
            HostError::Gateway(cause) => tracing::warn!(%cause, "gateway error"),
            _ => {}
        }
        let body = serde_json::json!({ "error": { "code": code, "message": self.to_string() } });
        (status, axum::Json(body)).into_response()
    }
}

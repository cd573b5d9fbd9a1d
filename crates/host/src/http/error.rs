//! HTTP's error: [`HostError`] maps every domain and store error to a status, a stable
//! [`ErrorCode`] and a safe message. Causes of internal errors are logged, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use paywidget_core::api::{ApiError, ErrorBody, ErrorCode};

use crate::store::StoreError;
use crate::support::error::DomainError;

/// An error answered by the host's API.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A request the client must correct (400).
    #[error("{message}")]
    BadRequest {
        /// Stable code, e.g. `amount_too_small`.
        code: ErrorCode,
        /// Safe message.
        message: String,
    },
    /// Unknown id (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Refused by the state of what it is about (409).
    #[error("{message}")]
    Conflict {
        /// Stable code, e.g. `seats_exhausted`.
        code: ErrorCode,
        /// Safe message.
        message: String,
    },
    /// The requester's role does not allow this (403).
    #[error("{0}")]
    Forbidden(String),
    /// The same pay attempt is still running (409).
    #[error("this payment attempt is still in progress; retry shortly")]
    InProgress,
    /// Too many requests from one address (429).
    #[error("too many requests; slow down")]
    RateLimited,
    /// Refused by the card-testing shield for `minutes` more (429, with `Retry-After`).
    #[error("Too many payments were declined from here. Please try again in {minutes} minutes.")]
    Blocked {
        /// Whole minutes until the block ends (at least 1).
        minutes: i64,
    },
    /// The gateway could not be reached or answered unexpectedly (502); the cause is logged.
    #[error("the payment gateway is unavailable; please try again")]
    Gateway(String),
    /// Our fault (500); the cause is logged.
    #[error("internal error")]
    Internal(String),
}

impl HostError {
    /// A 400 with a code and message.
    pub fn bad(code: ErrorCode, message: impl Into<String>) -> Self {
        HostError::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status and the stable code.
    pub fn status_and_code(&self) -> (StatusCode, ErrorCode) {
        match self {
            HostError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code.clone()),
            HostError::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            HostError::Conflict { code, .. } => (StatusCode::CONFLICT, code.clone()),
            HostError::InProgress => (StatusCode::CONFLICT, ErrorCode::InProgress),
            HostError::Forbidden(_) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
            HostError::RateLimited => (StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited),
            HostError::Blocked { .. } => (StatusCode::TOO_MANY_REQUESTS, ErrorCode::Blocked),
            HostError::Gateway(_) => (StatusCode::BAD_GATEWAY, ErrorCode::GatewayUnavailable),
            HostError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
        }
    }

    /// The answer's body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ApiError {
                code: self.status_and_code().1,
                message: self.to_string(),
                decline_code: None,
            },
        }
    }
}

impl From<DomainError> for HostError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid { code, message } => HostError::BadRequest { code, message },
            DomainError::NotFound(what) => HostError::NotFound(what),
            DomainError::Refused { code, message } => HostError::Conflict { code, message },
            DomainError::InProgress => HostError::InProgress,
            DomainError::Forbidden(why) => HostError::Forbidden(why),
            DomainError::Blocked { minutes } => HostError::Blocked { minutes },
            DomainError::Limited => HostError::RateLimited,
            DomainError::GatewayUnavailable(why) => HostError::Gateway(why),
            DomainError::Internal(why) => HostError::Internal(why),
            DomainError::Store(e) => HostError::Internal(e.to_string()),
        }
    }
}

impl From<StoreError> for HostError {
    fn from(e: StoreError) -> Self {
        HostError::Internal(e.to_string())
    }
}

impl IntoResponse for HostError {
    fn into_response(self) -> Response {
        match &self {
            HostError::Internal(cause) => tracing::error!(%cause, "internal error"),
            HostError::Gateway(cause) => tracing::warn!(%cause, "gateway error"),
            _ => {}
        }
        let mut r = (self.status_and_code().0, axum::Json(self.body())).into_response();
        if let HostError::Blocked { minutes } = &self {
            if let Ok(v) = axum::http::HeaderValue::from_str(&(minutes * 60).to_string()) {
                r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_stay_in_the_log() {
        let e = HostError::from(DomainError::Store(StoreError::Corrupt(
            "secret detail".into(),
        )));
        let body = serde_json::to_string(&e.body()).unwrap();
        assert_eq!(
            body,
            r#"{"error":{"code":"internal","message":"internal error"}}"#
        );
        let e = HostError::from(DomainError::invalid(
            ErrorCode::AmountTooSmall,
            "Too small.",
        ));
        assert_eq!(e.status_and_code().0, StatusCode::BAD_REQUEST);
        assert_eq!(e.body().error.code, ErrorCode::AmountTooSmall);
    }
}

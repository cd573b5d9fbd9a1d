//! The gateway's one error type, rendered as Stripe's `{"error": {…}}` with Stripe's statuses.
//!
//! Causes of internal errors are logged, never sent: clients get a stable type, code and a safe
//! message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

/// Stripe's `error.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    /// 400/404/409: the request is wrong.
    InvalidRequestError,
    /// 402: the card was declined or its details are wrong.
    CardError,
    /// 400 with an idempotency key reused for another request.
    IdempotencyError,
    /// 500: our fault.
    ApiError,
}

/// An error answered to a client (boxed: it travels through every `Result` of a request).
#[derive(Clone, Debug)]
pub struct ApiError(Box<ErrorBody>);

impl std::ops::Deref for ApiError {
    type Target = ErrorBody;
    fn deref(&self) -> &ErrorBody {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ErrorBody {
        &mut self.0
    }
}

/// What an error says: Stripe's `error` object plus the HTTP status.
#[derive(Clone, Debug, Serialize)]
pub struct ErrorBody {
    /// The HTTP status.
    #[serde(skip)]
    pub status: StatusCode,
    /// `error.type`.
    #[serde(rename = "type")]
    pub kind: ErrorType,
    /// `error.code`, e.g. `card_declined`, `parameter_missing`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// `error.decline_code` for card declines, e.g. `insufficient_funds`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decline_code: Option<String>,
    /// A message safe to show to a developer (never card data).
    pub message: String,
    /// The request parameter at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// The payment intent a card error happened on, as Stripe includes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_intent: Option<Value>,
    /// The setup intent a card error happened on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup_intent: Option<Value>,
    /// The payment method involved in a card error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<Value>,
    /// The charge a card error created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge: Option<String>,
    /// Where the docs would be; Stripe clients display it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc_url: Option<String>,
}

impl ApiError {
    fn new(
        status: StatusCode,
        kind: ErrorType,
        code: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        ApiError(Box::new(ErrorBody {
            status,
            kind,
            code: code.map(str::to_owned),
            decline_code: None,
            message: message.into(),
            param: None,
            payment_intent: None,
            setup_intent: None,
            payment_method: None,
            charge: None,
            doc_url: None,
        }))
    }

    /// 400 `invalid_request_error` about a parameter.
    pub fn invalid_param(param: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::InvalidRequestError,
            None,
            message,
        );
        e.param = Some(param.to_owned());
        e
    }

    /// 400 `parameter_missing`.
    pub fn missing_param(param: &str) -> Self {
        let mut e = Self::invalid_param(param, format!("Missing required param: {param}."));
        e.code = Some("parameter_missing".into());
        e
    }

    /// 400 `invalid_request_error` with a code.
    pub fn invalid_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::InvalidRequestError,
            Some(code),
            message,
        )
    }

    /// 404 `resource_missing`.
    pub fn not_found(param: &str, id: &str) -> Self {
        let mut e = Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::InvalidRequestError,
            Some("resource_missing"),
            format!("No such {}: '{id}'", param.replace('_', " ")),
        );
        e.param = Some(param.to_owned());
        e
    }

    /// 404 for a path no endpoint answers.
    pub fn unknown_route(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::InvalidRequestError,
            None,
            format!("Unrecognized request URL ({method}: {path})."),
        )
    }

    /// 401: no key, or a key this sandbox does not know.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorType::InvalidRequestError,
            None,
            message,
        )
    }

    /// 402 `card_error`.
    pub fn card(
        code: &str,
        decline_code: Option<&str>,
        message: impl Into<String>,
        param: Option<&str>,
    ) -> Self {
        let mut e = Self::new(
            StatusCode::PAYMENT_REQUIRED,
            ErrorType::CardError,
            Some(code),
            message,
        );
        e.decline_code = decline_code.map(str::to_owned);
        e.param = param.map(str::to_owned);
        e
    }

    /// 400 `payment_intent_unexpected_state`.
    pub fn unexpected_state(message: impl Into<String>) -> Self {
        Self::invalid_request("payment_intent_unexpected_state", message)
    }

    /// 400 `idempotency_error`: same key, different request.
    pub fn idempotency_mismatch(key: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::IdempotencyError,
            Some("idempotency_error"),
            format!(
                "Keys for idempotent requests can only be used with the same parameters they were first used with. \
                 Try using a key other than '{key}' if you meant to execute a different request."
            ),
        )
    }

    /// 409 `idempotency_key_in_use`: the first request with this key is still running.
    pub fn idempotency_in_use() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            ErrorType::InvalidRequestError,
            Some("idempotency_key_in_use"),
            "There is currently another in-progress request using this Idempotent Key (that probably means you \
             submitted twice, and the other request is still going through): please try again later.",
        )
    }

    /// 409 `lock_timeout`: another request is changing the same object.
    pub fn lock_timeout() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            ErrorType::InvalidRequestError,
            Some("lock_timeout"),
            "This object cannot be accessed right now because another API request or Stripe process is \
             currently accessing it. Please retry.",
        )
    }

    /// 429 `rate_limit`.
    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorType::InvalidRequestError,
            Some("rate_limit"),
            "Too many requests hit the API too quickly.",
        )
    }

    /// 500: logs `cause` and tells the client only that something went wrong.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::ApiError,
            None,
            "An unknown error occurred in the sandbox.",
        )
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::internal(format_args!("database: {e}"))
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        ApiError::internal(format_args!("json: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let body = serde_json::json!({ "error": *self.0 });
        (status, axum::Json(body)).into_response()
    }
}

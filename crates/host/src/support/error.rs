//! The domain's error: [`DomainError`], what checkout, billing, licences, the portal and the
//! shield refuse or fail at. Under it is the store's `StoreError`; above it, HTTP's `HostError`
//! (in `http::error`) maps each to a status, a stable code and a safe message.

use paywidget_core::api::ErrorCode;

use crate::store::StoreError;

/// What a domain operation refused or failed at.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The request is wrong in a way the shopper or page can correct.
    #[error("{message}")]
    Invalid {
        /// Stable code, e.g. `amount_too_small`.
        code: ErrorCode,
        /// Safe message.
        message: String,
    },
    /// Unknown id (what kind of thing).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Refused by the state of what it is about (every seat taken, a revoked licence).
    #[error("{message}")]
    Refused {
        /// Stable code, e.g. `seats_exhausted`.
        code: ErrorCode,
        /// Safe message.
        message: String,
    },
    /// The same pay attempt is still running.
    #[error("this payment attempt is still in progress; retry shortly")]
    InProgress,
    /// The card-testing shield refuses this payer for `minutes` more.
    #[error("blocked for {minutes} minutes")]
    Blocked {
        /// Whole minutes until the block ends (at least 1).
        minutes: i64,
    },
    /// The requester's role does not allow this (a dashboard `viewer` refunding).
    #[error("{0}")]
    Forbidden(String),
    /// The requester (or what it asks about) is over a limit; try again later.
    #[error("too many requests; try again later")]
    Limited,
    /// The gateway gave no definite answer.
    #[error("gateway unavailable: {0}")]
    GatewayUnavailable(String),
    /// A broken invariant (a campaign gone from the config, a gateway answer we cannot use).
    #[error("{0}")]
    Internal(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DomainError {
    /// An [`DomainError::Invalid`].
    pub fn invalid(code: ErrorCode, message: impl Into<String>) -> Self {
        DomainError::Invalid {
            code,
            message: message.into(),
        }
    }
}

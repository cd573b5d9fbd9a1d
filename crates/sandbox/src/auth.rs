//! API keys: `Authorization: Bearer <key>` or HTTP basic with the key as user (stripe-python).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use base64::Engine;

use crate::error::ApiError;
use crate::SharedState;

/// Which key a request was made with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// `sk_test_…`: every endpoint.
    Secret,
    /// `pk_test_…`: only what Stripe.js does (tokenization, confirmation tokens, reading an
    /// intent with its client secret).
    Publishable,
}

/// The key from the headers, if any.
pub fn key_from_headers(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    if let Some(token) = value.strip_prefix("Bearer ") {
        return Some(token.trim().to_owned());
    }
    let basic = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    // `user:password`, the key being the user and the password empty.
    Some(decoded.split(':').next().unwrap_or("").to_owned())
}

/// Classifies the request's key against the configured pair.
pub fn authenticate(headers: &HeaderMap, state: &SharedState) -> Result<KeyKind, ApiError> {
    let key = key_from_headers(headers).filter(|k| !k.is_empty()).ok_or_else(|| {
        ApiError::unauthorized(
            "You did not provide an API key. You need to provide your API key in the Authorization header, \
             using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        )
    })?;
    if key == state.config.secret_key {
        Ok(KeyKind::Secret)
    } else if key == state.config.publishable_key {
        Ok(KeyKind::Publishable)
    } else {
        let tail: String = key
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let prefix: String = key.chars().take(8).collect();
        Err(ApiError::unauthorized(format!(
            "Invalid API Key provided: {prefix}****{tail}"
        )))
    }
}

/// Extractor: the request was made with the secret key.
#[derive(Debug)]
pub struct SecretKey;

impl FromRequestParts<SharedState> for SecretKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, ApiError> {
        match authenticate(&parts.headers, state)? {
            KeyKind::Secret => Ok(SecretKey),
            KeyKind::Publishable => Err(ApiError::unauthorized(
                "This API call cannot be made with a publishable API key. Please use a secret API key.",
            )),
        }
    }
}

/// Extractor: the request was made with either key.
#[derive(Debug)]
pub struct AnyKey(pub KeyKind);

impl FromRequestParts<SharedState> for AnyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, ApiError> {
        authenticate(&parts.headers, state).map(AnyKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_basic() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "Bearer sk_test_abc".parse().unwrap());
        assert_eq!(key_from_headers(&h).as_deref(), Some("sk_test_abc"));
        // "sk_test_abc:" in base64, as stripe-python sends it.
        h.insert(
            header::AUTHORIZATION,
            "Basic c2tfdGVzdF9hYmM6".parse().unwrap(),
        );
        assert_eq!(key_from_headers(&h).as_deref(), Some("sk_test_abc"));
    }
}

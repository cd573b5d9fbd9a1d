//! Stripe's idempotency keys: the first response to a key (success or card error) is stored and
//! replayed byte for byte with `Idempotent-Replayed: true` for 24 hours.
//!
//! The decision is made by the store (an atomic insert on the key), so it holds for concurrent
//! requests and across processes sharing the database. A request that claimed a key runs to
//! completion in its own task even if the client hangs up, so a key is never left claimed by
//! a request that was half done.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::ApiError;
use crate::store::IdempotencyBegin;
use crate::SharedState;

/// The longest key accepted, as Stripe.
pub const MAX_KEY_LEN: usize = 255;
const MAX_BODY: usize = 1 << 20;

/// Middleware for `POST /v1/…`.
pub async fn layer(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get("idempotency-key").cloned() else {
        return next.run(req).await;
    };
    let key = match key.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= MAX_KEY_LEN => k.to_owned(),
        _ => {
            return ApiError::invalid_request(
                "idempotency_key_invalid",
                format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters."),
            )
            .into_response()
        }
    };
    let (parts, body) = req.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return ApiError::invalid_request("body_too_large", "The request body is too large.")
            .into_response();
    };
    let api_key = crate::auth::key_from_headers(&parts.headers).unwrap_or_default();
    let fingerprint = fingerprint(
        &state.config.secret_key,
        parts.method.as_str(),
        &parts.uri.to_string(),
        &api_key,
        &body,
    );

    let begin = match state
        .store
        .idempotency_begin(&key, &fingerprint, state.clock.now())
        .await
    {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let mut response = match begin {
        IdempotencyBegin::Mismatch => ApiError::idempotency_mismatch(&key).into_response(),
        IdempotencyBegin::InUse => ApiError::idempotency_in_use().into_response(),
        IdempotencyBegin::Replay { status, body } => {
            let mut r = Response::new(Body::from(body));
            *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            r.headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            r.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            r
        }
        IdempotencyBegin::New => {
            let req = Request::from_parts(parts, Body::from(body));
            let task_state = state.clone();
            let task_key = key.clone();
            let task =
                tokio::spawn(async move { run_and_store(task_state, task_key, req, next).await });
            match task.await {
                Ok(r) => r,
                Err(e) => {
                    let _ = state.store.idempotency_abandon(&key).await;
                    ApiError::internal(format_args!("request task failed: {e}")).into_response()
                }
            }
        }
    };
    if let Ok(v) = HeaderValue::from_str(&key) {
        response.headers_mut().insert("idempotency-key", v);
    }
    response
}

/// What makes two requests "the same" for a key: method, path and query, API key and body.
///
/// Keyed with the sandbox's secret (HMAC), because a tokenization body holds a card number:
/// a plain hash of it could be searched; this one cannot without the key.
pub fn fingerprint(secret: &str, method: &str, uri: &str, api_key: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    for part in [method.as_bytes(), uri.as_bytes(), api_key.as_bytes(), body] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

async fn run_and_store(state: SharedState, key: String, req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let (parts, body) = response.into_parts();
    let body = match to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            let _ = state.store.idempotency_abandon(&key).await;
            return ApiError::internal(format_args!("read response: {e}")).into_response();
        }
    };
    // Successes and card errors had an effect and are replayed; other errors had none, so
    // the key stays free for a corrected request.
    let stored = if parts.status.is_success() || parts.status == StatusCode::PAYMENT_REQUIRED {
        state
            .store
            .idempotency_finish(&key, parts.status.as_u16(), &body)
            .await
    } else {
        state.store.idempotency_abandon(&key).await
    };
    if let Err(e) = stored {
        return e.into_response();
    }
    Response::from_parts(parts, Body::from(body))
}

//! `POST /webhooks/gateway`: the signature is checked on the raw body before it is parsed.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use paywidget_core::api::{ErrorCode, WebhookAck};
use serde_json::Value;

use crate::error::HostError;
use crate::{webhooks, HostState};

/// Verifies, then applies the event once.
pub(super) async fn gateway(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookAck>, HostError> {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    webhooks::verify(&state, signature, &body)?;
    let event: Value = serde_json::from_slice(&body)
        .map_err(|_| HostError::bad(ErrorCode::BadEvent, "The event is not JSON."))?;
    let fresh = webhooks::apply(&state, &event).await?;
    Ok(Json(WebhookAck {
        received: true,
        duplicate: !fresh,
    }))
}

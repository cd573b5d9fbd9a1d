//! `POST /webhooks/gateway`: the signature is checked on the raw body before it is parsed, and
//! the secret that verified decides whose sessions the event may touch.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use paywidget_core::api::WebhookAck;

use crate::billing::webhooks;
use crate::http::error::HostError;
use crate::HostState;

/// Verifies, parses into a typed event, then applies it once. An event the host cannot read
/// or place is answered 500 (and logged), so the gateway delivers it again.
pub(super) async fn gateway(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookAck>, HostError> {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    let signer = match webhooks::verify(&state, signature, &body) {
        Ok(s) => s,
        Err(e) => {
            webhooks::note_refused(&state);
            return Err(e.into());
        }
    };
    let event = webhooks::parse(&body)?;
    let fresh = webhooks::apply(&state, &signer, &event).await?;
    webhooks::note_arrival(&state, event.created).await;
    Ok(Json(WebhookAck {
        received: true,
        duplicate: !fresh,
    }))
}

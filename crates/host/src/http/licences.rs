//! `GET /api/licenses/public-key` (for offline verification), `POST /api/licenses/verify`, and
//! activations: `POST /api/licenses/activate` / `deactivate` (seats enforced, signed leases).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use paywidget_core::api::{
    ActivationRequest, ActivationView, DeactivationView, PublicKeyView, VerifyAnswer, VerifyRequest,
};

use super::parse;
use crate::checkout::views;
use crate::http::error::HostError;
use crate::{licence, HostState};

/// The Ed25519 key licence keys are signed with.
pub(super) async fn public_key(State(state): State<Arc<HostState>>) -> Json<PublicKeyView> {
    Json(views::public_key_view(&state.signing_key.verifying_key()))
}

/// Whether a pasted key is good.
pub(super) async fn verify(
    State(state): State<Arc<HostState>>,
    body: Bytes,
) -> Result<Json<VerifyAnswer>, HostError> {
    let req: VerifyRequest = parse(&body)?;
    Ok(Json(licence::check(&state, &req.key).await?))
}

/// Takes a seat for an installation and answers its signed lease.
pub(super) async fn activate(
    State(state): State<Arc<HostState>>,
    body: Bytes,
) -> Result<Json<ActivationView>, HostError> {
    let req: ActivationRequest = parse(&body)?;
    Ok(Json(licence::activate(&state, &req).await?))
}

/// Frees an installation's seat.
pub(super) async fn deactivate(
    State(state): State<Arc<HostState>>,
    body: Bytes,
) -> Result<Json<DeactivationView>, HostError> {
    let req: ActivationRequest = parse(&body)?;
    Ok(Json(licence::deactivate(&state, &req).await?))
}

//! `POST /api/sessions` (create), `POST /api/sessions/:id/pay` and `GET /api/sessions/:id`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use paywidget_core::api::{PayOutcome, SessionCreated, SessionView};

use super::{parse, ClientIp};
use crate::checkout as sessions;
use crate::http::error::HostError;
use crate::HostState;

/// Creates a session (201).
pub(super) async fn create(
    State(state): State<Arc<HostState>>,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> Result<(StatusCode, Json<SessionCreated>), HostError> {
    let created = sessions::create(&state, parse(&body)?, ip).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Pays it with a gateway token.
pub(super) async fn pay(
    State(state): State<Arc<HostState>>,
    Path(id): Path<String>,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> Result<Json<PayOutcome>, HostError> {
    Ok(Json(sessions::pay(&state, &id, parse(&body)?, ip).await?))
}

/// Where it is (and its receipt or licence once fulfilled).
pub(super) async fn status(
    State(state): State<Arc<HostState>>,
    Path(id): Path<String>,
) -> Result<Json<SessionView>, HostError> {
    Ok(Json(sessions::view(&state, &id).await?))
}

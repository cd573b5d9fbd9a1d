//! `GET /api/update-card/:link` and `POST /api/update-card`: the new card for a recurring gift
//! whose renewal failed (the signed link from the donor's mail).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use paywidget_core::api::{PayOutcome, UpdateCardRequest, UpdateCardView};

use super::{parse, ClientIp};
use crate::billing::update_card;
use crate::http::error::HostError;
use crate::HostState;

/// What the page shows.
pub(super) async fn view(
    State(state): State<Arc<HostState>>,
    Path(link): Path<String>,
) -> Result<Json<UpdateCardView>, HostError> {
    Ok(Json(update_card::view(&state, &link).await?))
}

/// Saves the card, makes it the default and pays what is open.
pub(super) async fn update(
    State(state): State<Arc<HostState>>,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> Result<Json<PayOutcome>, HostError> {
    let req: UpdateCardRequest = parse(&body)?;
    Ok(Json(update_card::update(&state, &req, ip).await?))
}

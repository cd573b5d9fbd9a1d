//! `GET /api/campaigns/:id`: what the checkout form needs to know about a campaign.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use paywidget_core::api::CampaignView;

use crate::checkout::views;
use crate::http::error::HostError;
use crate::HostState;

/// The campaign's view.
pub(super) async fn campaign(
    State(state): State<Arc<HostState>>,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, HostError> {
    views::campaign_view(&state.config, &id)
        .map(Json)
        .ok_or(HostError::NotFound("campaign"))
}

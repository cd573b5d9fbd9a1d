//! `GET /checkout/return?session=…`: where the gateway sends the shopper after 3-D Secure.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::checkout as sessions;
use crate::http::error::HostError;
use crate::HostState;

/// The query the gateway's `return_url` carries.
#[derive(Deserialize)]
pub(super) struct ReturnQuery {
    session: String,
}

/// Reconciles the payment with the gateway, then shows the checkout's return page.
pub(super) async fn back_from_bank(
    State(state): State<Arc<HostState>>,
    Query(q): Query<ReturnQuery>,
) -> Result<Response, HostError> {
    let session = sessions::reconcile(&state, &q.session).await?;
    let mut r = Redirect::to(&format!(
        "/c/{}/return?session={}",
        session.campaign, session.id
    ))
    .into_response();
    // The redirect depends on the session's state at this moment.
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

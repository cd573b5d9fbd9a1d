//! `GET /api/update-card/:link` and `POST /api/update-card`: the new card for a recurring gift
//! whose renewal failed (the signed link from the donor's mail); and its page,
//! `GET /c/:campaign/update-card?token=…`, which says with no wasm at all when the link can no
//! longer be used (expired, spent, not ours), and otherwise is the hosted pages' update-card form.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use axum::{Json, Router};
use paywidget_core::api::{PayOutcome, UpdateCardRequest, UpdateCardView};
use serde::Deserialize;
use tower::ServiceExt;

use super::{parse, ClientIp};
use crate::billing::update_card;
use crate::checkout::thanks;
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

/// The mail's link: `?token=…`.
#[derive(Deserialize)]
pub(super) struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// The update-card page: a link that can no longer be used is told so here, in the checkout's
/// stylesheet `css`; a usable one (or an answer that could not be had: 5xx) goes on to `pages`,
/// the hosted pages with their policy, where the form takes the card.
pub(super) async fn page(
    State(state): State<Arc<HostState>>,
    Query(q): Query<TokenQuery>,
    css: Arc<str>,
    pages: Router,
    request: Request,
) -> Response {
    let refused = match update_card::view(&state, &q.token).await {
        Ok(_) => None,
        Err(e) => {
            let e = HostError::from(e);
            let (status, _) = e.status_and_code();
            (!status.is_server_error()).then(|| (status, e.body().error.message))
        }
    };
    let Some((status, message)) = refused else {
        return match pages.oneshot(request).await {
            Ok(r) => r.into_response(),
            Err(never) => match never {},
        };
    };
    let mut r = (status, Html(thanks::update_card_unusable(&message, &css))).into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&thanks::csp(&[])) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

//! `GET /thanks/:session`: the confirmation page, rendered by the host (no wasm): a thin
//! handler over `checkout::thanks`, with the page's own Content-Security-Policy.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use paywidget_core::lang::{accepted, Lang};
use serde::Deserialize;

use crate::checkout::{self, thanks};
use crate::HostState;

/// How long the first visit waits for the fulfilment before showing the waiting page.
const FIRST_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// How many times a waiting page has refreshed itself, and the reader's language when the
/// form was asked for one (`?locale=`).
#[derive(Deserialize)]
pub(super) struct WaitQuery {
    #[serde(default)]
    wait: Option<u32>,
    #[serde(default)]
    locale: Option<String>,
}

/// The confirmation page of session `id` (404 for a session this host does not know), in the
/// checkout's stylesheet `css` (read from the build once, when the router is made).
pub(super) async fn page(
    State(state): State<Arc<HostState>>,
    Path(id): Path<String>,
    Query(q): Query<WaitQuery>,
    headers: axum::http::HeaderMap,
    css: Arc<str>,
) -> Response {
    // The first visit, straight after paying, waits briefly for the webhook's fulfilment
    // (usually milliseconds): the donor sees the receipt, not a "confirming" page first.
    let first_wait = if q.wait.is_none() {
        FIRST_WAIT
    } else {
        std::time::Duration::ZERO
    };
    let (row, view) = match (
        state.store.session(&id).await,
        checkout::waiting::view_after(&state, &id, first_wait).await,
    ) {
        (Ok(Some(row)), Ok(view)) => (row, view),
        _ => {
            return respond(
                StatusCode::NOT_FOUND,
                thanks::not_found(&css),
                &thanks::csp(&[]),
            )
        }
    };
    let origins: Vec<String> = state
        .config
        .merchant(&row.merchant)
        .map(|m| {
            m.allowed_origins
                .iter()
                .map(|o| o.as_str().to_owned())
                .collect()
        })
        .unwrap_or_default();
    // In the reader's language, as their form was: `?locale=`, their browser's, the
    // merchant's.
    let merchant_lang = state
        .config
        .merchant(&row.merchant)
        .and_then(|m| m.local.locale())
        .and_then(|l| Lang::parse(l.tag()))
        .unwrap_or(Lang::En);
    let languages = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let lang = Lang::choose(q.locale.as_deref(), accepted(languages), merchant_lang);
    let body = thanks::page(
        &view,
        &css,
        q.wait.unwrap_or(0).min(thanks::MAX_WAITS),
        "/portal",
        lang,
    );
    respond(StatusCode::OK, body, &thanks::csp(&origins))
}

fn respond(status: StatusCode, body: String, csp: &str) -> Response {
    let mut r = (status, axum::response::Html(body)).into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    // A receipt or a licence key: never kept by a shared cache.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

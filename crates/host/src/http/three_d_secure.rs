//! `GET /checkout/return?session=…`: where the gateway sends the shopper after 3-D Secure. The
//! host asks the gateway how it went and answers with no wasm at all when it knows: the
//! confirmation when the payment went through, a page saying why it did not otherwise. Only a
//! payment still undecided (or a return inside the merchant's overlay, whose page must tell the
//! merchant's page where to go) goes on to the checkout's return page, which waits for it.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use paywidget_core::api::SessionStatus;
use serde::Deserialize;

use crate::checkout::{self as sessions, thanks};
use crate::http::error::HostError;
use crate::HostState;

/// The query the gateway's `return_url` carries.
#[derive(Deserialize)]
pub(super) struct ReturnQuery {
    session: String,
}

/// Reconciles the payment with the gateway, then shows how it went (`css`: the checkout's
/// stylesheet, read from the build when the router is made).
pub(super) async fn back_from_bank(
    State(state): State<Arc<HostState>>,
    Query(q): Query<ReturnQuery>,
    headers: HeaderMap,
    css: Arc<str>,
) -> Result<Response, HostError> {
    let session = sessions::reconcile(&state, &q.session).await?;
    let framed = headers
        .get("sec-fetch-dest")
        .is_some_and(|d| d.as_bytes() == b"iframe");
    let wasm_page = || {
        Redirect::to(&format!(
            "/c/{}/return?session={}",
            session.campaign, session.id
        ))
        .into_response()
    };
    let declined = matches!(
        session.status,
        SessionStatus::Declined | SessionStatus::Canceled
    );
    let mut r = if framed {
        wasm_page()
    } else if session.status.is_charged() {
        Redirect::to(&format!("/thanks/{}", session.id)).into_response()
    } else if declined {
        let view = sessions::view(&state, &session.id).await?;
        let reason = view.decline.map_or_else(
            || "Your bank did not verify this payment.".to_owned(),
            |d| d.message,
        );
        let mut page = (
            StatusCode::OK,
            Html(thanks::verification_failed(
                &session.id,
                &session.campaign,
                &reason,
                &css,
            )),
        )
            .into_response();
        if let Ok(csp) = HeaderValue::from_str(&thanks::csp(&[])) {
            page.headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, csp);
        }
        page
    } else {
        wasm_page()
    };
    // The answer depends on the session's state at this moment.
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

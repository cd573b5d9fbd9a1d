//! `/admin/webhooks`: the dashboard's outgoing webhook endpoints (owners only). Thin: read the
//! cookie and the form, call `admin::webhooks`, answer a page. Every change is a POST form with
//! the CSRF token, checked for this origin.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

use super::admin::{failure, html, who, MerchantQuery};
use super::portal::same_origin;
use crate::admin::{pages, webhooks, Staff};
use crate::HostState;

/// The most a form to these routes may hold (the URL and the events).
const MAX_FORM: usize = 8 * 1024;

async fn show_list(
    state: &HostState,
    staff: &Staff,
    status: StatusCode,
    added: Option<(&crate::store::HookEndpoint, &str)>,
    message: Option<&str>,
) -> Response {
    match webhooks::endpoints(state, staff).await {
        Ok(list) => html(status, pages::webhooks(staff, &list, added, message)),
        Err(e) => {
            let (status, m) = failure(e);
            html(status, pages::error(staff, &m))
        }
    }
}

async fn show_one(
    state: &HostState,
    staff: &Staff,
    id: &str,
    status: StatusCode,
    secret: Option<&str>,
    message: Option<&str>,
) -> Response {
    match webhooks::endpoint(state, staff, id).await {
        Ok(v) => html(status, pages::webhook(staff, &v, secret, message)),
        Err(e) => {
            let (status, m) = failure(e);
            html(status, pages::error(staff, &m))
        }
    }
}

fn cross_site(staff: &Staff) -> Response {
    html(
        StatusCode::FORBIDDEN,
        pages::error(staff, "Change webhooks from this dashboard's own page."),
    )
}

/// `GET /admin/webhooks`.
pub(super) async fn list(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Query(q): Query<MerchantQuery>,
) -> Response {
    let staff = match who(&state, &headers, q.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    show_list(&state, &staff, StatusCode::OK, None, None).await
}

/// `POST /admin/webhooks`: adds an endpoint. The form repeats `events` (one per ticked box),
/// which serde's form decoding cannot hold: it is read pair by pair.
pub(super) async fn add(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if body.len() > MAX_FORM {
        return html(
            StatusCode::PAYLOAD_TOO_LARGE,
            pages::sign_in(Some("That form is too large.")),
        );
    }
    let (mut csrf, mut url, mut merchant, mut events) =
        (String::new(), String::new(), None, vec![]);
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "csrf" => csrf = v.into_owned(),
            "url" => url = v.into_owned(),
            "merchant" => merchant = Some(v.into_owned()),
            "events" => events.push(v.into_owned()),
            _ => {}
        }
    }
    let staff = match who(&state, &headers, merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !same_origin(&state, &headers) {
        return cross_site(&staff);
    }
    match webhooks::add(&state, &staff, &csrf, &url, &events).await {
        Ok((endpoint, secret)) => {
            show_list(
                &state,
                &staff,
                StatusCode::CREATED,
                Some((&endpoint, &secret)),
                None,
            )
            .await
        }
        Err(e) => {
            let (status, m) = failure(e);
            show_list(&state, &staff, status, None, Some(&m)).await
        }
    }
}

/// `GET /admin/webhooks/{id}`.
pub(super) async fn one(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<MerchantQuery>,
) -> Response {
    let staff = match who(&state, &headers, q.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    show_one(&state, &staff, &id, StatusCode::OK, None, None).await
}

/// An action's form: the CSRF token, and what some actions name.
#[derive(Deserialize)]
pub(super) struct HookForm {
    csrf: String,
    #[serde(default)]
    merchant: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    since: Option<String>,
}

/// `POST /admin/webhooks/{id}/{action}`: `test`, `rotate`, `on`, `off`, `replay`,
/// `replay-since`.
pub(super) async fn act(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    Form(f): Form<HookForm>,
) -> Response {
    let staff = match who(&state, &headers, f.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !same_origin(&state, &headers) {
        return cross_site(&staff);
    }
    let s = &state;
    let done: Result<(Option<String>, String), _> = match action.as_str() {
        "test" => webhooks::send_test(s, &staff, &f.csrf, &id)
            .await
            .map(|m| (None, format!("Test event {m} queued."))),
        "rotate" => webhooks::rotate(s, &staff, &f.csrf, &id)
            .await
            .map(|secret| {
                (
                    Some(secret),
                    "New secret made; the previous one signs too for 24 hours.".into(),
                )
            }),
        "on" => webhooks::set_enabled(s, &staff, &f.csrf, &id, true)
            .await
            .map(|()| (None, "Switched on.".into())),
        "off" => webhooks::set_enabled(s, &staff, &f.csrf, &id, false)
            .await
            .map(|()| (None, "Switched off.".into())),
        "replay" => {
            let message = f.message.as_deref().unwrap_or_default();
            webhooks::replay(s, &staff, &f.csrf, &id, message)
                .await
                .map(|()| (None, format!("{message} queued again.")))
        }
        "replay-since" => {
            let since = f.since.as_deref().unwrap_or_default();
            webhooks::replay_since(s, &staff, &f.csrf, &id, since)
                .await
                .map(|n| (None, format!("{n} event(s) queued again.")))
        }
        _ => Err(crate::support::error::DomainError::NotFound(
            "no such action",
        )),
    };
    match done {
        Ok((secret, message)) => {
            show_one(
                s,
                &staff,
                &id,
                StatusCode::OK,
                secret.as_deref(),
                Some(&message),
            )
            .await
        }
        Err(e) => {
            let (status, m) = failure(e);
            show_one(s, &staff, &id, status, None, Some(&m)).await
        }
    }
}

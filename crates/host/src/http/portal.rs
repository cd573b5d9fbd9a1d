//! `/portal`: the customer portal's routes (thin handlers over [`crate::portal`], pages from
//! [`crate::portal::pages`]); a `pw_portal` cookie (`HttpOnly`, `SameSite=Lax`, `Secure` on
//! HTTPS, path `/portal`), a CSRF token on every change.

use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::ClientIp;
use crate::portal::pages;
use crate::portal::{self, Customer, GiftAction};
use crate::support::error::DomainError;
use crate::HostState;

/// The portal's stylesheet.
pub(super) async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/portal.css"),
    )
        .into_response()
}

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, Html(body)).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(pages::CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == portal::COOKIE)
        .map(|(_, v)| v.to_owned())
}

async fn signed_in(
    state: &HostState,
    headers: &HeaderMap,
) -> Result<Option<Customer>, DomainError> {
    match cookie_value(headers) {
        Some(v) => portal::customer(state, &v).await,
        None => Ok(None),
    }
}

fn session_cookie(state: &HostState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{}={value}; Path=/portal; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        portal::COOKIE
    ))
    .unwrap_or(HeaderValue::from_static(""))
}

fn back_to_portal() -> Response {
    Redirect::to("/portal").into_response()
}

fn failure(e: DomainError) -> (StatusCode, String) {
    match e {
        DomainError::Invalid { message, .. } => (StatusCode::BAD_REQUEST, message),
        DomainError::NotFound(_) => (StatusCode::NOT_FOUND, "Not found.".into()),
        DomainError::Refused { message, .. } => (StatusCode::CONFLICT, message),
        DomainError::Limited => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many tries. Use the link in the email, or try again tomorrow.".into(),
        ),
        DomainError::GatewayUnavailable(why) => {
            tracing::warn!(%why, "portal: gateway unavailable");
            (
                StatusCode::BAD_GATEWAY,
                "The payment processor could not be reached. Try again in a moment.".into(),
            )
        }
        other => {
            tracing::error!(cause = %other, "portal error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.".into(),
            )
        }
    }
}

/// `GET /portal`: the overview, or the sign-in form.
pub(super) async fn home(State(state): State<Arc<HostState>>, headers: HeaderMap) -> Response {
    match signed_in(&state, &headers).await {
        Ok(Some(c)) => match portal::overview(&state, &c).await {
            Ok(items) => html(StatusCode::OK, pages::overview(&c, &items, None)),
            Err(e) => {
                let (status, m) = failure(e);
                html(status, pages::sign_in(Some(&m)))
            }
        },
        Ok(None) => html(StatusCode::OK, pages::sign_in(None)),
        Err(e) => {
            let (status, m) = failure(e);
            html(status, pages::sign_in(Some(&m)))
        }
    }
}

/// The cancel confirmation's query.
#[derive(Deserialize)]
pub(super) struct CancelQuery {
    session: String,
}

/// `GET /portal/cancel?session=…`: asks before a recurring gift ends (changes nothing).
pub(super) async fn confirm_cancel(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Query(q): Query<CancelQuery>,
) -> Response {
    let c = match signed_in(&state, &headers).await {
        Ok(Some(c)) => c,
        _ => {
            return html(
                StatusCode::UNAUTHORIZED,
                pages::sign_in(Some("Sign in first.")),
            )
        }
    };
    match portal::overview(&state, &c).await {
        Ok(items) => match items.iter().find(|i| i.session.id == q.session) {
            Some(item) => html(StatusCode::OK, pages::confirm_cancel(&c, item)),
            None => html(
                StatusCode::NOT_FOUND,
                pages::overview(&c, &items, Some("Not found.")),
            ),
        },
        Err(e) => {
            let (status, m) = failure(e);
            html(status, pages::sign_in(Some(&m)))
        }
    }
}

/// The sign-in form.
#[derive(Deserialize)]
pub(super) struct SignIn {
    email: String,
}

/// `POST /portal/sign-in`: mails a link and a code.
pub(super) async fn sign_in(
    State(state): State<Arc<HostState>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<SignIn>,
) -> Response {
    // Another site must not spend an address's sign-in mails from its visitors' browsers.
    if !same_origin(&state, &headers) {
        return html(
            StatusCode::FORBIDDEN,
            pages::sign_in(Some("Sign in from this site's own page.")),
        );
    }
    match portal::request_sign_in(&state, &f.email, ip).await {
        Ok(email) => html(StatusCode::OK, pages::check_email(&email.to_string(), None)),
        Err(e) => {
            let (status, m) = failure(e);
            html(status, pages::sign_in(Some(&m)))
        }
    }
}

/// The link's query.
#[derive(Deserialize)]
pub(super) struct LinkQuery {
    token: String,
}

/// `GET /portal/login?token=…`: a button that signs in (opening the link uses nothing up).
pub(super) async fn login_page(Query(q): Query<LinkQuery>) -> Response {
    html(StatusCode::OK, pages::confirm_link(&q.token))
}

/// The sign-in submission: the link's token, or the address and the code.
#[derive(Deserialize)]
pub(super) struct Login {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

/// Whether a form post comes from the portal's own pages (login CSRF: another site must not
/// sign a visitor in to the attacker's portal).
pub(super) fn same_origin(state: &HostState, headers: &HeaderMap) -> bool {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    match (site, origin) {
        (Some(site), _) => matches!(site, "same-origin" | "none"),
        (None, Some(origin)) => origin == state.public_url,
        // Neither header (not a browser, or an old one): nothing to check against.
        (None, None) => true,
    }
}

/// `POST /portal/login`: the token or the code, once; sets the session cookie.
pub(super) async fn login(
    State(state): State<Arc<HostState>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<Login>,
) -> Response {
    if !same_origin(&state, &headers) {
        return html(
            StatusCode::FORBIDDEN,
            pages::sign_in(Some("Sign in from this site's own page.")),
        );
    }
    let opened = match (&f.token, &f.email, &f.code) {
        (Some(t), _, _) => portal::sign_in_with_token(&state, t).await,
        (None, Some(e), Some(c)) => portal::sign_in_with_code(&state, e, c, ip).await,
        _ => Err(DomainError::invalid(
            paywidget_core::api::ErrorCode::InvalidRequest,
            "Enter the 6-digit code from the email.",
        )),
    };
    match opened {
        Ok(cookie) => {
            let mut r = back_to_portal();
            r.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(&state, &cookie, portal::SESSION_TTL_SECS),
            );
            r
        }
        Err(e) => {
            let (status, m) = failure(e);
            match &f.email {
                Some(email) if f.token.is_none() => {
                    html(status, pages::check_email(email, Some(&m)))
                }
                _ => html(status, pages::sign_in(Some(&m))),
            }
        }
    }
}

/// A change's CSRF token.
#[derive(Deserialize)]
pub(super) struct Csrf {
    csrf: String,
}

/// `POST /portal/sign-out`.
pub(super) async fn sign_out(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Form(f): Form<Csrf>,
) -> Response {
    if let Ok(Some(c)) = signed_in(&state, &headers).await {
        if f.csrf == c.csrf {
            let _ = portal::sign_out(&state, &c).await;
        }
    }
    let mut r = back_to_portal();
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    r
}

/// Runs a change for the signed-in customer, then shows the overview (with why it failed).
async fn change<F, Fut>(state: &Arc<HostState>, headers: &HeaderMap, run: F) -> Response
where
    F: FnOnce(Customer) -> Fut,
    Fut: std::future::Future<Output = Result<(), DomainError>>,
{
    let c = match signed_in(state, headers).await {
        Ok(Some(c)) => c,
        _ => {
            return html(
                StatusCode::UNAUTHORIZED,
                pages::sign_in(Some("Sign in first.")),
            )
        }
    };
    match run(c.clone()).await {
        Ok(()) => Redirect::to("/portal").into_response(),
        Err(e) => {
            let (status, m) = failure(e);
            let items = portal::overview(state, &c).await.unwrap_or_default();
            html(status, pages::overview(&c, &items, Some(&m)))
        }
    }
}

/// The deactivate form.
#[derive(Deserialize)]
pub(super) struct Deactivate {
    csrf: String,
    order: String,
    instance: String,
}

/// `POST /portal/deactivate`: frees a seat of the customer's licence.
pub(super) async fn deactivate(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Form(f): Form<Deactivate>,
) -> Response {
    let s = state.clone();
    change(&state, &headers, |c| async move {
        portal::deactivate(&s, &c, &f.csrf, &f.order, &f.instance).await
    })
    .await
}

/// The subscription form.
#[derive(Deserialize)]
pub(super) struct SubscriptionChange {
    csrf: String,
    session: String,
    action: GiftAction,
    #[serde(default)]
    amount: Option<String>,
    /// `monthly` / `yearly` (the plan change's form; absent: unchanged).
    #[serde(default)]
    frequency: Option<String>,
}

/// `POST /portal/subscription`: one [`GiftAction`] on one of the customer's recurring gifts. A
/// form that names no known action gets the overview back with a message.
pub(super) async fn subscription(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    form: Result<Form<SubscriptionChange>, FormRejection>,
) -> Response {
    let s = state.clone();
    change(&state, &headers, |c| async move {
        let Ok(Form(f)) = form else {
            return Err(DomainError::invalid(
                paywidget_core::api::ErrorCode::InvalidRequest,
                "Unknown change.",
            ));
        };
        match f.action {
            GiftAction::Cancel => {
                portal::set_cancel_at_period_end(&s, &c, &f.csrf, &f.session, true).await
            }
            GiftAction::Resume => {
                portal::set_cancel_at_period_end(&s, &c, &f.csrf, &f.session, false).await
            }
            GiftAction::Pause => portal::set_paused(&s, &c, &f.csrf, &f.session, true).await,
            GiftAction::Unpause => portal::set_paused(&s, &c, &f.csrf, &f.session, false).await,
            GiftAction::Amount => {
                let frequency = match f.frequency.as_deref().filter(|f| !f.is_empty()) {
                    None => None,
                    Some(text) => match paywidget_core::api::Frequency::parse(text) {
                        Some(frequency) => Some(frequency),
                        None => {
                            return Err(DomainError::invalid(
                                paywidget_core::api::ErrorCode::InvalidRequest,
                                "Choose monthly or yearly.",
                            ))
                        }
                    },
                };
                portal::change_plan(
                    &s,
                    &c,
                    &f.csrf,
                    &f.session,
                    f.amount.as_deref().unwrap_or(""),
                    frequency,
                )
                .await
            }
        }
    })
    .await
}

/// The statement's year (default: this year by the host's clock).
#[derive(Deserialize)]
pub(super) struct Year {
    #[serde(default)]
    year: Option<i32>,
}

/// `GET /portal/statement?year=…`: the yearly giving statement, printable.
pub(super) async fn statement(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Query(q): Query<Year>,
) -> Response {
    let c = match signed_in(&state, &headers).await {
        Ok(Some(c)) => c,
        _ => {
            return html(
                StatusCode::UNAUTHORIZED,
                pages::sign_in(Some("Sign in first.")),
            )
        }
    };
    let this_year: i32 = crate::mail::civil_date(state.clock.now())[..4]
        .parse()
        .unwrap_or(1970);
    let year = q.year.unwrap_or(this_year).clamp(1970, 9999);
    match portal::statement(&state, &c, year).await {
        Ok((gifts, totals)) => html(StatusCode::OK, pages::statement(&c, year, &gifts, &totals)),
        Err(e) => {
            let (status, m) = failure(e);
            html(status, pages::sign_in(Some(&m)))
        }
    }
}

//! `/admin`: the merchant dashboard's routes. Thin: read the cookie, the form or the query,
//! call the `admin` room, answer a page (maud) under the dashboard's CSP. Sign-in is the
//! portal's mechanism in the staff realm, with its limits and its Origin check.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::portal::same_origin;
use super::ClientIp;
use crate::admin::{self, pages, Filters, RefundReason, Staff};
use crate::portal::{self, Realm};
use crate::support::error::DomainError;
use crate::HostState;

/// The portal's stylesheet and the dashboard's additions, as one file.
pub(super) async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        concat!(
            include_str!("../../assets/portal.css"),
            include_str!("../../assets/admin.css")
        ),
    )
        .into_response()
}

pub(super) fn html(status: StatusCode, body: String) -> Response {
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

/// A domain error as a status and a safe message (causes are logged).
pub(super) fn failure(e: DomainError) -> (StatusCode, String) {
    match e {
        DomainError::Invalid { message, .. } => (StatusCode::BAD_REQUEST, message),
        DomainError::NotFound(_) => (StatusCode::NOT_FOUND, "Not found.".into()),
        DomainError::Refused { message, .. } => (StatusCode::CONFLICT, message),
        DomainError::Forbidden(message) => (StatusCode::FORBIDDEN, message),
        DomainError::Limited => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many tries. Use the link in the email, or try again later.".into(),
        ),
        DomainError::GatewayUnavailable(why) => {
            tracing::warn!(%why, "dashboard: gateway unavailable");
            (
                StatusCode::BAD_GATEWAY,
                "The payment processor could not be reached. Try again in a moment.".into(),
            )
        }
        other => {
            tracing::error!(cause = %other, "dashboard error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.".into(),
            )
        }
    }
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == admin::COOKIE)
        .map(|(_, v)| v.to_owned())
}

fn session_cookie(state: &HostState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{}={value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}",
        admin::COOKIE
    ))
    .unwrap_or(HeaderValue::from_static(""))
}

/// The signed-in staff member for `merchant`, or the answer to give instead (the sign-in page).
pub(super) async fn who(
    state: &HostState,
    headers: &HeaderMap,
    merchant: Option<&str>,
) -> Result<Staff, Response> {
    let found = match cookie_value(headers) {
        Some(v) => admin::staff(state, &v, merchant).await,
        None => Ok(None),
    };
    match found {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(html(StatusCode::UNAUTHORIZED, pages::sign_in(None))),
        Err(e) => {
            let (status, m) = failure(e);
            Err(html(status, pages::sign_in(Some(&m))))
        }
    }
}

/// The overview's query.
#[derive(Deserialize)]
pub(super) struct OverviewQuery {
    #[serde(default)]
    merchant: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
}

/// `GET /admin`: the overview, or the sign-in form.
pub(super) async fn home(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Query(q): Query<OverviewQuery>,
) -> Response {
    let staff = match who(&state, &headers, q.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let now = state.clock.now();
    let local = &staff.local;
    let (range, message) = match admin::Range::parse(q.from.as_deref(), q.to.as_deref(), now, local)
    {
        Ok(r) => (r, None),
        Err(e) => (
            admin::Range::parse(None, None, now, local).expect("the default range"),
            Some(failure(e).1),
        ),
    };
    match admin::overview(&state, &staff, range).await {
        Ok(ov) => html(
            StatusCode::OK,
            pages::overview(
                &staff,
                &ov,
                &staff.local.iso_date(range.since),
                &staff.local.iso_date(range.until - 1),
                message.as_deref(),
            ),
        ),
        Err(e) => {
            let (status, m) = failure(e);
            html(status, pages::error(&staff, &m))
        }
    }
}

/// `GET /admin/payments`: the list, filtered by the query.
pub(super) async fn payments(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Query(f): Query<Filters>,
) -> Response {
    let staff = match who(&state, &headers, f.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let campaigns = campaigns_of(&state, &staff);
    show_payments(&state, &staff, &f, &campaigns, StatusCode::OK, None).await
}

/// The payments list with the staff member's saved filters, and `message` if there is one.
async fn show_payments(
    state: &HostState,
    staff: &admin::Staff,
    f: &Filters,
    campaigns: &[String],
    status: StatusCode,
    message: Option<&str>,
) -> Response {
    let saved = admin::filters::list(state, staff).await.unwrap_or_default();
    match admin::payments(state, staff, f).await {
        Ok((rows, next)) => html(
            status,
            pages::payments(staff, f, &rows, next.as_deref(), campaigns, &saved, message),
        ),
        Err(e) => {
            let (status, m) = failure(e);
            html(
                status,
                pages::payments(staff, f, &[], None, campaigns, &saved, Some(&m)),
            )
        }
    }
}

/// The campaigns of the staff member's merchant (the list's campaign filter).
fn campaigns_of(state: &HostState, staff: &admin::Staff) -> Vec<String> {
    state
        .config
        .campaigns
        .iter()
        .filter(|c| c.merchant == staff.merchant)
        .map(|c| c.id.clone())
        .collect()
}

/// The save-a-filter form.
#[derive(Deserialize)]
pub(super) struct SaveFilterForm {
    csrf: String,
    name: String,
    query: String,
    #[serde(default)]
    merchant: Option<String>,
}

/// `POST /admin/filters`: saves the list's filters under a name, then shows the list so.
pub(super) async fn save_filter(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Form(form): Form<SaveFilterForm>,
) -> Response {
    let staff = match who(&state, &headers, form.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !same_origin(&state, &headers) {
        return html(
            StatusCode::FORBIDDEN,
            pages::error(&staff, "Change filters from this dashboard's own page."),
        );
    }
    let campaigns = campaigns_of(&state, &staff);
    let shown = admin::filters::parse_query(&form.query).unwrap_or_default();
    match admin::filters::save(&state, &staff, &form.csrf, &form.name, &form.query).await {
        Ok(_) => {
            show_payments(
                &state,
                &staff,
                &shown,
                &campaigns,
                StatusCode::CREATED,
                Some("Filter saved."),
            )
            .await
        }
        Err(e) => {
            let (status, m) = failure(e);
            show_payments(&state, &staff, &shown, &campaigns, status, Some(&m)).await
        }
    }
}

/// The delete-a-saved-filter form.
#[derive(Deserialize)]
pub(super) struct CsrfForm {
    csrf: String,
    #[serde(default)]
    merchant: Option<String>,
}

/// `POST /admin/filters/{id}/delete`: deletes one of the staff member's saved filters.
pub(super) async fn delete_filter(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let staff = match who(&state, &headers, form.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !same_origin(&state, &headers) {
        return html(
            StatusCode::FORBIDDEN,
            pages::error(&staff, "Change filters from this dashboard's own page."),
        );
    }
    let campaigns = campaigns_of(&state, &staff);
    let (status, message) = match admin::filters::delete(&state, &staff, &form.csrf, &id).await {
        Ok(()) => (StatusCode::OK, "Saved filter deleted.".to_owned()),
        Err(e) => failure(e),
    };
    show_payments(
        &state,
        &staff,
        &Filters::default(),
        &campaigns,
        status,
        Some(&message),
    )
    .await
}

/// `GET /admin/payments.csv`: every payment the filters select.
pub(super) async fn export(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Query(f): Query<Filters>,
) -> Response {
    let staff = match who(&state, &headers, f.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match admin::all_payments(&state, &staff, &f).await {
        Ok(rows) => {
            let _ = admin::audit(
                &state,
                &staff,
                None,
                "export",
                &format!("{} payments ({})", rows.len(), f.to_query()),
            )
            .await;
            let name = format!(
                "attachment; filename=\"payments-{}-{}.csv\"",
                staff
                    .merchant
                    .replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
                crate::mail::civil_date(state.clock.now())
            );
            let mut r = admin::csv(&rows).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            if let Ok(v) = HeaderValue::from_str(&name) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => {
            let (status, m) = failure(e);
            html(status, pages::error(&staff, &m))
        }
    }
}

/// A merchant choice in a query.
#[derive(Deserialize)]
pub(super) struct MerchantQuery {
    #[serde(default)]
    pub(super) merchant: Option<String>,
}

/// `GET /admin/payments/{id}`: one payment and its timeline.
pub(super) async fn payment(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<MerchantQuery>,
) -> Response {
    let staff = match who(&state, &headers, q.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    show_payment(&state, &staff, &id, StatusCode::OK, None).await
}

async fn show_payment(
    state: &HostState,
    staff: &Staff,
    id: &str,
    status: StatusCode,
    message: Option<&str>,
) -> Response {
    match admin::payment(state, staff, id).await {
        Ok(p) => html(
            status,
            pages::payment(staff, &p, &admin::form_key(), message),
        ),
        Err(e) => {
            let (status, m) = failure(e);
            html(status, pages::error(staff, &m))
        }
    }
}

/// The refund form.
#[derive(Deserialize)]
pub(super) struct RefundForm {
    csrf: String,
    key: String,
    #[serde(default)]
    amount: String,
    reason: RefundReason,
    #[serde(default)]
    merchant: Option<String>,
}

/// `POST /admin/payments/{id}/refund`: a refund through the gateway, then the payment again.
pub(super) async fn refund(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<RefundForm>,
) -> Response {
    let staff = match who(&state, &headers, f.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !same_origin(&state, &headers) {
        return html(
            StatusCode::FORBIDDEN,
            pages::error(&staff, "Refund from this dashboard's own page."),
        );
    }
    match admin::refund(&state, &staff, &f.csrf, &id, &f.amount, f.reason, &f.key).await {
        Ok(amount) => {
            let message = format!(
                "Refund of {amount} sent to the payment processor; the receipt follows when it confirms."
            );
            show_payment(&state, &staff, &id, StatusCode::OK, Some(&message)).await
        }
        Err(e) => {
            let (status, m) = failure(e);
            show_payment(&state, &staff, &id, status, Some(&m)).await
        }
    }
}

/// The licences search.
#[derive(Deserialize)]
pub(super) struct LicenceQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    merchant: Option<String>,
}

/// `GET /admin/licences?q=…`: find a licence by key, email or order.
pub(super) async fn licences(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Query(q): Query<LicenceQuery>,
) -> Response {
    let staff = match who(&state, &headers, q.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let text = q.q.unwrap_or_default();
    match admin::licences(&state, &staff, Some(&text)).await {
        Ok(rows) => html(StatusCode::OK, pages::licences(&staff, &text, &rows, None)),
        Err(e) => {
            let (status, m) = failure(e);
            html(status, pages::licences(&staff, &text, &[], Some(&m)))
        }
    }
}

/// `GET /admin/licences/{id}`: the activation doctor.
pub(super) async fn licence(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<MerchantQuery>,
) -> Response {
    let staff = match who(&state, &headers, q.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    show_licence(&state, &staff, &id, StatusCode::OK, None).await
}

async fn show_licence(
    state: &HostState,
    staff: &Staff,
    id: &str,
    status: StatusCode,
    message: Option<&str>,
) -> Response {
    match admin::licence(state, staff, id).await {
        Ok(l) => html(status, pages::licence(staff, &l, message)),
        Err(e) => {
            let (status, m) = failure(e);
            html(status, pages::error(staff, &m))
        }
    }
}

/// The free-seats form: one instance, or every seat without one.
#[derive(Deserialize)]
pub(super) struct SeatsForm {
    csrf: String,
    #[serde(default)]
    instance: Option<String>,
    #[serde(default)]
    merchant: Option<String>,
}

/// `POST /admin/licences/{id}/seats`: frees one seat or all.
pub(super) async fn free_seats(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<SeatsForm>,
) -> Response {
    let staff = match who(&state, &headers, f.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !same_origin(&state, &headers) {
        return html(
            StatusCode::FORBIDDEN,
            pages::error(&staff, "Change licences from this dashboard's own page."),
        );
    }
    let instance = f.instance.as_deref().filter(|i| !i.is_empty());
    match admin::free_seats(&state, &staff, &f.csrf, &id, instance).await {
        Ok(n) => {
            let m = format!("Freed {n} seat(s).");
            show_licence(&state, &staff, &id, StatusCode::OK, Some(&m)).await
        }
        Err(e) => {
            let (status, m) = failure(e);
            show_licence(&state, &staff, &id, status, Some(&m)).await
        }
    }
}

/// A form that only acts: its CSRF token (and the merchant, for staff of several).
#[derive(Deserialize)]
pub(super) struct ActionForm {
    csrf: String,
    #[serde(default)]
    merchant: Option<String>,
}

/// `POST /admin/payments/{id}/resend`: the receipt or licence mail again.
pub(super) async fn resend(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    let staff = match who(&state, &headers, f.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !same_origin(&state, &headers) {
        return html(
            StatusCode::FORBIDDEN,
            pages::error(&staff, "Send mail from this dashboard's own page."),
        );
    }
    match admin::resend(&state, &staff, &f.csrf, &id).await {
        Ok(()) => show_payment(&state, &staff, &id, StatusCode::OK, Some("Sent again.")).await,
        Err(e) => {
            let (status, m) = failure(e);
            show_payment(&state, &staff, &id, status, Some(&m)).await
        }
    }
}

/// The sign-in form.
#[derive(Deserialize)]
pub(super) struct SignIn {
    email: String,
}

/// `POST /admin/sign-in`: mails a link and a code to listed staff (the same answer otherwise).
pub(super) async fn sign_in(
    State(state): State<Arc<HostState>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<SignIn>,
) -> Response {
    if !same_origin(&state, &headers) {
        return html(
            StatusCode::FORBIDDEN,
            pages::sign_in(Some("Sign in from this site's own page.")),
        );
    }
    match portal::request_sign_in_in(&state, Realm::Staff, &f.email, ip).await {
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

/// `GET /admin/login?token=…`: a button that signs in.
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

/// `POST /admin/login`: the token or the code, once; sets the dashboard cookie.
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
        (Some(t), _, _) => portal::sign_in_with_token_in(&state, Realm::Staff, t).await,
        (None, Some(e), Some(c)) => {
            portal::sign_in_with_code_in(&state, Realm::Staff, e, c, ip).await
        }
        _ => Err(DomainError::invalid(
            paywidget_core::api::ErrorCode::InvalidRequest,
            "Enter the 6-digit code from the email.",
        )),
    };
    match opened {
        Ok(cookie) => {
            let mut r = Redirect::to("/admin").into_response();
            r.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(&state, &cookie, 12 * 3600),
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

/// `POST /admin/sign-out`.
pub(super) async fn sign_out(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Form(f): Form<Csrf>,
) -> Response {
    if let Some(v) = cookie_value(&headers) {
        if let Ok(Some(c)) = portal::session_in(&state, Realm::Staff, &v).await {
            if portal::same_token(&f.csrf, &c.csrf) {
                let _ = portal::sign_out(&state, &c).await;
            }
        }
    }
    let mut r = Redirect::to("/admin").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    r
}

/// The settlement's range: the query's, by default the 30 days of arrivals up to three days
/// ahead (a payment's payout arrives two days after it). In UTC days, as the gateway dates
/// its payouts' arrivals.
fn settlement_range(state: &HostState, q: &OverviewQuery) -> Result<admin::Range, DomainError> {
    let ahead = crate::mail::civil_date(state.clock.now() + 3 * 86_400);
    let to = q.to.as_deref().filter(|t| !t.is_empty()).unwrap_or(&ahead);
    admin::Range::parse(
        q.from.as_deref(),
        Some(to),
        state.clock.now(),
        &crate::support::local::Local::utc(),
    )
}

/// `GET /admin/settlement`: payouts matched to payments.
pub(super) async fn settlement(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Query(q): Query<OverviewQuery>,
) -> Response {
    let staff = match who(&state, &headers, q.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let found = match settlement_range(&state, &q) {
        Ok(range) => admin::settlement::settlement(&state, &staff, range)
            .await
            .map(|s| (range, s)),
        Err(e) => Err(e),
    };
    match found {
        Ok((range, s)) => html(
            StatusCode::OK,
            pages::settlement(
                &staff,
                &s,
                &crate::mail::civil_date(range.since),
                &crate::mail::civil_date(range.until - 1),
                None,
            ),
        ),
        Err(e) => {
            let (status, m) = failure(e);
            html(status, pages::error(&staff, &m))
        }
    }
}

/// `GET /admin/settlement.csv`: every transaction of the range's payouts.
pub(super) async fn settlement_csv(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Query(q): Query<OverviewQuery>,
) -> Response {
    let staff = match who(&state, &headers, q.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let found = match settlement_range(&state, &q) {
        Ok(range) => admin::settlement::settlement(&state, &staff, range).await,
        Err(e) => Err(e),
    };
    match found {
        Ok(s) => {
            let mut r = admin::settlement::csv(&s).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            h.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"settlement.csv\""),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => {
            let (status, m) = failure(e);
            html(status, pages::error(&staff, &m))
        }
    }
}

/// `GET /admin/disputes`: the merchant's disputes and their deadlines.
pub(super) async fn disputes(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Query(q): Query<MerchantQuery>,
) -> Response {
    let staff = match who(&state, &headers, q.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match admin::disputes::list(&state, &staff).await {
        Ok(rows) => html(
            StatusCode::OK,
            pages::disputes(&staff, &rows, state.clock.now()),
        ),
        Err(e) => {
            let (status, m) = failure(e);
            html(status, pages::error(&staff, &m))
        }
    }
}

/// `GET /admin/disputes/{id}`: one dispute and the evidence the host holds.
pub(super) async fn dispute(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<MerchantQuery>,
) -> Response {
    let staff = match who(&state, &headers, q.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match admin::disputes::evidence(&state, &staff, &id).await {
        Ok(e) => html(
            StatusCode::OK,
            pages::dispute(&staff, &e, state.clock.now()),
        ),
        Err(e) => {
            let (status, m) = failure(e);
            html(status, pages::error(&staff, &m))
        }
    }
}

/// `GET /admin/gifts`: the merchant's recurring gifts.
pub(super) async fn gifts(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Query(q): Query<MerchantQuery>,
) -> Response {
    let staff = match who(&state, &headers, q.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match admin::gifts::list(&state, &staff).await {
        Ok(g) => html(StatusCode::OK, pages::gifts(&staff, &g)),
        Err(e) => {
            let (status, m) = failure(e);
            html(status, pages::error(&staff, &m))
        }
    }
}

/// A recurring gift's action form.
#[derive(Deserialize)]
pub(super) struct GiftForm {
    csrf: String,
    action: String,
    #[serde(default)]
    amount: Option<String>,
    #[serde(default)]
    frequency: Option<String>,
    #[serde(default)]
    merchant: Option<String>,
}

/// `POST /admin/payments/{id}/gift`: pause, resume, end, keep, change or mail the card link.
pub(super) async fn gift(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<GiftForm>,
) -> Response {
    let staff = match who(&state, &headers, f.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !same_origin(&state, &headers) {
        return html(
            StatusCode::FORBIDDEN,
            pages::error(&staff, "Change gifts from this dashboard's own page."),
        );
    }
    match admin::gifts::act(
        &state,
        &staff,
        &f.csrf,
        &id,
        &f.action,
        f.amount.as_deref(),
        f.frequency.as_deref(),
    )
    .await
    {
        Ok(m) => show_payment(&state, &staff, &id, StatusCode::OK, Some(&m)).await,
        Err(e) => {
            let (status, m) = failure(e);
            show_payment(&state, &staff, &id, status, Some(&m)).await
        }
    }
}

/// The licence care form.
#[derive(Deserialize)]
pub(super) struct CareForm {
    csrf: String,
    action: String,
    #[serde(default)]
    days: Option<String>,
    #[serde(default)]
    merchant: Option<String>,
}

/// `POST /admin/licences/{id}/care`: a seat more, more days, suspend, reinstate, revoke.
pub(super) async fn licence_care(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CareForm>,
) -> Response {
    let staff = match who(&state, &headers, f.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !same_origin(&state, &headers) {
        return html(
            StatusCode::FORBIDDEN,
            pages::error(&staff, "Change licences from this dashboard's own page."),
        );
    }
    let Some(care) = admin::LicenceCare::parse(&f.action, f.days.as_deref()) else {
        return show_licence(
            &state,
            &staff,
            &id,
            StatusCode::BAD_REQUEST,
            Some("Choose an action (and 1 to 366 days to extend by)."),
        )
        .await;
    };
    match admin::care_for_licence(&state, &staff, &f.csrf, &id, care).await {
        Ok(m) => show_licence(&state, &staff, &id, StatusCode::OK, Some(&m)).await,
        Err(e) => {
            let (status, m) = failure(e);
            show_licence(&state, &staff, &id, status, Some(&m)).await
        }
    }
}

/// `GET /admin/health`.
pub(super) async fn health(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Query(q): Query<MerchantQuery>,
) -> Response {
    let staff = match who(&state, &headers, q.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    show_health(&state, &staff, StatusCode::OK, None).await
}

async fn show_health(
    state: &HostState,
    staff: &admin::Staff,
    status: StatusCode,
    message: Option<&str>,
) -> Response {
    match admin::health::health(state, staff).await {
        Ok(h) => html(status, pages::health(staff, &h, message)),
        Err(e) => {
            let (status, m) = failure(e);
            html(status, pages::error(staff, &m))
        }
    }
}

/// The digest switch.
#[derive(Deserialize)]
pub(super) struct DigestForm {
    csrf: String,
    on: bool,
    #[serde(default)]
    merchant: Option<String>,
}

/// `POST /admin/digest`: the weekly digest on or off (owners).
pub(super) async fn digest(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Form(f): Form<DigestForm>,
) -> Response {
    let staff = match who(&state, &headers, f.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !same_origin(&state, &headers) {
        return html(
            StatusCode::FORBIDDEN,
            pages::error(&staff, "Change settings from this dashboard's own page."),
        );
    }
    match admin::health::set_digest(&state, &staff, &f.csrf, f.on).await {
        Ok(()) => show_health(&state, &staff, StatusCode::OK, Some("Saved.")).await,
        Err(e) => {
            let (status, m) = failure(e);
            show_health(&state, &staff, status, Some(&m)).await
        }
    }
}

/// A note's form.
#[derive(Deserialize)]
pub(super) struct NoteForm {
    csrf: String,
    text: String,
    #[serde(default)]
    merchant: Option<String>,
}

/// `POST /admin/payments/{id}/note`: a staff note in the payment's timeline.
pub(super) async fn note(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<NoteForm>,
) -> Response {
    let staff = match who(&state, &headers, f.merchant.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !same_origin(&state, &headers) {
        return html(
            StatusCode::FORBIDDEN,
            pages::error(&staff, "Add notes from this dashboard's own page."),
        );
    }
    match admin::add_note(&state, &staff, &f.csrf, &id, &f.text).await {
        Ok(()) => show_payment(&state, &staff, &id, StatusCode::OK, Some("Note added.")).await,
        Err(e) => {
            let (status, m) = failure(e);
            show_payment(&state, &staff, &id, status, Some(&m)).await
        }
    }
}

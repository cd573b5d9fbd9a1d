//! The host's HTTP surface: the router, the JSON body parser (which refuses card data before
//! anything else looks at a body) and the per-IP rate limiter. One module per feature holds its
//! thin handlers: parse, call the domain, answer with the wire contract's types.

pub mod embed;
pub mod error;
pub mod static_files;

mod admin;
mod admin_webhooks;
mod campaigns;
mod licences;
mod mailbox;
mod portal;
mod sessions;
mod thanks;
mod three_d_secure;
mod update_card;
mod webhooks;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use paywidget_core::api::ErrorCode;
use paywidget_core::card::luhn_valid;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::{CompressionLayer, CompressionLevel};

use crate::http::error::HostError;
use crate::HostState;

/// Request bodies are small JSON documents; anything bigger is refused.
const MAX_BODY: usize = 16 * 1024;

/// A gateway event can be large (several invoice lines, expanded objects, metadata): Stripe's
/// own are well under this. Only the signed webhook route takes it.
pub const MAX_WEBHOOK_BODY: usize = 512 * 1024;

/// A rate limiter keyed by client IP address.
pub type IpLimiter = Arc<governor::DefaultKeyedRateLimiter<std::net::IpAddr>>;

/// `per_minute` requests per IP, allowed in a burst of the same size.
pub fn ip_limiter(per_minute: u32) -> IpLimiter {
    let n = std::num::NonZeroU32::new(per_minute.max(1)).unwrap_or(std::num::NonZeroU32::MIN);
    Arc::new(governor::RateLimiter::keyed(governor::Quota::per_minute(n)))
}

/// The client's address (behind a trusted proxy, the one it names), where the connection's
/// address is known.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl axum::extract::FromRequestParts<Arc<HostState>> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Arc<HostState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(
            state,
            &parts.extensions,
            &parts.headers,
        )))
    }
}

fn client_ip(
    state: &HostState,
    extensions: &axum::http::Extensions,
    headers: &axum::http::HeaderMap,
) -> Option<std::net::IpAddr> {
    let peer = extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()?
        .0
        .ip();
    let server = &state.config.server;
    if server.trusted_proxies.is_empty() {
        return Some(crate::support::client_ip::canonical(peer));
    }
    // Several header lines read as one list, in order.
    let forwarded = headers
        .get_all(server.client_ip_header.as_str())
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    Some(crate::support::client_ip::resolve(
        peer,
        (!forwarded.is_empty()).then_some(forwarded.as_str()),
        &server.trusted_proxies,
    ))
}

/// Refuses a client over its quota with 429 (only where the connection's address is known):
/// an IPv4 address, or an IPv6 /64, whatever route of the limited ones it calls.
async fn rate_limit(
    State(state): State<Arc<HostState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let ip = client_ip(&state, req.extensions(), req.headers());
    if let Some(ip) = ip {
        prune_limiter(&state);
        let key = crate::support::client_ip::limit_key(ip);
        if state.limiter.check_key(&key).is_err() || over_shared_quota(&state, key).await {
            return HostError::RateLimited.into_response();
        }
    }
    next.run(req).await
}

/// Forgets, at most once a minute, the clients whose quota is whole again: the limiter's
/// memory follows the clients of the last minute, not every address ever seen.
fn prune_limiter(state: &HostState) {
    use std::sync::atomic::Ordering;
    let now = state.clock.now();
    let last = state.limiter_pruned.load(Ordering::Relaxed);
    if now - last >= 60
        && state
            .limiter_pruned
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        state.limiter.retain_recent();
        state.limiter.shrink_to_fit();
    }
}

/// With a database several hosts share, the quota holds across them: a per-minute count per
/// address in the database (this host's own limiter alone would allow hosts × the quota).
/// The window slides: the previous minute's count weighs in for the part of it still inside
/// the last 60 seconds, so a burst across a minute's edge is not allowed twice the quota.
/// A database error lets the request through: the shield still stands behind it.
async fn over_shared_quota(state: &HostState, ip: std::net::IpAddr) -> bool {
    if !state.config.server.db.is_shared() {
        return false;
    }
    let now = state.clock.now();
    let (bucket, into) = (now.div_euclid(60), now.rem_euclid(60));
    let key = format!("ip:{}", crate::support::client_ip::limit_text(ip));
    let counts = async {
        let this = state.store.rate_hit(&key, bucket).await?;
        let before = state.store.rate_count(&key, bucket - 1).await?;
        Ok::<_, crate::store::StoreError>((this, before))
    };
    match counts.await {
        Ok((this, before)) => {
            sliding_count(this, before, into) > i64::from(state.config.server.rate_limit_per_minute)
        }
        Err(e) => {
            tracing::warn!(error = %e, "shared rate limit not counted");
            false
        }
    }
}

/// The requests in the last 60 seconds, estimated from this minute's count `this`, the previous
/// minute's `before`, and `into` seconds into this minute (the previous minute is taken as
/// evenly spread). Rounded up, so the estimate never flatters a burst.
fn sliding_count(this: i64, before: i64, into: i64) -> i64 {
    let into = into.clamp(0, 59);
    this + (before * (60 - into) + 59) / 60
}

/// Every route.
pub fn router(state: Arc<HostState>) -> Router {
    // The confirmation page's stylesheet, as the build named it: read once, not per page.
    let thanks_css: Arc<str> = static_files::stylesheet_href(&state.config.server.dist)
        .unwrap_or_default()
        .into();
    // The hosted pages (the widget's `dist/`), made first: the update-card route hands them
    // its usable links.
    let dist = state.config.server.dist.clone();
    let pages: Router = if dist.join("index.html").is_file() {
        static_files::router(&state.config, &dist)
    } else {
        Router::new().fallback(|| async { HostError::NotFound("page") })
    };
    let update_css = thanks_css.clone();
    let limited = Router::new()
        .route("/api/sessions", post(sessions::create))
        .route("/api/sessions/{id}/pay", post(sessions::pay))
        .route("/portal/sign-in", post(portal::sign_in))
        .route("/portal/login", post(portal::login))
        .route("/api/update-card", post(update_card::update))
        // These call the gateway: each request spends the merchant's gateway quota.
        .route("/checkout/return", {
            let css = thanks_css.clone();
            get(move |st, q, h| three_d_secure::back_from_bank(st, q, h, css.clone()))
        })
        .route("/portal/subscription", post(portal::subscription))
        .route("/admin/sign-in", post(admin::sign_in))
        .route("/admin/login", post(admin::login))
        .route("/admin/payments/{id}/refund", post(admin::refund))
        .route("/admin/licences/{id}/seats", post(admin::free_seats))
        .route("/admin/licences/{id}/care", post(admin::licence_care))
        .route("/admin/payments/{id}/resend", post(admin::resend))
        .route("/admin/payments/{id}/gift", post(admin::gift))
        .route("/admin/payments/{id}/note", post(admin::note))
        .route("/admin/digest", post(admin::digest))
        .route("/admin/filters", post(admin::save_filter))
        .route("/admin/filters/{id}/delete", post(admin::delete_filter))
        .route("/admin/webhooks", post(admin_webhooks::add))
        .route("/admin/webhooks/{id}/{action}", post(admin_webhooks::act))
        // The export reads every matching payment: the costliest page a session can ask for.
        .route("/admin/payments.csv", get(admin::export))
        // Settlement calls the gateway for every payout: limited like every such route.
        .route("/admin/settlement", get(admin::settlement))
        .route("/admin/settlement.csv", get(admin::settlement_csv))
        // The dashboard's pages read aggregates over the merchant's payments: a stolen staff
        // session (or a script) reloading them in a loop is held to the same quota.
        .route("/admin", get(admin::home))
        .route("/admin/payments", get(admin::payments))
        .route("/admin/payments/{id}", get(admin::payment))
        .route("/admin/licences", get(admin::licences))
        .route("/admin/licences/{id}", get(admin::licence))
        .route("/admin/webhooks", get(admin_webhooks::list))
        .route("/admin/webhooks/{id}", get(admin_webhooks::one))
        .route("/admin/disputes", get(admin::disputes))
        .route("/admin/disputes/{id}", get(admin::dispute))
        .route("/admin/gifts", get(admin::gifts))
        .route("/admin/health", get(admin::health))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit,
        ));
    let api = Router::new()
        .merge(limited)
        .route("/api/campaigns/{id}", get(campaigns::campaign))
        .route("/api/sessions/{id}", get(sessions::status))
        .route(
            "/thanks/{id}",
            get(move |st, id, q, headers| thanks::page(st, id, q, headers, thanks_css.clone())),
        )
        .route("/api/licenses/public-key", get(licences::public_key))
        .route("/api/licenses/verify", post(licences::verify))
        .route("/api/licenses/activate", post(licences::activate))
        .route("/api/licenses/deactivate", post(licences::deactivate))
        .route("/api/update-card/{link}", get(update_card::view))
        .route("/portal", get(portal::home))
        .route("/portal/cancel", get(portal::confirm_cancel))
        .route("/portal/login", get(portal::login_page))
        .route("/portal/portal.css", get(portal::stylesheet))
        .route("/portal/sign-out", post(portal::sign_out))
        .route("/portal/deactivate", post(portal::deactivate))
        .route("/portal/statement", get(portal::statement))
        .route("/admin/admin.css", get(admin::stylesheet))
        .route("/admin/login", get(admin::login_page))
        .route("/admin/sign-out", post(admin::sign_out))
        .route("/healthz", get(|| async { "ok" }))
        .merge(crate::http::embed::router())
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .merge(
            Router::new()
                .route("/webhooks/gateway", post(webhooks::gateway))
                .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY)),
        );
    // A development host's mailbox (never a production one: `dev_secret` is refused there).
    let api = if state.config.server.dev_secret {
        api.route("/dev/mailbox", get(mailbox::page))
    } else {
        api
    };
    // The update-card page is the hosted pages' (below), unless its link can no longer be used.
    let api = api.route("/c/{campaign}/update-card", {
        let (css, pages) = (update_css, pages.clone());
        get(move |st, q, request| update_card::page(st, q, css.clone(), pages.clone(), request))
    });
    api.with_state(state).merge(pages).layer(compression())
}

/// Compresses, by `Accept-Encoding` (adding `Vary`), what the release build did not
/// precompress: JSON answers, the loader and the snippet page's assets, HTML. Files served
/// from their `.br`/`.gz` already carry `Content-Encoding` and pass untouched; wasm is never
/// compressed per request (the release build ships it precompressed).
fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new()
        .no_deflate()
        .no_zstd()
        .quality(CompressionLevel::Best)
        .compress_when(
            DefaultPredicate::new().and(NotForContentType::const_new("application/wasm")),
        )
}

/// Field names that mean card data; the host must never receive them.
const CARD_FIELDS: &[&str] = &[
    "number",
    "card_number",
    "cardnumber",
    "pan",
    "cvc",
    "cvv",
    "cvc2",
    "card[number]",
    "card[cvc]",
    "exp_month",
    "exp_year",
];

/// Whether a JSON document carries card data: a card field name, or a string or number that is
/// a Luhn-valid 13–19 digit card number.
pub fn contains_card_data(v: &Value) -> bool {
    let looks_like_pan = |s: &str| {
        let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        (13..=19).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && luhn_valid(&digits)
    };
    match v {
        Value::Object(map) => map.iter().any(|(k, v)| {
            CARD_FIELDS.contains(&k.to_ascii_lowercase().as_str()) || contains_card_data(v)
        }),
        Value::Array(items) => items.iter().any(contains_card_data),
        Value::String(s) => looks_like_pan(s),
        Value::Number(n) => looks_like_pan(&n.to_string()),
        _ => false,
    }
}

/// Parses a JSON body into a contract request type, refusing card data before anything else
/// looks at it (so it is inspected as a raw JSON tree first, never logged).
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, HostError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        HostError::bad(
            ErrorCode::InvalidJson,
            format!("The body is not valid JSON: {e}"),
        )
    })?;
    if contains_card_data(&value) {
        tracing::warn!("refused a request carrying card data (not logged)");
        return Err(HostError::bad(
            ErrorCode::CardDataNotAccepted,
            "Card details must go to the payment gateway, never to this server.",
        ));
    }
    serde_json::from_value(value)
        .map_err(|e| HostError::bad(ErrorCode::InvalidRequest, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::{contains_card_data, parse, sliding_count};
    use paywidget_core::api::{ErrorCode, PayRequest};
    use serde_json::json;

    #[test]
    fn the_shared_window_slides_across_the_minute() {
        // At the start of a minute the whole previous minute counts, at its end almost none.
        assert_eq!(sliding_count(1, 5, 0), 6);
        assert_eq!(sliding_count(1, 5, 30), 4);
        assert_eq!(sliding_count(1, 5, 59), 2);
        // Nothing before: this minute alone.
        assert_eq!(sliding_count(3, 0, 10), 3);
        // Rounded up, never down to nothing while any of the previous minute remains.
        assert_eq!(sliding_count(0, 1, 59), 1);
        // A clock stepping outside the minute is held inside it.
        assert_eq!(sliding_count(2, 6, -5), 8);
        assert_eq!(sliding_count(2, 6, 90), 3);
    }

    #[test]
    fn card_data_is_recognised() {
        assert!(contains_card_data(&json!({ "card": { "number": "x" } })));
        assert!(contains_card_data(&json!({ "cvc": "123" })));
        assert!(contains_card_data(
            &json!({ "note": "4242 4242 4242 4242" })
        ));
        assert!(contains_card_data(&json!({ "x": [4242424242424242u64] })));
        assert!(!contains_card_data(
            &json!({ "payment_method": "pm_123", "idempotency_key": "k1", "amount": 2500 })
        ));
        assert!(
            !contains_card_data(&json!({ "note": "1234567890123" })),
            "not Luhn-valid"
        );
    }

    #[test]
    fn parse_refuses_card_data_before_the_type_sees_it() {
        let code = |body: &str| {
            parse::<PayRequest>(body.as_bytes())
                .unwrap_err()
                .status_and_code()
                .1
        };
        assert_eq!(code("{"), ErrorCode::InvalidJson);
        assert_eq!(
            code(r#"{"payment_method":"pm_1","idempotency_key":"k","cvc":"1"}"#),
            ErrorCode::CardDataNotAccepted
        );
        assert_eq!(
            code(r#"{"payment_method":"pm_1"}"#),
            ErrorCode::InvalidRequest
        );
        let ok: PayRequest = parse(br#"{"payment_method":"pm_1","idempotency_key":"k"}"#).unwrap();
        assert_eq!(ok.idempotency_key, "k");
    }
}

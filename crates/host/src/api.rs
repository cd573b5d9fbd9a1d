//! The host's routes: the checkout's JSON API, the gateway webhook, the 3-D Secure return and
//! the hosted pages. Handlers are thin: parse, call the domain, answer.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use paywidget_core::card::luhn_valid;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Row;

use crate::config::Kind;
use crate::error::HostError;
use crate::gateway::Gateway;
use crate::{licence, markdown, sessions, static_files, webhooks, HostState};

/// Request bodies are small JSON documents; anything bigger is refused.
const MAX_BODY: usize = 16 * 1024;

/// A rate limiter keyed by client IP address.
pub type IpLimiter = Arc<governor::DefaultKeyedRateLimiter<std::net::IpAddr>>;

/// `per_minute` requests per IP, allowed in a burst of the same size.
pub fn ip_limiter(per_minute: u32) -> IpLimiter {
    let n = std::num::NonZeroU32::new(per_minute.max(1)).unwrap_or(std::num::NonZeroU32::MIN);
    Arc::new(governor::RateLimiter::keyed(governor::Quota::per_minute(n)))
}

/// Refuses a client IP over its quota with 429 (only where the connection's address is known).
async fn rate_limit(
    State(state): State<Arc<HostState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let ip = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = ip {
        if state.limiter.check_key(&ip).is_err() {
            return HostError::RateLimited.into_response();
        }
    }
    next.run(req).await
}

/// Every route.
pub fn router(state: Arc<HostState>) -> Router {
    let limited = Router::new()
        .route("/api/sessions", post(create_session))
        .route("/api/sessions/{id}/pay", post(pay))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit,
        ));
    let api = Router::new()
        .merge(limited)
        .route("/api/campaigns/{id}", get(campaign))
        .route("/api/sessions/{id}", get(session_status))
        .route("/api/licenses/public-key", get(public_key))
        .route("/api/licenses/verify", post(verify_licence))
        .route("/webhooks/gateway", post(webhook))
        .route("/checkout/return", get(three_d_secure_return))
        .route("/healthz", get(|| async { "ok" }))
        .merge(crate::embed::router())
        .layer(DefaultBodyLimit::max(MAX_BODY));
    let dist = state.config.server.dist.clone();
    let pages = if dist.join("index.html").is_file() {
        static_files::router(&state.config, &dist)
    } else {
        Router::new().fallback(|| async { HostError::NotFound("page") })
    };
    api.with_state(state).merge(pages)
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

/// Parses a JSON body, refusing card data before anything else looks at it.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, HostError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| HostError::bad("invalid_json", format!("The body is not valid JSON: {e}")))?;
    if contains_card_data(&value) {
        tracing::warn!("refused a request carrying card data (not logged)");
        return Err(HostError::bad(
            "card_data_not_accepted",
            "Card details must go to the payment gateway, never to this server.",
        ));
    }
    serde_json::from_value(value).map_err(|e| HostError::bad("invalid_request", e.to_string()))
}

async fn campaign(
    State(state): State<Arc<HostState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, HostError> {
    let c = state
        .config
        .campaign(&id)
        .ok_or(HostError::NotFound("campaign"))?;
    let m = state
        .config
        .merchant(&c.merchant)
        .ok_or(HostError::NotFound("merchant"))?;
    Ok(Json(json!({
        "id": c.id,
        "kind": if c.kind == Kind::License { "license" } else { "donation" },
        "title": c.title,
        "merchant_name": m.name,
        "currency": c.currency.to_ascii_uppercase(),
        "suggested_amounts": c.suggested_amounts,
        "min_amount": c.min_amount,
        "max_amount": c.max_amount,
        "price": c.price,
        "fee_coverage": c.fee_coverage.map(|f| json!({ "percent": f.percent, "fixed": f.fixed })),
        "gateway_url": m.gateway_url,
        "publishable_key": m.publishable_key,
        "logo_url": c.logo_url,
        "collect_postal_code": m.collect_postal_code,
        "allowed_origins": m.allowed_origins,
    })))
}

async fn create_session(
    State(state): State<Arc<HostState>>,
    body: Bytes,
) -> Result<Response, HostError> {
    let created = sessions::create(&state, parse(&body)?).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn pay(
    State(state): State<Arc<HostState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<sessions::PayOutcome>, HostError> {
    Ok(Json(sessions::pay(&state, &id, parse(&body)?).await?))
}

async fn session_status(
    State(state): State<Arc<HostState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, HostError> {
    let s = sessions::load(&state.db, &id).await?;
    let mut out = json!({
        "id": s.id,
        "status": s.status,
        "amount": s.amount,
        "fee": s.fee,
        "total": s.amount + s.fee,
        "currency": s.currency,
        "kind": s.kind,
    });
    if s.status == "declined" {
        out["decline"] = json!({ "code": s.decline_code, "message": s.decline_message });
    }
    if s.status == "requires_action" {
        out["redirect_url"] = json!(s.redirect_url);
    }
    let f = sqlx::query("SELECT * FROM fulfilments WHERE session_id = ?")
        .bind(&s.id)
        .fetch_optional(&state.db)
        .await?;
    if let Some(f) = f {
        let campaign = state.config.campaign(&s.campaign);
        let merchant = state.config.merchant(&s.merchant);
        let revoked: bool = f.get::<i64, _>("revoked") != 0;
        // When it was confirmed, and where the email went (masked: the page only reminds).
        out["confirmed_at"] = json!(f.get::<i64, _>("created"));
        if let Some(email) = &s.email {
            out["emailed_to"] = json!(mask_email(email));
        }
        if let Some(key) = f.get::<Option<String>, _>("license_key") {
            let instructions: serde_json::Map<String, Value> = campaign
                .map(|c| {
                    c.instructions
                        .iter()
                        .map(|(k, v)| (k.clone(), json!(markdown::render(v))))
                        .collect()
                })
                .unwrap_or_default();
            out["license"] =
                json!({ "key": key, "revoked": revoked, "instructions_html": instructions });
        }
        if let Some(number) = f.get::<Option<String>, _>("receipt_number") {
            out["receipt"] = json!({
                "number": number,
                "org_name": merchant.map(|m| m.receipt_org_name.clone().unwrap_or_else(|| m.name.clone())),
                "tax_statement": merchant.and_then(|m| m.tax_statement.clone()),
                "text": campaign.and_then(|c| c.receipt_text.clone()),
                "refunded": revoked,
            });
        }
        if let Some(url) = campaign.and_then(|c| c.success_url.clone()) {
            out["success_url"] = json!(url);
            out["merchant_name"] = json!(merchant.map(|m| m.name.clone()));
        }
    }
    Ok(Json(out))
}

async fn public_key(State(state): State<Arc<HostState>>) -> Json<Value> {
    let public = state.signing_key.verifying_key().to_bytes();
    Json(json!({
        "algorithm": "Ed25519",
        "public_key_hex": hex::encode(public),
        "public_key_base64": base64::engine::general_purpose::STANDARD.encode(public),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    key: String,
}

async fn verify_licence(
    State(state): State<Arc<HostState>>,
    body: Bytes,
) -> Result<Json<Value>, HostError> {
    let req: VerifyRequest = parse(&body)?;
    match licence::verify(&state.signing_key.verifying_key(), &req.key) {
        Err(e) => Ok(Json(json!({ "valid": false, "reason": e.to_string() }))),
        Ok(l) => {
            let revoked: Option<i64> =
                sqlx::query_scalar("SELECT revoked FROM fulfilments WHERE session_id = ?")
                    .bind(&l.order)
                    .fetch_optional(&state.db)
                    .await?;
            let today = u32::try_from((state.now)().div_euclid(86_400)).unwrap_or(0);
            let expired = l.expires_day.is_some_and(|d| today > d);
            let revoked = revoked.unwrap_or(1) != 0;
            Ok(Json(json!({
                "valid": !revoked && !expired,
                "revoked": revoked,
                "expired": expired,
                "licence": l,
            })))
        }
    }
}

async fn webhook(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, HostError> {
    let secrets: Vec<&str> = state
        .config
        .merchants
        .iter()
        .map(|m| m.webhook_secret.as_str())
        .collect();
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    webhooks::verify(signature, &body, &secrets, (state.now)())?;
    let event: Value = serde_json::from_slice(&body)
        .map_err(|_| HostError::bad("bad_event", "The event is not JSON."))?;
    let fresh = webhooks::apply(&state, &event).await?;
    Ok(Json(json!({ "received": true, "duplicate": !fresh })))
}

#[derive(Deserialize)]
struct ReturnQuery {
    session: String,
}

/// Where the gateway sends the shopper after 3-D Secure: the host asks the gateway for the
/// payment's state (never trusting the query string), then shows the checkout page.
async fn three_d_secure_return(
    State(state): State<Arc<HostState>>,
    Query(q): Query<ReturnQuery>,
) -> Result<Response, HostError> {
    let session = sessions::load(&state.db, &q.session).await?;
    if let (Some(pi), Some(merchant)) = (
        &session.payment_intent,
        state.config.merchant(&session.merchant),
    ) {
        let gateway = Gateway::new(
            state.http.clone(),
            &merchant.gateway_url,
            &merchant.secret_key,
        );
        match gateway.retrieve(pi).await {
            Ok(pi) => {
                sessions::record(&state, &session, &pi, (state.now)()).await?;
            }
            Err(_) => {
                tracing::warn!(session = %session.id, "could not reconcile after 3-D Secure; the webhook will")
            }
        }
    }
    let mut r = Redirect::to(&format!(
        "/c/{}/return?session={}",
        session.campaign, session.id
    ))
    .into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

/// `donor@example.org` → `d•••@example.org`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((user, domain)) => format!("{}•••@{domain}", user.chars().next().unwrap_or('•')),
        None => "•••".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::{contains_card_data, mask_email};

    #[test]
    fn emails_are_masked() {
        assert_eq!(mask_email("donor@example.org"), "d•••@example.org");
        assert_eq!(mask_email("nonsense"), "•••");
    }
    use serde_json::json;

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
}

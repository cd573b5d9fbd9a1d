//! The checkout page's HTTP calls: the host's JSON API and card tokenization at the gateway
//! (the only request that carries card data, straight to the gateway with the publishable key).
//! Uses the browser's `fetch` and `JSON` directly to keep the wasm small.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::checkout_form::CardEntries;
use crate::json::Json;

/// A failed call.
#[derive(Clone, Debug, PartialEq)]
pub enum FetchError {
    /// No answer (offline, timeout, connection dropped): the outcome is unknown.
    Network,
    /// An answer with an error: status, stable code and a message fit to show.
    Api {
        status: u16,
        code: String,
        message: String,
    },
}

/// Fee coverage offered by a campaign.
#[derive(Clone, Debug, PartialEq)]
pub struct FeeCoverage {
    pub percent: f64,
    pub fixed: i64,
}

/// What the form needs to know about a campaign.
#[derive(Clone, Debug, PartialEq)]
pub struct Campaign {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub merchant_name: String,
    pub currency: String,
    pub suggested_amounts: Vec<i64>,
    pub min_amount: Option<i64>,
    pub max_amount: Option<i64>,
    pub price: Option<i64>,
    pub fee_coverage: Option<FeeCoverage>,
    pub gateway_url: String,
    pub publishable_key: String,
    /// Shown above the title, 48×48.
    pub logo_url: Option<String>,
    /// Ask for the billing postal code.
    pub collect_postal_code: bool,
    /// Merchant origins allowed to embed this checkout (the overlay's postMessage partners).
    pub allowed_origins: Vec<String>,
}

/// What `POST /api/sessions/:id/pay` (or the session, when the answer was lost) says.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Charged (fulfilment follows).
    Succeeded,
    /// 3-D Secure: go to this URL.
    RequiresAction(String),
    /// Declined, with the gateway's code and a message for the shopper.
    Declined { code: String, message: String },
}

/// The body of `POST /api/sessions`.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub campaign: String,
    pub amount: Option<i64>,
    pub cover_fee: bool,
    pub email: String,
}

/// A JSON string literal (for the few request bodies the page writes).
fn quote(s: &str) -> String {
    js_sys::JSON::stringify(&JsValue::from_str(s))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| "\"\"".into())
}

async fn fetch(
    method: &str,
    url: &str,
    body: Option<(&str, String)>,
    auth: Option<&str>,
) -> Result<Json, FetchError> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().map_err(|_| FetchError::Network)?;
    if let Some((content_type, text)) = body {
        headers
            .set("Content-Type", content_type)
            .map_err(|_| FetchError::Network)?;
        init.set_body(&JsValue::from_str(&text));
    }
    if let Some(key) = auth {
        headers
            .set("Authorization", &format!("Bearer {key}"))
            .map_err(|_| FetchError::Network)?;
    }
    init.set_headers(&headers);
    let window = web_sys::window().ok_or(FetchError::Network)?;
    let resp = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|_| FetchError::Network)?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| FetchError::Network)?;
    let status = resp.status();
    let text = JsFuture::from(resp.text().map_err(|_| FetchError::Network)?)
        .await
        .map_err(|_| FetchError::Network)?;
    let json = text
        .as_string()
        .and_then(|t| Json::parse(&t))
        .ok_or(FetchError::Network)?;
    if (200..300).contains(&status) {
        return Ok(json);
    }
    let e = json.get("error");
    Err(FetchError::Api {
        status,
        code: e.str("code").unwrap_or_else(|| "error".into()),
        message: e
            .str("message")
            .unwrap_or_else(|| "Something went wrong.".into()),
    })
}

/// `GET /api/campaigns/:id`.
pub async fn campaign(id: &str) -> Result<Campaign, FetchError> {
    let c = fetch("GET", &format!("/api/campaigns/{id}"), None, None).await?;
    let fee = c.get("fee_coverage");
    Ok(Campaign {
        id: c.str("id").unwrap_or_default(),
        kind: c.str("kind").unwrap_or_default(),
        title: c.str("title").unwrap_or_default(),
        merchant_name: c.str("merchant_name").unwrap_or_default(),
        currency: c.str("currency").unwrap_or_default(),
        suggested_amounts: c.i64s("suggested_amounts"),
        min_amount: c.i64("min_amount"),
        max_amount: c.i64("max_amount"),
        price: c.i64("price"),
        fee_coverage: fee.is_object().then(|| FeeCoverage {
            percent: fee.f64("percent").unwrap_or(0.0),
            fixed: fee.i64("fixed").unwrap_or(0),
        }),
        gateway_url: c.str("gateway_url").unwrap_or_default(),
        publishable_key: c.str("publishable_key").unwrap_or_default(),
        logo_url: c.str("logo_url"),
        collect_postal_code: c.bool("collect_postal_code"),
        allowed_origins: c.strs("allowed_origins"),
    })
}

/// `POST /api/sessions` → the session id.
pub async fn create_session(new: &NewSession) -> Result<String, FetchError> {
    let amount = new.amount.map_or("null".to_owned(), |a| a.to_string());
    let body = format!(
        r#"{{"campaign":{},"amount":{amount},"cover_fee":{},"email":{}}}"#,
        quote(&new.campaign),
        new.cover_fee,
        quote(&new.email)
    );
    let v = fetch(
        "POST",
        "/api/sessions",
        Some(("application/json", body)),
        None,
    )
    .await?;
    Ok(v.str("id").unwrap_or_default())
}

/// Tokenizes the card at the gateway → `pm_…`. Card errors come back as `Api` with Stripe's
/// code (`incorrect_number`, `invalid_cvc`, …).
pub async fn tokenize(
    campaign: &Campaign,
    card: &CardEntries,
    email: &str,
) -> Result<String, FetchError> {
    let form = web_sys::UrlSearchParams::new().map_err(|_| FetchError::Network)?;
    let (month, year) = (
        card.expiry.month().to_string(),
        card.expiry.year().to_string(),
    );
    for (k, v) in [
        ("type", "card"),
        ("card[number]", card.number.expose()),
        ("card[exp_month]", month.as_str()),
        ("card[exp_year]", year.as_str()),
        ("card[cvc]", card.cvc.expose()),
        ("billing_details[email]", email),
        ("billing_details[name]", card.name.as_str()),
    ] {
        form.append(k, v);
    }
    if let Some(postal) = &card.postal {
        form.append("billing_details[address][postal_code]", postal);
    }
    let url = format!(
        "{}/v1/payment_methods",
        campaign.gateway_url.trim_end_matches('/')
    );
    let body = String::from(form.to_string());
    match fetch(
        "POST",
        &url,
        Some(("application/x-www-form-urlencoded", body)),
        Some(&campaign.publishable_key),
    )
    .await
    {
        Ok(v) => Ok(v.str("id").unwrap_or_default()),
        Err(FetchError::Api {
            status,
            code,
            message,
        }) => Err(FetchError::Api {
            status,
            code,
            message,
        }),
        Err(e) => Err(e),
    }
}

/// `POST /api/sessions/:id/pay`.
pub async fn pay(
    session: &str,
    payment_method: &str,
    idempotency_key: &str,
) -> Result<Outcome, FetchError> {
    let body = format!(
        r#"{{"payment_method":{},"idempotency_key":{}}}"#,
        quote(payment_method),
        quote(idempotency_key)
    );
    let v = fetch(
        "POST",
        &format!("/api/sessions/{session}/pay"),
        Some(("application/json", body)),
        None,
    )
    .await?;
    Ok(match v.str("status").as_deref() {
        Some("requires_action") => {
            Outcome::RequiresAction(v.str("redirect_url").unwrap_or_default())
        }
        Some("declined") => Outcome::Declined {
            code: v.str("code").unwrap_or_else(|| "card_declined".into()),
            message: v
                .str("message")
                .unwrap_or_else(|| "Your card was declined.".into()),
        },
        _ => Outcome::Succeeded,
    })
}

/// `GET /api/sessions/:id`.
pub async fn session(id: &str) -> Result<Json, FetchError> {
    fetch("GET", &format!("/api/sessions/{id}"), None, None).await
}

/// A new idempotency key (UUID v4 from the browser's CSPRNG).
pub fn new_key() -> String {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.random_uuid())
        .unwrap_or_default()
}

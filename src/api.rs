//! The checkout page's HTTP calls: the host's JSON API and card tokenization at the gateway
//! (the only request that carries card data, straight to the gateway with the publishable key).

use gloo_net::http::Request;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::checkout_form::CardEntries;

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
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct FeeCoverage {
    pub percent: f64,
    pub fixed: i64,
}

/// What the form needs to know about a campaign.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Campaign {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub merchant_name: String,
    pub currency: String,
    #[serde(default)]
    pub suggested_amounts: Vec<i64>,
    pub min_amount: Option<i64>,
    pub max_amount: Option<i64>,
    pub price: Option<i64>,
    pub fee_coverage: Option<FeeCoverage>,
    pub gateway_url: String,
    pub publishable_key: String,
}

/// The body of `POST /api/sessions`.
#[derive(Clone, Debug, Serialize)]
pub struct NewSession {
    pub campaign: String,
    pub amount: Option<i64>,
    pub cover_fee: bool,
    pub email: String,
}

async fn read(
    resp: Result<gloo_net::http::Response, gloo_net::Error>,
) -> Result<Value, FetchError> {
    let resp = resp.map_err(|_| FetchError::Network)?;
    let status = resp.status();
    let body: Value = resp.json().await.map_err(|_| FetchError::Network)?;
    if (200..300).contains(&status) {
        return Ok(body);
    }
    let e = &body["error"];
    Err(FetchError::Api {
        status,
        code: e["code"].as_str().unwrap_or("error").to_owned(),
        message: e["message"]
            .as_str()
            .unwrap_or("Something went wrong.")
            .to_owned(),
    })
}

/// `GET /api/campaigns/:id`.
pub async fn campaign(id: &str) -> Result<Campaign, FetchError> {
    let v = read(Request::get(&format!("/api/campaigns/{id}")).send().await).await?;
    serde_json::from_value(v).map_err(|_| FetchError::Network)
}

/// `POST /api/sessions` → the session id.
pub async fn create_session(new: &NewSession) -> Result<String, FetchError> {
    let req = Request::post("/api/sessions")
        .json(new)
        .map_err(|_| FetchError::Network)?;
    let v = read(req.send().await).await?;
    Ok(v["id"].as_str().unwrap_or_default().to_owned())
}

/// Tokenizes the card at the gateway → `pm_…`. Card errors come back as `Api` with Stripe's
/// code (`incorrect_number`, `invalid_cvc`, …).
pub async fn tokenize(
    campaign: &Campaign,
    card: &CardEntries,
    email: &str,
) -> Result<String, FetchError> {
    let exp_month = card.expiry.month().to_string();
    let exp_year = card.expiry.year().to_string();
    let form = web_sys::UrlSearchParams::new().map_err(|_| FetchError::Network)?;
    for (k, v) in [
        ("type", "card"),
        ("card[number]", card.number.expose()),
        ("card[exp_month]", exp_month.as_str()),
        ("card[exp_year]", exp_year.as_str()),
        ("card[cvc]", card.cvc.expose()),
        ("billing_details[email]", email),
    ] {
        form.append(k, v);
    }
    let req = Request::post(&format!(
        "{}/v1/payment_methods",
        campaign.gateway_url.trim_end_matches('/')
    ))
    .header(
        "Authorization",
        &format!("Bearer {}", campaign.publishable_key),
    )
    .header("Content-Type", "application/x-www-form-urlencoded")
    .body(String::from(form.to_string()))
    .map_err(|_| FetchError::Network)?;
    let resp = req.send().await.map_err(|_| FetchError::Network)?;
    let status = resp.status();
    let v: Value = resp.json().await.map_err(|_| FetchError::Network)?;
    if (200..300).contains(&status) {
        return Ok(v["id"].as_str().unwrap_or_default().to_owned());
    }
    Err(FetchError::Api {
        status,
        code: v["error"]["code"]
            .as_str()
            .unwrap_or("card_error")
            .to_owned(),
        message: v["error"]["message"]
            .as_str()
            .unwrap_or("Your card could not be used.")
            .to_owned(),
    })
}

/// `POST /api/sessions/:id/pay` → the outcome object (`status`, …).
pub async fn pay(
    session: &str,
    payment_method: &str,
    idempotency_key: &str,
) -> Result<Value, FetchError> {
    let body =
        serde_json::json!({ "payment_method": payment_method, "idempotency_key": idempotency_key });
    let req = Request::post(&format!("/api/sessions/{session}/pay"))
        .json(&body)
        .map_err(|_| FetchError::Network)?;
    read(req.send().await).await
}

/// `GET /api/sessions/:id`.
pub async fn session(id: &str) -> Result<Value, FetchError> {
    read(Request::get(&format!("/api/sessions/{id}")).send().await).await
}

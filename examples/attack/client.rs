//! The HTTP calls every simulated client makes, as the checkout page makes them: create a
//! session and pay at the host (naming the client's address in `X-Forwarded-For`, which the
//! host trusts from 127.0.0.1 only in this setting), tokenize at the gateway with the
//! publishable key, and solve a proof-of-work challenge natively.

use std::time::{Duration, Instant};

use paywidget_host::shield::pow;
use paywidget_sandbox::DEFAULT_PUBLISHABLE_KEY as PK;
use paywidget_testkit::world::World;
use serde_json::{json, Value};

/// No call may hang the run.
const TIMEOUT: Duration = Duration::from_secs(60);

/// `POST` JSON to the host from `ip`: (status, body or null).
pub(crate) async fn post(
    w: &World,
    path: &str,
    ip: &str,
    body: &Value,
) -> Result<(u16, Value), String> {
    let r = w
        .http
        .post(format!("{}{path}", w.host))
        .header("x-forwarded-for", ip)
        .timeout(TIMEOUT)
        .json(body)
        .send()
        .await
        .map_err(|e| format!("POST {path}: {e}"))?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

/// `GET` from the host.
pub(crate) async fn get(w: &World, path: &str) -> Result<Value, String> {
    w.http
        .get(format!("{}{path}", w.host))
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("GET {path}: {e}"))?
        .json()
        .await
        .map_err(|e| format!("GET {path}: {e}"))
}

/// A new donation session from `ip`: (status, body).
pub(crate) async fn new_session(
    w: &World,
    ip: &str,
    campaign: &str,
    amount: i64,
    email: &str,
    name: &str,
) -> Result<(u16, Value), String> {
    post(
        w,
        "/api/sessions",
        ip,
        &json!({ "campaign": campaign, "amount": amount, "email": email, "name": name }),
    )
    .await
}

/// Tokenizes a card at the gateway as the page does → `pm_…`.
pub(crate) async fn tokenize(
    w: &World,
    number: &str,
    month: u8,
    year: u16,
    cvc: &str,
) -> Result<String, String> {
    let r: Value = w
        .http
        .post(format!("{}/v1/payment_methods", w.gateway))
        .bearer_auth(PK)
        .timeout(TIMEOUT)
        .form(&[
            ("type", "card".to_owned()),
            ("card[number]", number.to_owned()),
            ("card[exp_month]", month.to_string()),
            ("card[exp_year]", year.to_string()),
            ("card[cvc]", cvc.to_owned()),
        ])
        .send()
        .await
        .map_err(|e| format!("tokenize: {e}"))?
        .json()
        .await
        .map_err(|e| format!("tokenize: {e}"))?;
    r["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("tokenize: {}", r["error"]["message"]))
}

/// The error code of a host error answer ("" if none).
pub(crate) fn code(body: &Value) -> String {
    body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Solves an answer's challenge off the async threads → (proof to send, its difficulty, time).
pub(crate) async fn solve(answer: &Value) -> (Value, u8, Duration) {
    let challenge = answer["challenge"].as_str().unwrap_or_default().to_owned();
    let bits = answer["difficulty"].as_u64().unwrap_or(0).min(32) as u8;
    let start = Instant::now();
    let c = challenge.clone();
    let nonce = tokio::task::spawn_blocking(move || pow::solve(&c, bits))
        .await
        .unwrap_or_default();
    (
        json!({ "challenge": challenge, "nonce": nonce }),
        bits,
        start.elapsed(),
    )
}

/// Expiry for genuine cards: the test kit's (December, three years on).
pub(crate) fn donor_expiry() -> (u8, u16) {
    paywidget_testkit::cards::expiry()
}

/// This year, by the system clock.
pub(crate) fn this_year() -> u16 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    u16::try_from(1970 + now.div_euclid(31_556_952)).unwrap_or(2026)
}

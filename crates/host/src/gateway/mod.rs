//! A small typed client for the Stripe-compatible API (the sandbox in tests and the demo, Stripe
//! in production): timeouts, retries with the same idempotency key on network errors, 5xx, 409
//! and 429, and reconciliation by `GET` when an outcome stays unknown.

use std::time::Duration;

use paywidget_core::api::{DeclineCode, ErrorBody, PaymentToken, STRIPE_API_VERSION};
use serde::Deserialize;
use url::Url;

use crate::config::secret::Secret;
use crate::config::url_text;

pub mod events;
pub mod objects;

/// A PaymentIntent's status, parsed once at the edge. A status this host does not know reads
/// as [`PaymentIntentStatus::Other`] and is treated as still processing.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PaymentIntentStatus {
    /// Waiting for (another) payment method: a new one, or a decline.
    RequiresPaymentMethod,
    /// Created, not yet confirmed.
    RequiresConfirmation,
    /// The cardholder must act (3-D Secure).
    RequiresAction,
    /// The bank is deciding.
    Processing,
    /// Authorised, not captured.
    RequiresCapture,
    /// Cancelled.
    Canceled,
    /// Paid.
    Succeeded,
    /// A status newer than this host.
    #[serde(other)]
    Other,
}

/// A payment intent as far as the host cares.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct PaymentIntent {
    /// `pi_…`.
    pub id: String,
    /// The gateway's status.
    pub status: PaymentIntentStatus,
    /// Minor units.
    pub amount: i64,
    /// Minor units received (once succeeded).
    #[serde(default)]
    pub amount_received: Option<i64>,
    /// Lowercase ISO code, as Stripe writes it.
    pub currency: String,
    /// When it was created (unix seconds).
    #[serde(default)]
    pub created: Option<i64>,
    /// What the shopper must do next (3-D Secure).
    #[serde(default)]
    pub next_action: Option<NextAction>,
    /// Why the last confirmation failed.
    #[serde(default)]
    pub last_payment_error: Option<LastPaymentError>,
    /// Our `session_id`.
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, String>,
    /// Handed to the gateway's own script for `handleNextAction` (gateway-fields mode).
    #[serde(default)]
    pub client_secret: Option<String>,
}

/// What a recurring gift needs from the gateway.
#[derive(Clone, Debug)]
pub struct NewSubscription<'a> {
    /// Our session (in the customer's and subscription's metadata).
    pub session_id: &'a str,
    /// The donor's email (the customer's).
    pub email: Option<&'a str>,
    /// Minor units per period.
    pub amount: i64,
    /// Its currency.
    pub currency: paywidget_core::money::Currency,
    /// `month` or `year`.
    pub interval: &'a str,
    /// The product's name (the campaign's title).
    pub description: &'a str,
    /// Test mode: the merchant's test clock.
    pub test_clock: Option<&'a str>,
    /// The base of the idempotency keys of the three calls.
    pub key: &'a str,
}

/// A subscription as far as the host cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// `sub_…`.
    pub id: String,
    /// `cus_…`.
    pub customer: String,
    /// The payment intent of the first invoice.
    pub payment_intent: String,
}

fn text(v: &serde_json::Value) -> Result<String, Box<GatewayError>> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| Box::new(GatewayError::Unavailable("unexpected answer: no id".into())))
}

/// A gateway answer as the object `T`.
fn typed<T: serde::de::DeserializeOwned>(body: serde_json::Value) -> Result<T, GatewayError> {
    serde_json::from_value(body)
        .map_err(|e| GatewayError::Unavailable(format!("unexpected answer: {e}")))
}

/// `next_action`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct NextAction {
    /// `redirect_to_url`.
    #[serde(default)]
    pub redirect_to_url: Option<RedirectToUrl>,
}

/// `next_action.redirect_to_url`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct RedirectToUrl {
    /// The bank's page (Stripe documents it as nullable).
    #[serde(default)]
    pub url: Option<String>,
}

/// `last_payment_error` (of a payment intent or a webhook's object).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct LastPaymentError {
    /// Stripe's `code`.
    #[serde(default)]
    pub code: Option<String>,
    /// Stripe's `decline_code`.
    #[serde(default)]
    pub decline_code: Option<String>,
    /// The payment method that failed (`{id, …}`; Stripe expands it in the error).
    #[serde(default)]
    pub payment_method: Option<serde_json::Value>,
}

impl LastPaymentError {
    /// `decline_code` if given, else `code`, else a generic decline.
    pub fn decline(&self) -> DeclineCode {
        self.decline_code
            .as_deref()
            .or(self.code.as_deref())
            .map_or(DeclineCode::CardDeclined, DeclineCode::parse)
    }
}

/// Whether a payment read back after an unanswered confirm shows that confirm's own effect:
/// any state past `requires_payment_method` does (money moved or a bank step began — only a
/// confirm does that), while a decline does only if it names this attempt's payment method. A
/// confirmation token's payment method is not known before it is redeemed, so its decline read
/// back is never taken as its own.
pub fn own_effect(pi: &PaymentIntent, token: &PaymentToken) -> bool {
    match pi.status {
        PaymentIntentStatus::RequiresPaymentMethod | PaymentIntentStatus::RequiresConfirmation => {
            let failed = pi
                .last_payment_error
                .as_ref()
                .and_then(|e| e.payment_method.as_ref())
                .and_then(|m| m["id"].as_str().or(m.as_str()));
            matches!(token, PaymentToken::PaymentMethod(pm) if failed == Some(pm.as_str()))
        }
        _ => true,
    }
}

impl NextAction {
    /// The bank's page to send the cardholder to, if the gateway gave one.
    pub fn url(&self) -> Option<String> {
        self.redirect_to_url.as_ref()?.url.clone()
    }
}

impl PaymentIntent {
    /// The 3-D Secure page to send the shopper to, when `requires_action`.
    pub fn redirect_url(&self) -> Option<String> {
        self.next_action.as_ref()?.url()
    }
}

/// A card decline as the gateway reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decline {
    /// `decline_code` if given, else `code` (e.g. `insufficient_funds`, `incorrect_cvc`).
    pub code: DeclineCode,
}

/// The decline in a gateway's error body: `decline_code`, else `code`.
fn decline_of(body: &serde_json::Value) -> DeclineCode {
    match ErrorBody::deserialize(body) {
        Ok(b) => b
            .error
            .decline_code
            .unwrap_or_else(|| DeclineCode::parse(b.error.code.as_str())),
        Err(_) => DeclineCode::CardDeclined,
    }
}

/// The message in a gateway's error body, for the log.
fn message_of(body: &serde_json::Value) -> String {
    ErrorBody::deserialize(body)
        .map(|b| b.error.message)
        .unwrap_or_default()
}

/// What a gateway call came to.
#[derive(Debug)]
pub enum GatewayError {
    /// The card was declined (402).
    Declined(Decline, Option<Box<PaymentIntent>>),
    /// The gateway refused the request (4xx other than 402): our bug or bad input.
    Rejected(String),
    /// No definite answer after the retries: the outcome is unknown.
    Unavailable(String),
}

/// A client for one merchant's gateway account.
#[derive(Clone, Debug)]
pub struct Gateway {
    http: reqwest::Client,
    base: String,
    secret_key: Secret,
    attempts: u32,
    stats: Option<std::sync::Arc<CallStats>>,
}

/// The last calls to the gateway this process made (every HTTP attempt, retries included):
/// whether each was answered (a decline is an answer; a network error, a 5xx or a 429 is
/// not) and how long it took. The health view reads it, and the watch alerts on it.
#[derive(Debug, Default)]
pub struct CallStats {
    calls: std::sync::Mutex<std::collections::VecDeque<(bool, u32)>>,
}

/// What [`CallStats`] says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallSummary {
    /// Calls counted (at most [`CallStats::KEPT`]).
    pub calls: usize,
    /// Of them not answered.
    pub failed: usize,
    /// Median time, ms.
    pub p50_ms: u32,
    /// 95th percentile, ms.
    pub p95_ms: u32,
}

impl CallStats {
    /// How many of the last calls are kept.
    pub const KEPT: usize = 500;

    /// Counts one call.
    pub fn record(&self, answered: bool, ms: u32) {
        let mut calls = self
            .calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if calls.len() == Self::KEPT {
            calls.pop_front();
        }
        calls.push_back((answered, ms));
    }

    /// The last `n` calls (all kept when `n` is larger) summed up.
    pub fn summary(&self, n: usize) -> CallSummary {
        let calls = self
            .calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let last: Vec<(bool, u32)> = calls.iter().rev().take(n).copied().collect();
        let mut ms: Vec<u32> = last.iter().map(|(_, m)| *m).collect();
        ms.sort_unstable();
        let pick = |q: usize| {
            ms.get((ms.len() * q / 100).min(ms.len().saturating_sub(1)))
                .copied()
        };
        CallSummary {
            calls: last.len(),
            failed: last.iter().filter(|(ok, _)| !ok).count(),
            p50_ms: pick(50).unwrap_or(0),
            p95_ms: pick(95).unwrap_or(0),
        }
    }
}

impl Gateway {
    /// A client for `base` (e.g. `https://api.stripe.com`) with the merchant's secret key.
    pub fn new(http: reqwest::Client, base: &Url, secret_key: &Secret) -> Self {
        Gateway {
            http,
            base: url_text(base).trim_end_matches('/').to_owned(),
            secret_key: secret_key.clone(),
            attempts: 4,
            stats: None,
        }
    }

    /// Counts this client's calls in `stats`.
    pub fn with_stats(mut self, stats: std::sync::Arc<CallStats>) -> Self {
        self.stats = Some(stats);
        self
    }

    fn count(&self, answered: bool, started: std::time::Instant) {
        if let Some(s) = &self.stats {
            s.record(
                answered,
                u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX),
            );
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, String)],
        idempotency_key: Option<&str>,
    ) -> Result<serde_json::Value, GatewayError> {
        let url = format!("{}{path}", self.base);
        let mut last = String::new();
        for attempt in 0..self.attempts {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            let mut req = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(self.secret_key.expose())
                .header("Stripe-Version", STRIPE_API_VERSION)
                .timeout(Duration::from_secs(20));
            if let Some(key) = idempotency_key {
                req = req.header("Idempotency-Key", key);
            }
            if method == reqwest::Method::POST {
                req = req.form(form);
            }
            let started = std::time::Instant::now();
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    self.count(false, started);
                    last = format!("network: {e}");
                    continue;
                }
            };
            let status = resp.status();
            self.count(
                !(status.is_server_error() || status.as_u16() == 429),
                started,
            );
            let body: serde_json::Value = match resp.json().await {
                Ok(b) => b,
                Err(e) => {
                    // The response was lost mid-way: same as a network error (retry, same key).
                    last = format!("reading the response: {e}");
                    continue;
                }
            };
            if status.is_success() {
                return Ok(body);
            }
            if status.as_u16() == 402 {
                let code = decline_of(&body);
                let pi = PaymentIntent::deserialize(&body["error"]["payment_intent"])
                    .ok()
                    .map(Box::new);
                return Err(GatewayError::Declined(Decline { code }, pi));
            }
            if status.is_server_error() || status.as_u16() == 409 || status.as_u16() == 429 {
                last = format!("{status}: {}", message_of(&body));
                continue;
            }
            return Err(GatewayError::Rejected(format!(
                "{status}: {}",
                message_of(&body)
            )));
        }
        Err(GatewayError::Unavailable(last))
    }

    /// Creates an unconfirmed payment intent for a checkout session (idempotent on `key`).
    pub async fn create_payment_intent(
        &self,
        amount: i64,
        currency: paywidget_core::money::Currency,
        session_id: &str,
        description: &str,
        receipt_email: Option<&str>,
        key: &str,
    ) -> Result<PaymentIntent, GatewayError> {
        let mut form = vec![
            ("amount", amount.to_string()),
            ("currency", currency.code().to_ascii_lowercase()),
            ("description", description.to_owned()),
            ("metadata[session_id]", session_id.to_owned()),
        ];
        if let Some(email) = receipt_email {
            form.push(("receipt_email", email.to_owned()));
        }
        let body = self
            .call(
                reqwest::Method::POST,
                "/v1/payment_intents",
                &form,
                Some(key),
            )
            .await?;
        serde_json::from_value(body)
            .map_err(|e| GatewayError::Unavailable(format!("unexpected answer: {e}")))
    }

    /// Confirms it with the shopper's token (and, for a bank debit, the payer's online
    /// acceptance of the mandate) — a payment method from our fields or a
    /// confirmation token from the gateway's (idempotent on `key`); when the outcome is
    /// unknown after retries, asks the gateway for the payment's state.
    pub async fn confirm(
        &self,
        pi: &str,
        token: &PaymentToken,
        return_url: &str,
        mandate: Option<&MandateAcceptance>,
        key: &str,
    ) -> Result<PaymentIntent, GatewayError> {
        let mut form = vec![
            (token.param(), token.as_str().to_owned()),
            ("return_url", return_url.to_owned()),
        ];
        if let Some(m) = mandate {
            form.extend([
                (
                    "mandate_data[customer_acceptance][type]",
                    "online".to_owned(),
                ),
                (
                    "mandate_data[customer_acceptance][online][ip_address]",
                    m.ip_address.clone(),
                ),
                (
                    "mandate_data[customer_acceptance][online][user_agent]",
                    m.user_agent.clone(),
                ),
            ]);
        }
        match self
            .call(
                reqwest::Method::POST,
                &format!("/v1/payment_intents/{pi}/confirm"),
                &form,
                Some(key),
            )
            .await
        {
            Ok(body) => serde_json::from_value(body)
                .map_err(|e| GatewayError::Unavailable(format!("unexpected answer: {e}"))),
            Err(GatewayError::Unavailable(why)) => {
                tracing::warn!(payment_intent = pi, %why, "confirm outcome unknown; reconciling by GET");
                let read = self.retrieve(pi).await?;
                if own_effect(&read, token) {
                    Ok(read)
                } else {
                    // The payment as it stands may be a previous card's decline: not this
                    // attempt's outcome. "Try again" (same key, safe: the gateway replays a
                    // confirm that did take effect), never a decline the shopper did not have.
                    Err(GatewayError::Unavailable(format!(
                        "confirm unanswered and the payment shows no effect of it ({why})"
                    )))
                }
            }
            Err(other) => Err(other),
        }
    }

    /// Starts a recurring gift at the gateway: a customer (on the merchant's test clock in test
    /// mode), a recurring price for the amount, and a subscription whose first invoice waits for
    /// the shopper's token (`default_incomplete`). Every call is idempotent on a key derived
    /// from `key`, so retries and double clicks make one subscription. Answers the subscription
    /// and the payment intent of its first invoice, which the host then confirms as usual.
    pub async fn start_subscription(
        &self,
        new: &NewSubscription<'_>,
    ) -> Result<Subscription, GatewayError> {
        let mut form = vec![("metadata[session_id]", new.session_id.to_owned())];
        if let Some(email) = new.email {
            form.push(("email", email.to_owned()));
        }
        if let Some(clock) = new.test_clock {
            form.push(("test_clock", clock.to_owned()));
        }
        let customer = self
            .call(
                reqwest::Method::POST,
                "/v1/customers",
                &form,
                Some(&format!("{}-customer", new.key)),
            )
            .await?;
        let customer = text(&customer["id"]).map_err(|e| *e)?;
        let price = self
            .call(
                reqwest::Method::POST,
                "/v1/prices",
                &[
                    ("currency", new.currency.code().to_ascii_lowercase()),
                    ("unit_amount", new.amount.to_string()),
                    ("recurring[interval]", new.interval.to_owned()),
                    ("product_data[name]", new.description.to_owned()),
                ],
                Some(&format!("{}-price", new.key)),
            )
            .await?;
        let price = text(&price["id"]).map_err(|e| *e)?;
        let sub = self
            .call(
                reqwest::Method::POST,
                "/v1/subscriptions",
                &[
                    ("customer", customer.clone()),
                    ("items[0][price]", price),
                    ("payment_behavior", "default_incomplete".to_owned()),
                    (
                        "payment_settings[save_default_payment_method]",
                        "on_subscription".to_owned(),
                    ),
                    ("metadata[session_id]", new.session_id.to_owned()),
                    ("expand[]", "latest_invoice.payments".to_owned()),
                    ("expand[]", "latest_invoice.confirmation_secret".to_owned()),
                ],
                Some(&format!("{}-subscription", new.key)),
            )
            .await?;
        let invoice = &sub["latest_invoice"];
        // Since API 2025-03-31 an invoice's payment intent is reached through its payments
        // (or, for the browser, its confirmation secret `pi_…_secret_…`).
        let from_payments = invoice["payments"]["data"][0]["payment"]["payment_intent"]
            .as_str()
            .map(str::to_owned);
        let from_secret = invoice["confirmation_secret"]["client_secret"]
            .as_str()
            .and_then(|s| s.split_once("_secret_"))
            .map(|(pi, _)| pi.to_owned());
        let payment_intent = from_payments.or(from_secret).ok_or_else(|| {
            GatewayError::Unavailable("subscription without its first invoice's payment".into())
        })?;
        Ok(Subscription {
            id: text(&sub["id"]).map_err(|e| *e)?,
            customer,
            payment_intent,
        })
    }

    /// `GET path` with the secret key (retried on network errors and 5xx).
    pub async fn get(&self, path: &str) -> Result<serde_json::Value, GatewayError> {
        self.call(reqwest::Method::GET, path, &[], None).await
    }

    /// `GET path`, parsed as the gateway object `T` (an answer of another shape is no answer).
    pub async fn get_as<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<T, GatewayError> {
        typed(self.get(path).await?)
    }

    /// `POST path` with `form`, idempotent on `key`, parsed as the gateway object `T`.
    pub async fn post_as<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, String)],
        key: &str,
    ) -> Result<T, GatewayError> {
        typed(self.post(path, form, key).await?)
    }

    /// `POST path` with `form`, idempotent on `key` (retried with it).
    pub async fn post(
        &self,
        path: &str,
        form: &[(&str, String)],
        key: &str,
    ) -> Result<serde_json::Value, GatewayError> {
        self.call(reqwest::Method::POST, path, form, Some(key))
            .await
    }

    /// Sets whether a subscription ends at the end of its current period (the donor's cancel
    /// and resume), idempotent on `key`.
    pub async fn set_cancel_at_period_end(
        &self,
        subscription: &str,
        cancel: bool,
        key: &str,
    ) -> Result<(), GatewayError> {
        self.call(
            reqwest::Method::POST,
            &format!("/v1/subscriptions/{subscription}"),
            &[("cancel_at_period_end", cancel.to_string())],
            Some(key),
        )
        .await
        .map(|_| ())
    }

    /// The payment intent's current state.
    pub async fn retrieve(&self, pi: &str) -> Result<PaymentIntent, GatewayError> {
        let body = self
            .call(
                reqwest::Method::GET,
                &format!("/v1/payment_intents/{pi}"),
                &[],
                None,
            )
            .await?;
        serde_json::from_value(body)
            .map_err(|e| GatewayError::Unavailable(format!("unexpected answer: {e}")))
    }
}

/// A payer's online acceptance of a bank debit's mandate, as the gateway records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MandateAcceptance {
    /// Where the payer accepted it from.
    pub ip_address: String,
    /// With what browser.
    pub user_agent: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_stats_keep_the_last_calls_and_their_percentiles() {
        let s = CallStats::default();
        for i in 0..600u32 {
            s.record(i % 4 != 0, i);
        }
        let all = s.summary(usize::MAX);
        assert_eq!((all.calls, all.failed), (500, 125));
        assert_eq!((all.p50_ms, all.p95_ms), (350, 575));
        let last = s.summary(4);
        assert_eq!((last.calls, last.failed), (4, 1));
        assert_eq!(CallStats::default().summary(50), CallSummary::default());
    }

    #[test]
    fn declines_read_decline_code_else_code() {
        let body = serde_json::json!({ "error": { "type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds", "message": "no" } });
        assert_eq!(decline_of(&body), DeclineCode::InsufficientFunds);
        let body = serde_json::json!({ "error": { "code": "incorrect_cvc", "message": "cvc" } });
        assert_eq!(decline_of(&body), DeclineCode::IncorrectCvc);
        assert_eq!(message_of(&body), "cvc");
        assert_eq!(
            decline_of(&serde_json::json!({})),
            DeclineCode::CardDeclined
        );
        let e = LastPaymentError {
            code: Some("expired_card".into()),
            decline_code: None,
            payment_method: None,
        };
        assert_eq!(e.decline(), DeclineCode::ExpiredCard);
        assert_eq!(
            LastPaymentError::default().decline(),
            DeclineCode::CardDeclined
        );
    }
}

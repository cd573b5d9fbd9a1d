//! paywidget's sandbox: a stateful, Stripe-compatible test-mode payment gateway.
//!
//! It speaks a faithful subset of Stripe's HTTP API (form-encoded requests with bracket
//! nesting, Stripe's JSON objects and errors, idempotency keys, signed webhooks), so the
//! checkout host — and official Stripe client libraries — work against it by changing the base
//! URL and keys. See the README's "Sandbox gateway" and "Test mode" sections.
//!
//! Layers: [`router`] (routes per feature in `api/`) → thin handlers → the domain
//! ([`payments`]: payment intents, charges, events; [`catalogue`]: products, prices,
//! customers; [`billing`]: subscriptions, invoices, test clocks) → [`store::Store`] (SQLite).
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod billing;
pub mod cards;
pub mod catalogue;
pub mod clock;
pub mod confirmation_tokens;
pub mod error;
pub mod faults;
pub mod idempotency;
pub mod model;
pub mod params;
pub mod payments;
pub mod sepa;
pub mod setup_intents;
pub mod shape;
pub mod store;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;

use clock::{Clock, IdSource, RandomIds, SystemClock};
use serde::Deserialize;
use store::Store;

/// The documented default secret key (test mode only; printed at start).
pub const DEFAULT_SECRET_KEY: &str = "sk_test_paywidgetSandboxSecretKey0000000000";
/// The documented default publishable key.
pub const DEFAULT_PUBLISHABLE_KEY: &str = "pk_test_paywidgetSandboxPublishableKey00000";
/// The Stripe API version the sandbox reports in events.
pub const API_VERSION: &str = paywidget_core::api::STRIPE_API_VERSION;

/// A webhook endpoint: where events go and the secret that signs them.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct WebhookEndpoint {
    /// The URL events are POSTed to.
    pub url: String,
    /// The `whsec_…` signing secret.
    pub secret: String,
}

/// How webhook deliveries are retried.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(default)]
pub struct RetryPolicy {
    /// Delay before the 2nd attempt, doubled after each failure (Stripe retries for days; the
    /// sandbox's schedule is 1 min, 2 min, 4 min … by default).
    pub first_delay_ms: u64,
    /// Multiplies every delay, so tests can run the schedule in milliseconds (e.g. 0.001).
    pub scale: f64,
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// How long one attempt may take before it counts as failed.
    pub timeout_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first_delay_ms: 60_000,
            scale: 1.0,
            max_attempts: 8,
            timeout_ms: 10_000,
        }
    }
}

impl RetryPolicy {
    /// The delay after `attempts` failed attempts (1 → first delay).
    pub fn delay_ms(&self, attempts: u32) -> i64 {
        let exp = attempts.saturating_sub(1).min(30);
        let ms = self.first_delay_ms as f64 * f64::from(1u32 << exp) * self.scale;
        ms.round().clamp(1.0, 1e12) as i64
    }
}

/// The sandbox's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The secret key (`sk_test_…`): every endpoint.
    pub secret_key: String,
    /// The publishable key (`pk_test_…`): what Stripe.js may do — `POST /v1/payment_methods`,
    /// `POST /v1/confirmation_tokens`, `GET /v1/payment_intents/:id` with its client secret.
    pub publishable_key: String,
    /// Where events are delivered.
    pub webhooks: Vec<WebhookEndpoint>,
    /// Delivery retry schedule.
    pub retry: RetryPolicy,
    /// Faults to inject from the start (off by default).
    pub faults: faults::FaultSettings,
    /// Extra certificate authorities (PEM) trusted for HTTPS webhook endpoints, besides the
    /// web's roots: a host on HTTPS with a private or self-signed certificate.
    pub webhook_ca_pems: Vec<Vec<u8>>,
    /// How failed renewals are retried and what follows the last retry.
    pub billing: billing::BillingSettings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            secret_key: DEFAULT_SECRET_KEY.into(),
            publishable_key: DEFAULT_PUBLISHABLE_KEY.into(),
            webhooks: Vec::new(),
            retry: RetryPolicy::default(),
            faults: faults::FaultSettings::default(),
            webhook_ca_pems: Vec::new(),
            billing: billing::BillingSettings::default(),
        }
    }
}

/// Everything a request handler can reach.
pub struct AppState {
    /// Settings.
    pub config: Config,
    /// Persistent state.
    pub store: Store,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Id source.
    pub ids: Arc<dyn IdSource>,
    /// The sandbox's own base URL (for 3-D Secure pages), e.g. `http://127.0.0.1:12111`.
    pub base_url: String,
    /// Faults currently injected.
    pub faults: faults::FaultState,
    /// Wakes the webhook worker when events are queued.
    pub deliveries_queued: tokio::sync::Notify,
    /// Renewal retries and what follows the last one (from [`Config::billing`], or
    /// [`AppState::with_billing`]).
    pub billing: billing::BillingSettings,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Shared state handle.
pub type SharedState = Arc<AppState>;

impl AppState {
    /// State with the system clock and random ids.
    pub fn new(config: Config, store: Store, base_url: String) -> SharedState {
        Self::with_sources(
            config,
            store,
            base_url,
            Arc::new(SystemClock),
            Arc::new(RandomIds),
        )
    }

    /// State with injected clock and id sources (tests).
    pub fn with_sources(
        config: Config,
        store: Store,
        base_url: String,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdSource>,
    ) -> SharedState {
        let billing = config.billing.clone();
        Self::with_billing(config, billing, store, base_url, clock, ids)
    }

    /// State with injected sources and Billing's retry settings.
    pub fn with_billing(
        config: Config,
        billing: billing::BillingSettings,
        store: Store,
        base_url: String,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdSource>,
    ) -> SharedState {
        let faults = faults::FaultState::new(config.faults);
        Arc::new(AppState {
            config,
            store,
            clock,
            ids,
            base_url,
            faults,
            deliveries_queued: tokio::sync::Notify::new(),
            billing,
        })
    }
}

/// The whole HTTP API.
pub fn router(state: SharedState) -> axum::Router {
    api::router(state)
}

/// Serves `state` on `listener` and runs the webhook worker until the server stops.
pub async fn serve(listener: tokio::net::TcpListener, state: SharedState) -> std::io::Result<()> {
    let worker = tokio::spawn(webhooks::run_worker(state.clone()));
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, app).await;
    worker.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_and_scale() {
        let p = RetryPolicy {
            first_delay_ms: 1000,
            scale: 0.01,
            max_attempts: 5,
            timeout_ms: 1000,
        };
        assert_eq!(p.delay_ms(1), 10);
        assert_eq!(p.delay_ms(2), 20);
        assert_eq!(p.delay_ms(3), 40);
    }
}

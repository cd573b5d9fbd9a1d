//! Webhook delivery: at least once, signed as Stripe signs (`Stripe-Signature: t=…,v1=…`), with a
//! fresh timestamp and signature per attempt and exponential backoff, from a persisted queue
//! that survives restarts.

use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::store::Delivery;
use crate::SharedState;

/// `Stripe-Signature` for `body` sent at unix time `t`: the shared scheme of
/// [`paywidget_core::signature`] (HMAC-SHA256 over `"{t}.{body}"`, keyed with the whole secret).
pub fn signature_header(secret: &str, t: i64, body: &[u8]) -> String {
    paywidget_core::signature::sign(secret, t, body)
}

/// Delivers due events until the task is aborted. Delivery times are real time (the retry
/// schedule is scaled by [`crate::RetryPolicy::scale`] for tests), not the injected clock.
pub async fn run_worker(state: SharedState) {
    // Webhooks go to HTTPS endpoints as Stripe's do (rustls, TLS 1.2+, the web's roots plus
    // any configured extra CA), or to plain http on this machine.
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .min_tls_version(reqwest::tls::Version::TLS_1_2)
        .timeout(Duration::from_millis(state.config.retry.timeout_ms));
    for pem in &state.config.webhook_ca_pems {
        match reqwest::Certificate::from_pem(pem) {
            Ok(cert) => builder = builder.add_root_certificate(cert),
            Err(e) => tracing::error!(error = %e, "an extra webhook CA is not a PEM certificate"),
        }
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook client could not start");
            return;
        }
    };
    // What the payouts were last checked against: the clock's day and the number of balance
    // transactions. A batch can only turn paid when one of them changes.
    let mut payouts_checked = (i64::MIN, -1);
    loop {
        let day = state.clock.now().div_euclid(86_400);
        if let Ok(count) = state.store.count("balance_transaction").await {
            if (day, count) != payouts_checked {
                match crate::payments::announce_payouts(&state).await {
                    Ok(_) => payouts_checked = (day, count),
                    Err(e) => tracing::warn!(error = ?e, "announcing payouts failed; next round"),
                }
            }
        }
        // Bank debits whose settlement time has come on the sandbox's clock.
        if let Err(e) = crate::payments::settle_debits(&state).await {
            tracing::warn!(error = ?e, "settling bank debits failed; next round");
        }
        let now = SystemClock.now_ms();
        // A database hiccup is logged by the store's error conversion; try again next round.
        let due = state
            .store
            .due_deliveries(now, 32)
            .await
            .unwrap_or_default();
        let busy = !due.is_empty();
        futures_util::future::join_all(due.into_iter().map(|d| attempt(&state, &client, d))).await;
        if busy {
            continue;
        }
        // Sleep until woken by a new event, or poll for retries that came due.
        let poll =
            Duration::from_millis((state.config.retry.delay_ms(1) as u64 / 4).clamp(5, 1000));
        tokio::select! {
            _ = state.deliveries_queued.notified() => {}
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

async fn attempt(state: &SharedState, client: &reqwest::Client, d: Delivery) {
    let body = match state.store.event_json(&d.event_id).await {
        Ok(Some(b)) => b,
        _ => {
            let _ = state
                .store
                .record_attempt(d.id, "failed", 0, None, Some("event not found"), None)
                .await;
            return;
        }
    };
    // Signed at the gateway's time (its injected clock, the system's but in the demo's seeding),
    // as its events are dated; the delivery schedule itself runs in real time.
    let signature = signature_header(&d.secret, state.clock.now(), body.as_bytes());
    let sent = client
        .post(&d.url)
        .header("content-type", "application/json; charset=utf-8")
        .header(
            "user-agent",
            "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        )
        .header("stripe-signature", signature)
        .body(body)
        .send()
        .await;
    let (status, error) = match sent {
        Ok(r) if r.status().is_success() => {
            let done = SystemClock.now_ms();
            tracing::info!(event = %d.event_id, url = %d.url, "webhook delivered");
            let _ = state
                .store
                .record_attempt(
                    d.id,
                    "delivered",
                    done,
                    Some(r.status().as_u16()),
                    None,
                    Some(done),
                )
                .await;
            return;
        }
        Ok(r) => (
            Some(r.status().as_u16()),
            format!("endpoint answered {}", r.status()),
        ),
        Err(e) if e.is_timeout() => (None, "timed out".to_owned()),
        Err(e) => (None, format!("could not connect: {e}")),
    };
    let attempts = u32::try_from(d.attempts + 1).unwrap_or(u32::MAX);
    let policy = &state.config.retry;
    let (next_status, next_ms) = if attempts >= policy.max_attempts {
        ("failed", 0)
    } else {
        ("pending", SystemClock.now_ms() + policy.delay_ms(attempts))
    };
    tracing::warn!(event = %d.event_id, url = %d.url, attempts, %error, "webhook attempt failed");
    let _ = state
        .store
        .record_attempt(d.id, next_status, next_ms, status, Some(&error), None)
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_stripes_documented_scheme() {
        // Computed independently: HMAC-SHA256(key="whsec_test", msg="1700000000.{}").
        let h = signature_header("whsec_test", 1_700_000_000, b"{}");
        assert!(h.starts_with("t=1700000000,v1="));
        assert_eq!(h.len(), "t=1700000000,v1=".len() + 64);
        assert_ne!(h, signature_header("whsec_other", 1_700_000_000, b"{}"));
        assert_ne!(h, signature_header("whsec_test", 1_700_000_001, b"{}"));
    }
}

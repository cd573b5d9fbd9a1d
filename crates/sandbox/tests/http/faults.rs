//! Fault injection: latency, 500 without effect, and effect committed with the response lost —
//! the last recovered by retrying with the same idempotency key.

use std::time::{Duration, Instant};

use crate::harness::*;

#[tokio::test]
async fn error_rate_answers_500_without_effect() {
    let s = start().await;
    s.post("/_sandbox/faults", &[("error_rate", "1")])
        .await
        .expect(200);
    let e = s
        .post(
            "/v1/payment_intents",
            &[("amount", "100"), ("currency", "usd")],
        )
        .await
        .expect(500);
    assert_eq!(e["error"]["type"], "api_error");
    s.post("/_sandbox/faults", &[("error_rate", "0.5")])
        .await
        .expect(200);
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(
                s.post(
                    "/v1/payment_intents",
                    &[("amount", "100"), ("currency", "usd")],
                )
                .await
                .status,
            );
        }
        v
    };
    assert_eq!(statuses, [200, 500, 200, 500]);
    s.post("/_sandbox/faults", &[]).await.expect(200);
    let list = s.get("/v1/payment_intents", &[]).await.expect(200);
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        2,
        "the 500s created nothing"
    );
    s.post("/_sandbox/faults", &[("error_rate", "2")])
        .await
        .expect(400);
}

#[tokio::test]
async fn lost_response_then_retry_with_the_same_key_charges_once() {
    let s = start().await;
    let pm = s.card("4242424242424242").await;
    s.post("/_sandbox/faults", &[("lost_response_rate", "1")])
        .await
        .expect(200);
    let form = [
        ("amount", "2500"),
        ("currency", "usd"),
        ("payment_method", pm.as_str()),
        ("confirm", "true"),
    ];
    let lost = s
        .http
        .post(format!("{}/v1/payment_intents", s.base))
        .bearer_auth(SK)
        .header("Idempotency-Key", "lost-1")
        .form(&form)
        .send()
        .await;
    let lost_ok = match lost {
        Ok(r) => r.bytes().await.is_ok(),
        Err(_) => false,
    };
    assert!(!lost_ok, "the client must not get the response");
    s.post("/_sandbox/faults", &[]).await.expect(200);
    // The charge happened…
    let txns = s.get("/v1/balance_transactions", &[]).await.expect(200);
    assert_eq!(txns["data"].as_array().unwrap().len(), 1);
    // …and the client's retry with the same key gets the stored answer, not a second charge.
    let retry = s.post_idem("/v1/payment_intents", &form, "lost-1").await;
    assert_eq!(retry.expect(200)["status"], "succeeded");
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    let txns = s.get("/v1/balance_transactions", &[]).await.expect(200);
    assert_eq!(txns["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn rate_limit_answers_429_without_effect() {
    let s = start().await;
    s.post("/_sandbox/faults", &[("rate_limit_rate", "1")])
        .await
        .expect(200);
    let e = s
        .post(
            "/v1/payment_intents",
            &[("amount", "100"), ("currency", "usd")],
        )
        .await
        .expect(429);
    assert_eq!(e["error"]["code"], "rate_limit");
    s.post("/_sandbox/faults", &[]).await.expect(200);
    let list = s.get("/v1/payment_intents", &[]).await.expect(200);
    assert!(list["data"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn latency_is_added() {
    let s = start().await;
    s.post("/_sandbox/faults", &[("latency_ms", "150")])
        .await
        .expect(200);
    let t = Instant::now();
    s.get("/v1/payment_intents", &[]).await.expect(200);
    assert!(t.elapsed() >= Duration::from_millis(150));
    let f = s.get("/_sandbox/faults", &[]).await.expect(200);
    assert_eq!(f["latency_ms"], 150);
}

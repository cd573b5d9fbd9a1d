//! Idempotency keys: byte-identical replay, mismatch, in-use, TTL, and exactly one charge under
//! concurrency — also across two sandboxes sharing one database.

use std::sync::Arc;

use paywidget_sandbox::clock::RandomIds;
use paywidget_sandbox::Config;

use crate::harness::*;

#[tokio::test]
async fn replay_is_byte_identical_and_marked() {
    let s = start().await;
    let pm = s.card("4242424242424242").await;
    let form = [
        ("amount", "1200"),
        ("currency", "usd"),
        ("payment_method", pm.as_str()),
        ("confirm", "true"),
    ];
    let first = s
        .post_idem("/v1/payment_intents", &form, "order-42-attempt-1")
        .await;
    first.expect(200);
    assert!(first.header("idempotent-replayed").is_none());
    s.clock.advance_secs(60);
    let again = s
        .post_idem("/v1/payment_intents", &form, "order-42-attempt-1")
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.bytes, first.bytes, "replayed byte for byte");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let list = s.get("/v1/payment_intents", &[]).await.expect(200);
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        1,
        "one payment intent"
    );
    // Same key, other parameters.
    let other = [
        ("amount", "1300"),
        ("currency", "usd"),
        ("payment_method", pm.as_str()),
        ("confirm", "true"),
    ];
    let e = s
        .post_idem("/v1/payment_intents", &other, "order-42-attempt-1")
        .await
        .expect(400);
    assert_eq!(e["error"]["type"], "idempotency_error");
}

#[tokio::test]
async fn card_errors_are_replayed_validation_errors_are_not_stored() {
    let s = start().await;
    let pm = s.card("4000000000009995").await;
    let form = [
        ("amount", "1200"),
        ("currency", "usd"),
        ("payment_method", pm.as_str()),
        ("confirm", "true"),
    ];
    let first = s.post_idem("/v1/payment_intents", &form, "k-decline").await;
    assert_eq!(first.status, 402);
    let again = s.post_idem("/v1/payment_intents", &form, "k-decline").await;
    assert_eq!((again.status, &again.bytes), (402, &first.bytes));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    // A request refused by validation leaves the key free for the corrected request…
    let bad = [("amount", "12x"), ("currency", "usd")];
    s.post_idem("/v1/payment_intents", &bad, "k-fix")
        .await
        .expect(400);
    let good = [("amount", "1200"), ("currency", "usd")];
    s.post_idem("/v1/payment_intents", &good, "k-fix")
        .await
        .expect(200);
    // …and over-long keys are refused.
    let long = "k".repeat(256);
    let e = s
        .post_idem("/v1/payment_intents", &good, &long)
        .await
        .expect(400);
    assert_eq!(e["error"]["type"], "invalid_request_error");
    s.post_idem("/v1/payment_intents", &good, &"k".repeat(255))
        .await
        .expect(200);
}

#[tokio::test]
async fn keys_expire_after_24_hours() {
    let s = start().await;
    let a = [("amount", "100"), ("currency", "usd")];
    let b = [("amount", "200"), ("currency", "usd")];
    s.post_idem("/v1/payment_intents", &a, "daily")
        .await
        .expect(200);
    s.clock.advance_secs(24 * 3600 - 1);
    s.post_idem("/v1/payment_intents", &b, "daily")
        .await
        .expect(400);
    s.clock.advance_secs(1);
    let fresh = s.post_idem("/v1/payment_intents", &b, "daily").await;
    fresh.expect(200);
    assert!(fresh.header("idempotent-replayed").is_none());
}

#[tokio::test]
async fn in_use_while_the_first_request_runs() {
    let s = start().await;
    let form = [("amount", "100"), ("currency", "usd")];
    let body = serde_urlencoded_like(&form);
    let fp = paywidget_sandbox::idempotency::fingerprint(
        SK,
        "POST",
        "/v1/payment_intents",
        SK,
        body.as_bytes(),
    );
    // Claim the key as a request in flight would.
    let begin = s
        .state
        .store
        .idempotency_begin("busy", &fp, NOW)
        .await
        .unwrap();
    assert_eq!(begin, paywidget_sandbox::store::IdempotencyBegin::New);
    let e = s
        .post_idem("/v1/payment_intents", &form, "busy")
        .await
        .expect(409);
    assert_eq!(e["error"]["code"], "idempotency_key_in_use");
    s.state
        .store
        .idempotency_finish("busy", 200, b"{\"id\":\"pi_from_first\"}")
        .await
        .unwrap();
    let r = s.post_idem("/v1/payment_intents", &form, "busy").await;
    assert_eq!(r.bytes, b"{\"id\":\"pi_from_first\"}");
}

/// The body reqwest sends for `form` (its form encoder is serde_urlencoded).
fn serde_urlencoded_like(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

async fn concurrent_confirms(k: usize) {
    let s = start().await;
    let pm = s.card("4242424242424242").await;
    let pi = s
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "999"),
                ("currency", "usd"),
                ("payment_method", &pm),
            ],
        )
        .await
        .expect(200);
    let path = format!("/v1/payment_intents/{}/confirm", pi["id"].as_str().unwrap());
    let s = Arc::new(s);
    let tasks: Vec<_> = (0..k)
        .map(|_| {
            let s = s.clone();
            let path = path.clone();
            tokio::spawn(async move { s.post_idem(&path, &[], "confirm-once").await })
        })
        .collect();
    let mut oks = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            200 => oks.push(r.bytes),
            409 => assert_eq!(r.json()["error"]["code"], "idempotency_key_in_use"),
            other => panic!("unexpected {other}: {}", String::from_utf8_lossy(&r.bytes)),
        }
    }
    assert!(!oks.is_empty(), "k={k}: at least the first succeeds");
    assert!(
        oks.iter().all(|b| b == &oks[0]),
        "k={k}: every success is the same response"
    );
    let charges = s
        .get("/v1/balance_transactions", &[("limit", "100")])
        .await
        .expect(200);
    assert_eq!(
        charges["data"].as_array().unwrap().len(),
        1,
        "k={k}: exactly one charge"
    );
    assert_eq!(
        s.events("payment_intent.succeeded", pi["id"].as_str().unwrap())
            .await
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_confirms_with_one_key_charge_once_k2() {
    concurrent_confirms(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_confirms_with_one_key_charge_once_k8() {
    concurrent_confirms(8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_confirms_with_one_key_charge_once_k64() {
    concurrent_confirms(64).await;
}

/// Two sandbox processes' worth of state on one SQLite file: the key is decided by the
/// database, so still exactly one payment intent is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_key_across_two_sandboxes_sharing_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.sqlite");
    let db = db.to_str().unwrap();
    let a = Arc::new(start_with(Config::default(), db, Arc::new(RandomIds)).await);
    let b = Arc::new(start_with(Config::default(), db, Arc::new(RandomIds)).await);
    let form = [("amount", "500"), ("currency", "usd")];
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                s.post_idem("/v1/payment_intents", &form, "shared-key")
                    .await
            })
        })
        .collect();
    let mut bodies = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert!(
            r.status == 200 || r.status == 409,
            "{}: {}",
            r.status,
            String::from_utf8_lossy(&r.bytes)
        );
        if r.status == 200 {
            bodies.push(r.bytes);
        }
    }
    assert!(bodies.iter().all(|x| x == &bodies[0]));
    let list = a.get("/v1/payment_intents", &[]).await.expect(200);
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
}

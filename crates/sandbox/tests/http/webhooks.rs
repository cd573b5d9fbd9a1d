//! Webhook delivery: signatures checked by an HMAC written from scratch here, retries with
//! backoff until a failing receiver recovers, the delivery log, and delivery after a restart.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use paywidget_sandbox::clock::{RandomIds, SystemClock};
use paywidget_sandbox::{Config, RetryPolicy, WebhookEndpoint};
use sha2::{Digest, Sha256};

use crate::harness::*;

const SECRET: &str = "whsec_test_paywidget_receiver";

/// HMAC-SHA256 per RFC 2104, from the hash alone (independent of the `hmac` crate the sandbox uses).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&ipad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// Checks `Stripe-Signature: t=…,v1=…` against the body; returns `t`.
fn verify(header: &str, body: &[u8]) -> i64 {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = Some(v.to_owned()),
            _ => {}
        }
    }
    let t = t.expect("t= in signature");
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(body);
    let expected: String = hmac_sha256(SECRET.as_bytes(), &signed)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        v1.as_deref(),
        Some(expected.as_str()),
        "signature must verify"
    );
    t
}

#[test]
fn from_scratch_hmac_matches_rfc_4231_case_2() {
    let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

/// What a receiver got: the `Stripe-Signature` header and the body of each request.
type Hits = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A receiver that answers 500 to its first `fail_first` requests, then 200.
#[derive(Clone, Default)]
struct Receiver {
    hits: Hits,
    fail_first: usize,
}

async fn start_receiver(fail_first: usize) -> (Receiver, String, tokio::task::JoinHandle<()>) {
    let r = Receiver {
        fail_first,
        ..Default::default()
    };
    let shared = r.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let shared = shared.clone();
            async move {
                let sig = headers
                    .get("stripe-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let mut hits = shared.hits.lock().unwrap();
                hits.push((sig, body.to_vec()));
                if hits.len() <= shared.fail_first {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (r, url, task)
}

fn config(url: &str) -> Config {
    Config {
        webhooks: vec![WebhookEndpoint {
            url: url.into(),
            secret: SECRET.into(),
        }],
        retry: RetryPolicy {
            first_delay_ms: 1000,
            scale: 0.02,
            max_attempts: 6,
            timeout_ms: 2000,
        },
        ..Config::default()
    }
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_receiver_gets_the_event_after_three_failures() {
    let (receiver, url, _rt) = start_receiver(3).await;
    let s = start_with_clock(
        config(&url),
        ":memory:",
        Arc::new(RandomIds),
        Arc::new(SystemClock),
        paywidget_sandbox::clock::ManualClock::at(0),
    )
    .await;
    let pi = s.pay("4242424242424242", "1000").await.expect(200);
    let hits = receiver.hits.clone();
    wait_until("4 attempts", || hits.lock().unwrap().len() >= 4).await;
    let hits = receiver.hits.lock().unwrap().clone();
    assert_eq!(hits.len(), 4, "three failures then one success, no more");
    let mut stamps = Vec::new();
    for (sig, body) in &hits {
        stamps.push(verify(sig, body));
        assert_eq!(
            body, &hits[0].1,
            "every attempt carries the same event bytes"
        );
    }
    let event: serde_json::Value = serde_json::from_slice(&hits[0].1).unwrap();
    assert_eq!(event["type"], "payment_intent.succeeded");
    assert_eq!(event["data"]["object"]["id"], pi["id"]);
    assert_eq!(event["object"], "event");
    // A tampered body does not verify.
    let tampered = std::panic::catch_unwind(|| verify(&hits[0].0, b"{}"));
    assert!(tampered.is_err());
    // The delivery log shows the attempts.
    let log = s.get("/_sandbox/deliveries", &[]).await.expect(200);
    let row = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["event_id"] == event["id"])
        .cloned()
        .unwrap();
    assert_eq!(row["status"], "delivered");
    assert_eq!(row["attempts"], 4);
    assert_eq!(row["last_status"], 200);
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_type_is_delivered_and_signed() {
    let (receiver, url, _rt) = start_receiver(0).await;
    let s = start_with_clock(
        config(&url),
        ":memory:",
        Arc::new(RandomIds),
        Arc::new(SystemClock),
        paywidget_sandbox::clock::ManualClock::at(0),
    )
    .await;
    let ok = s.pay("4242424242424242", "1000").await.expect(200);
    s.post(
        "/v1/refunds",
        &[("payment_intent", ok["id"].as_str().unwrap())],
    )
    .await
    .expect(200);
    s.pay("4000000000000002", "1000").await.expect(402);
    s.pay("4000002500003155", "1000").await.expect(200);
    s.pay("4000000000000259", "1000").await.expect(200);
    let open = s
        .post(
            "/v1/payment_intents",
            &[("amount", "100"), ("currency", "usd")],
        )
        .await
        .expect(200);
    s.post(
        &format!(
            "/v1/payment_intents/{}/cancel",
            open["id"].as_str().unwrap()
        ),
        &[],
    )
    .await
    .expect(200);
    let wanted = [
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.requires_action",
        "payment_intent.canceled",
        "charge.refunded",
        "charge.dispute.created",
    ];
    let hits = receiver.hits.clone();
    wait_until("all event types", || {
        let seen: Vec<String> = hits
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| {
                serde_json::from_slice::<serde_json::Value>(b).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        wanted.iter().all(|w| seen.iter().any(|s| s == w))
    })
    .await;
    for (sig, body) in receiver.hits.lock().unwrap().iter() {
        verify(sig, body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_deliveries_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sandbox.sqlite");
    let db = db.to_str().unwrap().to_owned();
    // A port nobody listens on yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let mut cfg = config(&url);
    cfg.retry.max_attempts = 1000;
    let first = start_with_clock(
        cfg.clone(),
        &db,
        Arc::new(RandomIds),
        Arc::new(SystemClock),
        paywidget_sandbox::clock::ManualClock::at(0),
    )
    .await;
    let pi = first.pay("4242424242424242", "700").await.expect(200);
    let deadline = Instant::now() + Duration::from_secs(10);
    let pending = loop {
        let log = first.get("/_sandbox/deliveries", &[]).await.expect(200);
        if log["data"][0]["attempts"].as_i64().unwrap_or(0) >= 1 {
            break log;
        }
        assert!(Instant::now() < deadline, "no failed attempt recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(pending["data"][0]["status"], "pending");
    assert!(pending["data"][0]["attempts"].as_i64().unwrap() >= 1);
    assert!(pending["data"][0]["last_error"]
        .as_str()
        .unwrap()
        .contains("connect"));
    drop(first);
    // The receiver comes up on that port; a new sandbox on the same database delivers.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let hits: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let h = hits.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: Bytes| {
            let h = h.clone();
            async move {
                h.lock().unwrap().push(body.to_vec());
                StatusCode::OK
            }
        }),
    );
    let _rt = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let second = start_with_clock(
        cfg,
        &db,
        Arc::new(RandomIds),
        Arc::new(SystemClock),
        paywidget_sandbox::clock::ManualClock::at(0),
    )
    .await;
    let hits2 = hits.clone();
    wait_until("delivery after restart", || {
        !hits2.lock().unwrap().is_empty()
    })
    .await;
    let event: serde_json::Value = serde_json::from_slice(&hits.lock().unwrap()[0]).unwrap();
    assert_eq!(event["data"]["object"]["id"], pi["id"]);
    // The receiver has the body a moment before the worker records the delivery: wait for it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = second.get("/_sandbox/deliveries", &[]).await.expect(200);
        if log["data"][0]["status"] == "delivered" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not recorded as delivered: {log}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

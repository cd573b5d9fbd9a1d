//! Attacks on the webhook endpoint, each as a bot would make it: another tenant's secret, a
//! payment the host never created, a header that costs the host a MAC per entry, and events
//! the host cannot read (which must come back, not be lost). Runs on both databases.

use std::time::{Duration, Instant};

use paywidget_testkit::fixtures::{self, WHSEC};
use paywidget_testkit::world::{sign, world_with, WebhookTarget, World};
use serde_json::{json, Value};

use super::{now, RawDb};

/// A second merchant on the same host with a webhook secret of its own (a second tenant, or a
/// leftover demo secret).
const RIVAL_SECRET: &str = "whsec_rival_tenant";

fn two_tenants(gateway: &str, dir: &std::path::Path) -> String {
    fixtures::host(gateway, dir)
        + &format!(
            r#"
[[merchants]]
id = "rival"
name = "Rival Co"
gateway_url = "{gateway}"
secret_key = "sk_test_rival"
publishable_key = "pk_test_rival"
webhook_secret = "{RIVAL_SECRET}"
"#
        )
}

/// A paid licence order of Hope's (`pro`) whose webhooks never came: (session, its payment).
async fn paid_order(w: &World) -> (String, String) {
    let s = w.session("pro", None).await;
    let pm = w.tokenize("4242424242424242").await;
    assert_eq!(w.pay(&s, &pm, "k").await.1["status"], "succeeded");
    let pi = w
        .state
        .store
        .session(&s)
        .await
        .unwrap()
        .and_then(|r| r.payment_intent)
        .unwrap();
    (s, pi)
}

fn succeeded(event: &str, pi: &str, session: &str, amount: i64) -> String {
    json!({
        "id": event, "object": "event", "type": "payment_intent.succeeded",
        "data": { "object": {
            "id": pi, "object": "payment_intent", "status": "succeeded",
            "amount": amount, "amount_received": amount, "currency": "usd",
            "metadata": { "session_id": session },
        } },
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_secret_cannot_fulfil_an_order() {
    let w = world_with(WebhookTarget::None, two_tenants).await;
    let (s, pi) = paid_order(&w).await;
    // The rival signs an event naming Hope's session, with its own payment and with Hope's.
    for forged in ["pi_rivals_own", pi.as_str()] {
        let body = succeeded(&format!("evt_forged_{forged}"), forged, &s, 4900);
        let (code, _) = w
            .post_event(&body, Some(sign(&body, now(), RIVAL_SECRET)))
            .await;
        assert_eq!(code, 200, "acknowledged (the rival learns nothing) …");
    }
    let view = w.status(&s).await;
    assert_eq!(view["status"], "paid", "… but nothing fulfilled: {view}");
    assert!(view["license"].is_null(), "no licence key for the rival");
    assert!(w.outbox().await.is_empty());

    // Hope's own secret, but a payment the host never created for this session: nothing.
    let body = succeeded("evt_other_payment", "pi_never_created", &s, 4900);
    let (code, _) = w.post_event(&body, Some(sign(&body, now(), WHSEC))).await;
    assert_eq!(code, 200);
    assert_eq!(w.status(&s).await["status"], "paid");

    // The genuine event, signed by Hope's secret, for the payment the host created: fulfilled.
    let body = succeeded("evt_genuine", &pi, &s, 4900);
    let (code, _) = w.post_event(&body, Some(sign(&body, now(), WHSEC))).await;
    assert_eq!(code, 200);
    let done = w.status(&s).await;
    assert_eq!(done["status"], "fulfilled", "{done}");
    assert_eq!(w.outbox().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_or_dispute_signed_by_another_tenant_revokes_nothing() {
    let w = world_with(WebhookTarget::None, two_tenants).await;
    let (s, pi) = paid_order(&w).await;
    let body = succeeded("evt_genuine", &pi, &s, 4900);
    assert_eq!(
        w.post_event(&body, Some(sign(&body, now(), WHSEC))).await.0,
        200
    );
    assert_eq!(w.status(&s).await["status"], "fulfilled");
    let refund = json!({
        "id": "evt_forged_refund", "type": "charge.refunded",
        "data": { "object": { "id": "ch_x", "payment_intent": pi, "amount": 4900, "amount_refunded": 4900, "refunded": true } },
    })
    .to_string();
    let dispute = json!({
        "id": "evt_forged_dispute", "type": "charge.dispute.created",
        "data": { "object": { "id": "dp_x", "charge": "ch_x", "payment_intent": pi, "status": "needs_response", "amount": 4900 } },
    })
    .to_string();
    for body in [&refund, &dispute] {
        assert_eq!(
            w.post_event(body, Some(sign(body, now(), RIVAL_SECRET)))
                .await
                .0,
            200
        );
    }
    let view = w.status(&s).await;
    assert_eq!(view["status"], "fulfilled", "{view}");
    assert_eq!(view["license"]["revoked"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispute_won_gives_the_licence_back() {
    let w = world_with(WebhookTarget::None, fixtures::host).await;
    let (s, pi) = paid_order(&w).await;
    let body = succeeded("evt_genuine", &pi, &s, 4900);
    assert_eq!(
        w.post_event(&body, Some(sign(&body, now(), WHSEC))).await.0,
        200
    );
    let dispute = |id: &str, kind: &str, status: &str| {
        json!({
            "id": id, "type": kind,
            "data": { "object": { "id": "dp_1", "charge": "ch_1", "payment_intent": pi, "status": status, "amount": 4900 } },
        })
        .to_string()
    };
    let opened = dispute("evt_dp_open", "charge.dispute.created", "needs_response");
    assert_eq!(
        w.post_event(&opened, Some(sign(&opened, now(), WHSEC)))
            .await
            .0,
        200
    );
    assert_eq!(w.status(&s).await["license"]["revoked"], true);
    let won = dispute("evt_dp_won", "charge.dispute.closed", "won");
    assert_eq!(
        w.post_event(&won, Some(sign(&won, now(), WHSEC))).await.0,
        200
    );
    assert_eq!(
        w.status(&s).await["license"]["revoked"],
        false,
        "a won dispute reinstates the licence"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_of_many_entries_costs_nothing_and_is_refused() {
    let w = world_with(WebhookTarget::None, fixtures::host).await;
    // A body at the usual limit and a header of 30,000 empty entries, eight at once.
    let body = json!({ "id": "evt_flood", "type": "x", "pad": "a".repeat(15_000) }).to_string();
    let header = format!("t={}{}", now(), ",v1=".repeat(30_000));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (http, url, body, header) = (
            w.http.clone(),
            format!("{}/webhooks/gateway", w.host),
            body.clone(),
            header.clone(),
        );
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .header("Stripe-Signature", header)
                .body(body)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    for t in tasks {
        let code = t.await.unwrap().unwrap();
        assert!(code == 400 || code == 431, "refused: {code}");
    }
    println!(
        "8 requests with 30,000 v1 entries each, at once: answered in {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered in {:?}",
        started.elapsed()
    );
    // Many well-formed entries are refused too (at most 8 are compared).
    let fake = format!(",v1={}", "ab".repeat(32)).repeat(9);
    let body = r#"{"id":"evt_x","type":"x","data":{"object":{}}}"#;
    let header = format!("{}{fake}", sign(body, now(), WHSEC));
    let (code, answer) = w.post_event(body, Some(header)).await;
    assert_eq!(
        (code, answer["error"]["code"].as_str()),
        (400, Some("bad_signature"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_genuine_event_is_taken_and_other_bodies_keep_their_limit() {
    let w = world_with(WebhookTarget::None, fixtures::host).await;
    let (s, pi) = paid_order(&w).await;
    // 100 kB of metadata: over the 16 KiB of the page's requests, well within an event's.
    let mut event: Value = serde_json::from_str(&succeeded("evt_large", &pi, &s, 4900)).unwrap();
    for i in 0..40 {
        event["data"]["object"]["metadata"][format!("note_{i}")] = json!("n".repeat(2_500));
    }
    let body = event.to_string();
    assert!(body.len() > 100_000);
    let (code, answer) = w.post_event(&body, Some(sign(&body, now(), WHSEC))).await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(w.status(&s).await["status"], "fulfilled");
    // The page's endpoints still refuse such a body.
    let big = json!({ "campaign": "winter", "amount": 1000, "name": "x".repeat(20_000) });
    let (code, _) = w
        .api(reqwest::Method::POST, "/api/sessions", Some(big))
        .await;
    assert_eq!(code, 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_the_host_cannot_read_is_retried_not_lost() {
    let w = world_with(WebhookTarget::None, fixtures::host).await;
    let (s, pi) = paid_order(&w).await;
    // A handled type in a shape the host does not expect (a field renamed, say).
    let odd = json!({
        "id": "evt_odd", "type": "payment_intent.succeeded",
        "data": { "object": { "id": pi, "state": "succeeded", "metadata": { "session_id": s } } },
    })
    .to_string();
    let (code, _) = w.post_event(&odd, Some(sign(&odd, now(), WHSEC))).await;
    assert_eq!(code, 500, "not acknowledged: the gateway delivers it again");
    let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_events WHERE id = 'evt_odd'")
        .fetch_one(&w.db().await)
        .await
        .unwrap();
    assert_eq!(seen, 0, "not recorded as seen");
    // The same event id, delivered again in the shape the host reads, is applied.
    let good = succeeded("evt_odd", &pi, &s, 4900);
    let (code, ack) = w.post_event(&good, Some(sign(&good, now(), WHSEC))).await;
    assert_eq!((code, ack["duplicate"].as_bool()), (200, Some(false)));
    assert_eq!(w.status(&s).await["status"], "fulfilled");
    // A type the host does not handle is acknowledged whatever its object.
    let other = json!({ "id": "evt_other", "type": "product.created", "data": { "object": { "weird": [1] } } })
        .to_string();
    assert_eq!(
        w.post_event(&other, Some(sign(&other, now(), WHSEC)))
            .await
            .0,
        200
    );
}

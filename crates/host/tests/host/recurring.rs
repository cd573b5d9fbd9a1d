//! Recurring gifts on the sandbox's test clock: the first gift paid from the checkout, then
//! every renewal fulfilled exactly once (keyed by invoice) — also when every webhook arrives
//! twice and out of order — and a failed renewal told to the donor.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use paywidget_testkit::fixtures::{recurring, WHSEC};
use paywidget_testkit::world::{sign, world_on_test_clock, WebhookTarget, World};
use serde_json::json;

/// 32 days: past the end of any monthly period.
const A_MONTH: i64 = 32 * 86_400;

pub(crate) async fn monthly_gift(w: &World, card: &str) -> String {
    let (code, body) = w
        .api(
            reqwest::Method::POST,
            "/api/sessions",
            Some(json!({ "campaign": "winter", "amount": 1000, "email": "donor@example.org", "frequency": "monthly" })),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    let session = body["id"].as_str().unwrap().to_owned();
    let pm = w.tokenize(card).await;
    let (code, paid) = w.pay(&session, &pm, "first").await;
    assert_eq!(
        (code, paid["status"].as_str()),
        (200, Some("succeeded")),
        "{paid}"
    );
    session
}

/// Waits until the session has `n` recorded invoices.
async fn wait_invoices(
    w: &World,
    session: &str,
    n: usize,
) -> Vec<paywidget_host::store::InvoiceRow> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = w.state.store.invoices(session).await.unwrap();
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} invoices recorded",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn assert_twelve_renewals_once_each(invoices: &[paywidget_host::store::InvoiceRow]) {
    assert_eq!(invoices.len(), 13, "the first gift and 12 renewals");
    let renewals: Vec<_> = invoices
        .iter()
        .filter(|i| i.billing_reason == "subscription_cycle")
        .collect();
    assert_eq!(renewals.len(), 12);
    let mut numbers: Vec<&str> = renewals
        .iter()
        .map(|i| i.receipt_number.as_deref().expect("a renewal's receipt"))
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(numbers.len(), 12, "12 distinct receipt numbers");
    assert!(renewals.iter().all(|i| i.amount == 1000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monthly_gift_renews_twelve_times_with_one_receipt_each() {
    let (w, clock) = world_on_test_clock(WebhookTarget::Host, recurring).await;
    let session = monthly_gift(&w, "4242424242424242").await;
    let first = w.wait_status(&session, "fulfilled").await;
    assert_eq!(first["receipt"]["number"], "HOPE-000001");
    assert_eq!(first["frequency"], "monthly");
    for month in 1..=12 {
        w.advance_test_clock(&clock, A_MONTH).await;
        wait_invoices(&w, &session, month + 1).await;
    }
    let invoices = wait_invoices(&w, &session, 13).await;
    assert_twelve_renewals_once_each(&invoices);
    assert_eq!(w.charges().await, 13, "13 charges at the gateway");
    let receipts = w
        .outbox()
        .await
        .iter()
        .filter(|m| m.contains("HOPE-0000"))
        .count();
    assert_eq!(receipts, 13, "one receipt mail per gift");
    // The gateway announced each renewal; a monthly donor is not reminded every month.
    let announced = w
        .gateway_get("/v1/events?type=invoice.upcoming&limit=100")
        .await;
    assert!(
        announced["data"].as_array().unwrap().len() >= 12,
        "{announced}"
    );
    assert!(
        !w.outbox().await.iter().any(|m| m.contains("renews on")),
        "no monthly reminder"
    );
    let row = w.state.store.session(&session).await.unwrap().unwrap();
    assert_eq!(
        row.subscription_status,
        Some(paywidget_host::store::SubscriptionStatus::Active)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewals_converge_when_every_webhook_comes_twice_and_out_of_order() {
    // The sandbox delivers to a collector; the test replays everything to the host, shuffled
    // and doubled.
    let events: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let seen = events.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: Bytes| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(body.to_vec());
                "ok"
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let (w, clock) = world_on_test_clock(WebhookTarget::Url(collector), recurring).await;
    let session = monthly_gift(&w, "4242424242424242").await;
    for _ in 0..12 {
        w.advance_test_clock(&clock, A_MONTH).await;
    }
    // Every paid invoice's event has arrived at the collector.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let paid = events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| String::from_utf8_lossy(e).contains("\"invoice.paid\""))
            .count();
        if paid >= 13 {
            break;
        }
        assert!(Instant::now() < deadline, "{paid} invoice.paid events");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut all: Vec<Vec<u8>> = events.lock().unwrap().clone();
    all.extend(all.clone());
    // A fixed shuffle (deterministic): reversed, then interleaved from both ends.
    all.reverse();
    let mut shuffled = Vec::with_capacity(all.len());
    while !all.is_empty() {
        shuffled.push(all.remove(0));
        if let Some(last) = all.pop() {
            shuffled.push(last);
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for body in &shuffled {
        let body = String::from_utf8(body.clone()).unwrap();
        let (code, answer) = w.post_event(&body, Some(sign(&body, now, WHSEC))).await;
        assert_eq!(code, 200, "{answer}");
    }
    let invoices = w.state.store.invoices(&session).await.unwrap();
    assert_twelve_renewals_once_each(&invoices);
    let status = w.status(&session).await;
    assert_eq!(status["status"], "fulfilled");
    assert_eq!(status["receipt"]["number"], "HOPE-000001");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_renewal_is_mailed_with_the_next_try_and_recovers() {
    let (w, clock) = world_on_test_clock(WebhookTarget::Host, recurring).await;
    let session = monthly_gift(&w, "4242424242424242").await;
    w.wait_status(&session, "fulfilled").await;
    let subscription = w.subscription_of(&session).await;
    // The card starts failing: a card that attaches but is declined when charged.
    let failing = w.set_subscription_card(&session, "4000000000000341").await;
    w.advance_test_clock(&clock, A_MONTH).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mail = loop {
        if let Some(m) = w
            .outbox()
            .await
            .into_iter()
            .find(|m| m.contains("could not be charged"))
        {
            break m;
        }
        if Instant::now() >= deadline {
            let log = w.gateway_get("/_sandbox/deliveries").await;
            let types: Vec<&str> = log["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["event_type"].as_str().unwrap_or(""))
                .collect();
            let invoices = w
                .gateway_get(&format!("/v1/invoices?subscription={subscription}"))
                .await;
            panic!("no mail about the failed renewal; events {types:?}; invoices {invoices}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(mail.contains("10.00 USD"), "{mail}");
    assert!(
        mail.contains("We will try again on 20"),
        "names the next try: {mail}"
    );
    assert_eq!(
        w.state.store.invoices(&session).await.unwrap().len(),
        1,
        "nothing fulfilled for the failed one"
    );
    // The mail's link: the new card, made the default, pays the open invoice at once.
    let plain = mail
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let link = plain
        .split("/update-card?token=")
        .nth(1)
        .expect("the update-card link in the mail")
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let open = w
        .gateway_get(&format!(
            "/v1/invoices?subscription={subscription}&status=open"
        ))
        .await;
    let invoice = open["data"][0]["id"]
        .as_str()
        .expect("the open invoice")
        .to_owned();
    let (code, view) = w
        .api(
            reqwest::Method::GET,
            &format!("/api/update-card/{link}"),
            None,
        )
        .await;
    assert_eq!(
        (code, view["display_amount"].as_str()),
        (200, Some("10.00 USD")),
        "{view}"
    );
    assert_eq!(view["campaign"]["id"], "winter");
    // A tampered link does nothing.
    let tampered = format!("{}x", &link[..link.len() - 1]);
    let (code, _) = w
        .api(
            reqwest::Method::GET,
            &format!("/api/update-card/{tampered}"),
            None,
        )
        .await;
    assert_eq!(code, 400);
    // A card that needs 3-D Secure: the bank's page, then back to the same link to finish.
    let secure = w.tokenize("4000002500003155").await;
    let (code, outcome) = w
        .api(
            reqwest::Method::POST,
            "/api/update-card",
            Some(
                json!({ "link": link, "payment_method": secure, "idempotency_key": "secure-card" }),
            ),
        )
        .await;
    assert_eq!(
        (code, outcome["status"].as_str()),
        (200, Some("requires_action")),
        "{outcome}"
    );
    let bank = outcome["redirect_url"].as_str().unwrap().to_owned();
    let seti = bank
        .split("/sandbox/3ds/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let secret = bank
        .split("client_secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let back = w
        .http
        .post(format!("{}/sandbox/3ds/{seti}", w.gateway))
        .form(&[("client_secret", secret.as_str()), ("outcome", "complete")])
        .send()
        .await
        .unwrap();
    let location = back.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.contains("/update-card?token=") && location.contains("setup_intent="),
        "{location}"
    );
    // Someone else's SetupIntent is not accepted for this link.
    let (code, _) = w
        .api(
            reqwest::Method::POST,
            "/api/update-card",
            Some(
                json!({ "link": link, "setup_intent": "seti_not_theirs", "idempotency_key": "x" }),
            ),
        )
        .await;
    assert!(code >= 400, "an unknown setup intent is refused");
    let (code, resumed) = w
        .api(
            reqwest::Method::POST,
            "/api/update-card",
            Some(json!({ "link": link, "setup_intent": seti, "idempotency_key": "secure-card-back" })),
        )
        .await;
    assert_eq!(
        (code, resumed["status"].as_str()),
        (200, Some("succeeded")),
        "{resumed}"
    );
    // The same attempt again (a double click): its success, nothing more charged.
    let (code, again) = w
        .api(
            reqwest::Method::POST,
            "/api/update-card",
            Some(json!({ "link": link, "setup_intent": seti, "idempotency_key": "secure-card-back" })),
        )
        .await;
    assert_eq!(
        (code, again["status"].as_str()),
        (200, Some("succeeded")),
        "{again}"
    );
    // The link is spent: another card through it is refused (no oracle for whoever finds the
    // mail), and so is its page.
    let good = w.tokenize("4242424242424242").await;
    let (code, refused) = w
        .api(
            reqwest::Method::POST,
            "/api/update-card",
            Some(json!({ "link": link, "payment_method": good, "idempotency_key": "new-card" })),
        )
        .await;
    assert_eq!(code, 409, "{refused}");
    let (code, _) = w
        .api(
            reqwest::Method::GET,
            &format!("/api/update-card/{link}"),
            None,
        )
        .await;
    assert_eq!(code, 409);
    let sub = w
        .gateway_get(&format!("/v1/subscriptions/{subscription}"))
        .await;
    assert_eq!(sub["status"], "active", "no longer past due: {sub}");
    assert_ne!(
        sub["default_payment_method"],
        failing.as_str(),
        "the new card is the default"
    );
    let invoices = wait_invoices(&w, &session, 2).await;
    let recovered = invoices
        .iter()
        .find(|i| i.invoice_id == invoice)
        .expect("the recovered invoice is fulfilled");
    assert!(recovered.receipt_number.is_some());
    assert_eq!(invoices.len(), 2, "once");
    // The dunning figures: one renewal failed at first, recovered.
    assert_eq!(
        w.state.store.dunning("hope", 0, i64::MAX).await.unwrap(),
        (1, 1)
    );
    // Recovered revenue: that renewal's amount.
    assert_eq!(
        w.state.store.recovered("hope", 0, i64::MAX).await.unwrap(),
        [("USD".to_owned(), 1, 1000)]
    );
    assert_eq!(
        w.charges().await,
        2,
        "the first gift and the recovered renewal, once each"
    );
    // A week later the link no longer works.
    w.clock.advance_secs(8 * 24 * 3600);
    let (code, _) = w
        .api(
            reqwest::Method::GET,
            &format!("/api/update-card/{link}"),
            None,
        )
        .await;
    assert_eq!(code, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_yearly_gift_is_announced_before_it_renews() {
    let (w, clock) = world_on_test_clock(WebhookTarget::Host, recurring).await;
    let (code, body) = w
        .api(
            reqwest::Method::POST,
            "/api/sessions",
            Some(json!({ "campaign": "winter", "amount": 5000, "email": "yearly@example.org", "frequency": "yearly" })),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    let session = body["id"].as_str().unwrap().to_owned();
    let pm = w.tokenize("4242424242424242").await;
    w.pay(&session, &pm, "first").await;
    w.wait_status(&session, "fulfilled").await;
    // 360 days later: a week before the renewal, the donor hears of it.
    w.advance_test_clock(&clock, 360 * 86_400).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mail = loop {
        if let Some(m) = w
            .outbox()
            .await
            .into_iter()
            .find(|m| m.contains("renews on"))
        {
            break m;
        }
        assert!(Instant::now() < deadline, "no upcoming-renewal mail");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(mail.contains("50.00 USD"), "{mail}");
    assert!(mail.contains("/portal"), "{mail}");
    assert_eq!(
        w.state.store.invoices(&session).await.unwrap().len(),
        1,
        "not renewed yet"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_retries_run_out_the_gift_ends_and_the_donor_is_told() {
    let (w, clock) = world_on_test_clock(WebhookTarget::Host, recurring).await;
    let session = monthly_gift(&w, "4242424242424242").await;
    w.wait_status(&session, "fulfilled").await;
    w.set_subscription_card(&session, "4000000000000341").await;
    // The renewal fails, then the retries on days 1, 3, 5 and 7; then the gift ends.
    w.advance_test_clock(&clock, A_MONTH).await;
    w.advance_test_clock(&clock, 10 * 86_400).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mail = loop {
        if let Some(m) = w
            .outbox()
            .await
            .into_iter()
            .find(|m| m.contains("has stopped"))
        {
            break m;
        }
        assert!(Instant::now() < deadline, "no mail that the gift stopped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(mail.contains("/c/winter"), "the way to give again: {mail}");
    let row = w.state.store.session(&session).await.unwrap().unwrap();
    assert_eq!(
        row.subscription_status,
        Some(paywidget_host::store::SubscriptionStatus::Canceled)
    );
    assert_eq!(
        w.state.store.invoices(&session).await.unwrap().len(),
        1,
        "nothing more fulfilled"
    );
    let failed = w
        .outbox()
        .await
        .iter()
        .filter(|m| m.contains("could not be charged"))
        .count();
    assert!(failed >= 1, "the failures were mailed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_yearly_pro_licence_is_valid_while_paid_then_past_due_then_expired() {
    let (w, clock) = world_on_test_clock(WebhookTarget::Host, recurring).await;
    // The tier and the period decide the price; a plan not offered is refused.
    let (code, refused) = w
        .api(
            reqwest::Method::POST,
            "/api/sessions",
            Some(json!({ "campaign": "team", "email": "dev@example.org", "frequency": "monthly" })),
        )
        .await;
    assert_eq!(
        (code, refused["error"]["message"].as_str()),
        (400, Some("Choose a plan."))
    );
    let (code, s) = w
        .api(reqwest::Method::POST, "/api/sessions", Some(json!({ "campaign": "team", "tier": "pro", "email": "dev@example.org", "frequency": "yearly" })))
        .await;
    assert_eq!((code, s["total"].as_i64()), (201, Some(19000)), "{s}");
    let session = s["id"].as_str().unwrap().to_owned();
    let pm = w.tokenize("4242424242424242").await;
    w.pay(&session, &pm, "k").await;
    let done = w.wait_status(&session, "fulfilled").await;
    let key = done["license"]["key"].as_str().unwrap().to_owned();
    let claims =
        paywidget_host::licence::verify(&w.state.signing_key.verifying_key(), &key).unwrap();
    assert_eq!((claims.seats, claims.product.as_str()), (3, "Acme Pro"));
    let verify = || {
        let (w, key) = (&w, key.clone());
        async move {
            w.api(
                reqwest::Method::POST,
                "/api/licenses/verify",
                Some(json!({ "key": key })),
            )
            .await
            .1
        }
    };
    let activate = |instance: &'static str| {
        let (w, key) = (&w, key.clone());
        async move {
            w.api(
                reqwest::Method::POST,
                "/api/licenses/activate",
                Some(json!({ "key": key, "instance": instance })),
            )
            .await
        }
    };
    // Wait for the first invoice's event to set the paid period.
    let deadline = Instant::now() + Duration::from_secs(20);
    let v = loop {
        let v = verify().await;
        let f = w.state.store.fulfilment(&session).await.unwrap().unwrap();
        if f.paid_until.is_some() {
            break v;
        }
        assert!(Instant::now() < deadline, "no paid period recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        (v["valid"].as_bool(), v["status"].as_str()),
        (Some(true), Some("active")),
        "{v}"
    );
    let today = (w.state.clock.now() / 86_400) as u64;
    let until = v["valid_until_day"].as_u64().unwrap();
    assert!(
        (today + 365..=today + 366 + 7).contains(&until),
        "a year and the grace days: {v}"
    );
    // All three seats, then the fourth is refused.
    for machine in ["a", "b", "c"] {
        assert_eq!(activate(machine).await.0, 200);
    }
    let (code, full) = activate("d").await;
    assert_eq!(
        (code, full["error"]["code"].as_str()),
        (409, Some("seats_exhausted"))
    );
    // The card fails at the renewal: past due, still valid in the grace days.
    w.set_subscription_card(&session, "4000000000000341").await;
    w.advance_test_clock(&clock, 367 * 86_400).await;
    w.clock.advance_secs(367 * 86_400);
    let v = verify().await;
    assert_eq!(
        (v["valid"].as_bool(), v["status"].as_str()),
        (Some(true), Some("past_due")),
        "{v}"
    );
    // Past the grace days: expired; no new activation.
    w.clock.advance_secs(8 * 86_400);
    let v = verify().await;
    assert_eq!(
        (v["valid"].as_bool(), v["status"].as_str()),
        (Some(false), Some("expired")),
        "{v}"
    );
    assert_eq!(activate("a").await.1["error"]["code"], "license_expired");
}

//! A gift by SEPA Direct Debit through the host: confirmed with the payer's mandate (their IP
//! and browser), pending while the bank confirms (the confirmation page says so), fulfilled and
//! mailed only when the debit succeeds; a failed debit ends declined, with a mail and the way
//! to give again. The IBAN reaches the gateway only.

use std::time::{Duration, Instant};

use paywidget_sandbox::DEFAULT_PUBLISHABLE_KEY as PK;
use paywidget_testkit::fixtures;
use paywidget_testkit::world::{world_with, WebhookTarget, World};
use serde_json::{json, Value};

/// The host tests' fixture with a campaign in euros.
fn with_euros(gateway: &str, dir: &std::path::Path) -> String {
    fixtures::host(gateway, dir) + fixtures::EURO_SEPA
}

/// Jenny Rosen's account `iban` as a `sepa_debit` payment method, made with the publishable
/// key as the page makes it.
async fn sepa_method(w: &World, iban: &str) -> Value {
    w.http
        .post(format!("{}/v1/payment_methods", w.gateway))
        .bearer_auth(PK)
        .form(&[
            ("type", "sepa_debit"),
            ("sepa_debit[iban]", iban),
            ("billing_details[name]", "Jenny Rosen"),
            ("billing_details[email]", "jenny@example.org"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A gift of 30.00 EUR from the account `iban`, paid through the host: (session, pay answer).
async fn gift(w: &World, iban: &str) -> (String, Value) {
    let (code, s) = w
        .api(
            reqwest::Method::POST,
            "/api/sessions",
            Some(json!({ "campaign": "euro", "amount": 3000, "email": "jenny@example.org" })),
        )
        .await;
    assert_eq!(code, 201, "{s}");
    let session = s["id"].as_str().unwrap().to_owned();
    let pm = sepa_method(w, iban).await;
    let paid: Value = w
        .http
        .post(format!("{}/api/sessions/{session}/pay", w.host))
        .header(
            "user-agent",
            "Mozilla/5.0 (Linux; Android 14) paywidget-test",
        )
        .json(&json!({ "payment_method": pm["id"], "idempotency_key": "sepa-1" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (session, paid)
}

async fn mail_containing(w: &World, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(m) = w.outbox().await.into_iter().find(|m| m.contains(needle)) {
            return m;
        }
        assert!(Instant::now() < deadline, "no mail with {needle:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sepa_gift_is_pending_until_the_bank_confirms_then_receipted() {
    let w = world_with(WebhookTarget::Host, with_euros).await;
    let (session, paid) = gift(&w, "DE89370400440532013000").await;
    assert_eq!(paid["status"], "processing", "{paid}");
    assert_eq!(w.status(&session).await["status"], "processing");
    // The mandate was accepted online, from this payer's address and browser.
    let pi = w
        .state
        .store
        .session(&session)
        .await
        .unwrap()
        .and_then(|r| r.payment_intent)
        .unwrap();
    let intent = w
        .gateway_get(&format!("/v1/payment_intents/{pi}?expand[]=latest_charge"))
        .await;
    let mandate = intent["latest_charge"]["payment_method_details"]["sepa_debit"]["mandate"]
        .as_str()
        .unwrap()
        .to_owned();
    let mandate = w.gateway_get(&format!("/v1/mandates/{mandate}")).await;
    let online = &mandate["customer_acceptance"]["online"];
    assert_eq!(online["ip_address"], "127.0.0.1", "{mandate}");
    assert_eq!(
        online["user_agent"],
        "Mozilla/5.0 (Linux; Android 14) paywidget-test"
    );
    // The confirmation page says what is happening, and nothing is fulfilled yet.
    let page = w
        .http
        .get(format!("{}/thanks/{session}", w.host))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Your bank is confirming the payment"),
        "{page}"
    );
    assert!(
        w.outbox().await.is_empty(),
        "no receipt before the bank confirms"
    );
    // The debit settles on the gateway's clock; the webhook fulfils it.
    let deadline = Instant::now() + Duration::from_secs(15);
    while w.status(&session).await["status"] != "fulfilled" {
        assert!(Instant::now() < deadline, "never fulfilled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let receipt = mail_containing(&w, "30.00 EUR").await;
    assert!(receipt.contains("HOPE-"), "{receipt}");
    // The IBAN is in no mail, no log line of the host's, no row of its database.
    let db = std::fs::read_dir(w.dir.path())
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path()).ok())
        .any(|bytes| String::from_utf8_lossy(&bytes).contains("370400440532013000"));
    assert!(!db, "the IBAN is in the host's files");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_debit_is_declined_and_the_payer_is_mailed_the_way_back() {
    let w = world_with(WebhookTarget::Host, with_euros).await;
    let (session, paid) = gift(&w, "DE62370400440532013001").await;
    assert_eq!(paid["status"], "processing", "{paid}");
    let mail = mail_containing(&w, "did not go through").await;
    assert!(
        mail.contains("30.00 EUR") && mail.contains("Winterhilfe"),
        "{mail}"
    );
    assert!(mail.contains("/c/euro"), "the way to give again: {mail}");
    let view = w.status(&session).await;
    assert_eq!(view["status"], "declined", "{view}");
    assert!(
        !w.outbox().await.iter().any(|m| m.contains("HOPE-")),
        "no receipt for a failed debit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_debit_for_a_card_only_campaign_is_refused_before_the_gateway() {
    let w = world_with(WebhookTarget::Host, |g, d| {
        with_euros(g, d).replace("sepa_debit = true\n", "")
    })
    .await;
    let (session, paid) = gift(&w, "DE89370400440532013000").await;
    assert_eq!(paid["error"]["code"], "invalid_payment_method", "{paid}");
    assert_eq!(w.status(&session).await["status"], "open");
    assert_eq!(
        w.charges().await,
        0,
        "nothing reached the gateway's charges"
    );
}

/// 32 days: past the end of any monthly period.
const A_MONTH: i64 = 32 * 86_400;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monthly_sepa_gift_renews_off_session_on_its_mandate() {
    let (w, clock) =
        paywidget_testkit::world::world_on_test_clock(WebhookTarget::Host, |g, d, c| {
            fixtures::recurring(g, d, c)
                + &fixtures::EURO_SEPA
                    .replace("sepa_debit", "frequencies = [\"monthly\"]\nsepa_debit")
        })
        .await;
    let (code, s) = w
        .api(
            reqwest::Method::POST,
            "/api/sessions",
            Some(json!({ "campaign": "euro", "amount": 3000, "email": "jenny@example.org", "frequency": "monthly" })),
        )
        .await;
    assert_eq!(code, 201, "{s}");
    let session = s["id"].as_str().unwrap().to_owned();
    let pm = sepa_method(&w, "DE89370400440532013000").await;
    let (code, paid) = w.pay(&session, pm["id"].as_str().unwrap(), "first").await;
    assert_eq!(
        (code, paid["status"].as_str()),
        (200, Some("processing")),
        "{paid}"
    );
    // The bank settles the first debit on the customer's clock.
    w.advance_test_clock(&clock, 60).await;
    w.wait_status(&session, "fulfilled").await;
    mail_containing(&w, "HOPE-000001").await;
    // A month later the renewal is debited off-session on the same mandate, then settles.
    w.advance_test_clock(&clock, A_MONTH).await;
    w.advance_test_clock(&clock, 60).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let invoices = w.state.store.invoices(&session).await.unwrap();
        if invoices
            .iter()
            .any(|i| i.billing_reason == "subscription_cycle" && i.receipt_number.is_some())
        {
            break;
        }
        assert!(Instant::now() < deadline, "{invoices:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    mail_containing(&w, "HOPE-000002").await;
    assert_eq!(w.charges().await, 2, "two debits");
}

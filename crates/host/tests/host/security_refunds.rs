//! Refunds and disputes land on the right gift: a refunded renewal leaves the donor's statement
//! (the first gift stays), and a refunded first gift does not hide the renewals paid since.
//! Driven through the gateway's own refunds and their webhooks; runs on both databases.

use std::time::{Duration, Instant};

use paywidget_sandbox::DEFAULT_SECRET_KEY as SK;
use paywidget_testkit::world::World;

use super::portal::{monthly_gift, signed_in};

/// The statement page of this year for the signed-in `cookie`.
async fn statement(w: &World, cookie: &str) -> String {
    let year = paywidget_host::mail::civil_date(w.state.clock.now())[..4].to_owned();
    w.http
        .get(format!("{}/portal/statement?year={year}", w.host))
        .header("cookie", format!("pw_portal={cookie}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Refunds the payment intent at the gateway (as the merchant's dashboard would).
async fn refund(w: &World, pi: &str) {
    let r = w
        .http
        .post(format!("{}/v1/refunds", w.gateway))
        .bearer_auth(SK)
        .form(&[("payment_intent", pi)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
}

/// Advances the gift's test clock a month and waits for its receipted renewal.
async fn renewed(w: &World, clock: &str, session: &str) -> paywidget_host::store::InvoiceRow {
    w.advance_test_clock(clock, 32 * 86_400).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let invoices = w.state.store.invoices(session).await.unwrap();
        if let Some(r) = invoices
            .into_iter()
            .find(|i| i.billing_reason == "subscription_cycle" && i.receipt_number.is_some())
        {
            return r;
        }
        assert!(Instant::now() < deadline, "no renewal");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refunded_renewal_leaves_the_statement_and_the_first_gift_stays() {
    let (w, clock, session) = monthly_gift().await;
    let renewal = renewed(&w, &clock, &session).await;
    let first = w.status(&session).await["receipt"]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let renewal_receipt = renewal.receipt_number.clone().unwrap();
    let (cookie, _) = signed_in(&w, "ada@example.org").await;
    let before = statement(&w, &cookie).await;
    assert!(
        before.contains(&first) && before.contains(&renewal_receipt),
        "{before}"
    );
    // The renewal's payment, found through the gateway's invoice payments, is refunded.
    let payments = w
        .gateway_get(&format!(
            "/v1/invoice_payments?invoice={}",
            renewal.invoice_id
        ))
        .await;
    let pi = payments["data"][0]["payment"]["payment_intent"]
        .as_str()
        .expect("the renewal's payment intent")
        .to_owned();
    refund(&w, &pi).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let invoices = w.state.store.invoices(&session).await.unwrap();
        let r = invoices
            .iter()
            .find(|i| i.invoice_id == renewal.invoice_id)
            .unwrap();
        if r.reversed.as_deref() == Some("refunded") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the renewal's refund never landed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = statement(&w, &cookie).await;
    assert!(after.contains(&first), "the first gift stays: {after}");
    assert!(
        !after.contains(&renewal_receipt),
        "the refunded renewal is gone: {after}"
    );
    assert_eq!(
        w.status(&session).await["status"],
        "fulfilled",
        "the session itself is not refunded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refunded_first_gift_does_not_hide_the_renewals() {
    let (w, clock, session) = monthly_gift().await;
    let renewal = renewed(&w, &clock, &session).await;
    let first_pi = w
        .state
        .store
        .session(&session)
        .await
        .unwrap()
        .and_then(|s| s.payment_intent)
        .unwrap();
    refund(&w, &first_pi).await;
    w.wait_status(&session, "refunded").await;
    let (cookie, _) = signed_in(&w, "ada@example.org").await;
    let page = statement(&w, &cookie).await;
    assert!(
        page.contains(renewal.receipt_number.as_deref().unwrap()),
        "the renewal paid since stays on the statement: {page}"
    );
}

/// A licence subscription whose first charge is refunded while it keeps charging: revoked while
/// no paid period is left, standing again on the renewal paid since, and revoked again when that
/// renewal is refunded too. (Before, the first refund revoked the licence for good while the
/// subscription went on charging for it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_licence_stands_on_the_periods_still_paid_for() {
    use paywidget_testkit::fixtures::recurring;
    use paywidget_testkit::world::{world_on_test_clock, WebhookTarget};
    use serde_json::json;
    let (w, clock) = world_on_test_clock(WebhookTarget::Host, recurring).await;
    let (code, s) = w
        .api(
            reqwest::Method::POST,
            "/api/sessions",
            Some(json!({ "campaign": "team", "tier": "pro", "email": "dev@example.org", "frequency": "monthly" })),
        )
        .await;
    assert_eq!(code, 201, "{s}");
    let session = s["id"].as_str().unwrap().to_owned();
    let pm = w.tokenize("4242424242424242").await;
    w.pay(&session, &pm, "k").await;
    let done = w.wait_status(&session, "fulfilled").await;
    let key = done["license"]["key"].as_str().unwrap().to_owned();
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
    // Waits until the licence reads `status`.
    let standing = |want: &'static str| {
        let verify = &verify;
        async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let v = verify().await;
                if v["status"] == want {
                    return v;
                }
                assert!(Instant::now() < deadline, "never {want}: {v}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    // The first invoice's paid period is recorded before anything is refunded.
    let deadline = Instant::now() + Duration::from_secs(20);
    while w.state.store.invoices(&session).await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no first invoice");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    standing("active").await;
    let first_pi = w
        .state
        .store
        .session(&session)
        .await
        .unwrap()
        .and_then(|s| s.payment_intent)
        .unwrap();
    refund(&w, &first_pi).await;
    w.wait_status(&session, "refunded").await;
    let v = standing("revoked").await;
    assert_eq!(v["valid"], false, "no paid period is left: {v}");
    // The subscription charges the next month: the licence stands on that payment.
    w.advance_test_clock(&clock, 32 * 86_400).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let renewal = loop {
        let invoices = w.state.store.invoices(&session).await.unwrap();
        if let Some(r) = invoices
            .into_iter()
            .find(|i| i.billing_reason == "subscription_cycle")
        {
            break r;
        }
        assert!(Instant::now() < deadline, "no renewal");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // (The host's clock stays: the gateway signs its events with the real time.)
    let v = standing("active").await;
    assert_eq!(v["valid"], true, "{v}");
    let today = (w.state.clock.now() / 86_400) as u64;
    let until = v["valid_until_day"].as_u64().unwrap();
    assert!(
        (today + 32 + 28 + 7..=today + 32 + 31 + 7 + 1).contains(&until),
        "valid through the renewal's period and the grace days: {v}"
    );
    // That renewal refunded too: nothing paid is left.
    let payments = w
        .gateway_get(&format!(
            "/v1/invoice_payments?invoice={}",
            renewal.invoice_id
        ))
        .await;
    let pi = payments["data"][0]["payment"]["payment_intent"]
        .as_str()
        .expect("the renewal's payment intent")
        .to_owned();
    refund(&w, &pi).await;
    standing("revoked").await;
}

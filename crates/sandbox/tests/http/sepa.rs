//! SEPA Direct Debit: bank accounts tokenized without their IBAN kept, mandates, `processing`
//! until the debit settles on the sandbox's or a test clock's time, and Stripe's test IBANs
//! (success, failure, dispute, delayed); refused without a mandate, in another currency, with a
//! bad IBAN or a missing account holder.

use reqwest::Method;
use serde_json::Value;

use crate::harness::*;

const DAY: i64 = 86_400;

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

async fn bank(sb: &Sandbox, iban: &str) -> Reply {
    sb.send(
        Method::POST,
        "/v1/payment_methods",
        Some(PK),
        &[
            ("type", "sepa_debit"),
            ("sepa_debit[iban]", iban),
            ("billing_details[name]", "Jenny Rosen"),
            ("billing_details[email]", "jenny@example.org"),
        ],
        None,
    )
    .await
}

/// Confirms a debit of 30.00 EUR from `pm` (for `customer`, if any), mandate accepted online.
async fn debit(sb: &Sandbox, pm: &str, customer: Option<&str>) -> Value {
    let mut form = vec![
        ("amount", "3000"),
        ("currency", "eur"),
        ("payment_method", pm),
        ("payment_method_types[]", "sepa_debit"),
        ("confirm", "true"),
        ("mandate_data[customer_acceptance][type]", "online"),
        (
            "mandate_data[customer_acceptance][online][ip_address]",
            "203.0.113.7",
        ),
        (
            "mandate_data[customer_acceptance][online][user_agent]",
            "Mozilla/5.0",
        ),
    ];
    if let Some(c) = customer {
        form.push(("customer", c));
    }
    sb.post("/v1/payment_intents", &form).await.expect(200)
}

/// A customer on a new test clock: (clock, customer).
async fn on_clock(sb: &Sandbox) -> (String, String) {
    let clock = sb
        .post(
            "/v1/test_helpers/test_clocks",
            &[("frozen_time", &NOW.to_string())],
        )
        .await
        .expect(200);
    let clock = s(&clock["id"]);
    let c = sb
        .post(
            "/v1/customers",
            &[("email", "jenny@example.org"), ("test_clock", &clock)],
        )
        .await
        .expect(200);
    (clock, s(&c["id"]))
}

async fn advance(sb: &Sandbox, clock: &str, to: i64) {
    sb.post(
        &format!("/v1/test_helpers/test_clocks/{clock}/advance"),
        &[("frozen_time", &to.to_string())],
    )
    .await
    .expect(200);
}

async fn status(sb: &Sandbox, pi: &str) -> Value {
    sb.get(&format!("/v1/payment_intents/{pi}"), &[])
        .await
        .expect(200)
}

#[tokio::test]
async fn a_bank_account_is_tokenized_without_its_iban_and_bad_ones_are_refused() {
    let sb = start().await;
    let r = bank(&sb, "DE89 3704 0044 0532 0130 00").await;
    let pm = r.expect(200);
    assert_eq!(pm["type"], "sepa_debit");
    assert_eq!(pm["sepa_debit"]["last4"], "3000");
    assert_eq!(pm["sepa_debit"]["country"], "DE");
    assert!(pm.get("card").is_none(), "{pm}");
    assert!(!String::from_utf8_lossy(&r.bytes).contains("0532013000"));
    // A typo, a country outside SEPA, nothing at all: refused, never repeated.
    for bad in ["DE89370400440532013001", "SA0380000000608010167519", ""] {
        let r = bank(&sb, bad).await;
        let e = r.expect(400);
        assert_eq!(e["error"]["param"], "sepa_debit[iban]", "{e}");
        if !bad.is_empty() {
            assert_eq!(e["error"]["code"], "invalid_bank_account_iban", "{e}");
            assert!(
                !String::from_utf8_lossy(&r.bytes).contains(&bad[4..]),
                "{e}"
            );
        }
    }
    // The account holder's name and email are required.
    let no_name = sb
        .send(
            Method::POST,
            "/v1/payment_methods",
            Some(PK),
            &[
                ("type", "sepa_debit"),
                ("sepa_debit[iban]", "DE89370400440532013000"),
                ("billing_details[email]", "j@example.org"),
            ],
            None,
        )
        .await
        .expect(400);
    assert_eq!(no_name["error"]["param"], "billing_details[name]");
}

#[tokio::test]
async fn a_debit_needs_its_mandate_and_euros_then_processes_and_settles() {
    let sb = start().await;
    let pm = s(&bank(&sb, "DE89370400440532013000").await.expect(200)["id"]);
    // Without a mandate, or in dollars: refused.
    let r = sb
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "3000"),
                ("currency", "eur"),
                ("payment_method", &pm),
                ("confirm", "true"),
            ],
        )
        .await
        .expect(400);
    assert_eq!(r["error"]["param"], "mandate_data");
    let r = sb
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "3000"),
                ("currency", "usd"),
                ("payment_method", &pm),
                ("confirm", "true"),
                ("mandate_data[customer_acceptance][type]", "online"),
            ],
        )
        .await
        .expect(400);
    assert_eq!(r["error"]["param"], "currency");

    let pi = debit(&sb, &pm, None).await;
    assert_eq!(pi["status"], "processing");
    let id = s(&pi["id"]);
    let charge = sb
        .get(&format!("/v1/charges/{}", s(&pi["latest_charge"])), &[])
        .await
        .expect(200);
    assert_eq!(charge["status"], "pending");
    let details = &charge["payment_method_details"]["sepa_debit"];
    assert_eq!(details["last4"], "3000");
    let mandate = sb
        .get(&format!("/v1/mandates/{}", s(&details["mandate"])), &[])
        .await
        .expect(200);
    assert_eq!(
        mandate["customer_acceptance"]["online"]["ip_address"],
        "203.0.113.7"
    );
    assert_eq!(mandate["payment_method"], pm.as_str());
    // It settles on the sandbox's clock, in the background (the webhook worker's round), a few
    // seconds on.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(status(&sb, &id).await["status"], "processing");
    sb.clock.advance_secs(5);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while status(&sb, &id).await["status"] == "processing" {
        assert!(std::time::Instant::now() < deadline, "never settled");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let done = status(&sb, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["amount_received"], 3000);
    let kinds: Vec<String> = sb
        .all_events()
        .await
        .iter()
        .filter(|e| e["data"]["object"]["id"] == id.as_str())
        .map(|e| s(&e["type"]))
        .collect();
    assert_eq!(
        kinds,
        ["payment_intent.processing", "payment_intent.succeeded"],
        "{kinds:?}"
    );
    // The IBAN is in no object the sandbox keeps or sends.
    for kind in [
        "payment_method",
        "payment_intent",
        "charge",
        "mandate",
        "event",
    ] {
        let all = serde_json::to_string(&sb.state.store.all(kind).await.unwrap()).unwrap();
        assert!(!all.contains("370400440532013000"), "{kind}");
    }
    // Off-session, the account's own mandate serves again.
    let again = sb
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "1000"),
                ("currency", "eur"),
                ("payment_method", &pm),
                ("confirm", "true"),
                ("off_session", "true"),
            ],
        )
        .await
        .expect(200);
    assert_eq!(again["status"], "processing");
}

#[tokio::test]
async fn stripes_test_ibans_settle_on_the_test_clock_as_documented() {
    let sb = start().await;
    for (iban, after, end, code) in [
        ("AT611904300234573201", 5, "succeeded", None),
        ("AT321904300235473204", 180, "succeeded", None),
        (
            "DE62370400440532013001",
            5,
            "requires_payment_method",
            Some("insufficient_funds"),
        ),
        (
            "AT981904300000343434",
            5,
            "requires_payment_method",
            Some("charge_exceeds_source_limit"),
        ),
        ("AT591904300235473203", 5, "succeeded", None),
    ] {
        let (clock, customer) = on_clock(&sb).await;
        let pm = s(&bank(&sb, iban).await.expect(200)["id"]);
        let pi = debit(&sb, &pm, Some(&customer)).await;
        let id = s(&pi["id"]);
        assert_eq!(pi["status"], "processing", "{iban}");
        // A second before its time (the delayed IBAN's: Stripe's "at least three minutes"):
        // still processing.
        advance(&sb, &clock, NOW + after - 1).await;
        assert_eq!(status(&sb, &id).await["status"], "processing", "{iban}");
        advance(&sb, &clock, NOW + after).await;
        let done = status(&sb, &id).await;
        assert_eq!(done["status"], end, "{iban}: {done}");
        if let Some(code) = code {
            assert_eq!(done["last_payment_error"]["code"], code, "{iban}");
            let charge = sb
                .get(&format!("/v1/charges/{}", s(&done["latest_charge"])), &[])
                .await
                .expect(200);
            assert_eq!(
                (charge["status"].as_str(), charge["failure_code"].as_str()),
                (Some("failed"), Some(code))
            );
        }
        if iban == "AT591904300235473203" {
            let disputed = sb.events("charge.dispute.created", &id).await;
            assert_eq!(disputed.len(), 1, "{iban}: disputed at once");
        }
        advance(&sb, &clock, NOW + 2 * DAY).await;
    }
}

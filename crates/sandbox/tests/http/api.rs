//! Wire format, auth, tokenization, the payment-intent state machine, test cards, 3-D Secure,
//! refunds, disputes, customers, lists and settlement.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

#[tokio::test]
async fn auth_bearer_basic_and_refusals() {
    let s = start().await;
    let none = s
        .send(Method::GET, "/v1/payment_intents", None, &[], None)
        .await;
    assert_eq!(none.expect(401)["error"]["type"], "invalid_request_error");
    let bad = s
        .send(
            Method::GET,
            "/v1/payment_intents",
            Some("sk_test_nope"),
            &[],
            None,
        )
        .await;
    let msg = bad.expect(401)["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(msg.starts_with("Invalid API Key provided"), "{msg}");
    assert!(
        !msg.contains("sk_test_nope"),
        "never echo a whole key: {msg}"
    );
    // The publishable key may only tokenize.
    s.send(Method::GET, "/v1/payment_intents", Some(PK), &[], None)
        .await
        .expect(401);
    // HTTP basic with the key as user, as stripe-python sends it.
    let basic = s
        .http
        .get(format!("{}/v1/payment_intents", s.base))
        .basic_auth(SK, Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200);
}

#[tokio::test]
async fn tokenizing_returns_stripe_shape_without_card_data() {
    let s = start().await;
    let r = s
        .send(
            Method::POST,
            "/v1/payment_methods",
            Some(PK),
            &[
                ("type", "card"),
                ("card[number]", "4242 4242 4242 4242"),
                ("card[exp_month]", "12"),
                ("card[exp_year]", "30"),
                ("card[cvc]", "739"),
                ("billing_details[name]", "Ada Lovelace"),
                ("billing_details[email]", "ada@example.org"),
                ("billing_details[address][postal_code]", "94107"),
                ("metadata[order_id]", "o-1"),
            ],
            None,
        )
        .await;
    let body = String::from_utf8(r.bytes.clone()).unwrap();
    let pm = r.expect(200);
    assert!(pm["id"].as_str().unwrap().starts_with("pm_"));
    assert_eq!(pm["object"], "payment_method");
    assert_eq!(pm["livemode"], false);
    assert_eq!(pm["created"], NOW);
    assert_eq!(pm["card"]["brand"], "visa");
    assert_eq!(pm["card"]["last4"], "4242");
    assert_eq!(pm["card"]["exp_year"], 2030);
    assert_eq!(pm["card"]["funding"], "credit");
    assert_eq!(pm["card"]["country"], "US");
    assert_eq!(pm["billing_details"]["address"]["postal_code"], "94107");
    assert_eq!(pm["metadata"]["order_id"], "o-1");
    assert!(
        !body.contains("4242424242424242") && !body.contains("739"),
        "{body}"
    );
    // Fingerprint: same card → same fingerprint; other card → other.
    let again = s.card("4242424242424242").await;
    let again = s
        .get(&format!("/v1/payment_methods/{again}"), &[])
        .await
        .expect(200);
    assert_eq!(again["card"]["fingerprint"], pm["card"]["fingerprint"]);
    let other = s.card("5555555555554444").await;
    let other = s
        .get(&format!("/v1/payment_methods/{other}"), &[])
        .await
        .expect(200);
    assert_ne!(other["card"]["fingerprint"], pm["card"]["fingerprint"]);
    assert_eq!(other["card"]["brand"], "mastercard");
}

#[tokio::test]
async fn card_validation_uses_stripes_codes() {
    let s = start().await;
    let cases = [
        (
            "4242424242424241",
            "12",
            "2030",
            "123",
            "incorrect_number",
            "card[number]",
        ),
        (
            "4242",
            "12",
            "2030",
            "123",
            "invalid_number",
            "card[number]",
        ),
        (
            "4242424242424242",
            "13",
            "2030",
            "123",
            "invalid_expiry_month",
            "card[exp_month]",
        ),
        (
            "4242424242424242",
            "1",
            "2020",
            "123",
            "invalid_expiry_year",
            "card[exp_year]",
        ),
        (
            "4242424242424242",
            "12",
            "2030",
            "12",
            "invalid_cvc",
            "card[cvc]",
        ),
    ];
    for (number, month, year, cvc, code, param) in cases {
        let r = s
            .send(
                Method::POST,
                "/v1/payment_methods",
                Some(PK),
                &[
                    ("type", "card"),
                    ("card[number]", number),
                    ("card[exp_month]", month),
                    ("card[exp_year]", year),
                    ("card[cvc]", cvc),
                ],
                None,
            )
            .await;
        let e = r.expect(402);
        assert_eq!(e["error"]["type"], "card_error", "{number}");
        assert_eq!(e["error"]["code"], code, "{number}");
        assert_eq!(e["error"]["param"], param, "{number}");
        assert!(!String::from_utf8_lossy(&r.bytes).contains(number) || number.len() < 12);
    }
}

#[tokio::test]
async fn unknown_and_malformed_parameters_are_400_not_panics() {
    let s = start().await;
    let e = s
        .post(
            "/v1/payment_intents",
            &[("amount", "100"), ("currency", "usd"), ("colour", "blue")],
        )
        .await
        .expect(400);
    assert_eq!(e["error"]["param"], "colour");
    assert_eq!(e["error"]["message"], "Received unknown parameter: colour");
    let e = s
        .post(
            "/v1/payment_intents",
            &[("amount", "ten"), ("currency", "usd")],
        )
        .await
        .expect(400);
    assert_eq!(e["error"]["param"], "amount");
    let e = s
        .post("/v1/payment_intents", &[("currency", "usd")])
        .await
        .expect(400);
    assert_eq!(e["error"]["code"], "parameter_missing");
    let e = s
        .post(
            "/v1/payment_intents",
            &[("amount", "100"), ("currency", "xyz")],
        )
        .await
        .expect(400);
    assert_eq!(e["error"]["param"], "currency");
    let e = s
        .post(
            "/v1/payment_intents",
            &[("amount", "0"), ("currency", "usd")],
        )
        .await
        .expect(400);
    assert_eq!(e["error"]["code"], "amount_too_small");
    // Garbage bytes in the body.
    let r = s
        .http
        .post(format!("{}/v1/payment_intents", s.base))
        .bearer_auth(SK)
        .body(vec![0xff, 0xfe, b'=', b'&', b'['])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e = s
        .get("/v1/payment_intents/pi_missing", &[])
        .await
        .expect(404);
    assert_eq!(e["error"]["code"], "resource_missing");
    let e = s.get("/v1/nothing_here", &[]).await.expect(404);
    assert_eq!(e["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn success_cards_charge_and_settle() {
    let s = start().await;
    let cards = [
        "4242424242424242",
        "4000056655665556",
        "5555555555554444",
        "2223003122003222",
        "5200828282828210",
        "378282246310005",
        "6011111111111117",
        "3056930009020004",
        "36227206271667",
        "3566002020360505",
        "6200000000000005",
        // Any other valid number succeeds too.
        "4111111111111111",
    ];
    for number in cards {
        let pi = s.pay(number, "2000").await.expect(200);
        assert_eq!(pi["status"], "succeeded", "{number}");
        assert_eq!(pi["amount_received"], 2000);
        let charge_id = pi["latest_charge"].as_str().unwrap();
        assert!(charge_id.starts_with("ch_"));
        let ch = s
            .get(&format!("/v1/charges/{charge_id}"), &[])
            .await
            .expect(200);
        assert_eq!(ch["status"], "succeeded");
        assert_eq!(ch["captured"], true);
        assert_eq!(
            ch["payment_method_details"]["card"]["last4"],
            &number[number.len() - 4..]
        );
        let events = s
            .events("payment_intent.succeeded", pi["id"].as_str().unwrap())
            .await;
        assert_eq!(events.len(), 1, "{number}");
    }
    // Balance: 2000 - (58 + 30) = 1912 net per charge, available two days later at midnight.
    let txns = s
        .get("/v1/balance_transactions", &[("limit", "100")])
        .await
        .expect(200);
    let txns = txns["data"].as_array().unwrap();
    assert_eq!(txns.len(), cards.len());
    for t in txns {
        assert_eq!(
            (t["amount"].as_i64(), t["fee"].as_i64(), t["net"].as_i64()),
            (Some(2000), Some(88), Some(1912))
        );
        assert_eq!(t["status"], "pending");
        assert_eq!(t["type"], "charge");
    }
    let payouts = s.get("/v1/payouts", &[]).await.expect(200);
    assert_eq!(payouts["data"][0]["amount"], 1912 * cards.len() as i64);
    assert_eq!(payouts["data"][0]["status"], "pending");
    let payout = payouts["data"][0]["id"].as_str().unwrap().to_owned();
    assert!(
        s.events("payout.paid", &payout).await.is_empty(),
        "not paid yet"
    );
    s.clock.advance_secs(3 * 86_400);
    let payouts = s.get("/v1/payouts", &[]).await.expect(200);
    assert_eq!(payouts["data"][0]["status"], "paid");
    // Once its day has come, `payout.paid` is announced, once (the worker looks each round).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while s.events("payout.paid", &payout).await.is_empty() {
        assert!(std::time::Instant::now() < deadline, "no payout.paid");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    s.clock.advance_secs(86_400);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let told = s.events("payout.paid", &payout).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        told[0]["data"]["object"]["amount"],
        1912 * cards.len() as i64
    );
    let txns = s
        .get("/v1/balance_transactions", &[("limit", "1")])
        .await
        .expect(200);
    assert_eq!(txns["data"][0]["status"], "available");
}

#[tokio::test]
async fn decline_cards_answer_402_with_stripes_codes() {
    let s = start().await;
    let cases = [
        ("4000000000000002", "card_declined", "generic_decline"),
        ("4000000000009995", "card_declined", "insufficient_funds"),
        ("4000000000009987", "card_declined", "lost_card"),
        ("4000000000009979", "card_declined", "stolen_card"),
        ("4000000000000069", "expired_card", "expired_card"),
        ("4000000000000127", "incorrect_cvc", "incorrect_cvc"),
        ("4000000000000119", "processing_error", "processing_error"),
        ("4100000000000019", "card_declined", "fraudulent"),
    ];
    for (number, code, decline_code) in cases {
        let e = s.pay(number, "1000").await.expect(402);
        let err = &e["error"];
        assert_eq!(err["type"], "card_error", "{number}");
        assert_eq!(err["code"], code, "{number}");
        assert_eq!(err["decline_code"], decline_code, "{number}");
        let pi = &err["payment_intent"];
        assert_eq!(pi["status"], "requires_payment_method");
        assert_eq!(pi["last_payment_error"]["decline_code"], decline_code);
        let pi_id = pi["id"].as_str().unwrap();
        let stored = s
            .get(&format!("/v1/payment_intents/{pi_id}"), &[])
            .await
            .expect(200);
        assert_eq!(stored["status"], "requires_payment_method");
        let ch = s
            .get(
                &format!("/v1/charges/{}", err["charge"].as_str().unwrap()),
                &[],
            )
            .await
            .expect(200);
        assert_eq!(ch["status"], "failed");
        assert_eq!(
            s.events("payment_intent.payment_failed", pi_id).await.len(),
            1
        );
        // A declined payment can be retried with another card.
        let pm = s.card("4242424242424242").await;
        let ok = s
            .post(
                &format!("/v1/payment_intents/{pi_id}/confirm"),
                &[("payment_method", &pm)],
            )
            .await
            .expect(200);
        assert_eq!(ok["status"], "succeeded");
    }
    let txns = s
        .get("/v1/balance_transactions", &[("limit", "100")])
        .await
        .expect(200);
    assert_eq!(
        txns["data"].as_array().unwrap().len(),
        cases.len(),
        "declines move no money"
    );
}

#[tokio::test]
async fn three_d_secure_complete_and_fail() {
    let s = start().await;
    for number in ["4000002500003155", "4000002760003184"] {
        for outcome in ["complete", "fail"] {
            let pi = s.pay(number, "1500").await.expect(200);
            assert_eq!(pi["status"], "requires_action");
            let id = pi["id"].as_str().unwrap();
            assert_eq!(
                s.events("payment_intent.requires_action", id).await.len(),
                1
            );
            let next = &pi["next_action"];
            assert_eq!(next["type"], "redirect_to_url");
            assert_eq!(
                next["redirect_to_url"]["return_url"],
                "https://merchant.test/done"
            );
            let url = next["redirect_to_url"]["url"].as_str().unwrap();
            assert!(url.starts_with(&s.base), "{url}");
            let page = s.http.get(url).send().await.unwrap();
            assert_eq!(page.status(), 200);
            let html = page.text().await.unwrap();
            assert!(
                html.contains("Complete authentication") && html.contains("Fail authentication")
            );
            let secret = pi["client_secret"].as_str().unwrap();
            let r = s
                .http
                .post(format!("{}/sandbox/3ds/{id}", s.base))
                .form(&[("client_secret", secret), ("outcome", outcome)])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 303);
            let location = r.headers()["location"].to_str().unwrap().to_owned();
            assert!(
                location.starts_with("https://merchant.test/done?payment_intent="),
                "{location}"
            );
            let after = s
                .get(&format!("/v1/payment_intents/{id}"), &[])
                .await
                .expect(200);
            if outcome == "complete" {
                assert!(
                    location.ends_with("redirect_status=succeeded"),
                    "{location}"
                );
                assert_eq!(after["status"], "succeeded");
                assert_eq!(s.events("payment_intent.succeeded", id).await.len(), 1);
            } else {
                assert!(location.ends_with("redirect_status=failed"), "{location}");
                assert_eq!(after["status"], "requires_payment_method");
                assert_eq!(
                    after["last_payment_error"]["code"],
                    "payment_intent_authentication_failure"
                );
                assert_eq!(s.events("payment_intent.payment_failed", id).await.len(), 1);
            }
            // The challenge cannot be answered twice, nor with a wrong secret.
            let again = s
                .http
                .post(format!("{}/sandbox/3ds/{id}", s.base))
                .form(&[("client_secret", secret), ("outcome", "complete")])
                .send()
                .await
                .unwrap();
            assert_eq!(again.status(), 400);
        }
    }
    let pi = s.pay("4000002500003155", "100").await.expect(200);
    let wrong = s
        .http
        .post(format!(
            "{}/sandbox/3ds/{}",
            s.base,
            pi["id"].as_str().unwrap()
        ))
        .form(&[("client_secret", "pi_x_secret_y"), ("outcome", "complete")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
}

#[tokio::test]
async fn manual_capture_partial_capture_and_cancel() {
    let s = start().await;
    let pm = s.card("4242424242424242").await;
    let pi = s
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "5000"),
                ("currency", "eur"),
                ("payment_method", &pm),
                ("capture_method", "manual"),
                ("confirm", "true"),
            ],
        )
        .await
        .expect(200);
    assert_eq!(pi["status"], "requires_capture");
    assert_eq!(pi["amount_capturable"], 5000);
    let id = pi["id"].as_str().unwrap();
    s.post(
        &format!("/v1/payment_intents/{id}/capture"),
        &[("amount_to_capture", "6000")],
    )
    .await
    .expect(400);
    let done = s
        .post(
            &format!("/v1/payment_intents/{id}/capture"),
            &[("amount_to_capture", "4000")],
        )
        .await
        .expect(200);
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["amount_received"], 4000);
    let e = s
        .post(&format!("/v1/payment_intents/{id}/capture"), &[])
        .await
        .expect(400);
    assert_eq!(e["error"]["code"], "payment_intent_unexpected_state");
    // Cancel one that was never confirmed.
    let open = s
        .post(
            "/v1/payment_intents",
            &[("amount", "700"), ("currency", "usd")],
        )
        .await
        .expect(200);
    assert_eq!(open["status"], "requires_payment_method");
    let oid = open["id"].as_str().unwrap();
    let c = s
        .post(
            &format!("/v1/payment_intents/{oid}/cancel"),
            &[("cancellation_reason", "abandoned")],
        )
        .await
        .expect(200);
    assert_eq!(c["status"], "canceled");
    assert_eq!(c["cancellation_reason"], "abandoned");
    assert_eq!(s.events("payment_intent.canceled", oid).await.len(), 1);
    let e = s
        .post(
            &format!("/v1/payment_intents/{oid}/confirm"),
            &[("payment_method", &pm)],
        )
        .await
        .expect(400);
    assert_eq!(e["error"]["code"], "payment_intent_unexpected_state");
    // A succeeded one cannot be canceled.
    s.post(&format!("/v1/payment_intents/{id}/cancel"), &[])
        .await
        .expect(400);
    // Confirm in two steps: create with a payment method, then confirm.
    let two = s
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "300"),
                ("currency", "gbp"),
                ("payment_method", &pm),
            ],
        )
        .await
        .expect(200);
    assert_eq!(two["status"], "requires_confirmation");
    let two = s
        .post(
            &format!(
                "/v1/payment_intents/{}/confirm",
                two["id"].as_str().unwrap()
            ),
            &[],
        )
        .await
        .expect(200);
    assert_eq!(two["status"], "succeeded");
    // Without a payment method there is nothing to confirm.
    let bare = s
        .post(
            "/v1/payment_intents",
            &[("amount", "300"), ("currency", "usd")],
        )
        .await
        .expect(200);
    let e = s
        .post(
            &format!(
                "/v1/payment_intents/{}/confirm",
                bare["id"].as_str().unwrap()
            ),
            &[],
        )
        .await
        .expect(400);
    assert_eq!(e["error"]["code"], "payment_intent_unexpected_state");
}

#[tokio::test]
async fn refunds_full_partial_and_too_much() {
    let s = start().await;
    let pi = s.pay("4242424242424242", "1000").await.expect(200);
    let id = pi["id"].as_str().unwrap();
    let r1 = s
        .post("/v1/refunds", &[("payment_intent", id), ("amount", "300")])
        .await
        .expect(200);
    assert!(r1["id"].as_str().unwrap().starts_with("re_"));
    assert_eq!(r1["amount"], 300);
    assert_eq!(r1["status"], "succeeded");
    let e = s
        .post("/v1/refunds", &[("payment_intent", id), ("amount", "800")])
        .await
        .expect(400);
    assert_eq!(e["error"]["code"], "amount_too_large");
    let r2 = s
        .post("/v1/refunds", &[("payment_intent", id)])
        .await
        .expect(200);
    assert_eq!(r2["amount"], 700, "the rest by default");
    let e = s
        .post("/v1/refunds", &[("payment_intent", id)])
        .await
        .expect(400);
    assert_eq!(e["error"]["code"], "charge_already_refunded");
    let got = s
        .get(&format!("/v1/refunds/{}", r1["id"].as_str().unwrap()), &[])
        .await
        .expect(200);
    assert_eq!(got["object"], "refund");
    let refunded = s
        .events("charge.refunded", pi["latest_charge"].as_str().unwrap())
        .await;
    assert_eq!(refunded.len(), 2);
    assert_eq!(refunded[1]["data"]["object"]["refunded"], true);
    assert_eq!(refunded[1]["data"]["object"]["amount_refunded"], 1000);
    let txns = s
        .get("/v1/balance_transactions", &[("type", "refund")])
        .await
        .expect(200);
    let amounts: Vec<i64> = txns["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, [-700, -300]);
    // Not refundable: a payment that did not succeed.
    let open = s
        .post(
            "/v1/payment_intents",
            &[("amount", "700"), ("currency", "usd")],
        )
        .await
        .expect(200);
    s.post(
        "/v1/refunds",
        &[("payment_intent", open["id"].as_str().unwrap())],
    )
    .await
    .expect(400);
}

#[tokio::test]
async fn disputes_from_the_test_card_and_on_demand() {
    let s = start().await;
    let pi = s.pay("4000000000000259", "2500").await.expect(200);
    assert_eq!(pi["status"], "succeeded");
    let charge = pi["latest_charge"].as_str().unwrap();
    let disputes = s
        .events("charge.dispute.created", pi["id"].as_str().unwrap())
        .await;
    assert_eq!(disputes.len(), 1);
    let dp = &disputes[0]["data"]["object"];
    assert_eq!(dp["object"], "dispute");
    assert_eq!(dp["charge"], charge);
    assert_eq!(dp["amount"], 2500);
    let ch = s
        .get(&format!("/v1/charges/{charge}"), &[])
        .await
        .expect(200);
    assert_eq!(ch["disputed"], true);
    let dp = s
        .get(&format!("/v1/disputes/{}", dp["id"].as_str().unwrap()), &[])
        .await
        .expect(200);
    assert_eq!(dp["status"], "needs_response");
    // On demand (what `paywidget sandbox dispute <pi>` calls).
    let other = s.pay("4242424242424242", "900").await.expect(200);
    let oid = other["id"].as_str().unwrap();
    let d = s
        .post(&format!("/_sandbox/payment_intents/{oid}/dispute"), &[])
        .await
        .expect(200);
    assert_eq!(d["payment_intent"], oid);
    s.post(&format!("/_sandbox/payment_intents/{oid}/dispute"), &[])
        .await
        .expect(400);
    assert_eq!(s.events("charge.dispute.created", oid).await.len(), 1);
    // With manual capture the dispute opens once the charge is captured.
    let pm = s.card("4000000000000259").await;
    let m = s
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "400"),
                ("currency", "usd"),
                ("payment_method", &pm),
                ("capture_method", "manual"),
                ("confirm", "true"),
            ],
        )
        .await
        .expect(200);
    let mid = m["id"].as_str().unwrap();
    assert!(s.events("charge.dispute.created", mid).await.is_empty());
    s.post(&format!("/v1/payment_intents/{mid}/capture"), &[])
        .await
        .expect(200);
    assert_eq!(s.events("charge.dispute.created", mid).await.len(), 1);
}

#[tokio::test]
async fn saved_cards_are_charged_off_session() {
    let s = start().await;
    let cus = s
        .post(
            "/v1/customers",
            &[("email", "donor@example.org"), ("name", "A Donor")],
        )
        .await
        .expect(200);
    let cus = cus["id"].as_str().unwrap().to_owned();
    assert!(cus.starts_with("cus_"));
    // First payment on session saves the card for later.
    let pm = s.card("4242424242424242").await;
    let first = s
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "1000"),
                ("currency", "usd"),
                ("customer", &cus),
                ("payment_method", &pm),
                ("setup_future_usage", "off_session"),
                ("confirm", "true"),
            ],
        )
        .await
        .expect(200);
    assert_eq!(first["status"], "succeeded");
    let saved = s
        .get(&format!("/v1/payment_methods/{pm}"), &[])
        .await
        .expect(200);
    assert_eq!(saved["customer"], cus.as_str());
    // Later, without the donor: off_session=true.
    let later = s
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "1000"),
                ("currency", "usd"),
                ("customer", &cus),
                ("payment_method", &pm),
                ("off_session", "true"),
                ("confirm", "true"),
            ],
        )
        .await
        .expect(200);
    assert_eq!(later["status"], "succeeded");
    // Explicit attach, and a 3-D Secure card off session fails with authentication_required.
    let pm3 = s.card("4000002760003184").await;
    s.post(
        &format!("/v1/payment_methods/{pm3}/attach"),
        &[("customer", &cus)],
    )
    .await
    .expect(200);
    let e = s
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "1000"),
                ("currency", "usd"),
                ("customer", &cus),
                ("payment_method", &pm3),
                ("off_session", "true"),
                ("confirm", "true"),
            ],
        )
        .await
        .expect(402);
    assert_eq!(e["error"]["decline_code"], "authentication_required");
    // A card saved to another customer cannot be used.
    let other = s.post("/v1/customers", &[]).await.expect(200);
    let e = s
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "1000"),
                ("currency", "usd"),
                ("customer", other["id"].as_str().unwrap()),
                ("payment_method", &pm),
                ("confirm", "true"),
            ],
        )
        .await
        .expect(400);
    assert_eq!(e["error"]["param"], "payment_method");
    s.post("/v1/payment_methods/pm_nope/attach", &[("customer", &cus)])
        .await
        .expect(404);
}

/// `created` ranges on lists, as Stripe takes them: a second, or `gt`/`gte`/`lt`/`lte` bounds,
/// combined with paging and the other filters; a bound that is not a number is refused.
#[tokio::test]
async fn lists_filter_by_created() {
    let s = start().await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let pi = s
            .post(
                "/v1/payment_intents",
                &[("amount", &format!("{}", 100 + i)), ("currency", "usd")],
            )
            .await
            .expect(200);
        ids.push(pi["id"].as_str().unwrap().to_owned());
        s.clock.advance_secs(100);
    }
    // Created at NOW, NOW+100, NOW+200, NOW+300.
    let listed = |q: Vec<(&'static str, String)>| {
        let s = &s;
        async move {
            let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let page = s.get("/v1/payment_intents", &q).await.expect(200);
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let t = |d: i64| (NOW + d).to_string();
    assert_eq!(
        listed(vec![("created[gte]", t(100)), ("created[lt]", t(300))]).await,
        [ids[2].clone(), ids[1].clone()]
    );
    assert_eq!(
        listed(vec![("created[gt]", t(100)), ("created[lte]", t(300))]).await,
        [ids[3].clone(), ids[2].clone()]
    );
    assert_eq!(listed(vec![("created", t(200))]).await, [ids[2].clone()]);
    assert!(listed(vec![("created[gte]", t(400))]).await.is_empty());
    // With paging: the window's pages only.
    let page = s
        .get(
            "/v1/payment_intents",
            &[
                ("limit", "1"),
                ("created[lte]", &t(200)),
                ("starting_after", &ids[2]),
            ],
        )
        .await
        .expect(200);
    assert_eq!(page["data"][0]["id"], ids[1].as_str());
    assert_eq!(page["has_more"], true);
    let bad = s
        .get("/v1/payment_intents", &[("created[gte]", "yesterday")])
        .await
        .expect(400);
    assert_eq!(bad["error"]["param"], "created[gte]", "{bad}");
    // Invoices take the same filter.
    let none = s
        .get("/v1/invoices", &[("created[lt]", &t(0))])
        .await
        .expect(200);
    assert_eq!(none["data"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn lists_paginate_newest_first() {
    let s = start().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let pi = s
            .post(
                "/v1/payment_intents",
                &[("amount", &format!("{}", 100 + i)), ("currency", "usd")],
            )
            .await
            .expect(200);
        ids.push(pi["id"].as_str().unwrap().to_owned());
    }
    let page1 = s
        .get("/v1/payment_intents", &[("limit", "2")])
        .await
        .expect(200);
    assert_eq!(page1["object"], "list");
    assert_eq!(page1["has_more"], true);
    let got: Vec<&str> = page1["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[4].as_str(), ids[3].as_str()]);
    let page3 = s
        .get(
            "/v1/payment_intents",
            &[("limit", "2"), ("starting_after", &ids[1])],
        )
        .await
        .expect(200);
    assert_eq!(page3["has_more"], false);
    assert_eq!(page3["data"][0]["id"], ids[0].as_str());
    s.get("/v1/payment_intents", &[("limit", "0")])
        .await
        .expect(400);
    s.get("/v1/payment_intents", &[("starting_after", "pi_nope")])
        .await
        .expect(404);
    let events = s.get("/v1/events", &[("limit", "1")]).await.expect(200);
    assert_eq!(events["object"], "list");
    let one = s.get("/v1/events/evt_nope", &[]).await.expect(404);
    assert_eq!(one["error"]["code"], "resource_missing");
}

#[tokio::test]
async fn cors_is_open_only_for_tokenization() {
    let s = start().await;
    let pre = s
        .http
        .request(Method::OPTIONS, format!("{}/v1/payment_methods", s.base))
        .header("Origin", "https://checkout.example")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type,idempotency-key",
        )
        .send()
        .await
        .unwrap();
    assert!(pre.status().is_success(), "{}", pre.status());
    assert_eq!(pre.headers()["access-control-allow-origin"], "*");
    let pi = s
        .http
        .request(Method::OPTIONS, format!("{}/v1/payment_intents", s.base))
        .header("Origin", "https://checkout.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(pi.headers().get("access-control-allow-origin").is_none());
}

/// The charge of a payment answer (200: the intent; 402: the error).
async fn charge_of(s: &Sandbox, reply: &Reply) -> serde_json::Value {
    let body = reply.json();
    let id = if reply.status == 200 {
        body["latest_charge"].as_str().unwrap().to_owned()
    } else {
        body["error"]["charge"].as_str().unwrap().to_owned()
    };
    s.get(&format!("/v1/charges/{id}"), &[]).await.expect(200)
}

#[tokio::test]
async fn radar_test_cards_have_stripes_outcomes() {
    let s = start().await;
    // Highest risk: blocked by Radar, a card error with decline_code fraudulent.
    for number in ["4100000000000019", "4000000000004954"] {
        let r = s.pay(number, "1000").await;
        let e = r.expect(402);
        assert_eq!(e["error"]["type"], "card_error", "{number}");
        assert_eq!(e["error"]["code"], "card_declined", "{number}");
        assert_eq!(e["error"]["decline_code"], "fraudulent", "{number}");
        let ch = charge_of(&s, &r).await;
        assert_eq!(ch["status"], "failed", "{number}");
        assert_eq!(ch["paid"], false);
        assert_eq!(ch["failure_code"], "card_declined");
        let o = &ch["outcome"];
        assert_eq!(o["type"], "blocked", "{number}");
        assert_eq!(o["reason"], "highest_risk_level");
        assert_eq!(o["risk_level"], "highest");
        assert_eq!(o["network_status"], "not_sent_to_network");
        assert_eq!(
            o["seller_message"],
            "Stripe blocked this payment as too risky."
        );
        assert!(o["risk_score"].as_i64().unwrap() >= 75);
        // Off session (a renewal) too.
        let pm = s.card(number).await;
        let off = s
            .post(
                "/v1/payment_intents",
                &[
                    ("amount", "1000"),
                    ("currency", "usd"),
                    ("payment_method", &pm),
                    ("confirm", "true"),
                    ("off_session", "true"),
                ],
            )
            .await
            .expect(402);
        assert_eq!(off["error"]["decline_code"], "fraudulent");
    }
    // Elevated risk: authorized, flagged.
    let r = s.pay("4000000000009235", "1000").await;
    assert_eq!(r.expect(200)["status"], "succeeded");
    let ch = charge_of(&s, &r).await;
    assert_eq!(ch["status"], "succeeded");
    let o = &ch["outcome"];
    assert_eq!(o["type"], "authorized");
    assert_eq!(o["risk_level"], "elevated");
    assert_eq!(o["network_status"], "approved_by_network");
    let score = o["risk_score"].as_i64().unwrap();
    assert!((65..75).contains(&score), "{score}");
    // Normal: authorized; issuer declines keep the normal level, with their code as reason.
    let r = s.pay("4242424242424242", "1000").await;
    let ch = charge_of(&s, &r).await;
    let o = &ch["outcome"];
    assert_eq!(
        (
            &o["type"],
            &o["risk_level"],
            &o["reason"],
            &o["seller_message"]
        ),
        (
            &json!("authorized"),
            &json!("normal"),
            &Value::Null,
            &json!("Payment complete.")
        )
    );
    assert!(o["risk_score"].as_i64().unwrap() < 65);
    let r = s.pay("4000000000009995", "1000").await;
    let ch = charge_of(&s, &r).await;
    let o = &ch["outcome"];
    assert_eq!(o["type"], "issuer_declined");
    assert_eq!(o["reason"], "insufficient_funds");
    assert_eq!(o["risk_level"], "normal");
    assert_eq!(o["network_status"], "declined_by_network");
    // Every outcome has Stripe's fields.
    for key in [
        "network_status",
        "reason",
        "risk_level",
        "risk_score",
        "seller_message",
        "type",
    ] {
        assert!(o.get(key).is_some(), "outcome.{key}");
    }
    // Setting up a card Radar blocks is refused as a decline is.
    let c = s.post("/v1/customers", &[]).await.expect(200);
    let pm = s.card("4100000000000019").await;
    let e = s
        .post(
            "/v1/setup_intents",
            &[
                ("customer", c["id"].as_str().unwrap()),
                ("payment_method", &pm),
                ("confirm", "true"),
            ],
        )
        .await
        .expect(402);
    assert_eq!(e["error"]["decline_code"], "fraudulent");
}

#[tokio::test]
async fn every_answer_names_its_own_request_as_stripes_do() {
    let s = start().await;
    let pm = s.card("4242424242424242").await;
    let answers = [
        s.get("/v1/payment_intents", &[]).await,
        s.get(&format!("/v1/payment_methods/{pm}"), &[]).await,
        // Errors too: a card error, an unknown route, a refused key.
        s.pay("4000000000009995", "2000").await,
        s.get("/v1/no_such_thing", &[]).await,
        s.send(
            Method::GET,
            "/v1/payment_intents",
            Some("sk_test_nope"),
            &[],
            None,
        )
        .await,
        // A replayed idempotent answer gets its own id as well.
        s.post_idem(
            "/v1/payment_intents",
            &[("amount", "500"), ("currency", "eur")],
            "rid",
        )
        .await,
        s.post_idem(
            "/v1/payment_intents",
            &[("amount", "500"), ("currency", "eur")],
            "rid",
        )
        .await,
    ];
    let mut seen = std::collections::HashSet::new();
    for a in &answers {
        let id = a.header("request-id").expect("a Request-Id").to_owned();
        assert!(id.starts_with("req_") && id.len() > 10, "{id}");
        assert!(seen.insert(id.clone()), "{id} answered twice");
        // Readable by Stripe.js in the browser.
        assert_eq!(
            a.header("access-control-expose-headers"),
            Some("request-id")
        );
    }
    assert_eq!(answers[6].header("idempotent-replayed"), Some("true"));
}

#[tokio::test]
async fn expand_opens_a_payment_intents_charge_method_and_customer() {
    let s = start().await;
    let paid = s.pay("4242424242424242", "2000").await.expect(200);
    let id = paid["id"].as_str().unwrap();
    let plain = s
        .get(&format!("/v1/payment_intents/{id}"), &[])
        .await
        .expect(200);
    assert!(plain["latest_charge"].is_string() && plain["payment_method"].is_string());
    let full = s
        .get(
            &format!("/v1/payment_intents/{id}"),
            &[
                ("expand[]", "latest_charge"),
                ("expand[]", "payment_method"),
            ],
        )
        .await
        .expect(200);
    assert_eq!(full["latest_charge"]["object"], "charge");
    assert_eq!(full["latest_charge"]["id"], plain["latest_charge"]);
    assert_eq!(full["latest_charge"]["payment_intent"], id);
    assert_eq!(full["payment_method"]["card"]["last4"], "4242");
    // Nothing to open: left as it is (null), not an error.
    let open = s
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "500"),
                ("currency", "eur"),
                ("expand[]", "latest_charge"),
            ],
        )
        .await
        .expect(200);
    assert!(open["latest_charge"].is_null(), "{open}");
    // What cannot be expanded is refused, as Stripe refuses it; and never for Stripe.js.
    for bad in [
        "colour",
        "latest_charge.balance_transaction.source",
        "data.latest_charge",
    ] {
        let r = s
            .get(&format!("/v1/payment_intents/{id}"), &[("expand[]", bad)])
            .await
            .expect(400);
        assert!(
            r["error"]["message"]
                .as_str()
                .unwrap()
                .contains("cannot be expanded"),
            "{r}"
        );
    }
    let secret = paid["client_secret"].as_str().unwrap();
    s.send(
        Method::GET,
        &format!("/v1/payment_intents/{id}?client_secret={secret}&expand[]=payment_method"),
        Some(PK),
        &[],
        None,
    )
    .await
    .expect(400);
}

#[tokio::test]
async fn expand_goes_deep_and_into_lists_charges_and_refunds() {
    let s = start().await;
    let paid = s.pay("4242424242424242", "2000").await.expect(200);
    let id = paid["id"].as_str().unwrap();
    let charge = paid["latest_charge"].as_str().unwrap();
    // Two levels: the charge, then its balance transaction.
    let deep = s
        .get(
            &format!("/v1/payment_intents/{id}"),
            &[("expand[]", "latest_charge.balance_transaction")],
        )
        .await
        .expect(200);
    assert_eq!(deep["latest_charge"]["id"], charge);
    assert_eq!(
        deep["latest_charge"]["balance_transaction"]["object"],
        "balance_transaction"
    );
    assert_eq!(deep["latest_charge"]["balance_transaction"]["amount"], 2000);
    // In a list: each item's.
    let listed = s
        .get("/v1/payment_intents", &[("expand[]", "data.latest_charge")])
        .await
        .expect(200);
    let item = &listed["data"][0];
    assert_eq!(item["latest_charge"]["object"], "charge", "{listed}");
    // A list's paths start with `data.`; a retrieve's do not; more than four levels are
    // refused; so is what a kind does not have.
    for (path, query) in [
        ("/v1/payment_intents".to_owned(), "latest_charge"),
        (
            format!("/v1/payment_intents/{id}"),
            "latest_charge.payment_intent.latest_charge.payment_intent.customer",
        ),
        (format!("/v1/charges/{charge}"), "outcome"),
        ("/v1/events".to_owned(), "data.request"),
    ] {
        let r = s.get(&path, &[("expand[]", query)]).await.expect(400);
        assert_eq!(r["error"]["param"], "expand", "{path} {query}: {r}");
    }
    // A charge opens its payment intent; a refund (created or retrieved) its charge.
    let c = s
        .get(
            &format!("/v1/charges/{charge}"),
            &[("expand[]", "payment_intent")],
        )
        .await
        .expect(200);
    assert_eq!(c["payment_intent"]["id"], id);
    let refund = s
        .post(
            "/v1/refunds",
            &[
                ("payment_intent", id),
                ("amount", "500"),
                ("expand[]", "charge"),
            ],
        )
        .await
        .expect(200);
    assert_eq!(refund["charge"]["id"], charge);
    assert_eq!(refund["charge"]["amount_refunded"], 500);
    let again = s
        .get(
            &format!("/v1/refunds/{}", refund["id"].as_str().unwrap()),
            &[("expand[]", "payment_intent")],
        )
        .await
        .expect(200);
    assert_eq!(again["payment_intent"]["id"], id);
}

//! Billing in the post-2025-03-31 shapes: catalogue, customers, subscriptions and their first
//! payment, test clocks and renewals, retries, updates, SetupIntents.

use paywidget_sandbox::billing::{AfterRetries, BillingSettings};
use serde_json::Value;

use crate::harness::*;

const DAY: i64 = 86_400;

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

/// A product with a recurring price; returns the price id.
async fn price(sb: &Sandbox, amount: &str, interval: &str) -> String {
    let prod = sb
        .post("/v1/products", &[("name", "Pro plan")])
        .await
        .expect(200);
    let price = sb
        .post(
            "/v1/prices",
            &[
                ("product", &s(&prod["id"])),
                ("unit_amount", amount),
                ("currency", "usd"),
                ("recurring[interval]", interval),
            ],
        )
        .await
        .expect(200);
    s(&price["id"])
}

async fn clock(sb: &Sandbox, at: i64) -> String {
    let c = sb
        .post(
            "/v1/test_helpers/test_clocks",
            &[("frozen_time", &at.to_string()), ("name", "billing test")],
        )
        .await
        .expect(200);
    assert_eq!(c["object"], "test_helpers.test_clock");
    assert_eq!(c["status"], "ready");
    s(&c["id"])
}

async fn advance(sb: &Sandbox, clock: &str, to: i64) {
    let c = sb
        .post(
            &format!("/v1/test_helpers/test_clocks/{clock}/advance"),
            &[("frozen_time", &to.to_string())],
        )
        .await
        .expect(200);
    assert_eq!(c["status"], "ready");
    assert_eq!(c["frozen_time"], to);
}

/// A customer (on `clock`, if given) with `card` attached as its invoice default.
async fn customer(sb: &Sandbox, clock: Option<&str>, card: &str) -> (String, String) {
    let mut form = vec![("email", "ada@example.org"), ("name", "Ada")];
    if let Some(c) = clock {
        form.push(("test_clock", c));
    }
    let c = sb.post("/v1/customers", &form).await.expect(200);
    let cus = s(&c["id"]);
    let pm = attach(sb, &cus, card).await;
    sb.post(
        &format!("/v1/customers/{cus}"),
        &[("invoice_settings[default_payment_method]", &pm)],
    )
    .await
    .expect(200);
    (cus, pm)
}

async fn attach(sb: &Sandbox, cus: &str, card: &str) -> String {
    let pm = sb.card(card).await;
    sb.post(
        &format!("/v1/payment_methods/{pm}/attach"),
        &[("customer", cus)],
    )
    .await
    .expect(200);
    pm
}

/// A `default_incomplete` subscription with `latest_invoice.confirmation_secret` and
/// `latest_invoice.payments` expanded.
async fn subscribe(sb: &Sandbox, cus: &str, price: &str) -> Value {
    sb.post(
        "/v1/subscriptions",
        &[
            ("customer", cus),
            ("items[0][price]", price),
            ("payment_behavior", "default_incomplete"),
            (
                "payment_settings[save_default_payment_method]",
                "on_subscription",
            ),
            ("metadata[plan]", "pro"),
            ("expand[]", "latest_invoice.confirmation_secret"),
            ("expand[]", "latest_invoice.payments"),
        ],
    )
    .await
    .expect(200)
}

/// The PaymentIntent behind a created subscription's first invoice.
fn first_pi(sub: &Value) -> String {
    s(&sub["latest_invoice"]["payments"]["data"][0]["payment"]["payment_intent"])
}

/// Subscribes and pays the first invoice with `card`; returns the subscription.
async fn active_subscription(sb: &Sandbox, cus: &str, price: &str, card: &str) -> Value {
    let sub = subscribe(sb, cus, price).await;
    let pm = sb.card(card).await;
    sb.post(
        &format!("/v1/payment_intents/{}/confirm", first_pi(&sub)),
        &[("payment_method", &pm)],
    )
    .await
    .expect(200);
    let sub = sb
        .get(&format!("/v1/subscriptions/{}", s(&sub["id"])), &[])
        .await
        .expect(200);
    assert_eq!(sub["status"], "active");
    sub
}

async fn invoices(sb: &Sandbox, sub: &str) -> Vec<Value> {
    let list = sb
        .get("/v1/invoices", &[("subscription", sub), ("limit", "100")])
        .await
        .expect(200);
    let mut v = list["data"].as_array().unwrap().clone();
    v.reverse();
    v
}

async fn sub_status(sb: &Sandbox, sub: &str) -> Value {
    sb.get(&format!("/v1/subscriptions/{sub}"), &[])
        .await
        .expect(200)
}

#[tokio::test]
async fn catalogue_and_customers() {
    let sb = start().await;
    let prod = sb
        .post("/v1/products", &[("name", "Pro"), ("metadata[tier]", "2")])
        .await
        .expect(200);
    assert_eq!(prod["object"], "product");
    assert_eq!(prod["active"], true);
    let pid = s(&prod["id"]);
    sb.get(&format!("/v1/products/{pid}"), &[])
        .await
        .expect(200);
    let monthly = sb
        .post(
            "/v1/prices",
            &[
                ("product", &pid),
                ("unit_amount", "1500"),
                ("currency", "EUR"),
                ("recurring[interval]", "month"),
                ("recurring[interval_count]", "3"),
                ("lookup_key", "pro_quarterly"),
            ],
        )
        .await
        .expect(200);
    assert_eq!(monthly["object"], "price");
    assert_eq!(monthly["type"], "recurring");
    assert_eq!(monthly["currency"], "eur");
    assert_eq!(monthly["recurring"]["interval"], "month");
    assert_eq!(monthly["recurring"]["interval_count"], 3);
    assert_eq!(monthly["unit_amount_decimal"], "1500");
    let inline = sb
        .post(
            "/v1/prices",
            &[
                ("product_data[name]", "Add-on"),
                ("unit_amount", "300"),
                ("currency", "usd"),
            ],
        )
        .await
        .expect(200);
    assert_eq!(inline["type"], "one_time");
    assert!(s(&inline["product"]).starts_with("prod_"));
    // The same lookup key twice is refused.
    sb.post(
        "/v1/prices",
        &[
            ("product", &pid),
            ("unit_amount", "1"),
            ("currency", "usd"),
            ("lookup_key", "pro_quarterly"),
        ],
    )
    .await
    .expect(400);
    sb.post(
        "/v1/prices",
        &[
            ("product", &pid),
            ("unit_amount", "1"),
            ("currency", "usd"),
            ("recurring[interval]", "fortnight"),
        ],
    )
    .await
    .expect(400);
    let found = sb
        .get("/v1/prices", &[("lookup_keys[]", "pro_quarterly")])
        .await
        .expect(200);
    assert_eq!(found["data"].as_array().unwrap().len(), 1);
    assert_eq!(found["data"][0]["id"], monthly["id"]);
    let active = sb
        .get("/v1/prices", &[("active", "true")])
        .await
        .expect(200);
    assert_eq!(active["data"].as_array().unwrap().len(), 2);

    // Customers: default payment method, update, lists, detach.
    let c = sb
        .post(
            "/v1/customers",
            &[("email", "a@example.org"), ("metadata[k]", "v")],
        )
        .await
        .expect(200);
    let cus = s(&c["id"]);
    assert_eq!(c["invoice_settings"]["default_payment_method"], Value::Null);
    assert_eq!(c["test_clock"], Value::Null);
    let pm = attach(&sb, &cus, "4242424242424242").await;
    let foreign = sb.card("4242424242424242").await;
    // Only an attached card can be the default.
    sb.post(
        &format!("/v1/customers/{cus}"),
        &[("invoice_settings[default_payment_method]", &foreign)],
    )
    .await
    .expect(400);
    let updated = sb
        .post(
            &format!("/v1/customers/{cus}"),
            &[
                ("invoice_settings[default_payment_method]", &pm),
                ("name", "Ada"),
                ("metadata[k]", ""),
            ],
        )
        .await
        .expect(200);
    assert_eq!(updated["invoice_settings"]["default_payment_method"], pm);
    assert_eq!(updated["name"], "Ada");
    assert_eq!(updated["email"], "a@example.org");
    assert!(updated["metadata"].get("k").is_none());
    for path in [
        format!("/v1/customers/{cus}/payment_methods"),
        "/v1/payment_methods".to_owned(),
    ] {
        let l = sb.get(&path, &[("customer", &cus)]).await;
        let l = if path.starts_with("/v1/customers") {
            sb.get(&path, &[]).await.expect(200)
        } else {
            l.expect(200)
        };
        assert_eq!(l["data"].as_array().unwrap().len(), 1, "{path}");
        assert_eq!(l["data"][0]["id"], pm);
    }
    let detached = sb
        .post(&format!("/v1/payment_methods/{pm}/detach"), &[])
        .await
        .expect(200);
    assert_eq!(detached["customer"], Value::Null);
    let l = sb
        .get(&format!("/v1/customers/{cus}/payment_methods"), &[])
        .await
        .expect(200);
    assert!(l["data"].as_array().unwrap().is_empty());
    sb.post(&format!("/v1/payment_methods/{pm}/detach"), &[])
        .await
        .expect(400);
}

#[tokio::test]
async fn subscription_first_payment_in_the_new_shapes() {
    let sb = start().await;
    let price = price(&sb, "1000", "month").await;
    let c = sb
        .post("/v1/customers", &[("email", "b@example.org")])
        .await
        .expect(200);
    let cus = s(&c["id"]);
    let sub = subscribe(&sb, &cus, &price).await;
    let sub_id = s(&sub["id"]);
    assert_eq!(sub["object"], "subscription");
    assert_eq!(sub["status"], "incomplete");
    assert_eq!(sub["metadata"]["plan"], "pro");
    assert!(
        sub.get("current_period_end").is_none(),
        "periods are on items"
    );
    let item = &sub["items"]["data"][0];
    assert_eq!(item["current_period_start"], NOW);
    assert_eq!(item["current_period_end"], NOW + 30 * DAY); // 2026-11-23 → 2026-12-23
    assert_eq!(item["price"]["id"], price);
    assert_eq!(item["quantity"], 1);
    let inv = &sub["latest_invoice"];
    assert_eq!(inv["object"], "invoice");
    assert_eq!(inv["status"], "open");
    assert_eq!(inv["billing_reason"], "subscription_create");
    assert_eq!(inv["amount_due"], 1000);
    assert!(inv.get("payment_intent").is_none());
    assert!(inv.get("subscription").is_none());
    assert_eq!(inv["parent"]["type"], "subscription_details");
    assert_eq!(
        inv["parent"]["subscription_details"]["subscription"],
        sub_id
    );
    assert_eq!(
        inv["parent"]["subscription_details"]["metadata"]["plan"],
        "pro"
    );
    assert_eq!(inv["lines"]["data"][0]["amount"], 1000);
    assert_eq!(
        inv["lines"]["data"][0]["pricing"]["price_details"]["price"],
        price
    );
    assert_eq!(inv["confirmation_secret"]["type"], "payment_intent");
    let secret = s(&inv["confirmation_secret"]["client_secret"]);
    let payment = &inv["payments"]["data"][0];
    assert_eq!(payment["object"], "invoice_payment");
    assert_eq!(payment["status"], "open");
    assert_eq!(payment["payment"]["type"], "payment_intent");
    let pi_id = first_pi(&sub);
    assert!(secret.starts_with(&format!("{pi_id}_secret_")));
    // The same through the list endpoint.
    let listed = sb
        .get("/v1/invoice_payments", &[("invoice", &s(&inv["id"]))])
        .await
        .expect(200);
    assert_eq!(listed["data"][0]["payment"]["payment_intent"], pi_id);
    // Without expansion, neither the secret nor the payments are shown, as Stripe's.
    let plain = sb
        .get(&format!("/v1/invoices/{}", s(&inv["id"])), &[])
        .await
        .expect(200);
    assert!(plain.get("confirmation_secret").is_none());
    let pi = sb
        .get(&format!("/v1/payment_intents/{pi_id}"), &[])
        .await
        .expect(200);
    assert_eq!(pi["amount"], 1000);
    assert_eq!(pi["customer"], cus);
    assert_eq!(pi["description"], "Subscription creation");
    assert_eq!(pi["status"], "requires_payment_method");
    assert_eq!(pi["setup_future_usage"], "off_session");
    assert_eq!(pi["metadata"], serde_json::json!({}));

    // Confirming the intent pays the invoice and activates the subscription.
    let pm = sb.card("4242424242424242").await;
    let paid = sb
        .post(
            &format!("/v1/payment_intents/{pi_id}/confirm"),
            &[("payment_method", &pm)],
        )
        .await
        .expect(200);
    assert_eq!(paid["status"], "succeeded");
    let sub = sub_status(&sb, &sub_id).await;
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["default_payment_method"], pm);
    let inv = sb
        .get(
            &format!("/v1/invoices/{}", s(&sub["latest_invoice"])),
            &[("expand[]", "payments")],
        )
        .await
        .expect(200);
    assert_eq!(inv["status"], "paid");
    assert_eq!(inv["amount_paid"], 1000);
    assert_eq!(inv["amount_remaining"], 0);
    assert_eq!(inv["status_transitions"]["paid_at"], NOW);
    assert_eq!(inv["payments"]["data"][0]["status"], "paid");
    assert_eq!(inv["payments"]["data"][0]["amount_paid"], 1000);
    // The card was attached to the customer (setup_future_usage=off_session).
    let pm_now = sb
        .get(&format!("/v1/payment_methods/{pm}"), &[])
        .await
        .expect(200);
    assert_eq!(pm_now["customer"], cus);

    // Events, in order, each carrying the object as the API shows it.
    let kinds: Vec<String> = sb
        .all_events()
        .await
        .iter()
        .map(|e| s(&e["type"]))
        .filter(|t| !t.starts_with("customer.updated") && !t.starts_with("payment_method"))
        .collect();
    assert_eq!(
        kinds,
        [
            "invoice.created",
            "customer.subscription.created",
            "invoice.finalized",
            "payment_intent.succeeded",
            "invoice.paid",
            "invoice.payment_succeeded",
            "invoice_payment.paid",
            "customer.subscription.updated",
        ]
    );
    let paid_event = sb.events("invoice.paid", &s(&inv["id"])).await;
    assert_eq!(paid_event.len(), 1);
    let obj = &paid_event[0]["data"]["object"];
    assert_eq!(obj["status"], "paid");
    assert_eq!(
        obj["parent"]["subscription_details"]["subscription"],
        sub_id
    );
    assert_eq!(
        obj["parent"]["subscription_details"]["metadata"]["plan"],
        "pro"
    );

    // Lists by customer and status.
    let l = sb
        .get(
            "/v1/subscriptions",
            &[("customer", &cus), ("status", "active")],
        )
        .await
        .expect(200);
    assert_eq!(l["data"].as_array().unwrap().len(), 1);
    let l = sb
        .get("/v1/invoices", &[("customer", &cus), ("status", "paid")])
        .await
        .expect(200);
    assert_eq!(l["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn price_data_quantity_and_allow_incomplete() {
    let sb = start().await;
    let prod = sb
        .post("/v1/products", &[("name", "Seat")])
        .await
        .expect(200);
    let (cus, pm) = customer(&sb, None, "4242424242424242").await;
    // allow_incomplete (the default) charges the customer's default card at once.
    let sub = sb
        .post(
            "/v1/subscriptions",
            &[
                ("customer", &cus),
                ("items[0][price_data][currency]", "usd"),
                ("items[0][price_data][product]", &s(&prod["id"])),
                ("items[0][price_data][unit_amount]", "700"),
                ("items[0][price_data][recurring][interval]", "week"),
                ("items[0][quantity]", "3"),
                ("expand[]", "latest_invoice"),
            ],
        )
        .await
        .expect(200);
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["latest_invoice"]["amount_due"], 2100);
    assert_eq!(sub["latest_invoice"]["status"], "paid");
    assert_eq!(sub["items"]["data"][0]["current_period_end"], NOW + 7 * DAY);
    assert_eq!(sub["default_payment_method"], Value::Null);
    let _ = pm;
    // error_if_incomplete with a declining card: 402 and no subscription.
    let (cus2, _) = customer(&sb, None, "4000000000000002").await;
    let e = sb
        .post(
            "/v1/subscriptions",
            &[
                ("customer", &cus2),
                ("items[0][price]", &price(&sb, "500", "month").await),
                ("payment_behavior", "error_if_incomplete"),
            ],
        )
        .await
        .expect(402);
    assert_eq!(e["error"]["type"], "card_error");
    let l = sb
        .get(
            "/v1/subscriptions",
            &[("customer", &cus2), ("status", "all")],
        )
        .await
        .expect(200);
    assert!(l["data"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn same_idempotency_key_creates_one_subscription() {
    let sb = start().await;
    let price = price(&sb, "1000", "month").await;
    let (cus, _) = customer(&sb, None, "4242424242424242").await;
    let form = [
        ("customer", cus.as_str()),
        ("items[0][price]", price.as_str()),
        ("payment_behavior", "default_incomplete"),
    ];
    let a = sb.post_idem("/v1/subscriptions", &form, "sub-key-1").await;
    let b = sb.post_idem("/v1/subscriptions", &form, "sub-key-1").await;
    assert_eq!(a.expect(200)["id"], b.expect(200)["id"]);
    assert_eq!(b.header("idempotent-replayed"), Some("true"));
    assert_eq!(a.bytes, b.bytes);
    let l = sb
        .get(
            "/v1/subscriptions",
            &[("customer", &cus), ("status", "all")],
        )
        .await
        .expect(200);
    assert_eq!(l["data"].as_array().unwrap().len(), 1);
    assert_eq!(invoices(&sb, &s(&a.json()["id"])).await.len(), 1);
}

#[tokio::test]
async fn unpaid_first_invoice_expires_after_23_hours() {
    let sb = start().await;
    let price = price(&sb, "1000", "month").await;
    // Without a test clock: the sandbox's own clock, checked on read.
    let c = sb.post("/v1/customers", &[]).await.expect(200);
    let sub = subscribe(&sb, &s(&c["id"]), &price).await;
    let id = s(&sub["id"]);
    sb.clock.advance_secs(23 * 3600 - 1);
    assert_eq!(sub_status(&sb, &id).await["status"], "incomplete");
    sb.clock.advance_secs(1);
    let expired = sub_status(&sb, &id).await;
    assert_eq!(expired["status"], "incomplete_expired");
    assert_eq!(expired["ended_at"], NOW + 23 * 3600);
    let inv = &invoices(&sb, &id).await[0];
    assert_eq!(inv["status"], "void");
    let pi = sb
        .get(&format!("/v1/payment_intents/{}", first_pi(&sub)), &[])
        .await
        .expect(200);
    assert_eq!(pi["status"], "canceled");
    assert_eq!(
        sb.events("customer.subscription.deleted", &id).await.len(),
        1
    );

    // On a test clock: when the clock is advanced.
    let clk = clock(&sb, NOW).await;
    let c = sb
        .post("/v1/customers", &[("test_clock", &clk)])
        .await
        .expect(200);
    let sub = subscribe(&sb, &s(&c["id"]), &price).await;
    assert_eq!(sub["created"], NOW);
    advance(&sb, &clk, NOW + 22 * 3600).await;
    assert_eq!(
        sub_status(&sb, &s(&sub["id"])).await["status"],
        "incomplete"
    );
    advance(&sb, &clk, NOW + 24 * 3600).await;
    let expired = sub_status(&sb, &s(&sub["id"])).await;
    assert_eq!(expired["status"], "incomplete_expired");
    assert_eq!(expired["ended_at"], NOW + 23 * 3600);
}

#[tokio::test]
async fn twelve_monthly_renewals_by_test_clock() {
    let sb = start().await;
    let price = price(&sb, "1000", "month").await;
    let clk = clock(&sb, NOW).await;
    let c = sb
        .post("/v1/customers", &[("test_clock", &clk)])
        .await
        .expect(200);
    let sub = active_subscription(&sb, &s(&c["id"]), &price, "4242424242424242").await;
    let id = s(&sub["id"]);
    // A year and a bit in one advance, then a no-op advance: each renewal happens once.
    advance(&sb, &clk, NOW + 366 * DAY).await;
    advance(&sb, &clk, NOW + 367 * DAY).await;
    let all = invoices(&sb, &id).await;
    assert_eq!(all.len(), 13, "the first and 12 renewals");
    let renewals: Vec<&Value> = all
        .iter()
        .filter(|i| i["billing_reason"] == "subscription_cycle")
        .collect();
    assert_eq!(renewals.len(), 12);
    let mut start = NOW;
    for (n, inv) in renewals.iter().enumerate() {
        assert_eq!(inv["status"], "paid", "renewal {n}");
        assert_eq!(inv["amount_paid"], 1000);
        let line = &inv["lines"]["data"][0];
        let period_start = line["period"]["start"].as_i64().unwrap();
        assert!(period_start > start, "renewal {n} starts a later period");
        assert_eq!(inv["created"], period_start);
        assert_eq!(inv["status_transitions"]["paid_at"], period_start);
        start = period_start;
    }
    // Each renewal's period is one calendar month, anchored on the subscription's start.
    let anchor = time::OffsetDateTime::from_unix_timestamp(NOW).unwrap();
    for inv in &renewals {
        let t = time::OffsetDateTime::from_unix_timestamp(
            inv["lines"]["data"][0]["period"]["start"].as_i64().unwrap(),
        )
        .unwrap();
        assert_eq!((t.day(), t.hour()), (anchor.day(), anchor.hour()), "{t}");
    }
    let sub = sub_status(&sb, &id).await;
    assert_eq!(sub["status"], "active");
    assert_eq!(
        sub["items"]["data"][0]["current_period_start"],
        renewals[11]["lines"]["data"][0]["period"]["start"]
    );
    // Events: one invoice.paid per invoice, in time order.
    let events = sb.all_events().await;
    let paid: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "invoice.paid")
        .collect();
    assert_eq!(paid.len(), 13);
    let mut ids: Vec<String> = paid.iter().map(|e| s(&e["data"]["object"]["id"])).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 13);
    let times: Vec<i64> = events
        .iter()
        .filter(|e| !s(&e["type"]).starts_with("test_helpers"))
        .map(|e| e["created"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert_eq!(
        events
            .iter()
            .filter(|e| e["type"] == "invoice_payment.paid")
            .count(),
        13
    );
}

/// A subscription on a clock whose renewal card is `renewal_card`.
async fn failing_renewal(sb: &Sandbox, renewal_card: &str) -> (String, String, String) {
    let price = price(sb, "1000", "month").await;
    let clk = clock(sb, NOW).await;
    let (cus, _) = customer(sb, Some(&clk), "4242424242424242").await;
    let sub = active_subscription(sb, &cus, &price, "4242424242424242").await;
    let bad = attach(sb, &cus, renewal_card).await;
    sb.post(
        &format!("/v1/subscriptions/{}", s(&sub["id"])),
        &[("default_payment_method", &bad)],
    )
    .await
    .expect(200);
    (clk, cus, s(&sub["id"]))
}

fn renewal_end(sub: &Value) -> i64 {
    sub["items"]["data"][0]["current_period_end"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn failed_renewal_retries_on_schedule_then_cancels() {
    let sb = start().await;
    let (clk, _, id) = failing_renewal(&sb, "4000000000000341").await;
    let end = renewal_end(&sub_status(&sb, &id).await);
    advance(&sb, &clk, end).await;
    let sub = sub_status(&sb, &id).await;
    assert_eq!(sub["status"], "past_due");
    let inv = invoices(&sb, &id).await.pop().unwrap();
    let inv_id = s(&inv["id"]);
    assert_eq!(inv["status"], "open");
    assert_eq!(inv["attempt_count"], 1);
    assert_eq!(inv["next_payment_attempt"], end + DAY);
    assert_eq!(sb.events("invoice.payment_failed", &inv_id).await.len(), 1);
    // Retries 1, 3, 5 and 7 days after the first failure.
    for (n, day) in [1, 3, 5].iter().enumerate() {
        advance(&sb, &clk, end + day * DAY).await;
        let inv = sb
            .get(&format!("/v1/invoices/{inv_id}"), &[])
            .await
            .expect(200);
        assert_eq!(inv["attempt_count"], n as i64 + 2);
        let next = [3, 5, 7][n];
        assert_eq!(inv["next_payment_attempt"], end + next * DAY);
    }
    advance(&sb, &clk, end + 7 * DAY).await;
    let inv = sb
        .get(&format!("/v1/invoices/{inv_id}"), &[])
        .await
        .expect(200);
    assert_eq!(inv["attempt_count"], 5);
    assert_eq!(inv["next_payment_attempt"], Value::Null);
    let sub = sub_status(&sb, &id).await;
    assert_eq!(sub["status"], "canceled");
    assert_eq!(sub["ended_at"], end + 7 * DAY);
    assert_eq!(sb.events("invoice.payment_failed", &inv_id).await.len(), 5);
    assert_eq!(
        sb.events("customer.subscription.deleted", &id).await.len(),
        1
    );
    // Nothing more happens to a canceled subscription.
    advance(&sb, &clk, end + 60 * DAY).await;
    assert_eq!(invoices(&sb, &id).await.len(), 2);
}

#[tokio::test]
async fn after_the_last_retry_unpaid_when_configured() {
    let sb = start_billing(BillingSettings {
        retry_days: vec![2],
        after_retries: AfterRetries::Unpaid,
        ..BillingSettings::default()
    })
    .await;
    let (clk, _, id) = failing_renewal(&sb, "4000000000009995").await;
    let end = renewal_end(&sub_status(&sb, &id).await);
    advance(&sb, &clk, end + DAY).await;
    let inv = invoices(&sb, &id).await.pop().unwrap();
    assert_eq!(inv["next_payment_attempt"], end + 2 * DAY);
    advance(&sb, &clk, end + 2 * DAY).await;
    let sub = sub_status(&sb, &id).await;
    assert_eq!(sub["status"], "unpaid");
    let inv = sb
        .get(&format!("/v1/invoices/{}", s(&inv["id"])), &[])
        .await
        .expect(200);
    assert_eq!(inv["status"], "uncollectible");
    assert_eq!(inv["attempt_count"], 2);
    assert_eq!(
        inv["status_transitions"]["marked_uncollectible_at"],
        end + 2 * DAY
    );
}

#[tokio::test]
async fn recovery_by_paying_the_invoice_and_by_a_new_default() {
    let sb = start().await;
    let (clk, cus, id) = failing_renewal(&sb, "4000000000000341").await;
    let sub = sub_status(&sb, &id).await;
    let bad = s(&sub["default_payment_method"]);
    let end = renewal_end(&sub);
    advance(&sb, &clk, end).await;
    let inv = invoices(&sb, &id).await.pop().unwrap();
    let inv_id = s(&inv["id"]);
    // Paying with the failing default answers Stripe's 402.
    let e = sb
        .post(&format!("/v1/invoices/{inv_id}/pay"), &[])
        .await
        .expect(402);
    assert_eq!(e["error"]["code"], "card_declined");
    // With a good card: paid, and the subscription is active again.
    let good = attach(&sb, &cus, "4242424242424242").await;
    let paid = sb
        .post(
            &format!("/v1/invoices/{inv_id}/pay"),
            &[("payment_method", &good)],
        )
        .await
        .expect(200);
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["attempt_count"], 3);
    assert_eq!(paid["next_payment_attempt"], Value::Null);
    let sub = sub_status(&sb, &id).await;
    assert_eq!(sub["status"], "active");
    // save_default_payment_method=on_subscription: the card that paid becomes the default.
    assert_eq!(sub["default_payment_method"], good);
    sb.post(&format!("/v1/invoices/{inv_id}/pay"), &[])
        .await
        .expect(400);
    sb.post(
        &format!("/v1/subscriptions/{id}"),
        &[("default_payment_method", &bad)],
    )
    .await
    .expect(200);

    // Next month fails again; a new default (the customer's) is used at the next retry.
    let sub = sub_status(&sb, &id).await;
    let end2 = renewal_end(&sub);
    advance(&sb, &clk, end2).await;
    assert_eq!(sub_status(&sb, &id).await["status"], "past_due");
    sb.post(
        &format!("/v1/subscriptions/{id}"),
        &[("default_payment_method", "")],
    )
    .await
    .expect(200);
    sb.post(
        &format!("/v1/customers/{cus}"),
        &[("invoice_settings[default_payment_method]", &good)],
    )
    .await
    .expect(200);
    advance(&sb, &clk, end2 + DAY).await;
    let inv = invoices(&sb, &id).await.pop().unwrap();
    assert_eq!(inv["status"], "paid");
    assert_eq!(inv["attempt_count"], 2);
    assert_eq!(inv["status_transitions"]["paid_at"], end2 + DAY);
    assert_eq!(sub_status(&sb, &id).await["status"], "active");
}

#[tokio::test]
async fn hard_declines_and_authentication_are_not_retried() {
    for (card, code) in [
        ("4000000000009979", "stolen_card"),
        ("4000002760003184", "authentication_required"),
    ] {
        let sb = start().await;
        let (clk, _, id) = failing_renewal(&sb, card).await;
        let end = renewal_end(&sub_status(&sb, &id).await);
        advance(&sb, &clk, end).await;
        let inv = invoices(&sb, &id).await.pop().unwrap();
        let inv_id = s(&inv["id"]);
        assert_eq!(inv["status"], "open", "{code}");
        assert_eq!(inv["next_payment_attempt"], Value::Null, "{code}");
        assert_eq!(sub_status(&sb, &id).await["status"], "past_due");
        let failed = sb.events("invoice.payment_failed", &inv_id).await;
        assert_eq!(failed.len(), 1);
        let actions = sb.events("invoice.payment_action_required", &inv_id).await;
        assert_eq!(
            actions.len(),
            usize::from(code == "authentication_required")
        );
        advance(&sb, &clk, end + 6 * DAY).await;
        let again = sb
            .get(&format!("/v1/invoices/{inv_id}"), &[])
            .await
            .expect(200);
        assert_eq!(again["attempt_count"], 1, "{code}: no retry");
        // The end of the window still applies.
        advance(&sb, &clk, end + 7 * DAY).await;
        assert_eq!(sub_status(&sb, &id).await["status"], "canceled");
    }
}

#[tokio::test]
async fn pause_and_resume_collection() {
    let sb = start().await;
    let price = price(&sb, "1000", "month").await;
    let clk = clock(&sb, NOW).await;
    let (cus, _) = customer(&sb, Some(&clk), "4242424242424242").await;
    let sub = active_subscription(&sb, &cus, &price, "4242424242424242").await;
    let id = s(&sub["id"]);
    let paused = sb
        .post(
            &format!("/v1/subscriptions/{id}"),
            &[("pause_collection[behavior]", "void")],
        )
        .await
        .expect(200);
    assert_eq!(paused["pause_collection"]["behavior"], "void");
    let end = renewal_end(&paused);
    advance(&sb, &clk, end + DAY).await;
    let inv = invoices(&sb, &id).await.pop().unwrap();
    assert_eq!(inv["status"], "void");
    assert_eq!(inv["amount_paid"], 0);
    sb.post(
        &format!("/v1/subscriptions/{id}"),
        &[("pause_collection[behavior]", "keep_as_draft")],
    )
    .await
    .expect(200);
    let end2 = renewal_end(&sub_status(&sb, &id).await);
    advance(&sb, &clk, end2 + DAY).await;
    assert_eq!(invoices(&sb, &id).await.pop().unwrap()["status"], "draft");
    let resumed = sb
        .post(
            &format!("/v1/subscriptions/{id}"),
            &[("pause_collection", "")],
        )
        .await
        .expect(200);
    assert_eq!(resumed["pause_collection"], Value::Null);
    let end3 = renewal_end(&resumed);
    advance(&sb, &clk, end3 + DAY).await;
    let all = invoices(&sb, &id).await;
    assert_eq!(all.last().unwrap()["status"], "paid");
    assert_eq!(all.len(), 4);
    assert_eq!(sub_status(&sb, &id).await["status"], "active");
}

#[tokio::test]
async fn cancel_at_period_end_and_now() {
    let sb = start().await;
    let price = price(&sb, "1000", "month").await;
    let clk = clock(&sb, NOW).await;
    let (cus, _) = customer(&sb, Some(&clk), "4242424242424242").await;
    let sub = active_subscription(&sb, &cus, &price, "4242424242424242").await;
    let id = s(&sub["id"]);
    let upd = sb
        .post(
            &format!("/v1/subscriptions/{id}"),
            &[("cancel_at_period_end", "true")],
        )
        .await
        .expect(200);
    assert_eq!(upd["cancel_at_period_end"], true);
    assert_eq!(upd["status"], "active");
    let end = renewal_end(&upd);
    advance(&sb, &clk, end - 1).await;
    assert_eq!(sub_status(&sb, &id).await["status"], "active");
    advance(&sb, &clk, end + 1).await;
    let done = sub_status(&sb, &id).await;
    assert_eq!(done["status"], "canceled");
    assert_eq!(done["ended_at"], end);
    assert_eq!(invoices(&sb, &id).await.len(), 1, "no renewal invoice");
    assert_eq!(
        sb.events("customer.subscription.deleted", &id).await.len(),
        1
    );

    // DELETE cancels at once.
    let sub2 = active_subscription(&sb, &cus, &price, "4242424242424242").await;
    let id2 = s(&sub2["id"]);
    let gone = sb
        .delete(&format!("/v1/subscriptions/{id2}"))
        .await
        .expect(200);
    assert_eq!(gone["status"], "canceled");
    assert_eq!(gone["canceled_at"], end + 1);
    assert_eq!(
        sb.events("customer.subscription.deleted", &id2).await.len(),
        1
    );
    sb.delete(&format!("/v1/subscriptions/{id2}"))
        .await
        .expect(400);
    // The default list leaves canceled subscriptions out.
    let l = sb
        .get("/v1/subscriptions", &[("customer", &cus)])
        .await
        .expect(200);
    assert!(l["data"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn price_change_with_prorations_on_the_next_invoice() {
    let sb = start().await;
    let cheap = price(&sb, "1000", "month").await;
    let dear = price(&sb, "3000", "month").await;
    let clk = clock(&sb, NOW).await;
    let (cus, _) = customer(&sb, Some(&clk), "4242424242424242").await;
    let sub = active_subscription(&sb, &cus, &cheap, "4242424242424242").await;
    let id = s(&sub["id"]);
    let end = renewal_end(&sub);
    // Half way through the period.
    let half = NOW + (end - NOW) / 2;
    advance(&sb, &clk, half).await;
    let upd = sb
        .post(
            &format!("/v1/subscriptions/{id}"),
            &[
                ("items[0][id]", &s(&sub["items"]["data"][0]["id"])),
                ("items[0][price]", &dear),
            ],
        )
        .await
        .expect(200);
    assert_eq!(upd["items"]["data"][0]["price"]["id"], dear);
    advance(&sb, &clk, end).await;
    let inv = invoices(&sb, &id).await.pop().unwrap();
    // 3000 for the new period, −500 unused and +1500 remaining for the old one.
    assert_eq!(inv["amount_due"], 4000);
    assert_eq!(inv["lines"]["data"].as_array().unwrap().len(), 3);
    assert_eq!(inv["status"], "paid");
    // proration_behavior=none changes the price only.
    sb.post(
        &format!("/v1/subscriptions/{id}"),
        &[
            ("items[0][id]", &s(&sub["items"]["data"][0]["id"])),
            ("items[0][price]", &cheap),
            ("proration_behavior", "none"),
        ],
    )
    .await
    .expect(200);
    let end2 = renewal_end(&sub_status(&sb, &id).await);
    advance(&sb, &clk, end2).await;
    assert_eq!(invoices(&sb, &id).await.pop().unwrap()["amount_due"], 1000);
}

#[tokio::test]
async fn yearly_plans_announce_the_renewal_a_week_before_by_default() {
    let sb = start().await;
    let price = price(&sb, "12000", "year").await;
    let clk = clock(&sb, NOW).await;
    let (cus, _) = customer(&sb, Some(&clk), "4242424242424242").await;
    let sub = active_subscription(&sb, &cus, &price, "4242424242424242").await;
    let end = renewal_end(&sub);
    advance(&sb, &clk, end - 8 * DAY).await;
    let upcoming = |events: Vec<Value>| {
        events
            .into_iter()
            .filter(|e| e["type"] == "invoice.upcoming")
            .collect::<Vec<_>>()
    };
    assert!(upcoming(sb.all_events().await).is_empty());
    advance(&sb, &clk, end - DAY).await;
    let u = upcoming(sb.all_events().await);
    assert_eq!(u.len(), 1);
    assert_eq!(u[0]["created"], end - 7 * DAY);
    assert_eq!(u[0]["data"]["object"]["amount_due"], 12000);
    assert_eq!(
        u[0]["data"]["object"]["parent"]["subscription_details"]["subscription"],
        sub["id"]
    );
    advance(&sb, &clk, end + DAY).await;
    assert_eq!(upcoming(sb.all_events().await).len(), 1);
}

#[tokio::test]
async fn every_plan_announces_its_renewal_as_configured_whatever_its_interval() {
    for (days, interval) in [(7, "month"), (7, "day"), (3, "month"), (0, "month")] {
        let sb = start_billing(BillingSettings {
            upcoming_days: days,
            ..BillingSettings::default()
        })
        .await;
        let price = price(&sb, "1500", interval).await;
        let clk = clock(&sb, NOW).await;
        let (cus, _) = customer(&sb, Some(&clk), "4242424242424242").await;
        let sub = active_subscription(&sb, &cus, &price, "4242424242424242").await;
        let end = renewal_end(&sub);
        let start = sub["items"]["data"][0]["current_period_start"]
            .as_i64()
            .unwrap();
        advance(&sb, &clk, end - 1).await;
        let events = sb.all_events().await;
        let upcoming = of_type(&events, "invoice.upcoming");
        if days == 0 {
            assert!(upcoming.is_empty(), "0 days: none");
            continue;
        }
        assert_eq!(upcoming.len(), 1, "{days} days, {interval}");
        // A period shorter than the notice: at its start, never before it.
        assert_eq!(
            upcoming[0]["created"],
            (end - days * DAY).max(start),
            "{days} days, {interval}"
        );
        assert_eq!(upcoming[0]["data"]["object"]["amount_due"], 1500);
    }
}

/// An off-session charge of `pm` for `cus`.
async fn off_session(sb: &Sandbox, cus: &str, pm: &str) -> Reply {
    sb.post(
        "/v1/payment_intents",
        &[
            ("amount", "500"),
            ("currency", "usd"),
            ("customer", cus),
            ("payment_method", pm),
            ("confirm", "true"),
            ("off_session", "true"),
        ],
    )
    .await
}

/// A SetupIntent for `card`, through 3-D Secure when asked; returns (setup intent, pm).
async fn set_up(sb: &Sandbox, cus: &str, card: &str) -> (Value, String) {
    let pm = sb.card(card).await;
    let si = sb
        .post(
            "/v1/setup_intents",
            &[
                ("customer", cus),
                ("payment_method", &pm),
                ("usage", "off_session"),
                ("confirm", "true"),
                ("return_url", "https://merchant.test/saved"),
            ],
        )
        .await
        .expect(200);
    if si["status"] != "requires_action" {
        return (si, pm);
    }
    let url = s(&si["next_action"]["redirect_to_url"]["url"]);
    assert!(url.contains("/sandbox/3ds/seti_"), "{url}");
    let done = sb
        .http
        .post(format!("{}/sandbox/3ds/{}", sb.base, s(&si["id"])))
        .form(&[
            ("client_secret", s(&si["client_secret"]).as_str()),
            ("outcome", "complete"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    let location = done.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.contains("setup_intent=seti_") && location.contains("redirect_status=succeeded")
    );
    let si = sb
        .get(&format!("/v1/setup_intents/{}", s(&si["id"])), &[])
        .await
        .expect(200);
    (si, pm)
}

#[tokio::test]
async fn setup_intents_and_the_recurring_test_cards() {
    let sb = start().await;
    let c = sb.post("/v1/customers", &[]).await.expect(200);
    let cus = s(&c["id"]);

    // 3155 needs authentication off-session until it is set up.
    let raw = sb.card("4000002500003155").await;
    let e = off_session(&sb, &cus, &raw).await.expect(402);
    assert_eq!(e["error"]["type"], "card_error");
    assert_eq!(e["error"]["code"], "authentication_required");
    assert_eq!(
        e["error"]["payment_intent"]["status"],
        "requires_payment_method"
    );
    let (si, pm) = set_up(&sb, &cus, "4000002500003155").await;
    assert_eq!(si["object"], "setup_intent");
    assert_eq!(si["status"], "succeeded");
    assert_eq!(si["usage"], "off_session");
    let attached = sb
        .get(&format!("/v1/payment_methods/{pm}"), &[])
        .await
        .expect(200);
    assert_eq!(attached["customer"], cus);
    assert_eq!(
        sb.events("setup_intent.succeeded", &s(&si["id"]))
            .await
            .len(),
        1
    );
    assert_eq!(
        off_session(&sb, &cus, &pm).await.expect(200)["status"],
        "succeeded"
    );

    // 3184 needs authentication always, set up or not.
    let (_, pm) = set_up(&sb, &cus, "4000002760003184").await;
    let e = off_session(&sb, &cus, &pm).await.expect(402);
    assert_eq!(e["error"]["code"], "authentication_required");

    // 0446: every off-session payment succeeds, set up or not.
    let pm = attach(&sb, &cus, "4000003800000446").await;
    assert_eq!(
        off_session(&sb, &cus, &pm).await.expect(200)["status"],
        "succeeded"
    );

    // 0341: setting up succeeds, charging fails.
    let (si, pm) = set_up(&sb, &cus, "4000000000000341").await;
    assert_eq!(si["status"], "succeeded");
    let e = off_session(&sb, &cus, &pm).await.expect(402);
    assert_eq!(e["error"]["decline_code"], "generic_decline");

    // 3178: authenticated on-session, then declined for insufficient funds.
    let pm = sb.card("4000008260003178").await;
    let pi = sb
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "500"),
                ("currency", "usd"),
                ("payment_method", &pm),
                ("confirm", "true"),
                ("return_url", "https://merchant.test/done"),
            ],
        )
        .await
        .expect(200);
    assert_eq!(pi["status"], "requires_action");
    sb.http
        .post(format!("{}/sandbox/3ds/{}", sb.base, s(&pi["id"])))
        .form(&[
            ("client_secret", s(&pi["client_secret"]).as_str()),
            ("outcome", "complete"),
        ])
        .send()
        .await
        .unwrap();
    let pi = sb
        .get(&format!("/v1/payment_intents/{}", s(&pi["id"])), &[])
        .await
        .expect(200);
    assert_eq!(pi["status"], "requires_payment_method");
    assert_eq!(
        pi["last_payment_error"]["decline_code"],
        "insufficient_funds"
    );

    // A declining card cannot be set up.
    let bad = sb.card("4000000000000002").await;
    let e = sb
        .post(
            "/v1/setup_intents",
            &[
                ("customer", &cus),
                ("payment_method", &bad),
                ("confirm", "true"),
            ],
        )
        .await
        .expect(402);
    assert_eq!(
        e["error"]["setup_intent"]["status"],
        "requires_payment_method"
    );
    let l = sb
        .get("/v1/setup_intents", &[("customer", &cus)])
        .await
        .expect(200);
    assert_eq!(l["data"].as_array().unwrap().len(), 4);
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

#[tokio::test]
async fn monthly_to_yearly_through_a_trial_charges_nothing_now_and_renews_yearly() {
    use paywidget_sandbox::billing::add_interval;
    let sb = start().await;
    let monthly = price(&sb, "1000", "month").await;
    let yearly = price(&sb, "10000", "year").await;
    let clk = clock(&sb, NOW).await;
    let (cus, _) = customer(&sb, Some(&clk), "4242424242424242").await;
    let sub = active_subscription(&sb, &cus, &monthly, "4242424242424242").await;
    let id = s(&sub["id"]);
    let end = renewal_end(&sub);
    let swap_at = NOW + 10 * DAY;
    advance(&sb, &clk, swap_at).await;
    let charges_before = of_type(&sb.all_events().await, "payment_intent.succeeded").len();

    // Stripe's way: a trial up to the current period's end, the new price, no prorations.
    let upd = sb
        .post(
            &format!("/v1/subscriptions/{id}"),
            &[
                ("items[0][id]", &s(&sub["items"]["data"][0]["id"])),
                ("items[0][price]", &yearly),
                ("trial_end", &end.to_string()),
                ("proration_behavior", "none"),
            ],
        )
        .await
        .expect(200);
    assert_eq!(upd["status"], "trialing");
    assert_eq!(upd["trial_start"], swap_at);
    assert_eq!(upd["trial_end"], end);
    assert_eq!(upd["billing_cycle_anchor"], end);
    let item = &upd["items"]["data"][0];
    assert_eq!(item["price"]["id"], yearly);
    assert_eq!(item["current_period_start"], swap_at);
    assert_eq!(item["current_period_end"], end);
    // Nothing is invoiced or charged now.
    assert_eq!(invoices(&sb, &id).await.len(), 1);
    let events = sb.all_events().await;
    assert_eq!(
        of_type(&events, "payment_intent.succeeded").len(),
        charges_before
    );
    let updated = of_type(&events, "customer.subscription.updated");
    let prev = &updated.last().unwrap()["data"]["previous_attributes"];
    assert_eq!(prev["status"], "active");
    assert_eq!(prev["trial_end"], Value::Null);
    assert_eq!(prev["billing_cycle_anchor"], NOW);
    assert_eq!(prev["items"]["data"][0]["price"]["id"], monthly);

    // Three days before the trial's end: trial_will_end; still nothing charged.
    advance(&sb, &clk, end - DAY).await;
    let events = sb.all_events().await;
    let will_end = of_type(&events, "customer.subscription.trial_will_end");
    assert_eq!(will_end.len(), 1);
    assert_eq!(will_end[0]["created"], end - 3 * DAY);
    assert_eq!(invoices(&sb, &id).await.len(), 1);

    // At the old period's end: the yearly price, paid from the default payment method.
    advance(&sb, &clk, end).await;
    let year_end = add_interval(end, "year", 1, 1);
    let all = invoices(&sb, &id).await;
    assert_eq!(all.len(), 2);
    let renewal = &all[1];
    assert_eq!(renewal["billing_reason"], "subscription_cycle");
    assert_eq!(renewal["status"], "paid");
    assert_eq!(renewal["amount_paid"], 10000);
    assert_eq!(renewal["created"], end);
    assert_eq!(renewal["lines"]["data"].as_array().unwrap().len(), 1);
    let line = &renewal["lines"]["data"][0];
    assert_eq!(line["pricing"]["price_details"]["price"], yearly);
    assert_eq!(line["period"]["start"], end);
    assert_eq!(line["period"]["end"], year_end);
    let now_sub = sub_status(&sb, &id).await;
    assert_eq!(now_sub["status"], "active");
    assert_eq!(now_sub["items"]["data"][0]["current_period_start"], end);
    assert_eq!(now_sub["items"]["data"][0]["current_period_end"], year_end);
    let events = sb.all_events().await;
    assert!(of_type(&events, "customer.subscription.updated")
        .iter()
        .any(|e| e["created"] == end
            && e["data"]["previous_attributes"]["status"] == "trialing"
            && e["data"]["object"]["status"] == "active"));

    // The next renewal is a year later, not a month.
    advance(&sb, &clk, year_end - DAY).await;
    assert_eq!(invoices(&sb, &id).await.len(), 2);
    let upcoming = of_type(&sb.all_events().await, "invoice.upcoming")
        .last()
        .map(|e| e["created"].clone());
    assert_eq!(upcoming, Some(Value::from(year_end - 7 * DAY)));
    advance(&sb, &clk, year_end).await;
    let all = invoices(&sb, &id).await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[2]["amount_paid"], 10000);
    assert_eq!(all[2]["lines"]["data"][0]["period"]["start"], year_end);
    assert_eq!(
        all[2]["lines"]["data"][0]["period"]["end"],
        add_interval(end, "year", 1, 2)
    );
    // Every event of the timeline in time order.
    let times: Vec<i64> = sb
        .all_events()
        .await
        .iter()
        .filter(|e| !s(&e["type"]).starts_with("test_helpers"))
        .map(|e| e["created"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

#[tokio::test]
async fn interval_change_without_trial_end_is_refused() {
    let sb = start().await;
    let monthly = price(&sb, "1000", "month").await;
    let yearly = price(&sb, "10000", "year").await;
    let clk = clock(&sb, NOW).await;
    let (cus, _) = customer(&sb, Some(&clk), "4242424242424242").await;
    let sub = active_subscription(&sb, &cus, &monthly, "4242424242424242").await;
    let id = s(&sub["id"]);
    let si = s(&sub["items"]["data"][0]["id"]);
    let e = sb
        .post(
            &format!("/v1/subscriptions/{id}"),
            &[("items[0][id]", &si), ("items[0][price]", &yearly)],
        )
        .await
        .expect(400);
    assert_eq!(e["error"]["type"], "invalid_request_error");
    assert_eq!(e["error"]["param"], "items[0][price]");
    assert!(
        s(&e["error"]["message"]).contains("trial_end"),
        "{}",
        e["error"]["message"]
    );
    // A trial_end in the past is refused, naming it.
    let e = sb
        .post(
            &format!("/v1/subscriptions/{id}"),
            &[
                ("items[0][id]", &si),
                ("items[0][price]", &yearly),
                ("trial_end", &(NOW - DAY).to_string()),
            ],
        )
        .await
        .expect(400);
    assert_eq!(e["error"]["param"], "trial_end");
    let e = sb
        .post(&format!("/v1/subscriptions/{id}"), &[("trial_end", "soon")])
        .await
        .expect(400);
    assert_eq!(e["error"]["param"], "trial_end");
    // Nothing changed.
    let after = sub_status(&sb, &id).await;
    assert_eq!(after["status"], "active");
    assert_eq!(after["items"]["data"][0]["price"]["id"], monthly);
    assert_eq!(after["trial_end"], Value::Null);
    assert_eq!(after["billing_cycle_anchor"], NOW);
}

#[tokio::test]
async fn trial_on_create_and_ended_now() {
    use paywidget_sandbox::billing::add_interval;
    let sb = start().await;
    let monthly = price(&sb, "1000", "month").await;
    let clk = clock(&sb, NOW).await;
    let (cus, _) = customer(&sb, Some(&clk), "4242424242424242").await;
    let sub = sb
        .post(
            "/v1/subscriptions",
            &[
                ("customer", &cus),
                ("items[0][price]", &monthly),
                ("trial_period_days", "14"),
                ("expand[]", "latest_invoice"),
            ],
        )
        .await
        .expect(200);
    let id = s(&sub["id"]);
    let trial_end = NOW + 14 * DAY;
    assert_eq!(sub["status"], "trialing");
    assert_eq!(sub["trial_start"], NOW);
    assert_eq!(sub["trial_end"], trial_end);
    assert_eq!(sub["billing_cycle_anchor"], trial_end);
    assert_eq!(sub["items"]["data"][0]["current_period_end"], trial_end);
    // The first invoice is for 0, paid; nothing is charged.
    let first = &sub["latest_invoice"];
    assert_eq!(first["billing_reason"], "subscription_create");
    assert_eq!(first["amount_due"], 0);
    assert_eq!(first["status"], "paid");
    assert_eq!(first["lines"]["data"][0]["amount"], 0);
    assert!(of_type(&sb.all_events().await, "payment_intent.succeeded").is_empty());
    // trial_end and trial_period_days are exclusive.
    let e = sb
        .post(
            "/v1/subscriptions",
            &[
                ("customer", &cus),
                ("items[0][price]", &monthly),
                ("trial_period_days", "14"),
                ("trial_end", &trial_end.to_string()),
            ],
        )
        .await
        .expect(400);
    assert_eq!(e["error"]["param"], "trial_period_days");

    // trial_end=now ends the trial at once: renewed and charged now, anchored now.
    let ended_at = NOW + 2 * DAY;
    advance(&sb, &clk, ended_at).await;
    let upd = sb
        .post(&format!("/v1/subscriptions/{id}"), &[("trial_end", "now")])
        .await
        .expect(200);
    assert_eq!(upd["status"], "active");
    assert_eq!(upd["trial_end"], ended_at);
    assert_eq!(upd["billing_cycle_anchor"], ended_at);
    assert_eq!(upd["items"]["data"][0]["current_period_start"], ended_at);
    assert_eq!(
        upd["items"]["data"][0]["current_period_end"],
        add_interval(ended_at, "month", 1, 1)
    );
    let all = invoices(&sb, &id).await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[1]["billing_reason"], "subscription_cycle");
    assert_eq!(all[1]["amount_paid"], 1000);
    assert_eq!(all[1]["created"], ended_at);
    let events = sb.all_events().await;
    let will_end = of_type(&events, "customer.subscription.trial_will_end");
    assert_eq!(will_end.len(), 1, "sent when the trial is ended now");
    assert_eq!(will_end[0]["created"], ended_at);
    // The old trial end comes and goes without another invoice.
    advance(&sb, &clk, trial_end + DAY).await;
    assert_eq!(invoices(&sb, &id).await.len(), 2);
}

#[tokio::test]
async fn trial_over_a_paid_period_credits_its_unused_time() {
    let sb = start().await;
    let monthly = price(&sb, "3000", "month").await;
    let clk = clock(&sb, NOW).await;
    let (cus, _) = customer(&sb, Some(&clk), "4242424242424242").await;
    let sub = active_subscription(&sb, &cus, &monthly, "4242424242424242").await;
    let id = s(&sub["id"]);
    let end = renewal_end(&sub);
    let half = NOW + (end - NOW) / 2;
    advance(&sb, &clk, half).await;
    // Default proration_behavior: the unpaid half is credited on the trial-end invoice.
    let trial_end = end + 5 * DAY;
    sb.post(
        &format!("/v1/subscriptions/{id}"),
        &[("trial_end", &trial_end.to_string())],
    )
    .await
    .expect(200);
    advance(&sb, &clk, end).await;
    assert_eq!(
        invoices(&sb, &id).await.len(),
        1,
        "no renewal inside the trial"
    );
    advance(&sb, &clk, trial_end).await;
    let inv = invoices(&sb, &id).await.pop().unwrap();
    assert_eq!(inv["lines"]["data"].as_array().unwrap().len(), 2);
    assert_eq!(inv["amount_due"], 3000 - 1500);
    assert_eq!(inv["status"], "paid");
}

#[tokio::test]
async fn trial_end_on_the_sandbox_clock_then_a_failed_payment_is_past_due() {
    let sb = start().await;
    let monthly = price(&sb, "1000", "month").await;
    let (cus, _) = customer(&sb, None, "4242424242424242").await;
    let sub = active_subscription(&sb, &cus, &monthly, "4242424242424242").await;
    let id = s(&sub["id"]);
    let bad = attach(&sb, &cus, "4000000000000341").await;
    let trial_end = NOW + DAY;
    let upd = sb
        .post(
            &format!("/v1/subscriptions/{id}"),
            &[
                ("trial_end", &trial_end.to_string()),
                ("proration_behavior", "none"),
                ("default_payment_method", &bad),
            ],
        )
        .await
        .expect(200);
    assert_eq!(upd["status"], "trialing");
    sb.clock.advance_secs(DAY - 1);
    assert_eq!(sub_status(&sb, &id).await["status"], "trialing");
    sb.clock.advance_secs(1);
    let after = sub_status(&sb, &id).await;
    assert_eq!(after["status"], "past_due");
    let inv = invoices(&sb, &id).await.pop().unwrap();
    assert_eq!(inv["billing_reason"], "subscription_cycle");
    assert_eq!(inv["status"], "open");
    assert_eq!(inv["created"], trial_end);
    assert_eq!(inv["next_payment_attempt"], trial_end + DAY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_with_a_hundred_subscriptions_renews_them_all_in_seconds() {
    // The soak renews ~1000 monthly gifts on one clock; working out what is due by rescanning
    // every subscription and its invoices at each step took minutes there.
    let sb = start().await;
    let price = price(&sb, "1000", "month").await;
    let clk = clock(&sb, NOW).await;
    let mut subs = Vec::new();
    for _ in 0..100 {
        let c = sb
            .post("/v1/customers", &[("test_clock", &clk)])
            .await
            .expect(200);
        let sub = active_subscription(&sb, &s(&c["id"]), &price, "4242424242424242").await;
        subs.push(s(&sub["id"]));
    }
    let started = std::time::Instant::now();
    advance(&sb, &clk, NOW + 32 * DAY).await;
    advance(&sb, &clk, NOW + 64 * DAY).await;
    let took = started.elapsed();
    let events = sb.all_events().await;
    let renewals = events
        .iter()
        .filter(|e| {
            e["type"] == "invoice.paid"
                && e["data"]["object"]["billing_reason"] == "subscription_cycle"
        })
        .count();
    assert_eq!(renewals, 200, "two renewals of each of 100 subscriptions");
    for sub in subs.iter().take(3) {
        assert_eq!(invoices(&sb, sub).await.len(), 3);
    }
    assert!(
        took < std::time::Duration::from_secs(15),
        "two advances over 100 subscriptions took {took:?}"
    );
    println!("two advances over 100 subscriptions: {took:?}");
}

//! Confirmation tokens: made by Stripe.js with the publishable key, read with the secret key,
//! redeemed once by a PaymentIntent confirmation (declines, 3-D Secure, reuse, expiry), the test
//! helper, and reading an intent with the publishable key and its client secret.

use reqwest::Method;
use serde_json::Value;

use crate::harness::*;

impl Sandbox {
    /// `POST /v1/confirmation_tokens` with the publishable key, as Stripe.js does.
    async fn ctoken_with(&self, number: &str, extra: &[(&str, &str)]) -> Reply {
        let mut form = vec![
            ("payment_method_data[type]", "card"),
            ("payment_method_data[card][number]", number),
            ("payment_method_data[card][exp_month]", "12"),
            ("payment_method_data[card][exp_year]", "2030"),
            ("payment_method_data[card][cvc]", "739"),
            ("payment_method_data[billing_details][name]", "Ada Lovelace"),
            (
                "payment_method_data[billing_details][address][postal_code]",
                "94107",
            ),
        ];
        form.extend_from_slice(extra);
        self.send(
            Method::POST,
            "/v1/confirmation_tokens",
            Some(PK),
            &form,
            None,
        )
        .await
    }

    async fn ctoken(&self, number: &str) -> String {
        self.ctoken_with(number, &[]).await.expect(200)["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn pay_with_token(&self, token: &str) -> Reply {
        self.post(
            "/v1/payment_intents",
            &[
                ("amount", "2000"),
                ("currency", "usd"),
                ("confirm", "true"),
                ("confirmation_token", token),
            ],
        )
        .await
    }

    /// The types of every event about `id`, oldest first.
    async fn event_types(&self, id: &str) -> Vec<String> {
        let all = self
            .get("/v1/events", &[("limit", "100")])
            .await
            .expect(200);
        let mut types: Vec<String> = all["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                e["data"]["object"]["id"] == id || e["data"]["object"]["payment_intent"] == id
            })
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect();
        types.reverse();
        types
    }
}

#[tokio::test]
async fn publishable_key_creates_only_the_secret_key_reads() {
    let s = start().await;
    let r = s
        .ctoken_with(
            "4242 4242 4242 4242",
            &[
                (
                    "payment_method_data[billing_details][email]",
                    "ada@example.org",
                ),
                ("return_url", "https://merchant.test/back"),
                ("setup_future_usage", "off_session"),
                ("expand[]", "payment_method_preview"),
            ],
        )
        .await;
    let body = String::from_utf8(r.bytes.clone()).unwrap();
    assert!(
        !body.contains("4242424242424242") && !body.contains("739"),
        "{body}"
    );
    let t = r.expect(200);
    let id = t["id"].as_str().unwrap();
    assert!(id.starts_with("ctoken_"), "{id}");
    assert_eq!(t["object"], "confirmation_token");
    assert_eq!(t["created"], NOW);
    assert_eq!(t["expires_at"], NOW + 12 * 3600);
    assert_eq!(t["livemode"], false);
    assert_eq!(t["payment_intent"], Value::Null);
    assert_eq!(t["setup_intent"], Value::Null);
    assert_eq!(t["shipping"], Value::Null);
    assert_eq!(t["mandate_data"], Value::Null);
    assert_eq!(t["use_stripe_sdk"], true);
    assert_eq!(t["return_url"], "https://merchant.test/back");
    assert_eq!(t["setup_future_usage"], "off_session");
    let preview = &t["payment_method_preview"];
    assert_eq!(preview["type"], "card");
    assert_eq!(preview["card"]["brand"], "visa");
    assert_eq!(preview["card"]["last4"], "4242");
    assert_eq!(preview["card"]["exp_month"], 12);
    assert_eq!(preview["card"]["exp_year"], 2030);
    assert_eq!(preview["card"]["country"], "US");
    assert_eq!(preview["card"]["funding"], "credit");
    assert_eq!(preview["billing_details"]["name"], "Ada Lovelace");
    assert_eq!(preview["billing_details"]["email"], "ada@example.org");
    assert_eq!(
        preview["billing_details"]["address"]["postal_code"],
        "94107"
    );
    // The same card tokenized as a payment method has the same fingerprint.
    let pm = s.card("4242424242424242").await;
    let pm = s
        .get(&format!("/v1/payment_methods/{pm}"), &[])
        .await
        .expect(200);
    assert_eq!(preview["card"]["fingerprint"], pm["card"]["fingerprint"]);

    let path = format!("/v1/confirmation_tokens/{id}");
    let pk = s.send(Method::GET, &path, Some(PK), &[], None).await;
    assert!(
        pk.expect(401)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot be made with a publishable API key"),
        "{:?}",
        pk.json()
    );
    assert_eq!(s.get(&path, &[]).await.expect(200), t);
    let missing = s.get("/v1/confirmation_tokens/ctoken_nope", &[]).await;
    assert_eq!(missing.expect(404)["error"]["code"], "resource_missing");
    // The secret key may create one too.
    s.send(
        Method::POST,
        "/v1/confirmation_tokens",
        Some(SK),
        &[
            ("payment_method_data[type]", "card"),
            ("payment_method_data[card][number]", "5555555555554444"),
            ("payment_method_data[card][exp_month]", "1"),
            ("payment_method_data[card][exp_year]", "2031"),
        ],
        None,
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn cards_are_validated_as_payment_methods_are() {
    let s = start().await;
    let bad = s.ctoken_with("4242424242424241", &[]).await.expect(402);
    assert_eq!(bad["error"]["type"], "card_error");
    assert_eq!(bad["error"]["code"], "incorrect_number");
    assert_eq!(bad["error"]["param"], "payment_method_data[card][number]");
    let short = s.ctoken_with("4242", &[]).await.expect(402);
    assert_eq!(short["error"]["code"], "invalid_number");
    let missing = s
        .send(
            Method::POST,
            "/v1/confirmation_tokens",
            Some(PK),
            &[("payment_method_data[type]", "card")],
            None,
        )
        .await
        .expect(400);
    assert_eq!(missing["error"]["code"], "parameter_missing");
    assert_eq!(
        missing["error"]["param"],
        "payment_method_data[card][number]"
    );
    let unknown = s
        .ctoken_with("4242424242424242", &[("colour", "blue")])
        .await
        .expect(400);
    assert_eq!(unknown["error"]["param"], "colour");
    let no_key = s
        .send(Method::POST, "/v1/confirmation_tokens", None, &[], None)
        .await;
    no_key.expect(401);
}

#[tokio::test]
async fn confirming_with_a_token_pays_like_a_payment_method() {
    let s = start().await;
    let token = s.ctoken("4242424242424242").await;
    let pi = s.pay_with_token(&token).await.expect(200);
    assert_eq!(pi["status"], "succeeded");
    let pi_id = pi["id"].as_str().unwrap();
    let pm_id = pi["payment_method"].as_str().unwrap();
    let pm = s
        .get(&format!("/v1/payment_methods/{pm_id}"), &[])
        .await
        .expect(200);
    assert_eq!(pm["card"]["last4"], "4242");
    assert_eq!(pm["billing_details"]["name"], "Ada Lovelace");
    let charge = s
        .get(
            &format!("/v1/charges/{}", pi["latest_charge"].as_str().unwrap()),
            &[],
        )
        .await
        .expect(200);
    assert_eq!(charge["payment_method"], pm_id);
    let t = s
        .get(&format!("/v1/confirmation_tokens/{token}"), &[])
        .await
        .expect(200);
    assert_eq!(t["payment_intent"], pi_id);
    // The same events as a payment with a payment method.
    let with_pm = s.pay("4242424242424242", "2000").await.expect(200);
    let tokened = s.event_types(pi_id).await;
    assert_eq!(tokened, ["payment_intent.succeeded"]);
    assert_eq!(
        tokened,
        s.event_types(with_pm["id"].as_str().unwrap()).await
    );
}

#[tokio::test]
async fn confirm_endpoint_takes_a_token_and_its_return_url() {
    let s = start().await;
    let token = s
        .ctoken_with(
            "4000002500003155",
            &[("return_url", "https://merchant.test/from-token")],
        )
        .await
        .expect(200)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pi = s
        .post(
            "/v1/payment_intents",
            &[("amount", "1500"), ("currency", "eur")],
        )
        .await
        .expect(200);
    let id = pi["id"].as_str().unwrap();
    let pi = s
        .post(
            &format!("/v1/payment_intents/{id}/confirm"),
            &[("confirmation_token", &token)],
        )
        .await
        .expect(200);
    assert_eq!(pi["status"], "requires_action");
    // Stripe's payment intent shows the return URL only in its next action.
    assert!(pi.get("return_url").is_none(), "{pi}");
    let next = &pi["next_action"];
    assert_eq!(next["type"], "redirect_to_url");
    assert_eq!(
        next["redirect_to_url"]["return_url"],
        "https://merchant.test/from-token"
    );
    assert!(next["redirect_to_url"]["url"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}/sandbox/3ds/{id}", s.base)));
    assert_eq!(s.event_types(id).await, ["payment_intent.requires_action"]);
    // The confirmation's own return_url wins over the token's.
    let token = s
        .ctoken_with(
            "4000002500003155",
            &[("return_url", "https://merchant.test/from-token")],
        )
        .await
        .expect(200)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pi = s
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "1500"),
                ("currency", "eur"),
                ("confirm", "true"),
                ("confirmation_token", &token),
                ("return_url", "https://merchant.test/own"),
            ],
        )
        .await
        .expect(200);
    assert_eq!(
        pi["next_action"]["redirect_to_url"]["return_url"],
        "https://merchant.test/own"
    );
}

#[tokio::test]
async fn a_declined_token_answers_402_and_the_intent_needs_a_payment_method() {
    let s = start().await;
    let token = s.ctoken("4000000000009995").await;
    let err = s.pay_with_token(&token).await.expect(402);
    assert_eq!(err["error"]["type"], "card_error");
    assert_eq!(err["error"]["code"], "card_declined");
    assert_eq!(err["error"]["decline_code"], "insufficient_funds");
    let pi = &err["error"]["payment_intent"];
    assert_eq!(pi["status"], "requires_payment_method");
    let id = pi["id"].as_str().unwrap();
    let again = s
        .get(&format!("/v1/payment_intents/{id}"), &[])
        .await
        .expect(200);
    assert_eq!(again["status"], "requires_payment_method");
    assert_eq!(
        again["last_payment_error"]["decline_code"],
        "insufficient_funds"
    );
    assert_eq!(s.event_types(id).await, ["payment_intent.payment_failed"]);
    // The attempt used the token.
    let reuse = s
        .post(
            &format!("/v1/payment_intents/{id}/confirm"),
            &[("confirmation_token", &token)],
        )
        .await
        .expect(400);
    assert_eq!(reuse["error"]["param"], "confirmation_token");
}

#[tokio::test]
async fn a_token_is_used_once_and_refused_after() {
    let s = start().await;
    let token = s.ctoken("4242424242424242").await;
    s.pay_with_token(&token).await.expect(200);
    let before = s
        .get("/v1/payment_intents", &[("limit", "100")])
        .await
        .expect(200)["data"]
        .as_array()
        .unwrap()
        .len();
    let again = s.pay_with_token(&token).await.expect(400);
    assert_eq!(again["error"]["type"], "invalid_request_error");
    assert_eq!(again["error"]["param"], "confirmation_token");
    assert!(
        again["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("This ConfirmationToken has already been used"),
        "{again}"
    );
    // Refused before anything was created.
    let after = s
        .get("/v1/payment_intents", &[("limit", "100")])
        .await
        .expect(200)["data"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);
    let unknown = s.pay_with_token("ctoken_nope").await.expect(404);
    assert_eq!(unknown["error"]["code"], "resource_missing");
    assert_eq!(unknown["error"]["param"], "confirmation_token");
}

#[tokio::test]
async fn a_token_expires_after_twelve_hours() {
    let s = start().await;
    let fresh = s.ctoken("4242424242424242").await;
    let old = s.ctoken("4242424242424242").await;
    s.clock.advance_secs(12 * 3600 - 1);
    s.pay_with_token(&fresh).await.expect(200);
    s.clock.advance_secs(1);
    let expired = s.pay_with_token(&old).await.expect(400);
    assert_eq!(expired["error"]["param"], "confirmation_token");
    assert!(
        expired["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{expired}"
    );
}

#[tokio::test]
async fn payment_method_and_token_together_are_refused() {
    let s = start().await;
    let token = s.ctoken("4242424242424242").await;
    let pm = s.card("4242424242424242").await;
    let both = s
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "2000"),
                ("currency", "usd"),
                ("confirm", "true"),
                ("confirmation_token", &token),
                ("payment_method", &pm),
            ],
        )
        .await
        .expect(400);
    assert_eq!(both["error"]["type"], "invalid_request_error");
    assert_eq!(both["error"]["param"], "confirmation_token");
    let pi = s
        .post(
            "/v1/payment_intents",
            &[("amount", "2000"), ("currency", "usd")],
        )
        .await
        .expect(200);
    let id = pi["id"].as_str().unwrap();
    s.post(
        &format!("/v1/payment_intents/{id}/confirm"),
        &[("confirmation_token", &token), ("payment_method", &pm)],
    )
    .await
    .expect(400);
    // Without confirm=true a token means nothing: refused.
    let unconfirmed = s
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "2000"),
                ("currency", "usd"),
                ("confirmation_token", &token),
            ],
        )
        .await
        .expect(400);
    assert_eq!(unconfirmed["error"]["param"], "confirmation_token");
    // The token is still unused.
    s.pay_with_token(&token).await.expect(200);
}

#[tokio::test]
async fn test_helper_makes_tokens_from_payment_methods_or_cards() {
    let s = start().await;
    let pm = s.card("4242424242424242").await;
    let t = s
        .post(
            "/v1/test_helpers/confirmation_tokens",
            &[
                ("payment_method", &pm),
                ("return_url", "https://merchant.test/back"),
                ("setup_future_usage", "on_session"),
            ],
        )
        .await
        .expect(200);
    assert_eq!(t["payment_method_preview"]["card"]["last4"], "4242");
    assert_eq!(t["setup_future_usage"], "on_session");
    let pi = s
        .pay_with_token(t["id"].as_str().unwrap())
        .await
        .expect(200);
    assert_eq!(pi["status"], "succeeded");
    assert_eq!(pi["payment_method"], pm.as_str());
    assert_eq!(pi["setup_future_usage"], "on_session");
    // A test card's behaviour comes along.
    let declining = s.card("4000000000000002").await;
    let t = s
        .post(
            "/v1/test_helpers/confirmation_tokens",
            &[("payment_method", &declining)],
        )
        .await
        .expect(200);
    let err = s
        .pay_with_token(t["id"].as_str().unwrap())
        .await
        .expect(402);
    assert_eq!(err["error"]["decline_code"], "generic_decline");
    let from_card = s
        .post(
            "/v1/test_helpers/confirmation_tokens",
            &[
                ("payment_method_data[type]", "card"),
                ("payment_method_data[card][number]", "5555555555554444"),
                ("payment_method_data[card][exp_month]", "12"),
                ("payment_method_data[card][exp_year]", "2030"),
            ],
        )
        .await
        .expect(200);
    assert_eq!(
        from_card["payment_method_preview"]["card"]["brand"],
        "mastercard"
    );
    s.post(
        "/v1/test_helpers/confirmation_tokens",
        &[("payment_method", "pm_nope")],
    )
    .await
    .expect(404);
    s.send(
        Method::POST,
        "/v1/test_helpers/confirmation_tokens",
        Some(PK),
        &[("payment_method", &pm)],
        None,
    )
    .await
    .expect(401);
}

#[tokio::test]
async fn creating_a_token_is_idempotent() {
    let s = start().await;
    let form = [
        ("payment_method_data[type]", "card"),
        ("payment_method_data[card][number]", "4242424242424242"),
        ("payment_method_data[card][exp_month]", "12"),
        ("payment_method_data[card][exp_year]", "2030"),
    ];
    let a = s
        .send(
            Method::POST,
            "/v1/confirmation_tokens",
            Some(PK),
            &form,
            Some("ct-1"),
        )
        .await;
    let b = s
        .send(
            Method::POST,
            "/v1/confirmation_tokens",
            Some(PK),
            &form,
            Some("ct-1"),
        )
        .await;
    assert_eq!(a.bytes, b.bytes);
    assert_eq!(b.header("idempotent-replayed"), Some("true"));
}

#[tokio::test]
async fn publishable_key_reads_an_intent_with_its_client_secret() {
    let s = start().await;
    let pi = s.pay("4000002500003155", "1500").await.expect(200);
    let id = pi["id"].as_str().unwrap();
    let secret = pi["client_secret"].as_str().unwrap();
    let path = format!("/v1/payment_intents/{id}");
    let ok = s
        .send(
            Method::GET,
            &path,
            Some(PK),
            &[("client_secret", secret)],
            None,
        )
        .await
        .expect(200);
    assert_eq!(ok["status"], "requires_action");
    assert_eq!(ok["client_secret"], secret);
    let wrong = s
        .send(
            Method::GET,
            &path,
            Some(PK),
            &[("client_secret", "pi_x_secret_y")],
            None,
        )
        .await
        .expect(404);
    assert_eq!(wrong["error"]["code"], "resource_missing");
    let unknown = s
        .send(
            Method::GET,
            "/v1/payment_intents/pi_nope",
            Some(PK),
            &[("client_secret", secret)],
            None,
        )
        .await
        .expect(404);
    assert_eq!(unknown["error"]["code"], "resource_missing");
    s.send(Method::GET, &path, Some(PK), &[], None)
        .await
        .expect(400);
    // The publishable key still cannot list.
    s.send(Method::GET, "/v1/payment_intents", Some(PK), &[], None)
        .await
        .expect(401);
}

#[tokio::test]
async fn cors_is_open_for_what_stripe_js_calls() {
    let s = start().await;
    for (method, path) in [
        ("POST", "/v1/confirmation_tokens".to_owned()),
        ("GET", "/v1/payment_intents/pi_any".to_owned()),
    ] {
        let pre = s
            .http
            .request(Method::OPTIONS, format!("{}{path}", s.base))
            .header("Origin", "https://checkout.example")
            .header("Access-Control-Request-Method", method)
            .header(
                "Access-Control-Request-Headers",
                "authorization,content-type",
            )
            .send()
            .await
            .unwrap();
        assert!(pre.status().is_success(), "{path}: {}", pre.status());
        assert_eq!(pre.headers()["access-control-allow-origin"], "*", "{path}");
    }
    let pi = s.pay("4242424242424242", "100").await.expect(200);
    let got = s
        .http
        .get(format!(
            "{}/v1/payment_intents/{}",
            s.base,
            pi["id"].as_str().unwrap()
        ))
        .query(&[("client_secret", pi["client_secret"].as_str().unwrap())])
        .bearer_auth(PK)
        .header("Origin", "https://checkout.example")
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["access-control-allow-origin"], "*");
    // The secret key's routes stay closed to browsers.
    let list = s
        .http
        .request(
            Method::OPTIONS,
            format!("{}/v1/confirmation_tokens/ctoken_x", s.base),
        )
        .header("Origin", "https://checkout.example")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert!(list.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn one_fingerprint_per_card_number_across_tokenizations() {
    let sandbox = start().await;
    let s = &sandbox;
    let fp = |v: &Value| v["card"]["fingerprint"].as_str().unwrap().to_owned();
    let pm_of = move |id: String| async move {
        s.get(&format!("/v1/payment_methods/{id}"), &[])
            .await
            .expect(200)
    };
    let visa = fp(&pm_of(s.card("4242424242424242").await).await);
    assert_eq!(visa.len(), 16);
    assert!(!visa.contains("4242424242424242"));
    // Another tokenization of the same number, with another expiry: the same fingerprint.
    let other_expiry = s
        .send(
            Method::POST,
            "/v1/payment_methods",
            Some(PK),
            &[
                ("type", "card"),
                ("card[number]", "4242424242424242"),
                ("card[exp_month]", "3"),
                ("card[exp_year]", "2031"),
            ],
            None,
        )
        .await
        .expect(200);
    assert_eq!(fp(&other_expiry), visa);
    // A confirmation token's preview, and the payment method its confirmation makes.
    let token = s
        .get(
            &format!(
                "/v1/confirmation_tokens/{}",
                s.ctoken("4242424242424242").await
            ),
            &[],
        )
        .await
        .expect(200);
    assert_eq!(fp(&token["payment_method_preview"]), visa);
    let paid = s
        .pay_with_token(token["id"].as_str().unwrap())
        .await
        .expect(200);
    let redeemed = pm_of(paid["payment_method"].as_str().unwrap().to_owned()).await;
    assert_eq!(fp(&redeemed), visa);
    // The charge's payment_method_details carries it, for a token's payment and a pm's.
    let charge = move |pi: Value| async move {
        s.get(
            &format!("/v1/charges/{}", pi["latest_charge"].as_str().unwrap()),
            &[],
        )
        .await
        .expect(200)
    };
    let ch = charge(paid).await;
    assert_eq!(ch["payment_method_details"]["card"]["fingerprint"], visa);
    let direct = s.pay("4242424242424242", "1000").await.expect(200);
    let ch = charge(direct).await;
    assert_eq!(ch["payment_method_details"]["card"]["fingerprint"], visa);
    // Other numbers, other fingerprints — however tokenized; a declined charge has it too.
    let mastercard = fp(&pm_of(s.card("5555555555554444").await).await);
    assert_ne!(mastercard, visa);
    let token = s
        .get(
            &format!(
                "/v1/confirmation_tokens/{}",
                s.ctoken("5555555555554444").await
            ),
            &[],
        )
        .await
        .expect(200);
    assert_eq!(fp(&token["payment_method_preview"]), mastercard);
    let declined = s.pay("4000000000009995", "1000").await.expect(402);
    let ch = s
        .get(
            &format!(
                "/v1/charges/{}",
                declined["error"]["charge"].as_str().unwrap()
            ),
            &[],
        )
        .await
        .expect(200);
    let fp_declined = ch["payment_method_details"]["card"]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(fp_declined, visa);
    assert_ne!(fp_declined, mastercard);
}

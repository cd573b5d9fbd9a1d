//! A campaign in several currencies: each charged in the donor's currency with that currency's
//! own amounts and bounds (never converted), a currency it does not take refused, and the
//! form's page served in the donor's currency (`?currency=`, else their languages' region).

use paywidget_core::api::FormVariant;
use paywidget_core::money::Currency;
use paywidget_host::config::HostConfig;
use paywidget_testkit::fixtures;
use paywidget_testkit::world::{start_host, world_with, WebhookTarget};
use serde_json::json;

/// The host tests' fixture with a dollar campaign that also takes yen and pounds.
pub(crate) fn with_world(gateway: &str, dir: &std::path::Path) -> String {
    fixtures::host(gateway, dir) + fixtures::WORLD
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_currency_is_charged_in_its_own_units_and_bounds() {
    let w = world_with(WebhookTarget::Host, with_world).await;
    // ¥3,000 is 3000 minor units: the yen has none.
    let (code, s) = w
        .api(
            reqwest::Method::POST,
            "/api/sessions",
            Some(json!({ "campaign": "world", "amount": 3000, "currency": "jpy", "email": "hana@example.jp" })),
        )
        .await;
    assert_eq!(code, 201, "{s}");
    assert_eq!(s["currency"], "JPY", "{s}");
    let session = s["id"].as_str().unwrap().to_owned();
    let pm = w.tokenize("4242424242424242").await;
    let (code, paid) = w.pay(&session, &pm, "yen").await;
    assert_eq!(
        (code, paid["status"].as_str()),
        (200, Some("succeeded")),
        "{paid}"
    );
    let pi = w
        .state
        .store
        .session(&session)
        .await
        .unwrap()
        .and_then(|r| r.payment_intent)
        .unwrap();
    let intent = w.gateway_get(&format!("/v1/payment_intents/{pi}")).await;
    assert_eq!(intent["currency"], "jpy", "{intent}");
    assert_eq!(intent["amount"], 3000);
    let receipt = w.wait_status(&session, "fulfilled").await;
    assert_eq!(receipt["currency"], "JPY", "{receipt}");
    // Each currency's own bounds: ¥400 is under the yen's minimum, £3 under the pound's
    // default (5 units), ¥2,000,000 over the yen's maximum.
    for (amount, currency, want) in [
        (400, "jpy", "amount_too_small"),
        (300, "gbp", "amount_too_small"),
        (2_000_000, "jpy", "amount_too_large"),
    ] {
        let (code, body) = w
            .api(
                reqwest::Method::POST,
                "/api/sessions",
                Some(json!({ "campaign": "world", "amount": amount, "currency": currency })),
            )
            .await;
        assert_eq!(
            (code, body["error"]["code"].as_str()),
            (400, Some(want)),
            "{body}"
        );
    }
    // The pound's own fee rule: 2 % of £20.00 + £0.20 = £0.60.
    let (code, body) = w
        .api(
            reqwest::Method::POST,
            "/api/sessions",
            Some(json!({ "campaign": "world", "amount": 2000, "currency": "gbp", "cover_fee": true })),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["fee"], 60, "{body}");
    // A currency the campaign does not take, one that does not exist, or one sent to a
    // single-currency campaign: refused, nothing created.
    for (campaign, currency) in [("world", "eur"), ("world", "xxx"), ("winter", "jpy")] {
        let (code, body) = w
            .api(
                reqwest::Method::POST,
                "/api/sessions",
                Some(json!({ "campaign": campaign, "amount": 3000, "currency": currency })),
            )
            .await;
        assert_eq!(code, 400, "{campaign} in {currency}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_page_comes_in_the_donors_currency() {
    let w = world_with(WebhookTarget::None, with_world).await;
    let dist = w.dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    for v in FormVariant::ALL {
        std::fs::write(
            dist.join(v.page()),
            "<!doctype html><html><head></head><body></body></html>",
        )
        .unwrap();
    }
    // The fixture's `dist` is this folder.
    let text = fixtures::host(&w.gateway, w.dir.path()) + fixtures::WORLD;
    let config = HostConfig::parse(&text, |_| None).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (_state, base, _task) = start_host(config, listener).await;
    let page = |query: &'static str, language: &'static str| {
        let http = w.http.clone();
        let url = format!("{base}/c/world{query}");
        async move {
            let r = http
                .get(url)
                .header("accept-language", language)
                .send()
                .await
                .unwrap();
            let vary = r.headers()["vary"].to_str().unwrap().to_owned();
            (vary, r.text().await.unwrap())
        }
    };
    // The first view's legend names the currency it shows.
    let (vary, ja) = page("", "ja-JP,ja;q=0.9,en;q=0.8").await;
    assert!(ja.contains("金額（JPY）"), "yen, in Japanese: {ja}");
    assert!(ja.contains(r#"<html lang="ja" dir="ltr">"#), "{ja}");
    assert!(vary.contains("Accept-Language"), "{vary}");
    let (_, gb) = page("", "en-GB").await;
    assert!(gb.contains("Amount (GBP)"));
    let (_, de) = page("", "de-DE,de").await;
    assert!(
        de.contains("Betrag (USD)"),
        "euros are not taken: dollars, in German"
    );
    let (_, asked) = page("?currency=gbp&amount=20&locale=en", "ja-JP").await;
    assert!(
        asked.contains("Amount (GBP)"),
        "the requests win over the region"
    );
    let (_, odd) = page("?currency=%3Cscript%3E&locale=%3C", "x-zz;q=abc,,*").await;
    assert!(odd.contains("Amount (USD)") && odd.contains(r#"<html lang="en" dir="ltr">"#));
    let (_, arabic) = page("?locale=ar", "en-US").await;
    assert!(arabic.contains(r#"<html lang="ar" dir="rtl">"#));
    assert!(
        arabic.contains(r#"id="pw-strings""#),
        "the reader's texts are in the page"
    );
    assert!(!arabic.contains("Donate "), "and only theirs");
    // Every page carries every currency for the selector.
    assert!(ja.contains(r#""currencies":"#));
    assert!(Currency::from_code("jpy").is_ok());
}

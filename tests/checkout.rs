//! End-to-end tests of the hosted checkout: the release build served by the real host, paying
//! through the real sandbox gateway, in headless Chromium at a phone viewport (390×844).
//! Screenshots of each final state go to `target/e2e/`.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, Locator};
use paywidget_host::config::HostConfig;
use paywidget_sandbox::{AppState, Config, RetryPolicy, WebhookEndpoint};
use support::{js_string, screenshot, with_phone_browser};

const WHSEC: &str = "whsec_checkout_e2e";

/// The sandbox and the host, in-process on 127.0.0.1:0; the host serves the release `dist/`.
struct Servers {
    host: String,
    gateway: String,
    state: Arc<paywidget_host::HostState>,
    _dir: tempfile::TempDir,
}

async fn servers() -> Servers {
    let dir = tempfile::tempdir().unwrap();
    let gw = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway = format!("http://{}", gw.local_addr().unwrap());
    let hl = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = format!("http://{}", hl.local_addr().unwrap());
    let config = Config {
        webhooks: vec![WebhookEndpoint {
            url: format!("{host}/webhooks/gateway"),
            secret: WHSEC.into(),
        }],
        retry: RetryPolicy {
            scale: 0.001,
            ..RetryPolicy::default()
        },
        ..Config::default()
    };
    let sandbox = AppState::new(
        config,
        paywidget_sandbox::store::Store::open(":memory:")
            .await
            .unwrap(),
        gateway.clone(),
    );
    tokio::spawn(paywidget_sandbox::serve(gw, sandbox));
    let toml = format!(
        r#"
[server]
db = "{db}"
outbox = "{outbox}"
dist = "{dist}"

[[merchants]]
id = "hope"
name = "Hope Shelter"
gateway_url = "{gateway}"
secret_key = "{sk}"
publishable_key = "{pk}"
webhook_secret = "{WHSEC}"
tax_statement = "No goods or services were provided."

[[campaigns]]
id = "winter"
merchant = "hope"
kind = "donation"
title = "Winter appeal"
currency = "usd"
suggested_amounts = [1000, 2500, 5000]
min_amount = 500
fee_coverage = {{ percent = 2.9, fixed = 30 }}

[[campaigns]]
id = "pro"
merchant = "hope"
kind = "license"
title = "Acme Pro"
currency = "eur"
price = 4900
license = {{ product = "Acme Pro", seats = 1, validity_days = 365 }}
instructions = {{ linux = "Run `acme activate KEY`", macos = "Open **Acme**", windows = "Run the installer" }}
"#,
        db = dir.path().join("host.sqlite").display(),
        outbox = dir.path().join("outbox").display(),
        dist = support::dist_dir().display(),
        sk = paywidget_sandbox::DEFAULT_SECRET_KEY,
        pk = paywidget_sandbox::DEFAULT_PUBLISHABLE_KEY,
    );
    let config = HostConfig::parse(&toml, |_| None).unwrap();
    let state = paywidget_host::open(config, host.clone(), paywidget_host::system_now())
        .await
        .unwrap();
    tokio::spawn(paywidget_host::serve(hl, state.clone()));
    Servers {
        host,
        gateway,
        state,
        _dir: dir,
    }
}

impl Servers {
    async fn charges(&self) -> usize {
        let v: serde_json::Value = reqwest::Client::new()
            .get(format!(
                "{}/v1/balance_transactions?limit=100&type=charge",
                self.gateway
            ))
            .bearer_auth(paywidget_sandbox::DEFAULT_SECRET_KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["data"].as_array().unwrap().len()
    }
}

async fn wait_for(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("waiting for {css}: {e}"))
}

async fn wait_text(client: &Client, expression: &str, want: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        // The page may still be loading (a redirect): a missing element reads as "".
        let got = js_string(
            client,
            &format!("(() => {{ try {{ return {expression}; }} catch (e) {{ return ''; }} }})()"),
        )
        .await;
        if got.contains(want) {
            return got;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waiting for {expression} to contain {want:?}, got {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Types into the card fields as a person does: select what is there, delete it, type.
/// (WebDriver's own `clear` fires no `input` event, which no keyboard user can do.)
async fn fill_card(client: &Client, number: &str, expiry: &str, cvc: &str) {
    for (css, text) in [
        ("#pw-card-number", number),
        ("#pw-expiry", expiry),
        ("#pw-cvc", cvc),
    ] {
        let el = client.find(Locator::Css(css)).await.unwrap();
        el.click().await.unwrap();
        client
            .execute(&format!("document.querySelector('{css}').select()"), vec![])
            .await
            .unwrap();
        el.send_keys(&fantoccini::key::Key::Backspace.to_string())
            .await
            .unwrap();
        el.send_keys(text).await.unwrap();
    }
}

async fn open_form(client: &Client, url: &str) {
    client.goto(url).await.unwrap();
    wait_for(client, "#pw-email").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn donation_decline_then_success_and_receipt() {
    let s = servers().await;
    let host = s.host.clone();
    with_phone_browser(|client| async move {
        open_form(&client, &format!("{host}/c/winter?amount=25")).await;
        // The prefilled chip, the fee checkbox with its exact amount, and the Pay button's sum.
        assert_eq!(
            js_string(&client, "document.querySelector('#pw-chip-2500').checked").await,
            "true"
        );
        client
            .find(Locator::Css("label[for='pw-cover-fee']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let pay = js_string(&client, "document.querySelector('#pw-pay').textContent").await;
        assert_eq!(pay, "Donate 26.03 USD", "25.00 + 2.9 % (0.73) + 0.30");
        // Submitting empty fields: errors, focus on the first invalid one.
        client
            .find(Locator::Css("#pw-pay"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        assert_eq!(
            js_string(&client, "document.activeElement.id").await,
            "pw-email"
        );
        assert!(!js_string(
            &client,
            "document.querySelector('#pw-card-number-error').textContent"
        )
        .await
        .is_empty());
        client
            .find(Locator::Css("#pw-email"))
            .await
            .unwrap()
            .send_keys("donor@example.org")
            .await
            .unwrap();
        // Insufficient funds: a specific message, no charge, card fields kept.
        fill_card(&client, "4000000000009995", "1230", "123").await;
        client
            .find(Locator::Css("#pw-pay"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(
            &client,
            "document.querySelector('#pw-status').textContent",
            "insufficient funds",
        )
        .await;
        assert_eq!(
            js_string(&client, "document.querySelector('#pw-cvc').value").await,
            "123"
        );
        screenshot(&client, "checkout-declined-insufficient-funds").await;
        // Another card: success, then the receipt.
        fill_card(&client, "4242424242424242", "1230", "123").await;
        client
            .find(Locator::Css("#pw-pay"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(&client, "#pw-receipt-number").await;
        let number = wait_text(
            &client,
            "document.querySelector('#pw-receipt-number').textContent",
            "HOPE-",
        )
        .await;
        assert_eq!(number, "HOPE-000001");
        assert!(js_string(&client, "location.pathname")
            .await
            .starts_with("/thanks/cs_"));
        screenshot(&client, "checkout-donation-receipt").await;
    })
    .await;
    assert_eq!(s.charges().await, 1, "exactly one charge at the gateway");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn licence_purchase_key_verifies_and_wrong_cvc_focuses_cvc() {
    let s = servers().await;
    let host = s.host.clone();
    let key = Arc::new(std::sync::Mutex::new(String::new()));
    let got = key.clone();
    with_phone_browser(|client| async move {
        open_form(&client, &format!("{host}/c/pro")).await;
        assert_eq!(
            js_string(&client, "document.querySelector('#pw-pay').textContent").await,
            "Pay 49.00 EUR"
        );
        client
            .find(Locator::Css("#pw-email"))
            .await
            .unwrap()
            .send_keys("dev@example.org")
            .await
            .unwrap();
        fill_card(&client, "4000000000000127", "1230", "123").await;
        client
            .find(Locator::Css("#pw-pay"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(
            &client,
            "document.querySelector('#pw-status').textContent",
            "security code",
        )
        .await;
        assert_eq!(
            js_string(&client, "document.activeElement.id").await,
            "pw-cvc",
            "focus moves to the CVC"
        );
        assert_eq!(
            js_string(&client, "document.querySelector('#pw-cvc').value").await,
            "",
            "the CVC is asked again"
        );
        screenshot(&client, "checkout-incorrect-cvc").await;
        fill_card(&client, "5555555555554444", "1230", "321").await;
        client
            .find(Locator::Css("#pw-pay"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(&client, "#pw-licence-key").await;
        let k = wait_text(
            &client,
            "document.querySelector('#pw-licence-key').textContent",
            "PW1-",
        )
        .await;
        assert!(js_string(
            &client,
            "document.querySelector('[role=tablist]').textContent"
        )
        .await
        .contains("linux"));
        screenshot(&client, "checkout-licence-key").await;
        *got.lock().unwrap() = k;
    })
    .await;
    let key = key.lock().unwrap().clone();
    let public = s.state.signing_key.verifying_key();
    let licence = paywidget_host::licence::verify(&public, &key).expect("the key shown verifies");
    assert_eq!(licence.product, "Acme Pro");
    assert_eq!(s.charges().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_d_secure_complete_and_fail() {
    let s = servers().await;
    let host = s.host.clone();
    with_phone_browser(|client| async move {
        for (outcome, button) in [("fail", "#fail"), ("complete", "#complete")] {
            open_form(&client, &format!("{host}/c/winter")).await;
            client
                .find(Locator::Css("label[for='pw-chip-1000']"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            client
                .find(Locator::Css("#pw-email"))
                .await
                .unwrap()
                .send_keys("d@example.org")
                .await
                .unwrap();
            fill_card(&client, "4000002500003155", "1230", "123").await;
            client
                .find(Locator::Css("#pw-pay"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            // The bank's page (the sandbox's), then back to the checkout.
            wait_for(&client, button).await.click().await.unwrap();
            if outcome == "complete" {
                wait_for(&client, "#pw-receipt-number").await;
                screenshot(&client, "checkout-3ds-complete").await;
            } else {
                wait_text(
                    &client,
                    "document.querySelector('#pw-return-status').textContent",
                    "not been charged",
                )
                .await;
                screenshot(&client, "checkout-3ds-failed").await;
            }
        }
    })
    .await;
    assert_eq!(s.charges().await, 1);
}

//! End-to-end tests of the hosted checkout: the release build served by the real host, paying
//! through the real sandbox gateway, in headless Chromium at a phone viewport (390×844).
//! Screenshots of each final state go to `target/e2e/`.
#![cfg(not(target_arch = "wasm32"))]

use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, Locator};
use paywidget_core::api::FormVariant;
use paywidget_testkit::browser::{
    self as support, js_string, screenshot, with_phone_browser, with_phone_browser_in,
};
use paywidget_testkit::world::{world_with, WebhookTarget, World};
use paywidget_testkit::{cards, fixtures};

/// Everything the servers of this test binary log (one global subscriber: the servers' tasks
/// run on any worker thread).
fn logs() -> &'static std::sync::Mutex<Vec<u8>> {
    static LOGS: std::sync::OnceLock<&'static std::sync::Mutex<Vec<u8>>> =
        std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer: &'static std::sync::Mutex<Vec<u8>> = Box::leak(Box::default());
        struct W(&'static std::sync::Mutex<Vec<u8>>);
        impl std::io::Write for W {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .without_time()
            .with_ansi(false)
            .with_writer(move || W(buffer))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buffer
    })
}

/// Card numbers and CVCs typed in these tests: none may reach the host's database or logs.
const CARD_DATA: &[&str] = &[
    "4242424242424242",
    "4000000000009995",
    "4000000000000127",
    "5555555555554444",
    "4000002500003155",
    "cvc=123",
    "cvc=321",
    // The IBANs' bank and account parts (the IBAN prints only as "DE •••• 3000").
    "370400440532013000",
    "370400440532013001",
];

/// Scans the host's SQLite files and everything logged for card data.
fn assert_no_card_data(world: &World) {
    {
        let mut stored = Vec::new();
        for entry in std::fs::read_dir(world.dir.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                stored.extend(std::fs::read(&path).unwrap());
            }
        }
        assert!(!stored.is_empty(), "the host wrote its database");
        let stored = String::from_utf8_lossy(&stored);
        let logged = String::from_utf8_lossy(&logs().lock().unwrap()).into_owned();
        assert!(
            logged.contains("webhook delivered"),
            "the servers' logs were captured"
        );
        for needle in CARD_DATA {
            assert!(
                !stored.contains(needle),
                "{needle} found in the host's database"
            );
            assert!(!logged.contains(needle), "{needle} found in the logs");
        }
    }
}

/// The sandbox and the host, in-process on 127.0.0.1:0; the host serves the release `dist/`.
async fn servers() -> World {
    logs();
    world_with(WebhookTarget::Host, |gateway, dir| {
        fixtures::checkout(gateway, dir, &support::dist_dir())
    })
    .await
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
        ("#pw-name", "Ada Lovelace"),
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

/// Which form variant the page runs: the wasm it loaded, found in that variant's built page.
async fn loaded_variant(client: &Client) -> FormVariant {
    let wasm = js_string(
        client,
        "performance.getEntriesByType('resource').map(e => e.name).find(n => n.endsWith('.wasm'))",
    )
    .await;
    let file = wasm.rsplit('/').next().unwrap_or_default().to_owned();
    assert!(file.ends_with("_bg.wasm"), "a wasm was loaded: {wasm:?}");
    FormVariant::ALL
        .into_iter()
        .find(|v| {
            std::fs::read_to_string(support::dist_dir().join(v.page()))
                .is_ok_and(|page| page.contains(&file))
        })
        .unwrap_or_else(|| panic!("{file} is no form variant's wasm"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn donation_decline_then_success_and_receipt() {
    let s = servers().await;
    let host = s.host.clone();
    with_phone_browser(|client| async move {
        open_form(&client, &format!("{host}/c/relief?amount=25")).await;
        // A one-time donation with our fields: the smallest form.
        assert_eq!(loaded_variant(&client).await, FormVariant::Once);
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
        fill_card(&client, "4000000000009995", &cards::expiry_typed(), "123").await;
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
        fill_card(&client, "4242424242424242", &cards::expiry_typed(), "123").await;
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
        assert!(!js_string(
            &client,
            "document.querySelector('#pw-receipt-date').textContent"
        )
        .await
        .is_empty());
        assert_eq!(
            js_string(&client, "document.querySelector('#pw-emailed').textContent").await,
            "We also emailed it to d•••@example.org."
        );
        assert!(js_string(&client, "location.pathname")
            .await
            .starts_with("/thanks/cs_"));
        screenshot(&client, "checkout-donation-receipt").await;
        // No challenge was issued: the proof-of-work solver was never downloaded, so the form
        // weighs what it always does.
        let seen = support::sent_requests(&client).await;
        assert!(
            seen.iter().any(|r| r.url.ends_with("/pay")),
            "the log has the pay calls"
        );
        assert!(
            !seen
                .iter()
                .any(|r| r.url.contains(paywidget_widget::pow::WORKER_URL)),
            "the solver is fetched only when challenged"
        );
    })
    .await;
    assert_eq!(s.charges().await, 1, "exactly one charge at the gateway");
    assert_no_card_data(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn licence_purchase_key_verifies_and_wrong_cvc_focuses_cvc() {
    let s = servers().await;
    let host = s.host.clone();
    let key = Arc::new(std::sync::Mutex::new(String::new()));
    let got = key.clone();
    with_phone_browser(|client| async move {
        open_form(&client, &format!("{host}/c/pro")).await;
        assert_eq!(loaded_variant(&client).await, FormVariant::Licence);
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
        // This merchant shows its logo, reserved at 48×48, and asks for the postal code.
        assert_eq!(
            js_string(
                &client,
                "document.querySelector('.pw-logo').getAttribute('width')"
            )
            .await,
            "48"
        );
        assert_eq!(
            js_string(&client, "document.querySelector('#pw-postal').autocomplete").await,
            "postal-code"
        );
        fill_card(&client, "4000000000000127", &cards::expiry_typed(), "123").await;
        client
            .find(Locator::Css("#pw-pay"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(
            &client,
            "document.querySelector('#pw-postal-error').textContent",
            "postal code",
        )
        .await;
        assert_eq!(
            js_string(&client, "document.activeElement.id").await,
            "pw-postal"
        );
        client
            .find(Locator::Css("#pw-postal"))
            .await
            .unwrap()
            .send_keys("sw1a 1aa")
            .await
            .unwrap();
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
        fill_card(&client, "5555555555554444", &cards::expiry_typed(), "321").await;
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
        // The setup steps under the platforms' names as people write them.
        assert!(js_string(
            &client,
            "document.querySelector('.pw-instructions').textContent"
        )
        .await
        .contains("Linux"));
        // Copy announces its result (headless Chromium may refuse the clipboard: then it says how).
        client
            .find(Locator::Css("#pw-copy"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let mut said = String::new();
        for _ in 0..50 {
            said = js_string(&client, "document.querySelector('#pw-copied').textContent").await;
            if !said.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            said == "Copied" || said == "Select the key and copy it",
            "announced: {said:?}"
        );
        screenshot(&client, "checkout-licence-key").await;
        *got.lock().unwrap() = k;
    })
    .await;
    let key = key.lock().unwrap().clone();
    let public = s.state.signing_key.verifying_key();
    let licence = paywidget_host::licence::verify(&public, &key).expect("the key shown verifies");
    assert_eq!(licence.product, "Acme Pro");
    assert_eq!(s.charges().await, 1);
    // The name and postal code went to the gateway with the card (and nowhere else).
    let get = |path: String| {
        let url = format!("{}{path}", s.gateway);
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(paywidget_sandbox::DEFAULT_SECRET_KEY)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let events = get("/v1/events?limit=100".into()).await;
    let succeeded = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "payment_intent.succeeded")
        .expect("a payment_intent.succeeded event");
    let charge = succeeded["data"]["object"]["latest_charge"]
        .as_str()
        .expect("latest_charge");
    let paid = get(format!("/v1/charges/{charge}")).await;
    assert_eq!(paid["billing_details"]["name"], "Ada Lovelace");
    assert_eq!(
        paid["billing_details"]["address"]["postal_code"],
        "SW1A 1AA"
    );
    assert_no_card_data(&s);
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
            fill_card(&client, "4000002500003155", &cards::expiry_typed(), "123").await;
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
            no_axe_violations(&client, &format!("the 3-D Secure return ({outcome})")).await;
        }
    })
    .await;
    assert_eq!(s.charges().await, 1);
}

/// A proxy in front of the host that forwards everything, but drops the connection after the
/// first `/pay` request has reached the host (the charge happens, the page never hears back).
async fn flaky_proxy(upstream: String) -> (String, Arc<std::sync::atomic::AtomicBool>) {
    use axum::body::Body;
    use axum::response::Response;
    let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = dropped.clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let (dropped, http, upstream) = (dropped.clone(), http.clone(), upstream.clone());
        async move {
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
            let url = format!(
                "{upstream}{}",
                parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/")
            );
            let mut forward = http.request(parts.method.clone(), url).body(body.to_vec());
            if let Some(ct) = parts.headers.get("content-type") {
                forward = forward.header("content-type", ct.to_str().unwrap());
            }
            let resp = forward.send().await.unwrap();
            let mut out = Response::builder().status(resp.status().as_u16());
            for (k, v) in resp.headers() {
                if k != "transfer-encoding" && k != "content-length" {
                    out = out.header(k.as_str(), v.as_bytes());
                }
            }
            let bytes = resp.bytes().await.unwrap();
            if parts.uri.path().ends_with("/pay")
                && !dropped.swap(true, std::sync::atomic::Ordering::SeqCst)
            {
                let broken = futures_util::stream::once(async {
                    Err::<bytes::Bytes, std::io::Error>(std::io::Error::other("network cut"))
                });
                return out.body(Body::from_stream(broken)).unwrap();
            }
            out.body(Body::from(bytes)).unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, flag)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_cut_during_pay_recovers_with_one_charge() {
    let s = servers().await;
    let (proxy, cut) = flaky_proxy(s.host.clone()).await;
    with_phone_browser(|client| async move {
        open_form(&client, &format!("{proxy}/c/winter?amount=10")).await;
        client
            .find(Locator::Css("#pw-email"))
            .await
            .unwrap()
            .send_keys("d@example.org")
            .await
            .unwrap();
        fill_card(&client, "4242424242424242", &cards::expiry_typed(), "123").await;
        client
            .find(Locator::Css("#pw-pay"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        // The first answer is lost; the page retries with the same key and gets the outcome.
        wait_for(&client, "#pw-receipt-number").await;
        wait_text(
            &client,
            "document.querySelector('#pw-receipt-number').textContent",
            "HOPE-",
        )
        .await;
        screenshot(&client, "checkout-network-cut-recovered").await;
    })
    .await;
    assert!(
        cut.load(std::sync::atomic::Ordering::SeqCst),
        "a /pay response was really dropped"
    );
    assert_eq!(s.charges().await, 1, "the retry did not charge again");
    assert_no_card_data(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyboard_only_donation() {
    use fantoccini::key::Key;
    let s = servers().await;
    let host = s.host.clone();
    with_phone_browser(|client| async move {
        open_form(&client, &format!("{host}/c/winter")).await;
        client
            .execute("document.activeElement.blur(); window.focus();", vec![])
            .await
            .unwrap();
        let press = |keys: String| {
            let client = client.clone();
            async move {
                client
                    .active_element()
                    .await
                    .unwrap()
                    .send_keys(&keys)
                    .await
                    .unwrap();
            }
        };
        // Tab into the frequency choice (one group: the checked one-time), then the amount
        // chips; arrow keys choose within each radio group.
        client
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .send_keys(&Key::Tab.to_string())
            .await
            .unwrap();
        assert_eq!(
            js_string(&client, "document.activeElement.id").await,
            "pw-frequency-one_time"
        );
        press(Key::Tab.to_string()).await;
        assert_eq!(
            js_string(&client, "document.activeElement.id").await,
            "pw-chip-1000"
        );
        press(Key::Right.to_string()).await;
        assert_eq!(
            js_string(&client, "document.querySelector('#pw-chip-2500').checked").await,
            "true"
        );
        press(Key::Tab.to_string()).await; // other amount
        press(Key::Tab.to_string()).await; // cover fees
        assert_eq!(
            js_string(&client, "document.activeElement.id").await,
            "pw-cover-fee"
        );
        press(Key::Space.to_string()).await;
        press(Key::Tab.to_string()).await;
        press("donor@example.org".to_owned()).await;
        press(Key::Tab.to_string()).await;
        assert_eq!(
            js_string(&client, "document.activeElement.id").await,
            "pw-name"
        );
        press("Dana Donor".to_owned()).await;
        press(Key::Tab.to_string()).await;
        assert_eq!(
            js_string(&client, "document.activeElement.id").await,
            "pw-card-number"
        );
        press("4242424242424242".to_owned()).await;
        press(Key::Tab.to_string()).await;
        press(cards::expiry_typed()).await;
        press(Key::Tab.to_string()).await;
        press("123".to_owned()).await;
        press(Key::Enter.to_string()).await;
        wait_for(&client, "#pw-receipt-number").await;
        let receipt = wait_text(
            &client,
            "document.querySelector('.pw-receipt').textContent",
            "HOPE-",
        )
        .await;
        assert!(receipt.contains("26.03 USD"), "{receipt}");
        screenshot(&client, "checkout-keyboard-only").await;
    })
    .await;
    assert_eq!(s.charges().await, 1);
    assert_no_card_data(&s);
}

/// The release build's files go out as the `.br` the build wrote (the bytes `cargo xtask size`
/// counts), and the loader compressed on the fly to within 2 % of that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_release_build_goes_out_brotli_compressed() {
    let s = servers().await;
    let dist = support::dist_dir();
    let index = std::fs::read_to_string(dist.join("index.html")).unwrap();
    let wasm = index
        .split(['\'', '"', ' ', '>'])
        .find(|part| part.ends_with("_bg.wasm"))
        .expect("the form page names its wasm")
        .trim_start_matches('/')
        .to_owned();
    let http = reqwest::Client::new();
    let fetch = |path: String| {
        let req = http
            .get(format!("{}/{path}", s.host))
            .header("accept-encoding", "br");
        async move {
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            let encoding = r
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_owned());
            (encoding, r.bytes().await.unwrap().len())
        }
    };
    let built = std::fs::metadata(dist.join(format!("{wasm}.br")))
        .unwrap()
        .len() as usize;
    assert_eq!(fetch(wasm.clone()).await, (Some("br".into()), built));
    // A campaign's page is built by the host at start (its data and first view in the built
    // page) and kept as brotli 11 too: within 2 % of what brotli 11 makes of it.
    let page = s
        .http
        .get(format!("{}/c/winter", s.host))
        .send()
        .await
        .unwrap();
    let page = page.text().await.unwrap();
    let (encoding, sent) = fetch("c/winter".into()).await;
    assert_eq!(encoding.as_deref(), Some("br"));
    let mut best = Vec::new();
    {
        use std::io::Write;
        let mut w = brotli::CompressorWriter::new(&mut best, 4096, 11, 22);
        w.write_all(page.as_bytes()).unwrap();
    }
    assert!(
        sent.abs_diff(best.len()) * 50 <= best.len(),
        "form page on the wire {sent} B, brotli 11 {} B",
        best.len()
    );
    let (encoding, loader) = fetch("v1/embed.js".into()).await;
    assert_eq!(encoding.as_deref(), Some("br"));
    let mut best = Vec::new();
    {
        use std::io::Write;
        let mut w = brotli::CompressorWriter::new(&mut best, 4096, 11, 22);
        w.write_all(paywidget_host::http::embed::EMBED_JS.as_bytes())
            .unwrap();
    }
    assert!(
        loader.abs_diff(best.len()) * 50 <= best.len(),
        "loader on the wire {loader} B, brotli 11 {} B",
        best.len()
    );
}

// ---- Stripe mode: the gateway's own card fields (the sandbox's Stripe.js counterpart) ----

/// The world with both merchants on `card_capture = "gateway_fields"`.
async fn gateway_fields_servers() -> World {
    logs();
    world_with(WebhookTarget::Host, |gateway, dir| {
        fixtures::checkout_in(gateway, dir, &support::dist_dir(), "gateway_fields")
    })
    .await
}

/// Opens the form and waits for the gateway's frame; checks it is the gateway's origin.
async fn open_gateway_form(
    client: &Client,
    url: &str,
    gateway: &str,
) -> fantoccini::elements::Element {
    open_form(client, url).await;
    let frame = wait_for(client, "#pw-gateway-fields iframe").await;
    let src = frame.attr("src").await.unwrap().unwrap_or_default();
    assert_eq!(
        support::origin(&src),
        support::origin(gateway),
        "the card fields' frame is served by the gateway's origin, not the checkout's"
    );
    assert!(
        js_string(client, "String(document.querySelector('#pw-card-number'))").await == "null",
        "none of our own card fields on the page"
    );
    frame
}

/// No request from the checkout's own origin carried card data; card data went only from the
/// gateway's frame to the gateway (and it did go: the check can fail).
fn assert_card_data_only_from_the_gateways_frame(sent: &[support::SentRequest], world: &World) {
    let gateway = support::origin(&world.gateway);
    let mut carried = 0;
    for r in sent {
        let card_data = CARD_DATA
            .iter()
            .any(|needle| r.body.contains(needle) || r.url.contains(needle));
        if card_data {
            carried += 1;
            assert_eq!(
                r.from_origin(),
                gateway,
                "card data sent from {} to {}",
                r.document_url,
                r.url
            );
            assert_eq!(
                support::origin(&r.url),
                gateway,
                "card data sent to {}",
                r.url
            );
        }
        if r.from_origin() == support::origin(&world.host) {
            for needle in CARD_DATA {
                assert!(
                    !r.body.contains(needle) && !r.url.contains(needle),
                    "the checkout's origin sent {needle} to {}",
                    r.url
                );
            }
        }
    }
    assert!(
        carried > 0,
        "the network log saw the frame tokenize the card"
    );
    assert!(
        sent.iter()
            .any(|r| r.url.contains("/pay") && r.body.contains("ctoken_")),
        "the checkout paid with a confirmation token"
    );
}

async fn click_pay(client: &Client) {
    client
        .find(Locator::Css("#pw-pay"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_mode_donation_decline_explained_then_success_and_receipt() {
    let s = gateway_fields_servers().await;
    let (host, gateway) = (s.host.clone(), s.gateway.clone());
    let sent = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = sent.clone();
    with_phone_browser(|client| async move {
        open_gateway_form(&client, &format!("{host}/c/winter?amount=25"), &gateway).await;
        assert_eq!(loaded_variant(&client).await, FormVariant::Full);
        client
            .find(Locator::Css("#pw-email"))
            .await
            .unwrap()
            .send_keys("donor@example.org")
            .await
            .unwrap();
        client
            .find(Locator::Css("#pw-name"))
            .await
            .unwrap()
            .send_keys("Ada Lovelace")
            .await
            .unwrap();
        // Nothing typed in the gateway's fields: its own check, shown in our layout.
        click_pay(&client).await;
        wait_text(
            &client,
            "document.querySelector('#pw-status').textContent",
            "incomplete",
        )
        .await;
        // Insufficient funds: declined at the host's confirmation, explained in our status.
        support::fill_gateway_card(
            &client,
            "4000000000009995",
            &cards::expiry_typed(),
            "123",
            "12345",
        )
        .await;
        click_pay(&client).await;
        wait_text(
            &client,
            "document.querySelector('#pw-status').textContent",
            "insufficient funds",
        )
        .await;
        screenshot(&client, "stripe-mode-declined").await;
        support::fill_gateway_card(
            &client,
            "4242424242424242",
            &cards::expiry_typed(),
            "123",
            "12345",
        )
        .await;
        click_pay(&client).await;
        let number = wait_text(
            &client,
            "document.querySelector('#pw-receipt-number').textContent",
            "HOPE-",
        )
        .await;
        assert_eq!(number, "HOPE-000001");
        screenshot(&client, "stripe-mode-receipt").await;
        let seen = support::sent_requests(&client).await;
        log.lock().unwrap().extend(seen);
    })
    .await;
    assert_eq!(s.charges().await, 1, "exactly one charge at the gateway");
    assert_card_data_only_from_the_gateways_frame(&sent.lock().unwrap(), &s);
    assert_no_card_data(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_mode_three_d_secure_through_handle_next_action_and_a_licence_key() {
    let s = gateway_fields_servers().await;
    let (host, gateway) = (s.host.clone(), s.gateway.clone());
    let sent = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = sent.clone();
    let key = Arc::new(std::sync::Mutex::new(String::new()));
    let got = key.clone();
    with_phone_browser(|client| async move {
        open_gateway_form(&client, &format!("{host}/c/pro"), &gateway).await;
        for (css, text) in [
            ("#pw-email", "dev@example.org"),
            ("#pw-name", "Ada Lovelace"),
        ] {
            client
                .find(Locator::Css(css))
                .await
                .unwrap()
                .send_keys(text)
                .await
                .unwrap();
        }
        support::fill_gateway_card(
            &client,
            "4000002500003155",
            &cards::expiry_typed(),
            "123",
            "SW1A 1AA",
        )
        .await;
        click_pay(&client).await;
        // The gateway's script shows the bank's page in its dialog over the checkout.
        let dialog = wait_for(&client, "[role=dialog][aria-modal=true] iframe").await;
        assert_eq!(
            dialog.attr("title").await.unwrap().as_deref(),
            Some("3D Secure authentication")
        );
        assert_eq!(
            js_string(&client, "location.pathname").await,
            "/c/pro",
            "no navigation: handleNextAction runs on the checkout page"
        );
        screenshot(&client, "stripe-mode-3ds-dialog").await;
        dialog.enter_frame().await.unwrap();
        wait_for(&client, "#complete").await.click().await.unwrap();
        client.enter_parent_frame().await.unwrap();
        let k = wait_text(
            &client,
            "document.querySelector('#pw-licence-key').textContent",
            "PW1-",
        )
        .await;
        screenshot(&client, "stripe-mode-licence-key").await;
        *got.lock().unwrap() = k;
        let seen = support::sent_requests(&client).await;
        log.lock().unwrap().extend(seen);
    })
    .await;
    let key = key.lock().unwrap().clone();
    let public = s.state.signing_key.verifying_key();
    let licence = paywidget_host::licence::verify(&public, &key).expect("the key shown verifies");
    assert_eq!(licence.product, "Acme Pro");
    assert_eq!(s.charges().await, 1);
    assert_card_data_only_from_the_gateways_frame(&sent.lock().unwrap(), &s);
    assert_no_card_data(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_mode_pages_allow_the_gateways_origin_and_direct_pages_do_not() {
    let s = gateway_fields_servers().await;
    let csp = |path: &'static str| {
        let url = format!("{}{path}", s.host);
        async move {
            reqwest::get(url).await.unwrap().headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    let form = csp("/c/winter").await;
    let gateway = support::origin(&s.gateway);
    assert!(
        form.contains(&format!("frame-src 'self' {gateway}")),
        "{form}"
    );
    let script = form
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .unwrap();
    assert!(script.contains(&gateway), "{form}");
    let direct = servers().await;
    let plain = reqwest::get(format!("{}/c/winter", direct.host))
        .await
        .unwrap()
        .headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!plain.contains("frame-src"), "{plain}");
}

// ---- Recurring gifts and the customer portal ----

/// The mail text with quoted-printable soft breaks and `=3D` undone.
fn plain_mail(mail: &str) -> String {
    mail.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

async fn click_button(client: &Client, words: &str) {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath(&format!(
            "//button[normalize-space()='{words}']"
        )))
        .await
        .unwrap_or_else(|e| panic!("the {words:?} button: {e}"))
        .click()
        .await
        .unwrap();
}

/// Signs in to the portal as `email` through the link in the outbox's newest sign-in mail.
async fn portal_sign_in(client: &Client, world: &World, email: &str) {
    client
        .goto(&format!("{}/portal", world.host))
        .await
        .unwrap();
    let field = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath(
            "//label[normalize-space()='Email']/following-sibling::input",
        ))
        .await
        .unwrap();
    field.send_keys(email).await.unwrap();
    click_button(client, "Email me a sign-in link").await;
    wait_text(
        client,
        "document.querySelector('h1').textContent",
        "Check your email",
    )
    .await;
    let mail = world
        .outbox()
        .await
        .into_iter()
        .rev()
        .map(|m| plain_mail(&m))
        .find(|m| m.contains("sign-in code"))
        .expect("the sign-in mail in the outbox");
    let link = mail
        .split_whitespace()
        .find(|w| w.contains("/portal/login?token="))
        .expect("the link")
        .to_owned();
    client.goto(&link).await.unwrap();
    click_button(client, "Continue to your payments").await;
    wait_text(client, "document.body.textContent", "Signed in as").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monthly_gift_then_the_portal_from_the_mail_cancels_it() {
    let s = servers().await;
    let host = s.host.clone();
    let world = &s;
    with_phone_browser(|client| async move {
        open_form(&client, &format!("{host}/c/winter?amount=25")).await;
        assert_eq!(loaded_variant(&client).await, FormVariant::Recurring);
        client
            .find(Locator::Css("label[for='pw-frequency-monthly']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let pay = js_string(&client, "document.querySelector('#pw-pay').textContent").await;
        assert_eq!(pay, "Donate 25.00 USD monthly");
        assert_eq!(
            js_string(&client, "document.querySelector('#pw-terms').textContent").await,
            "25.00 USD every month, starting today. Cancel any time."
        );
        client
            .find(Locator::Css("#pw-email"))
            .await
            .unwrap()
            .send_keys("monthly@example.org")
            .await
            .unwrap();
        fill_card(&client, "4242424242424242", &cards::expiry_typed(), "123").await;
        click_pay(&client).await;
        wait_text(
            &client,
            "document.querySelector('#pw-recurring').textContent",
            "every month",
        )
        .await;
        screenshot(&client, "recurring-confirmation").await;
        // The portal, reached from the mail in the outbox.
        portal_sign_in(&client, world, "monthly@example.org").await;
        let page = js_string(&client, "document.body.textContent").await;
        assert!(
            page.contains("Winter appeal") && page.contains("every month"),
            "{page}"
        );
        assert!(page.contains("HOPE-000001"), "{page}");
        screenshot(&client, "portal-overview").await;
        click_button(&client, "Cancel at the end of this period").await;
        wait_text(&client, "document.body.textContent", "End your gift?").await;
        click_button(&client, "Yes, end my gift").await;
        wait_text(
            &client,
            "document.body.textContent",
            "Ends at the end of this period",
        )
        .await;
        click_button(&client, "Keep giving").await;
        wait_text(
            &client,
            "document.body.textContent",
            "Cancel at the end of this period",
        )
        .await;
        click_button(&client, "Cancel at the end of this period").await;
        wait_text(&client, "document.body.textContent", "End your gift?").await;
        click_button(&client, "Yes, end my gift").await;
        wait_text(
            &client,
            "document.body.textContent",
            "Ends at the end of this period",
        )
        .await;
        screenshot(&client, "portal-cancelled").await;
    })
    .await;
    // The gateway agrees: the subscription ends at its period's end.
    let subs = s.gateway_get("/v1/subscriptions?limit=10").await;
    let sub = &subs["data"][0];
    assert_eq!(sub["cancel_at_period_end"], true, "{sub}");
    assert_eq!(sub["status"], "active");
    assert_no_card_data(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_yearly_pro_licence_fills_its_seats_refuses_one_and_the_portal_frees_one() {
    let s = servers().await;
    let host = s.host.clone();
    let world = &s;
    let key = Arc::new(std::sync::Mutex::new(String::new()));
    let got = key.clone();
    with_phone_browser(|client| async move {
        open_form(&client, &format!("{host}/c/team")).await;
        // The plan and the period decide the price.
        for chip in [
            "label[for='pw-tier-pro']",
            "label[for='pw-frequency-yearly']",
        ] {
            client
                .find(Locator::Css(chip))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
        }
        assert_eq!(
            js_string(&client, "document.querySelector('#pw-pay').textContent").await,
            "Pay 190.00 USD yearly"
        );
        assert_eq!(
            js_string(&client, "document.querySelector('#pw-terms').textContent").await,
            "190.00 USD every year, starting today. Cancel any time."
        );
        client
            .find(Locator::Css("#pw-email"))
            .await
            .unwrap()
            .send_keys("dev@example.org")
            .await
            .unwrap();
        fill_card(&client, "4242424242424242", &cards::expiry_typed(), "123").await;
        click_pay(&client).await;
        let k = wait_text(
            &client,
            "document.querySelector('#pw-licence-key').textContent",
            "PW1-",
        )
        .await;
        *got.lock().unwrap() = k.clone();
        // The app activates all three seats; a fourth machine is refused.
        let activate = |instance: &'static str| {
            let k = k.clone();
            async move {
                reqwest::Client::new()
                    .post(format!("{}/api/licenses/activate", world.host))
                    .json(&serde_json::json!({ "key": k, "instance": instance }))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        for machine in ["laptop", "desktop", "server"] {
            assert_eq!(activate(machine).await, 200, "{machine}");
        }
        assert_eq!(activate("tablet").await, 409, "every seat is taken");
        portal_sign_in(&client, world, "dev@example.org").await;
        let page = js_string(&client, "document.body.textContent").await;
        assert!(
            page.contains("Activations: 3 of 3 seats") && page.contains("laptop"),
            "{page}"
        );
        assert!(page.contains("every year"), "{page}");
        client
            .find(Locator::XPath("//button[@aria-label='Deactivate laptop']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(
            &client,
            "document.body.textContent",
            "Activations: 2 of 3 seats",
        )
        .await;
        screenshot(&client, "portal-seat-freed").await;
        assert_eq!(activate("tablet").await, 200, "the freed seat");
    })
    .await;
    let key = key.lock().unwrap().clone();
    let claims =
        paywidget_host::licence::verify(&s.state.signing_key.verifying_key(), &key).unwrap();
    assert_eq!((claims.product.as_str(), claims.seats), ("Acme Pro", 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_renewal_mail_link_takes_a_new_card_and_pays_at_once() {
    logs();
    let (w, clock) =
        paywidget_testkit::world::world_on_test_clock(WebhookTarget::Host, |g, d, c| {
            fixtures::checkout(g, d, &support::dist_dir()).replacen(
                "card_capture = \"direct\"\n",
                &format!("card_capture = \"direct\"\ntest_clock = \"{c}\"\n"),
                1,
            )
        })
        .await;
    // A monthly gift (through the API: the browser part of paying is tested above).
    let (_, created) = w
        .api(
            reqwest::Method::POST,
            "/api/sessions",
            Some(serde_json::json!({ "campaign": "winter", "amount": 1000, "email": "d@example.org", "frequency": "monthly" })),
        )
        .await;
    let session = created["id"].as_str().unwrap().to_owned();
    let pm = w.tokenize("4242424242424242").await;
    w.pay(&session, &pm, "first").await;
    w.wait_status(&session, "fulfilled").await;
    // The card starts failing; a month later the renewal fails and the donor is mailed.
    w.set_subscription_card(&session, "4000000000000341").await;
    w.advance_test_clock(&clock, 32 * 86_400).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let link = loop {
        let found = w
            .outbox()
            .await
            .into_iter()
            .map(|m| plain_mail(&m))
            .find(|m| m.contains("could not be charged"))
            .and_then(|m| {
                m.split_whitespace()
                    .find(|word| word.contains("/update-card?token="))
                    .map(str::to_owned)
            });
        if let Some(l) = found {
            break l;
        }
        assert!(std::time::Instant::now() < deadline, "no update-card mail");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    with_phone_browser(|client| async move {
        client.goto(&link).await.unwrap();
        wait_text(
            &client,
            "document.querySelector('h1').textContent",
            "Update your card",
        )
        .await;
        let intro = js_string(&client, "document.querySelector('form p').textContent").await;
        assert!(intro.contains("10.00 USD every month"), "{intro}");
        fill_card(&client, "4242424242424242", &cards::expiry_typed(), "123").await;
        click_button(&client, "Save card and pay").await;
        wait_text(
            &client,
            "document.querySelector('#pw-status').textContent",
            "card is updated and this period is paid",
        )
        .await;
        screenshot(&client, "update-card-paid").await;
    })
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while w.state.store.invoices(&session).await.unwrap().len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the recovered renewal was not fulfilled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(w.charges().await, 2);
    assert_no_card_data(&w);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn make_it_monthly_turns_a_one_time_gift_into_a_smaller_monthly_one() {
    let s = servers().await;
    let host = s.host.clone();
    with_phone_browser(|client| async move {
        open_form(&client, &format!("{host}/c/spring?amount=50")).await;
        client
            .find(Locator::Css("#pw-email"))
            .await
            .unwrap()
            .send_keys("spring@example.org")
            .await
            .unwrap();
        fill_card(&client, "4242424242424242", &cards::expiry_typed(), "123").await;
        click_pay(&client).await;
        // Asked once, in place of the Pay button, with both answers spelled out.
        wait_text(
            &client,
            "document.querySelector('[role=group][aria-labelledby=pw-prompt-title]').textContent",
            "Make it monthly?",
        )
        .await;
        screenshot(&client, "make-it-monthly").await;
        click_button(&client, "Keep my one-time gift of 50.00 USD").await;
        // The answer pays at once; the next gift is asked again.
        wait_text(&client, "document.body.textContent", "HOPE-").await;
        open_form(&client, &format!("{host}/c/spring?amount=50")).await;
        client
            .find(Locator::Css("#pw-email"))
            .await
            .unwrap()
            .send_keys("spring@example.org")
            .await
            .unwrap();
        fill_card(&client, "4242424242424242", &cards::expiry_typed(), "123").await;
        click_pay(&client).await;
        click_button(&client, "Give 17.00 USD monthly").await;
        wait_text(
            &client,
            "document.querySelector('#pw-recurring').textContent",
            "every month",
        )
        .await;
    })
    .await;
    let subs = s.gateway_get("/v1/subscriptions?limit=10").await;
    assert_eq!(subs["data"].as_array().unwrap().len(), 1, "{subs}");
    assert_eq!(
        subs["data"][0]["items"]["data"][0]["price"]["unit_amount"], 1700,
        "{subs}"
    );
    assert_eq!(
        s.charges().await,
        2,
        "the one-time gift and the first month"
    );
    assert_no_card_data(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_while_the_shield_asks_a_proof_of_work_shows_verifying_and_pays() {
    let s = servers().await;
    // Three declines from this address first (a card tester's pattern): the shield now asks
    // a proof of work of every payment from it.
    for card in ["4000000000000002", "4000000000009995", "4000000000009987"] {
        let session = s.session("winter", Some(1000)).await;
        let pm = s.tokenize(card).await;
        assert_eq!(s.pay(&session, &pm, "k").await.1["status"], "declined");
    }
    let host = s.host.clone();
    with_phone_browser(|client| async move {
        open_form(&client, &format!("{host}/c/winter?amount=25")).await;
        client
            .find(Locator::Css("#pw-email"))
            .await
            .unwrap()
            .send_keys("genuine@example.org")
            .await
            .unwrap();
        fill_card(&client, "4242424242424242", &cards::expiry_typed(), "123").await;
        // Watch the status line for the short "Verifying…" the solver shows.
        client
            .execute(
                "new MutationObserver(() => sessionStorage.setItem('pw-test-seen', \
                 (sessionStorage.getItem('pw-test-seen') || '') + '|' + \
                 document.querySelector('#pw-status').textContent)) \
                 .observe(document.querySelector('#pw-status'), \
                 { childList: true, subtree: true, characterData: true });",
                vec![],
            )
            .await
            .unwrap();
        click_pay(&client).await;
        // Challenged: the status says so while the proof is worked out.
        wait_text(
            &client,
            "sessionStorage.getItem('pw-test-seen')",
            "Verifying…",
        )
        .await;
        wait_for(&client, "#pw-receipt-number").await;
        // (Kept in sessionStorage: the receipt page replaced the form.)
        let seen = js_string(&client, "sessionStorage.getItem('pw-test-seen')").await;
        assert!(seen.contains("Verifying…"), "the shopper saw {seen:?}");
        let requests = support::sent_requests(&client).await;
        assert!(
            requests
                .iter()
                .any(|r| r.url.contains(paywidget_widget::pow::WORKER_URL)),
            "the solver was fetched for the challenge"
        );
        let pays: Vec<_> = requests
            .iter()
            .filter(|r| {
                r.method == "POST" && r.url.contains("/api/sessions/") && r.url.ends_with("/pay")
            })
            .collect();
        assert_eq!(
            pays.len(),
            2,
            "challenged, then the same attempt with its proof"
        );
        assert!(!pays[0].body.contains("proof") && pays[1].body.contains("\"proof\""));
        screenshot(&client, "checkout-after-proof-of-work").await;
    })
    .await;
    assert_eq!(s.charges().await, 1, "one charge: the genuine donor's");
    assert_no_card_data(&s);
}

// ---- The merchant dashboard ----

/// The checkout fixture with staff on Hope Shelter: an owner and a viewer.
async fn dashboard_servers() -> World {
    logs();
    world_with(WebhookTarget::Host, |gateway, dir| {
        fixtures::checkout(gateway, dir, &support::dist_dir()).replacen(
            "card_capture = \"direct\"\n",
            "card_capture = \"direct\"\n\n[[merchants.staff]]\nemail = \"owner@hope.example\"\nrole = \"owner\"\n\n[[merchants.staff]]\nemail = \"viewer@hope.example\"\nrole = \"viewer\"\n",
            1,
        )
        .replacen(
            "card_capture = \"direct\"\n\n[[campaigns]]",
            "card_capture = \"direct\"\n\n[[merchants.staff]]\nemail = \"help@acme.example\"\nrole = \"support\"\n\n[[campaigns]]",
            1,
        )
    })
    .await
}

/// Signs in to the dashboard as `email` through the mailed link, in the browser.
async fn dashboard_sign_in(client: &Client, world: &World, email: &str) {
    client.goto(&format!("{}/admin", world.host)).await.unwrap();
    let field = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath(
            "//label[normalize-space()='Email']/following-sibling::input",
        ))
        .await
        .unwrap();
    field.send_keys(email).await.unwrap();
    click_button(client, "Email me a sign-in link").await;
    wait_text(
        client,
        "document.querySelector('h1').textContent",
        "Check your email",
    )
    .await;
    let link = world
        .outbox()
        .await
        .into_iter()
        .rev()
        .map(|m| plain_mail(&m))
        .filter(|m| m.contains(email))
        .find_map(|m| {
            m.split_whitespace()
                .find(|w| w.contains("/admin/login?token="))
                .map(str::to_owned)
        })
        .expect("the dashboard sign-in link in the outbox");
    client.goto(&link).await.unwrap();
    click_button(client, "Continue to the dashboard").await;
    wait_text(
        client,
        "document.querySelector('h1').textContent",
        "Overview",
    )
    .await;
}

async fn no_axe_violations(client: &Client, page: &str) {
    let found = support::axe_violations(client).await;
    assert!(found.is_empty(), "axe-core on {page}: {found:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_finds_a_donation_and_refunds_half_and_a_viewer_cannot() {
    let s = dashboard_servers().await;
    let world = &s;
    // A donation, paid.
    let (_, created) = s
        .api(
            reqwest::Method::POST,
            "/api/sessions",
            Some(serde_json::json!({ "campaign": "winter", "amount": 4000, "email": "grace@example.org", "name": "Grace Hopper" })),
        )
        .await;
    let session = created["id"].as_str().unwrap().to_owned();
    let pm = s.tokenize("4242424242424242").await;
    s.pay(&session, &pm, "k").await;
    s.wait_status(&session, "fulfilled").await;
    let total = s
        .state
        .store
        .session(&session)
        .await
        .unwrap()
        .unwrap()
        .total();
    with_phone_browser(|client| async move {
        dashboard_sign_in(&client, world, "owner@hope.example").await;
        // The day's chart and funnel count it.
        let page = js_string(&client, "document.body.textContent").await;
        assert!(page.contains("Gross per day in USD"), "{page}");
        assert!(
            js_string(
                &client,
                "document.querySelector('svg[role=img] title').textContent"
            )
            .await
                == "Gross per day, USD"
        );
        assert!(page.contains("Checkouts started"), "{page}");
        screenshot(&client, "dashboard-overview-phone").await;
        no_axe_violations(&client, "the overview").await;
        // Found by the donor's email.
        client
            .find(Locator::LinkText("Payments"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let search = wait_for(&client, "#q").await;
        search.send_keys("grace@example.org").await.unwrap();
        click_button(&client, "Filter").await;
        // The filtered list (the one before it names her payment too).
        support::wait_js(&client, "location.search", "q=grace").await;
        wait_text(&client, "document.body.textContent", "grace@example.org").await;
        no_axe_violations(&client, "the payments list").await;
        screenshot(&client, "dashboard-payments-phone").await;
        client
            .find(Locator::Css("tbody a"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&client, "document.body.textContent", "Timeline").await;
        no_axe_violations(&client, "a payment").await;
        // Half of it refunded.
        let half = format!("{}.{:02}", total / 2 / 100, total / 2 % 100);
        wait_for(&client, "#amount")
            .await
            .send_keys(&half)
            .await
            .unwrap();
        click_button(&client, "Refund").await;
        wait_text(
            &client,
            "document.body.textContent",
            "sent to the payment processor",
        )
        .await;
        screenshot(&client, "dashboard-refunded-phone").await;
        // The owner adds a webhook endpoint: its secret is shown once, the page passes axe.
        client
            .find(Locator::LinkText("Webhooks"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(&client, "#pw-hook-url")
            .await
            .send_keys("https://hooks.example.org/paywidget")
            .await
            .unwrap();
        click_button(&client, "Add endpoint").await;
        wait_text(&client, "document.body.textContent", "whsec_").await;
        no_axe_violations(&client, "the webhooks page").await;
        screenshot(&client, "dashboard-webhooks-phone").await;
        client
            .find(Locator::Css("tbody a"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&client, "document.body.textContent", "Deliveries").await;
        no_axe_violations(&client, "a webhook endpoint").await;
        // Settlement (the sandbox's payouts), recurring gifts, health and disputes pass too.
        for (link, words) in [
            ("Settlement", "Payouts, newest first"),
            ("Recurring", "Monthly recurring revenue"),
            ("Health", "The payment processor"),
            ("Disputes", "Open disputes first"),
        ] {
            client
                .find(Locator::LinkText(link))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            wait_text(&client, "document.body.textContent", words).await;
            no_axe_violations(&client, link).await;
            // Nothing on the page needs JavaScript: it has no script, and its policy allows none.
            assert_eq!(
                js_string(&client, "String(document.scripts.length)").await,
                "0",
                "{link}"
            );
        }
        screenshot(&client, "dashboard-disputes-phone").await;
    })
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while s
        .state
        .store
        .session(&session)
        .await
        .unwrap()
        .unwrap()
        .amount_refunded
        != total / 2
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the half refund never landed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The donor was mailed.
    assert!(
        s.outbox()
            .await
            .iter()
            .map(|m| plain_mail(m))
            .any(|m| m.contains("Subject: Refund of") && m.contains("grace@example.org")),
        "the donor is told"
    );
    // A viewer, at desktop width: the payment without a Refund button.
    support::with_desktop_browser(|client| async move {
        dashboard_sign_in(&client, world, "viewer@hope.example").await;
        no_axe_violations(&client, "the overview (desktop)").await;
        screenshot(&client, "dashboard-overview-desktop").await;
        client
            .goto(&format!("{}/admin/payments/{session}", world.host))
            .await
            .unwrap();
        let page = wait_text(
            &client,
            "document.body.textContent",
            "Viewers cannot refund",
        )
        .await;
        assert!(!page.contains("Refund between"), "{page}");
        assert!(
            client.find(Locator::Css("#amount")).await.is_err(),
            "no refund form"
        );
        // The donor's confirmation page marks the receipt: it stands for the half kept.
        client
            .goto(&format!("{}/thanks/{session}", world.host))
            .await
            .unwrap();
        wait_text(
            &client,
            "document.body.textContent",
            "of this donation was refunded; the receipt now stands for",
        )
        .await;
        screenshot(&client, "receipt-part-refunded-desktop").await;
    })
    .await;
    assert_no_card_data(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_sees_a_refused_activation_and_its_reason_and_frees_a_seat() {
    let s = dashboard_servers().await;
    let world = &s;
    // A one-seat licence, used on a laptop; the desktop is refused for lack of seats.
    let (_, created) = s
        .api(
            reqwest::Method::POST,
            "/api/sessions",
            Some(serde_json::json!({ "campaign": "pro", "email": "dev@example.org" })),
        )
        .await;
    let session = created["id"].as_str().unwrap().to_owned();
    let pm = s.tokenize("4242424242424242").await;
    s.pay(&session, &pm, "k").await;
    let done = s.wait_status(&session, "fulfilled").await;
    let key = done["license"]["key"].as_str().unwrap().to_owned();
    let activate = |instance: &'static str| {
        let key = key.clone();
        async move {
            world
                .api(
                    reqwest::Method::POST,
                    "/api/licenses/activate",
                    Some(serde_json::json!({ "key": key, "instance": instance })),
                )
                .await
                .0
        }
    };
    assert_eq!(activate("laptop").await, 200);
    assert_eq!(activate("desktop").await, 409);
    with_phone_browser(|client| async move {
        dashboard_sign_in(&client, world, "help@acme.example").await;
        client
            .find(Locator::LinkText("Licences"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(&client, "#q")
            .await
            .send_keys("dev@example.org")
            .await
            .unwrap();
        click_button(&client, "Find").await;
        // The list of the search (not the list before it, which may name the buyer too).
        support::wait_js(&client, "location.search", "q=dev").await;
        wait_text(&client, "document.body.textContent", "dev@example.org").await;
        client
            .find(Locator::Css("tbody a"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        // The refusal, its reason, and the seats in one look.
        let page = wait_text(
            &client,
            "document.body.textContent",
            "Last activation attempts",
        )
        .await;
        assert!(
            page.contains("desktop") && page.contains("seats_exhausted"),
            "{page}"
        );
        assert!(page.contains("1 of 1"), "{page}");
        no_axe_violations(&client, "the activation doctor").await;
        screenshot(&client, "dashboard-licence-phone").await;
        click_button(&client, "Free this seat").await;
        wait_text(&client, "document.body.textContent", "0 of 1").await;
    })
    .await;
    // The customer's desktop now activates.
    assert_eq!(activate("desktop").await, 200);
    assert_no_card_data(&s);
}

// ---- Weight, first paint and fit (issue 23) ----

/// The layout shifts the page has recorded so far (buffered: from its first paint), summed.
const LAYOUT_SHIFT: &str = "(() => { let sum = 0; \
    new PerformanceObserver(() => {}).observe({ type: 'layout-shift', buffered: true }); \
    for (const e of performance.getEntriesByType('layout-shift')) sum += e.value; \
    return sum; })()";

/// The host paints the form before the wasm runs (its first view, in the page it serves); the
/// app swaps it for itself with nothing moving; on a 390×844 phone the one-time form's Pay
/// button is on screen without scrolling once an amount is chosen; and an error that appears
/// as the donor moves on never moves the field they are typing in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_paints_from_the_host_swaps_without_a_shift_and_fits_a_phone() {
    let s = servers().await;
    let host = s.host.clone();
    // The page as served: the first view is there before any script runs.
    let served = s
        .http
        .get(format!("{host}/c/relief"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(served.contains(r#"<main class="pw-page" id="pw-first" inert>"#));
    assert!(served.contains(r#"<h1 class="pw-title">Flood relief</h1>"#));
    with_phone_browser(|client| async move {
        // The first view alone, as a phone on a slow network shows it before the wasm: the
        // served page written into this origin's document without its loader, with everything
        // where the app draws it.
        assert_first_view_matches_the_app(&client, &format!("{host}/c/relief")).await;
        assert_eq!(
            js_string(&client, "document.querySelectorAll('#pw-first[inert]').length").await,
            "1",
            "only the first view, inert"
        );
        screenshot(&client, "checkout-first-view-phone").await;
        // The real page: the app replaces the first view in the frame it mounts.
        client.goto(&format!("{host}/c/relief")).await.unwrap();
        wait_for(&client, "#pw-email").await;
        assert_eq!(
            js_string(&client, "document.querySelectorAll('main').length").await,
            "1",
            "the first view is gone once the app is there"
        );
        assert_eq!(js_string(&client, "document.getElementById('pw-first')").await, "");
        let shift: f64 = js_string(&client, LAYOUT_SHIFT).await.parse().unwrap();
        assert!(shift == 0.0, "layout shift while loading: {shift}");
        // Phone fit: choose an amount; Pay is on screen, nothing scrolled, targets and text
        // not made smaller to get there.
        support::click(&client, "label[for='pw-chip-2500']").await;
        let fit = js_string(
            &client,
            "(() => { const r = document.getElementById('pw-pay').getBoundingClientRect(); \
             return [innerWidth, innerHeight, scrollY, Math.round(r.bottom)].join(' '); })()",
        )
        .await;
        let parts: Vec<i64> = fit.split(' ').map(|p| p.parse().unwrap()).collect();
        assert_eq!((parts[0], parts[1], parts[2]), (390, 844, 0), "{fit}");
        assert!(parts[3] <= parts[1], "Pay is below the fold: {fit}");
        let small = js_string(
            &client,
            "[...document.querySelectorAll('input:not([type=radio]):not([type=checkbox]), .pw-chip, .pw-pay')]\
             .filter(e => { const r = e.getBoundingClientRect(); const f = parseFloat(getComputedStyle(e).fontSize); \
             return r.height < 44 || (e.tagName === 'INPUT' && f < 16); }).map(e => e.id || e.className).join(',')",
        )
        .await;
        assert_eq!(small, "", "targets under 44px or inputs under 16px");
        screenshot(&client, "checkout-phone-fit").await;
        // An error shown on leaving a field does not move the next one.
        support::type_into(&client, "#pw-email", "not-an-email").await;
        let top = "String(Math.round(document.getElementById('pw-name').getBoundingClientRect().top))";
        let before = js_string(&client, top).await;
        support::click(&client, "#pw-name").await;
        wait_text(
            &client,
            "document.querySelector('#pw-email-error').textContent",
            "name@example.org",
        )
        .await;
        assert_eq!(js_string(&client, top).await, before);
        let shift: f64 = js_string(&client, LAYOUT_SHIFT).await.parse().unwrap();
        assert!(shift == 0.0, "layout shift from the error: {shift}");
        let violations = support::axe_violations(&client).await;
        assert!(violations.is_empty(), "{violations:?}");
    })
    .await;
}

/// What a one-time donor receives from the host between the tap and the receipt, measured by
/// the browser (every response's transfer size on the form page, then on the confirmation).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_time_donors_journey_is_weighed() {
    let s = servers().await;
    let host = s.host.clone();
    let weighed = Arc::new(std::sync::Mutex::new(0u64));
    let got = weighed.clone();
    // Counts what came from this origin (the gateway's tokenizing is not the host's bytes).
    const FROM_HOST: &str = "[...performance.getEntriesByType('navigation'), \
        ...performance.getEntriesByType('resource')]\
        .filter(e => new URL(e.name).origin === location.origin)\
        .reduce((sum, e) => sum + e.transferSize, 0)";
    with_phone_browser(|client| async move {
        open_form(&client, &format!("{host}/c/relief?amount=25")).await;
        // Whatever the form page fetched until it leaves, kept across the navigation.
        client
            .execute(
                &format!(
                    "addEventListener('pagehide', () => sessionStorage.setItem('pw-weighed', String({FROM_HOST}))); return true;"
                ),
                vec![],
            )
            .await
            .unwrap();
        support::type_into(&client, "#pw-email", "donor@example.org").await;
        fill_card(&client, "4242424242424242", &cards::expiry_typed(), "123").await;
        support::click(&client, "#pw-pay").await;
        wait_for(&client, "#pw-receipt-number").await;
        let form: u64 = js_string(&client, "sessionStorage.getItem('pw-weighed')")
            .await
            .parse()
            .unwrap();
        let thanks: u64 = js_string(&client, FROM_HOST).await.parse().unwrap();
        assert!(form > 10_000 && thanks > 300, "form {form} B, confirmation {thanks} B");
        *got.lock().unwrap() = form + thanks;
        println!(
            "journey of a one-time donor from the host: {} B (form page {form} B, confirmation {thanks} B)",
            form + thanks
        );
    })
    .await;
    let total = *weighed.lock().unwrap();
    // The one-time form (`cargo xtask size`: 90.5 kB) and the confirmation, with every
    // response's headers (the policy header alone is ~0.5 kB a response) and the pay flow's
    // JSON: 96.7 kB measured. Then the form took currencies and languages (93.0 kB, and the
    // reader's texts in the page, without the confirmation's, ~1 kB): 100.5 kB. Issue 23's goal is 75 kB; the README says
    // why it is not met.
    assert!(total <= 101_000, "the journey is {total} B");
}

/// `cargo xtask bench`'s browser timings on the form (ignored in `cargo xtask test`): keystroke →
/// formatted card number on screen, and submit → confirmation painted, p50/p95.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run by `cargo xtask bench`"]
async fn bench_interaction_timings() {
    let s = servers().await;
    let host = s.host.clone();
    let samples = support::bench_samples();
    with_phone_browser(|client| async move {
        // Keystroke → the formatted number painted: the input event's time to the frame after.
        let mut keys = Vec::new();
        while keys.len() < samples {
            open_form(&client, &format!("{host}/c/relief")).await;
            client
                .execute(
                    "window.__k = []; const el = document.getElementById('pw-card-number');
                     addEventListener('input', e => { if (e.target !== el) return; const t0 = e.timeStamp;
                       requestAnimationFrame(() => setTimeout(() => window.__k.push(performance.now() - t0))); }, true);
                     return true;",
                    vec![],
                )
                .await
                .unwrap();
            let field = wait_for(&client, "#pw-card-number").await;
            field.click().await.unwrap();
            for digit in "4242424242424242".chars() {
                field.send_keys(&digit.to_string()).await.unwrap();
            }
            assert_eq!(
                js_string(&client, "document.getElementById('pw-card-number').value").await,
                "4242 4242 4242 4242"
            );
            let got = js_string(&client, "window.__k.join(',')").await;
            keys.extend(got.split(',').filter_map(|v| v.parse::<f64>().ok()));
        }
        support::record_timing("PAYWIDGET_BENCH_OUT", "keystroke → formatted card number", &mut keys);
        // Submit → the receipt painted (the confirmation page's first paint, or its refresh's).
        let mut submits = Vec::new();
        for i in 0..samples {
            open_form(&client, &format!("{host}/c/relief?amount=25")).await;
            support::type_into(&client, "#pw-email", &format!("bench{i}@example.org")).await;
            fill_card(&client, "4242424242424242", &cards::expiry_typed(), "123").await;
            client
                .execute(
                    "document.getElementById('pw-pay').addEventListener('click', () =>
                       sessionStorage.setItem('pw-submit', String(performance.timeOrigin + performance.now())), true);
                     return true;",
                    vec![],
                )
                .await
                .unwrap();
            support::click(&client, "#pw-pay").await;
            wait_for(&client, "#pw-receipt-number").await;
            let ms: f64 = js_string(
                &client,
                "(() => { const p = performance.getEntriesByName('first-contentful-paint')[0]; \
                 const at = performance.timeOrigin + (p ? p.startTime : performance.now()); \
                 return at - Number(sessionStorage.getItem('pw-submit')); })()",
            )
            .await
            .parse()
            .unwrap();
            submits.push(ms);
        }
        support::record_timing("PAYWIDGET_BENCH_OUT", "submit → confirmation painted", &mut submits);
    })
    .await;
}

/// axe-core (WCAG 2.2 A/AA, target size, best practices) on every state of the checkout a
/// shopper can meet, at phone and desktop widths: fails on any violation. (The 3-D Secure return,
/// the challenged form, the overlay and the dashboard are checked in their own tests.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_finds_nothing_on_the_checkouts_states_at_both_widths() {
    let s = servers().await;
    let host = s.host.clone();
    let pending = s.session("relief", Some(2500)).await;
    for phone in [true, false] {
        let (host, pending) = (host.clone(), pending.clone());
        let scenario = |client: Client| async move {
            let width = if phone { "phone" } else { "desktop" };
            for campaign in ["relief", "winter", "spring", "pro", "team"] {
                open_form(&client, &format!("{host}/c/{campaign}")).await;
                no_axe_violations(&client, &format!("the {campaign} form, empty ({width})")).await;
            }
            open_form(&client, &format!("{host}/c/relief")).await;
            click_pay(&client).await;
            wait_text(
                &client,
                "document.querySelector('#pw-status').textContent",
                "highlighted",
            )
            .await;
            no_axe_violations(&client, &format!("the form with its errors ({width})")).await;
            support::click(&client, "label[for='pw-chip-2500']").await;
            support::type_into(&client, "#pw-email", "axe@example.org").await;
            fill_card(&client, "4000000000000002", &cards::expiry_typed(), "123").await;
            click_pay(&client).await;
            wait_text(
                &client,
                "document.querySelector('#pw-status').textContent",
                "declined",
            )
            .await;
            no_axe_violations(&client, &format!("the form, declined ({width})")).await;
            fill_card(&client, "4242424242424242", &cards::expiry_typed(), "123").await;
            click_pay(&client).await;
            wait_for(&client, "#pw-receipt-number").await;
            no_axe_violations(&client, &format!("the receipt ({width})")).await;
            client
                .goto(&format!("{host}/thanks/{pending}"))
                .await
                .unwrap();
            wait_for(&client, "#pw-thanks-status").await;
            no_axe_violations(&client, &format!("the confirmation, waiting ({width})")).await;
            client.goto(&format!("{host}/portal")).await.unwrap();
            no_axe_violations(&client, &format!("the portal's sign-in ({width})")).await;
        };
        if phone {
            with_phone_browser(scenario).await;
        } else {
            support::with_desktop_browser(scenario).await;
        }
    }
}

/// The browser suites' host with a euro campaign that also takes SEPA Direct Debit.
async fn sepa_servers() -> World {
    logs();
    world_with(WebhookTarget::Host, |gateway, dir| {
        fixtures::checkout(gateway, dir, &support::dist_dir()) + fixtures::EURO_SEPA
    })
    .await
}

/// Waits for a mail in the host's outbox holding every one of `needles`.
async fn mail_with(world: &World, needles: &[&str]) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(m) = world
            .outbox()
            .await
            .into_iter()
            .map(|m| plain_mail(&m))
            .find(|m| needles.iter().all(|n| m.contains(n)))
        {
            return m;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no mail with {needles:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Chooses "Bank account (SEPA)" and fills the gift of 30 EUR from `iban`, typed as a person
/// types it (no spaces: the field groups it).
async fn fill_bank_gift(client: &Client, iban: &str) {
    client
        .find(Locator::Css("label[for='pw-chip-3000']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .find(Locator::Css("label[for='pw-method-bank']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for (css, text) in [
        ("#pw-email", "jenny@example.org"),
        ("#pw-name", "Jenny Rosen"),
        ("#pw-iban", iban),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_german_donor_gives_by_sepa_is_told_it_is_pending_then_receipted() {
    let s = sepa_servers().await;
    let host = s.host.clone();
    let world = &s;
    with_phone_browser(|client| async move {
        open_form(&client, &format!("{host}/c/euro")).await;
        // Bank debits ride with the recurring build; the one-time card form stays light.
        assert_eq!(loaded_variant(&client).await, FormVariant::Recurring);
        // Card first; the card fields hide when the bank account is chosen.
        assert_eq!(
            js_string(&client, "document.querySelector('#pw-method-card').checked").await,
            "true"
        );
        fill_bank_gift(&client, "de89370400440532013000").await;
        assert_eq!(
            js_string(&client, "document.querySelector('#pw-iban').value").await,
            "DE89 3704 0044 0532 0130 00",
            "grouped by four as typed"
        );
        assert_eq!(
            js_string(
                &client,
                "String(document.querySelector('#pw-card-number').offsetParent === null)"
            )
            .await,
            "true",
            "the card fields are hidden"
        );
        assert_eq!(
            js_string(&client, "document.querySelector('#pw-iban').autocomplete").await,
            "off"
        );
        assert_eq!(
            js_string(
                &client,
                "document.querySelector('label[for=pw-name]').textContent"
            )
            .await,
            "Account holder name"
        );
        let mandate = js_string(&client, "document.querySelector('#pw-mandate').textContent").await;
        assert!(
            mandate.contains("you authorise Hope Shelter") && mandate.contains("8 weeks"),
            "{mandate}"
        );
        no_axe_violations(&client, "the bank account form").await;
        screenshot(&client, "checkout-sepa-form").await;
        // A typo in the IBAN is caught on the page, before anything is sent.
        let iban = client.find(Locator::Css("#pw-iban")).await.unwrap();
        iban.send_keys(&fantoccini::key::Key::Backspace.to_string())
            .await
            .unwrap();
        iban.send_keys("1").await.unwrap();
        click_pay(&client).await;
        wait_text(
            &client,
            "document.querySelector('#pw-iban-error').textContent",
            "Check it for a typo",
        )
        .await;
        assert_eq!(
            js_string(&client, "document.activeElement.id").await,
            "pw-iban"
        );
        iban.send_keys(&fantoccini::key::Key::Backspace.to_string())
            .await
            .unwrap();
        iban.send_keys("0").await.unwrap();
        click_pay(&client).await;
        // Pending: the confirmation says the bank is confirming, and that a mail follows.
        let pending = wait_text(
            &client,
            "document.querySelector('main').textContent",
            "Your bank is confirming the payment",
        )
        .await;
        assert!(pending.contains("we will email you"), "{pending}");
        assert!(js_string(&client, "location.pathname")
            .await
            .starts_with("/thanks/cs_"));
        screenshot(&client, "checkout-sepa-pending").await;
        assert!(
            !world.outbox().await.iter().any(|m| m.contains("HOPE-")),
            "no receipt before the bank confirms"
        );
        // The sandbox settles the debit a few seconds later; the webhook fulfils and mails.
        let receipt = mail_with(world, &["HOPE-000001", "30.00 EUR"]).await;
        assert!(receipt.contains("To: jenny@example.org"), "{receipt}");
        client.refresh().await.unwrap();
        wait_text(
            &client,
            "document.querySelector('#pw-receipt-number').textContent",
            "HOPE-000001",
        )
        .await;
    })
    .await;
    assert_eq!(s.charges().await, 1, "one debit at the gateway");
    assert_no_card_data(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sepa_debit_the_bank_refuses_ends_in_the_failure_mail() {
    let s = sepa_servers().await;
    let host = s.host.clone();
    let world = &s;
    with_phone_browser(|client| async move {
        open_form(&client, &format!("{host}/c/euro")).await;
        // Stripe's test IBAN whose debit fails with insufficient funds after processing.
        fill_bank_gift(&client, "DE62370400440532013001").await;
        click_pay(&client).await;
        wait_text(
            &client,
            "document.querySelector('main').textContent",
            "Your bank is confirming the payment",
        )
        .await;
        let mail = mail_with(world, &["did not go through", "Winterhilfe"]).await;
        assert!(mail.contains("30.00 EUR"), "{mail}");
        assert!(mail.contains("/c/euro"), "the way to give again: {mail}");
        assert!(
            !world.outbox().await.iter().any(|m| m.contains("HOPE-")),
            "no receipt for a failed debit"
        );
    })
    .await;
    assert_no_card_data(&s);
}

/// The browser suites' host with a dollar campaign that also takes yen and pounds.
async fn world_campaign_servers() -> World {
    logs();
    world_with(WebhookTarget::Host, |gateway, dir| {
        fixtures::checkout(gateway, dir, &support::dist_dir()) + fixtures::WORLD
    })
    .await
}

/// The gateway's payment intent behind a paid session: (currency, amount).
async fn charged(world: &World, session: &str) -> (String, i64) {
    let pi = world
        .state
        .store
        .session(session)
        .await
        .unwrap()
        .and_then(|r| r.payment_intent)
        .expect("a payment intent");
    let intent = world
        .gateway_get(&format!("/v1/payment_intents/{pi}"))
        .await;
    (
        intent["currency"].as_str().unwrap_or_default().to_owned(),
        intent["amount"].as_i64().unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_japanese_donor_gives_3000_yen_without_a_decimal_anywhere() {
    let s = world_campaign_servers().await;
    let host = s.host.clone();
    let world = &s;
    with_phone_browser_in("ja-JP", |client| async move {
        open_form(&client, &format!("{host}/c/world")).await;
        // The host's first view and the page agree: yen, from the browser's region.
        assert_eq!(
            js_string(&client, "document.querySelector('#pw-currency').value").await,
            "JPY"
        );
        assert_eq!(
            js_string(
                &client,
                "document.querySelector('.pw-amounts legend').textContent"
            )
            .await,
            "金額（JPY）"
        );
        // …and the page speaks Japanese: the host chose its texts from the browser's languages.
        assert_eq!(
            js_string(&client, "document.documentElement.lang").await,
            "ja"
        );
        client
            .find(Locator::Css("label[for='pw-chip-3000']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let pay = js_string(&client, "document.querySelector('#pw-pay').textContent").await;
        assert_eq!(pay, "3000 JPY を寄付する");
        let chips = js_string(
            &client,
            "[...document.querySelectorAll('.pw-chip')].map(c => c.textContent).join(' ')",
        )
        .await;
        assert!(!chips.contains('.'), "no decimals on the chips: {chips}");
        client
            .find(Locator::Css("#pw-email"))
            .await
            .unwrap()
            .send_keys("hana@example.jp")
            .await
            .unwrap();
        fill_card(&client, "4242424242424242", &cards::expiry_typed(), "123").await;
        click_pay(&client).await;
        wait_for(&client, "#pw-receipt-number").await;
        let page = wait_text(
            &client,
            "document.querySelector('main').textContent",
            "3000 JPY",
        )
        .await;
        assert!(!page.contains("3000.") && !page.contains("30.00"), "{page}");
        screenshot(&client, "checkout-yen-receipt").await;
        let session = js_string(&client, "location.pathname").await;
        let session = session.trim_start_matches("/thanks/").to_owned();
        assert_eq!(charged(world, &session).await, ("jpy".to_owned(), 3000));
        let receipt = mail_with(world, &["hana@example.jp", "HOPE-"]).await;
        assert!(
            receipt.contains("3000 JPY") && !receipt.contains("3000.00"),
            "{receipt}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_currency_gbp_prefill_charges_pounds_and_the_selector_changes_the_amounts() {
    let s = world_campaign_servers().await;
    let host = s.host.clone();
    let world = &s;
    with_phone_browser(|client| async move {
        open_form(&client, &format!("{host}/c/world?currency=gbp&amount=20")).await;
        assert_eq!(
            js_string(&client, "document.querySelector('#pw-currency').value").await,
            "GBP"
        );
        assert_eq!(
            js_string(&client, "document.querySelector('#pw-chip-2000').checked").await,
            "true"
        );
        // Choosing dollars loads the form in dollars; back to pounds for this gift.
        client
            .execute(
                "const s = document.querySelector('#pw-currency'); s.value = 'USD'; s.dispatchEvent(new Event('change'));",
                vec![],
            )
            .await
            .unwrap();
        wait_for(&client, "#pw-chip-2500").await;
        wait_text(&client, "location.search", "currency=USD").await;
        client
            .execute(
                "const s = document.querySelector('#pw-currency'); s.value = 'GBP'; s.dispatchEvent(new Event('change'));",
                vec![],
            )
            .await
            .unwrap();
        wait_text(&client, "location.search", "currency=GBP").await;
        wait_for(&client, "label[for='pw-chip-2000']")
            .await
            .click()
            .await
            .unwrap();
        let pay = js_string(&client, "document.querySelector('#pw-pay').textContent").await;
        assert_eq!(pay, "Donate 20.00 GBP");
        no_axe_violations(&client, "the form in pounds").await;
        client
            .find(Locator::Css("#pw-email"))
            .await
            .unwrap()
            .send_keys("sam@example.co.uk")
            .await
            .unwrap();
        fill_card(&client, "4242424242424242", &cards::expiry_typed(), "123").await;
        click_pay(&client).await;
        wait_for(&client, "#pw-receipt-number").await;
        let session = js_string(&client, "location.pathname").await;
        let session = session.trim_start_matches("/thanks/").to_owned();
        assert_eq!(charged(world, &session).await, ("gbp".to_owned(), 2000));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_arabic_checkout_reads_right_to_left_without_overlap_and_passes_axe() {
    let s = servers().await;
    let host = s.host.clone();
    with_phone_browser_in("ar", |client| async move {
        open_form(&client, &format!("{host}/c/relief?amount=25")).await;
        assert_eq!(js_string(&client, "document.documentElement.lang").await, "ar");
        assert_eq!(js_string(&client, "document.documentElement.dir").await, "rtl");
        // The app's texts are the Arabic file's, as was the host's first view.
        assert_eq!(
            js_string(&client, "document.querySelector('label[for=pw-email]').textContent").await,
            "البريد الإلكتروني (لإرسال الإيصال)"
        );
        let pay = js_string(&client, "document.querySelector('#pw-pay').textContent").await;
        assert!(pay.starts_with("تبرّع بمبلغ") && pay.contains("25.00 USD"), "{pay}");
        // Laid out right to left: the title and each label start at the right edge; the card
        // number still reads left to right.
        let aligned = js_string(
            &client,
            "(() => { const f = document.querySelector('.pw-form').getBoundingClientRect(); \
               const r = document.createRange(); \
               r.selectNodeContents(document.querySelector('label[for=pw-email]')); \
               const l = r.getBoundingClientRect(); \
               return String(Math.abs(f.right - l.right) < 2 && l.left > f.left + 20); })()",
        )
        .await;
        assert_eq!(aligned, "true", "labels sit at the right edge");
        assert_eq!(
            js_string(&client, "getComputedStyle(document.querySelector('#pw-card-number')).direction").await,
            "ltr"
        );
        // Nothing overlaps: no two of the form's boxes (fields, chips, button, lines) cross,
        // and nothing runs past the screen's width.
        let overlaps = js_string(
            &client,
            "(() => { const els = [...document.querySelectorAll('.pw-form .pw-label, .pw-form input:not(.pw-chip-input), .pw-chip, .pw-pay, .pw-secure, .pw-check label')] \
               .filter(e => e.offsetParent !== null && !e.classList.contains('pw-visually-hidden')); \
               const r = els.map(e => e.getBoundingClientRect()); const bad = []; \
               for (let i = 0; i < r.length; i++) for (let j = i + 1; j < r.length; j++) { \
                 const a = r[i], b = r[j]; \
                 if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) \
                   bad.push(els[i].outerHTML.slice(0, 60) + ' × ' + els[j].outerHTML.slice(0, 60)); } \
               if (document.documentElement.scrollWidth > innerWidth) bad.push('wider than the screen'); \
               return JSON.stringify(bad); })()",
        )
        .await;
        assert_eq!(overlaps, "[]");
        screenshot(&client, "checkout-arabic-rtl").await;
        no_axe_violations(&client, "the Arabic checkout").await;
        // Errors come in Arabic too.
        click_pay(&client).await;
        let problem = js_string(&client, "document.querySelector('#pw-status').textContent").await;
        assert!(!problem.is_empty() && !problem.is_ascii(), "{problem}");
        no_axe_violations(&client, "the Arabic checkout with errors").await;
    })
    .await;
}

/// Where the form's landmarks are on the page now (left, top, width, height each).
const LANDMARKS: &str = "['h1.pw-title', '.pw-chips', 'input[type=email]', 'input[autocomplete=cc-number]', \
    'input[autocomplete=cc-csc]', '.pw-pay', '.pw-secure'].map(css => { \
    const r = document.querySelector('main:not([hidden]) ' + css).getBoundingClientRect(); \
    return css + ' ' + [r.left, r.top, r.width, r.height].map(Math.round).join(','); }).join(' | ')";

/// The app's landmarks at `url`, then the host's first view's (the served page written into
/// the document without its loader): they must be the same, or the swap shifts the form.
async fn assert_first_view_matches_the_app(client: &Client, url: &str) {
    client.goto(url).await.unwrap();
    wait_for(client, "#pw-email").await;
    let app = js_string(client, LANDMARKS).await;
    let first = client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
             fetch(location.href).then(r => r.text()).then(html => {
               document.open();
               document.write(html.replace(/<script type="?module"?[^>]*>[\s\S]*?<\/script>/g, '')
                                  .replace(/<link[^>]*preload[^>]*>/g, ''));
               document.close();
               const ready = () => document.styleSheets.length > 0 && document.readyState === 'complete';
               const wait = () => ready() ? done(true) : setTimeout(wait, 20);
               wait();
             });"#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(first.as_bool(), Some(true));
    let host_view = js_string(client, LANDMARKS).await;
    assert_eq!(host_view, app, "{url}: the first view and the app differ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_view_of_a_bank_or_multi_currency_campaign_is_where_the_app_draws() {
    logs();
    let s = world_with(WebhookTarget::Host, |gateway, dir| {
        fixtures::checkout(gateway, dir, &support::dist_dir())
            + fixtures::EURO_SEPA
            + fixtures::WORLD
    })
    .await;
    let host = s.host.clone();
    with_phone_browser(|client| async move {
        // "Pay with: Card | Bank account" is in the first view too.
        assert_first_view_matches_the_app(&client, &format!("{host}/c/euro")).await;
        // The currency select too, in the chosen currency.
        assert_first_view_matches_the_app(&client, &format!("{host}/c/world?currency=jpy")).await;
        assert_first_view_matches_the_app(&client, &format!("{host}/c/world")).await;
    })
    .await;
}

//! End-to-end tests: the Trunk release build in headless Chromium at a phone viewport.
//!
//! Run by `cargo xtask test` (stage "e2e") after the release build, or by hand with
//! `trunk build --release && cargo test -p paywidget-widget --test e2e`.
#![cfg(not(target_arch = "wasm32"))]

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use paywidget_testkit::browser::{self as support, js_string, screenshot, with_phone_browser};

const INPUT: &str = "#pw-card-number";

/// Opens the checkout page fresh and waits for the wasm app to mount the card field.
async fn open(client: &Client, base: &str) -> fantoccini::elements::Element {
    client
        .goto(&format!("{base}/"))
        .await
        .expect("open the checkout page");
    let input = client
        .wait()
        .at_most(std::time::Duration::from_secs(20))
        .for_element(Locator::Css(INPUT))
        .await
        .expect("the wasm app mounts the card-number input (release build broken?)");
    input.click().await.expect("focus the input");
    input
}

async fn value(client: &Client) -> String {
    js_string(client, "document.querySelector('#pw-card-number').value").await
}

async fn caret(client: &Client) -> String {
    js_string(
        client,
        "document.querySelector('#pw-card-number').selectionStart",
    )
    .await
}

async fn error(client: &Client) -> String {
    js_string(
        client,
        "document.querySelector('#pw-card-number-error').textContent",
    )
    .await
}

async fn aria_invalid(client: &Client) -> String {
    js_string(
        client,
        "document.querySelector('#pw-card-number').getAttribute('aria-invalid')",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_number_input_on_a_phone() {
    let base = support::serve_dir(&support::dist_dir()).await;
    with_phone_browser(|client| async move {
        let input = open(&client, &base).await;
        assert_eq!(
            js_string(&client, "window.innerWidth").await,
            "390",
            "phone viewport"
        );
        let font = js_string(
            &client,
            "getComputedStyle(document.querySelector('#pw-card-number')).fontSize",
        )
        .await;
        assert_eq!(font, "16px", "16px input text (no iOS zoom on focus)");

        // Typing a Visa test card: grouped live, brand as text, no error, status shows last 4.
        input.send_keys("4242424242424242").await.expect("type");
        assert_eq!(value(&client).await, "4242 4242 4242 4242");
        assert_eq!(caret(&client).await, "19");
        assert_eq!(
            js_string(
                &client,
                "document.querySelector('#pw-card-number-brand').textContent"
            )
            .await,
            "Card brand: Visa"
        );
        assert_eq!(error(&client).await, "");
        assert_eq!(aria_invalid(&client).await, "false");
        assert_eq!(
            js_string(&client, "document.querySelector('#pw-status').textContent").await,
            "Ready: Visa •••• 4242"
        );
        let shot = screenshot(&client, "card-number-visa-phone").await;
        assert!(std::fs::metadata(&shot).expect("screenshot written").len() > 1000);

        // Backspace right after a space deletes the digit before it; the caret follows.
        let input = open(&client, &base).await;
        input.send_keys("42424242").await.expect("type");
        client
            .execute(
                "document.querySelector('#pw-card-number').setSelectionRange(5, 5)",
                vec![],
            )
            .await
            .expect("move caret");
        input
            .send_keys(&Key::Backspace.to_string())
            .await
            .expect("backspace");
        assert_eq!(value(&client).await, "4244 242");
        assert_eq!(caret(&client).await, "3");

        // Typing in the middle keeps the caret after the new digit across re-grouping.
        client
            .execute(
                "document.querySelector('#pw-card-number').setSelectionRange(4, 4)",
                vec![],
            )
            .await
            .expect("move caret");
        input.send_keys("9").await.expect("type in the middle");
        assert_eq!(value(&client).await, "4244 9242");
        assert_eq!(caret(&client).await, "6");

        // A whole number inserted at once (as a paste does) with dashes is regrouped: Amex 4-6-5.
        open(&client, &base).await;
        client
            .execute(
                "document.execCommand('insertText', false, '3782-822463-10005')",
                vec![],
            )
            .await
            .expect("insert text");
        assert_eq!(value(&client).await, "3782 822463 10005");
        assert_eq!(
            js_string(
                &client,
                "document.querySelector('#pw-card-number-brand').textContent"
            )
            .await,
            "Card brand: American Express"
        );
        assert_eq!(error(&client).await, "");

        // A complete number with a bad check digit is announced at once.
        let input = open(&client, &base).await;
        input.send_keys("4242424242424241").await.expect("type");
        assert_eq!(error(&client).await, "Your card number is invalid.");
        assert_eq!(aria_invalid(&client).await, "true");

        // An incomplete number is not an error while typing, only after leaving the field.
        let input = open(&client, &base).await;
        input.send_keys("424242").await.expect("type");
        assert_eq!(error(&client).await, "", "no shouting mid-typing");
        assert_eq!(aria_invalid(&client).await, "false");
        client
            .find(Locator::Css("h1"))
            .await
            .expect("heading")
            .click()
            .await
            .expect("blur");
        assert_eq!(error(&client).await, "Your card number is incomplete.");
        assert_eq!(aria_invalid(&client).await, "true");
        screenshot(&client, "card-number-incomplete-phone").await;
    })
    .await;
}

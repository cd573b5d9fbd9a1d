//! wasm-bindgen tests of the widget's components, mounted in a real (headless Chromium) DOM.
//!
//! Run by `cargo xtask test` (stage "wasm tests") or
//! `cargo test -p paywidget-widget --target wasm32-unknown-unknown --test components`.
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use paywidget_widget::components::CardNumberInput;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{HtmlElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

/// Mounts a `CardNumberInput` with the given id into a fresh container and returns its input.
fn mount(id: &'static str) -> HtmlInputElement {
    let document = document();
    let container: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&container).unwrap();
    // Keep the view mounted for the rest of the test run.
    leptos::mount::mount_to(container, move || view! { <CardNumberInput id=id /> }).forget();
    document
        .get_element_by_id(id)
        .expect("the input is rendered")
        .unchecked_into()
}

fn text_of(id: &str) -> String {
    document()
        .get_element_by_id(id)
        .and_then(|e| e.text_content())
        .unwrap_or_default()
}

/// Does what the browser does for one edit: sets the value and caret, then fires `input`
/// with the given `inputType`, then lets Leptos update the DOM.
async fn edit(input: &HtmlInputElement, value: &str, caret: u32, input_type: &str) {
    input.set_value(value);
    input.set_selection_range(caret, caret).unwrap();
    let init = web_sys::InputEventInit::new();
    init.set_bubbles(true);
    init.set_input_type(input_type);
    let event = web_sys::InputEvent::new_with_event_init_dict("input", &init).unwrap();
    input.dispatch_event(&event).unwrap();
    leptos::task::tick().await;
}

/// Types `s` one character at a time at the end of the input.
async fn type_text(input: &HtmlInputElement, s: &str) {
    for c in s.chars() {
        let mut value = input.value();
        value.push(c);
        let caret = value.encode_utf16().count() as u32;
        edit(input, &value, caret, "insertText").await;
    }
}

async fn blur(input: &HtmlInputElement) {
    let event = web_sys::FocusEvent::new("blur").unwrap();
    input.dispatch_event(&event).unwrap();
    leptos::task::tick().await;
}

fn caret(input: &HtmlInputElement) -> u32 {
    input.selection_start().unwrap().unwrap()
}

#[wasm_bindgen_test]
async fn renders_an_accessible_numeric_input() {
    let input = mount("t-render");
    assert_eq!(input.get_attribute("inputmode").as_deref(), Some("numeric"));
    assert_eq!(
        input.get_attribute("autocomplete").as_deref(),
        Some("cc-number")
    );
    assert_eq!(
        input.get_attribute("aria-invalid").as_deref(),
        Some("false")
    );
    let label = document()
        .query_selector("label[for='t-render']")
        .unwrap()
        .expect("a visible label points at the input");
    assert_eq!(label.text_content().as_deref(), Some("Card number"));
    assert_eq!(
        input.get_attribute("aria-describedby").as_deref(),
        Some("t-render-brand t-render-error")
    );
    let error = document().get_element_by_id("t-render-error").unwrap();
    assert_eq!(error.get_attribute("aria-live").as_deref(), Some("polite"));
}

#[wasm_bindgen_test]
async fn typing_groups_digits_and_shows_the_brand() {
    let input = mount("t-typing");
    type_text(&input, "42424242424").await;
    assert_eq!(input.value(), "4242 4242 424");
    assert_eq!(caret(&input), 13);
    assert_eq!(text_of("t-typing-brand"), "Card brand: Visa");
    type_text(&input, "24242").await;
    assert_eq!(input.value(), "4242 4242 4242 4242");
    assert_eq!(text_of("t-typing-error"), "");
    assert_eq!(
        input.get_attribute("aria-invalid").as_deref(),
        Some("false")
    );
}

#[wasm_bindgen_test]
async fn pasting_a_number_with_dashes_regroups_it() {
    let input = mount("t-paste");
    edit(&input, "3782-822463-10005", 17, "insertFromPaste").await;
    assert_eq!(input.value(), "3782 822463 10005");
    assert_eq!(caret(&input), 17);
    assert_eq!(text_of("t-paste-brand"), "Card brand: American Express");
    assert_eq!(text_of("t-paste-error"), "");
}

#[wasm_bindgen_test]
async fn backspace_over_a_space_deletes_the_digit_before_it() {
    let input = mount("t-delete");
    type_text(&input, "42424242").await;
    assert_eq!(input.value(), "4242 4242");
    // Caret after the space ("4242 |4242"); Backspace makes the browser drop the space.
    edit(&input, "42424242", 4, "deleteContentBackward").await;
    assert_eq!(input.value(), "4244 242");
    assert_eq!(caret(&input), 3);
}

#[wasm_bindgen_test]
async fn incomplete_number_is_announced_only_after_blur() {
    let input = mount("t-blur");
    type_text(&input, "424242").await;
    assert_eq!(text_of("t-blur-error"), "");
    assert_eq!(
        input.get_attribute("aria-invalid").as_deref(),
        Some("false")
    );
    blur(&input).await;
    assert_eq!(text_of("t-blur-error"), "Your card number is incomplete.");
    assert_eq!(input.get_attribute("aria-invalid").as_deref(), Some("true"));
}

#[wasm_bindgen_test]
async fn complete_number_with_a_bad_checksum_is_announced_at_once() {
    let input = mount("t-luhn");
    type_text(&input, "4242424242424241").await;
    assert_eq!(text_of("t-luhn-error"), "Your card number is invalid.");
    assert_eq!(input.get_attribute("aria-invalid").as_deref(), Some("true"));
    // Fixing the last digit clears the error.
    edit(&input, "4242 4242 4242 424", 18, "deleteContentBackward").await;
    type_text(&input, "2").await;
    assert_eq!(text_of("t-luhn-error"), "");
    assert_eq!(
        input.get_attribute("aria-invalid").as_deref(),
        Some("false")
    );
}

/// `PayButton` renders the snippet's link (which works alone) and adds the loader once, however
/// many buttons the page has.
#[wasm_bindgen_test]
async fn pay_button_renders_the_link_and_loads_the_loader_once() {
    use paywidget_widget::components::PayButton;
    let document = document();
    let container: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    container.set_id("pw-test-buttons");
    document.body().unwrap().append_child(&container).unwrap();
    leptos::mount::mount_to(container, move || {
        view! {
            <PayButton host="https://pay.example.org/" campaign="winter" label="Donate" amount="25"
                integrity="sha384-test" />
            <PayButton host="https://pay.example.org" campaign="pro" label="Buy" theme_color="#0a7c42" />
        }
    })
    .forget();
    leptos::task::tick().await;
    let links = document
        .query_selector_all("#pw-test-buttons a[data-paywidget]")
        .unwrap();
    assert_eq!(links.length(), 2);
    let first: web_sys::Element = links.item(0).unwrap().unchecked_into();
    assert_eq!(
        first.get_attribute("href").unwrap(),
        "https://pay.example.org/c/winter"
    );
    assert_eq!(first.get_attribute("class").unwrap(), "paywidget-button");
    assert_eq!(first.get_attribute("data-amount").unwrap(), "25");
    assert_eq!(first.text_content().unwrap(), "Donate");
    let second: web_sys::Element = links.item(1).unwrap().unchecked_into();
    assert_eq!(second.get_attribute("data-theme-color").unwrap(), "#0a7c42");
    assert!(second.get_attribute("data-amount").is_none());
    let scripts = document
        .query_selector_all("script[src='https://pay.example.org/v1/embed.js']")
        .unwrap();
    assert_eq!(scripts.length(), 1, "one loader for both buttons");
    let script: web_sys::Element = scripts.item(0).unwrap().unchecked_into();
    assert_eq!(script.get_attribute("integrity").unwrap(), "sha384-test");
    assert_eq!(script.get_attribute("crossorigin").unwrap(), "anonymous");
}

/// `MonthlyPrompt` names both gifts on its two buttons and reports which one was chosen.
#[wasm_bindgen_test]
async fn monthly_prompt_offers_both_gifts_and_reports_the_answer() {
    use paywidget_core::money::{Amount, Currency};
    use paywidget_widget::components::MonthlyPrompt;
    // The host writes the reader's texts into the page; here, English's.
    paywidget_widget::i18n::install(include_str!("../locales/en.json"));
    let document = document();
    let container: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    container.set_id("pw-test-prompt");
    document.body().unwrap().append_child(&container).unwrap();
    let answers = RwSignal::new(Vec::<bool>::new());
    let answer = Callback::new(move |monthly: bool| answers.update(|a| a.push(monthly)));
    leptos::mount::mount_to(container, move || {
        view! {
            <MonthlyPrompt once=Amount::from_minor(5000, Currency::Usd)
                monthly=Amount::from_minor(1700, Currency::Usd) answer=answer />
        }
    })
    .forget();
    leptos::task::tick().await;
    let group = document
        .query_selector("#pw-test-prompt [role=group]")
        .unwrap()
        .expect("a labelled group");
    assert_eq!(
        group.get_attribute("aria-labelledby").as_deref(),
        Some("pw-prompt-title")
    );
    let buttons = document
        .query_selector_all("#pw-test-prompt button")
        .unwrap();
    assert_eq!(buttons.length(), 2);
    let words: Vec<String> = (0..2)
        .map(|i| buttons.item(i).unwrap().text_content().unwrap())
        .collect();
    assert_eq!(
        words,
        [
            "Give 17.00 USD monthly",
            "Keep my one-time gift of 50.00 USD"
        ]
    );
    for i in [1, 0] {
        let b: HtmlElement = buttons.item(i).unwrap().unchecked_into();
        b.click();
        leptos::task::tick().await;
    }
    assert_eq!(answers.get_untracked(), vec![false, true]);
}

//! `ThanksPage`: `/thanks/:session` — waits for the host to confirm the payment, then shows the
//! licence key (with Copy and setup tabs) or the receipt.

use leptos::prelude::*;
use leptos::task::spawn_local;
use paywidget_core::api::{LicenceView, ReceiptView, SessionStatus, SessionView};

use crate::{api, browser};

/// The confirmation page. It never says "paid" before the host does.
#[component]
pub fn ThanksPage(
    /// The checkout session id from the URL.
    session: String,
) -> impl IntoView {
    let state = RwSignal::new(None::<SessionView>);
    let gave_up = RwSignal::new(false);
    let id = session.clone();
    spawn_local(async move {
        for _ in 0..60 {
            if let Ok(s) = api::session::<LicenceView, ReceiptView>(&id).await {
                let settled = s.status.is_settled();
                state.set(Some(s));
                if settled {
                    return;
                }
            }
            browser::sleep(1000).await;
        }
        gave_up.set(true);
    });
    view! {
        <main class="pw-page pw-thanks">
            {move || match state.get() {
                Some(s) if s.status.is_confirmed() => confirmation(s).into_any(),
                Some(s) if matches!(s.status, SessionStatus::Declined | SessionStatus::Canceled) => view! {
                    <h1 class="pw-title">"Payment not completed"</h1>
                    <p id="pw-thanks-status" role="alert">"Your card was not charged."</p>
                }.into_any(),
                // Open, processing, paid but not yet fulfilled, or a status this build does not
                // know: keep waiting, visibly.
                _ => view! {
                    <h1 class="pw-title">"Confirming your payment"</h1>
                    <p id="pw-thanks-status" role="status" aria-live="polite" class="pw-working">
                        {move || if gave_up.get() {
                            "This is taking longer than usual. We will email you as soon as it is confirmed; you can reload this page."
                        } else {
                            "Waiting for the payment processor's confirmation…"
                        }}
                    </p>
                }.into_any(),
            }}
        </main>
    }
}

fn confirmation(s: SessionView) -> impl IntoView {
    let whole = s.total_amount();
    let total = whole.to_string();
    let emailed = s
        .emailed_to
        .clone()
        .map(|to| view! { <p id="pw-emailed">"We also emailed it to " {to} "."</p> });
    // The merchant's own success page, when configured (`success_url`): a way back to them.
    let back = s.success_url.clone().map(|url| {
        let name = s.merchant_name.clone().unwrap_or_else(|| "the site".into());
        view! { <p class="pw-back"><a id="pw-back" href=url>"Back to " {name}</a></p> }
    });
    if let Some(licence) = s.license {
        let tabs: Vec<(String, String)> = licence.instructions_html.into_iter().collect();
        let revoked = licence.revoked.then(|| view! {
            <p class="pw-problem" id="pw-revoked" role="alert">
                "This licence has been revoked (the payment was refunded or disputed); it no longer activates."
            </p>
        });
        return view! {
            <h1 class="pw-title">"Thank you! Here is your licence key"</h1>
            {revoked}
            <LicenceKey key=licence.key />
            {emailed}
            <Instructions tabs=tabs />
            {back}
        }
        .into_any();
    }
    let r = s.receipt.unwrap_or(paywidget_core::api::ReceiptView {
        number: String::new(),
        org_name: None,
        tax_statement: None,
        text: None,
        refunded: false,
        refunded_minor: 0,
    });
    // The shopper's own date format, from the confirmation time.
    let date = s
        .confirmed_at
        .map(|t| {
            String::from(
                js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(t as f64 * 1000.0))
                    .to_locale_date_string("default", &wasm_bindgen::JsValue::UNDEFINED),
            )
        })
        .unwrap_or_default();
    let disputed = s.status == SessionStatus::Disputed;
    let refunded = r.refunded.then(|| {
        view! {
            <p class="pw-problem" id="pw-refunded" role="alert">
                {if disputed {
                    "This donation is disputed with the card issuer; the receipt no longer stands."
                } else {
                    "This donation was refunded; the receipt no longer stands."
                }}
            </p>
        }
    });
    // A partial refund: the receipt stands for what was kept.
    let part = (!r.refunded && r.refunded_minor > 0 && r.refunded_minor < whole.minor()).then(|| {
        let back = paywidget_core::money::Amount::from_minor(r.refunded_minor, whole.currency());
        let kept = paywidget_core::money::Amount::from_minor(whole.minor() - r.refunded_minor, whole.currency());
        view! {
            <p class="pw-next" id="pw-part-refunded" role="status">
                {format!("{back} of this donation was refunded; the receipt now stands for {kept}.")}
            </p>
        }
    });
    let text = r
        .text
        .map(|t| view! { <p class="pw-receipt-text" id="pw-receipt-text">{t}</p> });
    // What happens next, for a recurring gift.
    let recurring = s.frequency.interval().map(|_| {
        view! {
            <p class="pw-next" id="pw-recurring">
                {format!("You give {total} {}. Each gift gets its own receipt by email; you can cancel any time.", s.frequency.every())}
            </p>
        }
    });
    view! {
        <h1 class="pw-title">{if r.refunded { "Donation refunded" } else { "Thank you for your donation" }}</h1>
        {refunded}
        {part}
        <section class="pw-receipt" aria-labelledby="pw-receipt-title">
            <h2 id="pw-receipt-title">"Receipt"</h2>
            <dl>
                <dt>"Receipt number"</dt><dd id="pw-receipt-number">{r.number}</dd>
                <dt>"Amount"</dt><dd>{total}</dd>
                <dt>"Date"</dt><dd id="pw-receipt-date">{date}</dd>
                <dt>"Organisation"</dt><dd>{r.org_name.unwrap_or_default()}</dd>
            </dl>
            <p class="pw-tax">{r.tax_statement.unwrap_or_default()}</p>
            {text}
        </section>
        {recurring}
        {emailed}
        {back}
    }
    .into_any()
}

/// The key in a large monospace block with a Copy button that announces "Copied".
#[component]
fn LicenceKey(key: String) -> impl IntoView {
    let copied = RwSignal::new(String::new());
    let to_copy = key.clone();
    view! {
        <pre class="pw-key" id="pw-licence-key">{key}</pre>
        <button type="button" class="pw-pay" id="pw-copy" on:click=move |_| {
            let text = to_copy.clone();
            spawn_local(async move {
                let ok = browser::copy(&text).await;
                copied.set(if ok { "Copied".into() } else { "Select the key and copy it".into() });
            });
        }>"Copy key"</button>
        <p role="status" aria-live="polite" id="pw-copied">{move || copied.get()}</p>
    }
}

/// Setup instructions with one tab per platform (the shopper's own selected first); the tabs
/// follow the ARIA tabs pattern (arrow keys move between them).
#[component]
fn Instructions(tabs: Vec<(String, String)>) -> impl IntoView {
    if tabs.is_empty() {
        return ().into_any();
    }
    let mine = browser::platform();
    let selected = RwSignal::new(tabs.iter().position(|(k, _)| k == mine).unwrap_or(0));
    let count = tabs.len();
    let names: Vec<String> = tabs.iter().map(|(k, _)| k.clone()).collect();
    let buttons = tabs
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let name = name.clone();
            let names = names.clone();
            view! {
                <button type="button" role="tab" class="pw-tab" id=format!("pw-tab-{name}")
                    aria-selected=move || (selected.get() == i).to_string()
                    tabindex=move || if selected.get() == i { "0" } else { "-1" }
                    on:click=move |_| selected.set(i)
                    on:keydown=move |e: leptos::ev::KeyboardEvent| {
                        let next = match e.key().as_str() {
                            "ArrowRight" => Some((i + 1) % count),
                            "ArrowLeft" => Some((i + count - 1) % count),
                            _ => None,
                        };
                        if let Some(n) = next {
                            selected.set(n);
                            browser::focus(&format!("pw-tab-{}", names[n]));
                        }
                    }>
                    {name.clone()}
                </button>
            }
        })
        .collect_view();
    let panels = tabs
        .into_iter()
        .enumerate()
        .map(|(i, (_, html))| view! { <div role="tabpanel" class="pw-panel" hidden=move || selected.get() != i inner_html=html></div> })
        .collect_view();
    view! {
        <section class="pw-instructions">
            <h2>"Setup"</h2>
            <div role="tablist" aria-label="Platform">{buttons}</div>
            {panels}
        </section>
    }
    .into_any()
}

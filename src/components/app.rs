//! `App`: the checkout page the widget mounts (for now: the card-number field and its status).

use leptos::prelude::*;
use paywidget_core::card::CardNumber;

use super::CardNumberInput;

/// The hosted checkout page. Shows the card-number field and, below it, a status line that
/// names the brand and last four digits once the number is valid.
#[component]
pub fn App() -> impl IntoView {
    let number = RwSignal::new(None::<CardNumber>);
    let status = move || {
        number.with(|n| match n {
            // `CardNumber`'s Display shows only the last four digits.
            Some(n) => format!(
                "Ready: {} {}",
                n.brand().map(|b| b.name()).unwrap_or("Card"),
                n
            ),
            None => "Enter your card number.".to_owned(),
        })
    };
    view! {
        <main class="pw-page">
            <h1 class="pw-title">"Card details"</h1>
            <CardNumberInput on_change=Callback::new(move |n| number.set(n)) />
            <p class="pw-status" id="pw-status" role="status">{status}</p>
        </main>
    }
}

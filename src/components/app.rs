//! The two page roots. The checkout form (`/c/:campaign`) is its own wasm binary, so a shopper
//! downloads only the form; `Pages` is the other binary: the 3-D Secure return, the update-card
//! page and, at `/`, the card-number field on its own. (The confirmation is the host's own page.)

use leptos::prelude::*;
use paywidget_core::card::CardNumber;

use super::{CardNumberInput, CheckoutPage, ReturnPage, UpdateCardPage};
use crate::route::Route;

/// The checkout form's binary (`src/main.rs`): `/c/:campaign`, else "not found".
#[component]
pub fn App() -> impl IntoView {
    match Route::parse(&crate::browser::path()) {
        Route::Checkout(c) => view! { <CheckoutPage campaign=c /> }.into_any(),
        _ => not_found().into_any(),
    }
}

fn not_found() -> impl IntoView {
    view! { <main class="pw-page"><h1 class="pw-title">"Page not found"</h1></main> }
}

/// The other pages' binary (`src/pages.rs`): 3-D Secure return, update card, card showcase.
#[component]
pub fn Pages() -> impl IntoView {
    match Route::parse(&crate::browser::path()) {
        Route::Return(c) => view! { <ReturnPage campaign=c /> }.into_any(),
        Route::UpdateCard => view! { <UpdateCardPage /> }.into_any(),
        Route::Home => view! { <CardShowcase /> }.into_any(),
        Route::Checkout(_) | Route::NotFound => not_found().into_any(),
    }
}

/// The card-number field alone, with a status line naming the brand and last four digits once
/// the number is valid.
#[component]
fn CardShowcase() -> impl IntoView {
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

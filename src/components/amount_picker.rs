//! `AmountPicker`: suggested donation amounts as a radio group of chips, plus a custom amount.

use leptos::prelude::*;
use paywidget_core::money::{Amount, Currency};

use super::TextField;
use crate::checkout_form::AmountChoice;

/// The donation amount: chips (native radio buttons, so arrow keys and screen readers work)
/// and an "Other amount" field.
#[component]
pub fn AmountPicker(
    /// Suggested amounts in minor units.
    chips: Vec<i64>,
    /// The campaign's currency.
    currency: Currency,
    /// The chosen amount.
    choice: RwSignal<Option<AmountChoice>>,
    /// The amount's error.
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let custom = RwSignal::new(match choice.get_untracked() {
        Some(AmountChoice::Custom(t)) => t,
        _ => String::new(),
    });
    Effect::new(move |_| {
        let text = custom.get();
        if !text.is_empty() {
            choice.set(Some(AmountChoice::Custom(text)));
        }
    });
    let chips_view = chips
        .into_iter()
        .map(|minor| {
            let label = Amount::from_minor(minor, currency).to_string();
            let id = format!("pw-chip-{minor}");
            view! {
                <input
                    type="radio"
                    class="pw-chip-input"
                    name="pw-amount-choice"
                    id=id.clone()
                    prop:checked=move || choice.get() == Some(AmountChoice::Chip(minor))
                    on:change=move |_| {
                        custom.set(String::new());
                        choice.set(Some(AmountChoice::Chip(minor)));
                        error.set(None);
                    }
                />
                <label class="pw-chip" for=id>{label}</label>
            }
        })
        .collect_view();
    view! {
        <fieldset class="pw-amounts">
            <legend class="pw-label">"Amount (" {currency.code()} ")"</legend>
            <div class="pw-chips">{chips_view}</div>
            <TextField
                id="pw-amount"
                label="Other amount"
                inputmode="decimal"
                placeholder="0.00"
                error=error
                value=custom
            />
        </fieldset>
    }
}

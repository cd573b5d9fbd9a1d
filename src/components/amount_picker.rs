//! `AmountPicker`: suggested donation amounts as a radio group of chips, plus a custom amount.

use leptos::prelude::*;
use paywidget_core::money::{Amount, Currency};

use crate::checkout_form::AmountChoice;
use crate::i18n::{t, tf};

/// The donation amount: chips (native radio buttons, so arrow keys and screen readers work)
/// and an "Other amount" input in the same row.
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
            // The legend names the currency: a chip reads "10", not "10.00 USD" (phones).
            let label = Amount::from_minor(minor, currency).format_short();
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
    let on_input = move |e: leptos::ev::Event| {
        custom.set(event_target_value(&e));
        if error.get_untracked().is_some() {
            error.set(None);
        }
    };
    // "Other amount" sits in the chips' row (one row on a phone); its error line takes room
    // only when it has something to say (amount errors come on Pay, not while typing).
    view! {
        <fieldset class="pw-amounts">
            <legend class="pw-label">{tf("amount_legend", &[("currency", currency.code())])}</legend>
            <div class="pw-chips">
                {chips_view}
                <label class="pw-visually-hidden" for="pw-amount">{t("other_amount")}</label>
                <input
                    id="pw-amount"
                    class="pw-input pw-input-plain pw-other"
                    type="text"
                    inputmode="decimal"
                    placeholder=t("other_placeholder")
                    spellcheck="false"
                    aria-describedby="pw-amount-error"
                    aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                    prop:value=move || custom.get()
                    on:input=on_input
                />
            </div>
            <p id="pw-amount-error" class="pw-error pw-error-late" aria-live="polite">
                {move || error.get().unwrap_or_default()}
            </p>
        </fieldset>
    }
}

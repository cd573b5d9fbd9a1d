//! `CurrencyPicker`: the currency a donor pays in, among the campaign's (a native select, shown
//! only when the campaign takes more than one).

use leptos::prelude::*;
use paywidget_core::money::Currency;

/// The donor's currency: a labelled native `<select>` (every phone has a good one).
#[component]
pub fn CurrencyPicker(
    /// The campaign's currencies, its own first.
    offered: Vec<Currency>,
    /// The chosen one.
    chosen: RwSignal<Currency>,
) -> impl IntoView {
    let options = offered
        .into_iter()
        .map(|c| {
            view! {
                <option value=c.code() selected=move || chosen.get() == c>
                    {c.code()} " — " {c.name()}
                </option>
            }
        })
        .collect_view();
    let on_change = move |e: leptos::ev::Event| {
        if let Ok(c) = Currency::from_code(&event_target_value(&e)) {
            chosen.set(c);
        }
    };
    view! {
        <div class="pw-field">
            <label class="pw-label" for="pw-currency">"Currency"</label>
            <select id="pw-currency" class="pw-input pw-select" on:change=on_change>
                {options}
            </select>
        </div>
    }
}

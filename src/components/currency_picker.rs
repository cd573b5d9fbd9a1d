//! `CurrencyPicker`: the currency a donor pays in, among the campaign's (a native select, shown
//! only when the campaign takes more than one). Another currency loads the page again with
//! `?currency=`: the host's first view and the form then show that currency's amounts (drawing
//! the whole form again in place would cost the recurring build ~5 kB of rebuild code).

use leptos::prelude::*;
use paywidget_core::money::Currency;

/// The donor's currency: a labelled native `<select>` (every phone has a good one).
#[component]
pub fn CurrencyPicker(
    /// The campaign's currencies, its own first.
    offered: Vec<Currency>,
    /// The one the form is in.
    chosen: Currency,
) -> impl IntoView {
    let options = offered
        .into_iter()
        .map(|c| {
            view! {
                <option value=c.code() selected=chosen == c>
                    {c.code()}
                </option>
            }
        })
        .collect_view();
    let on_change = move |e: leptos::ev::Event| {
        if let Ok(c) = Currency::from_code(&event_target_value(&e)) {
            if c != chosen {
                crate::browser::set_query("currency", c.code());
            }
        }
    };
    view! {
        <div class="pw-field">
            <label class="pw-label" for="pw-currency">{crate::i18n::t("currency")}</label>
            <select id="pw-currency" class="pw-input pw-select" on:change=on_change>
                {options}
            </select>
        </div>
    }
}

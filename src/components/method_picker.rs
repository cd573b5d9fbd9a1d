//! `MethodPicker`: pay by card or from a bank account (SEPA Direct Debit), as a radio group of
//! chips (only for a euro campaign that takes bank debits).

use leptos::prelude::*;

use crate::checkout_form::PayMethod;
use crate::i18n::t;

/// How the payer pays: native radio buttons, so arrow keys and screen readers work.
#[component]
pub fn MethodPicker(
    /// The chosen method.
    chosen: RwSignal<PayMethod>,
) -> impl IntoView {
    let chips = [PayMethod::Card, PayMethod::Bank]
        .into_iter()
        .map(|m| {
            let id = m.id();
            view! {
                <input
                    type="radio"
                    class="pw-chip-input"
                    name="pw-method"
                    id=id
                    prop:checked=move || chosen.get() == m
                    on:change=move |_| chosen.set(m)
                />
                <label class="pw-chip pw-chip-wide" for=id>{t(m.label_key())}</label>
            }
        })
        .collect_view();
    view! {
        <fieldset class="pw-amounts">
            <legend class="pw-label">{t("pay_with")}</legend>
            <div class="pw-chips">{chips}</div>
        </fieldset>
    }
}

//! `MonthlyPrompt`: asks a one-time donor, once, whether they would rather give a smaller
//! amount every month (campaigns with `monthly_prompt`), in place of the Pay button.

use leptos::prelude::*;
use paywidget_core::money::Amount;

use crate::i18n::{t, tf};

/// The question, with the two answers; either one goes on to pay.
#[component]
pub fn MonthlyPrompt(
    /// The one-time gift the donor chose.
    once: Amount,
    /// The monthly gift offered instead.
    monthly: Amount,
    /// Called with the answer: `true` to give `monthly` every month.
    answer: Callback<bool>,
) -> impl IntoView {
    view! {
        <div class="pw-prompt" role="group" aria-labelledby="pw-prompt-title">
            <p class="pw-prompt-title" id="pw-prompt-title">{t("prompt_title")}</p>
            <p>{tf("prompt_why", &[("amount", &monthly.to_string())])}</p>
            <button type="button" class="pw-pay" id="pw-prompt-monthly" on:click=move |_| answer.run(true)>
                {tf("prompt_monthly", &[("amount", &monthly.to_string())])}
            </button>
            <button type="button" class="pw-secondary" on:click=move |_| answer.run(false)>
                {tf("prompt_keep", &[("amount", &once.to_string())])}
            </button>
        </div>
    }
}

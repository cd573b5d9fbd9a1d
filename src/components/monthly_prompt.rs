//! `MonthlyPrompt`: asks a one-time donor, once, whether they would rather give a smaller
//! amount every month (campaigns with `monthly_prompt`), in place of the Pay button.

use leptos::prelude::*;
use paywidget_core::money::Amount;

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
            <p class="pw-prompt-title" id="pw-prompt-title">"Make it monthly?"</p>
            <p>{format!("{monthly} every month goes further: it lets us plan ahead. Cancel any time.")}</p>
            <button type="button" class="pw-pay" id="pw-prompt-monthly" on:click=move |_| answer.run(true)>
                {format!("Give {monthly} monthly")}
            </button>
            <button type="button" class="pw-secondary" on:click=move |_| answer.run(false)>
                {format!("Keep my one-time gift of {once}")}
            </button>
        </div>
    }
}

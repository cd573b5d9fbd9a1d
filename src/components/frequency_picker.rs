//! `FrequencyPicker`: one-time, monthly or yearly, as a radio group of chips (only when the
//! campaign offers more than one).

use leptos::prelude::*;
use paywidget_core::api::wording::frequency_key;
use paywidget_core::api::Frequency;

use crate::i18n::t;

/// How often the gift is given.
#[component]
pub fn FrequencyPicker(
    /// The campaign's frequencies, the default first.
    offered: Vec<Frequency>,
    /// The chosen one.
    chosen: RwSignal<Frequency>,
) -> impl IntoView {
    let chips = offered
        .into_iter()
        .map(|f| {
            let id = format!("pw-frequency-{}", f.as_str());
            view! {
                <input
                    type="radio"
                    class="pw-chip-input"
                    name="pw-frequency"
                    id=id.clone()
                    prop:checked=move || chosen.get() == f
                    on:change=move |_| chosen.set(f)
                />
                <label class="pw-chip" for=id>{t(frequency_key(f))}</label>
            }
        })
        .collect_view();
    view! {
        <fieldset class="pw-amounts">
            <legend class="pw-label">{t("how_often")}</legend>
            <div class="pw-chips">{chips}</div>
        </fieldset>
    }
}

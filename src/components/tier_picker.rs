//! `TierPicker`: a licence subscription's plans (name and seats) as a radio group of chips.

use leptos::prelude::*;
use paywidget_core::api::TierView;

/// Which plan is bought.
#[component]
pub fn TierPicker(
    /// The campaign's tiers.
    tiers: Vec<TierView>,
    /// The chosen tier's id.
    chosen: RwSignal<String>,
) -> impl IntoView {
    let chips = tiers
        .into_iter()
        .map(|t| {
            let id = format!("pw-tier-{}", t.id);
            let tier = t.id.clone();
            let seats = crate::i18n::tn("seats", u64::from(t.seats));
            view! {
                <input
                    type="radio"
                    class="pw-chip-input"
                    name="pw-tier"
                    id=id.clone()
                    prop:checked={
                        let tier = tier.clone();
                        move || chosen.with(|c| *c == tier)
                    }
                    on:change=move |_| chosen.set(tier.clone())
                />
                <label class="pw-chip" for=id>{t.name} " · " {seats}</label>
            }
        })
        .collect_view();
    view! {
        <fieldset class="pw-amounts">
            <legend class="pw-label">{crate::i18n::t("plan")}</legend>
            <div class="pw-chips">{chips}</div>
        </fieldset>
    }
}

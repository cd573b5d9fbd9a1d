//! `CardNumberInput`: the card-number field with live grouping, brand and accessible errors.

use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use paywidget_core::card::CardNumber;
use wasm_bindgen::JsCast;

use crate::card_number_field::{CardNumberField, EditKind};

/// A labelled card-number input for phones and desktops.
///
/// - `inputmode="numeric"` brings up the digit keypad; `autocomplete="cc-number"` lets the
///   browser fill a saved card. The font is 16px so iOS does not zoom in on focus.
/// - Digits are grouped as the shopper types (4-4-4-4, Amex 4-6-5, Diners 4-6-4) and the caret
///   stays where they expect, also when deleting a space or pasting a number with dashes.
/// - The detected brand is shown as text (read by screen readers, announced politely).
/// - Errors are announced through an `aria-live` region and `aria-invalid`, but only after the
///   shopper leaves the field or once typing more digits cannot fix the number.
///
/// Card data stays in this component: `on_change` receives a [`CardNumber`], whose `Debug` and
/// `Display` show only the last four digits.
#[component]
pub fn CardNumberInput(
    /// The input's `id`; the label, brand and error elements derive their ids from it.
    #[prop(into, default = "pw-card-number".to_owned())]
    id: String,
    /// The visible label.
    #[prop(into, default = "Card number".to_owned())]
    label: String,
    /// Called with the number whenever the field's value changes: `Some` once it is complete
    /// and valid, `None` otherwise.
    #[prop(optional, into)]
    on_change: Option<Callback<Option<CardNumber>>>,
    /// True once the form was submitted: then an empty or incomplete number is an error too.
    #[prop(optional, into)]
    submitted: Signal<bool>,
    /// An error from elsewhere (the gateway refused the number); cleared when the shopper edits.
    #[prop(optional)]
    external_error: Option<RwSignal<Option<String>>>,
) -> impl IntoView {
    let field = RwSignal::new(CardNumberField::new());
    let input_ref = NodeRef::<html::Input>::new();

    let brand_id = format!("{id}-brand");
    let error_id = format!("{id}-error");
    let described_by = format!("{brand_id} {error_id}");

    let on_input = move |event: ev::Event| {
        let Some(input) = input_ref.get_untracked() else {
            return;
        };
        let kind = event
            .dyn_ref::<web_sys::InputEvent>()
            .map(|e| EditKind::from_input_type(&e.input_type()))
            .unwrap_or(EditKind::Other);
        let raw = input.value();
        let caret = input
            .selection_start()
            .ok()
            .flatten()
            .map(|c| c as usize)
            .unwrap_or(raw.encode_utf16().count());
        let edit = field.try_update(|f| f.on_input(&raw, caret, kind));
        let Some(edit) = edit else { return };
        // Write back at once (not on the next render) so the caret can be placed in the same
        // event turn; the `prop:value` binding below then finds the value already in place.
        input.set_value(&edit.text);
        let caret = u32::try_from(edit.caret).unwrap_or(u32::MAX);
        let _ = input.set_selection_range(caret, caret);
        if let Some(external) = external_error {
            external.set(None);
        }
        if let Some(cb) = on_change {
            cb.run(field.with_untracked(|f| f.number()));
        }
    };

    let on_blur = move |_: ev::FocusEvent| field.update(|f| f.on_blur());

    let brand_name = move || field.with(|f| f.brand().map(|b| b.name()).unwrap_or(""));
    let error = move || {
        if let Some(message) = external_error.and_then(|e| e.get()) {
            return Some(message);
        }
        field.with(|f| {
            if submitted.get() {
                f.error_on_submit()
            } else {
                f.visible_error()
            }
            .map(|e| crate::i18n::t(e.key()))
        })
    };
    let invalid = move || if error().is_some() { "true" } else { "false" };

    view! {
        <div class="pw-field">
            <label class="pw-label" for=id.clone()>{label}</label>
            <div class="pw-input-row">
                <input
                    node_ref=input_ref
                    id=id
                    class="pw-input"
                    type="text"
                    inputmode="numeric"
                    autocomplete="cc-number"
                    spellcheck="false"
                    placeholder="1234 1234 1234 1234"
                    aria-describedby=described_by
                    aria-invalid=invalid
                    prop:value=move || field.with(|f| f.text().to_owned())
                    on:input=on_input
                    on:blur=on_blur
                />
                <span id=brand_id class="pw-brand" aria-live="polite">
                    <span class="pw-visually-hidden">
                        {move || if brand_name().is_empty() { "" } else { "Card brand: " }}
                    </span>
                    {brand_name}
                </span>
            </div>
            <p id=error_id class="pw-error" aria-live="polite">
                {move || error().unwrap_or_default()}
            </p>
        </div>
    }
}

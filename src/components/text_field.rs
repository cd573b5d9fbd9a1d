//! `TextField`: a labelled input with an optional live formatter, a check on blur and an
//! announced error (email, expiry, CVC, custom amount).

use leptos::ev;
use leptos::prelude::*;

/// A labelled text input whose error is announced (`aria-live`) and linked (`aria-describedby`,
/// `aria-invalid`). `error` is shared with the form so it can show errors on submit.
#[component]
pub fn TextField(
    /// The input's id (the error's id is `<id>-error`).
    id: &'static str,
    /// The visible label (in the reader's language).
    #[prop(into)]
    label: String,
    /// `autocomplete` token, e.g. `cc-exp`.
    #[prop(optional)]
    autocomplete: &'static str,
    /// `inputmode`, e.g. `numeric`.
    #[prop(optional)]
    inputmode: &'static str,
    /// The input type (default `text`).
    #[prop(default = "text")]
    kind: &'static str,
    /// Placeholder, e.g. `MM / YY`.
    #[prop(optional)]
    placeholder: &'static str,
    /// Rewrites the text as it is typed (e.g. the expiry's slash).
    #[prop(optional)]
    format: Option<fn(&str) -> String>,
    /// Checks the text when the shopper leaves the field: `Some(message)` when wrong.
    #[prop(optional, into)]
    check: Option<Callback<String, Option<String>>>,
    /// The field's error, shown and announced.
    error: RwSignal<Option<String>>,
    /// The field's text.
    value: RwSignal<String>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let on_input = move |e: ev::Event| {
        let raw = event_target_value(&e);
        let text = format.map_or(raw.clone(), |f| f(&raw));
        if text != raw {
            if let Some(input) = e
                .target()
                .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlInputElement>(t).ok())
            {
                input.set_value(&text);
            }
        }
        value.set(text);
        // Forgiving: an error goes away as soon as the shopper starts fixing it.
        if error.get_untracked().is_some() {
            error.set(None);
        }
    };
    let on_blur = move |_: ev::FocusEvent| {
        if let Some(check) = check {
            let text = value.get_untracked();
            if !text.is_empty() {
                error.set(check.run(text));
            }
        }
    };
    view! {
        <div class="pw-field">
            <label class="pw-label" for=id>{label}</label>
            <input
                id=id
                class="pw-input pw-input-plain"
                type=kind
                autocomplete=autocomplete
                inputmode=inputmode
                placeholder=placeholder
                spellcheck="false"
                aria-describedby=error_id.clone()
                aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                prop:value=move || value.get()
                on:input=on_input
                on:blur=on_blur
            />
            <p id=error_id class="pw-error" aria-live="polite">{move || error.get().unwrap_or_default()}</p>
        </div>
    }
}

//! `PayButton`: the embed snippet as a Leptos component, for merchant sites built with Leptos.
//! It renders the same link (which works alone) and loads the same `embed.js` loader once, so
//! the behaviour — overlay, full-screen sheet on phones, redirect fallbacks — is identical.
//! No wasm of ours and no card field run on the merchant's page.

use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// A Donate/Buy button opening the hosted checkout of `campaign` on `host`.
#[component]
pub fn PayButton(
    /// The checkout host's URL, e.g. `https://pay.example.org` (no trailing slash needed).
    #[prop(into)]
    host: String,
    /// The campaign id from the host's configuration, e.g. `winter-appeal`.
    #[prop(into)]
    campaign: String,
    /// The button's words, e.g. "Donate".
    #[prop(into)]
    label: String,
    /// Donations: the amount to preselect, in major units as a person writes it ("25").
    #[prop(optional, into)]
    amount: Option<String>,
    /// The button's colour (any CSS colour; `#rrggbb` also themes the checkout).
    #[prop(optional, into)]
    theme_color: Option<String>,
    /// The `sha384-…` hash of `/v1/embed.js` shown on the host's snippet page (recommended: the
    /// browser then refuses a loader that was tampered with).
    #[prop(optional, into)]
    integrity: Option<String>,
) -> impl IntoView {
    let host = host.trim_end_matches('/').to_owned();
    let href = format!("{host}/c/{campaign}");
    let link = NodeRef::<html::A>::new();
    Effect::new(move |_| {
        if let Some(a) = link.get() {
            load_loader(&host, integrity.as_deref());
            enhance(&a);
        }
    });
    view! {
        <a node_ref=link href=href class="paywidget-button" data-paywidget=""
            data-amount=amount data-theme-color=theme_color>{label}</a>
    }
}

/// The loader's URL on `host`.
pub fn loader_url(host: &str) -> String {
    format!("{}/v1/embed.js", host.trim_end_matches('/'))
}

/// Adds `<script src=HOST/v1/embed.js async>` to `<head>` unless the page already has it.
fn load_loader(host: &str, integrity: Option<&str>) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let src = loader_url(host);
    let selector = format!("script[src=\"{src}\"]");
    if document.query_selector(&selector).ok().flatten().is_some() {
        return;
    }
    let (Ok(script), Some(head)) = (document.create_element("script"), document.head()) else {
        return;
    };
    let _ = script.set_attribute("src", &src);
    let _ = script.set_attribute("async", "");
    let _ = script.set_attribute("crossorigin", "anonymous");
    if let Some(hash) = integrity {
        let _ = script.set_attribute("integrity", hash);
    }
    let _ = head.append_child(&script);
}

/// `paywidget.enhance(a)` when the loader already runs (a link added after it scanned the
/// page); otherwise the loader enhances every `[data-paywidget]` link when it starts.
fn enhance(a: &web_sys::HtmlAnchorElement) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Ok(api) = js_sys::Reflect::get(&window, &"paywidget".into()) else {
        return;
    };
    if let Ok(f) = js_sys::Reflect::get(&api, &"enhance".into()) {
        if let Some(f) = f.dyn_ref::<js_sys::Function>() {
            let _ = f.call1(&api, a);
        }
    }
}

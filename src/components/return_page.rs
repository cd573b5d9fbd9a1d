//! `ReturnPage`: `/c/:campaign/return` — back from 3-D Secure; asks the host how it went.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::BrowserApi;
use crate::browser;
use crate::pay_flow::{Failure, Next, PayFlow};

/// Resolves the payment after the bank's verification and moves on: to the confirmation when
/// it went through, back to the form (with the reason) when it did not. Only the host's view
/// of the session counts (a `processing` payment is waited for, never taken as paid).
#[component]
pub fn ReturnPage(
    /// The campaign id from the URL.
    campaign: String,
) -> impl IntoView {
    let message = RwSignal::new("Checking your payment…".to_owned());
    let failed = RwSignal::new(false);
    let session = browser::query("session").unwrap_or_default();
    let back = format!("/c/{campaign}");
    spawn_local(async move {
        let flow = PayFlow {
            // This page only reads the session: it never tokenizes.
            api: BrowserApi { campaign: None },
            storage: browser::SessionStore,
            sleeper: browser::Timers,
        };
        match flow.after_verification(&session).await {
            Ok(Some(Next::Confirmation(s))) => crate::embed::finish(&format!("/thanks/{s}")),
            Ok(Some(Next::Verify(url))) => browser::go(&url),
            // (`after_verification` never asks for a second verification by script.)
            Ok(None | Some(Next::NextAction { .. })) => message
                .set("We are still waiting for your bank. You can safely reload this page.".into()),
            Err(Failure::Message(reason) | Failure::Field(_, reason)) => {
                message.set(format!("{reason} You have not been charged."));
                failed.set(true);
            }
        }
    });
    view! {
        <main class="pw-page">
            <h1 class="pw-title">"Payment verification"</h1>
            <p id="pw-return-status" role="status" aria-live="polite">{move || message.get()}</p>
            {move || failed.get().then(|| view! { <a class="pw-pay pw-link-button" href=back.clone()>"Try again"</a> })}
        </main>
    }
}

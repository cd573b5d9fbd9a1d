//! `ReturnPage`: `/c/:campaign/return` — back from 3-D Secure; asks the host how it went.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::{api, browser};

/// Resolves the payment after the bank's verification and moves on: to the confirmation when
/// it went through, back to the form (with the reason) when it did not.
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
        for _ in 0..30 {
            if let Ok(s) = api::session(&session).await {
                match s.str("status").as_deref().unwrap_or("") {
                    "paid" | "fulfilled" | "processing" => {
                        browser::forget(&format!("pw-attempt-{session}"));
                        crate::embed::finish(&format!("/thanks/{session}"));
                        return;
                    }
                    "declined" | "canceled" => {
                        browser::forget(&format!("pw-attempt-{session}"));
                        let reason = s
                            .get("decline")
                            .str("message")
                            .unwrap_or_else(|| "Your bank could not confirm it's you.".into());
                        message.set(format!("{reason} You have not been charged."));
                        failed.set(true);
                        return;
                    }
                    _ => {}
                }
            }
            browser::sleep(1000).await;
        }
        message.set("We are still waiting for your bank. You can safely reload this page.".into());
    });
    view! {
        <main class="pw-page">
            <h1 class="pw-title">"Payment verification"</h1>
            <p id="pw-return-status" role="status" aria-live="polite">{move || message.get()}</p>
            {move || failed.get().then(|| view! { <a class="pw-pay pw-link-button" href=back.clone()>"Try again"</a> })}
        </main>
    }
}

//! `CheckoutPage`: `/c/:campaign` — loads the campaign, then shows the form (a reserved skeleton
//! meanwhile, so nothing jumps).

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::Checkout;
use paywidget_core::api::CampaignView;

use crate::api;
use crate::variant::VARIANT;

/// The checkout page for `campaign`.
#[component]
pub fn CheckoutPage(
    /// The campaign id from the URL.
    campaign: String,
) -> impl IntoView {
    // The host puts the campaign in the page; fetched only when it did not (an old page).
    let embedded = api::embedded_campaign(&campaign);
    let fetch = embedded.is_none();
    let loaded = RwSignal::new(embedded.map(Ok::<CampaignView, String>));
    spawn_local(async move {
        if !fetch {
            return;
        }
        let result = api::campaign(&campaign).await.map_err(|e| match e {
            api::FetchError::Api { status: 404, .. } => "This checkout does not exist.".to_owned(),
            _ => "We couldn't load this checkout. Check your connection and reload the page."
                .to_owned(),
        });
        loaded.set(Some(result));
    });
    view! {
        <main class="pw-page">
            {move || match loaded.get() {
                None => view! { <div class="pw-skeleton" aria-busy="true" aria-label="Loading the checkout"></div> }.into_any(),
                // The host serves each campaign the build it needs; one changed since the page
                // was served may need more than this build has: a reload fetches the right one.
                Some(Ok(c)) if !VARIANT.covers(&c) => view! {
                    <p class="pw-problem" role="alert">"This checkout has changed since the page loaded."</p>
                    <a class="pw-pay" href=crate::browser::href()>"Reload the checkout"</a>
                }.into_any(),
                Some(Ok(c)) => view! { <Checkout campaign=c /> }.into_any(),
                Some(Err(m)) => view! { <p class="pw-problem" role="alert">{m}</p> }.into_any(),
            }}
        </main>
    }
}

//! `CheckoutPage`: `/c/:campaign` — the form of the campaign the host wrote into the page (with
//! its first view of the form, which this replaces: no request before the form shows).

use leptos::prelude::*;

use super::Checkout;

use crate::api;
use crate::i18n::t;
use crate::variant::{RECURRING, VARIANT};

/// The checkout page for `campaign`.
#[component]
pub fn CheckoutPage(
    /// The campaign id from the URL.
    campaign: String,
) -> impl IntoView {
    // The host writes every campaign it knows into its page (built at its start, never cached:
    // `no-cache`), so a page without one is a campaign it does not know.
    let body = match api::embedded_campaign(&campaign) {
        None => view! { <p class="pw-problem" role="alert">{t("not_found")}</p> }.into_any(),
        // The host serves each campaign the build it needs; one changed since the page was
        // served may need more than this build has: a reload fetches the right one.
        Some(c) if !VARIANT.covers(&c) => view! {
            <p class="pw-problem" role="alert">{t("changed")}</p>
            <a class="pw-pay" href=crate::browser::href()>{t("reload")}</a>
        }
        .into_any(),
        // Several currencies: the donor's, by the rule the host's first view used.
        Some(c) if RECURRING && !c.currencies.is_empty() => {
            let chosen = c.choose_currency(
                crate::browser::query("currency").as_deref(),
                crate::browser::languages().iter().map(String::as_str),
            );
            let offered: Vec<_> = c.offered_currencies().collect();
            match c.in_currency(chosen) {
                Some(shown) => {
                    view! { <Checkout campaign=shown currency_choice=(chosen, offered) /> }
                        .into_any()
                }
                None => view! { <Checkout campaign=c /> }.into_any(),
            }
        }
        Some(c) => view! { <Checkout campaign=c /> }.into_any(),
    };
    view! { <main class="pw-page">{body}</main> }
}

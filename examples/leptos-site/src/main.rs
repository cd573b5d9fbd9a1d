//! Example: a Leptos merchant site with paywidget's `PayButton`. The buttons render the same
//! link and load the same loader as the two-line snippet, so the checkout opens in the host's
//! overlay (a full-screen sheet on phones) and card data never touches this site.
//!
//! Run `cargo xtask demo --allow-origin http://127.0.0.1:8083`, then in this folder
//! `trunk serve --port 8083` and open http://127.0.0.1:8083/.

use leptos::prelude::*;
use paywidget_widget::components::PayButton;

/// The checkout host (`PAYWIDGET_HOST` at build time, else the demo's).
const HOST: &str = match option_env!("PAYWIDGET_HOST") {
    Some(h) => h,
    None => "http://127.0.0.1:8080",
};

fn main() {
    leptos::mount::mount_to_body(Shop);
}

/// The merchant's page: a donation and a licence, each a `PayButton`.
#[component]
fn Shop() -> impl IntoView {
    view! {
        <main class="shop">
            <h1>"Support our work"</h1>
            <p>"Give to the winter appeal, or buy Acme Pro."</p>
            <p>
                <PayButton host=HOST campaign="winter-appeal" label="Donate $25" amount="25" />
            </p>
            <p>
                <PayButton host=HOST campaign="acme-pro" label="Buy Acme Pro" theme_color="#1a1f36" />
            </p>
        </main>
    }
}

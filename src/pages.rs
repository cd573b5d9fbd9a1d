//! Entry point of the second wasm binary: the 3-D Secure return, the update-card page and the card
//! showcase (kept out of the checkout form's download).

fn main() {
    // These pages are served as built (no texts block from the host): they speak English, the
    // translators' source, built in.
    paywidget_widget::i18n::install(include_str!("../locales/en.json"));
    leptos::mount::mount_to_body(paywidget_widget::components::Pages);
}

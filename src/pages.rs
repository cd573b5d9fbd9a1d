//! Entry point of the second wasm binary: the 3-D Secure return, the update-card page and the card
//! showcase (kept out of the checkout form's download).

fn main() {
    leptos::mount::mount_to_body(paywidget_widget::components::Pages);
}

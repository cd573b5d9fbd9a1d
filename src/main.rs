//! Entry point of the checkout form's wasm binary: mounts `/c/:campaign` into `<body>`.

fn main() {
    leptos::mount::mount_to_body(paywidget_widget::components::App);
}

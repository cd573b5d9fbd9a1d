//! Entry point of the widget's wasm binary: mounts the checkout page into `<body>`.

fn main() {
    leptos::mount::mount_to_body(paywidget_widget::components::App);
}

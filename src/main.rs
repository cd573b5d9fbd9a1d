//! Entry point of the checkout form's wasm binary: mounts `/c/:campaign` into `<body>`, then
//! removes the host's first view of the form (in the same task: no frame shows neither).

fn main() {
    leptos::mount::mount_to_body(paywidget_widget::components::App);
    paywidget_widget::browser::remove("pw-first");
}

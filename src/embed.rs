//! The checkout in the merchant page's overlay: Rust's view of `src/embed.js` (the checkout's
//! side of the postMessage protocol, kept in JS so it costs the wasm nothing).

#[cfg(target_arch = "wasm32")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/src/embed.js")]
    extern "C" {
        pub fn embed_start(allowed: Vec<String>);
        pub fn embed_done(url: &str) -> bool;
    }
}

/// Starts talking to the merchant page when framed by one of `allowed` origins; applies the
/// snippet's theme colour and locale.
pub fn start(allowed: Vec<String>) {
    #[cfg(target_arch = "wasm32")]
    js::embed_start(allowed);
    #[cfg(not(target_arch = "wasm32"))]
    drop(allowed);
}

/// Goes to `url` when the payment is finished: the top window when in an overlay, else this page.
pub fn finish(url: &str) {
    #[cfg(target_arch = "wasm32")]
    if js::embed_done(url) {
        return;
    }
    crate::browser::go(url);
}

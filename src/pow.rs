//! The card-testing shield's proof of work in the browser: solved by `pow_worker.js` in a Web
//! Worker (off the main thread, so typing stays smooth), fetched only when the host asks for a
//! proof — the form's own download is the same without it. Natively: unavailable.

use crate::api::FetchError;

/// Where the release build puts the worker (Trunk copies it into `dist/`).
pub const WORKER_URL: &str = "/pow_worker.js";

/// Finds the nonce for `challenge` at `difficulty` leading zero bits.
#[cfg(target_arch = "wasm32")]
pub async fn solve(challenge: &str, difficulty: u8) -> Result<String, FetchError> {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};

    let worker = web_sys::Worker::new(WORKER_URL).map_err(|_| FetchError::Network)?;
    let answer = js_sys::Promise::new(&mut |resolve, reject| {
        let done = Closure::once_into_js(move |e: web_sys::MessageEvent| {
            let _ = resolve.call1(&JsValue::NULL, &e.data());
        });
        worker.set_onmessage(Some(done.unchecked_ref()));
        let failed = Closure::once_into_js(move |_: JsValue| {
            let _ = reject.call0(&JsValue::NULL);
        });
        worker.set_onerror(Some(failed.unchecked_ref()));
    });
    let message = js_sys::Array::of2(&JsValue::from_str(challenge), &JsValue::from(difficulty));
    worker
        .post_message(&message)
        .map_err(|_| FetchError::Network)?;
    let result = wasm_bindgen_futures::JsFuture::from(answer).await;
    worker.terminate();
    result
        .ok()
        .and_then(|v| v.as_string())
        .ok_or(FetchError::Network)
}

/// Natively there is no worker (the pay flow's unit tests use their own solver).
#[cfg(not(target_arch = "wasm32"))]
pub async fn solve(_challenge: &str, _difficulty: u8) -> Result<String, FetchError> {
    Err(FetchError::Network)
}

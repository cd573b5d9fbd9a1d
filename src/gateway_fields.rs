//! The gateway's own card fields ("Stripe mode"): Rust's view of `src/gateway_fields.js`, the
//! one file that calls Stripe.js (or the sandbox's counterpart of it). Kept in JS so the wasm
//! carries none of it; natively (unit tests), and in the form variants built without the
//! `gateway-fields` feature (so neither the script nor its glue is in their download), every
//! call answers "not available".

/// What the gateway's script answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldsAnswer {
    /// Done: a confirmation token's id (`ctoken_…`), or empty after a next action.
    Done(String),
    /// The script's error, to show in our layout.
    Problem {
        /// Stripe's `decline_code`, else `code`, else `type`.
        code: String,
        /// The script's message (empty for a network failure).
        message: String,
    },
}

#[cfg(all(target_arch = "wasm32", feature = "gateway-fields"))]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/src/gateway_fields.js")]
    extern "C" {
        pub fn fields_mount(
            script_url: &str,
            publishable_key: &str,
            amount: f64,
            currency: &str,
            container_id: &str,
        ) -> js_sys::Promise;
        pub fn fields_update(amount: f64, recurring: bool);
        pub fn fields_focus();
        pub fn fields_token(name: &str, email: &str, return_url: &str) -> js_sys::Promise;
        pub fn fields_next_action(client_secret: &str) -> js_sys::Promise;
    }

    pub(super) async fn wait(p: js_sys::Promise) -> JsValue {
        wasm_bindgen_futures::JsFuture::from(p)
            .await
            .unwrap_or(JsValue::NULL)
    }

    pub(super) fn text(v: &JsValue, key: &str) -> Option<String> {
        js_sys::Reflect::get(v, &JsValue::from_str(key))
            .ok()?
            .as_string()
    }
}

/// Mounts the fields into `#container_id`: `None` when ready, else a message for the shopper.
pub async fn mount(
    script_url: &str,
    publishable_key: &str,
    amount: i64,
    currency: &str,
    container_id: &str,
) -> Option<String> {
    #[cfg(all(target_arch = "wasm32", feature = "gateway-fields"))]
    {
        let done = js::wait(js::fields_mount(
            script_url,
            publishable_key,
            amount as f64,
            currency,
            container_id,
        ))
        .await;
        done.as_string().filter(|m| !m.is_empty())
    }
    #[cfg(not(all(target_arch = "wasm32", feature = "gateway-fields")))]
    {
        let _ = (script_url, publishable_key, amount, currency, container_id);
        Some("not in a browser".into())
    }
}

/// The total changed.
pub fn update(amount: i64, recurring: bool) {
    #[cfg(all(target_arch = "wasm32", feature = "gateway-fields"))]
    js::fields_update(amount as f64, recurring);
    #[cfg(not(all(target_arch = "wasm32", feature = "gateway-fields")))]
    let _ = (amount, recurring);
}

/// Focuses the card fields.
pub fn focus() {
    #[cfg(all(target_arch = "wasm32", feature = "gateway-fields"))]
    js::fields_focus();
}

#[cfg(all(target_arch = "wasm32", feature = "gateway-fields"))]
fn answer(v: wasm_bindgen::JsValue) -> FieldsAnswer {
    match js::text(&v, "code") {
        Some(code) => FieldsAnswer::Problem {
            code,
            message: js::text(&v, "message").unwrap_or_default(),
        },
        None => FieldsAnswer::Done(js::text(&v, "token").unwrap_or_default()),
    }
}

/// Checks the fields and has the gateway tokenize them (billing name and email from our form).
pub async fn token(name: &str, email: &str, return_url: &str) -> FieldsAnswer {
    #[cfg(all(target_arch = "wasm32", feature = "gateway-fields"))]
    {
        answer(js::wait(js::fields_token(name, email, return_url)).await)
    }
    #[cfg(not(all(target_arch = "wasm32", feature = "gateway-fields")))]
    {
        let _ = (name, email, return_url);
        FieldsAnswer::Problem {
            code: "network".into(),
            message: String::new(),
        }
    }
}

/// Runs the payment's next action (3-D Secure) with the gateway's script, on this page.
pub async fn next_action(client_secret: &str) -> FieldsAnswer {
    #[cfg(all(target_arch = "wasm32", feature = "gateway-fields"))]
    {
        answer(js::wait(js::fields_next_action(client_secret)).await)
    }
    #[cfg(not(all(target_arch = "wasm32", feature = "gateway-fields")))]
    {
        let _ = client_secret;
        FieldsAnswer::Problem {
            code: "network".into(),
            message: String::new(),
        }
    }
}

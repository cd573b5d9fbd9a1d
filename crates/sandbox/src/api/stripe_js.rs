//! The sandbox's Stripe.js counterpart: `/v3/` and the Payment Element frame it embeds.
//!
//! Hand-written ES2017 in `crates/sandbox/assets/stripe-js/` (no build step), compiled in with
//! `include_str!`; these handlers only serve it.
//!
//! ## URLs (all on the sandbox's origin)
//!
//! | URL | what |
//! |---|---|
//! | `GET /v3/`, `GET /v3` | the script for the checkout page (`window.Stripe`), `application/javascript; charset=utf-8`, `Cache-Control: public, max-age=300`, `Access-Control-Allow-Origin: *` (so `integrity`/`crossorigin` work) |
//! | `GET /v3/elements/payment?origin=<page origin>&frame=<id>` | the Payment Element frame (HTML) with `Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors *` |
//! | `GET /v3/elements/payment.js`, `GET /v3/elements/payment.css` | the frame's script and stylesheet |
//! | `GET /sandbox/3ds/:id?client_secret=…&embedded=1&origin=<page origin>&frame=<id>` | the 3-D Secure page in embedded mode: after Complete/Fail it posts to its parent instead of redirecting (script `GET /v3/elements/three_d_secure.js`) |
//!
//! The script knows the sandbox's origin from `document.currentScript.src`, so load it with a
//! plain `<script src="{sandbox}/v3/">` (not a module, not injected by another script's
//! `eval`). The checkout page's CSP needs `script-src {sandbox}`, `frame-src {sandbox}` and
//! `connect-src {sandbox}` (handleNextAction reads the PaymentIntent from the page).
//!
//! ## Stripe.js calls implemented (names, options and results as `@stripe/stripe-js`'s types)
//!
//! - `Stripe(pk, {locale?, apiVersion?})`: throws `IntegrationError` for a non-string key, a
//!   secret (`sk_`/`rk_`) key or anything not `pk_…`. `Stripe.version === 3`.
//! - `stripe.elements({mode: 'payment', amount, currency, appearance?, locale?,
//!   paymentMethodCreation?, paymentMethodTypes?: ['card'], setupFutureUsage?})` (deferred intent
//!   only; `clientSecret` is refused). `appearance.theme` `stripe`|`night`|`flat`;
//!   `appearance.variables` `colorPrimary`, `colorBackground`, `colorText`, `colorDanger`,
//!   `fontFamily`, `borderRadius`, `spacingUnit`, `fontSizeBase` (CSS custom properties in the
//!   frame, set with `style.setProperty`); `locale` sets the frame's `<html lang>` (`auto`: the
//!   browser's language; the labels stay English).
//! - `elements.create('payment', {fields?: {billingDetails?: 'never'|'auto'|{address?:
//!   'never'|'auto'|{postalCode?: 'never'|'auto'}}}, layout?, terms?})` (one per group),
//!   `elements.getElement('payment')`, `elements.update({amount?, currency?, appearance?,
//!   locale?})` → `Promise<void>`.
//! - `paymentElement.mount(selector | element)`, `.unmount()`, `.destroy()`, `.focus()`,
//!   `.blur()`, `.clear()`, `.update(options)`, `.on/.once/.off(event, handler)` for `ready`
//!   (`{elementType: 'payment'}`), `change` (`{elementType: 'payment', complete, empty,
//!   collapsed: false, value: {type: 'card'}}`), `focus`, `blur`, `escape`, `loaderror`
//!   (`{elementType: 'payment', error}`, when the frame has not answered within 15 s).
//! - `elements.submit()` → `{selectedPaymentMethod: 'card'}` or `{error}` with
//!   `error.type === 'validation_error'` and `code` one of `incomplete_number`,
//!   `invalid_number`, `incomplete_expiry`, `invalid_expiry_month`,
//!   `invalid_expiry_month_past`, `invalid_expiry_year_past`, `invalid_expiry_year`,
//!   `incomplete_cvc`, `incomplete_zip` (Stripe's messages, e.g. "Your card number is
//!   incomplete."); the errors are shown in the frame under their fields and the first invalid
//!   field is focused.
//! - `stripe.createConfirmationToken({elements, params?: {payment_method_data?:
//!   {billing_details?, metadata?}, return_url?, shipping?}})` → `{confirmationToken}` or
//!   `{error}` (the gateway's error object as it answered: `type`, `code`, `decline_code`,
//!   `message`, `param`). The frame's postal code goes into
//!   `billing_details.address.postal_code`; the group's `setupFutureUsage` is sent too. Rejects
//!   with an `IntegrationError` when `elements.submit()` has not succeeded first ("elements.submit()
//!   must be called before stripe.createConfirmationToken()…"), when no Payment Element is
//!   mounted, or when `params.billing_details` is passed (Stripe's place for it is
//!   `params.payment_method_data.billing_details`).
//! - `stripe.retrievePaymentIntent(clientSecret)` → `{paymentIntent}` or `{error}`.
//! - `stripe.handleNextAction({clientSecret})` → `{paymentIntent}` or `{error}`: reads the intent
//!   (publishable key + client secret); rejects with `IntegrationError` unless it is
//!   `requires_action` with a `redirect_to_url` on the sandbox; opens the 3-D Secure page
//!   (embedded mode) in a modal, waits for its outcome, reads the intent again, removes the
//!   modal and returns focus. After a failed authentication: `{error: {type:
//!   'invalid_request_error', code: 'payment_intent_authentication_failure', message: "We are
//!   unable to authenticate your payment method. Please choose a different payment method and
//!   try again.", payment_intent, payment_method}}`.
//!
//! ## What the browser tests can rely on
//!
//! - Checkout page: a `div.__PrivateStripeElement` in the mount point holding an `iframe` with
//!   `title="Secure payment input frame"`, name `__privateStripeFrame<id>`, no border, width
//!   100%, height set (CSSOM) from the frame's `resize` messages.
//! - In the frame (`/v3/elements/payment`): inputs with visible labels **Card number** (`#number`,
//!   `autocomplete=cc-number`, grouped in fours, Amex 4-6-5), **Expiration date** (`#expiry`,
//!   placeholder `MM / YY`, `cc-exp`), **Security code** (`#cvc`, `cc-csc`), **Postal code**
//!   (`#postal`, `postal-code`; hidden when `fields.billingDetails` is `'never'`, or its
//!   `address` is `'never'` or `{postalCode: 'never'}`); card inputs have `inputmode=numeric`;
//!   each has `aria-describedby` → `#<id>-error` (`role=alert`) and `aria-invalid`. Font size is
//!   never under 16px. Focus moves to the next field when the number or the expiry is complete.
//! - 3-D Secure: a fixed backdrop over the page holding `role=dialog`, `aria-modal=true`,
//!   `aria-label="3D Secure authentication"`, with an iframe `title="3D Secure authentication"`
//!   (focused) on `/sandbox/3ds/:id?…&embedded=1…`, whose buttons are **Complete
//!   authentication** (`#complete`) and **Fail authentication** (`#fail`). The modal is removed
//!   when the outcome arrives.
//!
//! ## Frame ⇄ page protocol
//!
//! Every message is `{pwsandbox: 1, frame: <id>, type, …}`. The page's script posts only to the
//! sandbox's origin and accepts a message only if `event.origin` is the sandbox's origin **and**
//! `event.source` is that frame's `contentWindow`; the frame posts only to the `origin` in its
//! URL and accepts only messages whose `event.origin` is that origin and whose `event.source` is
//! its `parent`.
//!
//! | direction | `type` | fields | meaning |
//! |---|---|---|---|
//! | frame → page | `hello` | | sent every 250 ms until `init` arrives |
//! | page → frame | `init` | `key` (pk), `options: {appearance, locale, fields}` | configure; the frame answers `ready` once |
//! | frame → page | `ready` | | fields are interactive (→ `ready` event) |
//! | frame → page | `resize` | `height` (CSS px) | the page sets the iframe's height |
//! | frame → page | `change` | `complete`, `empty` | → `change` event |
//! | frame → page | `focus`, `blur`, `escape` | | → the events of those names |
//! | page → frame | `update` | `options` | new appearance / locale / fields |
//! | page → frame | `focus`, `blur`, `clear` | | the element's methods |
//! | page → frame | `submit` | `request` | validate and show errors; answered by `result` `{}` or `{error}` |
//! | page → frame | `create-token` | `request`, `params: {billing_details, metadata, return_url, shipping, setup_future_usage}` | validate, then `POST /v1/confirmation_tokens` from the frame; answered by `result` `{confirmationToken}` or `{error}` |
//! | frame → page | `result` | `request`, `result` | the answer to `submit` / `create-token` |
//! | 3DS page → page | `3ds-result` | `frame` (the modal's id), `outcome: "succeeded"\|"failed"` | the challenge was answered |
//!
//! Card numbers and CVCs are in no message: only the frame holds them, and only its request to
//! the gateway carries them.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::SharedState;

const STRIPE_JS: &str = include_str!("../../assets/stripe-js/stripe.js");
const PAYMENT_HTML: &str = include_str!("../../assets/stripe-js/payment.html");
const PAYMENT_JS: &str = include_str!("../../assets/stripe-js/payment.js");
const PAYMENT_CSS: &str = include_str!("../../assets/stripe-js/payment.css");
const THREE_D_SECURE_JS: &str = include_str!("../../assets/stripe-js/three_d_secure.js");

/// The frame page's policy: only its own script, styles and API calls; any page may embed it
/// (as any site may embed Stripe's).
const FRAME_CSP: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                             img-src 'self' data:; frame-ancestors *";

/// Short, so a sandbox upgrade reaches open checkouts quickly.
const CACHE: &str = "public, max-age=300";
const JS: &str = "application/javascript; charset=utf-8";

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/v3", get(stripe_js))
        .route("/v3/", get(stripe_js))
        .route("/v3/elements/payment", get(payment_page))
        .route("/v3/elements/payment.js", get(payment_js))
        .route("/v3/elements/payment.css", get(payment_css))
        .route("/v3/elements/three_d_secure.js", get(three_d_secure_js))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, CACHE),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            // Loaded from other origins (the checkout page), with or without `crossorigin`.
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (
                header::HeaderName::from_static("cross-origin-resource-policy"),
                "cross-origin",
            ),
        ],
        body,
    )
        .into_response()
}

async fn stripe_js() -> Response {
    asset(JS, STRIPE_JS)
}

async fn payment_js() -> Response {
    asset(JS, PAYMENT_JS)
}

async fn payment_css() -> Response {
    asset("text/css; charset=utf-8", PAYMENT_CSS)
}

async fn three_d_secure_js() -> Response {
    asset(JS, THREE_D_SECURE_JS)
}

async fn payment_page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, FRAME_CSP),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        PAYMENT_HTML,
    )
        .into_response()
}

// @ts-check
// The gateway's own card fields ("Stripe mode"): the only place the checkout calls Stripe.js
// (or the sandbox's counterpart, which has the same surface). Plain JS, a wasm-bindgen snippet,
// so the wasm carries none of it; Rust calls it through `crate::gateway_fields`. Every call is
// type-checked against the npm package `@stripe/stripe-js` by `cargo xtask test` (tsc --checkJs).
// Card data never reaches this page: it is typed into the gateway's cross-origin frame, which
// tokenizes it; this file only ever sees the confirmation token's id.

/** @typedef {import('@stripe/stripe-js').Stripe} Stripe */
/** @typedef {import('@stripe/stripe-js').StripeElements} StripeElements */
/** @typedef {import('@stripe/stripe-js').StripePaymentElement} StripePaymentElement */
/** @typedef {import('@stripe/stripe-js').StripeError} StripeError */
/** @typedef {import('@stripe/stripe-js').StripeConstructor} StripeConstructor */
/** @typedef {import('@stripe/stripe-js').StripeElementLocale} StripeElementLocale */
/** @typedef {{ token?: string, code?: string, message?: string }} Result */

/** @type {Stripe | null} */
let stripe = null;
/** @type {StripeElements | null} */
let elements = null;
/** @type {StripePaymentElement | null} */
let element = null;

const UNREACHABLE = "We couldn't load the secure card fields. Check your connection and reload the page.";

/**
 * Loads the gateway's script once (from its own origin: never bundled, never on the merchant page).
 * @param {string} url
 * @returns {Promise<StripeConstructor>}
 */
function load(url) {
  const w = /** @type {any} */ (window);
  if (w.Stripe) return Promise.resolve(w.Stripe);
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = url;
    script.async = true;
    script.onload = () => (w.Stripe ? resolve(w.Stripe) : reject(new Error('no Stripe')));
    script.onerror = () => reject(new Error('script failed'));
    document.head.appendChild(script);
  });
}

/**
 * The checkout's theme (`--pw-*` variables) as Stripe's Appearance variables.
 * @returns {import('@stripe/stripe-js').Appearance}
 */
function appearance() {
  const css = getComputedStyle(document.documentElement);
  /** @param {string} name */
  const v = (name) => css.getPropertyValue(name).trim();
  return {
    theme: 'stripe',
    variables: {
      colorPrimary: v('--pw-color-accent'),
      colorBackground: v('--pw-color-bg'),
      colorText: v('--pw-color-text'),
      colorDanger: v('--pw-color-error'),
      fontFamily: v('--pw-font'),
      fontSizeBase: v('--pw-font-size'),
      borderRadius: v('--pw-radius'),
      spacingUnit: v('--pw-space-1'),
    },
  };
}

/**
 * @param {{ type?: string, code?: string, decline_code?: string, message?: string }} error
 * @returns {Result}
 */
function failure(error) {
  return {
    code: error.decline_code || error.code || error.type || 'card_error',
    message: error.message || 'Your card could not be used. Check the card details.',
  };
}

/**
 * Mounts the gateway's Payment Element into `#containerId`. Resolves '' when it is ready, or
 * a message for the shopper when it cannot load.
 * @param {string} scriptUrl
 * @param {string} publishableKey
 * @param {number} amount minor units
 * @param {string} currency lowercase ISO code
 * @param {string} containerId
 * @returns {Promise<string>}
 */
export function fields_mount(scriptUrl, publishableKey, amount, currency, containerId) {
  return load(scriptUrl).then(
    (Stripe) => {
      const locale = /** @type {StripeElementLocale} */ (document.documentElement.lang || 'auto');
      stripe = Stripe(publishableKey, { locale });
      elements = stripe.elements({
        mode: 'payment',
        amount: Math.max(amount, 1),
        currency,
        appearance: appearance(),
      });
      // Name and email are our own fields; they go in the token's billing details.
      element = elements.create('payment', {
        fields: { billingDetails: { name: 'never', email: 'never' } },
        terms: { card: 'never' },
      });
      const mounted = element;
      return new Promise((resolve) => {
        mounted.on('ready', () => resolve(''));
        mounted.on('loaderror', () => resolve(UNREACHABLE));
        mounted.mount('#' + containerId);
      });
    },
    () => UNREACHABLE,
  );
}

/**
 * The total or the frequency changed (amount chip, fee coverage, monthly): the fields follow.
 * A recurring gift's first payment saves the card for the renewals: Stripe's Elements then run
 * in `subscription` mode.
 * @param {number} amount
 * @param {boolean} recurring
 */
export function fields_update(amount, recurring) {
  if (elements) {
    elements.update({ amount: Math.max(amount, 1), mode: recurring ? 'subscription' : 'payment' });
  }
}

/** Moves focus into the card fields (after a problem with the card). */
export function fields_focus() {
  if (element) element.focus();
}

/**
 * Checks the fields and has the gateway tokenize them: `{token}` (a confirmation token id)
 * or `{code, message}`.
 * @param {string} name
 * @param {string} email
 * @param {string} returnUrl where redirecting payment methods come back to (top-level)
 * @returns {Promise<Result>}
 */
export async function fields_token(name, email, returnUrl) {
  if (!stripe || !elements) return { code: 'not_ready', message: UNREACHABLE };
  try {
    const submitted = await elements.submit();
    if (submitted.error) return failure(submitted.error);
    const result = await stripe.createConfirmationToken({
      elements,
      params: { payment_method_data: { billing_details: { name, email } }, return_url: returnUrl },
    });
    if (result.error) return failure(result.error);
    return { token: result.confirmationToken.id };
  } catch (e) {
    return { code: 'network', message: '' };
  }
}

/**
 * 3-D Secure (or another next action) through the gateway's script, on this page. `{}` when it
 * is done (the host then asks the gateway how it went), or `{code, message}`.
 * @param {string} clientSecret
 * @returns {Promise<Result>}
 */
export async function fields_next_action(clientSecret) {
  if (!stripe) return { code: 'not_ready', message: UNREACHABLE };
  try {
    const result = await stripe.handleNextAction({ clientSecret });
    return result.error ? failure(result.error) : {};
  } catch (e) {
    return { code: 'network', message: '' };
  }
}

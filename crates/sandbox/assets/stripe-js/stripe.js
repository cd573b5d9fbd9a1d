//! The sandbox's Stripe.js (`{sandbox}/v3/`): the subset of Stripe.js a deferred-intent
//! checkout uses — Stripe(), elements({mode:'payment'}), the Payment Element, elements.submit(),
//! createConfirmationToken() and handleNextAction() — with Stripe.js's names and result shapes.
//! Plain ES2017, no build step. Card fields live in an iframe on the sandbox's origin
//! (/v3/elements/payment): this script never sees card data, only the frame's change events, its
//! height and the confirmation token. It works under a strict CSP: DOM APIs only, styles only
//! through the CSSOM (style.setProperty), no inline code, no eval. Protocol: stripe_js.rs.
(function () {
  'use strict';

  var script = document.currentScript;
  // Where this script came from is the sandbox: the API, the frame and the 3-D Secure page.
  var SANDBOX = new URL(script && script.src ? script.src : '/', window.location.href).origin;
  var NS = 'pwsandbox'; // every message is {pwsandbox: 1, frame, type, ...}
  var LOAD_TIMEOUT_MS = 15000;

  class IntegrationError extends Error {
    constructor(message) {
      super(message);
      this.name = 'IntegrationError';
    }
  }

  function css(el, props) {
    Object.keys(props).forEach(function (k) {
      el.style.setProperty(k, props[k]);
    });
    return el;
  }

  function randomId() {
    var a = new Uint32Array(2);
    window.crypto.getRandomValues(a);
    return a[0].toString(36) + a[1].toString(36);
  }

  function apiError(body, status) {
    var e = body && body.error;
    if (e && typeof e === 'object') {
      return e;
    }
    return {type: 'api_error', message: 'The sandbox answered HTTP ' + status + '.'};
  }

  async function api(key, method, path) {
    var response;
    try {
      response = await fetch(SANDBOX + path, {
        method: method,
        headers: {Authorization: 'Bearer ' + key},
        credentials: 'omit',
      });
    } catch (err) {
      return {error: {type: 'api_connection_error', message: 'Could not reach the payment gateway.'}};
    }
    var body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (!response.ok || !body) {
      return {error: apiError(body, response.status)};
    }
    return {body: body};
  }

  // One listener for every frame this script made; each message is routed by the frame's id and
  // accepted only from the sandbox's origin and from that frame's own window.
  var frames = {};
  window.addEventListener('message', function (event) {
    var data = event.data;
    if (event.origin !== SANDBOX || !data || data[NS] !== 1 || typeof data.frame !== 'string') {
      return;
    }
    var frame = frames[data.frame];
    if (!frame || !frame.iframe || event.source !== frame.iframe.contentWindow) {
      return;
    }
    frame.receive(data);
  });

  /// The Payment Element: an iframe on the sandbox's origin holding the card fields.
  class PaymentElement {
    constructor(group, options) {
      this._group = group;
      this._options = options || {};
      this._handlers = {};
      this._id = randomId();
      this._pending = {};
      this._ready = false;
      this._destroyed = false;
      this._queue = [];
      this._wrapper = null;
      this.iframe = null;
    }

    _check() {
      if (this._destroyed) {
        throw new IntegrationError('This Element has already been destroyed. Please create a new one.');
      }
    }

    on(event, handler) {
      (this._handlers[event] = this._handlers[event] || []).push(handler);
      return this;
    }

    once(event, handler) {
      var self = this;
      var wrapped = function (e) {
        self.off(event, wrapped);
        handler(e);
      };
      return this.on(event, wrapped);
    }

    off(event, handler) {
      if (!handler) {
        delete this._handlers[event];
      } else if (this._handlers[event]) {
        this._handlers[event] = this._handlers[event].filter(function (h) {
          return h !== handler;
        });
      }
      return this;
    }

    _emit(event, payload) {
      (this._handlers[event] || []).slice().forEach(function (h) {
        try {
          h(payload);
        } catch (err) {
          setTimeout(function () {
            throw err;
          });
        }
      });
    }

    mount(target) {
      this._check();
      var el = typeof target === 'string' ? document.querySelector(target) : target;
      if (!el || typeof el.appendChild !== 'function') {
        throw new IntegrationError(
          'The selector you specified (' + String(target) + ') applies to no DOM elements that are currently on ' +
            'the page. Make sure the element exists on the page before calling mount().'
        );
      }
      if (this._wrapper) {
        throw new IntegrationError('This Element is already mounted. Use unmount() to unmount the Element before re-mounting.');
      }
      var wrapper = document.createElement('div');
      wrapper.className = '__PrivateStripeElement';
      css(wrapper, {margin: '0', padding: '0', border: 'none', display: 'block', background: 'transparent', position: 'relative', opacity: '1'});
      var iframe = document.createElement('iframe');
      iframe.title = 'Secure payment input frame';
      iframe.name = '__privateStripeFrame' + this._id;
      iframe.setAttribute('frameborder', '0');
      iframe.setAttribute('allowtransparency', 'true');
      iframe.setAttribute('scrolling', 'no');
      css(iframe, {border: '0', margin: '0', padding: '0', width: '100%', 'min-width': '100%', display: 'block', overflow: 'hidden', height: '1px', 'color-scheme': 'normal'});
      var query = new URLSearchParams({origin: window.location.origin, frame: this._id});
      iframe.src = SANDBOX + '/v3/elements/payment?' + query.toString();
      wrapper.appendChild(iframe);
      this._wrapper = wrapper;
      this.iframe = iframe;
      this._ready = false;
      frames[this._id] = this;
      var self = this;
      this._loadTimer = setTimeout(function () {
        if (!self._ready) {
          self._emit('loaderror', {
            elementType: 'payment',
            error: {type: 'api_connection_error', message: 'The payment form could not be loaded.'},
          });
        }
      }, LOAD_TIMEOUT_MS);
      el.appendChild(wrapper);
    }

    unmount() {
      this._check();
      if (this._wrapper && this._wrapper.parentNode) {
        this._wrapper.parentNode.removeChild(this._wrapper);
      }
      clearTimeout(this._loadTimer);
      delete frames[this._id];
      this._wrapper = null;
      this.iframe = null;
      this._ready = false;
      var pending = this._pending;
      this._pending = {};
      Object.keys(pending).forEach(function (k) {
        pending[k]({error: {type: 'validation_error', code: 'element_unmounted', message: 'The Payment Element was unmounted.'}});
      });
    }

    destroy() {
      if (this._destroyed) {
        return;
      }
      if (this._wrapper) {
        this.unmount();
      }
      this._destroyed = true;
      this._group._forget(this);
    }

    focus() {
      this._check();
      if (this.iframe) {
        this.iframe.focus();
      }
      this._post({type: 'focus'});
    }

    blur() {
      this._check();
      this._post({type: 'blur'});
    }

    clear() {
      this._check();
      this._post({type: 'clear'});
    }

    update(options) {
      this._check();
      Object.assign(this._options, options || {});
      this._post({type: 'update', options: this._frameOptions()});
      return this;
    }

    collapse() {
      return this;
    }

    _frameOptions() {
      var group = this._group._options;
      return {
        appearance: group.appearance || {},
        locale: group.locale || 'auto',
        fields: this._options.fields || {},
      };
    }

    // Messages wait until the frame said hello (it cannot receive before).
    _post(message) {
      if (!this.iframe) {
        return;
      }
      var full = Object.assign({}, message, {frame: this._id});
      full[NS] = 1;
      if (!this._ready) {
        this._queue.push(full);
        return;
      }
      this.iframe.contentWindow.postMessage(full, SANDBOX);
    }

    _request(message) {
      var self = this;
      var id = randomId();
      return new Promise(function (resolve) {
        self._pending[id] = resolve;
        self._post(Object.assign({}, message, {request: id}));
      });
    }

    receive(data) {
      switch (data.type) {
        case 'hello': {
          // The frame is listening: give it what it needs (never anything about the shopper).
          var init = {type: 'init', key: this._group._stripe._key, options: this._frameOptions(), frame: this._id};
          init[NS] = 1;
          this.iframe.contentWindow.postMessage(init, SANDBOX);
          this._ready = true;
          var queue = this._queue;
          this._queue = [];
          var win = this.iframe.contentWindow;
          queue.forEach(function (m) {
            win.postMessage(m, SANDBOX);
          });
          break;
        }
        case 'ready':
          clearTimeout(this._loadTimer);
          this._emit('ready', {elementType: 'payment'});
          break;
        case 'resize':
          if (typeof data.height === 'number' && data.height >= 0 && data.height < 10000 && this.iframe) {
            css(this.iframe, {height: Math.ceil(data.height) + 'px'});
          }
          break;
        case 'change':
          this._emit('change', {
            elementType: 'payment',
            complete: !!data.complete,
            empty: !!data.empty,
            collapsed: false,
            value: {type: 'card'},
          });
          break;
        case 'focus':
        case 'blur':
        case 'escape':
          this._emit(data.type, {elementType: 'payment'});
          break;
        case 'result': {
          var resolve = this._pending[data.request];
          if (resolve) {
            delete this._pending[data.request];
            resolve(data.result || {});
          }
          break;
        }
        default:
          break;
      }
    }
  }

  /// An Elements group (deferred intent: mode 'payment' with amount and currency).
  class Elements {
    constructor(stripe, options) {
      options = options || {};
      if (options.clientSecret) {
        throw new IntegrationError('The sandbox implements only deferred intents: pass mode, amount and currency to elements(), not clientSecret.');
      }
      if (options.mode !== 'payment') {
        throw new IntegrationError('Invalid value for elements(): mode should be payment. You specified: ' + options.mode + '.');
      }
      if (typeof options.amount !== 'number' || !(options.amount >= 0)) {
        throw new IntegrationError('Invalid value for elements(): amount should be a positive integer.');
      }
      if (typeof options.currency !== 'string' || !options.currency) {
        throw new IntegrationError('Missing value for elements(): currency should be a string.');
      }
      var types = options.paymentMethodTypes || options.payment_method_types;
      if (types && (types.length !== 1 || types[0] !== 'card')) {
        throw new IntegrationError('The sandbox supports only the card payment method type.');
      }
      this._stripe = stripe;
      this._options = Object.assign({}, options);
      this._payment = null;
      this._submitted = false;
    }

    create(type, options) {
      if (type !== 'payment') {
        throw new IntegrationError('The sandbox implements only the payment Element; you asked for ' + type + '.');
      }
      if (this._payment) {
        throw new IntegrationError('Can only create one Element of type payment.');
      }
      this._payment = new PaymentElement(this, options);
      return this._payment;
    }

    getElement(type) {
      return type === 'payment' ? this._payment : null;
    }

    update(options) {
      options = options || {};
      ['amount', 'currency', 'mode', 'appearance', 'locale', 'setupFutureUsage', 'setup_future_usage'].forEach(function (k) {
        if (k in options) {
          this._options[k] = options[k];
        }
      }, this);
      if (this._payment && !this._payment._destroyed) {
        this._payment._post({type: 'update', options: this._payment._frameOptions()});
      }
      return Promise.resolve();
    }

    async submit() {
      var el = this._payment;
      if (!el || el._destroyed || !el.iframe) {
        throw new IntegrationError('elements.submit(): there is no mounted Payment Element to submit.');
      }
      var result = await el._request({type: 'submit'});
      if (result.error) {
        this._submitted = false;
        return {error: result.error};
      }
      this._submitted = true;
      return {selectedPaymentMethod: 'card'};
    }

    _forget(el) {
      if (this._payment === el) {
        this._payment = null;
      }
    }
  }

  function sleep(ms) {
    return new Promise(function (resolve) {
      setTimeout(resolve, ms);
    });
  }

  /// The 3-D Secure challenge in a modal iframe over the page; resolves when it posts its
  /// outcome.
  function challenge(url) {
    return new Promise(function (resolve) {
      var previous = document.activeElement;
      var id = randomId();
      var backdrop = document.createElement('div');
      css(backdrop, {
        position: 'fixed', top: '0', right: '0', bottom: '0', left: '0', 'z-index': '2147483647',
        background: 'rgba(0, 0, 0, 0.5)', display: 'flex', 'align-items': 'center', 'justify-content': 'center',
        margin: '0', padding: '0',
      });
      var dialog = document.createElement('div');
      dialog.setAttribute('role', 'dialog');
      dialog.setAttribute('aria-modal', 'true');
      dialog.setAttribute('aria-label', '3D Secure authentication');
      dialog.tabIndex = -1;
      css(dialog, {
        background: '#ffffff', 'border-radius': '8px', overflow: 'hidden', width: '500px', 'max-width': '100vw',
        height: '600px', 'max-height': '100vh', 'box-shadow': '0 10px 40px rgba(0, 0, 0, 0.3)', display: 'flex',
      });
      var iframe = document.createElement('iframe');
      iframe.title = '3D Secure authentication';
      iframe.name = '__privateStripe3ds' + id;
      iframe.setAttribute('frameborder', '0');
      css(iframe, {border: '0', width: '100%', height: '100%', display: 'block'});
      var sep = url.indexOf('?') >= 0 ? '&' : '?';
      iframe.src = url + sep + new URLSearchParams({embedded: '1', origin: window.location.origin, frame: id}).toString();
      dialog.appendChild(iframe);
      backdrop.appendChild(dialog);

      function done(outcome) {
        window.removeEventListener('message', onMessage);
        document.removeEventListener('focusin', keepFocus, true);
        if (backdrop.parentNode) {
          backdrop.parentNode.removeChild(backdrop);
        }
        if (previous && typeof previous.focus === 'function') {
          previous.focus();
        }
        resolve(outcome);
      }
      function onMessage(event) {
        var data = event.data;
        if (event.origin !== SANDBOX || event.source !== iframe.contentWindow) {
          return;
        }
        if (!data || data[NS] !== 1 || data.type !== '3ds-result' || data.frame !== id) {
          return;
        }
        done(data.outcome);
      }
      // Keep focus inside the dialog while it is open (it is modal).
      function keepFocus(event) {
        if (!dialog.contains(event.target)) {
          iframe.focus();
        }
      }
      window.addEventListener('message', onMessage);
      document.addEventListener('focusin', keepFocus, true);
      iframe.addEventListener('load', function () {
        iframe.focus();
      });
      document.body.appendChild(backdrop);
      dialog.focus();
    });
  }

  /// What Stripe.js answers after an authentication that failed.
  function authenticationFailure(pi) {
    var last = pi.last_payment_error || {};
    var error = {
      type: 'invalid_request_error',
      code: 'payment_intent_authentication_failure',
      message: 'We are unable to authenticate your payment method. Please choose a different payment method and try again.',
      payment_intent: pi,
    };
    if (last.payment_method) {
      error.payment_method = last.payment_method;
    }
    if (last.doc_url) {
      error.doc_url = last.doc_url;
    }
    return {error: error};
  }

  class Stripe {
    constructor(key, options) {
      if (typeof key !== 'string') {
        throw new IntegrationError('Invalid value for Stripe(): apiKey should be a string. You specified: ' + typeof key + '.');
      }
      if (/^sk_/.test(key) || /^rk_/.test(key)) {
        throw new IntegrationError('You should not use your secret key with Stripe.js.\nPlease pass a publishable key instead.');
      }
      if (!/^pk_/.test(key)) {
        throw new IntegrationError('Invalid value for Stripe(): apiKey should be a publishable key (pk_…).');
      }
      this._key = key;
      this._options = options || {};
    }

    elements(options) {
      var merged = Object.assign({}, options || {});
      if (!merged.locale && this._options.locale) {
        merged.locale = this._options.locale;
      }
      return new Elements(this, merged);
    }

    async createConfirmationToken(options) {
      options = options || {};
      var elements = options.elements;
      if (!(elements instanceof Elements)) {
        throw new IntegrationError('Invalid value for createConfirmationToken: elements should be an Elements group.');
      }
      var params = options.params || {};
      if (params.billing_details) {
        throw new IntegrationError(
          'Invalid createConfirmationToken params: billing_details goes under payment_method_data ' +
            '(params.payment_method_data.billing_details).'
        );
      }
      var el = elements._payment;
      if (!el || el._destroyed || !el.iframe) {
        throw new IntegrationError('createConfirmationToken: there is no mounted Payment Element.');
      }
      if (!elements._submitted) {
        throw new IntegrationError(
          'elements.submit() must be called before stripe.createConfirmationToken(). Call elements.submit() as ' +
            'soon as your customer presses pay, prior to any asynchronous work.'
        );
      }
      var pmd = params.payment_method_data || {};
      var result = await el._request({
        type: 'create-token',
        params: {
          billing_details: pmd.billing_details || null,
          metadata: pmd.metadata || null,
          return_url: params.return_url || null,
          shipping: params.shipping || null,
          setup_future_usage: elements._options.setupFutureUsage || elements._options.setup_future_usage || null,
        },
      });
      if (result.error) {
        return {error: result.error};
      }
      return {confirmationToken: result.confirmationToken};
    }

    async retrievePaymentIntent(clientSecret) {
      if (typeof clientSecret !== 'string' || clientSecret.indexOf('_secret_') < 0) {
        throw new IntegrationError('Invalid value for retrievePaymentIntent: clientSecret should be a client secret of the form ${id}_secret_${secret}.');
      }
      var id = clientSecret.split('_secret_')[0];
      var r = await api(this._key, 'GET', '/v1/payment_intents/' + encodeURIComponent(id) + '?client_secret=' + encodeURIComponent(clientSecret));
      return r.error ? {error: r.error} : {paymentIntent: r.body};
    }

    async handleNextAction(options) {
      var clientSecret = options && options.clientSecret;
      if (typeof clientSecret !== 'string' || clientSecret.indexOf('_secret_') < 0) {
        throw new IntegrationError('Invalid value for handleNextAction: clientSecret should be a client secret of the form ${id}_secret_${secret}.');
      }
      var first = await this.retrievePaymentIntent(clientSecret);
      if (first.error) {
        return first;
      }
      var pi = first.paymentIntent;
      if (pi.status !== 'requires_action') {
        throw new IntegrationError(
          'handleNextAction: the PaymentIntent has a status of ' + pi.status + '; it must be requires_action.'
        );
      }
      var next = pi.next_action || {};
      if (next.type !== 'redirect_to_url' || !next.redirect_to_url || !next.redirect_to_url.url) {
        throw new IntegrationError('handleNextAction: the sandbox handles only redirect_to_url next actions.');
      }
      var url = next.redirect_to_url.url;
      if (new URL(url).origin !== SANDBOX) {
        throw new IntegrationError('handleNextAction: the authentication page is not on the sandbox.');
      }
      await challenge(url);
      // The decision is committed before the page answers; poll briefly all the same.
      for (var attempt = 0; attempt < 20; attempt++) {
        var now = await this.retrievePaymentIntent(clientSecret);
        if (now.error) {
          return now;
        }
        pi = now.paymentIntent;
        if (pi.status !== 'requires_action') {
          break;
        }
        await sleep(250);
      }
      var failed = pi.last_payment_error && pi.last_payment_error.code === 'payment_intent_authentication_failure';
      if (pi.status === 'requires_payment_method' && failed) {
        return authenticationFailure(pi);
      }
      return {paymentIntent: pi};
    }
  }

  function StripeFactory(key, options) {
    return new Stripe(key, options);
  }
  StripeFactory.version = 3;
  window.Stripe = StripeFactory;
})();

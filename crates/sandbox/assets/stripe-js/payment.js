//! The Payment Element frame's script (/v3/elements/payment.js), on the sandbox's origin.
//! Holds the card fields: formats and validates them as Stripe's Payment Element does (grouped
//! number, MM / YY, CVC, postal code; Stripe's validation_error codes), shows field errors under
//! each field, and creates the ConfirmationToken itself (POST /v1/confirmation_tokens, same
//! origin, publishable key). The card number and CVC never leave this frame except in that
//! request: the parent page receives only change events, the frame's height and the token.
//! Messages go only to the parent's origin (from this frame's URL) and are accepted only from
//! the parent window at that origin. Protocol: crates/sandbox/src/api/stripe_js.rs.
(function () {
  'use strict';

  var NS = 'pwsandbox';
  var query = new URLSearchParams(window.location.search);
  var frameId = query.get('frame') || '';
  var parentOrigin = query.get('origin') || '';
  try {
    parentOrigin = new URL(parentOrigin).origin;
  } catch (err) {
    parentOrigin = '';
  }
  if (!parentOrigin || parentOrigin === 'null' || !frameId || window.parent === window) {
    // Not embedded by the sandbox's Stripe.js: nothing to talk to, so nothing to do.
    return;
  }

  var $ = function (id) {
    return document.getElementById(id);
  };
  var form = $('form');
  var inputs = {number: $('number'), expiry: $('expiry'), cvc: $('cvc'), postal: $('postal')};
  var errors = {number: $('number-error'), expiry: $('expiry-error'), cvc: $('cvc-error'), postal: $('postal-error')};
  var touched = {};
  var serverErrors = {};
  var submitted = false;
  var key = null;
  var setupDone = false;
  var collectPostal = true;
  var focused = false;

  function post(message) {
    var full = Object.assign({}, message, {frame: frameId});
    full[NS] = 1;
    window.parent.postMessage(full, parentOrigin);
  }

  // ---- cards ---------------------------------------------------------------------------------

  var BRANDS = [
    {brand: 'amex', re: /^3[47]/, lengths: [15], groups: [4, 6, 5], cvc: 4},
    {brand: 'diners', re: /^3(0[0-5]|[689])/, lengths: [14, 16, 19], groups: [4, 6, 4], cvc: 3},
    {brand: 'visa', re: /^4/, lengths: [13, 16, 19], groups: [4, 4, 4, 4, 3], cvc: 3},
    {brand: 'mastercard', re: /^(5[1-5]|2(2[2-9]|[3-6]|7[01]|720))/, lengths: [16], groups: [4, 4, 4, 4], cvc: 3},
    {brand: 'discover', re: /^(6011|65|64[4-9])/, lengths: [16, 19], groups: [4, 4, 4, 4, 3], cvc: 3},
    {brand: 'jcb', re: /^35(2[89]|[3-8])/, lengths: [16, 19], groups: [4, 4, 4, 4, 3], cvc: 3},
    {brand: 'unionpay', re: /^62/, lengths: [16, 17, 18, 19], groups: [4, 4, 4, 4, 3], cvc: 3},
  ];
  var UNKNOWN = {brand: 'unknown', re: /^/, lengths: [16], groups: [4, 4, 4, 4, 3], cvc: 3};

  function digitsOf(s) {
    return String(s || '').replace(/\D/g, '');
  }

  function brandOf(digits) {
    for (var i = 0; i < BRANDS.length; i++) {
      if (BRANDS[i].re.test(digits)) {
        return BRANDS[i];
      }
    }
    return UNKNOWN;
  }

  function maxLength(brand) {
    return brand.lengths[brand.lengths.length - 1];
  }

  function luhn(digits) {
    var sum = 0;
    for (var i = 0; i < digits.length; i++) {
      var d = digits.charCodeAt(digits.length - 1 - i) - 48;
      if (i % 2 === 1) {
        d *= 2;
        if (d > 9) {
          d -= 9;
        }
      }
      sum += d;
    }
    return digits.length > 0 && sum % 10 === 0;
  }

  function groupNumber(digits) {
    var brand = brandOf(digits);
    var groups = brand.brand === 'diners' && digits.length > 14 ? [4, 4, 4, 4, 3] : brand.groups;
    var out = [];
    var at = 0;
    for (var g = 0; g < groups.length && at < digits.length; g++) {
      out.push(digits.slice(at, at + groups[g]));
      at += groups[g];
    }
    return out.join(' ');
  }

  function expiryParts() {
    var d = digitsOf(inputs.expiry.value);
    return {month: d.slice(0, 2), year: d.slice(2, 4)};
  }

  // Each check answers null (fine) or Stripe's {code, message}; `partial` says whether the error
  // is only "not finished yet" (shown once the shopper leaves the field or submits).
  function checkNumber() {
    var d = digitsOf(inputs.number.value);
    var brand = brandOf(d);
    var incomplete = {code: 'incomplete_number', message: 'Your card number is incomplete.', partial: true};
    var invalid = {code: 'invalid_number', message: 'Your card number is invalid.', partial: false};
    if (brand.lengths.indexOf(d.length) >= 0) {
      return luhn(d) ? null : invalid;
    }
    if (d.length > maxLength(brand)) {
      return invalid;
    }
    return incomplete;
  }

  function checkExpiry() {
    var e = expiryParts();
    if (e.month.length < 2 || e.year.length < 2) {
      return {code: 'incomplete_expiry', message: "Your card's expiration date is incomplete.", partial: true};
    }
    var month = parseInt(e.month, 10);
    var year = 2000 + parseInt(e.year, 10);
    var now = new Date();
    if (month < 1 || month > 12) {
      return {code: 'invalid_expiry_month', message: "Your card's expiration month is invalid.", partial: false};
    }
    if (year < now.getFullYear()) {
      return {code: 'invalid_expiry_year_past', message: "Your card's expiration year is in the past.", partial: false};
    }
    if (year === now.getFullYear() && month < now.getMonth() + 1) {
      return {code: 'invalid_expiry_month_past', message: "Your card's expiration date is in the past.", partial: false};
    }
    if (year > now.getFullYear() + 50) {
      return {code: 'invalid_expiry_year', message: "Your card's expiration year is invalid.", partial: false};
    }
    return null;
  }

  function cvcLength() {
    return brandOf(digitsOf(inputs.number.value)).cvc;
  }

  function checkCvc() {
    if (digitsOf(inputs.cvc.value).length < cvcLength()) {
      return {code: 'incomplete_cvc', message: "Your card's security code is incomplete.", partial: true};
    }
    return null;
  }

  function checkPostal() {
    if (!collectPostal) {
      return null;
    }
    if (inputs.postal.value.trim().length === 0) {
      return {code: 'incomplete_zip', message: 'Your postal code is incomplete.', partial: true};
    }
    return null;
  }

  var CHECKS = {number: checkNumber, expiry: checkExpiry, cvc: checkCvc, postal: checkPostal};
  var ORDER = ['number', 'expiry', 'cvc', 'postal'];

  function fieldsInUse() {
    return ORDER.filter(function (f) {
      return f !== 'postal' || collectPostal;
    });
  }

  // Shows or hides one field's error (a server error for the field wins until it is edited).
  function render(field) {
    var problem = serverErrors[field] || CHECKS[field]();
    var show =
      problem &&
      (serverErrors[field] || submitted || !problem.partial || touched[field]) &&
      (submitted || serverErrors[field] || inputs[field].value.length > 0);
    errors[field].textContent = show ? problem.message : '';
    inputs[field].setAttribute('aria-invalid', show ? 'true' : 'false');
  }

  function renderAll() {
    ORDER.forEach(render);
  }

  function state() {
    var used = fieldsInUse();
    return {
      complete: used.every(function (f) {
        return !CHECKS[f]();
      }),
      empty: used.every(function (f) {
        return inputs[f].value.length === 0;
      }),
    };
  }

  function changed() {
    var s = state();
    post({type: 'change', complete: s.complete, empty: s.empty});
  }

  // ---- formatting ----------------------------------------------------------------------------

  function formatNumber(event) {
    var input = inputs.number;
    var caret = input.selectionStart === null ? input.value.length : input.selectionStart;
    var before = digitsOf(input.value.slice(0, caret)).length;
    var digits = digitsOf(input.value);
    digits = digits.slice(0, maxLength(brandOf(digits)));
    var formatted = groupNumber(digits);
    input.value = formatted;
    // The caret stays after the same digit it was after.
    var pos = 0;
    var seen = 0;
    while (pos < formatted.length && seen < before) {
      if (/\d/.test(formatted[pos])) {
        seen++;
      }
      pos++;
    }
    if (document.activeElement === input) {
      input.setSelectionRange(pos, pos);
    }
    var cvc = digitsOf(inputs.cvc.value);
    if (cvc.length > cvcLength()) {
      inputs.cvc.value = cvc.slice(0, cvcLength());
    }
    // Advance only once no longer number can follow (a valid 13-digit Visa may still be 16).
    var full = digits.length === maxLength(brandOf(digits)) || digits.length === 16;
    if (event && full && !checkNumber() && caret >= formatted.length - 1 && isInsert(event)) {
      inputs.expiry.focus();
    }
  }

  function isInsert(event) {
    return !event.inputType || event.inputType.indexOf('insert') === 0;
  }

  function formatExpiry(event) {
    var input = inputs.expiry;
    var raw = input.value;
    var autofill = /^\s*(\d{1,2})\s*\/\s*(\d{4})\s*$/.exec(raw);
    var digits = autofill ? ('0' + autofill[1]).slice(-2) + autofill[2].slice(2) : digitsOf(raw);
    if (digits.length === 1 && digits > '1') {
      digits = '0' + digits;
    }
    digits = digits.slice(0, 4);
    var deleting = event && event.inputType && event.inputType.indexOf('delete') === 0;
    if (digits.length > 2) {
      input.value = digits.slice(0, 2) + ' / ' + digits.slice(2);
    } else if (digits.length === 2 && !deleting) {
      input.value = digits + ' / ';
    } else {
      input.value = digits;
    }
    if (event && isInsert(event) && !checkExpiry()) {
      inputs.cvc.focus();
    }
  }

  function formatCvc() {
    inputs.cvc.value = digitsOf(inputs.cvc.value).slice(0, cvcLength());
  }

  var FORMAT = {number: formatNumber, expiry: formatExpiry, cvc: formatCvc, postal: function () {}};

  ORDER.forEach(function (field) {
    var input = inputs[field];
    input.addEventListener('input', function (event) {
      delete serverErrors[field];
      FORMAT[field](event);
      renderAll();
      changed();
    });
    input.addEventListener('blur', function () {
      if (input.value.length > 0) {
        touched[field] = true;
      }
      render(field);
    });
  });

  document.addEventListener('focusin', function () {
    if (!focused) {
      focused = true;
      post({type: 'focus'});
    }
  });
  document.addEventListener('focusout', function (event) {
    if (!event.relatedTarget || !form.contains(event.relatedTarget)) {
      focused = false;
      post({type: 'blur'});
    }
  });
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape') {
      post({type: 'escape'});
    }
  });
  form.addEventListener('submit', function (event) {
    event.preventDefault();
  });

  // ---- appearance and options ----------------------------------------------------------------

  var VARIABLES = {
    colorPrimary: '--sbx-color-primary',
    colorBackground: '--sbx-color-background',
    colorText: '--sbx-color-text',
    colorDanger: '--sbx-color-danger',
    fontFamily: '--sbx-font-family',
    borderRadius: '--sbx-border-radius',
    spacingUnit: '--sbx-spacing-unit',
    fontSizeBase: '--sbx-font-size-base',
  };

  function applyOptions(options) {
    options = options || {};
    var root = document.documentElement;
    var appearance = options.appearance || {};
    var variables = appearance.variables || {};
    Object.keys(VARIABLES).forEach(function (name) {
      var value = variables[name];
      if (typeof value === 'string' && value.length > 0 && value.length < 200) {
        root.style.setProperty(VARIABLES[name], value);
      } else {
        root.style.removeProperty(VARIABLES[name]);
      }
    });
    root.classList.toggle('theme-night', appearance.theme === 'night');
    root.classList.toggle('theme-flat', appearance.theme === 'flat');
    var locale = options.locale && options.locale !== 'auto' ? options.locale : navigator.language || 'en';
    if (/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(locale)) {
      root.lang = locale;
    }
    var billing = (options.fields || {}).billingDetails;
    var address = billing && typeof billing === 'object' ? billing.address : billing;
    collectPostal = !(
      billing === 'never' ||
      address === 'never' ||
      (address && typeof address === 'object' && address.postalCode === 'never')
    );
    $('postal-field').hidden = !collectPostal;
    renderAll();
    resized();
  }

  // ---- size ----------------------------------------------------------------------------------

  var lastHeight = -1;
  function resized() {
    var height = Math.ceil(form.getBoundingClientRect().height);
    if (height !== lastHeight) {
      lastHeight = height;
      post({type: 'resize', height: height});
    }
  }
  if (typeof ResizeObserver === 'function') {
    new ResizeObserver(resized).observe(form);
  } else {
    window.addEventListener('resize', resized);
  }

  // ---- submit and token ----------------------------------------------------------------------

  function validate() {
    submitted = true;
    renderAll();
    var used = fieldsInUse();
    for (var i = 0; i < used.length; i++) {
      var problem = serverErrors[used[i]] || CHECKS[used[i]]();
      if (problem) {
        inputs[used[i]].focus();
        return {type: problem.type || 'validation_error', code: problem.code, message: problem.message};
      }
    }
    return null;
  }

  function flatten(prefix, value, out) {
    if (value === null || value === undefined) {
      return;
    }
    if (typeof value === 'object') {
      Object.keys(value).forEach(function (k) {
        flatten(prefix + '[' + k + ']', value[k], out);
      });
    } else {
      out.append(prefix, String(value));
    }
  }

  var FIELD_OF_PARAM = {
    'payment_method_data[card][number]': 'number',
    'payment_method_data[card][exp_month]': 'expiry',
    'payment_method_data[card][exp_year]': 'expiry',
    'payment_method_data[card][cvc]': 'cvc',
    'payment_method_data[billing_details][address][postal_code]': 'postal',
  };

  async function createToken(params) {
    var invalid = validate();
    if (invalid) {
      return {error: invalid};
    }
    params = params || {};
    var e = expiryParts();
    var body = new URLSearchParams();
    body.append('payment_method_data[type]', 'card');
    body.append('payment_method_data[card][number]', digitsOf(inputs.number.value));
    body.append('payment_method_data[card][exp_month]', e.month);
    body.append('payment_method_data[card][exp_year]', '20' + e.year);
    body.append('payment_method_data[card][cvc]', digitsOf(inputs.cvc.value));
    var billing = Object.assign({}, params.billing_details || {});
    if (collectPostal) {
      billing.address = Object.assign({}, billing.address || {}, {postal_code: inputs.postal.value.trim()});
    }
    flatten('payment_method_data[billing_details]', billing, body);
    flatten('payment_method_data[metadata]', params.metadata, body);
    flatten('shipping', params.shipping, body);
    if (params.return_url) {
      body.append('return_url', String(params.return_url));
    }
    if (params.setup_future_usage) {
      body.append('setup_future_usage', String(params.setup_future_usage));
    }
    var response;
    try {
      response = await fetch('/v1/confirmation_tokens', {
        method: 'POST',
        headers: {Authorization: 'Bearer ' + key, 'Content-Type': 'application/x-www-form-urlencoded'},
        body: body.toString(),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (err) {
      return {error: {type: 'api_connection_error', message: 'Could not reach the payment gateway.'}};
    }
    var answer = null;
    try {
      answer = await response.json();
    } catch (err) {
      answer = null;
    }
    if (response.ok && answer && answer.object === 'confirmation_token') {
      return {confirmationToken: answer};
    }
    var error = (answer && answer.error) || {type: 'api_error', message: 'The gateway answered HTTP ' + response.status + '.'};
    var field = FIELD_OF_PARAM[error.param];
    if (field) {
      serverErrors[field] = {code: error.code, message: error.message, type: error.type};
      render(field);
      inputs[field].focus();
    }
    return {error: error};
  }

  function clear() {
    ORDER.forEach(function (f) {
      inputs[f].value = '';
    });
    touched = {};
    serverErrors = {};
    submitted = false;
    renderAll();
    changed();
  }

  // ---- messages from the parent --------------------------------------------------------------

  window.addEventListener('message', async function (event) {
    var data = event.data;
    if (event.origin !== parentOrigin || event.source !== window.parent) {
      return;
    }
    if (!data || data[NS] !== 1 || data.frame !== frameId) {
      return;
    }
    switch (data.type) {
      case 'init':
        if (typeof data.key !== 'string' || data.key.indexOf('pk_') !== 0) {
          return;
        }
        key = data.key;
        applyOptions(data.options);
        if (!setupDone) {
          setupDone = true;
          post({type: 'ready'});
          changed();
        }
        break;
      case 'update':
        applyOptions(data.options);
        break;
      case 'focus':
        inputs.number.focus();
        break;
      case 'blur':
        if (document.activeElement && document.activeElement.blur) {
          document.activeElement.blur();
        }
        break;
      case 'clear':
        clear();
        break;
      case 'submit': {
        var invalid = validate();
        post({type: 'result', request: data.request, result: invalid ? {error: invalid} : {}});
        break;
      }
      case 'create-token': {
        var result = await createToken(data.params);
        post({type: 'result', request: data.request, result: result});
        break;
      }
      default:
        break;
    }
  });

  // Say hello until the parent answers (its listener may be added after this frame loads).
  var hellos = 0;
  (function hello() {
    if (key || hellos++ > 40) {
      return;
    }
    post({type: 'hello'});
    setTimeout(hello, 250);
  })();
})();

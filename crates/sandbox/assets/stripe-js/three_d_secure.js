//! The embedded 3-D Secure result page's script (/v3/elements/three_d_secure.js): tells the
//! sandbox's Stripe.js in the parent page how authentication ended, posting only to the page's
//! origin (from the page's URL, carried through the form). The outcome is all it sends.
(function () {
  'use strict';
  var data = document.body.dataset;
  var origin;
  try {
    origin = new URL(data.origin).origin;
  } catch (err) {
    return;
  }
  if (!origin || origin === 'null' || window.parent === window) {
    return;
  }
  window.parent.postMessage({pwsandbox: 1, type: '3ds-result', frame: data.frame, outcome: data.outcome}, origin);
})();

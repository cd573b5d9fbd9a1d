// The hosted checkout's side of the overlay's postMessage protocol, version 1 (ARCHITECTURE.md).
// Plain JS (a wasm-bindgen snippet) to keep the wasm small; Rust calls it through `crate::embed`.
const KEY = 'pw-parent';
let parentOrigin = null;

function post(message) {
  if (parentOrigin) window.parent.postMessage(Object.assign({ pw: 1 }, message), parentOrigin);
}

function resize() {
  post({ type: 'resize', height: document.documentElement.scrollHeight });
}

function stored() {
  try { return sessionStorage.getItem(KEY); } catch (e) { return null; }
}

// In a frame: answer the loader's `hello` only from the merchant's allowed origins (and this
// host's own, for the snippet page's preview); then report readiness and height, relay Escape.
// Also applies `?accent=#hex` and `?locale=xx` from the embed snippet.
export function embed_start(allowed) {
  const q = new URLSearchParams(location.search);
  const accent = q.get('accent');
  if (accent && /^#[0-9a-f]{3}([0-9a-f]{3})?$/i.test(accent)) {
    document.documentElement.style.setProperty('--pw-color-accent', accent);
  }
  const locale = q.get('locale');
  if (locale && /^[a-z]{2}(-[A-Z]{2})?$/.test(locale)) document.documentElement.lang = locale;
  if (window.parent === window) return;
  document.documentElement.classList.add('pw-embedded');
  const ok = new Set(allowed.concat([location.origin]));
  window.addEventListener('message', (e) => {
    const d = e.data;
    if (e.source !== window.parent || !ok.has(e.origin) || !d || d.pw !== 1 || d.type !== 'hello') return;
    parentOrigin = e.origin;
    try {
      sessionStorage.setItem(KEY, e.origin);
    } catch (err) {
      // No storage in this frame: the page could not keep its idempotency key; go full page.
      post({ type: 'fallback' });
      return;
    }
    post({ type: 'ready' });
    resize();
  });
  new ResizeObserver(resize).observe(document.body);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') post({ type: 'close' });
  });
}

// Payment finished: in an overlay, ask the merchant page to navigate its top window to `url`
// (and navigate this frame too if nothing happens); returns false when not embedded.
export function embed_done(url) {
  if (window.parent === window) return false;
  // After a 3-D Secure round trip inside the frame, the origin checked before it is stored.
  parentOrigin = parentOrigin || stored();
  if (!parentOrigin) return false;
  const href = new URL(url, location.href).href;
  post({ type: 'done', url: href });
  setTimeout(() => location.assign(href), 1500);
  return true;
}

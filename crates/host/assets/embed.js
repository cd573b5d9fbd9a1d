// paywidget loader
(() => {
'use strict';
const d = document;
if (window.paywidget) return;
const HOST = new URL(d.currentScript.src).origin, css = HOST + '/v1/embed.css';
let blocked, cur;

const mk = (t, p, a) => {
  const e = p.appendChild(d.createElement(t));
  for (const k in a) e.setAttribute(k, a[k]);
  return e;
};
if (!d.querySelector(`link[href="${css}"]`)) mk('link', d.head, { rel: 'stylesheet', href: css });

d.addEventListener('securitypolicyviolation', e => {
  if (e.blockedURI.startsWith(HOST) && e.effectiveDirective == 'frame-src') blocked = cur ? cur.go() : 1;
});
d.addEventListener('keydown', e => e.key == 'Escape' && cur && cur.close());

const enhance = a => {
  const ds = a.dataset;
  if (ds.paywidgetReady != null) return;
  ds.paywidgetReady = '';
  a.classList.add('paywidget-button');
  const q = { amount: ds.amount, currency: ds.currency, accent: ds.themeColor, locale: ds.locale };
  if (q.accent) a.style.setProperty('--paywidget-accent', q.accent);
  if (ds.label) a.textContent = ds.label;
  const url = embed => {
    const u = new URL(a.href);
    q.embed = embed;
    for (const k in q) if (q[k]) u.searchParams.set(k, q[k]);
    return u.href;
  };
  const go = () => location.href = url();
  const redirect = () => blocked || ds.mode == 'redirect' ||
    /FBAN|FBAV|Instagram|Line\/|Twitter|; wv\)|WebView/i.test(navigator.userAgent);
  let ov, dlg, x, f, timer, ready, inerted = [];

  const build = () => {
    if (ov) return;
    ov = mk('div', d.body, { class: 'paywidget-overlay' });
    dlg = mk('div', ov, { class: 'paywidget-dialog', role: 'dialog', 'aria-modal': true, 'aria-label': 'Checkout' });
    x = mk('button', dlg, { class: 'paywidget-close', type: 'button', 'aria-label': 'Close checkout' });
    x.textContent = '\u00d7';
    const sk = mk('div', dlg, { class: 'paywidget-skeleton', 'aria-hidden': true });
    for (let i = 0; i < 4; i++) mk('span', sk);
    f = mk('iframe', dlg, { class: 'paywidget-frame', title: 'Checkout', allow: 'payment; clipboard-write', src: url(1) });
    const hello = () => {
      if (ready) return;
      f.contentWindow.postMessage({ pw: 1, type: 'hello' }, HOST);
      setTimeout(hello, 250);
    };
    f.onload = hello;
    ov.onclick = e => (e.target == ov || e.target == x) && close();
    addEventListener('message', e => {
      const m = e.data || {}, t = m.type;
      if (e.origin != HOST || e.source != f.contentWindow || m.pw !== 1) return;
      if (t == 'ready') {
        clearTimeout(timer);
        dlg.classList.add('paywidget-loaded');
        ready = 1;
      }
      if (t == 'resize' && m.height > 0) f.style.height = Math.ceil(m.height) + 'px';
      if (t == 'done' && /^https?:/.test(m.url)) location.href = m.url;
      if (t == 'fallback') go();
      if (t == 'close') close();
    });
  };
  const show = on => {
    ov.classList.toggle('paywidget-open', on);
    d.documentElement.classList.toggle('paywidget-lock', on);
    inerted.forEach(n => n.inert = on);
    cur = on && o;
  };
  const open = () => {
    build();
    if (cur) cur.close();
    inerted = [].filter.call(d.body.children, n => !n.inert && n != ov);
    show(1);
    f.focus();
    if (d.activeElement != f) x.focus();
    if (!ready) timer = setTimeout(go, 1e4);
  };
  const close = () => {
    if (cur != o) return;
    clearTimeout(timer);
    show(0);
    a.focus();
  };
  const o = { go: () => ready || go(), close };

  for (const t of ['pointerenter', 'focus', 'touchstart']) a.addEventListener(t, () => redirect() || build(), { passive: true });
  a.addEventListener('click', e => {
    if (e.button || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    redirect() ? go() : open();
  });
};

const scan = () => d.querySelectorAll('a[data-paywidget]').forEach(enhance);
window.paywidget = { version: 1, enhance, scan, close: () => cur && cur.close() };
scan();
d.addEventListener('DOMContentLoaded', scan);
})();

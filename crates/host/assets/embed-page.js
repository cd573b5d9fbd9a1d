// paywidget host: "copy" buttons on the get-your-snippet page (button[data-pw-copy="<element id>"]).
(() => {
  'use strict';
  const say = t => {
    const s = document.getElementById('pw-copy-status');
    if (!s) return;
    s.textContent = ''; // clear first so a repeated message is announced again
    setTimeout(() => { s.textContent = t; }, 50);
  };
  document.addEventListener('click', e => {
    const b = e.target.closest && e.target.closest('button[data-pw-copy]');
    const el = b && document.getElementById(b.dataset.pwCopy);
    if (!el) return;
    const fail = () => { // select the text so the user can copy it by hand
      const r = document.createRange(), sel = getSelection();
      r.selectNodeContents(el);
      sel.removeAllRanges();
      sel.addRange(r);
      say('Press Ctrl+C to copy');
    };
    if (navigator.clipboard) navigator.clipboard.writeText(el.textContent).then(() => say('Copied'), fail);
    else fail();
  });
})();

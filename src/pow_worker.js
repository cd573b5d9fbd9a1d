// The card-testing shield's proof-of-work solver, run in a Web Worker so the page stays
// responsive: finds a nonce such that SHA-256(challenge + ":" + nonce) starts with `bits` zero
// bits, and posts it back as a decimal string. Loaded only when the host asks for a proof.
"use strict";

const BATCH = 256;

function zeroBits(bytes) {
  let n = 0;
  for (const b of bytes) {
    if (b === 0) {
      n += 8;
    } else {
      return n + Math.clz32(b) - 24;
    }
  }
  return n;
}

onmessage = async (event) => {
  const [challenge, bits] = event.data;
  const encoder = new TextEncoder();
  for (let start = 0; ; start += BATCH) {
    const digests = [];
    for (let i = 0; i < BATCH; i++) {
      const text = challenge + ":" + (start + i);
      digests.push(crypto.subtle.digest("SHA-256", encoder.encode(text)));
    }
    const done = await Promise.all(digests);
    for (let i = 0; i < BATCH; i++) {
      if (zeroBits(new Uint8Array(done[i])) >= bits) {
        postMessage(String(start + i));
        return;
      }
    }
  }
};

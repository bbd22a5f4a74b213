(async () => {
  const badge = document.getElementById("badge");
  const info = document.getElementById("proofinfo");
  const it = document.documentElement.lang === "it";
  const say = (a, b) => (it ? a : b);
  const fail = (why) => {
    badge.className = "ko";
    badge.dataset.state = "failed";
    badge.textContent = say("✗ Non verificato: ", "✗ Not verified: ") + why;
  };
  try {
    const [answer, module] = await Promise.all([
      fetch(location.pathname, { headers: { Accept: "application/json" } }),
      WebAssembly.instantiateStreaming(fetch(badge.dataset.wasm)),
    ]);
    const bytes = new Uint8Array(await answer.arrayBuffer());
    const x = module.instance.exports;
    const t0 = performance.now();
    const at = x.filiera_alloc(bytes.length);
    new Uint8Array(x.memory.buffer, at, bytes.length).set(bytes);
    const packed = x.filiera_verify(at, bytes.length);
    const ms = performance.now() - t0;
    const out = new Uint8Array(x.memory.buffer, Number(packed >> 32n), Number(packed & 0xffffffffn));
    const r = JSON.parse(new TextDecoder().decode(out));
    if (!r.ok) return fail(r.error);
    // What the page shows must be what was verified.
    const b = JSON.parse(new TextDecoder().decode(bytes));
    const shown = (id) => (document.getElementById(id) || {}).textContent;
    if (shown("product-name") !== b.product.name || shown("lot-number") !== b.lot.lot ||
        !!document.getElementById("recall") !== !!b.lot.recall) {
      return fail(say("la pagina non corrisponde ai dati firmati", "the page differs from the signed data"));
    }
    badge.className = "ok";
    badge.dataset.state = "verified";
    badge.dataset.ms = ms.toFixed(1);
    badge.textContent = say("✓ Verificato sul tuo dispositivo", "✓ Verified on your device");
    info.textContent = say(
      `Blocco ${r.height}, firmato da ${r.signers.length} validatori (potere ${r.signed_power} su ${r.total_power}); ${r.records} registrazioni provate in ${ms.toFixed(1)} ms: `,
      `Block ${r.height}, signed by ${r.signers.length} validators (power ${r.signed_power} of ${r.total_power}); ${r.records} records proven in ${ms.toFixed(1)} ms: `,
    ) + r.signers.join(", ");
  } catch (e) {
    fail(String(e));
  }
})();

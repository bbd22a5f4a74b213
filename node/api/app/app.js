// The producers' app. The organisation's key is made here (WebCrypto
// Ed25519, not extractable, kept in IndexedDB) and signs here: the node only
// ever sees signed transactions. Transactions are built by the node's own
// code compiled to WebAssembly (tx.wasm, from sdk/tx), so what is signed is
// exactly what the node verifies. Every submission goes through a queue kept
// on the device, sent in nonce order and followed until the chain answers.
import { WORDS, refusal } from "./i18n.js";

const EXPIRY_BLOCKS = 1000; // as the SDK: the node refuses more than its limit
const COMMIT_WAIT_MS = 60000;
const PAIR_POLL_MS = 1000;
const BATCH_TXS = 100; // transactions per POST /v1/txs/batch (the node takes up to 1,000)
// The node the app talks to: its own origin when the node serves it, or the
// address a static copy was built for (scripts/build-app.sh writes it).
const API = (document.querySelector('meta[name="filiera-api"]')?.content || "").replace(/\/+$/, "");

let lang = localStorage.getItem("filiera-lang") || ((navigator.language || "it").toLowerCase().startsWith("en") ? "en" : "it");
const t = (key, vars = {}) => Object.entries(vars).reduce((s, [k, v]) => s.replace(`{${k}}`, v), WORDS[lang][key] ?? key);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const $ = (sel) => document.querySelector(sel);
const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (h) => new Uint8Array(h.match(/../g).map((b) => parseInt(b, 16)));

// ---- the transaction module -------------------------------------------------
let wasm;
async function loadWasm() {
  const { instance } = await WebAssembly.instantiateStreaming(fetch("tx.wasm"), {});
  wasm = instance.exports;
}
function txCall(request) {
  const input = new TextEncoder().encode(JSON.stringify(request));
  const ptr = wasm.filiera_alloc(input.length);
  new Uint8Array(wasm.memory.buffer, ptr, input.length).set(input);
  const packed = wasm.filiera_tx(ptr, input.length);
  const outPtr = Number(packed >> 32n), outLen = Number(packed & 0xffffffffn);
  const text = new TextDecoder().decode(new Uint8Array(wasm.memory.buffer, outPtr, outLen).slice());
  wasm.filiera_free(outPtr, outLen);
  const answer = JSON.parse(text);
  if (!answer.ok) throw new Error(answer.error);
  return answer;
}

// The spreadsheet module (sheet.wasm, from sdk/sheet): 1.5 MB, so fetched
// only when the spreadsheet screen opens, then kept by the service worker.
let sheetWasm;
async function sheetCall(request, data = new Uint8Array()) {
  if (!sheetWasm) {
    const module = await WebAssembly.compileStreaming(fetch("sheet.wasm"));
    // The XLSX libraries are built for wasm-bindgen glue this app does not
    // use: the workbook writer reads the clock through Date.now (the module
    // then stamps the time the app gives it), and the ZIP library links a
    // random source that it wants only to encrypt an archive. The clock is
    // given; every other import gets a function that refuses.
    const imports = {};
    for (const i of WebAssembly.Module.imports(module)) {
      (imports[i.module] ??= {})[i.name] = i.name.startsWith("__wbg_now_")
        ? () => Date.now()
        : () => { throw new Error(`sheet.wasm asked for ${i.name}`); };
    }
    sheetWasm = (await WebAssembly.instantiate(module, imports)).exports;
  }
  const put = (bytes) => {
    const ptr = sheetWasm.filiera_alloc(bytes.length);
    new Uint8Array(sheetWasm.memory.buffer, ptr, bytes.length).set(bytes);
    return ptr;
  };
  const input = new TextEncoder().encode(JSON.stringify(request));
  const reqPtr = put(input), dataPtr = put(data);
  const packed = sheetWasm.filiera_sheet(reqPtr, input.length, dataPtr, data.length);
  const outPtr = Number(packed >> 32n), outLen = Number(packed & 0xffffffffn);
  const text = new TextDecoder().decode(new Uint8Array(sheetWasm.memory.buffer, outPtr, outLen).slice());
  sheetWasm.filiera_free(outPtr, outLen);
  return JSON.parse(text);
}

/// Hands a file of the spreadsheet module to the browser as a download.
function download(file) {
  const bytes = Uint8Array.from(atob(file.base64), (c) => c.charCodeAt(0));
  const url = URL.createObjectURL(new Blob([bytes], { type: file.mime }));
  const a = document.createElement("a");
  a.href = url;
  a.download = file.file_name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// ---- storage on the device --------------------------------------------------
let db;
function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open("filiera-app", 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore("device");
      req.result.createObjectStore("queue", { keyPath: "id" });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}
function store(name, mode, fn) {
  return new Promise((resolve, reject) => {
    const tr = db.transaction(name, mode);
    const req = fn(tr.objectStore(name));
    tr.oncomplete = () => resolve(req?.result);
    tr.onerror = () => reject(tr.error);
  });
}
const getDevice = () => store("device", "readonly", (s) => s.get("self"));
const putDevice = (d) => store("device", "readwrite", (s) => s.put(d, "self"));
const queueAll = () => store("queue", "readonly", (s) => s.getAll());
const queuePut = (item) => store("queue", "readwrite", (s) => s.put(item));

// ---- the node ----------------------------------------------------------------
async function api(path, options) {
  const response = await fetch(API + path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.message || body.error || `HTTP ${response.status}`);
    error.code = body.code || body.error;
    error.status = response.status;
    throw error;
  }
  return body;
}

// ---- keys ---------------------------------------------------------------------
async function newDevice() {
  const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const pub = hex(await crypto.subtle.exportKey("raw", keys.publicKey));
  const device = { keys, pub, org: null, label: null };
  await putDevice(device);
  return device;
}

// ---- submissions ----------------------------------------------------------------
function notice(kind, text) {
  const n = $("#notice");
  n.className = `notice ${kind}`;
  n.textContent = text;
  n.hidden = !text;
}

// Offline: what is recorded without a connection is kept on the device as
// the action and the time it was recorded, unsigned; it is signed when the
// connection returns, in the order it was recorded, with the next nonces and
// an expiry counted from then. So a morning in the cellar is never lost to a
// transaction's expiry (at most 1,000 blocks, a few minutes), and a retry or
// a second device never leaves a gap: each device has its own key and nonces,
// and nonces are given only when a transaction is signed right before it is
// sent. On chain the event carries its block's time; the time it was
// recorded stays on the device, in the list of submissions.

/// Queue order: by nonce (unsigned ones last), then as recorded.
const byNonce = (a, b) => (a.nonce ?? Infinity) - (b.nonce ?? Infinity) || a.recorded_ms - b.recorded_ms;

/// This device's items that hold a nonce and may still reach the chain.
async function openItems(device) {
  return (await queueAll()).filter((i) => i.sender === device.pub && i.nonce !== null && (i.status === "waiting" || i.status === "sent"));
}

/// The first nonce no open item holds, above the chain's next one (read once
/// per pass, by `pumpOnce`).
async function nextNonce(device, chainNext) {
  return Math.max(chainNext, ...(await openItems(device)).map((i) => i.nonce + 1));
}

/// Signs queued actions with this device's key. An item that was signed
/// before keeps its nonce (only its expiry is new): its earlier copy may
/// still be executed somewhere, and one nonce lets only one of them in. Other
/// items get consecutive nonces after every open one. Online only: the
/// chain's id and height and the key's next nonce come from the node, once.
async function signAll(items, device, status, chainNext) {
  let next = items.some((i) => i.nonce === null) ? await nextNonce(device, chainNext) : 0;
  for (const item of items) {
    const nonce = item.nonce ?? next++;
    const prepared = txCall({ op: "prepare", chain_id: status.chain_id, sender: device.pub, nonce, expiry_height: status.height + EXPIRY_BLOCKS, action: item.action });
    const signature = hex(await crypto.subtle.sign({ name: "Ed25519" }, device.keys.privateKey, unhex(prepared.message)));
    const signed = txCall({ op: "assemble", body: prepared.body, signature });
    Object.assign(item, { tx: signed.tx, tx_id: signed.tx_id, nonce, tx_ids: [...(item.tx_ids || []), signed.tx_id], expiry_height: status.height + EXPIRY_BLOCKS });
    await queuePut(item);
  }
}

/// Queues `action`, sends what waits, and follows it to the chain's answer.
/// Resolves to the queue item (still "waiting" when offline).
async function submit(action, what) {
  const device = await getDevice();
  const item = { id: crypto.randomUUID(), action, what, kind: action.kind, sender: device.pub, tx: null, tx_id: null, tx_ids: [], nonce: null, status: "waiting", reason: null, recorded_ms: Date.now(), resigned: false };
  await queuePut(item);
  await pump();
  // Still waiting while the browser is online: the node said "not now"
  // (busy, a timeout, a lower nonce first); tried again a few times.
  for (let tries = 0; tries < 3 && navigator.onLine; tries += 1) {
    if ((await queueAll()).find((i) => i.id === item.id)?.status !== "waiting") break;
    await new Promise((r) => setTimeout(r, 1000));
    await pump();
  }
  return waitFor(item.id);
}

async function finish(item, status, reason) {
  item.status = status;
  item.reason = reason;
  await queuePut(item);
  // A new product (committed now or after a morning offline) is in the
  // next form's list.
  if (status === "committed" && item.kind === "register_product") directory = null;
}

// Refusals that say only "not now": sent again on the next pass.
const RETRY_LATER = new Set(["busy", "timeout"]);
// HTTP answers that say the same of a whole request.
const retryLater = (status) => status === undefined || status === 0 || status === 408 || status === 429 || status >= 500;
let pumping = null;
// Why the last pass stopped early, for the submissions screen and for tests.
let pumpStop = null;

/// Signs and sends what waits, in nonce order, in batches; stops at the
/// first that cannot go for want of a connection or of the node's room (the
/// rest would leave a gap). One pass at a time.
function pump() {
  pumping = (pumping || Promise.resolve()).then(pumpOnce)
    .catch((e) => { pumpStop = `error ${e.status} ${e.message}`; })
    .then(() => { document.documentElement.dataset.pumpStop = pumpStop ?? ""; });
  return pumping;
}

/// Whether one of the transactions an item was ever signed as is known to
/// the chain: its answer, or null.
async function knownCopy(item) {
  for (const id of item.tx_ids || []) {
    try {
      return { id, answer: await api(`/v1/txs/${id}`) };
    } catch (e) {
      if (e.status !== 404) throw e;
    }
  }
  return null;
}

/// A nonce no open item holds, below the ones that wait (an item refused
/// or found altered after it was signed): the lowest waiting item whose
/// every signed copy has expired takes it, so the ones above can go. One
/// hole per pass; the next pass fills the one this leaves, if any.
async function fillHole(device, status, waiting, next_nonce) {
  if ((await openItems(device)).some((i) => i.nonce === next_nonce)) return;
  const above = waiting.filter((i) => i.nonce !== null && i.nonce > next_nonce && (i.expiry_height ?? 0) < status.height);
  if (!above.length || above.length !== waiting.filter((i) => i.nonce !== null && i.nonce > next_nonce).length) return;
  const lowest = above.reduce((a, b) => (a.nonce < b.nonce ? a : b));
  Object.assign(lowest, { nonce: next_nonce, tx: null, tx_id: null });
  await queuePut(lowest);
  waiting.sort(byNonce);
}

async function pumpOnce() {
  pumpStop = null;
  const device = await getDevice();
  const waiting = (await queueAll())
    .filter((i) => i.status === "waiting" && i.sender === device.pub)
    .sort(byNonce);
  if (!waiting.length) return;
  // The chain's height and this key's next nonce, once for the pass.
  let status, chainNext;
  try {
    status = await api("/v1/status");
    chainNext = (await api(`/v1/accounts/${device.pub}/nonce`)).next_nonce;
  } catch (e) {
    if (retryLater(e.status)) { pumpStop = `status ${e.status} ${e.message}`; notice("wait", t("offline")); return; }
    throw e;
  }
  await fillHole(device, status, waiting, chainNext);
  for (let at = 0; at < waiting.length; at += BATCH_TXS) {
    const batch = waiting.slice(at, at + BATCH_TXS);
    for (const item of batch.filter((i) => i.tx)) {
      try {
        // Altered while stored? Refused here, never sent.
        const seen = txCall({ op: "inspect", tx: item.tx });
        // Expired while it waited: signed again, with its own nonce.
        if (seen.expiry_height <= status.height) Object.assign(item, { tx: null, tx_id: null });
      } catch (e) {
        await finish(item, "failed", String(e.message));
      }
    }
    const live = batch.filter((i) => i.status === "waiting");
    try {
      await signAll(live.filter((i) => !i.tx), device, status, chainNext);
    } catch (e) {
      if (retryLater(e.status)) { pumpStop = `sign ${e.status} ${e.message}`; notice("wait", t("offline")); return; }
      for (const item of live.filter((i) => !i.tx)) await finish(item, "failed", e.code || e.message);
    }
    const ready = live.filter((i) => i.tx && i.status === "waiting").sort((a, b) => a.nonce - b.nonce);
    if (!ready.length) continue;
    // One request for the batch: a borsh Vec, its length then the signed
    // transactions as they are stored.
    const txs = ready.map((i) => unhex(i.tx));
    const body = new Uint8Array(4 + txs.reduce((n, tx) => n + tx.length, 0));
    new DataView(body.buffer).setUint32(0, txs.length, true);
    txs.reduce((offset, tx) => { body.set(tx, offset); return offset + tx.length; }, 4);
    // A kept-alive connection the node closed just as it was reused fails
    // without an answer: the same bytes go once more at once (a copy the
    // node took answers "duplicate").
    let response;
    for (let attempt = 0; !response; attempt += 1) {
      try {
        response = await fetch(`${API}/v1/txs/batch`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body });
      } catch {
        if (attempt === 1) { pumpStop = "post failed twice"; notice("wait", t("offline")); return; }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    // Not now (or maybe admitted, on a timeout): the same bytes go again
    // later; a copy already admitted answers "duplicate".
    if (retryLater(response.status)) { pumpStop = `post ${response.status}`; return; }
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      for (const item of ready) await finish(item, "failed", answer.code || answer.error || `HTTP ${response.status}`);
      continue;
    }
    // Every answer is recorded; the pass stops after a batch where one was
    // not admitted, and starts over from the chain's view.
    let stop = false;
    for (const [i, item] of ready.entries()) {
      const result = answer.results?.[i] ?? {};
      if (result.tx_hash || result.code === "duplicate") {
        await finish(item, "sent", null);
      } else if (RETRY_LATER.has(result.code) || result.code === "nonce_gap") {
        stop = true; // later, in order: a lower nonce goes first
      } else if (result.code === "expired") {
        Object.assign(item, { tx: null, tx_id: null }); // its nonce kept
        await queuePut(item);
        stop = true;
      } else if (result.code === "nonce_used") {
        // Ours, signed before (a timeout, a retry)? Then it is that one.
        const copy = await knownCopy(item).catch(() => null);
        if (copy) {
          item.tx_id = copy.id;
          await finish(item, "sent", null);
        } else if (!item.resigned) {
          Object.assign(item, { tx: null, tx_id: null, nonce: null, resigned: true });
          await queuePut(item);
        } else {
          await finish(item, "failed", result.code);
        }
        stop = true;
      } else {
        await finish(item, "failed", result.code || `HTTP ${response.status}`);
      }
    }
    if (stop) { pumpStop = `results ${JSON.stringify(answer.results)}`; return; }
  }
}

/// Follows a queue item until the chain answers (or the wait ends). A sent
/// transaction the node no longer knows once it has expired waits again, to
/// be signed again with its own nonce.
async function waitFor(id) {
  const deadline = Date.now() + COMMIT_WAIT_MS;
  for (;;) {
    const item = (await queueAll()).find((i) => i.id === id);
    if (item.status !== "sent") return item;
    try {
      const answer = await api(`/v1/txs/${item.tx_id}`);
      if (answer.status === "committed") { await finish(item, "committed", null); return item; }
      if (answer.status === "failed") { await finish(item, "failed", answer.message); return item; }
    } catch (e) {
      if (e.status === undefined) { notice("wait", t("offline")); return item; }
      // Unknown to the node: between a block's commit and its index, or
      // dropped. Only once it has expired can it never be included: then it
      // waits again, to be signed with its own nonce.
      if (e.status === 404 && item.expiry_height !== undefined) {
        const { height } = await api("/v1/status").catch(() => ({ height: 0 }));
        if (height > item.expiry_height) {
          Object.assign(item, { status: "waiting", tx: null, tx_id: null });
          await queuePut(item);
          return item;
        }
      }
    }
    if (Date.now() > deadline) return item;
    await new Promise((r) => setTimeout(r, 300));
  }
}

/// Back online (or the app opened): send what waits, follow what was sent,
/// and show the submissions' new state.
async function settle() {
  await pump();
  const open = (await queueAll()).filter((i) => i.status === "sent");
  let failed = 0;
  for (const item of open) failed += (await waitFor(item.id)).status === "failed" ? 1 : 0;
  if (open.length) notice(failed ? "bad" : "ok", t("settled", { count: open.length }));
  if (location.hash === "#/queue" || location.hash === "#/" || location.hash === "") await route();
}

/// Runs a submission from a form and reports the outcome in words.
async function run(form, action, what, then) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  notice("wait", t("signing"));
  try {
    const item = await submit(action, what);
    if (item.status === "committed") {
      notice("ok", t("committed", { what }));
      if (then) await then();
    } else if (item.status === "failed") {
      notice("bad", t("failed", { why: refusal(lang, item.reason) }));
    } else {
      notice("wait", t("offline"));
    }
  } catch (e) {
    notice("bad", t("failed", { why: e.status === undefined && !e.code ? `${t("r_network")} ${e.message}` : refusal(lang, e.code || e.message) }));
  } finally {
    button.disabled = false;
  }
}

// ---- screens ------------------------------------------------------------------
const main = () => $("#main");
// Each route change counts; a screen drawn after an await is dropped when
// the user has gone elsewhere meanwhile (a slow answer must not paint over
// the screen the user is on).
let routeToken = 0;
function screen(html, token = routeToken) {
  if (token !== routeToken) return false;
  main().innerHTML = html;
  main().focus();
  return true;
}
const field = (id, label, attrs = "", hint = "") =>
  `<label for="${id}">${esc(label)}${hint ? `<span class="hint" id="${id}-hint">${esc(hint)}</span>` : ""}</label><input id="${id}" name="${id}" ${hint ? `aria-describedby="${id}-hint"` : ""} ${attrs}>`;
const backLink = () => `<p><a href="#/">${esc(t("back"))}</a></p>`;

function gtinValid(g) {
  if (!/^\d{14}$/.test(g)) return false;
  const sum = [...g.slice(0, 13)].reduce((s, d, i) => s + Number(d) * (i % 2 === 0 ? 3 : 1), 0);
  return (10 - (sum % 10)) % 10 === Number(g[13]);
}

async function showEnrol(params) {
  screen(`<h1>${esc(t("welcome_title"))}</h1><p>${esc(t("welcome_text", { org: params.get("org") }))}</p>
    <form id="f">${field("label", t("device_label"), 'required maxlength="64" autocomplete="off"', t("device_label_hint"))}
    <div class="actions"><button type="submit">${esc(t("enrol_button"))}</button></div></form>`);
  $("#label").value = lang === "it" ? "telefono 1, amministrazione" : "phone 1, admin";
  $("#f").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    let device = (await getDevice()) || (await newDevice());
    // A key someone else already took (say, from the enrolment seen in the
    // mempool) is given up for a new one.
    if ((await api(`/v1/keys/${device.pub}`)).org) device = await newDevice();
    const status = await api("/v1/status");
    const proof = txCall({ op: "enrol_proof", chain_id: status.chain_id, ticket_seed: params.get("enrol"), device: device.pub });
    const label = $("#label").value.trim();
    await run(ev.target, { kind: "enrol", ticket_key: proof.ticket_key, proof: proof.proof, label }, label, async () => {
      const answer = await api(`/v1/keys/${device.pub}`);
      if (answer.org !== params.get("org")) {
        // Committed but not enrolled: the ticket had expired (it is closed).
        notice("bad", t("enrol_expired"));
        return;
      }
      device.org = answer.org;
      device.label = label;
      await putDevice(device);
      notice("ok", t("enrolled", { org: answer.org }));
      location.hash = "#/";
    });
  });
}

async function showUnpaired() {
  screen(`<h1>${esc(t("unpaired_title"))}</h1><p>${esc(t("unpaired_text"))}</p>
    <div class="actions"><a class="button" href="#/pair">${esc(t("pair_button"))}</a></div>`);
}

/// A new device shows its key as a pairing code. It asks first which
/// organisation it is for, and takes a pairing only from that one: anyone
/// who saw the code could add the key to their own organisation, and this
/// device would then sign for a stranger. Such a key is given up.
async function showPair() {
  screen(`<h1>${esc(t("pair_title"))}</h1><form id="f" novalidate>
    ${field("org", t("pair_org"), 'required autocomplete="organization" spellcheck="false"', t("pair_org_hint"))}
    <p class="error" id="err" role="alert"></p><div class="actions"><button type="submit">${esc(t("pair_button"))}</button></div></form>`);
  $("#f").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const org = $("#org").value.trim();
    if (!org) { $("#err").textContent = t("required"); $("#org").focus(); return; }
    let device = (await getDevice()) || (await newDevice());
    if ((await api(`/v1/keys/${device.pub}`).catch(() => ({}))).org) device = await newDevice();
    showCode(device, org);
  });
}

function showCode(device, org) {
  screen(`<h1>${esc(t("pair_title"))}</h1><p>${esc(t("pair_text"))}</p>
    <p class="code" id="pairing-code">${esc(device.pub)}</p><p role="status" id="pair-status">${esc(t("pair_waiting"))}</p>`);
  const poll = async () => {
    if (location.hash !== "#/pair") return;
    try {
      const answer = await api(`/v1/keys/${device.pub}`);
      if (answer.org && answer.org !== org) {
        notice("bad", t("pair_foreign", { org: answer.org }));
        showCode(await newDevice(), org);
        return;
      }
      if (answer.org) {
        device.org = answer.org;
        device.label = answer.device?.label ?? null;
        await putDevice(device);
        notice("ok", t("paired", { org: answer.org }));
        location.hash = "#/";
        return;
      }
    } catch { /* offline: keep trying */ }
    setTimeout(poll, PAIR_POLL_MS);
  };
  poll();
}

/// The organisation's lots: from the node, or (offline) as last seen.
async function orgLots(device) {
  const cacheKey = `filiera-lots-${device.org}`;
  try {
    const { lots } = await api(`/v1/orgs/${encodeURIComponent(device.org)}/lots`);
    localStorage.setItem(cacheKey, JSON.stringify(lots));
    return { lots, offline: false };
  } catch (e) {
    if (e.status !== undefined) throw e;
    return { lots: JSON.parse(localStorage.getItem(cacheKey) || "[]"), offline: true };
  }
}

async function showHome(device) {
  const token = routeToken;
  const { lots, offline } = await orgLots(device);
  if (offline) notice("wait", t("offline_view"));
  // Read while online, so the forms have it in the field.
  else loadDirectory().catch(() => {});
  const items = lots.map((l) => `<li><strong>${esc(l.lot)}</strong> · ${esc(l.gtin)}<br>
    <span class="meta">${esc(t("lot_status"))}: ${esc(WORDS[lang][`lot_${l.status}`] ?? l.status)} · ${esc(t("quantity"))}: ${esc(l.quantity)} · ${esc(t("holder"))}: ${esc(l.holder)}</span><br>
    <a href="${esc(API)}/01/${esc(l.gtin)}/10/${encodeURIComponent(l.lot)}">${esc(t("consumer_page"))}</a> ·
    <a href="${esc(API)}/qr/01/${esc(l.gtin)}/10/${encodeURIComponent(l.lot)}.svg" class="label-link">${esc(t("label"))}</a></li>`).join("");
  // One A4 sheet of GS1 Digital Link labels per product, for the lots that
  // still have a quantity (the node draws at most 20 a sheet).
  const byGtin = new Map();
  for (const l of lots) {
    if (l.quantity > 0 && l.holder === device.org) byGtin.set(l.gtin, [...(byGtin.get(l.gtin) || []), l.lot]);
  }
  const sheets = [...byGtin].map(([gtin, numbers]) => `<li><a class="sheet-link" href="${esc(API)}/qr/sheet/01/${esc(gtin)}?lots=${numbers.slice(0, 20).map(encodeURIComponent).join(",")}">${esc(t("label_sheet", { gtin, count: Math.min(numbers.length, 20) }))}</a></li>`).join("");
  if (!screen(`<h1>${esc(t("home_title"))}</h1>
    <nav class="menu" aria-label="${esc(t("home_title"))}">
      <a class="button" href="#/lot">${esc(t("menu_new_lot"))}</a><a class="button" href="#/record">${esc(t("menu_record"))}</a>
      <a class="button secondary" href="#/transform">${esc(t("menu_transform"))}</a><a class="button secondary" href="#/split">${esc(t("menu_split"))}</a><a class="button secondary" href="#/merge">${esc(t("menu_merge"))}</a><a class="button secondary" href="#/product">${esc(t("menu_product"))}</a>
      <a class="button secondary" href="#/devices">${esc(t("menu_devices"))}</a><a class="button secondary" href="#/queue">${esc(t("menu_queue"))}</a>
      <a class="button secondary" href="#/sheets">${esc(t("menu_sheets"))}</a><a class="button secondary" href="#/recall">${esc(t("menu_recall"))}</a>
    </nav>
    ${items ? `<ul class="list" id="lots">${items}</ul>` : `<p>${esc(t("no_lots"))}</p>`}
    ${sheets ? `<h2>${esc(t("labels_title"))}</h2><ul class="list" id="sheets">${sheets}</ul>` : ""}
    <section id="rules-ahead" hidden><h2>${esc(t("rules_ahead_title"))}</h2><ul class="list"></ul></section>`, token)) return;
  if (!offline) showRulesAhead(device, lots, token).catch(() => {});
}

/// Amendments approved with a date still ahead, for the protected names of
/// the products this organisation has lots of: a producer hears of a
/// change before it applies, and which of its products it reaches.
const RULES_FIELDS = ["area", "inputs", "steps", "durations", "max_yield_permille", "units", "notes"];
function underRules(product, rules) {
  const [name, ruled] = [plain(product.name), plain(rules.name)];
  return product.scheme === rules.scheme && (name === ruled || name.startsWith(`${ruled} `));
}
async function showRulesAhead(device, lots, token) {
  const [{ rules }, dir] = await Promise.all([api("/v1/rules"), loadDirectory()]);
  const items = [];
  for (const named of rules) {
    const current = named.versions.find((v) => v.state === "applies");
    for (const ahead of named.versions.filter((v) => v.state === "ahead")) {
      const products = dir.products.filter((p) => underRules(p, ahead)).map((p) => p.gtin);
      const mine = lots.filter((l) => products.includes(l.gtin));
      if (!mine.length && !dir.products.some((p) => p.owner === device.org && products.includes(p.gtin))) continue;
      const changes = RULES_FIELDS.filter((f) => !current || JSON.stringify(current[f]) !== JSON.stringify(ahead[f]))
        .map((f) => t(`rules_field_${f}`)).join(", ");
      items.push(`<li>${esc(t("rules_ahead", {
        scheme: ahead.scheme, name: ahead.name, version: ahead.version, current: current ? current.version : "-",
        date: new Date(ahead.applies_from_ms).toLocaleDateString(lang), changes, count: mine.length,
      }))}</li>`);
    }
  }
  if (token !== routeToken || !items.length) return;
  const section = $("#rules-ahead");
  section.querySelector("ul").innerHTML = items.join("");
  section.hidden = false;
}

/// The GTIN and lot of a lot option: a lot number may itself contain "/".
function lotOf(value) {
  return [String(value).slice(0, 14), String(value).slice(15)];
}

/// The lots a form may name: those the organisation holds, or (a recall)
/// those it made, wherever they are now.
async function lotOptions(device, role = "holder") {
  const { lots } = await orgLots(device);
  return lots.filter((l) => l[role] === device.org)
    .map((l) => `<option value="${esc(l.gtin)}/${esc(l.lot)}" data-quantity="${esc(l.quantity)}">${esc(l.lot)} · ${esc(l.gtin)} (${esc(l.quantity)})</option>`).join("");
}

function showProduct() {
  screen(`<h1>${esc(t("product_title"))}</h1><form id="f" novalidate>
    ${field("gtin", t("gtin"), 'required inputmode="numeric" autocomplete="off"', t("gtin_hint"))}
    ${field("name", t("product_name"), 'required maxlength="200"')}
    <label for="scheme">${esc(t("scheme"))}</label><select id="scheme"><option>DOP</option><option>IGP</option><option>DOC</option><option>DOCG</option><option>none</option></select>
    <label for="uom">${esc(t("uom"))}</label><select id="uom"><option>kg</option><option>l</option><option>pcs</option></select>
    ${field("yield", t("max_yield"), 'required inputmode="numeric" value="1000"')}
    <p class="error" id="err" role="alert"></p><div class="actions"><button type="submit">${esc(t("submit"))}</button></div></form>${backLink()}`);
  $("#f").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const gtin = $("#gtin").value.trim();
    if (!gtinValid(gtin)) { $("#err").textContent = t("bad_gtin"); $("#gtin").focus(); return; }
    const name = $("#name").value.trim();
    if (!name) { $("#err").textContent = t("required"); $("#name").focus(); return; }
    $("#err").textContent = "";
    run(ev.target, { kind: "register_product", gtin, name, scheme: $("#scheme").value, uom: $("#uom").value, max_yield_permille: Number($("#yield").value) }, name);
  });
}

function positive(text) {
  return /^\d+$/.test(text) && Number(text) > 0 ? Number(text) : null;
}

// ---- the directory: catalogue, products, partners ------------------------------
// What the forms are filled from, kept on the device for offline use: the
// genesis catalogue (which protected name a product is, hence its steps),
// the chain's products (units, yields, owners) and its organisations (a
// shipment's partner is picked, not typed).
// Read again after DIRECTORY_FRESH_MS, or at once after this device
// registers a product.
const DIRECTORY_FRESH_MS = 300000;
let directory = null, directoryRead = 0;
async function loadDirectory() {
  if (directory && Date.now() - directoryRead < DIRECTORY_FRESH_MS) return directory;
  try {
    const [catalogue, { products }, { orgs }] = await Promise.all([api("/v1/catalogue"), api("/v1/products"), api("/v1/orgs")]);
    directory = { catalogue, products, orgs };
    directoryRead = Date.now();
    localStorage.setItem("filiera-directory", JSON.stringify(directory));
  } catch (e) {
    // Offline, or the node busy or older: the last copy, if there is one.
    const kept = directory || JSON.parse(localStorage.getItem("filiera-directory") || "null");
    if (!kept && e.status !== undefined) throw e;
    directory = kept || { catalogue: { products: [] }, products: [], orgs: [] };
  }
  return directory;
}

const plain = (text) => String(text).normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[’`]/g, "'").toLowerCase();

/// The catalogue's category of a product: its own entry, or the protected
/// name its name carries ("Casciotta d'Urbino DOP, forma 1 kg" is a
/// Casciotta d'Urbino). Null when none applies.
function categoryOf(gtin, dir) {
  const listed = dir.catalogue.products.find((p) => p.gtin === gtin);
  if (listed) return listed.category;
  const product = dir.products.find((p) => p.gtin === gtin);
  if (!product) return null;
  const name = plain(product.name);
  const named = dir.catalogue.products.filter((p) => name.includes(plain(p.name)))
    .sort((a, b) => b.name.length - a.name.length)[0];
  return named ? named.category : null;
}

/// The steps of making, by category, that the record form offers before the
/// generic events: each is a `store` event whose note opens with its tag
/// (the consumer page names it; node/api/src/page.rs STEPS).
const STEPS_OF = {
  cheese: ["ageing_start", "ageing_end"],
  "cured meat": ["ageing_start", "ageing_end", "drying"],
  wine: ["ageing_start", "ageing_end"],
  pasta: ["drying"],
};

/// Whether the lot's history leaves an ageing open (its last ageing tag is
/// a start): read before an ageing step is signed, when online.
async function ageingOpen(gtin, lot) {
  const record = await api(`/v1/lots/${gtin}/${encodeURIComponent(lot)}`);
  const tags = (record.history || []).map((e) => e.note || "").filter((n) => /^#ageing_(start|end)\b/.test(n));
  return tags.length ? tags[tags.length - 1].startsWith("#ageing_start") : false;
}

const productOptions = (products) => products.map((p) => `<option value="${esc(p.gtin)}" data-uom="${esc(p.uom)}" data-yield="${esc(p.max_yield_permille)}">${esc(p.name)} · ${esc(p.gtin)}</option>`).join("");

async function showLot(device) {
  const token = routeToken;
  const dir = await loadDirectory();
  const own = dir.products.filter((p) => p.owner === device.org);
  if (!screen(`<h1>${esc(t("lot_title"))}</h1>${own.length ? `<form id="f" novalidate>
    <label for="gtin">${esc(t("product_pick"))}</label><select id="gtin" required>${productOptions(own)}</select>
    ${field("lot", t("lot_number"), 'required maxlength="20" autocomplete="off"')}
    ${field("quantity", t("quantity"), 'required inputmode="numeric"', " ")}
    ${field("site", t("site"), 'inputmode="numeric" autocomplete="off"')}
    <p class="error" id="err" role="alert"></p><div class="actions"><button type="submit">${esc(t("submit"))}</button></div></form>`
    : `<p>${esc(t("no_products"))}</p><p><a class="button" href="#/product">${esc(t("menu_product"))}</a></p>`}${backLink()}`, token)) return;
  if (!own.length) return;
  // The unit the quantity is counted in, beside it.
  const unit = () => { $("#quantity-hint").textContent = t("unit_is", { uom: $("#gtin").selectedOptions[0].dataset.uom }); };
  $("#gtin").addEventListener("change", unit);
  unit();
  $("#f").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const gtin = $("#gtin").value, lot = $("#lot").value.trim(), quantity = positive($("#quantity").value.trim());
    if (!lot) { $("#err").textContent = t("required"); $("#lot").focus(); return; }
    if (!quantity) { $("#err").textContent = t("bad_quantity"); $("#quantity").focus(); return; }
    $("#err").textContent = "";
    const site = $("#site").value.trim() || null;
    run(ev.target, { kind: "commission", gtin, lot, quantity, site }, `${lot} (${gtin})`);
  });
}

async function showRecord(device) {
  const token = routeToken;
  const events = ["store", "inspect", "ship", "receive", "hold", "release", "sell", "destroy"];
  const [options, dir] = await Promise.all([lotOptions(device), loadDirectory()]);
  const partners = dir.orgs.filter((o) => o.id !== device.org && o.status === "active");
  if (!screen(`<h1>${esc(t("record_title"))}</h1><form id="f" novalidate>
    <label for="lot">${esc(t("lot"))}</label><select id="lot" required>${options}</select>
    <label for="event">${esc(t("event"))}</label><select id="event"></select>
    <div id="to-box" hidden>${field("to", t("to_org"), 'autocomplete="off" list="partners" spellcheck="false"', t("to_org_hint"))}
      <datalist id="partners">${partners.map((o) => `<option value="${esc(o.id)}">${esc(o.name)}</option>`).join("")}</datalist></div>
    ${field("note", t("note"), 'maxlength="180"')}
    <p class="error" id="err" role="alert"></p><div class="actions"><button type="submit">${esc(t("submit"))}</button></div></form>${backLink()}`, token)) return;
  // The product's own steps first, then what happens to any lot.
  const fillEvents = () => {
    const [gtin] = lotOf($("#lot").value);
    const steps = STEPS_OF[categoryOf(gtin, dir)] || [];
    $("#event").innerHTML = (steps.length ? `<optgroup label="${esc(t("steps_group"))}">${steps.map((c) => `<option value="step:${c}">${esc(t(`step_${c}`))}</option>`).join("")}</optgroup>` : "")
      + `<optgroup label="${esc(t("events_group"))}">${events.map((e) => `<option value="${e}">${esc(t(`ev_${e}`))}</option>`).join("")}</optgroup>`;
    $("#to-box").hidden = true;
  };
  $("#lot").addEventListener("change", fillEvents);
  fillEvents();
  $("#event").addEventListener("change", () => { $("#to-box").hidden = $("#event").value !== "ship"; });
  $("#f").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const button = form.querySelector("button[type=submit]");
    if (button.disabled) return; // a second tap while the history is read
    const [gtin, lot] = lotOf($("#lot").value);
    if (!lot) { $("#err").textContent = t("required"); return; }
    const choice = $("#event").value;
    const step = choice.startsWith("step:") ? choice.slice(5) : null;
    const event = step ? "store" : choice;
    const to = event === "ship" ? $("#to").value.trim() : null;
    if (event === "ship" && !partners.some((o) => o.id === to)) { $("#err").textContent = t("pick_partner"); $("#to").focus(); return; }
    // The order of an ageing, checked against the lot's history before
    // anything is signed (offline: left to the record's reader).
    if (step === "ageing_start" || step === "ageing_end") {
      button.disabled = true;
      const open = await ageingOpen(gtin, lot).catch(() => null);
      button.disabled = false;
      if (open === true && step === "ageing_start") { $("#err").textContent = t("ageing_open"); return; }
      if (open === false && step === "ageing_end") { $("#err").textContent = t("ageing_not_started"); return; }
    }
    $("#err").textContent = "";
    const words = $("#note").value.trim();
    const note = step ? `#${step}${words ? ` ${words}` : ""}` : words;
    run(form, { kind: "record", gtin, lot, event, to, note }, `${step ? t(`step_${step}`) : t(`ev_${event}`)}: ${lot}`);
  });
}

/// Lots made into new lots of the organisation's own products (milk into
/// cheese, grapes into wine): what is drawn from each held lot, what is
/// made; the contract's rules (no more than held, no more out than the
/// product's yield allows) are checked here first.
async function showTransform(device) {
  const token = routeToken;
  const [{ lots }, dir] = await Promise.all([orgLots(device), loadDirectory()]);
  const held = lots.filter((l) => l.holder === device.org && l.status === "active" && l.quantity > 0);
  const own = dir.products.filter((p) => p.owner === device.org);
  const nameOf = (gtin) => dir.products.find((p) => p.gtin === gtin)?.name ?? gtin;
  const inputs = held.map((l, i) => `<li><label for="in-${i}">${esc(l.lot)} · ${esc(nameOf(l.gtin))} (${esc(t("available", { quantity: l.quantity }))})</label>
    <input id="in-${i}" class="draw" inputmode="numeric" autocomplete="off" data-gtin="${esc(l.gtin)}" data-lot="${esc(l.lot)}" data-quantity="${esc(l.quantity)}"></li>`).join("");
  if (!screen(`<h1>${esc(t("transform_title"))}</h1><p>${esc(t("transform_text"))}</p>${held.length && own.length ? `<form id="f" novalidate>
    <fieldset><legend>${esc(t("transform_inputs"))}</legend><ul class="list" id="inputs">${inputs}</ul></fieldset>
    <label for="gtin">${esc(t("transform_output"))}</label><select id="gtin" required>${productOptions(own)}</select>
    ${field("lot", t("lot_number"), 'required maxlength="20" autocomplete="off"')}
    ${field("quantity", t("quantity"), 'required inputmode="numeric"', " ")}
    <p class="error" id="err" role="alert"></p><div class="actions"><button type="submit">${esc(t("submit"))}</button></div></form>`
    : `<p>${esc(held.length ? t("no_products") : t("no_lots"))}</p>`}${backLink()}`, token)) return;
  if (!(held.length && own.length)) return;
  const unit = () => { $("#quantity-hint").textContent = t("unit_is", { uom: $("#gtin").selectedOptions[0].dataset.uom }); };
  $("#gtin").addEventListener("change", unit);
  unit();
  $("#f").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const err = (text, focus) => { $("#err").textContent = text; focus?.focus(); };
    const drawn = [];
    for (const input of main().querySelectorAll(".draw")) {
      const text = input.value.trim();
      if (!text) continue;
      const q = positive(text);
      if (!q) return err(t("bad_quantity"), input);
      if (q > Number(input.dataset.quantity)) return err(t("over_held", { lot: input.dataset.lot, quantity: input.dataset.quantity }), input);
      drawn.push([input.dataset.gtin, input.dataset.lot, q]);
    }
    if (!drawn.length) return err(t("transform_none"), main().querySelector(".draw"));
    const gtin = $("#gtin").value, lot = $("#lot").value.trim(), quantity = positive($("#quantity").value.trim());
    if (!lot) return err(t("required"), $("#lot"));
    if (!quantity) return err(t("bad_quantity"), $("#quantity"));
    // The contract's yield rule: each unit made needs 1000 / yield of input.
    const yieldPermille = Number($("#gtin").selectedOptions[0].dataset.yield);
    const total = drawn.reduce((sum, [, , q]) => sum + q, 0);
    const most = Math.floor((total * yieldPermille) / 1000);
    if (quantity > most) return err(t("yield_exceeded", { most, total }), $("#quantity"));
    $("#err").textContent = "";
    run(ev.target, { kind: "transform", inputs: drawn, outputs: [[gtin, lot, quantity]] }, `${t("transform_title")}: ${lot} (${gtin})`);
  });
}

async function showSplit(device) {
  const token = routeToken;
  if (!screen(`<h1>${esc(t("split_title"))}</h1><form id="f" novalidate>
    <label for="lot">${esc(t("lot"))}</label><select id="lot" required>${await lotOptions(device)}</select>
    <label for="parts">${esc(t("parts"))}<span class="hint" id="parts-hint">${esc(t("parts_hint"))}</span></label>
    <textarea id="parts" rows="4" aria-describedby="parts-hint" required></textarea>
    <p class="error" id="err" role="alert"></p><div class="actions"><button type="submit">${esc(t("submit"))}</button></div></form>${backLink()}`, token)) return;
  $("#f").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const [gtin, lot] = lotOf($("#lot").value);
    const parts = $("#parts").value.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
      const at = l.lastIndexOf("=");
      return at > 0 ? [l.slice(0, at).trim(), positive(l.slice(at + 1).trim())] : [l, null];
    });
    if (!lot || parts.length === 0 || parts.some(([n, q]) => !n || !q)) { $("#err").textContent = t("bad_quantity"); return; }
    // The contract's rule, checked before anything is signed.
    const quantity = Number($("#lot").selectedOptions[0].dataset.quantity);
    const sum = parts.reduce((s, [, q]) => s + q, 0);
    if (sum !== quantity) { $("#err").textContent = t("split_sum", { sum, quantity }); $("#parts").focus(); return; }
    $("#err").textContent = "";
    run(ev.target, { kind: "split", gtin, lot, parts }, `${t("menu_split")}: ${lot}`);
  });
}

/// Whole lots of one product made one (two cheese makings aged together,
/// two tanks blended): the contract's rules checked first.
const MERGE_LOTS_MAX = 32; // the lots contract's LOT_LINKS_MAX
async function showMerge(device) {
  const token = routeToken;
  const { lots } = await orgLots(device);
  const held = lots.filter((l) => l.holder === device.org && l.status === "active" && l.quantity > 0);
  const boxes = held.map((l, i) => `<li><label class="check"><input type="checkbox" class="merge" id="m-${i}" value="${esc(l.gtin)}/${esc(l.lot)}">
    ${esc(l.lot)} · ${esc(l.gtin)} (${esc(l.quantity)})</label></li>`).join("");
  if (!screen(`<h1>${esc(t("merge_title"))}</h1><p>${esc(t("merge_text"))}</p>${held.length >= 2 ? `<form id="f" novalidate>
    <fieldset><legend>${esc(t("merge_lots"))}</legend><ul class="list" id="merge-lots">${boxes}</ul></fieldset>
    ${field("into", t("merge_into"), 'required maxlength="20" autocomplete="off"')}
    <p class="error" id="err" role="alert"></p><div class="actions"><button type="submit">${esc(t("submit"))}</button></div></form>`
    : `<p>${esc(t("merge_none"))}</p>`}${backLink()}`, token)) return;
  if (held.length < 2) return;
  $("#f").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const picked = [...main().querySelectorAll(".merge:checked")].map((b) => lotOf(b.value));
    const into = $("#into").value.trim();
    if (picked.length < 2) { $("#err").textContent = t("merge_two"); return; }
    if (picked.length > MERGE_LOTS_MAX) { $("#err").textContent = t("merge_too_many", { max: MERGE_LOTS_MAX }); return; }
    if (new Set(picked.map(([gtin]) => gtin)).size !== 1) { $("#err").textContent = t("merge_same_product"); return; }
    if (!into) { $("#err").textContent = t("required"); $("#into").focus(); return; }
    $("#err").textContent = "";
    const gtin = picked[0][0];
    run(ev.target, { kind: "merge", gtin, lots: picked.map(([, lot]) => lot), into }, `${t("merge_title")}: ${into} (${gtin})`);
  });
}

/// A recall of a lot and of every lot made from it: for devices with the
/// recall right. Confirmed by a box the user ticks, since it cannot be
/// undone from the app.
async function showRecall(device) {
  const token = routeToken;
  if (!screen(`<h1>${esc(t("recall_title"))}</h1><p>${esc(t("recall_text"))}</p><form id="f" novalidate>
    <label for="lot">${esc(t("lot"))}</label><select id="lot" required>${await lotOptions(device, "owner")}</select>
    ${field("reason", t("recall_reason"), 'required maxlength="200" autocomplete="off"')}
    <label class="check"><input type="checkbox" id="sure"> ${esc(t("recall_sure"))}</label>
    <p class="error" id="err" role="alert"></p><div class="actions"><button type="submit" class="danger">${esc(t("recall_button"))}</button></div></form>${backLink()}`, token)) return;
  $("#f").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const [gtin, lot] = lotOf($("#lot").value);
    const reason = $("#reason").value.trim();
    if (!lot || !reason) { $("#err").textContent = t("required"); $("#reason").focus(); return; }
    if (!$("#sure").checked) { $("#err").textContent = t("recall_unsure"); $("#sure").focus(); return; }
    $("#err").textContent = "";
    run(ev.target, { kind: "recall", gtin, lot, reason }, `${t("recall_title")}: ${lot}`);
  });
}

async function showDevices(device) {
  const token = routeToken;
  const org = await api(`/v1/orgs/${encodeURIComponent(device.org)}`);
  const rightsText = (r) => [["right_admin", 1], ["right_record", 2], ["right_recall", 4]].filter(([, b]) => r & b).map(([k]) => t(k)).join(", ");
  const rows = org.devices.map((d) => `<li><strong>${esc(d.label ?? t("key_from_authority"))}</strong>${d.key === device.pub ? ` (${esc(t("this_device"))})` : ""}<br>
    <span class="meta">${esc(rightsText(d.rights))}${d.expires_ms ? ` · ${esc(t("expires"))}: ${esc(new Date(d.expires_ms).toLocaleDateString(lang))}` : ""}</span><br>
    <span class="meta">${esc(d.key.slice(0, 16))}…</span>
    ${d.key !== device.pub ? `<br><button type="button" class="danger" data-revoke="${esc(d.key)}" data-label="${esc(d.label ?? d.key.slice(0, 8))}">${esc(t("revoke"))}</button>` : ""}</li>`).join("");
  if (!screen(`<h1>${esc(t("devices_title"))}</h1><p>${esc(t("org_code"))}: <strong id="org-code">${esc(device.org)}</strong></p><ul class="list" id="devices">${rows}</ul>
    <h2>${esc(t("add_device"))}</h2><form id="f" novalidate>
    ${field("code", t("pairing_code"), 'required autocomplete="off" spellcheck="false"')}
    ${field("label", t("device_label"), 'required maxlength="64" autocomplete="off"', t("device_label_hint"))}
    <fieldset><legend>${esc(t("rights"))}</legend>
      <label class="check"><input type="checkbox" id="r-admin"> ${esc(t("right_admin"))}</label>
      <label class="check"><input type="checkbox" id="r-record" checked> ${esc(t("right_record"))}</label>
      <label class="check"><input type="checkbox" id="r-recall"> ${esc(t("right_recall"))}</label>
    </fieldset>
    <label for="expires">${esc(t("expires"))}</label><input type="date" id="expires">
    <p class="error" id="err" role="alert"></p><div class="actions"><button type="submit">${esc(t("submit"))}</button></div></form>
    <form id="revoke-form" hidden><button type="submit"></button></form>${backLink()}`, token)) return;
  main().querySelectorAll("[data-revoke]").forEach((b) => b.addEventListener("click", () => {
    // Two steps instead of a dialog: the second press confirms.
    if (b.dataset.armed !== "1") {
      b.dataset.armed = "1";
      b.textContent = t("revoke_confirm", { label: b.dataset.label });
      return;
    }
    const f = $("#revoke-form");
    run(f, { kind: "revoke_device", key: b.dataset.revoke }, `${t("revoke")}: ${b.dataset.label}`, () => showDevices(device));
  }));
  $("#f").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const key = $("#code").value.replace(/\s+/g, "").toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(key)) { $("#err").textContent = t("required"); $("#code").focus(); return; }
    const label = $("#label").value.trim();
    if (!label) { $("#err").textContent = t("required"); $("#label").focus(); return; }
    const rights = ($("#r-admin").checked ? 1 : 0) | ($("#r-record").checked ? 2 : 0) | ($("#r-recall").checked ? 4 : 0);
    const expires = $("#expires").value ? Date.parse(`${$("#expires").value}T23:59:59Z`) : 0;
    $("#err").textContent = "";
    run(ev.target, { kind: "add_device", key, label, rights, expires_ms: expires }, label, () => showDevices(device));
  });
}

/// Spreadsheets: templates, an import checked row by row before anything
/// is signed, then signed and sent in batches with its progress shown; and
/// the organisation's lots and events exported.
async function showSheets(device) {
  const kinds = ["lots", "events"];
  screen(`<h1>${esc(t("sheets_title"))}</h1>
    <h2>${esc(t("import_title"))}</h2><p>${esc(t("import_text"))}</p>
    <form id="f" novalidate>
      <label for="kind">${esc(t("sheet_kind"))}</label><select id="kind">${kinds.map((k) => `<option value="${k}">${esc(t(`kind_${k}`))}</option>`).join("")}</select>
      <p>${esc(t("templates"))}: <button type="button" class="secondary" id="tpl-csv">CSV</button> <button type="button" class="secondary" id="tpl-xlsx">XLSX</button></p>
      <label for="file">${esc(t("sheet_file"))}<span class="hint" id="file-hint">${esc(t("sheet_file_hint"))}</span></label>
      <input type="file" id="file" accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" aria-describedby="file-hint">
      <p class="error" id="err" role="alert"></p>
      <div class="actions"><button type="submit">${esc(t("check_button"))}</button></div>
    </form>
    <div id="report" aria-live="polite"></div>
    <h2>${esc(t("export_title"))}</h2><p>${esc(t("export_text"))}</p>
    <div class="actions"><button type="button" class="secondary" data-export="csv_lots">${esc(t("export_csv_lots"))}</button>
      <button type="button" class="secondary" data-export="csv_events">${esc(t("export_csv_events"))}</button>
      <button type="button" class="secondary" data-export="xlsx">${esc(t("export_xlsx"))}</button>
      <button type="button" class="secondary" data-export="epcis">${esc(t("export_epcis"))}</button></div>
    ${backLink()}`);
  const template = async (format) => {
    const file = await sheetCall({ op: "template", kind: $("#kind").value, format, lang, now_ms: Date.now() });
    if (file.ok) download(file); else notice("bad", file.error);
  };
  $("#tpl-csv").addEventListener("click", () => template("csv").catch(fail));
  $("#tpl-xlsx").addEventListener("click", () => template("xlsx").catch(fail));
  $("#f").addEventListener("submit", (ev) => {
    ev.preventDefault();
    checkSheet(device).catch(fail);
  });
  main().querySelectorAll("[data-export]").forEach((b) => b.addEventListener("click", () => exportSheet(device, b).catch(fail)));
}

async function checkSheet(device) {
  const picked = $("#file").files[0];
  if (!picked) { $("#err").textContent = t("required"); $("#file").focus(); return; }
  $("#err").textContent = "";
  const kind = $("#kind").value;
  const data = new Uint8Array(await picked.arrayBuffer());
  // What the dry run checks against: the organisation's lots, and the
  // products the file names as the chain knows them.
  const { lots } = await orgLots(device);
  let report = await sheetCall({ op: "check", kind, context: { org: device.org, lots, products: [] } }, data);
  if (report.ok && kind === "lots") {
    const products = [];
    for (const gtin of report.gtins) {
      const p = await api(`/v1/products/${gtin}`).catch(() => null);
      if (p) products.push({ gtin, owner: p.owner });
    }
    report = await sheetCall({ op: "check", kind, context: { org: device.org, lots, products } }, data);
  }
  const box = $("#report");
  if (!report.ok) {
    box.innerHTML = `<p class="error" role="alert">${esc(t(report.code, { column: report.column ?? "", row: report.row ?? "" }))}</p>`;
    return;
  }
  const bad = report.rows.filter((r) => r.errors.length);
  const ignored = report.ignored_columns.length ? `<p>${esc(t("ignored_columns", { columns: report.ignored_columns.join(", ") }))}</p>` : "";
  const rows = bad.map((r) => `<li><strong>${esc(t("row", { row: r.row }))}</strong>: ${r.errors.map((e) => `${esc(e.column)} — ${esc(t(`x_${e.code}`))}`).join("; ")}</li>`).join("");
  if (bad.length) {
    box.innerHTML = `<h3>${esc(t("dry_run_bad", { bad: bad.length, good: report.good }))}</h3>${ignored}<ul class="list" id="bad-rows">${rows}</ul><p>${esc(t("dry_run_fix"))}</p>`;
    return;
  }
  box.innerHTML = `<h3>${esc(t("dry_run_good", { good: report.good }))}</h3>${ignored}
    <form id="send"><div class="actions"><button type="submit">${esc(t("sign_rows", { good: report.good }))}</button></div></form>
    <label for="progress">${esc(t("progress"))}</label><progress id="progress" max="${report.good}" value="0"></progress>
    <p id="progress-text" role="status"></p>`;
  $("#send").addEventListener("submit", (ev) => {
    ev.preventDefault();
    ev.target.querySelector("button").disabled = true;
    sendRows(device, report.rows.map((r) => r.action), picked.name).catch(fail);
  });
}

/// Queues every row's action (in file order), sends them in batches and
/// follows them to the chain's answer, showing how far it got.
async function sendRows(device, actions, fileName) {
  const importId = crypto.randomUUID();
  const now = Date.now();
  for (const [i, action] of actions.entries()) {
    const what = action.kind === "commission" ? `${action.lot} (${action.gtin})` : `${t(`ev_${action.event}`)}: ${action.lot}`;
    await queuePut({ id: crypto.randomUUID(), import_id: importId, action, what: `${what} · ${fileName}`, kind: action.kind, sender: device.pub, tx: null, tx_id: null, tx_ids: [], nonce: null, status: "waiting", reason: null, recorded_ms: now + i, resigned: false });
  }
  const progress = async () => {
    const mine = (await queueAll()).filter((i) => i.import_id === importId);
    const done = mine.filter((i) => i.status === "committed" || i.status === "failed");
    const failed = mine.filter((i) => i.status === "failed").length;
    $("#progress").value = done.length;
    $("#progress-text").textContent = t("progress_text", { done: done.length, total: mine.length, failed });
    return { mine, done, failed };
  };
  notice("wait", t("signing"));
  await pump();
  // Until every row has its answer; while rows wait, the queue is sent
  // again; a minute without progress leaves the rest to the queue (the
  // submissions screen, the next connection).
  let last = -1, since = Date.now();
  for (;;) {
    if (!$("#progress")) return; // the user went elsewhere; the queue goes on
    const { mine, done, failed } = await progress();
    if (done.length === mine.length) {
      notice(failed ? "bad" : "ok", t("import_done", { done: done.length - failed, failed }));
      return;
    }
    if (done.length !== last) { last = done.length; since = Date.now(); }
    if (Date.now() - since > COMMIT_WAIT_MS) { notice("wait", t("import_waiting", { left: mine.length - done.length })); return; }
    const sent = mine.find((i) => i.status === "sent");
    if (sent) await waitFor(sent.id);
    else { await pump(); await new Promise((r) => setTimeout(r, 500)); }
  }
}

async function exportSheet(device, button) {
  button.disabled = true;
  try {
    const { lots } = await api(`/v1/orgs/${encodeURIComponent(device.org)}/lots`);
    const full = [];
    for (const l of lots) {
      // One read per lot: past the node's read allowance (429), wait and go on.
      for (let tries = 0; ; tries += 1) {
        try {
          full.push(await api(`/v1/lots/${l.gtin}/${encodeURIComponent(l.lot)}`));
          break;
        } catch (e) {
          if (e.status !== 429 || tries >= 30) throw e;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    }
    const file = await sheetCall({ op: "export", what: button.dataset.export, lots: full, lang, now_ms: Date.now() });
    if (file.ok) download(file); else notice("bad", file.error);
  } finally {
    button.disabled = false;
  }
}

async function showQueue() {
  const token = routeToken;
  const items = (await queueAll()).sort((a, b) => b.recorded_ms - a.recorded_ms);
  const tag = { waiting: "wait", sent: "wait", committed: "ok", failed: "bad" };
  const rows = items.map((i) => `<li><strong>${esc(i.what)}</strong> <span class="tag ${tag[i.status]}">${esc(t(`st_${i.status}`))}</span><br>
    <span class="meta">${esc(new Date(i.recorded_ms).toLocaleString(lang))}${i.reason ? ` · ${esc(refusal(lang, i.reason))}` : ""}</span></li>`).join("");
  if (!screen(`<h1>${esc(t("queue_title"))}</h1>${rows ? `<ul class="list" id="queue">${rows}</ul>` : `<p>${esc(t("queue_empty"))}</p>`}${backLink()}`, token)) return;
}

// ---- routing --------------------------------------------------------------------
let enrolParams = null;

async function route() {
  routeToken += 1;
  const device = await getDevice();
  const hash = location.hash || "#/";
  if (enrolParams && !(device && device.org)) return showEnrol(enrolParams);
  if (hash === "#/pair") return showPair();
  if (!device || !device.org) return showUnpaired();
  $("#org-name").textContent = device.org;
  const screens = { "#/lot": showLot, "#/record": showRecord, "#/transform": showTransform, "#/split": showSplit, "#/merge": showMerge, "#/product": showProduct, "#/devices": showDevices, "#/queue": showQueue, "#/sheets": showSheets, "#/recall": showRecall };
  return (screens[hash] || showHome)(device);
}

function applyLanguage() {
  document.documentElement.lang = lang;
  $("#skip-link").textContent = t("skip");
  $("#lang").textContent = t("switch_to");
  $("#lang").setAttribute("aria-label", t("switch_label"));
}

async function start() {
  applyLanguage();
  $("#lang").addEventListener("click", () => {
    lang = lang === "it" ? "en" : "it";
    localStorage.setItem("filiera-lang", lang);
    applyLanguage();
    route();
  });
  // The enrolment link's secret leaves the address bar and the history at
  // once, whatever happens next.
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("enrol")) {
    enrolParams = fragment;
    history.replaceState(null, "", `${location.pathname}#/enrol`);
  }
  if (!window.isSecureContext || !crypto.subtle) {
    screen(`<h1>${esc(t("insecure_title"))}</h1><p>${esc(t("insecure_text"))}</p>`);
    return;
  }
  db = await openDb();
  await loadWasm();
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js").catch(() => {});
  window.addEventListener("hashchange", () => route().catch(fail));
  window.addEventListener("online", () => settle().catch(fail));
  await route();
  settle().catch(() => {});
}

function fail(e) {
  notice("bad", t("failed", { why: refusal(lang, e.code || e.message) }));
}

start().catch(fail);

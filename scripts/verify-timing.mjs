// Times the consumer page's verifier (node/api/assets/verify.wasm) on a lot
// bundle, in V8 (the engine of Chromium), the way the page calls it.
//
//   node scripts/verify-timing.mjs http://127.0.0.1:PORT/01/GTIN/10/LOT [RUNS]
//
// Prints the compile time and the median and worst verification time.
import { readFile } from "node:fs/promises";

const [url, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 50);
const wasm = await readFile(new URL("../node/api/assets/verify.wasm", import.meta.url));
const bundle = new Uint8Array(await (await fetch(url, { headers: { Accept: "application/json" } })).arrayBuffer());
let t = performance.now();
const module = await WebAssembly.compile(wasm);
const compileMs = performance.now() - t;
const times = [];
let answer;
for (let i = 0; i < runs; i++) {
  // A fresh instance per run, as each page load gets.
  const x = (await WebAssembly.instantiate(module)).exports;
  t = performance.now();
  const at = x.filiera_alloc(bundle.length);
  new Uint8Array(x.memory.buffer, at, bundle.length).set(bundle);
  const packed = x.filiera_verify(at, bundle.length);
  times.push(performance.now() - t);
  const out = new Uint8Array(x.memory.buffer, Number(packed >> 32n), Number(packed & 0xffffffffn));
  answer = JSON.parse(new TextDecoder().decode(out));
}
if (!answer.ok) throw new Error(answer.error);
times.sort((a, b) => a - b);
console.log(JSON.stringify({
  bundle_bytes: bundle.length, records: answer.records, signers: answer.signers.length,
  compile_ms: +compileMs.toFixed(2), verify_ms_median: +times[runs >> 1].toFixed(2),
  verify_ms_max: +times[runs - 1].toFixed(2), runs,
}));

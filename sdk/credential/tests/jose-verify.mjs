// Verifies a credential (a compact JWS, application/vc+jwt) with panva's
// `jose`, a JOSE library no one here wrote: the key is resolved from the
// header's did:key by this script alone (base58btc, multicodec 0xed01).
// Usage: node jose-verify.mjs JOSE_INDEX_JS JWT
// Prints {"ok":true,"header":...,"payload":...} or {"ok":false,"code":...}.
const [joseIndex, jwt] = process.argv.slice(2);
const jose = await import(joseIndex);

function base58btc(text) {
  const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  let n = 0n;
  for (const c of text) {
    const i = alphabet.indexOf(c);
    if (i < 0) throw new Error("not base58btc");
    n = n * 58n + BigInt(i);
  }
  const bytes = [];
  while (n > 0n) { bytes.unshift(Number(n % 256n)); n /= 256n; }
  for (const c of text) { if (c !== "1") break; bytes.unshift(0); }
  return Uint8Array.from(bytes);
}

try {
  const header = jose.decodeProtectedHeader(jwt);
  const did = header.kid.split("#")[0];
  if (!did.startsWith("did:key:z")) throw new Error("not a did:key");
  const key = base58btc(did.slice("did:key:z".length));
  if (key.length !== 34 || key[0] !== 0xed || key[1] !== 0x01) throw new Error("not an Ed25519 did:key");
  const x = Buffer.from(key.slice(2)).toString("base64url");
  const publicKey = await jose.importJWK({ kty: "OKP", crv: "Ed25519", x }, "EdDSA");
  const { payload, protectedHeader } = await jose.compactVerify(jwt, publicKey, { algorithms: ["EdDSA"] });
  const credential = JSON.parse(new TextDecoder().decode(payload));
  console.log(JSON.stringify({ ok: true, header: protectedHeader, payload: credential, issuer_matches: credential.issuer === did }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, code: e.code ?? "ERROR", message: String(e.message) }));
}

//! The page's entry points, a C ABI without generated glue: the page asks
//! for `len` bytes ([`filiera_alloc`]), writes the bundle there, calls
//! [`filiera_verify`] and reads a JSON answer at the returned pointer and
//! length (`ptr << 32 | len`). `{"ok":true,...}` or `{"ok":false,"error":…}`.

use crate::verify_bundle_bytes;
use serde_json::json;

/// The JSON answer for a bundle.
pub fn answer(bundle: &[u8]) -> Vec<u8> {
    let v = match verify_bundle_bytes(bundle) {
        Ok(v) => json!({
            "ok": true,
            "chain_id": v.chain_id,
            "height": v.height,
            "block_hash": v.block_hash,
            "signed_power": v.signed_power,
            "total_power": v.total_power,
            "signers": v.signers,
            "records": v.records,
        }),
        Err(e) => json!({ "ok": false, "error": e.to_string() }),
    };
    v.to_string().into_bytes()
}

/// Memory for the page to write `len` bytes into; ownership passes to
/// [`filiera_verify`].
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
#[allow(unsafe_code)]
pub extern "C" fn filiera_alloc(len: usize) -> *mut u8 {
    let mut buf = Vec::<u8>::with_capacity(len);
    let ptr = buf.as_mut_ptr();
    std::mem::forget(buf);
    ptr
}

/// Verifies the `len` bytes at `ptr` (from [`filiera_alloc`]); returns the
/// answer's pointer and length packed as `ptr << 32 | len`. The answer is
/// leaked: the page verifies once and is done.
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
#[allow(unsafe_code)]
pub extern "C" fn filiera_verify(ptr: *mut u8, len: usize) -> u64 {
    // SAFETY: `ptr` comes from `filiera_alloc(len)` and the page wrote `len`
    // bytes there; this takes the allocation back exactly once.
    let input = unsafe { Vec::from_raw_parts(ptr, len, len) };
    let out = answer(&input).into_boxed_slice();
    let out_len = out.len() as u64;
    let out_ptr = Box::into_raw(out) as *mut u8 as usize as u64;
    (out_ptr << 32) | out_len
}

//! The app's entry points, a C ABI without generated glue (as the consumer
//! page's verifier): the page asks for `len` bytes ([`filiera_alloc`]),
//! writes a JSON request there, calls [`filiera_tx`] and reads the JSON
//! answer at the returned pointer and length (`ptr << 32 | len`), then gives
//! the answer back with [`filiera_free`].

/// Memory for the page to write `len` bytes into; ownership passes to
/// [`filiera_tx`].
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
#[allow(unsafe_code)]
pub extern "C" fn filiera_alloc(len: usize) -> *mut u8 {
    let mut buf = Vec::<u8>::with_capacity(len);
    let ptr = buf.as_mut_ptr();
    std::mem::forget(buf);
    ptr
}

/// Answers the JSON request of `len` bytes at `ptr` (from
/// [`filiera_alloc`]); returns the answer's pointer and length packed as
/// `ptr << 32 | len`, to be freed with [`filiera_free`].
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
#[allow(unsafe_code)]
pub extern "C" fn filiera_tx(ptr: *mut u8, len: usize) -> u64 {
    // SAFETY: `ptr` comes from `filiera_alloc(len)` and the page wrote `len`
    // bytes there; this takes the allocation back exactly once.
    let input = unsafe { Vec::from_raw_parts(ptr, len, len) };
    let out = crate::app::handle(&input).into_boxed_slice();
    let out_len = out.len() as u64;
    let out_ptr = Box::into_raw(out) as *mut u8 as usize as u64;
    (out_ptr << 32) | out_len
}

/// Frees an answer of [`filiera_tx`].
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
#[allow(unsafe_code)]
pub extern "C" fn filiera_free(ptr: *mut u8, len: usize) {
    // SAFETY: `ptr` and `len` are an answer of `filiera_tx`, a boxed slice
    // of exactly `len` bytes, freed once.
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) });
}

//! The app's entry points, a C ABI without generated glue (as `tx.wasm`):
//! the page asks for memory ([`filiera_alloc`]) for the JSON request and
//! for the file's bytes, calls [`filiera_sheet`] and reads the JSON answer
//! at the returned pointer and length (`ptr << 32 | len`), then gives it
//! back with [`filiera_free`].

/// Memory for the page to write `len` bytes into; ownership passes to
/// [`filiera_sheet`].
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
#[allow(unsafe_code)]
pub extern "C" fn filiera_alloc(len: usize) -> *mut u8 {
    let mut buf = Vec::<u8>::with_capacity(len);
    let ptr = buf.as_mut_ptr();
    std::mem::forget(buf);
    ptr
}

/// Answers the JSON request at `req` (`req_len` bytes) about the file at
/// `data` (`data_len` bytes), both from [`filiera_alloc`]; returns the
/// answer packed as `ptr << 32 | len`, to be freed with [`filiera_free`].
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
#[allow(unsafe_code)]
pub extern "C" fn filiera_sheet(
    req: *mut u8,
    req_len: usize,
    data: *mut u8,
    data_len: usize,
) -> u64 {
    // SAFETY: both come from `filiera_alloc` with these lengths, written by
    // the page; each allocation is taken back exactly once.
    let request = unsafe { Vec::from_raw_parts(req, req_len, req_len) };
    // SAFETY: as above.
    let file = unsafe { Vec::from_raw_parts(data, data_len, data_len) };
    let out = crate::app::handle(&request, &file).into_boxed_slice();
    let out_len = out.len() as u64;
    let out_ptr = Box::into_raw(out) as *mut u8 as usize as u64;
    (out_ptr << 32) | out_len
}

/// Frees an answer of [`filiera_sheet`].
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
#[allow(unsafe_code)]
pub extern "C" fn filiera_free(ptr: *mut u8, len: usize) {
    // SAFETY: `ptr` and `len` are an answer of `filiera_sheet`, a boxed
    // slice of exactly `len` bytes, freed once.
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) });
}

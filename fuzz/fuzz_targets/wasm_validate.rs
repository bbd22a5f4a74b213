//! Deploy-time validation of arbitrary contract modules: refused with a
//! reason or accepted, never a panic (the validator runs before wasmtime
//! ever sees a module).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = filiera_execution::validate_module(data);
});

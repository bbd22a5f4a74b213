//! Named limits of contract code, each with its unit.

/// Largest contract module, in bytes.
pub const CONTRACT_CODE_BYTES_MAX: usize = 512 * 1024;
/// Most functions a module may define.
pub const CONTRACT_FUNCTIONS_MAX: u32 = 2_000;
/// Most locals one function may declare (parameters included).
pub const FUNCTION_LOCALS_MAX: u32 = 512;
/// Largest function body, in bytes.
pub const FUNCTION_BODY_BYTES_MAX: usize = 128 * 1024;
/// Most linear-memory pages (64 KiB each) a contract may start with or grow to: 16 MiB.
pub const CONTRACT_MEMORY_PAGES_MAX: u64 = 256;
/// Most elements a table may start with.
pub const TABLE_ELEMENTS_MAX: u64 = 4_096;
/// Most globals a module may define.
pub const GLOBALS_MAX: u32 = 256;
/// Fuel a transaction may burn, instructions, host work and memory growth together.
pub const TX_FUEL_MAX: u64 = 20_000_000;
/// Fuel charged for each 64 KiB page of memory growth.
pub const MEMORY_PAGE_FUEL: u64 = 10_000;
/// Fuel charged for every host call, before its work.
pub const HOST_CALL_FUEL: u64 = 200;
/// Fuel charged per byte a host call reads or writes.
pub const HOST_BYTE_FUEL: u64 = 2;
/// Fuel charged per byte of an EPCIS event document the host reads, validates
/// and hashes for a contract (`epcis_facts`): JSON parsing, CBV checks and
/// SHA-256 cost the host far more per byte than a copy, so they are priced
/// like a couple of hundred wasm instructions a byte (a 16 KiB event: 3.3 M
/// of a transaction's 20 M).
pub const EPCIS_FACTS_BYTE_FUEL: u64 = 200;
/// Deepest wasm stack a call may use, in bytes (unbounded recursion traps here).
pub const WASM_STACK_BYTES_MAX: usize = 512 * 1024;
/// Native stack of the thread that runs contracts, in bytes: well above the wasm
/// stack limit so a deep wasm stack traps inside wasm, never overflows the host.
pub const EXECUTOR_STACK_BYTES: usize = 16 * 1024 * 1024;
/// Most events one call may emit.
pub const EVENTS_PER_CALL_MAX: usize = 64;
/// Largest event payload, in bytes.
pub const EVENT_DATA_BYTES_MAX: usize = 16 * 1024;
/// Largest return data, in bytes.
pub const RETURN_BYTES_MAX: usize = 64 * 1024;
/// Bytes of each pooled memory slot kept resident and cleared by memset
/// between calls (beyond them, pages go back to the kernel).
pub const MEMORY_KEEP_RESIDENT_BYTES: usize = 1024 * 1024;
/// Bytes of each pooled table slot kept resident between calls.
pub const TABLE_KEEP_RESIDENT_BYTES: usize = 64 * 1024;
/// Instances the pooling allocator keeps slots for.
pub const POOLED_INSTANCES_MAX: u32 = 64;
/// Version of the fuel schedule (the costs above and wasmtime's own). A change is
/// a protocol change, and part of the compiled-module cache key.
pub const GAS_SCHEDULE_VERSION: u32 = 1;

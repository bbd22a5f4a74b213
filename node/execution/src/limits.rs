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

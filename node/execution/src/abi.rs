//! The host ABI, version 1: the only imports a contract may have, with their
//! exact signatures, and the exports the host calls.
//!
//! Data moves through the contract's own memory: the host copies inputs and
//! results in only when the contract asks (`input_read`, `register_read`),
//! so every copy is charged to the transaction that causes it.

use wasmparser::ValType::{self, I32, I64};

/// The import module name of every host function.
pub const HOST_MODULE: &str = "filiera";

/// A host function: name, parameter types, result types.
pub struct HostFn {
    /// Import name.
    pub name: &'static str,
    /// Parameter types.
    pub params: &'static [ValType],
    /// Result types.
    pub results: &'static [ValType],
}

/// Every host function of ABI v1.
pub const HOST_FUNCTIONS: &[HostFn] = &[
    HostFn {
        name: "input_len",
        params: &[],
        results: &[I32],
    },
    HostFn {
        name: "input_read",
        params: &[I32],
        results: &[],
    },
    HostFn {
        name: "storage_read",
        params: &[I32, I32],
        results: &[I64],
    },
    HostFn {
        name: "storage_write",
        params: &[I32, I32, I32, I32],
        results: &[],
    },
    HostFn {
        name: "storage_delete",
        params: &[I32, I32],
        results: &[],
    },
    HostFn {
        name: "storage_next",
        params: &[I32, I32, I32, I32],
        results: &[I64],
    },
    HostFn {
        name: "contract_read",
        params: &[I32, I32, I32, I32],
        results: &[I64],
    },
    HostFn {
        name: "register_read",
        params: &[I32],
        results: &[],
    },
    HostFn {
        name: "caller",
        params: &[I32],
        results: &[],
    },
    HostFn {
        name: "tx_hash",
        params: &[I32],
        results: &[],
    },
    HostFn {
        name: "block_height",
        params: &[],
        results: &[I64],
    },
    HostFn {
        name: "block_time_ms",
        params: &[],
        results: &[I64],
    },
    HostFn {
        name: "emit_event",
        params: &[I32, I32, I32, I32],
        results: &[],
    },
    HostFn {
        name: "set_return",
        params: &[I32, I32],
        results: &[],
    },
    HostFn {
        name: "abort",
        params: &[I32, I32],
        results: &[],
    },
    HostFn {
        name: "epcis_facts",
        params: &[I32, I32],
        results: &[I64],
    },
];

/// The exported memory the host reads and writes.
pub const MEMORY_EXPORT: &str = "memory";
/// The exported entry point: `call()`, no parameters, no results.
pub const CALL_EXPORT: &str = "call";

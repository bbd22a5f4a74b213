//! The contract's own storage, raw and typed.

use crate::env::register;
use crate::host;
use crate::{Error, Result};
use alloc::string::String;
use alloc::vec::Vec;
use borsh::{BorshDeserialize, BorshSerialize};

fn ptr<T>(p: *const T) -> i32 {
    p as usize as i32
}

/// The raw value of `key`.
pub fn get_raw(key: &[u8]) -> Option<Vec<u8>> {
    // SAFETY: the slice lives for the call.
    let len = unsafe { host::storage_read(ptr(key.as_ptr()), key.len() as i32) };
    (len >= 0).then(|| register(len))
}

/// Whether `key` has a value.
pub fn has(key: &[u8]) -> bool {
    get_raw(key).is_some()
}

/// Sets the raw value of `key`.
pub fn set_raw(key: &[u8], value: &[u8]) {
    // SAFETY: both slices live for the call.
    unsafe {
        host::storage_write(
            ptr(key.as_ptr()),
            key.len() as i32,
            ptr(value.as_ptr()),
            value.len() as i32,
        )
    };
}

/// Deletes `key`.
pub fn remove(key: &[u8]) {
    // SAFETY: the slice lives for the call.
    unsafe { host::storage_delete(ptr(key.as_ptr()), key.len() as i32) };
}

/// The decoded value of `key`; a value that does not decode fails the call.
pub fn get<T: BorshDeserialize>(key: &[u8]) -> Result<Option<T>> {
    match get_raw(key) {
        None => Ok(None),
        Some(bytes) => filiera_contract_api::decode(&bytes)
            .map(Some)
            .ok_or_else(|| Error(String::from("corrupt record"))),
    }
}

/// Stores `value` under `key`.
pub fn set<T: BorshSerialize>(key: &[u8], value: &T) {
    set_raw(key, &filiera_contract_api::encode(value));
}

/// The first key under `prefix` strictly after `after`.
pub fn next_key(prefix: &[u8], after: &[u8]) -> Option<Vec<u8>> {
    // SAFETY: both slices live for the call.
    let len = unsafe {
        host::storage_next(
            ptr(prefix.as_ptr()),
            prefix.len() as i32,
            ptr(after.as_ptr()),
            after.len() as i32,
        )
    };
    (len >= 0).then(|| register(len))
}

/// Every key under `prefix`, in order (each step costs a host call: bound it).
pub fn keys(prefix: &[u8], max: usize) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut cursor = prefix.to_vec();
    while let Some(key) = next_key(prefix, &cursor) {
        if out.len() == max {
            return Err(Error(alloc::format!("more than {max} entries")));
        }
        cursor.clone_from(&key);
        out.push(key);
    }
    Ok(out)
}

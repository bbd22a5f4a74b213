//! The call's context: input, caller, block, events, return data, abort.

use crate::host;
use crate::{Error, Result};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use borsh::{BorshDeserialize, BorshSerialize};
use filiera_contract_api::KeyBytes;

fn ptr<T>(p: *const T) -> i32 {
    p as usize as i32
}

/// Reads `len` bytes from the host's register.
pub(crate) fn register(len: i64) -> Vec<u8> {
    let mut buf = vec![0u8; usize::try_from(len).unwrap_or(0)];
    // SAFETY: the host writes exactly the register's length into `buf`.
    unsafe { host::register_read(ptr(buf.as_mut_ptr())) };
    buf
}

/// The call's raw input.
pub fn input() -> Vec<u8> {
    // SAFETY: the host writes exactly `input_len` bytes into the buffer.
    unsafe {
        let mut buf = vec![0u8; usize::try_from(host::input_len()).unwrap_or(0)];
        host::input_read(ptr(buf.as_mut_ptr()));
        buf
    }
}

/// The transaction's sender.
pub fn caller() -> KeyBytes {
    let mut key = [0u8; 32];
    // SAFETY: the host writes 32 bytes.
    unsafe { host::caller(ptr(key.as_mut_ptr())) };
    key
}

/// The transaction id.
pub fn tx_hash() -> [u8; 32] {
    let mut hash = [0u8; 32];
    // SAFETY: the host writes 32 bytes.
    unsafe { host::tx_hash(ptr(hash.as_mut_ptr())) };
    hash
}

/// The block height.
pub fn height() -> u64 {
    // SAFETY: no memory is involved.
    unsafe { host::block_height() as u64 }
}

/// The block time, ms since the epoch (the proposer's, checked by consensus).
pub fn time_ms() -> u64 {
    // SAFETY: no memory is involved.
    unsafe { host::block_time_ms() as u64 }
}

/// Emits an event with a borsh payload.
pub fn emit<T: BorshSerialize>(name: &str, data: &T) {
    let bytes = filiera_contract_api::encode(data);
    // SAFETY: both slices live for the call.
    unsafe {
        host::emit_event(
            ptr(name.as_ptr()),
            name.len() as i32,
            ptr(bytes.as_ptr()),
            bytes.len() as i32,
        )
    };
}

/// Sets the data the method returns.
pub fn set_return(data: &[u8]) {
    // SAFETY: the slice lives for the call.
    unsafe { host::set_return(ptr(data.as_ptr()), data.len() as i32) };
}

/// Fails the call with `message`; its writes are discarded.
pub fn abort(message: &str) -> ! {
    let message = &message.as_bytes()[..message.len().min(1024)];
    // SAFETY: the slice lives for the call; the host never returns.
    unsafe { host::abort(ptr(message.as_ptr()), message.len() as i32) }
}

/// Reads another contract's public record (`pub/` + `key`), decoded.
pub fn read_public<T: BorshDeserialize>(contract: &str, key: &[u8]) -> Result<Option<T>> {
    let rel = key.strip_prefix(b"pub/").unwrap_or(key);
    // SAFETY: both slices live for the call.
    let len = unsafe {
        host::contract_read(
            ptr(contract.as_ptr()),
            contract.len() as i32,
            ptr(rel.as_ptr()),
            rel.len() as i32,
        )
    };
    if len < 0 {
        return Ok(None);
    }
    filiera_contract_api::decode(&register(len))
        .map(Some)
        .ok_or_else(|| Error(String::from("corrupt record in another contract")))
}

/// The organisation `key` signs for, from the registry, if any.
pub fn org_of(key: &KeyBytes) -> Result<Option<filiera_contract_api::registry::OrgRecord>> {
    use filiera_contract_api::{contract_ids, keys};
    let Some(org_id) = read_public::<String>(contract_ids::REGISTRY, &keys::key_owner(key))? else {
        return Ok(None);
    };
    org_of_id(&org_id)
}

/// The caller's organisation, if the caller's key may act for it with
/// `right` (a bit of `registry::rights`) at this block's time: a device key
/// the organisation enrolled itself must hold the right and be unexpired; a
/// key the authority gave has every right. The organisation's roles and
/// status are the contract's to check.
pub fn caller_org_with(right: u8) -> Result<filiera_contract_api::registry::OrgRecord> {
    use filiera_contract_api::registry::DeviceGrant;
    use filiera_contract_api::{contract_ids, keys};
    let caller = caller();
    let org =
        org_of(&caller)?.ok_or_else(|| crate::fail!("caller's key belongs to no organisation"))?;
    if let Some(grant) = read_public::<DeviceGrant>(contract_ids::REGISTRY, &keys::device(&caller))?
    {
        crate::ensure!(
            grant.allows(right, time_ms()),
            "this device key ({}) may not do this: it lacks the right or has expired",
            grant.label
        );
    }
    Ok(org)
}

/// An organisation of the registry, by id.
pub fn org_of_id(id: &str) -> Result<Option<filiera_contract_api::registry::OrgRecord>> {
    use filiera_contract_api::{contract_ids, keys};
    read_public(contract_ids::REGISTRY, &keys::org(id))
}

/// What the host reads from an EPCIS event document: its CBV 2.0 hash and
/// its lot action, or why the document cannot be stored (invalid event,
/// `eventID` other than its hash, no lot action, numbers the chain does not
/// hash). Costs fuel by the document's length.
pub fn epcis_facts(
    event: &str,
) -> Result<core::result::Result<filiera_contract_api::lots::EpcisFacts, String>> {
    // SAFETY: the slice lives for the call.
    let len = unsafe { host::epcis_facts(ptr(event.as_ptr()), event.len() as i32) };
    filiera_contract_api::decode(&register(len))
        .ok_or_else(|| Error(String::from("epcis_facts: unreadable answer from the host")))
}

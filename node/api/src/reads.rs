//! Typed reads of contract records from the store, and their proofs.

use crate::error::ApiError;
use borsh::BorshDeserialize;
use filiera_contract_api::certification::Attestation;
use filiera_contract_api::lots::{LotEvent, LotRecord, ProductRecord};
use filiera_contract_api::registry::OrgRecord;
use filiera_contract_api::{contract_ids, keys};
use filiera_storage::Store;

/// Most events or attestations of one lot an answer lists.
pub const LIST_ITEMS_MAX: usize = 1_000;

/// The full state key of a contract's record.
pub fn full_key(contract: &str, key: &[u8]) -> Vec<u8> {
    keys::state_key(contract, key)
}

fn get<T: BorshDeserialize>(store: &Store, key: &[u8]) -> Result<Option<T>, ApiError> {
    match store.state_get(key)? {
        None => Ok(None),
        Some(bytes) => T::try_from_slice(&bytes)
            .map(Some)
            .map_err(|e| ApiError::internal(format!("stored record does not decode: {e}"))),
    }
}

/// An organisation.
pub fn org(store: &Store, id: &str) -> Result<Option<OrgRecord>, ApiError> {
    get(store, &full_key(contract_ids::REGISTRY, &keys::org(id)))
}

/// A device key's grant, if its organisation enrolled it itself.
pub fn device(
    store: &Store,
    key: &filiera_contract_api::KeyBytes,
) -> Result<Option<filiera_contract_api::registry::DeviceGrant>, ApiError> {
    get(store, &full_key(contract_ids::REGISTRY, &keys::device(key)))
}

/// The organisation a key signs for.
pub fn key_owner(
    store: &Store,
    key: &filiera_contract_api::KeyBytes,
) -> Result<Option<String>, ApiError> {
    get(
        store,
        &full_key(contract_ids::REGISTRY, &keys::key_owner(key)),
    )
}

/// A product.
pub fn product(store: &Store, gtin: &str) -> Result<Option<ProductRecord>, ApiError> {
    get(store, &full_key(contract_ids::LOTS, &keys::product(gtin)))
}

/// A lot.
pub fn lot(store: &Store, gtin: &str, lot: &str) -> Result<Option<LotRecord>, ApiError> {
    get(store, &full_key(contract_ids::LOTS, &keys::lot(gtin, lot)))
}

/// The rules a lot was made under and the steps it went through, if any.
pub fn lot_rules(
    store: &Store,
    gtin: &str,
    lot: &str,
) -> Result<Option<filiera_contract_api::rules::LotRules>, ApiError> {
    get(
        store,
        &full_key(contract_ids::LOTS, &keys::lot_rules(gtin, lot)),
    )
}

/// A lot's newest events (at most [`LIST_ITEMS_MAX`]), in order, with the first's number.
pub fn lot_events(
    store: &Store,
    gtin: &str,
    lot: &str,
    count: u32,
) -> Result<(u32, Vec<LotEvent>), ApiError> {
    let first = count.saturating_sub(LIST_ITEMS_MAX as u32);
    let mut out = Vec::new();
    for seq in first..count {
        let key = full_key(contract_ids::LOTS, &keys::lot_event(gtin, lot, seq));
        if let Some(e) = get(store, &key)? {
            out.push(e);
        }
    }
    Ok((first, out))
}

/// An attestation.
pub fn attestation(store: &Store, id: u64) -> Result<Option<Attestation>, ApiError> {
    get(
        store,
        &full_key(contract_ids::CERTIFICATION, &keys::attestation(id)),
    )
}

/// The attestations of a subject (`lot:{gtin}:{lot}`, `product:{gtin}`, `org:{id}`).
pub fn attestations_of(store: &Store, subject_key: &str) -> Result<Vec<Attestation>, ApiError> {
    let prefix = full_key(
        contract_ids::CERTIFICATION,
        &keys::attestations_of(subject_key),
    );
    let mut out = Vec::new();
    // Bounded scan; ids ascend, so these are the oldest when there are more.
    for (key, _) in store.state_prefix(&prefix, None, LIST_ITEMS_MAX)? {
        // The index key ends with the attestation id, 16 hex digits.
        let tail = &key[key.len().saturating_sub(16)..];
        let id = std::str::from_utf8(tail)
            .ok()
            .and_then(|t| u64::from_str_radix(t, 16).ok())
            .ok_or_else(|| ApiError::internal("malformed attestation index key"))?;
        if let Some(a) = attestation(store, id)? {
            out.push(a);
        }
    }
    Ok(out)
}

/// A sender's next nonce (0 before its first transaction).
pub fn nonce(store: &Store, sender: &filiera_types::PublicKey) -> Result<u64, ApiError> {
    match store
        .state_get(&filiera_types::sys_keys::nonce(sender))?
        .as_deref()
        .map(<[u8; 8]>::try_from)
    {
        None => Ok(0),
        Some(Ok(bytes)) => Ok(u64::from_le_bytes(bytes)),
        Some(Err(_)) => Err(ApiError::internal("stored nonce is not 8 bytes")),
    }
}

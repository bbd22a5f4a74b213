//! The lot bundle: everything the consumer page shows about a lot, read at
//! one certified height and carried with its proofs, so a verifier needs
//! nothing else: the header, its commit certificate, the validator set the
//! header names, and a state proof for every record shown.

use crate::error::ApiError;
use crate::reads::full_key;
use crate::views;
use borsh::BorshDeserialize;
use filiera_contract_api::certification::Attestation;
use filiera_contract_api::lots::{LotEvent, LotRecord, ProductRecord};
use filiera_contract_api::registry::OrgRecord;
use filiera_contract_api::{contract_ids, keys};
use filiera_storage::Store;
use filiera_types::state::StateProof;
use filiera_types::{CommitCertificate, Header, ValidatorSet, encoding, sys_keys};
use serde_json::{Value, json};

/// Events a bundle carries, at most (the newest are kept).
pub const BUNDLE_EVENTS_MAX: u32 = 200;
/// Attestations a bundle carries per subject, at most (the newest).
pub const BUNDLE_ATTESTATIONS_MAX: usize = 50;
/// Validator-set changes scanned, at most (one per authority decision).
const VALIDATOR_SETS_MAX: usize = 4_096;

/// A lot with its context and proofs, at `header.height`.
pub struct Bundle {
    /// The certified header the records are read at.
    pub header: Header,
    /// Its commit certificate.
    pub certificate: CommitCertificate,
    /// The validator set of that height.
    pub validators: ValidatorSet,
    /// The product.
    pub product: ProductRecord,
    /// The organisation that made the lot.
    pub producer: Option<OrgRecord>,
    /// The lot.
    pub lot: LotRecord,
    /// Its events, oldest first.
    pub events: Vec<LotEvent>,
    /// Sequence number of the first event carried.
    pub first_event: u32,
    /// Attestations about the lot or its product.
    pub attestations: Vec<Attestation>,
    /// Proofs of every record above.
    pub proofs: Vec<StateProof>,
    /// How the validator set descends from genesis: for every change up to
    /// the header's height, the header just before it (signed by the old set,
    /// naming the new one as next) and the new set.
    pub set_history: Vec<(Header, CommitCertificate, ValidatorSet)>,
}

struct At<'a> {
    store: &'a Store,
    height: u64,
    proofs: Vec<StateProof>,
}

impl At<'_> {
    /// The record at `key` as of the height, with its proof kept.
    fn read<T: BorshDeserialize>(&mut self, key: Vec<u8>) -> Result<Option<T>, ApiError> {
        let proof = self.store.prove(&key, self.height)?;
        let value =
            match &proof.value {
                None => None,
                Some(bytes) => Some(T::try_from_slice(bytes).map_err(|e| {
                    ApiError::internal(format!("stored record does not decode: {e}"))
                })?),
            };
        self.proofs.push(proof);
        Ok(value)
    }
}

/// The validator-set changes up to `height` (see [`Bundle::set_history`]).
pub fn set_history(
    store: &Store,
    height: u64,
) -> Result<Vec<(Header, CommitCertificate, ValidatorSet)>, ApiError> {
    let mut history = Vec::new();
    for (key, value) in store.state_prefix(sys_keys::VALIDATOR_SETS, None, VALIDATOR_SETS_MAX)? {
        let Some(from) = sys_keys::validator_set_height(&key) else {
            continue;
        };
        // The genesis set (from height 1) needs no history; later sets do.
        if from <= 1 || from > height {
            continue;
        }
        let before = from - 1;
        let header = store
            .header(before)?
            .ok_or_else(|| ApiError::internal(format!("header {before} missing")))?;
        let certificate = store
            .certificate(before)?
            .ok_or_else(|| ApiError::internal(format!("certificate {before} missing")))?;
        let set: ValidatorSet =
            encoding::decode("validator set", &value, usize::MAX).map_err(ApiError::internal)?;
        history.push((header, certificate, set));
    }
    Ok(history)
}

/// The validator set in force at `height` (`sys/vset/{h}`, latest `h <= height`).
pub fn validator_set_at(store: &Store, height: u64) -> Result<ValidatorSet, ApiError> {
    let mut found = None;
    for (key, value) in store.state_prefix(sys_keys::VALIDATOR_SETS, None, VALIDATOR_SETS_MAX)? {
        if sys_keys::validator_set_height(&key).is_some_and(|h| h <= height) {
            found = Some(value);
        }
    }
    let bytes = found.ok_or_else(|| ApiError::internal("no validator set stored"))?;
    encoding::decode("validator set", &bytes, usize::MAX).map_err(ApiError::internal)
}

/// The bundle of lot `(gtin, lot)` at the last committed height; `None` if
/// the lot does not exist there.
pub fn lot_bundle(store: &Store, gtin: &str, lot: &str) -> Result<Option<Bundle>, ApiError> {
    let height = store.last_height()?.unwrap_or(0);
    if height == 0 {
        return Err(ApiError::busy("no block committed yet"));
    }
    let mut at = At {
        store,
        height,
        proofs: Vec::new(),
    };
    let Some(lot_record) =
        at.read::<LotRecord>(full_key(contract_ids::LOTS, &keys::lot(gtin, lot)))?
    else {
        return Ok(None);
    };
    let header = store
        .header(height)?
        .ok_or_else(|| ApiError::internal("last header missing"))?;
    let certificate = store
        .certificate(height)?
        .ok_or_else(|| ApiError::internal("last certificate missing"))?;
    let validators = validator_set_at(store, height)?;
    let product = at
        .read::<ProductRecord>(full_key(contract_ids::LOTS, &keys::product(gtin)))?
        .ok_or_else(|| ApiError::internal("a lot without its product"))?;
    let producer = at.read::<OrgRecord>(full_key(
        contract_ids::REGISTRY,
        &keys::org(&lot_record.owner),
    ))?;
    let first = lot_record.events.saturating_sub(BUNDLE_EVENTS_MAX);
    let mut events = Vec::new();
    for seq in first..lot_record.events {
        if let Some(e) = at.read(full_key(
            contract_ids::LOTS,
            &keys::lot_event(gtin, lot, seq),
        ))? {
            events.push(e);
        }
    }
    let mut attestations = Vec::new();
    for subject in [format!("lot:{gtin}:{lot}"), format!("product:{gtin}")] {
        let prefix = full_key(
            contract_ids::CERTIFICATION,
            &keys::attestations_of(&subject),
        );
        let index = store.state_prefix(&prefix, None, crate::reads::LIST_ITEMS_MAX)?;
        let newest = index.len().saturating_sub(BUNDLE_ATTESTATIONS_MAX);
        for (key, _) in &index[newest..] {
            let tail = &key[key.len().saturating_sub(16)..];
            let Some(id) = std::str::from_utf8(tail)
                .ok()
                .and_then(|t| u64::from_str_radix(t, 16).ok())
            else {
                continue;
            };
            if let Some(a) = at.read(full_key(
                contract_ids::CERTIFICATION,
                &keys::attestation(id),
            ))? {
                attestations.push(a);
            }
        }
    }
    Ok(Some(Bundle {
        header,
        certificate,
        validators,
        product,
        producer,
        lot: lot_record,
        events,
        first_event: first,
        attestations,
        proofs: at.proofs,
        set_history: set_history(store, height)?,
    }))
}

impl Bundle {
    /// The JSON answer: readable fields, and the canonical bytes (hex) a
    /// verifier checks.
    pub fn to_json(&self) -> Value {
        let h = &self.header;
        json!({
            "height": h.height,
            "block_hash": h.hash().to_hex(),
            "block_time_ms": h.time_ms,
            "state_root": h.state_root.to_hex(),
            "product": views::product(&self.product),
            "producer": self.producer.as_ref().map(views::org),
            "lot": views::lot(&self.lot),
            "events": self.events.iter().enumerate().map(|(i, e)| views::event(self.first_event as usize + i, e)).collect::<Vec<_>>(),
            "attestations": self.attestations.iter().map(|a| views::attestation(a, h.time_ms)).collect::<Vec<_>>(),
            "signers": self.certificate.signatures().iter().map(|s| s.validator.to_string()).collect::<Vec<_>>(),
            "verification": {
                "header": hex::encode(encoding::encode(&self.header)),
                "certificate": hex::encode(encoding::encode(&self.certificate)),
                "validator_set": hex::encode(encoding::encode(&self.validators)),
                "proofs": self.proofs.iter().map(|p| hex::encode(p.encode())).collect::<Vec<_>>(),
                "set_history": self.set_history.iter().map(|(h, c, v)| json!({
                    "header": hex::encode(encoding::encode(h)),
                    "certificate": hex::encode(encoding::encode(c)),
                    "validator_set": hex::encode(encoding::encode(v)),
                })).collect::<Vec<_>>(),
            },
        })
    }
}

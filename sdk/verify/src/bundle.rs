//! The checks of [`verify_bundle`], in the order a forger would have to beat them.

use crate::views;
use crate::{BUNDLE_BYTES_MAX, BUNDLE_PROOFS_MAX};
use borsh::BorshDeserialize;
use filiera_contract_api::certification::Attestation;
use filiera_contract_api::lots::{LotEvent, LotRecord, ProductRecord};
use filiera_contract_api::registry::OrgRecord;
use filiera_contract_api::{contract_ids, keys};
use filiera_types::limits::VALIDATORS_MAX;
use filiera_types::state::StateProof;
use filiera_types::{CommitCertificate, Header, ValidatorSet, encoding};
use serde_json::Value;
use std::collections::BTreeMap;

/// Bytes of an encoded header, at most.
const HEADER_BYTES_MAX: usize = 1024;
/// Bytes of an encoded validator set, at most.
const VALIDATOR_SET_BYTES_MAX: usize = 64 + VALIDATORS_MAX * 128;

/// What a verified bundle proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The chain.
    pub chain_id: String,
    /// The certified height the records are read at.
    pub height: u64,
    /// Its block hash, hex.
    pub block_hash: String,
    /// Power of the validators who signed.
    pub signed_power: u64,
    /// Power of the whole set.
    pub total_power: u64,
    /// Addresses of the signers.
    pub signers: Vec<String>,
    /// Records proven (present or absent).
    pub records: usize,
}

/// Why a bundle does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not the shape of a bundle.
    #[error("malformed bundle: {0}")]
    Malformed(String),
    /// The header's signatures do not hold.
    #[error("commit certificate: {0}")]
    Certificate(String),
    /// A proof does not lead to the state root.
    #[error("state proof: {0}")]
    Proof(String),
    /// A displayed value is not the proven one.
    #[error("{0} shown is not the proven record")]
    Mismatch(String),
    /// The validator set does not descend from the trusted genesis.
    #[error("validator-set history: {0}")]
    History(String),
}

fn malformed(m: impl Into<String>) -> VerifyError {
    VerifyError::Malformed(m.into())
}

fn hex_field<'a>(v: &'a Value, name: &str) -> Result<Vec<u8>, VerifyError> {
    let text: &'a str = v
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(format!("verification.{name} missing")))?;
    hex::decode(text).map_err(|e| malformed(format!("verification.{name}: {e}")))
}

/// [`verify_bundle`] on the bytes of the JSON answer.
pub fn verify_bundle_bytes(bytes: &[u8]) -> Result<Verified, VerifyError> {
    if bytes.len() > BUNDLE_BYTES_MAX {
        return Err(malformed(format!(
            "{} bytes, at most {BUNDLE_BYTES_MAX}",
            bytes.len()
        )));
    }
    let v: Value = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    verify_bundle(&v)
}

/// Verifies a lot bundle (see the crate doc).
pub fn verify_bundle(bundle: &Value) -> Result<Verified, VerifyError> {
    let ver = bundle
        .get("verification")
        .ok_or_else(|| malformed("verification missing"))?;
    let header: Header = encoding::decode("header", &hex_field(ver, "header")?, HEADER_BYTES_MAX)
        .map_err(|e| malformed(e.to_string()))?;
    let certificate = CommitCertificate::decode(&hex_field(ver, "certificate")?)
        .map_err(|e| malformed(e.to_string()))?;
    let set: ValidatorSet = encoding::decode(
        "validator set",
        &hex_field(ver, "validator_set")?,
        VALIDATOR_SET_BYTES_MAX,
    )
    .map_err(|e| malformed(e.to_string()))?;

    if set.hash() != header.validator_set_hash {
        return Err(VerifyError::Certificate(
            "the validator set is not the one the header names".into(),
        ));
    }
    let block_hash = header.hash();
    let signed_power = certificate
        .verify_for(header.chain_id.as_str(), &set, header.height, &block_hash)
        .map_err(|e| VerifyError::Certificate(e.to_string()))?;

    let proofs = ver
        .get("proofs")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("verification.proofs missing"))?;
    if proofs.len() > BUNDLE_PROOFS_MAX {
        return Err(malformed(format!(
            "{} proofs, at most {BUNDLE_PROOFS_MAX}",
            proofs.len()
        )));
    }
    let mut proven: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
    for (i, p) in proofs.iter().enumerate() {
        let bytes = p
            .as_str()
            .and_then(|s| hex::decode(s).ok())
            .ok_or_else(|| malformed(format!("proof {i} is not hex")))?;
        let proof = StateProof::decode(&bytes).map_err(|e| malformed(format!("proof {i}: {e}")))?;
        proof
            .verify(&header.state_root)
            .map_err(|e| VerifyError::Proof(format!("proof {i}: {e}")))?;
        proven.insert(proof.key, proof.value);
    }
    let records = Records {
        proven: &proven,
        time_ms: header.time_ms,
    };

    let same = |what: &str, shown: Option<&Value>, want: Value| {
        if shown == Some(&want) {
            Ok(())
        } else {
            Err(VerifyError::Mismatch(what.to_owned()))
        }
    };
    same("height", bundle.get("height"), header.height.into())?;
    same(
        "block hash",
        bundle.get("block_hash"),
        block_hash.to_hex().into(),
    )?;
    same(
        "block time",
        bundle.get("block_time_ms"),
        header.time_ms.into(),
    )?;
    same(
        "state root",
        bundle.get("state_root"),
        header.state_root.to_hex().into(),
    )?;
    let signers: Vec<Value> = certificate
        .signatures()
        .iter()
        .map(|s| s.validator.to_string().into())
        .collect();
    same(
        "signer list",
        bundle.get("signers"),
        Value::Array(signers.clone()),
    )?;

    let shown_lot = bundle.get("lot").ok_or_else(|| malformed("lot missing"))?;
    let gtin = shown_lot
        .get("gtin")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let lot_number = shown_lot
        .get("lot")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let lot: LotRecord =
        records.present("lot", contract_ids::LOTS, &keys::lot(gtin, lot_number))?;
    same("lot", Some(shown_lot), views::lot(&lot))?;
    let product: ProductRecord =
        records.present("product", contract_ids::LOTS, &keys::product(gtin))?;
    same("product", bundle.get("product"), views::product(&product))?;
    let producer: Option<OrgRecord> =
        records.get("producer", contract_ids::REGISTRY, &keys::org(&lot.owner))?;
    same(
        "producer",
        bundle.get("producer"),
        producer.as_ref().map_or(Value::Null, views::org),
    )?;
    for (i, shown) in bundle
        .get("events")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("events missing"))?
        .iter()
        .enumerate()
    {
        let seq = shown
            .get("seq")
            .and_then(Value::as_u64)
            .and_then(|s| u32::try_from(s).ok())
            .ok_or_else(|| malformed(format!("event {i} has no seq")))?;
        let what = format!("event {seq}");
        let event: LotEvent = records.present(
            &what,
            contract_ids::LOTS,
            &keys::lot_event(gtin, lot_number, seq),
        )?;
        same(&what, Some(shown), views::event(seq as usize, &event))?;
    }
    for (i, shown) in bundle
        .get("attestations")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("attestations missing"))?
        .iter()
        .enumerate()
    {
        let id = shown
            .get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| malformed(format!("attestation {i} has no id")))?;
        let what = format!("attestation {id}");
        let a: Attestation =
            records.present(&what, contract_ids::CERTIFICATION, &keys::attestation(id))?;
        same(&what, Some(shown), views::attestation(&a, records.time_ms))?;
    }

    Ok(Verified {
        chain_id: header.chain_id.as_str().to_owned(),
        height: header.height,
        block_hash: block_hash.to_hex(),
        signed_power,
        total_power: set.total_power(),
        signers: signers
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect(),
        records: proven.len(),
    })
}

struct Records<'a> {
    proven: &'a BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    time_ms: u64,
}

impl Records<'_> {
    /// The proven record at a contract's key; `None` if proven absent.
    fn get<T: BorshDeserialize>(
        &self,
        what: &str,
        contract: &str,
        key: &[u8],
    ) -> Result<Option<T>, VerifyError> {
        let full = keys::state_key(contract, key);
        match self.proven.get(&full) {
            None => Err(VerifyError::Proof(format!("no proof for the {what}"))),
            Some(None) => Ok(None),
            Some(Some(bytes)) => T::try_from_slice(bytes)
                .map(Some)
                .map_err(|e| malformed(format!("proven {what} does not decode: {e}"))),
        }
    }

    fn present<T: BorshDeserialize>(
        &self,
        what: &str,
        contract: &str,
        key: &[u8],
    ) -> Result<T, VerifyError> {
        self.get(what, contract, key)?
            .ok_or_else(|| VerifyError::Proof(format!("the {what} is proven absent")))
    }
}

/// Validator-set changes a bundle may carry, at most.
pub const SET_HISTORY_MAX: usize = 1_024;

/// [`verify_bundle`], and that the bundle's validator set descends from a
/// trusted genesis set: every change is named as the next set by a header
/// signed by the set before it, from `genesis_set` up to the bundle's height.
/// Returns what the bundle proves and the number of changes walked.
pub fn verify_bundle_from_genesis(
    bundle: &Value,
    chain_id: &str,
    genesis_set: &ValidatorSet,
) -> Result<(Verified, usize), VerifyError> {
    let verified = verify_bundle(bundle)?;
    if verified.chain_id != chain_id {
        return Err(VerifyError::History(format!(
            "the bundle is from chain {:?}, not {chain_id:?}",
            verified.chain_id
        )));
    }
    let ver = bundle
        .get("verification")
        .ok_or_else(|| malformed("verification missing"))?;
    let header: Header = encoding::decode("header", &hex_field(ver, "header")?, HEADER_BYTES_MAX)
        .map_err(|e| malformed(e.to_string()))?;
    let history = match ver.get("set_history") {
        None => Vec::new(),
        Some(v) => v
            .as_array()
            .ok_or_else(|| malformed("verification.set_history is not a list"))?
            .clone(),
    };
    if history.len() > SET_HISTORY_MAX {
        return Err(malformed(format!(
            "{} validator-set changes, at most {SET_HISTORY_MAX}",
            history.len()
        )));
    }
    let mut steps = Vec::with_capacity(history.len());
    for (i, step) in history.iter().enumerate() {
        let h: Header = encoding::decode("header", &hex_field(step, "header")?, HEADER_BYTES_MAX)
            .map_err(|e| malformed(format!("set change {i}: {e}")))?;
        let cert = CommitCertificate::decode(&hex_field(step, "certificate")?)
            .map_err(|e| malformed(format!("set change {i}: {e}")))?;
        let next: ValidatorSet = encoding::decode(
            "validator set",
            &hex_field(step, "validator_set")?,
            VALIDATOR_SET_BYTES_MAX,
        )
        .map_err(|e| malformed(format!("set change {i}: {e}")))?;
        steps.push((h, cert, next));
    }
    verify_set_history(chain_id, genesis_set, &steps, &header)?;
    Ok((verified, history.len()))
}

/// Walks validator-set changes from a trusted genesis set up to `header`:
/// every change is named as the next set by a header signed by the set before
/// it. Returns the set that governs `header` (whose certificate the caller
/// then checks against it). Used by lot bundles and by fast join.
pub fn verify_set_history(
    chain_id: &str,
    genesis_set: &ValidatorSet,
    history: &[(Header, CommitCertificate, ValidatorSet)],
    header: &Header,
) -> Result<ValidatorSet, VerifyError> {
    if history.len() > SET_HISTORY_MAX {
        return Err(malformed(format!(
            "{} validator-set changes, at most {SET_HISTORY_MAX}",
            history.len()
        )));
    }
    let mut current = genesis_set.clone();
    let mut last = 0u64;
    for (i, (h, cert, next)) in history.iter().enumerate() {
        if h.chain_id.as_str() != chain_id || h.height <= last || h.height >= header.height {
            return Err(VerifyError::History(format!(
                "set change {i} is not a later header of this chain before height {}",
                header.height
            )));
        }
        if h.validator_set_hash != current.hash() {
            return Err(VerifyError::History(format!(
                "set change {i}: header {} is not governed by the set descending from genesis (a change is missing)",
                h.height
            )));
        }
        cert.verify_for(chain_id, &current, h.height, &h.hash())
            .map_err(|e| VerifyError::History(format!("set change {i}: {e}")))?;
        if h.next_validator_set_hash != next.hash() {
            return Err(VerifyError::History(format!(
                "set change {i}: header {} does not name this set as the next",
                h.height
            )));
        }
        current = next.clone();
        last = h.height;
    }
    if current.hash() != header.validator_set_hash {
        return Err(VerifyError::History(
            "the validator set does not descend from genesis".into(),
        ));
    }
    Ok(current)
}

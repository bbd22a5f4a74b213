//! The native `evidence.report` call: equivocation evidence checked by every
//! node and recorded once per offence under `sys/evidence/`.
//!
//! Native rather than a contract because the check needs the validator set of
//! a past height (node state under `sys/`, which contracts cannot read) and
//! signature verification of consensus messages, and because it must work for
//! any sender: a validator's consensus key is not an organisation's key.
//!
//! A report is all or nothing: one pair that does not prove its offence fails
//! the whole call (the nonce still advances, as for any failed call), so a
//! forged pair never rides in on a valid one. A pair whose offence is recorded
//! already is skipped: every honest node that saw the equivocation reports it,
//! and the chain keeps the first.

use crate::host::StateReader;
use crate::outcome::FailureCode;
use filiera_types::encoding;
use filiera_types::evidence::{
    EVIDENCE_AGE_BLOCKS_MAX, EVIDENCE_CONTRACT, EvidenceRecord, decode_report,
};
use filiera_types::receipt::Event;
use filiera_types::{ChainId, ContractId, PublicKey, ValidatorSet, sys_keys};
use std::collections::BTreeMap;

/// What a report changes, or why it changes nothing.
pub(crate) type ReportResult =
    Result<(BTreeMap<Vec<u8>, Option<Vec<u8>>>, Vec<Event>), (FailureCode, String)>;

/// A read of the state failed: the report is not judged at all.
pub(crate) type Unreadable = crate::host::StateUnreadable;

/// Checks and records a report's pairs at `height` (the block including it).
pub(crate) fn report(
    state: &dyn StateReader,
    chain_id: &ChainId,
    height: u64,
    reporter: &PublicKey,
    args: &[u8],
) -> Result<ReportResult, Unreadable> {
    let invalid = |message: String| (FailureCode::EvidenceInvalid, message);
    let pairs = match decode_report(args) {
        Ok(pairs) => pairs,
        Err(e) => return Ok(Err(invalid(e.to_string()))),
    };
    if pairs.is_empty() {
        return Ok(Err(invalid("a report holds at least one pair".into())));
    }
    let contract = match ContractId::new(EVIDENCE_CONTRACT) {
        Ok(contract) => contract,
        Err(e) => return Ok(Err(invalid(format!("evidence contract id: {e}")))),
    };
    let mut writes = BTreeMap::new();
    let mut events = Vec::new();
    for (i, pair) in pairs.into_iter().enumerate() {
        let offence = pair.offence();
        if offence.height >= height {
            return Ok(Err(invalid(format!(
                "pair {i}: height {} is not decided before block {height}",
                offence.height
            ))));
        }
        if height - offence.height > EVIDENCE_AGE_BLOCKS_MAX {
            return Ok(Err(invalid(format!(
                "pair {i}: height {} is more than {EVIDENCE_AGE_BLOCKS_MAX} blocks old",
                offence.height
            ))));
        }
        let Some(set) = validator_set_at(state, offence.height)? else {
            return Ok(Err(invalid(format!("pair {i}: no validator set in state"))));
        };
        if let Err(e) = pair.verify(chain_id.as_str(), &set) {
            return Ok(Err(invalid(format!("pair {i}: {e}"))));
        }
        let key = sys_keys::evidence(&offence);
        if state.get(&key)?.is_some() || writes.contains_key(&key) {
            continue;
        }
        let record = EvidenceRecord {
            evidence: pair.canonical(),
            reported_height: height,
            reporter: *reporter,
        };
        writes.insert(key, Some(encoding::encode(&record)));
        events.push(Event {
            contract: contract.clone(),
            name: "equivocation_recorded".into(),
            data: encoding::encode(&offence),
        });
    }
    Ok(Ok((writes, events)))
}

/// The set that decided `height`: the last one scheduled from `height` or
/// before. Sets change only by the authority's acts, so they are few.
pub(crate) fn validator_set_at(
    state: &dyn StateReader,
    height: u64,
) -> Result<Option<ValidatorSet>, Unreadable> {
    let prefix = sys_keys::VALIDATOR_SETS;
    let mut after = prefix.to_vec();
    let mut found = None;
    while let Some((key, value)) = state.next(prefix, &after)? {
        match sys_keys::validator_set_height(&key) {
            Some(from) if from <= height => found = Some(value),
            _ => break,
        }
        after = key;
    }
    Ok(found.and_then(|set| encoding::decode("validator set", &set, usize::MAX).ok()))
}

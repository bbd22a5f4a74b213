//! Turning equivocation this node saw into a report for the chain.
//!
//! The node signs the report with its consensus key (a validator's or an
//! observer's), so any node may report and none needs an organisation's key;
//! the chain checks every pair against the validator set of its height and
//! records each offence once (`filiera-execution`'s native `evidence` call),
//! so the reports of several nodes about one offence merge there.

use filiera_types::evidence::{EVIDENCE_CONTRACT, EVIDENCE_METHOD, Equivocation};
use filiera_types::{
    ChainId, ContractCall, ContractId, MethodName, SecretKey, SignedTransaction, Transaction,
    encoding,
};

/// Blocks a report stays valid for, at most (it is admitted by the node that
/// signs it, so it is in a block within a few heights, or lost with a crash:
/// the offence is then reported by the other nodes that saw it).
pub const EVIDENCE_EXPIRY_BLOCKS: u64 = 64;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot sign an evidence report: {0}")]
pub struct ReportError(String);

/// The report of `pairs`, signed by `key` with `nonce`, valid from `height`
/// for `expiry_blocks`.
pub fn report_tx(
    chain_id: &ChainId,
    key: &SecretKey,
    nonce: u64,
    height: u64,
    expiry_blocks: u64,
    pairs: &[Equivocation],
) -> Result<SignedTransaction, ReportError> {
    let call = ContractCall {
        contract: ContractId::new(EVIDENCE_CONTRACT).map_err(|e| ReportError(e.to_string()))?,
        method: MethodName::new(EVIDENCE_METHOD).map_err(|e| ReportError(e.to_string()))?,
        args: encoding::encode(pairs),
    };
    Transaction {
        chain_id: chain_id.clone(),
        sender: key.public_key(),
        nonce,
        expiry_height: height.saturating_add(expiry_blocks),
        call,
    }
    .sign(key)
    .map_err(|e| ReportError(e.to_string()))
}

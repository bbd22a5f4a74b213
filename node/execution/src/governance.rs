//! The native governance calls: contract code uploaded, proposed and
//! scheduled by the authority, k of n (see [`filiera_types::governance`]).
//!
//! Native rather than a contract because a module is judged by the node's
//! own deploy-time checks ([`crate::validate_module`]) and the version table
//! is node state under `sys/`, which no contract may write.
//!
//! Who may do what: only a key of the authority's multisignature (the
//! registry's `pub/authority`, as for every other authority act) uploads,
//! proposes or approves; a version is scheduled when `threshold` distinct
//! keys approved it, before its activation height, and while the version it
//! replaces is still the latest. A failed call changes nothing but the nonce.
//! An authority key uploads one module at a time, so the bytes a rogue key
//! can leave half-uploaded are bounded by [`CODE_BYTES_MAX`] per key.

use crate::host::{StateReader, StateUnreadable};
use crate::outcome::FailureCode;
use filiera_contract_api::registry::AuthorityRecord;
use filiera_contract_api::{contract_ids, keys};
use filiera_types::chain_limits::{LIMITS_VERSIONS_MAX, LimitsUpgrade, LimitsVersion};
use filiera_types::chain_rules::{
    CHAIN_RULES_VERSIONS_MAX, ChainRulesVersion, DEFAULT_VERSION, RulesUpgrade,
};
use filiera_types::encoding::{decode, encode};
use filiera_types::evidence::EVIDENCE_CONTRACT;
use filiera_types::governance::{
    CODE_BYTES_MAX, CONTRACT_VERSIONS_MAX, ContractVersion, GOVERNANCE_ARGS_BYTES_MAX,
    GOVERNANCE_CONTRACT, Proposal, UPGRADE_NOTICE_BLOCKS_MAX, UPGRADE_NOTICE_BLOCKS_MIN,
    UPLOAD_CHUNK_BYTES_MAX, Upgrade, UpgradeProposal, Upload, UploadInProgress, method,
};
use filiera_types::receipt::Event;
use filiera_types::{ContractId, Domain, Hash, PublicKey, sys_keys};
use std::collections::BTreeMap;

/// What a call writes and emits, or why it changes nothing.
pub(crate) type GovernResult = Result<Governed, (FailureCode, String)>;

/// What a successful call changed, emitted and returned.
pub(crate) struct Governed {
    /// State writes (full keys), `None` deletes.
    pub writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Events.
    pub events: Vec<Event>,
    /// A proposal's id, borsh, for `propose`; empty otherwise.
    pub return_data: Vec<u8>,
    /// The code hash of the version this call scheduled, if it did.
    pub scheduled: Option<Hash>,
}

/// The code hashes of the contracts this node ships, by id: the version of a
/// contract that has no version table in state.
pub(crate) type Builtin<'a> = &'a BTreeMap<ContractId, Hash>;

/// Tries a migration: the new module's bytes and its contract, on the state
/// of the call; why it fails, if it does (its writes are never kept).
pub(crate) type TryMigration<'a> =
    &'a dyn Fn(&[u8], &ContractId) -> Result<Result<(), String>, StateUnreadable>;

/// Runs governance call `method` of `caller` at `height`.
pub(crate) fn call(
    state: &dyn StateReader,
    builtin: Builtin<'_>,
    try_migration: TryMigration<'_>,
    height: u64,
    caller: &PublicKey,
    method: &str,
    args: &[u8],
) -> Result<GovernResult, StateUnreadable> {
    let Some(authority) = authority(state)? else {
        return Ok(refuse("no authority in state"));
    };
    // The registry is upgradeable too: a record that one key could satisfy
    // alone, or none could, schedules nothing.
    let distinct: std::collections::BTreeSet<_> = authority.keys.iter().collect();
    if authority.threshold == 0 || authority.threshold as usize > distinct.len() {
        return Ok(refuse(format!(
            "the authority record is unusable: threshold {} of {} distinct keys",
            authority.threshold,
            distinct.len()
        )));
    }
    if !authority.keys.contains(&caller.0) {
        return Ok(refuse(format!(
            "only an authority key may call {GOVERNANCE_CONTRACT}.{method}"
        )));
    }
    let mut g = Governance {
        state,
        builtin,
        try_migration,
        height,
        caller,
        authority: &authority,
        writes: BTreeMap::new(),
        events: Vec::new(),
        return_data: Vec::new(),
        scheduled: None,
    };
    let done = match method {
        method::UPLOAD => match parse::<Upload>("upload", args) {
            Ok(u) => g.upload(u)?,
            Err(e) => Err(e),
        },
        method::PROPOSE => match parse::<Upgrade>("upgrade", args) {
            Ok(u) => g.propose(u)?,
            Err(e) => Err(e),
        },
        method::APPROVE => match parse::<u64>("proposal id", args) {
            Ok(id) => g.approve(id)?,
            Err(e) => Err(e),
        },
        method::PROPOSE_RULES => match parse::<RulesUpgrade>("chain rules upgrade", args) {
            Ok(u) => g.propose_table::<RulesUpgrade>(u)?,
            Err(e) => Err(e),
        },
        method::PROPOSE_LIMITS => match parse::<LimitsUpgrade>("limits upgrade", args) {
            Ok(u) => g.propose_table::<LimitsUpgrade>(u)?,
            Err(e) => Err(e),
        },
        other => Err(format!("{GOVERNANCE_CONTRACT} has no method {other:?}")),
    };
    Ok(match done {
        Ok(()) => Ok(Governed {
            writes: g.writes,
            events: g.events,
            return_data: g.return_data,
            scheduled: g.scheduled,
        }),
        Err(message) => refuse(message),
    })
}

fn refuse(message: impl Into<String>) -> GovernResult {
    Err((FailureCode::GovernanceRefused, message.into()))
}

fn parse<T: borsh::BorshDeserialize>(kind: &'static str, args: &[u8]) -> Result<T, String> {
    decode(kind, args, GOVERNANCE_ARGS_BYTES_MAX).map_err(|e| e.to_string())
}

fn authority(state: &dyn StateReader) -> Result<Option<AuthorityRecord>, StateUnreadable> {
    let key = keys::state_key(contract_ids::REGISTRY, keys::AUTHORITY);
    Ok(state
        .get(&key)?
        .and_then(|v| filiera_contract_api::decode::<AuthorityRecord>(&v)))
}

/// A contract's version table as stored, if it has one.
pub(crate) fn versions(
    state: &dyn StateReader,
    id: &ContractId,
) -> Result<Option<Vec<ContractVersion>>, StateUnreadable> {
    let Some(bytes) = state.get(&sys_keys::contract_versions(id))? else {
        return Ok(None);
    };
    decode("contract versions", &bytes, usize::MAX)
        .map(Some)
        .map_err(|e| StateUnreadable(format!("the versions of {id}: {e}")))
}

/// A contract's versions, scheduled or running: its table, or the built-in
/// code as version 1 if it has none. The last is what a proposal replaces.
fn versions_or_builtin(
    state: &dyn StateReader,
    builtin: Builtin<'_>,
    id: &ContractId,
) -> Result<Vec<ContractVersion>, StateUnreadable> {
    Ok(match versions(state, id)? {
        Some(v) => v,
        None => builtin
            .get(id)
            .map(|hash| ContractVersion {
                version: 1,
                code_hash: *hash,
                from_height: 0,
                proposal: None,
            })
            .into_iter()
            .collect(),
    })
}

struct Governance<'a> {
    state: &'a dyn StateReader,
    builtin: Builtin<'a>,
    try_migration: TryMigration<'a>,
    height: u64,
    caller: &'a PublicKey,
    authority: &'a AuthorityRecord,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    events: Vec<Event>,
    return_data: Vec<u8>,
    scheduled: Option<Hash>,
}

/// A call either changes state as it says or is refused with a reason.
type Step = Result<Result<(), String>, StateUnreadable>;

impl Governance<'_> {
    fn emit(&mut self, name: &str, data: Vec<u8>) {
        self.events.push(Event {
            // The id satisfies ContractId's rules (a test builds it).
            contract: ContractId::new(GOVERNANCE_CONTRACT)
                .unwrap_or_else(|_| unreachable!("{GOVERNANCE_CONTRACT} is a valid id")),
            name: name.into(),
            data,
        });
    }

    fn upload(&mut self, u: Upload) -> Step {
        let total = u.code_bytes as usize;
        if total == 0 || total > CODE_BYTES_MAX {
            return Ok(Err(format!(
                "a module of {total} bytes: it must have 1 to {CODE_BYTES_MAX}"
            )));
        }
        if u.bytes.is_empty() || u.bytes.len() > UPLOAD_CHUNK_BYTES_MAX {
            return Ok(Err(format!(
                "a chunk of {} bytes: it must have 1 to {UPLOAD_CHUNK_BYTES_MAX}",
                u.bytes.len()
            )));
        }
        if self.stored(&u.code_hash)? || self.held(self.caller, &u.code_hash)?.is_some() {
            return Ok(Err(format!(
                "module {} is uploaded already",
                u.code_hash.to_hex()
            )));
        }
        let slot = sys_keys::upload(self.caller);
        let mut upload = if u.offset == 0 {
            UploadInProgress {
                code_hash: u.code_hash,
                code_bytes: u.code_bytes,
                bytes: Vec::new(),
            }
        } else {
            let Some(current) = self
                .state
                .get(&slot)?
                .and_then(|v| decode::<UploadInProgress>("upload", &v, usize::MAX).ok())
            else {
                return Ok(Err(format!(
                    "no upload in progress: start at offset 0, not {}",
                    u.offset
                )));
            };
            if current.code_hash != u.code_hash || current.code_bytes != u.code_bytes {
                return Ok(Err(format!(
                    "this key is uploading module {}, not {}: start again at offset 0",
                    current.code_hash.to_hex(),
                    u.code_hash.to_hex()
                )));
            }
            if current.bytes.len() != u.offset as usize {
                return Ok(Err(format!(
                    "the upload has {} bytes: the next chunk starts there, not at {}",
                    current.bytes.len(),
                    u.offset
                )));
            }
            current
        };
        let ends = upload.bytes.len() + u.bytes.len();
        if ends < total && u.bytes.len() != UPLOAD_CHUNK_BYTES_MAX {
            return Ok(Err(format!(
                "a chunk of {} bytes: every chunk but the last has {UPLOAD_CHUNK_BYTES_MAX}",
                u.bytes.len()
            )));
        }
        if upload.bytes.len() + u.bytes.len() > total {
            return Ok(Err(format!(
                "the chunk ends at byte {}, past the module's {total}",
                upload.bytes.len() + u.bytes.len()
            )));
        }
        upload.bytes.extend_from_slice(&u.bytes);
        if upload.bytes.len() < total {
            self.writes.insert(slot, Some(encode(&upload)));
            return Ok(Ok(()));
        }
        let actual = Hash::of(Domain::ContractCode, &upload.bytes);
        if actual != upload.code_hash {
            return Ok(Err(format!(
                "the module hashes to {}, not {}",
                actual.to_hex(),
                upload.code_hash.to_hex()
            )));
        }
        if let Err(e) = crate::validate_module(&upload.bytes) {
            // The receipt's text is consensus: never wasmparser's own words,
            // which may change with its version.
            let reason = match e {
                crate::DeployError::Invalid(_) => {
                    "invalid or disallowed WebAssembly (run the deploy-time checks locally for the details)".to_owned()
                }
                other => other.to_string(),
            };
            return Ok(Err(format!("the module is refused: {reason}")));
        }
        // Complete and valid: it waits in the slot for a proposal's approvals.
        self.writes.insert(slot, Some(encode(&upload)));
        self.emit("code_uploaded", encode(&actual));
        Ok(Ok(()))
    }

    /// Whether the module is stored for good (a scheduled version has it).
    fn stored(&self, code_hash: &Hash) -> Result<bool, StateUnreadable> {
        Ok(self.state.get(&sys_keys::code(code_hash))?.is_some())
    }

    /// The module `code_hash`, if `uploader`'s slot holds all of it.
    fn held(
        &self,
        uploader: &PublicKey,
        code_hash: &Hash,
    ) -> Result<Option<Vec<u8>>, StateUnreadable> {
        Ok(self
            .state
            .get(&sys_keys::upload(uploader))?
            .and_then(|v| decode::<UploadInProgress>("upload", &v, usize::MAX).ok())
            .filter(|u| u.code_hash == *code_hash && u.bytes.len() == u.code_bytes as usize)
            .map(|u| u.bytes))
    }

    fn propose(&mut self, upgrade: Upgrade) -> Step {
        let id = &upgrade.contract;
        if [EVIDENCE_CONTRACT, GOVERNANCE_CONTRACT].contains(&id.as_str()) {
            return Ok(Err(format!("{id} is the node's own, not a contract")));
        }
        if !self.stored(&upgrade.code_hash)?
            && self.held(self.caller, &upgrade.code_hash)?.is_none()
        {
            return Ok(Err(format!(
                "no module {} was uploaded by this key",
                upgrade.code_hash.to_hex()
            )));
        }
        if let Err(e) = self.in_notice(upgrade.activation_height) {
            return Ok(Err(e));
        }
        if let Err(e) = self.still_applies(&upgrade)? {
            return Ok(Err(e));
        }
        let proposal_id = self.next_proposal_id()?;
        let proposal = UpgradeProposal {
            upgrade,
            approvals: vec![*self.caller],
            proposed_height: self.height,
            scheduled: false,
        };
        self.emit("upgrade_proposed", encode(&proposal_id));
        self.return_data = encode(&proposal_id);
        self.settle(proposal_id, proposal)
    }

    /// Whether a version may take effect from `activation_height`, proposed
    /// now: far enough for every node's notice, near enough not to be a
    /// standing order.
    fn in_notice(&self, activation_height: u64) -> Result<(), String> {
        let earliest = self.height + UPGRADE_NOTICE_BLOCKS_MIN;
        let latest_height = self.height + UPGRADE_NOTICE_BLOCKS_MAX;
        if activation_height < earliest || activation_height > latest_height {
            return Err(format!(
                "activation at height {activation_height}: proposed at {}, it must be from {earliest} to {latest_height}",
                self.height
            ));
        }
        Ok(())
    }

    /// Whether the caller may approve a `kind` proposal still open.
    fn may_approve(
        &self,
        kind: &str,
        proposal_id: u64,
        scheduled: bool,
        approvals: &[PublicKey],
        activation_height: u64,
    ) -> Result<(), String> {
        if scheduled {
            return Err(format!(
                "{kind} proposal {proposal_id} is scheduled already"
            ));
        }
        if approvals.contains(self.caller) {
            return Err(format!(
                "this key already approved {kind} proposal {proposal_id}"
            ));
        }
        // The last approval too must leave every node the notice.
        if self.height + UPGRADE_NOTICE_BLOCKS_MIN > activation_height {
            return Err(format!(
                "{kind} proposal {proposal_id} expired: approvals must be in {UPGRADE_NOTICE_BLOCKS_MIN} blocks before its activation height {activation_height}"
            ));
        }
        Ok(())
    }

    /// Whether `approvals` reach the authority's threshold (keys no longer
    /// the authority's do not count).
    fn enough(&self, approvals: &[PublicKey]) -> bool {
        let counted = approvals
            .iter()
            .filter(|k| self.authority.keys.contains(&k.0))
            .count();
        counted >= self.authority.threshold as usize
    }

    /// The id the next proposal gets, counted on.
    fn next_proposal_id(&mut self) -> Result<u64, StateUnreadable> {
        let next_key = sys_keys::NEXT_UPGRADE_PROPOSAL.to_vec();
        let proposal_id = self
            .state
            .get(&next_key)?
            .and_then(|v| v.try_into().ok())
            .map(u64::from_le_bytes)
            .unwrap_or(0);
        self.writes
            .insert(next_key, Some((proposal_id + 1).to_le_bytes().to_vec()));
        Ok(proposal_id)
    }

    fn approve(&mut self, proposal_id: u64) -> Step {
        let key = sys_keys::upgrade_proposal(proposal_id);
        let Some(mut proposal) = self
            .state
            .get(&key)?
            .and_then(|v| decode::<UpgradeProposal>("proposal", &v, usize::MAX).ok())
        else {
            if let Some(done) = self.approve_table::<RulesUpgrade>(proposal_id)? {
                return Ok(done);
            }
            if let Some(done) = self.approve_table::<LimitsUpgrade>(proposal_id)? {
                return Ok(done);
            }
            return Ok(Err(format!("no upgrade proposal {proposal_id}")));
        };
        let (scheduled, at) = (proposal.scheduled, proposal.upgrade.activation_height);
        if let Err(e) = self.may_approve("upgrade", proposal_id, scheduled, &proposal.approvals, at)
        {
            return Ok(Err(e));
        }
        proposal.approvals.push(*self.caller);
        self.emit("upgrade_approved", encode(&proposal_id));
        self.settle(proposal_id, proposal)
    }

    /// Whether `upgrade` still replaces the contract's latest version.
    fn still_applies(&self, upgrade: &Upgrade) -> Result<Result<(), String>, StateUnreadable> {
        let versions = versions_or_builtin(self.state, self.builtin, &upgrade.contract)?;
        let latest = versions.last().map(|v| v.code_hash);
        if latest != upgrade.replaces {
            let name = |h: Option<Hash>| h.map_or("no version".to_owned(), |h| h.to_hex());
            return Ok(Err(format!(
                "{} replaces {}, but its latest version is {}",
                upgrade.contract,
                name(upgrade.replaces),
                name(latest)
            )));
        }
        if let Some(last) = versions.last()
            && last.from_height >= upgrade.activation_height
        {
            return Ok(Err(format!(
                "{} has a version from height {}: a later one must start after it",
                upgrade.contract, last.from_height
            )));
        }
        if versions.len() >= CONTRACT_VERSIONS_MAX {
            return Ok(Err(format!(
                "{} has {CONTRACT_VERSIONS_MAX} versions, the most it may have",
                upgrade.contract
            )));
        }
        // A version written against one whose migration has yet to run
        // would run on the old layout if that migration failed.
        if let Some(last) = versions.last()
            && last.from_height > self.height
            && self.migrates_at(&upgrade.contract, last.version, last.from_height)?
        {
            return Ok(Err(format!(
                "version {} of {} migrates at height {}: a later version waits until that migration ran",
                last.version, upgrade.contract, last.from_height
            )));
        }
        Ok(Ok(()))
    }

    /// Whether version `version` of `contract` has a migration due at `height`.
    fn migrates_at(
        &self,
        contract: &ContractId,
        version: u32,
        height: u64,
    ) -> Result<bool, StateUnreadable> {
        let Some(bytes) = self.state.get(&sys_keys::migrations_at(height))? else {
            return Ok(false);
        };
        let due: Vec<(ContractId, u32)> = decode("migrations", &bytes, usize::MAX)
            .map_err(|e| StateUnreadable(format!("migrations due: {e}")))?;
        Ok(due.iter().any(|(c, v)| c == contract && *v == version))
    }

    /// Stores the proposal, scheduling its version if enough keys approved.
    fn settle(&mut self, proposal_id: u64, mut proposal: UpgradeProposal) -> Step {
        if self.enough(&proposal.approvals) {
            if let Err(e) = self.still_applies(&proposal.upgrade)? {
                return Ok(Err(e));
            }
            let code_hash = proposal.upgrade.code_hash;
            let code = if let Some(code) = self.state.get(&sys_keys::code(&code_hash))? {
                code
            } else {
                // The proposer's slot still holds the module: it is kept now.
                let proposer = proposal.approvals.first().copied().unwrap_or(*self.caller);
                let Some(code) = self.held(&proposer, &code_hash)? else {
                    return Ok(Err(format!(
                        "the proposer's upload of module {} is gone (it started another): propose again",
                        code_hash.to_hex()
                    )));
                };
                self.writes.insert(sys_keys::upload(&proposer), None);
                self.writes
                    .insert(sys_keys::code(&code_hash), Some(code.clone()));
                code
            };
            let contract = &proposal.upgrade.contract;
            if proposal.upgrade.migrate
                && let Err(why) = (self.try_migration)(&code, contract)?
            {
                return Ok(Err(format!(
                    "the migration of {contract} fails on the current state, so it would at activation: {why}"
                )));
            }
            let mut versions =
                versions_or_builtin(self.state, self.builtin, &proposal.upgrade.contract)?;
            let version = versions.last().map_or(1, |v| v.version + 1);
            if proposal.upgrade.migrate {
                let key = sys_keys::migrations_at(proposal.upgrade.activation_height);
                let mut due: Vec<(ContractId, u32)> = match self.state.get(&key)? {
                    Some(v) => decode("migrations", &v, usize::MAX)
                        .map_err(|e| StateUnreadable(format!("migrations due: {e}")))?,
                    None => Vec::new(),
                };
                due.push((contract.clone(), version));
                self.writes.insert(key, Some(encode(&due)));
            }
            versions.push(ContractVersion {
                version,
                code_hash: proposal.upgrade.code_hash,
                from_height: proposal.upgrade.activation_height,
                proposal: Some(proposal_id),
            });
            self.writes.insert(
                sys_keys::contract_versions(&proposal.upgrade.contract),
                Some(encode(&versions)),
            );
            proposal.scheduled = true;
            self.scheduled = Some(code_hash);
            self.emit("upgrade_scheduled", encode(&proposal_id));
        }
        self.writes.insert(
            sys_keys::upgrade_proposal(proposal_id),
            Some(encode(&proposal)),
        );
        Ok(Ok(()))
    }

    /// Proposes a version of a table `U` (chain rules, limits).
    fn propose_table<U: TableUpgrade>(&mut self, upgrade: U) -> Step {
        if let Err(e) = self.in_notice(upgrade.activation_height()) {
            return Ok(Err(e));
        }
        if let Err(e) = upgrade.still_applies(self.state)? {
            return Ok(Err(e));
        }
        let proposal_id = self.next_proposal_id()?;
        let proposal = Proposal {
            upgrade,
            approvals: vec![*self.caller],
            proposed_height: self.height,
            scheduled: false,
        };
        self.emit(&format!("{}_proposed", U::EVENTS), encode(&proposal_id));
        self.return_data = encode(&proposal_id);
        self.settle_table(proposal_id, proposal)
    }

    /// Approves `proposal_id` if it is a `U` proposal (`None` if it is not).
    fn approve_table<U: TableUpgrade>(
        &mut self,
        proposal_id: u64,
    ) -> Result<Option<Result<(), String>>, StateUnreadable> {
        let Some(mut proposal) = self
            .state
            .get(&U::proposal_key(proposal_id))?
            .and_then(|v| decode::<Proposal<U>>("proposal", &v, usize::MAX).ok())
        else {
            return Ok(None);
        };
        let (scheduled, at) = (proposal.scheduled, proposal.upgrade.activation_height());
        if let Err(e) = self.may_approve(U::KIND, proposal_id, scheduled, &proposal.approvals, at) {
            return Ok(Some(Err(e)));
        }
        proposal.approvals.push(*self.caller);
        self.emit(&format!("{}_approved", U::EVENTS), encode(&proposal_id));
        self.settle_table(proposal_id, proposal).map(Some)
    }

    /// Stores a `U` proposal, appending its version to the table if enough
    /// keys approved.
    fn settle_table<U: TableUpgrade>(
        &mut self,
        proposal_id: u64,
        mut proposal: Proposal<U>,
    ) -> Step {
        if self.enough(&proposal.approvals) {
            if let Err(e) = proposal.upgrade.still_applies(self.state)? {
                return Ok(Err(e));
            }
            let (key, table) = proposal
                .upgrade
                .appended_to_table(self.state, proposal_id)?;
            self.writes.insert(key, Some(table));
            proposal.scheduled = true;
            self.emit(&format!("{}_scheduled", U::EVENTS), encode(&proposal_id));
        }
        self.writes
            .insert(U::proposal_key(proposal_id), Some(encode(&proposal)));
        Ok(Ok(()))
    }
}

/// A proposal kind whose approval appends a version to a table in node
/// state, from an activation height (the chain rules version, the limits):
/// proposed, approved and settled alike, by [`Governance::propose_table`].
trait TableUpgrade: borsh::BorshSerialize + borsh::BorshDeserialize {
    /// How messages name it, e.g. `chain rules`.
    const KIND: &'static str;
    /// Its events are `{EVENTS}_proposed`, `_approved` and `_scheduled`.
    const EVENTS: &'static str;
    /// Where proposal `id` of this kind is kept.
    fn proposal_key(id: u64) -> Vec<u8>;
    /// The first height it applies to.
    fn activation_height(&self) -> u64;
    /// Whether it may still be scheduled: it follows the table's latest
    /// version, starts after it, and the table has room.
    fn still_applies(&self, state: &dyn StateReader)
    -> Result<Result<(), String>, StateUnreadable>;
    /// The table with this version appended, scheduled by proposal `id`:
    /// its key and its new value.
    fn appended_to_table(
        &self,
        state: &dyn StateReader,
        id: u64,
    ) -> Result<(Vec<u8>, Vec<u8>), StateUnreadable>;
}

/// Whether this binary implements the version plays no part: a node that
/// implements less must accept the same block as the others, and learns
/// here that it has to be replaced.
impl TableUpgrade for RulesUpgrade {
    const KIND: &'static str = "chain rules";
    const EVENTS: &'static str = "rules";

    fn proposal_key(id: u64) -> Vec<u8> {
        sys_keys::chain_rules_proposal(id)
    }

    fn activation_height(&self) -> u64 {
        self.activation_height
    }

    fn still_applies(
        &self,
        state: &dyn StateReader,
    ) -> Result<Result<(), String>, StateUnreadable> {
        let versions = chain_rules(state)?;
        let latest = versions.last().map_or(DEFAULT_VERSION, |v| v.version);
        if self.replaces != latest {
            return Ok(Err(format!(
                "chain rules version {} replaces {}, but the latest is {latest}",
                self.version, self.replaces
            )));
        }
        if self.version != latest + 1 {
            // No gaps: a mistyped number would stop every node at its height.
            return Ok(Err(format!(
                "chain rules version {}: the next one must be {}, the one after the latest",
                self.version,
                latest + 1
            )));
        }
        if let Some(last) = versions.last()
            && last.from_height >= self.activation_height
        {
            return Ok(Err(format!(
                "chain rules version {} applies from height {}: a later one must start after it",
                last.version, last.from_height
            )));
        }
        if versions.len() >= CHAIN_RULES_VERSIONS_MAX {
            return Ok(Err(format!(
                "the chain has {CHAIN_RULES_VERSIONS_MAX} rules versions, the most it may have"
            )));
        }
        Ok(Ok(()))
    }

    fn appended_to_table(
        &self,
        state: &dyn StateReader,
        id: u64,
    ) -> Result<(Vec<u8>, Vec<u8>), StateUnreadable> {
        let mut versions = chain_rules(state)?;
        if versions.is_empty() {
            versions.push(ChainRulesVersion {
                version: DEFAULT_VERSION,
                from_height: 0,
                proposal: None,
            });
        }
        versions.push(ChainRulesVersion {
            version: self.version,
            from_height: self.activation_height,
            proposal: Some(id),
        });
        Ok((sys_keys::CHAIN_RULES.to_vec(), encode(&versions)))
    }
}

/// New values of the chain's limits, within the ceilings the running rules
/// version sets (every node that follows the chain implements it, so every
/// node judges the same).
impl TableUpgrade for LimitsUpgrade {
    const KIND: &'static str = "limits";
    const EVENTS: &'static str = "limits";

    fn proposal_key(id: u64) -> Vec<u8> {
        sys_keys::limits_proposal(id)
    }

    fn activation_height(&self) -> u64 {
        self.activation_height
    }

    fn still_applies(
        &self,
        state: &dyn StateReader,
    ) -> Result<Result<(), String>, StateUnreadable> {
        if let Err(e) = self.limits.check() {
            return Ok(Err(format!("limits refused: {e}")));
        }
        let versions = limits(state)?;
        // Genesis writes the first version: a chain without one (made before
        // limits were governed) keeps its genesis values, which this state
        // cannot tell.
        let Some(latest) = versions.last().map(|v| v.limits) else {
            return Ok(Err(
                "this chain's state has no limits table (a genesis before governed limits): its limits cannot move".to_owned(),
            ));
        };
        if self.replaces != latest {
            return Ok(Err(format!(
                "the limits proposed replace {:?}, but the latest are {latest:?}",
                self.replaces
            )));
        }
        if self.limits == latest {
            return Ok(Err("the limits proposed are the latest already".to_owned()));
        }
        if let Some(last) = versions.last()
            && last.from_height >= self.activation_height
        {
            return Ok(Err(format!(
                "limits apply from height {}: later ones must start after it",
                last.from_height
            )));
        }
        if versions.len() >= LIMITS_VERSIONS_MAX {
            return Ok(Err(format!(
                "the chain has {LIMITS_VERSIONS_MAX} limits versions, the most it may have"
            )));
        }
        Ok(Ok(()))
    }

    fn appended_to_table(
        &self,
        state: &dyn StateReader,
        id: u64,
    ) -> Result<(Vec<u8>, Vec<u8>), StateUnreadable> {
        let mut versions = limits(state)?;
        versions.push(LimitsVersion {
            limits: self.limits,
            from_height: self.activation_height,
            proposal: Some(id),
        });
        Ok((sys_keys::LIMITS.to_vec(), encode(&versions)))
    }
}

/// The chain's limits versions as stored (empty for a chain with no table).
pub fn limits(state: &dyn StateReader) -> Result<Vec<LimitsVersion>, StateUnreadable> {
    let Some(bytes) = state.get(sys_keys::LIMITS)? else {
        return Ok(Vec::new());
    };
    decode("limits versions", &bytes, usize::MAX)
        .map_err(|e| StateUnreadable(format!("the chain's limits: {e}")))
}

/// The chain's rules versions as stored (empty for a chain with no table).
pub fn chain_rules(state: &dyn StateReader) -> Result<Vec<ChainRulesVersion>, StateUnreadable> {
    let Some(bytes) = state.get(sys_keys::CHAIN_RULES)? else {
        return Ok(Vec::new());
    };
    decode("chain rules versions", &bytes, usize::MAX)
        .map_err(|e| StateUnreadable(format!("the chain's rules versions: {e}")))
}

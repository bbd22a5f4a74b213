//! The genesis document: the first state of a chain, agreed by every node.
//!
//! People write and read it as JSON (`genesis.json`); nodes agree on it by its
//! hash, the blake3 of its borsh encoding, so two JSON spellings of the same
//! genesis (key order, whitespace, time zone of a timestamp) have one hash.
//! Loading is strict: unknown fields are errors, every identifier and key is
//! checked as it is read, and [`Genesis::validate`] checks what spans fields
//! (uniqueness, thresholds, references). Every error names the field.

mod json_time;
pub use json_time::{format_ms as format_time_ms, parse_ms as parse_time_ms};
mod validate;

use crate::crypto::PublicKey;
use crate::encoding;
use crate::gs1::{Gln, Gtin};
use crate::hash::{Domain, Hash};
use crate::limits::GENESIS_BYTES_MAX;
use crate::name::{ChainId, ContractId, OrgId};
use crate::validator::{Validator, ValidatorSet};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// The genesis format version this code reads and writes.
pub const GENESIS_FORMAT_VERSION: u16 = 1;

/// A genesis field that is wrong, and why.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{field}: {message}")]
pub struct GenesisError {
    /// Path of the field, e.g. `validators[2].consensus_key`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl GenesisError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> GenesisError {
        GenesisError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The whole genesis document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// [`GENESIS_FORMAT_VERSION`].
    pub format_version: u16,
    /// The chain's rules version at height 0 (see [`crate::chain_rules`]):
    /// required, and one this binary implements.
    pub rules_version: u32,
    /// The chain id signed into every message.
    pub chain_id: ChainId,
    /// Time of the chain's start (RFC 3339 in JSON), milliseconds since the Unix epoch.
    #[serde(with = "json_time")]
    pub genesis_time_ms: u64,
    /// Consensus timeouts and size limits.
    pub consensus: ConsensusParams,
    /// The first validator set.
    pub validators: Vec<GenesisValidator>,
    /// The regional authority's multisignature.
    pub authority: Authority,
    /// Organisations known from the start, with their roles.
    pub organisations: Vec<Organisation>,
    /// Schemes, products and locations known from the start.
    pub catalogue: Catalogue,
    /// Contracts installed at genesis, pinned by code hash.
    #[serde(default)]
    pub contracts: Vec<GenesisContract>,
}

/// Consensus timeouts and size limits of the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsensusParams {
    /// How long to wait for a proposal in round 0, in milliseconds.
    pub timeout_propose_ms: u64,
    /// How long to wait for more prevotes after a quorum of any prevotes.
    pub timeout_prevote_ms: u64,
    /// How long to wait for more precommits after a quorum of any precommits.
    pub timeout_precommit_ms: u64,
    /// Extra time added to each timeout per round, so rounds lengthen under trouble.
    pub timeout_delta_ms: u64,
    /// Pause after a decision before the next height's proposal is built, to
    /// gather transactions (a proposer whose mempool holds a full block
    /// builds at once).
    pub block_interval_ms: u64,
    /// Largest encoded block, in bytes (at most the protocol's hard limit).
    pub block_bytes_max: u64,
    /// Largest encoded transaction, in bytes (at most the protocol's hard limit).
    pub tx_bytes_max: u64,
    /// Most transactions per block.
    pub block_txs_max: u64,
    /// Furthest ahead of the current height a transaction's expiry may be, in blocks.
    pub tx_expiry_blocks_max: u64,
}

impl Default for ConsensusParams {
    fn default() -> Self {
        ConsensusParams {
            timeout_propose_ms: 3_000,
            timeout_prevote_ms: 1_000,
            timeout_precommit_ms: 1_000,
            timeout_delta_ms: 500,
            block_interval_ms: 250,
            block_bytes_max: 4 * 1024 * 1024,
            tx_bytes_max: 32 * 1024,
            block_txs_max: 10_000,
            tx_expiry_blocks_max: 10_000,
        }
    }
}

/// A validator of the first set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisValidator {
    /// A human name, e.g. `regione-marche-1`.
    pub name: String,
    /// The organisation that operates it.
    pub organisation: OrgId,
    /// The key that signs votes and proposals.
    pub consensus_key: PublicKey,
    /// The ed25519 key of its libp2p identity (its peer id derives from it).
    pub p2p_key: PublicKey,
    /// Where peers reach it, as a multiaddr, e.g. `/ip4/127.0.0.1/tcp/26656`.
    pub p2p_address: String,
    /// Voting power, at least 1.
    pub power: u64,
}

/// The regional authority: k of its n keys must approve its actions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields)]
pub struct Authority {
    /// The organisation that holds the authority role.
    pub organisation: OrgId,
    /// The n approval keys.
    pub keys: Vec<PublicKey>,
    /// k: how many distinct keys must approve.
    pub threshold: u32,
}

/// Roles and organisation kinds are the contracts' own types (defined once,
/// in the no_std contract API), named in genesis JSON in `snake_case`.
pub use filiera_contract_api::registry::{OrgKind, Role};

/// An organisation known at genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// Its id on chain.
    pub id: OrgId,
    /// Its legal name.
    pub name: String,
    /// Its kind.
    pub kind: OrgKind,
    /// Its VAT number (partita IVA), if public.
    #[serde(default)]
    pub vat_number: Option<String>,
    /// Its roles, each at most once.
    pub roles: Vec<Role>,
    /// Keys that sign for it.
    pub keys: Vec<PublicKey>,
    /// Schemes a certification body is accredited for.
    #[serde(default)]
    pub accreditations: Vec<Accreditation>,
}

/// A certification body's accreditation for a scheme.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields)]
pub struct Accreditation {
    /// The scheme code, e.g. `DOP`.
    pub scheme: String,
    /// Protected names covered (e.g. `Casciotta d'Urbino`); empty means the whole scheme.
    #[serde(default)]
    pub scope: Vec<String>,
    /// Start of validity (RFC 3339 in JSON).
    #[serde(with = "json_time")]
    pub valid_from_ms: u64,
    /// End of validity, exclusive (RFC 3339 in JSON).
    #[serde(with = "json_time")]
    pub valid_until_ms: u64,
}

/// Schemes, products and locations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// Certification schemes (DOP, IGP, DOC, DOCG, IGT, QM, BIO).
    pub schemes: Vec<Scheme>,
    /// Products.
    pub products: Vec<Product>,
    /// Locations.
    #[serde(default)]
    pub locations: Vec<Location>,
    /// Production rules of protected names: version 1 of each, applying
    /// from genesis (later versions are set by the authority on chain).
    #[serde(default)]
    pub rules: Vec<filiera_contract_api::rules::ProductionRules>,
}

/// A certification scheme.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields)]
pub struct Scheme {
    /// Short code, upper case, e.g. `DOP`.
    pub code: String,
    /// Its name spelled out.
    pub name: String,
    /// The law that defines it.
    pub law: String,
}

/// A product of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// Its GTIN (any of GTIN-8/12/13/14 in JSON; stored as 14 digits).
    pub gtin: Gtin,
    /// The protected or common name.
    pub name: String,
    /// A scheme code of the catalogue, or `none`.
    pub scheme: String,
    /// Category, e.g. `cheese`.
    pub category: String,
    /// Trade unit, e.g. `bottle 0.75 L`.
    pub unit: String,
    /// Unit of measure of quantities (UN/ECE rec 20 or `kg`, `each`).
    pub uom: String,
    /// A short description.
    pub description: String,
    /// The organisation that owns the GTIN, if registered at genesis.
    #[serde(default)]
    pub owner: Option<OrgId>,
}

/// A location (site) of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// Its GLN.
    pub gln: Gln,
    /// Kind of site, e.g. `dairy`.
    pub kind: String,
    /// Name and place.
    pub name: String,
    /// The organisation that runs it, if registered at genesis.
    #[serde(default)]
    pub owner: Option<OrgId>,
}

/// A contract installed at genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisContract {
    /// Its id.
    pub id: ContractId,
    /// Hash of its WASM code (domain [`Domain::ContractCode`]).
    pub code_hash: Hash,
}

impl Genesis {
    /// Parses and validates a genesis JSON document.
    pub fn from_json(bytes: &[u8]) -> Result<Genesis, GenesisError> {
        if bytes.len() > GENESIS_BYTES_MAX {
            return Err(GenesisError::new(
                "(document)",
                format!(
                    "{} bytes exceed the limit of {GENESIS_BYTES_MAX}",
                    bytes.len()
                ),
            ));
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let genesis: Genesis = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                "(document)".to_owned()
            } else {
                path
            };
            GenesisError::new(field, e.into_inner().to_string())
        })?;
        de.end()
            .map_err(|e| GenesisError::new("(document)", e.to_string()))?;
        genesis.validate()?;
        Ok(genesis)
    }

    /// Pretty JSON, as written to `genesis.json`.
    pub fn to_json_pretty(&self) -> String {
        // Every field serialises to JSON (strings, numbers, arrays): this cannot fail.
        serde_json::to_string_pretty(self).expect("genesis serialises to JSON")
    }

    /// The genesis hash: blake3 of the canonical (borsh) encoding.
    pub fn hash(&self) -> Hash {
        Hash::of(Domain::Genesis, &encoding::encode(self))
    }

    /// The first validator set.
    pub fn validator_set(&self) -> Result<ValidatorSet, GenesisError> {
        let validators = self
            .validators
            .iter()
            .map(|v| Validator {
                public_key: v.consensus_key,
                power: v.power,
            })
            .collect();
        ValidatorSet::new(validators).map_err(|e| GenesisError::new("validators", e.to_string()))
    }

    /// Checks everything that spans fields; see the module docs.
    pub fn validate(&self) -> Result<(), GenesisError> {
        validate::validate(self)
    }
}

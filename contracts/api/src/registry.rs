//! The registry contract: organisations, keys, roles, accreditations, sites,
//! and the authority's k-of-n proposals.

use crate::KeyBytes;
use alloc::string::String;
use alloc::vec::Vec;
use borsh::{BorshDeserialize, BorshSerialize};

/// What an organisation may do: the one definition, used by the contracts,
/// the genesis document (`filiera_types::genesis::Role` is this type) and
/// the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum Role {
    /// Onboards organisations, grants roles, accredits certifiers (k-of-n).
    Authority = 0,
    /// Registers products and lots and records their events.
    Producer = 1,
    /// Transforms, packs, ships and receives lots.
    Processor = 2,
    /// Issues, suspends and revokes attestations within its accreditations.
    CertificationBody = 3,
    /// Reads and exports.
    Auditor = 4,
    /// Operates validator or observer nodes.
    ValidatorOperator = 5,
}

impl Role {
    /// Every role, in order.
    pub const ALL: [Role; 6] = [
        Role::Authority,
        Role::Producer,
        Role::Processor,
        Role::CertificationBody,
        Role::Auditor,
        Role::ValidatorOperator,
    ];

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of roles, as a bit mask.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct RoleSet(pub u8);

impl RoleSet {
    /// The set of `roles`.
    pub fn of(roles: &[Role]) -> RoleSet {
        RoleSet(roles.iter().fold(0, |m, r| m | r.bit()))
    }
    /// Whether `role` is in the set.
    pub fn has(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }
    /// The set with `role` added.
    pub fn with(self, role: Role) -> RoleSet {
        RoleSet(self.0 | role.bit())
    }
    /// The set without `role`.
    pub fn without(self, role: Role) -> RoleSet {
        RoleSet(self.0 & !role.bit())
    }
}

/// Whether an organisation may act.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum OrgStatus {
    /// It may act within its roles.
    Active = 0,
    /// It may not act until reinstated.
    Suspended = 1,
    /// It may never act again.
    Revoked = 2,
}

/// The kind of an organisation: the one definition, used by the genesis
/// document (`filiera_types::genesis::OrgKind` is this type) and the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum OrgKind {
    /// A public authority (Regione Marche, ICQRF).
    PublicAuthority = 0,
    /// A certification or control body.
    ControlBody = 1,
    /// A protection consortium.
    Consortium = 2,
    /// A farm, dairy, winery, mill, salumificio...
    Producer = 3,
    /// A processor, packer or distributor.
    Processor = 4,
    /// An auditor.
    Auditor = 5,
}

impl OrgKind {
    /// Every kind, in order.
    pub const ALL: [OrgKind; 6] = [
        OrgKind::PublicAuthority,
        OrgKind::ControlBody,
        OrgKind::Consortium,
        OrgKind::Producer,
        OrgKind::Processor,
        OrgKind::Auditor,
    ];

    /// The kind stored as `n`, if there is one.
    pub fn from_u8(n: u8) -> Option<OrgKind> {
        OrgKind::ALL.into_iter().find(|k| *k as u8 == n)
    }
}

/// An organisation (`pub/org/...`).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct OrgRecord {
    /// Its id.
    pub id: String,
    /// Legal name.
    pub name: String,
    /// Its [`OrgKind`], as its number: the deployed contracts' record layout
    /// (and code) are pinned, so the field stays a byte; read it with
    /// [`OrgRecord::org_kind`]. Typing it changes the contracts' code, which
    /// waits for a contract upgrade.
    pub kind: u8,
    /// VAT number, if public.
    pub vat_number: Option<String>,
    /// Its roles.
    pub roles: RoleSet,
    /// Whether it may act.
    pub status: OrgStatus,
    /// The keys that sign for it.
    pub keys: Vec<KeyBytes>,
}

impl OrgRecord {
    /// Its kind; `None` if the stored number names none.
    pub fn org_kind(&self) -> Option<OrgKind> {
        OrgKind::from_u8(self.kind)
    }
}

impl OrgRecord {
    /// Whether the organisation is active and has `role`.
    pub fn may(&self, role: Role) -> bool {
        self.status == OrgStatus::Active && self.roles.has(role)
    }
}

/// A certification body's accreditation for a scheme (`pub/accr/...`).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct AccreditationRecord {
    /// The scheme code, e.g. `DOP`.
    pub scheme: String,
    /// Protected names covered; empty means the whole scheme.
    pub scope: Vec<String>,
    /// Start of validity, ms since the epoch.
    pub valid_from_ms: u64,
    /// End of validity (exclusive), ms since the epoch.
    pub valid_until_ms: u64,
    /// Withdrawn by the authority.
    pub withdrawn: bool,
}

impl AccreditationRecord {
    /// Whether it covers `protected_name` of its scheme at `time_ms`.
    pub fn covers(&self, protected_name: &str, time_ms: u64) -> bool {
        !self.withdrawn
            && self.valid_from_ms <= time_ms
            && time_ms < self.valid_until_ms
            && (self.scope.is_empty() || self.scope.iter().any(|s| s == protected_name))
    }
}

/// A site (`pub/site/{gln}`).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SiteRecord {
    /// Its GLN (13 digits).
    pub gln: String,
    /// The organisation that runs it.
    pub org: String,
    /// Kind of site, e.g. `dairy`.
    pub kind: String,
    /// Name and place.
    pub name: String,
}

/// The authority's keys and threshold (`pub/authority`).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct AuthorityRecord {
    /// The organisation that is the authority.
    pub org: String,
    /// Keys that may approve proposals.
    pub keys: Vec<KeyBytes>,
    /// Approvals needed.
    pub threshold: u32,
}

/// What the authority may decide (needs `threshold` approvals).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum AuthorityAction {
    /// Onboards an organisation.
    RegisterOrg {
        /// Its id (a code).
        id: String,
        /// Legal name.
        name: String,
        /// Kind (genesis numbering).
        kind: u8,
        /// VAT number.
        vat_number: Option<String>,
        /// Initial roles.
        roles: Vec<Role>,
        /// Initial keys.
        keys: Vec<KeyBytes>,
    },
    /// Suspends, reinstates or revokes an organisation.
    SetOrgStatus {
        /// The organisation.
        org: String,
        /// Its new status.
        status: OrgStatus,
    },
    /// Grants a role.
    GrantRole {
        /// The organisation.
        org: String,
        /// The role.
        role: Role,
    },
    /// Takes a role away.
    RevokeRole {
        /// The organisation.
        org: String,
        /// The role.
        role: Role,
    },
    /// Adds a key to an organisation.
    AddKey {
        /// The organisation.
        org: String,
        /// The key.
        key: KeyBytes,
    },
    /// Removes a key (a lost or compromised key).
    RemoveKey {
        /// The organisation.
        org: String,
        /// The key.
        key: KeyBytes,
    },
    /// Accredits a certification body for a scheme and scope.
    Accredit {
        /// The body.
        org: String,
        /// Scheme code.
        scheme: String,
        /// Protected names; empty means the whole scheme.
        scope: Vec<String>,
        /// Start of validity, ms.
        valid_from_ms: u64,
        /// End of validity (exclusive), ms.
        valid_until_ms: u64,
    },
    /// Withdraws an accreditation.
    WithdrawAccreditation {
        /// The body.
        org: String,
        /// Scheme code.
        scheme: String,
    },
    /// Adds a validator, changes its voting power, or removes it (power 0).
    /// The node applies it to the validator set two heights after the block
    /// that executes it (see [`ValidatorRecord`]).
    SetValidator {
        /// The operating organisation (role `ValidatorOperator`).
        org: String,
        /// The validator's consensus key.
        consensus_key: KeyBytes,
        /// Its p2p node key (allowed to connect while it is a validator).
        p2p_key: KeyBytes,
        /// Voting power; 0 removes it.
        power: u64,
    },
    /// Lets an observer node connect to the validators (it follows the
    /// chain and serves the API; it never votes), or stops letting it.
    SetObserver {
        /// The organisation that runs it.
        org: String,
        /// Its p2p node key.
        p2p_key: KeyBytes,
        /// Whether it may connect.
        allowed: bool,
    },
    /// Opens a one-time enrolment for an organisation's first (or a
    /// restored) device key: whoever holds the ticket's secret key may enrol
    /// one device key with `rights`, once, before `expires_ms` (block time).
    /// Only the ticket's public key is on chain (a one-way image of the
    /// secret the link carries), so the link is what must be kept.
    OpenEnrolment {
        /// The organisation the device will sign for.
        org: String,
        /// The ticket's ed25519 public key.
        ticket_key: KeyBytes,
        /// The rights the enrolled key gets ([`rights`]).
        rights: u8,
        /// The last block time (ms since the epoch) it may be used at.
        expires_ms: u64,
    },
    /// Sets a new version of a protected name's production rules, applying
    /// from its `applies_from_ms` (never before the block that approves it).
    SetRules(crate::rules::ProductionRules),
    /// Vouches for a registered site's official place (ISTAT municipality
    /// code), as the authority checked it against the official register.
    VouchSite {
        /// The site's GLN.
        gln: String,
        /// ISTAT municipality code, 6 digits.
        istat: String,
    },
    /// Lets an organisation (the protected name's consortium) set and amend
    /// that name's rules itself ([`method::SET_RULES`]), under the same
    /// checks; `None` withdraws the delegation. The authority keeps its own
    /// power to set them.
    DelegateRules {
        /// Scheme code.
        scheme: String,
        /// The protected name.
        name: String,
        /// The organisation, or `None` to withdraw.
        org: Option<String>,
    },
}

/// An observer node as the authority set it (`pub/observer/{p2p key hex}`).
/// Every node lets the allowed ones connect from the block after it is written.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ObserverRecord {
    /// The organisation that runs it.
    pub org: String,
    /// p2p node key.
    pub p2p_key: KeyBytes,
    /// Whether it may connect.
    pub allowed: bool,
    /// The height of the block that set it.
    pub set_height: u64,
}

/// A validator as the authority set it (`pub/validator/{consensus key hex}`).
/// Written in block `h`, it is part of the validator set from height `h + 2`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ValidatorRecord {
    /// The operating organisation.
    pub org: String,
    /// Consensus key.
    pub consensus_key: KeyBytes,
    /// p2p node key.
    pub p2p_key: KeyBytes,
    /// Voting power; 0 = removed.
    pub power: u64,
    /// The height of the block that set it.
    pub set_height: u64,
}

/// A pending or executed authority proposal.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Proposal {
    /// What it does.
    pub action: AuthorityAction,
    /// Authority keys that approved it (the proposer first).
    pub approvals: Vec<KeyBytes>,
    /// Whether the threshold was reached and the action applied.
    pub executed: bool,
    /// Height at which it was proposed.
    pub proposed_height: u64,
}

/// What a device key may do for its organisation, as bits of a byte. A key
/// the authority gave (genesis, `RegisterOrg`, `AddKey`) has no
/// [`DeviceGrant`] and may do everything its organisation's roles allow.
pub mod rights {
    /// Add, restrict and revoke the organisation's device keys; register sites.
    pub const ADMIN: u8 = 1;
    /// Register products and lots, record, transform, split, merge, ship,
    /// receive; issue and change attestations (a certification body).
    pub const RECORD: u8 = 2;
    /// Open and close recalls.
    pub const RECALL: u8 = 4;
    /// Every right.
    pub const ALL: u8 = ADMIN | RECORD | RECALL;
}

/// A device key an organisation enrolled itself (`pub/dev/{key hex}`): its
/// label is pseudonymous on purpose ("device 3, admin"); names of persons
/// stay off chain.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct DeviceGrant {
    /// The organisation it signs for.
    pub org: String,
    /// A pseudonymous label.
    pub label: String,
    /// What it may do ([`rights`]).
    pub rights: u8,
    /// The last block time (ms since the epoch) it may act at; 0 = no expiry.
    pub expires_ms: u64,
    /// The key that added it: an admin device, or the enrolment ticket's key.
    pub added_by: KeyBytes,
    /// The height of the block that added it.
    pub added_height: u64,
}

impl DeviceGrant {
    /// Whether the key may act with `right` at block time `time_ms`.
    pub fn allows(&self, right: u8, time_ms: u64) -> bool {
        self.rights & right == right && (self.expires_ms == 0 || time_ms <= self.expires_ms)
    }
}

/// An open enrolment (`pub/enrol/{ticket key hex}`), removed when used.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct EnrolmentTicket {
    /// The organisation the device will sign for.
    pub org: String,
    /// The rights the enrolled key gets.
    pub rights: u8,
    /// The last block time (ms) it may be used at.
    pub expires_ms: u64,
}

/// `enrol`'s arguments, sent by the new device's own key (a key of no
/// organisation yet: the only call such a key may make, and only with an
/// open ticket, see `filiera_execution::standing`).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Enrol {
    /// The ticket's ed25519 public key (the ticket's name).
    pub ticket_key: KeyBytes,
    /// The ticket key's signature of [`enrolment_message`] for the sender.
    pub proof: Vec<u8>,
    /// The device's pseudonymous label.
    pub label: String,
}

/// What a ticket key signs to enrol `device` on `chain_id`: binding the
/// device key means a copy of the transaction seen in the mempool cannot
/// enrol another key with the same ticket.
pub fn enrolment_message(chain_id: &str, device: &KeyBytes) -> Vec<u8> {
    let mut m = b"filiera/enrol/v1\n".to_vec();
    m.extend_from_slice(chain_id.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(device);
    m
}

/// `add_device`'s arguments: an admin device of the organisation adds a key.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct AddDevice {
    /// The new device's key (shown by the new device as a pairing code).
    pub key: KeyBytes,
    /// Its pseudonymous label.
    pub label: String,
    /// What it may do ([`rights`]).
    pub rights: u8,
    /// Last block time (ms) it may act at; 0 = no expiry.
    pub expires_ms: u64,
}

/// Registry methods.
pub mod method {
    /// `AuthorityAction` → proposal id (u64); executes at once if the threshold is 1.
    pub const PROPOSE: &str = "propose";
    /// `u64` proposal id; executes when the threshold is reached.
    pub const APPROVE: &str = "approve";
    /// `SiteRecord` (its `org` must be the caller's); producers and processors only.
    pub const REGISTER_SITE: &str = "register_site";
    /// `Enrol`, by the new device's key: uses an open enrolment ticket.
    pub const ENROL: &str = "enrol";
    /// `AddDevice`, by an admin device of the organisation.
    pub const ADD_DEVICE: &str = "add_device";
    /// `KeyBytes`, by an admin device of the same organisation: revokes a
    /// device key (a lost phone), never the caller's own.
    pub const REVOKE_DEVICE: &str = "revoke_device";
    /// `ProductionRules`, by an admin key of the organisation the authority
    /// delegated that protected name's rules to.
    pub const SET_RULES: &str = "set_rules";
}

/// Largest device label, bytes.
pub const DEVICE_LABEL_BYTES_MAX: usize = 64;

/// Largest number of keys an organisation may have: a dairy's office, its
/// cellar tablets and its staff's phones.
pub const ORG_KEYS_MAX: usize = 64;
/// Largest number of protected names in an accreditation scope.
pub const SCOPE_NAMES_MAX: usize = 32;

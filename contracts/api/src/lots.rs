//! The lots contract: products, lots, and the events that happen to them.
//!
//! Quantities are integers in the product's unit of measure (grams, millilitres
//! or pieces: the unit is part of the product), so conservation is exact.

use crate::Hash32;
use alloc::string::String;
use alloc::vec::Vec;
use borsh::{BorshDeserialize, BorshSerialize};

/// Yields are in parts per thousand: 1000 means one unit out per unit in.
pub const YIELD_SCALE: u64 = 1_000;
/// Most inputs or outputs of one transformation, split or merge.
pub const LOT_LINKS_MAX: usize = 32;
/// Most lots one recall may mark (the recall fails beyond it: split the recall).
pub const RECALL_LOTS_MAX: usize = 512;

/// A product (`pub/product/{gtin}`).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ProductRecord {
    /// GTIN, 14 digits.
    pub gtin: String,
    /// The organisation that owns the GTIN.
    pub owner: String,
    /// Protected or common name, e.g. `Casciotta d'Urbino`.
    pub name: String,
    /// Scheme code (`DOP`, `IGP`, `DOC`...) or `none`.
    pub scheme: String,
    /// Unit of measure of quantities, e.g. `g`, `ml`, `each`.
    pub uom: String,
    /// Most output per input of a transformation into this product, per thousand.
    pub max_yield_permille: u64,
}

/// A reference to a lot.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub struct LotRef {
    /// GTIN of its product.
    pub gtin: String,
    /// Batch/lot number (GS1 AI 10).
    pub lot: String,
}

/// A lot's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum LotStatus {
    /// Usable.
    Active = 0,
    /// Held (e.g. pending inspection): no transformation, shipping or sale.
    Held = 1,
    /// On its way to another organisation.
    InTransit = 2,
    /// Entirely consumed by transformations, splits or merges.
    Consumed = 3,
    /// Sold to the final consumer.
    Sold = 4,
    /// Destroyed.
    Destroyed = 5,
}

/// A recall mark on a lot.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct RecallMark {
    /// The lot the recall was opened on (this one, or one upstream).
    pub origin: LotRef,
    /// Why.
    pub reason: String,
    /// Block time of the recall, ms.
    pub time_ms: u64,
}

/// A lot (`pub/lot/...`).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct LotRecord {
    /// Which lot.
    pub id: LotRef,
    /// The organisation that created it.
    pub owner: String,
    /// The organisation that has it now.
    pub holder: String,
    /// Where it is going, while in transit.
    pub destination: Option<String>,
    /// Quantity left, in the product's unit.
    pub quantity: u64,
    /// Quantity it was created with.
    pub initial_quantity: u64,
    /// Where it is (GLN), if known.
    pub site: Option<String>,
    /// Its state.
    pub status: LotStatus,
    /// Set when it or a lot upstream was recalled.
    pub recall: Option<RecallMark>,
    /// Lots it was made from.
    pub inputs: Vec<LotRef>,
    /// Public metadata (e.g. `harvest_year`).
    pub metadata: Vec<(String, String)>,
    /// Hash of a private payload kept off chain.
    pub private_hash: Option<Hash32>,
    /// Number of events recorded.
    pub events: u32,
    /// Block time of creation, ms.
    pub created_ms: u64,
}

/// What happened to a lot (CBV business steps).
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum EventKind {
    /// Created (harvest, make, first registration).
    Commission = 0,
    /// Consumed into or produced by a transformation.
    Transform = 1,
    /// Split into parts.
    Split = 2,
    /// Merged with others.
    Merge = 3,
    /// Shipped to another organisation.
    Ship = 4,
    /// Received by the organisation it was shipped to.
    Receive = 5,
    /// Stored or aged.
    Store = 6,
    /// Inspected.
    Inspect = 7,
    /// Held.
    Hold = 8,
    /// Released from a hold.
    Release = 9,
    /// Sold to the final consumer.
    Sell = 10,
    /// Destroyed.
    Destroy = 11,
    /// Recalled (here or upstream).
    Recall = 12,
    /// A recall lifted by the lot's owner or the authority.
    RecallClosed = 13,
}

/// One event on a lot (`.../ev/{seq}`); never edited.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct LotEvent {
    /// What happened.
    pub kind: EventKind,
    /// The EPCIS 2.0 event hash it anchors, if any.
    pub epcis_hash: Option<Hash32>,
    /// The organisation that recorded it.
    pub by: String,
    /// Block height.
    pub height: u64,
    /// Block time, ms.
    pub time_ms: u64,
    /// Quantity taken from (negative) or given to the lot.
    pub quantity_delta: i64,
    /// Site (GLN), if any.
    pub site: Option<String>,
    /// Earlier event this one declares wrong (EPCIS error declaration).
    pub corrects: Option<u32>,
    /// A note (reason, outcome of an inspection...).
    pub note: String,
}

/// `register_product`: the caller's organisation becomes the GTIN's owner; the
/// first registration wins (GS1 assigns company prefixes off chain).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct RegisterProduct {
    /// GTIN.
    pub gtin: String,
    /// Name.
    pub name: String,
    /// Scheme code or `none`.
    pub scheme: String,
    /// Unit of measure.
    pub uom: String,
    /// Maximum yield into it, per thousand.
    pub max_yield_permille: u64,
}

/// `commission`: creates a lot of the caller's own product.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Commission {
    /// The new lot.
    pub id: LotRef,
    /// Its quantity.
    pub quantity: u64,
    /// Its site, a GLN the caller runs.
    pub site: Option<String>,
    /// Public metadata.
    pub metadata: Vec<(String, String)>,
    /// Hash of private data.
    pub private_hash: Option<Hash32>,
    /// The EPCIS event anchored.
    pub epcis_hash: Option<Hash32>,
}

/// An amount of a lot.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct LotAmount {
    /// Which lot.
    pub id: LotRef,
    /// How much.
    pub quantity: u64,
}

/// `transform`: draws down inputs the caller holds and creates outputs.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Transform {
    /// Inputs and the quantity taken from each.
    pub inputs: Vec<LotAmount>,
    /// New lots and their quantities.
    pub outputs: Vec<LotAmount>,
    /// Site.
    pub site: Option<String>,
    /// The EPCIS TransformationEvent anchored.
    pub epcis_hash: Option<Hash32>,
}

/// `split`: the whole remaining quantity of a lot into new lots of the same product.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Split {
    /// The lot split.
    pub from: LotRef,
    /// The parts (same GTIN); their quantities sum to what is left.
    pub parts: Vec<LotAmount>,
    /// The EPCIS event anchored.
    pub epcis_hash: Option<Hash32>,
}

/// `merge`: whole lots of one product into one new lot.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Merge {
    /// The lots merged (same GTIN), wholly consumed.
    pub from: Vec<LotRef>,
    /// The new lot; its quantity is the sum.
    pub into: LotRef,
    /// The EPCIS event anchored.
    pub epcis_hash: Option<Hash32>,
}

/// `record`: an event that does not create lots (ship, receive, store, inspect,
/// hold, release, sell, destroy).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Record {
    /// The lot.
    pub id: LotRef,
    /// What happened.
    pub kind: EventKind,
    /// For `Ship`: the receiving organisation.
    pub to: Option<String>,
    /// Quantity concerned (for `Sell` and `Destroy`: taken from the lot; 0 = all).
    pub quantity: u64,
    /// Site (GLN), if any.
    pub site: Option<String>,
    /// Earlier event this one declares wrong.
    pub corrects: Option<u32>,
    /// A note.
    pub note: String,
    /// The EPCIS event anchored.
    pub epcis_hash: Option<Hash32>,
}

/// `recall`: marks a lot and every lot downstream of it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Recall {
    /// The lot recalled.
    pub id: LotRef,
    /// Why.
    pub reason: String,
}

/// Bytes of a captured EPCIS event document, at most (it travels in a transaction).
pub const EPCIS_EVENT_BYTES_MAX: usize = 16 * 1024;

/// The lot action an EPCIS event is.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum CapturedAction {
    /// A new lot.
    Commission(Commission),
    /// Lots consumed into lots.
    Transform(Transform),
    /// Something that happened to one lot.
    Record(Record),
}

/// An EPCIS 2.0 event captured with its lot action (`capture`): the action is
/// carried out, the event document is kept under its CBV 2.0 hash (which the
/// action's `epcis_hash` names) and indexed by every lot it names.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Capture {
    /// The event, compact JSON, with `eventID` set to its hash.
    pub event: String,
    /// What it does to lots.
    pub action: CapturedAction,
}

/// The lot action a stored EPCIS event document says it is, read from the
/// document itself (by the host, see [`EpcisFacts`]) before the node resolves
/// a destination site to the organisation that runs it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum EventPlan {
    /// A new lot.
    Commission {
        /// The lot.
        lot: LotRef,
        /// Its quantity, in the product's unit.
        quantity: u64,
        /// The GLN of the site (`bizLocation`, else `readPoint`).
        site: Option<String>,
    },
    /// Lots consumed into lots.
    Transform {
        /// Drawn down.
        inputs: Vec<LotAmount>,
        /// Produced.
        outputs: Vec<LotAmount>,
        /// The GLN of the site.
        site: Option<String>,
    },
    /// Something that happened to one lot.
    Record {
        /// The lot.
        lot: LotRef,
        /// What.
        kind: EventKind,
        /// Quantity concerned (0 when the event gives none).
        quantity: u64,
        /// The GLN of the site.
        site: Option<String>,
        /// For shipping: the GLN of the destination location.
        destination: Option<String>,
    },
}

/// What the host reads from a stored EPCIS event document (host function
/// `epcis_facts`, ABI v1): its CBV 2.0 hash and its lot action. The lots
/// contract stores a capture only when both equal what the transaction
/// claims, so an event id always names the document that hashes to it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct EpcisFacts {
    /// The CBV 2.0 event hash of the document.
    pub hash: Hash32,
    /// The lot action the document is.
    pub plan: EventPlan,
}

/// Lots methods.
pub mod method {
    /// `RegisterProduct`; producers and processors (the GTIN's owner).
    pub const REGISTER_PRODUCT: &str = "register_product";
    /// `Commission`; producers owning the product.
    pub const COMMISSION: &str = "commission";
    /// `Transform`; producers and processors holding the inputs.
    pub const TRANSFORM: &str = "transform";
    /// `Split`; the holder.
    pub const SPLIT: &str = "split";
    /// `Merge`; the holder.
    pub const MERGE: &str = "merge";
    /// `Record`; the holder (the receiver for `Receive`; a certification body may `Inspect`).
    pub const RECORD: &str = "record";
    /// `Recall`; the lot's owner or the authority.
    pub const RECALL: &str = "recall";
    /// An EPCIS event and its lot action ([`super::Capture`]).
    pub const CAPTURE: &str = "capture";
    /// `Recall` (its reason says why it is lifted): lifts the recall opened on
    /// that lot from it and every lot the recall reached; the recaller or the authority.
    pub const CLOSE_RECALL: &str = "close_recall";
    /// Called by the node at a version's activation when its proposal asks
    /// for a migration, never by a transaction (the executor refuses them).
    pub const MIGRATE: &str = "migrate";
}

/// The layout of the lots records this version writes (under
/// [`crate::keys::LAYOUT`] once a migration recorded it): a later version
/// converts from it, at its activation or lazily, record by record.
pub const LAYOUT_VERSION: u32 = 1;

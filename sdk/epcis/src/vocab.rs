//! CBV 2.0 vocabularies: the values EPCIS events may use for business steps,
//! dispositions, business transaction types, source/destination types and
//! error reasons, and their three spellings (bare word in JSON-LD, web URI,
//! the EPCIS 1.x URN). The hash always uses the web URI.

/// CBV 2.0 business steps.
pub const BIZ_STEPS: &[&str] = &[
    "accepting",
    "arriving",
    "assembling",
    "collecting",
    "commissioning",
    "consigning",
    "creating_class_instance",
    "cycle_counting",
    "decommissioning",
    "departing",
    "destroying",
    "disassembling",
    "dispensing",
    "encoding",
    "entering_exiting",
    "holding",
    "inspecting",
    "installing",
    "killing",
    "loading",
    "other",
    "packing",
    "picking",
    "receiving",
    "removing",
    "repackaging",
    "repairing",
    "replacing",
    "reserving",
    "retail_selling",
    "sampling",
    "sensor_reporting",
    "shipping",
    "staging_outbound",
    "stock_taking",
    "stocking",
    "storing",
    "transporting",
    "unloading",
    "unpacking",
    "void_shipping",
];

/// CBV 2.0 dispositions.
pub const DISPOSITIONS: &[&str] = &[
    "active",
    "available",
    "completeness_inferred",
    "completeness_verified",
    "conformant",
    "container_closed",
    "container_open",
    "damaged",
    "destroyed",
    "dispensed",
    "disposed",
    "encoded",
    "expired",
    "in_progress",
    "in_transit",
    "inactive",
    "mismatch_instance",
    "mismatch_class",
    "mismatch_quantity",
    "needs_replacement",
    "no_pedigree_match",
    "non_conformant",
    "non_sellable_other",
    "partially_dispensed",
    "recalled",
    "reserved",
    "retail_sold",
    "returned",
    "sellable_accessible",
    "sellable_not_accessible",
    "stolen",
    "unavailable",
    "unknown",
];

/// CBV 2.0 business transaction types.
pub const BIZ_TRANSACTION_TYPES: &[&str] = &[
    "bol",
    "cert",
    "desadv",
    "inv",
    "pedigree",
    "po",
    "poc",
    "prodorder",
    "recadv",
    "rma",
    "testprd",
    "testres",
    "upevt",
];

/// CBV 2.0 source and destination types.
pub const SOURCE_DESTINATION_TYPES: &[&str] = &["owning_party", "possessing_party", "location"];

/// A CBV vocabulary: its members and how each spelling starts.
#[derive(Clone, Copy, Debug)]
pub struct Vocabulary {
    /// Field name, for messages.
    pub name: &'static str,
    /// Members (bare words).
    pub members: &'static [&'static str],
    /// Prefix of the web URI, e.g. `https://ref.gs1.org/cbv/BizStep-`.
    pub web_prefix: &'static str,
    /// Prefix of the EPCIS 1.x URN, e.g. `urn:epcglobal:cbv:bizstep:`.
    pub urn_prefix: &'static str,
}

/// Business steps.
pub const BIZ_STEP: Vocabulary = Vocabulary {
    name: "bizStep",
    members: BIZ_STEPS,
    web_prefix: "https://ref.gs1.org/cbv/BizStep-",
    urn_prefix: "urn:epcglobal:cbv:bizstep:",
};
/// Dispositions.
pub const DISPOSITION: Vocabulary = Vocabulary {
    name: "disposition",
    members: DISPOSITIONS,
    web_prefix: "https://ref.gs1.org/cbv/Disp-",
    urn_prefix: "urn:epcglobal:cbv:disp:",
};
/// Business transaction types.
pub const BIZ_TRANSACTION_TYPE: Vocabulary = Vocabulary {
    name: "bizTransaction type",
    members: BIZ_TRANSACTION_TYPES,
    web_prefix: "https://ref.gs1.org/cbv/BTT-",
    urn_prefix: "urn:epcglobal:cbv:btt:",
};
/// Source and destination types.
pub const SOURCE_DESTINATION_TYPE: Vocabulary = Vocabulary {
    name: "source/destination type",
    members: SOURCE_DESTINATION_TYPES,
    web_prefix: "https://ref.gs1.org/cbv/SDT-",
    urn_prefix: "urn:epcglobal:cbv:sdt:",
};

impl Vocabulary {
    /// The bare word a value names, if it is a member in any spelling;
    /// `Err` with a reason for a CBV spelling of a non-member. A URI outside
    /// the CBV (a private vocabulary) is `Ok(None)`: EPCIS allows them.
    pub fn member(&self, value: &str) -> Result<Option<&'static str>, String> {
        let word = value
            .strip_prefix(self.web_prefix)
            .or_else(|| value.strip_prefix(self.urn_prefix));
        let cbv_spelling = word.is_some() || !value.contains(':');
        let word = word.unwrap_or(value);
        match self.members.iter().find(|m| **m == word) {
            Some(m) => Ok(Some(m)),
            None if cbv_spelling => Err(format!(
                "{} {value:?} is not in the CBV 2.0 vocabulary",
                self.name
            )),
            None => Ok(None),
        }
    }

    /// The spelling the hash uses: the web URI for a member, the value as is
    /// for a private vocabulary.
    pub fn canonical(&self, value: &str) -> String {
        match self.member(value) {
            Ok(Some(word)) => format!("{}{word}", self.web_prefix),
            _ => value.to_owned(),
        }
    }
}

//! The contracts shipped with the node: the committed, reproducibly built
//! artifacts of `contracts/` (scripts/build-contracts.sh). Genesis pins their
//! hashes; a node refuses a genesis whose hashes differ.

use filiera_contract_api::contract_ids;
use filiera_types::{ContractId, Domain, Hash};

/// The registry contract's code.
pub const REGISTRY_WASM: &[u8] = include_bytes!("../../../contracts/wasm/registry.wasm");
/// The lots contract's code.
pub const LOTS_WASM: &[u8] = include_bytes!("../../../contracts/wasm/lots.wasm");
/// The certification contract's code.
pub const CERTIFICATION_WASM: &[u8] = include_bytes!("../../../contracts/wasm/certification.wasm");

/// The built-in contracts: id and code.
pub fn builtin() -> [(ContractId, &'static [u8]); 3] {
    // The ids are compile-time constants that satisfy ContractId's rules.
    let id = |s: &str| {
        ContractId::new(s).unwrap_or_else(|_| unreachable!("built-in contract id {s} is valid"))
    };
    [
        (id(contract_ids::REGISTRY), REGISTRY_WASM),
        (id(contract_ids::LOTS), LOTS_WASM),
        (id(contract_ids::CERTIFICATION), CERTIFICATION_WASM),
    ]
}

/// The hash genesis pins for a contract's code.
pub fn code_hash(code: &[u8]) -> Hash {
    Hash::of(Domain::ContractCode, code)
}

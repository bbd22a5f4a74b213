//! State proofs come from any node to light clients (the consumer page, the
//! auditor's verifier): decoding and verifying arbitrary bytes never panics,
//! and nothing made of them verifies against a root nobody proved it for.
#![no_main]
use filiera_types::Hash;
use filiera_types::state::StateProof;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(proof) = StateProof::decode(data) {
        // A root no tree has: a proof that verified against it would be a forgery.
        let root = Hash([0x5a; 32]);
        assert!(proof.verify(&root).is_err());
    }
});

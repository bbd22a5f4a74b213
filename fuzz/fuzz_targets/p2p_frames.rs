//! What peers send besides consensus messages: the gossip envelope and the
//! block-sync request and answer, on arbitrary bytes. Never panics; what
//! decodes is canonical (one encoding per message, so no two byte strings
//! gossip as the same message).
#![no_main]
use filiera_wire::{Gossip, SyncRequest, SyncResponse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(g) = Gossip::decode(data) {
        assert_eq!(g.encode(), data);
    }
    if let Ok(r) = SyncRequest::decode(data) {
        assert_eq!(r.encode(), data);
    }
    if let Ok(r) = SyncResponse::decode(data) {
        assert_eq!(r.encode(), data);
    }
});

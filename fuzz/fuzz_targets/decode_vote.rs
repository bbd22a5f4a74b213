//! Vote and commit certificate decoding on arbitrary bytes: never panics;
//! what decodes is canonical.
#![no_main]
use filiera_types::vote::{CommitCertificate, SignedVote};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(vote) = SignedVote::decode(data) {
        assert_eq!(filiera_types::encoding::encode(&vote), data);
    }
    if let Ok(cert) = CommitCertificate::decode(data) {
        assert_eq!(filiera_types::encoding::encode(&cert), data);
    }
});

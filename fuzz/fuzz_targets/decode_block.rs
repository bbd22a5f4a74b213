//! Block decoding on arbitrary bytes: never panics; what decodes is canonical
//! and its transactions root can be recomputed.
#![no_main]
use filiera_types::block::Block;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(block) = Block::decode(data) {
        assert_eq!(
            filiera_types::encoding::encode(&block),
            data,
            "decoded bytes are not canonical"
        );
        let _ = block.txs_root_matches();
        let _ = block.hash();
    }
});

use filiera_service::wire::{GOSSIP_BYTES_MAX, Gossip, SyncRequest, SyncResponse};

#[test]
fn malformed_and_oversized_peer_bytes_are_refused() {
    assert!(Gossip::decode(&[]).is_err());
    assert!(Gossip::decode(&[9, 0, 0, 0]).is_err(), "unknown variant");
    let good = Gossip::Consensus(vec![1, 2, 3]).encode();
    assert_eq!(
        Gossip::decode(&good).unwrap(),
        Gossip::Consensus(vec![1, 2, 3])
    );
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(Gossip::decode(&trailing).is_err(), "trailing bytes");
    // A length prefix that promises more than the cap.
    let mut lying = vec![0u8];
    lying.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(Gossip::decode(&lying).is_err());
    assert!(Gossip::decode(&vec![0; GOSSIP_BYTES_MAX + 1]).is_err());
    let request = SyncRequest {
        from_height: 7,
        count: 32,
    };
    assert_eq!(SyncRequest::decode(&request.encode()).unwrap(), request);
    assert!(SyncRequest::decode(&[1, 2, 3]).is_err());
    assert!(
        SyncResponse::decode(&[1, 0, 0, 0]).is_err(),
        "a block that is not there"
    );
    assert_eq!(SyncResponse::decode(&[0, 0, 0, 0]).unwrap().blocks.len(), 0);
}

#[test]
fn transaction_batches_round_trip_and_keep_their_place_in_the_envelope() {
    let key = filiera_types::SecretKey::from_seed(&[7; 32]);
    let batch: Vec<_> = (0..3).map(|n| crate::mempool::tx(&key, n, 100)).collect();
    let bytes = Gossip::Txs(batch.clone()).encode();
    // The variant tag: 3, after Consensus, Block and Tx (appended, so older
    // encodings keep their meaning).
    assert_eq!(bytes[0], 3);
    assert_eq!(Gossip::decode(&bytes).unwrap(), Gossip::Txs(batch));
    assert_eq!(
        Gossip::decode(&Gossip::Tx(crate::mempool::tx(&key, 0, 100)).encode()).unwrap(),
        Gossip::Tx(crate::mempool::tx(&key, 0, 100))
    );
}

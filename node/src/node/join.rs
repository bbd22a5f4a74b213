//! `filiera join`: fills an empty node home with a verified state snapshot
//! served by peers, so a new observer or validator starts at the newest
//! certified height instead of replaying every block; `filiera start` then
//! continues with block sync.
//!
//! Nothing the peers send is trusted: the validator-set history is walked from
//! this home's own genesis, the offered header's certificate is checked
//! against the set that history leads to, each chunk is checked against the
//! header's state root as it arrives, and the finished tree must have that
//! root. A peer that lies wastes time; it cannot plant state.

use crate::node::home::Home;
use anyhow::{Context, Result, bail};
use filiera_api::peer_reads::{PEER_SIGNATURE_HEADER, peer_signature};
use filiera_storage::{
    SNAPSHOT_CHUNK_BYTES_MAX, SNAPSHOT_OFFER_BYTES_MAX, SnapshotChunk, SnapshotOffer,
    StorageConfig, Store,
};
use filiera_types::{Genesis, SecretKey};
use serde_json::json;
use std::path::Path;
use std::time::Instant;

/// How often one chunk is asked for (across the peers) before the join gives up.
const CHUNK_ATTEMPTS_MAX: usize = 6;

/// The p2p key this home's node will run with, and the chain: a peer serves
/// its state only to a request signed with a key the chain allows (a
/// validator's or an observer's the authority allows, ADR 0010).
struct Signer<'a> {
    key: &'a SecretKey,
    chain_id: &'a str,
}

/// GETs `peer`'s `path`, signed with this node's p2p key, reading at most `limit_bytes`.
fn fetch(signer: &Signer<'_>, peer: &str, path: &str, limit_bytes: usize) -> Result<Vec<u8>> {
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let signature = peer_signature(signer.key, signer.chain_id, path, now_s)
        .context("signing the snapshot request")?;
    crate::http::get_bytes_with(
        &format!("{peer}{path}"),
        "application/octet-stream",
        &[(PEER_SIGNATURE_HEADER, &signature)],
        limit_bytes,
    )
}

/// What a join did, for the operator and for measurements.
pub struct Joined {
    pub height: u64,
    pub state_root: String,
    pub entries: u64,
    pub chunks: u64,
    pub bytes: u64,
    pub set_changes: usize,
    pub elapsed_ms: u128,
}

pub fn join(home_dir: &Path, peers: &[String], json_out: bool) -> Result<()> {
    let joined = run(home_dir, peers)?;
    if json_out {
        println!(
            "{}",
            json!({
                "height": joined.height,
                "state_root": joined.state_root,
                "entries": joined.entries,
                "chunks": joined.chunks,
                "bytes": joined.bytes,
                "validator_set_changes": joined.set_changes,
                "elapsed_ms": joined.elapsed_ms as u64,
            })
        );
    } else {
        println!(
            "joined at height {} (state root {}): {} entries in {} chunks, {} bytes, {} validator-set change(s) checked from genesis, {} ms\nstart the node with: filiera start --home {}",
            joined.height,
            joined.state_root,
            joined.entries,
            joined.chunks,
            joined.bytes,
            joined.set_changes,
            joined.elapsed_ms,
            home_dir.display()
        );
    }
    Ok(())
}

fn run(home_dir: &Path, peers: &[String]) -> Result<Joined> {
    let started = Instant::now();
    if peers.is_empty() {
        bail!("name at least one peer's API with --from");
    }
    let peers: Vec<&str> = peers.iter().map(|p| p.trim_end_matches('/')).collect();
    let home = Home::new(home_dir);
    let genesis_path = home.genesis();
    let genesis = Genesis::from_json(
        &std::fs::read(&genesis_path)
            .with_context(|| format!("reading {}", genesis_path.display()))?,
    )
    .context("this home's genesis")?;
    let genesis_set = genesis
        .validator_set()
        .context("the genesis validator set")?;
    let p2p_key = crate::keyfile::read(&home.p2p_key()).context("this home's p2p key")?;
    let signer = Signer {
        key: &p2p_key,
        chain_id: genesis.chain_id.as_str(),
    };
    let db_dir = home_dir.join("data").join("db");
    std::fs::create_dir_all(&db_dir).with_context(|| format!("creating {}", db_dir.display()))?;
    let store = Store::open(&db_dir, StorageConfig::default())
        .with_context(|| format!("opening {} (is the node running?)", db_dir.display()))?;
    if let Some(height) = store.last_height()? {
        bail!(
            "{} already holds the chain at height {height}: fast join fills an empty data directory only",
            db_dir.display()
        );
    }

    // The first peer that answers with an offer that checks out.
    let mut chosen = None;
    for peer in &peers {
        let offer = fetch(&signer, peer, "/v1/snapshot", SNAPSHOT_OFFER_BYTES_MAX)
            .and_then(|b| Ok((b.len(), SnapshotOffer::decode(&b)?)))
            .and_then(|(len, o)| check_offer(&genesis, &genesis_set, &o).map(|()| (len, o)));
        match offer {
            Ok(offer) => {
                chosen = Some(offer);
                break;
            }
            Err(e) => eprintln!("warning: {peer}: {e:#}"),
        }
    }
    let Some((offer_bytes, offer)) = chosen else {
        bail!("no peer offered a snapshot that checks out against this genesis");
    };
    let height = offer.header.height;
    let chunks = offer.chunks();
    let history: Vec<_> = offer
        .set_history
        .iter()
        .map(|(h, c, _)| (h.clone(), c.clone()))
        .collect();
    let mut importer = store
        .import_snapshot(
            genesis.hash(),
            offer.header.clone(),
            offer.certificate.clone(),
        )
        .context("starting the import")?;

    // Drawn on a terminal only (hidden when stderr is a pipe or a file).
    let bar = indicatif::ProgressBar::new(chunks);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} chunks ({bytes_per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut bytes = 0u64;
    for index in 0..chunks {
        let index = u32::try_from(index).context("too many chunks")?;
        let mut last_error = None;
        let mut done = false;
        for attempt in 0..CHUNK_ATTEMPTS_MAX {
            let peer = peers[(index as usize + attempt) % peers.len()];
            let path = format!("/v1/snapshot/{height}/{index}");
            let got = fetch(&signer, peer, &path, SNAPSHOT_CHUNK_BYTES_MAX).and_then(|b| {
                let chunk = SnapshotChunk::decode(&b)?;
                Ok((b.len(), chunk))
            });
            match got {
                Ok((len, chunk)) => {
                    // A chunk that fails its proof ends the import: the
                    // restorer may hold part of it, so the directory must go.
                    importer.add_chunk(chunk).with_context(|| {
                        format!(
                            "chunk {index} from {peer}; delete {} and join again",
                            db_dir.display()
                        )
                    })?;
                    bytes += len as u64;
                    done = true;
                    break;
                }
                Err(e) => last_error = Some(e),
            }
        }
        if !done {
            let e = last_error.unwrap_or_else(|| anyhow::anyhow!("no answer"));
            bail!(
                "chunk {index} of height {height} could not be fetched ({e:#}); delete {} and join again",
                db_dir.display()
            );
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let root = importer.finish().context("finishing the import")?;
    store
        .keep_history(&history)
        .context("keeping the validator-set history")?;
    Ok(Joined {
        height,
        state_root: root.to_string(),
        entries: offer.entries,
        chunks,
        bytes: bytes + offer_bytes as u64,
        set_changes: offer.set_history.len(),
        elapsed_ms: started.elapsed().as_millis(),
    })
}

fn check_offer(
    genesis: &Genesis,
    genesis_set: &filiera_types::ValidatorSet,
    offer: &SnapshotOffer,
) -> Result<()> {
    let chain = genesis.chain_id.as_str();
    let header = &offer.header;
    if header.chain_id.as_str() != chain {
        bail!(
            "the offer is for chain {}, not {chain}",
            header.chain_id.as_str()
        );
    }
    let set = filiera_verify::verify_set_history(chain, genesis_set, &offer.set_history, header)
        .context("the offer's validator-set history")?;
    offer
        .certificate
        .verify_for(chain, &set, header.height, &header.hash())
        .context("the offer's commit certificate")?;
    if offer.entries == 0 || offer.chunk_entries == 0 {
        bail!("the offer describes an empty state");
    }
    Ok(())
}

//! `filiera-byzantine`: a Byzantine peer on a real network, for the fault
//! harness and for operators who want to see their nodes hold (see the
//! library's documentation). Runs for `--duration-s`, then prints what it
//! did as JSON (and writes it to `--report`).
//!
//! Example, validator 3 of a localnet turned attacker (stop its node first):
//!   filiera-byzantine --genesis localnet/genesis.json --home localnet/node3 \
//!     --peer /ip4/127.0.0.1/tcp/26656 --peer /ip4/127.0.0.1/tcp/26657 \
//!     --attacks blocks,equivocate --duration-s 60

use anyhow::{Context, Result, bail};
use clap::Parser;
use filiera_byzantine::{Attack, Config};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[derive(Parser)]
#[command(about = "A Byzantine peer holding an allow-listed key: floods, forges, equivocates")]
struct Args {
    /// The chain's genesis file.
    #[arg(long)]
    genesis: PathBuf,
    /// A node home whose keys/p2p.json and keys/consensus.json the attacker holds.
    #[arg(long)]
    home: Option<PathBuf>,
    /// The allow-listed node key file (default: <home>/keys/p2p.json).
    #[arg(long)]
    p2p_key: Option<PathBuf>,
    /// The key it signs with (default: <home>/keys/consensus.json).
    #[arg(long)]
    signing_key: Option<PathBuf>,
    /// A peer to attack, `/ip4/<ip>/tcp/<port>` (repeat).
    #[arg(long, required = true)]
    peer: Vec<libp2p::Multiaddr>,
    /// Attacks, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    attacks: Vec<String>,
    /// How long to attack, s.
    #[arg(long, default_value_t = 60)]
    duration_s: u64,
    /// Time between two rounds of attacks, ms.
    #[arg(long, default_value_t = 100)]
    tick_ms: u64,
    /// Sockets held at once by the connections attack, at most.
    #[arg(long, default_value_t = 256)]
    connections_held_max: usize,
    /// Where to write the report (JSON).
    #[arg(long)]
    report: Option<PathBuf>,
}

fn key_path(given: Option<PathBuf>, home: Option<&PathBuf>, file: &str) -> Result<PathBuf> {
    given
        .or_else(|| home.map(|h| h.join("keys").join(file)))
        .with_context(|| format!("give --home or the key file ({file})"))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let genesis = filiera_types::Genesis::from_json(
        &std::fs::read(&args.genesis)
            .with_context(|| format!("reading {}", args.genesis.display()))?,
    )
    .context("genesis")?;
    let p2p_key = key_path(args.p2p_key, args.home.as_ref(), "p2p.json")?;
    let signing_key = key_path(args.signing_key, args.home.as_ref(), "consensus.json")?;
    let read = |p: &PathBuf| {
        filiera_client::keys::read(p).with_context(|| format!("reading {}", p.display()))
    };
    let attacks: BTreeSet<Attack> = if args.attacks.is_empty() {
        Attack::ALL.into_iter().collect()
    } else {
        args.attacks
            .iter()
            .map(|a| Attack::parse(a))
            .collect::<Result<_, _>>()?
    };
    if args.tick_ms == 0 {
        bail!("--tick-ms must be at least 1");
    }
    let config = Config {
        chain_id: genesis.chain_id.clone(),
        validators: genesis.validator_set().context("genesis validators")?,
        allowed: genesis.validators.iter().map(|v| v.p2p_key).collect(),
        p2p_key: read(&p2p_key)?,
        signing_key: read(&signing_key)?,
        peers: args.peer,
        attacks,
        tick_ms: args.tick_ms,
        connections_held_max: args.connections_held_max,
    };
    let stop = AtomicBool::new(false);
    let report = std::thread::scope(|s| {
        let attacker = s.spawn(|| filiera_byzantine::run_blocking(config, &stop));
        std::thread::sleep(Duration::from_secs(args.duration_s));
        stop.store(true, Ordering::Relaxed);
        attacker
            .join()
            .map_err(|_| anyhow::anyhow!("the attacker panicked"))
    })??;
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(path) = &args.report {
        std::fs::write(path, &json).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{json}");
    Ok(())
}

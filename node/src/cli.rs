//! Command-line arguments and their dispatch.

use crate::node::config::Config;
use crate::node::home::{Home, write_new};
use crate::node::localnet_genesis::{self, LocalnetSpec};
use crate::{genesis_cmd, keyfile};
use anyhow::{Context, Result, bail};
use clap::{Args, CommandFactory, Parser, Subcommand};
use std::path::PathBuf;

/// Filiera: a permissioned BFT chain for the traceability and certification of
/// Marche agrifood products.
#[derive(Parser)]
#[command(name = "filiera", version, propagate_version = true)]
pub struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Read the passphrase of sealed key files from this file descriptor
    /// (to its end; the first line counts), e.g. `--passphrase-fd 3 3<file`
    /// or a pipe. Otherwise from the file FILIERA_KEY_PASSPHRASE_FILE names,
    /// or a prompt when standard input is a terminal.
    #[arg(long, global = true, value_name = "FD")]
    passphrase_fd: Option<u32>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create and inspect ed25519 key files.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Create, validate and hash genesis files.
    #[command(subcommand)]
    Genesis(GenesisCmd),
    /// Create a node's home directory: config.toml, keys, and genesis if given.
    #[command(
        after_help = "Example:\n  filiera init --home ~/.filiera --moniker marche-observer-1 --genesis genesis.json"
    )]
    Init(InitArgs),
    /// Run a node from its home directory until Ctrl-C or SIGTERM.
    #[command(after_help = "Example:\n  filiera start --home ./localnet/node0")]
    Start {
        /// The node's home (config.toml, genesis.json, keys/, data/).
        #[arg(long, env = "FILIERA_HOME")]
        home: PathBuf,
        /// Stop (as on SIGTERM) once the process that started this one is
        /// gone: how `filiera localnet` makes sure a killed supervisor
        /// leaves no validators behind.
        #[arg(long, hide = true)]
        stop_with_parent: bool,
    },
    /// Fill an empty node home with a verified state snapshot from peers
    /// (instead of replaying every block); then `filiera start` it.
    #[command(
        after_help = "Example:\n  filiera join --home ./observer --from http://node0.example:8080 --from http://node1.example:8080"
    )]
    Join {
        /// The new node's home (config.toml, genesis.json; data/ empty).
        #[arg(long, env = "FILIERA_HOME")]
        home: PathBuf,
        /// A peer's API base URL; repeat it to spread the chunks over several peers.
        #[arg(long = "from", required = true)]
        from: Vec<String>,
    },
    /// Back up a node (online through its admin socket, or stopped): database checkpoint, consensus WAL, manifest.
    #[command(
        after_help = "Example:\n  filiera backup --home /var/lib/filiera --out /backup/filiera-2026-11-25"
    )]
    Backup {
        /// The node's home.
        #[arg(long, env = "FILIERA_HOME")]
        home: PathBuf,
        /// A new directory for the backup.
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore a backup into a stopped node whose database was moved aside; checks height and state root.
    #[command(
        after_help = "Example:\n  filiera restore --home /var/lib/filiera --from /backup/filiera-2026-11-25"
    )]
    Restore {
        /// The node's home (config.toml, genesis.json, keys/).
        #[arg(long, env = "FILIERA_HOME")]
        home: PathBuf,
        /// The backup directory.
        #[arg(long)]
        from: PathBuf,
    },
    /// Create (or reuse) a localnet and run its validators on loopback until Ctrl-C.
    #[command(after_help = "Example:\n  filiera localnet --validators 4 --dir ./localnet")]
    Localnet(LocalnetCmd),
    /// Write demo supply-chain records into a running localnet (uses its demo keys).
    #[command(after_help = "Example:\n  filiera demo --dir ./localnet --api http://127.0.0.1:8080")]
    Demo {
        /// The localnet's directory (genesis.json, orgs/).
        #[arg(long, default_value = "localnet")]
        dir: PathBuf,
        /// A node's API base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        api: String,
    },
    /// Check a lot's record end to end against a trusted genesis: commit
    /// certificate, validator-set history, state proofs, every field shown.
    #[command(
        after_help = "Examples:\n  filiera verify http://127.0.0.1:8080/01/09521234100010/10/CU-2026-0142 --genesis localnet/genesis.json --save cu.json\n  filiera verify cu.json --genesis localnet/genesis.json   # offline"
    )]
    Verify {
        /// A GS1 Digital Link of a lot (the node is asked for its proof bundle) or a saved bundle file.
        source: String,
        /// The trusted genesis file of the chain.
        #[arg(long)]
        genesis: PathBuf,
        /// Also save the bundle to this file, for offline verification later.
        #[arg(long)]
        save: Option<PathBuf>,
    },
    /// EPCIS 2.0 documents turned into signed transactions.
    #[command(subcommand)]
    Epcis(EpcisCmd),
    /// An auditor's trail of a lot: CSV (events and attestations) or EPCIS 2.0.
    #[command(
        after_help = "Examples:\n  filiera export 09521234100010/CU-2026-0150 --format csv > trail.csv\n  filiera export 09521234100010/CU-2026-0150 --format epcis > trail.jsonld"
    )]
    Export {
        /// GTIN/LOT (or use --org).
        lot: Option<String>,
        /// Every lot an organisation made or holds.
        #[arg(long, conflicts_with = "lot")]
        org: Option<String>,
        /// csv or epcis.
        #[arg(long, value_enum, default_value = "csv")]
        format: crate::client::export::Format,
        /// A node's API base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        api: String,
        /// A file holding your organisation's API token, for `--format epcis`:
        /// EPCIS documents are read by their parties (an auditor's or the
        /// authority's token reads them all).
        #[arg(long, env = "FILIERA_API_TOKEN_FILE")]
        token_file: Option<std::path::PathBuf>,
    },
    /// A lot's QR label (GS1 Digital Link with its text), SVG or PNG by the file's extension.
    #[command(
        after_help = "Example:\n  filiera qr 09521234100010/CU-2026-0150 --base-url https://id.filiera.marche.it --out label.png"
    )]
    Qr {
        /// GTIN/LOT.
        lot: String,
        /// The public base URL of the resolver.
        #[arg(long)]
        base_url: String,
        /// Output file (.svg or .png).
        #[arg(long)]
        out: PathBuf,
    },
    /// A running node at a glance: height, round, peers, sync state, last block, mempool, disk.
    #[command(
        after_help = "Example:\n  filiera status --api http://127.0.0.1:8080 --home ./localnet/node0"
    )]
    Status {
        /// The node's API base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        api: String,
        /// The node's home, to report its disk use.
        #[arg(long)]
        home: Option<PathBuf>,
    },
    /// Products: register one whose GTIN you own.
    #[command(subcommand)]
    Product(crate::client::roles::ProductCmd),
    /// Sites: register one of yours.
    #[command(subcommand)]
    Site(crate::client::roles::SiteCmd),
    /// A producer's or processor's lots: make, record, transform, recall.
    #[command(subcommand)]
    Lot(crate::client::roles::LotCmd),
    /// A certification body's attestations: issue, suspend, reinstate, revoke.
    #[command(subcommand)]
    Attest(crate::client::roles::AttestCmd),
    /// Attestations as W3C Verifiable Credentials: verify one.
    #[command(subcommand)]
    Credential(CredentialCmd),
    /// The authority's k-of-n decisions: onboard, grant, approve.
    #[command(subcommand)]
    Authority(crate::client::roles::AuthorityCmd),
    /// Print the version of the binary and of the formats it speaks.
    Version,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = "Example:\n  filiera completions bash > /etc/bash_completion.d/filiera")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Generate a new key and write it to a file readable by its owner only (0600).
    #[command(after_help = "Example:\n  filiera keys new --out producer.json")]
    New {
        /// Where to write the key; an existing file is never overwritten.
        #[arg(long)]
        out: PathBuf,
        /// Seal it with a passphrase (--passphrase-fd, the file
        /// FILIERA_KEY_PASSPHRASE_FILE names, or typed twice at a terminal):
        /// Argon2id and XChaCha20-Poly1305.
        #[arg(long)]
        encrypt: bool,
    },
    /// Seal a key file in clear with a passphrase (--passphrase-fd,
    /// FILIERA_KEY_PASSPHRASE_FILE, or typed twice at a terminal), in place.
    #[command(
        after_help = "Example:\n  FILIERA_KEY_PASSPHRASE_FILE=/run/credentials/filiera/passphrase \\\n    filiera keys encrypt /var/lib/filiera/keys/consensus.json"
    )]
    Encrypt {
        /// The key file.
        file: PathBuf,
    },
    /// Show the public key and address of a key file.
    #[command(after_help = "Example:\n  filiera keys show producer.json")]
    Show {
        /// The key file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum GenesisCmd {
    /// Create a localnet: genesis.json, one home per validator, authority and demo keys.
    #[command(after_help = "Example:\n  filiera genesis new --validators 4 --out ./localnet")]
    New(NewArgs),
    /// Check a genesis file; a wrong field is named in the error.
    #[command(after_help = "Example:\n  filiera genesis validate ./localnet/genesis.json")]
    Validate {
        /// The genesis file.
        file: PathBuf,
    },
    /// Print the genesis hash (blake3 of its canonical encoding).
    #[command(after_help = "Example:\n  filiera genesis hash ./localnet/genesis.json")]
    Hash {
        /// The genesis file.
        file: PathBuf,
    },
}

#[derive(Args)]
struct NewArgs {
    /// Number of validators.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=128))]
    validators: u16,
    /// Output directory (must be new or empty).
    #[arg(long)]
    out: PathBuf,
    /// Chain id.
    #[arg(long, default_value = "filiera-marche-localnet")]
    chain_id: String,
    /// Genesis time, RFC 3339 (default: now, to the second).
    #[arg(long)]
    genesis_time: Option<String>,
    /// Number of regional authority keys (n of k-of-n).
    #[arg(long, default_value_t = 3)]
    authority_keys: u8,
    /// Approvals the authority needs (k of k-of-n).
    #[arg(long, default_value_t = 2)]
    authority_threshold: u32,
    /// Host the nodes listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// First p2p port; node i listens on base + i.
    #[arg(long, default_value_t = 26656)]
    p2p_base_port: u16,
    /// First API port; node i serves HTTP on base + i.
    #[arg(long, default_value_t = 8080)]
    api_base_port: u16,
    /// First port of the operators' metrics listeners, on loopback; node i
    /// serves /metrics on base + i. 0: no metrics listener.
    #[arg(long, default_value_t = 0)]
    metrics_base_port: u16,
    /// Extra keys for each demo producer and certification body, written to
    /// `orgs/load/{org}-{j}.json`: the many senders of the load generator.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=15))]
    load_keys: u8,
    /// Write every key in clear (owner-only files) instead of sealed with a
    /// passphrase: for a throwaway test network only.
    #[arg(long)]
    insecure_plain_keys: bool,
}

#[derive(Args)]
struct LocalnetCmd {
    /// Number of validators (used when the directory holds no localnet yet).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=128))]
    validators: u16,
    /// The localnet's directory; created if it holds no genesis.json.
    #[arg(long, default_value = "localnet")]
    dir: PathBuf,
    /// First p2p port; validator i listens on base + i.
    #[arg(long, default_value_t = 26656)]
    p2p_base_port: u16,
    /// First API port; validator i serves HTTP on base + i.
    #[arg(long, default_value_t = 8080)]
    api_base_port: u16,
    /// First port of the metrics listeners, on loopback; validator i serves
    /// /metrics on base + i. 0: no metrics listener.
    #[arg(long, default_value_t = 0)]
    metrics_base_port: u16,
    /// Write every key of a new localnet in clear instead of sealed with a
    /// passphrase (scripts/devnet.sh does: a throwaway network on loopback).
    #[arg(long)]
    insecure_plain_keys: bool,
}

#[derive(Args)]
struct InitArgs {
    /// The home directory to create.
    #[arg(long, env = "FILIERA_HOME")]
    home: PathBuf,
    /// A human name for the node.
    #[arg(long, default_value = "filiera-node")]
    moniker: String,
    /// A genesis file to copy into the home (validated first).
    #[arg(long)]
    genesis: Option<PathBuf>,
    /// p2p port.
    #[arg(long, default_value_t = 26656)]
    p2p_port: u16,
    /// API port.
    #[arg(long, default_value_t = 8080)]
    api_port: u16,
    /// Port of the operator's listener (/metrics, /health) on loopback; 0: none.
    #[arg(long, default_value_t = crate::node::config::METRICS_PORT_DEFAULT)]
    metrics_port: u16,
    /// Write the node's keys in clear instead of sealed with a passphrase
    /// (a passphrase then has to be given at every start: --passphrase-fd,
    /// FILIERA_KEY_PASSPHRASE_FILE, or the terminal).
    #[arg(long)]
    insecure_plain_keys: bool,
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<()> {
    let json = cli.json;
    if let Some(fd) = cli.passphrase_fd {
        keyfile::read_passphrase_fd(fd)?;
    }
    match cli.command {
        Command::Keys(KeysCmd::New { out, encrypt }) => {
            let key = keyfile::generate()?;
            if encrypt {
                let passphrase = keyfile::new_passphrase("the new key")?;
                keyfile::write_encrypted(&out, &key, &passphrase)?;
            } else {
                keyfile::write(&out, &key)?;
            }
            let public = key.public_key();
            if json {
                println!(
                    "{}",
                    serde_json::json!({"file": out, "public_key": public, "address": public.address()})
                );
            } else {
                println!(
                    "wrote {} (mode 0600)\npublic key: {public}\naddress:    {}",
                    out.display(),
                    public.address()
                );
            }
        }
        Command::Keys(KeysCmd::Encrypt { file }) => {
            if filiera_client::keys::is_encrypted(&file)? {
                bail!("{} is encrypted already", file.display());
            }
            let passphrase = keyfile::new_passphrase(&file.display().to_string())?;
            let public = keyfile::seal_in_place(&file, &passphrase)?.public_key();
            if json {
                println!(
                    "{}",
                    serde_json::json!({"file": file, "public_key": public, "encrypted": true})
                );
            } else {
                println!("sealed {} (public key {public})", file.display());
            }
        }
        Command::Keys(KeysCmd::Show { file }) => {
            let public = keyfile::read(&file)?.public_key();
            if json {
                println!(
                    "{}",
                    serde_json::json!({"public_key": public, "address": public.address()})
                );
            } else {
                println!("public key: {public}\naddress:    {}", public.address());
            }
        }
        Command::Genesis(GenesisCmd::New(args)) => genesis_new(args, json)?,
        Command::Genesis(GenesisCmd::Validate { file }) => {
            let genesis = genesis_cmd::load(&file)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"valid": true, "chain_id": genesis.chain_id, "validators": genesis.validators.len(), "hash": genesis.hash()})
                );
            } else {
                println!(
                    "{}: valid genesis of chain {}, {} validators, {} organisations, {} products\nhash: {}",
                    file.display(),
                    genesis.chain_id,
                    genesis.validators.len(),
                    genesis.organisations.len(),
                    genesis.catalogue.products.len(),
                    genesis.hash()
                );
            }
        }
        Command::Genesis(GenesisCmd::Hash { file }) => {
            let hash = genesis_cmd::load(&file)?.hash();
            if json {
                println!("{}", serde_json::json!({"hash": hash}));
            } else {
                println!("{hash}");
            }
        }
        Command::Init(args) => init(args, json)?,
        Command::Demo { dir, api } => crate::client::demo::run(&dir, &api)?,
        Command::Verify {
            source,
            genesis,
            save,
        } => crate::client::verify::verify(&source, &genesis, save.as_deref(), json)?,
        Command::Export {
            lot,
            org,
            format,
            api,
            token_file,
        } => crate::client::export::export(
            lot.as_deref(),
            org.as_deref(),
            format,
            &api,
            token_file.as_deref(),
        )?,
        Command::Qr { lot, base_url, out } => crate::client::export::qr(&lot, &base_url, &out)?,
        Command::Status { api, home } => {
            crate::client::status::status(&api, home.as_deref(), json)?
        }
        Command::Lot(cmd) => crate::client::roles::lot(cmd, json)?,
        Command::Product(cmd) => crate::client::roles::product(cmd, json)?,
        Command::Site(cmd) => crate::client::roles::site(cmd, json)?,
        Command::Attest(cmd) => crate::client::roles::attest(cmd, json)?,
        Command::Credential(CredentialCmd::Verify { file, api }) => {
            crate::client::credential::check(&file, api.as_deref(), json)?
        }
        Command::Authority(cmd) => crate::client::roles::authority(cmd, json)?,
        Command::Epcis(EpcisCmd::Sign {
            file,
            key,
            chain_id,
            nonce,
            expiry_height,
            receiver,
            out,
        }) => crate::client::epcis::sign_offline(
            &file,
            &key,
            &chain_id,
            nonce,
            expiry_height,
            &receiver,
            &out,
        )?,
        Command::Epcis(EpcisCmd::Submit { file, api }) => {
            crate::client::epcis::submit_signed(&file, &api)?
        }
        Command::Epcis(EpcisCmd::Import {
            file,
            key,
            api,
            submit_valid,
        }) => crate::client::epcis::import(&file, &key, &api, submit_valid, json)?,
        Command::Start {
            home,
            stop_with_parent,
        } => crate::node::start::start(&home, stop_with_parent)?,
        Command::Join { home, from } => crate::node::join::join(&home, &from, json)?,
        Command::Backup { home, out } => crate::node::backup::backup(&home, &out, json)?,
        Command::Restore { home, from } => crate::node::backup::restore(&home, &from, json)?,
        Command::Localnet(args) => {
            crate::node::localnet::run(crate::node::localnet::LocalnetArgs {
                validators: usize::from(args.validators),
                dir: args.dir,
                p2p_base_port: args.p2p_base_port,
                api_base_port: args.api_base_port,
                metrics_base_port: args.metrics_base_port,
                genesis_time_ms: now_ms_to_second()?,
                insecure_plain_keys: args.insecure_plain_keys,
            })?
        }
        Command::Version => {
            let version = env!("CARGO_PKG_VERSION");
            let header = filiera_types::block::HEADER_VERSION;
            let genesis = filiera_types::genesis::GENESIS_FORMAT_VERSION;
            let rules = filiera_types::chain_rules::IMPLEMENTED
                .iter()
                .map(|r| r.version)
                .collect::<Vec<_>>();
            if json {
                println!(
                    "{}",
                    serde_json::json!({"version": version, "header_version": header, "genesis_format_version": genesis, "chain_rules_implemented": rules})
                );
            } else {
                println!(
                    "filiera {version}\nheader format {header}, genesis format {genesis}, chain rules versions {rules:?}"
                );
            }
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "filiera",
                &mut std::io::stdout(),
            );
        }
    }
    Ok(())
}

fn genesis_new(args: NewArgs, json: bool) -> Result<()> {
    let genesis_time_ms = match &args.genesis_time {
        Some(text) => filiera_types::genesis::parse_time_ms(text)
            .map_err(anyhow::Error::msg)
            .context("--genesis-time")?,
        None => now_ms_to_second()?,
    };
    if args.authority_keys == 0 {
        bail!("--authority-keys must be at least 1");
    }
    let spec = LocalnetSpec {
        validators: usize::from(args.validators),
        out: args.out.clone(),
        chain_id: args.chain_id,
        genesis_time_ms,
        authority_keys: usize::from(args.authority_keys),
        authority_threshold: args.authority_threshold,
        host: args.host,
        p2p_base_port: args.p2p_base_port,
        api_base_port: args.api_base_port,
        metrics_base_port: args.metrics_base_port,
        load_keys: usize::from(args.load_keys),
        sealing: keyfile::Sealing::choose(args.insecure_plain_keys, "the network's keys")?,
    };
    let genesis = localnet_genesis::create(&spec)?;
    if json {
        println!(
            "{}",
            serde_json::json!({"out": args.out, "chain_id": genesis.chain_id, "hash": genesis.hash(), "validators": genesis.validators.len()})
        );
    } else {
        println!(
            "created localnet {} in {}",
            genesis.chain_id,
            args.out.display()
        );
        println!("genesis hash: {}", genesis.hash());
        for (i, v) in genesis.validators.iter().enumerate() {
            println!(
                "  node{i}: {} ({}) consensus key {}… at {}",
                v.name,
                v.organisation,
                localnet_genesis::short(&v.consensus_key),
                v.p2p_address
            );
        }
        println!(
            "authority: {} of {} keys in {}/authority",
            genesis.authority.threshold,
            genesis.authority.keys.len(),
            args.out.display()
        );
        println!("organisation keys in {}/orgs", args.out.display());
    }
    Ok(())
}

fn init(args: InitArgs, json: bool) -> Result<()> {
    let home = Home::new(&args.home);
    if home.config().exists() {
        bail!(
            "{} already holds a config.toml; refusing to overwrite it",
            args.home.display()
        );
    }
    let genesis = args.genesis.as_deref().map(genesis_cmd::load).transpose()?;
    let sealing = keyfile::Sealing::choose(args.insecure_plain_keys, "the node's keys")?;
    home.create_dirs()?;
    let (consensus, _) = Home::load_or_create_key(&home.consensus_key(), &sealing)?;
    let (p2p, _) = Home::load_or_create_key(&home.p2p_key(), &sealing)?;
    home.write_config(&Config::new(
        &args.moniker,
        "127.0.0.1",
        args.p2p_port,
        args.api_port,
        (args.metrics_port != 0).then_some(args.metrics_port),
        Vec::new(),
    ))?;
    if let Some(path) = &args.genesis {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        write_new(&home.genesis(), &bytes)?;
    }
    if json {
        println!(
            "{}",
            serde_json::json!({"home": args.home, "consensus_key": consensus.public_key(), "p2p_key": p2p.public_key(), "genesis_hash": genesis.map(|g| g.hash())})
        );
    } else {
        println!("initialised {}", args.home.display());
        println!("consensus key: {}", consensus.public_key());
        println!("p2p key:       {}", p2p.public_key());
        match genesis {
            Some(g) => println!("genesis:       {} (hash {})", g.chain_id, g.hash()),
            None => {
                println!("genesis:       none yet; copy the chain's genesis.json into the home")
            }
        }
    }
    Ok(())
}

fn now_ms_to_second() -> Result<u64> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the system clock is before 1970")?;
    Ok(since.as_secs() * 1000)
}

/// `filiera credential ...`.
#[derive(Subcommand)]
pub enum CredentialCmd {
    /// Verify an attestation's credential (VC-JOSE): its signature by the
    /// issuer's did:key, offline; with `--api`, also that the chain records
    /// the same attestation, signed by a key of that body, and its validity now.
    #[command(
        after_help = "Example:\n  filiera credential verify attestation-3.jwt --api http://127.0.0.1:8080"
    )]
    Verify {
        /// The credential (a compact JWS).
        file: PathBuf,
        /// A node's API base URL, to compare with the chain.
        #[arg(long)]
        api: Option<String>,
    },
}

/// `filiera epcis ...`.
#[derive(Subcommand)]
pub enum EpcisCmd {
    /// Sign a document's events offline (no connection), for `epcis submit` later.
    #[command(
        after_help = "Example:\n  filiera epcis sign harvest.jsonld --key orgs/farm.json --chain-id filiera-marche --nonce 12 --expiry-height 90000 --receiver 9521234000013=caseificio-montefeltro-demo --out harvest.signed"
    )]
    Sign {
        /// The EPCIS 2.0 document.
        file: PathBuf,
        /// The organisation's key file.
        #[arg(long)]
        key: PathBuf,
        /// The chain the events are for.
        #[arg(long)]
        chain_id: String,
        /// The key's next nonce (the count of transactions it has signed).
        #[arg(long)]
        nonce: u64,
        /// The last height at which the events may be recorded.
        #[arg(long)]
        expiry_height: u64,
        /// For shipments: the organisation running a destination site, GLN=ORG (repeat).
        #[arg(long)]
        receiver: Vec<String>,
        /// Where to write the signed events (one JSON line each).
        #[arg(long)]
        out: PathBuf,
    },
    /// Submit events signed offline; submitting again is harmless.
    Submit {
        /// The file `epcis sign` wrote.
        file: PathBuf,
        /// A node's API base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        api: String,
    },
    /// Validate an EPCIS 2.0 JSON-LD document and record its events on chain,
    /// each as a transaction signed with the organisation's key. A document
    /// with a bad event is refused whole (each bad event listed by position);
    /// events already on chain are skipped.
    #[command(
        after_help = "Example:\n  filiera epcis import harvest.jsonld --key orgs/caseificio.json --api http://127.0.0.1:8080"
    )]
    Import {
        /// The EPCIS 2.0 document (JSON-LD).
        file: PathBuf,
        /// The organisation's key file.
        #[arg(long)]
        key: PathBuf,
        /// A node's API base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        api: String,
        /// Submit the valid events of a partly bad file (the bad ones are listed, and the exit status says some were left out).
        #[arg(long)]
        submit_valid: bool,
    },
}

#[cfg(test)]
mod tests {
    /// clap checks its own rules (unique names, no clash with `--version`)
    /// only when a command is parsed: check every command at once here.
    #[test]
    fn every_command_is_well_formed() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}

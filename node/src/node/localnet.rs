//! `filiera localnet`: a whole network of validator processes on loopback,
//! for development and demos. Each validator is a real `filiera start`
//! process with its own home, store and WAL; this parent only starts them,
//! says where they are, and stops them all on Ctrl-C or SIGTERM. Killed
//! outright (SIGKILL), it cannot: its validators, started with
//! `--stop-with-parent`, notice within half a second and stop by themselves.

use crate::keyfile;
use crate::node::config::Config;
use crate::node::home::Home;
use crate::node::localnet_genesis::{self, LocalnetSpec};
use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long validators get to stop after SIGTERM before SIGKILL, ms.
const STOP_GRACE_MS: u64 = 10_000;

/// Options of `filiera localnet`.
pub struct LocalnetArgs {
    pub validators: usize,
    pub dir: PathBuf,
    pub p2p_base_port: u16,
    pub api_base_port: u16,
    /// 0: no metrics listeners.
    pub metrics_base_port: u16,
    pub genesis_time_ms: u64,
    /// Write new keys in clear (a throwaway devnet only).
    pub insecure_plain_keys: bool,
}

/// Creates the localnet if `dir` holds none, starts its validators, waits for a signal.
pub fn run(args: LocalnetArgs) -> Result<()> {
    let genesis_path = args.dir.join("genesis.json");
    if genesis_path.exists() {
        println!("reusing the localnet in {}", args.dir.display());
    } else {
        localnet_genesis::create(&LocalnetSpec {
            validators: args.validators,
            out: args.dir.clone(),
            chain_id: "filiera-marche-localnet".into(),
            genesis_time_ms: args.genesis_time_ms,
            authority_keys: 3,
            authority_threshold: 2,
            host: "127.0.0.1".into(),
            p2p_base_port: args.p2p_base_port,
            api_base_port: args.api_base_port,
            metrics_base_port: args.metrics_base_port,
            load_keys: 0,
            sealing: keyfile::Sealing::choose(args.insecure_plain_keys, "the localnet's keys")?,
        })?;
        println!(
            "created a localnet of {} validators in {}",
            args.validators,
            args.dir.display()
        );
    }
    let homes = homes(&args.dir)?;
    // Sealed keys: the passphrase is checked here, once, then handed to each
    // validator through a pipe (`--passphrase-fd 0`), never through the
    // environment or the command line.
    let passphrase = passphrase_for(&homes)?;
    let exe = std::env::current_exe().context("locating the filiera binary")?;
    let mut children: Vec<(PathBuf, Child)> = Vec::new();
    for home in &homes {
        let log = std::fs::File::create(home.join("node.log"))
            .with_context(|| format!("creating {}/node.log", home.display()))?;
        let child = Command::new(&exe)
            .arg("start")
            .arg("--home")
            .arg(home)
            // If this supervisor is killed outright, its validators stop too.
            .arg("--stop-with-parent")
            .args(passphrase.as_ref().map(|_| ["--passphrase-fd", "0"]).into_iter().flatten())
            .stdin(if passphrase.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting the validator in {}", home.display()))
            .and_then(|mut child| {
                if let (Some(p), Some(mut stdin)) = (&passphrase, child.stdin.take()) {
                    use std::io::Write;
                    // Closed at the end of this block; no copy of it is made.
                    let handed = stdin
                        .write_all(p.as_bytes())
                        .and_then(|()| stdin.write_all(b"\n"));
                    if let Err(e) = handed {
                        let _ = child.kill();
                        let _ = child.wait();
                        return Err(e).context("handing the passphrase to a validator");
                    }
                }
                Ok(child)
            });
        match child {
            Ok(child) => children.push((home.clone(), child)),
            Err(e) => {
                stop_all(&mut children);
                return Err(e);
            }
        }
    }
    for home in &homes {
        let config = read_config(home)?;
        println!(
            "  {}: API http://{}  (log {}/node.log)",
            config.moniker,
            config.api.listen_address,
            home.display()
        );
    }
    // Every validator has it: this supervisor keeps no copy.
    drop(passphrase);
    keyfile::forget_passphrase();
    println!("press Ctrl-C to stop the localnet");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let exited = runtime.block_on(wait(&mut children));
    stop_all(&mut children);
    match exited {
        Some(home) => bail!(
            "the validator in {} exited; see its node.log",
            home.display()
        ),
        None => {
            println!("localnet stopped");
            Ok(())
        }
    }
}

/// The passphrase of the validators' keys if they are sealed, checked
/// against the first validator's key; `None` if they are in clear.
fn passphrase_for(homes: &[PathBuf]) -> Result<Option<zeroize::Zeroizing<String>>> {
    let Some(first) = homes.first() else {
        return Ok(None);
    };
    let key = Home::new(first).consensus_key();
    if !filiera_client::keys::is_encrypted(&key)? {
        return Ok(None);
    }
    keyfile::read(&key)?;
    keyfile::passphrase()
}

/// The validators' homes, `node0`, `node1`, ... in order.
fn homes(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut homes = Vec::new();
    for i in 0.. {
        let home = dir.join(format!("node{i}"));
        if !Home::new(&home).config().exists() {
            break;
        }
        homes.push(home);
    }
    if homes.is_empty() {
        bail!("{} holds no node0/config.toml", dir.display());
    }
    Ok(homes)
}

fn read_config(home: &Path) -> Result<Config> {
    let path = Home::new(home).config();
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Waits for a stop signal (`None`) or a validator that exits by itself.
async fn wait(children: &mut [(PathBuf, Child)]) -> Option<PathBuf> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut poll = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return None,
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => return None,
            _ = poll.tick() => {
                for (home, child) in children.iter_mut() {
                    if let Ok(Some(_)) = child.try_wait() {
                        return Some(home.clone());
                    }
                }
            }
        }
    }
}

fn stop_all(children: &mut [(PathBuf, Child)]) {
    for (_, child) in children.iter() {
        if let Ok(pid) = i32::try_from(child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
    }
    let deadline = Instant::now() + Duration::from_millis(STOP_GRACE_MS);
    for (home, child) in children.iter_mut() {
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => {
                    eprintln!(
                        "the validator in {} did not stop in time; killing it",
                        home.display()
                    );
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
            }
        }
    }
}

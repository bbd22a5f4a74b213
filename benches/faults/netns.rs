//! Network namespaces: each node gets a network stack of its own, so its
//! loopback holds only itself and the link proxies that stand for its peers.
//! A node cannot reach a peer except through the harness, whatever address
//! it learns (identify tells peers' real listen addresses).

use anyhow::{Context, Result, bail};
use nix::sched::{CloneFlags, setns};
use std::fs::File;
use std::process::Command;

/// One named network namespace (`ip netns`), deleted when dropped.
pub struct Namespace {
    /// Its name under `/run/netns`.
    pub name: String,
    file: File,
}

fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("running ip (iproute2)")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

impl Namespace {
    /// Creates namespace `name` with its loopback up.
    pub fn create(name: &str) -> Result<Namespace> {
        ip(&["netns", "add", name])?;
        let created = (|| {
            ip(&["-n", name, "link", "set", "lo", "up"])?;
            File::open(format!("/run/netns/{name}")).context("opening the namespace")
        })();
        match created {
            Ok(file) => Ok(Namespace {
                name: name.to_owned(),
                file,
            }),
            Err(e) => {
                let _ = ip(&["netns", "del", name]);
                Err(e)
            }
        }
    }

    /// Runs `f` on a new thread inside the namespace: sockets it makes stay
    /// in the namespace when handed back.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    setns(&self.file, CloneFlags::CLONE_NEWNET)
                        .with_context(|| format!("entering {}", self.name))?;
                    f()
                })
                .join()
                .unwrap_or_else(|_| bail!("a thread in {} panicked", self.name))
        })
    }
}

impl Namespace {
    /// Removes the name (sockets and processes still in it keep it alive
    /// until they end). Proxy threads hold the namespace until the process
    /// exits, so the owner removes it explicitly rather than on the last drop.
    pub fn remove(&self) {
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// Prefix of the harness's namespace names: `filiera-<pid>-<node>`.
pub const NAME_PREFIX: &str = "filiera-";

/// The name of node `node`'s namespace for this process.
pub fn name_for(node: usize) -> String {
    format!("{NAME_PREFIX}{}-{node}", std::process::id())
}

/// Removes namespaces left by harness processes that no longer run (killed
/// before they could clean up).
pub fn remove_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let owner = name
            .strip_prefix(NAME_PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        if let Some(pid) = owner
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

/// Whether this process may make namespaces (root, or CAP_SYS_ADMIN and
/// CAP_NET_ADMIN); the harness needs it.
pub fn available() -> bool {
    let probe = format!("{NAME_PREFIX}{}-probe", std::process::id());
    Namespace::create(&probe).map(|ns| ns.remove()).is_ok()
}

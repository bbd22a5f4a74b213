//! A localnet of real `filiera` processes, one network namespace each, every
//! peer link and every API behind a proxy of the harness.

use crate::faults::netns::Namespace;
use crate::faults::proxy::{self, Shape, Target};
use crate::load::net::{free_ports, proc_sample};
use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

/// Extra keys per demo organisation: senders for the load.
pub const LOAD_KEYS_PER_ORG: u8 = 3;
/// Size of the tmpfs that holds the data of the node whose disk fills, MiB.
pub const DISK_TMPFS_MIB: u64 = 512;

/// A clock offset for one start of a node, seconds (libfaketime).
pub type SkewS = i64;

/// One validator: its namespace, home and process.
struct Node {
    ns: Arc<Namespace>,
    home: PathBuf,
    child: Option<Child>,
    /// Highest peak RSS seen across its processes, KiB.
    rss_peak_kib: u64,
    paused: bool,
}

/// The running network; processes are killed, mounts and namespaces removed
/// when it is dropped.
pub struct Cluster {
    bin: PathBuf,
    /// Where genesis, keys and homes are.
    pub dir: PathBuf,
    nodes: Vec<Node>,
    /// API base URL of each validator, reachable from the harness.
    pub apis: Vec<String>,
    /// Each validator's metrics page (its operator listener, through a proxy).
    pub metrics: Vec<String>,
    /// Each validator's peer port, reachable from the harness (for hostile peers).
    pub p2p_addrs: Vec<SocketAddr>,
    /// First peer port inside the namespaces: validator j listens on
    /// `p2p_base + j` in its own, and reaches the others at theirs.
    pub p2p_base: u16,
    /// Undirected links, by (lower, higher) node index: both directions' shapes.
    links: BTreeMap<(usize, usize), [Arc<Shape>; 2]>,
    /// The node whose data lives on a small tmpfs (the full-disk victim).
    pub disk_node: Option<usize>,
    faketime_lib: Option<PathBuf>,
}

/// libfaketime's preload library, where Debian's `faketime` package puts it.
pub fn faketime_lib() -> Option<PathBuf> {
    [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/faketime/libfaketime.so.1",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

impl Cluster {
    /// Makes a genesis of `validators` in `dir` (which must not exist), one
    /// namespace per validator, the proxies, and starts every validator.
    /// `disk_node`'s data directory is a tmpfs of `DISK_TMPFS_MIB`.
    pub fn start(
        bin: &Path,
        dir: &Path,
        validators: usize,
        disk_node: Option<usize>,
        seed: u64,
    ) -> Result<Cluster> {
        if dir.exists() {
            bail!("{} exists; the harness starts a new network", dir.display());
        }
        let n = u16::try_from(validators).context("too many validators")?;
        // Peer ports are per namespace; only the API proxies bind in this one.
        let api_base = free_ports(4 * n)?;
        let p2p_base = api_base + n;
        let p2p_outside_base = p2p_base + n;
        let metrics_base = p2p_outside_base + n;
        run(Command::new(bin)
            .args([
                "genesis",
                "new",
                "--insecure-plain-keys",
                "--validators",
                &validators.to_string(),
            ])
            .arg("--out")
            .arg(dir)
            .args(["--p2p-base-port", &p2p_base.to_string()])
            .args(["--api-base-port", &api_base.to_string()])
            .args(["--metrics-base-port", &metrics_base.to_string()])
            .args(["--load-keys", &LOAD_KEYS_PER_ORG.to_string()])
            .stdout(Stdio::null()))?;
        crate::faults::netns::remove_stale();
        let mut nodes = Vec::new();
        for i in 0..validators {
            nodes.push(Node {
                ns: Arc::new(Namespace::create(&crate::faults::netns::name_for(i))?),
                home: dir.join(format!("node{i}")),
                child: None,
                rss_peak_kib: 0,
                paused: false,
            });
        }
        let mut cluster = Cluster {
            bin: bin.to_owned(),
            dir: dir.to_owned(),
            apis: (0..n)
                .map(|i| format!("http://127.0.0.1:{}", api_base + i))
                .collect(),
            metrics: (0..n)
                .map(|i| format!("http://127.0.0.1:{}/metrics", metrics_base + i))
                .collect(),
            p2p_addrs: (0..n).map(|i| loopback(p2p_outside_base + i)).collect(),
            p2p_base,
            nodes,
            links: BTreeMap::new(),
            disk_node,
            faketime_lib: faketime_lib(),
        };
        if let Some(k) = disk_node {
            let data = cluster.nodes[k].home.join("data");
            std::fs::create_dir_all(&data)?;
            let size = format!("size={DISK_TMPFS_MIB}m");
            let mounted = run(Command::new("mount")
                .args(["-t", "tmpfs", "-o", &size, "tmpfs"])
                .arg(&data));
            if let Err(e) = mounted {
                // No small disk to fill: the caller skips the full-disk fault.
                eprintln!("no tmpfs for the full-disk fault: {e:#}");
                cluster.disk_node = None;
            }
        }
        for i in 0..validators {
            // A listener here leading, unshaped, to `to` in node i's namespace.
            let expose = |here: std::net::SocketAddr, to: u16| -> Result<()> {
                let target = Target {
                    namespace: Some(Arc::clone(&cluster.nodes[i].ns)),
                    addr: loopback(to),
                };
                let listener = TcpListener::bind(here)?;
                proxy::spawn(listener, target, Arc::new(Shape::default()), seed);
                Ok(())
            };
            // The API, untouched by faults: the harness's view of node i.
            let api_port = api_base + i as u16;
            expose(loopback(api_port), api_port)?;
            // Its metrics, on the operator listener inside the namespace.
            let metrics_port = metrics_base + i as u16;
            expose(loopback(metrics_port), metrics_port)?;
            // Its peer port, for the hostile phase's strangers.
            expose(cluster.p2p_addrs[i], p2p_base + i as u16)?;
            for j in 0..validators {
                if i == j {
                    continue;
                }
                // In i's namespace, j's peer port leads to j through the link's shape.
                let shape = Arc::new(Shape::default());
                let peer_port = p2p_base + j as u16;
                let listener = cluster.nodes[i]
                    .ns
                    .run(|| Ok(TcpListener::bind(loopback(peer_port))?))?;
                let target = Target {
                    namespace: Some(Arc::clone(&cluster.nodes[j].ns)),
                    addr: loopback(peer_port),
                };
                proxy::spawn(
                    listener,
                    target,
                    Arc::clone(&shape),
                    seed ^ ((i as u64) << 8 | j as u64),
                );
                let key = (i.min(j), i.max(j));
                let pair = cluster
                    .links
                    .entry(key)
                    .or_insert_with(|| [Arc::default(), Arc::default()]);
                pair[usize::from(i > j)] = shape;
            }
        }
        for i in 0..validators {
            cluster.start_node(i, None)?;
        }
        Ok(cluster)
    }

    /// Number of validators.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Node `i`'s home (keys, config, data).
    pub fn home(&self, i: usize) -> &Path {
        &self.nodes[i].home
    }

    /// The name of node `i`'s network namespace.
    pub fn namespace(&self, i: usize) -> &str {
        &self.nodes[i].ns.name
    }

    /// Whether libfaketime is there (the clock-skew fault needs it).
    pub fn can_skew(&self) -> bool {
        self.faketime_lib.is_some()
    }

    /// Starts node `i` (again), its clock offset by `skew_s` if given.
    pub fn start_node(&mut self, i: usize, skew_s: Option<SkewS>) -> Result<()> {
        self.spawn_node(i, skew_s, false)
    }

    /// Starts node `i` with the API's per-address rate limit of its config
    /// (the harness's own traffic all comes from one address, so it is
    /// otherwise lifted).
    pub fn start_node_rate_limited(&mut self, i: usize) -> Result<()> {
        self.spawn_node(i, None, true)
    }

    fn spawn_node(&mut self, i: usize, skew_s: Option<SkewS>, rate_limited: bool) -> Result<()> {
        let node = &mut self.nodes[i];
        if node.child.is_some() {
            bail!("node {i} is running");
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.home.join("node.log"))?;
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &node.ns.name])
            .arg(&self.bin)
            .arg("start")
            .arg("--home")
            .arg(&node.home)
            .stdout(log.try_clone()?)
            .stderr(log);
        if rate_limited {
            // The harness's API proxy (loopback in the namespace) stands for
            // an operator's reverse proxy: its X-Forwarded-For names clients.
            cmd.env("FILIERA_API_TRUSTED_PROXIES", "127.0.0.1");
        } else {
            // All the harness's requests come from one address (the API proxy).
            cmd.env("FILIERA_API_RATE_LIMIT_PER_IP_PER_S", "0");
            cmd.env("FILIERA_API_WRITE_RATE_LIMIT_PER_IP_PER_S", "0");
        }
        if let Some(offset) = skew_s {
            let lib = self
                .faketime_lib
                .as_ref()
                .context("clock skew needs libfaketime (Debian package faketime)")?;
            cmd.env("LD_PRELOAD", lib)
                .env("FAKETIME", format!("{offset:+}s"))
                // Only the wall clock moves: timeouts run on the monotonic clock,
                // which a skewed machine still has right.
                .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
                .env("FAKETIME_NO_CACHE", "1");
        }
        // `ip netns exec` execs the node: the child's pid is the node's.
        node.child = Some(cmd.spawn().context("starting a validator")?);
        node.paused = false;
        Ok(())
    }

    /// SIGKILLs node `i` and starts it again at once, its clock offset by `skew_s` if given.
    pub fn restart_node(&mut self, i: usize, skew_s: Option<SkewS>) -> Result<()> {
        self.kill_node(i)?;
        self.start_node(i, skew_s)
    }

    /// SIGKILLs node `i` and reaps it.
    pub fn kill_node(&mut self, i: usize) -> Result<()> {
        self.sample();
        let node = &mut self.nodes[i];
        if let Some(mut child) = node.child.take() {
            if node.paused {
                let _ = kill(pid(&child), Signal::SIGCONT);
            }
            child.kill()?;
            child.wait()?;
        }
        node.paused = false;
        Ok(())
    }

    /// SIGSTOP (`pause`) or SIGCONT node `i`.
    pub fn pause_node(&mut self, i: usize, pause: bool) -> Result<()> {
        let node = &mut self.nodes[i];
        let child = node.child.as_ref().context("node is not running")?;
        let signal = if pause {
            Signal::SIGSTOP
        } else {
            Signal::SIGCONT
        };
        kill(pid(child), signal)?;
        node.paused = pause;
        Ok(())
    }

    /// Whether node `i`'s process runs; reaps it if it ended, and says how.
    pub fn exited(&mut self, i: usize) -> Result<Option<std::process::ExitStatus>> {
        let node = &mut self.nodes[i];
        let Some(child) = node.child.as_mut() else {
            return Ok(None);
        };
        match child.try_wait()? {
            None => Ok(None),
            Some(status) => {
                node.child = None;
                Ok(Some(status))
            }
        }
    }

    /// Whether node `i` has a process.
    pub fn is_running(&self, i: usize) -> bool {
        self.nodes[i].child.is_some()
    }

    /// Cuts (or heals) every link between `side` and the other nodes.
    pub fn partition(&self, side: &[usize], cut: bool) {
        for ((a, b), shapes) in &self.links {
            if side.contains(a) != side.contains(b) {
                for s in shapes {
                    if cut { s.cut() } else { s.heal() }
                }
            }
        }
    }

    /// Degrades every link (or restores them with zeros).
    pub fn degrade_all(&self, delay_ms: u64, jitter_ms: u64, stall_permille: u64) {
        for shapes in self.links.values() {
            for s in shapes {
                s.degrade(delay_ms, jitter_ms, stall_permille);
            }
        }
    }

    /// The data directory of node `i`.
    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.nodes[i].home.join("data")
    }

    /// The log of node `i`.
    pub fn log(&self, i: usize) -> PathBuf {
        self.nodes[i].home.join("node.log")
    }

    /// Records every running node's peak memory so far.
    pub fn sample(&mut self) {
        for node in &mut self.nodes {
            if let Some(child) = &node.child {
                let peak = proc_sample(child.id()).rss_peak_kib;
                node.rss_peak_kib = node.rss_peak_kib.max(peak);
            }
        }
    }

    /// Peak resident memory of each node over the run, KiB.
    pub fn rss_peaks_kib(&mut self) -> Vec<u64> {
        self.sample();
        self.nodes.iter().map(|n| n.rss_peak_kib).collect()
    }
}

fn pid(child: &Child) -> Pid {
    Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX))
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            let _ = self.kill_node(i);
        }
        if let Some(k) = self.disk_node {
            let _ = Command::new("umount").arg(self.data_dir(k)).status();
        }
        for node in &self.nodes {
            node.ns.remove();
        }
    }
}

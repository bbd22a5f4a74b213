//! A localnet of real `filiera` processes for one benchmark run, and what
//! each process costs (CPU time and memory, read from `/proc`).

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Extra keys per demo producer and certification body (the registry's
/// `ORG_KEYS_MAX` is 16 keys per organisation).
pub const LOAD_KEYS_PER_ORG: u8 = 15;
/// Longest wait for a started network to make its first blocks, s.
pub const START_TIMEOUT_S: u64 = 60;

/// The running network; its processes are killed when it is dropped.
pub struct Localnet {
    /// Where genesis, keys and homes are.
    pub dir: PathBuf,
    /// API base URL of each validator.
    pub apis: Vec<String>,
    /// Each validator's metrics page, on its operator listener.
    pub metrics: Vec<String>,
    children: Vec<Child>,
}

/// CPU time and memory of one process at one moment.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcSample {
    /// User plus system CPU time, ms.
    pub cpu_ms: u64,
    /// Resident memory now, KiB.
    pub rss_kib: u64,
    /// Peak resident memory since start, KiB.
    pub rss_peak_kib: u64,
}

/// Ports `[base, base + count)` all free on loopback; below the ephemeral range
/// so that no outgoing connection takes one between this check and the bind.
pub fn free_ports(count: u16) -> Result<u16> {
    let seed = u64::from(std::process::id())
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos().into());
    for attempt in 0..200u64 {
        let base = 20_000
            + ((seed.wrapping_mul(6_364_136_223_846_793_005) + attempt * 97) % 12_000) as u16;
        let all_free =
            (0..count).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if all_free {
            return Ok(base);
        }
    }
    bail!("no {count} consecutive free ports between 20000 and 32000")
}

fn get_json(agent: &ureq::Agent, url: &str) -> Result<Value> {
    Ok(agent.get(url).call()?.body_mut().read_json()?)
}

impl Localnet {
    /// Creates a genesis of `validators` with load keys in `dir` (which must
    /// not exist yet) and starts every validator with `bin`.
    pub fn start(bin: &Path, dir: &Path, validators: u16) -> Result<Localnet> {
        if dir.exists() {
            bail!(
                "{} exists; the benchmark starts a new network",
                dir.display()
            );
        }
        let base = free_ports(validators * 3)?;
        let api_base = base + validators;
        let metrics_base = api_base + validators;
        let status = Command::new(bin)
            .args(["genesis", "new", "--insecure-plain-keys", "--validators"])
            .arg(validators.to_string())
            .arg("--out")
            .arg(dir)
            .args(["--p2p-base-port", &base.to_string()])
            .args(["--api-base-port", &api_base.to_string()])
            .args(["--metrics-base-port", &metrics_base.to_string()])
            .args(["--load-keys", &LOAD_KEYS_PER_ORG.to_string()])
            .stdout(Stdio::null())
            .status()
            .with_context(|| format!("running {}", bin.display()))?;
        if !status.success() {
            bail!("filiera genesis new failed");
        }
        let mut net = Localnet {
            dir: dir.to_owned(),
            apis: Vec::new(),
            metrics: Vec::new(),
            children: Vec::new(),
        };
        for i in 0..validators {
            let home = dir.join(format!("node{i}"));
            let log = std::fs::File::create(home.join("node.log"))?;
            let child = Command::new(bin)
                .arg("start")
                .arg("--home")
                .arg(&home)
                // The generator is one client sending thousands of requests a second.
                .env("FILIERA_API_RATE_LIMIT_PER_IP_PER_S", "0")
                .env("FILIERA_API_WRITE_RATE_LIMIT_PER_IP_PER_S", "0")
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .context("starting a validator")?;
            net.children.push(child);
            net.apis.push(format!("http://127.0.0.1:{}", api_base + i));
            net.metrics
                .push(format!("http://127.0.0.1:{}/metrics", metrics_base + i));
        }
        net.wait_for_height(1)?;
        Ok(net)
    }

    /// Waits until every validator has committed `height`.
    pub fn wait_for_height(&mut self, height: u64) -> Result<()> {
        let agent = ureq::Agent::new_with_defaults();
        let deadline = Instant::now() + Duration::from_secs(START_TIMEOUT_S);
        for api in self.apis.clone() {
            loop {
                for (i, c) in self.children.iter_mut().enumerate() {
                    if let Some(status) = c.try_wait()? {
                        bail!("validator {i} exited ({status}); see node{i}/node.log");
                    }
                }
                let now = get_json(&agent, &format!("{api}/v1/status"))
                    .ok()
                    .and_then(|s| s["height"].as_u64());
                if now.is_some_and(|h| h >= height) {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("{api} did not reach height {height} in {START_TIMEOUT_S} s");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(())
    }

    /// CPU and memory of each validator process now.
    pub fn sample(&self) -> Vec<ProcSample> {
        self.children.iter().map(|c| proc_sample(c.id())).collect()
    }

    /// Whether every validator still runs.
    pub fn all_running(&mut self) -> bool {
        self.children
            .iter_mut()
            .all(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Localnet {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Clock ticks per second of `/proc/*/stat` times (`getconf CLK_TCK`, 100 on Linux).
fn clock_ticks_per_s() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100)
    })
}

/// What `/proc` says of process `pid` (zeros if it is gone).
pub fn proc_sample(pid: u32) -> ProcSample {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at ") ".
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map(|(_, rest)| rest.split(' ').collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    let cpu_ms = (ticks(11) + ticks(12)) * 1000 / clock_ticks_per_s();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    ProcSample {
        cpu_ms,
        rss_kib: kib("VmRSS:"),
        rss_peak_kib: kib("VmHWM:"),
    }
}

//! The Byzantine phase: an insider's key in an attacker's hands, on the
//! live network, its CPU capped.
//!
//! Twice: first the last validator's keys (its node stopped, the
//! `filiera-byzantine` process started in its namespace with its p2p and
//! consensus keys: it floods unnamed blocks, junk and forged or replayed
//! transactions, asks for huge sync ranges, and equivocates in votes and
//! proposals); then an observer the authority registers, attacking all the
//! validators from the harness's namespace (the same, without a consensus
//! key to equivocate with). Each attack window is measured beside a calm
//! window of the same length with the same honest nodes: time per height
//! (p50, p99, max) from the committed blocks' times. Every honest node must
//! keep finalising, keep its honest peers, and (checked at the end of the
//! run with everything else) hold the same blocks.
//!
//! The attacker's CPU is capped by a cgroup (v1 `cpu` or v2 `cpu.max`) and
//! what it used is recorded, so that latency under attack measures the
//! protocol, not CPU taken from the validators on a 2-core machine.
//!
//! Not attacked here: connections without end. Behind the harness's proxies
//! every peer arrives from 127.0.0.1, so the per-address connection limit
//! would count the attacker and the honest peers as one host; the node's
//! own test of that limit runs on plain loopback.

use crate::faults::check;
use crate::faults::cluster::Cluster;
use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Length of each calm and each attack window, s.
pub const WINDOW_S: u64 = 30;
/// The attacker's CPU cap, per cent of one core.
pub const ATTACKER_CPU_PERCENT: u64 = 50;
/// Attacks run (see the module comment for the one left out).
pub const ATTACKS: &str = "blocks,junk,txs,sync,equivocate";
/// Heights every honest node must commit during an attack window, at least.
pub const HEIGHTS_UNDER_ATTACK_MIN: u64 = 5;
/// cgroup period, µs.
const CPU_PERIOD_US: u64 = 100_000;

/// Time per height over a window.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Window {
    /// First height of the window.
    pub from_height: u64,
    /// Last height of the window.
    pub to_height: u64,
    /// Time per height, ms.
    pub p50_ms: u64,
    /// Time per height, ms.
    pub p99_ms: u64,
    /// Time per height, ms.
    pub max_ms: u64,
}

/// One attacker's run.
#[derive(Clone, Debug, Serialize)]
pub struct Attack {
    /// Whose key the attacker held.
    pub who: String,
    /// The honest nodes measured.
    pub honest: Vec<usize>,
    /// Without the attacker.
    pub calm: Window,
    /// With it.
    pub attack: Window,
    /// The cap, per cent of one core (None: no cgroup could be made; uncapped).
    pub cpu_cap_percent: Option<u64>,
    /// CPU the attacker used over its window, ms (None: not measurable).
    pub cpu_used_ms: Option<u64>,
    /// Periods in which the cap held it back.
    pub cpu_throttled_periods: Option<u64>,
    /// Fewest peers an honest node reported at the end of the attack.
    pub honest_peers_min: u64,
    /// What the attacker says it did (its report).
    pub attacker: Value,
}

/// Everything the phase did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Byzantine {
    /// Each attacker.
    pub attacks: Vec<Attack>,
    /// What went wrong.
    pub failures: Vec<String>,
    /// What could not be done here, with why.
    pub skipped: Vec<String>,
}

/// Runs both attacks on `net`; the attacker binary sits beside `bin`.
pub fn run(net: &mut Cluster, bin: &Path, work: &Path) -> Result<Byzantine> {
    let attacker_bin = bin.with_file_name("filiera-byzantine");
    if !attacker_bin.exists() {
        bail!(
            "{} not found: build it (cargo build --release --bins)",
            attacker_bin.display()
        );
    }
    let mut out = Byzantine::default();
    let b = net.len() - 1;
    let honest: Vec<usize> = (0..b).collect();

    // 1. Validator b's keys: its node stopped, the attacker in its place.
    net.kill_node(b)?;
    let calm = measure(net, &honest, None)?;
    let peers: Vec<String> = honest
        .iter()
        .map(|&j| format!("/ip4/127.0.0.1/tcp/{}", net.p2p_base + j as u16))
        .collect();
    let report = work.join("byzantine-validator.json");
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", net.namespace(b)])
        .arg(&attacker_bin)
        .arg("--genesis")
        .arg(net.dir.join("genesis.json"))
        .arg("--home")
        .arg(net.home(b));
    let attacker = Attacker::new(cmd, &peers, &report, "validator")?;
    let (window, cpu) = attacker.measure_while(net, &honest)?;
    finish(
        &mut out,
        format!("validator {b} (p2p and consensus keys)"),
        net,
        &honest,
        calm,
        window,
        cpu,
        &report,
    );
    net.start_node(b, None)?;
    check::wait_progress(
        &net.apis,
        check::top_height(&check::agent(2_000), &net.apis),
        Duration::from_secs(60),
    )
    .with_context(|| format!("validator {b} did not catch up after the attack"))?;

    // 2. An observer the authority lets in, attacking every validator.
    let all: Vec<usize> = (0..net.len()).collect();
    match register_observer(net, bin) {
        Err(e) => out.skipped.push(format!("observer: {e:#}")),
        Ok(key_file) => {
            let calm = measure(net, &all, None)?;
            let peers: Vec<String> = net
                .p2p_addrs
                .iter()
                .map(|a| format!("/ip4/{}/tcp/{}", a.ip(), a.port()))
                .collect();
            let report = work.join("byzantine-observer.json");
            let mut cmd = Command::new(&attacker_bin);
            cmd.arg("--genesis")
                .arg(net.dir.join("genesis.json"))
                .arg("--p2p-key")
                .arg(&key_file)
                .arg("--signing-key")
                .arg(&key_file);
            let attacker = Attacker::new(cmd, &peers, &report, "observer")?;
            let (window, cpu) = attacker.measure_while(net, &all)?;
            finish(
                &mut out,
                "an observer (its p2p key)".into(),
                net,
                &all,
                calm,
                window,
                cpu,
                &report,
            );
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn finish(
    out: &mut Byzantine,
    who: String,
    net: &Cluster,
    honest: &[usize],
    calm: Window,
    attack: Window,
    cpu: Cpu,
    report: &Path,
) {
    let agent = check::agent(2_000);
    let attacker: Value = std::fs::read(report)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    if attacker.is_null() {
        out.failures
            .push(format!("{who}: the attacker wrote no report"));
    } else if attacker["blocks_published"].as_u64().unwrap_or(0) == 0 {
        out.failures
            .push(format!("{who}: the attacker published nothing: {attacker}"));
    }
    if attack.to_height < attack.from_height + HEIGHTS_UNDER_ATTACK_MIN {
        out.failures.push(format!(
            "{who}: heights {} to {} under attack (at least {HEIGHTS_UNDER_ATTACK_MIN} expected)",
            attack.from_height, attack.to_height
        ));
    }
    let mut honest_peers_min = u64::MAX;
    for &i in honest {
        let peers = crate::load::drive::metric(&agent, &net.metrics[i], "filiera_peers");
        honest_peers_min = honest_peers_min.min(peers);
        // Every other honest node, at least.
        if peers < (honest.len() - 1) as u64 {
            out.failures.push(format!(
                "{who}: validator {i} has {peers} peers at the end of the attack"
            ));
        }
    }
    out.attacks.push(Attack {
        who,
        honest: honest.to_vec(),
        calm,
        attack,
        cpu_cap_percent: cpu.cap_percent,
        cpu_used_ms: cpu.used_ms,
        cpu_throttled_periods: cpu.throttled_periods,
        honest_peers_min,
        attacker,
    });
}

/// Waits `WINDOW_S` and measures time per height on `honest[0]`; if
/// `until` is given, the window ends when that process does.
fn measure(
    net: &Cluster,
    honest: &[usize],
    until: Option<&mut std::process::Child>,
) -> Result<Window> {
    let agent = check::agent(2_000);
    let api = &net.apis[honest[0]];
    let height =
        |agent: &ureq::Agent| check::heights(agent, std::slice::from_ref(api))[0].unwrap_or(0);
    let from_height = height(&agent);
    match until {
        None => std::thread::sleep(Duration::from_secs(WINDOW_S)),
        Some(child) => {
            child.wait()?;
        }
    }
    let to_height = height(&agent);
    let time = |h: u64| {
        check::get_json(&agent, &format!("{api}/v1/blocks/{h}")).and_then(|b| b["time_ms"].as_u64())
    };
    let mut ms = Vec::new();
    for h in from_height.max(1)..to_height {
        if let (Some(a), Some(b)) = (time(h), time(h + 1)) {
            ms.push(b.saturating_sub(a));
        }
    }
    ms.sort_unstable();
    Ok(Window {
        from_height,
        to_height,
        p50_ms: crate::percentile(&ms, 50),
        p99_ms: crate::percentile(&ms, 99),
        max_ms: ms.last().copied().unwrap_or(0),
    })
}

/// The authority registers a new observer key (2 of its keys); returns its key file.
fn register_observer(net: &Cluster, bin: &Path) -> Result<PathBuf> {
    let key_file = net.dir.join("byzantine-observer.json");
    let key = filiera_types::SecretKey::from_seed(&[0x0b; 32]);
    if !key_file.exists() {
        filiera_client::keys::write(&key_file, &key)?;
    }
    let cli = |args: &[&str], authority_key: usize, node: usize| -> Result<Value> {
        let out = Command::new(bin)
            .arg("--json")
            .args(args)
            .arg("--key")
            .arg(net.dir.join(format!("authority/key-{authority_key}.json")))
            .args(["--api", &net.apis[node]])
            .output()?;
        if !out.status.success() {
            bail!("{args:?}: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(serde_json::from_slice(&out.stdout)?)
    };
    let hexkey = key.public_key().to_hex();
    let proposed = cli(
        &[
            "authority",
            "observer",
            "--org",
            "regione-marche",
            "--p2p-key",
            &hexkey,
        ],
        0,
        0,
    )?;
    let number = proposed["returned"]
        .as_u64()
        .with_context(|| format!("no proposal number in {proposed}"))?;
    let approved = cli(&["authority", "approve", &number.to_string()], 1, 1)?;
    let at = approved["height"].as_u64().unwrap_or(0);
    check::wait_progress(&net.apis, at + 1, Duration::from_secs(60))?;
    Ok(key_file)
}

/// CPU the attacker used, and its cap.
#[derive(Default)]
struct Cpu {
    cap_percent: Option<u64>,
    used_ms: Option<u64>,
    throttled_periods: Option<u64>,
}

/// The attacker's process, in a cgroup of its own when one can be made.
struct Attacker {
    child: std::process::Child,
    cgroup: Option<Cgroup>,
}

impl Attacker {
    /// Starts `cmd` (the attacker binary, maybe behind `ip netns exec`)
    /// for `WINDOW_S`, attacking `peers`, writing `report`.
    fn new(mut cmd: Command, peers: &[String], report: &Path, name: &str) -> Result<Attacker> {
        for p in peers {
            cmd.args(["--peer", p]);
        }
        cmd.args(["--attacks", ATTACKS])
            .args(["--duration-s", &WINDOW_S.to_string()])
            .arg("--report")
            .arg(report)
            .stdout(Stdio::null());
        let cgroup = Cgroup::create(name, ATTACKER_CPU_PERCENT).ok();
        // The process joins its cgroup before it runs the attacker: the
        // shell puts itself in, then execs.
        let mut shell = Command::new("sh");
        let mut line = String::new();
        if let Some(cg) = &cgroup {
            for procs in &cg.procs_files {
                line.push_str(&format!("echo $$ > '{}' && ", procs.display()));
            }
        }
        line.push_str("exec \"$@\"");
        shell.arg("-c").arg(line).arg("sh");
        shell.arg(cmd.get_program()).args(cmd.get_args());
        shell.stdout(Stdio::null());
        let child = shell.spawn().context("starting filiera-byzantine")?;
        Ok(Attacker { child, cgroup })
    }

    /// Measures the honest nodes while the attacker runs; its CPU after.
    fn measure_while(mut self, net: &Cluster, honest: &[usize]) -> Result<(Window, Cpu)> {
        let started = Instant::now();
        let window = measure(net, honest, Some(&mut self.child))?;
        if started.elapsed() < Duration::from_secs(WINDOW_S) {
            bail!("the attacker ended early: see its report");
        }
        let cpu = match &self.cgroup {
            Some(cg) => cg.usage(),
            None => Cpu::default(),
        };
        Ok((window, cpu))
    }
}

/// A cgroup that caps CPU (v2 `cpu.max`, or v1 `cpu` with `cpuacct`).
struct Cgroup {
    dirs: Vec<PathBuf>,
    procs_files: Vec<PathBuf>,
    percent: u64,
    v2: bool,
}

impl Cgroup {
    fn create(name: &str, percent: u64) -> Result<Cgroup> {
        let leaf = format!("filiera-byzantine-{}-{name}", std::process::id());
        let quota_us = CPU_PERIOD_US * percent / 100;
        let root = Path::new("/sys/fs/cgroup");
        if root.join("cgroup.controllers").exists() {
            let dir = root.join(&leaf);
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join("cpu.max"), format!("{quota_us} {CPU_PERIOD_US}"))
                .context("cpu.max")?;
            return Ok(Cgroup {
                procs_files: vec![dir.join("cgroup.procs")],
                dirs: vec![dir],
                percent,
                v2: true,
            });
        }
        let cpu = root.join("cpu").join(&leaf);
        let acct = root.join("cpuacct").join(&leaf);
        std::fs::create_dir_all(&cpu)?;
        std::fs::write(cpu.join("cpu.cfs_period_us"), CPU_PERIOD_US.to_string())?;
        std::fs::write(cpu.join("cpu.cfs_quota_us"), quota_us.to_string())?;
        // cpuacct may share the cpu hierarchy (cpu,cpuacct) or stand apart.
        let mut dirs = vec![cpu.clone()];
        if !acct.exists() {
            std::fs::create_dir_all(&acct).ok();
        }
        if acct.exists() && acct != cpu {
            dirs.push(acct);
        }
        Ok(Cgroup {
            procs_files: dirs.iter().map(|d| d.join("cgroup.procs")).collect(),
            dirs,
            percent,
            v2: false,
        })
    }

    fn usage(&self) -> Cpu {
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        let field = |text: &str, key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.trim().parse::<u64>().ok())
        };
        let stat = read(self.dirs[0].join("cpu.stat"));
        let (used_ms, throttled) = if self.v2 {
            (
                field(&stat, "usage_usec ").map(|us| us / 1_000),
                field(&stat, "nr_throttled "),
            )
        } else {
            let usage = self
                .dirs
                .iter()
                .find_map(|d| read(d.join("cpuacct.usage")).trim().parse::<u64>().ok());
            (
                usage.map(|ns| ns / 1_000_000),
                field(&stat, "nr_throttled "),
            )
        };
        Cpu {
            cap_percent: Some(self.percent),
            used_ms,
            throttled_periods: throttled,
        }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        for d in &self.dirs {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// The phase as Markdown.
pub fn markdown(b: &Byzantine) -> String {
    let mut s = format!(
        "\n## Byzantine peers ({WINDOW_S} s per window, attacks {ATTACKS})\n\n\
         | attacker | honest | calm: heights, time per height p50 / p99 / max | under attack | attacker CPU |\n\
         |---|---|---|---|---|\n"
    );
    for a in &b.attacks {
        let w = |w: &Window| {
            format!(
                "{}→{}: {} / {} / {} ms",
                w.from_height, w.to_height, w.p50_ms, w.p99_ms, w.max_ms
            )
        };
        let cpu = match (a.cpu_cap_percent, a.cpu_used_ms) {
            (Some(cap), Some(used)) => format!(
                "{used} ms in {WINDOW_S} s, capped at {cap}% of a core ({} periods throttled)",
                a.cpu_throttled_periods.unwrap_or(0)
            ),
            _ => "uncapped (no cgroup)".into(),
        };
        s.push_str(&format!(
            "| {} | {:?} | {} | {} | {cpu} |\n",
            a.who,
            a.honest,
            w(&a.calm),
            w(&a.attack)
        ));
    }
    for a in &b.attacks {
        s.push_str(&format!("- {}: {}\n", a.who, a.attacker));
    }
    for k in &b.skipped {
        s.push_str(&format!("- skipped: {k}\n"));
    }
    for f in &b.failures {
        s.push_str(&format!("- FAILED: {f}\n"));
    }
    s
}

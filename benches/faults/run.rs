//! One seeded run: a schedule of faults over a loaded network, each healed
//! and timed to progress, then the checker.

use crate::faults::check::{self, Verdict};
use crate::faults::cluster::Cluster;
use crate::faults::load::Load;
use crate::percentile;
use anyhow::{Context, Result};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The kinds of fault, in the order a run cycles through them (after a seeded shuffle).
pub const KINDS: [&str; 7] = ["kill", "pause", "isolate", "split", "links", "skew", "disk"];
/// Longest a node may take to stop once its disk is full, s.
pub const DISK_STOP_BOUND_S: u64 = 60;
/// Pause between a heal and the next fault, ms.
pub const SETTLE_MS: u64 = 2_000;
/// Load before the first fault, ms.
pub const WARMUP_MS: u64 = 3_000;
/// Longest wait for the first block, s.
pub const START_BOUND_S: u64 = 60;

/// What a run does.
#[derive(Clone, Debug, Serialize)]
pub struct Options {
    /// Seed of the schedule: kinds' order, victims, durations, offsets.
    pub seed: u64,
    /// Faults injected, one after another.
    pub rounds: usize,
    /// Validators of the network.
    pub validators: usize,
    /// Kinds to use (names of `KINDS`).
    pub kinds: Vec<String>,
    /// Longest allowed time from a heal to progress on every node, s.
    pub heal_bound_s: u64,
    /// Memory a node may use at most (peak RSS), MiB.
    pub rss_limit_mib: u64,
    /// Whether to run the hostile phase after the faults.
    pub hostile: bool,
    /// Whether to run the Byzantine phase after the faults.
    pub byzantine: bool,
}

/// One injected fault and what followed it.
#[derive(Clone, Debug, Serialize)]
pub struct FaultRecord {
    /// Which kind.
    pub kind: String,
    /// What exactly (victims, durations, offsets).
    pub what: String,
    /// Seconds since the load started, at injection.
    pub at_s: u64,
    /// How long the fault lasted, ms.
    pub held_ms: u64,
    /// Heal to every node past the highest height at heal, ms (None: not within the bound).
    pub heal_to_progress_ms: Option<u64>,
}

/// Figures of one kind.
#[derive(Clone, Debug, Serialize)]
pub struct KindFigures {
    /// Faults of this kind injected.
    pub injected: usize,
    /// Heal-to-progress, ms.
    pub heal_p50_ms: u64,
    /// Heal-to-progress, ms.
    pub heal_p99_ms: u64,
    /// Heal-to-progress, ms.
    pub heal_max_ms: u64,
}

/// The whole run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// What was asked.
    pub options: Options,
    /// Kinds asked for but impossible here, with why.
    pub skipped: Vec<String>,
    /// Every fault, in order.
    pub faults: Vec<FaultRecord>,
    /// By kind.
    pub by_kind: BTreeMap<String, KindFigures>,
    /// Heal-to-progress over every fault, ms.
    pub heal_p50_ms: u64,
    /// Heal-to-progress over every fault, ms.
    pub heal_p99_ms: u64,
    /// Transactions acknowledged as committed.
    pub acks: usize,
    /// Sends no node took (it was down, paused or cut off), by reason: retried elsewhere.
    pub send_failures: BTreeMap<String, u64>,
    /// Transactions sent again after going uncommitted for a while.
    pub resends: u64,
    /// Hostile inputs tried and refused (None: not run).
    pub hostile: Option<crate::faults::hostile::Hostile>,
    /// Byzantine peers and what they did to finality (None: not run).
    pub byzantine: Option<crate::faults::byzantine::Byzantine>,
    /// What the checker found.
    pub verdict: Verdict,
    /// Peak RSS of each node over the run, MiB.
    pub rss_peak_mib: Vec<u64>,
    /// Anything that went wrong besides the checker's findings: crashes,
    /// stalls, a node that did not stop on a full disk.
    pub failures: Vec<String>,
    /// Length of the run, s.
    pub seconds: u64,
}

impl Report {
    /// Whether the run passed.
    pub fn passed(&self) -> bool {
        self.verdict.safe()
            && self.failures.is_empty()
            && self.hostile.as_ref().is_none_or(|h| h.failures.is_empty())
            && self
                .byzantine
                .as_ref()
                .is_none_or(|b| b.failures.is_empty())
            && self.faults.iter().all(|f| f.heal_to_progress_ms.is_some())
            && self
                .rss_peak_mib
                .iter()
                .all(|&m| m <= self.options.rss_limit_mib)
    }
}

/// Everything the steps of a run share.
struct Runner {
    net: Cluster,
    rng: StdRng,
    opts: Options,
    failures: Vec<String>,
    start: Instant,
}

fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl Runner {
    /// Lets `ms` pass while watching memory and unexpected exits (a node
    /// that exits unasked is a failure; it is started again).
    fn hold(&mut self, ms: u64, expect_exit: Option<usize>) -> Result<()> {
        let end = Instant::now() + Duration::from_millis(ms);
        while Instant::now() < end {
            std::thread::sleep(Duration::from_millis(250).min(end - Instant::now()));
            self.net.sample();
            for i in 0..self.net.len() {
                if Some(i) == expect_exit {
                    continue;
                }
                if let Some(status) = self.net.exited(i)? {
                    self.failures.push(format!(
                        "node {i} exited unasked ({status}); its log ends:\n{}",
                        log_tail(&self.net.log(i), 15)
                    ));
                    self.net.start_node(i, None)?;
                }
            }
        }
        Ok(())
    }

    fn pick_node(&mut self) -> usize {
        self.rng.random_range(0..self.net.len())
    }

    fn top_height(&self) -> u64 {
        check::top_height(&check::agent(1_000), &self.net.apis)
    }

    /// Injects one fault of `kind`, holds it, heals it; returns what and how long.
    fn inject(&mut self, kind: &str) -> Result<(String, u64)> {
        let started = Instant::now();
        let what = match kind {
            "kill" => {
                let (i, down_ms) = (self.pick_node(), self.rng.random_range(500..5_000));
                self.net.kill_node(i)?;
                self.hold(down_ms, Some(i))?;
                self.net.start_node(i, None)?;
                format!("SIGKILL node {i}, restarted after {down_ms} ms")
            }
            "pause" => {
                let (i, ms) = (self.pick_node(), self.rng.random_range(2_000..8_000));
                self.net.pause_node(i, true)?;
                self.hold(ms, None)?;
                self.net.pause_node(i, false)?;
                format!("SIGSTOP node {i} for {ms} ms, then SIGCONT")
            }
            "isolate" => {
                let (i, ms) = (self.pick_node(), self.rng.random_range(4_000..12_000));
                self.net.partition(&[i], true);
                self.hold(ms, None)?;
                self.net.partition(&[i], false);
                format!("node {i} cut off from every peer for {ms} ms")
            }
            "split" => {
                let mut all: Vec<usize> = (0..self.net.len()).collect();
                all.shuffle(&mut self.rng);
                let mut side = all[..self.net.len() / 2].to_vec();
                side.sort_unstable();
                let ms = self.rng.random_range(4_000..12_000);
                self.net.partition(&side, true);
                self.hold(ms, None)?;
                self.net.partition(&side, false);
                format!(
                    "nodes {side:?} split from the others for {ms} ms (no quorum on either side)"
                )
            }
            "links" => {
                let delay = self.rng.random_range(20..100);
                let jitter = self.rng.random_range(0..delay);
                let stall = self.rng.random_range(10..50);
                let ms = self.rng.random_range(8_000..15_000);
                self.net.degrade_all(delay, jitter, stall);
                self.hold(ms, None)?;
                self.net.degrade_all(0, 0, 0);
                format!(
                    "every link delayed {delay} ms + up to {jitter} ms jitter, {stall}\u{2030} of chunks stalled {} ms more, for {ms} ms",
                    crate::faults::proxy::STALL_MS
                )
            }
            "skew" => {
                let i = self.pick_node();
                let magnitude: i64 = self.rng.random_range(10..120);
                let offset = if self.rng.random_bool(0.5) {
                    magnitude
                } else {
                    -magnitude
                };
                let ms = self.rng.random_range(8_000..15_000);
                self.net.restart_node(i, Some(offset))?;
                self.hold(ms, None)?;
                self.net.restart_node(i, None)?;
                format!(
                    "node {i} restarted with its wall clock {offset:+} s off for {ms} ms, then restarted right"
                )
            }
            "disk" => self.fill_disk()?,
            other => anyhow::bail!("unknown fault kind {other}"),
        };
        Ok((what, started.elapsed().as_millis() as u64))
    }

    /// Fills the tmpfs of the disk node, waits for the node to stop, frees
    /// the space and starts it again.
    fn fill_disk(&mut self) -> Result<String> {
        let i = self.net.disk_node.context("no node has a small disk")?;
        let ballast = self.net.data_dir(i).join("ballast");
        let mut file = std::fs::File::create(&ballast)?;
        let chunk = vec![0u8; 1 << 20];
        let mut filled_mib = 0u64;
        while file.write_all(&chunk).is_ok() {
            filled_mib += 1;
        }
        drop(file);
        let deadline = Instant::now() + Duration::from_secs(DISK_STOP_BOUND_S);
        let mut stopped = None;
        while Instant::now() < deadline {
            self.hold(250, Some(i))?;
            if let Some(status) = self.net.exited(i)? {
                stopped = Some(status);
                break;
            }
        }
        let outcome = match stopped {
            Some(status) => {
                let tail = log_tail(&self.net.log(i), 5);
                let said = tail
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("(nothing)")
                    .trim()
                    .to_owned();
                if status.success() {
                    self.failures
                        .push(format!("node {i} stopped on a full disk but exited 0"));
                }
                format!("stopped ({status}), last log line: {said}")
            }
            None => {
                self.failures.push(format!(
                    "node {i} did not stop within {DISK_STOP_BOUND_S} s of a full disk"
                ));
                self.net.kill_node(i)?;
                "did not stop; killed".into()
            }
        };
        std::fs::remove_file(&ballast)?;
        self.net.start_node(i, None)?;
        Ok(format!(
            "node {i}'s disk filled ({filled_mib} MiB of ballast): {outcome}; space freed and node restarted"
        ))
    }
}

/// Runs the faults of `opts` on a new network of `bin` in `dir`.
pub fn run(bin: &Path, dir: &Path, opts: Options) -> Result<Report> {
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let mut kinds: Vec<String> = opts.kinds.clone();
    kinds.shuffle(&mut rng);
    let mut skipped = Vec::new();
    if crate::faults::cluster::faketime_lib().is_none() && kinds.iter().any(|k| k == "skew") {
        kinds.retain(|k| k != "skew");
        skipped.push("skew: libfaketime not found (Debian package faketime)".into());
    }
    let disk_node = kinds
        .iter()
        .any(|k| k == "disk")
        .then(|| rng.random_range(0..opts.validators));
    let net = Cluster::start(bin, &dir.join("net"), opts.validators, disk_node, opts.seed)?;
    if disk_node.is_some() && net.disk_node.is_none() {
        kinds.retain(|k| k != "disk");
        skipped.push("disk: a tmpfs could not be mounted (needs root)".into());
    }
    check::wait_progress(&net.apis, 0, Duration::from_secs(START_BOUND_S))
        .context("the network did not start")?;
    let mut r = Runner {
        net,
        rng,
        opts: opts.clone(),
        failures: Vec::new(),
        start: Instant::now(),
    };
    let load = Load::start(&r.net.dir, r.net.apis.clone(), r.top_height())?;
    r.hold(WARMUP_MS, None)?;
    let mut faults = Vec::new();
    for round in 0..r.opts.rounds {
        let Some(kind) = kinds.get(round % kinds.len().max(1)).cloned() else {
            break;
        };
        let at_s = r.start.elapsed().as_secs();
        let (what, held_ms) = r.inject(&kind)?;
        let top = r.top_height();
        let progress =
            check::wait_progress(&r.net.apis, top, Duration::from_secs(r.opts.heal_bound_s));
        let heal_to_progress_ms = match progress {
            Ok(d) => Some(d.as_millis() as u64),
            Err(e) => {
                r.failures.push(format!("after {kind} ({what}): {e}"));
                None
            }
        };
        eprintln!(
            "fault {round}: {what}; progress {}",
            heal_to_progress_ms.map_or("NOT within the bound".into(), |ms| format!(
                "{ms} ms after heal"
            ))
        );
        faults.push(FaultRecord {
            kind,
            what,
            at_s,
            held_ms,
            heal_to_progress_ms,
        });
        r.hold(SETTLE_MS, None)?;
    }
    // Under the same load: the insider attacks.
    let byzantine = if r.opts.byzantine {
        eprintln!("Byzantine peers");
        Some(crate::faults::byzantine::run(&mut r.net, bin, dir)?)
    } else {
        None
    };
    let tally = load.stop();
    let acks = tally.acks.lock().map(|a| a.clone()).unwrap_or_default();
    let hostile = if r.opts.hostile {
        eprintln!("hostile inputs");
        Some(crate::faults::hostile::run(&mut r.net, &acks, r.opts.seed)?)
    } else {
        None
    };
    // Everything healed and running: wait for one more height everywhere, then compare.
    let top = r.top_height();
    if let Err(e) = check::wait_progress(&r.net.apis, top, Duration::from_secs(r.opts.heal_bound_s))
    {
        r.failures.push(format!("at the end: {e}"));
    }
    let agent = check::agent(2_000);
    let through = check::heights(&agent, &r.net.apis)
        .into_iter()
        .map(|h| h.unwrap_or(0))
        .min()
        .unwrap_or(0);
    let verdict = check::check(&r.net.apis, through, &acks);
    let rss_peak_mib = r.net.rss_peaks_kib().iter().map(|k| k / 1024).collect();
    let mut by_kind: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for f in &faults {
        by_kind
            .entry(f.kind.clone())
            .or_default()
            .extend(f.heal_to_progress_ms);
    }
    let figures = |mut v: Vec<u64>| {
        v.sort_unstable();
        (
            percentile(&v, 50),
            percentile(&v, 99),
            v.last().copied().unwrap_or(0),
        )
    };
    let mut all: Vec<u64> = faults
        .iter()
        .filter_map(|f| f.heal_to_progress_ms)
        .collect();
    all.sort_unstable();
    Ok(Report {
        by_kind: by_kind
            .into_iter()
            .map(|(k, v)| {
                let injected = faults.iter().filter(|f| f.kind == k).count();
                let (p50, p99, max) = figures(v);
                (
                    k,
                    KindFigures {
                        injected,
                        heal_p50_ms: p50,
                        heal_p99_ms: p99,
                        heal_max_ms: max,
                    },
                )
            })
            .collect(),
        heal_p50_ms: percentile(&all, 50),
        heal_p99_ms: percentile(&all, 99),
        acks: acks.len(),
        send_failures: tally
            .send_failures
            .lock()
            .map(|f| f.clone())
            .unwrap_or_default(),
        resends: tally.resends.load(std::sync::atomic::Ordering::Relaxed),
        hostile,
        byzantine,
        verdict,
        rss_peak_mib,
        failures: {
            let mut failures = r.failures;
            // In CI every kind of fault must be injected, not skipped.
            if std::env::var_os("FILIERA_REQUIRE_TOOLS").is_some() {
                failures.extend(
                    skipped
                        .iter()
                        .map(|k| format!("not injected, and FILIERA_REQUIRE_TOOLS is set: {k}")),
                );
            }
            failures
        },
        seconds: r.start.elapsed().as_secs(),
        options: opts,
        skipped,
        faults,
    })
}

/// The report as Markdown.
pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let o = &r.options;
    s.push_str(&format!(
        "# Fault injection: seed {}, {} faults, {} validators, {} s\n\n**{}**\n\n",
        o.seed,
        r.faults.len(),
        o.validators,
        r.seconds,
        if r.passed() { "PASSED" } else { "FAILED" }
    ));
    s.push_str(
        "| kind | injected | heal to progress p50 | p99 | max |\n|---|---:|---:|---:|---:|\n",
    );
    for (k, f) in &r.by_kind {
        s.push_str(&format!(
            "| {k} | {} | {} ms | {} ms | {} ms |\n",
            f.injected, f.heal_p50_ms, f.heal_p99_ms, f.heal_max_ms
        ));
    }
    let v = &r.verdict;
    s.push_str(&format!(
        "| all | {} | {} ms | {} ms | |\n\n",
        r.faults.len(),
        r.heal_p50_ms,
        r.heal_p99_ms
    ));
    s.push_str(&format!(
        "- heights compared on every node: {}; forks: **{}**; state-root mismatches: **{}**\n",
        v.heights_checked, v.forks, v.state_root_mismatches
    ));
    s.push_str(&format!(
        "- transactions acknowledged as committed: {}; lost or moved: **{}**\n",
        r.acks, v.acks_lost
    ));
    s.push_str(&format!(
        "- sends no node took (retried elsewhere), by reason: {:?}; re-sent after {} s uncommitted: {}\n",
        r.send_failures,
        crate::faults::load::COMMIT_WAIT_MS / 1000,
        r.resends
    ));
    s.push_str(&format!(
        "- peak RSS per node: {:?} MiB (limit {} MiB)\n",
        r.rss_peak_mib, o.rss_limit_mib
    ));
    for k in &r.skipped {
        s.push_str(&format!("- skipped: {k}\n"));
    }
    if let Some(h) = &r.hostile {
        s.push_str(&format!(
            "\n## Hostile inputs: {} tried, {} refused\n\n| input | tried | refused | answers |\n|---|---:|---:|---|\n",
            h.tried(),
            h.refused()
        ));
        for (name, c) in &h.categories {
            let answers: Vec<String> = c.answers.iter().map(|(a, n)| format!("{a} ×{n}")).collect();
            s.push_str(&format!(
                "| {name} | {} | {} | {} |\n",
                c.tried,
                c.refused,
                answers.join(", ")
            ));
        }
        for f in &h.failures {
            s.push_str(&format!("- FAILED: {f}\n"));
        }
        if let Some(edge) = &h.edge {
            s.push_str(&edge.markdown());
        }
    }
    if let Some(b) = &r.byzantine {
        s.push_str(&crate::faults::byzantine::markdown(b));
    }
    s.push_str("\n## Faults in order\n\n");
    for f in &r.faults {
        s.push_str(&format!(
            "- t={} s, {}: {} → {}\n",
            f.at_s,
            f.kind,
            f.what,
            f.heal_to_progress_ms
                .map_or("no progress within the bound".into(), |ms| format!(
                    "progress {ms} ms after heal"
                ))
        ));
    }
    if !r.failures.is_empty() || !v.details.is_empty() {
        s.push_str("\n## Failures\n\n");
        for f in r.failures.iter().chain(&v.details) {
            s.push_str(&format!("- {f}\n"));
        }
    }
    s
}

/// Writes `report.json` and `report.md` in `out`.
pub fn write(r: &Report, out: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("report.json"), serde_json::to_vec_pretty(r)?)?;
    let md = out.join("report.md");
    std::fs::write(&md, markdown(r))?;
    Ok(md)
}

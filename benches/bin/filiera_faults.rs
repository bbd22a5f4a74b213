//! `filiera-faults`: fault injection on a localnet of real `filiera`
//! processes (see `filiera_benches::faults`). Writes `report.json` and
//! `report.md` under `--out`, prints the report, and exits 1 unless every
//! check passed: no fork, no state-root mismatch, no acknowledged
//! transaction lost, progress within the bound after every heal, no node
//! over the memory limit, no node exiting unasked.
//!
//! Examples (as root):
//!   filiera-faults --seed 1 --rounds 7            # one fault of each kind
//!   filiera-faults --seed 7 --rounds 60 --kinds kill,pause,isolate

use anyhow::{Context, Result, bail};
use clap::Parser;
use filiera_benches::faults::netns;
use filiera_benches::faults::run::{self, KINDS, Options};
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Fault injection on real processes, with a checker")]
struct Args {
    /// Seed of the schedule.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Faults to inject, one after another.
    #[arg(long, default_value_t = 7)]
    rounds: usize,
    /// Validators of the network.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(4..=10))]
    validators: u16,
    /// Kinds of fault, comma-separated (default: all).
    #[arg(long, value_delimiter = ',', default_values_t = KINDS.map(String::from))]
    kinds: Vec<String>,
    /// Longest allowed time from a heal to progress on every node, s.
    #[arg(long, default_value_t = 60)]
    heal_bound_s: u64,
    /// Memory a node may use at most (peak RSS), MiB.
    #[arg(long, default_value_t = 1_024)]
    rss_limit_mib: u64,
    /// Folder of the report (`report.json`, `report.md`).
    #[arg(long, default_value = "results/faults")]
    out: PathBuf,
    /// The `filiera` binary (default: next to this one).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Keep the network's folder (logs, data) in `--out`.
    #[arg(long)]
    keep: bool,
    /// Skip the hostile inputs after the faults.
    #[arg(long)]
    no_hostile: bool,
    /// Skip the Byzantine peers after the faults.
    #[arg(long)]
    no_byzantine: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    for k in &args.kinds {
        if !KINDS.contains(&k.as_str()) {
            bail!("unknown kind {k}; kinds: {}", KINDS.join(","));
        }
    }
    if !netns::available() {
        bail!("network namespaces cannot be made here: run as root (ip netns add)");
    }
    let bin = filiera_benches::node_binary(args.bin.as_deref())?;
    let temp = tempfile::tempdir()?;
    let work = if args.keep {
        std::fs::create_dir_all(&args.out)?;
        let w = args.out.join("work");
        if w.exists() {
            unmount_under(&w);
            std::fs::remove_dir_all(&w)
                .with_context(|| format!("removing the last run's {}", w.display()))?;
        }
        w
    } else {
        temp.path().to_owned()
    };
    let report = run::run(
        &bin,
        &work,
        Options {
            seed: args.seed,
            rounds: args.rounds,
            validators: usize::from(args.validators),
            kinds: args.kinds.clone(),
            heal_bound_s: args.heal_bound_s,
            rss_limit_mib: args.rss_limit_mib,
            hostile: !args.no_hostile,
            byzantine: !args.no_byzantine,
        },
    )?;
    let md = run::write(&report, &args.out)?;
    print!("{}", run::markdown(&report));
    eprintln!("report: {}", md.display());
    if !report.passed() {
        std::process::exit(1);
    }
    Ok(())
}

/// Unmounts what an interrupted run left mounted under `dir` (the disk
/// node's tmpfs), so the folder can go.
fn unmount_under(dir: &std::path::Path) {
    let Ok(dir) = dir.canonicalize() else { return };
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    for point in mounts.lines().filter_map(|l| l.split_whitespace().nth(1)) {
        if std::path::Path::new(point).starts_with(&dir) {
            let _ = std::process::Command::new("umount").arg(point).status();
        }
    }
}

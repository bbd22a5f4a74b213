//! `filiera-bench`: the network load generator. Starts a new localnet of N
//! real validators, registers one lot per producer key, then offers a
//! realistic mix of pre-signed transactions open-loop at a fixed rate, or
//! ramps the rate up to find the largest one the network sustains. Writes
//! `result.json`, `summary.md` and `chart.svg` under `--out`.
//!
//! Examples:
//!   filiera-bench --validators 4 --rate 1000 --seconds 60
//!   filiera-bench --validators 1 --find-max --start-rate 500 --step-seconds 15

use anyhow::{Context, Result, bail};
use clap::Parser;
use filiera_benches::load::drive::{metric, run_step};
use filiera_benches::load::mix::{self, Chain};
use filiera_benches::load::net::Localnet;
use filiera_benches::load::report::{self, Run, sustained};
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Load generator: committed tx/s, finality latency, CPU and memory per node")]
struct Args {
    /// Validators of the localnet to start.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    validators: u16,
    /// Offered rate, transactions per second (open loop).
    #[arg(long, default_value_t = 1_000)]
    rate: u64,
    /// Length of the offered load, s.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Ramp the rate up (x1.5 a step) from --start-rate until a step is not
    /// sustained; reports the largest sustained rate.
    #[arg(long)]
    find_max: bool,
    /// First rate of --find-max.
    #[arg(long, default_value_t = 500)]
    start_rate: u64,
    /// Length of each --find-max step, s.
    #[arg(long, default_value_t = 15)]
    step_seconds: u64,
    /// Highest rate --find-max tries.
    #[arg(long, default_value_t = 100_000)]
    max_rate: u64,
    /// Folder of the results (a sub-folder per run is made in it).
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// The `filiera` binary (default: next to this one).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Where the localnet lives (must not exist; default: a new temporary folder).
    #[arg(long)]
    work: Option<PathBuf>,
    /// Transactions per request at most (`POST /v1/txs/batch`); 1 sends each
    /// alone (`POST /v1/txs`).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=1000))]
    batch: u64,
    /// Fail (exit 1) unless every offered transaction committed: for CI's smoke run.
    #[arg(long)]
    require_all_committed: bool,
}

fn git_commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "unknown".into(), |s| s.trim().to_owned())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let bin = filiera_benches::node_binary(args.bin.as_deref())?;
    let temp;
    let work = match &args.work {
        Some(w) => w.clone(),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().join("net")
        }
    };
    let started = now_utc()?;
    eprintln!(
        "starting {} validator(s) in {}",
        args.validators,
        work.display()
    );
    let mut net = Localnet::start(&bin, &work, args.validators)?;
    let (genesis, mut senders) = mix::senders(&work)?;
    let api0 = net.apis[0].clone();
    let agent = ureq::Agent::new_with_defaults();
    let height = |agent: &ureq::Agent| -> Result<u64> {
        let status: serde_json::Value = agent
            .get(format!("{api0}/v1/status"))
            .call()?
            .body_mut()
            .read_json()?;
        status["height"].as_u64().context("height")
    };
    let chain = |h: u64| Chain {
        id: genesis.chain_id.clone(),
        // Expiry is checked against the furthest allowed at admission.
        expiry_height: h + genesis.consensus.tx_expiry_blocks_max.saturating_sub(10),
        valid_from_ms: genesis.genesis_time_ms,
    };

    // Setup: one lot per producer key, what attestations will be about.
    let setup_chain = chain(height(&agent)?);
    let base = mix::base_lots(&mut senders, &setup_chain, "0")?;
    let batch = args.batch as usize;
    let setup = run_step(&mut net, &base, base.len() as u64, 1, batch, "setup")?;
    if setup.committed != setup.offered || setup.failed_receipts != 0 {
        bail!(
            "setup: {} of {} base lots committed, {} failed",
            setup.committed,
            setup.offered,
            setup.failed_receipts
        );
    }
    let targets: Vec<_> = senders.iter().filter_map(|s| s.last_lot.clone()).collect();
    eprintln!(
        "{} senders; {} base lots committed",
        senders.len(),
        targets.len()
    );

    let mut steps = Vec::new();
    let mut best = None;
    let rates: Vec<(u64, u64)> = if args.find_max {
        let mut v = Vec::new();
        let mut r = args.start_rate.max(1);
        while r <= args.max_rate {
            v.push((r, args.step_seconds));
            r = r * 3 / 2;
        }
        v
    } else {
        vec![(args.rate, args.seconds)]
    };
    for (i, (rate, seconds)) in rates.into_iter().enumerate() {
        eprintln!(
            "signing {} transactions for {rate} tx/s over {seconds} s...",
            rate * seconds
        );
        let plan = mix::plan(
            &mut senders,
            &chain(height(&agent)?),
            rate,
            rate * seconds,
            &format!("S{i}"),
            &targets,
        )?;
        let step = run_step(
            &mut net,
            &plan,
            rate,
            seconds,
            batch,
            &format!("{rate} tx/s"),
        )?;
        eprintln!(
            "{rate} tx/s offered: {} committed ({} /s in the window), p50 {} ms, p99 {} ms, busy {}",
            step.committed,
            step.committed_per_s,
            step.latency_ms.p50,
            step.latency_ms.p99,
            step.busy_answers
        );
        let ok = sustained(&step);
        steps.push(step);
        if !args.find_max {
            break;
        }
        if !ok {
            break;
        }
        best = Some(rate);
    }
    let committed_total = metric(&agent, &net.metrics[0], "filiera_txs_committed_total");
    drop(net);
    let run = Run {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        validators: args.validators,
        machine: report::machine(),
        commit: git_commit(),
        started: started.clone(),
        senders: senders.len(),
        steps,
        max_sustained_per_s: if args.find_max { best } else { None },
    };
    let dir = args.out.join(format!(
        "{}-v{}-{}",
        started.replace(':', ""),
        args.validators,
        if args.find_max {
            "max".to_owned()
        } else {
            format!("r{}", args.rate)
        }
    ));
    report::write(&run, &dir)?;
    println!("{}", report::markdown(&run));
    println!(
        "results in {} ({committed_total} transactions committed in all)",
        dir.display()
    );
    if args.require_all_committed && run.steps.iter().any(|s| s.committed != s.offered) {
        bail!("not every offered transaction committed");
    }
    Ok(())
}

/// Now, UTC, to the second (`2026-11-26T01:02:03Z`): names the run.
fn now_utc() -> Result<String> {
    let now = time::OffsetDateTime::now_utc().replace_nanosecond(0)?;
    Ok(now.format(&time::format_description::well_known::Rfc3339)?)
}

//! Results of a run: JSON (everything), a Markdown table (the summary) and an
//! SVG chart (throughput and latency over time), in one folder.

use super::drive::StepResult;
use anyhow::{Context, Result};
use plotters::prelude::*;
use serde::Serialize;
use std::path::Path;

/// A whole run.
#[derive(Serialize)]
pub struct Run {
    /// What was asked (the command line).
    pub command: String,
    /// Validators.
    pub validators: u16,
    /// The machine: CPU model and cores.
    pub machine: String,
    /// The commit measured.
    pub commit: String,
    /// Start, RFC 3339 UTC.
    pub started: String,
    /// Senders (signing keys).
    pub senders: usize,
    /// Every step in order.
    pub steps: Vec<StepResult>,
    /// Largest offered rate that was sustained (see `sustained`), if searched.
    pub max_sustained_per_s: Option<u64>,
}

/// Whether a step kept up: every offered transaction committed, none refused,
/// and p99 latency under 5 s.
pub fn sustained(s: &StepResult) -> bool {
    s.committed == s.offered && s.refused == 0 && s.latency_ms.p99 < 5_000
}

/// What this machine is, for the record.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    format!("{model}, {cores} cores, {} GiB", mem_kib / 1024 / 1024)
}

/// The Markdown table of a run.
pub fn markdown(run: &Run) -> String {
    let mut md = format!(
        "# filiera-bench: {} validator(s)\n\n`{}`\n\n{} · commit {} · {} · {} senders\n\n",
        run.validators, run.command, run.machine, run.commit, run.started, run.senders
    );
    md.push_str("| offered tx/s | s | offered | committed | committed tx/s | failed receipts | busy answers | refused | p50 ms | p95 ms | p99 ms | max ms | CPU % per node | peak RSS MiB per node | block txs verified late, per node | block build / check / commit ms (mean), per node | generator CPU % | sustained |\n");
    md.push_str(
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|---:|---|\n",
    );
    for s in &run.steps {
        let cpu: Vec<String> = s.nodes.iter().map(|n| n.cpu_percent.to_string()).collect();
        let rss: Vec<String> = s
            .nodes
            .iter()
            .map(|n| (n.rss_peak_kib / 1024).to_string())
            .collect();
        let phases: Vec<String> = s
            .nodes
            .iter()
            .map(|n| {
                format!(
                    "{}/{}/{}",
                    n.block_build_ms_mean, n.block_check_ms_mean, n.block_commit_ms_mean
                )
            })
            .collect();
        let unverified: Vec<String> = s
            .nodes
            .iter()
            .map(|n| n.block_txs_unverified.to_string())
            .collect();
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            s.rate_per_s,
            s.seconds,
            s.offered,
            s.committed,
            s.committed_per_s,
            s.failed_receipts,
            s.busy_answers,
            s.refused,
            s.latency_ms.p50,
            s.latency_ms.p95,
            s.latency_ms.p99,
            s.latency_ms.max,
            cpu.join(" / "),
            rss.join(" / "),
            unverified.join(" / "),
            phases.join(" · "),
            s.generator_cpu_percent,
            if sustained(s) { "yes" } else { "no" },
        ));
    }
    if let Some(max) = run.max_sustained_per_s {
        md.push_str(&format!(
            "\nLargest sustained offered rate: **{max} tx/s**.\n"
        ));
    }
    md
}

/// Writes `result.json`, `summary.md` and `chart.svg` into `dir`.
pub fn write(run: &Run, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join("result.json"), serde_json::to_vec_pretty(run)?)?;
    std::fs::write(dir.join("summary.md"), markdown(run))?;
    chart(run, &dir.join("chart.svg"))
}

/// Committed tx/s (top) and p50/p99 latency (bottom) per second, the steps
/// one after the other.
fn chart(run: &Run, path: &Path) -> Result<()> {
    let mut tps = Vec::new();
    let mut p50 = Vec::new();
    let mut p99 = Vec::new();
    let mut offered = Vec::new();
    let mut t0 = 0u64;
    for s in &run.steps {
        for sec in &s.timeline {
            let t = t0 + sec.t_s;
            tps.push((t, sec.committed));
            if sec.committed > 0 {
                p50.push((t, sec.p50_ms));
                p99.push((t, sec.p99_ms));
            }
            if sec.t_s < s.seconds {
                offered.push((t, s.rate_per_s));
            }
        }
        t0 += s.timeline.len() as u64;
    }
    let root = SVGBackend::new(path, (1000, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(chart_error)?;
    let (top, bottom) = root.split_vertically(350);
    let caption = format!(
        "filiera-bench, {} validator(s): committed tx/s",
        run.validators
    );
    panel(
        &top,
        &caption,
        "tx/s",
        t0.max(1),
        &[("offered", &offered, RED), ("committed", &tps, BLUE)],
    )?;
    panel(
        &bottom,
        "submit-to-final latency, ms",
        "ms",
        t0.max(1),
        &[("p50", &p50, GREEN), ("p99", &p99, MAGENTA)],
    )?;
    root.present().map_err(chart_error)?;
    Ok(())
}

fn chart_error(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("chart: {e}")
}

/// A line of a panel: label, (second, value) points, colour.
type Line<'a> = (&'a str, &'a [(u64, u64)], RGBColor);

/// One panel: each (label, points, colour) as a line over seconds `0..t_max`,
/// the y axis up to a tenth above the highest point.
fn panel(
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    caption: &str,
    y_desc: &str,
    t_max: u64,
    series: &[Line],
) -> Result<()> {
    let y_max = series
        .iter()
        .flat_map(|(_, points, _)| points.iter().map(|p| p.1))
        .max()
        .unwrap_or(1)
        .max(1)
        * 11
        / 10;
    let mut c = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0..t_max, 0..y_max)
        .map_err(chart_error)?;
    c.configure_mesh()
        .x_desc("s")
        .y_desc(y_desc)
        .draw()
        .map_err(chart_error)?;
    for (label, points, colour) in series {
        let colour = *colour;
        c.draw_series(LineSeries::new(points.iter().copied(), colour))
            .map_err(chart_error)?
            .label(*label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
    }
    c.configure_series_labels()
        .border_style(BLACK)
        .draw()
        .map_err(chart_error)?;
    Ok(())
}

//! Consumer lookups against a running node: closed-loop clients (one
//! connection each) GET one URL for a fixed time; prints lookups per second,
//! latency percentiles and the answer's size.
//!
//! Usage: `api-lookups URL [--accept MIME] [--clients N] [--seconds S]`
//! (the node's per-IP rate limit must be off: `rate_limit_per_ip_per_s = 0`).

use anyhow::{Context, Result, bail};
use filiera_benches::percentile;
use std::time::{Duration, Instant};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().context("URL")?;
    let (mut accept, mut clients, mut seconds) = ("application/json".to_owned(), 8usize, 10u64);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--accept" => accept = value,
            "--clients" => clients = value.parse()?,
            "--seconds" => seconds = value.parse()?,
            other => bail!("unknown option {other}"),
        }
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (url, accept) = (url.clone(), accept.clone());
            std::thread::spawn(move || -> Result<(Vec<u64>, usize, u64)> {
                let agent = ureq::Agent::new_with_defaults();
                let mut latencies_us = Vec::new();
                let mut bytes = 0;
                let mut errors = 0;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match agent.get(&url).header("accept", &accept).call() {
                        Ok(mut r) => bytes = r.body_mut().read_to_vec()?.len(),
                        Err(_) => errors += 1,
                    }
                    latencies_us.push(t.elapsed().as_micros() as u64);
                }
                Ok((latencies_us, bytes, errors))
            })
        })
        .collect();
    let mut all = Vec::new();
    let (mut size, mut errors) = (0, 0);
    for w in workers {
        let (l, b, e) = w.join().map_err(|_| anyhow::anyhow!("client panicked"))??;
        all.extend(l);
        size = b;
        errors += e;
    }
    all.sort_unstable();
    println!(
        "{}",
        serde_json::json!({
            "url": url, "accept": accept, "clients": clients, "seconds": seconds,
            "lookups": all.len(), "errors": errors,
            "lookups_per_s": all.len() as u64 / seconds.max(1),
            "latency_us": {"p50": percentile(&all, 50), "p99": percentile(&all, 99), "max": all.last()},
            "answer_bytes": size,
        })
    );
    Ok(())
}

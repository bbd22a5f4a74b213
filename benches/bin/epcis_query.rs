//! Measures `GET /epcis/events` over many stored events: the node's own query
//! function (`filiera_api::epcis::query_events`, everything but HTTP) on a
//! real RocksDB store holding `--events` EPCIS events, committed in blocks of
//! 10,000 through the real store with the query index the chain derives at
//! commit (`filiera_chain::query_index::index_changes`).
//!
//! Events are what a capture stores: each a valid EPCIS 2.0 ObjectEvent
//! (validated and hashed by `filiera_epcis::parse_document`, stored with its
//! eventID) at one of `--sites` locations, 31 s apart (a million events span
//! about a year), the site and business step drawn from a seeded generator.
//!
//! Each site is registered (a registry site record) to one of `--orgs`
//! organisations, so each event has a party (ADR 0010): the organisation
//! running its site, derived at commit as on a node.
//!
//! Queries, `--queries` of each kind, each answering one page of 100:
//! a one-hour and a one-day time range, one location, one location within a
//! 30-day range, and the second page of a location (through its cursor), as
//! an auditor reads (every event); then, as a member reads (its own events:
//! the walk of its party field), a one-day range, one of its locations, and
//! one of its locations within 30 days.
//! Prints one JSON line per kind: count, p50/p99/max in µs, events per page.
//! With `--answers DIR`, writes one answer of each kind there, for GS1's
//! schema and hash tools.
//!
//! Usage: epcis-query [--events N] [--sites N] [--orgs N] [--queries N] [--seed N] [--answers DIR]

use anyhow::{Context, Result, bail};
use clap::Parser;
use filiera_api::epcis::{EventQuery, Scope, query_events};
use filiera_contract_api::{contract_ids, keys};
use filiera_storage::testkit::ChainBuilder;
use filiera_storage::{StateChanges, StorageConfig, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Instant;

const EVENTS_PER_BLOCK: u64 = 10_000;
/// Events per EPCIS document parsed (validated and hashed) at a time.
const EVENTS_PER_DOCUMENT: u64 = 100;
/// First event time: 2026-01-01T00:00:00Z.
const START_S: i64 = 1_767_225_600;
const EVENT_SPACING_S: i64 = 31;
const STEPS: [(&str, &str); 4] = [
    ("receiving", "in_progress"),
    ("storing", "in_progress"),
    ("inspecting", "in_progress"),
    ("shipping", "in_transit"),
];

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    #[arg(long, default_value_t = 1_000)]
    sites: u64,
    /// Organisations running the sites (site n: org n mod orgs).
    #[arg(long, default_value_t = 100)]
    orgs: u64,
    #[arg(long, default_value_t = 2_000)]
    queries: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long)]
    answers: Option<PathBuf>,
}

fn rfc3339(s: i64) -> Result<String> {
    Ok(time::OffsetDateTime::from_unix_timestamp(s)?
        .format(&time::format_description::well_known::Rfc3339)?)
}

fn site(n: u64) -> String {
    format!("urn:epc:id:sgln:9521234.{n:05}.0")
}

fn org(site: u64, args: &Args) -> String {
    format!("org-{:03}", site % args.orgs)
}

/// The registry records of every site, each run by its organisation.
fn site_records(args: &Args, rng_seed: u64) -> Result<StateChanges> {
    let mut rng = StdRng::seed_from_u64(rng_seed);
    let mut out = StateChanges::new();
    for n in 0..args.sites {
        // The GLN as the node reads it from an event at that site.
        let mut probe = event(0, &mut rng, 1)?;
        probe["bizLocation"]["id"] = json!(site(n));
        probe["bizStep"] = json!("receiving");
        probe["disposition"] = json!("in_progress");
        let Ok(filiera_epcis::Plan::Record {
            site: Some(gln), ..
        }) = filiera_epcis::plan(&probe)
        else {
            bail!("an event at site {n} has no site");
        };
        let record = filiera_contract_api::registry::SiteRecord {
            gln: gln.clone(),
            org: org(n, args),
            kind: "warehouse".into(),
            name: format!("site {n}"),
        };
        out.insert(
            keys::state_key(contract_ids::REGISTRY, &keys::site(&gln)),
            Some(borsh::to_vec(&record)?),
        );
    }
    Ok(out)
}

fn event(i: u64, rng: &mut StdRng, sites: u64) -> Result<Value> {
    let (step, disposition) = STEPS[rng.random_range(0..STEPS.len())];
    let at = site(rng.random_range(0..sites));
    let product = 10_001 + i % 40;
    Ok(json!({
        "type": "ObjectEvent", "action": "OBSERVE",
        "bizStep": step, "disposition": disposition,
        "eventTime": rfc3339(START_S + i as i64 * EVENT_SPACING_S)?,
        "eventTimeZoneOffset": "+00:00",
        "readPoint": {"id": at}, "bizLocation": {"id": at},
        "quantityList": [{"epcClass": format!("urn:epc:class:lgtin:9521234.0{product}.L{}", i / 500), "quantity": 1 + i % 90, "uom": "KGM"}]
    }))
}

/// Stores `args.events` events and their index; returns the store.
fn fill(store: &Store, args: &Args) -> Result<()> {
    let chain = ChainBuilder::new();
    chain.init(store)?;
    let mut rng = StdRng::seed_from_u64(args.seed);
    let started = Instant::now();
    chain.commit(store, site_records(args, args.seed)?, vec![])?;
    let mut i = 0u64;
    while i < args.events {
        let block_end = (i + EVENTS_PER_BLOCK).min(args.events);
        let mut state = StateChanges::new();
        while i < block_end {
            let doc_end = (i + EVENTS_PER_DOCUMENT).min(block_end);
            let events = (i..doc_end)
                .map(|n| event(n, &mut rng, args.sites))
                .collect::<Result<Vec<_>>>()?;
            let document = json!({
                "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                "type": "EPCISDocument", "schemaVersion": "2.0",
                "creationDate": rfc3339(START_S)?,
                "epcisBody": {"eventList": events}
            });
            let parsed = filiera_epcis::parse_document(document.to_string().as_bytes())
                .map_err(|e| anyhow::anyhow!("generated document refused: {e:?}"))?;
            for (hash, event) in &parsed.events {
                let stored = filiera_epcis::to_epcis_json(event);
                state.insert(
                    keys::state_key(contract_ids::LOTS, &keys::epcis_event(&hash.0)),
                    Some(borsh::to_vec(&stored)?),
                );
            }
            i = doc_end;
        }
        let index = filiera_chain::query_index::index_changes(store, &state)?;
        let height = store.last_height()?.context("initialised")? + 1;
        let mut prepared = store.prepare_state(height, state)?;
        prepared.set_index_changes(index);
        chain.commit_prepared(store, prepared)?;
        if height % 10 == 0 {
            eprintln!(
                "{i} events stored in {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    filiera_chain::query_index::ensure_built(store)?;
    eprintln!(
        "{} events stored and indexed in {:.1} s",
        args.events,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn percentile(sorted: &[u128], p: usize) -> u128 {
    let rank = (sorted.len() * p).div_ceil(100).max(1) - 1;
    sorted[rank.min(sorted.len() - 1)]
}

fn page_events(doc: &Value) -> usize {
    doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .map_or(0, Vec::len)
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.events == 0 || args.sites == 0 || args.orgs == 0 || args.queries == 0 {
        bail!("--events, --sites, --orgs and --queries must be positive");
    }
    let dir = tempfile::tempdir()?;
    let store = Store::open(
        dir.path(),
        StorageConfig {
            block_cache_bytes: 256 << 20,
            state_versions_kept: 10,
            ..StorageConfig::default()
        },
    )?;
    fill(&store, &args)?;
    // Queries read flushed, compacted files, as on a node that has run a while.
    store.compact()?;
    let by_column = store.disk_bytes_by_column()?;
    println!(
        "{}",
        json!({"events": args.events, "disk_bytes": store.disk_bytes()?, "disk_bytes_by_column": by_column})
    );
    let span_s = args.events as i64 * EVENT_SPACING_S;
    let mut rng = StdRng::seed_from_u64(args.seed ^ 0x5eed);
    let kinds = [
        "time_range_1h",
        "time_range_1d",
        "location",
        "location_30d",
        "location_page_2",
        "member_time_range_1d",
        "member_location",
        "member_location_30d",
    ];
    for kind in kinds {
        let mut micros = Vec::with_capacity(args.queries);
        let mut returned = 0usize;
        for n in 0..args.queries {
            let from = START_S + rng.random_range(0..span_s.max(1));
            let site_n = rng.random_range(0..args.sites);
            let at = site(site_n);
            // A member reads as the organisation running the site drawn.
            let scope = match kind.strip_prefix("member_") {
                Some(_) => Scope::PartyOf(org(site_n, &args)),
                None => Scope::All,
            };
            let q = match kind.strip_prefix("member_").unwrap_or(kind) {
                "time_range_1h" => {
                    json!({"GE_eventTime": rfc3339(from)?, "LT_eventTime": rfc3339(from + 3_600)?, "perPage": 100})
                }
                "time_range_1d" => {
                    json!({"GE_eventTime": rfc3339(from)?, "LT_eventTime": rfc3339(from + 86_400)?, "perPage": 100})
                }
                "location_30d" => {
                    json!({"EQ_bizLocation": at, "GE_eventTime": rfc3339(from)?, "LT_eventTime": rfc3339(from + 30 * 86_400)?, "perPage": 100})
                }
                _ => json!({"EQ_bizLocation": at, "perPage": 100}),
            };
            let mut query: EventQuery = serde_json::from_value(q)?;
            if kind == "location_page_2" {
                let (_, next) = query_events(&store, &query, &scope)
                    .map_err(|e| anyhow::anyhow!("{}", e.message))?;
                let link = next.context("a location holds more than one page")?;
                let token = link
                    .split("nextPageToken=")
                    .nth(1)
                    .and_then(|t| t.split(['&', '>']).next())
                    .context("a next link with a token")?;
                query = serde_json::from_value(
                    json!({"EQ_bizLocation": at, "perPage": 100, "nextPageToken": token}),
                )?;
            }
            let started = Instant::now();
            let (doc, _) = query_events(&store, &query, &scope)
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            micros.push(started.elapsed().as_micros());
            returned += page_events(&doc);
            if n == 0
                && let Some(out) = &args.answers
            {
                std::fs::create_dir_all(out)?;
                std::fs::write(
                    out.join(format!("{kind}.json")),
                    filiera_epcis::to_epcis_json(&doc),
                )?;
            }
        }
        micros.sort_unstable();
        println!(
            "{}",
            json!({
                "kind": kind, "events": args.events, "sites": args.sites, "orgs": args.orgs, "queries": args.queries,
                "p50_us": percentile(&micros, 50), "p99_us": percentile(&micros, 99),
                "max_us": micros.last().copied().unwrap_or(0),
                "events_per_page_mean": returned as f64 / args.queries as f64,
            })
        );
    }
    Ok(())
}

//! Seeded simulations of the real driver: safety after every run, liveness
//! once the faults end.

use crate::parts::key;
use crate::sim::{Faults, Sim};

/// Seeds `FILIERA_SIM_FIRST..FILIERA_SIM_SEEDS` (default 0..100; the
/// reliability script runs thousands): a failing seed is printed, and
/// `FILIERA_SIM_FIRST=n FILIERA_SIM_SEEDS=n+1` replays it.
fn seeds() -> std::ops::Range<u64> {
    let var = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    var("FILIERA_SIM_FIRST", 0)..var("FILIERA_SIM_SEEDS", 100)
}

/// Compiled contracts shared by every node of every run (wasmtime's cache
/// keyed by code hash and engine: what a node keeps in its data directory).
fn cache() -> &'static std::path::Path {
    static CACHE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

/// Runs every seed: agreement always; every honest node at `height` once
/// the faults end (within the deadline); `check` for what else the scenario
/// must show.
fn run_seeds(
    name: &str,
    validators: u8,
    height: u64,
    faults: impl Fn(u64) -> Faults,
    check: impl Fn(&Sim, &str),
) {
    for seed in seeds() {
        let mut sim = Sim::new(seed, validators, faults(seed), cache());
        sim.run(180_000, height);
        let reproduce = format!(
            "{name}: seed {seed} (replay: FILIERA_SIM_FIRST={seed} FILIERA_SIM_SEEDS={})",
            seed + 1
        );
        if let Err(e) = sim.check_agreement() {
            panic!("{reproduce}: {e}");
        }
        for i in sim.honest_up() {
            assert!(
                sim.committed(i) >= height,
                "{reproduce}: node {i} at height {} after {} ms; all: {:?}",
                sim.committed(i),
                sim.now_ms,
                (0..sim.nodes.len())
                    .map(|j| sim.committed(j))
                    .collect::<Vec<_>>()
            );
        }
        assert_eq!(sim.blamed_honest, Vec::<String>::new(), "{reproduce}");
        check(&sim, &reproduce);
    }
}

fn no_more(_: &Sim, _: &str) {}

#[test]
fn four_validators_with_delays_and_drops_agree_progress_and_execute() {
    run_seeds(
        "delays",
        4,
        12,
        |seed| Faults {
            delay_ms_max: 20 + seed % 80,
            drop_per_mille: seed % 30,
            ..Faults::default()
        },
        |sim, reproduce| {
            assert!(
                sim.txs_committed(0) > 0,
                "{reproduce}: no transaction committed"
            );
        },
    );
}

#[test]
fn seven_validators_with_delays_and_drops_agree_and_progress() {
    run_seeds(
        "seven",
        7,
        8,
        |seed| Faults {
            delay_ms_max: 20 + seed % 60,
            drop_per_mille: seed % 20,
            ..Faults::default()
        },
        no_more,
    );
}

#[test]
fn a_partition_without_quorum_halts_then_heals_without_a_fork() {
    run_seeds(
        "partition",
        4,
        10,
        |seed| Faults {
            delay_ms_max: 30,
            partition: Some((
                vec![(seed % 4) as usize, ((seed + 1) % 4) as usize],
                1_000,
                9_000,
            )),
            ..Faults::default()
        },
        no_more,
    );
}

#[test]
fn a_validator_crashes_and_restarts_from_its_store_and_wal() {
    run_seeds(
        "crash",
        4,
        10,
        |seed| Faults {
            delay_ms_max: 40,
            crashes: vec![(
                (seed % 4) as usize,
                1_000 + seed % 2_000,
                5_000 + seed % 3_000,
            )],
            ..Faults::default()
        },
        no_more,
    );
}

#[test]
fn two_of_four_crashed_halt_the_chain_which_resumes_without_a_fork_when_they_return() {
    run_seeds(
        "two crashed",
        4,
        8,
        |seed| {
            let a = (seed % 4) as usize;
            let b = ((seed + 1 + seed % 3) % 4) as usize;
            Faults {
                delay_ms_max: 30,
                crashes: vec![(a, 800, 8_000), (b, 800, 8_500)],
                ..Faults::default()
            }
        },
        |sim, reproduce| {
            // Crash, crash, return, return: between the second crash and the
            // first return nothing is decided (at most the height whose
            // precommits were already on their way).
            let h = &sim.heights_at_faults;
            assert_eq!(h.len(), 4, "{reproduce}");
            assert!(
                h[2].1 <= h[1].1 + 1,
                "{reproduce}: heights went on without a quorum: {h:?}"
            );
            assert!(
                sim.now_ms > 8_000,
                "{reproduce}: finished before they returned"
            );
        },
    );
}

#[test]
fn a_byzantine_validator_equivocating_and_flooding_neither_stops_nor_splits_the_others_and_is_recorded()
 {
    run_seeds(
        "byzantine validator",
        4,
        12,
        |seed| Faults {
            delay_ms_max: 40,
            drop_per_mille: 10,
            byzantine: vec![(seed % 4) as usize],
            ..Faults::default()
        },
        |sim, reproduce| {
            let culprit = key(sim.faults.byzantine[0] as u8 + 1)
                .public_key()
                .address();
            assert!(
                sim.double_votes > 0 && sim.attacks > 0,
                "{reproduce}: no attack"
            );
            for i in sim.honest_up() {
                let accused = sim.accused(i);
                assert!(
                    accused.iter().all(|a| *a == culprit),
                    "{reproduce}: node {i}'s chain accuses an honest validator: {accused:?}"
                );
            }
            assert!(
                sim.honest_up().iter().any(|&i| !sim.accused(i).is_empty()),
                "{reproduce}: no evidence against the equivocator on chain"
            );
        },
    );
}

/// Beyond the bound: 2 of 4 equivocate. Nothing promises liveness or
/// safety then; what must hold is accountability: no honest validator is
/// ever accused, and if honest chains ever disagree, the evidence against
/// both equivocators is on them.
#[test]
fn two_of_four_equivocating_leave_evidence_against_both_and_accuse_no_one_else() {
    let (mut forks, mut both_accused) = (0, 0);
    for seed in seeds() {
        let byzantine = vec![(seed % 4) as usize, ((seed + 1 + seed % 3) % 4) as usize];
        let faults = Faults {
            delay_ms_max: 40,
            byzantine: byzantine.clone(),
            ..Faults::default()
        };
        let mut sim = Sim::new(seed, 4, faults, cache());
        // No height promised: run the attack through and a while after.
        sim.run(30_000, u64::MAX);
        let reproduce = format!(
            "two equivocating: seed {seed} (replay: FILIERA_SIM_FIRST={seed} FILIERA_SIM_SEEDS={})",
            seed + 1
        );
        let culprits: Vec<_> = byzantine
            .iter()
            .map(|b| key(*b as u8 + 1).public_key().address())
            .collect();
        let mut accused = Vec::new();
        for i in sim.honest_up() {
            for a in sim.accused(i) {
                assert!(
                    culprits.contains(&a),
                    "{reproduce}: node {i}'s chain accuses an honest validator {a}"
                );
                accused.push(a);
            }
        }
        let all = culprits.iter().all(|c| accused.contains(c));
        if all {
            both_accused += 1;
        }
        if let Err(e) = sim.check_agreement() {
            forks += 1;
            assert!(
                all,
                "{reproduce}: {e}, and not both equivocators are accused on chain"
            );
        }
    }
    eprintln!(
        "two of four equivocating: {} seeds, {forks} with honest chains disagreeing, {both_accused} with both accused on chain",
        seeds().count()
    );
}

/// Beyond the bound, for real: validators 2 and 3 run twins (two honest
/// drivers with one key), one copy of each beside honest node 0, the other
/// beside honest node 1, the two sides cut from each other for 4 s. Each
/// side holds three quarters of the voting power and decides its own blocks:
/// a fork. Then the second copies stop (the attacker goes quiet) and the
/// network heals: node 1 cannot extend its chain with node 0's blocks, asks
/// for the blocks before, finds heights where a valid certificate names
/// another block than it committed, and reports each validator that signed
/// both in one round. Node 0's chain, which goes on finalising with the
/// twins' first copies, must record both and no one else.
#[test]
fn two_of_four_running_twins_fork_the_honest_pair_and_the_chain_that_goes_on_records_both() {
    const SPLIT_MS: u64 = 4_000;
    // Each run is several times longer than the others: a tenth of the seeds.
    let all = seeds();
    let seeds = all.start..all.start + (all.end - all.start).div_ceil(10);
    let culprits: Vec<_> = [2u8, 3]
        .iter()
        .map(|b| key(b + 1).public_key().address())
        .collect();
    for seed in seeds {
        let faults = Faults {
            delay_ms_max: 30,
            // Node 0 and the first copies; node 1 and the second copies.
            partition: Some((vec![0, 2, 3], 0, SPLIT_MS)),
            twins: vec![2, 3],
            twins_until_ms: SPLIT_MS,
            ..Faults::default()
        };
        let mut sim = Sim::new(seed, 4, faults, cache());
        let reproduce = format!(
            "twins: seed {seed} (replay: FILIERA_SIM_FIRST={seed} FILIERA_SIM_SEEDS={})",
            seed + 1
        );
        sim.run(SPLIT_MS, u64::MAX);
        let at_heal = sim.committed(0);
        sim.run(SPLIT_MS + 16_000, u64::MAX);
        assert!(
            sim.check_agreement().is_err(),
            "{reproduce}: the twins did not fork the honest nodes (heights {:?})",
            (0..sim.nodes.len())
                .map(|j| sim.committed(j))
                .collect::<Vec<_>>()
        );
        let forks = sim.nodes[1].metrics.as_ref().unwrap().forks_detected.get();
        assert!(forks > 0, "{reproduce}: node 1 did not see the fork");
        let mut accused = sim.accused(0);
        accused.sort();
        let mut expected = culprits.clone();
        expected.sort();
        assert_eq!(
            accused, expected,
            "{reproduce}: node 0's chain must accuse both twins and no one else"
        );
        assert!(
            sim.committed(0) >= at_heal + 5,
            "{reproduce}: node 0 stopped finalising after the split: {at_heal} then {}",
            sim.committed(0)
        );
        eprintln!(
            "twins seed {seed}: node 0 at {} (at heal {at_heal}), node 1 at {}, forks seen by node 1: {forks}",
            sim.committed(0),
            sim.committed(1)
        );
    }
}

#[test]
fn a_byzantine_observer_flooding_neither_stops_nor_splits_the_validators() {
    run_seeds(
        "byzantine observer",
        4,
        12,
        |_| Faults {
            delay_ms_max: 40,
            observer: true,
            ..Faults::default()
        },
        |sim, reproduce| assert!(sim.attacks > 100, "{reproduce}: no attack"),
    );
}

#[test]
fn the_same_seed_replays_the_same_chain() {
    let run = || {
        let faults = Faults {
            delay_ms_max: 50,
            drop_per_mille: 20,
            byzantine: vec![1],
            ..Faults::default()
        };
        let mut sim = Sim::new(7, 4, faults, cache());
        sim.run(60_000, 6);
        let store = sim.nodes[0]
            .driver
            .as_ref()
            .unwrap()
            .chain()
            .store()
            .clone();
        (1..=6)
            .map(|h| store.block(h).unwrap().unwrap().hash())
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

//! Byzantine peers on real processes: the validators are `filiera start`
//! processes; the attacker is an in-process libp2p peer (real sockets)
//! holding a real allow-listed key, validator 3's or an observer's the
//! authority registered.

use crate::network::{
    Net, filiera, one_network_at_a_time, read_key, run_ok, spawn, submit, wait_receipt, wait_until,
};
use filiera_byzantine::Attack;
use filiera_types::evidence::{EVIDENCE_CONTRACT, EVIDENCE_METHOD, Equivocation, Step};
use filiera_types::{
    ChainId, ContractCall, ContractId, Hash, MethodName, SecretKey, Transaction, Vote, VoteKind,
    encoding,
};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The Byzantine actor holding `p2p_key` (allow-listed) and signing with
/// `signer`, dialing validators `0..targets`, doing `attacks`.
fn actor(
    net: &Net,
    p2p_key: &SecretKey,
    signer: &SecretKey,
    targets: usize,
    attacks: &[Attack],
) -> filiera_byzantine::Config {
    let genesis =
        filiera_types::Genesis::from_json(&std::fs::read(net.dir.join("genesis.json")).unwrap())
            .unwrap();
    filiera_byzantine::Config {
        chain_id: genesis.chain_id.clone(),
        validators: genesis.validator_set().unwrap(),
        allowed: genesis.validators.iter().map(|v| v.p2p_key).collect(),
        p2p_key: p2p_key.clone(),
        signing_key: signer.clone(),
        peers: (0..targets)
            .map(|i| {
                format!("/ip4/127.0.0.1/tcp/{}", net.api_base - 8 + i as u16)
                    .parse()
                    .unwrap()
            })
            .collect(),
        attacks: attacks.iter().copied().collect(),
        tick_ms: 100,
        connections_held_max: 0,
    }
}

fn validator3(net: &Net, file: &str) -> SecretKey {
    read_key(&net.home(3).join(format!("keys/{file}.json")))
}

/// How long the Byzantine validator attacks, s.
const ATTACK_S: u64 = 20;

/// What a flooding insider does (validator 3, or an observer): well-formed
/// blocks no proposal names for this height and the next ones, requests
/// for the whole chain, junk on every topic, forged and replayed
/// transactions.
const FLOOD: [Attack; 4] = [Attack::Blocks, Attack::Sync, Attack::Junk, Attack::Txs];

/// Runs `config` until `stop`; its report.
fn attack(config: filiera_byzantine::Config, stop: &AtomicBool) -> filiera_byzantine::Report {
    let report = filiera_byzantine::run_blocking(config, stop).expect("the attacker runs");
    eprintln!("attacker: {}", serde_json::to_string(&report).unwrap());
    report
}

#[test]
fn a_byzantine_validator_flooding_unnamed_blocks_neither_stops_nor_splits_the_other_three() {
    let _serial = one_network_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let mut net = Net::create(&tmp.path().join("localnet"));
    for i in 0..3 {
        net.nodes.push(Some(spawn(&net.home(i))));
    }
    net.nodes.push(None);
    let honest = [0, 1, 2];
    net.wait_height(&honest, 2);
    // The same three, the same length of time, no attack: what to compare with.
    let calm_start = net.height(0);
    std::thread::sleep(Duration::from_secs(ATTACK_S));
    let calm_end = net.height(0);
    let stop = AtomicBool::new(false);
    let (start, report) = std::thread::scope(|s| {
        let config = actor(
            &net,
            &validator3(&net, "p2p"),
            &validator3(&net, "consensus"),
            3,
            &FLOOD,
        );
        let attacker = s.spawn(|| attack(config, &stop));
        let start = net.height(0);
        std::thread::sleep(Duration::from_secs(ATTACK_S));
        stop.store(true, Ordering::Relaxed);
        (start, attacker.join().unwrap())
    });
    assert!(report.sync_requests_sent > 0 && report.junk_published > 0);
    let published = report.blocks_published;
    assert!(
        published > 1_000,
        "the attacker published {published} blocks"
    );
    let during = net.height(0);
    // Three of four finalise on their own: every height whose proposer is
    // the attacker costs a round, the others take a block interval.
    assert!(
        during >= start + 5,
        "heights {start} to {during} in {ATTACK_S} s under attack"
    );
    net.wait_height(&honest, during + 2);
    net.assert_no_fork(&honest, during);
    let mut dropped = 0;
    for i in honest {
        // Never examined: no proposal named them.
        assert_eq!(net.metric(i, "filiera_blocks_invalid_total"), 0, "node {i}");
        dropped += net.metric(i, "filiera_blocks_unnamed_dropped_total");
        assert!(
            net.metric(i, "filiera_peers") >= 2,
            "node {i} lost honest peers"
        );
    }
    assert!(dropped > 0, "the flood reached the honest nodes");
    // Only members write: a stranger's well-signed gossip is dropped by every
    // node, never in a block, never a nonce in state.
    assert!(report.stranger_txs_published > 0);
    let stranger = filiera_byzantine::forge::stranger_key().public_key();
    let mut not_member = 0;
    for i in honest {
        let url = net.url(i, &format!("/v1/accounts/{stranger}/nonce"));
        let nonce: Value = crate::network::get(&url).unwrap();
        assert_eq!(nonce["next_nonce"], 0, "node {i}: {nonce}");
        not_member += net.metric(i, "filiera_txs_refused_total{reason=\"not_member\"}");
    }
    assert!(
        not_member > 0,
        "the stranger's gossip reached the honest nodes"
    );
    eprintln!(
        "without attack for {ATTACK_S} s: heights {calm_start} to {calm_end}; time per height {}",
        net.height_times(calm_start, calm_end)
    );
    eprintln!(
        "under attack for {ATTACK_S} s: heights {start} to {during}; time per height {}; {published} blocks published, {dropped} dropped unexamined",
        net.height_times(start, during)
    );
}

/// A report accusing validator `victim` with a second vote that `forger` signed.
fn forged_report(
    chain: &ChainId,
    sender: &SecretKey,
    victim: &SecretKey,
    forger: &SecretKey,
    height: u64,
) -> Vec<u8> {
    let vote = |block_hash, signer: &SecretKey| {
        Vote {
            kind: VoteKind::Prevote,
            height,
            round: 0,
            block_hash,
            validator: victim.public_key().address(),
        }
        .sign(chain.as_str(), signer)
        .unwrap()
    };
    let pair = Equivocation::Votes(vote(None, victim), vote(Some(Hash([1; 32])), forger));
    Transaction {
        chain_id: chain.clone(),
        sender: sender.public_key(),
        nonce: 0,
        expiry_height: height + 1_000,
        call: ContractCall {
            contract: ContractId::new(EVIDENCE_CONTRACT).unwrap(),
            method: MethodName::new(EVIDENCE_METHOD).unwrap(),
            args: encoding::encode(&vec![pair]),
        },
    }
    .sign(sender)
    .unwrap()
    .encode()
}

#[test]
fn an_equivocating_validator_is_recorded_on_chain_with_proof_and_a_forged_accusation_is_not() {
    let _serial = one_network_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let mut net = Net::create(&tmp.path().join("localnet"));
    for i in 0..3 {
        net.nodes.push(Some(spawn(&net.home(i))));
    }
    net.nodes.push(None);
    let honest = [0, 1, 2];
    net.wait_height(&honest, 2);
    let culprit = read_key(&net.home(3).join("keys/consensus.json"));
    let evidence = |i: usize| -> Vec<Value> {
        crate::network::get(&net.url(i, "/v1/evidence")).unwrap()["offences"]
            .as_array()
            .unwrap()
            .clone()
    };
    assert!(evidence(0).is_empty());

    let stop = AtomicBool::new(false);
    // Two votes in every step, and two proposals wherever validator 3
    // proposes: it keeps on until the chain holds both kinds of offence.
    let (start, report) = std::thread::scope(|s| {
        let config = actor(
            &net,
            &validator3(&net, "p2p"),
            &validator3(&net, "consensus"),
            3,
            &[Attack::Equivocate],
        );
        let attacker = s.spawn(|| attack(config, &stop));
        let start = net.height(0);
        wait_until(
            "no equivocation of both kinds was recorded on chain",
            200,
            || {
                let steps: Vec<Value> = evidence(0).iter().map(|o| o["step"].clone()).collect();
                (steps.contains(&Value::from("proposal")) && steps.iter().any(|s| s != "proposal"))
                    .then_some(())
            },
        );
        stop.store(true, Ordering::Relaxed);
        (start, attacker.join().unwrap())
    });
    assert!(report.votes_published > 0 && report.proposals_published > 0);
    let after = net.height(0);
    eprintln!(
        "{} conflicting votes and {} conflicting proposals published from height {start} to {after}",
        report.votes_published, report.proposals_published
    );
    net.wait_height(&honest, after + 2);
    net.assert_no_fork(&honest, after + 1);

    // What the chain recorded is the same on every node, accuses only the
    // culprit, and proves itself against the genesis validator set.
    let genesis =
        filiera_types::Genesis::from_json(&std::fs::read(net.dir.join("genesis.json")).unwrap())
            .unwrap();
    let set = genesis.validator_set().unwrap();
    // Offences at the heights the attacker signed ahead are reported after
    // those heights are decided: wait until the record stops growing and
    // every node holds the same.
    let mut last = Vec::new();
    let offences = wait_until("the evidence did not settle on every node", 1_000, || {
        let now = evidence(0);
        let same = now == last && evidence(1) == now && evidence(2) == now;
        last = now;
        same.then(|| last.clone())
    });
    for o in &offences {
        assert_eq!(
            o["validator"],
            culprit.public_key().address().to_hex(),
            "{o}"
        );
        assert!(
            o["height"].as_u64().unwrap() > start.saturating_sub(1),
            "{o}"
        );
        let pair: Equivocation = encoding::decode(
            "evidence",
            &hex::decode(o["evidence"].as_str().unwrap()).unwrap(),
            usize::MAX,
        )
        .unwrap();
        let offence = pair
            .verify(genesis.chain_id.as_str(), &set)
            .unwrap_or_else(|e| panic!("{o}: {e}"));
        assert_eq!(o["step"], offence.step.as_str());
        if offence.step == Step::Proposal {
            // Only where validator 3 is the round's proposer.
            assert_eq!(
                filiera_consensus::proposer_of(&set, offence.height, offence.round),
                culprit.public_key().address(),
                "{o}"
            );
        }
        // The reporter is an honest node's consensus key.
        let reporters: Vec<String> = (0..3)
            .map(|i| {
                read_key(&net.home(i).join("keys/consensus.json"))
                    .public_key()
                    .to_hex()
            })
            .collect();
        assert!(
            reporters.contains(&o["reporter"].as_str().unwrap().to_owned()),
            "{o}"
        );
    }
    for i in honest {
        assert!(
            net.metric(i, "filiera_evidence_recorded_total") >= offences.len() as u64,
            "node {i} counted fewer recorded offences than the chain holds"
        );
    }
    let seen: u64 = honest
        .iter()
        .map(|&i| net.metric(i, "filiera_equivocations_total"))
        .sum();
    assert!(seen > 0);
    eprintln!(
        "{} offences recorded, {seen} equivocating pairs seen by the honest nodes",
        offences.len()
    );
    let status = run_ok(filiera().args(["status", "--api", &net.url(0, "")]));
    assert!(
        status.contains("EQUIVOCATION")
            && status.contains(&culprit.public_key().address().to_hex()),
        "{status}"
    );

    // A member's forged accusation of an honest validator: refused by every
    // node's execution, nothing recorded.
    let chain = ChainId::new("filiera-marche-localnet").unwrap();
    let producer = read_key(&net.dir.join("orgs/caseificio-montefeltro-demo.json"));
    let victim = read_key(&net.home(0).join("keys/consensus.json"));
    let tx = forged_report(&chain, &producer, &victim, &culprit, start);
    let receipt = wait_receipt(&net, 1, &submit(&net, 1, &tx));
    assert_eq!(receipt["status"], "failed", "{receipt}");
    assert_eq!(receipt["code"], 11, "{receipt}");
    assert!(
        receipt["message"]
            .as_str()
            .unwrap()
            .contains("signature 2 of the pair"),
        "{receipt}"
    );
    let h = receipt["height"].as_u64().unwrap();
    net.wait_height(&honest, h);
    assert_eq!(evidence(2), offences, "nothing recorded");
}

/// Connections opened to `port` from 127.0.0.1 and held without a
/// handshake; how many of them the node has not closed after a second.
fn held_connections(port: u16, count: usize) -> (usize, Vec<std::net::TcpStream>) {
    use std::io::Read;
    let streams: Vec<std::net::TcpStream> = (0..count)
        .filter_map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).ok())
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let open = streams
        .iter()
        .filter(|s| {
            let mut s: &std::net::TcpStream = s;
            s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            let mut byte = [0u8; 64];
            match s.read(&mut byte) {
                Ok(0) => false,
                Ok(_) => true,
                Err(e) => matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
            }
        })
        .count();
    (open, streams)
}

#[test]
fn a_host_opening_connections_without_end_gets_only_the_configured_few_and_the_chain_goes_on() {
    let _serial = one_network_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let mut net = Net::create(&tmp.path().join("localnet"));
    // Node 0 takes 8 inbound connections from one address (config.toml's
    // p2p.incoming_per_ip_max, here through its environment variable): the
    // two other honest validators on 127.0.0.1 need at most 4 of them.
    let home = net.home(0);
    let log = std::fs::File::create(home.join("node.log")).unwrap();
    net.nodes.push(Some(
        filiera()
            .args(["start", "--home"])
            .arg(&home)
            .env("FILIERA_P2P_INCOMING_PER_IP_MAX", "8")
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    ));
    for i in 1..3 {
        net.nodes.push(Some(spawn(&net.home(i))));
    }
    net.nodes.push(None);
    let honest = [0, 1, 2];
    net.wait_height(&honest, 2);
    let start = net.height(0);
    let (open, streams) = held_connections(net.base_p2p(), 64);
    eprintln!("{} of 64 connections held by node 0 after 1 s", open);
    assert!(
        open <= 8,
        "node 0 holds {open} connections from one address, more than its limit of 8"
    );
    // The honest validators' connections were there before: the chain goes
    // on while the attacker's stay open (and keeps them open for 5 s more).
    std::thread::sleep(Duration::from_secs(5));
    let during = net.height(0);
    assert!(during >= start + 3, "heights {start} to {during} in 6 s");
    drop(streams);
    net.wait_height(&honest, during + 2);
    net.assert_no_fork(&honest, during + 1);
    for i in honest {
        assert!(
            net.metric(i, "filiera_peers") >= 2,
            "node {i} lost honest peers"
        );
    }
}

/// How long the Byzantine observer attacks, s (and the calm run before it).
const OBSERVER_ATTACK_S: u64 = 10;

#[test]
fn a_byzantine_observer_flooding_the_four_validators_neither_stops_nor_splits_them() {
    let _serial = one_network_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let net = Net::new(&tmp.path().join("localnet"));
    let validators = [0, 1, 2, 3];
    net.wait_height(&validators, 2);
    // The authority lets an observer in (2 of 3 keys); its key is the attacker's.
    let observer = SecretKey::from_seed(&[0x0b; 32]);
    let answer = run_ok(
        filiera()
            .args(["--json", "authority", "observer", "--org", "regione-marche"])
            .args(["--p2p-key", &observer.public_key().to_hex(), "--key"])
            .arg(net.dir.join("authority/key-0.json"))
            .args(["--api", &net.url(0, "")]),
    );
    let answer: Value = serde_json::from_str(answer.trim()).unwrap();
    let proposal = answer["returned"].as_u64().expect("proposal number");
    let approved = run_ok(
        filiera()
            .args([
                "--json",
                "authority",
                "approve",
                &proposal.to_string(),
                "--key",
            ])
            .arg(net.dir.join("authority/key-1.json"))
            .args(["--api", &net.url(1, "")]),
    );
    let approved: Value = serde_json::from_str(approved.trim()).unwrap();
    let at = approved["height"].as_u64().unwrap_or_else(|| net.height(0));
    net.wait_height(&validators, at + 2);

    let calm_start = net.height(0);
    std::thread::sleep(Duration::from_secs(OBSERVER_ATTACK_S));
    let calm_end = net.height(0);
    let stop = AtomicBool::new(false);
    let (start, report) = std::thread::scope(|s| {
        let config = actor(&net, &observer, &observer, 4, &FLOOD);
        let attacker = s.spawn(|| attack(config, &stop));
        let start = net.height(0);
        std::thread::sleep(Duration::from_secs(OBSERVER_ATTACK_S));
        stop.store(true, Ordering::Relaxed);
        (start, attacker.join().unwrap())
    });
    let during = net.height(0);
    let published = report.blocks_published;
    assert!(published > 500, "the observer published {published} blocks");
    assert!(
        during >= start + 10,
        "heights {start} to {during} in {OBSERVER_ATTACK_S} s under attack"
    );
    net.wait_height(&validators, during + 2);
    net.assert_no_fork(&validators, during);
    let mut dropped = 0;
    for i in validators {
        assert_eq!(net.metric(i, "filiera_blocks_invalid_total"), 0, "node {i}");
        dropped += net.metric(i, "filiera_blocks_unnamed_dropped_total");
        assert!(
            net.metric(i, "filiera_peers") >= 3,
            "validator {i} lost a validator peer"
        );
    }
    assert!(dropped > 0, "the flood reached the validators");
    eprintln!(
        "4 validators without attack for {OBSERVER_ATTACK_S} s: heights {calm_start} to {calm_end}; time per height {}",
        net.height_times(calm_start, calm_end)
    );
    eprintln!(
        "4 validators, a Byzantine observer for {OBSERVER_ATTACK_S} s: heights {start} to {during}; time per height {}; {published} blocks published, {dropped} dropped unexamined",
        net.height_times(start, during)
    );
}

//! A contract upgrade on a real localnet: the lots contract's next version
//! uploaded and proposed with `filiera authority upgrade`, approved by a
//! second authority key, announced by `filiera status`, and run from its
//! height (its migration first) with no pause in block production; lots written before and after
//! are read and verified from genesis; the old module stays served; a
//! validator whose data is wiped replays from genesis across the activation
//! to the same blocks and state roots.

use crate::network::{
    Net, commission, filiera, get, one_network_at_a_time, read_key, run_ok, submit, wait_receipt,
};
use filiera_execution::contracts::{LOTS_WASM, code_hash};
use filiera_types::ChainId;
use serde_json::Value;

/// The lots contract with a custom section appended: valid, another hash,
/// the same behaviour; its `migrate` records the state layout at activation.
fn lots_v2() -> Vec<u8> {
    let mut code = LOTS_WASM.to_vec();
    let (name, payload) = (b"filiera-version".as_slice(), b"2".as_slice());
    code.push(0);
    code.push((1 + name.len() + payload.len()) as u8);
    code.push(name.len() as u8);
    code.extend_from_slice(name);
    code.extend_from_slice(payload);
    code
}

/// The number in the CLI's "upgrade proposal N: ..." line.
fn proposal_number(out: &str) -> u64 {
    out.lines()
        .find_map(|l| {
            l.strip_prefix("upgrade proposal ")?
                .split(':')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no proposal number in {out}"))
}

fn lots_entry(net: &Net) -> Value {
    let listing = get(&net.url(0, "/v1/contracts")).expect("/v1/contracts");
    listing["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "lots")
        .cloned()
        .expect("lots in the listing")
}

#[test]
fn a_lots_upgrade_approved_by_two_of_three_runs_from_its_height_without_a_pause() {
    let _serial = one_network_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let mut net = Net::new(&tmp.path().join("localnet"));
    net.wait_height(&[0, 1, 2, 3], 2);

    let chain = ChainId::new("filiera-marche-localnet").unwrap();
    let producer = read_key(&net.dir.join("orgs/caseificio-montefeltro-demo.json"));
    let hash = submit(&net, 0, &commission(&chain, &producer, 0, "CU-2026-PRE"));
    wait_receipt(&net, 0, &hash);

    let v1 = lots_entry(&net);
    assert_eq!(v1["running"], 1, "{v1}");
    assert_eq!(
        v1["versions"][0]["code_hash"],
        code_hash(LOTS_WASM).to_hex(),
        "genesis lots is version 1"
    );

    let wasm = net.dir.join("lots-v2.wasm");
    std::fs::write(&wasm, lots_v2()).unwrap();
    let api = net.url(0, "");
    let out = run_ok(
        filiera()
            .args([
                "authority",
                "upgrade",
                "--contract",
                "lots",
                "--in-blocks",
                "20",
                "--migrate",
                "--wasm",
            ])
            .arg(&wasm)
            .arg("--key")
            .arg(net.dir.join("authority/key-0.json"))
            .args(["--api", &api]),
    );
    assert!(out.contains("uploaded"), "{out}");
    let id = proposal_number(&out);
    let status = run_ok(filiera().args(["status", "--api", &api]));
    assert!(status.contains("awaiting approvals"), "{status}");

    // One key of the three is not enough: nothing is scheduled yet.
    assert_eq!(lots_entry(&net)["versions"].as_array().unwrap().len(), 1);
    // The second key approves only the module it built itself: another
    // file is refused before anything is signed.
    let other = net.dir.join("lots-v1.wasm");
    std::fs::write(&other, LOTS_WASM).unwrap();
    let approve = |module: &std::path::Path| {
        filiera()
            .args(["authority", "approve-upgrade", &id.to_string(), "--wasm"])
            .arg(module)
            .arg("--key")
            .arg(net.dir.join("authority/key-1.json"))
            .args(["--api", &api])
            .output()
            .unwrap()
    };
    let refused = approve(&other);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not approved"),
        "{refused:?}"
    );
    assert_eq!(lots_entry(&net)["versions"].as_array().unwrap().len(), 1);
    let approved = approve(&wasm);
    assert!(approved.status.success(), "{approved:?}");
    let out = String::from_utf8_lossy(&approved.stdout).into_owned();
    assert!(out.starts_with("ok:"), "{out}");
    let scheduled = lots_entry(&net);
    let activation = scheduled["versions"][1]["from_height"].as_u64().unwrap();
    assert_eq!(
        scheduled["versions"][1]["code_hash"],
        code_hash(&lots_v2()).to_hex()
    );
    assert_eq!(scheduled["running"], 1, "not before its height");
    let status = run_ok(filiera().args(["status", "--api", &api]));
    assert!(status.contains("UPGRADE scheduled: lots"), "{status}");
    assert!(
        status.contains("with a migration at that height"),
        "{status}"
    );

    // Blocks go on through the activation height.
    net.wait_height(&[0, 1, 2, 3], activation + 5);
    let times = net.height_times(activation - 5, activation + 5);
    eprintln!(
        "block times from height {} to {}: {times}",
        activation - 5,
        activation + 5
    );
    let gaps: Vec<u64> = (activation - 5..activation + 5)
        .map(|h| {
            net.block(0, h + 1)["time_ms"].as_u64().unwrap()
                - net.block(0, h)["time_ms"].as_u64().unwrap()
        })
        .collect();
    eprintln!("gaps around activation at {activation}: {gaps:?} ms");
    assert!(
        gaps.iter().all(|&g| g < 10_000),
        "a pause at activation: {gaps:?}"
    );
    let running = lots_entry(&net);
    assert_eq!(running["running"], 2, "{running}");
    // Its migration ran at the height, before that block's transactions.
    let migration = &running["versions"][1]["migration"];
    assert_eq!(migration["height"], activation, "{running}");
    assert!(migration["failure"].is_null(), "{running}");

    // The new version takes lots; the old ones stay readable and verifiable.
    let hash = submit(&net, 0, &commission(&chain, &producer, 1, "CU-2026-POST"));
    let receipt = wait_receipt(&net, 0, &hash);
    assert!(receipt["height"].as_u64().unwrap() >= activation);
    for lot in ["CU-2026-PRE", "CU-2026-POST"] {
        let url = net.url(0, &format!("/01/09521234100010/10/{lot}"));
        let out = run_ok(
            filiera()
                .args(["verify", &url, "--genesis"])
                .arg(net.dir.join("genesis.json")),
        );
        assert!(out.contains("VERIFIED") && out.contains(lot), "{out}");
    }
    // The module that ran before is still served, byte for byte.
    let old = ureq::get(&net.url(0, &format!("/v1/code/{}", code_hash(LOTS_WASM).to_hex())))
        .call()
        .unwrap()
        .body_mut()
        .read_to_vec()
        .unwrap();
    assert_eq!(old, LOTS_WASM);

    // A validator started again from genesis (its data wiped, after the
    // heights it voted at are decided) replays across the activation.
    net.kill9(3);
    let stopped_at = net.height(0);
    net.wait_height(&[0], stopped_at + 3);
    std::fs::remove_dir_all(net.home(3).join("data")).unwrap();
    net.restart(3);
    let head = net.height(0);
    net.wait_height(&[3], head);
    assert!(head > activation);
    net.assert_no_fork(&[0, 3], head);
}

/// Whether a log line says block `height` was committed (decided, or from
/// sync, where the height ends the line).
fn committed(line: &str, height: u64) -> bool {
    let field = format!("height={height}");
    line.contains("committed") && line.split_whitespace().any(|word| word == field)
}

/// The lines of validator `i`'s log.
fn log_of(net: &Net, i: usize) -> String {
    std::fs::read_to_string(net.home(i).join("node.log")).unwrap_or_default()
}

#[test]
fn chain_rules_this_binary_does_not_implement_are_announced_and_every_validator_stops_before_them()
{
    let _serial = one_network_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let mut net = Net::new(&tmp.path().join("localnet"));
    net.wait_height(&[0, 1, 2, 3], 2);
    let api = net.url(0, "");
    let next = filiera_types::chain_rules::IMPLEMENTED_MAX + 1;

    let next_text = next.to_string();
    let out = authority(
        &net,
        0,
        &["chain-rules", "--to", &next_text, "--in-blocks", "40"],
    );
    let id = proposal_number(&out);
    let status = run_ok(filiera().args(["status", "--api", &api]));
    assert!(
        status.contains("chain rules change proposed, awaiting approvals"),
        "{status}"
    );
    assert!(
        !status.contains("STOP AHEAD"),
        "one approval of two: {status}"
    );

    authority(&net, 1, &["approve-upgrade", &id.to_string()]);
    let listing = get(&net.url(0, "/v1/contracts")).unwrap();
    let rules = &listing["chain_rules"];
    let stop = rules["unimplemented_from"]["height"]
        .as_u64()
        .unwrap_or_else(|| panic!("no stop ahead in {rules}"));
    assert_eq!(rules["unimplemented_from"]["version"], next);
    assert_eq!(rules["running"], 1, "{rules}");
    let head = net.height(0);
    assert!(head + 5 < stop, "announced {} blocks ahead", stop - head);

    // Announced before the height: status, and every node's metrics.
    let status = run_ok(filiera().args(["status", "--api", &api]));
    assert!(
        status.contains(&format!(
            "STOP AHEAD: the chain's rules are version {next} from height {stop}"
        )),
        "{status}"
    );
    assert!(status.contains("CHAIN RULES change scheduled"), "{status}");
    for i in 0..4 {
        crate::network::wait_until("the stop in the metrics", 200, || {
            (net.metric(i, "filiera_chain_rules_unimplemented_height") == stop).then_some(())
        });
        assert_eq!(net.metric(i, "filiera_chain_rules_version"), 1);
    }

    // Every validator stops by itself after committing the block before,
    // and none decides the block at the height (no fork, nothing executed
    // under rules it does not know).
    for i in 0..4 {
        let child = net.nodes[i].as_mut().unwrap();
        let status = crate::network::wait_exit(child);
        assert!(!status.success(), "node {i} exits with an error");
        net.nodes[i] = None;
    }
    let reason = format!("stopped before height {stop}: the chain's rules are version {next}");
    eprintln!(
        "chain rules version {next} scheduled from height {stop}, announced at height {head}"
    );
    for i in 0..4 {
        let log = log_of(&net, i);
        for line in log
            .lines()
            .filter(|l| l.contains(&reason) || committed(l, stop - 1))
        {
            eprintln!("node {i}: {line}");
        }
        assert!(log.contains(&reason), "node {i}: {log}");
        assert!(
            log.lines().any(|l| committed(l, stop - 1)),
            "node {i} committed the block before"
        );
        assert!(
            !log.lines().any(|l| committed(l, stop)),
            "node {i} committed the block at the height"
        );
    }
    // Started again with the same binary, it stops at once with the reason.
    let before = log_of(&net, 0).matches(&reason).count();
    net.restart(0);
    let status = crate::network::wait_exit(net.nodes[0].as_mut().unwrap());
    assert!(!status.success());
    net.nodes[0] = None;
    assert_eq!(log_of(&net, 0).matches(&reason).count(), before + 1);
}

/// `filiera authority ARGS` with authority key `key` against node 0: its output.
fn authority(net: &Net, key: usize, args: &[&str]) -> String {
    run_ok(
        filiera()
            .arg("authority")
            .args(args)
            .arg("--key")
            .arg(net.dir.join(format!("authority/key-{key}.json")))
            .args(["--api", &net.url(0, "")]),
    )
}

/// Posts a transaction to `node`: the HTTP status and the answer.
fn post_tx(net: &Net, node: usize, tx: &[u8]) -> (u16, Value) {
    let mut r = ureq::post(&net.url(node, "/v1/txs"))
        .config()
        .http_status_as_error(false)
        .build()
        .header("content-type", "application/octet-stream")
        .send(tx)
        .unwrap();
    let status = r.status().as_u16();
    (
        status,
        r.body_mut().read_json::<Value>().unwrap_or_default(),
    )
}

#[test]
fn limits_raised_by_two_of_three_let_a_larger_transaction_in_from_their_height_on_every_node() {
    use filiera_contract_api::contract_ids::LOTS;
    let _serial = one_network_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let net = Net::new(&tmp.path().join("localnet"));
    net.wait_height(&[0, 1, 2, 3], 2);
    let api = net.url(0, "");
    let chain = ChainId::new("filiera-marche-localnet").unwrap();
    let producer = read_key(&net.dir.join("orgs/caseificio-montefeltro-demo.json"));
    let genesis: filiera_types::chain_limits::ChainLimits = serde_json::from_value(
        get(&net.url(0, "/v1/contracts")).unwrap()["limits"]["running"].clone(),
    )
    .unwrap();
    // A call of 40 KiB: over the genesis' 32 KiB, under the ceiling.
    let big = |nonce: u64| {
        let args = vec![b'x'; 40 * 1024];
        crate::network::call(&chain, &producer, nonce, LOTS, "commission", args)
    };
    assert!(big(0).len() as u64 > genesis.tx_bytes_max);
    let raised = 48 * 1024;
    assert!(big(0).len() < raised);
    let (status, answer) = post_tx(&net, 0, &big(0));
    assert_eq!(status, 422, "over the genesis' limit: {answer}");
    assert!(answer.to_string().contains("too_large"), "{answer}");

    let raised_text = raised.to_string();
    let out = authority(
        &net,
        0,
        &[
            "limits",
            "--tx-bytes-max",
            &raised_text,
            "--in-blocks",
            "30",
        ],
    );
    let id = proposal_number(&out);
    let status = run_ok(filiera().args(["status", "--api", &api]));
    assert!(
        status.contains("limits change proposed, awaiting approvals"),
        "{status}"
    );
    authority(&net, 1, &["approve-upgrade", &id.to_string()]);
    let listing = get(&net.url(0, "/v1/contracts")).unwrap();
    let versions = listing["limits"]["versions"].as_array().unwrap().clone();
    assert_eq!(versions.len(), 2, "{listing}");
    let from = versions[1]["from_height"].as_u64().unwrap();
    assert_eq!(versions[1]["limits"]["tx_bytes_max"], raised);
    let status = run_ok(filiera().args(["status", "--api", &api]));
    let announced = format!(
        "LIMITS change scheduled: tx_bytes_max {} -> {raised} from height {from}",
        genesis.tx_bytes_max
    );
    assert!(status.contains(&announced), "{status}");

    // Still refused while the next block is below the height.
    let nonce_url = net.url(0, &format!("/v1/accounts/{}/nonce", producer.public_key()));
    let nonce = || get(&nonce_url).unwrap()["next_nonce"].as_u64().unwrap();
    assert!(net.height(0) + 2 < from, "the approval left the notice");
    let (status, answer) = post_tx(&net, 0, &big(nonce()));
    assert_eq!(status, 422, "before the height: {answer}");
    assert!(answer.to_string().contains("too_large"), "{answer}");

    // From the height on, every node lets it in and commits it.
    net.wait_height(&[0, 1, 2, 3], from - 1);
    let (status, answer) = post_tx(&net, 2, &big(nonce()));
    assert_eq!(status, 202, "at the height: {answer}");
    let hash = answer["tx_hash"].as_str().unwrap().to_owned();
    let receipt = wait_receipt(&net, 3, &hash);
    let height = receipt["height"].as_u64().unwrap();
    assert!(height >= from, "{receipt}");
    net.wait_height(&[0, 1, 2, 3], height + 1);
    net.assert_no_fork(&[0, 1, 2, 3], height + 1);
    let running = &get(&net.url(1, "/v1/contracts")).unwrap()["limits"]["running"];
    assert_eq!(running["tx_bytes_max"], raised, "{running}");
    eprintln!(
        "limits: tx_bytes_max {} -> {raised} from height {from}; a {}-byte transaction refused before, committed at height {height}",
        genesis.tx_bytes_max,
        big(0).len()
    );
}

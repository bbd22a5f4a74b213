//! Real processes on loopback: four `filiera start` validators, transactions
//! finalised, `kill -9` and catch-up, an unregistered node refused, a halt
//! without quorum and its recovery, and no fork anywhere.

use filiera_contract_api::lots::{Commission, LotRef};
use filiera_contract_api::{contract_ids, encode};
use filiera_types::{ChainId, ContractCall, ContractId, MethodName, SecretKey, Transaction};
use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) const VALIDATORS: usize = 4;
/// Generous bounds: a cold 2-core CI machine is slow, never wrong.
const WAIT_S: u64 = 60;

/// A base port with `span` free ports above it; tests of one binary get different ranges.
pub(crate) fn free_base(span: u16) -> u16 {
    static CALLS: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let seed = (std::process::id() as u16).wrapping_add(call.wrapping_mul(7_919));
    for attempt in 0..200u16 {
        // Below the kernel's ephemeral range (32768 and up), where outgoing
        // connections between the nodes could take a port after this check.
        let base = 20_000 + (seed.wrapping_mul(31).wrapping_add(attempt * 97)) % 12_000;
        if (0..span).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
    panic!("no free port range");
}

pub(crate) struct Net {
    pub(crate) dir: PathBuf,
    pub(crate) api_base: u16,
    pub(crate) nodes: Vec<Option<Child>>,
}

impl Drop for Net {
    fn drop(&mut self) {
        for child in self.nodes.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A `filiera localnet` supervisor, stopped with SIGTERM (which stops its
/// validators) when the test ends, also when it fails: a failed assertion
/// must not leave four validators running on the machine.
struct Supervisor(Option<Child>);

impl Supervisor {
    fn pid(&self) -> nix::unistd::Pid {
        let id = self.0.as_ref().unwrap().id();
        nix::unistd::Pid::from_raw(i32::try_from(id).unwrap())
    }

    fn wait_with_output(mut self) -> std::process::Output {
        self.0.take().unwrap().wait_with_output().unwrap()
    }

    /// Starts `filiera localnet` with `validators` in `dir`, on ports from `base`
    /// (p2p) and `base + 8` (API); its output to `output` (piped or discarded).
    fn start(dir: &Path, validators: u8, base: u16, output: fn() -> Stdio) -> Supervisor {
        Supervisor(Some(
            filiera()
                .args([
                    "localnet",
                    "--insecure-plain-keys",
                    "--validators",
                    &validators.to_string(),
                    "--dir",
                ])
                .arg(dir)
                .args(["--p2p-base-port", &base.to_string()])
                .args(["--api-base-port", &(base + 8).to_string()])
                .stdout(output())
                .stderr(output())
                .spawn()
                .unwrap(),
        ))
    }
}

impl Supervisor {
    /// As [`Supervisor::start`], with every key sealed by `passphrase`,
    /// which the supervisor reads from a pipe and hands to its validators.
    fn start_sealed(dir: &Path, validators: u8, base: u16, passphrase: &str) -> Supervisor {
        use std::io::Write;
        let mut child = filiera()
            .args(["--passphrase-fd", "0", "localnet", "--validators"])
            .arg(validators.to_string())
            .arg("--dir")
            .arg(dir)
            .args(["--p2p-base-port", &base.to_string()])
            .args(["--api-base-port", &(base + 8).to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(format!("{passphrase}\n").as_bytes())
            .unwrap();
        drop(stdin);
        Supervisor(Some(child))
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        let Some(mut child) = self.0.take() else {
            return;
        };
        if let Ok(raw) = i32::try_from(child.id()) {
            let pid = nix::unistd::Pid::from_raw(raw);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(WAIT_S);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

pub fn filiera() -> Command {
    Command::new(env!("CARGO_BIN_EXE_filiera"))
}

/// Runs a `filiera` command that must succeed; its standard output.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

pub(crate) fn spawn(home: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(home.join("node.log"))
        .unwrap();
    filiera()
        .args(["start", "--home"])
        .arg(home)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

pub(crate) fn get(url: &str) -> Option<Value> {
    ureq::get(url)
        .config()
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .call()
        .ok()?
        .body_mut()
        .read_json()
        .ok()
}

/// One network of processes at a time: a 2-core CI machine running three
/// networks at once would test the scheduler more than the node.
pub(crate) fn one_network_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A node's answer once its API is up (after opening the store and compiling contracts).
fn wait_api(url: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(WAIT_S);
    loop {
        if let Some(v) = get(url) {
            return v;
        }
        assert!(Instant::now() < deadline, "{url} never answered");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Polls `probe` every `every_ms` until it answers, within `WAIT_S`.
pub(crate) fn wait_until<T>(what: &str, every_ms: u64, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(WAIT_S);
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(every_ms));
    }
}

/// The height a node's `/v1/status` at `status_url` reports (0 if it does not answer).
pub(crate) fn height_at(status_url: &str) -> u64 {
    get(status_url)
        .and_then(|s| s["height"].as_u64())
        .unwrap_or(0)
}

impl Net {
    /// The localnet's files, no node started.
    pub(crate) fn create(dir: &Path) -> Net {
        // p2p on base.., APIs on base + 8.., the stranger on base + 12 and 13,
        // metrics (the operator's listeners) on base + 16...
        let p2p_base = free_base(24);
        let api_base = p2p_base + 8;
        let out = filiera()
            .args([
                "genesis",
                "new",
                "--insecure-plain-keys",
                "--validators",
                "4",
                "--out",
            ])
            .arg(dir)
            .args(["--p2p-base-port", &p2p_base.to_string()])
            .args(["--api-base-port", &api_base.to_string()])
            .args(["--metrics-base-port", &(p2p_base + 16).to_string()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Net {
            dir: dir.to_owned(),
            api_base,
            nodes: Vec::new(),
        }
    }

    pub(crate) fn new(dir: &Path) -> Net {
        let mut net = Net::create(dir);
        for i in 0..VALIDATORS {
            let child = spawn(&net.home(i));
            net.nodes.push(Some(child));
        }
        net
    }

    pub(crate) fn base_p2p(&self) -> u16 {
        let text = std::fs::read_to_string(self.home(0).join("config.toml")).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("listen_address = \"/ip4"))
            .unwrap();
        line.rsplit('/')
            .next()
            .unwrap()
            .trim_end_matches('"')
            .parse()
            .unwrap()
    }

    pub(crate) fn home(&self, i: usize) -> PathBuf {
        self.dir.join(format!("node{i}"))
    }

    pub(crate) fn url(&self, i: usize, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.api_base + i as u16)
    }

    /// Validator `i`'s metrics page, on its operator listener.
    pub(crate) fn metrics_url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}/metrics", self.api_base + 8 + i as u16)
    }

    pub(crate) fn status(&self, i: usize) -> Option<Value> {
        get(&self.url(i, "/v1/status"))
    }

    pub(crate) fn height(&self, i: usize) -> u64 {
        self.status(i)
            .and_then(|s| s["height"].as_u64())
            .unwrap_or(0)
    }

    pub(crate) fn kill9(&mut self, i: usize) {
        let mut child = self.nodes[i].take().expect("running");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }

    pub(crate) fn restart(&mut self, i: usize) {
        assert!(self.nodes[i].is_none());
        self.nodes[i] = Some(spawn(&self.home(i)));
    }

    /// Waits until each of `nodes` reports a height of at least `height`.
    pub(crate) fn wait_height(&self, nodes: &[usize], height: u64) {
        let deadline = Instant::now() + Duration::from_secs(WAIT_S);
        while Instant::now() < deadline {
            if nodes.iter().all(|&i| self.height(i) >= height) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let heights: Vec<u64> = nodes.iter().map(|&i| self.height(i)).collect();
        panic!("nodes {nodes:?} did not reach height {height}: {heights:?}");
    }

    /// A counter or gauge from the node's Prometheus text.
    pub(crate) fn metric(&self, i: usize, name: &str) -> u64 {
        let text = ureq::get(&self.metrics_url(i))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    }

    /// A committed block, asked again for a while if the node refuses
    /// (its per-address rate limit: a test reading whole chains exceeds it).
    pub(crate) fn block(&self, i: usize, height: u64) -> Value {
        let url = self.url(i, &format!("/v1/blocks/{height}"));
        for _ in 0..20 {
            if let Some(block) = get(&url) {
                return block;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("node {i} does not serve block {height}");
    }

    /// The time each height took from `from` to `to` (differences of node
    /// 0's block times), as `p50 .. p99 .. max ms (n)`, nearest rank.
    pub(crate) fn height_times(&self, from: u64, to: u64) -> String {
        let time = |h: u64| self.block(0, h)["time_ms"].as_u64().unwrap();
        let mut ms: Vec<u64> = (from.max(1)..to).map(|h| time(h + 1) - time(h)).collect();
        ms.sort_unstable();
        let rank = |p: usize| ms[(ms.len() * p).div_ceil(100).max(1) - 1];
        if ms.is_empty() {
            return "(no heights)".into();
        }
        format!(
            "p50 {} ms, p99 {} ms, max {} ms ({} heights)",
            rank(50),
            rank(99),
            ms[ms.len() - 1],
            ms.len()
        )
    }

    /// No two nodes hold different blocks (or state roots) at any height.
    pub(crate) fn assert_no_fork(&self, nodes: &[usize], up_to: u64) {
        for h in 1..=up_to {
            let first = self.block(nodes[0], h);
            for &i in &nodes[1..] {
                let other = self.block(i, h);
                assert_eq!(first["hash"], other["hash"], "fork at height {h}");
                assert_eq!(first["state_root"], other["state_root"], "state at {h}");
            }
        }
    }
}

pub(crate) fn commission(chain: &ChainId, key: &SecretKey, nonce: u64, lot: &str) -> Vec<u8> {
    let args = Commission {
        id: LotRef {
            gtin: "09521234100010".into(),
            lot: lot.into(),
        },
        quantity: 120,
        site: None,
        metadata: vec![("forma".into(), "1 kg".into())],
        private_hash: None,
        epcis_hash: None,
    };
    call(
        chain,
        key,
        nonce,
        contract_ids::LOTS,
        "commission",
        encode(&args),
    )
}

/// Submits to `node`, waits until `reader` holds it committed, asserts success.
fn commit_ok(net: &Net, node: usize, reader: usize, tx: &[u8]) -> Value {
    let hash = submit(net, node, tx);
    let receipt = wait_receipt(net, reader, &hash);
    assert_eq!(receipt["success"], true, "{receipt}");
    receipt
}

/// `filiera init` of a node outside the validator set, dialling `peers`.
fn init_extra_node(net: &Net, home: &Path, p2p_port: u16, api_port: u16, peers: &[u16]) {
    let out = filiera()
        .args(["init", "--insecure-plain-keys", "--home"])
        .arg(home)
        .args(["--genesis"])
        .arg(net.dir.join("genesis.json"))
        .args([
            "--p2p-port",
            &p2p_port.to_string(),
            "--api-port",
            &api_port.to_string(),
            "--metrics-port",
            "0",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = home.join("config.toml");
    let peers: Vec<String> = peers
        .iter()
        .map(|p| format!("\"/ip4/127.0.0.1/tcp/{p}\""))
        .collect();
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("peers = []", &format!("peers = [{}]", peers.join(", "))),
    )
    .unwrap();
}

pub(crate) fn read_key(path: &Path) -> SecretKey {
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let seed = hex::decode(v["secret_key"].as_str().expect("secret_key")).unwrap();
    SecretKey::from_seed(&seed.try_into().unwrap())
}

pub(crate) fn submit(net: &Net, node: usize, tx: &[u8]) -> String {
    let mut response = ureq::post(&net.url(node, "/v1/txs"))
        .header("content-type", "application/octet-stream")
        .send(tx)
        .expect("admitted");
    let v: Value = response.body_mut().read_json().unwrap();
    v["tx_hash"].as_str().unwrap().to_owned()
}

pub(crate) fn wait_receipt(net: &Net, node: usize, hash: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(WAIT_S);
    while Instant::now() < deadline {
        if let Some(r) = get(&net.url(node, &format!("/v1/txs/{hash}")))
            && r["status"] != "pending"
        {
            return r;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("transaction {hash} not committed on node {node}");
}

#[test]
fn four_validators_finalise_survive_kill9_refuse_strangers_and_halt_without_quorum() {
    let _serial = one_network_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    // FILIERA_KEEP_TEST_DIR=1 keeps the homes and node.log files for a post-mortem.
    let tmp_path = if std::env::var_os("FILIERA_KEEP_TEST_DIR").is_some() {
        tmp.keep()
    } else {
        tmp.path().to_owned()
    };
    let mut net = Net::new(&tmp_path.join("localnet"));
    let all = [0, 1, 2, 3];
    net.wait_height(&all, 3);

    // Transactions sent to different nodes are finalised and seen everywhere.
    let chain = ChainId::new("filiera-marche-localnet").unwrap();
    let producer = read_key(&net.dir.join("orgs/caseificio-montefeltro-demo.json"));
    let a = submit(&net, 1, &commission(&chain, &producer, 0, "CU-2026-001"));
    let b = submit(&net, 2, &commission(&chain, &producer, 1, "CU-2026-002"));
    let ra = wait_receipt(&net, 3, &a);
    let rb = wait_receipt(&net, 0, &b);
    assert_eq!(ra["success"], true, "{ra}");
    assert_eq!(rb["success"], true, "{rb}");
    // A replay of a committed transaction is refused at the door.
    let replay = ureq::post(&net.url(0, "/v1/txs"))
        .header("content-type", "application/octet-stream")
        .send(&commission(&chain, &producer, 0, "CU-2026-001")[..]);
    assert!(replay.is_err(), "a used nonce must be refused");

    // kill -9 one validator: the other three go on.
    net.kill9(3);
    let h = net.height(0);
    net.wait_height(&[0, 1, 2], h + 5);
    // It comes back, catches up by block sync, and agrees.
    net.restart(3);
    let target = net.height(0);
    net.wait_height(&all, target + 2);
    assert!(
        net.metric(3, "filiera_blocks_synced_total") >= 1,
        "the restarted validator catches up by block sync"
    );
    let common = net.height(3).min(net.height(0));
    net.assert_no_fork(&all, common);
    // The operator's view: metrics agree with the API.
    assert!(net.metric(0, "filiera_height") >= common);
    assert_eq!(net.metric(0, "filiera_peers"), 3);
    assert!(net.metric(0, "filiera_txs_committed_total") >= 2);
    assert!(net.metric(0, "filiera_finality_latency_seconds_count") >= 1);
    assert!(net.metric(0, "filiera_block_interval_seconds_count") >= 1);
    assert_eq!(
        net.metric(0, "filiera_mempool_txs"),
        0,
        "committed transactions leave the mempool"
    );
    // Metrics are the operator's: the public listener does not serve them.
    let public = ureq::get(&net.url(0, "/metrics")).call();
    assert!(
        matches!(public, Err(ureq::Error::StatusCode(404))),
        "the public API serves /metrics: {public:?}"
    );
    // Prometheus' own linter accepts the exposition (when installed; setup.sh installs it).
    let text = ureq::get(&net.metrics_url(0))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    // The Grafana dashboard queries only metrics the node exposes.
    let dashboard: Value =
        serde_json::from_str(include_str!("../../../ops/grafana/filiera-node.json")).unwrap();
    let mut queried = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for (i, _) in expr.match_indices("filiera_") {
                let name: String = expr[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                assert!(
                    text.lines().any(|l| l.starts_with(&format!("{name} "))
                        || l.starts_with(&format!("{name}{{"))),
                    "the dashboard queries {name}, which /metrics does not expose"
                );
                queried += 1;
            }
        }
    }
    assert!(queried >= 10, "{queried}");
    let promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    if promtool.is_err() {
        assert!(
            std::env::var_os("FILIERA_REQUIRE_TOOLS").is_none(),
            "promtool is required (FILIERA_REQUIRE_TOOLS is set)"
        );
        eprintln!("skipped: promtool is not installed (scripts/setup.sh installs it)");
    }
    if let Ok(mut promtool) = promtool {
        use std::io::Write;
        promtool
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = promtool.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // A fifth node whose key is not registered cannot connect or sync.
    let stranger = net.dir.join("stranger");
    let port = net.api_base + 4;
    init_extra_node(&net, &stranger, port, port + 1, &[net.base_p2p()]);
    let mut stranger_node = spawn(&stranger);
    let strange_url = format!("http://127.0.0.1:{}/v1/status", port + 1);
    let before = net.height(0);
    net.wait_height(&[0], before + 8);
    let s = wait_api(&strange_url);
    assert_eq!(s["height"], 0, "an unregistered node must not sync: {s}");
    assert_eq!(
        s["peers"], 0,
        "an unregistered node must hold no connection: {s}"
    );
    assert_eq!(net.status(0).unwrap()["peers"], 3);
    stranger_node.kill().unwrap();
    stranger_node.wait().unwrap();

    // Two of four down: no quorum, no progress, no fork.
    net.kill9(2);
    net.kill9(3);
    std::thread::sleep(Duration::from_secs(2));
    let halted = net.height(0).max(net.height(1));
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        net.height(0) <= halted && net.height(1) <= halted,
        "finality must halt without a quorum"
    );
    // A validator killed while it is voting in rounds that cannot decide
    // resumes them from its WAL.
    net.kill9(1);
    net.restart(1);
    net.restart(2);
    net.restart(3);
    net.wait_height(&all, halted + 3);
    let log = std::fs::read_to_string(net.home(1).join("node.log")).unwrap();
    assert!(
        log.contains("replaying the WAL"),
        "node 1 must replay its WAL"
    );
    let common = all.iter().map(|&i| net.height(i)).min().unwrap();
    net.assert_no_fork(&all, common);
}

/// Also the sealed localnet: every key it writes is sealed with the
/// passphrase it read from a pipe, and its validators, given it through
/// pipes of their own, open their keys and run.
#[test]
fn validators_of_a_killed_localnet_supervisor_stop_by_themselves() {
    let _serial = one_network_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("localnet");
    let base = free_base(16);
    let localnet = Supervisor::start_sealed(&dir, 2, base, "ciauscolo di visso igp");
    let status = |i: u16| get(&format!("http://127.0.0.1:{}/v1/status", base + 8 + i));
    wait_until("the sealed localnet did not start", 300, || {
        (0..2).all(|i| status(i).is_some()).then_some(())
    });
    for key in [
        "node0/keys/consensus.json",
        "node1/keys/p2p.json",
        "authority/key-0.json",
        "orgs/caseificio-montefeltro-demo.json",
    ] {
        let text = std::fs::read_to_string(dir.join(key)).unwrap();
        assert!(
            text.contains("ciphertext") && !text.contains("secret_key"),
            "{key} is not sealed: {text}"
        );
    }
    // SIGKILL: the supervisor cannot stop anyone itself.
    nix::sys::signal::kill(localnet.pid(), nix::sys::signal::Signal::SIGKILL).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while (0..2).any(|i| status(i).is_some()) {
        assert!(
            Instant::now() < deadline,
            "validators still answer 20 s after their supervisor was killed"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for i in 0..2 {
        let log = std::fs::read_to_string(dir.join(format!("node{i}/node.log"))).unwrap();
        assert!(
            log.contains("the process that started this node is gone")
                && log.contains("shutting down"),
            "node{i} must notice and stop cleanly:\n{log}"
        );
    }
}

#[test]
fn localnet_starts_takes_the_demo_and_stops_cleanly_on_sigterm() {
    let _serial = one_network_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("localnet");
    let base = free_base(16);
    let api = format!("http://127.0.0.1:{}", base + 8);
    let localnet = Supervisor::start(&dir, 4, base, Stdio::piped);
    let deadline = Instant::now() + Duration::from_secs(WAIT_S);
    while get(&format!("{api}/v1/status"))
        .and_then(|s| s["height"].as_u64())
        .unwrap_or(0)
        < 1
    {
        assert!(
            Instant::now() < deadline,
            "the localnet did not finalise a block"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = run_ok(
        filiera()
            .args(["demo", "--dir"])
            .arg(&dir)
            .args(["--api", &api]),
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("ok ")).count(),
        40,
        "{out}"
    );
    crate::api::check(&api, &dir);
    crate::api::check_in_browser(&api);
    let job_path = crate::api::check_epcis(&api, &dir);
    crate::api::check_epcis_cli(&api, &dir);
    crate::api::check_verify_cli(&api, &dir);
    crate::api::check_sdk(&api, &dir);
    crate::api::check_batch_submission(&api, &dir);
    crate::api::check_roles_cli(&api, &dir);
    crate::api::check_export_cli(&api, &dir);
    crate::api::check_status_cli(&api, &dir);
    // The dairy's capture job as the running node answers it last (the
    // re-capture of the same document in check_epcis named the same job).
    let dairy =
        std::fs::read_to_string(dir.join("orgs/caseificio-montefeltro-demo.epcis-token")).unwrap();
    let url = format!("{api}{job_path}");
    let read_job = || -> Option<(u16, Value)> {
        let mut answer = ureq::get(&url)
            .config()
            .http_status_as_error(false)
            .build()
            .header("authorization", &format!("Bearer {dairy}"))
            .call()
            .ok()?;
        let status = answer.status().as_u16();
        let body = answer.body_mut().read_to_string().ok()?;
        Some((status, serde_json::from_str::<Value>(&body).ok()?))
    };
    let (status, job) = read_job().expect("the job before the stop");
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["success"], true, "{job}");
    // SIGTERM: every validator stops and the parent reports it.
    nix::sys::signal::kill(localnet.pid(), nix::sys::signal::Signal::SIGTERM).unwrap();
    let output = localnet.wait_with_output();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("localnet stopped"), "{stdout}");
    assert!(
        get(&format!("{api}/v1/status")).is_none(),
        "validators must be gone"
    );
    for i in 0..4 {
        let log = std::fs::read_to_string(dir.join(format!("node{i}/node.log"))).unwrap();
        assert!(
            log.contains("shutting down"),
            "node{i} must stop cleanly:\n{log}"
        );
    }
    // The dairy's capture job outlives the processes: the same localnet,
    // started again, answers it with the dairy's token, as it was.
    let again = Supervisor::start(&dir, 4, base, Stdio::null);
    let (status, kept) = wait_until(
        "the restarted localnet does not answer the job",
        200,
        read_job,
    );
    assert_eq!(status, 200, "{kept}");
    assert_eq!(kept, job, "the job after a restart");
    drop(again);
}

pub(crate) fn call(
    chain: &ChainId,
    key: &SecretKey,
    nonce: u64,
    contract: &str,
    method: &str,
    args: Vec<u8>,
) -> Vec<u8> {
    Transaction {
        chain_id: chain.clone(),
        sender: key.public_key(),
        nonce,
        expiry_height: 5_000,
        call: ContractCall {
            contract: ContractId::new(contract).unwrap(),
            method: MethodName::new(method).unwrap(),
            args,
        },
    }
    .sign(key)
    .unwrap()
    .encode()
}

#[test]
fn the_authority_adds_a_fifth_validator_that_connects_syncs_and_votes() {
    let _serial = one_network_at_a_time();
    use filiera_contract_api::registry::AuthorityAction;
    let tmp = tempfile::tempdir().unwrap();
    let mut net = Net::new(&tmp.path().join("localnet"));
    net.wait_height(&[0, 1, 2, 3], 2);

    // A fifth node, not yet a validator: refused by everyone.
    let home = net.dir.join("node4");
    let (p2p_port, api_port) = (net.api_base + 4, net.api_base + 5);
    let validators: Vec<u16> = (0..4).map(|i| net.base_p2p() + i).collect();
    init_extra_node(&net, &home, p2p_port, api_port, &validators);
    net.nodes.push(Some(spawn(&home)));
    let fifth = format!("http://127.0.0.1:{api_port}/v1/status");

    // The authority (2 of 3) makes it a validator.
    let chain = ChainId::new("filiera-marche-localnet").unwrap();
    let consensus_key = read_key(&home.join("keys/consensus.json")).public_key();
    let p2p_key = read_key(&home.join("keys/p2p.json")).public_key();
    let action = AuthorityAction::SetValidator {
        org: "consorzio-tutela-demo".into(),
        consensus_key: consensus_key.0,
        p2p_key: p2p_key.0,
        power: 1,
    };
    let a0 = read_key(&net.dir.join("authority/key-0.json"));
    let a1 = read_key(&net.dir.join("authority/key-1.json"));
    let receipt = commit_ok(
        &net,
        0,
        0,
        &call(
            &chain,
            &a0,
            0,
            contract_ids::REGISTRY,
            "propose",
            encode(&action),
        ),
    );
    let id_bytes = hex::decode(receipt["return_data"].as_str().unwrap()).unwrap();
    let id = u64::from_le_bytes(id_bytes.try_into().unwrap());
    let status = wait_api(&fifth);
    assert_eq!(status["height"], 0, "not a validator yet: refused");
    // It redials every 3 s, and its side counts a connection for the moment
    // between the handshake and the validator closing it: a connection that
    // stays is the failure, so the fewest seen over a second is what counts.
    let fewest_peers = (0..10)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(100));
            get(&fifth).map_or(u64::MAX, |s| s["peers"].as_u64().unwrap_or(u64::MAX))
        })
        .min()
        .unwrap_or(u64::MAX);
    assert_eq!(fewest_peers, 0, "not a validator yet: refused");
    let receipt = commit_ok(
        &net,
        1,
        1,
        &call(
            &chain,
            &a1,
            0,
            contract_ids::REGISTRY,
            "approve",
            encode(&id),
        ),
    );
    let executed_at = receipt["height"].as_u64().unwrap();

    // From two heights later the header names a new set.
    net.wait_height(&[0], executed_at + 3);
    let before = net.block(0, executed_at + 1);
    let after = net.block(0, executed_at + 2);
    assert_eq!(
        before["validator_set_hash"],
        net.block(0, executed_at)["validator_set_hash"]
    );
    assert_ne!(
        before["validator_set_hash"], after["validator_set_hash"],
        "the set changes at h+2"
    );

    // The fifth node is let in, syncs and follows.
    wait_until("the new validator did not catch up", 200, || {
        (height_at(&fifth) >= executed_at + 3).then_some(())
    });
    // With one original validator down, 3 + the new one are 4 of 5 > 2/3:
    // progress now needs the new validator's votes.
    net.kill9(3);
    let h = net.height(0);
    net.wait_height(&[0, 1, 2], h + 4);
    let certified = net.block(0, h + 3);
    assert!(
        certified["commit_signatures"].as_u64().unwrap() >= 4,
        "{certified}"
    );

    // A lot recorded under the new set verifies from the genesis: the bundle
    // carries the change, signed by the set before it.
    let producer = read_key(&net.dir.join("orgs/caseificio-montefeltro-demo.json"));
    commit_ok(
        &net,
        0,
        0,
        &commission(&chain, &producer, 0, "CU-2026-NEWSET"),
    );
    let url = net.url(0, "/01/09521234100010/10/CU-2026-NEWSET");
    let saved = net.dir.join("newset-bundle.json");
    let stdout = run_ok(
        filiera()
            .args(["verify", &url, "--genesis"])
            .arg(net.dir.join("genesis.json"))
            .arg("--save")
            .arg(&saved),
    );
    assert!(stdout.contains("through 1 change(s)"), "{stdout}");
    // Without the change, or with a set the old validators never named, it does not.
    let bundle: Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    let mut without = bundle.clone();
    without["verification"]["set_history"] = serde_json::json!([]);
    let mut swapped = bundle.clone();
    swapped["verification"]["set_history"][0]["validator_set"] =
        bundle["verification"]["validator_set"].clone();
    let genesis_set_hex = {
        let g = filiera_types::Genesis::from_json(
            &std::fs::read(net.dir.join("genesis.json")).unwrap(),
        )
        .unwrap();
        hex::encode(filiera_types::encoding::encode(&g.validator_set().unwrap()))
    };
    swapped["verification"]["set_history"][0]["validator_set"] = Value::String(genesis_set_hex);
    for (what, b, reason) in [
        ("change left out", without, "does not descend from genesis"),
        ("another set", swapped, "does not name this set as the next"),
    ] {
        std::fs::write(&saved, b.to_string()).unwrap();
        let out = filiera()
            .args(["verify"])
            .arg(&saved)
            .arg("--genesis")
            .arg(net.dir.join("genesis.json"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(reason),
            "{what}: {stderr}"
        );
    }
}

#[test]
fn an_observer_joins_by_snapshot_then_follows_and_serves_the_same_records() {
    let _serial = one_network_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let mut net = Net::new(&tmp.path().join("localnet"));
    let home = net.dir.join("observer");
    let (p2p_port, api_port) = (net.api_base + 4, net.api_base + 5);
    let validators: Vec<u16> = (0..4).map(|i| net.base_p2p() + i).collect();
    init_extra_node(&net, &home, p2p_port, api_port, &validators);
    let observer_key = read_key(&home.join("keys/p2p.json")).public_key();
    net.wait_height(&[0, 1, 2, 3], 2);

    let chain = ChainId::new("filiera-marche-localnet").unwrap();
    let producer = read_key(&net.dir.join("orgs/caseificio-montefeltro-demo.json"));
    let mut last = 0;
    for n in 0..6u64 {
        let lot = format!("CU-2026-OBS{n}");
        let receipt = commit_ok(&net, 0, 1, &commission(&chain, &producer, n, &lot));
        last = receipt["height"].as_u64().unwrap();
    }
    net.wait_height(&[1], last + 1);

    // The state (members' EPCIS documents among it) goes only to nodes the
    // chain lets hold it (ADR 0010): before the authority registers this
    // observer's p2p key, every peer refuses its signed snapshot request.
    let join = || {
        filiera()
            .args(["--json", "join", "--home"])
            .arg(&home)
            .args(["--from", &net.url(1, ""), "--from", &net.url(2, "")])
            .output()
            .unwrap()
    };
    let refused_join = |why: &str| {
        let out = join();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success()
                && stderr.contains("403")
                && stderr.contains("no peer offered a snapshot"),
            "{why}: {stderr}"
        );
    };
    refused_join("not registered yet, a peer served its state");
    let unsigned = ureq::get(&net.url(1, "/v1/snapshot"))
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 401, "an unsigned request");
    // The authority (2 of 3 keys, with the CLI) registers it; peers serve it
    // from the block that approves it.
    let answer = run_ok(
        filiera()
            .args(["--json", "authority", "observer", "--org", "regione-marche"])
            .args(["--p2p-key", &observer_key.to_hex(), "--key"])
            .arg(net.dir.join("authority/key-0.json"))
            .args(["--api", &net.url(0, "")]),
    );
    let answer: Value = serde_json::from_str(answer.trim()).unwrap();
    let proposal = answer["returned"].as_u64().expect("proposal number");
    net.wait_height(&[1, 2], height_at(&net.url(0, "/v1/status")) + 1);
    refused_join("one approval of two lets nobody in");
    run_ok(
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
    net.wait_height(&[1, 2], height_at(&net.url(0, "/v1/status")) + 1);

    // Fast join from node 1's API (node 2 as a second source).
    let joined = join();
    assert!(
        joined.status.success(),
        "{}",
        String::from_utf8_lossy(&joined.stderr)
    );
    let joined: Value = serde_json::from_slice(&joined.stdout).unwrap();
    let base = joined["height"].as_u64().unwrap();
    assert!(base > last, "{joined}");
    assert!(joined["entries"].as_u64().unwrap() > 6, "{joined}");
    assert!(joined["chunks"].as_u64().unwrap() >= 1, "{joined}");
    assert!(joined["bytes"].as_u64().unwrap() > 1_000, "{joined}");
    assert_eq!(
        joined["state_root"],
        net.block(1, base)["state_root"],
        "the imported root is the certified one"
    );
    // A second join into the same home is refused, and changes nothing.
    let again = filiera()
        .args(["join", "--home"])
        .arg(&home)
        .args(["--from", &net.url(1, "")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        !again.status.success() && stderr.contains("already holds the chain"),
        "{stderr}"
    );

    net.nodes.push(Some(spawn(&home)));
    let url_of = |path: &str| format!("http://127.0.0.1:{api_port}{path}");
    wait_api(&url_of("/v1/status"));
    wait_until("the observer did not follow", 200, || {
        (height_at(&url_of("/v1/status")) >= base + 4).then_some(())
    });
    let status = get(&url_of("/v1/status")).unwrap();
    assert!(status["peers"].as_u64().unwrap() >= 1, "{status}");
    assert!(
        get(&url_of(&format!("/v1/blocks/{}", base - 1))).is_none(),
        "blocks before the snapshot were never fetched"
    );
    for h in base + 1..=base + 4 {
        let mine = get(&url_of(&format!("/v1/blocks/{h}"))).expect("synced block");
        let theirs = net.block(0, h);
        assert_eq!(mine["hash"], theirs["hash"], "height {h}");
        assert_eq!(mine["state_root"], theirs["state_root"], "height {h}");
    }
    // Its records are the validators', and prove themselves from genesis.
    let path = "/v1/lots/09521234100010/CU-2026-OBS3";
    let mine = get(&url_of(path)).expect("the observer serves the lot");
    let theirs = get(&net.url(0, path)).unwrap();
    assert_eq!(mine["lot"], theirs["lot"]);
    let stdout = run_ok(
        filiera()
            .args([
                "verify",
                &url_of("/01/09521234100010/10/CU-2026-OBS3"),
                "--genesis",
            ])
            .arg(net.dir.join("genesis.json")),
    );
    assert!(stdout.contains("VERIFIED lot"), "{stdout}");
    // A transaction committed after the join reaches it too.
    commit_ok(
        &net,
        0,
        0,
        &commission(&chain, &producer, 6, "CU-2026-OBS6"),
    );
    wait_until("the observer missed a new lot", 200, || {
        get(&url_of("/v1/lots/09521234100010/CU-2026-OBS6"))
    });
}

/// Waits for a child to exit by itself; its status.
pub(crate) fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    wait_until("the node did not stop by itself", 100, || {
        child.try_wait().unwrap()
    })
}

#[test]
fn a_validator_restored_from_an_online_backup_rejoins_halt_height_stops_a_node_and_a_future_format_is_refused()
 {
    let _serial = one_network_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let mut net = Net::new(&tmp.path().join("localnet"));
    net.wait_height(&[0, 1, 2, 3], 2);
    let chain = ChainId::new("filiera-marche-localnet").unwrap();
    let producer = read_key(&net.dir.join("orgs/caseificio-montefeltro-demo.json"));
    commit_ok(
        &net,
        0,
        3,
        &commission(&chain, &producer, 0, "CU-2026-BAK0"),
    );

    // Online backup of node 3, taken by the running node through its admin socket.
    let out = net.dir.join("backup-node3");
    let answer = run_ok(
        filiera()
            .args(["--json", "backup", "--home"])
            .arg(net.home(3))
            .arg("--out")
            .arg(&out),
    );
    let answer: Value = serde_json::from_str(answer.trim()).unwrap();
    let manifest = &answer["manifest"];
    let backed_up = manifest["height"].as_u64().unwrap();
    assert!(backed_up >= 2, "{answer}");
    assert_eq!(
        manifest["state_root"],
        net.block(0, backed_up)["state_root"],
        "the backup holds the certified state of its height"
    );
    assert!(out.join("wal").is_dir() && out.join("manifest.json").is_file());
    let again = filiera()
        .args(["backup", "--home"])
        .arg(net.home(3))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!again.status.success(), "a backup never overwrites");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    // The chain moves on; node 3 loses its disk.
    commit_ok(
        &net,
        0,
        0,
        &commission(&chain, &producer, 1, "CU-2026-BAK1"),
    );
    net.kill9(3);
    let data = net.home(3).join("data");
    std::fs::remove_dir_all(&data).unwrap();
    let restored = run_ok(
        filiera()
            .args(["--json", "restore", "--home"])
            .arg(net.home(3))
            .arg("--from")
            .arg(&out),
    );
    let restored: Value = serde_json::from_str(restored.trim()).unwrap();
    assert_eq!(restored["manifest"], *manifest);
    let twice = filiera()
        .args(["restore", "--home"])
        .arg(net.home(3))
        .arg("--from")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        !twice.status.success()
            && String::from_utf8_lossy(&twice.stderr).contains("holds a database"),
        "a restore never overwrites a database"
    );
    // Restarted, it syncs what it missed and votes again: no fork.
    net.restart(3);
    let h = net.height(0);
    net.wait_height(&[0, 3], h + 3);
    net.assert_no_fork(&[0, 3], h + 2);
    assert!(
        get(&net.url(3, "/v1/lots/09521234100010/CU-2026-BAK1")).is_some(),
        "the lot committed while it was down reached it by sync"
    );

    // halt_height: node 2 stops by itself after committing it, and will not
    // start again until the setting is raised.
    let halt = net.height(2) + 3;
    net.kill9(2);
    let config = net.home(2).join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("halt_height = 0", &format!("halt_height = {halt}")),
    )
    .unwrap();
    let mut child = spawn(&net.home(2));
    let status = wait_exit(&mut child);
    assert!(status.success(), "halting is a clean stop: {status}");
    let log = std::fs::read_to_string(net.home(2).join("node.log")).unwrap();
    assert!(log.contains("halt_height reached"), "{log}");
    let refused = filiera()
        .args(["start", "--home"])
        .arg(net.home(2))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains(&format!("halt_height {halt} reached")),
        "{stderr}"
    );
    // The store holds exactly the halt height: a backup of the stopped node says so.
    let stopped = run_ok(
        filiera()
            .args(["--json", "backup", "--home"])
            .arg(net.home(2))
            .arg("--out")
            .arg(net.dir.join("backup-node2")),
    );
    let stopped: Value = serde_json::from_str(stopped.trim()).unwrap();
    assert_eq!(stopped["manifest"]["height"], halt);

    // A data directory written by a future format: refused at start, named.
    let db = net.home(2).join("data/db");
    {
        let names = rocksdb::DB::list_cf(&rocksdb::Options::default(), &db).unwrap();
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), &db, names).unwrap();
        db.put_cf(
            db.cf_handle("meta").unwrap(),
            b"format_version",
            99u32.to_be_bytes(),
        )
        .unwrap();
    }
    std::fs::write(&config, &text).unwrap();
    let refused = filiera()
        .args(["start", "--home"])
        .arg(net.home(2))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    let expected = format!(
        "storage format 99; this binary reads format {}",
        filiera_storage::STORAGE_FORMAT_VERSION
    );
    assert!(
        !refused.status.success() && stderr.contains(&expected),
        "{stderr}"
    );
}

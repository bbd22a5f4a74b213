//! Hostile inputs at the edges of a live network, counted: forged and
//! replayed transactions (same node, every other node, after a restart,
//! another chain), role violations, malformed and oversized bodies, slow
//! headers, markup stored in strings, EPCIS documents stored under an id
//! they do not hash to or with lots they do not name, and junk on the peer
//! port. Each must
//! be refused with a clear error (a status and a stable code) or, for role
//! violations, fail in execution; none may change state; every node must
//! stay healthy and the chain keep going.

use crate::faults::check;
use crate::faults::cluster::Cluster;
use crate::faults::load::Ack;
use crate::load::mix::{self, Role, Sender};
use anyhow::{Context, Result};
use filiera_contract_api::lots::{Capture, CapturedAction, LotRef};
use filiera_contract_api::registry::{AuthorityAction, OrgStatus};
use filiera_types::{ChainId, ContractCall, SignedTransaction, Transaction};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Forged variants (one byte flipped) sent to each node.
pub const FORGERIES_PER_NODE: usize = 25;
/// Junk bodies sent to each node.
pub const JUNK_BODIES_PER_NODE: usize = 25;
/// Acknowledged transactions replayed to each node.
pub const REPLAYS_PER_NODE: usize = 10;
/// How long the stranger listens for gossip, ms.
const STRANGER_LISTEN_MS: u64 = 5_000;
/// Transactions in the stranger's batch.
const STRANGER_BATCH_TXS: u64 = 16;
/// A body over every submit limit, bytes.
const OVERSIZED_BODY_BYTES: usize = 8 << 20;
/// Longest the node may keep a connection that never finishes its headers, ms
/// (the API's header read timeout is 5 s).
const SLOW_HEADERS_BOUND_MS: u64 = 15_000;
/// Longest wait for a restarted node to commit again.
const RESTART_BOUND: Duration = Duration::from_secs(60);
/// Longest wait for a transaction to commit, ms.
const COMMIT_BOUND_MS: u64 = 30_000;

/// Counts of one category.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Category {
    /// Inputs tried.
    pub tried: u64,
    /// Refused (or failed in execution) as expected, with a clear error.
    pub refused: u64,
    /// Answers by status and code, e.g. "422 bad_signature".
    pub answers: BTreeMap<String, u64>,
}

/// Everything the hostile phase did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Hostile {
    /// By category.
    pub categories: BTreeMap<String, Category>,
    /// What went wrong: an input taken, a state change, a sick node.
    pub failures: Vec<String>,
    /// The edge phase's figures (lookups calm and during a write flood).
    pub edge: Option<crate::faults::edge::Edge>,
}

impl Hostile {
    fn count(&mut self, category: &str, answer: String, refused: bool, what: &str) {
        let c = self.categories.entry(category.to_owned()).or_default();
        c.tried += 1;
        *c.answers.entry(answer.clone()).or_default() += 1;
        if refused {
            c.refused += 1;
        } else if self.failures.len() < 20 {
            self.failures
                .push(format!("{category}: {what} was answered {answer}"));
        }
    }

    /// Inputs tried, in all.
    pub fn tried(&self) -> u64 {
        self.categories.values().map(|c| c.tried).sum()
    }

    /// Inputs refused, in all.
    pub fn refused(&self) -> u64 {
        self.categories.values().map(|c| c.refused).sum()
    }
}

/// Status and error code of an answer ("transport" if there was none). A
/// new connection each time: the node closes one whose body it refused, and
/// a pooled connection would fail the next request.
fn post(url: &str, body: &[u8], headers: &[(&str, &str)]) -> (u16, String) {
    let agent = check::agent(10_000);
    let mut req = agent.post(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    status_and_code(req.send(body))
}

/// Status and error code of an answer ("transport" if there was none).
fn status_and_code(answer: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, String) {
    match answer {
        Ok(mut r) => {
            let status = r.status().as_u16();
            let v: Value = r.body_mut().read_json().unwrap_or_default();
            (status, v["code"].as_str().unwrap_or("").to_owned())
        }
        Err(_) => (0, "transport".into()),
    }
}

/// Announces a capture of `bytes` without a token and waits for the node's
/// first answer line (a "100 Continue" would mean it asked for the body).
fn expect_continue(api: &str, bytes: usize) -> String {
    let Some(addr) = api.strip_prefix("http://") else {
        return "not an http:// API".into();
    };
    let Ok(mut socket) = TcpStream::connect(addr) else {
        return "no connection".into();
    };
    let _ = socket.set_read_timeout(Some(Duration::from_secs(10)));
    let head = format!(
        "POST /epcis/capture HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {bytes}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    );
    if socket.write_all(head.as_bytes()).is_err() {
        return "headers not sent".into();
    }
    let mut answer = vec![0u8; 256];
    match socket.read(&mut answer) {
        Ok(n) => String::from_utf8_lossy(&answer[..n])
            .lines()
            .next()
            .unwrap_or("")
            .to_owned(),
        Err(e) => format!("no answer: {e}"),
    }
}

fn submit(api: &str, bytes: &[u8]) -> (u16, String) {
    post(
        &format!("{api}/v1/txs"),
        bytes,
        &[("content-type", "application/octet-stream")],
    )
}

/// Submits a batch; the status and each transaction's code ("" if admitted).
fn submit_batch(api: &str, txs: &[SignedTransaction]) -> (u16, Vec<String>) {
    let agent = check::agent(10_000);
    let body = filiera_types::encoding::encode(&txs.to_vec());
    match agent
        .post(&format!("{api}/v1/txs/batch"))
        .header("content-type", "application/octet-stream")
        .send(&body[..])
    {
        Ok(mut r) => {
            let status = r.status().as_u16();
            let v: Value = r.body_mut().read_json().unwrap_or_default();
            let codes = v["results"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|r| r["code"].as_str().unwrap_or("").to_owned())
                        .collect()
                })
                .unwrap_or_default();
            (status, codes)
        }
        Err(_) => (0, Vec::new()),
    }
}

/// Sends `OVERSIZED_BODY_BYTES` to `path` on a raw connection and returns the
/// status the node answers (0: none). The node may answer and close before
/// the body is all sent; a client library would report only the broken pipe.
fn oversized(api: &str, path: &str) -> Result<u16> {
    let addr = api.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr)?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: filiera\r\nContent-Type: application/octet-stream\r\nAuthorization: Bearer not-a-token\r\nContent-Length: {OVERSIZED_BODY_BYTES}\r\nConnection: close\r\n\r\n"
    )?;
    // Look for the answer between chunks: once the node closes, a reset
    // would throw away an answer not read yet.
    let chunk = vec![0u8; 64 * 1024];
    let mut head = Vec::new();
    let mut buf = [0u8; 256];
    let mut sent = 0;
    s.set_nonblocking(true)?;
    let deadline = Instant::now() + Duration::from_secs(15);
    while head.len() < 12 && Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                head.extend_from_slice(&buf[..n]);
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => break,
        }
        if sent >= OVERSIZED_BODY_BYTES {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        match s.write(&chunk) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(_) => sent = OVERSIZED_BODY_BYTES,
        }
    }
    let line = String::from_utf8_lossy(&head);
    Ok(line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0))
}

fn answer((status, code): &(u16, String)) -> String {
    format!("{status} {code}")
}

/// A 4xx with a code: what a clear refusal looks like.
fn clear_refusal((status, code): &(u16, String)) -> bool {
    (400..500).contains(status) && !code.is_empty()
}

fn sign(
    s: &Sender,
    chain: &ChainId,
    nonce: u64,
    expiry: u64,
    call: ContractCall,
) -> Result<SignedTransaction> {
    Ok(Transaction {
        chain_id: chain.clone(),
        sender: s.key.public_key(),
        nonce,
        expiry_height: expiry,
        call,
    }
    .sign(&s.key)?)
}

fn nonce_of(agent: &ureq::Agent, api: &str, s: &Sender) -> Option<u64> {
    let url = format!("{api}/v1/accounts/{}/nonce", s.key.public_key());
    check::get_json(agent, &url)?["next_nonce"].as_u64()
}

fn wait_committed(agent: &ureq::Agent, api: &str, tx: &SignedTransaction) -> Option<Value> {
    let deadline = Instant::now() + Duration::from_millis(COMMIT_BOUND_MS);
    while Instant::now() < deadline {
        if let Some(v) = check::tx_status(agent, api, &tx.hash().to_hex())
            && v["status"] != "pending"
        {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

fn lot_exists(agent: &ureq::Agent, api: &str, lot: &LotRef) -> bool {
    agent
        .get(format!("{api}/v1/lots/{}/{}", lot.gtin, lot.lot))
        .call()
        .is_ok_and(|r| r.status().as_u16() == 200)
}

/// A sender the door must refuse, and how.
struct Door<'a> {
    sender: &'a Sender,
    chain: &'a ChainId,
    nonce: u64,
    expiry: u64,
    lot: &'a LotRef,
    /// The code every refusal must carry.
    code: &'a str,
    /// Who sends, for the report's rows ("a stranger").
    who: &'a str,
    /// Whose key it is, for the report's descriptions.
    what: &'a str,
}

/// Sends `door.sender`'s well-signed commission alone, then a batch of
/// them, to `api`; each counts as refused only with 403 / every item
/// `door.code`.
fn refused_at_door(h: &mut Hostile, api: &str, door: Door<'_>) -> Result<()> {
    let tx = |nonce: u64| {
        sign(
            door.sender,
            door.chain,
            nonce,
            door.expiry,
            mix::commission(door.lot.clone())?,
        )
    };
    let a = submit(api, &tx(door.nonce)?.encode());
    h.count(
        &format!("{}'s transaction", door.who),
        answer(&a),
        a == (403, door.code.to_owned()),
        &format!("a well-signed transaction of {}", door.what),
    );
    let batch = (0..STRANGER_BATCH_TXS)
        .map(|n| tx(door.nonce + n))
        .collect::<Result<Vec<_>>>()?;
    let (status, codes) = submit_batch(api, &batch);
    h.count(
        &format!("{}'s batch", door.who),
        format!("{status} {}", codes.first().map_or("", |c| c.as_str())),
        status == 200 && codes.len() == batch.len() && codes.iter().all(|c| c == door.code),
        &format!("a batch of {}", door.what),
    );
    Ok(())
}

/// The authority sets `org`'s status: key 0 proposes, the next keys approve
/// up to the threshold; each transaction committed before the next.
fn authority_sets(
    agent: &ureq::Agent,
    api: &str,
    dir: &std::path::Path,
    genesis: &filiera_types::genesis::Genesis,
    org: &str,
    status: OrgStatus,
) -> Result<()> {
    let expiry = check::top_height(agent, &[api.to_owned()]) + 50;
    let mut proposal: Option<u64> = None;
    for j in 0..genesis.authority.threshold {
        let key = filiera_client::keys::read(&dir.join("authority").join(format!("key-{j}.json")))?;
        let signer = Sender {
            key,
            role: Role::Producer {
                gtin: String::new(),
            },
            nonce: 0,
            last_lot: None,
        };
        let nonce = nonce_of(agent, api, &signer).context("authority key nonce")?;
        let args = match proposal {
            None => filiera_contract_api::encode(&AuthorityAction::SetOrgStatus {
                org: org.to_owned(),
                status,
            }),
            Some(id) => filiera_contract_api::encode(&id),
        };
        let method = if proposal.is_none() {
            "propose"
        } else {
            "approve"
        };
        let call = mix::call(filiera_contract_api::contract_ids::REGISTRY, method, args)?;
        let tx = sign(&signer, &genesis.chain_id, nonce, expiry, call)?;
        let a = submit(api, &tx.encode());
        anyhow::ensure!(a.0 == 202, "authority {method}: {}", answer(&a));
        let receipt =
            wait_committed(agent, api, &tx).context("authority transaction never committed")?;
        anyhow::ensure!(receipt["success"] == true, "authority {method}: {receipt}");
        if proposal.is_none() {
            let data = hex::decode(receipt["return_data"].as_str().unwrap_or_default())?;
            proposal = Some(filiera_contract_api::decode(&data).context("proposal id")?);
        }
    }
    Ok(())
}

/// A commissioning event of `lot` (no site), as a producer's software sends it.
fn commissioning(lot: &LotRef) -> String {
    format!(
        r#"{{"type":"ObjectEvent","action":"ADD","bizStep":"commissioning",
        "eventTime":"2026-11-24T06:00:00.000+01:00","eventTimeZoneOffset":"+01:00",
        "quantityList":[{{"epcClass":"https://id.gs1.org/01/{}/10/{}","quantity":1000}}]}}"#,
        lot.gtin, lot.lot
    )
}

/// The lots `capture` of `event` as the node's API builds it, then changed
/// by `tamper`; with the event's own id.
fn epcis_capture(
    event: &str,
    tamper: impl FnOnce(&mut Capture),
) -> Result<(ContractCall, [u8; 32])> {
    let document = format!(
        r#"{{"@context":["{}"],"type":"EPCISDocument","schemaVersion":"2.0",
        "creationDate":"2026-11-25T10:00:00.000+01:00","epcisBody":{{"eventList":[{event}]}}}}"#,
        filiera_epcis::EPCIS_CONTEXT
    );
    let parsed = filiera_epcis::parse_document(document.as_bytes())?;
    let (id, value) = parsed.events.first().context("one event")?;
    let mut capture = filiera_epcis::capture_call(id, value, &|_| None)?;
    tamper(&mut capture);
    let call = mix::call(
        filiera_contract_api::contract_ids::LOTS,
        "capture",
        filiera_contract_api::encode(&capture),
    )?;
    Ok((call, id.0))
}

/// Makes a capture's action claim the event id `id`.
fn claim(capture: &mut Capture, id: [u8; 32]) {
    match &mut capture.action {
        CapturedAction::Commission(a) => a.epcis_hash = Some(id),
        CapturedAction::Transform(a) => a.epcis_hash = Some(id),
        CapturedAction::Record(a) => a.epcis_hash = Some(id),
    }
}

/// Waits until the restarted node behind `api` has committed past `height`.
fn back_up(api: &str, height: u64) -> Result<()> {
    check::wait_progress(std::slice::from_ref(&api.to_owned()), height, RESTART_BOUND)
        .with_context(|| format!("{api} did not come back after a restart"))
        .map(|_| ())
}

/// Runs every hostile input against `net`; `acks` are transactions the load
/// had committed (replayed here). Restarts one node on the way.
pub fn run(net: &mut Cluster, acks: &[Ack], seed: u64) -> Result<Hostile> {
    let mut h = Hostile::default();
    let mut rng = StdRng::seed_from_u64(seed ^ 0x0405_711e);
    let agent = check::agent(10_000);
    let (genesis, senders) = mix::senders(&net.dir)?;
    let apis = net.apis.clone();
    let height = check::top_height(&agent, &apis);
    let expiry = height + genesis.consensus.tx_expiry_blocks_max / 2;
    // The load never signs with the certification bodies' keys: their nonce is 0.
    let body = senders
        .iter()
        .find(|s| matches!(s.role, Role::Body { .. }))
        .context("no certification body key")?;
    let producers: Vec<&Sender> = senders
        .iter()
        .filter(|s| matches!(s.role, Role::Producer { .. }))
        .collect();
    let Role::Producer { gtin: own_gtin } = &producers[0].role else {
        unreachable!("filtered on producers")
    };
    let foreign_gtin = producers
        .iter()
        .find_map(|s| match &s.role {
            Role::Producer { gtin } if gtin != own_gtin => Some(gtin.clone()),
            _ => None,
        })
        .context("one producer only")?;

    // Forged: a valid transaction with one byte flipped, anywhere.
    let probe_lot = LotRef {
        gtin: foreign_gtin.clone(),
        lot: "HOSTILE-FORGED".into(),
    };
    let honest = sign(
        body,
        &genesis.chain_id,
        0,
        expiry,
        mix::commission(probe_lot.clone())?,
    )?
    .encode();
    for api in &apis {
        for _ in 0..FORGERIES_PER_NODE {
            let mut forged = honest.clone();
            let at = rng.random_range(0..forged.len());
            forged[at] ^= 1 << rng.random_range(0..8);
            let a = submit(api, &forged);
            h.count(
                "forged transaction (one bit flipped)",
                answer(&a),
                clear_refusal(&a),
                "a forged transaction",
            );
        }
        // Signed right, for another chain.
        let other = sign(
            body,
            &ChainId::new("another-chain")?,
            0,
            expiry,
            mix::commission(probe_lot.clone())?,
        )?;
        let a = submit(api, &other.encode());
        h.count(
            "another chain's transaction",
            answer(&a),
            clear_refusal(&a),
            "a transaction of another chain",
        );
    }

    // Only members write: a stranger's well-signed transactions, alone and
    // in a batch, are refused as such at every node, and leave no nonce.
    let outsider = Sender {
        key: filiera_types::SecretKey::from_seed(&rng.random()),
        role: Role::Producer {
            gtin: own_gtin.clone(),
        },
        nonce: 0,
        last_lot: None,
    };
    let stranger_lot = LotRef {
        gtin: own_gtin.clone(),
        lot: "HOSTILE-STRANGER".into(),
    };
    for api in &apis {
        refused_at_door(
            &mut h,
            api,
            Door {
                sender: &outsider,
                chain: &genesis.chain_id,
                nonce: 0,
                expiry,
                lot: &stranger_lot,
                code: "not_member",
                who: "a stranger",
                what: "a key of no member",
            },
        )?;
    }

    // A suspended member's well-signed transactions, alone and in a batch,
    // are refused at the door (not_active) at every node and leave its nonce
    // where it was; reinstated, the organisation writes again later on.
    let (suspended_org, suspended_gtin) = mix::PRODUCERS[4];
    let member = producers
        .iter()
        .find(|s| matches!(&s.role, Role::Producer { gtin } if gtin == suspended_gtin))
        .context("no key of the producer to suspend")?;
    authority_sets(
        &agent,
        &apis[0],
        &net.dir,
        &genesis,
        suspended_org,
        OrgStatus::Suspended,
    )?;
    let suspended_at = check::top_height(&agent, &apis[..1]);
    check::wait_progress(&apis, suspended_at, Duration::from_millis(COMMIT_BOUND_MS))?;
    let nonces: Vec<Option<u64>> = apis
        .iter()
        .map(|api| nonce_of(&agent, api, member))
        .collect();
    let suspended_lot = LotRef {
        gtin: suspended_gtin.to_owned(),
        lot: "HOSTILE-SUSPENDED".into(),
    };
    for (api, nonce) in apis.iter().zip(&nonces) {
        refused_at_door(
            &mut h,
            api,
            Door {
                sender: member,
                chain: &genesis.chain_id,
                nonce: nonce.context("the member's nonce")?,
                expiry,
                lot: &suspended_lot,
                code: "not_active",
                who: "a suspended member",
                what: "a suspended organisation",
            },
        )?;
    }
    for (api, before) in apis.iter().zip(&nonces) {
        let after = nonce_of(&agent, api, member);
        if after != *before {
            h.failures.push(format!(
                "{api}: the suspended member's nonce moved from {before:?} to {after:?}"
            ));
        }
        if lot_exists(&agent, api, &suspended_lot) {
            h.failures
                .push(format!("{api}: the suspended member's lot exists"));
        }
    }
    authority_sets(
        &agent,
        &apis[0],
        &net.dir,
        &genesis,
        suspended_org,
        OrgStatus::Active,
    )?;

    // Replays of committed transactions, to every node.
    let replay_set: Vec<&Ack> = acks
        .iter()
        .rev()
        .step_by(7)
        .take(REPLAYS_PER_NODE)
        .collect();
    for api in &apis {
        for ack in &replay_set {
            let a = submit(api, &ack.bytes);
            h.count(
                "replayed committed transaction",
                answer(&a),
                clear_refusal(&a),
                "a replay",
            );
        }
    }
    // ... and after a restart, to the restarted node.
    let victim = rng.random_range(0..net.len());
    net.restart_node(victim, None)?;
    back_up(&apis[victim], height)?;
    for ack in &replay_set {
        let a = submit(&apis[victim], &ack.bytes);
        h.count(
            "replayed after a restart",
            answer(&a),
            clear_refusal(&a),
            "a replay after a restart",
        );
    }

    // Role violations: admitted (the signature is fine) but refused by the
    // contract, for the reason given.
    let own_lot = |name: &str| LotRef {
        gtin: own_gtin.clone(),
        lot: name.into(),
    };
    // The event another producer will send: anyone who knows or guesses its
    // contents can compute its id.
    let (_, future_id) = epcis_capture(
        &commissioning(&LotRef {
            gtin: foreign_gtin.clone(),
            lot: "HOSTILE-FUTURE".into(),
        }),
        |_| {},
    )?;
    let violations: Vec<(&str, &Sender, ContractCall, LotRef, &str)> = vec![
        (
            "a certification body registers a lot",
            body,
            mix::commission(probe_lot.clone())?,
            probe_lot.clone(),
            "may not do this",
        ),
        (
            "EPCIS id squat: a member stores its document under another member's future event id",
            producers[0],
            epcis_capture(&commissioning(&own_lot("HOSTILE-SQUAT")), |c| {
                claim(c, future_id)
            })?
            .0,
            own_lot("HOSTILE-SQUAT"),
            "hashes (CBV 2.0) to",
        ),
        (
            "planted EPCIS document: a member's lot action with a document naming another member's lot",
            producers[0],
            epcis_capture(
                &commissioning(&LotRef {
                    gtin: foreign_gtin.clone(),
                    lot: "HOSTILE-PLANTED".into(),
                }),
                |c| {
                    if let CapturedAction::Commission(a) = &mut c.action {
                        a.id = own_lot("HOSTILE-PLANTED");
                    }
                },
            )?
            .0,
            own_lot("HOSTILE-PLANTED"),
            "not the one the EPCIS event describes",
        ),
        {
            let lot = LotRef {
                gtin: foreign_gtin.clone(),
                lot: "HOSTILE-FOREIGN".into(),
            };
            (
                "a producer registers a lot of another's GTIN",
                producers[0],
                mix::commission(lot.clone())?,
                lot,
                "belongs to",
            )
        },
    ];
    for (what, s, call, lot, reason) in violations {
        let api = &apis[rng.random_range(0..apis.len())];
        let Some(nonce) = nonce_of(&agent, api, s) else {
            h.failures.push(format!("{what}: no nonce from {api}"));
            continue;
        };
        let tx = sign(s, &genesis.chain_id, nonce, expiry, call)?;
        let a = submit(api, &tx.encode());
        let outcome = if a.0 == 202 {
            match wait_committed(&agent, api, &tx) {
                Some(v) if v["status"] == "failed" => (
                    v["message"].as_str().unwrap_or("").contains(reason),
                    format!(
                        "failed in execution: {}",
                        v["message"].as_str().unwrap_or("")
                    ),
                ),
                Some(v) => (false, format!("committed: {}", v["status"])),
                None => (false, "never committed".into()),
            }
        } else {
            (clear_refusal(&a), answer(&a))
        };
        let created = apis.iter().any(|api| lot_exists(&agent, api, &lot));
        h.count("role violation", outcome.1, outcome.0 && !created, what);
        if created {
            h.failures.push(format!("{what}: the lot exists"));
        }
    }

    // Malformed and oversized bodies.
    for api in &apis {
        for _ in 0..JUNK_BODIES_PER_NODE {
            let len = rng.random_range(0..4_096);
            let junk: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            let a = submit(api, &junk);
            h.count(
                "malformed transaction bytes",
                answer(&a),
                clear_refusal(&a),
                "junk bytes",
            );
        }
        for path in ["/v1/txs", "/v1/txs/batch", "/epcis/capture"] {
            let status = oversized(api, path)?;
            h.count(
                "oversized body",
                format!("{status}"),
                status == 413 || (path == "/epcis/capture" && status == 401),
                &format!("8 MiB to {path}"),
            );
        }
        // A batch that claims four billion transactions.
        let a = post(
            &format!("{api}/v1/txs/batch"),
            &u32::MAX.to_le_bytes(),
            &[("content-type", "application/octet-stream")],
        );
        h.count(
            "malformed batch",
            answer(&a),
            clear_refusal(&a),
            "a batch claiming 2^32-1 transactions",
        );
        let a = post(
            &format!("{api}/epcis/capture"),
            b"{}",
            &[
                ("content-type", "application/json"),
                ("authorization", "Bearer not-a-token"),
            ],
        );
        h.count(
            "EPCIS capture without a valid token",
            answer(&a),
            a.0 == 401,
            "a capture with a wrong token",
        );
        // A 4 MiB document with no token, announced with `Expect:
        // 100-continue` as careful clients send large bodies: the node
        // refuses it from the headers (401) without asking for the body.
        let first_line = expect_continue(api, filiera_epcis::DOCUMENT_BYTES_MAX);
        h.count(
            "4 MiB EPCIS document without a token (Expect: 100-continue)",
            first_line.clone(),
            first_line.starts_with("HTTP/1.1 401"),
            "a 4 MiB capture with no token",
        );
        // Capture jobs are read with their organisation's token only: none,
        // or a wrong one, learns nothing (not even whether the job exists).
        for token in [None, Some("Bearer not-a-token")] {
            let mut req = agent.get(format!("{api}/epcis/capture/{}", "0".repeat(32)));
            if let Some(t) = token {
                req = req.header("authorization", t);
            }
            let a = status_and_code(req.call());
            h.count(
                "capture job read without its organisation's token",
                answer(&a),
                a == (401, "unauthorized".to_owned()),
                "a capture job read with no or a wrong token",
            );
        }
    }

    // Slow headers: a connection that never finishes its request is closed.
    for api in &apis {
        let addr = api.trim_start_matches("http://");
        let started = Instant::now();
        let mut s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_millis(SLOW_HEADERS_BOUND_MS)))?;
        s.write_all(b"GET /health HTTP/1.1\r\nHost: filiera\r\nX-Slow: ")?;
        let mut buf = [0u8; 1024];
        let closed = s.read(&mut buf).is_ok();
        let ms = started.elapsed().as_millis();
        h.count(
            "slow headers",
            format!("closed after {} s", ms / 1000),
            closed && ms < u128::from(SLOW_HEADERS_BOUND_MS),
            "a request whose headers never end",
        );
    }

    // The stranger left nothing in state, on any node, by now.
    for api in &apis {
        match nonce_of(&agent, api, &outsider) {
            Some(0) => {}
            other => h
                .failures
                .push(format!("{api}: the stranger's nonce is {other:?}, not 0")),
        }
    }

    // Junk on the peer port: the handshake fails, the node goes on.
    for addr in net.p2p_addrs.clone() {
        let junk: Vec<u8> = (0..65_536).map(|_| rng.random()).collect();
        let mut s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        let _ = s.write_all(&junk);
        let mut buf = [0u8; 1024];
        let closed = matches!(s.read(&mut buf), Ok(0) | Err(_));
        h.count(
            "junk on the peer port",
            if closed {
                "closed".into()
            } else {
                "answered".into()
            },
            closed,
            "64 KiB of junk instead of a handshake",
        );
    }

    // A stranger (a key no genesis lists) dials every node and publishes a
    // vote: it must not get a single gossip message, nor deliver one.
    let validators: Vec<filiera_types::PublicKey> =
        genesis.validators.iter().map(|v| v.p2p_key).collect();
    for addr in net.p2p_addrs.clone() {
        let heard = stranger(addr, &validators, rng.random())?;
        h.count(
            "unregistered peer connects and votes",
            format!("{heard} gossip messages reached it"),
            heard == 0,
            "a peer with an unlisted key",
        );
    }

    // Markup stored in strings comes back escaped on the consumer page.
    let markup = "<script>alert('filiera')</script><img src=x onerror=alert(1)>";
    let lot = LotRef {
        gtin: own_gtin.clone(),
        lot: "HOSTILE-MARKUP".into(),
    };
    let api = &apis[0];
    if let Some(nonce) = nonce_of(&agent, api, producers[0]) {
        let call = mix::commission_with_note(lot.clone(), markup)?;
        let tx = sign(producers[0], &genesis.chain_id, nonce, expiry, call)?;
        let a = submit(api, &tx.encode());
        let committed = a.0 == 202
            && wait_committed(&agent, api, &tx).is_some_and(|v| v["status"] == "committed");
        let page = agent
            .get(format!("{api}/01/{}/10/{}", lot.gtin, lot.lot))
            .header("accept", "text/html")
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_to_string().ok())
            .unwrap_or_default();
        let escaped = page.contains("&lt;script&gt;")
            && !page.contains("<script>alert")
            && !page.contains("<img src=x");
        h.count(
            "markup stored in a string",
            if escaped {
                "escaped on the page".into()
            } else {
                format!("committed={committed}, page not escaped")
            },
            committed && escaped,
            "a lot whose description is markup",
        );
    } else {
        h.failures.push("markup: no nonce".into());
    }

    // The edge under abuse, on a node with its limits on: shoppers looking
    // up the page above calm and during a write flood, a read flood, a
    // client rotating addresses inside one /64.
    let edged = rng.random_range(0..net.len());
    net.kill_node(edged)?;
    net.start_node_rate_limited(edged)?;
    back_up(&apis[edged], height)?;
    let page = format!("/01/{}/10/{}", lot.gtin, lot.lot);
    let flood_call = mix::commission(LotRef {
        gtin: own_gtin.clone(),
        lot: "HOSTILE-FLOOD".into(),
    })?;
    let edge =
        crate::faults::edge::run(&apis[edged], &page, &genesis.chain_id, expiry, &flood_call)?;
    let failures = edge.failures();
    // Handled only if the abuser was limited and everyone else was served.
    let mut handled = |name: &str, answers: &BTreeMap<String, u64>, others_served: bool| {
        let limited = answers.keys().any(|a| a.starts_with("429"));
        h.categories.insert(
            name.into(),
            Category {
                tried: 1,
                refused: u64::from(limited && others_served),
                answers: answers.clone(),
            },
        );
    };
    handled(
        "write flood from one client during QR lookups",
        &edge.flood_answers,
        edge.flooded.not_ok == 0 && edge.flooded.ok > 0,
    );
    handled(
        "read flood from one client",
        &edge.read_flood,
        edge.other_client_status == 200,
    );
    handled(
        "client rotating addresses inside one /64",
        &edge.rotated,
        edge.next_prefix_status == 200,
    );
    h.failures.extend(failures);
    h.edge = Some(edge);
    // Back to the harness's setting: the checker reads every block.
    net.restart_node(edged, None)?;
    back_up(&apis[edged], height)?;

    // Nothing changed: the body's nonce is still 0 on every node (the forged
    // and other-chain transactions were its only ones besides the violation,
    // which fails and spends at most one nonce), the forged lot does not exist.
    for api in &apis {
        if nonce_of(&agent, api, body).is_some_and(|n| n > 1) {
            h.failures.push(format!(
                "{api}: the certification body's nonce moved past 1"
            ));
        }
    }
    // Every node healthy and the chain going on.
    for api in &apis {
        let ok = agent
            .get(format!("{api}/health"))
            .call()
            .is_ok_and(|r| r.status().as_u16() == 200);
        if !ok {
            h.failures
                .push(format!("{api}/health is not 200 after the hostile inputs"));
        }
    }
    let top = check::top_height(&agent, &apis);
    if let Err(e) = check::wait_progress(&apis, top, RESTART_BOUND) {
        h.failures.push(format!("after the hostile inputs: {e}"));
    }
    Ok(h)
}

/// Runs a libp2p peer with a key of its own that allows the validators,
/// dials `addr`, publishes votes and counts the gossip messages it gets.
fn stranger(
    addr: std::net::SocketAddr,
    validators: &[filiera_types::PublicKey],
    seed: [u8; 32],
) -> Result<usize> {
    use filiera_p2p::{Network, NetworkConfig, NetworkEvent, Topic};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (network, mut events) = Network::start(NetworkConfig {
            node_key_seed: zeroize::Zeroizing::new(seed),
            listen: "/ip4/127.0.0.1/tcp/0".parse()?,
            bootstrap: vec![format!("/ip4/{}/tcp/{}", addr.ip(), addr.port()).parse()?],
            allowed: validators.to_vec(),
            validate_gossip: false,
            connection_limits: Default::default(),
        })?;
        let mut heard = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(STRANGER_LISTEN_MS);
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                _ = tick.tick() => {
                    let _ = network.publish(Topic::Consensus, b"a vote from nobody".to_vec()).await;
                }
                event = events.recv() => match event {
                    Some(NetworkEvent::Message { .. }) => heard += 1,
                    Some(_) => {}
                    None => break,
                }
            }
        }
        Ok(heard)
    })
}

//! Senders and the realistic transaction mix, signed before the clock starts.
//!
//! The mix, by share of transactions: 40% lot registrations (`commission`),
//! 45% events on the sender's newest lot (`record`: stored, inspected), 15%
//! attestations by certification bodies on lots registered before the run.
//! Every transaction is meant to succeed: a sender records only on a lot its
//! own earlier nonce registered, and bodies attest only what they are
//! accredited for.

use anyhow::{Context, Result, bail};
use filiera_contract_api::certification::{Attest, Subject};
use filiera_contract_api::lots::{Commission, EventKind, LotRef, Record};
use filiera_contract_api::{contract_ids, encode};
use filiera_types::{
    ChainId, ContractCall, ContractId, Genesis, Hash, MethodName, SecretKey, Transaction,
};
use std::path::Path;

/// The localnet's demo producers and the GTIN each owns.
pub const PRODUCERS: [(&str, &str); 5] = [
    ("caseificio-montefeltro-demo", "09521234100010"),
    ("cantina-cupramontana-demo", "09521234100041"),
    ("frantoio-cartoceto-demo", "09521234100072"),
    ("salumificio-visso-demo", "09521234100065"),
    ("pastificio-campofilone-demo", "09521234100096"),
];

/// What a transaction does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Registers a new lot.
    Commission,
    /// Records an event on a lot.
    Record,
    /// Attests a lot.
    Attest,
}

/// Who signs.
pub enum Role {
    /// A producer key and the GTIN its organisation owns.
    Producer { gtin: String },
    /// A certification body's key and what it may attest: (GTIN, scheme, name).
    Body {
        covers: Vec<(String, String, String)>,
    },
}

/// One signing key.
pub struct Sender {
    /// The key.
    pub key: SecretKey,
    /// Its role.
    pub role: Role,
    /// Its next nonce.
    pub nonce: u64,
    /// The lot it registered last (what its events are about).
    pub last_lot: Option<LotRef>,
}

/// A transaction ready to send.
pub struct Planned {
    /// Due time after the start of the step, µs.
    pub due_us: u64,
    /// Index of its sender.
    pub sender: usize,
    /// Its borsh encoding.
    pub bytes: Vec<u8>,
    /// Its hash.
    pub hash: Hash,
    /// What it does.
    pub kind: Kind,
}

/// Every key of `org` in the localnet `dir`: its own and its load keys.
fn org_keys(dir: &Path, org: &str) -> Result<Vec<SecretKey>> {
    let mut keys = vec![filiera_client::keys::read(
        &dir.join("orgs").join(format!("{org}.json")),
    )?];
    for j in 0.. {
        let path = dir.join("orgs/load").join(format!("{org}-{j}.json"));
        if !path.exists() {
            break;
        }
        keys.push(filiera_client::keys::read(&path)?);
    }
    Ok(keys)
}

/// The producers' and certification bodies' keys of the localnet in `dir`,
/// nonces at 0 (a new network).
pub fn senders(dir: &Path) -> Result<(Genesis, Vec<Sender>)> {
    let genesis = Genesis::from_json(&std::fs::read(dir.join("genesis.json"))?)
        .map_err(|e| anyhow::anyhow!("genesis: {e}"))?;
    let mut out = Vec::new();
    for (org, gtin) in PRODUCERS {
        for key in org_keys(dir, org)? {
            out.push(Sender {
                key,
                role: Role::Producer { gtin: gtin.into() },
                nonce: 0,
                last_lot: None,
            });
        }
    }
    for org in &genesis.organisations {
        let mut covers = Vec::new();
        for (_, gtin) in PRODUCERS {
            let Some(product) = genesis
                .catalogue
                .products
                .iter()
                .find(|p| p.gtin.as_str() == gtin)
            else {
                continue;
            };
            if !attestable_at_once(&genesis, product) {
                continue;
            }
            let accredited = org.accreditations.iter().any(|a| {
                a.scheme == product.scheme
                    && (a.scope.is_empty() || a.scope.contains(&product.name))
            });
            if accredited {
                covers.push((
                    gtin.to_owned(),
                    product.scheme.clone(),
                    product.name.clone(),
                ));
            }
        }
        if covers.is_empty() {
            continue;
        }
        for key in org_keys(dir, org.id.as_str())? {
            out.push(Sender {
                key,
                role: Role::Body {
                    covers: covers.clone(),
                },
                nonce: 0,
                last_lot: None,
            });
        }
    }
    if !out.iter().any(|s| matches!(s.role, Role::Body { .. })) {
        bail!("no certification body of the genesis covers the demo products");
    }
    Ok((genesis, out))
}

/// Whether a lot of `product` just commissioned meets its production rules
/// in genesis: a load run attests only those (a Casciotta must be made from
/// milk and aged, a Ciauscolo aged 15 days, a Cartoceto milled from olives,
/// before a body may attest it).
fn attestable_at_once(genesis: &Genesis, product: &filiera_types::genesis::Product) -> bool {
    use filiera_contract_api::rules::{fold, lookup_names};
    let names = lookup_names(&product.name);
    !genesis.catalogue.rules.iter().any(|r| {
        r.scheme == product.scheme
            && names.contains(&fold(&r.name))
            && (!r.inputs.is_empty()
                || !r.steps.is_empty()
                || !r.durations.is_empty()
                || r.max_yield_permille.is_some())
    })
}

/// What every transaction of a run shares.
pub struct Chain {
    /// Chain id.
    pub id: ChainId,
    /// Expiry height of every transaction.
    pub expiry_height: u64,
    /// Start of the attestations' validity, ms.
    pub valid_from_ms: u64,
}

/// A contract call.
pub fn call(contract: &str, method: &str, args: Vec<u8>) -> Result<ContractCall> {
    Ok(ContractCall {
        contract: ContractId::new(contract)?,
        method: MethodName::new(method)?,
        args,
    })
}

/// A lot registration.
pub fn commission(lot: LotRef) -> Result<ContractCall> {
    commission_with_note(lot, "lotto di prova del carico")
}

/// A lot registration whose description is `description`.
pub fn commission_with_note(lot: LotRef, description: &str) -> Result<ContractCall> {
    call(
        contract_ids::LOTS,
        "commission",
        encode(&Commission {
            id: lot,
            quantity: 1_000,
            site: None,
            metadata: vec![("descrizione".into(), description.into())],
            private_hash: None,
            epcis_hash: None,
        }),
    )
}

/// An event on a lot (stored or inspected, by `n`'s parity).
pub fn record(lot: LotRef, n: u64) -> Result<ContractCall> {
    let kind = if n.is_multiple_of(2) {
        EventKind::Store
    } else {
        EventKind::Inspect
    };
    call(
        contract_ids::LOTS,
        "record",
        encode(&Record {
            id: lot,
            kind,
            to: None,
            quantity: 0,
            site: None,
            corrects: None,
            note: "controllo di magazzino".into(),
            epcis_hash: None,
        }),
    )
}

const YEAR_MS: u64 = 365 * 24 * 3_600_000;

fn attest(lot: LotRef, scheme: &str, name: &str, from_ms: u64) -> Result<ContractCall> {
    call(
        contract_ids::CERTIFICATION,
        "attest",
        encode(&Attest {
            subject: Subject::Lot(lot),
            scheme: scheme.into(),
            protected_name: name.into(),
            evidence_hash: *blake3::hash(b"verbale di ispezione del carico").as_bytes(),
            valid_from_ms: from_ms,
            valid_until_ms: from_ms + YEAR_MS,
        }),
    )
}

/// One lot per producer key, to be committed before the measured steps:
/// what the attestations are about.
pub fn base_lots(senders: &mut [Sender], chain: &Chain, tag: &str) -> Result<Vec<Planned>> {
    let mut unsigned = Vec::new();
    for (i, s) in senders.iter_mut().enumerate() {
        if let Role::Producer { gtin } = &s.role {
            let lot = LotRef {
                gtin: gtin.clone(),
                lot: format!("B{tag}-{i}"),
            };
            unsigned.push((i, Kind::Commission, commission(lot.clone())?, s.nonce));
            s.nonce += 1;
            s.last_lot = Some(lot);
        }
    }
    sign_all(senders, chain, unsigned, |_| 0)
}

/// `count` transactions at `rate_per_s`, the mix cycling over 20 slots
/// (8 registrations, 9 events, 3 attestations), senders of each kind in turn.
pub fn plan(
    senders: &mut [Sender],
    chain: &Chain,
    rate_per_s: u64,
    count: u64,
    tag: &str,
    attest_targets: &[LotRef],
) -> Result<Vec<Planned>> {
    let producers: Vec<usize> = (0..senders.len())
        .filter(|&i| matches!(senders[i].role, Role::Producer { .. }))
        .collect();
    let bodies: Vec<usize> = (0..senders.len())
        .filter(|&i| matches!(senders[i].role, Role::Body { .. }))
        .collect();
    let (mut next_producer, mut next_body) = (0usize, 0usize);
    let mut unsigned = Vec::with_capacity(count as usize);
    for n in 0..count {
        let slot = n % 20;
        let (i, kind, call) = if slot >= 17 {
            let i = bodies[next_body % bodies.len()];
            next_body += 1;
            let Role::Body { covers } = &senders[i].role else {
                unreachable!("bodies hold only bodies")
            };
            let target = attest_targets
                .iter()
                .skip((n as usize / 20) % attest_targets.len().max(1))
                .chain(attest_targets)
                .find_map(|lot| {
                    covers
                        .iter()
                        .find(|(gtin, _, _)| *gtin == lot.gtin)
                        .map(|(_, scheme, name)| (lot.clone(), scheme.clone(), name.clone()))
                })
                .context("no lot a body may attest")?;
            (
                i,
                Kind::Attest,
                attest(target.0, &target.1, &target.2, chain.valid_from_ms)?,
            )
        } else {
            let i = producers[next_producer % producers.len()];
            next_producer += 1;
            let s = &mut senders[i];
            match (&s.last_lot, slot >= 8) {
                (Some(lot), true) => (i, Kind::Record, record(lot.clone(), n)?),
                _ => {
                    let Role::Producer { gtin } = &s.role else {
                        unreachable!("producers hold only producers")
                    };
                    // GS1 lot numbers have at most 20 characters.
                    let lot = LotRef {
                        gtin: gtin.clone(),
                        lot: format!("{tag}-{n}"),
                    };
                    s.last_lot = Some(lot.clone());
                    (i, Kind::Commission, commission(lot)?)
                }
            }
        };
        let nonce = senders[i].nonce;
        senders[i].nonce += 1;
        unsigned.push((i, kind, call, nonce));
    }
    sign_all(senders, chain, unsigned, |n| {
        n * 1_000_000 / rate_per_s.max(1)
    })
}

/// Signs on every core; `due_us(n)` gives the n-th transaction's due time.
fn sign_all(
    senders: &[Sender],
    chain: &Chain,
    unsigned: Vec<(usize, Kind, ContractCall, u64)>,
    due_us: impl Fn(u64) -> u64 + Sync,
) -> Result<Vec<Planned>> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = unsigned.len().div_ceil(threads).max(1);
    let indexed: Vec<(u64, (usize, Kind, ContractCall, u64))> = (0u64..).zip(unsigned).collect();
    let parts: Vec<Result<Vec<Planned>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = indexed
            .chunks(chunk)
            .map(|part| {
                let due_us = &due_us;
                scope.spawn(move || {
                    part.iter()
                        .map(|(n, (i, kind, call, nonce))| {
                            let s = &senders[*i];
                            let signed = Transaction {
                                chain_id: chain.id.clone(),
                                sender: s.key.public_key(),
                                nonce: *nonce,
                                expiry_height: chain.expiry_height,
                                call: call.clone(),
                            }
                            .sign(&s.key)?;
                            Ok(Planned {
                                due_us: due_us(*n),
                                sender: *i,
                                hash: signed.hash(),
                                bytes: signed.encode(),
                                kind: *kind,
                            })
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| bail!("a signing thread panicked"))
            })
            .collect()
    });
    let mut out = Vec::new();
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

//! The CLI workflows of each role, on the SDK: the authority onboards
//! organisations, grants roles and accredits bodies (k-of-n: a proposal, then
//! approvals from other authority keys); producers make lots and record what
//! happens to them; certification bodies issue, suspend, reinstate and revoke
//! attestations; auditors export a lot's trail; anyone prints a QR label.
//! Every command prints the outcome in words, or JSON with `--json`, and
//! exits non-zero when the chain refuses.

use crate::keyfile;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use filiera_client::{Client, Receipt, actions};
use filiera_contract_api::certification::{Attest, ChangeStatus, Subject};
use filiera_contract_api::lots::{
    Commission, EventKind, LotAmount, LotRef, Merge, Recall, Record, RegisterProduct, Split,
    Transform,
};
use filiera_contract_api::registry::{AuthorityAction, OrgStatus, Role, SiteRecord};
use filiera_types::ContractCall;
use std::path::PathBuf;

/// Who signs and which node hears it.
#[derive(Args, Debug)]
pub struct Signer {
    /// The signer's key file.
    #[arg(long)]
    pub key: PathBuf,
    /// A node's API base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub api: String,
}

/// `filiera lot ...`: a producer's or processor's lots.
#[derive(Subcommand, Debug)]
pub enum LotCmd {
    /// Make a new lot of one of your products.
    #[command(
        after_help = "Example:\n  filiera lot commission 09521234100010/CU-2026-0160 --quantity 80 --key orgs/caseificio.json"
    )]
    Commission {
        /// GTIN/LOT.
        lot: String,
        /// Quantity in the product's unit.
        #[arg(long)]
        quantity: u64,
        /// GLN of your site where it was made.
        #[arg(long)]
        site: Option<String>,
        #[command(flatten)]
        signer: Signer,
    },
    /// Record what happened to a lot you hold.
    #[command(
        after_help = "Examples:\n  filiera lot record ship 09521234100010/CU-2026-0160 --to deposito-ancona-demo --key orgs/caseificio.json\n  filiera lot record receive 09521234100010/CU-2026-0160 --key orgs/deposito.json"
    )]
    Record {
        /// What happened.
        kind: Happening,
        /// GTIN/LOT.
        lot: String,
        /// For a shipment: the receiving organisation.
        #[arg(long)]
        to: Option<String>,
        /// Quantity concerned (sales, destruction); all when omitted.
        #[arg(long, default_value_t = 0)]
        quantity: u64,
        /// A note for the record.
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        signer: Signer,
    },
    /// Consume lots into new lots (GTIN/LOT=QUANTITY each).
    #[command(
        after_help = "Example:\n  filiera lot transform --input 09521234100027/LO-1=400 --output 09521234100010/CU-1=80 --key orgs/caseificio.json"
    )]
    Transform {
        /// Inputs, GTIN/LOT=QUANTITY.
        #[arg(long, required = true)]
        input: Vec<String>,
        /// Outputs, GTIN/LOT=QUANTITY.
        #[arg(long, required = true)]
        output: Vec<String>,
        #[command(flatten)]
        signer: Signer,
    },
    /// Lift the recall opened on a lot (from it and every lot it reached).
    CloseRecall {
        /// GTIN/LOT.
        lot: String,
        /// Why, shown in the lot's history.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        signer: Signer,
    },
    /// Split a lot into parts of the same product (GTIN/LOT=QUANTITY each, summing to the lot).
    Split {
        /// GTIN/LOT.
        lot: String,
        /// Parts, GTIN/LOT=QUANTITY.
        #[arg(long = "part", required = true)]
        parts: Vec<String>,
        #[command(flatten)]
        signer: Signer,
    },
    /// Merge lots of one product into a new lot.
    Merge {
        /// The lots merged, GTIN/LOT (repeat, at least two).
        #[arg(long = "from", required = true)]
        from: Vec<String>,
        /// The new lot, GTIN/LOT.
        #[arg(long)]
        into: String,
        #[command(flatten)]
        signer: Signer,
    },
    /// Recall a lot and every lot made from it.
    Recall {
        /// GTIN/LOT.
        lot: String,
        /// Why, shown to consumers.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        signer: Signer,
    },
}

/// What happened to a lot.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Happening {
    /// Sent to another organisation (`--to`).
    Ship,
    /// Taken in from a shipment.
    Receive,
    /// Stored or aged.
    Store,
    /// Inspected.
    Inspect,
    /// Put on hold.
    Hold,
    /// Released from hold.
    Release,
    /// Sold at retail.
    Sell,
    /// Destroyed.
    Destroy,
}

/// `filiera attest ...`: a certification body's attestations.
#[derive(Subcommand, Debug)]
pub enum AttestCmd {
    /// Attest that a lot conforms to a scheme (within your accreditation).
    #[command(
        after_help = "Example:\n  filiera attest issue 09521234100010/CU-2026-0160 --scheme DOP --name \"Casciotta d'Urbino\" --days 365 --evidence verbale.pdf --key orgs/assam-apc.json"
    )]
    Issue {
        /// GTIN/LOT.
        lot: String,
        /// Scheme code (DOP, IGP, DOC...).
        #[arg(long)]
        scheme: String,
        /// Protected name.
        #[arg(long)]
        name: String,
        /// Days of validity from now.
        #[arg(long, default_value_t = 365)]
        days: u64,
        /// The inspection report (only its hash goes on chain).
        #[arg(long)]
        evidence: PathBuf,
        /// Also sign, with the same key, the attestation as a W3C Verifiable
        /// Credential (VC-JOSE, `application/vc+jwt`) and write it here.
        #[arg(long)]
        credential: Option<PathBuf>,
        #[command(flatten)]
        signer: Signer,
    },
    /// Sign an attestation you issued as a W3C Verifiable Credential
    /// (VC-JOSE, `application/vc+jwt`), from what the chain records of it;
    /// anyone verifies it with `filiera credential verify` or any JOSE library.
    #[command(
        after_help = "Example:\n  filiera attest credential 3 --out attestation-3.jwt --key orgs/assam-apc.json"
    )]
    Credential {
        /// The attestation number.
        id: u64,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        signer: Signer,
    },
    /// Suspend an attestation you issued.
    Suspend(ChangeArgs),
    /// Reinstate a suspended attestation.
    Reinstate(ChangeArgs),
    /// Revoke an attestation.
    Revoke(ChangeArgs),
}

/// An attestation and why its status changes.
#[derive(Args, Debug)]
pub struct ChangeArgs {
    /// The attestation number.
    pub id: u64,
    /// Why.
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub signer: Signer,
}

/// `filiera authority ...`: k-of-n decisions of the regional authority.
#[derive(Subcommand, Debug)]
pub enum AuthorityCmd {
    /// Propose to register an organisation (then others approve).
    #[command(
        after_help = "Example:\n  filiera authority onboard --id caseificio-nuovo --name \"Caseificio Nuovo\" --kind producer --role producer --org-key <hex> --key authority/key-0.json"
    )]
    Onboard {
        /// Organisation id.
        #[arg(long)]
        id: String,
        /// Its name.
        #[arg(long)]
        name: String,
        /// Kind: authority, control-body, consortium, producer, processor, auditor.
        #[arg(long)]
        kind: String,
        /// Roles granted (repeat).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Its public keys, hex (repeat); none when its first device will
        /// enrol with `filiera authority enrolment`.
        #[arg(long = "org-key")]
        org_keys: Vec<String>,
        #[command(flatten)]
        signer: Signer,
    },
    /// Propose to grant a role to an organisation.
    Grant {
        /// Organisation id.
        #[arg(long)]
        org: String,
        /// The role.
        #[arg(long)]
        role: String,
        #[command(flatten)]
        signer: Signer,
    },
    /// Propose to let an observer node connect (or, with --remove, no longer).
    #[command(
        after_help = "Example:\n  filiera authority observer --org regione-marche --p2p-key <hex> --key authority/key-0.json"
    )]
    Observer {
        /// The organisation that runs it.
        #[arg(long)]
        org: String,
        /// Its p2p node key, hex (`filiera init` prints it).
        #[arg(long)]
        p2p_key: String,
        /// Stop letting it connect.
        #[arg(long)]
        remove: bool,
        #[command(flatten)]
        signer: Signer,
    },
    /// Propose to suspend, reinstate or revoke an organisation: a suspended
    /// or revoked organisation's keys may send no transaction at all.
    #[command(
        after_help = "Example:\n  filiera authority status --org caseificio-nuovo --set suspended --key authority/key-0.json"
    )]
    Status {
        /// Organisation id.
        #[arg(long)]
        org: String,
        /// active, suspended or revoked.
        #[arg(long = "set")]
        status: String,
        #[command(flatten)]
        signer: Signer,
    },
    /// Propose a one-time enrolment link for an organisation's first admin
    /// device (or to restore one when every admin device is lost). The link
    /// carries the ticket's secret after `#`, so no server ever sees it in a
    /// request; only the ticket's public key goes on chain. Give it to the
    /// organisation by hand or as a QR; it works once, until it expires, and
    /// only after the proposal has its approvals.
    #[command(
        after_help = "Example:\n  filiera authority enrolment --org caseificio-nuovo --app-url https://nodo.regione.marche.it/app/ --key authority/key-0.json"
    )]
    Enrolment {
        /// Organisation id.
        #[arg(long)]
        org: String,
        /// The app's address the link opens (a node's `/app/`).
        #[arg(long)]
        app_url: String,
        /// Hours the link stays valid, from now.
        #[arg(long, default_value_t = 72)]
        valid_hours: u64,
        /// Rights of the enrolled device: admin, record, recall (comma separated).
        #[arg(long, default_value = "admin,record,recall")]
        rights: String,
        #[command(flatten)]
        signer: Signer,
    },
    /// Propose a version of a protected name's production rules (a JSON
    /// file with the fields of genesis's `catalogue.rules[]`), applying from
    /// a date that may not come before the approval; see docs/GOVERNANCE.md.
    #[command(
        after_help = "Example:\n  filiera authority rules --file ciauscolo-v2.json --applies-from 2027-01-01T00:00:00Z --key authority/key-0.json"
    )]
    Rules {
        /// The rules (JSON).
        #[arg(long)]
        file: std::path::PathBuf,
        /// When lots start to be made under it (RFC 3339), instead of the
        /// file's `applies_from_ms`.
        #[arg(long)]
        applies_from: Option<String>,
        /// Set them at once, with an admin key of the consortium the
        /// authority delegated this name's rules to (`delegate-rules`),
        /// instead of proposing them with an authority key.
        #[arg(long)]
        as_delegate: bool,
        #[command(flatten)]
        signer: Signer,
    },
    /// Propose to delegate a protected name's rules to an organisation (its
    /// consortium), which then sets and amends them itself with
    /// `filiera authority rules --as-delegate`; `--withdraw` ends it.
    #[command(
        after_help = "Example:\n  filiera authority delegate-rules --scheme DOP --name \"Casciotta d'Urbino\" --org consorzio-casciotta --key authority/key-0.json"
    )]
    DelegateRules {
        /// Scheme code (DOP, IGP, DOC...).
        #[arg(long)]
        scheme: String,
        /// The protected name.
        #[arg(long)]
        name: String,
        /// The organisation.
        #[arg(long, required_unless_present = "withdraw")]
        org: Option<String>,
        /// Withdraw the delegation instead.
        #[arg(long, conflicts_with = "org")]
        withdraw: bool,
        #[command(flatten)]
        signer: Signer,
    },
    /// Propose to vouch for a site's municipality (ISTAT code, 6 digits), as
    /// checked against the official register: the area rules read it.
    #[command(
        after_help = "Example:\n  filiera authority vouch-site --gln 9521234000013 --istat 041067 --key authority/key-0.json"
    )]
    VouchSite {
        /// The site's GLN.
        #[arg(long)]
        gln: String,
        /// ISTAT municipality code.
        #[arg(long)]
        istat: String,
        #[command(flatten)]
        signer: Signer,
    },
    /// Approve a proposal; it executes when enough keys approved.
    Approve {
        /// The proposal number.
        id: u64,
        #[command(flatten)]
        signer: Signer,
    },
    /// Upload a contract module and propose it as the next version of a
    /// contract (or a new contract), from a height at least 10 blocks ahead.
    /// Other authority keys approve it with `filiera authority
    /// approve-upgrade`; see docs/GOVERNANCE.md.
    #[command(
        after_help = "Example:\n  filiera authority upgrade --contract lots --wasm lots-v2.wasm --in-blocks 600 --key authority/key-0.json"
    )]
    Upgrade {
        /// The contract id (lots, registry, certification, or a new one).
        #[arg(long)]
        contract: String,
        /// The module (.wasm).
        #[arg(long)]
        wasm: std::path::PathBuf,
        /// The new version runs from this many blocks after the head.
        #[arg(long, default_value_t = 600, conflicts_with = "height")]
        in_blocks: u64,
        /// Or from this height.
        #[arg(long)]
        height: Option<u64>,
        /// The node calls the new version's `migrate` method at its height,
        /// before that block's transactions (tried at the last approval
        /// first: one that fails there is refused).
        #[arg(long)]
        migrate: bool,
        #[command(flatten)]
        signer: Signer,
    },
    /// Propose the next version of the chain's rules (signature rule, host
    /// ABI: what a node's binary must implement), from a height at least 10
    /// blocks ahead. Nodes whose binary does not implement it say so in
    /// `filiera status` and stop before that height; see docs/GOVERNANCE.md.
    #[command(
        after_help = "Example:\n  filiera authority chain-rules --to 2 --in-blocks 100000 --key authority/key-0.json"
    )]
    ChainRules {
        /// The new version (above the latest).
        #[arg(long = "to")]
        to: u32,
        /// It applies from this many blocks after the head.
        #[arg(long, default_value_t = 100_000, conflicts_with = "height")]
        in_blocks: u64,
        /// Or from this height.
        #[arg(long)]
        height: Option<u64>,
        #[command(flatten)]
        signer: Signer,
    },
    /// Propose new values of the chain's limits (sizes of a transaction, a
    /// block and an EPCIS event, transactions per block, expiry window) from
    /// a height at least 10 blocks ahead; the values not given stay as they
    /// are. Every node applies them from that height; see docs/GOVERNANCE.md.
    #[command(
        after_help = "Example:\n  filiera authority limits --tx-bytes-max 49152 --in-blocks 1000 --key authority/key-0.json"
    )]
    Limits {
        /// Largest transaction, in bytes.
        #[arg(long)]
        tx_bytes_max: Option<u64>,
        /// Largest block, in bytes.
        #[arg(long)]
        block_bytes_max: Option<u64>,
        /// Most transactions per block.
        #[arg(long)]
        block_txs_max: Option<u64>,
        /// Furthest expiry a transaction may ask when it is let in, in blocks.
        #[arg(long)]
        tx_expiry_blocks_max: Option<u64>,
        /// Largest EPCIS event a lot action may carry, in bytes.
        #[arg(long)]
        epcis_event_bytes_max: Option<u64>,
        /// They apply from this many blocks after the head.
        #[arg(long, default_value_t = 1_000, conflicts_with = "height")]
        in_blocks: u64,
        /// Or from this height.
        #[arg(long)]
        height: Option<u64>,
        #[command(flatten)]
        signer: Signer,
    },
    /// Approve an upgrade proposal (a contract's or the chain rules'); the
    /// version is scheduled when enough authority keys approved it, before
    /// its height.
    #[command(
        after_help = "Example:\n  filiera authority approve-upgrade 0 --wasm lots-v2.wasm --key authority/key-1.json"
    )]
    ApproveUpgrade {
        /// The upgrade proposal number.
        id: u64,
        /// The module you built yourself from the published source: approve
        /// only if the proposal names exactly its code hash.
        #[arg(long)]
        wasm: Option<std::path::PathBuf>,
        #[command(flatten)]
        signer: Signer,
    },
}

fn lot_ref(text: &str) -> Result<LotRef> {
    let (gtin, lot) = text
        .split_once('/')
        .with_context(|| format!("{text:?}: expected GTIN/LOT"))?;
    let gtin = filiera_types::gs1::Gtin::parse(gtin)?;
    let lot = filiera_types::gs1::Lot::parse(lot)?;
    Ok(LotRef {
        gtin: gtin.as_str().to_owned(),
        lot: lot.as_str().to_owned(),
    })
}

fn amount(text: &str) -> Result<LotAmount> {
    let (lot, quantity) = text
        .rsplit_once('=')
        .with_context(|| format!("{text:?}: expected GTIN/LOT=QUANTITY"))?;
    Ok(LotAmount {
        id: lot_ref(lot)?,
        quantity: quantity
            .parse()
            .with_context(|| format!("{text:?}: quantity"))?,
    })
}

fn role(text: &str) -> Result<Role> {
    Ok(match text {
        "authority" => Role::Authority,
        "producer" => Role::Producer,
        "processor" => Role::Processor,
        "certification-body" => Role::CertificationBody,
        "auditor" => Role::Auditor,
        "validator-operator" => Role::ValidatorOperator,
        other => bail!(
            "role {other:?}: authority, producer, processor, certification-body, auditor or validator-operator"
        ),
    })
}

fn kind(text: &str) -> Result<u8> {
    Ok(match text {
        "authority" => 0,
        "control-body" => 1,
        "consortium" => 2,
        "producer" => 3,
        "processor" => 4,
        "auditor" => 5,
        other => bail!(
            "kind {other:?}: authority, control-body, consortium, producer, processor or auditor"
        ),
    })
}

/// Signs, submits, waits; prints the outcome; fails when the chain refuses.
fn run(signer: &Signer, call: ContractCall, what: &str, json: bool) -> Result<Receipt> {
    let key = keyfile::read(&signer.key)?;
    let mut node = Client::connect(&signer.api)?;
    let receipt = node.execute(&key, call)?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "what": what,
                "success": receipt.success,
                "tx": receipt.tx_hash,
                "height": receipt.height,
                "code": receipt.code,
                "message": receipt.message,
                "rule": receipt.rule_violated(),
                "returned": receipt.returned_u64(),
            })
        );
    } else if receipt.success {
        println!(
            "ok: {what} (block {}, tx {}){}",
            receipt.height,
            &receipt.tx_hash[..16],
            receipt
                .returned_u64()
                .map(|n| format!(" → number {n}"))
                .unwrap_or_default()
        );
    }
    if !receipt.success {
        let why = receipt.message.as_deref().unwrap_or("no reason given");
        if let Some(rule) = receipt.rule_violated() {
            bail!(
                "refused: {what}: {why}\nproduction rule {rule:?} failed: {} (the rules in force: GET /v1/rules)",
                filiera_client::rule_explained(rule)
            );
        }
        bail!("refused: {what}: {why}");
    }
    Ok(receipt)
}

pub fn lot(cmd: LotCmd, json: bool) -> Result<()> {
    match cmd {
        LotCmd::Commission {
            lot,
            quantity,
            site,
            signer,
        } => {
            let id = lot_ref(&lot)?;
            let call = actions::commission(&Commission {
                id,
                quantity,
                site,
                metadata: Vec::new(),
                private_hash: None,
                epcis_hash: None,
            });
            run(&signer, call, &format!("lot {lot} made"), json)?;
        }
        LotCmd::Record {
            kind,
            lot,
            to,
            quantity,
            note,
            signer,
        } => {
            let event = match kind {
                Happening::Ship => EventKind::Ship,
                Happening::Receive => EventKind::Receive,
                Happening::Store => EventKind::Store,
                Happening::Inspect => EventKind::Inspect,
                Happening::Hold => EventKind::Hold,
                Happening::Release => EventKind::Release,
                Happening::Sell => EventKind::Sell,
                Happening::Destroy => EventKind::Destroy,
            };
            let call = actions::record(&Record {
                id: lot_ref(&lot)?,
                kind: event,
                to,
                quantity,
                site: None,
                corrects: None,
                note,
                epcis_hash: None,
            });
            run(&signer, call, &format!("{kind:?} recorded on {lot}"), json)?;
        }
        LotCmd::Transform {
            input,
            output,
            signer,
        } => {
            let call = actions::transform(&Transform {
                inputs: input.iter().map(|a| amount(a)).collect::<Result<_>>()?,
                outputs: output.iter().map(|a| amount(a)).collect::<Result<_>>()?,
                site: None,
                epcis_hash: None,
            });
            run(&signer, call, "transformation recorded", json)?;
        }
        LotCmd::CloseRecall {
            lot,
            reason,
            signer,
        } => {
            let call = actions::close_recall(&Recall {
                id: lot_ref(&lot)?,
                reason,
            });
            run(&signer, call, &format!("recall of {lot} closed"), json)?;
        }
        LotCmd::Merge { from, into, signer } => {
            let call = actions::merge(&Merge {
                from: from.iter().map(|l| lot_ref(l)).collect::<Result<_>>()?,
                into: lot_ref(&into)?,
                epcis_hash: None,
            });
            run(&signer, call, &format!("merged into {into}"), json)?;
        }
        LotCmd::Split { lot, parts, signer } => {
            let call = actions::split(&Split {
                from: lot_ref(&lot)?,
                parts: parts.iter().map(|p| amount(p)).collect::<Result<_>>()?,
                epcis_hash: None,
            });
            run(&signer, call, &format!("{lot} split"), json)?;
        }
        LotCmd::Recall {
            lot,
            reason,
            signer,
        } => {
            let call = actions::recall(&Recall {
                id: lot_ref(&lot)?,
                reason,
            });
            run(
                &signer,
                call,
                &format!("{lot} recalled with every lot made from it"),
                json,
            )?;
        }
    }
    Ok(())
}

pub fn attest(cmd: AttestCmd, json: bool) -> Result<()> {
    let mut credential_out = None;
    let (signer, call, what) = match cmd {
        AttestCmd::Credential { id, out, signer } => {
            let key = keyfile::read(&signer.key)?;
            let did = super::credential::write(&signer.api, &key, id, &out)?;
            println!(
                "ok: credential of attestation {id} written to {} (issuer {did})",
                out.display()
            );
            return Ok(());
        }
        AttestCmd::Issue {
            lot,
            scheme,
            name,
            days,
            evidence,
            credential,
            signer,
        } => {
            credential_out = credential;
            let report = std::fs::read(&evidence)
                .with_context(|| format!("reading {}", evidence.display()))?;
            let now_ms = super::now_ms()?;
            let call = actions::attest(&Attest {
                subject: Subject::Lot(lot_ref(&lot)?),
                scheme,
                protected_name: name,
                evidence_hash: *blake3::hash(&report).as_bytes(),
                valid_from_ms: now_ms,
                valid_until_ms: now_ms + days * 24 * 3600 * 1000,
            });
            (signer, call, format!("attestation issued on {lot}"))
        }
        AttestCmd::Suspend(a) => {
            let call = actions::suspend(&ChangeStatus {
                id: a.id,
                reason: a.reason,
            });
            (a.signer, call, format!("attestation {} suspended", a.id))
        }
        AttestCmd::Reinstate(a) => {
            let call = actions::reinstate(&ChangeStatus {
                id: a.id,
                reason: a.reason,
            });
            (a.signer, call, format!("attestation {} reinstated", a.id))
        }
        AttestCmd::Revoke(a) => {
            let call = actions::revoke(&ChangeStatus {
                id: a.id,
                reason: a.reason,
            });
            (a.signer, call, format!("attestation {} revoked", a.id))
        }
    };
    let receipt = run(&signer, call, &what, json)?;
    if let Some(out) = credential_out {
        let id = receipt
            .returned_u64()
            .context("the attestation's number is not in the receipt")?;
        let key = keyfile::read(&signer.key)?;
        let did = super::credential::write(&signer.api, &key, id, &out)?;
        if !json {
            println!(
                "ok: credential of attestation {id} written to {} (issuer {did})",
                out.display()
            );
        }
    }
    Ok(())
}

fn org_status(text: &str) -> Result<OrgStatus> {
    Ok(match text {
        "active" => OrgStatus::Active,
        "suspended" => OrgStatus::Suspended,
        "revoked" => OrgStatus::Revoked,
        other => anyhow::bail!("--set {other:?}: expected active, suspended or revoked"),
    })
}

/// Rights named in words, as `registry::rights` bits.
pub fn rights_of(text: &str) -> Result<u8> {
    use filiera_contract_api::registry::rights;
    text.split(',').map(str::trim).try_fold(0u8, |bits, word| {
        Ok(bits
            | match word {
                "admin" => rights::ADMIN,
                "record" => rights::RECORD,
                "recall" => rights::RECALL,
                other => bail!("right {other:?}: admin, record or recall"),
            })
    })
}

/// The enrolment link: the app's address with the ticket's seed, the
/// organisation and the chain after `#`.
pub fn enrolment_link(app_url: &str, seed: &[u8; 32], org: &str, chain_id: &str) -> String {
    let fragment: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("enrol", &hex::encode(seed))
        .append_pair("org", org)
        .append_pair("chain", chain_id)
        .finish();
    format!(
        "{}#{fragment}",
        app_url.split('#').next().unwrap_or(app_url)
    )
}

fn enrolment(
    org: String,
    app_url: String,
    valid_hours: u64,
    rights: &str,
    signer: &Signer,
    json: bool,
) -> Result<()> {
    let granted = rights_of(rights)?;
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut()).map_err(|e| anyhow::anyhow!("randomness: {e}"))?;
    let ticket = filiera_types::SecretKey::from_seed(&seed);
    let now_ms = super::now_ms()?;
    let action = AuthorityAction::OpenEnrolment {
        org: org.clone(),
        ticket_key: ticket.public_key().0,
        rights: granted,
        expires_ms: now_ms.saturating_add(valid_hours.saturating_mul(3_600_000)),
    };
    let chain_id = Client::connect(&signer.api)?.chain_id().as_str().to_owned();
    let receipt = run(
        signer,
        actions::propose(&action),
        &format!("proposal to open an enrolment for {org}"),
        json,
    )?;
    let link = enrolment_link(&app_url, &seed, &org, &chain_id);
    if json {
        println!(
            "{}",
            serde_json::json!({ "enrolment_link": link, "proposal": receipt.returned_u64() })
        );
    } else {
        println!(
            "enrolment link (valid {valid_hours} h, once, after the proposal's approvals):\n{link}"
        );
    }
    Ok(())
}

pub fn authority(cmd: AuthorityCmd, json: bool) -> Result<()> {
    let (signer, call, what) = match cmd {
        AuthorityCmd::Enrolment {
            org,
            app_url,
            valid_hours,
            rights,
            signer,
        } => return enrolment(org, app_url, valid_hours, &rights, &signer, json),
        AuthorityCmd::Onboard {
            id,
            name,
            kind: k,
            roles,
            org_keys,
            signer,
        } => {
            let keys = org_keys
                .iter()
                .map(|k| filiera_types::PublicKey::from_hex(k).map(|p| p.0))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("--org-key: {e}"))?;
            let action = AuthorityAction::RegisterOrg {
                id: id.clone(),
                name,
                kind: kind(&k)?,
                vat_number: None,
                roles: roles.iter().map(|r| role(r)).collect::<Result<_>>()?,
                keys,
            };
            (
                signer,
                actions::propose(&action),
                format!("proposal to register {id}"),
            )
        }
        AuthorityCmd::Grant {
            org,
            role: r,
            signer,
        } => {
            let action = AuthorityAction::GrantRole {
                org: org.clone(),
                role: role(&r)?,
            };
            (
                signer,
                actions::propose(&action),
                format!("proposal to grant {r} to {org}"),
            )
        }
        AuthorityCmd::Observer {
            org,
            p2p_key,
            remove,
            signer,
        } => {
            let key = filiera_types::PublicKey::from_hex(&p2p_key)
                .map_err(|e| anyhow::anyhow!("--p2p-key: {e}"))?;
            let action = AuthorityAction::SetObserver {
                org: org.clone(),
                p2p_key: key.0,
                allowed: !remove,
            };
            let verb = if remove { "remove" } else { "allow" };
            (
                signer,
                actions::propose(&action),
                format!("proposal to {verb} observer {p2p_key} of {org}"),
            )
        }
        AuthorityCmd::Status {
            org,
            status,
            signer,
        } => {
            let action = AuthorityAction::SetOrgStatus {
                org: org.clone(),
                status: org_status(&status)?,
            };
            (
                signer,
                actions::propose(&action),
                format!("proposal to set {org} {status}"),
            )
        }
        AuthorityCmd::DelegateRules {
            scheme,
            name,
            org,
            withdraw: _,
            signer,
        } => {
            let what = match &org {
                Some(o) => format!("proposal to delegate the rules of {scheme} {name:?} to {o}"),
                None => format!("proposal to withdraw the delegation of {scheme} {name:?}"),
            };
            let action = AuthorityAction::DelegateRules { scheme, name, org };
            (signer, actions::propose(&action), what)
        }
        AuthorityCmd::Rules {
            file,
            applies_from,
            as_delegate,
            signer,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let mut rules: filiera_contract_api::rules::ProductionRules =
                serde_json::from_str(&text)
                    .with_context(|| format!("{} is not production rules", file.display()))?;
            if let Some(date) = applies_from {
                rules.applies_from_ms = filiera_types::genesis::parse_time_ms(&date)
                    .map_err(|e| anyhow::anyhow!("--applies-from: {e}"))?;
            }
            if let Some(why) = filiera_contract_api::rules::malformed(&rules) {
                bail!("{why}");
            }
            if as_delegate {
                let what = format!(
                    "rules for {} {:?} from {} ms, set by the delegated consortium",
                    rules.scheme, rules.name, rules.applies_from_ms
                );
                (signer, actions::set_rules_delegated(&rules), what)
            } else {
                let what = format!(
                    "proposal of rules for {} {:?} from {} ms",
                    rules.scheme, rules.name, rules.applies_from_ms
                );
                (
                    signer,
                    actions::propose(&AuthorityAction::SetRules(rules)),
                    what,
                )
            }
        }
        AuthorityCmd::VouchSite { gln, istat, signer } => {
            let what = format!("proposal to vouch site {gln} in municipality {istat}");
            (
                signer,
                actions::propose(&AuthorityAction::VouchSite { gln, istat }),
                what,
            )
        }
        AuthorityCmd::Approve { id, signer } => (
            signer,
            actions::approve(id),
            format!("approval of proposal {id}"),
        ),
        AuthorityCmd::Upgrade {
            contract,
            wasm,
            in_blocks,
            height,
            migrate,
            signer,
        } => {
            let at = (in_blocks, height);
            return upgrade(&contract, &wasm, at, migrate, &signer, json);
        }
        AuthorityCmd::ChainRules {
            to,
            in_blocks,
            height,
            signer,
        } => return chain_rules(to, in_blocks, height, &signer, json),
        AuthorityCmd::Limits {
            tx_bytes_max,
            block_bytes_max,
            block_txs_max,
            tx_expiry_blocks_max,
            epcis_event_bytes_max,
            in_blocks,
            height,
            signer,
        } => {
            let asked = filiera_types::chain_limits::ChainLimitsChange {
                tx_bytes_max,
                block_bytes_max,
                block_txs_max,
                tx_expiry_blocks_max,
                epcis_event_bytes_max,
            };
            return limits(asked, (in_blocks, height), &signer, json);
        }
        AuthorityCmd::ApproveUpgrade { id, wasm, signer } => {
            if let Some(path) = wasm {
                same_module(id, &path, &signer)?;
            }
            (
                signer,
                actions::approve_upgrade(id),
                format!("approval of upgrade proposal {id}"),
            )
        }
    };
    run(&signer, call, &what, json)?;
    Ok(())
}

/// Refuses unless upgrade proposal `id` names the code hash of `wasm`.
fn same_module(id: u64, wasm: &std::path::Path, signer: &Signer) -> Result<()> {
    let code = std::fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let mine = filiera_types::Hash::of(filiera_types::Domain::ContractCode, &code).to_hex();
    let node = Client::connect(&signer.api)?;
    let listing = node.get("/v1/contracts")?;
    let proposed = listing["upgrades"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["id"].as_u64() == Some(id))
        .and_then(|u| u["code_hash"].as_str().map(str::to_owned))
        .with_context(|| format!("upgrade proposal {id} is not among the node's newest"))?;
    if proposed != mine {
        bail!(
            "upgrade proposal {id} names code {proposed}, but {} hashes to {mine}: not approved",
            wasm.display()
        );
    }
    Ok(())
}

/// Refuses an `--in-blocks` shorter than the chain's notice, with a margin
/// for the blocks between reading the head and the proposal's own.
fn notice_enough(in_blocks: u64, height: Option<u64>) -> Result<()> {
    use filiera_types::governance::UPGRADE_NOTICE_BLOCKS_MIN;
    const IN_BLOCKS_MIN: u64 = UPGRADE_NOTICE_BLOCKS_MIN + 5;
    if height.is_none() && in_blocks < IN_BLOCKS_MIN {
        bail!(
            "--in-blocks {in_blocks}: at least {IN_BLOCKS_MIN} (the chain wants {UPGRADE_NOTICE_BLOCKS_MIN} blocks' notice, counted from the block that carries the proposal)"
        );
    }
    Ok(())
}

/// Sends a governance proposal and tells the proposer how the other
/// authority keys approve it.
fn propose(signer: &Signer, call: ContractCall, what: &str, json: bool) -> Result<()> {
    let receipt = run(signer, call, what, json)?;
    if !json && let Some(n) = receipt.returned_u64() {
        println!(
            "upgrade proposal {n}: other authority keys approve it with `filiera authority approve-upgrade {n}`"
        );
    }
    Ok(())
}

/// The node's listing of contracts, versions and proposals, and the height
/// a proposal applies from: `height`, else `in_blocks` after the head.
fn listing_and_activation(
    signer: &Signer,
    in_blocks: u64,
    height: Option<u64>,
) -> Result<(serde_json::Value, u64)> {
    notice_enough(in_blocks, height)?;
    let listing = Client::connect(&signer.api)?.get("/v1/contracts")?;
    let head = listing["height"].as_u64().unwrap_or(0);
    Ok((listing, height.unwrap_or(head.saturating_add(in_blocks))))
}

/// Proposes chain rules `version` against the latest the node lists.
fn chain_rules(
    version: u32,
    in_blocks: u64,
    height: Option<u64>,
    signer: &Signer,
    json: bool,
) -> Result<()> {
    let (listing, activation_height) = listing_and_activation(signer, in_blocks, height)?;
    let replaces = listing["chain_rules"]["versions"]
        .as_array()
        .and_then(|v| v.last())
        .and_then(|v| v["version"].as_u64())
        .and_then(|v| u32::try_from(v).ok())
        .context("the node lists no chain rules versions")?;
    let upgrade = filiera_types::chain_rules::RulesUpgrade {
        version,
        replaces,
        activation_height,
    };
    propose(
        signer,
        actions::propose_chain_rules(&upgrade),
        &format!(
            "proposal of chain rules version {version} (replacing {replaces}) from height {}",
            upgrade.activation_height
        ),
        json,
    )
}

/// Proposes the latest limits the node lists, changed as `asked`.
fn limits(
    asked: filiera_types::chain_limits::ChainLimitsChange,
    (in_blocks, height): (u64, Option<u64>),
    signer: &Signer,
    json: bool,
) -> Result<()> {
    use filiera_types::chain_limits::{ChainLimits, LimitsUpgrade};
    let (listing, activation_height) = listing_and_activation(signer, in_blocks, height)?;
    let latest = listing["limits"]["versions"]
        .as_array()
        .and_then(|v| v.last())
        .map(|v| v["limits"].clone())
        .context("the node lists no limits")?;
    let replaces: ChainLimits =
        serde_json::from_value(latest).context("the node's latest limits")?;
    let proposed = asked.applied_to(replaces);
    if proposed == replaces {
        bail!("nothing to change: give at least one limit that differs from the latest");
    }
    // The chain refuses out-of-range values too; saying so here saves a fee
    // of nothing but a wait.
    proposed.check().map_err(anyhow::Error::msg)?;
    let upgrade = LimitsUpgrade {
        limits: proposed,
        replaces,
        activation_height,
    };
    propose(
        signer,
        actions::propose_limits(&upgrade),
        &format!(
            "proposal of limits {} from height {}",
            replaces.changes_to(&proposed),
            upgrade.activation_height
        ),
        json,
    )
}

/// Uploads `wasm` (the chunks it lacks) and proposes it as `contract`'s
/// next version.
fn upgrade(
    contract: &str,
    wasm: &std::path::Path,
    (in_blocks, height): (u64, Option<u64>),
    migrate: bool,
    signer: &Signer,
    json: bool,
) -> Result<()> {
    use filiera_types::governance::{CODE_BYTES_MAX, Upgrade};
    notice_enough(in_blocks, height)?;
    let id =
        filiera_types::ContractId::new(contract).map_err(|e| anyhow::anyhow!("--contract: {e}"))?;
    let code = std::fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    if code.len() > CODE_BYTES_MAX {
        bail!(
            "{} has {} bytes: a contract module may have {CODE_BYTES_MAX} at most",
            wasm.display(),
            code.len()
        );
    }
    let code_hash = filiera_types::Hash::of(filiera_types::Domain::ContractCode, &code);
    let key = keyfile::read(&signer.key)?;
    let mut node = Client::connect(&signer.api)?;
    let listing = node.get("/v1/contracts")?;
    let head = listing["height"].as_u64().unwrap_or(0);
    let replaces = listing["contracts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["id"] == contract)
        .and_then(|c| {
            c["versions"].as_array()?.last()?["code_hash"]
                .as_str()
                .map(str::to_owned)
        })
        .map(|h| filiera_types::Hash::from_hex(&h))
        .transpose()
        .map_err(|e| anyhow::anyhow!("the node's version table: {e}"))?;
    // A module on chain already (uploaded by another authority key, say) is
    // refused at its first chunk: then only the proposal is sent.
    let calls = actions::upload_code(&code);
    let chunks = calls.len();
    for (i, call) in calls.into_iter().enumerate() {
        let receipt = node.execute(&key, call)?;
        let message = receipt.message.as_deref().unwrap_or("no reason given");
        if !receipt.success && i == 0 && message.contains("uploaded already") {
            if !json {
                println!(
                    "ok: module {} is on chain already",
                    &code_hash.to_hex()[..16]
                );
            }
            break;
        }
        if !receipt.success {
            bail!("refused: upload of chunk {} of {chunks}: {message}", i + 1);
        }
        if !json && i + 1 == chunks {
            println!(
                "ok: module {} uploaded ({} bytes, {chunks} chunks)",
                &code_hash.to_hex()[..16],
                code.len()
            );
        }
    }
    // Counted from the head now, after the upload's blocks; the chain counts
    // its notice from the block that carries the proposal, a few later.
    let head = node.height().unwrap_or(head);
    let upgrade = Upgrade {
        contract: id,
        code_hash,
        replaces,
        activation_height: height.unwrap_or(head.saturating_add(in_blocks)),
        migrate,
    };
    propose(
        signer,
        actions::propose_upgrade(&upgrade),
        &format!(
            "proposal of {contract} {} from height {}",
            &code_hash.to_hex()[..16],
            upgrade.activation_height
        ),
        json,
    )
}

/// `filiera product ...`.
#[derive(Subcommand, Debug)]
pub enum ProductCmd {
    /// Register a product whose GTIN your organisation owns.
    #[command(
        after_help = "Example:\n  filiera product register 09521234100133 --name \"Casciotta stagionata\" --scheme DOP --uom kg --max-yield-permille 1000 --key orgs/caseificio.json"
    )]
    Register {
        /// The GTIN (14 digits).
        gtin: String,
        /// Its name.
        #[arg(long)]
        name: String,
        /// Scheme code (DOP, IGP, DOC...) or `none`.
        #[arg(long, default_value = "none")]
        scheme: String,
        /// Unit of quantities (kg, l, each...).
        #[arg(long)]
        uom: String,
        /// Most output per input of a transformation into it, per thousand.
        #[arg(long, default_value_t = 1000)]
        max_yield_permille: u64,
        #[command(flatten)]
        signer: Signer,
    },
}

/// `filiera site ...`.
#[derive(Subcommand, Debug)]
pub enum SiteCmd {
    /// Register one of your organisation's sites (a farm, dairy, winery...).
    #[command(
        after_help = "Example:\n  filiera site register 9521234000099 --org caseificio-montefeltro-demo --kind dairy --name \"Caseificio, Urbino\" --key orgs/caseificio.json"
    )]
    Register {
        /// The GLN (13 digits).
        gln: String,
        /// Your organisation's id.
        #[arg(long)]
        org: String,
        /// Kind (dairy, farm, winery, mill, warehouse...).
        #[arg(long)]
        kind: String,
        /// Its name and place.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        signer: Signer,
    },
}

pub fn product(cmd: ProductCmd, json: bool) -> Result<()> {
    let ProductCmd::Register {
        gtin,
        name,
        scheme,
        uom,
        max_yield_permille,
        signer,
    } = cmd;
    let gtin = filiera_types::gs1::Gtin::parse(&gtin)?;
    let call = actions::register_product(&RegisterProduct {
        gtin: gtin.as_str().to_owned(),
        name,
        scheme,
        uom,
        max_yield_permille,
    });
    run(
        &signer,
        call,
        &format!("product {} registered", gtin.as_str()),
        json,
    )?;
    Ok(())
}

pub fn site(cmd: SiteCmd, json: bool) -> Result<()> {
    let SiteCmd::Register {
        gln,
        org,
        kind,
        name,
        signer,
    } = cmd;
    let gln = filiera_types::gs1::Gln::parse(&gln)?;
    let call = actions::register_site(&SiteRecord {
        gln: gln.as_str().to_owned(),
        org,
        kind,
        name,
    });
    run(
        &signer,
        call,
        &format!("site {} registered", gln.as_str()),
        json,
    )?;
    Ok(())
}

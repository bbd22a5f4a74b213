//! `filiera genesis new`: a complete localnet — genesis, one home per validator,
//! the authority's keys and demo organisations' keys — from the Marche catalogue.
//!
//! The control bodies are the real kinds named in the domain brief; producers
//! are fictitious, and every GTIN and GLN uses GS1's example prefix 952.

use crate::keyfile;
use crate::node::config::{Config, EpcisClientConfig};
use crate::node::home::{Home, write_new};
use anyhow::{Context, Result, bail};
use filiera_types::genesis::{
    Accreditation, Authority, Catalogue, ConsensusParams, GENESIS_FORMAT_VERSION, GenesisContract,
    GenesisValidator, Location, OrgKind, Organisation, Product, Role, Scheme,
};
use filiera_types::gs1::{Gln, Gtin};
use filiera_types::{ChainId, Genesis, OrgId, PublicKey};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The Marche catalogue shipped with the node (`genesis/catalogue.json`).
const CATALOGUE_JSON: &str = include_str!("../../../genesis/catalogue.json");

/// Options of `genesis new`.
pub struct LocalnetSpec {
    pub validators: usize,
    pub out: PathBuf,
    pub chain_id: String,
    pub genesis_time_ms: u64,
    pub authority_keys: usize,
    pub authority_threshold: u32,
    pub host: String,
    pub p2p_base_port: u16,
    pub api_base_port: u16,
    /// Node i serves /metrics on loopback port base + i; 0: none.
    pub metrics_base_port: u16,
    /// Extra keys for each demo producer and certification body (load generator).
    pub load_keys: usize,
    /// How every key file is written: sealed unless `--insecure-plain-keys`.
    pub sealing: keyfile::Sealing,
}

#[derive(Deserialize)]
struct CatalogueFile {
    schemes: Vec<Scheme>,
    products: Vec<CatalogueProduct>,
    locations: Vec<CatalogueLocation>,
    rules: Vec<filiera_contract_api::rules::ProductionRules>,
}

#[derive(Deserialize)]
struct CatalogueProduct {
    gtin: Gtin,
    name: String,
    scheme: String,
    category: String,
    unit: String,
    uom: String,
    description: String,
}

#[derive(Deserialize)]
struct CatalogueLocation {
    gln: Gln,
    kind: String,
    name: String,
}

/// One organisation of the demo: id, name, kind, roles, and what it owns or is accredited for.
struct DemoOrg {
    id: &'static str,
    name: &'static str,
    kind: OrgKind,
    roles: &'static [Role],
    accreditations: &'static [(&'static str, &'static [&'static str])],
}

const DEMO_ORGS: &[DemoOrg] = &[
    DemoOrg {
        id: "regione-marche",
        name: "Regione Marche",
        kind: OrgKind::PublicAuthority,
        roles: &[Role::Authority, Role::ValidatorOperator, Role::Auditor],
        accreditations: &[],
    },
    DemoOrg {
        id: "assam-apc",
        name: "APC - ASSAM Marche",
        kind: OrgKind::ControlBody,
        roles: &[Role::CertificationBody, Role::ValidatorOperator],
        accreditations: &[
            ("DOP", &["Casciotta d'Urbino", "Oliva Ascolana del Piceno"]),
            ("IGP", &["Ciauscolo"]),
        ],
    },
    DemoOrg {
        id: "valoritalia",
        name: "Valoritalia",
        kind: OrgKind::ControlBody,
        roles: &[Role::CertificationBody, Role::ValidatorOperator],
        accreditations: &[
            ("DOC", &["Verdicchio dei Castelli di Jesi", "Rosso Conero"]),
            ("DOCG", &["Offida Pecorino"]),
        ],
    },
    DemoOrg {
        id: "consorzio-tutela-demo",
        name: "Consorzio di tutela demo",
        kind: OrgKind::Consortium,
        roles: &[Role::ValidatorOperator, Role::Auditor],
        accreditations: &[],
    },
    DemoOrg {
        id: "suolo-e-salute",
        name: "Suolo e Salute (IT BIO 004)",
        kind: OrgKind::ControlBody,
        roles: &[Role::CertificationBody],
        accreditations: &[("BIO", &[]), ("QM", &[])],
    },
    DemoOrg {
        id: "odc-demo",
        name: "Organismo di controllo demo",
        kind: OrgKind::ControlBody,
        roles: &[Role::CertificationBody],
        accreditations: &[
            ("DOP", &["Cartoceto", "Prosciutto di Carpegna"]),
            ("IGP", &["Maccheroncini di Campofilone"]),
        ],
    },
    DemoOrg {
        id: "az-agricola-foglia-demo",
        name: "Azienda agricola Valle del Foglia (demo)",
        kind: OrgKind::Producer,
        roles: &[Role::Producer],
        accreditations: &[],
    },
    DemoOrg {
        id: "az-agricola-cesane-demo",
        name: "Azienda agricola Le Cesane (demo)",
        kind: OrgKind::Producer,
        roles: &[Role::Producer],
        accreditations: &[],
    },
    DemoOrg {
        id: "caseificio-montefeltro-demo",
        name: "Caseificio del Montefeltro (demo)",
        kind: OrgKind::Producer,
        roles: &[Role::Producer, Role::Processor],
        accreditations: &[],
    },
    DemoOrg {
        id: "cantina-cupramontana-demo",
        name: "Cantina di Cupramontana (demo)",
        kind: OrgKind::Producer,
        roles: &[Role::Producer, Role::Processor],
        accreditations: &[],
    },
    DemoOrg {
        id: "salumificio-visso-demo",
        name: "Salumificio dei Sibillini (demo)",
        kind: OrgKind::Producer,
        roles: &[Role::Producer, Role::Processor],
        accreditations: &[],
    },
    DemoOrg {
        id: "frantoio-cartoceto-demo",
        name: "Frantoio di Cartoceto (demo)",
        kind: OrgKind::Producer,
        roles: &[Role::Producer, Role::Processor],
        accreditations: &[],
    },
    DemoOrg {
        id: "pastificio-campofilone-demo",
        name: "Pastificio di Campofilone (demo)",
        kind: OrgKind::Producer,
        roles: &[Role::Producer, Role::Processor],
        accreditations: &[],
    },
    DemoOrg {
        id: "deposito-ancona-demo",
        name: "Logistica Adriatica (demo)",
        kind: OrgKind::Processor,
        roles: &[Role::Processor],
        accreditations: &[],
    },
];

/// Organisations that operate validators, in turn.
const VALIDATOR_OPERATORS: &[&str] = &[
    "regione-marche",
    "assam-apc",
    "valoritalia",
    "consorzio-tutela-demo",
];

/// Owner of each catalogue product, by GTIN (products not listed have no owner yet).
const PRODUCT_OWNERS: &[(&str, &str)] = &[
    ("09521234100010", "caseificio-montefeltro-demo"),
    ("09521234100027", "az-agricola-foglia-demo"),
    ("09521234100034", "az-agricola-cesane-demo"),
    ("09521234100041", "cantina-cupramontana-demo"),
    ("09521234100058", "cantina-cupramontana-demo"),
    ("09521234100065", "salumificio-visso-demo"),
    ("09521234100072", "frantoio-cartoceto-demo"),
    ("09521234100096", "pastificio-campofilone-demo"),
    ("09521234100102", "salumificio-visso-demo"),
    ("09521234100119", "cantina-cupramontana-demo"),
    ("09521234100126", "cantina-cupramontana-demo"),
];

/// Owner of each site, by its kind in the catalogue.
const SITE_OWNERS: &[(&str, &str)] = &[
    ("dairy", "caseificio-montefeltro-demo"),
    ("ageing_room", "caseificio-montefeltro-demo"),
    ("winery", "cantina-cupramontana-demo"),
    ("farm", "az-agricola-foglia-demo"),
    ("salumificio", "salumificio-visso-demo"),
    ("mill", "frantoio-cartoceto-demo"),
    ("pasta_maker", "pastificio-campofilone-demo"),
    ("warehouse", "deposito-ancona-demo"),
];

/// Accreditations of the demo run from the start of 2025 to the start of 2030.
const ACCREDITATION_FROM_MS: u64 = 1_735_689_600_000;
const ACCREDITATION_UNTIL_MS: u64 = 1_893_456_000_000;

fn org_id(id: &str) -> Result<OrgId> {
    OrgId::new(id).with_context(|| format!("organisation id {id:?}"))
}

fn lookup(table: &[(&str, &'static str)], key: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// Creates the whole localnet under `spec.out` and returns its genesis.
pub fn create(spec: &LocalnetSpec) -> Result<Genesis> {
    if spec.validators == 0 {
        bail!("--validators must be at least 1");
    }
    if spec.out.exists() && std::fs::read_dir(&spec.out)?.next().is_some() {
        bail!(
            "{} is not empty; choose a new directory",
            spec.out.display()
        );
    }
    let last_port = |base: u16| u16::try_from(usize::from(base) + spec.validators).ok();
    if last_port(spec.p2p_base_port).is_none()
        || last_port(spec.api_base_port).is_none()
        || last_port(spec.metrics_base_port).is_none()
    {
        bail!(
            "ports from the base ports up to base + {} must fit below 65536",
            spec.validators
        );
    }
    std::fs::create_dir_all(&spec.out)
        .with_context(|| format!("creating {}", spec.out.display()))?;

    let orgs_dir = private_dir(&spec.out.join("orgs"))?;
    let mut organisations = Vec::new();
    let load_dir = orgs_dir.join("load");
    if spec.load_keys > 0 {
        private_dir(&load_dir)?;
    }
    for org in DEMO_ORGS {
        let key = keyfile::generate()?;
        spec.sealing
            .write(&orgs_dir.join(format!("{}.json", org.id)), &key)?;
        let mut keys = vec![key.public_key()];
        let sends = org.roles.contains(&Role::Producer) || !org.accreditations.is_empty();
        for j in 0..spec.load_keys {
            if !sends {
                break;
            }
            let extra = keyfile::generate()?;
            spec.sealing
                .write(&load_dir.join(format!("{}-{j}.json", org.id)), &extra)?;
            keys.push(extra.public_key());
        }
        organisations.push(Organisation {
            id: org_id(org.id)?,
            name: org.name.into(),
            kind: org.kind,
            vat_number: None,
            roles: org.roles.to_vec(),
            keys,
            accreditations: org
                .accreditations
                .iter()
                .map(|(scheme, scope)| Accreditation {
                    scheme: (*scheme).into(),
                    scope: scope.iter().map(|s| (*s).into()).collect(),
                    valid_from_ms: ACCREDITATION_FROM_MS,
                    valid_until_ms: ACCREDITATION_UNTIL_MS,
                })
                .collect(),
        });
    }

    let authority_dir = private_dir(&spec.out.join("authority"))?;
    let mut authority_keys = Vec::new();
    for j in 0..spec.authority_keys {
        let key = keyfile::generate()?;
        spec.sealing
            .write(&authority_dir.join(format!("key-{j}.json")), &key)?;
        authority_keys.push(key.public_key());
    }

    let mut validators = Vec::new();
    let mut homes = Vec::new();
    for i in 0..spec.validators {
        let home = Home::new(spec.out.join(format!("node{i}")));
        home.create_dirs()?;
        let (consensus, _) = Home::load_or_create_key(&home.consensus_key(), &spec.sealing)?;
        let (p2p, _) = Home::load_or_create_key(&home.p2p_key(), &spec.sealing)?;
        validators.push(GenesisValidator {
            name: format!("validator-{i}"),
            organisation: org_id(VALIDATOR_OPERATORS[i % VALIDATOR_OPERATORS.len()])?,
            consensus_key: consensus.public_key(),
            p2p_key: p2p.public_key(),
            p2p_address: p2p_address(spec, i),
            power: 1,
        });
        homes.push(home);
    }

    let genesis = Genesis {
        format_version: GENESIS_FORMAT_VERSION,
        rules_version: filiera_types::chain_rules::IMPLEMENTED_MAX,
        chain_id: ChainId::new(spec.chain_id.clone()).context("--chain-id")?,
        genesis_time_ms: spec.genesis_time_ms,
        consensus: ConsensusParams::default(),
        validators,
        authority: Authority {
            organisation: org_id("regione-marche")?,
            keys: authority_keys,
            threshold: spec.authority_threshold,
        },
        organisations,
        catalogue: catalogue()?,
        contracts: filiera_execution::genesis::pinned(&filiera_execution::contracts::builtin())
            .into_iter()
            .map(|(id, code_hash)| GenesisContract { id, code_hash })
            .collect(),
    };
    genesis
        .validate()
        .context("the generated genesis is invalid")?;

    let json = genesis.to_json_pretty();
    write_new(&spec.out.join("genesis.json"), json.as_bytes())?;
    let epcis_clients = epcis_tokens(&orgs_dir)?;
    for (i, home) in homes.iter().enumerate() {
        let peers = (0..spec.validators)
            .filter(|&j| j != i)
            .map(|j| p2p_address(spec, j))
            .collect();
        let mut config = Config::new(
            &format!("validator-{i}"),
            &spec.host,
            port(spec.p2p_base_port, i),
            port(spec.api_base_port, i),
            (spec.metrics_base_port != 0).then(|| port(spec.metrics_base_port, i)),
            peers,
        );
        if i == 0 {
            config.epcis.clients = epcis_clients.clone();
        }
        home.write_config(&config)?;
        write_new(&home.genesis(), json.as_bytes())?;
    }
    Ok(genesis)
}

fn port(base: u16, i: usize) -> u16 {
    // Checked in `create`: base + validators fits in u16.
    base.saturating_add(u16::try_from(i).unwrap_or(u16::MAX))
}

fn p2p_address(spec: &LocalnetSpec, i: usize) -> String {
    format!("/ip4/{}/tcp/{}", spec.host, port(spec.p2p_base_port, i))
}

/// Organisations whose software may capture EPCIS documents through node 0.
const EPCIS_DEMO_CLIENTS: &[&str] = &["caseificio-montefeltro-demo", "deposito-ancona-demo"];

/// A random API token per EPCIS demo client, written to
/// `orgs/{id}.epcis-token` (0600); node 0's config keeps only its SHA-256.
fn epcis_tokens(orgs_dir: &Path) -> Result<Vec<EpcisClientConfig>> {
    use sha2::Digest;
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut clients = Vec::new();
    for org in EPCIS_DEMO_CLIENTS {
        let mut secret = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(secret.as_mut()).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let token = zeroize::Zeroizing::new(hex::encode(secret.as_ref()));
        let path = orgs_dir.join(format!("{org}.epcis-token"));
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(token.as_bytes()))
            .with_context(|| format!("writing {}", path.display()))?;
        clients.push(EpcisClientConfig {
            org: (*org).to_owned(),
            token_sha256: hex::encode(sha2::Sha256::digest(token.as_bytes())),
            key_file: format!("../orgs/{org}.json"),
        });
    }
    Ok(clients)
}

fn private_dir(path: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(path)
        .with_context(|| format!("creating {}", path.display()))?;
    Ok(path.to_path_buf())
}

/// The shipped catalogue with demo owners.
fn catalogue() -> Result<Catalogue> {
    let file: CatalogueFile =
        serde_json::from_str(CATALOGUE_JSON).context("genesis/catalogue.json is invalid")?;
    let mut products = Vec::new();
    for p in file.products {
        let owner = lookup(PRODUCT_OWNERS, p.gtin.as_str())
            .map(org_id)
            .transpose()?;
        products.push(Product {
            gtin: p.gtin,
            name: p.name,
            scheme: p.scheme,
            category: p.category,
            unit: p.unit,
            uom: p.uom,
            description: p.description,
            owner,
        });
    }
    let mut locations = Vec::new();
    for l in file.locations {
        let owner = lookup(SITE_OWNERS, &l.kind).map(org_id).transpose()?;
        locations.push(Location {
            gln: l.gln,
            kind: l.kind,
            name: l.name,
            owner,
        });
    }
    Ok(Catalogue {
        schemes: file.schemes,
        products,
        locations,
        rules: file.rules,
    })
}

/// Public keys of a list, for printing.
pub fn short(key: &PublicKey) -> String {
    key.to_hex()[..16].to_owned()
}

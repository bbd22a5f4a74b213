//! Cross-field checks of a genesis document. Each error names its field.

use super::{GENESIS_FORMAT_VERSION, Genesis, GenesisError, OrgKind, Role};
use crate::crypto::PublicKey;
use crate::limits::{AUTHORITY_KEYS_MAX, TEXT_BYTES_MAX, VALIDATORS_MAX};
use std::collections::BTreeMap;

type Check = Result<(), GenesisError>;

/// Range of every consensus timeout, in milliseconds.
const TIMEOUT_MS_RANGE: (u64, u64) = (10, 600_000);

pub(super) fn validate(g: &Genesis) -> Check {
    if g.format_version != GENESIS_FORMAT_VERSION {
        return Err(GenesisError::new(
            "format_version",
            format!(
                "this node reads version {GENESIS_FORMAT_VERSION}, found {}",
                g.format_version
            ),
        ));
    }
    if crate::chain_rules::implemented(g.rules_version).is_none() {
        return Err(GenesisError::new(
            "rules_version",
            format!(
                "this node implements chain rules versions 1 to {}, not {}",
                crate::chain_rules::IMPLEMENTED_MAX,
                g.rules_version
            ),
        ));
    }
    consensus(g)?;
    let orgs = organisations(g)?;
    validators(g, &orgs)?;
    authority(g, &orgs)?;
    catalogue(g, &orgs)?;
    contracts(g)
}

fn in_range(field: &str, value: u64, min: u64, max: u64) -> Check {
    if value < min || value > max {
        return Err(GenesisError::new(
            field,
            format!("{value} is outside the range {min}..={max}"),
        ));
    }
    Ok(())
}

fn text(field: &str, value: &str) -> Check {
    if value.trim().is_empty() || value.len() > TEXT_BYTES_MAX {
        return Err(GenesisError::new(
            field,
            format!(
                "must be 1 to {TEXT_BYTES_MAX} bytes of visible text, found {} bytes",
                value.len()
            ),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(GenesisError::new(field, "contains a control character"));
    }
    Ok(())
}

fn key(field: &str, key: &PublicKey) -> Check {
    key.validate()
        .map_err(|e| GenesisError::new(field, format!("{e} ({key})")))
}

fn consensus(g: &Genesis) -> Check {
    let c = &g.consensus;
    let (lo, hi) = TIMEOUT_MS_RANGE;
    in_range("consensus.timeout_propose_ms", c.timeout_propose_ms, lo, hi)?;
    in_range("consensus.timeout_prevote_ms", c.timeout_prevote_ms, lo, hi)?;
    in_range(
        "consensus.timeout_precommit_ms",
        c.timeout_precommit_ms,
        lo,
        hi,
    )?;
    in_range("consensus.timeout_delta_ms", c.timeout_delta_ms, 0, hi)?;
    in_range("consensus.block_interval_ms", c.block_interval_ms, 0, hi)?;
    // The limits: the same bounds as governance moves them within.
    crate::chain_limits::ChainLimits::from_genesis(c)
        .check()
        .map_err(|e| {
            GenesisError::new(
                format!("consensus.{}", e.name),
                format!("{} is outside the range {}..={}", e.value, e.min, e.max),
            )
        })
}

/// Checks organisations and returns their roles by id.
fn organisations(g: &Genesis) -> Result<BTreeMap<&str, &[Role]>, GenesisError> {
    let scheme_codes: Vec<&str> = g
        .catalogue
        .schemes
        .iter()
        .map(|s| s.code.as_str())
        .collect();
    let mut by_id = BTreeMap::new();
    let mut key_owner: BTreeMap<PublicKey, String> = BTreeMap::new();
    for (i, org) in g.organisations.iter().enumerate() {
        let at = format!("organisations[{i}]");
        if by_id
            .insert(org.id.as_str(), org.roles.as_slice())
            .is_some()
        {
            return Err(GenesisError::new(
                format!("{at}.id"),
                format!("duplicate organisation id {:?}", org.id.as_str()),
            ));
        }
        text(&format!("{at}.name"), &org.name)?;
        if let Some(vat) = &org.vat_number
            && !(vat.len() == 11 && vat.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(GenesisError::new(
                format!("{at}.vat_number"),
                "an Italian VAT number (partita IVA) has 11 digits",
            ));
        }
        if org.roles.is_empty() {
            return Err(GenesisError::new(
                format!("{at}.roles"),
                "an organisation needs at least one role",
            ));
        }
        for (j, role) in org.roles.iter().enumerate() {
            if org.roles[..j].contains(role) {
                return Err(GenesisError::new(
                    format!("{at}.roles[{j}]"),
                    format!("role {role:?} listed twice"),
                ));
            }
        }
        if org.keys.is_empty() {
            return Err(GenesisError::new(
                format!("{at}.keys"),
                "an organisation needs at least one key",
            ));
        }
        for (j, k) in org.keys.iter().enumerate() {
            let field = format!("{at}.keys[{j}]");
            key(&field, k)?;
            if let Some(other) = key_owner.insert(*k, field.clone()) {
                return Err(GenesisError::new(
                    field,
                    format!("key already used by {other}"),
                ));
            }
        }
        let certifier = org.roles.contains(&Role::CertificationBody);
        for (j, acc) in org.accreditations.iter().enumerate() {
            let at = format!("{at}.accreditations[{j}]");
            if !certifier {
                return Err(GenesisError::new(
                    at,
                    "only an organisation with role certification_body can hold accreditations",
                ));
            }
            if !scheme_codes.contains(&acc.scheme.as_str()) {
                return Err(GenesisError::new(
                    format!("{at}.scheme"),
                    format!("unknown scheme {:?} (not in catalogue.schemes)", acc.scheme),
                ));
            }
            for (k, name) in acc.scope.iter().enumerate() {
                text(&format!("{at}.scope[{k}]"), name)?;
            }
            if acc.valid_from_ms >= acc.valid_until_ms {
                return Err(GenesisError::new(
                    format!("{at}.valid_until_ms"),
                    "must be after valid_from_ms",
                ));
            }
        }
        if org.kind == OrgKind::ControlBody && !certifier {
            return Err(GenesisError::new(
                format!("{at}.roles"),
                "a control_body needs the certification_body role",
            ));
        }
    }
    Ok(by_id)
}

fn validators(g: &Genesis, orgs: &BTreeMap<&str, &[Role]>) -> Check {
    let n = g.validators.len();
    if n == 0 || n > VALIDATORS_MAX {
        return Err(GenesisError::new(
            "validators",
            format!("need 1 to {VALIDATORS_MAX} validators, found {n}"),
        ));
    }
    let mut seen: BTreeMap<PublicKey, String> = BTreeMap::new();
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, v) in g.validators.iter().enumerate() {
        let at = format!("validators[{i}]");
        text(&format!("{at}.name"), &v.name)?;
        if let Some(first) = names.insert(v.name.as_str(), i) {
            return Err(GenesisError::new(
                format!("{at}.name"),
                format!("duplicate validator name, also validators[{first}]"),
            ));
        }
        match orgs.get(v.organisation.as_str()) {
            None => {
                return Err(GenesisError::new(
                    format!("{at}.organisation"),
                    format!("unknown organisation {:?}", v.organisation.as_str()),
                ));
            }
            Some(roles) if !roles.contains(&Role::ValidatorOperator) => {
                return Err(GenesisError::new(
                    format!("{at}.organisation"),
                    format!(
                        "organisation {:?} lacks the validator_operator role",
                        v.organisation.as_str()
                    ),
                ));
            }
            Some(_) => {}
        }
        for (field, k) in [("consensus_key", &v.consensus_key), ("p2p_key", &v.p2p_key)] {
            let field = format!("{at}.{field}");
            key(&field, k)?;
            if let Some(other) = seen.insert(*k, field.clone()) {
                return Err(GenesisError::new(
                    field,
                    format!("duplicate validator key, also {other}"),
                ));
            }
        }
        multiaddr(&format!("{at}.p2p_address"), &v.p2p_address)?;
        if v.power == 0 {
            return Err(GenesisError::new(
                format!("{at}.power"),
                "voting power must be at least 1",
            ));
        }
    }
    g.validator_set().map(|_| ())
}

/// A light check of `/ip4/A.B.C.D/tcp/PORT` or `/dns/NAME/tcp/PORT` (the node parses it fully).
fn multiaddr(field: &str, addr: &str) -> Check {
    let parts: Vec<&str> = addr.split('/').collect();
    let ok = match parts.as_slice() {
        ["", "ip4", ip, "tcp", port] => {
            ip.parse::<std::net::Ipv4Addr>().is_ok() && port.parse::<u16>().is_ok()
        }
        ["", "ip6", ip, "tcp", port] => {
            ip.parse::<std::net::Ipv6Addr>().is_ok() && port.parse::<u16>().is_ok()
        }
        ["", "dns" | "dns4" | "dns6", host, "tcp", port] => {
            !host.is_empty() && port.parse::<u16>().is_ok()
        }
        _ => false,
    };
    if !ok {
        return Err(GenesisError::new(
            field,
            format!("{addr:?} is not /ip4/<ip>/tcp/<port>, /ip6/... or /dns/<host>/tcp/<port>"),
        ));
    }
    Ok(())
}

fn authority(g: &Genesis, orgs: &BTreeMap<&str, &[Role]>) -> Check {
    let a = &g.authority;
    match orgs.get(a.organisation.as_str()) {
        None => {
            return Err(GenesisError::new(
                "authority.organisation",
                format!("unknown organisation {:?}", a.organisation.as_str()),
            ));
        }
        Some(roles) if !roles.contains(&Role::Authority) => {
            return Err(GenesisError::new(
                "authority.organisation",
                format!(
                    "organisation {:?} lacks the authority role",
                    a.organisation.as_str()
                ),
            ));
        }
        Some(_) => {}
    }
    let n = a.keys.len();
    if n == 0 || n > AUTHORITY_KEYS_MAX {
        return Err(GenesisError::new(
            "authority.keys",
            format!("need 1 to {AUTHORITY_KEYS_MAX} keys, found {n}"),
        ));
    }
    for (i, k) in a.keys.iter().enumerate() {
        let field = format!("authority.keys[{i}]");
        key(&field, k)?;
        if a.keys[..i].contains(k) {
            return Err(GenesisError::new(field, "duplicate authority key"));
        }
    }
    if a.threshold == 0 || a.threshold as usize > n {
        return Err(GenesisError::new(
            "authority.threshold",
            format!(
                "must be between 1 and the number of keys ({n}), found {}",
                a.threshold
            ),
        ));
    }
    Ok(())
}

fn catalogue(g: &Genesis, orgs: &BTreeMap<&str, &[Role]>) -> Check {
    let c = &g.catalogue;
    for (i, s) in c.schemes.iter().enumerate() {
        let at = format!("catalogue.schemes[{i}]");
        if s.code.is_empty() || s.code.len() > 8 || !s.code.bytes().all(|b| b.is_ascii_uppercase())
        {
            return Err(GenesisError::new(
                format!("{at}.code"),
                "a scheme code is 1 to 8 upper-case letters",
            ));
        }
        if c.schemes[..i].iter().any(|o| o.code == s.code) {
            return Err(GenesisError::new(
                format!("{at}.code"),
                format!("duplicate scheme {:?}", s.code),
            ));
        }
        text(&format!("{at}.name"), &s.name)?;
        text(&format!("{at}.law"), &s.law)?;
    }
    let owner_ok = |field: String, owner: &Option<crate::name::OrgId>| -> Check {
        let Some(owner) = owner else { return Ok(()) };
        match orgs.get(owner.as_str()) {
            Some(roles)
                if roles
                    .iter()
                    .any(|r| matches!(r, Role::Producer | Role::Processor)) =>
            {
                Ok(())
            }
            Some(_) => Err(GenesisError::new(
                field,
                format!(
                    "organisation {:?} is neither producer nor processor",
                    owner.as_str()
                ),
            )),
            None => Err(GenesisError::new(
                field,
                format!("unknown organisation {:?}", owner.as_str()),
            )),
        }
    };
    for (i, p) in c.products.iter().enumerate() {
        let at = format!("catalogue.products[{i}]");
        if c.products[..i].iter().any(|o| o.gtin == p.gtin) {
            return Err(GenesisError::new(
                format!("{at}.gtin"),
                format!("duplicate GTIN {}", p.gtin),
            ));
        }
        if p.scheme != "none" && !c.schemes.iter().any(|s| s.code == p.scheme) {
            return Err(GenesisError::new(
                format!("{at}.scheme"),
                format!(
                    "unknown scheme {:?} (a catalogue.schemes code or \"none\")",
                    p.scheme
                ),
            ));
        }
        for (field, value) in [
            ("name", &p.name),
            ("category", &p.category),
            ("unit", &p.unit),
            ("uom", &p.uom),
            ("description", &p.description),
        ] {
            text(&format!("{at}.{field}"), value)?;
        }
        owner_ok(format!("{at}.owner"), &p.owner)?;
    }
    for (i, l) in c.locations.iter().enumerate() {
        let at = format!("catalogue.locations[{i}]");
        if c.locations[..i].iter().any(|o| o.gln == l.gln) {
            return Err(GenesisError::new(
                format!("{at}.gln"),
                format!("duplicate GLN {}", l.gln),
            ));
        }
        text(&format!("{at}.kind"), &l.kind)?;
        text(&format!("{at}.name"), &l.name)?;
        owner_ok(format!("{at}.owner"), &l.owner)?;
    }
    for (i, r) in c.rules.iter().enumerate() {
        let at = format!("catalogue.rules[{i}]");
        if let Some(why) = filiera_contract_api::rules::malformed(r) {
            return Err(GenesisError::new(at, why));
        }
        if !c.schemes.iter().any(|s| s.code == r.scheme) {
            return Err(GenesisError::new(
                format!("{at}.scheme"),
                format!("unknown scheme {:?} (not in catalogue.schemes)", r.scheme),
            ));
        }
        if r.applies_from_ms != 0 {
            return Err(GenesisError::new(
                format!("{at}.applies_from_ms"),
                "rules in genesis apply from genesis: 0".to_owned(),
            ));
        }
        let fold = filiera_contract_api::rules::fold;
        if c.rules[..i]
            .iter()
            .any(|o| o.scheme == r.scheme && fold(&o.name) == fold(&r.name))
        {
            return Err(GenesisError::new(
                format!("{at}.name"),
                format!("{} {:?} has rules twice", r.scheme, r.name),
            ));
        }
    }
    Ok(())
}

fn contracts(g: &Genesis) -> Check {
    for (i, c) in g.contracts.iter().enumerate() {
        if g.contracts[..i].iter().any(|o| o.id == c.id) {
            return Err(GenesisError::new(
                format!("contracts[{i}].id"),
                format!("duplicate contract {:?}", c.id.as_str()),
            ));
        }
    }
    Ok(())
}

//! Identifiers in EPCIS events, in their canonical form: the constrained
//! GS1 Digital Link on `https://id.gs1.org` at the lowest level of
//! identification, without query string (CBV 2.0 §8.9). An EPC URN and a
//! Digital Link naming the same thing get the same canonical form, so they
//! hash alike.

use filiera_types::gs1::{DigitalLink, DlPrimaryKey, Epc, Gln, Gtin, Lot, check_digit};

/// The base of canonical Digital Links.
pub const CANONICAL_BASE: &str = "https://id.gs1.org";

/// The canonical form of an EPC, EPC class, location or party identifier.
pub fn canonical_id(value: &str) -> Result<String, String> {
    if let Some(body) = value.strip_prefix("urn:epc:id:pgln:") {
        return party_from_urn(body).map(|gln| party_uri(&gln));
    }
    if let Some(body) = value.strip_prefix("urn:epc:idpat:sgtin:") {
        return product_class_from_pattern(body)
            .map(|g| format!("{CANONICAL_BASE}/01/{}", g.as_str()));
    }
    if value.starts_with("urn:epc:") {
        let epc = Epc::parse_urn(value).map_err(|e| e.to_string())?;
        return Ok(epc.to_digital_link(CANONICAL_BASE).to_uri());
    }
    if value.starts_with("https://") || value.starts_with("http://") {
        if let Some(gln) = party_from_link(value)? {
            return Ok(party_uri(&gln));
        }
        let link = DigitalLink::parse(value).map_err(|e| e.to_string())?;
        return Ok(lowest_level(link).to_uri());
    }
    Err(format!(
        "{value:?} is neither an EPC URN (sgtin, lgtin, sgln, sscc, pgln) nor a GS1 Digital Link"
    ))
}

/// The product and lot an identifier names, if it names a lot
/// (`urn:epc:class:lgtin:…` or a Digital Link with AI 10 and no serial).
pub fn lot_of(value: &str) -> Option<(Gtin, Lot)> {
    let link = if value.starts_with("urn:epc:") {
        Epc::parse_urn(value).ok()?.to_digital_link(CANONICAL_BASE)
    } else {
        DigitalLink::parse(value).ok()?
    };
    match link.key {
        DlPrimaryKey::Gtin {
            gtin,
            lot: Some(lot),
            serial: None,
            ..
        } => Some((gtin, lot)),
        _ => None,
    }
}

/// The GLN of a location identifier (`urn:epc:id:sgln:…` or AI 414).
pub fn location_of(value: &str) -> Option<Gln> {
    let link = if value.starts_with("urn:epc:") {
        Epc::parse_urn(value).ok()?.to_digital_link(CANONICAL_BASE)
    } else {
        DigitalLink::parse(value).ok()?
    };
    match link.key {
        DlPrimaryKey::Gln { gln, .. } => Some(gln),
        _ => None,
    }
}

/// A Digital Link reduced to what identifies: a serial makes the lot and the
/// variant redundant, and the query string is not part of the identity.
fn lowest_level(mut link: DigitalLink) -> DigitalLink {
    link.base = CANONICAL_BASE.to_owned();
    link.query.clear();
    match &mut link.key {
        DlPrimaryKey::Gtin {
            variant,
            lot,
            serial,
            ..
        } => {
            if serial.is_some() {
                *lot = None;
                *variant = None;
            } else if lot.is_some() {
                *variant = None;
            }
        }
        DlPrimaryKey::Gln { extension, .. } => {
            if extension.as_deref() == Some("0") {
                *extension = None;
            }
        }
        DlPrimaryKey::Sscc(_) => {}
    }
    link
}

fn party_uri(gln: &Gln) -> String {
    format!("{CANONICAL_BASE}/417/{}", gln.as_str())
}

/// `CompanyPrefix.PartyRef` (13 digits together) with the check digit added.
fn party_from_urn(body: &str) -> Result<Gln, String> {
    let (prefix, reference) = body
        .split_once('.')
        .ok_or_else(|| format!("pgln {body:?} lacks the '.' after the company prefix"))?;
    if !(6..=12).contains(&prefix.len()) || prefix.len() + reference.len() != 12 {
        return Err(format!("pgln {body:?} must have 12 digits around the '.'"));
    }
    with_check_digit(&format!("{prefix}{reference}"))
        .and_then(|digits| Gln::parse(&digits).map_err(|e| e.to_string()))
}

/// `CompanyPrefix.ItemRef.*`: a product class.
fn product_class_from_pattern(body: &str) -> Result<Gtin, String> {
    let fields: Vec<&str> = body.split('.').collect();
    let [prefix, item, "*"] = fields.as_slice() else {
        return Err(format!(
            "sgtin pattern {body:?} must be CompanyPrefix.ItemRef.*"
        ));
    };
    if prefix.len() + item.len() != 13 || item.is_empty() {
        return Err(format!(
            "sgtin pattern {body:?} must have 13 digits around the '.'"
        ));
    }
    // Digits only before slicing: a multi-byte character must not be cut.
    if !item
        .bytes()
        .chain(prefix.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return Err(format!(
            "sgtin pattern {body:?} must be digits around the '.'"
        ));
    }
    let data = format!("{}{prefix}{}", &item[..1], &item[1..]);
    with_check_digit(&data).and_then(|digits| Gtin::parse(&digits).map_err(|e| e.to_string()))
}

fn with_check_digit(data: &str) -> Result<String, String> {
    if !data.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{data:?} must be digits"));
    }
    let c = check_digit(data.as_bytes()).map_err(|e| e.to_string())?;
    Ok(format!("{data}{c}"))
}

/// A party Digital Link (`…/417/{gln}`), which [`DigitalLink`] does not model.
fn party_from_link(value: &str) -> Result<Option<Gln>, String> {
    let path = value.split(['?', '#']).next().unwrap_or_default();
    let Some(i) = path.find("/417/") else {
        return Ok(None);
    };
    let digits = path[i + 5..].trim_end_matches('/');
    Gln::parse(digits)
        .map(Some)
        .map_err(|e| format!("party {value:?}: {e}"))
}

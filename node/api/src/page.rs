//! The consumer page: a small, self-contained HTML document (no framework,
//! no external assets) in Italian or English. Every stored string is
//! HTML-escaped. A recall or hold comes first.

use crate::bundle::Bundle;
use crate::views;
use filiera_contract_api::certification::Validity;
use filiera_contract_api::lots::{EventKind, LotStatus};
use filiera_types::gs1::{DigitalLink, Gtin, Lot};

/// The page's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Italian (default).
    It,
    /// English.
    En,
}

impl Lang {
    /// From `?lang=` if given, else the first supported `Accept-Language` tag, else Italian.
    pub fn choose(query: Option<&str>, accept_language: Option<&str>) -> Lang {
        let pick = |tag: &str| match tag.trim().get(..2).map(str::to_ascii_lowercase).as_deref() {
            Some("en") => Some(Lang::En),
            Some("it") => Some(Lang::It),
            _ => None,
        };
        if let Some(lang) = query.and_then(pick) {
            return lang;
        }
        // The supported language with the highest q-value; q=0 means "not this".
        let mut best: Option<(u16, Lang)> = None;
        for (tag, q) in crate::resolver::accept_ranges(accept_language.unwrap_or("")) {
            if let Some(lang) = pick(&tag)
                && q > 0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::It, |(_, lang)| lang)
    }

    fn code(self) -> &'static str {
        match self {
            Lang::It => "it",
            Lang::En => "en",
        }
    }
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn t(lang: Lang, it: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::It => it,
        Lang::En => en,
    }
}

/// The scheme's name spelled out.
pub fn scheme_name(code: &str, lang: Lang) -> &'static str {
    match code {
        "DOP" => t(
            lang,
            "Denominazione di Origine Protetta",
            "Protected Designation of Origin",
        ),
        "IGP" => t(
            lang,
            "Indicazione Geografica Protetta",
            "Protected Geographical Indication",
        ),
        "DOC" => t(
            lang,
            "Denominazione di Origine Controllata",
            "Controlled Designation of Origin",
        ),
        "DOCG" => t(
            lang,
            "Denominazione di Origine Controllata e Garantita",
            "Controlled and Guaranteed Designation of Origin",
        ),
        "IGT" => t(
            lang,
            "Indicazione Geografica Tipica",
            "Typical Geographical Indication",
        ),
        "QM" => t(
            lang,
            "QM - Qualità garantita dalle Marche",
            "QM - Quality guaranteed by the Marche region",
        ),
        "BIO" => t(lang, "Agricoltura biologica", "Organic farming"),
        _ => "",
    }
}

fn event_label(kind: EventKind, lang: Lang) -> &'static str {
    match kind {
        EventKind::Commission => t(lang, "Produzione", "Made"),
        EventKind::Transform => t(lang, "Trasformazione", "Processed"),
        EventKind::Split => t(lang, "Suddivisione", "Split"),
        EventKind::Merge => t(lang, "Unione", "Merged"),
        EventKind::Ship => t(lang, "Spedizione", "Shipped"),
        EventKind::Receive => t(lang, "Ricevimento", "Received"),
        EventKind::Store => t(lang, "Stagionatura / stoccaggio", "Aged / stored"),
        EventKind::Inspect => t(lang, "Ispezione", "Inspected"),
        EventKind::Hold => t(lang, "Blocco", "Held"),
        EventKind::Release => t(lang, "Sblocco", "Released"),
        EventKind::Sell => t(lang, "Vendita", "Sold"),
        EventKind::Destroy => t(lang, "Distruzione", "Destroyed"),
        EventKind::Recall => t(lang, "Richiamo", "Recalled"),
        EventKind::RecallClosed => t(lang, "Richiamo chiuso", "Recall closed"),
    }
}

/// The steps of a product's making that the app records as a tag at the
/// head of an event's note (`#ageing_start`, then the user's words): the
/// contract's event kinds are the CBV business steps, and a step names what
/// a disciplinare speaks of (ageing starts and ends in the `Store` kind).
/// The app has words for each (`step_<code>` in `app/i18n.js`; a test
/// checks both lists agree).
pub const STEPS: [(&str, &str, &str); 3] = [
    ("ageing_start", "Inizio stagionatura", "Ageing started"),
    ("ageing_end", "Fine stagionatura", "Ageing ended"),
    ("drying", "Essiccazione", "Drying"),
];

/// The step a note starts with, in `lang`, and the rest of the note.
pub fn note_step(note: &str, lang: Lang) -> Option<(&'static str, &str)> {
    let tagged = note.strip_prefix('#')?;
    let (code, rest) = tagged.split_once(' ').unwrap_or((tagged, ""));
    STEPS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, it, en)| (t(lang, it, en), rest))
}

fn validity_label(v: Validity, lang: Lang) -> &'static str {
    match v {
        Validity::Valid => t(lang, "valida", "valid"),
        Validity::NotYetValid => t(lang, "non ancora valida", "not yet valid"),
        Validity::Expired => t(lang, "scaduta", "expired"),
        Validity::Suspended => t(lang, "sospesa", "suspended"),
        Validity::Revoked => t(lang, "revocata", "revoked"),
    }
}

/// `YYYY-MM-DD` of a time in ms (UTC), without a date library.
pub fn date(ms: u64) -> String {
    let days = (ms / 86_400_000) as i64;
    // Civil-from-days (H. Hinnant), valid for the proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f7f5f0;color:#222}\
main{max-width:38rem;margin:auto;padding:1rem}h1{font-size:1.5rem;margin:.2rem 0}\
.scheme{color:#7a5b00;font-weight:600}.banner{padding:.8rem;border-radius:.4rem;margin:.5rem 0;font-weight:600}\
.recall{background:#b00020;color:#fff}.hold{background:#f0a000}\
section{background:#fff;border-radius:.5rem;padding:.8rem;margin:.8rem 0;box-shadow:0 1px 2px #0002}\
ol{padding-left:1.2rem}li{margin:.3rem 0}.ok{color:#176b1a}.ko{color:#b00020}\
small{color:#666}nav a{margin-right:.6rem}";

/// The page for a lot bundle.
pub fn lot_page(b: &Bundle, lang: Lang, self_path: &str) -> String {
    let e = escape;
    let p = &b.product;
    let lot = &b.lot;
    let mut html = String::with_capacity(8 * 1024);
    html.push_str(&format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} – {}</title><style>{STYLE}</style></head><body><main>",
        lang.code(),
        e(&p.name),
        e(&lot.id.lot)
    ));
    html.push_str(&format!(
        "<nav><a href=\"{0}?lang=it\">Italiano</a><a href=\"{0}?lang=en\">English</a></nav>",
        e(self_path)
    ));
    if let Some(r) = &lot.recall {
        html.push_str(&format!(
            "<div class=\"banner recall\" id=\"recall\">{}: {} ({})</div>",
            t(lang, "RICHIAMO – non consumare", "RECALL – do not eat"),
            e(&r.reason),
            date(r.time_ms)
        ));
    } else if lot.status == LotStatus::Held {
        html.push_str(&format!(
            "<div class=\"banner hold\" id=\"hold\">{}</div>",
            t(
                lang,
                "Lotto bloccato in attesa di verifica",
                "Lot on hold pending checks"
            )
        ));
    }
    html.push_str(&format!(
        "<h1 id=\"product-name\">{}</h1><div class=\"scheme\">{} {}</div>",
        e(&p.name),
        e(&p.scheme),
        e(scheme_name(&p.scheme, lang))
    ));
    html.push_str(&format!(
        "<section><div>{}: <b id=\"lot-number\">{}</b></div><div>GTIN {}</div>",
        t(lang, "Lotto", "Lot"),
        e(&lot.id.lot),
        e(&p.gtin)
    ));
    if let Some(org) = &b.producer {
        html.push_str(&format!(
            "<div>{}: {}</div>",
            t(lang, "Produttore", "Producer"),
            e(&org.name)
        ));
    }
    if let Some(site) = &lot.site {
        html.push_str(&format!(
            "<div>{}: GLN {}</div>",
            t(lang, "Luogo", "Place"),
            e(site)
        ));
    }
    for (k, v) in &lot.metadata {
        html.push_str(&format!("<div>{}: {}</div>", e(k), e(v)));
    }
    if !lot.inputs.is_empty() {
        // Links to the lots it was made from: the chain, one scan away.
        let links: Vec<String> = lot
            .inputs
            .iter()
            .map(|i| {
                let path = match (Gtin::parse(&i.gtin), Lot::parse(&i.lot)) {
                    (Ok(g), Ok(l)) => DigitalLink::for_lot("", g, l).to_uri(),
                    _ => String::new(),
                };
                format!("<a href=\"{}\">{}</a>", e(&path), e(&i.lot))
            })
            .collect();
        html.push_str(&format!(
            "<div>{}: {}</div>",
            t(lang, "Ottenuto da", "Made from"),
            links.join(", ")
        ));
    }
    html.push_str("</section>");
    html.push_str(&format!(
        "<section><h2>{}</h2><ol>",
        t(lang, "La storia del lotto", "The lot's story")
    ));
    for ev in &b.events {
        let (step, note) = match note_step(&ev.note, lang) {
            Some((step, rest)) => (format!(" · {}", e(step)), rest),
            None => (String::new(), ev.note.as_str()),
        };
        html.push_str(&format!(
            "<li><b>{}</b>{step} <small>{} · {}</small>{}</li>",
            event_label(ev.kind, lang),
            date(ev.time_ms),
            e(&ev.by),
            if note.is_empty() {
                String::new()
            } else {
                format!("<br>{}", e(note))
            }
        ));
    }
    html.push_str("</ol></section>");
    html.push_str(&format!(
        "<section><h2>{}</h2>",
        t(lang, "Certificazioni", "Certifications")
    ));
    if b.attestations.is_empty() {
        html.push_str(&format!(
            "<p>{}</p>",
            t(
                lang,
                "Nessuna certificazione registrata.",
                "No certification recorded."
            )
        ));
    }
    for a in &b.attestations {
        let v = a.validity_at(b.header.time_ms);
        html.push_str(&format!(
            "<p class=\"{}\">{} {} – <b>{}</b><br><small>{} {} · {} {}</small></p>",
            if v == Validity::Valid { "ok" } else { "ko" },
            e(&a.scheme),
            e(&a.protected_name),
            validity_label(v, lang),
            t(lang, "rilasciata da", "issued by"),
            e(&a.body),
            t(lang, "valida fino al", "valid until"),
            // The window's end is exclusive: the last valid day is the one before.
            date(a.valid_until_ms.saturating_sub(1))
        ));
    }
    html.push_str("</section>");
    html.push_str(&format!(
        "<section><small>{} {} · {} {} · {} {}/{}</small></section>",
        t(lang, "Dati del blocco", "Block"),
        b.header.height,
        t(lang, "radice di stato", "state root"),
        &b.header.state_root.to_hex()[..16],
        t(lang, "firmato da", "signed by"),
        b.certificate.signatures().len(),
        b.validators.validators().len()
    ));
    html.push_str(&format!(
        "<!-- status: {} -->",
        views::lot_status(lot.status)
    ));
    html.push_str(&format!(
        "<section id=\"proof\"><b id=\"badge\" data-state=\"pending\" data-wasm=\"{}\">{}</b>\
         <br><small id=\"proofinfo\"></small></section>",
        e(&crate::assets::VERIFIER_URL),
        t(
            lang,
            "Verifica delle firme in corso…",
            "Checking the signatures…"
        )
    ));
    html.push_str("</main><script>");
    html.push_str(VERIFY_JS);
    html.push_str("</script></body></html>");
    html
}

/// Verifies the page's bundle in the browser with the WASM verifier.
const VERIFY_JS: &str = include_str!("verify.js");

/// A small error page in the same style (400 or 404).
pub fn error_page(lang: Lang, title_it: &str, title_en: &str, detail: &str) -> String {
    let title = match lang {
        Lang::It => title_it,
        Lang::En => title_en,
    };
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main><h1>{}</h1>\
         <section><p>{}</p></section></main></body></html>",
        lang.code(),
        escape(title),
        escape(title),
        escape(detail)
    )
}

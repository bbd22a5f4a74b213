//! The GS1 Digital Link resolver: `/01/{gtin}/10/{lot}` answers a phone with
//! the consumer page, software with the JSON bundle, and a GS1 linkset to
//! whoever asks for `application/linkset+json`.

use crate::ApiState;
use crate::bundle_cache::bundle_at_head;
use crate::error::ApiError;
use crate::ids;
use crate::page::{self, Lang};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use filiera_types::gs1::DigitalLink;
use serde::Deserialize;
use serde_json::json;

/// Query options of the resolver.
#[derive(Deserialize)]
pub struct ResolverQuery {
    /// `it` or `en`.
    lang: Option<String>,
}

enum Wants {
    Html,
    Json,
    Linkset,
}

/// The media types of an `Accept` header with their q-values (q=0 means "not this").
pub fn accept_ranges(accept: &str) -> Vec<(String, u16)> {
    accept
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let media = pieces.next()?.trim().to_ascii_lowercase();
            let mut q = 1000u16;
            for param in pieces {
                if let Some(v) = param.trim().strip_prefix("q=") {
                    // q has at most three decimals: compare in thousandths, no floats.
                    let mut digits = v.trim().split('.');
                    let whole: u16 = digits.next().and_then(|d| d.parse().ok()).unwrap_or(0);
                    let frac = digits.next().unwrap_or("");
                    let frac: u16 = format!("{frac:0<3}")
                        .get(..3)
                        .and_then(|d| d.parse().ok())
                        .unwrap_or(0);
                    q = (whole.min(1) * 1000 + frac).min(1000);
                }
            }
            (!media.is_empty()).then_some((media, q))
        })
        .collect()
}

fn wants(headers: &HeaderMap) -> Wants {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let q_of = |media: &str| {
        accept_ranges(accept)
            .into_iter()
            .filter(|(m, _)| m == media)
            .map(|(_, q)| q)
            .max()
            .unwrap_or(0)
    };
    let (linkset, html, json) = (
        q_of("application/linkset+json"),
        q_of("text/html"),
        q_of("application/json").max(q_of("*/*") / 2),
    );
    if linkset > 0 && linkset >= html && linkset >= json {
        Wants::Linkset
    } else if html > 0 && html > json {
        Wants::Html
    } else {
        Wants::Json
    }
}

/// Caches must keep one answer per representation and language.
const VARY: (header::HeaderName, &str) = (header::VARY, "accept, accept-language");

/// `GET /01/{gtin}/10/{lot}`.
#[utoipa::path(get, path = "/01/{gtin}/10/{lot}", tag = "digital link", params(("gtin" = String, Path, description = "GTIN"), ("lot" = String, Path, description = "Lot number")), responses((status = 200, description = "text/html: the consumer page; application/json: the lot bundle; application/linkset+json: the GS1 linkset"), (status = 400, description = "invalid identifier (page or JSON)"), (status = 404, description = "unknown lot (page or JSON)")))]
pub async fn lot(
    State(s): State<ApiState>,
    Path((gtin, lot)): Path<(String, String)>,
    Query(q): Query<ResolverQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(&q, &headers);
    let mode = wants(&headers);
    let (gtin, lot_number) = match (ids::gtin(&gtin), ids::lot(&lot)) {
        (Ok(g), Ok(l)) => (g, l),
        (Err(e), _) | (_, Err(e)) => return identifier_error(&q, &headers, e),
    };
    // The canonical, percent-encoded path: the same as the QR code's.
    let self_path = DigitalLink::for_lot("", gtin.clone(), lot_number.clone()).to_uri();
    if let Wants::Linkset = mode {
        let anchor = format!("{}{self_path}", s.public_base_url);
        let lot_api = format!(
            "{}/v1/lots/{}{}",
            s.public_base_url,
            gtin.as_str(),
            self_path.rsplit_once("/10").map_or("", |(_, rest)| rest)
        );
        let body = json!({"linkset": [{
            "anchor": anchor,
            "https://gs1.org/voc/pip": [{"href": format!("{anchor}?lang=it"), "type": "text/html", "hreflang": ["it", "en"]}],
            "https://gs1.org/voc/certificationInfo": [{"href": format!("{anchor}"), "type": "application/json"}],
            "https://gs1.org/voc/traceability": [{"href": lot_api.clone(), "type": "application/json"}],
            "https://gs1.org/voc/epcis": [{"href": lot_api, "type": "application/json"}],
        }]});
        return (
            [(header::CONTENT_TYPE, "application/linkset+json"), VARY],
            body.to_string(),
        )
            .into_response();
    }
    let (store, cache) = (s.store.clone(), s.bundles.clone());
    let (g, l) = (gtin.as_str().to_owned(), lot_number.as_str().to_owned());
    let found = crate::blocking(&s, move || bundle_at_head(&store, &cache, &g, &l)).await;
    let cached = match found {
        Ok(Some(b)) => b,
        Ok(None) => {
            return match mode {
                Wants::Html => (
                    StatusCode::NOT_FOUND,
                    Html(page::error_page(
                        lang,
                        "Lotto non trovato",
                        "Lot not found",
                        &format!("GTIN {} · {}", gtin.as_str(), lot_number.as_str()),
                    )),
                )
                    .into_response(),
                _ => ApiError::not_found("no such lot").into_response(),
            };
        }
        Err(e) => return e.into_response(),
    };
    match mode {
        Wants::Html => (
            [(header::CACHE_CONTROL, "public, max-age=5"), VARY],
            Html(page::lot_page(&cached.bundle, lang, &self_path)),
        )
            .into_response(),
        _ => (
            [
                (header::CACHE_CONTROL, "public, max-age=5"),
                (header::CONTENT_TYPE, "application/json"),
                VARY,
            ],
            cached.json.clone(),
        )
            .into_response(),
    }
}

/// `GET /01/{gtin}/10/{lot}/21/{serial}`: one item of a lot. Filiera records
/// lots, so an item resolves to its lot's page, bundle or linkset once its
/// serial is checked.
#[utoipa::path(get, path = "/01/{gtin}/10/{lot}/21/{serial}", tag = "digital link", params(("gtin" = String, Path, description = "GTIN"), ("lot" = String, Path, description = "Lot number"), ("serial" = String, Path, description = "Serial number")), responses((status = 200, description = "As for the lot"), (status = 400, description = "invalid identifier"), (status = 404, description = "unknown lot")))]
pub async fn lot_item(
    State(s): State<ApiState>,
    Path((gtin, lot_number, serial)): Path<(String, String, String)>,
    Query(q): Query<ResolverQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = ids::serial(&serial) {
        return identifier_error(&q, &headers, e);
    }
    lot(State(s), Path((gtin, lot_number)), Query(q), headers).await
}

/// `GET /01/{gtin}/21/{serial}`: an item named without its lot. Filiera
/// records lots, not serials: the answer says so and asks for the label's
/// full link (which carries the lot).
#[utoipa::path(get, path = "/01/{gtin}/21/{serial}", tag = "digital link", params(("gtin" = String, Path, description = "GTIN"), ("serial" = String, Path, description = "Serial number")), responses((status = 400, description = "invalid identifier"), (status = 404, description = "serials are resolved through their lot: /01/{gtin}/10/{lot}/21/{serial}")))]
pub async fn serial_only(
    Path((gtin, serial)): Path<(String, String)>,
    Query(q): Query<ResolverQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = ids::gtin(&gtin).and_then(|_| ids::serial(&serial)) {
        return identifier_error(&q, &headers, e);
    }
    let lang = lang_of(&q, &headers);
    let detail = "Questo nodo risolve i lotti: usate il link completo dell'etichetta (/01/…/10/lotto/21/seriale). \
                  This node resolves lots: use the label's full link (/01/…/10/lot/21/serial).";
    match wants(&headers) {
        Wants::Html => (
            StatusCode::NOT_FOUND,
            Html(page::error_page(
                lang,
                "Lotto non indicato",
                "Lot not given",
                detail,
            )),
        )
            .into_response(),
        _ => ApiError::not_found(detail).into_response(),
    }
}

fn identifier_error(q: &ResolverQuery, headers: &HeaderMap, e: ApiError) -> Response {
    let lang = lang_of(q, headers);
    match wants(headers) {
        Wants::Html => (
            StatusCode::BAD_REQUEST,
            Html(page::error_page(
                lang,
                "Codice non valido",
                "Invalid code",
                &e.message,
            )),
        )
            .into_response(),
        _ => e.into_response(),
    }
}

/// `GET /01/{gtin}/22/{variant}/10/{lot}`: a lot named with its consumer
/// product variant. Lots are recorded per GTIN, so the variant is checked and
/// the link resolves to the lot.
#[utoipa::path(get, path = "/01/{gtin}/22/{variant}/10/{lot}", tag = "digital link", params(("gtin" = String, Path, description = "GTIN"), ("variant" = String, Path, description = "Consumer product variant"), ("lot" = String, Path, description = "Lot number")), responses((status = 200, description = "As for the lot"), (status = 400, description = "invalid identifier"), (status = 404, description = "unknown lot")))]
pub async fn lot_variant(
    State(s): State<ApiState>,
    Path((gtin, variant, lot_number)): Path<(String, String, String)>,
    Query(q): Query<ResolverQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = ids::variant(&variant) {
        return identifier_error(&q, &headers, e);
    }
    lot(State(s), Path((gtin, lot_number)), Query(q), headers).await
}

/// The page language: `?lang=` first, then the browser's `Accept-Language`.
fn lang_of(q: &ResolverQuery, headers: &HeaderMap) -> Lang {
    Lang::choose(
        q.lang.as_deref(),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

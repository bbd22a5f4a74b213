//! The GS1 Digital Link resolver: `/01/{gtin}/10/{lot}` answers a phone with
//! the consumer page, software with the JSON bundle, and a GS1 linkset to
//! whoever asks for `application/linkset+json`.

use crate::ApiState;
use crate::bundle::lot_bundle;
use crate::error::ApiError;
use crate::page::{self, Lang};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use filiera_types::gs1::{Gtin, Lot};
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

fn wants(headers: &HeaderMap) -> Wants {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains("application/linkset+json") {
        Wants::Linkset
    } else if accept.contains("text/html") {
        Wants::Html
    } else {
        Wants::Json
    }
}

/// `GET /01/{gtin}/10/{lot}`.
pub async fn lot(
    State(s): State<ApiState>,
    Path((gtin, lot)): Path<(String, String)>,
    Query(q): Query<ResolverQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::choose(
        q.lang.as_deref(),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let mode = wants(&headers);
    let invalid = |what: &str, e: String| -> Response {
        match mode {
            Wants::Html => (
                StatusCode::BAD_REQUEST,
                Html(page::error_page(
                    lang,
                    "Codice non valido",
                    "Invalid code",
                    &format!("{what}: {e}"),
                )),
            )
                .into_response(),
            _ => {
                ApiError::bad_request("invalid_identifier", format!("{what}: {e}")).into_response()
            }
        }
    };
    let gtin = match Gtin::parse(&gtin) {
        Ok(g) => g,
        Err(e) => return invalid("GTIN", e.to_string()),
    };
    let lot_number = match Lot::parse(&lot) {
        Ok(l) => l,
        Err(e) => return invalid("lot", e.to_string()),
    };
    let self_path = format!("/01/{}/10/{}", gtin.as_str(), lot_number.as_str());
    if let Wants::Linkset = mode {
        let anchor = format!("{}{self_path}", s.public_base_url);
        let body = json!({"linkset": [{
            "anchor": anchor,
            "https://gs1.org/voc/pip": [{"href": format!("{anchor}?lang=it"), "type": "text/html", "hreflang": ["it", "en"]}],
            "https://gs1.org/voc/certificationInfo": [{"href": format!("{anchor}"), "type": "application/json"}],
            "https://gs1.org/voc/traceability": [{"href": format!("{}/v1/lots/{}/{}", s.public_base_url, gtin.as_str(), lot_number.as_str()), "type": "application/json"}],
            "https://gs1.org/voc/epcis": [{"href": format!("{}/v1/lots/{}/{}", s.public_base_url, gtin.as_str(), lot_number.as_str()), "type": "application/json"}],
        }]});
        return (
            [(header::CONTENT_TYPE, "application/linkset+json")],
            body.to_string(),
        )
            .into_response();
    }
    let store = s.store.clone();
    let (g, l) = (gtin.as_str().to_owned(), lot_number.as_str().to_owned());
    let found = match tokio::task::spawn_blocking(move || lot_bundle(&store, &g, &l)).await {
        Ok(r) => r,
        Err(e) => Err(ApiError::internal(e)),
    };
    let bundle = match found {
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
            [(header::CACHE_CONTROL, "public, max-age=5")],
            Html(page::lot_page(&bundle, lang, &self_path)),
        )
            .into_response(),
        _ => (
            [(header::CACHE_CONTROL, "public, max-age=5")],
            Json(bundle.to_json()),
        )
            .into_response(),
    }
}

//! QR labels: the short GS1 Digital Link URI of a lot as SVG, with the
//! human-readable text under the code.

use crate::ApiState;
use crate::error::ApiError;
use crate::page::escape;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use filiera_types::gs1::{DigitalLink, Gtin, Lot};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// Side of one QR module in the SVG, in user units.
const MODULE_PX: u32 = 8;
/// Height of the text band under the code.
const TEXT_BAND_PX: u32 = 40;

/// The label SVG for `uri`, with `caption` under it.
pub fn label_svg(uri: &str, caption: &str) -> Result<String, ApiError> {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
        .map_err(|e| ApiError::bad_request("uri_too_long", e.to_string()))?;
    let inner = code
        .render::<svg::Color<'_>>()
        .module_dimensions(MODULE_PX, MODULE_PX)
        .quiet_zone(true)
        .build();
    // The renderer writes a whole document; nest its <svg> element.
    let inner = inner
        .find("<svg")
        .map(|i| inner[i..].to_owned())
        .unwrap_or(inner);
    let side = (code.width() as u32 + 8) * MODULE_PX;
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{side}\" height=\"{h}\" viewBox=\"0 0 {side} {h}\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>{inner}\
         <text x=\"{x}\" y=\"{y}\" font-family=\"monospace\" font-size=\"14\" text-anchor=\"middle\">{text}</text></svg>",
        h = side + TEXT_BAND_PX,
        x = side / 2,
        y = side + TEXT_BAND_PX / 2,
        text = escape(caption),
    ))
}

/// The code alone as a grayscale PNG (8 px per module, 4-module quiet zone).
pub fn code_png(uri: &str) -> Result<Vec<u8>, ApiError> {
    const QUIET_MODULES: usize = 4;
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
        .map_err(|e| ApiError::bad_request("uri_too_long", e.to_string()))?;
    let width = code.width();
    let colors = code.to_colors();
    let scale = MODULE_PX as usize;
    let side = (width + 2 * QUIET_MODULES) * scale;
    let mut pixels = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (mx, my) = (i % width + QUIET_MODULES, i / width + QUIET_MODULES);
            for y in my * scale..(my + 1) * scale {
                pixels[y * side + mx * scale..y * side + (mx + 1) * scale].fill(0);
            }
        }
    }
    let mut out = Vec::new();
    let side_px = u32::try_from(side).map_err(ApiError::internal)?;
    let mut encoder = png::Encoder::new(&mut out, side_px, side_px);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(ApiError::internal)?;
    writer
        .write_image_data(&pixels)
        .map_err(ApiError::internal)?;
    writer.finish().map_err(ApiError::internal)?;
    Ok(out)
}

/// `GET /qr/01/{gtin}/10/{lot}[.svg|.png]` → the label (SVG with the text
/// under the code, by default) or the code alone as PNG.
#[utoipa::path(get, path = "/qr/01/{gtin}/10/{lot}", tag = "digital link", params(("gtin" = String, Path, description = "GTIN"), ("lot" = String, Path, description = "Lot number, with .svg (label) or .png (code)")), responses((status = 200, description = "image/svg+xml or image/png"), (status = 400, description = "invalid_identifier")))]
pub async fn lot_label(
    State(s): State<ApiState>,
    Path((gtin, lot)): Path<(String, String)>,
) -> Response {
    let (lot, png) = match (lot.strip_suffix(".png"), lot.strip_suffix(".svg")) {
        (Some(l), _) => (l.to_owned(), true),
        (None, Some(l)) => (l.to_owned(), false),
        (None, None) => (lot, false),
    };
    let gtin = match Gtin::parse(&gtin) {
        Ok(g) => g,
        Err(e) => {
            return ApiError::bad_request("invalid_identifier", format!("GTIN: {e}"))
                .into_response();
        }
    };
    let lot = match Lot::parse(&lot) {
        Ok(l) => l,
        Err(e) => {
            return ApiError::bad_request("invalid_identifier", format!("lot: {e}"))
                .into_response();
        }
    };
    let caption = format!("(01) {} (10) {}", gtin.as_str(), lot.as_str());
    let uri = DigitalLink::for_lot(&s.public_base_url, gtin, lot).to_uri();
    if png {
        return match crate::blocking(&s, move || code_png(&uri)).await {
            Ok(bytes) => ([(header::CONTENT_TYPE, "image/png")], bytes).into_response(),
            Err(e) => e.into_response(),
        };
    }
    match label_svg(&uri, &caption) {
        Ok(svg) => ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response(),
        Err(e) => e.into_response(),
    }
}

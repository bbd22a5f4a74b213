//! QR labels: the short GS1 Digital Link URI of a lot as SVG, with the
//! human-readable text under the code.

use crate::ApiState;
use crate::error::ApiError;
use crate::ids;
use crate::page::escape;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use filiera_types::gs1::DigitalLink;
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// Side of one QR module in the SVG, in user units.
const MODULE_PX: u32 = 8;
/// Height of the text band under the code.
const TEXT_BAND_PX: u32 = 40;

/// The label SVG for `uri`, with `caption` under it.
pub fn label_svg(uri: &str, caption: &str, title: Option<&str>) -> Result<String, ApiError> {
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
    // The product's name in clear above the GS1 caption, when known: cut to
    // what a label's width holds.
    let (band, name) = match title {
        Some(t) if !t.trim().is_empty() => {
            let mut name: String = t.chars().take(LABEL_TITLE_CHARS_MAX).collect();
            if t.chars().count() > LABEL_TITLE_CHARS_MAX {
                name.push('…');
            }
            (
                2 * TEXT_BAND_PX,
                format!(
                    "<text x=\"{x}\" y=\"{y}\" font-family=\"sans-serif\" font-size=\"15\" font-weight=\"bold\" text-anchor=\"middle\">{text}</text>",
                    x = side / 2,
                    y = side + TEXT_BAND_PX / 2,
                    text = escape(&name),
                ),
            )
        }
        _ => (TEXT_BAND_PX, String::new()),
    };
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{side}\" height=\"{h}\" viewBox=\"0 0 {side} {h}\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>{inner}{name}\
         <text x=\"{x}\" y=\"{y}\" font-family=\"monospace\" font-size=\"14\" text-anchor=\"middle\">{text}</text></svg>",
        h = side + band,
        x = side / 2,
        y = side + band - TEXT_BAND_PX / 2,
        text = escape(caption),
    ))
}

/// Characters of a product's name printed on a label, at most.
const LABEL_TITLE_CHARS_MAX: usize = 34;

/// The name of the product of `gtin`, printed on its labels, if registered.
fn product_name(store: &filiera_storage::Store, gtin: &str) -> Result<Option<String>, ApiError> {
    Ok(crate::reads::product(store, gtin)?.map(|p| p.name))
}

/// Labels one printable A4 sheet holds, at most (4 columns, 5 rows).
pub const SHEET_LABELS_MAX: usize = 20;
/// Labels per row of a sheet.
const SHEET_COLUMNS: usize = 4;
/// Height of a sheet's row beyond its label's width, mm: the product's name
/// and the GS1 caption (5 rows of 47 + 10 mm fit an A4 with its margins).
const ROW_TEXT_MM: u32 = 10;

/// An A4 sheet (portrait, in mm) of labels laid out in a grid.
pub fn sheet_svg(labels: &[(String, String)], title: Option<&str>) -> Result<String, ApiError> {
    // A4 with 10 mm margins; each cell keeps the label's aspect ratio.
    let (width_mm, margin_mm) = (210u32, 10u32);
    let cell_mm = (width_mm - 2 * margin_mm) / SHEET_COLUMNS as u32;
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"210mm\" height=\"297mm\" viewBox=\"0 0 210 297\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>",
    );
    for (i, (uri, caption)) in labels.iter().enumerate() {
        let label = label_svg(uri, caption, title)?;
        let body = label.find("<svg").map_or(label.as_str(), |at| &label[at..]);
        let open_end = body.find('>').unwrap_or(0);
        let view_box = body[..open_end]
            .split("viewBox=\"")
            .nth(1)
            .and_then(|v| v.split('"').next())
            .unwrap_or("0 0 100 100");
        let (col, row) = ((i % SHEET_COLUMNS) as u32, (i / SHEET_COLUMNS) as u32);
        // A nested <svg> with its own viewBox scales the label into its cell.
        let nested = format!(
            "<svg x=\"{}\" y=\"{}\" width=\"{cell_mm}\" height=\"{}\" viewBox=\"{view_box}\">{}",
            margin_mm + col * cell_mm,
            margin_mm + row * (cell_mm + ROW_TEXT_MM),
            cell_mm + ROW_TEXT_MM,
            &body[open_end + 1..]
        );
        out.push_str(&nested);
    }
    out.push_str("</svg>");
    Ok(out)
}

/// Query of a label sheet.
#[derive(serde::Deserialize)]
pub struct SheetQuery {
    /// Lot numbers, comma-separated.
    lots: String,
}

/// `GET /qr/sheet/01/{gtin}?lots=A,B,C` → an A4 SVG sheet of labels.
#[utoipa::path(get, path = "/qr/sheet/01/{gtin}", tag = "digital link", params(("gtin" = String, Path, description = "GTIN"), ("lots" = String, Query, description = "Lot numbers, comma-separated, at most 20")), responses((status = 200, description = "image/svg+xml, A4"), (status = 400, description = "invalid_identifier or too_many_labels")))]
pub async fn lot_sheet(
    State(s): State<ApiState>,
    Path(gtin): Path<String>,
    axum::extract::Query(q): axum::extract::Query<SheetQuery>,
) -> Response {
    let gtin = match ids::gtin(&gtin) {
        Ok(g) => g,
        Err(e) => return e.into_response(),
    };
    let numbers: Vec<&str> = q.lots.split(',').filter(|l| !l.is_empty()).collect();
    if numbers.is_empty() || numbers.len() > SHEET_LABELS_MAX {
        return ApiError::bad_request(
            "too_many_labels",
            format!("a sheet holds 1 to {SHEET_LABELS_MAX} labels"),
        )
        .into_response();
    }
    let mut labels = Vec::with_capacity(numbers.len());
    for n in numbers {
        let lot = match ids::lot(n) {
            Ok(l) => l,
            Err(e) => return e.into_response(),
        };
        let caption = format!("(01) {} (10) {}", gtin.as_str(), lot.as_str());
        labels.push((
            DigitalLink::for_lot(&s.public_base_url, gtin.clone(), lot).to_uri(),
            caption,
        ));
    }
    let store = s.store.clone();
    let gtin_text = gtin.as_str().to_owned();
    match crate::blocking(&s, move || {
        let title = product_name(&store, &gtin_text)?;
        sheet_svg(&labels, title.as_deref())
    })
    .await
    {
        Ok(svg) => ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Pixels per font pixel of the PNG caption (8x8 glyphs drawn 16x16).
const CAPTION_SCALE: usize = 2;

/// The label as a grayscale PNG: the code (8 px per module, 4-module quiet
/// zone) and `caption` under it in an 8x8 bitmap font, as GS1 asks for the
/// human-readable interpretation. Characters without a glyph print as `?`.
pub fn label_png(uri: &str, caption: &str) -> Result<Vec<u8>, ApiError> {
    use font8x8::UnicodeFonts;
    const QUIET_MODULES: usize = 4;
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
        .map_err(|e| ApiError::bad_request("uri_too_long", e.to_string()))?;
    let width = code.width();
    let colors = code.to_colors();
    let scale = MODULE_PX as usize;
    let code_side = (width + 2 * QUIET_MODULES) * scale;
    let glyph = 8 * CAPTION_SCALE;
    let text_width = caption.chars().count() * glyph;
    let side = code_side.max(text_width + 2 * glyph);
    let height = code_side + 2 * glyph;
    let mut pixels = vec![255u8; side * height];
    let code_left = (side - code_side) / 2;
    for (i, color) in colors.iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (mx, my) = (i % width + QUIET_MODULES, i / width + QUIET_MODULES);
            let x = code_left + mx * scale;
            for y in my * scale..(my + 1) * scale {
                pixels[y * side + x..y * side + x + scale].fill(0);
            }
        }
    }
    // The caption goes under the code's quiet zone, which stays clear for readers.
    let top = code_side;
    let left = (side - text_width) / 2;
    for (n, c) in caption.chars().enumerate() {
        let rows = font8x8::BASIC_FONTS
            .get(c)
            .or_else(|| font8x8::BASIC_FONTS.get('?'))
            .unwrap_or([0; 8]);
        for (row, bits) in rows.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) == 0 {
                    continue;
                }
                for dy in 0..CAPTION_SCALE {
                    let y = top + row * CAPTION_SCALE + dy;
                    let x = left + n * glyph + col * CAPTION_SCALE;
                    pixels[y * side + x..y * side + x + CAPTION_SCALE].fill(0);
                }
            }
        }
    }
    let mut out = Vec::new();
    let width_px = u32::try_from(side).map_err(ApiError::internal)?;
    let height_px = u32::try_from(height).map_err(ApiError::internal)?;
    let mut encoder = png::Encoder::new(&mut out, width_px, height_px);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(ApiError::internal)?;
    writer
        .write_image_data(&pixels)
        .map_err(ApiError::internal)?;
    writer.finish().map_err(ApiError::internal)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png_bytes: &[u8]) -> (usize, usize, Vec<u8>) {
        let decoder = png::Decoder::new(png_bytes);
        let mut reader = decoder.read_info().expect("a PNG");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("a frame");
        (info.width as usize, info.height as usize, buf)
    }

    #[test]
    fn the_png_label_carries_its_caption_under_the_code() {
        let uri = "https://id.example.it/01/09521234100010/10/CU-2026-0142";
        let a = label_png(uri, "(01) 09521234100010 (10) CU-2026-0142").expect("label");
        let b = label_png(uri, "(01) 09521234100010 (10) CU-2026-0143").expect("label");
        let (w, h, pa) = decode(&a);
        let (_, _, pb) = decode(&b);
        assert!(h > w / 2, "{w}x{h}");
        let band = |p: &[u8]| p[(h - 2 * 8 * CAPTION_SCALE) * w..].to_vec();
        assert!(band(&pa).contains(&0), "the caption is drawn");
        assert_ne!(
            band(&pa),
            band(&pb),
            "a different lot prints a different caption"
        );
        assert_eq!(
            &pa[..w * (h / 2)],
            &pb[..w * (h / 2)],
            "the same code above"
        );
    }
}

/// `GET /qr/01/{gtin}/10/{lot}[.svg|.png]` → the label (SVG with the text
/// under the code, by default) or the same label as PNG.
#[utoipa::path(get, path = "/qr/01/{gtin}/10/{lot}", tag = "digital link", params(("gtin" = String, Path, description = "GTIN"), ("lot" = String, Path, description = "Lot number, with .svg or .png")), responses((status = 200, description = "image/svg+xml or image/png"), (status = 400, description = "invalid_identifier")))]
pub async fn lot_label(
    State(s): State<ApiState>,
    Path((gtin, lot)): Path<(String, String)>,
) -> Response {
    let (lot, png) = match (lot.strip_suffix(".png"), lot.strip_suffix(".svg")) {
        (Some(l), _) => (l.to_owned(), true),
        (None, Some(l)) => (l.to_owned(), false),
        (None, None) => (lot, false),
    };
    let (gtin, lot) = match (ids::gtin(&gtin), ids::lot(&lot)) {
        (Ok(g), Ok(l)) => (g, l),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    let caption = format!("(01) {} (10) {}", gtin.as_str(), lot.as_str());
    let gtin_text = gtin.as_str().to_owned();
    let uri = DigitalLink::for_lot(&s.public_base_url, gtin, lot).to_uri();
    if png {
        return match crate::blocking(&s, move || label_png(&uri, &caption)).await {
            Ok(bytes) => ([(header::CONTENT_TYPE, "image/png")], bytes).into_response(),
            Err(e) => e.into_response(),
        };
    }
    let store = s.store.clone();
    let gtin_text = gtin_text.clone();
    match crate::blocking(&s, move || {
        let title = product_name(&store, &gtin_text)?;
        label_svg(&uri, &caption, title.as_deref())
    })
    .await
    {
        Ok(svg) => ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response(),
        Err(e) => e.into_response(),
    }
}

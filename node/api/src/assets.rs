//! Static assets the consumer page loads: the in-browser verifier, built from
//! `sdk/verify` by `scripts/build-verifier.sh` (checked byte for byte by the
//! test command). Served under a versioned URL with a year-long cache, so a
//! phone downloads it once per release.

use crate::static_files::StaticFile;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use std::sync::LazyLock;

/// The verifier module.
pub const VERIFIER_WASM: &[u8] = include_bytes!("../assets/verify.wasm");

/// The URL of the verifier, versioned by its content.
pub static VERIFIER_URL: LazyLock<String> = LazyLock::new(|| {
    let version = blake3::hash(VERIFIER_WASM).to_hex();
    format!("/assets/verify.wasm?v={}", &version[..16])
});

static FILE: StaticFile = StaticFile::new(VERIFIER_WASM);

/// Compresses the verifier now (see `app::warm_up`).
pub fn warm_up() {
    FILE.warm();
}

/// `GET /assets/verify.wasm`.
#[utoipa::path(get, path = "/assets/verify.wasm", tag = "resolver", responses((status = 200, description = "The consumer page's verifier (WebAssembly); the page asks for it with ?v={version} and caches it for a year")))]
pub async fn verifier(request: HeaderMap) -> impl IntoResponse {
    FILE.respond(
        &request,
        &[
            (header::CONTENT_TYPE, "application/wasm"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
    )
}

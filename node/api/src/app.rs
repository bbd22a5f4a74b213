//! The producers' app, served under `/app/`: static files compiled into the
//! node (`node/api/app/`, also usable as they are from any web server that
//! proxies `/v1/` to a node) and the transaction module built from
//! `sdk/tx` (`assets/tx.wasm`) and the spreadsheet module built from
//! `sdk/sheet` (`assets/sheet.wasm`), both checked byte for byte by the test
//! command.
//!
//! The app keeps its key in the browser (WebCrypto, non-extractable) and
//! posts signed transactions to `/v1/txs` like any other client: the node
//! holds nothing of it. Served with a policy that lets the page run only its
//! own script and WebAssembly and talk only to this origin, so a stored
//! string shown by the app cannot become script.

use crate::static_files::StaticFile;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

/// The transaction module (`scripts/build-verifier.sh` writes it).
pub const TX_WASM: &[u8] = include_bytes!("../assets/tx.wasm");

/// The spreadsheet module (`scripts/build-verifier.sh` writes it), fetched
/// by the app only when a spreadsheet is opened.
pub const SHEET_WASM: &[u8] = include_bytes!("../assets/sheet.wasm");

const FILE_COUNT: usize = 9;

/// The app's files: path under `/app/`, content type, bytes (with their
/// gzip copy and tag, computed once).
static FILES: [(&str, &str, StaticFile); FILE_COUNT] = [
    (
        "index.html",
        "text/html; charset=utf-8",
        StaticFile::new(include_bytes!("../app/index.html")),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        StaticFile::new(include_bytes!("../app/app.js")),
    ),
    (
        "i18n.js",
        "text/javascript; charset=utf-8",
        StaticFile::new(include_bytes!("../app/i18n.js")),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        StaticFile::new(include_bytes!("../app/app.css")),
    ),
    (
        "sw.js",
        "text/javascript; charset=utf-8",
        StaticFile::new(include_bytes!("../app/sw.js")),
    ),
    (
        "manifest.webmanifest",
        "application/manifest+json",
        StaticFile::new(include_bytes!("../app/manifest.webmanifest")),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        StaticFile::new(include_bytes!("../app/icon.svg")),
    ),
    ("tx.wasm", "application/wasm", StaticFile::new(TX_WASM)),
    (
        "sheet.wasm",
        "application/wasm",
        StaticFile::new(SHEET_WASM),
    ),
];

/// What the app's pages may do: their own script and WebAssembly, this
/// origin's API, no frames, no plugins.
const POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'";

/// `GET /app`: to `/app/`, so relative paths resolve.
#[utoipa::path(get, path = "/app", tag = "app", responses((status = 308, description = "To /app/")))]
pub async fn root() -> Redirect {
    Redirect::permanent("/app/")
}

/// `GET /app/`: the app's page.
#[utoipa::path(get, path = "/app/", tag = "app", responses((status = 200, description = "The producers' app (HTML)")))]
pub async fn index(request: HeaderMap) -> Response {
    serve("index.html", &request)
}

/// `GET /app/{file}`: the app's script, styles, service worker, manifest,
/// icon and transaction module.
#[utoipa::path(get, path = "/app/{file}", tag = "app", params(("file" = String, Path, description = "A file of the app, e.g. app.js or tx.wasm")), responses((status = 200, description = "The file"), (status = 404, description = "No such file of the app")))]
pub async fn file(
    axum::extract::Path(name): axum::extract::Path<String>,
    request: HeaderMap,
) -> Response {
    serve(&name, &request)
}

/// Compresses every file of the app on a thread of its own, once per
/// process, so that no request waits for it.
pub fn warm_up() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("app-files".into())
            .spawn(|| {
                for (_, _, file) in &FILES {
                    file.warm();
                }
                crate::assets::warm_up();
            });
    });
}

fn serve(name: &str, request: &HeaderMap) -> Response {
    let Some(at) = FILES.iter().position(|(n, _, _)| *n == name) else {
        return (StatusCode::NOT_FOUND, "no such file of the app").into_response();
    };
    // The shell is revalidated on every load (the service worker keeps the
    // offline copy); a new node version serves a new app at once, and an
    // unchanged file costs a 304.
    FILES[at].2.respond(
        request,
        &[
            (header::CONTENT_TYPE, FILES[at].1),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
    )
}

//! Files compiled into the node (the app, the consumer page's verifier),
//! served as a slow phone connection needs them: gzip when the browser
//! accepts it, compressed once per file and kept (so a request costs no
//! compression, whoever sends it), and an `ETag` so that a revalidation of
//! an unchanged file is a `304` without a body.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::io::Write;
use std::sync::OnceLock;

/// One file's bytes, and what is computed of them once.
pub struct StaticFile {
    bytes: &'static [u8],
    gzip: OnceLock<Vec<u8>>,
    tag: OnceLock<String>,
}

impl StaticFile {
    /// A file of `bytes`.
    pub const fn new(bytes: &'static [u8]) -> StaticFile {
        StaticFile {
            bytes,
            gzip: OnceLock::new(),
            tag: OnceLock::new(),
        }
    }

    /// Compresses the file now (a blocking thread calls this at start, so
    /// no request waits for it).
    pub fn warm(&self) {
        let _ = self.gzip();
        let _ = self.tag();
    }

    fn gzip(&self) -> &[u8] {
        self.gzip.get_or_init(|| {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            // Writing to a Vec cannot fail; if it ever did, the file is
            // served uncompressed (an empty result is never sent).
            encoder
                .write_all(self.bytes)
                .and_then(|()| encoder.finish())
                .unwrap_or_default()
        })
    }

    fn tag(&self) -> &str {
        self.tag
            .get_or_init(|| blake3::hash(self.bytes).to_hex()[..16].to_owned())
    }

    /// The response to a `GET` with `request`'s headers; `headers` are the
    /// file's own (type, cache policy, security policy).
    pub fn respond(
        &'static self,
        request: &HeaderMap,
        headers: &[(header::HeaderName, &str)],
    ) -> Response {
        let gzip = accepts_gzip(request) && !self.gzip().is_empty();
        // One strong tag per representation.
        let etag = if gzip {
            format!("\"{}-gz\"", self.tag())
        } else {
            format!("\"{}\"", self.tag())
        };
        let mut response = if matches_tag(request, &etag) {
            StatusCode::NOT_MODIFIED.into_response()
        } else if gzip {
            axum::body::Bytes::from_static(self.gzip()).into_response()
        } else {
            self.bytes.into_response()
        };
        let h = response.headers_mut();
        for (name, value) in headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                h.insert(name.clone(), v);
            }
        }
        if gzip {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if let Ok(v) = HeaderValue::from_str(&etag) {
            h.insert(header::ETAG, v);
        }
        response
    }
}

/// Whether `Accept-Encoding` takes gzip: named (or `x-gzip`) with a weight
/// above zero, or not named and `*` taken.
fn accepts_gzip(request: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut any = None;
    for coding in request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or("").to_ascii_lowercase();
        let taken = !parts.any(|p| {
            let p = p.to_ascii_lowercase();
            p.strip_prefix("q=")
                .is_some_and(|q| q.trim_end_matches(['0', '.']).is_empty())
        });
        match name.as_str() {
            "gzip" | "x-gzip" => gzip = Some(taken),
            "*" => any = Some(taken),
            _ => {}
        }
    }
    gzip.or(any).unwrap_or(false)
}

/// Whether `If-None-Match` names `etag` (or `*`).
fn matches_tag(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|t| t == "*" || t == etag || t.strip_prefix("W/") == Some(etag))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn gzip_is_served_only_to_browsers_that_take_it() {
        static FILE: StaticFile =
            StaticFile::new(b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        let file = &FILE;
        let yes = file.respond(&with(header::ACCEPT_ENCODING, "br, gzip, deflate"), &[]);
        assert_eq!(yes.headers()[header::CONTENT_ENCODING], "gzip");
        for no in [
            "identity",
            "gzip;q=0",
            "gzip; Q=0.0",
            "deflate",
            "gzip;q=0, *",
        ] {
            let r = file.respond(&with(header::ACCEPT_ENCODING, no), &[]);
            assert!(r.headers().get(header::CONTENT_ENCODING).is_none(), "{no}");
        }
    }

    #[test]
    fn an_unchanged_file_revalidates_without_a_body() {
        static FILE: StaticFile = StaticFile::new(b"app");
        let file = &FILE;
        let first = file.respond(&HeaderMap::new(), &[]);
        let tag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
        assert_eq!(first.status(), StatusCode::OK);
        let again = file.respond(&with(header::IF_NONE_MATCH, &tag), &[]);
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let other = file.respond(&with(header::IF_NONE_MATCH, "\"0000\""), &[]);
        assert_eq!(other.status(), StatusCode::OK);
        // The gzip representation has its own tag.
        let mut both = with(header::IF_NONE_MATCH, &tag);
        both.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        assert_eq!(file.respond(&both, &[]).status(), StatusCode::OK);
    }
}

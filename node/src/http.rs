//! One bounded HTTP GET for the commands that read a node's API as bytes.

use anyhow::{Context, Result};

/// GETs `url` and reads at most `limit_bytes` of the answer.
pub fn get_bytes(url: &str, accept: &str, limit_bytes: usize) -> Result<Vec<u8>> {
    get_bytes_with(url, accept, &[], limit_bytes)
}

/// GETs `url` with `headers` and reads at most `limit_bytes` of the answer.
pub fn get_bytes_with(
    url: &str,
    accept: &str,
    headers: &[(&str, &str)],
    limit_bytes: usize,
) -> Result<Vec<u8>> {
    let mut request = ureq::get(url).header("accept", accept);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut answer = request.call().with_context(|| format!("GET {url}"))?;
    answer
        .body_mut()
        .with_config()
        .limit(limit_bytes as u64)
        .read_to_vec()
        .with_context(|| format!("reading {url}"))
}

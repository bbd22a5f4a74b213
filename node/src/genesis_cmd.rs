//! Reading a genesis file from disk for `genesis validate|hash` and `init`.

use anyhow::{Context, Result, bail};
use filiera_types::Genesis;
use filiera_types::limits::GENESIS_BYTES_MAX;
use std::io::Read;
use std::path::Path;

/// Reads and validates a genesis file; the error names the wrong field.
pub fn load(path: &Path) -> Result<Genesis> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut bytes = Vec::new();
    // Read one byte past the limit so an oversized file is refused without reading it all.
    file.take(GENESIS_BYTES_MAX as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() > GENESIS_BYTES_MAX {
        bail!(
            "{}: larger than the limit of {GENESIS_BYTES_MAX} bytes",
            path.display()
        );
    }
    Genesis::from_json(&bytes).with_context(|| format!("{} is not a valid genesis", path.display()))
}

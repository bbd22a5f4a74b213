//! A node's home directory: where its configuration, genesis, keys and data live.
//!
//! ```text
//! HOME/config.toml             operator settings (commented)
//! HOME/genesis.json            the chain's genesis
//! HOME/keys/consensus.json     signs votes and proposals (mode 0600)
//! HOME/keys/p2p.json           the libp2p identity (mode 0600)
//! HOME/data/                   RocksDB and the consensus WAL
//! ```

use crate::keyfile;
use crate::node::config::Config;
use anyhow::{Context, Result, bail};
use filiera_types::SecretKey;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// Paths inside a home directory.
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// The home directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }

    /// `config.toml`.
    pub fn config(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// `genesis.json`.
    pub fn genesis(&self) -> PathBuf {
        self.root.join("genesis.json")
    }

    /// The keys directory (0700).
    pub fn keys_dir(&self) -> PathBuf {
        self.root.join("keys")
    }

    /// The consensus key file.
    pub fn consensus_key(&self) -> PathBuf {
        self.keys_dir().join("consensus.json")
    }

    /// The libp2p identity key file.
    pub fn p2p_key(&self) -> PathBuf {
        self.keys_dir().join("p2p.json")
    }

    /// Creates the directory layout; `keys/` is private to the owner.
    pub fn create_dirs(&self) -> Result<()> {
        std::fs::create_dir_all(&self.root)
            .with_context(|| format!("creating {}", self.root.display()))?;
        let keys = self.keys_dir();
        if !keys.exists() {
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&keys)
                .with_context(|| format!("creating {}", keys.display()))?;
        }
        Ok(())
    }

    /// Writes `config.toml`, refusing to overwrite an existing one.
    pub fn write_config(&self, config: &Config) -> Result<()> {
        write_new(&self.config(), config.to_commented_toml().as_bytes())
    }

    /// Loads the key at `path`, or creates it if absent. Returns the key and whether it is new.
    pub fn load_or_create_key(
        path: &Path,
        sealing: &keyfile::Sealing,
    ) -> Result<(SecretKey, bool)> {
        if path.exists() {
            // A key left in clear (an interrupted init, say) is not taken
            // for a sealed one.
            if matches!(sealing, keyfile::Sealing::With(_))
                && !filiera_client::keys::is_encrypted(path)?
            {
                anyhow::bail!(
                    "{} exists in clear; seal it (filiera keys encrypt) or remove it",
                    path.display()
                );
            }
            return Ok((keyfile::read(path)?, false));
        }
        let key = keyfile::generate()?;
        sealing.write(path, &key)?;
        Ok((key, true))
    }
}

/// Writes a new file; an existing file is an error, never silently replaced.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    if path.exists() {
        bail!(
            "{} already exists; refusing to overwrite it",
            path.display()
        );
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

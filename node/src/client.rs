//! A small HTTP client of a node's API for the CLI: reads, signed
//! submissions with the sender's nonces tracked, waits for finality.

use anyhow::{Context, Result, bail};
use filiera_types::{ChainId, ContractCall, ContractId, MethodName, SecretKey, Transaction};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long the CLI waits for its transactions to be final.
pub const COMMIT_WAIT_MS: u64 = 60_000;

/// A node's API, and the next nonce of each key used.
pub struct Client {
    pub api: String,
    pub chain: ChainId,
    pub expiry_height: u64,
    nonces: BTreeMap<String, u64>,
}

impl Client {
    /// A client of the API at `api` (no trailing slash needed) on `chain`.
    pub fn new(api: &str, chain: ChainId) -> Client {
        Client {
            api: api.trim_end_matches('/').to_owned(),
            chain,
            expiry_height: 0,
            nonces: BTreeMap::new(),
        }
    }

    /// `GET` a JSON answer.
    pub fn get(&self, path: &str) -> Result<Value> {
        let url = format!("{}{path}", self.api);
        ureq::get(&url)
            .call()
            .with_context(|| format!("GET {url}"))?
            .body_mut()
            .read_json()
            .with_context(|| format!("GET {url}: not JSON"))
    }

    /// Signs and submits a call; its hash.
    pub fn submit(
        &mut self,
        key: &SecretKey,
        contract: &str,
        method: &str,
        args: Vec<u8>,
    ) -> Result<String> {
        let public = key.public_key().to_hex();
        let nonce = match self.nonces.get(&public) {
            Some(n) => *n,
            None => self.get(&format!("/v1/accounts/{public}/nonce"))?["next_nonce"]
                .as_u64()
                .context("nonce missing")?,
        };
        let tx = Transaction {
            chain_id: self.chain.clone(),
            sender: key.public_key(),
            nonce,
            expiry_height: self.expiry_height,
            call: ContractCall {
                contract: ContractId::new(contract)?,
                method: MethodName::new(method)?,
                args,
            },
        }
        .sign(key)?;
        let url = format!("{}/v1/txs", self.api);
        let answer: Value = match ureq::post(&url)
            .header("content-type", "application/octet-stream")
            .config()
            .http_status_as_error(false)
            .build()
            .send(&tx.encode()[..])
        {
            Ok(mut r) if r.status().is_success() => r.body_mut().read_json()?,
            Ok(mut r) => {
                let body = r.body_mut().read_to_string().unwrap_or_default();
                bail!("{method} refused: {} {body}", r.status())
            }
            Err(e) => bail!("POST {url}: {e}"),
        };
        self.nonces.insert(public, nonce + 1);
        answer["tx_hash"]
            .as_str()
            .map(str::to_owned)
            .context("no tx_hash in the answer")
    }

    /// The receipt of a transaction once final.
    pub fn wait(&self, hash: &str) -> Result<Value> {
        let deadline = Instant::now() + Duration::from_millis(COMMIT_WAIT_MS);
        while Instant::now() < deadline {
            if let Ok(receipt) = self.get(&format!("/v1/txs/{hash}"))
                && receipt["status"] != "pending"
            {
                return Ok(receipt);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        bail!("transaction {hash} not final after {COMMIT_WAIT_MS} ms")
    }
}

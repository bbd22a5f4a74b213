//! The HTTP client of a node's API (blocking: producers' tools and scripts
//! rarely need more).

use crate::ClientError;
use crate::submission::{Nonces, sign_call};
use filiera_types::{
    ChainId, ContractCall, Genesis, Hash, PublicKey, SecretKey, SignedTransaction,
};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Blocks a transaction stays valid for, by default.
pub const EXPIRY_BLOCKS_DEFAULT: u64 = 1_000;
/// How long [`Client::wait`] waits for finality, by default, ms.
pub const WAIT_MS_DEFAULT: u64 = 60_000;
/// How long [`Client::submit`] keeps retrying a node that answers "busy" or
/// "timeout" (come back later), by default, ms.
pub const SUBMIT_RETRY_MS_DEFAULT: u64 = 30_000;
/// Longest pause before a retry, whatever the node's `Retry-After` says, ms.
pub const RETRY_AFTER_MS_MAX: u64 = 10_000;
/// Pause before a retry when the node gives no usable `Retry-After`, ms.
const RETRY_AFTER_MS_DEFAULT: u64 = 1_000;
/// Pause between polls while waiting, ms.
const POLL_MS: u64 = 200;
/// Bytes of one answer the client reads, at most.
const ANSWER_BYTES_MAX: u64 = 8 * 1024 * 1024;

/// What a committed transaction did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// Its hash, hex.
    pub tx_hash: String,
    /// The block it is in.
    pub height: u64,
    /// Whether its changes were applied.
    pub success: bool,
    /// The contract's stable error code when it failed.
    pub code: Option<u64>,
    /// The contract's reason when it failed.
    pub message: Option<String>,
    /// What the call returned (e.g. a proposal or attestation number, borsh).
    pub return_data: Vec<u8>,
}

impl Receipt {
    /// The returned `u64` (a proposal or attestation number), if any.
    pub fn returned_u64(&self) -> Option<u64> {
        Some(u64::from_le_bytes(
            self.return_data.get(..8)?.try_into().ok()?,
        ))
    }

    /// The production rule a refusal names (`area`, `input_share`,
    /// `duration_min`...; see `filiera_contract_api::rules::code`), if the
    /// transaction failed on one.
    pub fn rule_violated(&self) -> Option<&str> {
        if self.success {
            return None;
        }
        filiera_contract_api::rules::violated(self.message.as_deref()?)
    }
}

/// What a rule code means, in words a producer reads (English).
pub fn rule_explained(code: &str) -> &'static str {
    use filiera_contract_api::rules::code;
    match code {
        code::AREA => {
            "the lot's site is outside the protected name's area, or its municipality code is not vouched by the authority"
        }
        code::INPUT_KIND => "an input is of a kind the production rules do not allow",
        code::INPUT_SHARE => "an input's share of what was drawn is outside the rules' bounds",
        code::STEP_ORDER => "a step was recorded out of the rules' order, twice, or one is missing",
        code::DURATION_MIN => {
            "a step came sooner than the rules' minimum time (e.g. ageing ended too early)"
        }
        code::DURATION_MAX => {
            "a step came later than the rules' maximum time (e.g. olives milled too late)"
        }
        code::YIELD => "more output than the inputs times the maximum yield",
        code::UNIT => "the product's unit of measure is not one the rules allow",
        _ => "a production rule",
    }
}

/// A node's API (see the crate doc for an example).
pub struct Client {
    api: String,
    chain: ChainId,
    nonces: Nonces,
    /// Blocks each signed transaction stays valid for.
    pub expiry_blocks: u64,
    /// How long [`Client::wait`] waits, ms.
    pub wait_ms: u64,
    /// How long [`Client::submit`] retries "busy" and "timeout" answers, ms
    /// (0: not at all).
    pub submit_retry_ms: u64,
}

impl Client {
    /// Connects to the API at `api` (e.g. `http://127.0.0.1:8080`) and reads
    /// the chain id it serves.
    pub fn connect(api: &str) -> Result<Client, ClientError> {
        let api = api.trim_end_matches('/').to_owned();
        let status = get_json(&format!("{api}/v1/status"))?;
        let chain = status["chain_id"]
            .as_str()
            .ok_or_else(|| ClientError::Answer("status without chain_id".into()))?;
        Ok(Client {
            chain: ChainId::new(chain).map_err(|e| ClientError::Answer(e.to_string()))?,
            api,
            nonces: Nonces::default(),
            expiry_blocks: EXPIRY_BLOCKS_DEFAULT,
            wait_ms: WAIT_MS_DEFAULT,
            submit_retry_ms: SUBMIT_RETRY_MS_DEFAULT,
        })
    }

    /// The chain the node serves.
    pub fn chain_id(&self) -> &ChainId {
        &self.chain
    }

    /// `GET` a JSON answer from a path of the API, e.g. `/v1/status`.
    pub fn get(&self, path: &str) -> Result<Value, ClientError> {
        get_json(&format!("{}{path}", self.api))
    }

    /// `GET` a JSON answer with an organisation's API token (`Authorization:
    /// Bearer`): members' EPCIS documents are read by their parties only.
    pub fn get_as(&self, path: &str, token: &str) -> Result<Value, ClientError> {
        let url = format!("{}{path}", self.api);
        let answer = ureq::get(&url)
            .header("accept", "application/json")
            .header("authorization", &format!("Bearer {}", token.trim()))
            .config()
            .http_status_as_error(false)
            .build()
            .call();
        read_answer(&url, answer)
    }

    /// The last committed height.
    pub fn height(&self) -> Result<u64, ClientError> {
        self.get("/v1/status")?["height"]
            .as_u64()
            .ok_or_else(|| ClientError::Answer("status without height".into()))
    }

    /// The next nonce of `key`: the node's count, or one past the last this
    /// client signed, whichever is larger.
    pub fn next_nonce(&mut self, key: &PublicKey) -> Result<u64, ClientError> {
        let on_chain = self.get(&format!("/v1/accounts/{}/nonce", key.to_hex()))?["next_nonce"]
            .as_u64()
            .ok_or_else(|| ClientError::Answer("nonce missing".into()))?;
        Ok(self.nonces.next(key, on_chain))
    }

    /// Signs `call` with `key` at its next nonce.
    pub fn sign(
        &mut self,
        key: &SecretKey,
        call: ContractCall,
    ) -> Result<SignedTransaction, ClientError> {
        let sender = key.public_key();
        let nonce = self.next_nonce(&sender)?;
        let expiry_height = self.height()? + self.expiry_blocks;
        let tx = sign_call(key, &self.chain, nonce, expiry_height, call).map_err(|e| {
            ClientError::Key {
                path: String::new(),
                reason: e.to_string(),
            }
        })?;
        self.nonces.used(sender, nonce);
        Ok(tx)
    }

    /// Hands a signed transaction to the node; its hash once admitted.
    ///
    /// A node that answers "busy" (its pool is full) or "timeout" is asked
    /// again after the pause its `Retry-After` names (at most
    /// [`RETRY_AFTER_MS_MAX`]) for up to [`Client::submit_retry_ms`]; then its
    /// last refusal is returned. Resending is safe: it is the same signed
    /// transaction, and a retry answered "duplicate" means an earlier attempt
    /// was admitted after all.
    pub fn submit(&self, tx: &SignedTransaction) -> Result<Hash, ClientError> {
        let url = format!("{}/v1/txs", self.api);
        let bytes = tx.encode();
        let deadline = Instant::now() + Duration::from_millis(self.submit_retry_ms);
        let mut retried = false;
        loop {
            let answer = ureq::post(&url)
                .header("content-type", "application/octet-stream")
                .config()
                .http_status_as_error(false)
                .build()
                .send(&bytes[..]);
            let pause = answer.as_ref().ok().map(retry_after);
            match read_answer(&url, answer) {
                Ok(body) => {
                    let hash = body["tx_hash"]
                        .as_str()
                        .ok_or_else(|| ClientError::Answer("no tx_hash in the answer".into()))?;
                    return Hash::from_hex(hash).map_err(|e| ClientError::Answer(e.to_string()));
                }
                Err(ClientError::Rejected { code, .. }) if retried && code == "duplicate" => {
                    return Ok(tx.hash());
                }
                Err(e @ ClientError::Rejected { .. }) if is_retry_later(&e) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let pause = pause.unwrap_or(Duration::from_millis(RETRY_AFTER_MS_DEFAULT));
                    if left.is_zero() || pause > left {
                        return Err(e);
                    }
                    std::thread::sleep(pause);
                    retried = true;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The receipt of a transaction once it is final.
    ///
    /// Sign, submit and wait, step by step ([`Client::execute`] does all
    /// three). Needs a running node, so this is compiled, not run, here; the
    /// real-process tests run these calls against a localnet.
    ///
    /// ```no_run
    /// use filiera_client::{Client, actions, keys};
    /// use filiera_contract_api::lots::{EventKind, LotRef, Record};
    /// # fn main() -> Result<(), filiera_client::ClientError> {
    /// let mut node = Client::connect("http://127.0.0.1:8080")?;
    /// let dairy = keys::read(std::path::Path::new("localnet/orgs/caseificio-montefeltro-demo.json"))?;
    /// let call = actions::record(&Record {
    ///     id: LotRef { gtin: "09521234100010".into(), lot: "CU-2026-0200".into() },
    ///     kind: EventKind::Store,
    ///     to: None,
    ///     quantity: 0,
    ///     site: None,
    ///     corrects: None,
    ///     note: "stagionatura, 40 giorni".into(),
    ///     epcis_hash: None,
    /// });
    /// let signed = node.sign(&dairy, call)?;
    /// let hash = node.submit(&signed)?; // admitted: in the node's mempool
    /// let receipt = node.wait(&hash)?; // final: in a committed block
    /// assert!(receipt.success, "{:?}", receipt.message);
    /// # Ok(()) }
    /// ```
    pub fn wait(&self, hash: &Hash) -> Result<Receipt, ClientError> {
        let deadline = Instant::now() + Duration::from_millis(self.wait_ms);
        let url = format!("{}/v1/txs/{}", self.api, hash.to_hex());
        while Instant::now() < deadline {
            if let Ok(r) = get_json(&url)
                && r["status"] != "pending"
            {
                return Ok(Receipt {
                    tx_hash: hash.to_hex(),
                    height: r["height"].as_u64().unwrap_or(0),
                    success: r["success"] == true,
                    code: r["code"].as_u64(),
                    message: r["message"].as_str().map(str::to_owned),
                    return_data: r["return_data"]
                        .as_str()
                        .and_then(|h| hex::decode(h).ok())
                        .unwrap_or_default(),
                });
            }
            std::thread::sleep(Duration::from_millis(POLL_MS));
        }
        Err(ClientError::Timeout(format!(
            "transaction {} not final after {} ms",
            hash.to_hex(),
            self.wait_ms
        )))
    }

    /// Signs, submits and waits: the receipt of `call` by `key`.
    pub fn execute(&mut self, key: &SecretKey, call: ContractCall) -> Result<Receipt, ClientError> {
        let tx = self.sign(key, call)?;
        let hash = self.submit(&tx)?;
        self.wait(&hash)
    }

    /// A lot with its history and attestations.
    pub fn lot(&self, gtin: &str, lot: &str) -> Result<Value, ClientError> {
        self.get(&format!("/v1/lots/{gtin}/{}", encode_segment(lot)))
    }

    /// A product.
    pub fn product(&self, gtin: &str) -> Result<Value, ClientError> {
        self.get(&format!("/v1/products/{gtin}"))
    }

    /// An organisation.
    pub fn org(&self, id: &str) -> Result<Value, ClientError> {
        self.get(&format!("/v1/orgs/{}", encode_segment(id)))
    }

    /// An attestation with its validity now.
    pub fn attestation(&self, id: u64) -> Result<Value, ClientError> {
        self.get(&format!("/v1/attestations/{id}"))
    }

    /// A lot's proof bundle, and what it proves once checked against the
    /// trusted `genesis` (certificate, validator-set history, proofs, every
    /// field): see [`filiera_verify::verify_bundle_from_genesis`].
    pub fn verify_lot(
        &self,
        gtin: &str,
        lot: &str,
        genesis: &Genesis,
    ) -> Result<(Value, filiera_verify::Verified), ClientError> {
        let bundle = self.get(&format!("/v1/lots/{gtin}/{}/bundle", encode_segment(lot)))?;
        let set = genesis
            .validator_set()
            .map_err(|e| ClientError::Answer(format!("trusted genesis: {e}")))?;
        let (verified, _) =
            filiera_verify::verify_bundle_from_genesis(&bundle, genesis.chain_id.as_str(), &set)?;
        Ok((bundle, verified))
    }
}

fn encode_segment(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Whether the node asked to be asked again later (its pool was full, or
/// admission did not answer in time), rather than refused the transaction.
pub fn is_retry_later(error: &ClientError) -> bool {
    matches!(error, ClientError::Rejected { code, .. } if code == "busy" || code == "timeout")
}

/// The pause an answer's `Retry-After` asks for (delay in seconds; an HTTP
/// date is not used by Filiera nodes and counts as absent), capped.
fn retry_after(answer: &ureq::http::Response<ureq::Body>) -> Duration {
    let ms = answer
        .headers()
        .get(ureq::http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(RETRY_AFTER_MS_DEFAULT, |s| s.saturating_mul(1_000));
    Duration::from_millis(ms.min(RETRY_AFTER_MS_MAX))
}

fn get_json(url: &str) -> Result<Value, ClientError> {
    let answer = ureq::get(url)
        .header("accept", "application/json")
        .config()
        .http_status_as_error(false)
        .build()
        .call();
    read_answer(url, answer)
}

/// An answer's JSON body, bounded; a non-2xx answer is the node's refusal.
fn read_answer(
    url: &str,
    answer: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Value, ClientError> {
    let http = |e: ureq::Error| ClientError::Http {
        url: url.to_owned(),
        reason: e.to_string(),
    };
    let mut answer = answer.map_err(http)?;
    let status = answer.status().as_u16();
    let body: Value = answer
        .body_mut()
        .with_config()
        .limit(ANSWER_BYTES_MAX)
        .read_json()
        .map_err(http)?;
    if !(200..300).contains(&status) {
        return Err(ClientError::Rejected {
            code: body["code"].as_str().unwrap_or("unknown").to_owned(),
            message: body["message"].as_str().unwrap_or_default().to_owned(),
        });
    }
    Ok(body)
}

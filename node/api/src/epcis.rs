//! EPCIS 2.0 over HTTP: the standard capture interface for producers'
//! existing software (`POST /epcis/capture`, authenticated by an
//! organisation's API token, checked from the headers before the body is
//! read; the node signs with that organisation's key from its keystore), the
//! capture job (`GET /epcis/capture/{id}`, with the same organisation's token
//! only), and the query
//! interface (`GET /epcis/events`, `GET /epcis/events/{eventID}`) answering
//! EPCIS query documents from the events stored on chain, to their parties
//! only (ADR 0010, [`crate::readers`]).
//!
//! A document with one invalid event, or one event without a lot action here,
//! is refused whole (400, each bad event by position); nothing is submitted.
//! An event already on chain (same CBV 2.0 hash) is reported and skipped:
//! capturing twice is harmless.

use crate::error::ApiError;
use crate::readers::Reader;
use crate::reads::full_key;
use crate::{ApiState, blocking};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use borsh::BorshDeserialize;
use filiera_client::epcis::{CaptureJob, CaptureJobs, CaptureRun, EventFate};
use filiera_client::submission::Nonces;
use filiera_contract_api::lots::Capture;
use filiera_contract_api::registry::SiteRecord;
use filiera_contract_api::{contract_ids, keys};
use filiera_epcis::index::{self, EventPosition, IndexField};
use filiera_epcis::{EventHash, capture_call, parse_document, query_document};
use filiera_storage::Store;
use filiera_types::{ChainId, SecretKey};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::Mutex;

pub use filiera_client::epcis::CAPTURE_JOBS_MAX;
/// Index entries one query examines, at most: past it, the page holds the
/// matches found so far and its `Link` starts the next page where the walk
/// stopped (never an answer cut short without saying so).
pub const QUERY_SCAN_MAX: usize = 10_000;
/// Index keys read from RocksDB at a time during a walk.
const WALK_CHUNK_KEYS: usize = 256;
/// Events per page of a query answer, at most.
pub const PER_PAGE_MAX: usize = 100;
/// Events per page when the query does not say.
pub const PER_PAGE_DEFAULT: usize = 30;
/// Blocks a captured event's transaction stays valid for.
pub const CAPTURE_EXPIRY_BLOCKS: u64 = 1_000;

/// An organisation allowed to capture through the API.
pub struct EpcisClient {
    /// SHA-256 of its bearer token (the node never stores the token).
    pub token_sha256: [u8; 32],
    /// Its organisation id, for messages.
    pub org: String,
    /// The key the node signs its events with (one of the organisation's keys).
    pub key: SecretKey,
}

/// Capture clients, their next nonces and their recent capture jobs.
/// Signing, nonces and jobs are the SDK's ([`filiera_client::submission`],
/// [`CaptureRun`], [`CaptureJobs`]): the node captures for an organisation
/// the way the organisation's own software would.
#[derive(Default)]
pub struct EpcisState {
    clients: Vec<CaptureDesk>,
}

impl CaptureDesk {
    /// Keeps `job` in memory and, when the desk has a directory, on disk (a
    /// job not written is still answered until the node stops).
    fn keep(&self, job: CaptureJob) {
        if let Some(files) = &self.files
            && let Err(e) = files.write(&job)
        {
            tracing::warn!(org = %self.client.org, error = %e, "capture job not written to disk");
        }
        let forgotten = self.jobs.lock().ok().and_then(|mut jobs| jobs.keep(job));
        if let (Some(files), Some(old)) = (&self.files, forgotten) {
            files.remove(&old.id);
        }
    }
}

/// One organisation's capture desk.
struct CaptureDesk {
    client: EpcisClient,
    /// Its key's next nonces, held across one capture, so that one
    /// organisation's documents are sequenced one after the other.
    nonces: tokio::sync::Mutex<Nonces>,
    /// Its jobs: readable with its token only, and apart from every other
    /// organisation's, so that no one can read or overwrite another's job.
    jobs: Mutex<CaptureJobs>,
    /// Where its jobs are kept across restarts (none: memory only).
    files: Option<crate::job_files::JobFiles>,
}

impl EpcisState {
    /// The state for these clients, their jobs in memory only.
    pub fn new(clients: Vec<EpcisClient>) -> EpcisState {
        EpcisState::open(clients, None)
    }

    /// The state for these clients, their jobs kept under `jobs_dir` (and
    /// the ones kept there by an earlier run loaded).
    pub fn open(clients: Vec<EpcisClient>, jobs_dir: Option<&std::path::Path>) -> EpcisState {
        EpcisState {
            clients: clients
                .into_iter()
                .map(|client| {
                    let files =
                        jobs_dir.map(|dir| crate::job_files::JobFiles::new(dir, &client.org));
                    let mut jobs = CaptureJobs::default();
                    for job in files
                        .as_ref()
                        .map(|f| f.read_all(CAPTURE_JOBS_MAX))
                        .unwrap_or_default()
                    {
                        jobs.keep(job);
                    }
                    CaptureDesk {
                        client,
                        nonces: tokio::sync::Mutex::new(Nonces::default()),
                        jobs: Mutex::new(jobs),
                        files,
                    }
                })
                .collect(),
        }
    }

    /// The desk of the client whose token hashes to `token_sha256`.
    fn desk_of(&self, token_sha256: &[u8; 32]) -> Option<usize> {
        self.clients
            .iter()
            .position(|d| &d.client.token_sha256 == token_sha256)
    }

    /// The job `id` of the client `token_sha256` names, if kept.
    pub fn job(&self, token_sha256: &[u8; 32], id: &str) -> Option<CaptureJob> {
        let desk = self.clients.get(self.desk_of(token_sha256)?)?;
        desk.jobs.lock().ok()?.get(id).cloned()
    }

    /// Keeps `job` for the client `token_sha256` names, in memory and on disk.
    pub fn keep_job(&self, token_sha256: &[u8; 32], job: CaptureJob) {
        if let Some(desk) = self.desk_of(token_sha256).and_then(|i| self.clients.get(i)) {
            desk.keep(job);
        }
    }
}

fn unauthorized() -> ApiError {
    ApiError {
        status: StatusCode::UNAUTHORIZED,
        code: "unauthorized",
        message: "this needs `Authorization: Bearer <organisation API token>`, a token this node \
                  knows"
            .into(),
    }
}

/// Refuses a bearer token that came on an insecure transport (plain HTTP
/// from another host, no TLS proxy in front): it crossed the network in
/// clear. Checked before the token is looked at.
pub(crate) fn token_transport(transport: Option<crate::SecureTransport>) -> Result<(), ApiError> {
    match transport {
        Some(crate::SecureTransport(false)) => Err(ApiError {
            status: StatusCode::FORBIDDEN,
            code: "tls_required",
            message: "an organisation's API token is accepted only over HTTPS (or from loopback); \
                      one sent over plain HTTP may have been read on the way: have it replaced"
                .into(),
        }),
        _ => Ok(()),
    }
}

/// The capture client a request's `Authorization` header names, if any.
fn client_of(s: &ApiState, headers: &HeaderMap) -> Result<usize, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(unauthorized)?;
    let token_sha256: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
    s.epcis.desk_of(&token_sha256).ok_or_else(unauthorized)
}

/// The organisation whose API token a request's `Authorization` header
/// holds: the registry's owner of the key the node signs with for that token
/// (the configuration's `org` is a label, and a typo there must not hand a
/// token another organisation's reads).
pub(crate) fn token_org(s: &ApiState, headers: &HeaderMap) -> Result<String, ApiError> {
    let desk = client_of(s, headers)?;
    let client = &s.epcis.clients.get(desk).ok_or_else(unauthorized)?.client;
    let owner_key = full_key(
        contract_ids::REGISTRY,
        &keys::key_owner(&client.key.public_key().0),
    );
    s.store
        .state_get(&owner_key)?
        .and_then(|b| String::try_from_slice(&b).ok())
        .ok_or_else(|| ApiError {
            status: StatusCode::FORBIDDEN,
            code: "not_member",
            message: format!(
                "the key this node holds for the token of {:?} is no member organisation's",
                client.org
            ),
        })
}

/// The capture client a request is from, found by [`capture_edge`].
#[derive(Clone, Copy, Debug)]
pub struct CaptureClient(usize);

/// Checks a capture from its headers alone, before a byte of its body (up
/// to 4 MiB) is read: the token (a stranger costs the node one header
/// lookup), then the declared length (a member's oversized document is
/// refused without waiting for it; a body longer than it declares, or sent
/// in chunks, is still cut at the limit while it is read).
pub async fn capture_edge(State(s): State<ApiState>, mut request: Request, next: Next) -> Response {
    if let Err(e) = token_transport(request.extensions().get().copied()) {
        return e.into_response();
    }
    let client = match client_of(&s, request.headers()) {
        Ok(client) => client,
        Err(e) => return e.into_response(),
    };
    let declared_bytes = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_bytes.is_some_and(|n| n > filiera_epcis::DOCUMENT_BYTES_MAX as u64) {
        return ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "too_large",
            message: format!(
                "an EPCIS document is at most {} bytes",
                filiera_epcis::DOCUMENT_BYTES_MAX
            ),
        }
        .into_response();
    }
    // Counted against the writer's allowance as the transactions its events
    // may become: one per started CAPTURE_BYTES_PER_TX of the declared body.
    let bytes = declared_bytes.unwrap_or(filiera_epcis::DOCUMENT_BYTES_MAX as u64);
    let txs = u32::try_from(1 + bytes / CAPTURE_BYTES_PER_TX).unwrap_or(u32::MAX);
    if let Some(writer) = request.extensions().get::<crate::rest::Writer>()
        && let Err(limited) = writer.charge(txs)
    {
        return crate::too_many(limited, "transactions");
    }
    request.extensions_mut().insert(CaptureClient(client));
    next.run(request).await
}

/// Bytes of an EPCIS document counted as one transaction by the write limit
/// (an event of a typical document takes 1 to 2 KiB).
pub const CAPTURE_BYTES_PER_TX: u64 = 2_048;

/// `POST /epcis/capture`: an EPCIS 2.0 document from an organisation's software.
#[utoipa::path(post, path = "/epcis/capture", tag = "epcis",
    request_body(content_type = "application/ld+json", description = "An EPCISDocument (EPCIS 2.0 JSON-LD)"),
    responses(
        (status = 202, description = "Accepted: each event's ID, its transaction, or `already_recorded`; Location names the capture job"),
        (status = 400, description = "invalid_epcis (each bad event by position) or no_lot_action; nothing submitted"),
        (status = 401, description = "unauthorized"),
        (status = 403, description = "tls_required: a token sent over plain HTTP from another host"),
        (status = 413, description = "document over 4 MiB"),
        (status = 503, description = "busy")))]
pub async fn capture(
    State(s): State<ApiState>,
    Extension(client): Extension<CaptureClient>,
    body: Bytes,
) -> Response {
    match capture_inner(s, client, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn capture_inner(
    s: ApiState,
    CaptureClient(client): CaptureClient,
    body: Bytes,
) -> Result<Response, ApiError> {
    let desk = s
        .epcis
        .clients
        .get(client)
        .ok_or_else(|| ApiError::internal("capture client out of range"))?;
    // Named by the organisation and the document: capturing it again
    // replaces the organisation's own job, never another's.
    let mut named = blake3::Hasher::new();
    named.update(desk.client.org.as_bytes());
    named.update(&[0]);
    named.update(&body);
    let job_id = named.finalize().to_hex()[..32].to_owned();

    // Validate and plan the whole document before anything is submitted.
    let state = s.clone();
    let planned = match blocking(&s, move || Ok(plan_document(&state, &body))).await? {
        Ok(planned) => planned,
        Err(Refusal::Api(e)) => return Err(e),
        Err(Refusal::Events(bad)) => return Ok(bad.into_response()),
    };

    let (c, nonces) = (&desk.client, &desk.nonces);
    let sender = c.key.public_key();
    let chain_id = ChainId::new(s.chain_id.clone()).map_err(ApiError::internal)?;
    let expiry_height = s.node.progress().height + CAPTURE_EXPIRY_BLOCKS;
    let mut nonces = nonces.lock().await;
    let first = nonces.next(&sender, crate::reads::nonce(&s.store, &sender)?);
    let mut run = CaptureRun::new(&c.key, &chain_id, first, expiry_height, planned);
    while let Some(tx) = run.next_tx().map_err(ApiError::internal)? {
        let answer = s.node.submit(tx).await;
        run.answer(answer.map_err(|r| format!("{}: {}", r.code(), r.message)));
    }
    let (job, next) = run.finish(job_id.clone());
    if next > first {
        nonces.used(sender, next - 1);
    }
    drop(nonces);

    let answer = job_json(&s, &job)?;
    desk.keep(job);
    let location =
        HeaderValue::from_str(&format!("/epcis/capture/{job_id}")).map_err(ApiError::internal)?;
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(answer),
    )
        .into_response())
}

/// An event's hash and contract call (`None`: already on chain).
type Planned = (EventHash, Option<Capture>);

/// Every event's hash and contract call.
fn plan_document(s: &ApiState, body: &[u8]) -> Result<Vec<Planned>, Refusal> {
    let doc = match parse_document(body) {
        Ok(doc) => doc,
        Err(filiera_epcis::DocumentError::Events(bad)) => {
            return Err(event_errors(
                "invalid_epcis",
                "events do not conform to EPCIS 2.0 / CBV 2.0; nothing was captured",
                bad.into_iter().map(|e| (e.index, e.reasons)).collect(),
            ));
        }
        Err(e) => return Err(ApiError::bad_request("invalid_epcis", e.to_string()).into()),
    };
    let org_of_site = |gln: &str| -> Option<String> {
        let bytes = s
            .store
            .state_get(&full_key(contract_ids::REGISTRY, &keys::site(gln)))
            .ok()??;
        SiteRecord::try_from_slice(&bytes).ok().map(|r| r.org)
    };
    let mut out = Vec::with_capacity(doc.events.len());
    let mut bad = Vec::new();
    for (index, (hash, event)) in doc.events.into_iter().enumerate() {
        let anchored = s
            .store
            .state_get(&full_key(contract_ids::LOTS, &keys::epcis_anchor(&hash.0)))
            .map_err(ApiError::from)?
            .is_some();
        if anchored {
            out.push((hash, None));
            continue;
        }
        match capture_call(&hash, &event, &org_of_site) {
            Ok(call) => out.push((hash, Some(call))),
            Err(e) => bad.push((index, vec![e.to_string()])),
        }
    }
    if !bad.is_empty() {
        return Err(event_errors(
            "no_lot_action",
            "valid EPCIS, but some events are not lot actions this chain records; nothing was captured",
            bad,
        ));
    }
    Ok(out)
}

/// A document refused for some of its events: each by position, with every reason.
pub struct BadEvents {
    code: &'static str,
    message: &'static str,
    errors: Vec<(usize, Vec<String>)>,
}

impl IntoResponse for BadEvents {
    fn into_response(self) -> Response {
        let errors: Vec<Value> = self
            .errors
            .into_iter()
            .map(|(index, reasons)| json!({"index": index, "reasons": reasons}))
            .collect();
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"code": self.code, "message": self.message, "errors": errors})),
        )
            .into_response()
    }
}

fn event_errors(
    code: &'static str,
    message: &'static str,
    errors: Vec<(usize, Vec<String>)>,
) -> Refusal {
    Refusal::Events(BadEvents {
        code,
        message,
        errors,
    })
}

/// Why a document is refused.
enum Refusal {
    Api(ApiError),
    Events(BadEvents),
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Refusal {
        Refusal::Api(e)
    }
}

/// A job as EPCIS 2.0 describes capture jobs, with each event's fate.
fn job_json(s: &ApiState, job: &CaptureJob) -> Result<Value, ApiError> {
    let mut running = false;
    let mut errors = Vec::new();
    let mut events = Vec::with_capacity(job.events.len());
    for (hash, fate) in &job.events {
        let event_id = hash.to_ni();
        let (status, tx, reason) = match fate {
            EventFate::Submitted(tx) => match s.store.tx_location(tx)? {
                None => {
                    running = true;
                    ("pending", Some(tx), None)
                }
                Some(at) => match s.store.receipt(at)?.map(|r| r.status) {
                    Some(filiera_types::receipt::TxStatus::Success) => {
                        ("committed", Some(tx), None)
                    }
                    Some(filiera_types::receipt::TxStatus::Failed { message, .. }) => {
                        ("failed", Some(tx), Some(message))
                    }
                    None => return Err(ApiError::internal("receipt missing")),
                },
            },
            EventFate::AlreadyRecorded => ("already_recorded", None, None),
            EventFate::Rejected(reason) => ("rejected", None, Some(reason.clone())),
            EventFate::NotSubmitted(reason) => ("not_submitted", None, Some(reason.clone())),
        };
        if let Some(r) = &reason {
            errors.push(json!({"eventID": event_id, "reason": r}));
        }
        events.push(json!({
            "eventID": event_id,
            "status": status,
            "tx": tx.map(|h| h.to_hex()),
            "reason": reason,
        }));
    }
    Ok(json!({
        "captureID": job.id,
        "running": running,
        "success": !running && errors.is_empty(),
        "captureErrorBehaviour": "proceed",
        "errors": errors,
        "events": events,
    }))
}

/// `GET /epcis/capture/{capture_id}`: a capture job's progress.
#[utoipa::path(get, path = "/epcis/capture/{capture_id}", tag = "epcis",
    params(("capture_id" = String, Path, description = "From the Location of the capture answer")),
    responses((status = 200, description = "running, success, errors, and each event's status (pending, committed, failed, already_recorded, rejected)"), (status = 401, description = "unauthorized: a job is read with its organisation's token"), (status = 404, description = "unknown or forgotten job, or another organisation's")))]
pub async fn capture_job(
    State(s): State<ApiState>,
    transport: Option<Extension<crate::SecureTransport>>,
    headers: HeaderMap,
    Path(capture_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    token_transport(transport.map(|Extension(t)| t))?;
    let client = client_of(&s, &headers)?;
    let desk = s
        .epcis
        .clients
        .get(client)
        .ok_or_else(|| ApiError::internal("capture client out of range"))?;
    // Another organisation's job is answered as unknown: its existence is
    // not for others to learn.
    let job = desk
        .jobs
        .lock()
        .map_err(ApiError::internal)?
        .get(&capture_id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("no capture job with this id"))?;
    Ok(Json(job_json(&s, &job)?))
}

/// The filters of `GET /epcis/events` (EPCIS 2.0 query parameters).
#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
pub struct EventQuery {
    #[serde(rename = "eventType", skip_serializing_if = "Option::is_none")]
    event_type: Option<String>,
    #[serde(rename = "GE_eventTime", skip_serializing_if = "Option::is_none")]
    ge_event_time: Option<String>,
    #[serde(rename = "LT_eventTime", skip_serializing_if = "Option::is_none")]
    lt_event_time: Option<String>,
    #[serde(rename = "EQ_bizStep", skip_serializing_if = "Option::is_none")]
    eq_biz_step: Option<String>,
    #[serde(rename = "EQ_disposition", skip_serializing_if = "Option::is_none")]
    eq_disposition: Option<String>,
    #[serde(rename = "EQ_bizLocation", skip_serializing_if = "Option::is_none")]
    eq_biz_location: Option<String>,
    #[serde(rename = "EQ_readPoint", skip_serializing_if = "Option::is_none")]
    eq_read_point: Option<String>,
    #[serde(rename = "MATCH_epc", skip_serializing_if = "Option::is_none")]
    match_epc: Option<String>,
    #[serde(
        rename = "MATCH_anyEPCClass",
        alias = "MATCH_epcClass",
        skip_serializing_if = "Option::is_none"
    )]
    match_epc_class: Option<String>,
    #[serde(rename = "perPage", skip_serializing_if = "Option::is_none")]
    per_page: Option<usize>,
    #[serde(rename = "nextPageToken", skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// `GET /epcis/events`: stored events matching the filters, oldest first.
#[utoipa::path(get, path = "/epcis/events", tag = "epcis",
    params(
        ("eventType" = Option<String>, Query, description = "ObjectEvent, TransformationEvent, ..."),
        ("GE_eventTime" = Option<String>, Query, description = "RFC 3339, inclusive"),
        ("LT_eventTime" = Option<String>, Query, description = "RFC 3339, exclusive"),
        ("EQ_bizStep" = Option<String>, Query, description = "CBV word or URI"),
        ("EQ_disposition" = Option<String>, Query, description = "CBV word or URI"),
        ("EQ_bizLocation" = Option<String>, Query, description = "sgln URN or Digital Link"),
        ("EQ_readPoint" = Option<String>, Query, description = "sgln URN or Digital Link"),
        ("MATCH_epc" = Option<String>, Query, description = "An EPC in epcList, childEPCs, inputs or outputs"),
        ("MATCH_anyEPCClass" = Option<String>, Query, description = "A lot (lgtin or Digital Link with AI 10) in any quantity list"),
        ("perPage" = Option<usize>, Query, description = "At most 100; 30 by default"),
        ("nextPageToken" = Option<String>, Query, description = "From the previous page's Link header: the page starts after that event in (event time, event ID) order")),
    responses((status = 200, description = "An EPCISQueryDocument: every matching event from the cursor on, in (event time, event ID) order, up to perPage; a Link header rel=next (same filters, a cursor) when more may match. A walk stops after 10,000 index entries: the page then holds fewer events than perPage and its Link goes on from there"), (status = 400, description = "invalid_query"), (status = 401, description = "unauthorized: no organisation's token, or one this node does not know; only the events the token's organisation is a party to are returned (every event for the authority, auditors and the operator's listener)"), (status = 403, description = "tls_required, not_active"), (status = 503, description = "busy: the query index is being built")))]
pub async fn events(
    State(s): State<ApiState>,
    reader: Reader,
    Query(q): Query<EventQuery>,
) -> Response {
    let scope = match Scope::of(&reader) {
        Ok(scope) => scope,
        Err(e) => return e.into_response(),
    };
    let state = s.clone();
    match blocking(&s, move || query_events(&state.store, &q, &scope)).await {
        Ok((doc, next)) => {
            let mut r = (
                [(header::CONTENT_TYPE, "application/json")],
                filiera_epcis::to_epcis_json(&doc),
            )
                .into_response();
            if let Some(link) = next.and_then(|n| HeaderValue::from_str(&n).ok()) {
                r.headers_mut().insert(header::LINK, link);
            }
            r
        }
        Err(e) => e.into_response(),
    }
}

fn bad_query(m: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_query", m)
}

/// Whose events a reader's query and lookups may return (ADR 0010).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every stored event: the operator, the authority, auditors.
    All,
    /// The events this organisation is a party to.
    PartyOf(String),
}

impl Scope {
    /// The scope of `reader`; anyone else is refused.
    pub fn of(reader: &Reader) -> Result<Scope, ApiError> {
        match reader {
            Reader::Anyone => Err(crate::readers::member_only()),
            Reader::Member(org) => Ok(Scope::PartyOf(org.clone())),
            Reader::Everything => Ok(Scope::All),
        }
    }
}

/// Whether the index lists `org` as a party to the event at `at`.
pub fn is_party(store: &Store, org: &str, at: &EventPosition) -> Result<bool, ApiError> {
    let key = index::index_key(IndexField::Party, org, at);
    let mut past = key.clone();
    past.push(0);
    Ok(!store.index_range(&key, &past, 1)?.is_empty())
}

/// Whether `scope` may read the stored event `id` (whose document is `event`).
pub fn may_read(
    store: &Store,
    scope: &Scope,
    id: [u8; 32],
    event: &Value,
) -> Result<bool, ApiError> {
    match scope {
        Scope::All => Ok(true),
        Scope::PartyOf(org) => match index::event_time_ns(event) {
            Some(event_time_ns) => is_party(
                store,
                org,
                &EventPosition {
                    event_time_ns,
                    event_id: id,
                },
            ),
            None => Ok(false),
        },
    }
}

/// The answer to `q` from `store`'s query index, within `scope`: an EPCIS
/// query document and the `Link` of the next page, if more events may
/// match. Reads at most [`QUERY_SCAN_MAX`] index entries and holds at most
/// `perPage + 1` events.
pub fn query_events(
    store: &Store,
    q: &EventQuery,
    scope: &Scope,
) -> Result<(Value, Option<String>), ApiError> {
    query_scanning(store, q, scope, QUERY_SCAN_MAX)
}

fn query_scanning(
    store: &Store,
    q: &EventQuery,
    scope: &Scope,
    scan_max: usize,
) -> Result<(Value, Option<String>), ApiError> {
    if store.index_version()? != Some(index::QUERY_INDEX_VERSION) {
        return Err(ApiError::busy(
            "the query index is being built; retry shortly",
        ));
    }
    let per_page = q.per_page.unwrap_or(PER_PAGE_DEFAULT);
    if per_page == 0 || per_page > PER_PAGE_MAX {
        return Err(bad_query(format!("perPage must be 1 to {PER_PAGE_MAX}")));
    }
    let after: Option<Cursor> = match &q.next_page_token {
        Some(t) => Some(
            parse_cursor(t).ok_or_else(|| bad_query("nextPageToken is not one this node gave"))?,
        ),
        None => None,
    };
    let time = |t: &Option<String>, name: &str| -> Result<Option<time::OffsetDateTime>, ApiError> {
        t.as_deref()
            .map(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| bad_query(format!("{name} is not an RFC 3339 date-time")))
            })
            .transpose()
    };
    let ge = time(&q.ge_event_time, "GE_eventTime")?;
    let lt = time(&q.lt_event_time, "LT_eventTime")?;
    let id = |v: &Option<String>, name: &str| -> Result<Option<String>, ApiError> {
        v.as_deref()
            .map(|v| filiera_epcis::canonical_id(v).map_err(|e| bad_query(format!("{name}: {e}"))))
            .transpose()
    };
    let location = id(&q.eq_biz_location, "EQ_bizLocation")?;
    let read_point = id(&q.eq_read_point, "EQ_readPoint")?;
    let epc = id(&q.match_epc, "MATCH_epc")?;
    let class = id(&q.match_epc_class, "MATCH_anyEPCClass")?;
    // Stored events spell CBV values as bare words (normalised at capture).
    let word = |v: &Option<String>, vocab: filiera_epcis::Vocabulary| {
        v.as_deref().map(|w| {
            vocab
                .member(w)
                .ok()
                .flatten()
                .map_or_else(|| w.to_owned(), str::to_owned)
        })
    };
    let biz_step = word(&q.eq_biz_step, filiera_epcis::BIZ_STEP);
    let disposition = word(&q.eq_disposition, filiera_epcis::DISPOSITION);

    // The walk follows the most selective field the query names (an EPC or
    // a lot names few events; a location, a step or a type many), else time.
    // A member's walk follows its own party field (with the location, if it
    // names one), whatever else it names:
    // every entry it examines is one of its events, so neither a page nor
    // the cursor of a page cut by the scan bound tells it anything of
    // another's (an EPC walk checked against the party field would put a
    // stranger's event time in the cursor).
    let drive = match scope {
        Scope::All => [
            (IndexField::Epc, &epc),
            (IndexField::EpcClass, &class),
            (IndexField::BizLocation, &location),
            (IndexField::ReadPoint, &read_point),
            (IndexField::BizStep, &biz_step),
            (IndexField::Disposition, &disposition),
            (IndexField::EventType, &q.event_type),
        ]
        .into_iter()
        .find_map(|(field, value)| value.as_ref().map(|v| (field, v.clone())))
        .unwrap_or((IndexField::Time, String::new())),
        Scope::PartyOf(org) => match &location {
            Some(location) => (
                IndexField::PartyLocation,
                index::party_location(org, location),
            ),
            None => (IndexField::Party, org.clone()),
        },
    };
    let matches = |event: &Value| {
        let str_of = |k: &str| event.get(k).and_then(Value::as_str);
        let words_match = |field: &str, want: &Option<String>| match want {
            None => true,
            Some(w) => str_of(field) == Some(w.as_str()),
        };
        q.event_type
            .as_deref()
            .is_none_or(|t| str_of("type") == Some(t))
            && words_match("bizStep", &biz_step)
            && words_match("disposition", &disposition)
            && location
                .as_ref()
                .is_none_or(|l| index::location_of(event, "bizLocation").as_ref() == Some(l))
            && read_point
                .as_ref()
                .is_none_or(|l| index::location_of(event, "readPoint").as_ref() == Some(l))
            && epc
                .as_ref()
                .is_none_or(|e| index::names_in(event, index::EPC_LISTS, None).contains(e))
            && class.as_ref().is_none_or(|c| {
                index::names_in(event, index::QUANTITY_LISTS, Some("epcClass")).contains(c)
            })
    };
    let walk = walk(
        store,
        drive,
        ge.map(|t| t.unix_timestamp_nanos()),
        lt.map(|t| t.unix_timestamp_nanos()),
        after.as_ref(),
        (per_page, scan_max),
        &matches,
    )?;
    let mut matching = walk.matching;
    let next = if matching.len() > per_page {
        matching.truncate(per_page);
        matching.last().map(|(last, _)| next_link(q, last))
    } else {
        // Cut by the scan bound: the page holds every match up to where the
        // walk stopped, and the next one starts there.
        walk.cut_at.map(|at| next_link(q, &at))
    };
    let page: Vec<Value> = matching.into_iter().map(|(_, e)| e).collect();
    let created = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(ApiError::internal)?;
    Ok((query_document("SimpleEventQuery", &created, page), next))
}

/// Where a page of a query answer ends: the last event's time and id. The
/// next page starts after it in (event time, event id) order, so an event
/// captured meanwhile never repeats or hides one already paged over; one
/// captured with an earlier event time than the cursor is not in this walk
/// (a new query sees it). Token: `{event time, ns since the epoch}.{event id, hex}`.
type Cursor = EventPosition;

fn cursor_token(at: &Cursor) -> String {
    format!("{}.{}", at.event_time_ns, hex::encode(at.event_id))
}

fn parse_cursor(token: &str) -> Option<Cursor> {
    let (time, id) = token.split_once('.')?;
    Some(Cursor {
        event_time_ns: time.parse().ok()?,
        event_id: hex::decode(id).ok()?.try_into().ok()?,
    })
}

/// What a walk of the index found.
struct Walk {
    /// Matching events in walk order, at most `per_page + 1`.
    matching: Vec<(Cursor, Value)>,
    /// Where the walk stopped at the scan bound with fewer matches than a
    /// full page and more entries left; `None` if it reached the range's end
    /// or filled the page.
    cut_at: Option<Cursor>,
}

/// Walks `drive`'s entries in `[ge, lt)` after `after`, loading each event
/// and keeping those `matches` accepts, until `per_page + 1` match, the range
/// ends, or `scan_max` entries were examined.
fn walk(
    store: &Store,
    (field, value): (IndexField, String),
    ge_ns: Option<i128>,
    lt_ns: Option<i128>,
    after: Option<&Cursor>,
    (per_page, scan_max): (usize, usize),
    matches: &dyn Fn(&Value) -> bool,
) -> Result<Walk, ApiError> {
    let (mut from, to) = index::walk_range(field, &value, ge_ns, lt_ns, after);
    let mut matching = Vec::new();
    let mut examined = 0usize;
    let mut last: Option<Cursor> = None;
    loop {
        let keys = store.index_range(&from, &to, WALK_CHUNK_KEYS)?;
        for key in &keys {
            let at = index::position_of(key)
                .ok_or_else(|| ApiError::internal("malformed query index key"))?;
            if examined == scan_max {
                // `at` is not examined: the next page starts after the last that was.
                return Ok(Walk {
                    matching,
                    cut_at: last,
                });
            }
            examined += 1;
            last = Some(at);
            from.clone_from(key);
            from.push(0);
            let Some(bytes) = store.state_get(&full_key(
                contract_ids::LOTS,
                &keys::epcis_event(&at.event_id),
            ))?
            else {
                continue;
            };
            let text = String::try_from_slice(&bytes).map_err(|e| {
                ApiError::internal(format!("stored EPCIS event does not decode: {e}"))
            })?;
            let Ok(event) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if matches(&event) {
                matching.push((at, event));
                if matching.len() > per_page {
                    return Ok(Walk {
                        matching,
                        cut_at: None,
                    });
                }
            }
        }
        if keys.len() < WALK_CHUNK_KEYS {
            return Ok(Walk {
                matching,
                cut_at: None,
            });
        }
    }
}

/// The `Link` header of the next page: the same filters, from `last` on.
fn next_link(q: &EventQuery, last: &Cursor) -> String {
    let mut next = q.clone();
    next.next_page_token = Some(cursor_token(last));
    next.per_page = Some(q.per_page.unwrap_or(PER_PAGE_DEFAULT));
    let query = serde_json::to_value(&next)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (name, value) in &query {
        match value {
            Value::String(text) => form.append_pair(name, text),
            other => form.append_pair(name, &other.to_string()),
        };
    }
    format!("</epcis/events?{}>; rel=\"next\"", form.finish())
}

/// `GET /epcis/events/{event_id}`: one stored event, by its CBV 2.0 event ID
/// (`ni:///sha-256;…?ver=CBV2.0`, URL-encoded) or the hash in hex.
#[utoipa::path(get, path = "/epcis/events/{event_id}", tag = "epcis",
    params(("event_id" = String, Path, description = "ni:///sha-256;{hex}?ver=CBV2.0 (URL-encoded) or the 64 hex digits")),
    responses((status = 200, description = "The event as captured, with its eventID"), (status = 400, description = "invalid_event_id"), (status = 401, description = "unauthorized: an organisation's token is needed"), (status = 404, description = "no such event, or none the token's organisation is a party to")))]
pub async fn event(
    State(s): State<ApiState>,
    reader: Reader,
    Path(event_id): Path<String>,
) -> Result<Response, ApiError> {
    let scope = Scope::of(&reader)?;
    let hash = EventHash::from_ni(&event_id)
        .or_else(|| {
            hex::decode(&event_id)
                .ok()
                .and_then(|b| b.try_into().ok())
                .map(EventHash)
        })
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_event_id",
                "not a CBV 2.0 event ID nor 64 hex digits",
            )
        })?;
    // Not a party: the same answer as for an event that does not exist.
    let missing = || ApiError::not_found("no captured EPCIS event with this ID that you may read");
    let bytes = s
        .store
        .state_get(&full_key(contract_ids::LOTS, &keys::epcis_event(&hash.0)))?
        .ok_or_else(missing)?;
    let text = String::try_from_slice(&bytes).map_err(ApiError::internal)?;
    let event: Value = serde_json::from_str(&text).map_err(ApiError::internal)?;
    if !may_read(&s.store, &scope, hash.0, &event)? {
        return Err(missing());
    }
    Ok(([(header::CONTENT_TYPE, "application/json")], text).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_cursor_round_trips_and_orders_by_time_then_id() {
        let early = Cursor {
            event_time_ns: 1_764_000_000_000_000_000,
            event_id: [9; 32],
        };
        let later_id = Cursor {
            event_id: [10; 32],
            ..early
        };
        assert_eq!(parse_cursor(&cursor_token(&early)), Some(early));
        assert!(early < later_id);
        for junk in [
            "",
            "12",
            "x.00",
            "1.abcd",
            &format!("1.{}", "zz".repeat(32)),
        ] {
            assert_eq!(parse_cursor(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn the_next_link_keeps_every_filter() {
        let q = EventQuery {
            match_epc_class: Some("https://id.gs1.org/01/09521234100010/10/CU 1&x".into()),
            ge_event_time: Some("2026-11-25T00:00:00+01:00".into()),
            per_page: Some(2),
            next_page_token: Some("old".into()),
            ..EventQuery::default()
        };
        let last = Cursor {
            event_time_ns: 5,
            event_id: [1; 32],
        };
        let link = next_link(&q, &last);
        let target = link
            .strip_prefix("</epcis/events?")
            .and_then(|l| l.strip_suffix(">; rel=\"next\""))
            .expect(&link);
        let pairs: BTreeMap<String, String> = form_urlencoded::parse(target.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(
            pairs.get("MATCH_anyEPCClass").map(String::as_str),
            q.match_epc_class.as_deref()
        );
        assert_eq!(
            pairs.get("GE_eventTime").map(String::as_str),
            q.ge_event_time.as_deref()
        );
        assert_eq!(pairs.get("perPage").map(String::as_str), Some("2"));
        assert_eq!(pairs.get("nextPageToken"), Some(&cursor_token(&last)));
        assert_eq!(pairs.len(), 4, "{pairs:?}");
    }
}

#[cfg(test)]
mod walk_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use filiera_storage::testkit::ChainBuilder;
    use filiera_storage::{StateChanges, StorageConfig};

    const LOCATIONS: [&str; 3] = [
        "urn:epc:id:sgln:9521234.00001.0",
        "urn:epc:id:sgln:9521234.00002.0",
        "urn:epc:id:sgln:9521234.00003.0",
    ];

    /// Event `i`: at minute `i` of 2026-11-25, at location `i % 3`, shipped
    /// and in transit, except every tenth, sold.
    fn event(i: u32) -> Value {
        let sold = i % 10 == 9;
        json!({
            "type": "ObjectEvent", "action": "OBSERVE",
            "bizStep": if sold { "retail_selling" } else { "shipping" },
            "disposition": if sold { "retail_sold" } else { "in_transit" },
            "eventTime": format!("2026-11-25T{:02}:{:02}:00.000Z", i / 60, i % 60),
            "eventTimeZoneOffset": "+00:00",
            "bizLocation": {"id": LOCATIONS[i as usize % 3]},
            "epcList": [format!("urn:epc:id:sgtin:9521234.010001.{i}")]
        })
    }

    fn id(i: u32) -> [u8; 32] {
        *blake3::hash(&i.to_be_bytes()).as_bytes()
    }

    /// A real store holding `n` events in committed state, indexed.
    fn store_with(n: u32) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StorageConfig::default()).unwrap();
        let chain = ChainBuilder::new();
        chain.init(&store).unwrap();
        let (mut state, mut index) = (StateChanges::new(), StateChanges::new());
        for i in 0..n {
            let e = event(i);
            let key = full_key(contract_ids::LOTS, &keys::epcis_event(&id(i)));
            state.insert(key, Some(borsh::to_vec(&e.to_string()).unwrap()));
            for k in index::index_keys(&e, id(i)) {
                index.insert(k, Some(Vec::new()));
            }
            // Event i's party: the even ones org-even's, the odd ones org-odd's.
            let at = EventPosition {
                event_time_ns: index::event_time_ns(&e).unwrap(),
                event_id: id(i),
            };
            let party = if i % 2 == 0 { "org-even" } else { "org-odd" };
            index.insert(
                index::index_key(IndexField::Party, party, &at),
                Some(Vec::new()),
            );
            let location = index::location_of(&e, "bizLocation").unwrap();
            index.insert(
                index::index_key(
                    IndexField::PartyLocation,
                    &index::party_location(party, &location),
                    &at,
                ),
                Some(Vec::new()),
            );
        }
        chain.commit(&store, state, vec![]).unwrap();
        store
            .write_index(&index, Some(index::QUERY_INDEX_VERSION))
            .unwrap();
        (dir, store)
    }

    /// Every page of `q`, following the Link headers: the events' minutes.
    fn all_pages(store: &Store, q: Value, scan_max: usize) -> (Vec<u32>, usize) {
        scoped_pages(store, q, &Scope::All, scan_max)
    }

    /// Every page of `q` within `scope`: the events' minutes and the pages.
    fn scoped_pages(store: &Store, q: Value, scope: &Scope, scan_max: usize) -> (Vec<u32>, usize) {
        let mut q: EventQuery = serde_json::from_value(q).unwrap();
        let (mut minutes, mut pages) = (Vec::new(), 0);
        loop {
            let (doc, next) = query_scanning(store, &q, scope, scan_max).unwrap();
            pages += 1;
            for e in doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
                .as_array()
                .unwrap()
            {
                let epc = e["epcList"][0].as_str().unwrap();
                minutes.push(epc.rsplit('.').next().unwrap().parse().unwrap());
            }
            let Some(link) = next else { break };
            let token = link.split("nextPageToken=").nth(1).unwrap();
            let token = token.split(['&', '>']).next().unwrap();
            q.next_page_token = Some(token.to_owned());
            assert!(pages < 1_000, "the pages never end");
        }
        (minutes, pages)
    }

    #[test]
    fn pages_by_location_are_complete_in_time_order_without_repeats() {
        let (_dir, store) = store_with(300);
        let (minutes, pages) = all_pages(
            &store,
            json!({"EQ_bizLocation": LOCATIONS[1], "perPage": 30}),
            QUERY_SCAN_MAX,
        );
        let want: Vec<u32> = (0..300).filter(|i| i % 3 == 1).collect();
        assert_eq!(minutes, want);
        assert_eq!(pages, 4, "100 events in pages of 30");
    }

    #[test]
    fn a_time_range_and_other_filters_select_exactly() {
        let (_dir, store) = store_with(300);
        let (minutes, _) = all_pages(
            &store,
            json!({"GE_eventTime": "2026-11-25T01:00:00Z", "LT_eventTime": "2026-11-25T03:00:00.000+01:00",
                   "EQ_disposition": "retail_sold", "perPage": 7}),
            QUERY_SCAN_MAX,
        );
        // 01:00 UTC inclusive to 02:00 UTC exclusive, every tenth.
        let want: Vec<u32> = (60..120).filter(|i| i % 10 == 9).collect();
        assert_eq!(minutes, want);
    }

    #[test]
    fn a_walk_cut_by_the_scan_bound_says_so_and_goes_on() {
        let (_dir, store) = store_with(300);
        // Driven by the location (100 events), filtered by the step: with 50
        // entries a walk, the first page comes short but its link goes on.
        let q = json!({"EQ_bizStep": "shipping", "EQ_bizLocation": LOCATIONS[2], "perPage": 100});
        let (minutes, pages) = all_pages(&store, q.clone(), 50);
        let want: Vec<u32> = (0..300).filter(|i| i % 3 == 2 && i % 10 != 9).collect();
        assert_eq!(minutes, want);
        assert_eq!(pages, 2, "100 entries, 50 a walk");
        // With the real bound, one page holds them all.
        assert_eq!(all_pages(&store, q, QUERY_SCAN_MAX), (want, 1));
    }

    #[test]
    fn a_member_reads_only_the_events_it_is_a_party_to() {
        let (_dir, store) = store_with(300);
        let even = Scope::PartyOf("org-even".into());
        // Walked by its party field: every even event, in time order.
        let (minutes, _) = scoped_pages(&store, json!({"perPage": 100}), &even, QUERY_SCAN_MAX);
        assert_eq!(minutes, (0..300).step_by(2).collect::<Vec<u32>>());
        // With other filters, on the party-and-location walk.
        let (minutes, _) = scoped_pages(
            &store,
            json!({"EQ_bizLocation": LOCATIONS[1], "EQ_disposition": "in_transit"}),
            &even,
            QUERY_SCAN_MAX,
        );
        let want: Vec<u32> = (0..300)
            .filter(|i| i % 2 == 0 && i % 3 == 1 && i % 10 != 9)
            .collect();
        assert!(!want.is_empty());
        assert_eq!(minutes, want);
        // An EPC filter on the party walk.
        let epc = |i: u32| json!({"MATCH_epc": format!("urn:epc:id:sgtin:9521234.010001.{i}")});
        assert_eq!(scoped_pages(&store, epc(8), &even, QUERY_SCAN_MAX).0, [8]);
        assert!(
            scoped_pages(&store, epc(7), &even, QUERY_SCAN_MAX)
                .0
                .is_empty()
        );
        assert_eq!(
            scoped_pages(&store, epc(7), &Scope::All, QUERY_SCAN_MAX).0,
            [7]
        );
        // An organisation no event names reads none.
        let stranger = Scope::PartyOf("org".into());
        assert!(
            scoped_pages(&store, json!({}), &stranger, QUERY_SCAN_MAX)
                .0
                .is_empty()
        );
        // One event at a time.
        let at = |i: u32| (id(i), event(i));
        let (seven, doc) = at(7);
        assert!(!may_read(&store, &even, seven, &doc).unwrap());
        assert!(may_read(&store, &Scope::PartyOf("org-odd".into()), seven, &doc).unwrap());
        assert!(may_read(&store, &Scope::All, seven, &doc).unwrap());
        assert_eq!(
            Scope::of(&Reader::Anyone).unwrap_err().status.as_u16(),
            401,
            "anyone reads no EPCIS document"
        );
    }

    #[test]
    fn no_answer_before_the_index_is_built() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StorageConfig::default()).unwrap();
        ChainBuilder::new().init(&store).unwrap();
        let refused = query_events(&store, &EventQuery::default(), &Scope::All).unwrap_err();
        assert_eq!(refused.status.as_u16(), 503);
    }
}

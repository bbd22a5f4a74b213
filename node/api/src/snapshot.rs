//! Fast join: a node serves its newest certified state to a joining node as an
//! offer (header, certificate, validator-set history) and numbered chunks,
//! each with a range proof. Borsh bytes, not JSON: the joiner checks them all
//! against its own genesis, so nothing here needs to be trusted. Chunks are
//! cut on demand and may be fetched in any order from any peer holding the
//! same height. Only to the operator and to the nodes the chain lets hold
//! the state ([`crate::peer_reads`]).

use crate::error::ApiError;
use crate::peer_reads::SnapshotReader;
use crate::{ApiState, bundle};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use filiera_storage::{SNAPSHOT_SERVE_CHUNK_ENTRIES, SnapshotOffer, StorageError};

fn octets(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}

/// `GET /v1/snapshot`: the offer for the newest certified height.
#[utoipa::path(get, path = "/v1/snapshot", tag = "chain", responses((status = 200, description = "A borsh SnapshotOffer: header, commit certificate, validator-set history, state size, entries per chunk", content_type = "application/octet-stream"), (status = 401, description = "unauthorized, stale_signature or bad_signature: not signed by a p2p key, see the filiera-peer-signature header"), (status = 403, description = "not_allowed: the key is no validator's and no allowed observer's"), (status = 404, description = "nothing certified yet")))]
pub async fn offer(
    State(s): State<ApiState>,
    _reader: SnapshotReader,
) -> Result<Response, ApiError> {
    let store = s.store.clone();
    let offer = crate::blocking(&s, move || {
        let height = store.last_height()?.unwrap_or(0);
        let (Some(header), Some(certificate)) = (store.header(height)?, store.certificate(height)?)
        else {
            return Err(ApiError::not_found("no certified block yet"));
        };
        Ok(SnapshotOffer {
            set_history: bundle::set_history(&store, height)?,
            entries: store.state_entries(height)?,
            chunk_entries: SNAPSHOT_SERVE_CHUNK_ENTRIES,
            header,
            certificate,
        })
    })
    .await?;
    Ok(octets(offer.encode()))
}

/// `GET /v1/snapshot/{height}/{index}`: one chunk of the state at `height`.
#[utoipa::path(get, path = "/v1/snapshot/{height}/{index}", tag = "chain", params(("height" = u64, Path, description = "Height of an offer"), ("index" = u32, Path, description = "Chunk number, from 0")), responses((status = 200, description = "A borsh SnapshotChunk with its range proof", content_type = "application/octet-stream"), (status = 401, description = "as for the offer"), (status = 403, description = "as for the offer"), (status = 404, description = "past the last chunk"), (status = 410, description = "state_pruned: ask for a new offer")))]
pub async fn chunk(
    State(s): State<ApiState>,
    _reader: SnapshotReader,
    Path((height, index)): Path<(u64, u32)>,
) -> Result<Response, ApiError> {
    let store = s.store.clone();
    let chunk = crate::blocking(&s, move || {
        match store.snapshot_chunk(height, index, SNAPSHOT_SERVE_CHUNK_ENTRIES) {
            Ok(Some(chunk)) => Ok(chunk),
            Ok(None) => Err(ApiError::not_found(format!(
                "the state at height {height} has no chunk {index}"
            ))),
            Err(StorageError::Pruned { height, oldest }) => Err(ApiError {
                status: StatusCode::GONE,
                code: "state_pruned",
                message: format!(
                    "the state at height {height} is not kept (oldest {oldest}); ask for a new offer"
                ),
            }),
            Err(e) => Err(e.into()),
        }
    })
    .await?;
    Ok(octets(chunk.encode()))
}

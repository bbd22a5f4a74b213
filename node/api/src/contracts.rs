//! The code the chain runs, for auditors and operators: every contract's
//! versions with the height each runs from, the upgrade proposals and their
//! approvals, and the module bytes of any version.
//!
//! All of it is node state under `sys/` (see `filiera_types::governance`), so
//! `GET /v1/proofs/{key}` proves any of it against a committed state root:
//! which module ran at a height is a fact a light client can check, not the
//! answering node's word.

use crate::error::ApiError;
use crate::{ApiState, blocking};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use filiera_types::chain_limits::{self, ChainLimits, LimitsProposal, LimitsVersion};
use filiera_types::chain_rules::{self, ChainRulesVersion, RulesProposal};
use filiera_types::encoding::decode;
use filiera_types::governance::{
    ContractVersion, MigrationOutcome, UPGRADE_NOTICE_BLOCKS_MIN, UpgradeProposal, version_at,
};
use filiera_types::{Hash, sys_keys};
use serde_json::{Value, json};

/// Contracts a listing reads, at most.
pub const CONTRACTS_LIST_MAX: usize = 256;
/// Upgrade proposals a listing reads, at most (the newest first).
pub const PROPOSALS_LIST_MAX: usize = 256;

fn version_view(
    v: &ContractVersion,
    running: Option<u32>,
    migration: Option<MigrationOutcome>,
) -> Value {
    json!({
        "version": v.version,
        "code_hash": v.code_hash.to_hex(),
        "from_height": v.from_height,
        "proposal": v.proposal,
        "running": running == Some(v.version),
        "migration": migration.map(|m| json!({
            "height": m.height,
            "fuel_used": m.fuel_used,
            "failure": m.failure,
        })),
    })
}

/// The outcome of the migration of `version` of contract `id`, if one ran.
fn migration_of(
    store: &filiera_storage::Store,
    id: &str,
    version: u32,
) -> Result<Option<MigrationOutcome>, ApiError> {
    let Ok(id) = filiera_types::ContractId::new(id) else {
        return Ok(None);
    };
    Ok(store
        .state_get(&sys_keys::migration(&id, version))?
        .and_then(|v| decode("migration", &v, usize::MAX).ok()))
}

/// `GET /v1/contracts`: each contract's versions (which one runs at the
/// head, which are scheduled) and the upgrade proposals.
#[utoipa::path(get, path = "/v1/contracts", tag = "records", responses((status = 200, description = "Contracts, their versions and upgrade proposals")))]
pub async fn list(State(s): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let store = s.store.clone();
    blocking(&s, move || {
        let height = store.last_height()?.unwrap_or(0);
        let tables = store.state_prefix(sys_keys::CONTRACTS, None, CONTRACTS_LIST_MAX + 1)?;
        let mut contracts = Vec::new();
        // Each contract's latest version (running or scheduled), by id.
        let mut latest: std::collections::BTreeMap<String, Option<Hash>> = Default::default();
        // Whether the version each proposal scheduled was withdrawn (its
        // migration failed at activation), by proposal id.
        let mut withdrawn: std::collections::BTreeMap<u64, bool> = Default::default();
        for (key, value) in tables.iter().take(CONTRACTS_LIST_MAX) {
            let id = String::from_utf8_lossy(&key[sys_keys::CONTRACTS.len()..]).into_owned();
            let Ok(versions) = decode::<Vec<ContractVersion>>("versions", value, usize::MAX) else {
                continue;
            };
            let running = version_at(&versions, height).map(|v| v.version);
            latest.insert(id.clone(), versions.last().map(|v| v.code_hash));
            let mut views = Vec::new();
            for v in &versions {
                let migration = migration_of(&store, &id, v.version)?;
                if let Some(p) = v.proposal {
                    let failed = migration.as_ref().is_some_and(|m| m.failure.is_some());
                    withdrawn.insert(p, failed);
                }
                views.push(version_view(v, running, migration));
            }
            contracts.push(json!({
                "id": id,
                "running": running,
                "versions": views,
            }));
        }
        // The newest proposals, counted down from the next id: old or junk
        // proposals never hide new ones.
        let next = store
            .state_get(sys_keys::NEXT_UPGRADE_PROPOSAL)?
            .and_then(|v| v.try_into().ok())
            .map(u64::from_le_bytes)
            .unwrap_or(0);
        let rules: Vec<ChainRulesVersion> = store
            .state_get(sys_keys::CHAIN_RULES)?
            .and_then(|v| decode("chain rules", &v, usize::MAX).ok())
            .unwrap_or_default();
        let rules_latest = rules
            .last()
            .map_or(chain_rules::DEFAULT_VERSION, |v| v.version);
        let limits: Vec<LimitsVersion> = store
            .state_get(sys_keys::LIMITS)?
            .and_then(|v| decode("limits", &v, usize::MAX).ok())
            .unwrap_or_default();
        let limits_latest = limits
            .last()
            .map_or_else(ChainLimits::default, |v| v.limits);
        let mut upgrades = Vec::new();
        for id in (next.saturating_sub(PROPOSALS_LIST_MAX as u64)..next).rev() {
            let Some(p) = store
                .state_get(&sys_keys::upgrade_proposal(id))?
                .and_then(|v| decode::<UpgradeProposal>("proposal", &v, usize::MAX).ok())
            else {
                if let Some(p) = store
                    .state_get(&sys_keys::chain_rules_proposal(id))?
                    .and_then(|v| decode::<RulesProposal>("rules proposal", &v, usize::MAX).ok())
                {
                    upgrades.push(rules_proposal_view(id, &p, height, rules_latest));
                } else if let Some(p) = store
                    .state_get(&sys_keys::limits_proposal(id))?
                    .and_then(|v| decode::<LimitsProposal>("limits proposal", &v, usize::MAX).ok())
                {
                    upgrades.push(limits_proposal_view(id, &p, height, &limits_latest));
                }
                continue;
            };
            let at = p.upgrade.activation_height;
            let stale =
                latest.get(p.upgrade.contract.as_str()).copied().flatten() != p.upgrade.replaces;
            let state = match proposal_state(p.scheduled, at, height, stale) {
                "scheduled" | "activated" if withdrawn.get(&id) == Some(&true) => "withdrawn",
                state => state,
            };
            upgrades.push(json!({
                "id": id,
                "kind": "contract",
                "contract": p.upgrade.contract.as_str(),
                "code_hash": p.upgrade.code_hash.to_hex(),
                "replaces": p.upgrade.replaces.map(|h| h.to_hex()),
                "migrate": p.upgrade.migrate,
                "activation_height": at,
                "proposed_height": p.proposed_height,
                "approvals": p.approvals.iter().map(|k| k.to_hex()).collect::<Vec<_>>(),
                "state": state,
            }));
        }
        let running = chain_rules::version_at(&rules, height + 1);
        let unimplemented = chain_rules::first_unimplemented(&rules, height + 1);
        Ok(Json(json!({
            "height": height,
            "chain_rules": {
                "running": running,
                "versions": rules.iter().map(|v| json!({
                    "version": v.version,
                    "from_height": v.from_height,
                    "proposal": v.proposal,
                    "implemented_here": chain_rules::implemented(v.version).is_some(),
                })).collect::<Vec<_>>(),
                "implemented_max": chain_rules::IMPLEMENTED_MAX,
                "unimplemented_from": unimplemented.map(|v| json!({
                    "version": v.version,
                    "height": v.from_height,
                })),
            },
            // The limits of the next block, and every version: those ahead
            // are what clients and operators prepare for.
            "limits": {
                "running": chain_limits::limits_at(&limits, height + 1),
                "versions": limits.iter().map(|v| json!({
                    "limits": v.limits,
                    "from_height": v.from_height,
                    "proposal": v.proposal,
                })).collect::<Vec<_>>(),
            },
            "contracts": contracts,
            "contracts_truncated": tables.len() > CONTRACTS_LIST_MAX,
            "upgrades": upgrades,
            "upgrades_truncated": next > PROPOSALS_LIST_MAX as u64,
        })))
    })
    .await
}

/// Where a proposal stands at `height`: `stale` when what it replaces is no
/// longer the latest.
fn proposal_state(
    scheduled: bool,
    activation_height: u64,
    height: u64,
    stale: bool,
) -> &'static str {
    if scheduled {
        if activation_height <= height {
            "activated"
        } else {
            "scheduled"
        }
    } else if height + UPGRADE_NOTICE_BLOCKS_MIN > activation_height {
        "expired"
    } else if stale {
        "stale"
    } else {
        "awaiting_approvals"
    }
}

/// A chain rules proposal as the listing shows it, beside the upgrades.
fn rules_proposal_view(id: u64, p: &RulesProposal, height: u64, latest: u32) -> Value {
    let at = p.upgrade.activation_height;
    let state = proposal_state(p.scheduled, at, height, p.upgrade.replaces != latest);
    json!({
        "id": id,
        "kind": "chain_rules",
        "version": p.upgrade.version,
        "replaces_version": p.upgrade.replaces,
        "implemented_here": chain_rules::implemented(p.upgrade.version).is_some(),
        "activation_height": at,
        "proposed_height": p.proposed_height,
        "approvals": p.approvals.iter().map(|k| k.to_hex()).collect::<Vec<_>>(),
        "state": state,
    })
}

/// A limits proposal as the listing shows it, beside the upgrades.
fn limits_proposal_view(id: u64, p: &LimitsProposal, height: u64, latest: &ChainLimits) -> Value {
    let at = p.upgrade.activation_height;
    let state = proposal_state(p.scheduled, at, height, p.upgrade.replaces != *latest);
    json!({
        "id": id,
        "kind": "limits",
        "limits": p.upgrade.limits,
        "replaces_limits": p.upgrade.replaces,
        "activation_height": at,
        "proposed_height": p.proposed_height,
        "approvals": p.approvals.iter().map(|k| k.to_hex()).collect::<Vec<_>>(),
        "state": state,
    })
}

/// `GET /v1/code/{hash}`: a module uploaded to the chain, as it is stored
/// (prove it with `GET /v1/proofs/{key}`, key `sys/code/{hash}`).
#[utoipa::path(get, path = "/v1/code/{hash}", tag = "records", params(("hash" = String, Path, description = "Code hash, hex")), responses((status = 200, description = "The module (application/wasm)"), (status = 400, description = "invalid_identifier"), (status = 404, description = "not_found")))]
pub async fn code(State(s): State<ApiState>, Path(hash): Path<String>) -> Response {
    let hash = match Hash::from_hex(&hash) {
        Ok(h) => h,
        Err(e) => {
            return ApiError::bad_request("invalid_identifier", format!("code hash: {e}"))
                .into_response();
        }
    };
    let store = s.store.clone();
    let found = blocking(&s, move || Ok(store.state_get(&sys_keys::code(&hash))?)).await;
    match found {
        Ok(Some(bytes)) => ([(header::CONTENT_TYPE, "application/wasm")], bytes).into_response(),
        Ok(None) => ApiError::not_found("no module with this code hash").into_response(),
        Err(e) => e.into_response(),
    }
}

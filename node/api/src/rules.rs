//! Production rules as the chain holds them: every version of every
//! protected name's rules, and whether each applies now, is ahead (an
//! amendment approved with a future date, which producers must hear of) or
//! was replaced. A lot's own view shows the version it was made under.

use crate::ApiState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use filiera_contract_api::contract_ids;
use filiera_contract_api::keys::RULES;
use filiera_contract_api::rules::{LotRules, ProductionRules, RulesVersion};
use serde_json::{Value, json};

/// Protected names a listing reads, at most (the Marche has 35).
pub const RULES_LIST_MAX: usize = 1_000;

/// `GET /v1/rules`: every protected name's rules, each version with its
/// state at the head block's time (`applies`, `ahead`, `replaced`).
#[utoipa::path(get, path = "/v1/rules", tag = "records", responses((status = 200, description = "Production rules of each protected name, every version with its state (applies, ahead, replaced) at the head's block time")))]
pub async fn list(State(s): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let now = crate::rest::head_time(&s)?;
    let store = s.store.clone();
    crate::blocking(&s, move || {
        let (records, truncated) = crate::directory::records::<Vec<RulesVersion>>(
            &store,
            contract_ids::REGISTRY,
            RULES,
            RULES_LIST_MAX,
        )?;
        let names: Vec<Value> = records.iter().map(|v| name_view(v, now)).collect();
        Ok(Json(json!({
            "time_ms": now,
            "rules": names,
            "truncated": truncated,
        })))
    })
    .await
}

fn name_view(versions: &[RulesVersion], now: u64) -> Value {
    let current = filiera_contract_api::rules::applying(versions, now).map(|v| v.version);
    let first = versions.first().map(|v| &v.rules);
    json!({
        "scheme": first.map(|r| r.scheme.as_str()),
        "name": first.map(|r| r.name.as_str()),
        "applies": current,
        "versions": versions.iter().map(|v| {
            let state = match current {
                Some(c) if c == v.version => "applies",
                Some(c) if v.version < c => "replaced",
                _ => "ahead",
            };
            let mut view = rules_view(&v.rules);
            view["version"] = json!(v.version);
            view["approved_height"] = json!(v.approved_height);
            view["state"] = json!(state);
            view
        }).collect::<Vec<_>>(),
    })
}

/// One version's rules in JSON (the same fields as in genesis).
pub fn rules_view(r: &ProductionRules) -> Value {
    serde_json::to_value(r).unwrap_or(Value::Null)
}

/// What a lot records of its rules.
pub fn lot_view(r: &LotRules) -> Value {
    json!({
        "scheme": r.scheme,
        "name": r.name,
        "version": r.version,
        "steps": r.steps.iter().map(|s| json!({"step": s.step, "time_ms": s.time_ms})).collect::<Vec<_>>(),
    })
}

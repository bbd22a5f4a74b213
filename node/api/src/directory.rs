//! The directory an app needs to fill its forms: the chain's organisations
//! (a shipment's partner is picked from them, not typed), its products (a
//! lot is made of one of the caller's own), and the genesis catalogue of
//! protected names (which tells the app the steps a product goes through).
//!
//! All three are public records, read by bounded prefix scans off the async
//! threads: a listing says `truncated` rather than reading without end.

use crate::error::ApiError;
use crate::{ApiState, reads};
use axum::Json;
use axum::extract::State;
use filiera_contract_api::contract_ids;
use filiera_contract_api::lots::ProductRecord;
use filiera_contract_api::registry::OrgRecord;
use serde_json::{Value, json};

type Answer = Result<Json<Value>, ApiError>;

/// Where the registry keeps organisations and the lots contract products
/// (`filiera_contract_api::keys::org`, `keys::product`).
const ORGS_PREFIX: &[u8] = b"pub/org/";
const PRODUCTS_PREFIX: &[u8] = b"pub/product/";

/// Organisations a listing reads, at most (the Marche has about 2,750
/// certified operators).
pub const ORGS_LIST_MAX: usize = 10_000;

/// Products a listing reads, at most.
pub const PRODUCTS_LIST_MAX: usize = 10_000;

/// `GET /v1/orgs`: every organisation's id, name, kind, roles and status.
#[utoipa::path(get, path = "/v1/orgs", tag = "records", responses((status = 200, description = "The organisations (id, name, kind, roles, status); truncated when over the bound")))]
pub async fn orgs(State(s): State<ApiState>) -> Answer {
    let store = s.store.clone();
    crate::blocking(&s, move || {
        let (records, truncated) =
            records::<OrgRecord>(&store, contract_ids::REGISTRY, ORGS_PREFIX, ORGS_LIST_MAX)?;
        let orgs: Vec<Value> = records
            .iter()
            .map(|o| {
                json!({
                    "id": o.id,
                    "name": o.name,
                    "kind": o.kind,
                    "roles": o.roles.0,
                    "status": format!("{:?}", o.status).to_lowercase(),
                })
            })
            .collect();
        Ok(Json(json!({ "orgs": orgs, "truncated": truncated })))
    })
    .await
}

/// `GET /v1/products`: every registered product (GTIN, owner, name,
/// scheme, unit, most output per input).
#[utoipa::path(get, path = "/v1/products", tag = "records", responses((status = 200, description = "The products (gtin, owner, name, scheme, uom, max_yield_permille); truncated when over the bound")))]
pub async fn products(State(s): State<ApiState>) -> Answer {
    let store = s.store.clone();
    crate::blocking(&s, move || {
        let (records, truncated) = records::<ProductRecord>(
            &store,
            contract_ids::LOTS,
            PRODUCTS_PREFIX,
            PRODUCTS_LIST_MAX,
        )?;
        let products: Vec<Value> = records.iter().map(product_view).collect();
        Ok(Json(
            json!({ "products": products, "truncated": truncated }),
        ))
    })
    .await
}

/// The records of `contract` under `prefix`, at most `max` (those that do
/// not decode are left out), and whether there were more.
pub(crate) fn records<T: borsh::BorshDeserialize>(
    store: &filiera_storage::Store,
    contract: &str,
    prefix: &[u8],
    max: usize,
) -> Result<(Vec<T>, bool), ApiError> {
    let prefix = reads::full_key(contract, prefix);
    // One more than the bound tells a full listing from a cut one.
    let mut entries = store.state_prefix(&prefix, None, max + 1)?;
    let truncated = entries.len() > max;
    entries.truncate(max);
    let records = entries
        .iter()
        .filter_map(|(_, value)| borsh::from_slice::<T>(value).ok())
        .collect();
    Ok((records, truncated))
}

/// A product as the listing and `GET /v1/products/{gtin}` show it.
pub fn product_view(p: &ProductRecord) -> Value {
    let mut v = crate::views::product(p);
    v["max_yield_permille"] = json!(p.max_yield_permille);
    v
}

/// `GET /v1/catalogue`: the genesis catalogue (schemes, protected products
/// with their category and unit, locations).
#[utoipa::path(get, path = "/v1/catalogue", tag = "records", responses((status = 200, description = "The chain's genesis catalogue")))]
pub async fn catalogue(State(s): State<ApiState>) -> Json<Value> {
    Json(json!(&*s.catalogue))
}

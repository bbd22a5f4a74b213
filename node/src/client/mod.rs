//! The client commands: what a producer, a control body, the authority or an
//! auditor does against a running node's API, through the SDK
//! (`filiera-client`): role workflows, the demo, EPCIS import, bundle
//! verification, export and QR labels, status. Nothing here starts or runs a
//! node (that is `crate::node`).

pub(crate) mod credential;
pub(crate) mod demo;
pub(crate) mod epcis;
pub(crate) mod export;
pub(crate) mod roles;
pub(crate) mod status;
pub(crate) mod verify;

/// The wall clock, in ms since the epoch (client side only: the chain's
/// time is its blocks').
pub(crate) fn now_ms() -> anyhow::Result<u64> {
    Ok(u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )?)
}

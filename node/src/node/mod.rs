//! What starts and runs a node: its home directory, configuration (checked
//! before start), keys, joining a running network, backups and localnets.
//! Nothing here talks to a node as a client (that is `crate::client`).

pub(crate) mod backup;
pub(crate) mod config;
pub(crate) mod config_check;
pub(crate) mod home;
pub(crate) mod join;
pub(crate) mod localnet;
pub(crate) mod localnet_genesis;
pub(crate) mod start;

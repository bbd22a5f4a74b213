//! The `filiera` binary: command-line entry point of the node and its tools.
//!
//! This crate is wiring only: it parses arguments, reads and writes files in a
//! node's home directory and calls the library crates. A user mistake ends with
//! one line on stderr and a non-zero exit, never a panic.

mod backup_cmd;
mod cli;
mod config;
mod config_check;
mod demo;
mod epcis_cmd;
mod export_cmd;
mod genesis_cmd;
mod home;
mod http;
mod join_cmd;
mod keyfile;
mod localnet;
mod localnet_genesis;
mod roles_cmd;
mod start;
mod status_cmd;
mod verify_cmd;

use std::process::ExitCode;

/// The allocator of the node. With glibc's, memory freed on one thread stays
/// in the arena of the thread that allocated it: the state tree, computed on
/// worker threads and freed by the chain's thread, left a validator under 2x
/// overload at 1,252 MiB resident (434 MiB with `MALLOC_ARENA_MAX=2`).
/// mimalloc hands such memory back to its owner.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = <cli::Cli as clap::Parser>::parse();
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line ("reading x: permission denied"),
/// each said once: many errors already print their source in their own
/// message, and `{:#}` would repeat it.
fn one_line(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

//! The `filiera` binary: command-line entry point of the node and its
//! client tools.
//!
//! This crate is wiring only: it parses arguments, reads and writes files in a
//! node's home directory and calls the library crates. A user mistake ends with
//! one line on stderr and a non-zero exit, never a panic.

// What starts and runs a node (its home, config, keys, joining, backups,
// localnets) lives in `node/`; the commands that talk to a running node's API
// as a client (role workflows, demo, EPCIS import, verify, export, status) in
// `client/`. Neither imports the other; both share the key files, the
// genesis loader and one bounded HTTP GET (`tests/it/layout.rs` checks).
mod cli;
mod client;
mod genesis_cmd;
mod http;
mod keyfile;
mod node;

use std::process::ExitCode;

/// At most this many glibc malloc arenas. By default glibc gives each new
/// thread an arena of its own, up to 8 per core, and memory freed on one
/// thread stays in the arena of the thread that allocated it: the state tree,
/// built on worker threads and freed by the chain's thread, left one validator
/// at 20,250 tx/s offered (overload) at 1,252 MiB resident. With 2 arenas the
/// same run peaked at 434 MiB (mimalloc instead: 605 to 994 MiB).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MALLOC_ARENAS_MAX: libc::c_int = 2;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn limit_malloc_arenas() {
    // SAFETY: mallopt only sets an allocator parameter; it is called first
    // thing in main, before this process starts any thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, MALLOC_ARENAS_MAX);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> ExitCode {
    limit_malloc_arenas();
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

//! `filiera backup` and `filiera restore`. A backup of a running node is
//! taken by the node itself, through its admin socket (it owns the
//! database); of a stopped node, by this process. Restore needs the node
//! stopped and its database moved aside.

use crate::node::home::Home;
use anyhow::{Context, Result, bail};
use filiera_service::admin::ADMIN_SOCKET_FILE;
use filiera_service::backup::{self, Manifest};
use filiera_storage::{StorageConfig, Store};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

fn print(what: &str, dir: &Path, m: &Manifest, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({"dir": dir.display().to_string(), "manifest": m})
        );
    } else {
        println!(
            "{what} {}: height {}, state root {}",
            dir.display(),
            m.height,
            m.state_root
        );
    }
}

pub fn backup(home_dir: &Path, out: &Path, json: bool) -> Result<()> {
    let out = std::path::absolute(out).with_context(|| format!("{}", out.display()))?;
    let data = home_dir.join("data");
    let socket = data.join(ADMIN_SOCKET_FILE);
    let manifest = match std::os::unix::net::UnixStream::connect(&socket) {
        Ok(mut stream) => {
            let request = serde_json::json!({"op": "backup", "out": out.display().to_string()});
            stream
                .write_all(format!("{request}\n").as_bytes())
                .context("asking the node")?;
            let mut line = String::new();
            BufReader::new(stream)
                .read_line(&mut line)
                .context("reading the node's answer")?;
            let answer: serde_json::Value =
                serde_json::from_str(line.trim()).context("the node's answer")?;
            if answer["ok"] != true {
                bail!(
                    "the node refused the backup: {}",
                    answer["error"].as_str().unwrap_or("no reason given")
                );
            }
            serde_json::from_value(answer["manifest"].clone()).context("the node's manifest")?
        }
        Err(_) => {
            // No node answers: back up the stopped node's database directly.
            let store =
                Store::open(&data.join("db"), StorageConfig::default()).with_context(|| {
                    format!(
                        "opening {} (a running node answers on {}; is it starting?)",
                        data.join("db").display(),
                        socket.display()
                    )
                })?;
            backup::write_backup(&store, &data.join("wal"), &out)?
        }
    };
    print("backup written to", &out, &manifest, json);
    Ok(())
}

pub fn restore(home_dir: &Path, from: &Path, json: bool) -> Result<()> {
    let home = Home::new(home_dir);
    let genesis = crate::genesis_cmd::load(&home.genesis())?;
    let data = home_dir.join("data");
    if std::os::unix::net::UnixStream::connect(data.join(ADMIN_SOCKET_FILE)).is_ok() {
        bail!("the node is running: stop it before restoring");
    }
    let manifest = backup::restore(from, &data, &genesis.hash().to_string())?;
    print("restored from", from, &manifest, json);
    Ok(())
}

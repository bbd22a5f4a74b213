//! The CLI: localnet genesis creation and validation, key files, and clear
//! one-line errors for user mistakes.

use assert_cmd::Command;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn filiera() -> Command {
    Command::cargo_bin("filiera").unwrap()
}

/// Runs a command expected to fail and returns its stderr, checking it is one
/// clear line and not a panic.
fn fails(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "expected failure");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert!(!stderr.contains("stack backtrace"), "backtrace: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line expected: {stderr}"
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

fn new_localnet(dir: &Path, validators: u32) {
    filiera()
        .args([
            "genesis",
            "new",
            "--insecure-plain-keys",
            "--validators",
            &validators.to_string(),
            "--out",
        ])
        .arg(dir)
        .args(["--genesis-time", "2026-11-24T00:00:00Z"])
        .assert()
        .success();
}

/// Runs a command expected to succeed and parses its JSON output.
fn json_ok(cmd: &mut Command) -> Value {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn genesis_new_then_validate_succeeds() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    new_localnet(&dir, 4);
    let out = filiera()
        .args(["genesis", "validate"])
        .arg(dir.join("genesis.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("valid genesis") && stdout.contains("4 validators"),
        "{stdout}"
    );

    let genesis: Value =
        serde_json::from_slice(&std::fs::read(dir.join("genesis.json")).unwrap()).unwrap();
    assert_eq!(genesis["validators"].as_array().unwrap().len(), 4);
    // The whole Marche catalogue is there, and the authority is 2-of-3.
    assert_eq!(
        genesis["catalogue"]["products"].as_array().unwrap().len(),
        12
    );
    assert_eq!(genesis["authority"]["threshold"], json!(2));
    assert_eq!(genesis["authority"]["keys"].as_array().unwrap().len(), 3);

    for i in 0..4 {
        let home = dir.join(format!("node{i}"));
        assert!(home.join("config.toml").exists());
        assert_eq!(
            std::fs::read(home.join("genesis.json")).unwrap(),
            std::fs::read(dir.join("genesis.json")).unwrap()
        );
        assert_eq!(mode(&home.join("keys/consensus.json")), 0o600);
        assert_eq!(mode(&home.join("keys/p2p.json")), 0o600);
        assert_eq!(mode(&home.join("keys")), 0o700);
        // The key file matches the validator entry of the genesis.
        let shown = filiera()
            .args(["--json", "keys", "show"])
            .arg(home.join("keys/consensus.json"))
            .output()
            .unwrap();
        let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
        assert_eq!(
            shown["public_key"],
            genesis["validators"][i]["consensus_key"]
        );
    }
    assert_eq!(mode(&dir.join("authority/key-0.json")), 0o600);
    assert_eq!(mode(&dir.join("orgs/regione-marche.json")), 0o600);

    let hash = filiera()
        .args(["genesis", "hash"])
        .arg(dir.join("genesis.json"))
        .output()
        .unwrap();
    let hash = String::from_utf8(hash.stdout).unwrap();
    assert_eq!(hash.trim().len(), 64);
    assert!(stdout.contains(hash.trim()));
}

/// Writes an edited copy of a generated genesis and returns `genesis validate`'s error.
fn validate_edited(edit: impl FnOnce(&mut Value)) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    new_localnet(&dir, 4);
    let mut genesis: Value =
        serde_json::from_slice(&std::fs::read(dir.join("genesis.json")).unwrap()).unwrap();
    edit(&mut genesis);
    let path = tmp.path().join("edited.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&genesis).unwrap()).unwrap();
    fails(filiera().args(["genesis", "validate"]).arg(&path))
}

#[test]
fn genesis_validate_names_the_broken_field() {
    let err = validate_edited(|g| g["validators"][2]["consensus_key"] = json!("not-a-key"));
    assert!(err.contains("validators[2].consensus_key"), "{err}");
    let err = validate_edited(|g| {
        g["validators"][3]["consensus_key"] = g["validators"][1]["consensus_key"].clone()
    });
    assert!(
        err.contains("validators[3].consensus_key") && err.contains("duplicate"),
        "{err}"
    );
    let err = validate_edited(|g| g["authority"]["threshold"] = json!(5));
    assert!(
        err.contains("authority.threshold") && err.contains("found 5"),
        "{err}"
    );
    let err = validate_edited(|g| g["catalogue"]["products"][3]["gtin"] = json!("09521234100042"));
    assert!(
        err.contains("catalogue.products[3].gtin") && err.contains("check digit should be 1"),
        "{err}"
    );
}

#[test]
fn user_mistakes_get_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let err = fails(
        filiera()
            .args(["genesis", "validate"])
            .arg(tmp.path().join("missing.json")),
    );
    assert!(err.contains("missing.json"), "{err}");
    let garbage = tmp.path().join("garbage.json");
    std::fs::write(&garbage, "{ not json").unwrap();
    let err = fails(filiera().args(["genesis", "validate"]).arg(&garbage));
    assert!(err.contains("garbage.json"), "{err}");

    let dir = tmp.path().join("net");
    new_localnet(&dir, 1);
    // A second localnet into the same directory must not overwrite keys.
    let err = fails(
        filiera()
            .args([
                "genesis",
                "new",
                "--insecure-plain-keys",
                "--validators",
                "1",
                "--out",
            ])
            .arg(&dir),
    );
    assert!(err.contains("not empty"), "{err}");

    let key = tmp.path().join("k.json");
    filiera()
        .args(["keys", "new", "--out"])
        .arg(&key)
        .assert()
        .success();
    assert_eq!(mode(&key), 0o600);
    let err = fails(filiera().args(["keys", "new", "--out"]).arg(&key));
    assert!(err.contains("k.json"), "{err}");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = fails(filiera().args(["keys", "show"]).arg(&key));
    assert!(err.contains("chmod 600"), "{err}");
}

#[test]
fn init_creates_a_home_once() {
    let tmp = tempfile::tempdir().unwrap();
    let net = tmp.path().join("net");
    new_localnet(&net, 1);
    let home = tmp.path().join("observer");
    let out = filiera()
        .args([
            "--json",
            "init",
            "--insecure-plain-keys",
            "--moniker",
            "observer-1",
            "--home",
        ])
        .arg(&home)
        .arg("--genesis")
        .arg(net.join("genesis.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["genesis_hash"].as_str().unwrap().len(), 64);
    let config = std::fs::read_to_string(home.join("config.toml")).unwrap();
    assert!(
        config.contains("moniker = \"observer-1\"") && config.contains("# "),
        "{config}"
    );
    assert_eq!(mode(&home.join("keys/p2p.json")), 0o600);
    let err = fails(filiera().args(["init", "--home"]).arg(&home));
    assert!(err.contains("refusing to overwrite"), "{err}");

    // A value out of range, from the environment or the file, stops start-up
    // with the option's name and its range, before anything else happens.
    let err = fails(
        filiera()
            .args(["start", "--home"])
            .arg(&home)
            .env("FILIERA_API_REQUEST_TIMEOUT_MS", "5"),
    );
    assert!(
        err.contains("api.request_timeout_ms = 5: allowed 100 to 600000"),
        "{err}"
    );
    let path = home.join("config.toml");
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\nrate_limit_burst = 200", "\nrate_limit_burst = 0");
    std::fs::write(&path, edited).unwrap();
    let err = fails(filiera().args(["start", "--home"]).arg(&home));
    assert!(
        err.contains("api.rate_limit_burst = 0: allowed 1 to 1000000"),
        "{err}"
    );
}

#[test]
fn version_and_completions() {
    let out = filiera().arg("version").output().unwrap();
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .starts_with("filiera ")
    );
    let out = filiera().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout).unwrap().contains("filiera"));
}

/// Keys at rest: `keys new --encrypt` and `keys encrypt` seal with a
/// passphrase from a file descriptor (`--passphrase-fd`) or the file
/// `FILIERA_KEY_PASSPHRASE_FILE` names, never from the environment; a sealed
/// key opens only with it; `genesis new` and `init` seal unless told
/// `--insecure-plain-keys`.
#[test]
fn keys_are_sealed_with_a_passphrase_and_open_only_with_it() {
    // It starts a node: serialised with the networks, whose ports it could
    // otherwise take between their pick and their bind.
    let _serial = crate::network::one_network_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let pass = "verdicchio dei castelli di jesi";
    let on_stdin = format!("{pass}\n");
    let sealed = tmp.path().join("sealed.json");
    // No terminal, no descriptor, no file: refused, saying where a passphrase comes from.
    let err = fails(
        filiera()
            .args(["keys", "new", "--encrypt", "--out"])
            .arg(&sealed),
    );
    assert!(
        err.contains("--passphrase-fd") && err.contains("FILIERA_KEY_PASSPHRASE_FILE"),
        "{err}"
    );
    assert!(!sealed.exists());
    // The passphrase in the environment is refused, not silently used.
    let err = fails(
        filiera()
            .env("FILIERA_KEY_PASSPHRASE", pass)
            .args(["keys", "new", "--encrypt", "--out"])
            .arg(&sealed),
    );
    assert!(err.contains("no longer read"), "{err}");
    assert!(!sealed.exists());
    let err = fails(
        filiera()
            .args(["--passphrase-fd", "0", "keys", "new", "--encrypt", "--out"])
            .arg(&sealed)
            .write_stdin("too short\n"),
    );
    assert!(err.contains("at least 12 characters"), "{err}");
    let made = json_ok(
        filiera()
            .args([
                "--json",
                "--passphrase-fd",
                "0",
                "keys",
                "new",
                "--encrypt",
                "--out",
            ])
            .arg(&sealed)
            .write_stdin(on_stdin.clone()),
    );
    assert_eq!(mode(&sealed), 0o600);
    assert!(
        std::fs::read_to_string(&sealed)
            .unwrap()
            .contains("argon2id")
    );
    // Shown with the passphrase (from a descriptor, or from a file), not without it.
    let err = fails(filiera().args(["keys", "show"]).arg(&sealed));
    assert!(
        err.contains("encrypted") && err.contains("--passphrase-fd"),
        "{err}"
    );
    let err = fails(
        filiera()
            .args(["--passphrase-fd", "0", "keys", "show"])
            .arg(&sealed)
            .write_stdin("another passphrase entirely\n"),
    );
    assert!(err.contains("wrong passphrase"), "{err}");
    let pass_file = tmp.path().join("passphrase");
    std::fs::write(&pass_file, format!("{pass}\n")).unwrap();
    let shown = json_ok(
        filiera()
            .env("FILIERA_KEY_PASSPHRASE_FILE", &pass_file)
            .args(["--json", "keys", "show"])
            .arg(&sealed),
    );
    assert_eq!(shown["public_key"], made["public_key"]);
    // A key in clear sealed in place keeps its public key, and is refused a second time.
    let clear = tmp.path().join("clear.json");
    filiera()
        .args(["keys", "new", "--out"])
        .arg(&clear)
        .assert()
        .success();
    let before = json_ok(filiera().args(["--json", "keys", "show"]).arg(&clear));
    filiera()
        .env("FILIERA_KEY_PASSPHRASE_FILE", &pass_file)
        .args(["keys", "encrypt"])
        .arg(&clear)
        .assert()
        .success();
    assert_eq!(mode(&clear), 0o600);
    let text = std::fs::read_to_string(&clear).unwrap();
    assert!(
        text.contains("ciphertext") && !text.contains("secret_key"),
        "{text}"
    );
    let after = json_ok(
        filiera()
            .args(["--json", "--passphrase-fd", "0", "keys", "show"])
            .arg(&clear)
            .write_stdin(on_stdin.clone()),
    );
    assert_eq!(after["public_key"], before["public_key"]);
    let err = fails(
        filiera()
            .env("FILIERA_KEY_PASSPHRASE_FILE", &pass_file)
            .args(["keys", "encrypt"])
            .arg(&clear),
    );
    assert!(err.contains("encrypted already"), "{err}");

    // `init` seals the node's keys by default, and refuses without a passphrase.
    let observer = tmp.path().join("observer");
    let err = fails(filiera().args(["init", "--home"]).arg(&observer));
    assert!(err.contains("--insecure-plain-keys"), "{err}");
    filiera()
        .env("FILIERA_KEY_PASSPHRASE_FILE", &pass_file)
        .args(["init", "--home"])
        .arg(&observer)
        .assert()
        .success();
    for key in ["consensus.json", "p2p.json"] {
        let text = std::fs::read_to_string(observer.join("keys").join(key)).unwrap();
        assert!(
            text.contains("ciphertext") && !text.contains("secret_key"),
            "{key}: {text}"
        );
    }

    // A validator whose keys are sealed starts only with the passphrase.
    let base = (0..200u16)
        .map(|i| 20_000 + ((std::process::id() as u16 % 500) * 20 + i * 7) % 12_000)
        .find(|b| (0..2).all(|i| std::net::TcpListener::bind(("127.0.0.1", b + i)).is_ok()))
        .unwrap();
    let net = tmp.path().join("net");
    filiera()
        .args([
            "genesis",
            "new",
            "--insecure-plain-keys",
            "--validators",
            "1",
            "--out",
        ])
        .arg(&net)
        .args(["--p2p-base-port", &base.to_string()])
        .args(["--api-base-port", &(base + 1).to_string()])
        .assert()
        .success();
    let home = net.join("node0");
    for key in ["consensus.json", "p2p.json"] {
        filiera()
            .env("FILIERA_KEY_PASSPHRASE_FILE", &pass_file)
            .args(["keys", "encrypt"])
            .arg(home.join("keys").join(key))
            .assert()
            .success();
    }
    let refused = filiera()
        .args(["start", "--home"])
        .arg(&home)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("encrypted"),
        "{stderr}"
    );
    // The passphrase through a pipe, as `localnet` hands it to its validators.
    let mut node = std::process::Command::new(assert_cmd::cargo::cargo_bin("filiera"))
        .args(["--passphrase-fd", "0", "start", "--home"])
        .arg(&home)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kept open while the node starts: it reads the first line, not to the end.
    let mut held_open = node.stdin.take().unwrap();
    std::io::Write::write_all(&mut held_open, on_stdin.as_bytes()).unwrap();
    let status = format!("http://127.0.0.1:{}/v1/status", base + 1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let height = loop {
        let h = crate::network::height_at(&status);
        if h >= 1 || std::time::Instant::now() > deadline {
            break h;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let _ = node.kill();
    let _ = node.wait();
    drop(held_open);
    assert!(
        height >= 1,
        "the validator with sealed keys committed no block"
    );
}

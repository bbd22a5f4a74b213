//! HTTPS served by the node itself: a client that verifies a certificate
//! made for the test reaches the API; one that trusts another does not;
//! plain HTTP gets no answer; a new certificate takes over on SIGHUP
//! without a restart.

use crate::network::{filiera, free_base};
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A certificate for the test, and its key, as PEM.
fn certificate() -> (CertificateDer<'static>, String, String) {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    (
        made.cert.der().clone(),
        made.cert.pem(),
        made.key_pair.serialize_pem(),
    )
}

/// `GET path` over TLS to `port`, trusting only `root`: the status line, or
/// the error that stopped it (a certificate refused, a closed connection).
fn https_get(port: u16, root: &CertificateDer<'static>, path: &str) -> Result<String, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone()).map_err(|e| e.to_string())?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = ServerName::try_from("localhost").unwrap();
    let mut connection =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let mut socket =
        std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut tls = rustls::Stream::new(&mut connection, &mut socket);
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    match tls.read_to_end(&mut answer) {
        Ok(_) => {}
        // Servers may close without close_notify after Connection: close.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !answer.is_empty() => {}
        Err(e) => return Err(e.to_string()),
    }
    let text = String::from_utf8_lossy(&answer);
    Ok(text.lines().next().unwrap_or("").to_owned())
}

fn write_pair(home: &Path, cert: &str, key: &str) {
    let dir = home.join("tls");
    std::fs::create_dir_all(&dir).unwrap();
    // Written aside and renamed, as an ACME client does: never half a file.
    for (name, text) in [("cert.pem", cert), ("key.pem", key)] {
        std::fs::write(dir.join(format!("{name}.new")), text).unwrap();
        std::fs::rename(dir.join(format!("{name}.new")), dir.join(name)).unwrap();
    }
}

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether Chromium and Python's Playwright are here; when
/// `FILIERA_REQUIRE_TOOLS` is set (CI), they must be.
fn browser_present() -> bool {
    let chromium = ["chromium", "chromium-browser"].iter().any(|b| {
        std::process::Command::new(b)
            .arg("--version")
            .output()
            .is_ok()
    });
    let playwright = std::process::Command::new("python3")
        .args(["-c", "import playwright"])
        .output()
        .is_ok_and(|o| o.status.success());
    if chromium && playwright {
        return true;
    }
    assert!(
        std::env::var_os("FILIERA_REQUIRE_TOOLS").is_none(),
        "chromium and Python's playwright are required (FILIERA_REQUIRE_TOOLS is set; scripts/setup.sh installs them)"
    );
    eprintln!("chromium or playwright missing: the app over HTTPS is not opened in a browser");
    false
}

#[test]
fn the_node_serves_https_and_takes_a_new_certificate_on_sighup() {
    // Serialised with the other networks: a port picked free here could
    // otherwise be one another network picked but has not bound yet.
    let _serial = crate::network::one_network_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let net = tmp.path().join("net");
    let base = free_base(2);
    let api_port = base + 1;
    let out = filiera()
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
        .args(["--api-base-port", &api_port.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let home = net.join("node0");
    let (first, first_pem, first_key) = certificate();
    write_pair(&home, &first_pem, &first_key);
    let log = std::fs::File::create(home.join("node.log")).unwrap();
    let node = Node(
        filiera()
            .args(["start", "--home"])
            .arg(&home)
            .env("FILIERA_API_TLS_CERT_FILE", "tls/cert.pem")
            .env("FILIERA_API_TLS_KEY_FILE", "tls/key.pem")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let wait_for = |root: &CertificateDer<'static>, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match https_get(api_port, root, "/health") {
                Ok(line) if line.starts_with("HTTP/1.1 200") => return,
                other => assert!(
                    Instant::now() < deadline,
                    "{what}: {other:?}; log: {}",
                    std::fs::read_to_string(home.join("node.log")).unwrap_or_default()
                ),
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    };
    wait_for(&first, "HTTPS with the first certificate");
    let status = https_get(api_port, &first, "/v1/status").unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    // The producers' app over this HTTPS, in a real browser under a name
    // that is not the loopback's: a secure context, where WebCrypto makes
    // the device's key.
    if browser_present() {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/app-https.py");
        let out = std::process::Command::new("python3")
            .arg(script)
            .arg(format!("https://localhost:{api_port}/app/"))
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && said.contains("\"secure_context\": true"),
            "the app over HTTPS: {said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // A client that trusts another certificate refuses this server.
    let (second, second_pem, second_key) = certificate();
    let refused = https_get(api_port, &second, "/health");
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("certificate")),
        "a client trusting another certificate got {refused:?}"
    );
    // Plain HTTP on the HTTPS port gets no HTTP answer.
    let plain = ureq::get(&format!("http://127.0.0.1:{api_port}/health"))
        .config()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .call();
    assert!(plain.is_err(), "plain HTTP was answered: {plain:?}");

    // The second certificate replaces the first on SIGHUP, no restart.
    write_pair(&home, &second_pem, &second_key);
    let pid = nix::unistd::Pid::from_raw(i32::try_from(node.0.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
    wait_for(&second, "HTTPS with the second certificate after SIGHUP");
    let old = https_get(api_port, &first, "/health");
    assert!(
        old.as_ref().is_err_and(|e| e.contains("certificate")),
        "the first certificate is still served: {old:?}"
    );
    // A broken renewal (a key that does not match) keeps the second in use.
    write_pair(&home, &first_pem, &second_key);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let kept = https_get(api_port, &second, "/health").unwrap();
    assert!(kept.starts_with("HTTP/1.1 200"), "{kept}");
    let log = std::fs::read_to_string(home.join("node.log")).unwrap();
    assert!(log.contains("TLS certificate not reloaded"), "{log}");
    drop(node);
}

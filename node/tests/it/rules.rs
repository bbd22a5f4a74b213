//! A disciplinare amendment on a real localnet, through the CLI: genesis's
//! Ciauscolo rules (version 1) amended by 2 of 3 authority keys with a
//! date a few seconds ahead; a lot made before keeps version 1, a lot made
//! after gets version 2; a step out of order is refused by the contract and
//! the CLI names the rule; an amendment dated before its approval is
//! refused and changes nothing.

use crate::network::{Net, filiera, get, one_network_at_a_time, run_ok};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const CIAUSCOLO: &str = "09521234100065";

fn ciauscolo(net: &Net) -> Value {
    let listing = get(&net.url(0, "/v1/rules")).expect("/v1/rules");
    listing["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Ciauscolo")
        .cloned()
        .unwrap_or_else(|| panic!("Ciauscolo in {listing}"))
}

fn head_time_ms(net: &Net) -> u64 {
    get(&net.url(0, "/v1/rules")).unwrap()["time_ms"]
        .as_u64()
        .unwrap()
}

fn rules_file(net: &Net, name: &str, min_days: u32) -> std::path::PathBuf {
    let path = net.dir.join(name);
    let rules = json!({
        "scheme": "IGP",
        "name": "Ciauscolo",
        "applies_from_ms": 0,
        "area": [],
        "inputs": [],
        "steps": ["commission", "drying", "ageing_start", "ageing_end"],
        "durations": [{"from": "ageing_start", "to": "ageing_end", "min_days": min_days, "max_days": null}],
        "max_yield_permille": null,
        "units": ["kg"],
        "notes": ["Amended on the localnet: a longer ageing."],
    });
    std::fs::write(&path, rules.to_string()).unwrap();
    path
}

fn rfc3339(ms: u64) -> String {
    filiera_types::genesis::format_time_ms(ms).unwrap()
}

fn number(out: &str) -> u64 {
    out.rsplit("number ")
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no proposal number in {out}"))
}

#[test]
fn a_ciauscolo_amendment_reaches_only_lots_made_from_its_date() {
    let _serial = one_network_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let net = Net::new(&tmp.path().join("localnet"));
    net.wait_height(&[0, 1, 2, 3], 2);
    let api = net.url(0, "");
    let authority = |n: usize| net.dir.join(format!("authority/key-{n}.json"));
    let producer = net.dir.join("orgs/salumificio-visso-demo.json");
    let cli = |args: &[&str], key: &std::path::Path| {
        filiera()
            .args(args)
            .arg("--key")
            .arg(key)
            .args(["--api", &api])
            .output()
            .unwrap()
    };
    let lot_version = |lot: &str| {
        let v = get(&net.url(0, &format!("/v1/lots/{CIAUSCOLO}/{lot}"))).unwrap();
        v["rules"]["version"]
            .as_u64()
            .unwrap_or_else(|| panic!("{v}"))
    };

    // Genesis: version 1, 15 days of ageing, in force.
    let v1 = ciauscolo(&net);
    assert_eq!(v1["applies"], 1, "{v1}");
    assert_eq!(v1["versions"][0]["durations"][0]["min_days"], 15, "{v1}");

    // Version 2, 30 days, from 20 s ahead of the head: one key proposes.
    let from_ms = head_time_ms(&net) + 20_000;
    let file = rules_file(&net, "ciauscolo-v2.json", 30);
    let out = run_ok(
        filiera()
            .args(["authority", "rules", "--file"])
            .arg(&file)
            .args(["--applies-from", &rfc3339(from_ms), "--key"])
            .arg(authority(0))
            .args(["--api", &api]),
    );
    let id = number(&out);
    assert_eq!(
        ciauscolo(&net)["versions"].as_array().unwrap().len(),
        1,
        "one approval of two sets nothing"
    );
    let approved = cli(&["authority", "approve", &id.to_string()], &authority(1));
    assert!(approved.status.success(), "{approved:?}");
    let ahead = ciauscolo(&net);
    assert_eq!(ahead["versions"][1]["state"], "ahead", "{ahead}");
    let status = run_ok(filiera().args(["status", "--api", &api]));
    assert!(
        status.contains("RULES amended: IGP \"Ciauscolo\" version 2 applies from"),
        "{status}"
    );
    assert_eq!(ahead["versions"][1]["applies_from_ms"], from_ms, "{ahead}");

    // A lot made now is under version 1, and keeps it.
    let made = cli(
        &[
            "lot",
            "commission",
            &format!("{CIAUSCOLO}/CI-PRE"),
            "--quantity",
            "40",
        ],
        &producer,
    );
    assert!(made.status.success(), "{made:?}");
    assert_eq!(lot_version("CI-PRE"), 1);

    // From the date, lots are made under version 2.
    let deadline = Instant::now() + Duration::from_secs(60);
    while ciauscolo(&net)["applies"] != 2 {
        assert!(Instant::now() < deadline, "version 2 never applied");
        std::thread::sleep(Duration::from_millis(500));
    }
    let made = cli(
        &[
            "lot",
            "commission",
            &format!("{CIAUSCOLO}/CI-POST"),
            "--quantity",
            "40",
        ],
        &producer,
    );
    assert!(made.status.success(), "{made:?}");
    assert_eq!((lot_version("CI-PRE"), lot_version("CI-POST")), (1, 2));

    // Ageing before drying: the contract refuses, the CLI names the rule.
    let before = get(&net.url(0, &format!("/v1/lots/{CIAUSCOLO}/CI-POST"))).unwrap();
    let refused = cli(
        &[
            "lot",
            "record",
            "store",
            &format!("{CIAUSCOLO}/CI-POST"),
            "--note",
            "#ageing_start cella 1",
        ],
        &producer,
    );
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("rule step_order: ageing_start comes after drying"),
        "{err}"
    );
    assert!(
        err.contains("production rule \"step_order\" failed"),
        "{err}"
    );
    let after = get(&net.url(0, &format!("/v1/lots/{CIAUSCOLO}/CI-POST"))).unwrap();
    assert_eq!(before["events"], after["events"]);
    assert_eq!(before["rules"], after["rules"]);
    // In order, it is recorded.
    for note in ["#drying", "#ageing_start cella 1"] {
        let ok = cli(
            &[
                "lot",
                "record",
                "store",
                &format!("{CIAUSCOLO}/CI-POST"),
                "--note",
                note,
            ],
            &producer,
        );
        assert!(ok.status.success(), "{ok:?}");
    }

    // An amendment dated before its approval: proposed, refused at the
    // approval that would set it; nothing changes.
    let backdated = run_ok(
        filiera()
            .args(["authority", "rules", "--file"])
            .arg(rules_file(&net, "ciauscolo-v3.json", 45))
            .args([
                "--applies-from",
                &rfc3339(head_time_ms(&net) + 1_000),
                "--key",
            ])
            .arg(authority(0))
            .args(["--api", &api]),
    );
    std::thread::sleep(Duration::from_secs(2));
    let late = cli(
        &["authority", "approve", &number(&backdated).to_string()],
        &authority(2),
    );
    assert!(!late.status.success());
    assert!(
        String::from_utf8_lossy(&late.stderr).contains("backdated"),
        "{late:?}"
    );
    assert_eq!(ciauscolo(&net)["versions"].as_array().unwrap().len(), 2);

    // The authority delegates Ciauscolo's rules to the consortium, which
    // amends them itself with its own key; a producer cannot.
    let consortium = net.dir.join("orgs/consorzio-tutela-demo.json");
    let out = run_ok(
        filiera()
            .args(["authority", "delegate-rules", "--scheme", "IGP"])
            .args(["--name", "Ciauscolo", "--org", "consorzio-tutela-demo"])
            .arg("--key")
            .arg(authority(0))
            .args(["--api", &api]),
    );
    let approved = cli(
        &["authority", "approve", &number(&out).to_string()],
        &authority(1),
    );
    assert!(approved.status.success(), "{approved:?}");
    let file = rules_file(&net, "ciauscolo-v3.json", 45);
    let from = rfc3339(head_time_ms(&net) + 600_000);
    let args = [
        "authority",
        "rules",
        "--as-delegate",
        "--applies-from",
        &from,
        "--file",
        file.to_str().unwrap(),
    ];
    let refused = cli(&args, &producer);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not delegated"),
        "{refused:?}"
    );
    let set = cli(&args, &consortium);
    assert!(set.status.success(), "{set:?}");
    let v3 = ciauscolo(&net);
    assert_eq!(v3["versions"].as_array().unwrap().len(), 3, "{v3}");
    assert_eq!(v3["versions"][2]["durations"][0]["min_days"], 45, "{v3}");
    assert_eq!(v3["versions"][2]["state"], "ahead", "{v3}");
}

use filiera_client::{ClientError, epcis, keys};
use filiera_types::ChainId;

const DOC: &str = r#"{
  "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
  "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-03-01T10:00:00Z",
  "epcisBody": {"eventList": [
    {"type": "ObjectEvent", "action": "ADD", "bizStep": "commissioning",
     "eventTime": "2026-03-01T06:00:00.000+01:00", "eventTimeZoneOffset": "+01:00",
     "quantityList": [{"epcClass": "urn:epc:class:lgtin:9521234.000027.LO-OFF-1", "quantity": 40}]},
    {"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping",
     "eventTime": "2026-03-01T08:00:00.000+01:00", "eventTimeZoneOffset": "+01:00",
     "quantityList": [{"epcClass": "urn:epc:class:lgtin:9521234.000027.LO-OFF-1", "quantity": 40}],
     "destinationList": [{"type": "location", "destination": "urn:epc:id:sgln:9521234.00001.0"}]}
  ]}
}"#;

#[test]
fn events_are_signed_offline_in_nonce_order_and_are_the_same_each_time() {
    let key = keys::generate().unwrap();
    let chain = ChainId::new("filiera-marche-localnet").unwrap();
    let dairy =
        |gln: &str| (gln == "9521234000013").then(|| "caseificio-montefeltro-demo".to_owned());
    let signed = epcis::sign_document(DOC.as_bytes(), &key, &chain, 7, 500, &dairy).unwrap();
    assert_eq!(signed.len(), 2);
    for (i, (_, tx)) in signed.iter().enumerate() {
        assert_eq!(tx.tx.nonce, 7 + i as u64);
        assert_eq!(tx.tx.call.method.as_str(), "capture");
        tx.verify().expect("signed by the key");
    }
    // The same document gives the same events (idempotent by event hash).
    let again = epcis::sign_document(DOC.as_bytes(), &key, &chain, 9, 500, &dairy).unwrap();
    assert_eq!(signed[0].0, again[0].0);
    assert_eq!(signed[1].0, again[1].0);
}

#[test]
fn a_shipment_to_an_unknown_site_or_a_bad_event_refuses_the_document() {
    let key = keys::generate().unwrap();
    let chain = ChainId::new("filiera-marche-localnet").unwrap();
    let nobody = |_: &str| None;
    match epcis::sign_document(DOC.as_bytes(), &key, &chain, 0, 500, &nobody) {
        Err(ClientError::Epcis(m)) => assert!(
            m.contains("event 1") && m.contains("not a registered site"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    let bad = DOC.replace("\"shipping\"", "\"milking\"");
    match epcis::sign_document(bad.as_bytes(), &key, &chain, 0, 500, &nobody) {
        Err(ClientError::Epcis(m)) => {
            assert!(m.contains("event 1") && m.contains("milking"), "{m}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn key_files_refuse_loose_permissions_and_mismatched_keys() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.json");
    let key = keys::generate().unwrap();
    keys::write(&path, &key).unwrap();
    assert!(keys::write(&path, &key).is_err(), "never overwrites");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = keys::read(&path).unwrap_err().to_string();
    assert!(err.contains("chmod 600"), "{err}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let other = keys::generate().unwrap().public_key().to_hex();
    let forged = text.replace(&key.public_key().to_hex(), &other);
    let forged_path = dir.path().join("forged.json");
    std::fs::write(&forged_path, forged).unwrap();
    std::fs::set_permissions(&forged_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(
        keys::read(&forged_path)
            .unwrap_err()
            .to_string()
            .contains("does not match")
    );
}

/// The capture path the node's EPCIS endpoint drives: events anchored
/// already are skipped, the others signed at consecutive nonces; after a
/// refusal nothing more is signed (it would wait behind the missing nonce),
/// and the job says each event's fate.
#[test]
fn a_capture_run_signs_in_order_and_stops_signing_at_the_first_refusal() {
    use filiera_client::epcis::{CaptureJobs, CaptureRun, EventFate};
    let key = keys::generate().unwrap();
    let chain = ChainId::new("filiera-marche-localnet").unwrap();
    let dairy =
        |gln: &str| (gln == "9521234000013").then(|| "caseificio-montefeltro-demo".to_owned());
    let doc = filiera_epcis::parse_document(DOC.as_bytes()).unwrap();
    let calls: Vec<_> = doc
        .events
        .iter()
        .map(|(hash, event)| {
            (
                *hash,
                filiera_epcis::capture_call(hash, event, &dairy).unwrap(),
            )
        })
        .collect();
    assert_eq!(calls.len(), 2);
    let (first, second) = (calls[0].clone(), calls[1].clone());
    // Anchored, then three to send: the second of them is refused.
    let planned = vec![
        (first.0, None),
        (first.0, Some(first.1.clone())),
        (second.0, Some(second.1.clone())),
        (second.0, Some(second.1)),
    ];
    let mut run = CaptureRun::new(&key, &chain, 41, 900, planned);
    let one = run.next_tx().unwrap().unwrap();
    assert_eq!((one.tx.nonce, one.tx.expiry_height), (41, 900));
    one.verify().unwrap();
    run.answer(Ok(one.hash()));
    let two = run.next_tx().unwrap().unwrap();
    assert_eq!(two.tx.nonce, 42);
    run.answer(Err("busy: full".into()));
    assert!(run.next_tx().unwrap().is_none());
    let (job, next) = run.finish("job-1".into());
    assert_eq!(next, 42, "the refused nonce is used next time");
    let fates: Vec<_> = job.events.iter().map(|(_, f)| f.clone()).collect();
    assert_eq!(
        fates,
        [
            EventFate::AlreadyRecorded,
            EventFate::Submitted(one.hash()),
            EventFate::Rejected("busy: full".into()),
            EventFate::NotSubmitted("an earlier event was rejected (busy: full)".into()),
        ]
    );
    let mut jobs = CaptureJobs::default();
    jobs.keep(job.clone());
    assert_eq!(jobs.get("job-1"), Some(&job));
    assert_eq!(jobs.get("job-2"), None);
}

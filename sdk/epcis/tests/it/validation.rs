use filiera_epcis::{DocumentError, parse_document};
use serde_json::{Value, json};

fn doc(events: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument", "schemaVersion": "2.0",
        "creationDate": "2026-03-02T10:00:00Z",
        "epcisBody": {"eventList": events}
    }))
    .unwrap()
}

fn good() -> Value {
    json!({
        "type": "ObjectEvent", "action": "ADD", "bizStep": "commissioning",
        "eventTime": "2026-03-02T09:30:00.000+01:00", "eventTimeZoneOffset": "+01:00",
        "quantityList": [{"epcClass": "urn:epc:class:lgtin:9520123.011111.L1", "quantity": 5}]
    })
}

fn errors_of(events: Vec<Value>) -> Vec<(usize, Vec<String>)> {
    match parse_document(&doc(events)) {
        Err(DocumentError::Events(bad)) => bad.into_iter().map(|e| (e.index, e.reasons)).collect(),
        other => panic!("expected event errors, got {other:?}"),
    }
}

#[test]
fn a_valid_document_gets_event_ids() {
    let d = parse_document(&doc(vec![good(), good()])).unwrap();
    assert_eq!(d.events.len(), 2);
    let (hash, event) = &d.events[0];
    assert_eq!(event["eventID"], Value::String(hash.to_ni()));
}

#[test]
fn each_bad_event_is_reported_by_position_with_every_reason() {
    let mut no_time = good();
    no_time.as_object_mut().unwrap().remove("eventTime");
    let mut bad_step = good();
    bad_step["bizStep"] = "milking".into();
    bad_step["action"] = "CREATE".into();
    let mut bad_epc = good();
    bad_epc["epcList"] = json!(["urn:epc:id:sgtin:9520123.011111"]);
    let mut bad_type = good();
    bad_type["type"] = "HarvestEvent".into();
    let mut wrong_id = good();
    wrong_id["eventID"] = format!("ni:///sha-256;{}?ver=CBV2.0", "00".repeat(32)).into();
    let errors = errors_of(vec![good(), no_time, bad_step, bad_epc, bad_type, wrong_id]);
    let indexes: Vec<usize> = errors.iter().map(|(i, _)| *i).collect();
    assert_eq!(indexes, vec![1, 2, 3, 4, 5], "the good event is not listed");
    assert!(
        errors[0]
            .1
            .iter()
            .any(|r| r.contains("eventTime is required"))
    );
    assert_eq!(
        errors[1].1.len(),
        2,
        "both problems of event 2: {:?}",
        errors[1].1
    );
    assert!(
        errors[1]
            .1
            .iter()
            .any(|r| r.contains("\"milking\" is not in the CBV"))
    );
    assert!(
        errors[1]
            .1
            .iter()
            .any(|r| r.contains("ADD, OBSERVE or DELETE"))
    );
    assert!(errors[2].1.iter().any(|r| r.contains("epcList[0]")));
    assert!(errors[3].1[0].contains("not an EPCIS 2.0 event type"));
    assert!(errors[4].1[0].contains("is not the CBV 2.0 hash"));
}

#[test]
fn type_rules_unknown_fields_and_unsupported_parts_are_refused() {
    let transformation_with_action = json!({
        "type": "TransformationEvent", "action": "ADD",
        "eventTime": "2026-03-02T09:30:00Z", "eventTimeZoneOffset": "+00:00",
        "inputQuantityList": [{"epcClass": "urn:epc:class:lgtin:9520123.011111.L1", "quantity": 5}],
        "outputQuantityList": [{"epcClass": "urn:epc:class:lgtin:9520123.011111.L2", "quantity": 5}]
    });
    let mut unknown_field = good();
    unknown_field["colour"] = "red".into();
    let mut sensor = good();
    sensor["sensorElementList"] = json!([]);
    let mut empty = good();
    empty["quantityList"] = json!([]);
    let mut grai = good();
    grai["parentID"] = "urn:epc:id:grai:9520123.00001.1".into();
    let errors = errors_of(vec![
        transformation_with_action,
        unknown_field,
        sensor,
        empty,
        grai,
    ]);
    assert_eq!(errors.len(), 5);
    assert!(errors[0].1.iter().any(|r| r.contains("no action")));
    assert!(errors[1].1.iter().any(|r| r.contains("namespace prefix")));
    assert!(
        errors[2]
            .1
            .iter()
            .any(|r| r.contains("sensor data is not supported"))
    );
    assert!(
        errors[3]
            .1
            .iter()
            .any(|r| r.contains("non-empty epcList or quantityList"))
    );
    assert!(errors[3].1.iter().all(|r| !r.contains("parentID")));
    assert!(
        errors[4].1.iter().any(|r| r.contains("parentID")),
        "{:?}",
        errors[4].1
    );
}

#[test]
fn documents_of_the_wrong_shape_or_size_are_refused_whole() {
    assert!(matches!(parse_document(b"{"), Err(DocumentError::Json(_))));
    let mut v: Value = serde_json::from_slice(&doc(vec![good()])).unwrap();
    v["schemaVersion"] = "1.2".into();
    assert!(matches!(
        parse_document(&serde_json::to_vec(&v).unwrap()),
        Err(DocumentError::Shape(_))
    ));
    let many = vec![good(); filiera_epcis::DOCUMENT_EVENTS_MAX + 1];
    assert!(matches!(
        parse_document(&doc(many)),
        Err(DocumentError::Shape(_))
    ));
    let mut huge = good();
    huge["ex:note"] = "x".repeat(filiera_epcis::EVENT_BYTES_MAX).into();
    let errors = errors_of(vec![huge]);
    assert!(errors[0].1[0].contains("bytes, at most"));
}

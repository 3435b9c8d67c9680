//! `decode-scan` and `decode-weight`: what the agent understands from raw device input, as JSON,
//! for integrators setting up scanners and scales.

use serde_json::{json, Value};
use stockpost_common::gs1::{AiElement, Gs1Data, ScanContent, ScanData};
use stockpost_common::scale::{DecoderOptions, Framer, ScaleDecoder, ScaleProtocol, WeightReading};
use stockpost_common::scan_payload::{classify_payload, ContainerRef, LocationRef, StationPayload};

fn element(e: &AiElement) -> Value {
    json!({"ai": e.ai, "value": e.value})
}

fn gs1(data: &Gs1Data) -> Value {
    Value::Array(data.elements.iter().map(element).collect())
}

fn scan(data: &ScanData) -> Value {
    let mut out = json!({
        "symbology": data.symbology.name(),
        "aim_id": data.aim_id.map(|a| a.to_string()),
    });
    let content = match &data.content {
        ScanContent::Gtin {
            gtin,
            add_on,
            composite,
        } => json!({
            "kind": "gtin",
            "gtin": gtin.gtin14,
            "add_on": add_on,
            "composite": composite.as_ref().map(gs1),
        }),
        ScanContent::Gs1(d) => json!({"kind": "gs1", "ais": gs1(d)}),
        ScanContent::DigitalLink(dl) => json!({
            "kind": "digital_link",
            "stem": dl.stem,
            "key": element(&dl.key),
            "qualifiers": dl.qualifiers.iter().map(element).collect::<Vec<_>>(),
            "attributes": dl.attributes.iter().map(element).collect::<Vec<_>>(),
        }),
        ScanContent::Text(t) => json!({"kind": "text", "text": t}),
    };
    if let (Some(map), Value::Object(c)) = (out.as_object_mut(), content) {
        map.extend(c);
    }
    out
}

/// Decodes one scanner payload; `Err` carries a message an operator can act on.
pub fn decode_scan(data: &[u8]) -> Result<Value, String> {
    let payload = classify_payload(data).map_err(|e| e.to_string())?;
    Ok(match payload {
        StationPayload::Operator(op) => json!({"payload": "operator", "operator": op}),
        StationPayload::Location(LocationRef::Code(code)) => {
            json!({"payload": "location", "location": code})
        }
        StationPayload::Location(other) => {
            json!({"payload": "location", "location": format!("{other:?}")})
        }
        StationPayload::Container(ContainerRef::Code(code)) => {
            json!({"payload": "container", "container": code})
        }
        StationPayload::Container(ContainerRef::Sscc(sscc)) => {
            json!({"payload": "container", "sscc": sscc})
        }
        StationPayload::Order(order) => json!({"payload": "order", "order": order}),
        StationPayload::Quantity(q) => json!({"payload": "quantity", "qty": q.to_string()}),
        StationPayload::Command(c) => json!({"payload": "command", "command": c.word()}),
        StationPayload::Product(data) => {
            let mut v = scan(&data);
            if let Some(map) = v.as_object_mut() {
                map.insert("payload".into(), json!("product"));
            }
            v
        }
    })
}

fn reading(r: &WeightReading) -> Value {
    json!({
        "value": r.value.map(|v| v.to_string()),
        "unit": r.unit.symbol(),
        "value_kg": r.value_kg().ok().map(|v| v.to_string()),
        "stable": r.stable,
        "net": r.net,
        "condition": format!("{:?}", r.condition),
        "tare": r.tare.map(|v| v.to_string()),
    })
}

/// Decodes raw scale bytes with `protocol`; one JSON value per frame (errors included).
pub fn decode_weight(protocol: &str, bytes: &[u8]) -> Result<Vec<Value>, String> {
    let protocol: ScaleProtocol = serde_json::from_value(json!(protocol)).map_err(|_| {
        format!(
            "unknown protocol {protocol:?}: use mt-sics, toledo, nci, cas-ecr, cas-22 or generic"
        )
    })?;
    let mut decoder = ScaleDecoder::new(protocol, DecoderOptions::default());
    decoder.push(bytes);
    let mut out = Vec::new();
    while let Some(message) = decoder.next_message() {
        out.push(match message {
            Ok(m) => match m.reading() {
                Some(r) => reading(&r),
                None => json!({"message": format!("{m:?}")}),
            },
            Err(e) => json!({"error": e.to_string()}),
        });
    }
    Ok(out)
}

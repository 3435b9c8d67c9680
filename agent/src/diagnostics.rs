//! `decode-scan` and `decode-weight`: what the agent understands from raw device input, as JSON,
//! for integrators setting up scanners and scales.

use serde_json::{json, Value};
use stockpost_common::gs1::{AiElement, Gs1Data, ScanContent, ScanData};
use stockpost_common::scale::{
    DecoderOptions, Framer, ScaleCondition, ScaleDecoder, ScaleProtocol, WeightReading,
};
use stockpost_common::scan_payload::{classify_payload, ContainerRef, LocationRef, StationPayload};

fn element(e: &AiElement) -> Value {
    json!([e.ai, e.value])
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

/// An input the agent cannot use: a snake_case code and a message an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// snake_case code.
    pub code: &'static str,
    /// The reason.
    pub message: String,
}

impl DecodeError {
    /// `{"error": {"code", "message"}}`, the contract's error shape.
    pub fn to_json(&self) -> Value {
        json!({"error": {"code": self.code, "message": self.message}})
    }
}

/// Decodes one scanner payload: `kind` is the station payload kind (`operator`, `location`,
/// `container`, `order`, `quantity`, `command`) or, for product barcodes, `gtin`, `gs1`,
/// `digital_link` or `text`; GS1 data lists its AIs in order as `[ai, value]` pairs.
pub fn decode_scan(data: &[u8]) -> Result<Value, DecodeError> {
    let payload = classify_payload(data).map_err(|e| DecodeError {
        code: "invalid_scan",
        message: e.to_string(),
    })?;
    Ok(match payload {
        StationPayload::Operator(op) => json!({"kind": "operator", "value": op}),
        StationPayload::Location(LocationRef::Code(code)) => {
            json!({"kind": "location", "value": code})
        }
        StationPayload::Location(other) => {
            json!({"kind": "location", "value": format!("{other:?}")})
        }
        StationPayload::Container(ContainerRef::Code(code)) => {
            json!({"kind": "container", "value": code})
        }
        StationPayload::Container(ContainerRef::Sscc(sscc)) => {
            json!({"kind": "container", "value": sscc, "sscc": sscc})
        }
        StationPayload::Order(order) => json!({"kind": "order", "value": order}),
        StationPayload::Quantity(q) => json!({"kind": "quantity", "value": q.to_string()}),
        StationPayload::Command(c) => json!({"kind": "command", "value": c.word()}),
        StationPayload::Product(data) => scan(&data),
    })
}

fn condition(c: &ScaleCondition) -> Value {
    match c {
        ScaleCondition::Ok => json!("ok"),
        ScaleCondition::Overload => json!("overload"),
        ScaleCondition::Underload => json!("underload"),
        ScaleCondition::OutOfRange => json!("out_of_range"),
        ScaleCondition::ZeroError => json!("zero_error"),
        ScaleCondition::NotZeroedSincePowerUp => json!("not_zeroed"),
        other => json!(format!("error: {other:?}")),
    }
}

fn reading(r: &WeightReading) -> Value {
    json!({
        "value": r.value.map(|v| v.to_string()),
        "unit": r.unit.symbol(),
        "value_kg": r.value_kg().ok().map(|v| v.to_string()),
        "stable": r.stable,
        "net": r.net,
        "condition": condition(&r.condition),
        "tare": r.tare.map(|v| v.to_string()),
    })
}

/// Decodes raw scale bytes with `protocol` (`mt-sics`, `toledo`, `nci`, `cas` (= `cas-ecr`),
/// `cas-22`, `generic`); one JSON value per frame (frame errors included).
pub fn decode_weight(protocol: &str, bytes: &[u8]) -> Result<Vec<Value>, DecodeError> {
    let name = if protocol == "cas" {
        "cas-ecr"
    } else {
        protocol
    };
    let protocol: ScaleProtocol = serde_json::from_value(json!(name)).map_err(|_| DecodeError {
        code: "unknown_protocol",
        message: format!(
            "unknown protocol {protocol:?}: use mt-sics, toledo, nci, cas, cas-22 or generic"
        ),
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
            Err(e) => json!({"error": {"code": "bad_frame", "message": e.to_string()}}),
        });
    }
    Ok(out)
}

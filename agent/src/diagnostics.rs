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

/// `out` with the symbology, AIM id and every AI of the GS1 barcode `raw` (an SSCC pallet label
/// carries its contents, (02), (37), (10)…, beside the (00) that names the pallet).
fn with_gs1(raw: &[u8], mut out: Value) -> Value {
    let Ok(parsed) = stockpost_common::gs1::parse_scan(raw.trim_ascii()) else {
        return out;
    };
    let details = scan(&parsed);
    if let (Some(map), Value::Object(d)) = (out.as_object_mut(), details) {
        for (k, v) in d {
            if k != "kind" {
                map.entry(k).or_insert(v);
            }
        }
        if !map.contains_key("ais") {
            map.insert("ais".into(), gs1(&parsed.gs1_data()));
        }
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
        StationPayload::Location(LocationRef::Gln { gln, extension }) => with_gs1(
            data,
            json!({"kind": "location", "value": gln, "gln": gln, "extension": extension}),
        ),
        StationPayload::Container(ContainerRef::Code(code)) => {
            json!({"kind": "container", "value": code})
        }
        StationPayload::Container(ContainerRef::Sscc(sscc)) => with_gs1(
            data,
            json!({"kind": "container", "value": sscc, "sscc": sscc}),
        ),
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_gln_location_barcode_gives_its_gln_extension_and_ais_not_debug_text() {
        let v = decode_scan(b"]C14149520123456788254AISLE-3").unwrap();
        assert_eq!(v["kind"], "location", "{v}");
        assert_eq!(v["gln"], "9520123456788", "{v}");
        assert_eq!(v["extension"], "AISLE-3", "{v}");
        assert_eq!(
            v["ais"],
            json!([["414", "9520123456788"], ["254", "AISLE-3"]]),
            "{v}"
        );
        assert_eq!(v["symbology"], "GS1-128", "{v}");
        assert!(!v.to_string().contains("Gln {"), "{v}");
    }

    #[test]
    fn an_sscc_pallet_label_keeps_its_contents_gtin_count_and_lot() {
        let v = decode_scan(b"]C10010614141123456789702095060001343523724\x1d10LOT-7").unwrap();
        assert_eq!(v["kind"], "container", "{v}");
        assert_eq!(v["sscc"], "106141411234567897", "{v}");
        let ais: Vec<String> = v["ais"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[0].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ais, ["00", "02", "37", "10"], "{v}");
        assert_eq!(v["ais"][3][1], "LOT-7", "{v}");
    }
}

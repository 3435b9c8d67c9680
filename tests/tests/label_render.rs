//! Render the two label templates to PNG (labelize, MIT AND BSD-3-Clause) and decode the
//! pictures (rxing, Apache-2.0): every bar code must decode as GS1-128 (AIM `]C1`) carrying
//! exactly the element strings the template was asked to encode (devices.md §3.6). This checks
//! the ZPL we generate against an independent renderer and decoder, not against itself.
//!
//! labelize and rxing take long to build, so this test is behind a feature:
//! `cargo test -p stockpost-tests --features label-render --test label_render`
#![cfg(feature = "label-render")]
#![allow(clippy::unwrap_used)]

use std::str::FromStr;

use rust_decimal::Decimal;
use rxing::{
    DecodeHintValue, DecodeHints, RXingResult, RXingResultMetadataType, RXingResultMetadataValue,
};
use stockpost_common::gs1::{parse_scan, ScanContent};
use stockpost_common::label::sscc::Sscc;
use stockpost_common::label::templates::{
    carton_label, logistic_label, CartonLabel, Gs1Date, LogisticLabel,
};

/// Renders `zpl` at 203 dpi on a 4 in wide label and decodes every symbol.
fn render_and_decode(zpl: &str, length_in: u32) -> Vec<RXingResult> {
    let png = labelize::render_png(
        zpl.as_bytes(),
        labelize::RenderOptions {
            width_mm: Some(101.6),
            height_mm: Some(25.4 * f64::from(length_in)),
            dpmm: 8,
            ..labelize::RenderOptions::default()
        },
    )
    .unwrap();
    let mut hints = DecodeHints::default().with(DecodeHintValue::TryHarder(true));
    rxing::helpers::detect_multiple_in_buffer_with_hints(&png.bytes, &mut hints).unwrap()
}

/// `(AIM identifier, AI, value)` for every element of every decoded symbol.
fn elements(results: &[RXingResult]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for r in results {
        let aim = match r
            .getRXingResultMetadata()
            .get(&RXingResultMetadataType::SYMBOLOGY_IDENTIFIER)
        {
            Some(RXingResultMetadataValue::SymbologyIdentifier(s)) => s.clone(),
            other => panic!("no symbology identifier: {other:?}"),
        };
        let scan = format!("{aim}{}", r.getText());
        let data = parse_scan(scan.as_bytes()).unwrap();
        let ScanContent::Gs1(gs1) = data.content else {
            panic!("not GS1 data: {scan:?}");
        };
        for e in gs1.elements {
            out.push((aim.clone(), e.ai, e.value));
        }
    }
    out.sort();
    out
}

fn owned(v: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = v
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    v.sort();
    v
}

#[test]
fn the_carton_label_carries_its_sscc_as_gs1_128() {
    let sscc = Sscc::new(3, "7610425", 2_123_456).unwrap();
    let zpl = carton_label(&CartonLabel {
        from: vec!["ACME FOODS LTD".into(), "1 MILL ROAD".into()],
        to: vec!["DC NORTH".into(), "GATE 4".into()],
        order_ref: "SO-1001".into(),
        carton_number: 3,
        carton_count: 12,
        weight_kg: Decimal::from_str("12.5").unwrap(),
        sscc,
    })
    .unwrap();
    let results = render_and_decode(&zpl, 6);
    assert_eq!(
        elements(&results),
        owned(&[("]C1", "00", "376104250021234569")])
    );
}

#[test]
fn the_logistic_label_decodes_to_exactly_its_element_strings() {
    let zpl = logistic_label(&LogisticLabel {
        free_form: vec!["FROM: ACME FOODS LTD".into(), "TO: DC NORTH".into()],
        sscc: Sscc::parse("376104250021234569").unwrap(),
        content_gtin: Some("09520123456788".into()),
        count: Some(25),
        batch_lot: Some("ABC123".into()),
        best_before: Some(Gs1Date {
            year: 2026,
            month: 6,
            day: 30,
        }),
        net_weight_kg: Some(Decimal::from_str("12.5").unwrap()),
        copies: 2,
    })
    .unwrap();
    let results = render_and_decode(&zpl, 8);
    assert_eq!(
        elements(&results),
        owned(&[
            ("]C1", "00", "376104250021234569"),
            ("]C1", "02", "09520123456788"),
            ("]C1", "10", "ABC123"),
            ("]C1", "15", "260630"),
            ("]C1", "3101", "000125"),
            ("]C1", "37", "25"),
        ])
    );
}

//! Property tests for barcode understanding: no panics on any input, and generated valid
//! element strings round-trip through the parser.

use proptest::prelude::*;
use stockpost_common::check_digit::gs1_check_digit;
use stockpost_common::gs1::element_string::make_element;
use stockpost_common::gs1::{
    parse_bracketed, parse_digital_link, parse_scan, Gs1Data, ScanContent,
};
use stockpost_common::scan_payload::classify_payload;

fn with_check_digit(body: &str) -> String {
    let cd = gs1_check_digit(body).unwrap_or(0);
    format!("{body}{cd}")
}

fn aim_prefix() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        prop::sample::select(vec![
            "]C1", "]C0", "]E0", "]E3", "]E4", "]I1", "]e0", "]d1", "]d2", "]Q1", "]Q3", "]J1",
            "]A0", "]L0", "]", "]X", "]ZZ",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
    ]
}

fn scan_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    let alphabet = prop::sample::select(
        b"0123456789012345678901234567890123456789ABCxyz~^|()%/?=&:\x1d\x1d\x1d\r\n\xff ]e0"
            .to_vec(),
    );
    (aim_prefix(), prop::collection::vec(alphabet, 0..60)).prop_map(|(mut a, b)| {
        a.extend(b);
        a
    })
}

fn cset82() -> impl Strategy<Value = String> {
    "[!\"%&'()*+,\\-./0-9:;<=>?A-Z_a-z]{1,20}"
}

fn date() -> impl Strategy<Value = String> {
    (0u8..100, 1u8..13, 0u8..29).prop_map(|(y, m, d)| format!("{y:02}{m:02}{d:02}"))
}

fn element() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        "[0-9]{17}".prop_map(|b| ("00".to_string(), with_check_digit(&b))),
        "[0-9]{13}".prop_map(|b| ("01".to_string(), with_check_digit(&b))),
        cset82().prop_map(|v| ("10".to_string(), v)),
        date().prop_map(|v| ("11".to_string(), v)),
        date().prop_map(|v| ("17".to_string(), v)),
        cset82().prop_map(|v| ("21".to_string(), v)),
        "[0-9]{6}".prop_map(|v| ("3103".to_string(), v)),
        "[0-9]{1,8}".prop_map(|v| ("30".to_string(), v)),
        "[!\"%&'()*+,\\-./0-9:;<=>?A-Z_a-z]{1,90}".prop_map(|v| ("99".to_string(), v)),
    ]
}

fn gs1_data() -> impl Strategy<Value = Gs1Data> {
    prop::collection::vec(element(), 1..8).prop_map(|pairs| {
        let mut seen = Vec::new();
        let mut elements = Vec::new();
        for (ai, value) in pairs {
            if seen.contains(&ai) {
                continue;
            }
            if let Ok(e) = make_element(&ai, &value) {
                seen.push(ai);
                elements.push(e);
            }
        }
        Gs1Data { elements }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_scan_never_panics_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_scan(&data);
        let _ = classify_payload(&data);
    }

    #[test]
    fn parse_scan_never_panics_on_scanner_like_data(data in scan_like_bytes()) {
        let _ = parse_scan(&data);
        let _ = classify_payload(&data);
    }

    #[test]
    fn digital_link_parsing_never_panics(path in "[0-9a-zA-Z/%+?&=#._~-]{0,80}") {
        let _ = parse_digital_link(&format!("https://id.gs1.org/{path}"));
        let _ = parse_scan(format!("]Q1https://a/01/{path}").as_bytes());
    }

    #[test]
    fn a_generated_valid_element_string_round_trips(data in gs1_data()) {
        prop_assume!(!data.elements.is_empty());
        let mut scan = b"]C1".to_vec();
        scan.extend(data.to_element_string().into_bytes());
        let parsed = parse_scan(&scan);
        prop_assert!(parsed.is_ok(), "{:?} -> {:?}", data.to_bracketed(), parsed);
        if let Ok(parsed) = parsed {
            prop_assert!(matches!(parsed.content, ScanContent::Gs1(_)));
            prop_assert_eq!(parsed.gs1_data(), data.clone());
        }
        let again = parse_bracketed(&data.to_bracketed());
        prop_assert_eq!(again, Ok(data));
    }
}

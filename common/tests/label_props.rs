//! Property tests for the label module: printer status parsers never panic, and no field data
//! can inject ZPL commands.

use proptest::prelude::*;
use stockpost_common::label::host_status::{parse_host_status, parse_hqes, reply_is_complete};
use stockpost_common::label::sscc::Sscc;
use stockpost_common::label::templates::{carton_label, CartonLabel};
use stockpost_common::label::zpl::{escape_field_data, Escaping};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_host_status_parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = reply_is_complete(&bytes);
        let _ = parse_host_status(&bytes);
        let _ = parse_hqes(&bytes);
    }

    #[test]
    fn host_status_shaped_noise_never_panics(
        fields in prop::collection::vec("[0-9,X]{0,40}", 0..4),
    ) {
        let mut bytes = Vec::new();
        for f in &fields {
            bytes.push(0x02);
            bytes.extend_from_slice(f.as_bytes());
            bytes.extend_from_slice(b"\x03\r\n");
        }
        let _ = parse_host_status(&bytes);
    }

    #[test]
    fn hex_escaped_field_data_never_contains_a_command_prefix(data in any::<String>()) {
        let (escaped, _) = escape_field_data("f", &data, Escaping::Hex).unwrap_or_default();
        prop_assert!(!escaped.contains('^'));
        prop_assert!(!escaped.contains('~'));
        prop_assert!(!escaped.bytes().any(|b| b < 0x20 || b == 0x7F));
    }

    #[test]
    fn no_address_text_can_inject_into_the_carton_label(
        to in "\\PC{0,26}",
        from in "[\\^~_A-Za-z\r\n\t ]{1,36}",
    ) {
        let label = CartonLabel {
            from: vec![from],
            to: vec![to],
            order_ref: "SO-1".into(),
            carton_number: 1,
            carton_count: 1,
            weight_kg: rust_decimal::Decimal::new(1, 0),
            sscc: Sscc::parse("376104250021234569").map_err(|e| TestCaseError::fail(e.to_string()))?,
        };
        if let Ok(zpl) = carton_label(&label) {
            prop_assert_eq!(zpl.matches("^XA").count(), 1);
            prop_assert_eq!(zpl.matches("^XZ").count(), 1);
            prop_assert!(!zpl.contains('~'));
            // Every ^FD is closed by the ^FS that the builder wrote, on the same line.
            for line in zpl.lines().filter(|l| l.contains("^FD")) {
                prop_assert!(line.ends_with("^FS"));
                prop_assert_eq!(line.matches('^').count(), line.matches("^F").count() + line.matches("^A0").count() + line.matches("^BC").count() + line.matches("^GB").count());
            }
        }
    }
}

//! The one entry point: understand the bytes of one scan.

use super::digital_link::{self, DigitalLink};
use super::ean::{self, Gtin};
use super::element_string::{self, AiElement, Gs1Data, GS};
use super::error::ScanError;
use super::symbology::{self, AimId, DataMode, Symbology};

/// What one scan said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanData {
    /// The symbology, from the AIM identifier ([`Symbology::Unidentified`] without one).
    pub symbology: Symbology,
    /// The AIM identifier as sent, if any.
    pub aim_id: Option<AimId>,
    /// The understood content.
    pub content: ScanContent,
}

/// The understood content of a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanContent {
    /// An EAN/UPC/ITF-14 primary (or bare GTIN digits sent without AIM identifier).
    Gtin {
        /// The GTIN.
        gtin: Gtin,
        /// A 2- or 5-digit add-on (`]E3`).
        add_on: Option<String>,
        /// A GS1 composite component sent with the primary (`…|]e0…`, engine notation).
        composite: Option<Gs1Data>,
    },
    /// GS1 AI element string (GS1-128, DataBar, GS1 DataMatrix/QR, DotCode).
    Gs1(Gs1Data),
    /// A GS1 Digital Link URI (usually in a plain QR Code or Data Matrix).
    DigitalLink(DigitalLink),
    /// Anything else, as text (UTF-8, or Latin-1 when not valid UTF-8).
    Text(String),
}

impl ScanData {
    /// The GTIN as 14 digits, from whichever form the scan carried it in.
    pub fn gtin(&self) -> Option<&str> {
        match &self.content {
            ScanContent::Gtin { gtin, .. } => Some(&gtin.gtin14),
            ScanContent::Gs1(d) => d.gtin(),
            ScanContent::DigitalLink(dl) => std::iter::once(&dl.key)
                .chain(&dl.attributes)
                .find(|e| e.ai == "01")
                .map(|e| e.value.as_str()),
            ScanContent::Text(_) => None,
        }
    }

    /// All AIs of the scan in order (a bare GTIN becomes AI 01; text has none).
    pub fn gs1_data(&self) -> Gs1Data {
        match &self.content {
            ScanContent::Gtin {
                gtin, composite, ..
            } => {
                let mut elements = Vec::new();
                if let Ok(e) = element_string::make_element("01", &gtin.gtin14) {
                    elements.push(e);
                }
                if let Some(c) = composite {
                    elements.extend(c.elements.iter().cloned());
                }
                Gs1Data { elements }
            }
            ScanContent::Gs1(d) => d.clone(),
            ScanContent::DigitalLink(dl) => dl.to_gs1_data(),
            ScanContent::Text(_) => Gs1Data::default(),
        }
    }

    /// The value of `ai` in this scan, if present.
    pub fn ai(&self, ai: &str) -> Option<AiElement> {
        self.gs1_data().elements.into_iter().find(|e| e.ai == ai)
    }
}

fn text_of(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(s) => s.to_string(),
        Err(_) => data.iter().map(|&b| char::from(b)).collect(),
    }
}

fn ascii_of<'a>(what: &'static str, data: &'a [u8]) -> Result<&'a str, ScanError> {
    match std::str::from_utf8(data) {
        Ok(s) if s.is_ascii() => Ok(s),
        _ => Err(ScanError::NotDigits(what)),
    }
}

fn is_gtin_length(n: usize) -> bool {
    matches!(n, 8 | 12 | 13 | 14)
}

/// Understands one scan: `data` is what the scanner sent for one symbol (optionally starting
/// with an AIM symbology identifier such as `]C1`; a trailing CR/LF is ignored).
///
/// Per-scan GS1 rules are applied (syntax, check digits, dates, repeated AIs, `ex=`); the
/// `req=` associations are not, because an item's AIs may be spread over several symbols: see
/// [`super::association::check_associations`]. Never panics.
pub fn parse_scan(data: &[u8]) -> Result<ScanData, ScanError> {
    let mut data = data;
    while let [rest @ .., b'\r' | b'\n'] = data {
        data = rest;
    }
    if data.is_empty() {
        return Err(ScanError::Empty);
    }
    let (aim_id, payload) = symbology::split_aim_id(data)?;
    let Some(aim) = aim_id else {
        return parse_unidentified(payload);
    };
    let symbology = aim.symbology().unwrap_or(Symbology::Unidentified);
    let content = match symbology.data_mode() {
        DataMode::Gs1 => {
            let gs1 = element_string::parse_element_string(payload)?;
            if gs1.elements.is_empty() {
                return Err(ScanError::EmptyGs1Data(symbology.name()));
            }
            ScanContent::Gs1(gs1)
        }
        DataMode::Gtin => parse_ean_primary(symbology, payload)?,
        DataMode::Plain => {
            if symbology == Symbology::Itf
                && matches!(aim.modifier, b'1' | b'3')
                && payload.len() == 14
            {
                ScanContent::Gtin {
                    gtin: ean::parse_itf14(ascii_of("ITF-14", payload)?)?,
                    add_on: None,
                    composite: None,
                }
            } else {
                plain_content(payload)?
            }
        }
    };
    Ok(ScanData {
        symbology,
        aim_id: Some(aim),
        content,
    })
}

fn parse_ean_primary(symbology: Symbology, payload: &[u8]) -> Result<ScanContent, ScanError> {
    let (primary_len, what) = match symbology {
        Symbology::Ean8 => (8, "EAN-8"),
        _ => (13, "EAN-13"),
    };
    let (primary, tail) = payload.split_at(primary_len.min(payload.len()));
    let primary = ascii_of(what, primary)?;
    if primary.len() < primary_len {
        return Err(ScanError::WrongLength {
            what,
            expected: if primary_len == 8 { "8" } else { "13" },
            got: payload.len(),
        });
    }
    let tail_ok = tail.is_empty()
        || tail.starts_with(b"|]e0")
        || (symbology == Symbology::Ean13WithAddOn && matches!(tail.len(), 2 | 5));
    if !tail_ok {
        return Err(ScanError::WrongLength {
            what,
            expected: if symbology == Symbology::Ean13WithAddOn {
                "13 plus a 2- or 5-digit add-on"
            } else if primary_len == 8 {
                "8"
            } else {
                "13"
            },
            got: payload.len(),
        });
    }
    let gtin = if primary_len == 8 {
        ean::parse_ean8(primary)?
    } else {
        ean::parse_ean13(primary)?
    };
    let mut add_on = None;
    let mut composite = None;
    if let Some(cc) = tail.strip_prefix(b"|]e0") {
        let gs1 = element_string::parse_element_string(cc)?;
        if gs1.elements.is_empty() {
            return Err(ScanError::EmptyGs1Data("GS1 composite"));
        }
        composite = Some(gs1);
    } else if symbology == Symbology::Ean13WithAddOn && matches!(tail.len(), 2 | 5) {
        let digits = ascii_of("EAN add-on", tail)?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ScanError::NotDigits("EAN add-on"));
        }
        add_on = Some(digits.to_string());
    } else if !tail.is_empty() {
        return Err(ScanError::WrongLength {
            what,
            expected: if symbology == Symbology::Ean13WithAddOn {
                "13 plus a 2- or 5-digit add-on"
            } else if primary_len == 8 {
                "8"
            } else {
                "13"
            },
            got: payload.len(),
        });
    } else if symbology == Symbology::Ean13WithAddOn {
        return Err(ScanError::WrongLength {
            what,
            expected: "13 plus a 2- or 5-digit add-on",
            got: payload.len(),
        });
    }
    Ok(ScanContent::Gtin {
        gtin,
        add_on,
        composite,
    })
}

fn plain_content(payload: &[u8]) -> Result<ScanContent, ScanError> {
    let text = text_of(payload);
    if let Some(dl) = digital_link::try_parse_digital_link(&text)? {
        return Ok(ScanContent::DigitalLink(dl));
    }
    Ok(ScanContent::Text(text))
}

/// Data without an AIM identifier: a bare GTIN, a Digital Link, GS1 data recognisable by its
/// `<GS>` separators or bracketed notation, or plain text.
fn parse_unidentified(payload: &[u8]) -> Result<ScanData, ScanError> {
    let done = |content| {
        Ok(ScanData {
            symbology: Symbology::Unidentified,
            aim_id: None,
            content,
        })
    };
    if is_gtin_length(payload.len()) && payload.iter().all(u8::is_ascii_digit) {
        if let Ok(gtin) = ean::Gtin::parse(&text_of(payload)) {
            return done(ScanContent::Gtin {
                gtin,
                add_on: None,
                composite: None,
            });
        }
    }
    if payload.contains(&GS) {
        if let Ok(gs1) = element_string::parse_element_string(payload) {
            if !gs1.elements.is_empty() {
                return done(ScanContent::Gs1(gs1));
            }
        }
    }
    if payload.first() == Some(&b'(') {
        if let Ok(gs1) = element_string::parse_bracketed(&text_of(payload)) {
            return done(ScanContent::Gs1(gs1));
        }
    }
    done(plain_content(payload)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(s: &str) -> Result<ScanData, ScanError> {
        parse_scan(s.replace("<GS>", "\u{1d}").as_bytes())
    }

    fn bracketed(s: &str) -> Option<String> {
        scan(s).ok().map(|d| d.gs1_data().to_bracketed())
    }

    // devices.md §2.6 scan-data vectors 1–10 (gs1-syntax-engine scandata.c, © GS1 AISBL,
    // Apache-2.0).
    #[test]
    fn gs1_128_datamatrix_and_qr_scans_yield_their_ais() -> Result<(), ScanError> {
        let expected = "(01)12312312312333(10)ABC123(99)TESTING";
        for (input, sym) in [
            (
                "]C1011231231231233310ABC123<GS>99TESTING",
                Symbology::Gs1_128,
            ),
            (
                "]d2011231231231233310ABC123<GS>99TESTING",
                Symbology::Gs1DataMatrix,
            ),
            (
                "]Q3011231231231233310ABC123<GS>99TESTING",
                Symbology::Gs1QrCode,
            ),
        ] {
            let d = scan(input)?;
            assert_eq!(d.symbology, sym);
            assert_eq!(d.gs1_data().to_bracketed(), expected, "{input}");
            assert_eq!(d.gtin(), Some("12312312312333"));
        }
        Ok(())
    }

    #[test]
    fn a_databar_scan_runs_a_fixed_length_date_into_the_next_ai() {
        assert_eq!(
            bracketed("]e0011231231231233310ABC123<GS>1199122598TESTING<GS>97XYZ").as_deref(),
            Some("(01)12312312312333(10)ABC123(11)991225(98)TESTING(97)XYZ")
        );
    }

    #[test]
    fn an_ean_13_scan_is_a_gtin() -> Result<(), ScanError> {
        let d = scan("]E02112345678900")?;
        assert_eq!(d.symbology, Symbology::Ean13);
        assert_eq!(d.gtin(), Some("02112345678900"));
        Ok(())
    }

    #[test]
    fn an_ean_13_with_a_wrong_check_digit_is_rejected() {
        assert_eq!(
            scan("]E02112345678901").map_err(|e| e.to_string()),
            Err("GTIN check digit should be 0".to_string())
        );
    }

    #[test]
    fn ean_13_scans_of_the_wrong_length_are_rejected() {
        assert!(matches!(
            scan("]E0123456789012"),
            Err(ScanError::WrongLength { .. })
        ));
        assert!(matches!(
            scan("]E012345678901234"),
            Err(ScanError::WrongLength { .. })
        ));
    }

    #[test]
    fn an_ean_8_scan_is_checked() {
        assert_eq!(
            scan("]E402345673")
                .ok()
                .and_then(|d| d.gtin().map(str::to_string)),
            Some("00000002345673".to_string())
        );
        assert!(matches!(
            scan("]E402345674"),
            Err(ScanError::CheckDigit { expected: 3, .. })
        ));
    }

    #[test]
    fn gs1_symbologies_without_data_are_rejected() {
        for id in ["]C1", "]d2", "]Q3", "]e0", "]C1<GS>"] {
            assert!(matches!(scan(id), Err(ScanError::EmptyGs1Data(_))), "{id}");
        }
    }

    #[test]
    fn broken_symbology_identifiers_are_rejected() {
        assert!(matches!(
            scan("]"),
            Err(ScanError::IncompleteSymbologyId(_))
        ));
        assert!(matches!(
            scan("]X"),
            Err(ScanError::IncompleteSymbologyId(_))
        ));
        assert!(matches!(
            scan("]XX"),
            Err(ScanError::UnsupportedSymbology(_))
        ));
    }

    // The engine rejects data without an AIM id ("ABC"); many fielded scanners send none, so
    // this system accepts it as plain data instead.
    #[test]
    fn text_without_an_aim_id_is_plain_data() -> Result<(), ScanError> {
        assert_eq!(scan("ABC")?.content, ScanContent::Text("ABC".to_string()));
        assert_eq!(scan("ABC")?.symbology, Symbology::Unidentified);
        Ok(())
    }

    #[test]
    fn bare_digits_with_a_valid_check_digit_are_a_gtin() -> Result<(), ScanError> {
        for (digits, gtin14) in [
            ("02345673", "00000002345673"),
            ("416000336108", "00416000336108"),
            ("4006381333931", "04006381333931"),
            ("09520123456788", "09520123456788"),
        ] {
            assert_eq!(scan(digits)?.gtin(), Some(gtin14), "{digits}");
        }
        assert!(matches!(
            scan("4006381333932")?.content,
            ScanContent::Text(_)
        ));
        assert!(matches!(scan("12345")?.content, ScanContent::Text(_)));
        Ok(())
    }

    #[test]
    fn gs1_data_without_an_aim_id_is_recognised_by_its_separators() {
        assert_eq!(
            bracketed("0109520123456788172512001012AB<GS>21S1").as_deref(),
            Some("(01)09520123456788(17)251200(10)12AB(21)S1")
        );
        assert_eq!(
            bracketed("(01)09520123456788(10)ABC").as_deref(),
            Some("(01)09520123456788(10)ABC")
        );
    }

    #[test]
    fn a_digital_link_in_a_plain_qr_code_is_understood() -> Result<(), ScanError> {
        let d = scan("]Q1https://id.gs1.org/01/09520123456788/10/ABC123/21/12345?17=180426")?;
        assert!(matches!(d.content, ScanContent::DigitalLink(_)));
        assert_eq!(d.gtin(), Some("09520123456788"));
        assert_eq!(
            d.gs1_data().to_bracketed(),
            "(01)09520123456788(10)ABC123(21)12345(17)180426"
        );
        let d = scan("https://brand.example.com/01/09520123456788")?;
        assert!(matches!(d.content, ScanContent::DigitalLink(_)));
        Ok(())
    }

    #[test]
    fn an_invalid_digital_link_is_an_error_but_a_plain_url_is_text() -> Result<(), ScanError> {
        assert!(scan("]Q1https://id.gs1.org/01/09520123456789").is_err());
        // Like the engine, a mixed-case scheme is not taken as a Digital Link at all.
        assert!(matches!(
            scan("]Q1HtTpS://id.gs1.org/01/09520123456788")?.content,
            ScanContent::Text(_)
        ));
        assert!(scan("]Q1https://id.gs1.org/01/09520123456788/").is_err());
        assert!(matches!(
            scan("]Q1https://example.com/manual.pdf")?.content,
            ScanContent::Text(_)
        ));
        Ok(())
    }

    // gs1-syntax-engine scandata.c test_scandata_processScanData (© GS1 AISBL, Apache-2.0).
    #[test]
    fn scan_data_vectors_from_the_engine_unit_tests() {
        let ok = [
            ("]Q1", "", Symbology::QrCode),
            ("]Q1TESTING", "", Symbology::QrCode),
            ("]Q1^TESTING", "", Symbology::QrCode),
            (
                "]Q1https://example.com/01/12312312312333?99=TEST",
                "(01)12312312312333(99)TEST",
                Symbology::QrCode,
            ),
            (
                "]Q1HTTPS://example.com/01/12312312312333?99=TEST",
                "(01)12312312312333(99)TEST",
                Symbology::QrCode,
            ),
            (
                "]Q1HtTps://example.com/01/12312312312333?99=TEST",
                "",
                Symbology::QrCode,
            ),
            ("]d1TESTING", "", Symbology::DataMatrix),
            (
                "]d1https://example.com/01/12312312312333?99=TEST",
                "(01)12312312312333(99)TEST",
                Symbology::DataMatrix,
            ),
            (
                "]d2011231231231233310ABC123<GS>99TESTING",
                "(01)12312312312333(10)ABC123(99)TESTING",
                Symbology::Gs1DataMatrix,
            ),
            (
                "]e0011231231231233310ABC123<GS>99TESTING<GS>98XYZ",
                "(01)12312312312333(10)ABC123(99)TESTING(98)XYZ",
                Symbology::Gs1DataBar,
            ),
            ("]E02112345678900", "(01)02112345678900", Symbology::Ean13),
            (
                "]E02112345678900|]e099COMPOSITE<GS>98XYZ",
                "(01)02112345678900(99)COMPOSITE(98)XYZ",
                Symbology::Ean13,
            ),
            ("]E402345673", "(01)00000002345673", Symbology::Ean8),
            (
                "]E402345673|]e099COMPOSITE<GS>98XYZ",
                "(01)00000002345673(99)COMPOSITE(98)XYZ",
                Symbology::Ean8,
            ),
        ];
        for (input, ais, sym) in ok {
            let d = scan(input);
            assert!(d.is_ok(), "{input}: {d:?}");
            if let Ok(d) = d {
                assert_eq!(d.symbology, sym, "{input}");
                assert_eq!(d.gs1_data().to_bracketed(), ais, "{input}");
            }
        }
        for bad in [
            "",
            "]",
            "]X",
            "]XX",
            "]e0",
            "]Q3",
            "]d2",
            "]C1",
            "]E0",
            "]E0123456789012",
            "]E012345678901234",
            "]E01234ABC890123",
            "]E02112345678901",
            "]E4",
            "]E41234567",
            "]E4123456789",
            "]E412ABC678",
            "]E402345674",
        ] {
            assert!(scan(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn an_itf_14_with_check_digit_is_a_gtin() -> Result<(), ScanError> {
        assert_eq!(scan("]I110012345678902")?.gtin(), Some("10012345678902"));
        assert!(matches!(
            scan("]I110012345678903"),
            Err(ScanError::CheckDigit { expected: 2, .. })
        ));
        Ok(())
    }

    #[test]
    fn an_ean_13_with_add_on_keeps_the_add_on() -> Result<(), ScanError> {
        let d = scan("]E3211234567890012")?;
        assert!(matches!(&d.content, ScanContent::Gtin { add_on: Some(a), .. } if a == "12"));
        Ok(())
    }

    #[test]
    fn an_ean_13_with_a_composite_component_carries_its_ais() -> Result<(), ScanError> {
        let d = scan("]E02112345678900|]e099COMPOSITE<GS>98XYZ")?;
        assert_eq!(
            d.gs1_data().to_bracketed(),
            "(01)02112345678900(99)COMPOSITE(98)XYZ"
        );
        Ok(())
    }

    #[test]
    fn trailing_line_endings_and_latin1_text_are_tolerated() -> Result<(), ScanError> {
        assert_eq!(scan("]E02112345678900\r\n")?.gtin(), Some("02112345678900"));
        let d = parse_scan(b"]C0Gr\xf6\xdfe")?;
        assert_eq!(d.content, ScanContent::Text("Gr\u{f6}\u{df}e".to_string()));
        assert!(matches!(parse_scan(b""), Err(ScanError::Empty)));
        assert!(matches!(parse_scan(b"\r\n"), Err(ScanError::Empty)));
        Ok(())
    }

    #[test]
    fn gs1_errors_are_operator_readable() {
        assert_eq!(
            scan("]C101095201234567871721022910ABC").map_err(|e| e.to_string()),
            Err("AI (01) GTIN 09520123456787: check digit should be 8".to_string())
        );
        assert_eq!(
            scan("]C1010952012345678817210229").map_err(|e| e.to_string()),
            Err("AI (17) expiry date 210229: day 29 does not exist in February 2021".to_string())
        );
        assert_eq!(
            scan("]C1891234").map_err(|e| e.to_string()),
            Err("unknown AI (89)".to_string())
        );
    }
}

//! Station payloads (system design §4): what a scan at a station means.
//!
//! | payload | meaning |
//! |---|---|
//! | `U:<operator>` | operator badge |
//! | `L:<location>` | location label (also GS1 (414) + optional (254)) |
//! | `T:<container>` | tote / carton / pallet licence plate (also GS1 (00) SSCC) |
//! | `O:<order>` | order document |
//! | `Q:<n>` | quantity (positive decimal) |
//! | `C:<command>` | CONFIRM SHORT CANCEL NEXT LOGOUT / RESTOCK REFURBISH QUARANTINE VENDOR SCRAP |
//!
//! Anything else is a product scan, understood by [`crate::gs1::parse_scan`]. Ids are plain
//! validated strings here; the application maps them to domain types.

use std::str::FromStr;

use rust_decimal::Decimal;

use crate::gs1::{self, ScanContent, ScanData, ScanError, Symbology};

/// Longest operator id accepted.
pub const MAX_OPERATOR_LEN: usize = 32;
/// Longest location code accepted.
pub const MAX_LOCATION_LEN: usize = 32;
/// Longest container code accepted.
pub const MAX_CONTAINER_LEN: usize = 40;
/// Longest order reference accepted.
pub const MAX_ORDER_LEN: usize = 40;
/// Longest quantity text accepted (digits and decimal point).
pub const MAX_QUANTITY_LEN: usize = 16;

/// A station command (`C:…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// `C:CONFIRM`
    Confirm,
    /// `C:SHORT`
    Short,
    /// `C:CANCEL`
    Cancel,
    /// `C:NEXT`
    Next,
    /// `C:LOGOUT`
    Logout,
    /// `C:RESTOCK` (return disposition)
    Restock,
    /// `C:REFURBISH` (return disposition)
    Refurbish,
    /// `C:QUARANTINE` (return disposition)
    Quarantine,
    /// `C:VENDOR` (return disposition)
    Vendor,
    /// `C:SCRAP` (return disposition)
    Scrap,
}

impl Command {
    /// All commands, in the order of the contract.
    pub const ALL: [Command; 10] = [
        Command::Confirm,
        Command::Short,
        Command::Cancel,
        Command::Next,
        Command::Logout,
        Command::Restock,
        Command::Refurbish,
        Command::Quarantine,
        Command::Vendor,
        Command::Scrap,
    ];

    /// The word after `C:`.
    pub fn word(self) -> &'static str {
        match self {
            Command::Confirm => "CONFIRM",
            Command::Short => "SHORT",
            Command::Cancel => "CANCEL",
            Command::Next => "NEXT",
            Command::Logout => "LOGOUT",
            Command::Restock => "RESTOCK",
            Command::Refurbish => "REFURBISH",
            Command::Quarantine => "QUARANTINE",
            Command::Vendor => "VENDOR",
            Command::Scrap => "SCRAP",
        }
    }

    /// True for the return dispositions.
    pub fn is_return_disposition(self) -> bool {
        matches!(
            self,
            Command::Restock
                | Command::Refurbish
                | Command::Quarantine
                | Command::Vendor
                | Command::Scrap
        )
    }
}

/// A location as scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocationRef {
    /// `L:<code>`.
    Code(String),
    /// GS1 (414) GLN of a physical location, with optional (254) extension.
    Gln {
        /// 13-digit GLN.
        gln: String,
        /// GLN extension component.
        extension: Option<String>,
    },
}

/// A container (tote, carton, pallet) as scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerRef {
    /// `T:<code>`.
    Code(String),
    /// GS1 (00) SSCC, 18 digits.
    Sscc(String),
}

/// What a scan at a station means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StationPayload {
    /// `U:` operator badge.
    Operator(String),
    /// `L:` location label or GS1 location barcode.
    Location(LocationRef),
    /// `T:` container licence plate or GS1 SSCC.
    Container(ContainerRef),
    /// `O:` order document.
    Order(String),
    /// `Q:` quantity for the current line.
    Quantity(Decimal),
    /// `C:` command.
    Command(Command),
    /// Anything else: a product (or other) barcode.
    Product(ScanData),
}

/// Why a station payload was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// An id after `U:`, `L:`, `T:` or `O:` is missing.
    #[error("{what} is missing after \"{prefix}\"")]
    EmptyId {
        /// e.g. "operator".
        what: &'static str,
        /// e.g. "U:".
        prefix: &'static str,
    },
    /// An id that is too long.
    #[error("{what} \"{value}\" is too long ({len} characters, at most {max})")]
    IdTooLong {
        /// e.g. "location".
        what: &'static str,
        /// The value (escaped).
        value: String,
        /// Its length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// An id with a character outside printable ASCII, or surrounding spaces.
    #[error("{what} \"{value}\" may only contain printable ASCII characters without leading or trailing spaces")]
    IdNotPrintable {
        /// e.g. "order".
        what: &'static str,
        /// The value (escaped).
        value: String,
    },
    /// `Q:` with something other than a positive decimal number.
    #[error("quantity must be a positive number, got \"{0}\"")]
    BadQuantity(String),
    /// `C:` with an unknown word.
    #[error("unknown command \"{0}\"; use CONFIRM, SHORT, CANCEL, NEXT, LOGOUT, RESTOCK, REFURBISH, QUARANTINE, VENDOR or SCRAP")]
    UnknownCommand(String),
    /// A product barcode that could not be understood.
    #[error(transparent)]
    Scan(#[from] ScanError),
}

fn escaped(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

fn validate_id(
    what: &'static str,
    prefix: &'static str,
    max: usize,
    raw: &[u8],
) -> Result<String, PayloadError> {
    if raw.is_empty() {
        return Err(PayloadError::EmptyId { what, prefix });
    }
    if raw.len() > max {
        return Err(PayloadError::IdTooLong {
            what,
            value: escaped(raw),
            len: raw.len(),
            max,
        });
    }
    let printable = raw.iter().all(|b| (0x20..0x7F).contains(b));
    let padded = raw.first() == Some(&b' ') || raw.last() == Some(&b' ');
    match std::str::from_utf8(raw) {
        Ok(s) if printable && !padded => Ok(s.to_string()),
        _ => Err(PayloadError::IdNotPrintable {
            what,
            value: escaped(raw),
        }),
    }
}

/// Parses the text after `Q:` as a positive decimal quantity (`12`, `0.5`, `2.250`).
pub fn parse_quantity(raw: &[u8]) -> Result<Decimal, PayloadError> {
    let bad = || PayloadError::BadQuantity(escaped(raw));
    let text = std::str::from_utf8(raw).map_err(|_| bad())?;
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let well_formed = !int.is_empty()
        && digits(int)
        && digits(frac)
        && !(text.contains('.') && frac.is_empty())
        && text.len() <= MAX_QUANTITY_LEN;
    if !well_formed {
        return Err(bad());
    }
    let q = Decimal::from_str(text).map_err(|_| bad())?;
    if q <= Decimal::ZERO {
        return Err(bad());
    }
    Ok(q)
}

/// Strips an AIM identifier of a plain-data symbology (e.g. `]C0`, `]Q1`) so that station
/// labels printed as Code 128 or QR are recognised whether or not the scanner sends AIM ids.
fn strip_plain_aim_id(data: &[u8]) -> &[u8] {
    match gs1::symbology::split_aim_id(data) {
        Ok((Some(id), rest)) => match id.symbology() {
            Some(
                Symbology::Code128
                | Symbology::Code39
                | Symbology::Code93
                | Symbology::QrCode
                | Symbology::DataMatrix
                | Symbology::Pdf417
                | Symbology::Aztec
                | Symbology::Codabar,
            ) => rest,
            _ => data,
        },
        _ => data,
    }
}

/// Classifies the raw bytes of one scan at a station.
///
/// GS1 scans that carry an SSCC (00) become [`StationPayload::Container`], a location GLN (414)
/// without a product or SSCC becomes [`StationPayload::Location`]; other barcodes become
/// [`StationPayload::Product`]. Never panics.
pub fn classify_payload(data: &[u8]) -> Result<StationPayload, PayloadError> {
    let mut trimmed = data;
    while let [rest @ .., b'\r' | b'\n'] = trimmed {
        trimmed = rest;
    }
    let body = strip_plain_aim_id(trimmed);
    if let [kind, b':', rest @ ..] = body {
        match kind {
            b'U' => {
                return validate_id("operator", "U:", MAX_OPERATOR_LEN, rest)
                    .map(StationPayload::Operator)
            }
            b'L' => {
                return validate_id("location", "L:", MAX_LOCATION_LEN, rest)
                    .map(|s| StationPayload::Location(LocationRef::Code(s)))
            }
            b'T' => {
                return validate_id("container", "T:", MAX_CONTAINER_LEN, rest)
                    .map(|s| StationPayload::Container(ContainerRef::Code(s)))
            }
            b'O' => {
                return validate_id("order", "O:", MAX_ORDER_LEN, rest).map(StationPayload::Order)
            }
            b'Q' => return parse_quantity(rest).map(StationPayload::Quantity),
            b'C' => {
                let word = String::from_utf8_lossy(rest).trim().to_ascii_uppercase();
                return Command::ALL
                    .into_iter()
                    .find(|c| c.word() == word)
                    .map(StationPayload::Command)
                    .ok_or_else(|| PayloadError::UnknownCommand(escaped(rest)));
            }
            _ => {}
        }
    }
    let scan = gs1::parse_scan(trimmed)?;
    Ok(classify_gs1(scan))
}

fn classify_gs1(scan: ScanData) -> StationPayload {
    if matches!(scan.content, ScanContent::Text(_)) {
        return StationPayload::Product(scan);
    }
    let data = scan.gs1_data();
    if let Some(sscc) = data.sscc() {
        return StationPayload::Container(ContainerRef::Sscc(sscc.to_string()));
    }
    if let (Some(gln), None) = (data.get("414"), data.gtin()) {
        return StationPayload::Location(LocationRef::Gln {
            gln: gln.to_string(),
            extension: data.get("254").map(str::to_string),
        });
    }
    StationPayload::Product(scan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(s: &str) -> Result<StationPayload, PayloadError> {
        classify_payload(s.replace("<GS>", "\u{1d}").as_bytes())
    }

    #[test]
    fn station_prefixes_are_recognised() -> Result<(), PayloadError> {
        assert_eq!(
            classify("U:alice")?,
            StationPayload::Operator("alice".into())
        );
        assert_eq!(
            classify("L:A-01-02")?,
            StationPayload::Location(LocationRef::Code("A-01-02".into()))
        );
        assert_eq!(
            classify("T:TOTE-0042")?,
            StationPayload::Container(ContainerRef::Code("TOTE-0042".into()))
        );
        assert_eq!(
            classify("O:SO-2026-0001")?,
            StationPayload::Order("SO-2026-0001".into())
        );
        assert_eq!(
            classify("Q:12")?,
            StationPayload::Quantity(Decimal::new(12, 0))
        );
        assert_eq!(
            classify("Q:2.250")?,
            StationPayload::Quantity(Decimal::new(2250, 3))
        );
        assert_eq!(
            classify("C:CONFIRM")?,
            StationPayload::Command(Command::Confirm)
        );
        Ok(())
    }

    #[test]
    fn every_command_of_the_contract_is_understood() -> Result<(), PayloadError> {
        for c in Command::ALL {
            assert_eq!(
                classify(&format!("C:{}", c.word()))?,
                StationPayload::Command(c)
            );
        }
        assert!(Command::Scrap.is_return_disposition());
        assert!(!Command::Next.is_return_disposition());
        Ok(())
    }

    #[test]
    fn a_quantity_that_is_not_a_positive_number_is_rejected_with_the_value() {
        assert_eq!(
            classify("Q:abc").map_err(|e| e.to_string()),
            Err("quantity must be a positive number, got \"abc\"".to_string())
        );
        for bad in [
            "Q:",
            "Q:0",
            "Q:0.000",
            "Q:-1",
            "Q:+1",
            "Q:1e3",
            "Q:1.",
            "Q:.5",
            "Q:1,5",
            "Q:12345678901234567",
        ] {
            assert!(
                matches!(classify(bad), Err(PayloadError::BadQuantity(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_unknown_command_lists_the_valid_ones() {
        let err = classify("C:DANCE").map_err(|e| e.to_string());
        assert!(matches!(err, Err(m) if m.starts_with("unknown command \"DANCE\"; use CONFIRM")));
    }

    #[test]
    fn ids_must_be_present_printable_and_short_enough() {
        assert!(matches!(classify("U:"), Err(PayloadError::EmptyId { .. })));
        assert!(matches!(
            classify(&format!("L:{}", "X".repeat(MAX_LOCATION_LEN + 1))),
            Err(PayloadError::IdTooLong { .. })
        ));
        assert!(matches!(
            classify("O:a\tb"),
            Err(PayloadError::IdNotPrintable { .. })
        ));
        assert!(matches!(
            classify("T: x"),
            Err(PayloadError::IdNotPrintable { .. })
        ));
        assert!(matches!(
            classify_payload(b"U:\xc3\xa9"),
            Err(PayloadError::IdNotPrintable { .. })
        ));
    }

    #[test]
    fn station_labels_with_an_aim_id_and_line_ending_are_recognised() -> Result<(), PayloadError> {
        assert_eq!(
            classify("]C0U:bob\r\n")?,
            StationPayload::Operator("bob".into())
        );
        assert_eq!(
            classify("]Q1L:B-07")?,
            StationPayload::Location(LocationRef::Code("B-07".into()))
        );
        Ok(())
    }

    #[test]
    fn a_gs1_location_barcode_is_a_location() -> Result<(), PayloadError> {
        assert_eq!(
            classify("]C14149520123456788254SHELF-3")?,
            StationPayload::Location(LocationRef::Gln {
                gln: "9520123456788".into(),
                extension: Some("SHELF-3".into())
            })
        );
        assert_eq!(
            classify("]Q1https://id.gs1.org/414/9520123456788")?,
            StationPayload::Location(LocationRef::Gln {
                gln: "9520123456788".into(),
                extension: None
            })
        );
        Ok(())
    }

    #[test]
    fn an_sscc_is_a_container() -> Result<(), PayloadError> {
        assert_eq!(
            classify("]C100106141411234567897")?,
            StationPayload::Container(ContainerRef::Sscc("106141411234567897".into()))
        );
        assert_eq!(
            classify("]C100376104250021234569<GS>02095201234567883725")?,
            StationPayload::Container(ContainerRef::Sscc("376104250021234569".into()))
        );
        Ok(())
    }

    #[test]
    fn product_barcodes_are_products() -> Result<(), PayloadError> {
        let StationPayload::Product(scan) = classify("]E04006381333931")? else {
            panic!("expected a product");
        };
        assert_eq!(scan.gtin(), Some("04006381333931"));
        let StationPayload::Product(scan) = classify("]C10109520123456788<GS>")? else {
            panic!("expected a product");
        };
        assert_eq!(scan.gtin(), Some("09520123456788"));
        assert!(matches!(
            classify("]E04006381333932"),
            Err(PayloadError::Scan(_))
        ));
        Ok(())
    }

    #[test]
    fn lowercase_prefixes_are_not_station_payloads() -> Result<(), PayloadError> {
        assert!(matches!(classify("u:alice")?, StationPayload::Product(_)));
        Ok(())
    }
}

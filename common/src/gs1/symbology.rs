//! AIM symbology identifiers (ISO/IEC 15424): the `]` + code character + modifier prefix that a
//! scanner can put in front of the decoded data.

use super::error::ScanError;

/// The symbology a scan came from, as far as the AIM identifier (or its absence) tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Symbology {
    /// No AIM identifier was sent (many scanners are configured that way).
    Unidentified,
    /// `]E0`: EAN-13, UPC-A or UPC-E (normalised to 13 digits).
    Ean13,
    /// `]E1` / `]E2`: a 2- or 5-digit EAN add-on on its own.
    EanAddOn,
    /// `]E3`: EAN-13/UPC with its add-on.
    Ean13WithAddOn,
    /// `]E4`: EAN-8.
    Ean8,
    /// `]I0`–`]I3`: Interleaved 2 of 5 (`]I1`/`]I3`: check digit validated; ITF-14 in GS1).
    Itf,
    /// `]C0`: Code 128 without FNC1.
    Code128,
    /// `]C1`: GS1-128 (FNC1 in first position).
    Gs1_128,
    /// `]C2`: Code 128 with FNC1 in second position.
    Code128Fnc1Second,
    /// `]C4`: Code 128 with the ISO 15417 concatenation flag.
    Code128Concatenated,
    /// `]e0`–`]e3`: GS1 DataBar and GS1 composite.
    Gs1DataBar,
    /// `]d0`/`]d1`/`]d3`…: Data Matrix (plain data; may carry a GS1 Digital Link URI).
    DataMatrix,
    /// `]d2`: GS1 DataMatrix.
    Gs1DataMatrix,
    /// `]Q0`/`]Q1`/`]Q2`…: QR Code (plain data; may carry a GS1 Digital Link URI).
    QrCode,
    /// `]Q3`: GS1 QR Code.
    Gs1QrCode,
    /// `]J0`: DotCode (plain data).
    DotCode,
    /// `]J1`: GS1 DotCode.
    Gs1DotCode,
    /// `]A0`–`]A7`: Code 39.
    Code39,
    /// `]G0`…: Code 93.
    Code93,
    /// `]F0`…: Codabar.
    Codabar,
    /// `]L0`–`]L2`: PDF417 / MicroPDF417.
    Pdf417,
    /// `]z0`…: Aztec Code.
    Aztec,
}

/// How the data after the identifier must be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataMode {
    /// An EAN/UPC/ITF primary: digits with a check digit.
    Gtin,
    /// A GS1 AI element string.
    Gs1,
    /// Plain data (text, possibly a GS1 Digital Link URI).
    Plain,
}

impl Symbology {
    /// A short name for messages, e.g. "GS1-128".
    pub fn name(self) -> &'static str {
        match self {
            Symbology::Unidentified => "unidentified",
            Symbology::Ean13 => "EAN-13/UPC",
            Symbology::EanAddOn => "EAN add-on",
            Symbology::Ean13WithAddOn => "EAN-13/UPC with add-on",
            Symbology::Ean8 => "EAN-8",
            Symbology::Itf => "ITF",
            Symbology::Code128 => "Code 128",
            Symbology::Gs1_128 => "GS1-128",
            Symbology::Code128Fnc1Second => "Code 128 (FNC1 in second position)",
            Symbology::Code128Concatenated => "Code 128",
            Symbology::Gs1DataBar => "GS1 DataBar",
            Symbology::DataMatrix => "Data Matrix",
            Symbology::Gs1DataMatrix => "GS1 DataMatrix",
            Symbology::QrCode => "QR Code",
            Symbology::Gs1QrCode => "GS1 QR Code",
            Symbology::DotCode => "DotCode",
            Symbology::Gs1DotCode => "GS1 DotCode",
            Symbology::Code39 => "Code 39",
            Symbology::Code93 => "Code 93",
            Symbology::Codabar => "Codabar",
            Symbology::Pdf417 => "PDF417",
            Symbology::Aztec => "Aztec Code",
        }
    }

    /// How the data of this symbology is to be read.
    pub fn data_mode(self) -> DataMode {
        match self {
            Symbology::Ean13 | Symbology::Ean13WithAddOn | Symbology::Ean8 => DataMode::Gtin,
            Symbology::Gs1_128
            | Symbology::Gs1DataBar
            | Symbology::Gs1DataMatrix
            | Symbology::Gs1QrCode
            | Symbology::Gs1DotCode => DataMode::Gs1,
            _ => DataMode::Plain,
        }
    }
}

/// An AIM symbology identifier: `]` + code character + modifier character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AimId {
    /// Code character, e.g. `C`.
    pub code: u8,
    /// Modifier character, e.g. `1`.
    pub modifier: u8,
}

impl std::fmt::Display for AimId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "]{}{}", char::from(self.code), char::from(self.modifier))
    }
}

impl AimId {
    /// The symbology this identifier stands for, if it is one this system handles.
    pub fn symbology(self) -> Option<Symbology> {
        let m = self.modifier;
        Some(match self.code {
            b'E' => match m {
                b'0' => Symbology::Ean13,
                b'1' | b'2' => Symbology::EanAddOn,
                b'3' => Symbology::Ean13WithAddOn,
                b'4' => Symbology::Ean8,
                _ => return None,
            },
            b'I' if matches!(m, b'0'..=b'3') => Symbology::Itf,
            b'C' => match m {
                b'0' => Symbology::Code128,
                b'1' => Symbology::Gs1_128,
                b'2' => Symbology::Code128Fnc1Second,
                b'4' => Symbology::Code128Concatenated,
                _ => return None,
            },
            b'e' if matches!(m, b'0'..=b'3') => Symbology::Gs1DataBar,
            b'd' => match m {
                b'2' => Symbology::Gs1DataMatrix,
                b'0'..=b'6' => Symbology::DataMatrix,
                _ => return None,
            },
            b'Q' => match m {
                b'3' => Symbology::Gs1QrCode,
                b'0'..=b'6' => Symbology::QrCode,
                _ => return None,
            },
            b'J' => match m {
                b'0' => Symbology::DotCode,
                b'1' => Symbology::Gs1DotCode,
                _ => return None,
            },
            b'A' if matches!(m, b'0'..=b'7') => Symbology::Code39,
            b'G' if matches!(m, b'0'..=b'9' | b'A'..=b'Z') => Symbology::Code93,
            b'F' if matches!(m, b'0'..=b'4') => Symbology::Codabar,
            b'L' if matches!(m, b'0'..=b'5') => Symbology::Pdf417,
            b'z' if matches!(m, b'0'..=b'9' | b'A'..=b'C') => Symbology::Aztec,
            _ => return None,
        })
    }
}

/// Splits a scan into its AIM identifier (if any) and the data after it.
///
/// Data that does not start with `]` has no identifier. Data starting with `]` must carry a
/// complete, supported identifier.
pub fn split_aim_id(scan: &[u8]) -> Result<(Option<AimId>, &[u8]), ScanError> {
    match scan {
        [b']', code, modifier, rest @ ..] => {
            let id = AimId {
                code: *code,
                modifier: *modifier,
            };
            if id.symbology().is_none() {
                return Err(ScanError::UnsupportedSymbology(
                    String::from_utf8_lossy(&[b']', *code, *modifier]).into_owned(),
                ));
            }
            Ok((Some(id), rest))
        }
        [b']', ..] => Err(ScanError::IncompleteSymbologyId(
            String::from_utf8_lossy(scan).into_owned(),
        )),
        _ => Ok((None, scan)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aim_ids_of_warehouse_symbologies_are_recognised() {
        let cases = [
            ("]E0", Symbology::Ean13, DataMode::Gtin),
            ("]E3", Symbology::Ean13WithAddOn, DataMode::Gtin),
            ("]E4", Symbology::Ean8, DataMode::Gtin),
            ("]I1", Symbology::Itf, DataMode::Plain),
            ("]C0", Symbology::Code128, DataMode::Plain),
            ("]C1", Symbology::Gs1_128, DataMode::Gs1),
            ("]C2", Symbology::Code128Fnc1Second, DataMode::Plain),
            ("]e0", Symbology::Gs1DataBar, DataMode::Gs1),
            ("]d1", Symbology::DataMatrix, DataMode::Plain),
            ("]d2", Symbology::Gs1DataMatrix, DataMode::Gs1),
            ("]Q1", Symbology::QrCode, DataMode::Plain),
            ("]Q3", Symbology::Gs1QrCode, DataMode::Gs1),
            ("]J1", Symbology::Gs1DotCode, DataMode::Gs1),
            ("]A0", Symbology::Code39, DataMode::Plain),
            ("]L0", Symbology::Pdf417, DataMode::Plain),
        ];
        for (id, sym, mode) in cases {
            let Ok((Some(aim), rest)) = split_aim_id(id.as_bytes()) else {
                panic!("{id} not recognised");
            };
            assert!(rest.is_empty());
            assert_eq!(aim.symbology(), Some(sym), "{id}");
            assert_eq!(sym.data_mode(), mode, "{id}");
            assert_eq!(aim.to_string(), id);
        }
    }

    // gs1-syntax-engine scandata.c: "]" / "]X" too short, "]XX" unsupported.
    #[test]
    fn incomplete_or_unknown_aim_ids_are_errors() {
        assert!(matches!(
            split_aim_id(b"]"),
            Err(ScanError::IncompleteSymbologyId(_))
        ));
        assert!(matches!(
            split_aim_id(b"]X"),
            Err(ScanError::IncompleteSymbologyId(_))
        ));
        assert!(matches!(
            split_aim_id(b"]XX"),
            Err(ScanError::UnsupportedSymbology(_))
        ));
        assert_eq!(split_aim_id(b"ABC").ok(), Some((None, &b"ABC"[..])));
    }
}

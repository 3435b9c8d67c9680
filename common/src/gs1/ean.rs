//! EAN/UPC and ITF-14 primaries and GTIN normalisation.

use crate::check_digit::gs1_check_digit;

use super::error::ScanError;

/// The GTIN family member a number was carried as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GtinFormat {
    /// 8 digits (EAN-8).
    Gtin8,
    /// 12 digits (UPC-A).
    Gtin12,
    /// 13 digits (EAN-13).
    Gtin13,
    /// 14 digits (ITF-14, AI 01).
    Gtin14,
}

/// A GTIN with a verified check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Gtin {
    /// The GTIN as 14 digits (left-padded with zeros), as used in AI (01).
    pub gtin14: String,
    /// The length it was carried with.
    pub format: GtinFormat,
}

impl Gtin {
    /// Validates a GTIN-8/12/13/14 and normalises it to 14 digits.
    pub fn parse(digits: &str) -> Result<Gtin, ScanError> {
        let format = match digits.len() {
            8 => GtinFormat::Gtin8,
            12 => GtinFormat::Gtin12,
            13 => GtinFormat::Gtin13,
            14 => GtinFormat::Gtin14,
            got => {
                return Err(ScanError::WrongLength {
                    what: "GTIN",
                    expected: "8, 12, 13 or 14",
                    got,
                })
            }
        };
        check_digits("GTIN", digits)?;
        Ok(Gtin {
            gtin14: format!("{digits:0>14}"),
            format,
        })
    }

    /// The GTIN in the length it was carried with (leading zeros stripped accordingly).
    pub fn as_carried(&self) -> &str {
        let len = match self.format {
            GtinFormat::Gtin8 => 8,
            GtinFormat::Gtin12 => 12,
            GtinFormat::Gtin13 => 13,
            GtinFormat::Gtin14 => 14,
        };
        self.gtin14.get(14 - len..).unwrap_or(&self.gtin14)
    }
}

/// Checks that `digits` is all digits with a correct GS1 mod-10 check digit.
pub fn check_digits(what: &'static str, digits: &str) -> Result<(), ScanError> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ScanError::NotDigits(what));
    }
    let (body, last) = digits.split_at(digits.len() - 1);
    let expected = gs1_check_digit(body).ok_or(ScanError::NotDigits(what))?;
    if last.as_bytes().first() != Some(&(b'0' + expected)) {
        return Err(ScanError::CheckDigit { what, expected });
    }
    Ok(())
}

fn exact_digits(
    what: &'static str,
    expected: &'static str,
    len: usize,
    data: &str,
) -> Result<(), ScanError> {
    if data.len() != len {
        return Err(ScanError::WrongLength {
            what,
            expected,
            got: data.len(),
        });
    }
    // Operators know the number as a GTIN whatever barcode carried it.
    check_digits("GTIN", data)
}

/// An EAN-13 (or UPC-A/UPC-E normalised to 13 digits by the scanner).
pub fn parse_ean13(data: &str) -> Result<Gtin, ScanError> {
    exact_digits("EAN-13", "13", 13, data)?;
    Ok(Gtin {
        gtin14: format!("0{data}"),
        format: GtinFormat::Gtin13,
    })
}

/// An EAN-8.
pub fn parse_ean8(data: &str) -> Result<Gtin, ScanError> {
    exact_digits("EAN-8", "8", 8, data)?;
    Ok(Gtin {
        gtin14: format!("000000{data}"),
        format: GtinFormat::Gtin8,
    })
}

/// A UPC-A (12 digits).
pub fn parse_upc_a(data: &str) -> Result<Gtin, ScanError> {
    exact_digits("UPC-A", "12", 12, data)?;
    Ok(Gtin {
        gtin14: format!("00{data}"),
        format: GtinFormat::Gtin12,
    })
}

/// An ITF-14 (14 digits).
pub fn parse_itf14(data: &str) -> Result<Gtin, ScanError> {
    exact_digits("ITF-14", "14", 14, data)?;
    Ok(Gtin {
        gtin14: data.to_string(),
        format: GtinFormat::Gtin14,
    })
}

/// Expands an 8-digit UPC-E (number system 0 or 1, six digits, check digit) to its 12-digit
/// UPC-A and validates the check digit.
pub fn parse_upc_e(data: &str) -> Result<Gtin, ScanError> {
    if data.len() != 8 {
        return Err(ScanError::WrongLength {
            what: "UPC-E",
            expected: "8",
            got: data.len(),
        });
    }
    if !data.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ScanError::NotDigits("UPC-E"));
    }
    let d: Vec<char> = data.chars().collect();
    let [ns, d1, d2, d3, d4, d5, d6, check] = d.as_slice() else {
        return Err(ScanError::NotDigits("UPC-E"));
    };
    if !matches!(ns, '0' | '1') {
        return Err(ScanError::NotDigits("UPC-E"));
    }
    let body: String = match d6 {
        '0' | '1' | '2' => format!("{ns}{d1}{d2}{d6}0000{d3}{d4}{d5}"),
        '3' => format!("{ns}{d1}{d2}{d3}00000{d4}{d5}"),
        '4' => format!("{ns}{d1}{d2}{d3}{d4}00000{d5}"),
        _ => format!("{ns}{d1}{d2}{d3}{d4}{d5}0000{d6}"),
    };
    let upc_a = format!("{body}{check}");
    check_digits("GTIN", &upc_a)?;
    Ok(Gtin {
        gtin14: format!("00{upc_a}"),
        format: GtinFormat::Gtin12,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Good/bad pairs from gs1-syntax-engine scandata.c test_scandata_validateParity
    // (© GS1 AISBL, Apache-2.0) plus recomputed vectors from devices.md §2.6.
    #[test]
    fn gtins_with_a_correct_check_digit_are_accepted_and_normalised() -> Result<(), ScanError> {
        for good in [
            "24012345678905",
            "2112233789657",
            "416000336108",
            "02345680",
            "09520123456788",
            "9520123456788",
            "5901234123457",
            "4006381333931",
        ] {
            let g = Gtin::parse(good)?;
            assert_eq!(g.gtin14.len(), 14);
            assert_eq!(g.as_carried(), good);
        }
        Ok(())
    }

    #[test]
    fn a_wrong_check_digit_reports_the_right_one() {
        assert_eq!(
            Gtin::parse("24012345678909"),
            Err(ScanError::CheckDigit {
                what: "GTIN",
                expected: 5
            })
        );
        assert_eq!(
            Gtin::parse("2112233789658"),
            Err(ScanError::CheckDigit {
                what: "GTIN",
                expected: 7
            })
        );
        assert_eq!(
            Gtin::parse("416000336107"),
            Err(ScanError::CheckDigit {
                what: "GTIN",
                expected: 8
            })
        );
        assert_eq!(
            Gtin::parse("02345689"),
            Err(ScanError::CheckDigit {
                what: "GTIN",
                expected: 0
            })
        );
        assert_eq!(
            parse_ean13("2112345678901").map_err(|e| e.to_string()),
            Err("GTIN check digit should be 0".to_string())
        );
    }

    // Recomputed SSCCs from devices.md §2.6.
    #[test]
    fn sscc_vectors_carry_valid_check_digits() {
        for sscc in [
            "006141411234567890",
            "952012345678912345",
            "106141411234567897",
            "376104250021234569",
            "123456789012345675",
        ] {
            assert_eq!(check_digits("SSCC", sscc), Ok(()), "{sscc}");
        }
        assert_eq!(
            check_digits("SSCC", "123456789012345670"),
            Err(ScanError::CheckDigit {
                what: "SSCC",
                expected: 5
            })
        );
    }

    #[test]
    fn upc_e_expands_to_upc_a() -> Result<(), ScanError> {
        assert_eq!(parse_upc_e("01234565")?.as_carried(), "012345000065");
        assert_eq!(parse_upc_e("04252614")?.as_carried(), "042100005264");
        assert!(parse_upc_e("01234566").is_err());
        Ok(())
    }

    #[test]
    fn primaries_of_the_wrong_length_are_rejected() {
        assert!(matches!(
            parse_ean13("123456789012"),
            Err(ScanError::WrongLength { .. })
        ));
        assert!(matches!(
            parse_ean13("12345678901234"),
            Err(ScanError::WrongLength { .. })
        ));
        assert!(matches!(
            parse_ean8("0234567"),
            Err(ScanError::WrongLength { .. })
        ));
        assert!(parse_ean8("02345673").is_ok());
        assert!(parse_itf14("10012345678902").is_ok());
        assert!(parse_itf14("10012345678903").is_err());
        assert!(parse_upc_a("416000336108").is_ok());
    }
}

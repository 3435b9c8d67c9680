//! SSCC-18 (Serial Shipping Container Code): extension digit + GS1 company prefix + serial
//! reference (together 17 digits) + GS1 mod-10 check digit.

use crate::check_digit::gs1_check_digit;

/// Why an SSCC could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsccError {
    /// The extension digit must be 0–9.
    #[error("sscc extension digit: {0} is not a single digit 0-9")]
    ExtensionDigit(u8),
    /// The company prefix must be 4–12 digits.
    #[error("sscc company prefix: `{0}` must be 4 to 12 digits")]
    CompanyPrefix(String),
    /// The serial reference does not fit the digits left by the prefix.
    #[error("sscc serial reference: {serial} needs more than the {digits} digits left by a {prefix_len}-digit company prefix")]
    SerialReference {
        /// The serial reference.
        serial: u64,
        /// Digits available (16 − prefix length).
        digits: usize,
        /// Company prefix length.
        prefix_len: usize,
    },
    /// A parsed SSCC is not 18 digits.
    #[error("sscc: `{0}` is not 18 digits")]
    Format(String),
    /// A parsed SSCC has a wrong check digit.
    #[error("sscc check digit: `{sscc}` should end in {expected}")]
    CheckDigit {
        /// The input.
        sscc: String,
        /// The correct check digit.
        expected: u8,
    },
}

/// A valid SSCC-18 (18 digits, correct check digit).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sscc(String);

impl Sscc {
    /// Builds an SSCC from its parts; the serial reference is zero-padded to fill 17 digits.
    pub fn new(
        extension_digit: u8,
        company_prefix: &str,
        serial_reference: u64,
    ) -> Result<Self, SsccError> {
        if extension_digit > 9 {
            return Err(SsccError::ExtensionDigit(extension_digit));
        }
        let prefix_len = company_prefix.len();
        if !(4..=12).contains(&prefix_len) || !company_prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SsccError::CompanyPrefix(company_prefix.to_string()));
        }
        let digits = 16 - prefix_len;
        let serial = serial_reference.to_string();
        if serial.len() > digits {
            return Err(SsccError::SerialReference {
                serial: serial_reference,
                digits,
                prefix_len,
            });
        }
        let body = format!("{extension_digit}{company_prefix}{serial:0>digits$}");
        let check = gs1_check_digit(&body).ok_or_else(|| SsccError::Format(body.clone()))?;
        Ok(Self(format!("{body}{check}")))
    }

    /// Parses and validates 18 digits.
    pub fn parse(text: &str) -> Result<Self, SsccError> {
        if text.len() != 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SsccError::Format(text.to_string()));
        }
        let (body, last) = text.split_at(17);
        let expected = gs1_check_digit(body).ok_or_else(|| SsccError::Format(text.to_string()))?;
        if last.as_bytes().first().map(|b| b - b'0') != Some(expected) {
            return Err(SsccError::CheckDigit {
                sscc: text.to_string(),
                expected,
            });
        }
        Ok(Self(text.to_string()))
    }

    /// The 18 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The GS1 element string `00` + SSCC.
    pub fn element_string(&self) -> String {
        format!("00{}", self.0)
    }

    /// Human-readable interpretation `(00) 376104250021234569`.
    pub fn hri(&self) -> String {
        format!("(00) {}", self.0)
    }
}

impl std::fmt::Display for Sscc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_sscc_is_built_from_its_parts() {
        let s = Sscc::new(3, "7610425", 2_123_456).unwrap();
        assert_eq!(s.as_str(), "376104250021234569");
        assert_eq!(s.element_string(), "00376104250021234569");
        assert_eq!(s.hri(), "(00) 376104250021234569");
    }

    #[test]
    fn the_jcpenney_label_sscc_is_valid() {
        let s = Sscc::new(0, "00028028", 68).unwrap();
        assert_eq!(s.as_str(), "000028028000000680");
        assert!(Sscc::parse("000028028000000680").is_ok());
    }

    #[test]
    fn a_serial_reference_that_does_not_fit_17_digits_is_an_error() {
        assert_eq!(
            Sscc::new(3, "761042500212", 12_345).unwrap_err(),
            SsccError::SerialReference {
                serial: 12_345,
                digits: 4,
                prefix_len: 12
            }
        );
        assert!(Sscc::new(3, "761042500212", 9_999).is_ok());
    }

    #[test]
    fn bad_extension_digits_and_prefixes_are_rejected() {
        assert_eq!(
            Sscc::new(10, "7610425", 1).unwrap_err(),
            SsccError::ExtensionDigit(10)
        );
        assert!(matches!(
            Sscc::new(3, "761", 1),
            Err(SsccError::CompanyPrefix(_))
        ));
        assert!(matches!(
            Sscc::new(3, "76104250021x", 1),
            Err(SsccError::CompanyPrefix(_))
        ));
        assert!(matches!(
            Sscc::new(3, "7610425002123", 1),
            Err(SsccError::CompanyPrefix(_))
        ));
    }

    #[test]
    fn parsing_checks_length_and_check_digit() {
        assert!(Sscc::parse("376104250021234569").is_ok());
        assert_eq!(
            Sscc::parse("376104250021234560").unwrap_err(),
            SsccError::CheckDigit {
                sscc: "376104250021234560".into(),
                expected: 9
            }
        );
        assert!(matches!(
            Sscc::parse("37610425002123456"),
            Err(SsccError::Format(_))
        ));
        assert!(matches!(
            Sscc::parse("3761042500212345६9"),
            Err(SsccError::Format(_))
        ));
    }
}

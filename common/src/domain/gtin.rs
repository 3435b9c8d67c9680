//! GTIN: a Global Trade Item Number (GTIN-8, -12, -13 or -14), stored as 14 digits.

use crate::check_digit::gs1_check_digit;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why text is not a valid GTIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GtinError {
    /// Wrong number of digits.
    #[error("a GTIN has 8, 12, 13 or 14 digits; {text:?} has {len}")]
    Length {
        /// The input.
        text: String,
        /// Its length.
        len: usize,
    },
    /// A character other than a digit.
    #[error("a GTIN holds digits only; {text:?} contains {found:?}")]
    NotDigits {
        /// The input.
        text: String,
        /// The first non-digit.
        found: char,
    },
    /// The last digit is not the check digit.
    #[error("GTIN check digit should be {expected}, not {found} (in {text})")]
    CheckDigit {
        /// The input.
        text: String,
        /// The correct check digit.
        expected: u8,
        /// The digit found.
        found: char,
    },
}

/// A GTIN normalised to 14 digits (GTIN-8/12/13 are left-padded with zeros).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Gtin([u8; 14]);

impl Gtin {
    /// Validates length, digits and check digit.
    pub fn new(text: &str) -> Result<Self, GtinError> {
        let len = text.chars().count();
        if !matches!(len, 8 | 12 | 13 | 14) {
            return Err(GtinError::Length {
                text: text.to_string(),
                len,
            });
        }
        if let Some(found) = text.chars().find(|c| !c.is_ascii_digit()) {
            return Err(GtinError::NotDigits {
                text: text.to_string(),
                found,
            });
        }
        let (body, last) = text.split_at(len - 1);
        let expected = gs1_check_digit(body).unwrap_or(0);
        let found = last.chars().next().unwrap_or('?');
        if found.to_digit(10) != Some(u32::from(expected)) {
            return Err(GtinError::CheckDigit {
                text: text.to_string(),
                expected,
                found,
            });
        }
        let mut digits = [b'0'; 14];
        digits[14 - len..].copy_from_slice(text.as_bytes());
        Ok(Self(digits))
    }

    /// The 14-digit form.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("00000000000000")
    }
}

impl TryFrom<String> for Gtin {
    type Error = GtinError;
    fn try_from(text: String) -> Result<Self, GtinError> {
        Gtin::new(&text)
    }
}

impl From<Gtin> for String {
    fn from(gtin: Gtin) -> String {
        gtin.as_str().to_string()
    }
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtin_8_12_and_13_are_normalised_to_14_digits() {
        assert_eq!(
            Gtin::new("02345673").map(|g| g.to_string()),
            Ok("00000002345673".into())
        );
        assert_eq!(
            Gtin::new("416000336108").map(|g| g.to_string()),
            Ok("00416000336108".into())
        );
        assert_eq!(
            Gtin::new("9520123456788").map(|g| g.to_string()),
            Ok("09520123456788".into())
        );
        assert_eq!(
            Gtin::new("09520123456788").map(|g| g.to_string()),
            Ok("09520123456788".into())
        );
    }

    #[test]
    fn a_wrong_check_digit_says_which_digit_it_should_be() {
        assert_eq!(
            Gtin::new("09520123456780").err().map(|e| e.to_string()),
            Some("GTIN check digit should be 8, not 0 (in 09520123456780)".to_string())
        );
    }

    #[test]
    fn wrong_lengths_and_letters_are_rejected() {
        assert!(matches!(
            Gtin::new("123"),
            Err(GtinError::Length { len: 3, .. })
        ));
        assert!(matches!(
            Gtin::new("0952012345678X"),
            Err(GtinError::NotDigits { found: 'X', .. })
        ));
        assert!(matches!(
            Gtin::new("0952012345678é"),
            Err(GtinError::NotDigits { .. })
        ));
    }
}

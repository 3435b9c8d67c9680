//! The GS1 mod-10 check digit used by GTIN-8/12/13/14, GLN, SSCC and GSIN.

/// Computes the GS1 mod-10 check digit for `digits` (the data digits, without the check digit).
///
/// From the rightmost digit, weights alternate 3, 1, 3, 1, …; the check digit brings the
/// weighted sum up to a multiple of ten. Returns `None` when `digits` is empty or holds a non-digit.
pub fn gs1_check_digit(digits: &str) -> Option<u8> {
    if digits.is_empty() {
        return None;
    }
    let mut sum: u32 = 0;
    for (i, b) in digits.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let d = u32::from(b - b'0');
        sum += if i % 2 == 0 { d * 3 } else { d };
    }
    Some(((10 - sum % 10) % 10) as u8)
}

/// True when the last digit of `full` is the correct GS1 check digit for the digits before it.
pub fn has_valid_gs1_check_digit(full: &str) -> bool {
    let Some((last_index, last)) = full.char_indices().last() else {
        return false;
    };
    let Some(expected) = gs1_check_digit(&full[..last_index]) else {
        return false;
    };
    last.to_digit(10) == Some(u32::from(expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_from_the_gs1_linter_vectors_pass() {
        for good in [
            "02345673",
            "416000336108",
            "1234567890128",
            "12345678901231",
            "123456789012345675",
            "09520123456788",
            "376104250021234569",
        ] {
            assert!(has_valid_gs1_check_digit(good), "{good} should pass");
        }
    }

    #[test]
    fn a_changed_last_digit_fails_the_check() {
        for bad in [
            "12345673",
            "416000336109",
            "1234567890129",
            "12345678901232",
            "123456789012345670",
        ] {
            assert!(!has_valid_gs1_check_digit(bad), "{bad} should fail");
        }
    }

    #[test]
    fn non_digits_and_empty_input_have_no_check_digit() {
        assert_eq!(gs1_check_digit(""), None);
        assert_eq!(gs1_check_digit("12a4"), None);
        assert!(!has_valid_gs1_check_digit(""));
        assert!(!has_valid_gs1_check_digit("7"));
    }
}

//! The GS1 Barcode Syntax Tests ("linters") named in the Syntax Dictionary.
//!
//! Rules follow the reference implementations in gs1/gs1-syntax-engine `src/c-lib/syntax/lint_*.c`
//! (© GS1 AISBL, Apache-2.0); the code lists (ISO 3166, ISO 4217, PackageTypeCode, AIDC media
//! types) are transcribed from those files. Every function here is pure and never panics.

use super::ai_table::{CharSet, Linter};
use super::date;

/// Why a component failed a linter: a short, operator-readable reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintFailure {
    /// Which linter failed.
    pub linter: Linter,
    /// What is wrong, e.g. "check digit should be 3".
    pub reason: String,
}

fn fail(linter: Linter, reason: impl Into<String>) -> Result<(), LintFailure> {
    Err(LintFailure {
        linter,
        reason: reason.into(),
    })
}

/// GS1 AI encodable character set 82.
pub fn is_cset82(c: u8) -> bool {
    matches!(c,
        b'!' | b'"' | b'%' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'-' | b'.' | b'/'
        | b'0'..=b'9' | b':' | b';' | b'<' | b'=' | b'>' | b'?' | b'A'..=b'Z' | b'_' | b'a'..=b'z')
}

/// GS1 AI encodable character set 39.
pub fn is_cset39(c: u8) -> bool {
    matches!(c, b'#' | b'-' | b'/' | b'0'..=b'9' | b'A'..=b'Z')
}

/// GS1 AI encodable character set 64 (base64url alphabet, without padding).
pub fn is_cset64(c: u8) -> bool {
    matches!(c, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_')
}

/// Checks `data` against a component's character set. Returns the offending position and a
/// description on failure.
pub fn check_charset(cset: CharSet, data: &str) -> Result<(), (usize, String)> {
    let bytes = data.as_bytes();
    match cset {
        CharSet::Numeric => match bytes.iter().position(|b| !b.is_ascii_digit()) {
            Some(p) => Err((p, "must be digits only".to_string())),
            None => Ok(()),
        },
        CharSet::Cset82 => match bytes.iter().position(|&b| !is_cset82(b)) {
            Some(p) => Err((p, "is not in GS1 character set 82".to_string())),
            None => Ok(()),
        },
        CharSet::Cset39 => match bytes.iter().position(|&b| !is_cset39(b)) {
            Some(p) => Err((p, "is not in GS1 character set 39".to_string())),
            None => Ok(()),
        },
        CharSet::Cset64 => {
            let pads = bytes.iter().rev().take_while(|&&b| b == b'=').count();
            let len = bytes.len() - pads;
            if pads > 2 || (pads > 0 && bytes.len() % 3 != 0) {
                return Err((len, "has invalid base64 padding".to_string()));
            }
            match bytes.iter().take(len).position(|&b| !is_cset64(b)) {
                Some(p) => Err((p, "is not in GS1 character set 64 (base64url)".to_string())),
                None => Ok(()),
            }
        }
    }
}

/// Runs `linter` on one component's data (already checked against its character set).
pub fn lint(linter: Linter, data: &str) -> Result<(), LintFailure> {
    let b = data.as_bytes();
    match linter {
        Linter::Csum => csum(data),
        Linter::CsumAlpha => csum_alpha(data),
        Linter::GcpPos1 => gcp_pos(linter, b),
        Linter::GcpPos2 => match b.get(1..) {
            Some(rest) if !b.is_empty() => gcp_pos(linter, rest),
            _ => fail(linter, "too short to hold a GS1 Company Prefix"),
        },
        Linter::Yymmd0 => {
            date::validate_yymmdd(data, true).map_err(|r| LintFailure { linter, reason: r })
        }
        Linter::Yymmdd => {
            date::validate_yymmdd(data, false).map_err(|r| LintFailure { linter, reason: r })
        }
        Linter::Yyyymmdd => {
            date::validate_yyyymmdd(data).map_err(|r| LintFailure { linter, reason: r })
        }
        Linter::Hhmi => {
            if b.len() != 4 {
                return fail(linter, "time must be 4 digits HHMM");
            }
            two_digit_max(linter, &b[..2], 23, "hour")?;
            two_digit_max(linter, &b[2..], 59, "minute")
        }
        Linter::Hh => two_digit_max(linter, b, 23, "hour"),
        Linter::Mi => two_digit_max(linter, b, 59, "minute"),
        Linter::Ss => two_digit_max(linter, b, 59, "second"),
        Linter::Iso3166 => in_list(
            linter,
            data,
            ISO3166_NUMERIC,
            "is not an ISO 3166 country code",
        ),
        Linter::Iso3166Or999 => {
            if data == "999" {
                Ok(())
            } else {
                in_list(
                    linter,
                    data,
                    ISO3166_NUMERIC,
                    "is not an ISO 3166 country code or 999",
                )
            }
        }
        Linter::Iso3166Alpha2 => in_list(
            linter,
            data,
            ISO3166_ALPHA2,
            "is not an ISO 3166 alpha-2 country code",
        ),
        Linter::Iso4217 => in_list(
            linter,
            data,
            ISO4217_NUMERIC,
            "is not an ISO 4217 currency code",
        ),
        Linter::Iso5218 => in_list(
            linter,
            data,
            &["0", "1", "2", "9"],
            "is not an ISO 5218 sex code",
        ),
        Linter::PercentEncoded => percent_encoded(data),
        Linter::Latitude => max_value(linter, b, 10, 1_800_000_000, "latitude"),
        Linter::Longitude => max_value(linter, b, 10, 3_600_000_000, "longitude"),
        Linter::YesNo => in_list(linter, data, &["0", "1"], "must be 0 (no) or 1 (yes)"),
        Linter::Hyphen => {
            if !b.is_empty() && b.iter().all(|&c| c == b'-') {
                Ok(())
            } else {
                fail(linter, "may only be a hyphen")
            }
        }
        Linter::ImporterIndex => {
            if b.len() == 1 && b.first().is_some_and(|&c| is_cset64(c)) {
                Ok(())
            } else {
                fail(linter, "is not a valid importer index character")
            }
        }
        Linter::PackageType => in_list(
            linter,
            data,
            PACKAGE_TYPES,
            "is not a known package type code",
        ),
        Linter::MediaType => in_list(linter, data, MEDIA_TYPES, "is not a known AIDC media type"),
        Linter::PositionInSequence => position_in_sequence(data),
        Linter::NonZero => {
            if b.iter().all(|&c| c == b'0') {
                fail(linter, "must not be zero")
            } else {
                Ok(())
            }
        }
        Linter::Winding => in_list(
            linter,
            data,
            &["0", "1", "9"],
            "winding direction must be 0, 1 or 9",
        ),
        Linter::Zero => {
            if data == "0" {
                Ok(())
            } else {
                fail(linter, "must be 0")
            }
        }
        Linter::PieceOfTotal => piece_of_total(b),
        Linter::Iban => iban(b),
        Linter::NoZeroPrefix => {
            if b.first() == Some(&b'0') {
                fail(linter, "must not start with 0")
            } else {
                Ok(())
            }
        }
        Linter::HasNonDigit => {
            if b.iter().all(|c| c.is_ascii_digit()) {
                fail(linter, "must contain at least one non-digit")
            } else {
                Ok(())
            }
        }
        Linter::CouponCode => coupon_code(b),
        Linter::CouponPosOffer => coupon_pos_offer(b),
    }
}

fn csum(data: &str) -> Result<(), LintFailure> {
    let Some((body, last)) = data.len().checked_sub(1).map(|i| data.split_at(i)) else {
        return fail(Linter::Csum, "too short for a check digit");
    };
    match crate::check_digit::gs1_check_digit(body) {
        Some(expected) if last.as_bytes().first() == Some(&(b'0' + expected)) => Ok(()),
        Some(expected) => fail(Linter::Csum, format!("check digit should be {expected}")),
        None => fail(Linter::Csum, "must be digits only"),
    }
}

/// Characters of CSET 82 ordered by their check-pair weight.
const CSET82_ORDER: &[u8] =
    b"!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
const CSET32_ORDER: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
const PRIMES: [u32; 97] = [
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181, 191, 193,
    197, 199, 211, 223, 227, 229, 233, 239, 241, 251, 257, 263, 269, 271, 277, 281, 283, 293, 307,
    311, 313, 317, 331, 337, 347, 349, 353, 359, 367, 373, 379, 383, 389, 397, 401, 409, 419, 421,
    431, 433, 439, 443, 449, 457, 461, 463, 467, 479, 487, 491, 499, 503, 509,
];

/// Computes the GS1 alphanumeric check character pair for `body` (CSET 82 characters).
pub fn check_pair(body: &[u8]) -> Option<[u8; 2]> {
    if body.len() > PRIMES.len() {
        return None;
    }
    let mut sum: u32 = 0;
    for (i, c) in body.iter().enumerate() {
        let weight = CSET82_ORDER.iter().position(|x| x == c)?;
        let prime = PRIMES.get(body.len() - 1 - i)?;
        sum += u32::try_from(weight).ok()? * prime;
    }
    sum %= 1021;
    let hi = *CSET32_ORDER.get(usize::try_from(sum >> 5).ok()?)?;
    let lo = *CSET32_ORDER.get(usize::try_from(sum & 31).ok()?)?;
    Some([hi, lo])
}

fn csum_alpha(data: &str) -> Result<(), LintFailure> {
    let b = data.as_bytes();
    if b.len() < 2 {
        return fail(Linter::CsumAlpha, "too short for a check character pair");
    }
    let (body, pair) = b.split_at(b.len() - 2);
    if !pair.iter().all(|c| CSET32_ORDER.contains(c)) {
        return fail(
            Linter::CsumAlpha,
            "check characters are not in GS1 character set 32",
        );
    }
    match check_pair(body) {
        Some(expected) if expected == pair => Ok(()),
        Some(expected) => fail(
            Linter::CsumAlpha,
            format!(
                "check character pair should be {}",
                String::from_utf8_lossy(&expected)
            ),
        ),
        None => fail(Linter::CsumAlpha, "cannot compute a check character pair"),
    }
}

/// GS1 Company Prefix minimum length (gcppos1): at least four leading digits. No GCP allocation
/// lookup is available offline, so only the shape is checked (as the engine does by default).
fn gcp_pos(linter: Linter, b: &[u8]) -> Result<(), LintFailure> {
    match b.get(..4) {
        None => fail(linter, "too short to hold a GS1 Company Prefix"),
        Some(p) if p.iter().all(u8::is_ascii_digit) => Ok(()),
        Some(_) => fail(linter, "does not start with a numeric GS1 Company Prefix"),
    }
}

fn two_digits(b: &[u8]) -> Option<u32> {
    match b {
        [a, c] if a.is_ascii_digit() && c.is_ascii_digit() => {
            Some(u32::from(a - b'0') * 10 + u32::from(c - b'0'))
        }
        _ => None,
    }
}

fn two_digit_max(linter: Linter, b: &[u8], max: u32, what: &str) -> Result<(), LintFailure> {
    match two_digits(b) {
        Some(v) if v <= max => Ok(()),
        Some(v) => fail(
            linter,
            format!("{what} {v:02} is out of range (00-{max:02})"),
        ),
        None => fail(linter, format!("{what} must be two digits")),
    }
}

fn max_value(
    linter: Linter,
    b: &[u8],
    len: usize,
    max: u64,
    what: &str,
) -> Result<(), LintFailure> {
    if b.len() != len || !b.iter().all(u8::is_ascii_digit) {
        return fail(linter, format!("{what} must be {len} digits"));
    }
    let v = b.iter().fold(0u64, |acc, d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    if v > max {
        fail(linter, format!("{what} is out of range"))
    } else {
        Ok(())
    }
}

fn in_list(linter: Linter, data: &str, list: &[&str], why: &str) -> Result<(), LintFailure> {
    if list.binary_search(&data).is_ok() || list.contains(&data) {
        Ok(())
    } else {
        fail(linter, format!("\"{data}\" {why}"))
    }
}

fn percent_encoded(data: &str) -> Result<(), LintFailure> {
    let b = data.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b.get(i) == Some(&b'%') {
            let ok = matches!((b.get(i + 1), b.get(i + 2)), (Some(x), Some(y)) if x.is_ascii_hexdigit() && y.is_ascii_hexdigit());
            if !ok {
                return fail(Linter::PercentEncoded, "has an invalid percent-encoding");
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

fn position_in_sequence(data: &str) -> Result<(), LintFailure> {
    let l = Linter::PositionInSequence;
    let Some((pos, end)) = data.split_once('/') else {
        return fail(l, "must be <position>/<end>");
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if !digits(pos) || !digits(end) {
        return fail(l, "must be <position>/<end>");
    }
    if pos.starts_with('0') || end.starts_with('0') {
        return fail(l, "numbers must not be zero or start with 0");
    }
    if pos.len() > end.len() || (pos.len() == end.len() && pos > end) {
        return fail(l, "position exceeds the end of the sequence");
    }
    Ok(())
}

fn piece_of_total(b: &[u8]) -> Result<(), LintFailure> {
    let l = Linter::PieceOfTotal;
    if b.len() % 2 != 0 || b.is_empty() {
        return fail(l, "must be piece and total of equal length");
    }
    let (piece, total) = b.split_at(b.len() / 2);
    if piece.iter().all(|&c| c == b'0') {
        return fail(l, "piece number must not be zero");
    }
    if total.iter().all(|&c| c == b'0') {
        return fail(l, "total count must not be zero");
    }
    if piece > total {
        return fail(l, "piece number exceeds the total count");
    }
    Ok(())
}

fn iban(b: &[u8]) -> Result<(), LintFailure> {
    let l = Linter::Iban;
    if b.len() < 4 {
        return fail(l, "too short for an IBAN");
    }
    let country = std::str::from_utf8(b.get(..2).unwrap_or_default()).unwrap_or_default();
    if ISO3166_ALPHA2.binary_search(&country).is_err() {
        return fail(l, "does not start with a country code");
    }
    if b.len() > 34 {
        return fail(l, "too long for an IBAN");
    }
    if b.len() <= 10 {
        return fail(l, "too short for an IBAN");
    }
    let mut sum: u32 = 0;
    for i in 4..b.len() + 4 {
        let c = b
            .get(if i < b.len() { i } else { i - b.len() })
            .copied()
            .unwrap_or(0);
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return fail(l, "contains a character not allowed in an IBAN"),
        };
        let shift = if v < 10 { 10 } else { 100 };
        sum = (sum * shift + v) % 97;
    }
    if sum == 1 {
        Ok(())
    } else {
        fail(l, "IBAN check digits are incorrect")
    }
}

/// Cursor over all-digit coupon data.
struct Digits<'a> {
    b: &'a [u8],
    p: usize,
}

impl Digits<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.p).map(|d| d - b'0')
    }
    fn next(&mut self) -> Option<u8> {
        let d = self.peek();
        if d.is_some() {
            self.p += 1;
        }
        d
    }
    fn skip(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.b.get(self.p..self.p + n)?;
        self.p += n;
        Some(s)
    }
    fn done(&self) -> bool {
        self.p >= self.b.len()
    }
}

fn coupon_code(b: &[u8]) -> Result<(), LintFailure> {
    let l = Linter::CouponCode;
    if !b.iter().all(u8::is_ascii_digit) {
        return fail(l, "coupon code must be digits only");
    }
    let mut d = Digits { b, p: 0 };
    let e = |m: &str| fail(l, format!("coupon code: {m}"));
    // Primary GCP with its VLI (0-6 => 6-12 digits), offer code, save value, 1st purchase.
    match d.next() {
        None => return e("missing company prefix length"),
        Some(v) if v > 6 => return e("invalid company prefix length"),
        Some(v) => {
            if d.skip(usize::from(v) + 6).is_none() {
                return e("company prefix is truncated");
            }
        }
    }
    if d.skip(6).is_none() {
        return e("offer code is truncated");
    }
    match d.next() {
        None => return e("missing save value length"),
        Some(v) if !(1..=5).contains(&v) => return e("invalid save value length"),
        Some(v) => {
            if d.skip(usize::from(v)).is_none() {
                return e("save value is truncated");
            }
        }
    }
    purchase_requirement(&mut d, "1st")?;
    if d.peek() == Some(1) {
        d.next();
        match d.next() {
            None => return e("missing additional purchase rules code"),
            Some(v) if v > 3 => return e("invalid additional purchase rules code"),
            Some(_) => {}
        }
        purchase_requirement(&mut d, "2nd")?;
        purchase_gcp(&mut d, "2nd")?;
    }
    if d.peek() == Some(2) {
        d.next();
        purchase_requirement(&mut d, "3rd")?;
        purchase_gcp(&mut d, "3rd")?;
    }
    let mut expiry: Option<Vec<u8>> = None;
    if d.peek() == Some(3) {
        d.next();
        let Some(date) = d.skip(6) else {
            return e("expiration date is too short");
        };
        let s = String::from_utf8_lossy(date).into_owned();
        if date::validate_yymmdd(&s, false).is_err() {
            return e("invalid expiration date");
        }
        expiry = Some(date.to_vec());
    }
    if d.peek() == Some(4) {
        d.next();
        let Some(date) = d.skip(6) else {
            return e("start date is too short");
        };
        let s = String::from_utf8_lossy(date).into_owned();
        if date::validate_yymmdd(&s, false).is_err() {
            return e("invalid start date");
        }
        if expiry.as_deref().is_some_and(|x| date > x) {
            return e("expiration date is before the start date");
        }
    }
    if d.peek() == Some(5) {
        d.next();
        let Some(v) = d.next() else {
            return e("missing serial number length");
        };
        if d.skip(usize::from(v) + 6).is_none() {
            return e("serial number is truncated");
        }
    }
    if d.peek() == Some(6) {
        d.next();
        match d.next() {
            None => return e("missing retailer GCP/GLN length"),
            Some(v) if !(1..=7).contains(&v) => return e("invalid retailer GCP/GLN length"),
            Some(v) => {
                if d.skip(usize::from(v) + 6).is_none() {
                    return e("retailer GCP/GLN is truncated");
                }
            }
        }
    }
    if d.peek() == Some(9) {
        d.next();
        match d.next() {
            None => return e("missing save value code"),
            Some(0 | 1 | 2 | 5 | 6) => {}
            Some(_) => return e("invalid save value code"),
        }
        match d.next() {
            None => return e("missing save value applies-to-item"),
            Some(v) if v > 2 => return e("invalid save value applies-to-item"),
            Some(_) => {}
        }
        if d.next().is_none() {
            return e("missing store coupon flag");
        }
        match d.next() {
            None => return e("missing don't-multiply flag"),
            Some(v) if v > 1 => return e("invalid don't-multiply flag"),
            Some(_) => {}
        }
    }
    if !d.done() {
        return e("excess data");
    }
    Ok(())
}

fn purchase_requirement(d: &mut Digits<'_>, which: &str) -> Result<(), LintFailure> {
    let l = Linter::CouponCode;
    match d.next() {
        None => {
            return fail(
                l,
                format!("coupon code: missing {which} purchase requirement length"),
            )
        }
        Some(v) if !(1..=5).contains(&v) => {
            return fail(
                l,
                format!("coupon code: invalid {which} purchase requirement length"),
            )
        }
        Some(v) => {
            if d.skip(usize::from(v)).is_none() {
                return fail(
                    l,
                    format!("coupon code: {which} purchase requirement is truncated"),
                );
            }
        }
    }
    match d.next() {
        None => {
            return fail(
                l,
                format!("coupon code: missing {which} purchase requirement code"),
            )
        }
        Some(v) if v > 4 && v != 9 => {
            return fail(
                l,
                format!("coupon code: invalid {which} purchase requirement code"),
            )
        }
        Some(_) => {}
    }
    if d.skip(3).is_none() {
        return fail(
            l,
            format!("coupon code: {which} purchase family code is truncated"),
        );
    }
    Ok(())
}

fn purchase_gcp(d: &mut Digits<'_>, which: &str) -> Result<(), LintFailure> {
    let l = Linter::CouponCode;
    match d.next() {
        None => fail(
            l,
            format!("coupon code: missing {which} purchase GCP length"),
        ),
        Some(9) => Ok(()),
        Some(v) if v > 6 => fail(
            l,
            format!("coupon code: invalid {which} purchase GCP length"),
        ),
        Some(v) => match d.skip(usize::from(v) + 6) {
            Some(_) => Ok(()),
            None => fail(l, format!("coupon code: {which} purchase GCP is truncated")),
        },
    }
}

fn coupon_pos_offer(b: &[u8]) -> Result<(), LintFailure> {
    let l = Linter::CouponPosOffer;
    if !b.iter().all(u8::is_ascii_digit) {
        return fail(l, "coupon offer must be digits only");
    }
    let e = |m: &str| fail(l, format!("coupon offer: {m}"));
    let mut d = Digits { b, p: 0 };
    match d.next() {
        None => return e("missing format code"),
        Some(0 | 1) => {}
        Some(_) => return e("invalid format code"),
    }
    match d.next() {
        None => return e("missing funder ID length"),
        Some(v) if v > 6 => return e("invalid funder ID length"),
        Some(v) => {
            if d.skip(usize::from(v) + 6).is_none() {
                return e("funder ID is truncated");
            }
        }
    }
    if d.skip(6).is_none() {
        return e("offer code is truncated");
    }
    let Some(v) = d.next() else {
        return e("missing serial number length");
    };
    if d.skip(usize::from(v) + 6).is_none() {
        return e("serial number is truncated");
    }
    if !d.done() {
        return e("excess data");
    }
    Ok(())
}

/// ISO 3166-1 numeric country codes (from gs1-syntax-engine `lint_iso3166.c`).
pub const ISO3166_NUMERIC: &[&str] = &[
    "004", "008", "010", "012", "016", "020", "024", "028", "031", "032", "036", "040", "044",
    "048", "050", "051", "052", "056", "060", "064", "068", "070", "072", "074", "076", "084",
    "086", "090", "092", "096", "100", "104", "108", "112", "116", "120", "124", "132", "136",
    "140", "144", "148", "152", "156", "158", "162", "166", "170", "174", "175", "178", "180",
    "184", "188", "191", "192", "196", "203", "204", "208", "212", "214", "218", "222", "226",
    "231", "232", "233", "234", "238", "239", "242", "246", "248", "250", "254", "258", "260",
    "262", "266", "268", "270", "275", "276", "288", "292", "296", "300", "304", "308", "312",
    "316", "320", "324", "328", "332", "334", "336", "340", "344", "348", "352", "356", "360",
    "364", "368", "372", "376", "380", "384", "388", "392", "398", "400", "404", "408", "410",
    "414", "417", "418", "422", "426", "428", "430", "434", "438", "440", "442", "446", "450",
    "454", "458", "462", "466", "470", "474", "478", "480", "484", "492", "496", "498", "499",
    "500", "504", "508", "512", "516", "520", "524", "528", "531", "533", "534", "535", "540",
    "548", "554", "558", "562", "566", "570", "574", "578", "580", "581", "583", "584", "585",
    "586", "591", "598", "600", "604", "608", "612", "616", "620", "624", "626", "630", "634",
    "638", "642", "643", "646", "652", "654", "659", "660", "662", "663", "666", "670", "674",
    "678", "682", "686", "688", "690", "694", "702", "703", "704", "705", "706", "710", "716",
    "724", "728", "729", "732", "740", "744", "748", "752", "756", "760", "762", "764", "768",
    "772", "776", "780", "784", "788", "792", "795", "796", "798", "800", "804", "807", "818",
    "826", "831", "832", "833", "834", "840", "850", "854", "858", "860", "862", "876", "882",
    "887", "894",
];

/// ISO 3166-1 alpha-2 country codes (from gs1-syntax-engine `lint_iso3166alpha2.c`).
pub const ISO3166_ALPHA2: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// ISO 4217 numeric currency codes (from gs1-syntax-engine `lint_iso4217.c`).
pub const ISO4217_NUMERIC: &[&str] = &[
    "008", "012", "032", "036", "044", "048", "050", "051", "052", "060", "064", "068", "072",
    "084", "090", "096", "104", "108", "116", "124", "132", "136", "144", "152", "156", "170",
    "174", "188", "191", "192", "203", "208", "214", "222", "230", "232", "238", "242", "262",
    "270", "292", "320", "324", "328", "332", "340", "344", "348", "352", "356", "360", "364",
    "368", "376", "388", "392", "398", "400", "404", "408", "410", "414", "417", "418", "422",
    "426", "430", "434", "446", "454", "458", "462", "480", "484", "496", "498", "504", "512",
    "516", "524", "532", "533", "548", "554", "558", "566", "578", "586", "590", "598", "600",
    "604", "608", "634", "643", "646", "654", "682", "690", "694", "702", "704", "706", "710",
    "728", "748", "752", "756", "760", "764", "776", "780", "784", "788", "800", "807", "818",
    "826", "834", "840", "858", "860", "882", "886", "901", "925", "927", "928", "929", "930",
    "931", "932", "933", "934", "936", "938", "940", "941", "943", "944", "946", "947", "948",
    "949", "950", "951", "952", "953", "955", "956", "957", "958", "959", "960", "961", "962",
    "963", "964", "965", "967", "968", "969", "970", "971", "972", "973", "975", "976", "977",
    "978", "979", "980", "981", "984", "985", "986", "990", "994", "997", "999",
];

/// AIDC media types (from gs1-syntax-engine `lint_mediatype.c`).
pub const MEDIA_TYPES: &[&str] = &[
    "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "80", "81", "82", "83", "84", "85",
    "86", "87", "88", "89", "90", "91", "92", "93", "94", "95", "96", "97", "98", "99",
];

/// PackageTypeCode values (from gs1-syntax-engine `lint_packagetype.c`).
pub const PACKAGE_TYPES: &[&str] = &[
    "1A", "1B", "1D", "1F", "1G", "1W", "200", "201", "202", "203", "204", "205", "206", "210",
    "211", "212", "2C", "3A", "3H", "43", "44", "4A", "4B", "4C", "4D", "4F", "4G", "4H", "5H",
    "5L", "5M", "6H", "6P", "7A", "7B", "8", "8A", "8B", "8C", "9", "AA", "AB", "AC", "AD", "AF",
    "AG", "AH", "AI", "AJ", "AL", "AM", "AP", "APE", "AT", "AV", "B4", "BB", "BC", "BD", "BE",
    "BF", "BG", "BGE", "BH", "BI", "BJ", "BK", "BL", "BM", "BME", "BN", "BO", "BP", "BQ", "BR",
    "BRI", "BS", "BT", "BU", "BV", "BW", "BX", "BY", "BZ", "CA", "CB", "CBL", "CC", "CCE", "CD",
    "CE", "CF", "CG", "CH", "CI", "CJ", "CK", "CL", "CM", "CN", "CO", "CP", "CQ", "CR", "CS", "CT",
    "CU", "CV", "CW", "CX", "CY", "CZ", "DA", "DB", "DC", "DG", "DH", "DI", "DJ", "DK", "DL", "DM",
    "DN", "DP", "DPE", "DR", "DS", "DT", "DU", "DV", "DW", "DX", "DY", "E1", "E2", "E3", "EC",
    "ED", "EE", "EF", "EG", "EH", "EI", "EN", "FB", "FC", "FD", "FE", "FI", "FL", "FO", "FOB",
    "FP", "FPE", "FR", "FT", "FW", "FX", "GB", "GI", "GL", "GR", "GU", "GY", "GZ", "HA", "HB",
    "HC", "HG", "HN", "HR", "IA", "IB", "IC", "ID", "IE", "IF", "IG", "IH", "IK", "IL", "IN", "IZ",
    "JB", "JC", "JG", "JR", "JT", "JY", "KG", "KI", "LAB", "LE", "LG", "LT", "LU", "LV", "LZ",
    "MA", "MB", "MC", "ME", "MPE", "MR", "MS", "MT", "MW", "MX", "NA", "NE", "NF", "NG", "NS",
    "NT", "NU", "NV", "OA", "OB", "OC", "OD", "OE", "OF", "OK", "OPE", "OT", "OU", "P2", "PA",
    "PAE", "PB", "PC", "PD", "PE", "PF", "PG", "PH", "PI", "PJ", "PK", "PL", "PLP", "PN", "PO",
    "POP", "PP", "PPE", "PR", "PT", "PU", "PUE", "PV", "PX", "PY", "PZ", "QA", "QB", "QC", "QD",
    "QF", "QG", "QH", "QJ", "QK", "QL", "QM", "QN", "QP", "QQ", "QR", "QS", "RB1", "RB2", "RB3",
    "RCB", "RD", "RG", "RJ", "RK", "RL", "RO", "RT", "RZ", "S1", "SA", "SB", "SC", "SD", "SE",
    "SEC", "SH", "SI", "SK", "SL", "SM", "SO", "SP", "SS", "ST", "STL", "SU", "SV", "SW", "SX",
    "SY", "SZ", "T1", "TB", "TC", "TD", "TE", "TEV", "TG", "THE", "TI", "TK", "TL", "TN", "TO",
    "TR", "TRE", "TS", "TT", "TTE", "TU", "TV", "TW", "TWE", "TY", "TZ", "UC", "UN", "UUE", "VA",
    "VG", "VI", "VK", "VL", "VN", "VO", "VP", "VQ", "VR", "VS", "VY", "WA", "WB", "WC", "WD", "WF",
    "WG", "WH", "WJ", "WK", "WL", "WM", "WN", "WP", "WQ", "WR", "WRP", "WS", "WT", "WU", "WV",
    "WW", "WX", "WY", "WZ", "X11", "X12", "X15", "X16", "X17", "X18", "X19", "X20", "X3", "XA",
    "XB", "XC", "XD", "XF", "XG", "XH", "XJ", "XK", "YA", "YB", "YC", "YD", "YF", "YG", "YH", "YJ",
    "YK", "YL", "YM", "YN", "YP", "YQ", "YR", "YS", "YT", "YV", "YW", "YX", "YY", "YZ", "ZA", "ZB",
    "ZC", "ZD", "ZF", "ZG", "ZH", "ZJ", "ZK", "ZL", "ZM", "ZN", "ZP", "ZQ", "ZR", "ZS", "ZT", "ZU",
    "ZV", "ZW", "ZX", "ZY", "ZZ",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(l: Linter, d: &str) -> bool {
        lint(l, d).is_ok()
    }

    // Vectors below are from gs1-syntax-engine src/c-lib/syntax/lint_*.c unit tests
    // (© GS1 AISBL, Apache-2.0).
    #[test]
    fn the_alphanumeric_check_pair_matches_the_engine_vectors() {
        for good in [
            "22",
            "!22",
            "!!22",
            "1987654Ad4X4bL5ttr2310c2K",
            "12345678901234567890123NT",
            "12345_ABCDEFGHIJKLMCP",
            "12345_NOPQRSTUVWXYZDN",
            "12345_abcdefghijklmN3",
            "12345_nopqrstuvwxyzP2",
            "12345_!\"%&'()*+,-./LC",
            "12345_0123456789:;<=>?62",
            "7907665Bm8v2AB",
            "97850l6KZm0yCD",
            "225803106GSpEF",
            "149512464PM+GH",
            "62577B8fRG7HJK",
            "515942070CYxLM",
            "390800494sP6NP",
            "386830132uO+QR",
            "53395376X1:nST",
            "957813138Sb6UV",
            "530790no0qOgWX",
            "62185314IvwmYZ",
            "23956qk1&dB!23",
            "794394895ic045",
            "57453Uq3qA<H67",
            "0881063PhHvY89",
            "00000!HV",
            "99999zzzzzzzzzzzzzzzzzzT2",
        ] {
            assert!(ok(Linter::CsumAlpha, good), "{good}");
        }
        for bad in [
            "",
            "2",
            "33",
            "1987654Ad4X4bL5ttr2310cXK",
            "1987654Ad4X4bL5ttr2310c2X",
        ] {
            assert!(!ok(Linter::CsumAlpha, bad), "{bad}");
        }
    }

    #[test]
    fn ibans_are_checked_with_mod_97() {
        for good in [
            "FR7630006000011234567890189",
            "DE91100000000123456789",
            "GB98MIDL07009312345678",
            "BE71096123456769",
            "MT90MALT011000012345MTLCAST001SABC",
        ] {
            assert!(ok(Linter::Iban, good), "{good}");
        }
        for bad in [
            "BE71096123456760",
            "",
            "BE71",
            "XX361234567890",
            "LC14BOSLxx3456789012345678901230",
            "MTXXMALT011000012345MTLCAST001SABCD",
        ] {
            assert!(!ok(Linter::Iban, bad), "{bad}");
        }
    }

    #[test]
    fn coupon_codes_follow_their_variable_length_layout() {
        assert!(ok(Linter::CouponCode, "012345612345611110123"));
        for bad in [
            "",
            "01",
            "0123456",
            "71234567890123",
            "01234561234560",
            "a12345612345611110123",
        ] {
            assert!(!ok(Linter::CouponCode, bad), "{bad}");
        }
        for good in [
            "001234561234560123456",
            "101234561234560123456",
            "0012345612345611234567",
            "061234567890121234569123456789012345",
        ] {
            assert!(ok(Linter::CouponPosOffer, good), "{good}");
        }
        for bad in [
            "",
            "201234561234560123456",
            "07",
            "00123456123456",
            "0012345612345601234567",
            "0612345678901212345691234567890123456",
        ] {
            assert!(!ok(Linter::CouponPosOffer, bad), "{bad}");
        }
    }

    #[test]
    fn code_lists_accept_listed_codes_only() {
        assert!(ok(Linter::Iso3166, "276"));
        assert!(!ok(Linter::Iso3166, "999"));
        assert!(ok(Linter::Iso3166Or999, "999"));
        assert!(ok(Linter::Iso4217, "978"));
        assert!(!ok(Linter::Iso4217, "000"));
        assert!(ok(Linter::Iso3166Alpha2, "DE"));
        assert!(!ok(Linter::Iso3166Alpha2, "AA"));
        assert!(ok(Linter::PackageType, "PX"));
        assert!(ok(Linter::PackageType, "X20"));
        assert!(!ok(Linter::PackageType, "_9"));
        assert!(ok(Linter::MediaType, "01"));
        assert!(!ok(Linter::MediaType, "11"));
    }

    #[test]
    fn small_format_linters_follow_the_engine() {
        for good in ["1/1", "2/3", "9/10", "100/100", "998/999"] {
            assert!(ok(Linter::PositionInSequence, good), "{good}");
        }
        for bad in ["", "/", "1/", "1//2", "0/1", "1/02", "2/1", "10/9", "x/y"] {
            assert!(!ok(Linter::PositionInSequence, bad), "{bad}");
        }
        assert!(ok(Linter::PieceOfTotal, "0102"));
        assert!(!ok(Linter::PieceOfTotal, "0302"));
        assert!(!ok(Linter::PieceOfTotal, "0002"));
        assert!(ok(Linter::Hhmi, "2359"));
        assert!(!ok(Linter::Hhmi, "2400"));
        assert!(!ok(Linter::Mi, "60"));
        assert!(ok(Linter::Latitude, "1800000000"));
        assert!(!ok(Linter::Latitude, "1800000001"));
        assert!(ok(Linter::ImporterIndex, "_"));
        assert!(!ok(Linter::ImporterIndex, "."));
        assert!(ok(Linter::PercentEncoded, "a%20b"));
        assert!(!ok(Linter::PercentEncoded, "a%2"));
        assert!(!ok(Linter::NoZeroPrefix, "012"));
        assert!(!ok(Linter::NoZeroPrefix, "0"));
        assert!(ok(Linter::Hyphen, "--"));
        assert!(!ok(Linter::Hyphen, ""));
        assert!(!ok(Linter::Winding, "2"));
        assert!(ok(Linter::NoZeroPrefix, "10"));
        assert!(ok(Linter::PercentEncoded, "%00"));
        assert!(!ok(Linter::PercentEncoded, "%fg"));
        assert!(ok(Linter::PieceOfTotal, "998999"));
        assert!(!ok(Linter::PieceOfTotal, "111"));
        assert!(!ok(Linter::HasNonDigit, "123"));
        assert!(ok(Linter::GcpPos2, "10614141"));
        assert!(!ok(Linter::GcpPos1, "012A"));
    }

    #[test]
    fn base64url_padding_follows_the_engine() {
        for good in ["", "123", "12", "12=", "1==", "ABCdef-_"] {
            assert!(check_charset(CharSet::Cset64, good).is_ok(), "{good}");
        }
        for bad in ["===", "123=", "12==", "1234=", " ", "AB C"] {
            assert!(check_charset(CharSet::Cset64, bad).is_err(), "{bad}");
        }
    }
}

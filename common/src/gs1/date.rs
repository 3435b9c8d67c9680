//! GS1 dates: `YYMMDD` (with `DD = 00` meaning "last day of the month" for `yymmd0` AIs) and
//! `YYYYMMDD`.
//!
//! Validation is clock-free. Like the engine's `lint_yymmd0.c` / `lint_yymmdd.c`, the leap-year
//! check maps `YY` to a full year with a fixed horizon around 2021 (`YY >= 72` → 19YY, otherwise
//! 20YY). Since 1900 is the only non-leap year divisible by four in that window and it maps to
//! `YY = 00` → 2000, the result equals the GS1 rule for any reference year between 1951 and 2049.
//!
//! Resolving a `YYMMDD` to a full calendar date uses the GS1 General Specifications century rule
//! relative to a reference year passed in by the caller (this crate reads no clock).

use serde::{Deserialize, Serialize};

/// A calendar date resolved from GS1 data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Gs1Date {
    /// Full year, e.g. 2026.
    pub year: u16,
    /// Month 1–12.
    pub month: u8,
    /// Day 1–31 (a `DD = 00` date is resolved to the last day of the month).
    pub day: u8,
}

impl std::fmt::Display for Gs1Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The engine's fixed horizon year (`CURRENT_YEAR` in `lint_yymmd0.c`).
const VALIDATION_REFERENCE_YEAR: u16 = 2021;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// True for Gregorian leap years.
pub fn is_leap_year(year: u16) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `month` (1–12) of `year`; 0 for an invalid month.
pub fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Resolves a two-digit year to a full year using the GS1 century rule relative to
/// `reference_year`: a `YY` 51 or more years ahead belongs to the previous century, one 50 or
/// more years behind to the next century, anything else to the reference year's century.
pub fn resolve_century(yy: u8, reference_year: u16) -> u16 {
    let yy = i32::from(yy % 100);
    let reference = i32::from(reference_year);
    let century = reference - reference.rem_euclid(100);
    let diff = yy - reference.rem_euclid(100);
    let year = if diff >= 51 {
        century - 100 + yy
    } else if diff > -50 {
        century + yy
    } else {
        century + 100 + yy
    };
    u16::try_from(year).unwrap_or(0)
}

fn digits(data: &str) -> Result<Vec<u8>, String> {
    data.bytes()
        .map(|b| {
            if b.is_ascii_digit() {
                Ok(b - b'0')
            } else {
                Err("date must be digits only".to_string())
            }
        })
        .collect()
}

fn check(year: u16, month: u8, day: u8, zero_day_ok: bool) -> Result<(), String> {
    if !(1..=12).contains(&month) {
        return Err(format!("month {month:02} does not exist"));
    }
    let last = days_in_month(year, month);
    let name = MONTHS
        .get(usize::from(month).saturating_sub(1))
        .copied()
        .unwrap_or("?");
    if day == 0 && !zero_day_ok {
        return Err("day 00 is not allowed here".to_string());
    }
    if day > last {
        return Err(format!("day {day:02} does not exist in {name} {year}"));
    }
    Ok(())
}

fn split_yymmdd(data: &str) -> Result<(u8, u8, u8), String> {
    if data.len() != 6 {
        return Err(format!(
            "date must be 6 digits YYMMDD, got {} characters",
            data.len()
        ));
    }
    let d = digits(data)?;
    match d.as_slice() {
        [y1, y2, m1, m2, d1, d2] => Ok((y1 * 10 + y2, m1 * 10 + m2, d1 * 10 + d2)),
        _ => Err("date must be 6 digits YYMMDD".to_string()),
    }
}

/// Validates a `YYMMDD` date; `zero_day_ok` permits `DD = 00` (the `yymmd0` linter).
/// Returns an operator-readable reason on failure.
pub fn validate_yymmdd(data: &str, zero_day_ok: bool) -> Result<(), String> {
    let (yy, mm, dd) = split_yymmdd(data)?;
    check(
        resolve_century(yy, VALIDATION_REFERENCE_YEAR),
        mm,
        dd,
        zero_day_ok,
    )
}

/// Validates a `YYYYMMDD` date.
pub fn validate_yyyymmdd(data: &str) -> Result<(), String> {
    if data.len() != 8 {
        return Err(format!(
            "date must be 8 digits YYYYMMDD, got {} characters",
            data.len()
        ));
    }
    let d = digits(data)?;
    let n = |s: &[u8]| s.iter().fold(0u16, |a, &x| a * 10 + u16::from(x));
    let year = n(d.get(..4).unwrap_or_default());
    let month = u8::try_from(n(d.get(4..6).unwrap_or_default())).unwrap_or(0);
    let day = u8::try_from(n(d.get(6..8).unwrap_or_default())).unwrap_or(0);
    check(year, month, day, false)
}

/// Resolves a `YYMMDD` (or `YYMM00`) value to a calendar date, relative to `reference_year`
/// (normally the current year, supplied by the caller). `DD = 00` becomes the last day of the
/// month. Returns `None` when the value is not a valid date.
pub fn resolve_yymmdd(data: &str, reference_year: u16) -> Option<Gs1Date> {
    let (yy, month, day) = split_yymmdd(data).ok()?;
    let year = resolve_century(yy, reference_year);
    check(year, month, day, true).ok()?;
    let day = if day == 0 {
        days_in_month(year, month)
    } else {
        day
    };
    Some(Gs1Date { year, month, day })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors from gs1-syntax-engine src/c-lib/syntax/lint_yymmd0.c (© GS1 AISBL, Apache-2.0).
    #[test]
    fn yymmd0_vectors_from_the_engine_pass_and_fail_as_expected() {
        for ok in [
            "000606", "250606", "500606", "750606", "990606", "200131", "200229", "200331",
            "200430", "200531", "200630", "200731", "200831", "200930", "201031", "201130",
            "201231", "210228", "220228", "230228", "240229", "000229", "040229", "960229",
            "200600",
        ] {
            assert_eq!(validate_yymmdd(ok, true), Ok(()), "{ok}");
        }
        for bad in [
            "x00131", "2x0131", "20x131", "200x31", "2001x1", "20013x", "", "1", "11", "111",
            "1111", "11111", "1111111", "200010", "201310", "209910", "200132", "200230", "200332",
            "200431", "200532", "200631", "200732", "200832", "200931", "201032", "201131",
            "201232", "210229", "220229", "230229", "240230", "000230", "040230", "960230",
        ] {
            assert!(validate_yymmdd(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn day_00_is_only_allowed_by_the_yymmd0_linter() {
        assert_eq!(validate_yymmdd("200600", true), Ok(()));
        assert!(validate_yymmdd("200600", false).is_err());
    }

    #[test]
    fn an_expiry_date_with_day_00_means_the_last_day_of_the_month() {
        assert_eq!(
            resolve_yymmdd("240200", 2026),
            Some(Gs1Date {
                year: 2024,
                month: 2,
                day: 29
            })
        );
        assert_eq!(
            resolve_yymmdd("250200", 2026),
            Some(Gs1Date {
                year: 2025,
                month: 2,
                day: 28
            })
        );
        assert_eq!(
            resolve_yymmdd("260400", 2026),
            Some(Gs1Date {
                year: 2026,
                month: 4,
                day: 30
            })
        );
    }

    #[test]
    fn february_29_exists_only_in_leap_years() {
        assert_eq!(
            validate_yymmdd("210229", true),
            Err("day 29 does not exist in February 2021".to_string())
        );
        assert_eq!(validate_yymmdd("240229", true), Ok(()));
        assert!(validate_yyyymmdd("19000229").is_err());
        assert_eq!(validate_yyyymmdd("20000229"), Ok(()));
    }

    #[test]
    fn the_century_follows_the_gs1_fifty_year_window() {
        assert_eq!(resolve_century(26, 2026), 2026);
        assert_eq!(resolve_century(76, 2026), 2076);
        assert_eq!(resolve_century(77, 2026), 1977);
        assert_eq!(resolve_century(99, 2026), 1999);
        assert_eq!(resolve_century(0, 2026), 2000);
        assert_eq!(resolve_century(10, 2080), 2110);
        assert_eq!(resolve_century(30, 2080), 2130);
        assert_eq!(resolve_century(31, 2080), 2031);
    }
}

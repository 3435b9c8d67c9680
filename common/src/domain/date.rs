//! A calendar date without a clock (expiry and best-before dates).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a date is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Not `YYYY-MM-DD`.
    #[error("{text:?} is not a date in the form YYYY-MM-DD")]
    Format {
        /// The input.
        text: String,
    },
    /// Month outside 1..=12.
    #[error("month {month} does not exist")]
    Month {
        /// The month.
        month: u8,
    },
    /// Day outside the month.
    #[error("day {day} does not exist in {year:04}-{month:02}")]
    Day {
        /// The year.
        year: u16,
        /// The month.
        month: u8,
        /// The day.
        day: u8,
    },
    /// Year outside 2000..=2199.
    #[error("year {year} is outside 2000..2199")]
    Year {
        /// The year.
        year: u16,
    },
}

/// A valid Gregorian date between 2000-01-01 and 2199-12-31. Orders chronologically.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

/// True for Gregorian leap years.
pub fn is_leap_year(year: u16) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `month` of `year` (0 for an invalid month).
pub fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// Validates the parts.
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, DateError> {
        if !(2000..=2199).contains(&year) {
            return Err(DateError::Year { year });
        }
        if !(1..=12).contains(&month) {
            return Err(DateError::Month { month });
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(DateError::Day { year, month, day });
        }
        Ok(Self { year, month, day })
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Self, DateError> {
        let format = || DateError::Format {
            text: text.to_string(),
        };
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(format());
        }
        let num = |s: &str| -> Result<u16, DateError> {
            if s.bytes().all(|c| c.is_ascii_digit()) {
                s.parse().map_err(|_| format())
            } else {
                Err(format())
            }
        };
        let year = num(&text[0..4])?;
        let month = u8::try_from(num(&text[5..7])?).map_err(|_| format())?;
        let day = u8::try_from(num(&text[8..10])?).map_err(|_| format())?;
        Self::new(year, month, day)
    }

    /// The year.
    pub fn year(self) -> u16 {
        self.year
    }
    /// The month (1..=12).
    pub fn month(self) -> u8 {
        self.month
    }
    /// The day of the month.
    pub fn day(self) -> u8 {
        self.day
    }
}

impl TryFrom<String> for Date {
    type Error = DateError;
    fn try_from(text: String) -> Result<Self, DateError> {
        Date::parse(&text)
    }
}

impl From<Date> for String {
    fn from(date: Date) -> String {
        date.to_string()
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn february_29_exists_only_in_leap_years() {
        assert!(Date::new(2024, 2, 29).is_ok());
        assert!(Date::new(2000, 2, 29).is_ok());
        assert!(Date::new(2100, 2, 29).is_err());
        assert_eq!(
            Date::new(2021, 2, 29).err().map(|e| e.to_string()),
            Some("day 29 does not exist in 2021-02".to_string())
        );
    }

    #[test]
    fn dates_parse_from_iso_text_and_order_chronologically() {
        let a = Date::parse("2026-06-30");
        let b = Date::parse("2026-12-01");
        assert!(matches!((a, b), (Ok(a), Ok(b)) if a < b));
        for bad in [
            "2026-6-30",
            "2026-13-01",
            "20260630",
            "2026-06-3x",
            "1999-12-31",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
    }
}

//! Locations: hierarchical codes such as `A-01-03-B-2` (zone-aisle-bay-level-position), their kind
//! and whether stock there can be picked.

use super::ids::{check_id, IdError};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// A location code: 1 to 8 segments of upper-case letters and digits joined by `-`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LocationCode(Arc<str>);

/// The most segments a location code may have.
pub const MAX_LOCATION_SEGMENTS: usize = 8;

impl LocationCode {
    /// Validates `text`.
    pub fn new(text: impl Into<String>) -> Result<Self, IdError> {
        let text = text.into();
        check_id(
            "location",
            &text,
            40,
            "upper-case letters and digits, segments joined by '-'",
            |c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-',
        )?;
        let segments = text.split('-').count();
        if text.split('-').any(str::is_empty) {
            return Err(IdError::BadChar {
                kind: "location",
                found: '-',
                allowed: "'-' only between non-empty segments",
            });
        }
        if segments > MAX_LOCATION_SEGMENTS {
            return Err(IdError::TooLong {
                kind: "location segments",
                len: segments,
                max: MAX_LOCATION_SEGMENTS,
            });
        }
        Ok(Self(Arc::from(text)))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The segments from the outermost (zone) to the innermost (position).
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('-')
    }

    /// The enclosing location (`A-01-03` for `A-01-03-B`), or `None` for a top-level code.
    pub fn parent(&self) -> Option<LocationCode> {
        self.0
            .rsplit_once('-')
            .map(|(parent, _)| LocationCode(Arc::from(parent)))
    }

    /// True when `self` is `other` or lies inside it (`A-01-03` is within `A-01`).
    pub fn is_within(&self, other: &LocationCode) -> bool {
        self.0 == other.0
            || (self.0.len() > other.0.len()
                && self.0.starts_with(&*other.0)
                && self.0.as_bytes().get(other.0.len()) == Some(&b'-'))
    }
}

impl TryFrom<String> for LocationCode {
    type Error = IdError;
    fn try_from(text: String) -> Result<Self, IdError> {
        Self::new(text)
    }
}

impl From<LocationCode> for String {
    fn from(code: LocationCode) -> String {
        code.0.to_string()
    }
}

impl fmt::Display for LocationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a location is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationKind {
    /// Inbound dock / receiving area.
    Receiving,
    /// Bulk reserve storage.
    Reserve,
    /// Forward pick face.
    Pick,
    /// Pack station.
    Pack,
    /// Outbound dock.
    Ship,
    /// Returns area.
    Returns,
    /// Quarantine area.
    Quarantine,
}

impl LocationKind {
    /// Whether locations of this kind are pickable unless configured otherwise.
    pub fn pickable_by_default(self) -> bool {
        matches!(self, LocationKind::Reserve | LocationKind::Pick)
    }
}

/// Master data of one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationInfo {
    /// What it is used for.
    pub kind: LocationKind,
    /// Whether available stock here counts towards what can be promised.
    pub pickable: bool,
    /// Optional capacity in base units.
    pub capacity: Option<super::decimal::NonNegQty>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_code_exposes_its_hierarchy() -> Result<(), IdError> {
        let code = LocationCode::new("A-01-03-B-2")?;
        assert_eq!(
            code.segments().collect::<Vec<_>>(),
            ["A", "01", "03", "B", "2"]
        );
        assert_eq!(
            code.parent().map(String::from),
            Some("A-01-03-B".to_string())
        );
        assert!(code.is_within(&LocationCode::new("A-01")?));
        assert!(!code.is_within(&LocationCode::new("A-0")?));
        Ok(())
    }

    #[test]
    fn empty_segments_lower_case_and_deep_hierarchies_are_rejected() {
        for bad in ["A--1", "-A", "A-", "a-01", "A 01", "A-B-C-D-E-F-G-H-I"] {
            assert!(LocationCode::new(bad).is_err(), "{bad}");
        }
    }
}

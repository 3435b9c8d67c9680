//! Validated identifiers: node, SKU, operator, station, order, container, task, lot, serial.
//!
//! Every identifier is checked when it is built, including when it is decoded from the wire
//! or from JSON (`serde(try_from)`), so an invalid id can never exist in memory.
//!
//! The text is held in an `Arc<str>`: a clone shares it. The agent and the hub keep the same
//! ids in many keys (every balance line, running total and index entry names its node, SKU and
//! place), and a `String` per copy was a large part of the agent's resident memory.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// Why a piece of text is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The text was empty.
    #[error("{kind} must not be empty")]
    Empty {
        /// Which identifier.
        kind: &'static str,
    },
    /// The text was longer than allowed.
    #[error("{kind} is {len} characters long; at most {max} are allowed")]
    TooLong {
        /// Which identifier.
        kind: &'static str,
        /// Its length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The text held a character that is not allowed.
    #[error("{kind} contains {found:?}, which is not allowed ({allowed})")]
    BadChar {
        /// Which identifier.
        kind: &'static str,
        /// The offending character.
        found: char,
        /// A description of the allowed characters.
        allowed: &'static str,
    },
}

/// Checks `text` against a length limit and a character predicate.
pub(crate) fn check_id(
    kind: &'static str,
    text: &str,
    max: usize,
    allowed: &'static str,
    ok: fn(char) -> bool,
) -> Result<(), IdError> {
    if text.is_empty() {
        return Err(IdError::Empty { kind });
    }
    let len = text.chars().count();
    if len > max {
        return Err(IdError::TooLong { kind, len, max });
    }
    if let Some(found) = text.chars().find(|c| !ok(*c)) {
        return Err(IdError::BadChar {
            kind,
            found,
            allowed,
        });
    }
    Ok(())
}

/// Upper-case letters, digits, `-`, `_` and `.`: codes people read aloud and type.
pub(crate) fn code_char(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')
}

/// Printable ASCII without space: what a barcode or a document number can carry.
pub(crate) fn printable_char(c: char) -> bool {
    c.is_ascii_graphic()
}

/// GS1 character set 82 (what AI (10) lot and (21) serial may hold).
pub(crate) fn cset82_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '!' | '"'
                | '%'
                | '&'
                | '\''
                | '('
                | ')'
                | '*'
                | '+'
                | ','
                | '-'
                | '.'
                | '/'
                | ':'
                | ';'
                | '<'
                | '='
                | '>'
                | '?'
                | '_'
        )
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:expr, $allowed:literal, $pred:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Arc<str>);

        impl $name {
            /// The longest value accepted, in characters.
            pub const MAX_LEN: usize = $max;

            /// Validates and wraps `text`.
            pub fn new(text: impl Into<String>) -> Result<Self, IdError> {
                let text = text.into();
                check_id($kind, &text, $max, $allowed, $pred)?;
                Ok(Self(Arc::from(text)))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(text: String) -> Result<Self, IdError> {
                Self::new(text)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(text: &str) -> Result<Self, IdError> {
                Self::new(text)
            }
        }
    };
}

string_id!(
    /// A warehouse node (one agent), e.g. `DC-EAST`. Also the MQTT username and topic segment,
    /// hence the narrow alphabet.
    NodeId, "node id", 32, "upper-case letters, digits, '-', '_' and '.'", code_char
);
string_id!(
    /// A stock-keeping unit, e.g. `MUG-BLUE`.
    Sku, "SKU", 40, "upper-case letters, digits, '-', '_' and '.'", code_char
);
string_id!(
    /// An operator (from a `U:` badge), e.g. `op-17`.
    OperatorId, "operator", 32, "printable ASCII without spaces", printable_char
);
string_id!(
    /// A station (handheld or pack station), e.g. `pack-1`.
    StationId, "station", 32, "printable ASCII without spaces", printable_char
);
string_id!(
    /// An order document reference, e.g. `SO-5001`.
    OrderRef, "order reference", 40, "printable ASCII without spaces", printable_char
);
string_id!(
    /// A tote, carton or pallet licence plate (or an SSCC), e.g. `TOTE-0042`.
    ContainerId, "container", 40, "printable ASCII without spaces", printable_char
);
string_id!(
    /// A task (receive, putaway, pick, …) issued by the hub or created on the node.
    TaskId, "task id", 64, "printable ASCII without spaces", printable_char
);
string_id!(
    /// A document reference: inbound notice, RMA, adjustment id.
    DocRef, "document reference", 40, "printable ASCII without spaces", printable_char
);
string_id!(
    /// A batch or lot number, as in GS1 AI (10).
    Lot, "lot", 20, "GS1 character set 82", cset82_char
);
string_id!(
    /// A serial number, as in GS1 AI (21).
    Serial, "serial", 20, "GS1 character set 82", cset82_char
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_id_rejects_lower_case_with_a_message_naming_the_character() {
        let err = NodeId::new("dc-east").err();
        assert_eq!(
            err.map(|e| e.to_string()),
            Some(
                "node id contains 'd', which is not allowed (upper-case letters, digits, '-', '_' and '.')"
                    .to_string()
            )
        );
    }

    #[test]
    fn identifiers_enforce_empty_and_length_limits() {
        assert_eq!(Sku::new(""), Err(IdError::Empty { kind: "SKU" }));
        assert!(matches!(
            Lot::new("X".repeat(21)),
            Err(IdError::TooLong {
                max: 20,
                len: 21,
                ..
            })
        ));
        assert!(Lot::new("X".repeat(20)).is_ok());
    }

    #[test]
    fn a_lot_accepts_gs1_cset82_but_not_a_space_or_tilde() {
        assert!(Lot::new("AB-12/3.x").is_ok());
        assert!(Lot::new("AB 12").is_err());
        assert!(Lot::new("AB~12").is_err());
    }

    #[test]
    fn an_invalid_identifier_is_rejected_when_decoded_from_json() {
        let parsed: Result<Sku, _> = serde_json::from_str("\"mug blue\"");
        assert!(parsed.is_err());
        let ok: Result<Sku, _> = serde_json::from_str("\"MUG-BLUE\"");
        assert_eq!(ok.ok().map(String::from), Some("MUG-BLUE".to_string()));
    }
}

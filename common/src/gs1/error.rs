//! Errors from understanding a scan. Messages are written for the operator at the scanner.

/// Why scan data could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// Nothing was scanned.
    #[error("the scan is empty")]
    Empty,
    /// `]` alone or `]X`: an AIM symbology identifier needs three characters.
    #[error("symbology identifier \"{0}\" is incomplete (expected ] and two characters)")]
    IncompleteSymbologyId(String),
    /// An AIM symbology identifier this system does not handle.
    #[error("unsupported symbology identifier \"{0}\"")]
    UnsupportedSymbology(String),
    /// A GS1 symbology (GS1-128, GS1 DataMatrix, …) without any data after its identifier.
    #[error("the {0} scan carries no GS1 data")]
    EmptyGs1Data(&'static str),
    /// EAN/UPC/ITF data of the wrong length.
    #[error("{what} must be {expected} digits, got {got}")]
    WrongLength {
        /// e.g. "EAN-13".
        what: &'static str,
        /// e.g. "13".
        expected: &'static str,
        /// Length received.
        got: usize,
    },
    /// EAN/UPC/ITF data with a non-digit.
    #[error("{0} must contain digits only")]
    NotDigits(&'static str),
    /// EAN/UPC/ITF/GTIN with a wrong check digit.
    #[error("{what} check digit should be {expected}")]
    CheckDigit {
        /// e.g. "GTIN".
        what: &'static str,
        /// The correct check digit.
        expected: u8,
    },
    /// The element string names an AI that is not in the GS1 Barcode Syntax Dictionary.
    #[error("unknown AI ({0})")]
    UnknownAi(String),
    /// The data ends inside an AI.
    #[error("the data ends in the middle of an AI: \"{0}\"")]
    TruncatedAi(String),
    /// An AI without a value.
    #[error("AI ({ai}) {name} has no value")]
    EmptyValue {
        /// The AI.
        ai: String,
        /// Its name.
        name: String,
    },
    /// A value shorter than its format allows.
    #[error("AI ({ai}) {name} \"{value}\" is too short: needs {min} characters")]
    TooShort {
        /// The AI.
        ai: String,
        /// Its name.
        name: String,
        /// The value received.
        value: String,
        /// Minimum length.
        min: usize,
    },
    /// A value longer than its format allows.
    #[error("AI ({ai}) {name} \"{value}\" is too long: at most {max} characters")]
    TooLong {
        /// The AI.
        ai: String,
        /// Its name.
        name: String,
        /// The value received.
        value: String,
        /// Maximum length.
        max: usize,
    },
    /// A character outside the AI's character set.
    #[error("AI ({ai}) {name} \"{value}\": character {character:?} at position {position} {why}")]
    BadCharacter {
        /// The AI.
        ai: String,
        /// Its name.
        name: String,
        /// The value received.
        value: String,
        /// The offending character.
        character: char,
        /// 1-based position in the value.
        position: usize,
        /// Why it is not allowed.
        why: String,
    },
    /// A value that fails a GS1 linter (check digit, date, country code, …).
    #[error("AI ({ai}) {name} {value}: {reason}")]
    InvalidValue {
        /// The AI.
        ai: String,
        /// Its name.
        name: String,
        /// The value received.
        value: String,
        /// What is wrong, e.g. "day 29 does not exist in February 2021".
        reason: String,
    },
    /// The same AI twice in one scan with different values.
    #[error("AI ({ai}) appears twice with different values ({first} and {second})")]
    ConflictingRepeat {
        /// The AI.
        ai: String,
        /// First value.
        first: String,
        /// Second value.
        second: String,
    },
    /// Two AIs that must not appear together (`ex=` rule).
    #[error("AI ({ai}) must not appear together with AI ({other})")]
    MutuallyExclusive {
        /// The AI declaring the exclusion.
        ai: String,
        /// The AI it excludes.
        other: String,
    },
    /// A digital signature (8030) with a GDTI/GCN/GRAI key that lacks its serial component.
    #[error("AI ({ai}) {name} must include its serial component when a digital signature (8030) is present")]
    SerialRequiredForSignature {
        /// The key AI (253, 255 or 8003).
        ai: String,
        /// Its name.
        name: String,
    },
    /// The bracketed notation `(01)…(10)…` is malformed.
    #[error("malformed bracketed element string: {0}")]
    Bracketed(String),
    /// A GS1 Digital Link URI that breaks the Digital Link rules.
    #[error("invalid GS1 Digital Link: {0}")]
    DigitalLink(String),
}

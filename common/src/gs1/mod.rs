//! GS1 barcode understanding (AIM symbology identifiers, element strings, Digital Link).

pub mod ai_table;
pub mod date;
mod dictionary_check;
pub mod digital_link;
pub mod ean;
pub mod element_string;
pub mod error;
pub mod linters;
pub mod symbology;

pub use element_string::{AiElement, Gs1Data, ValueKind};
pub use error::ScanError;

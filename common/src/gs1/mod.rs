//! GS1 barcode understanding: AIM symbology identifiers, EAN/UPC/ITF primaries, GS1 element
//! strings checked against the GS1 Barcode Syntax Dictionary, GS1 Digital Link URIs, and the
//! cross-scan association rules.
//!
//! Start at [`parse_scan`].

pub mod ai_table;
pub mod association;
pub mod date;
mod dictionary_check;
pub mod digital_link;
pub mod ean;
pub mod element_string;
pub mod error;
pub mod linters;
pub mod scan;
pub mod symbology;

pub use association::{check_associations, AssociationError};
pub use date::Gs1Date;
pub use digital_link::{parse_digital_link, DigitalLink};
pub use ean::{Gtin, GtinFormat};
pub use element_string::{parse_bracketed, parse_element_string, AiElement, Gs1Data, ValueKind};
pub use error::ScanError;
pub use scan::{parse_scan, ScanContent, ScanData};
pub use symbology::{AimId, Symbology};

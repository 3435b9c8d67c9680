//! GS1 barcode understanding: AIM symbology identifiers, EAN/UPC/ITF primaries, GS1 element
//! strings checked against the GS1 Barcode Syntax Dictionary, GS1 Digital Link URIs, and the
//! cross-scan association rules.
//!
//! Start at [`parse_scan`]. The rules follow GS1's reference implementation, the GS1 Barcode
//! Syntax Engine (gs1/gs1-syntax-engine, Apache-2.0), whose unit-test vectors are transcribed in
//! the tests. Deliberate differences, because scanners in the field are configured loosely:
//!
//! * Data without an AIM identifier is accepted (the engine rejects it): bare GTIN digits with a
//!   valid check digit become a GTIN, `<GS>`-separated or bracketed AI data becomes GS1 data,
//!   anything else is text.
//! * An `http(s)://` text whose path holds no GS1 primary key is plain text (the engine would
//!   fail the scan); a URI that does hold a key must be a valid Digital Link.
//! * `req=` associations are never checked per scan (the engine can be configured the same
//!   way); use [`check_associations`] when an item is assembled from all its symbols.
//! * No GS1 Company Prefix allocation list is available offline, so `gcppos1`/`gcppos2` check
//!   the shape only (as the engine does without a custom lookup).

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

pub use association::{check_associations, check_scan_associations, AssociationError};
pub use date::Gs1Date;
pub use digital_link::{parse_digital_link, DigitalLink};
pub use ean::{Gtin, GtinFormat};
pub use element_string::{parse_bracketed, parse_element_string, AiElement, Gs1Data, ValueKind};
pub use error::ScanError;
pub use scan::{parse_scan, ScanContent, ScanData};
pub use symbology::{AimId, Symbology};

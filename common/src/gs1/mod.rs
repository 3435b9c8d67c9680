//! GS1 barcode understanding (AIM symbology identifiers, element strings, Digital Link).

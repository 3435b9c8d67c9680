//! Page cursors over balance lines: a [`StockKey`] as lowercase hex of its postcard bytes.
//! Listings hand out the last line's cursor as `next` and take it back as `after`; the cursor is
//! outside input on the way back, so decoding it validates everything.

use super::StockKey;

/// The longest cursor accepted, in characters (a key is far shorter).
pub const MAX_CURSOR_CHARS: usize = 4_096;

/// Why a cursor was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    /// Longer than [`MAX_CURSOR_CHARS`].
    #[error("longer than {MAX_CURSOR_CHARS} characters")]
    TooLong,
    /// Not an even number of hex digits.
    #[error("not hex digits")]
    NotHex,
    /// The bytes are not a balance line key.
    #[error("not a balance line key")]
    NotAKey,
}

/// The cursor of the page that ends at `key`.
pub fn encode_cursor(key: &StockKey) -> String {
    postcard::to_allocvec(key)
        .map(|bytes| bytes.iter().map(|b| format!("{b:02x}")).collect())
        .unwrap_or_default()
}

/// The key a cursor from [`encode_cursor`] stands for.
pub fn decode_cursor(text: &str) -> Result<StockKey, CursorError> {
    if text.len() > MAX_CURSOR_CHARS {
        return Err(CursorError::TooLong);
    }
    if text.len() % 2 != 0 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CursorError::NotHex);
    }
    let bytes: Vec<u8> = text
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(CursorError::NotHex)
        })
        .collect::<Result<_, _>>()?;
    let (key, rest) =
        postcard::take_from_bytes::<StockKey>(&bytes).map_err(|_| CursorError::NotAKey)?;
    // Only the one encoding of a key is a cursor (postcard also reads over-long varints).
    if !rest.is_empty() || postcard::to_allocvec(&key).ok().as_deref() != Some(&bytes[..]) {
        return Err(CursorError::NotAKey);
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{LocationCode, NodeId, Place, Sku, StockRef, StockStatus};
    use proptest::prelude::*;

    fn key(node: &str, location: &str, sku: &str) -> Option<StockKey> {
        Some(StockKey {
            node: NodeId::new(node).ok()?,
            place: Place::Location(LocationCode::new(location).ok()?),
            stock: StockRef::plain(Sku::new(sku).ok()?),
            status: StockStatus::Available,
        })
    }

    proptest! {
        #[test]
        fn every_key_comes_back_from_its_cursor(
            node in "[A-Z]{2}-[A-Z0-9]{1,8}",
            location in "[A-Z]-[0-9]{2}-[0-9]{2}",
            sku in "[A-Z0-9-]{1,20}",
        ) {
            if let Some(k) = key(&node, &location, &sku) {
                let cursor = encode_cursor(&k);
                prop_assert!(cursor.bytes().all(|b| b.is_ascii_hexdigit()));
                prop_assert_eq!(decode_cursor(&cursor), Ok(k));
            }
        }

        #[test]
        fn any_text_decodes_to_a_key_or_a_clear_error_and_never_panics(text in ".{0,200}") {
            let _ = decode_cursor(&text);
        }
    }

    #[test]
    fn odd_length_non_hex_and_trailing_bytes_are_refused() {
        let k = key("DC-EAST", "A-01-01", "MUG").unwrap_or_else(|| unreachable!());
        let cursor = encode_cursor(&k);
        assert_eq!(decode_cursor(&cursor[1..]), Err(CursorError::NotHex));
        assert_eq!(decode_cursor("zz"), Err(CursorError::NotHex));
        assert_eq!(
            decode_cursor(&format!("{cursor}00")),
            Err(CursorError::NotAKey)
        );
        assert_eq!(decode_cursor("0102"), Err(CursorError::NotAKey));
        // Found by the stock_cursor fuzz target: an over-long varint postcard accepts.
        assert_eq!(
            decode_cursor("015001015501550000008200"),
            Err(CursorError::NotAKey)
        );
        assert_eq!(
            decode_cursor(&"0".repeat(MAX_CURSOR_CHARS + 2)),
            Err(CursorError::TooLong)
        );
    }
}

//! The duplicate-fire filter every scan goes through (device and API alike): the shared
//! scanner framer of `stockpost-common`, fed one already-framed payload at a time.

use stockpost_common::scanner_framing::{ScannerFramer, ScannerFramingConfig, Terminator};

/// The longest payload a station accepts.
pub const MAX_SCAN_BYTES: usize = 4096;

/// What the filter made of one payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admit {
    /// A payload to handle.
    Pass(Vec<u8>),
    /// The same payload again within the window: a scanner double-fire, counted once.
    Duplicate,
    /// Longer than [`MAX_SCAN_BYTES`].
    TooLong,
    /// Nothing left (an empty payload).
    Empty,
}

/// One station's filter.
#[derive(Debug)]
pub struct DuplicateFilter {
    framer: ScannerFramer,
}

impl DuplicateFilter {
    /// A filter with a window of `window_ms` (0 turns it off).
    pub fn new(window_ms: u64) -> Self {
        let config = ScannerFramingConfig {
            terminator: Terminator::Lf,
            idle_timeout_ms: None,
            mask_7bit: false,
            strip_bom_nul: false,
            prefix: Vec::new(),
            suffix: Vec::new(),
            max_frame_len: MAX_SCAN_BYTES,
            duplicate_window_ms: (window_ms > 0).then_some(window_ms),
        };
        Self {
            framer: ScannerFramer::new(config),
        }
    }

    /// Passes one payload (without terminator; it must not contain LF) seen at `now_ms`
    /// (a monotonic clock).
    pub fn admit(&mut self, payload: &[u8], now_ms: u64) -> Admit {
        let before = self.framer.stats();
        let mut framed = Vec::with_capacity(payload.len() + 1);
        framed.extend_from_slice(payload);
        framed.push(b'\n');
        self.framer.push(&framed, now_ms);
        let frame = self.framer.next_frame(now_ms);
        // Drain anything else (nothing is expected: the payload has no LF of its own).
        while self.framer.next_frame(now_ms).is_some() {}
        let after = self.framer.stats();
        match frame {
            Some(f) => Admit::Pass(f),
            None if after.duplicate_frames > before.duplicate_frames => Admit::Duplicate,
            None if after.oversize_frames > before.oversize_frames => Admit::TooLong,
            None => Admit::Empty,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_inside_the_window_is_dropped_and_one_after_it_counts() {
        let mut f = DuplicateFilter::new(300);
        assert_eq!(f.admit(b"U:op-1", 1000), Admit::Pass(b"U:op-1".to_vec()));
        assert_eq!(f.admit(b"U:op-1", 1100), Admit::Duplicate);
        assert_eq!(f.admit(b"U:op-1", 1500), Admit::Pass(b"U:op-1".to_vec()));
        assert_eq!(f.admit(b"L:A-1", 1510), Admit::Pass(b"L:A-1".to_vec()));
    }

    #[test]
    fn a_window_of_zero_lets_every_repeat_through() {
        let mut f = DuplicateFilter::new(0);
        assert!(matches!(f.admit(b"x", 1), Admit::Pass(_)));
        assert!(matches!(f.admit(b"x", 1), Admit::Pass(_)));
    }

    #[test]
    fn over_long_and_empty_payloads_are_reported() {
        let mut f = DuplicateFilter::new(300);
        assert_eq!(f.admit(&vec![b'7'; MAX_SCAN_BYTES + 1], 1), Admit::TooLong);
        assert_eq!(f.admit(b"", 2), Admit::Empty);
    }
}

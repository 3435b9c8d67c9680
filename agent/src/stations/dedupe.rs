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

/// One station's filter. It suppresses a repeat only of a scan that was **accepted**: a repeat
/// of a refused scan, or of one that could not be processed (the writer was unavailable), is
/// handled again. The window runs from the first scan of a burst; repeats do not extend it.
#[derive(Debug)]
pub struct DuplicateFilter {
    framer: ScannerFramer,
    window_ms: Option<u64>,
    last: Option<Last>,
}

/// The scan that opened the current window.
#[derive(Debug)]
struct Last {
    payload: Vec<u8>,
    first_ms: u64,
    accepted: bool,
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
            duplicate_window_ms: None,
        };
        Self {
            framer: ScannerFramer::new(config),
            window_ms: (window_ms > 0).then_some(window_ms),
            last: None,
        }
    }

    /// Passes one payload (without terminator; it must not contain LF) seen at `now_ms`
    /// (a monotonic clock). A passed payload must be answered with [`DuplicateFilter::outcome`].
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
        let Some(frame) = frame else {
            return if after.oversize_frames > before.oversize_frames {
                Admit::TooLong
            } else {
                Admit::Empty
            };
        };
        if let (Some(window), Some(last)) = (self.window_ms, &self.last) {
            if last.accepted
                && last.payload == frame
                && now_ms.saturating_sub(last.first_ms) < window
            {
                return Admit::Duplicate;
            }
        }
        self.last = Some(Last {
            payload: frame.clone(),
            first_ms: now_ms,
            accepted: false,
        });
        Admit::Pass(frame)
    }

    /// What became of the payload `admit` last passed: only an accepted one makes its repeats
    /// within the window duplicates.
    pub fn outcome(&mut self, payload: &[u8], accepted: bool) {
        if let Some(last) = self.last.as_mut().filter(|l| l.payload == payload) {
            last.accepted = accepted;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(f: &mut DuplicateFilter, p: &[u8], now: u64, accepted: bool) {
        assert_eq!(f.admit(p, now), Admit::Pass(p.to_vec()), "at {now}");
        f.outcome(p, accepted);
    }

    #[test]
    fn a_repeat_of_an_accepted_scan_inside_the_window_is_dropped_and_one_after_it_counts() {
        let mut f = DuplicateFilter::new(300);
        pass(&mut f, b"U:op-1", 1000, true);
        assert_eq!(f.admit(b"U:op-1", 1100), Admit::Duplicate);
        pass(&mut f, b"U:op-1", 1500, true);
        pass(&mut f, b"L:A-1", 1510, true);
    }

    #[test]
    fn a_repeat_of_a_refused_or_unprocessed_scan_is_handled_again() {
        let mut f = DuplicateFilter::new(300);
        pass(&mut f, b"L:A-9", 1000, false);
        pass(&mut f, b"L:A-9", 1050, false);
        // The third try is accepted; its own double-fire is then dropped.
        pass(&mut f, b"L:A-9", 1100, true);
        assert_eq!(f.admit(b"L:A-9", 1150), Admit::Duplicate);
    }

    #[test]
    fn the_window_runs_from_the_first_scan_of_a_burst_not_from_the_last_repeat() {
        let mut f = DuplicateFilter::new(300);
        pass(&mut f, b"ABC", 0, true);
        assert_eq!(f.admit(b"ABC", 200), Admit::Duplicate);
        assert_eq!(f.admit(b"ABC", 299), Admit::Duplicate);
        // 300 ms after the first scan: a new scan, however many repeats came in between.
        pass(&mut f, b"ABC", 300, true);
    }

    #[test]
    fn an_outcome_for_another_payload_changes_nothing() {
        let mut f = DuplicateFilter::new(300);
        pass(&mut f, b"ABC", 0, false);
        f.outcome(b"XYZ", true);
        pass(&mut f, b"ABC", 10, true);
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

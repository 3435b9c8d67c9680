//! Framing of serial / USB-CDC barcode scanner byte streams (devices.md §2.1).
//!
//! Pure: the caller passes the current instant (`now_ms`, any monotonic millisecond clock) with
//! every call. Frames are split on a terminator or, when configured, after an idle gap; bytes can
//! be masked to 7 bits, BOM/NUL stripped, a configured prefix/suffix removed, over-long frames
//! dropped, and repeated reads of the same payload within a window suppressed.

use std::collections::VecDeque;

/// Where a frame ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Terminator {
    /// Any of `CR`, `LF`, `CRLF` (empty frames are skipped, so `CRLF` ends one frame).
    AnyLineEnd,
    /// `CR` (a following `LF` is tolerated and stripped).
    Cr,
    /// `LF` (a preceding `CR` is tolerated and stripped).
    Lf,
    /// `CR LF` (a lone `CR`/`LF` at the frame edges is stripped).
    CrLf,
    /// `TAB`.
    Tab,
    /// A configured byte sequence (e.g. `ETX`).
    Bytes(Vec<u8>),
    /// No terminator: frames end only after `idle_timeout_ms` without bytes.
    None,
}

/// Scanner framing configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannerFramingConfig {
    /// Frame terminator.
    pub terminator: Terminator,
    /// A partial frame older than this (ms since its last byte) is ended. Required for
    /// [`Terminator::None`] (≈50 ms typical); optional otherwise.
    pub idle_timeout_ms: Option<u64>,
    /// Clear bit 7 of every byte (7-bit scanners read by an 8-bit port).
    pub mask_7bit: bool,
    /// Remove a UTF-8 BOM at the start of a frame and every NUL byte.
    pub strip_bom_nul: bool,
    /// Configured preamble to remove when a frame starts with it.
    pub prefix: Vec<u8>,
    /// Configured postamble to remove when a frame ends with it.
    pub suffix: Vec<u8>,
    /// Longest payload accepted; longer frames are dropped whole.
    pub max_frame_len: usize,
    /// A payload equal to the previous one read less than this many ms earlier is dropped.
    /// The window runs from the first read of a burst (repeats do not extend it). `None`
    /// disables the filter.
    pub duplicate_window_ms: Option<u64>,
}

impl Default for ScannerFramingConfig {
    fn default() -> Self {
        Self {
            terminator: Terminator::AnyLineEnd,
            idle_timeout_ms: None,
            mask_7bit: false,
            strip_bom_nul: true,
            prefix: Vec::new(),
            suffix: Vec::new(),
            max_frame_len: 4096,
            duplicate_window_ms: Some(300),
        }
    }
}

/// What the framer threw away.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScannerStats {
    /// Frames dropped for exceeding `max_frame_len`.
    pub oversize_frames: u64,
    /// Frames dropped by the duplicate filter.
    pub duplicate_frames: u64,
}

/// The incremental scanner framer.
#[derive(Debug, Clone)]
pub struct ScannerFramer {
    config: ScannerFramingConfig,
    buf: Vec<u8>,
    /// Discarding an over-long frame until its end.
    discarding: bool,
    last_byte_ms: Option<u64>,
    ready: VecDeque<Vec<u8>>,
    last_read: Option<(Vec<u8>, u64)>,
    stats: ScannerStats,
}

const BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

impl ScannerFramer {
    /// A framer with the given configuration.
    pub fn new(config: ScannerFramingConfig) -> Self {
        Self {
            config,
            buf: Vec::new(),
            discarding: false,
            last_byte_ms: None,
            ready: VecDeque::new(),
            last_read: None,
            stats: ScannerStats::default(),
        }
    }

    /// Counters of dropped frames.
    pub fn stats(&self) -> ScannerStats {
        self.stats
    }

    /// Feeds bytes received at `now_ms`.
    pub fn push(&mut self, bytes: &[u8], now_ms: u64) {
        self.flush_if_idle(now_ms);
        if bytes.is_empty() {
            return;
        }
        self.last_byte_ms = Some(now_ms);
        for &raw in bytes {
            let b = if self.config.mask_7bit {
                raw & 0x7F
            } else {
                raw
            };
            self.buf.push(b);
            if let Some(cut) = self.terminator_at_end() {
                let frame_len = self.buf.len() - cut;
                self.buf.truncate(frame_len);
                let frame = std::mem::take(&mut self.buf);
                if self.discarding {
                    self.discarding = false;
                } else {
                    self.finish(frame, now_ms);
                }
            } else if self.buf.len()
                > self
                    .config
                    .max_frame_len
                    .saturating_add(self.terminator_len())
            {
                if !self.discarding {
                    self.stats.oversize_frames += 1;
                }
                self.discarding = true;
                // Keep the tail that might be the start of a multi-byte terminator.
                let keep = self.terminator_len().saturating_sub(1).min(self.buf.len());
                let start = self.buf.len() - keep;
                self.buf.drain(..start);
            }
        }
    }

    /// The next complete payload at `now_ms` (an idle partial frame is completed first).
    pub fn next_frame(&mut self, now_ms: u64) -> Option<Vec<u8>> {
        if self.ready.is_empty() {
            self.flush_if_idle(now_ms);
        }
        self.ready.pop_front()
    }

    fn terminator_len(&self) -> usize {
        match &self.config.terminator {
            Terminator::AnyLineEnd | Terminator::Cr | Terminator::Lf | Terminator::Tab => 1,
            Terminator::CrLf => 2,
            Terminator::Bytes(b) => b.len(),
            Terminator::None => 0,
        }
    }

    /// If the buffer now ends with the terminator, its length.
    fn terminator_at_end(&self) -> Option<usize> {
        let last = *self.buf.last()?;
        match &self.config.terminator {
            Terminator::AnyLineEnd => (last == b'\r' || last == b'\n').then_some(1),
            Terminator::Cr => (last == b'\r').then_some(1),
            Terminator::Lf => (last == b'\n').then_some(1),
            Terminator::Tab => (last == b'\t').then_some(1),
            Terminator::CrLf => self.buf.ends_with(b"\r\n").then_some(2),
            Terminator::Bytes(seq) => {
                (!seq.is_empty() && self.buf.ends_with(seq)).then_some(seq.len())
            }
            Terminator::None => None,
        }
    }

    fn flush_if_idle(&mut self, now_ms: u64) {
        let (Some(timeout), Some(last)) = (self.config.idle_timeout_ms, self.last_byte_ms) else {
            return;
        };
        if self.buf.is_empty() && !self.discarding {
            return;
        }
        if now_ms.saturating_sub(last) >= timeout {
            let frame = std::mem::take(&mut self.buf);
            if self.discarding {
                self.discarding = false;
            } else {
                self.finish(frame, now_ms);
            }
        }
    }

    fn finish(&mut self, mut frame: Vec<u8>, now_ms: u64) {
        let line_mode = matches!(
            self.config.terminator,
            Terminator::AnyLineEnd | Terminator::Cr | Terminator::Lf | Terminator::CrLf
        );
        if line_mode {
            let lead = frame
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            frame.drain(..lead);
            while matches!(frame.last(), Some(b'\r' | b'\n')) {
                frame.pop();
            }
        }
        if self.config.strip_bom_nul {
            if frame.starts_with(BOM) {
                frame.drain(..BOM.len());
            }
            frame.retain(|&b| b != 0);
        }
        if !self.config.prefix.is_empty() && frame.starts_with(&self.config.prefix) {
            frame.drain(..self.config.prefix.len());
        }
        if !self.config.suffix.is_empty() && frame.ends_with(&self.config.suffix) {
            frame.truncate(frame.len() - self.config.suffix.len());
        }
        if frame.is_empty() {
            return;
        }
        if frame.len() > self.config.max_frame_len {
            self.stats.oversize_frames += 1;
            return;
        }
        if let Some(window) = self.config.duplicate_window_ms {
            // The window runs from the first read of a burst: repeats do not extend it.
            let duplicate = self
                .last_read
                .as_ref()
                .is_some_and(|(p, at)| *p == frame && now_ms.saturating_sub(*at) < window);
            if duplicate {
                self.stats.duplicate_frames += 1;
                return;
            }
            self.last_read = Some((frame.clone(), now_ms));
        }
        self.ready.push_back(frame);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(f: &mut ScannerFramer, now: u64) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| f.next_frame(now)).collect()
    }

    fn framer(config: ScannerFramingConfig) -> ScannerFramer {
        ScannerFramer::new(config)
    }

    #[test]
    fn cr_lf_and_crlf_all_end_a_scan_by_default() {
        let mut f = framer(ScannerFramingConfig {
            duplicate_window_ms: None,
            ..Default::default()
        });
        f.push(
            b"]C1010952012345678\x1d10ABC\r]E09520123456788\r\nX1\nX2\r\n",
            0,
        );
        assert_eq!(
            all(&mut f, 0),
            vec![
                b"]C1010952012345678\x1d10ABC".to_vec(),
                b"]E09520123456788".to_vec(),
                b"X1".to_vec(),
                b"X2".to_vec()
            ]
        );
    }

    #[test]
    fn a_scan_split_across_reads_comes_out_whole() {
        let mut f = framer(ScannerFramingConfig::default());
        f.push(b"]C10109", 0);
        assert_eq!(f.next_frame(5), None);
        f.push(b"52012345678\r", 10);
        assert_eq!(f.next_frame(10), Some(b"]C1010952012345678".to_vec()));
    }

    #[test]
    fn tab_and_custom_byte_terminators_work() {
        let mut f = framer(ScannerFramingConfig {
            terminator: Terminator::Tab,
            ..Default::default()
        });
        f.push(b"A\tB\t", 0);
        assert_eq!(all(&mut f, 0), vec![b"A".to_vec(), b"B".to_vec()]);
        let mut f = framer(ScannerFramingConfig {
            terminator: Terminator::Bytes(vec![0x03]),
            prefix: vec![0x02],
            ..Default::default()
        });
        f.push(b"\x02ABC\x03\x02DEF", 0);
        f.push(b"\x03", 1);
        assert_eq!(all(&mut f, 1), vec![b"ABC".to_vec(), b"DEF".to_vec()]);
    }

    #[test]
    fn a_cr_terminator_tolerates_crlf() {
        let mut f = framer(ScannerFramingConfig {
            terminator: Terminator::Cr,
            ..Default::default()
        });
        f.push(b"ONE\r\nTWO\r\n", 0);
        assert_eq!(all(&mut f, 0), vec![b"ONE".to_vec(), b"TWO".to_vec()]);
    }

    #[test]
    fn without_terminator_an_idle_gap_ends_the_scan() {
        let mut f = framer(ScannerFramingConfig {
            terminator: Terminator::None,
            idle_timeout_ms: Some(50),
            ..Default::default()
        });
        f.push(b"0952012", 1000);
        f.push(b"3456788", 1030);
        assert_eq!(f.next_frame(1079), None);
        assert_eq!(f.next_frame(1080), Some(b"09520123456788".to_vec()));
        // A new burst after a gap starts a new frame even if nobody polled in between.
        f.push(b"AAA", 2000);
        f.push(b"BBB", 3000);
        assert_eq!(f.next_frame(3000), Some(b"AAA".to_vec()));
        assert_eq!(f.next_frame(3049), None);
        assert_eq!(f.next_frame(3050), Some(b"BBB".to_vec()));
    }

    #[test]
    fn seven_bit_masking_clears_bit_7() {
        let mut f = framer(ScannerFramingConfig {
            mask_7bit: true,
            ..Default::default()
        });
        f.push(&[b'A' | 0x80, b'1', b'\r' | 0x80], 0);
        assert_eq!(f.next_frame(0), Some(b"A1".to_vec()));
    }

    #[test]
    fn bom_and_nul_bytes_are_stripped() {
        let mut f = framer(ScannerFramingConfig::default());
        f.push(
            b"\xEF\xBB\xBF]Q1https://id.gs1.org/01/09520123456788\0\r",
            0,
        );
        assert_eq!(
            f.next_frame(0),
            Some(b"]Q1https://id.gs1.org/01/09520123456788".to_vec())
        );
    }

    #[test]
    fn configured_prefix_and_suffix_are_removed() {
        let mut f = framer(ScannerFramingConfig {
            prefix: b"PRE:".to_vec(),
            suffix: b"#".to_vec(),
            ..Default::default()
        });
        f.push(b"PRE:12345#\rOTHER\r", 0);
        assert_eq!(all(&mut f, 0), vec![b"12345".to_vec(), b"OTHER".to_vec()]);
    }

    #[test]
    fn an_over_long_frame_is_dropped_and_the_next_one_kept() {
        let mut f = framer(ScannerFramingConfig {
            max_frame_len: 10,
            ..Default::default()
        });
        f.push(&[b'9'; 40], 0);
        f.push(b"\rSHORT\r", 1);
        assert_eq!(all(&mut f, 1), vec![b"SHORT".to_vec()]);
        assert_eq!(f.stats().oversize_frames, 1);
    }

    #[test]
    fn a_duplicate_fire_within_300_ms_is_dropped() {
        let mut f = framer(ScannerFramingConfig::default());
        f.push(b"ABC\r", 1000);
        f.push(b"ABC\r", 1200);
        assert_eq!(all(&mut f, 1200), vec![b"ABC".to_vec()]);
        assert_eq!(f.stats().duplicate_frames, 1);
    }

    #[test]
    fn the_same_payload_after_the_window_counts_again() {
        let mut f = framer(ScannerFramingConfig::default());
        f.push(b"ABC\r", 1000);
        f.push(b"ABC\r", 1300);
        assert_eq!(all(&mut f, 1300), vec![b"ABC".to_vec(), b"ABC".to_vec()]);
    }

    #[test]
    fn a_different_payload_inside_the_window_counts() {
        let mut f = framer(ScannerFramingConfig::default());
        f.push(b"ABC\rDEF\rABC\r", 1000);
        assert_eq!(all(&mut f, 1000).len(), 3);
    }

    #[test]
    fn the_duplicate_window_runs_from_the_first_read_of_a_burst() {
        let mut f = framer(ScannerFramingConfig::default());
        f.push(b"ABC\r", 0);
        f.push(b"ABC\r", 200);
        // 300 ms after the first read: a new read, although a repeat came 100 ms ago.
        f.push(b"ABC\r", 300);
        assert_eq!(all(&mut f, 300), vec![b"ABC".to_vec(), b"ABC".to_vec()]);
        f.push(b"ABC\r", 500);
        assert_eq!(all(&mut f, 500), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn a_clock_going_backwards_does_not_panic() {
        let mut f = framer(ScannerFramingConfig {
            idle_timeout_ms: Some(50),
            ..Default::default()
        });
        f.push(b"A", 1000);
        assert_eq!(f.next_frame(10), None);
        f.push(b"\r", 5);
        assert_eq!(f.next_frame(5), Some(b"A".to_vec()));
    }
}

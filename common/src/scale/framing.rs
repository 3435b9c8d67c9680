//! Shared pieces of the incremental, pure scale framers: options, the [`Framer`] trait, the
//! "latest wins" helper for continuous streams and a line framer used by the line protocols.

/// Options shared by every scale framer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramerOptions {
    /// Longest frame accepted (bytes, without terminators). Longer input is discarded up to the
    /// next frame start/terminator (resynchronisation).
    pub max_frame_len: usize,
    /// Clear bit 7 of every received byte: for 7E1 devices read through an 8N1 port.
    pub mask_7bit: bool,
}

impl Default for FramerOptions {
    fn default() -> Self {
        Self {
            max_frame_len: 256,
            mask_7bit: false,
        }
    }
}

/// Counters a framer keeps about what it threw away.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FramerStats {
    /// Bytes dropped while resynchronising (garbage, oversized or truncated frames).
    pub discarded_bytes: u64,
    /// Frames dropped by the framer itself (bad checksum, oversize, malformed framing).
    pub dropped_frames: u64,
}

/// An incremental, pure framer: bytes in, complete frames out.
pub trait Framer {
    /// Appends received bytes.
    fn push(&mut self, bytes: &[u8]);
    /// Takes the oldest complete frame, if any.
    fn next_frame(&mut self) -> Option<Vec<u8>>;
    /// What has been discarded so far.
    fn stats(&self) -> FramerStats;
}

/// "Latest wins" for continuous-output scales: drains every complete frame currently buffered
/// (the backlog a PTY or a late reader accumulates) and returns only the newest one.
pub fn latest_frame<F: Framer + ?Sized>(framer: &mut F) -> Option<Vec<u8>> {
    let mut latest = None;
    while let Some(frame) = framer.next_frame() {
        latest = Some(frame);
    }
    latest
}

/// Like [`latest_frame`], but returns the newest frame that `parse` accepts: stale frames and
/// frames that fail to parse are skipped. Returns `None` when no buffered frame parses.
pub fn latest_parsed<F, T, E>(
    framer: &mut F,
    mut parse: impl FnMut(&[u8]) -> Result<T, E>,
) -> Option<T>
where
    F: Framer + ?Sized,
{
    let mut latest = None;
    while let Some(frame) = framer.next_frame() {
        if let Ok(value) = parse(&frame) {
            latest = Some(value);
        }
    }
    latest
}

/// How lines end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnd {
    /// `<LF>`, with an optional `<CR>` before it (tolerates `CR LF` and bare `LF`).
    Lf,
    /// Exactly `<CR><LF>` (a bare `LF` is data: needed when a binary byte may be 0x0A).
    CrLf,
}

/// Splits a byte stream into lines. Empty lines are skipped; over-long lines are dropped whole.
#[derive(Debug, Clone)]
pub struct LineFramer {
    options: FramerOptions,
    end: LineEnd,
    buf: Vec<u8>,
    /// True while discarding the rest of an over-long line.
    discarding: bool,
    stats: FramerStats,
}

impl LineFramer {
    /// A line framer with the given options and line end.
    pub fn new(options: FramerOptions, end: LineEnd) -> Self {
        Self {
            options,
            end,
            buf: Vec::new(),
            discarding: false,
            stats: FramerStats::default(),
        }
    }

    fn find_end(&self) -> Option<(usize, usize)> {
        match self.end {
            LineEnd::Lf => self.buf.iter().position(|&b| b == b'\n').map(|p| {
                let start = if p > 0 && self.buf.get(p - 1) == Some(&b'\r') {
                    p - 1
                } else {
                    p
                };
                (start, p + 1)
            }),
            LineEnd::CrLf => self
                .buf
                .windows(2)
                .position(|w| w == b"\r\n")
                .map(|p| (p, p + 2)),
        }
    }
}

impl Framer for LineFramer {
    fn push(&mut self, bytes: &[u8]) {
        push_masked(&mut self.buf, bytes, self.options.mask_7bit);
    }

    fn next_frame(&mut self) -> Option<Vec<u8>> {
        loop {
            let Some((content_end, consumed)) = self.find_end() else {
                // Keep at most one over-long line's worth (+1 for a pending CR) buffered.
                if self.buf.len() > self.options.max_frame_len.saturating_add(1) {
                    let keep_cr = self.buf.last() == Some(&b'\r');
                    let drop = if keep_cr {
                        self.buf.len() - 1
                    } else {
                        self.buf.len()
                    };
                    self.stats.discarded_bytes += drop as u64;
                    if !self.discarding {
                        self.stats.dropped_frames += 1;
                    }
                    self.buf.drain(..drop);
                    self.discarding = true;
                }
                return None;
            };
            let line: Vec<u8> = self.buf.drain(..consumed).take(content_end).collect();
            if self.discarding {
                self.discarding = false;
                self.stats.discarded_bytes += consumed as u64;
                continue;
            }
            if line.is_empty() {
                continue;
            }
            if line.len() > self.options.max_frame_len {
                self.stats.discarded_bytes += consumed as u64;
                self.stats.dropped_frames += 1;
                continue;
            }
            return Some(line);
        }
    }

    fn stats(&self) -> FramerStats {
        self.stats
    }
}

/// Appends `bytes` to `buf`, clearing bit 7 when asked.
pub(crate) fn push_masked(buf: &mut Vec<u8>, bytes: &[u8], mask_7bit: bool) {
    if mask_7bit {
        buf.extend(bytes.iter().map(|b| b & 0x7F));
    } else {
        buf.extend_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(f: &mut impl Framer) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| f.next_frame()).collect()
    }

    #[test]
    fn a_line_split_across_pushes_comes_out_whole() {
        let mut f = LineFramer::new(FramerOptions::default(), LineEnd::Lf);
        f.push(b"S S   ");
        assert_eq!(f.next_frame(), None);
        f.push(b"  1.00 g\r");
        assert_eq!(f.next_frame(), None);
        f.push(b"\nZ A\n\r\n");
        assert_eq!(
            frames(&mut f),
            vec![b"S S     1.00 g".to_vec(), b"Z A".to_vec()]
        );
    }

    #[test]
    fn an_over_long_line_is_dropped_and_the_next_line_is_kept() {
        let opts = FramerOptions {
            max_frame_len: 8,
            mask_7bit: false,
        };
        let mut f = LineFramer::new(opts, LineEnd::Lf);
        f.push(&[b'x'; 50]);
        assert_eq!(f.next_frame(), None);
        f.push(b"yyyy\r\nok\r\n");
        assert_eq!(frames(&mut f), vec![b"ok".to_vec()]);
        assert_eq!(f.stats().dropped_frames, 1);
    }

    #[test]
    fn crlf_lines_keep_a_bare_lf_as_data() {
        let mut f = LineFramer::new(FramerOptions::default(), LineEnd::CrLf);
        f.push(b"a\nb\r\nc\r\n");
        assert_eq!(frames(&mut f), vec![b"a\nb".to_vec(), b"c".to_vec()]);
    }

    #[test]
    fn seven_bit_masking_clears_the_parity_bit() {
        let opts = FramerOptions {
            max_frame_len: 64,
            mask_7bit: true,
        };
        let mut f = LineFramer::new(opts, LineEnd::Lf);
        f.push(&[b'Z' | 0x80, b' ', b'A' | 0x80, b'\r' | 0x80, b'\n' | 0x80]);
        assert_eq!(f.next_frame(), Some(b"Z A".to_vec()));
    }

    #[test]
    fn latest_frame_skips_the_backlog() {
        let mut f = LineFramer::new(FramerOptions::default(), LineEnd::Lf);
        f.push(b"one\r\ntwo\r\nthree\r\nfou");
        assert_eq!(latest_frame(&mut f), Some(b"three".to_vec()));
        assert_eq!(latest_frame(&mut f), None);
        f.push(b"r\r\n");
        assert_eq!(latest_frame(&mut f), Some(b"four".to_vec()));
    }
}

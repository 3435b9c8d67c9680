//! Zebra `~HS` host status replies (three `<STX>…<ETX><CR><LF>` lines) and `~HQES` error/warning
//! flags (devices.md §3.3).
//!
//! Newer firmware sends no `~HS` reply at all while media/ribbon is out, the head is open, … : a
//! timeout is itself an error signal (the driver's concern; this module only parses).

const STX: u8 = 0x02;
const ETX: u8 = 0x03;

/// The command bytes for a host status query.
pub const HOST_STATUS_QUERY: &[u8] = b"~HS";
/// The command bytes for an extended error/warning query.
pub const HQES_QUERY: &[u8] = b"~HQES";

/// Why a reply could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostStatusError {
    /// Fewer than three complete `<STX>…<ETX>` strings.
    #[error("~HS reply: incomplete, {found} of 3 <STX>…<ETX> strings")]
    Incomplete {
        /// Complete strings found.
        found: usize,
    },
    /// A string has the wrong number of comma-separated fields.
    #[error("~HS reply string {string}: {found} fields, expected {expected}")]
    FieldCount {
        /// 1, 2 or 3.
        string: usize,
        /// Expected count.
        expected: usize,
        /// Found count.
        found: usize,
    },
    /// A field is not what its position requires.
    #[error("~HS reply string {string} field `{field}`: {reason}")]
    Field {
        /// 1, 2 or 3.
        string: usize,
        /// Field name.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// A `~HQES` reply lacks a line or a line is malformed.
    #[error("~HQES reply: {0}")]
    Hqes(String),
}

/// Serial parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parity {
    /// No parity.
    None,
    /// Odd.
    Odd,
    /// Even.
    Even,
}

/// Serial handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake {
    /// Xon/Xoff.
    XonXoff,
    /// DTR.
    Dtr,
}

/// Communication settings decoded from `aaa`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommSettings {
    /// Baud rate, `None` for an undocumented code.
    pub baud: Option<u32>,
    /// 7 or 8.
    pub data_bits: u8,
    /// 1 or 2.
    pub stop_bits: u8,
    /// Parity.
    pub parity: Parity,
    /// Handshake.
    pub handshake: Handshake,
    /// The raw 9-bit value.
    pub raw: u16,
}

/// Print mode (`r`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrintMode {
    /// 0.
    Rewind,
    /// 1.
    PeelOff,
    /// 2.
    TearOff,
    /// 3.
    Cutter,
    /// 4.
    Applicator,
    /// 5 (newer firmware).
    DelayedCut,
    /// Anything else.
    Other(u8),
}

/// A decoded `~HS` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostStatus {
    /// `aaa`.
    pub comm: CommSettings,
    /// `b`.
    pub paper_out: bool,
    /// `c`.
    pub paused: bool,
    /// `dddd`.
    pub label_length_dots: u32,
    /// `eee`.
    pub formats_in_buffer: u32,
    /// `f`.
    pub buffer_full: bool,
    /// `g`.
    pub diagnostic_mode: bool,
    /// `h`.
    pub partial_format_in_progress: bool,
    /// `j`.
    pub corrupt_ram: bool,
    /// `k`.
    pub under_temperature: bool,
    /// `l`.
    pub over_temperature: bool,
    /// `mmm` raw function settings.
    pub function_settings: u16,
    /// `m7`: continuous media (else die-cut).
    pub continuous_media: bool,
    /// `m0`: thermal transfer (else direct thermal).
    pub thermal_transfer_configured: bool,
    /// `o`.
    pub head_open: bool,
    /// `p`.
    pub ribbon_out: bool,
    /// `q`.
    pub thermal_transfer_mode: bool,
    /// `r`.
    pub print_mode: PrintMode,
    /// `s`.
    pub print_width_mode: u8,
    /// `t`.
    pub label_waiting: bool,
    /// `uuuuuuuu`.
    pub labels_remaining: u32,
    /// `www`.
    pub graphics_stored: u32,
    /// `xxxx`.
    pub password: String,
    /// `y`.
    pub static_ram_installed: bool,
}

/// A condition that stops or endangers printing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrinterProblem {
    /// Paper/media out.
    PaperOut,
    /// Paused.
    Paused,
    /// Head open.
    HeadOpen,
    /// Ribbon out (only when in thermal-transfer mode).
    RibbonOut,
    /// Receive buffer full.
    BufferFull,
    /// Under temperature.
    UnderTemperature,
    /// Over temperature.
    OverTemperature,
    /// RAM corrupt (configuration lost).
    CorruptRam,
}

impl HostStatus {
    /// The problems the reply reports; empty means ready.
    pub fn problems(&self) -> Vec<PrinterProblem> {
        let mut p = Vec::new();
        let flags = [
            (self.paper_out, PrinterProblem::PaperOut),
            (self.paused, PrinterProblem::Paused),
            (self.head_open, PrinterProblem::HeadOpen),
            (self.ribbon_out, PrinterProblem::RibbonOut),
            (self.buffer_full, PrinterProblem::BufferFull),
            (self.under_temperature, PrinterProblem::UnderTemperature),
            (self.over_temperature, PrinterProblem::OverTemperature),
            (self.corrupt_ram, PrinterProblem::CorruptRam),
        ];
        for (set, problem) in flags {
            if set {
                p.push(problem);
            }
        }
        p
    }

    /// No problem reported.
    pub fn is_ready(&self) -> bool {
        self.problems().is_empty()
    }
}

/// The `<STX>…<ETX>` strings in `bytes`, in order (bytes outside them are ignored).
fn stx_etx_strings(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some(start) = rest.iter().position(|&b| b == STX) {
        let after = rest.get(start + 1..).unwrap_or(&[]);
        // A new STX before the ETX restarts the string (truncated garbage before it).
        match after.iter().position(|&b| b == ETX || b == STX) {
            Some(end) if after.get(end) == Some(&ETX) => {
                out.push(after.get(..end).unwrap_or(&[]));
                rest = after.get(end + 1..).unwrap_or(&[]);
            }
            Some(end) => rest = after.get(end..).unwrap_or(&[]),
            None => break,
        }
    }
    out
}

/// True when `bytes` holds three complete `<STX>…<ETX>` strings (the caller may parse).
pub fn reply_is_complete(bytes: &[u8]) -> bool {
    stx_etx_strings(bytes).len() >= 3
}

fn fields(s: &[u8], string: usize, expected: usize) -> Result<Vec<&str>, HostStatusError> {
    let text = std::str::from_utf8(s).map_err(|_| HostStatusError::Field {
        string,
        field: "string",
        reason: "not ASCII".into(),
    })?;
    let f: Vec<&str> = text.split(',').map(|f| f.trim()).collect();
    if f.len() != expected {
        return Err(HostStatusError::FieldCount {
            string,
            expected,
            found: f.len(),
        });
    }
    Ok(f)
}

fn number(
    fields: &[&str],
    i: usize,
    string: usize,
    field: &'static str,
) -> Result<u32, HostStatusError> {
    let text = fields.get(i).copied().unwrap_or("");
    if text.is_empty() || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HostStatusError::Field {
            string,
            field,
            reason: format!("`{}` is not a decimal number", text.escape_debug()),
        });
    }
    text.parse().map_err(|_| HostStatusError::Field {
        string,
        field,
        reason: format!("`{text}` is out of range"),
    })
}

fn flag(
    fields: &[&str],
    i: usize,
    string: usize,
    field: &'static str,
) -> Result<bool, HostStatusError> {
    match fields.get(i).copied() {
        Some("0") => Ok(false),
        Some("1") => Ok(true),
        other => Err(HostStatusError::Field {
            string,
            field,
            reason: format!("`{}` is not 0 or 1", other.unwrap_or("").escape_debug()),
        }),
    }
}

fn baud(code: u16) -> Option<u32> {
    Some(match code {
        0b0000 => 110,
        0b0001 => 300,
        0b0010 => 600,
        0b0011 => 1200,
        0b0100 => 2400,
        0b0101 => 4800,
        0b0110 => 9600,
        0b0111 => 19200,
        0b1000 => 28800,
        0b1001 => 38400,
        0b1010 => 57600,
        0b1011 => 14400,
        _ => return None,
    })
}

/// Parses a complete `~HS` reply (bytes outside the `<STX>…<ETX>` strings are ignored).
pub fn parse_host_status(bytes: &[u8]) -> Result<HostStatus, HostStatusError> {
    let strings = stx_etx_strings(bytes);
    let [s1, s2, s3, ..] = strings.as_slice() else {
        return Err(HostStatusError::Incomplete {
            found: strings.len(),
        });
    };
    let f1 = fields(s1, 1, 12)?;
    let f2 = fields(s2, 2, 11)?;
    let f3 = fields(s3, 3, 2)?;

    let aaa = number(&f1, 0, 1, "aaa communication settings")?;
    let aaa = u16::try_from(aaa)
        .ok()
        .filter(|v| *v < 512)
        .ok_or_else(|| HostStatusError::Field {
            string: 1,
            field: "aaa communication settings",
            reason: format!("{aaa} exceeds 9 bits"),
        })?;
    let bit = |v: u16, n: u16| v & (1 << n) != 0;
    let comm = CommSettings {
        baud: baud(((aaa >> 5) & 0b1000) | (aaa & 0b111)),
        data_bits: if bit(aaa, 3) { 8 } else { 7 },
        stop_bits: if bit(aaa, 4) { 1 } else { 2 },
        parity: match (bit(aaa, 5), bit(aaa, 6)) {
            (false, _) => Parity::None,
            (true, false) => Parity::Odd,
            (true, true) => Parity::Even,
        },
        handshake: if bit(aaa, 7) {
            Handshake::Dtr
        } else {
            Handshake::XonXoff
        },
        raw: aaa,
    };
    let mmm = number(&f2, 0, 2, "mmm function settings")?;
    let mmm = u16::try_from(mmm)
        .ok()
        .filter(|v| *v < 512)
        .ok_or_else(|| HostStatusError::Field {
            string: 2,
            field: "mmm function settings",
            reason: format!("{mmm} exceeds 9 bits"),
        })?;
    let print_mode = match number(&f2, 5, 2, "r print mode")? {
        0 => PrintMode::Rewind,
        1 => PrintMode::PeelOff,
        2 => PrintMode::TearOff,
        3 => PrintMode::Cutter,
        4 => PrintMode::Applicator,
        5 => PrintMode::DelayedCut,
        n => PrintMode::Other(u8::try_from(n).unwrap_or(u8::MAX)),
    };
    let print_width_mode =
        u8::try_from(number(&f2, 6, 2, "s print width mode")?).unwrap_or(u8::MAX);
    // Validate the unused fields' shape too, so garbled replies are caught.
    number(&f1, 8, 1, "iii unused")?;
    number(&f2, 1, 2, "n unused")?;
    let password = f3.first().copied().unwrap_or("");
    if password.is_empty() || !password.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HostStatusError::Field {
            string: 3,
            field: "xxxx password",
            reason: format!("`{}` is not digits", password.escape_debug()),
        });
    }
    Ok(HostStatus {
        comm,
        paper_out: flag(&f1, 1, 1, "b paper out")?,
        paused: flag(&f1, 2, 1, "c pause")?,
        label_length_dots: number(&f1, 3, 1, "dddd label length")?,
        formats_in_buffer: number(&f1, 4, 1, "eee formats in buffer")?,
        buffer_full: flag(&f1, 5, 1, "f buffer full")?,
        diagnostic_mode: flag(&f1, 6, 1, "g diagnostic mode")?,
        partial_format_in_progress: flag(&f1, 7, 1, "h partial format")?,
        corrupt_ram: flag(&f1, 9, 1, "j corrupt RAM")?,
        under_temperature: flag(&f1, 10, 1, "k under temperature")?,
        over_temperature: flag(&f1, 11, 1, "l over temperature")?,
        function_settings: mmm,
        continuous_media: bit(mmm, 7),
        thermal_transfer_configured: bit(mmm, 0),
        head_open: flag(&f2, 2, 2, "o head open")?,
        ribbon_out: flag(&f2, 3, 2, "p ribbon out")?,
        thermal_transfer_mode: flag(&f2, 4, 2, "q thermal transfer mode")?,
        print_mode,
        print_width_mode,
        label_waiting: flag(&f2, 7, 2, "t label waiting")?,
        labels_remaining: number(&f2, 8, 2, "uuuuuuuu labels remaining")?,
        graphics_stored: number(&f2, 10, 2, "www graphics stored")?,
        password: password.to_string(),
        static_ram_installed: flag(&f3, 1, 3, "y static RAM installed")?,
    })
}

/// `~HQES` error flags (group 1 bits, docs.zebra.com `~WQ` error-flag table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HqesFlags {
    /// The leading 0/1 flag: any error (or warning) present.
    pub present: bool,
    /// Group 2 (8 hex digits).
    pub group2: u32,
    /// Group 1 (8 hex digits).
    pub group1: u32,
}

impl HqesFlags {
    /// Group 1 bit 0: media out.
    pub fn media_out(&self) -> bool {
        self.group1 & 0x1 != 0
    }
    /// Group 1 bit 1: ribbon out.
    pub fn ribbon_out(&self) -> bool {
        self.group1 & 0x2 != 0
    }
    /// Group 1 bit 2: head open.
    pub fn head_open(&self) -> bool {
        self.group1 & 0x4 != 0
    }
    /// Group 1 bit 3: cutter fault.
    pub fn cutter_fault(&self) -> bool {
        self.group1 & 0x8 != 0
    }
    /// Group 1 bit 4: printhead over temperature.
    pub fn printhead_over_temperature(&self) -> bool {
        self.group1 & 0x10 != 0
    }
    /// Group 1 bit 5: motor over temperature.
    pub fn motor_over_temperature(&self) -> bool {
        self.group1 & 0x20 != 0
    }
    /// Group 1 bit 6: bad printhead element.
    pub fn bad_printhead_element(&self) -> bool {
        self.group1 & 0x40 != 0
    }
    /// Group 1 bit 7: printhead detection error.
    pub fn printhead_detection_error(&self) -> bool {
        self.group1 & 0x80 != 0
    }
    /// Group 1 bit 8: invalid firmware configuration.
    pub fn invalid_firmware_config(&self) -> bool {
        self.group1 & 0x100 != 0
    }
    /// Group 1 bit 9: printhead thermistor open.
    pub fn printhead_thermistor_open(&self) -> bool {
        self.group1 & 0x200 != 0
    }
}

/// A decoded `~HQES` reply. Warning bits are kept raw (their table was not collected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hqes {
    /// `ERRORS:` line.
    pub errors: HqesFlags,
    /// `WARNINGS:` line (raw).
    pub warnings: HqesFlags,
}

fn hqes_line(text: &str, label: &str) -> Result<HqesFlags, HostStatusError> {
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .ok_or_else(|| HostStatusError::Hqes(format!("no `{label}` line")))?;
    let parts: Vec<&str> = line.split_whitespace().collect();
    let [flag, g2, g1] = parts.as_slice() else {
        return Err(HostStatusError::Hqes(format!(
            "`{label}` line has {} values, expected 3",
            parts.len()
        )));
    };
    let present = match *flag {
        "0" => false,
        "1" => true,
        other => {
            return Err(HostStatusError::Hqes(format!(
                "`{label}` flag `{}` is not 0 or 1",
                other.escape_debug()
            )))
        }
    };
    let hex = |s: &str| {
        if s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            u32::from_str_radix(s, 16).ok()
        } else {
            None
        }
    };
    let (Some(group2), Some(group1)) = (hex(g2), hex(g1)) else {
        return Err(HostStatusError::Hqes(format!(
            "`{label}` groups `{}` `{}` are not 8 hex digits each",
            g2.escape_debug(),
            g1.escape_debug()
        )));
    };
    Ok(HqesFlags {
        present,
        group2,
        group1,
    })
}

/// Parses a `~HQES` reply (`<STX>` … `PRINTER STATUS` … `ERRORS:` … `WARNINGS:` … `<ETX>`).
pub fn parse_hqes(bytes: &[u8]) -> Result<Hqes, HostStatusError> {
    let text = std::str::from_utf8(bytes).map_err(|_| HostStatusError::Hqes("not ASCII".into()))?;
    Ok(Hqes {
        errors: hqes_line(text, "ERRORS:")?,
        warnings: hqes_line(text, "WARNINGS:")?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const LADDER99: &[u8] = b"\x02030,1,1,1225,000,0,0,0,000,0,0,0\x03\r\n\x02001,0,0,1,1,2,6,0,00000100,1,000\x03\r\n\x021234,0\x03\r\n";

    #[test]
    fn the_ladder99_host_status_vector_decodes() {
        assert!(reply_is_complete(LADDER99));
        let s = parse_host_status(LADDER99).unwrap();
        assert_eq!(s.comm.baud, Some(9600));
        assert_eq!(s.comm.data_bits, 8);
        assert_eq!(s.comm.stop_bits, 1);
        assert_eq!(s.comm.parity, Parity::None);
        assert_eq!(s.comm.handshake, Handshake::XonXoff);
        assert!(s.paper_out);
        assert!(s.paused);
        assert_eq!(s.label_length_dots, 1225);
        assert_eq!(s.formats_in_buffer, 0);
        assert!(s.thermal_transfer_configured);
        assert!(!s.continuous_media);
        assert!(!s.head_open);
        assert!(s.ribbon_out);
        assert_eq!(s.print_mode, PrintMode::TearOff);
        assert_eq!(s.print_width_mode, 6);
        assert_eq!(s.labels_remaining, 100);
        assert_eq!(s.password, "1234");
        assert!(!s.static_ram_installed);
        assert_eq!(
            s.problems(),
            vec![
                PrinterProblem::PaperOut,
                PrinterProblem::Paused,
                PrinterProblem::RibbonOut
            ]
        );
        assert!(!s.is_ready());
    }

    #[test]
    fn a_ready_printer_reports_no_problems() {
        let ok = b"\x02030,0,0,1218,000,0,0,0,000,0,0,0\x03\r\n\x02001,0,0,0,1,2,6,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n";
        assert!(parse_host_status(ok).unwrap().is_ready());
    }

    #[test]
    fn head_open_and_temperature_flags_are_read() {
        let r = b"\x02030,0,0,1218,000,1,0,0,000,0,1,1\x03\x02001,0,1,0,1,2,6,0,00000000,1,000\x03\x021234,1\x03";
        let s = parse_host_status(r).unwrap();
        assert!(s.head_open && s.buffer_full && s.under_temperature && s.over_temperature);
        assert!(s.static_ram_installed);
    }

    #[test]
    fn an_incomplete_host_status_reply_is_a_typed_error() {
        let two = &LADDER99[..LADDER99.len() - 12];
        assert!(!reply_is_complete(two));
        assert_eq!(
            parse_host_status(two).unwrap_err(),
            HostStatusError::Incomplete { found: 2 }
        );
        assert_eq!(
            parse_host_status(b"").unwrap_err(),
            HostStatusError::Incomplete { found: 0 }
        );
    }

    #[test]
    fn a_garbled_host_status_field_is_named() {
        let r = b"\x02030,X,1,1225,000,0,0,0,000,0,0,0\x03\x02001,0,0,1,1,2,6,0,00000100,1,000\x03\x021234,0\x03";
        assert_eq!(
            parse_host_status(r).unwrap_err(),
            HostStatusError::Field {
                string: 1,
                field: "b paper out",
                reason: "`X` is not 0 or 1".into()
            }
        );
        let r =
            b"\x02030,1,1,1225,000,0,0\x03\x02001,0,0,1,1,2,6,0,00000100,1,000\x03\x021234,0\x03";
        assert_eq!(
            parse_host_status(r).unwrap_err(),
            HostStatusError::FieldCount {
                string: 1,
                expected: 12,
                found: 7
            }
        );
    }

    #[test]
    fn a_truncated_string_before_a_complete_reply_is_skipped() {
        let mut r = b"\x02030,1,1,12".to_vec();
        r.extend_from_slice(LADDER99);
        assert_eq!(parse_host_status(&r).unwrap().label_length_dots, 1225);
    }

    #[test]
    fn the_ladder99_hqes_vector_reports_head_open() {
        let r = b"\x02\r\n\r\nPRINTER STATUS            \r\n   ERRORS:          1 00000000 00010004  \r\n   WARNINGS:        1 00000000 00000100   \r\n\x03";
        let h = parse_hqes(r).unwrap();
        assert!(h.errors.present);
        assert!(h.errors.head_open());
        assert!(!h.errors.media_out());
        assert_eq!(h.errors.group1, 0x0001_0004);
        assert_eq!(h.warnings.group1, 0x100);
        assert!(parse_hqes(b"\x02PRINTER STATUS\r\n ERRORS: 1 0000 x\r\n\x03").is_err());
    }
}

//! Mettler Toledo MT-SICS: command builders, line framer and response parser.
//!
//! Responses are `<ID> <Status> [<weight> <unit>]` lines ending in `<CR><LF>`; general errors are
//! `ES`/`ET`/`EL` without a command id; `I4 A "<SNR>"` arrives unsolicited at power-up and after
//! `@`, so it is accepted at any time. See devices.md §1.1.

use rust_decimal::Decimal;

use super::framing::{FramerOptions, LineEnd, LineFramer};
use super::reading::{
    parse_weight_number, show_bytes, DeviceErrorSource, FrameError, ScaleCondition, WeightReading,
    WeightUnit,
};

const PROTOCOL: &str = "mt-sics";

/// A line framer for MT-SICS (`<CR><LF>`, tolerating a bare `<LF>`).
pub fn framer(options: FramerOptions) -> LineFramer {
    LineFramer::new(options, LineEnd::Lf)
}

/// The status letter of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `S`: stable weight (or, for `ZI`, zeroed with a stable weight).
    Stable,
    /// `D`: dynamic (unstable) weight.
    Dynamic,
    /// `M`: stable, below MinWeigh.
    StableBelowMinWeigh,
    /// `N`: unstable, below MinWeigh.
    DynamicBelowMinWeigh,
    /// `A`: command executed.
    Executed,
    /// `B`: not finished, more lines follow.
    NotFinished,
    /// `I`: internal error / not executable now (busy, stability timeout).
    NotExecutable,
    /// `L`: logical error (e.g. parameter out of range).
    LogicalError,
    /// `+`: overload, or upper limit of the taring/zeroing range exceeded.
    UpperLimit,
    /// `-`: underload, or lower limit of the taring/zeroing range exceeded.
    LowerLimit,
}

impl Status {
    fn from_token(token: &str) -> Option<Self> {
        Some(match token {
            "S" => Self::Stable,
            "D" => Self::Dynamic,
            "M" => Self::StableBelowMinWeigh,
            "N" => Self::DynamicBelowMinWeigh,
            "A" => Self::Executed,
            "B" => Self::NotFinished,
            "I" => Self::NotExecutable,
            "L" => Self::LogicalError,
            "+" => Self::UpperLimit,
            "-" => Self::LowerLimit,
            _ => return None,
        })
    }

    fn is_weight_status(self) -> bool {
        matches!(
            self,
            Self::Stable | Self::Dynamic | Self::StableBelowMinWeigh | Self::DynamicBelowMinWeigh
        )
    }
}

/// `ES` / `ET` / `EL`: errors without a command id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GeneralError {
    /// `ES`: command not recognised / not allowed.
    Syntax,
    /// `ET`: transmission error (parity, break).
    Transmission,
    /// `EL`: command cannot be executed.
    Logic,
}

/// One parsed MT-SICS response line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `ES`, `ET` or `EL`.
    Error(GeneralError),
    /// A response carrying a weight (or a device error in the weight field).
    Weight {
        /// Command id echoed by the device (`S`, `T`, `TI`, `SIC2`, …).
        command: String,
        /// `S`/`D`/`M`/`N`.
        status: Status,
        /// The normalised reading. For `T`/`TA`/`TI` the value is the tare, also set in `tare`.
        reading: WeightReading,
        /// CRC of `SIC1`/`SIC2` responses (verified for `SIC2`, see devices.md §1.1).
        crc: Option<u16>,
    },
    /// A response without weight: `Z A`, `S I`, `I4 A "B021002593"`, `I0 B 0 "I0"`, …
    Status {
        /// Command id.
        command: String,
        /// Status letter.
        status: Status,
        /// Parameters, quoted strings unquoted (`\"` unescaped).
        params: Vec<String>,
    },
}

impl Response {
    /// The weight reading this response stands for, if any: weight responses, and `S +` / `S -`
    /// (overload / underload of the `S` family) as readings without a value.
    pub fn reading(&self) -> Option<WeightReading> {
        match self {
            Self::Weight { reading, .. } => Some(reading.clone()),
            Self::Status {
                command, status, ..
            } if command == "S" || command.starts_with("SIC") => {
                let condition = match status {
                    Status::UpperLimit => ScaleCondition::Overload,
                    Status::LowerLimit => ScaleCondition::Underload,
                    _ => return None,
                };
                Some(WeightReading {
                    value: None,
                    unit: WeightUnit::Other(String::new()),
                    stable: false,
                    net: None,
                    condition,
                    tare: None,
                })
            }
            _ => None,
        }
    }

    /// The serial number from an `I4 A "<SNR>"` line (the reply to `@`, also sent unsolicited).
    pub fn serial_number(&self) -> Option<&str> {
        match self {
            Self::Status {
                command,
                status: Status::Executed,
                params,
            } if command == "I4" => params.first().map(String::as_str),
            _ => None,
        }
    }
}

/// Parses one response line (without `<CR><LF>`; a trailing one is tolerated).
pub fn parse_response(line: &[u8]) -> Result<Response, FrameError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line)
        .ok()
        .filter(|t| t.is_ascii())
        .ok_or_else(|| {
            FrameError::new(PROTOCOL, "line", format!("not ASCII: {}", show_bytes(line)))
        })?;
    match text.trim_end_matches(' ') {
        "ES" => return Ok(Response::Error(GeneralError::Syntax)),
        "ET" => return Ok(Response::Error(GeneralError::Transmission)),
        "EL" => return Ok(Response::Error(GeneralError::Logic)),
        _ => {}
    }
    let (command, rest) = split_token(text);
    if command.is_empty() {
        return Err(FrameError::new(PROTOCOL, "command id", "missing"));
    }
    if !command
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'@')
    {
        return Err(FrameError::new(
            PROTOCOL,
            "command id",
            format!("`{command}` is not an upper-case command id"),
        ));
    }
    let (status_token, rest) = split_token(rest);
    if status_token.is_empty() {
        return Err(FrameError::new(PROTOCOL, "status", "missing"));
    }
    let status = Status::from_token(status_token).ok_or_else(|| {
        FrameError::new(
            PROTOCOL,
            "status",
            format!("unknown status `{status_token}`"),
        )
    })?;
    let command = command.to_string();
    let rest = rest.trim_matches(' ');
    if status.is_weight_status() && !rest.is_empty() && !rest.starts_with('"') {
        return parse_weight_response(command, status, text, rest);
    }
    let params = parse_params(rest)?;
    Ok(Response::Status {
        command,
        status,
        params,
    })
}

fn parse_weight_response(
    command: String,
    status: Status,
    line: &str,
    rest: &str,
) -> Result<Response, FrameError> {
    let tokens: Vec<&str> = rest.split(' ').filter(|t| !t.is_empty()).collect();
    let stable = matches!(status, Status::Stable | Status::StableBelowMinWeigh);
    if tokens.first() == Some(&"Error") {
        let code_token = tokens
            .get(1)
            .ok_or_else(|| FrameError::new(PROTOCOL, "weight", "`Error` without a code"))?;
        let (code, source) = parse_device_error(code_token)?;
        return Ok(Response::Weight {
            command,
            status,
            reading: WeightReading {
                value: None,
                unit: WeightUnit::Other(String::new()),
                stable,
                net: None,
                condition: ScaleCondition::DeviceError { code, source },
                tare: None,
            },
            crc: None,
        });
    }
    let (value_token, unit_token, crc_token) = match tokens.as_slice() {
        [v, u] => (*v, *u, None),
        [v, u, c] if command.starts_with("SIC") => (*v, *u, Some(*c)),
        [_] => return Err(FrameError::new(PROTOCOL, "unit", "missing")),
        _ => {
            return Err(FrameError::new(
                PROTOCOL,
                "weight",
                format!("expected `<weight> <unit>`, got `{rest}`"),
            ))
        }
    };
    let value =
        parse_weight_number(value_token).map_err(|r| FrameError::new(PROTOCOL, "weight", r))?;
    if !unit_token
        .bytes()
        .all(|b| b.is_ascii_alphabetic() || b == b'/')
        || unit_token.len() > 5
    {
        return Err(FrameError::new(
            PROTOCOL,
            "unit",
            format!("`{unit_token}` is not a unit (1–5 letters)"),
        ));
    }
    let crc = match crc_token {
        None => None,
        Some(c) => {
            let crc = u16::from_str_radix(c, 16)
                .ok()
                .filter(|_| c.len() == 4)
                .ok_or_else(|| {
                    FrameError::new(PROTOCOL, "crc", format!("`{c}` is not 4 hex digits"))
                })?;
            if command == "SIC2" {
                let covered = line.rfind(' ').and_then(|p| line.get(..=p)).unwrap_or("");
                let actual = crc16_ccitt_false(covered.as_bytes());
                if actual != crc {
                    return Err(FrameError::new(
                        PROTOCOL,
                        "crc",
                        format!("received {crc:04X}, computed {actual:04X}"),
                    ));
                }
            }
            Some(crc)
        }
    };
    let is_tare = matches!(command.as_str(), "T" | "TA" | "TI");
    Ok(Response::Weight {
        status,
        reading: WeightReading {
            value: Some(value),
            unit: WeightUnit::from_wire(unit_token),
            stable,
            net: None,
            condition: ScaleCondition::Ok,
            tare: if is_tare { Some(value) } else { None },
        },
        command,
        crc,
    })
}

fn parse_device_error(token: &str) -> Result<(u16, DeviceErrorSource), FrameError> {
    let split = token.len().saturating_sub(1);
    let (digits, trigger) = (
        token.get(..split).unwrap_or(""),
        token.get(split..).unwrap_or(""),
    );
    let source = match trigger {
        "b" => DeviceErrorSource::WeighModule,
        "t" => DeviceErrorSource::Terminal,
        _ => {
            return Err(FrameError::new(
                PROTOCOL,
                "weight",
                format!("device error `{token}` does not end in `b` or `t`"),
            ))
        }
    };
    let code = digits
        .parse::<u16>()
        .ok()
        .filter(|_| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            FrameError::new(
                PROTOCOL,
                "weight",
                format!("device error code `{digits}` is not a number"),
            )
        })?;
    Ok((code, source))
}

/// Splits off the first space-separated token.
fn split_token(text: &str) -> (&str, &str) {
    let text = text.trim_start_matches(' ');
    match text.find(' ') {
        Some(p) => (text.get(..p).unwrap_or(""), text.get(p..).unwrap_or("")),
        None => (text, ""),
    }
}

/// Parses space-separated parameters; `"…"` strings may contain spaces and `\"`.
fn parse_params(text: &str) -> Result<Vec<String>, FrameError> {
    let mut params = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Ok(params);
        };
        let mut param = String::new();
        if first == '"' {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' if chars.peek() == Some(&'"') => {
                        chars.next();
                        param.push('"');
                    }
                    '"' => {
                        closed = true;
                        break;
                    }
                    other => param.push(other),
                }
            }
            if !closed {
                return Err(FrameError::new(
                    PROTOCOL,
                    "parameter",
                    "unterminated quoted string",
                ));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                param.push(c);
                chars.next();
            }
        }
        params.push(param);
    }
}

/// `PROT 1` addressed mode: one address byte `'1'..='O'` (0x31..=0x4F) prefixes every response
/// (devices.md §1.1; the exact framing is not verified against hardware).
pub fn parse_addressed_response(line: &[u8]) -> Result<(u8, Response), FrameError> {
    let (&address, rest) = line
        .split_first()
        .ok_or_else(|| FrameError::new(PROTOCOL, "address", "missing"))?;
    if !(0x31..=0x4F).contains(&address) {
        return Err(FrameError::new(
            PROTOCOL,
            "address",
            format!("{address:#04x} is not '1'..'O'"),
        ));
    }
    Ok((address, parse_response(rest)?))
}

/// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no xorout), as used by `SIC2`.
pub fn crc16_ccitt_false(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// MT-SICS commands the drivers send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `@`: reset/cancel; the reply is `I4 A "<SNR>"`.
    Reset,
    /// `S`: stable weight.
    Weigh,
    /// `SI`: weight immediately.
    WeighImmediately,
    /// `SIR`: weight immediately and repeat.
    WeighRepeat,
    /// `SIC2`: weight with CRC.
    WeighWithCrc,
    /// `C`: cancel (stops `SIR` on newer devices).
    Cancel,
    /// `T`: tare.
    Tare,
    /// `TI`: tare immediately.
    TareImmediately,
    /// `TA`: query the tare.
    QueryTare,
    /// `TA <value> <unit>`: preset tare.
    PresetTare {
        /// Tare value.
        value: Decimal,
        /// Tare unit.
        unit: WeightUnit,
    },
    /// `TAC`: clear tare.
    ClearTare,
    /// `Z`: zero on stability.
    Zero,
    /// `ZI`: zero immediately.
    ZeroImmediately,
    /// `I<n>`: information (`I4` = serial number).
    Info(u8),
}

impl Command {
    /// The bytes to send, `<CR><LF>` included.
    pub fn encode(&self) -> Result<Vec<u8>, FrameError> {
        let body = match self {
            Self::Reset => "@".to_string(),
            Self::Weigh => "S".into(),
            Self::WeighImmediately => "SI".into(),
            Self::WeighRepeat => "SIR".into(),
            Self::WeighWithCrc => "SIC2".into(),
            Self::Cancel => "C".into(),
            Self::Tare => "T".into(),
            Self::TareImmediately => "TI".into(),
            Self::QueryTare => "TA".into(),
            Self::PresetTare { value, unit } => {
                let symbol = unit.symbol();
                if symbol.is_empty()
                    || symbol.len() > 5
                    || !symbol.bytes().all(|b| b.is_ascii_alphabetic())
                {
                    return Err(FrameError::new(
                        PROTOCOL,
                        "unit",
                        format!(
                            "`{}` cannot be sent as an MT-SICS unit",
                            symbol.escape_debug()
                        ),
                    ));
                }
                format!("TA {value} {symbol}")
            }
            Self::ClearTare => "TAC".into(),
            Self::Zero => "Z".into(),
            Self::ZeroImmediately => "ZI".into(),
            Self::Info(n) => format!("I{n}"),
        };
        let mut bytes = body.into_bytes();
        bytes.extend_from_slice(b"\r\n");
        Ok(bytes)
    }

    /// The bytes to send in `PROT 1` addressed mode: `address` is `'0'` (broadcast) or
    /// `'1'..='O'`.
    pub fn encode_addressed(&self, address: u8) -> Result<Vec<u8>, FrameError> {
        if !(0x30..=0x4F).contains(&address) {
            return Err(FrameError::new(
                PROTOCOL,
                "address",
                format!("{address:#04x} is not '0'..'O'"),
            ));
        }
        let mut bytes = vec![address];
        bytes.extend(self.encode()?);
        Ok(bytes)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::scale::framing::Framer;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn weight(line: &str) -> (Status, WeightReading) {
        match parse_response(line.as_bytes()).unwrap() {
            Response::Weight {
                status, reading, ..
            } => (status, reading),
            other => panic!("not a weight response: {other:?}"),
        }
    }

    fn status(line: &str) -> (String, Status, Vec<String>) {
        match parse_response(line.as_bytes()).unwrap() {
            Response::Status {
                command,
                status,
                params,
            } => (command, status, params),
            other => panic!("not a status response: {other:?}"),
        }
    }

    #[test]
    fn a_stable_weight_line_parses_to_a_stable_reading() {
        let (st, r) = weight("S S     100.00 g");
        assert_eq!(st, Status::Stable);
        assert!(r.stable);
        assert_eq!(r.value, Some(d("100.00")));
        assert_eq!(r.unit, WeightUnit::G);
        assert_eq!(r.condition, ScaleCondition::Ok);
        assert_eq!(r.value_kg(), Ok(d("0.1")));
    }

    #[test]
    fn a_dynamic_weight_line_is_not_stable() {
        let (st, r) = weight("S D     129.07 g");
        assert_eq!(st, Status::Dynamic);
        assert!(!r.stable);
        assert_eq!(r.value, Some(d("129.07")));
    }

    #[test]
    fn a_negative_net_weight_is_a_valid_reading() {
        let (_, r) = weight("S S    -0.0082 g");
        assert_eq!(r.value, Some(d("-0.0082")));
        assert!(r.is_usable());
        let (_, r) = weight("S D    -12.345 g");
        assert_eq!(r.value, Some(d("-12.345")));
    }

    #[test]
    fn the_byte_level_examples_parse() {
        let bytes = [
            0x53, 0x20, 0x53, 0x20, 0x20, 0x20, 0x20, 0x20, 0x31, 0x30, 0x30, 0x2E, 0x30, 0x30,
            0x20, 0x67, 0x0D, 0x0A,
        ];
        let mut f = framer(FramerOptions::default());
        f.push(&bytes);
        let frame = f.next_frame().unwrap();
        assert_eq!(
            weight(std::str::from_utf8(&frame).unwrap()).1.value,
            Some(d("100"))
        );
        assert_eq!(
            parse_response(&[0x53, 0x20, 0x49, 0x0D, 0x0A]).unwrap(),
            Response::Status {
                command: "S".into(),
                status: Status::NotExecutable,
                params: vec![]
            }
        );
    }

    #[test]
    fn overload_and_underload_are_readings_without_value() {
        let over = parse_response(b"S +").unwrap().reading().unwrap();
        assert_eq!(over.condition, ScaleCondition::Overload);
        assert_eq!(over.value, None);
        let under = parse_response(b"S -").unwrap().reading().unwrap();
        assert_eq!(under.condition, ScaleCondition::Underload);
    }

    #[test]
    fn a_busy_scale_answers_not_executable() {
        assert_eq!(status("S I").1, Status::NotExecutable);
        assert_eq!(parse_response(b"S I").unwrap().reading(), None);
        assert_eq!(status("S L").1, Status::LogicalError);
    }

    #[test]
    fn general_errors_have_no_command_id() {
        assert_eq!(
            parse_response(b"ES").unwrap(),
            Response::Error(GeneralError::Syntax)
        );
        assert_eq!(
            parse_response(b"ET\r\n").unwrap(),
            Response::Error(GeneralError::Transmission)
        );
        assert_eq!(
            parse_response(b"EL").unwrap(),
            Response::Error(GeneralError::Logic)
        );
    }

    #[test]
    fn zero_range_limits_are_reported_for_the_zero_command() {
        assert_eq!(status("Z +"), ("Z".into(), Status::UpperLimit, vec![]));
        assert_eq!(status("Z -"), ("Z".into(), Status::LowerLimit, vec![]));
        assert_eq!(status("Z A").1, Status::Executed);
        assert_eq!(status("ZI D"), ("ZI".into(), Status::Dynamic, vec![]));
        // `Z +` is a zeroing-range error, not a weight overload.
        assert_eq!(parse_response(b"Z +").unwrap().reading(), None);
    }

    #[test]
    fn a_multi_line_info_list_ends_with_status_a() {
        assert_eq!(
            status("I0 B 0 \"I0\""),
            (
                "I0".into(),
                Status::NotFinished,
                vec!["0".into(), "I0".into()]
            )
        );
        assert_eq!(
            status("I0 B 1 \"D\"").2,
            vec!["1".to_string(), "D".to_string()]
        );
        assert_eq!(status("I0 A"), ("I0".into(), Status::Executed, vec![]));
    }

    #[test]
    fn a_device_error_in_the_weight_field_is_a_device_error_condition() {
        let (_, r) = weight("S S  Error 10b");
        assert_eq!(
            r.condition,
            ScaleCondition::DeviceError {
                code: 10,
                source: DeviceErrorSource::WeighModule
            }
        );
        assert_eq!(r.value, None);
        let (_, r) = weight("S S   Error 1t");
        assert_eq!(
            r.condition,
            ScaleCondition::DeviceError {
                code: 1,
                source: DeviceErrorSource::Terminal
            }
        );
        assert!(parse_response(b"S S  Error 10x").is_err());
    }

    #[test]
    fn a_deltarange_trailing_space_is_tolerated() {
        let (_, r) = weight("S S    100.0  g");
        assert_eq!(r.value, Some(d("100.0")));
        assert_eq!(r.unit, WeightUnit::G);
    }

    #[test]
    fn the_serial_number_line_is_accepted_at_any_time() {
        let mut f = framer(FramerOptions::default());
        f.push(b"S D     1.00 g\r\nI4 A \"B021002593\"\r\nS S     2.00 g\r\n");
        let parsed: Vec<Response> = std::iter::from_fn(|| f.next_frame())
            .map(|l| parse_response(&l).unwrap())
            .collect();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[1].serial_number(), Some("B021002593"));
        assert_eq!(parsed[2].reading().unwrap().value, Some(d("2.00")));
    }

    #[test]
    fn a_tare_response_carries_the_tare() {
        let (_, r) = weight("T S     100.00 g");
        assert_eq!(r.tare, Some(d("100.00")));
        let (_, r) = weight("TI D      5.5 kg");
        assert_eq!(r.tare, Some(d("5.5")));
        assert!(!r.stable);
    }

    #[test]
    fn a_sic2_crc_is_verified() {
        assert_eq!(crc16_ccitt_false(b"SIC2 S 12325.0012 g "), 0xC7C9);
        match parse_response(b"SIC2 S 12325.0012 g C7C9").unwrap() {
            Response::Weight { crc, reading, .. } => {
                assert_eq!(crc, Some(0xC7C9));
                assert_eq!(reading.value, Some(d("12325.0012")));
            }
            other => panic!("{other:?}"),
        }
        let err = parse_response(b"SIC2 S 12325.0013 g C7C9").unwrap_err();
        assert_eq!(err.field, "crc");
    }

    #[test]
    fn malformed_lines_name_the_failing_field() {
        assert_eq!(parse_response(b"S").unwrap_err().field, "status");
        assert_eq!(parse_response(b"S Q").unwrap_err().field, "status");
        assert_eq!(parse_response(b"S S 1.2.3 g").unwrap_err().field, "weight");
        assert_eq!(parse_response(b"S S 100.00").unwrap_err().field, "unit");
        assert_eq!(parse_response(b"s S 1 g").unwrap_err().field, "command id");
        assert_eq!(parse_response(&[0xFF, 0x20]).unwrap_err().field, "line");
        assert_eq!(
            parse_response(b"I4 A \"B02").unwrap_err().field,
            "parameter"
        );
    }

    #[test]
    fn addressed_mode_prefixes_one_address_byte() {
        assert_eq!(
            Command::Weigh.encode_addressed(b'1').unwrap(),
            b"1S\r\n".to_vec()
        );
        assert!(Command::Weigh.encode_addressed(b'P').is_err());
        let (address, response) = parse_addressed_response(b"2S S     100.00 g").unwrap();
        assert_eq!(address, b'2');
        assert_eq!(response.reading().unwrap().value, Some(d("100.00")));
        assert_eq!(
            parse_addressed_response(b"0S S 1 g").unwrap_err().field,
            "address"
        );
        assert_eq!(parse_addressed_response(b"").unwrap_err().field, "address");
    }

    #[test]
    fn commands_are_encoded_with_crlf() {
        assert_eq!(
            Command::WeighImmediately.encode().unwrap(),
            vec![0x53, 0x49, 0x0D, 0x0A]
        );
        assert_eq!(Command::Reset.encode().unwrap(), b"@\r\n".to_vec());
        assert_eq!(Command::Info(4).encode().unwrap(), b"I4\r\n".to_vec());
        assert_eq!(
            Command::PresetTare {
                value: d("100.00"),
                unit: WeightUnit::G
            }
            .encode()
            .unwrap(),
            b"TA 100.00 g\r\n".to_vec()
        );
        assert!(Command::PresetTare {
            value: d("1"),
            unit: WeightUnit::Other("g\r\nZ".into())
        }
        .encode()
        .is_err());
    }
}

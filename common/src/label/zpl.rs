//! A small ZPL II builder that cannot be injected into: every piece of field data is either
//! hex-escaped with `^FH` (`^`, `~`, `_` and control bytes become `_XX`) or rejected, and GS1-128
//! barcode data is generated from validated element strings with explicit Code 128 subset
//! switches and `>8` FNC1 separators (devices.md §3.2, §3.5).

use std::fmt::Write as _;

/// What to do with field data containing `^`, `~`, `_` or control bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Escaping {
    /// Emit `^FH_` and hex-escape them as `_XX`.
    #[default]
    Hex,
    /// Refuse the data with [`ZplError::ForbiddenByte`].
    Reject,
}

/// Why a label could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZplError {
    /// Field data holds a byte that would start a ZPL command or is a control byte.
    #[error(
        "field `{field}`: byte {byte:#04x} at position {position} is not allowed in ZPL field data"
    )]
    ForbiddenByte {
        /// Field name.
        field: String,
        /// The byte.
        byte: u8,
        /// Byte offset in the data.
        position: usize,
    },
    /// A GS1 element is invalid for a GS1-128 symbol.
    #[error("GS1-128 element ({ai}): {reason}")]
    Element {
        /// The AI.
        ai: String,
        /// Why.
        reason: String,
    },
    /// The symbol (with its quiet zones) or a field does not fit on the label.
    #[error("{what}: needs {needed} dots, {available} available")]
    DoesNotFit {
        /// What does not fit.
        what: String,
        /// Dots needed.
        needed: u32,
        /// Dots available.
        available: u32,
    },
    /// An input value is out of its allowed range.
    #[error("field `{field}`: {reason}")]
    Invalid {
        /// Field name.
        field: String,
        /// Why.
        reason: String,
    },
}

fn needs_escape(b: u8) -> bool {
    matches!(b, b'^' | b'~' | b'_') || b < 0x20 || b == 0x7F
}

/// Escapes `data` for a `^FD` field. Returns the text and whether `^FH_` must precede `^FD`.
pub fn escape_field_data(
    field: &str,
    data: &str,
    escaping: Escaping,
) -> Result<(String, bool), ZplError> {
    if !data.bytes().any(needs_escape) {
        return Ok((data.to_string(), false));
    }
    if escaping == Escaping::Reject {
        let (position, byte) = data
            .bytes()
            .enumerate()
            .find(|(_, b)| needs_escape(*b))
            .unwrap_or((0, 0));
        return Err(ZplError::ForbiddenByte {
            field: field.to_string(),
            byte,
            position,
        });
    }
    let mut out = String::with_capacity(data.len() + 8);
    for c in data.chars() {
        if c.is_ascii() && needs_escape(c as u8) {
            let _ = write!(out, "_{:02X}", c as u8);
        } else {
            out.push(c);
        }
    }
    Ok((out, true))
}

/// GS1 AIs whose *first two digits* imply a predefined total length (GS1 General Specifications
/// figure 5.10.1-2): no FNC1 is needed after them.
fn predefined_length(ai: &str) -> Option<usize> {
    Some(match ai.get(..2)? {
        "00" => 20,
        "01" | "02" | "03" => 16,
        "04" => 18,
        "11" | "12" | "13" | "14" | "15" | "16" | "17" | "18" | "19" => 8,
        "20" => 4,
        "31" | "32" | "33" | "34" | "35" | "36" => 10,
        "41" => 16,
        _ => return None,
    })
}

/// GS1 "character set 82" (the characters allowed in most AI values).
fn in_charset_82(b: u8) -> bool {
    matches!(b,
        b'!' | b'"' | b'%'..=b'/' | b'0'..=b'9' | b':'..=b'?' | b'A'..=b'Z' | b'_' | b'a'..=b'z')
}

/// One GS1 element: an AI and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gs1Element {
    /// Application identifier (2–4 digits).
    pub ai: String,
    /// Value (GS1 character set 82; `>` is refused because ZPL uses it for invocation codes).
    pub value: String,
}

impl Gs1Element {
    /// An element.
    pub fn new(ai: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            ai: ai.into(),
            value: value.into(),
        }
    }

    fn validate(&self) -> Result<(), ZplError> {
        let err = |reason: String| ZplError::Element {
            ai: self.ai.clone(),
            reason,
        };
        if !(2..=4).contains(&self.ai.len()) || !self.ai.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("the AI must be 2 to 4 digits".into()));
        }
        if self.value.is_empty() {
            return Err(err("empty value".into()));
        }
        if let Some(b) = self.value.bytes().find(|&b| !in_charset_82(b) || b == b'>') {
            return Err(err(format!(
                "byte {b:#04x} is not allowed (GS1 character set 82 without `>`)"
            )));
        }
        if let Some(total) = predefined_length(&self.ai) {
            let len = self.ai.len() + self.value.len();
            if len != total {
                return Err(err(format!(
                    "AI + value must be exactly {total} characters, got {len}"
                )));
            }
        }
        Ok(())
    }

    /// Whether the AI has a predefined length (no FNC1 needed after it).
    pub fn is_fixed_length(&self) -> bool {
        predefined_length(&self.ai).is_some()
    }
}

/// GS1-128 data ready for `^BC…^FD`: subset switches and FNC1s as ZPL invocation codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gs1_128 {
    /// The elements in encoding order (fixed-length AIs first).
    pub elements: Vec<Gs1Element>,
    /// `^FD` content, e.g. `>;>802095201234567883725`.
    pub zpl_data: String,
    /// Code 128 symbol characters between start and check (FNC1s and shifts included).
    pub symbol_chars: usize,
}

enum Token {
    Fnc1,
    Byte(u8),
}

impl Gs1_128 {
    /// Encodes elements: fixed-length AIs first (stable order otherwise), `>8` FNC1 at the start
    /// and after every variable-length element that is not last.
    pub fn new(elements: &[Gs1Element]) -> Result<Self, ZplError> {
        if elements.is_empty() {
            return Err(ZplError::Invalid {
                field: "gs1-128".into(),
                reason: "no elements".into(),
            });
        }
        for e in elements {
            e.validate()?;
        }
        let mut ordered: Vec<Gs1Element> = elements.to_vec();
        ordered.sort_by_key(|e| !e.is_fixed_length());
        let mut tokens = vec![Token::Fnc1];
        let last = ordered.len() - 1;
        for (i, e) in ordered.iter().enumerate() {
            tokens.extend(e.ai.bytes().chain(e.value.bytes()).map(Token::Byte));
            if !e.is_fixed_length() && i != last {
                tokens.push(Token::Fnc1);
            }
        }
        let (zpl_data, symbol_chars) = encode_code128(&tokens);
        Ok(Self {
            elements: ordered,
            zpl_data,
            symbol_chars,
        })
    }

    /// Width in modules including start, check, stop (11 × chars + 35), without quiet zones.
    pub fn width_modules(&self) -> u32 {
        u32::try_from(self.symbol_chars)
            .unwrap_or(u32::MAX / 16)
            .saturating_mul(11)
            .saturating_add(35)
    }

    /// Human-readable interpretation: `(02) 09520123456788 (37) 25`.
    pub fn hri(&self) -> String {
        self.elements
            .iter()
            .map(|e| format!("({}) {}", e.ai, e.value))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Code 128 with ZPL invocation codes, starting in subset C (`>;`); digit pairs in C, everything
/// else in B (`>6`), back to C (`>5`) for runs of 4+ digits. Returns data and symbol count.
fn encode_code128(tokens: &[Token]) -> (String, usize) {
    let mut out = String::from(">;");
    let mut count = 0usize;
    let mut in_c = true;
    let mut i = 0;
    while let Some(t) = tokens.get(i) {
        match t {
            Token::Fnc1 => {
                out.push_str(">8");
                count += 1;
                i += 1;
            }
            Token::Byte(b) if b.is_ascii_digit() => {
                let run: Vec<u8> = tokens
                    .get(i..)
                    .unwrap_or(&[])
                    .iter()
                    .map_while(|t| match t {
                        Token::Byte(d) if d.is_ascii_digit() => Some(*d),
                        _ => None,
                    })
                    .collect();
                i += run.len();
                let mut digits = run.as_slice();
                if !in_c {
                    if digits.len() < 4 {
                        out.extend(digits.iter().map(|&d| char::from(d)));
                        count += digits.len();
                        continue;
                    }
                    if digits.len() % 2 == 1 {
                        if let Some((&first, rest)) = digits.split_first() {
                            out.push(char::from(first));
                            count += 1;
                            digits = rest;
                        }
                    }
                    out.push_str(">5");
                    count += 1;
                    in_c = true;
                }
                let pairs = digits.len() / 2;
                out.extend(digits.iter().take(pairs * 2).map(|&d| char::from(d)));
                count += pairs;
                if let Some(&odd) = digits.get(pairs * 2) {
                    out.push_str(">6");
                    out.push(char::from(odd));
                    count += 2;
                    in_c = false;
                }
            }
            Token::Byte(b) => {
                if in_c {
                    out.push_str(">6");
                    count += 1;
                    in_c = false;
                }
                out.push(char::from(*b));
                count += 1;
                i += 1;
            }
        }
    }
    (out, count)
}

/// Builds one ZPL label format (`^XA` … `^XZ`) in UTF-8 (`^CI28`).
#[derive(Debug, Clone)]
pub struct ZplBuilder {
    out: String,
    escaping: Escaping,
    width_dots: u32,
    length_dots: u32,
    module_dots: u32,
}

impl ZplBuilder {
    /// Starts a label of the given size in dots (203 dpi: 8 dots/mm; 4×6 in = 812×1218).
    pub fn new(width_dots: u32, length_dots: u32, escaping: Escaping) -> Self {
        let mut out = String::new();
        let _ = writeln!(out, "^XA\n^CI28\n^PW{width_dots}^LL{length_dots}^LH0,0");
        Self {
            out,
            escaping,
            width_dots,
            length_dots,
            module_dots: 2,
        }
    }

    /// Label width in dots.
    pub fn width_dots(&self) -> u32 {
        self.width_dots
    }

    /// Label length in dots.
    pub fn length_dots(&self) -> u32 {
        self.length_dots
    }

    fn check_y(&self, what: &str, y: u32, height: u32) -> Result<(), ZplError> {
        let needed = y.saturating_add(height);
        if needed > self.length_dots {
            return Err(ZplError::DoesNotFit {
                what: what.to_string(),
                needed,
                available: self.length_dots,
            });
        }
        Ok(())
    }

    fn field_data(&mut self, field: &str, data: &str) -> Result<(), ZplError> {
        let (escaped, fh) = escape_field_data(field, data, self.escaping)?;
        if fh {
            self.out.push_str("^FH_");
        }
        let _ = writeln!(self.out, "^FD{escaped}^FS");
        Ok(())
    }

    /// Text in scalable font 0 at (`x`, `y`), `height`×`width` dots.
    pub fn text(
        &mut self,
        field: &str,
        x: u32,
        y: u32,
        height: u32,
        width: u32,
        data: &str,
    ) -> Result<&mut Self, ZplError> {
        self.check_y(field, y, height)?;
        let _ = write!(self.out, "^FO{x},{y}^A0N,{height},{width}");
        self.field_data(field, data)?;
        Ok(self)
    }

    /// Text centred across the label width (`^FB` with `C` justification, one line).
    pub fn centred_text(
        &mut self,
        field: &str,
        y: u32,
        height: u32,
        width: u32,
        data: &str,
    ) -> Result<&mut Self, ZplError> {
        self.check_y(field, y, height)?;
        let _ = write!(
            self.out,
            "^FO0,{y}^FB{},1,0,C,0^A0N,{height},{width}",
            self.width_dots
        );
        self.field_data(field, data)?;
        Ok(self)
    }

    /// A filled box / line (`^GB`).
    pub fn graphic_box(
        &mut self,
        x: u32,
        y: u32,
        width: u32,
        height: u32,
        thickness: u32,
    ) -> Result<&mut Self, ZplError> {
        self.check_y("box", y, height)?;
        let _ = writeln!(self.out, "^FO{x},{y}^GB{width},{height},{thickness}^FS");
        Ok(self)
    }

    /// Bar code defaults `^BY` (module width in dots, wide:narrow ratio 3, height).
    pub fn barcode_defaults(
        &mut self,
        module_dots: u32,
        height: u32,
    ) -> Result<&mut Self, ZplError> {
        if !(1..=10).contains(&module_dots) {
            return Err(ZplError::Invalid {
                field: "module width".into(),
                reason: format!("{module_dots} dots, must be 1-10"),
            });
        }
        self.module_dots = module_dots;
        let _ = writeln!(self.out, "^BY{module_dots},3,{height}");
        Ok(self)
    }

    /// Width in dots of `symbol` at the current module width, without quiet zones.
    pub fn symbol_width_dots(&self, symbol: &Gs1_128) -> u32 {
        symbol.width_modules().saturating_mul(self.module_dots)
    }

    /// A GS1-128 symbol (mode N, no printer HRI) horizontally centred at `y`; checks that it
    /// fits the label width with 10-module quiet zones on both sides.
    pub fn gs1_128_centred(
        &mut self,
        field: &str,
        y: u32,
        height: u32,
        symbol: &Gs1_128,
    ) -> Result<&mut Self, ZplError> {
        let width = self.symbol_width_dots(symbol);
        let quiet = 10 * self.module_dots;
        let needed = width.saturating_add(2 * quiet);
        if needed > self.width_dots {
            return Err(ZplError::DoesNotFit {
                what: format!("GS1-128 symbol `{field}` with quiet zones"),
                needed,
                available: self.width_dots,
            });
        }
        self.check_y(field, y, height)?;
        let x = (self.width_dots - width) / 2;
        let _ = write!(self.out, "^FO{x},{y}^BCN,{height},N,N,N");
        self.field_data(field, &symbol.zpl_data)?;
        Ok(self)
    }

    /// `^PQ` print quantity (no pauses, no replicates).
    pub fn print_quantity(&mut self, copies: u32) -> Result<&mut Self, ZplError> {
        if !(1..=99_999_999).contains(&copies) {
            return Err(ZplError::Invalid {
                field: "copies".into(),
                reason: format!("{copies} is outside 1-99999999"),
            });
        }
        let _ = writeln!(self.out, "^PQ{copies},0,0,N");
        Ok(self)
    }

    /// Ends the format and returns the ZPL text.
    pub fn finish(mut self) -> String {
        self.out.push_str("^XZ\n");
        self.out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn gs1(pairs: &[(&str, &str)]) -> Gs1_128 {
        let elements: Vec<Gs1Element> =
            pairs.iter().map(|(a, v)| Gs1Element::new(*a, *v)).collect();
        Gs1_128::new(&elements).unwrap()
    }

    #[test]
    fn caret_tilde_underscore_and_control_bytes_are_hex_escaped() {
        let (s, fh) = escape_field_data("to", "A^XZ~JA_b\r\nÄ", Escaping::Hex).unwrap();
        assert!(fh);
        assert_eq!(s, "A_5EXZ_7EJA_5Fb_0D_0AÄ");
        let (s, fh) = escape_field_data("to", "Plain Text 123", Escaping::Hex).unwrap();
        assert!(!fh);
        assert_eq!(s, "Plain Text 123");
    }

    #[test]
    fn reject_mode_names_the_field_and_byte() {
        assert_eq!(
            escape_field_data("order ref", "AB^XZ", Escaping::Reject).unwrap_err(),
            ZplError::ForbiddenByte {
                field: "order ref".into(),
                byte: b'^',
                position: 2
            }
        );
    }

    #[test]
    fn injected_commands_cannot_end_the_field() {
        let mut b = ZplBuilder::new(812, 1218, Escaping::Hex);
        b.text("to", 10, 10, 30, 30, "X^FS^XZ^XA^FDevil").unwrap();
        let zpl = b.finish();
        assert!(zpl.contains("^FH_^FDX_5EFS_5EXZ_5EXA_5EFDevil^FS\n"));
        assert_eq!(zpl.matches("^XZ").count(), 1);
    }

    #[test]
    fn the_sscc_symbol_data_matches_the_decoded_reference() {
        let s = gs1(&[("00", "376104250021234569")]);
        assert_eq!(s.zpl_data, ">;>800376104250021234569");
        assert_eq!(s.symbol_chars, 11);
        assert_eq!(s.width_modules(), 156);
    }

    #[test]
    fn a_variable_length_ai_that_is_not_last_gets_an_explicit_fnc1() {
        // (37) is variable length; given first, it is moved after the fixed (02).
        let s = gs1(&[("37", "25"), ("02", "09520123456788")]);
        assert_eq!(s.zpl_data, ">;>802095201234567883725");
        assert_eq!(s.hri(), "(02) 09520123456788 (37) 25");
        let s = gs1(&[("10", "ABC123"), ("15", "260630")]);
        assert_eq!(s.zpl_data, ">;>81526063010>6ABC123");
        let s = gs1(&[("10", "ABC123"), ("37", "25")]);
        assert_eq!(s.zpl_data, ">;>810>6ABC123>8>53725");
    }

    #[test]
    fn an_odd_digit_before_a_shift_is_encoded_in_subset_b() {
        let s = gs1(&[("10", "1A")]);
        assert_eq!(s.zpl_data, ">;>810>61A");
        let s = gs1(&[("10", "A12345")]);
        assert_eq!(s.zpl_data, ">;>810>6A1>52345");
    }

    #[test]
    fn invalid_elements_are_refused() {
        assert!(Gs1_128::new(&[Gs1Element::new("02", "123")]).is_err());
        assert!(Gs1_128::new(&[Gs1Element::new("10", "A>B")]).is_err());
        assert!(Gs1_128::new(&[Gs1Element::new("10", "A B")]).is_err());
        assert!(Gs1_128::new(&[Gs1Element::new("1", "AB")]).is_err());
        assert!(Gs1_128::new(&[]).is_err());
    }

    #[test]
    fn a_symbol_too_wide_for_the_label_is_refused() {
        // The failed first attempt from devices.md §3.5: all four AIs in one symbol.
        let s = gs1(&[
            ("02", "09520123456788"),
            ("15", "260630"),
            ("37", "25"),
            ("10", "ABC123"),
        ]);
        assert_eq!(s.zpl_data, ">;>80209520123456788152606303725>810>6ABC123");
        let mut b = ZplBuilder::new(812, 1218, Escaping::Hex);
        b.barcode_defaults(3, 240).unwrap();
        assert!(matches!(
            b.gs1_128_centred("all", 300, 240, &s),
            Err(ZplError::DoesNotFit { .. })
        ));
    }
}

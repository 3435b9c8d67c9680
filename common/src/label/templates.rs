//! Label templates: a carton shipping label (4×6 in) and a GS1 logistic (SSCC) label (4×8 in),
//! both at 203 dpi. Output is deterministic ZPL (golden-bytes tested).
//!
//! The logistic label follows the GS1 Logistic Label Guideline as summarised in devices.md §3.5:
//! free-form section, human-readable data titles, then GS1-128 symbols with our own HRI in
//! parentheses below each, fixed-length AIs first, an explicit FNC1 (`>8`) after every
//! variable-length AI that is not last, X = 0.5 mm (`^BY4`), bars 32 mm (256 dots), and the SSCC
//! symbol lowest. Every symbol is checked to fit the label width with its quiet zones.
//!
//! Text fields have character limits chosen so that font 0 (proportional, average glyph width
//! ≈ 0.7 × the `^A0` width) stays inside the label; these layouts have not been rendered and
//! decoded yet (see devices.md §3.6 for the recommended render-and-decode check).

use rust_decimal::Decimal;

use super::sscc::Sscc;
use super::zpl::{Escaping, Gs1Element, Gs1_128, ZplBuilder, ZplError};
use crate::check_digit::has_valid_gs1_check_digit;

/// 4 in at 203 dpi.
pub const WIDTH_4IN_DOTS: u32 = 812;
/// 6 in at 203 dpi.
pub const LENGTH_6IN_DOTS: u32 = 1218;
/// 8 in at 203 dpi.
pub const LENGTH_8IN_DOTS: u32 = 1624;
/// X dimension 0.5 mm at 203 dpi.
const MODULE_DOTS: u32 = 4;
/// 32 mm at 203 dpi (GS1 minimum bar height for logistic labels).
const BAR_HEIGHT_DOTS: u32 = 256;
const MARGIN: u32 = 30;

fn invalid(field: &str, reason: impl Into<String>) -> ZplError {
    ZplError::Invalid {
        field: field.to_string(),
        reason: reason.into(),
    }
}

fn check_lines(
    field: &str,
    lines: &[String],
    min: usize,
    max_lines: usize,
    max_chars: usize,
) -> Result<(), ZplError> {
    if lines.len() < min || lines.len() > max_lines {
        return Err(invalid(
            field,
            format!("{} lines, {min} to {max_lines} allowed", lines.len()),
        ));
    }
    for (i, line) in lines.iter().enumerate() {
        let n = line.chars().count();
        if n > max_chars {
            return Err(invalid(
                field,
                format!("line {} has {n} characters, at most {max_chars} fit", i + 1),
            ));
        }
    }
    Ok(())
}

/// Input of the carton shipping label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartonLabel {
    /// Sender address, 1–4 lines of at most 36 characters.
    pub from: Vec<String>,
    /// Recipient address, 1–4 lines of at most 26 characters (large font).
    pub to: Vec<String>,
    /// Order reference, at most 16 characters.
    pub order_ref: String,
    /// This carton's number (1-based).
    pub carton_number: u32,
    /// Cartons in the shipment.
    pub carton_count: u32,
    /// Gross weight in kg (non-negative), printed as given.
    pub weight_kg: Decimal,
    /// The carton's SSCC.
    pub sscc: Sscc,
}

/// Renders the carton shipping label (812×1218 dots, one copy).
pub fn carton_label(label: &CartonLabel) -> Result<String, ZplError> {
    check_lines("from", &label.from, 1, 4, 36)?;
    check_lines("to", &label.to, 1, 4, 26)?;
    if label.order_ref.is_empty() || label.order_ref.chars().count() > 16 {
        return Err(invalid("order ref", "must be 1 to 16 characters"));
    }
    if label.carton_number == 0 || label.carton_number > label.carton_count {
        return Err(invalid(
            "carton",
            format!(
                "carton {} of {} is not within 1..={}",
                label.carton_number, label.carton_count, label.carton_count
            ),
        ));
    }
    if label.weight_kg.is_sign_negative() {
        return Err(invalid(
            "weight kg",
            format!("{} is negative", label.weight_kg),
        ));
    }
    let mut z = ZplBuilder::new(WIDTH_4IN_DOTS, LENGTH_6IN_DOTS, Escaping::Hex);
    let rule_width = WIDTH_4IN_DOTS - 2 * 20;
    let mut y = 20;
    z.text("from title", MARGIN, y, 24, 24, "FROM")?;
    y += 30;
    for line in &label.from {
        z.text("from", MARGIN, y, 28, 28, line)?;
        y += 32;
    }
    y += 8;
    z.graphic_box(20, y, rule_width, 3, 3)?;
    y += 14;
    z.text("to title", MARGIN, y, 24, 24, "TO")?;
    y += 32;
    for line in &label.to {
        z.text("to", MARGIN, y, 40, 36, line)?;
        y += 46;
    }
    y += 8;
    z.graphic_box(20, y, rule_width, 3, 3)?;
    y += 16;
    let rows = [
        ("ORDER", label.order_ref.clone()),
        (
            "CARTON",
            format!("{} OF {}", label.carton_number, label.carton_count),
        ),
        ("WEIGHT", format!("{} KG", label.weight_kg)),
    ];
    for (title, value) in rows {
        z.text("title", MARGIN, y + 10, 26, 26, title)?;
        z.text(title, 220, y, 44, 44, &value)?;
        y += 56;
    }
    y += 4;
    z.graphic_box(20, y, rule_width, 3, 3)?;
    y += 24;
    let symbol = Gs1_128::new(&[Gs1Element::new("00", label.sscc.as_str())])?;
    z.barcode_defaults(MODULE_DOTS, BAR_HEIGHT_DOTS)?;
    z.gs1_128_centred("sscc", y, BAR_HEIGHT_DOTS, &symbol)?;
    y += BAR_HEIGHT_DOTS + 8;
    z.centred_text("sscc hri", y, 30, 30, &label.sscc.hri())?;
    z.print_quantity(1)?;
    Ok(z.finish())
}

/// A GS1 date (AI 15 etc.): day 0 means "end of month" per GS1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gs1Date {
    /// 2000–2099.
    pub year: u16,
    /// 1–12.
    pub month: u8,
    /// 0–31 (0 = unspecified day).
    pub day: u8,
}

impl Gs1Date {
    fn validate(&self, field: &str) -> Result<(), ZplError> {
        let days = match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if self.year % 4 == 0 => 29,
            2 => 28,
            _ => return Err(invalid(field, format!("month {} is not 1-12", self.month))),
        };
        if !(2000..=2099).contains(&self.year) {
            return Err(invalid(
                field,
                format!("year {} is not 2000-2099", self.year),
            ));
        }
        if self.day > days {
            return Err(invalid(
                field,
                format!(
                    "day {} does not exist in {}-{:02}",
                    self.day, self.year, self.month
                ),
            ));
        }
        Ok(())
    }

    /// `YYMMDD` for the AI value.
    pub fn yymmdd(&self) -> String {
        format!("{:02}{:02}{:02}", self.year % 100, self.month, self.day)
    }

    /// `DD.MM.YYYY` (or `MM.YYYY` when the day is 0) for the human-readable section.
    pub fn display(&self) -> String {
        if self.day == 0 {
            format!("{:02}.{}", self.month, self.year)
        } else {
            format!("{:02}.{:02}.{}", self.day, self.month, self.year)
        }
    }
}

/// Input of the GS1 logistic (SSCC) label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogisticLabel {
    /// Free-form section (shipper, consignee, …), 0–4 lines of at most 34 characters.
    pub free_form: Vec<String>,
    /// The logistic unit's SSCC (mandatory).
    pub sscc: Sscc,
    /// GTIN of the contained trade items (AI 02); requires `count`.
    pub content_gtin: Option<String>,
    /// Number of contained trade items (AI 37); requires `content_gtin`.
    pub count: Option<u32>,
    /// Batch/lot (AI 10), at most 20 characters of GS1 character set 82.
    pub batch_lot: Option<String>,
    /// Best before date (AI 15).
    pub best_before: Option<Gs1Date>,
    /// Net weight in kg (AI 310n, n = the value's decimals, at most 5; at most 6 digits).
    pub net_weight_kg: Option<Decimal>,
    /// Copies (GS1: two identical labels on adjacent sides).
    pub copies: u32,
}

fn net_weight_element(w: Decimal) -> Result<Gs1Element, ZplError> {
    if w.is_sign_negative() || w.is_zero() {
        return Err(invalid("net weight kg", format!("{w} must be positive")));
    }
    let w = if w.scale() > 5 { w.normalize() } else { w };
    if w.scale() > 5 {
        return Err(invalid(
            "net weight kg",
            format!("{w} has more than 5 decimals"),
        ));
    }
    let m = w.mantissa();
    if m >= 1_000_000 {
        return Err(invalid(
            "net weight kg",
            format!("{w} needs more than 6 digits for AI 310{}", w.scale()),
        ));
    }
    Ok(Gs1Element::new(
        format!("310{}", w.scale()),
        format!("{m:06}"),
    ))
}

/// Renders the GS1 logistic label (812×1624 dots).
pub fn logistic_label(label: &LogisticLabel) -> Result<String, ZplError> {
    check_lines("free form", &label.free_form, 0, 4, 34)?;
    let mut titles: Vec<(&str, String)> = vec![("SSCC", label.sscc.as_str().to_string())];
    let mut elements: Vec<Gs1Element> = Vec::new();
    match (&label.content_gtin, label.count) {
        (Some(gtin), Some(count)) => {
            if gtin.len() != 14 || !has_valid_gs1_check_digit(gtin) {
                return Err(invalid(
                    "content gtin",
                    format!(
                        "`{}` is not a GTIN-14 with a valid check digit",
                        gtin.escape_debug()
                    ),
                ));
            }
            if !(1..=99_999_999).contains(&count) {
                return Err(invalid("count", format!("{count} is outside 1-99999999")));
            }
            titles.push(("CONTENT", gtin.clone()));
            titles.push(("COUNT", count.to_string()));
            elements.push(Gs1Element::new("02", gtin.as_str()));
            elements.push(Gs1Element::new("37", count.to_string()));
        }
        (None, None) => {}
        _ => {
            return Err(invalid(
                "content gtin / count",
                "AI 02 (CONTENT) and AI 37 (COUNT) must be given together",
            ))
        }
    }
    if let Some(batch) = &label.batch_lot {
        if batch.is_empty() || batch.len() > 20 {
            return Err(invalid("batch/lot", "must be 1 to 20 characters"));
        }
        titles.push(("BATCH/LOT", batch.clone()));
        elements.push(Gs1Element::new("10", batch.as_str()));
    }
    if let Some(date) = label.best_before {
        date.validate("best before")?;
        titles.push(("BEST BEFORE", date.display()));
        elements.push(Gs1Element::new("15", date.yymmdd()));
    }
    if let Some(w) = label.net_weight_kg {
        let e = net_weight_element(w)?;
        titles.push(("NET WEIGHT (kg)", w.to_string()));
        elements.push(e);
    }

    let mut z = ZplBuilder::new(WIDTH_4IN_DOTS, LENGTH_8IN_DOTS, Escaping::Hex);
    let rule_width = WIDTH_4IN_DOTS - 2 * 20;
    let mut y = 20;
    for line in &label.free_form {
        z.text("free form", MARGIN, y, 30, 30, line)?;
        y += 38;
    }
    if !label.free_form.is_empty() {
        z.graphic_box(20, y, rule_width, 3, 3)?;
        y += 14;
    }
    for (title, value) in &titles {
        z.text("data title", MARGIN, y + 3, 26, 26, title)?;
        z.text(title, 320, y, 34, 34, value)?;
        y += 40;
    }
    z.graphic_box(20, y, rule_width, 3, 3)?;
    y += 20;

    // Pack elements into as few symbols as fit the width, in encoding order (fixed first).
    let mut ordered = elements;
    ordered.sort_by_key(|e| !e.is_fixed_length());
    let max_width = WIDTH_4IN_DOTS - 2 * 10 * MODULE_DOTS;
    let mut symbols: Vec<Gs1_128> = Vec::new();
    let mut group: Vec<Gs1Element> = Vec::new();
    for e in ordered {
        let mut candidate = group.clone();
        candidate.push(e.clone());
        let fits = Gs1_128::new(&candidate)?
            .width_modules()
            .saturating_mul(MODULE_DOTS)
            <= max_width;
        if fits || group.is_empty() {
            group = candidate;
        } else {
            symbols.push(Gs1_128::new(&group)?);
            group = vec![e];
        }
    }
    if !group.is_empty() {
        symbols.push(Gs1_128::new(&group)?);
    }
    // The SSCC symbol is always the lowest.
    symbols.push(Gs1_128::new(&[Gs1Element::new("00", label.sscc.as_str())])?);

    z.barcode_defaults(MODULE_DOTS, BAR_HEIGHT_DOTS)?;
    for (i, symbol) in symbols.iter().enumerate() {
        let name = format!("gs1-128 symbol {}", i + 1);
        z.gs1_128_centred(&name, y, BAR_HEIGHT_DOTS, symbol)?;
        y += BAR_HEIGHT_DOTS + 6;
        z.centred_text("hri", y, 28, 28, &symbol.hri())?;
        y += 28 + 22;
    }
    z.print_quantity(label.copies)?;
    Ok(z.finish())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::str::FromStr;

    pub(crate) fn sample_carton() -> CartonLabel {
        CartonLabel {
            from: vec!["ACME FOODS LTD".into(), "1 Mill Lane, Leeds LS1 4AP".into()],
            to: vec![
                "DC NORTH".into(),
                "Gate 7 / Dock_3".into(),
                "Newcastle NE1 1AA".into(),
            ],
            order_ref: "SO-2026-00042".into(),
            carton_number: 3,
            carton_count: 12,
            weight_kg: Decimal::from_str("12.345").unwrap(),
            sscc: Sscc::new(3, "7610425", 2_123_456).unwrap(),
        }
    }

    pub(crate) fn sample_logistic() -> LogisticLabel {
        LogisticLabel {
            free_form: vec!["FROM: ACME FOODS LTD".into(), "TO: DC NORTH".into()],
            sscc: Sscc::new(3, "7610425", 2_123_456).unwrap(),
            content_gtin: Some("09520123456788".into()),
            count: Some(25),
            batch_lot: Some("ABC123".into()),
            best_before: Some(Gs1Date {
                year: 2026,
                month: 6,
                day: 30,
            }),
            net_weight_kg: Some(Decimal::from_str("12.5").unwrap()),
            copies: 2,
        }
    }

    fn lint(zpl: &str) {
        assert!(zpl.starts_with("^XA\n^CI28\n"));
        assert!(zpl.ends_with("^XZ\n"));
        assert_eq!(zpl.matches("^XA").count(), 1);
        assert_eq!(zpl.matches("^XZ").count(), 1);
        assert_eq!(
            zpl.matches("^FD").count(),
            zpl.matches("^FS").count() - zpl.matches("^GB").count()
        );
        assert!(!zpl.contains('~'));
        assert!(!zpl.bytes().any(|b| b < 0x20 && b != b'\n'));
    }

    #[test]
    fn the_carton_label_matches_its_golden_bytes() {
        let zpl = carton_label(&sample_carton()).unwrap();
        lint(&zpl);
        assert_eq!(zpl, include_str!("../../tests/golden/carton_label.zpl"));
    }

    #[test]
    fn the_logistic_label_matches_its_golden_bytes() {
        let zpl = logistic_label(&sample_logistic()).unwrap();
        lint(&zpl);
        assert_eq!(zpl, include_str!("../../tests/golden/logistic_label.zpl"));
    }

    #[test]
    fn the_sscc_symbol_is_the_lowest_on_the_logistic_label() {
        let zpl = logistic_label(&sample_logistic()).unwrap();
        let last_bc = zpl.rfind("^BCN").unwrap();
        assert!(zpl[last_bc..].contains("^FD>;>800376104250021234569^FS"));
        assert_eq!(zpl.matches("^BCN").count(), 4);
    }

    #[test]
    fn every_variable_length_ai_that_is_not_last_is_followed_by_fnc1() {
        let zpl = logistic_label(&sample_logistic()).unwrap();
        for line in zpl.lines().filter(|l| l.contains("^BCN")) {
            let data = line.split("^FD").nth(1).unwrap().trim_end_matches("^FS");
            assert!(data.starts_with(">;>8"), "{data}");
        }
        assert!(zpl.contains("(02) 09520123456788 (15) 260630"));
        // Without the net weight, (37) and (10) share a symbol: FNC1 after (37), none after (10).
        let label = LogisticLabel {
            net_weight_kg: None,
            ..sample_logistic()
        };
        let zpl = logistic_label(&label).unwrap();
        assert!(zpl.contains("^FD>;>83725>810>6ABC123^FS"), "{zpl}");
        assert!(zpl.contains("^FD(37) 25 (10) ABC123^FS"));
    }

    #[test]
    fn the_minimal_logistic_label_has_only_the_sscc() {
        let label = LogisticLabel {
            free_form: vec![],
            content_gtin: None,
            count: None,
            batch_lot: None,
            best_before: None,
            net_weight_kg: None,
            copies: 1,
            ..sample_logistic()
        };
        let zpl = logistic_label(&label).unwrap();
        lint(&zpl);
        assert_eq!(zpl.matches("^BCN").count(), 1);
        assert!(zpl.contains("^FDSSCC^FS"));
    }

    #[test]
    fn content_without_count_is_refused() {
        let label = LogisticLabel {
            count: None,
            ..sample_logistic()
        };
        assert!(matches!(
            logistic_label(&label),
            Err(ZplError::Invalid { .. })
        ));
    }

    #[test]
    fn a_wrong_gtin_check_digit_is_refused() {
        let label = LogisticLabel {
            content_gtin: Some("12345678901234".into()),
            ..sample_logistic()
        };
        let err = logistic_label(&label).unwrap_err();
        assert!(err.to_string().contains("content gtin"), "{err}");
    }

    #[test]
    fn net_weight_uses_the_decimals_given() {
        assert_eq!(
            net_weight_element(Decimal::from_str("12.5").unwrap()).unwrap(),
            Gs1Element::new("3101", "000125")
        );
        assert_eq!(
            net_weight_element(Decimal::from_str("1.234").unwrap()).unwrap(),
            Gs1Element::new("3103", "001234")
        );
        assert!(net_weight_element(Decimal::from_str("1234567").unwrap()).is_err());
        assert!(net_weight_element(Decimal::from_str("-1").unwrap()).is_err());
        assert!(net_weight_element(Decimal::from_str("0.1234567").unwrap()).is_err());
    }

    #[test]
    fn invalid_dates_batches_and_cartons_are_refused() {
        let bad_date = LogisticLabel {
            best_before: Some(Gs1Date {
                year: 2026,
                month: 2,
                day: 30,
            }),
            ..sample_logistic()
        };
        assert!(logistic_label(&bad_date).is_err());
        let bad_batch = LogisticLabel {
            batch_lot: Some("AB^XZ".into()),
            ..sample_logistic()
        };
        assert!(logistic_label(&bad_batch).is_err());
        let bad_carton = CartonLabel {
            carton_number: 13,
            ..sample_carton()
        };
        assert!(carton_label(&bad_carton).is_err());
        let long_to = CartonLabel {
            to: vec!["X".repeat(27)],
            ..sample_carton()
        };
        assert!(carton_label(&long_to).is_err());
    }

    #[test]
    fn address_text_is_escaped_not_injected() {
        let label = CartonLabel {
            to: vec!["EVIL^XZ~JA".into()],
            ..sample_carton()
        };
        let zpl = carton_label(&label).unwrap();
        assert!(zpl.contains("^FH_^FDEVIL_5EXZ_7EJA^FS"));
        assert_eq!(zpl.matches("^XZ").count(), 1);
    }

    #[test]
    fn gs1_dates_render_for_the_ai_and_for_people() {
        let d = Gs1Date {
            year: 2026,
            month: 6,
            day: 30,
        };
        assert_eq!(d.yymmdd(), "260630");
        assert_eq!(d.display(), "30.06.2026");
        let end_of_month = Gs1Date { day: 0, ..d };
        assert_eq!(end_of_month.yymmdd(), "260600");
        assert_eq!(end_of_month.display(), "06.2026");
    }
}

//! Shared step helpers: understanding product, location and container scans, and the tally of
//! scanned quantities that a confirm turns into events.

use super::error::{err, ErrorCode, StepError};
use super::view::LocalView;
use crate::domain::{
    ContainerId, Date, Dec, Gtin, LocationCode, Lot, Qty, Serial, StockRef, Tracking,
};
use crate::gs1::ScanData;
use crate::scan_payload::{ContainerRef, LocationRef};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A product scan resolved against master data.
#[derive(Debug, Clone)]
pub(crate) struct Scanned {
    pub gtin: Gtin,
    /// Base units in the scanned pack level.
    pub per_pack: Dec,
    /// The stock, with lot/serial/expiry where the item is controlled.
    pub stock: StockRef,
}

/// The calendar year of a Unix-milliseconds time (for two-digit GS1 years).
pub(crate) fn year_of(now_ms: i64) -> u16 {
    // Howard Hinnant's civil-from-days.
    let days = now_ms.div_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    u16::try_from(year.clamp(2000, 2199)).unwrap_or(2000)
}

/// Resolves a product scan: GTIN → item and pack level; lot (10), serial (21), expiry (17) or
/// best-before (15) captured, and required where the item is controlled.
///
/// A logistic label without a GTIN (01) of its own names its contents instead: the GTIN of the
/// trade items it holds (02) and how many of them (37), e.g. a pallet label's
/// `(02)19501101530000(37)40(10)LOT7`. One such scan counts all of them: its pack is that
/// many of the (02) GTIN's pack level (so `Q:2` after it means two such labelled units).
pub(crate) fn resolve_product(
    view: &dyn LocalView,
    scan: &ScanData,
    now_ms: i64,
) -> Result<Scanned, StepError> {
    let (text, count) = match (scan.gtin(), scan.ai("02")) {
        (Some(gtin), _) => (gtin.to_string(), None),
        (None, Some(contents)) => (contents.value, Some(count_of(scan)?)),
        (None, None) => {
            return err(
                ErrorCode::UnknownBarcode,
                "This barcode is not a product barcode: scan the item's GTIN barcode",
            )
        }
    };
    let gtin = Gtin::new(text.as_str())
        .map_err(|e| StepError::new(ErrorCode::UnknownBarcode, format!("Unreadable GTIN: {e}")))?;
    let Some((item, pack)) = view.item_by_gtin(&gtin) else {
        return err(
            ErrorCode::UnknownBarcode,
            format!(
                "Unknown barcode {gtin}: no item has this GTIN; set the item up or put it aside"
            ),
        );
    };
    let lot = match scan.ai("10") {
        Some(e) if item.tracking == Tracking::Lot => Some(Lot::new(e.value).map_err(bad_id)?),
        _ => None,
    };
    let serial = match scan.ai("21") {
        Some(e) if item.tracking == Tracking::Serial => Some(Serial::new(e.value).map_err(bad_id)?),
        _ => None,
    };
    let expiry = if item.expiry_controlled {
        let element = scan.ai("17").or_else(|| scan.ai("15"));
        match element.and_then(|e| e.date(year_of(now_ms))) {
            Some(d) => Some(Date::new(d.year, d.month, d.day).map_err(|e| {
                StepError::new(ErrorCode::ExpiryRequired, format!("Bad expiry date: {e}"))
            })?),
            None => None,
        }
    } else {
        None
    };
    let sku = item.sku.clone();
    if item.tracking == Tracking::Lot && lot.is_none() {
        return err(
            ErrorCode::LotRequired,
            format!("{sku} is lot-controlled: scan the barcode that carries the lot (10)"),
        );
    }
    if item.tracking == Tracking::Serial && serial.is_none() {
        return err(
            ErrorCode::SerialRequired,
            format!("{sku} is serial-controlled: scan the barcode that carries the serial (21)"),
        );
    }
    if item.expiry_controlled && expiry.is_none() {
        return err(
            ErrorCode::ExpiryRequired,
            format!(
                "{sku} is expiry-controlled: scan the barcode that carries the expiry date (17)"
            ),
        );
    }
    let per_pack = match count {
        None => pack.qty_per_pack.get(),
        Some(_) if item.tracking == Tracking::Serial => {
            return err(
                ErrorCode::SerialQuantity,
                format!("{sku} is serial-controlled: scan each unit's serial (21), not the label's count (37)"),
            )
        }
        Some(n) => pack.qty_per_pack.get().checked_mul(n).ok_or_else(|| {
            StepError::new(ErrorCode::InvalidQuantity, "The label's count (37) is too large")
        })?,
    };
    Ok(Scanned {
        per_pack,
        gtin,
        stock: StockRef {
            sku,
            lot,
            serial,
            expiry,
        },
    })
}

/// The count of trade items (37) on a label that names its contents by (02).
fn count_of(scan: &ScanData) -> Result<Dec, StepError> {
    let Some(element) = scan.ai("37") else {
        return err(
            ErrorCode::UnknownBarcode,
            "This label names its contents (02) but not how many (37): scan the item's own barcode",
        );
    };
    element
        .value
        .parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .and_then(|n| Dec::from_int(i64::from(n)).ok())
        .ok_or_else(|| {
            StepError::new(
                ErrorCode::InvalidQuantity,
                format!(
                    "The label's count (37) {:?} is not a whole number of items above 0",
                    element.value
                ),
            )
        })
}

fn bad_id(e: crate::domain::IdError) -> StepError {
    StepError::new(ErrorCode::InvalidId, format!("Unreadable barcode: {e}"))
}

/// Resolves a location scan to a known location.
pub(crate) fn resolve_location(
    view: &dyn LocalView,
    scanned: &LocationRef,
) -> Result<LocationCode, StepError> {
    let code = match scanned {
        LocationRef::Code(text) => LocationCode::new(text.as_str()).map_err(|e| {
            StepError::new(
                ErrorCode::UnknownLocation,
                format!("{text} is not a location label: {e}"),
            )
        })?,
        LocationRef::Gln { gln, extension } => view
            .location_by_gln(gln, extension.as_deref())
            .ok_or_else(|| {
                StepError::new(
                    ErrorCode::UnknownLocation,
                    format!("The location barcode (414) {gln} is not set up at this node"),
                )
            })?,
    };
    if view.location(&code).is_none() {
        return err(
            ErrorCode::UnknownLocation,
            format!("Location {code} is not set up at this node: scan another location"),
        );
    }
    Ok(code)
}

/// A container scan as a container id (a GS1 SSCC becomes its 18 digits).
pub(crate) fn resolve_container(scanned: &ContainerRef) -> Result<ContainerId, StepError> {
    let text = match scanned {
        ContainerRef::Code(t) | ContainerRef::Sscc(t) => t,
    };
    ContainerId::new(text.as_str()).map_err(|e| {
        StepError::new(
            ErrorCode::InvalidId,
            format!("Unreadable container label: {e}"),
        )
    })
}

/// The SSCC of a container id, when it is one (18 digits with a valid check digit).
pub(crate) fn sscc_of(container: &ContainerId) -> Option<String> {
    let s = container.as_str();
    let ok = s.len() == 18
        && s.bytes().all(|b| b.is_ascii_digit())
        && crate::check_digit::has_valid_gs1_check_digit(s);
    ok.then(|| s.to_string())
}

/// `a + b`, or an `invalid_quantity` rejection when out of range.
pub(crate) fn add(a: Dec, b: Dec) -> Result<Dec, StepError> {
    a.checked_add(b)
        .ok_or_else(|| StepError::new(ErrorCode::InvalidQuantity, "That quantity is too large"))
}

/// `a - b`, or an `invalid_quantity` rejection when out of range.
pub(crate) fn sub(a: Dec, b: Dec) -> Result<Dec, StepError> {
    a.checked_sub(b)
        .ok_or_else(|| StepError::new(ErrorCode::InvalidQuantity, "That quantity is too large"))
}

/// A positive quantity for an event.
pub(crate) fn qty(value: Dec) -> Result<Qty, StepError> {
    Qty::new(value).map_err(|e| StepError::new(ErrorCode::InvalidQuantity, e.to_string()))
}

/// The most recent product scan in a tally: which entry, and its pack size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LastScan {
    pub index: usize,
    pub per_pack: Dec,
    pub serial: bool,
}

/// Scanned but not yet confirmed quantities, per stock.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct Tally {
    pub entries: Vec<(StockRef, Dec)>,
    pub last: Option<LastScan>,
}

impl Tally {
    pub fn is_empty(&self) -> bool {
        self.entries.iter().all(|(_, q)| q.is_zero())
    }

    pub fn total(&self) -> Result<Dec, StepError> {
        self.entries
            .iter()
            .try_fold(Dec::ZERO, |a, (_, q)| add(a, *q))
    }

    pub fn total_where(&self, keep: impl Fn(&StockRef) -> bool) -> Result<Dec, StepError> {
        self.entries
            .iter()
            .filter(|(s, _)| keep(s))
            .try_fold(Dec::ZERO, |a, (_, q)| add(a, *q))
    }

    pub fn qty_of(&self, stock: &StockRef) -> Dec {
        self.entries
            .iter()
            .find(|(s, _)| s == stock)
            .map(|(_, q)| *q)
            .unwrap_or(Dec::ZERO)
    }

    /// The tally after one more product scan (one pack level).
    pub fn with_scan(&self, scanned: &Scanned) -> Result<Tally, StepError> {
        let mut next = self.clone();
        let serial = scanned.stock.serial.is_some();
        let index = match next.entries.iter().position(|(s, _)| s == &scanned.stock) {
            Some(i) => {
                if serial {
                    let s = scanned.stock.serial.as_ref().map(|s| s.to_string());
                    return err(
                        ErrorCode::DuplicateSerial,
                        format!(
                            "Serial {} was already scanned: scan the next unit",
                            s.unwrap_or_default()
                        ),
                    );
                }
                if let Some(e) = next.entries.get_mut(i) {
                    e.1 = add(e.1, scanned.per_pack)?;
                }
                i
            }
            None => {
                next.entries.push((scanned.stock.clone(), scanned.per_pack));
                next.entries.len() - 1
            }
        };
        next.last = Some(LastScan {
            index,
            per_pack: scanned.per_pack,
            serial,
        });
        Ok(next)
    }

    /// The tally after `Q:<n>`: the last scanned stock is set to `n` of its last pack level.
    pub fn with_quantity(&self, n: Decimal) -> Result<(Tally, StockRef), StepError> {
        let Some(last) = self.last.clone() else {
            return err(
                ErrorCode::QuantityWithoutItem,
                "Scan the item first, then the quantity",
            );
        };
        let n =
            Dec::new(n).map_err(|e| StepError::new(ErrorCode::InvalidQuantity, e.to_string()))?;
        if last.serial && n != Dec::ONE {
            return err(
                ErrorCode::SerialQuantity,
                "Serial-controlled items are counted one scan per unit: scan each serial",
            );
        }
        let value = n.checked_mul(last.per_pack).ok_or_else(|| {
            StepError::new(ErrorCode::InvalidQuantity, "That quantity is too large")
        })?;
        let mut next = self.clone();
        let Some(entry) = next.entries.get_mut(last.index) else {
            return err(
                ErrorCode::QuantityWithoutItem,
                "Scan the item first, then the quantity",
            );
        };
        entry.1 = value;
        let stock = entry.0.clone();
        Ok((next, stock))
    }
}

/// Re-checks, at confirm time, that the book still holds every tallied quantity at `place`
/// (another station may have taken stock since the scans).
pub(crate) fn check_book(
    view: &dyn LocalView,
    place: &crate::domain::Place,
    entries: &[(StockRef, Dec)],
) -> Result<(), StepError> {
    for (stock, q) in entries {
        let book = view.balance(place, stock, crate::domain::StockStatus::Available);
        if *q > book {
            let at = match place {
                crate::domain::Place::Location(c) => c.to_string(),
                crate::domain::Place::Container(c) => c.to_string(),
            };
            return err(
                ErrorCode::InsufficientStock,
                format!(
                    "The book now shows only {book} of {} at {at} (stock was taken meanwhile): scan C:CANCEL and count again, or C:SHORT",
                    stock.sku
                ),
            );
        }
    }
    Ok(())
}

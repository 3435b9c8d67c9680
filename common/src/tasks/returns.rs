//! Returns: scan the RMA or the order (`O:`) → scan the returned item(s) (or `Q:<n>`) →
//! a disposition command: `C:RESTOCK` (to the item's home location, else it stays available
//! at the returns location), `C:REFURBISH`, `C:QUARANTINE`, `C:VENDOR` (vendor return) or
//! `C:SCRAP` (write-off). Each stock line records `ReturnReceive` at the station's returns
//! location followed by its `Disposition`. `C:SHORT` closes the return with items missing.

use super::error::{err, ErrorCode, StepError};
use super::product::{add, qty, resolve_product, Tally};
use super::spec::TaskRecord;
use super::station::{
    display_gtin, other_task_named, unexpected, unexpected_weight, Ctx, Expect, ExpectScan,
    FlowInput,
};
use super::view::LocalView;
use crate::domain::{Dec, Disposition, DocRef, EventBody, LocationCode, Sku};
use crate::scan_payload::{Command, StationPayload};
use serde::{Deserialize, Serialize};

/// Where a return is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Scan the RMA or order.
    Start,
    /// Scan items, then a disposition.
    Item,
}

/// Returns flow state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub(crate) stage: Stage,
    pub(crate) rma: DocRef,
    pub(crate) location: LocationCode,
    pub(crate) tally: Tally,
}

pub(crate) fn start(ctx: &Ctx<'_>, record: &TaskRecord) -> Result<State, StepError> {
    let rma = match (&record.spec.doc, &record.spec.order) {
        (Some(d), _) => d.clone(),
        (None, Some(o)) => DocRef::new(o.as_str())
            .map_err(|e| StepError::new(ErrorCode::TaskInvalid, e.to_string()))?,
        (None, None) => {
            return err(
                ErrorCode::TaskInvalid,
                format!("Return task {} has no RMA or order", record.spec.id),
            )
        }
    };
    let location = record
        .spec
        .lines
        .iter()
        .find_map(|l| l.location.clone())
        .or_else(|| ctx.config.returns_location.clone())
        .ok_or_else(|| {
            StepError::new(
                ErrorCode::StationConfig,
                "This station has no returns location configured",
            )
        })?;
    Ok(State {
        stage: Stage::Start,
        rma,
        location,
        tally: Tally::default(),
    })
}

pub(crate) fn has_pending(s: &State) -> bool {
    !s.tally.is_empty()
}

/// What is left to return of `sku` over all open lines.
fn remaining_of(record: &TaskRecord, sku: &Sku) -> Result<Dec, StepError> {
    (0..record.spec.lines.len())
        .filter(|i| record.spec.lines.get(*i).is_some_and(|l| &l.sku == sku))
        .try_fold(Dec::ZERO, |a, i| add(a, record.remaining(i)))
}

pub(crate) fn step(
    ctx: &mut Ctx<'_>,
    record: &mut TaskRecord,
    s: &mut State,
    input: FlowInput<'_>,
) -> Result<(), StepError> {
    let FlowInput::Scan(payload) = input else {
        return Err(unexpected_weight());
    };
    let names = |x: &str| {
        record.spec.doc.as_ref().is_some_and(|d| d.as_str() == x)
            || record.spec.order.as_ref().is_some_and(|o| o.as_str() == x)
    };
    match (s.stage, payload) {
        (Stage::Start, StationPayload::Order(o)) => {
            if !names(o) {
                if let Some(other) = other_task_named(ctx, &record.spec.id, payload) {
                    ctx.out.switch_to = Some(other);
                    return Ok(());
                }
                return err(
                    ErrorCode::WrongOrder,
                    format!("Wrong document: this return is {}, you scanned {o}", s.rma),
                );
            }
            s.stage = Stage::Item;
            Ok(())
        }
        (Stage::Start, _) => Err(unexpected("scan the RMA or the order (O:)")),
        (Stage::Item, StationPayload::Product(scan)) => {
            let scanned = resolve_product(ctx.view, scan, ctx.now_ms)?;
            let next = s.tally.with_scan(&scanned)?;
            check(record, s, &next, &scanned.stock.sku)?;
            s.tally = next;
            Ok(())
        }
        (Stage::Item, StationPayload::Quantity(n)) => {
            let (next, stock) = s.tally.with_quantity(*n)?;
            check(record, s, &next, &stock.sku)?;
            s.tally = next;
            Ok(())
        }
        (Stage::Item, StationPayload::Command(c)) if c.is_return_disposition() => {
            if s.tally.is_empty() {
                return err(
                    ErrorCode::NothingToConfirm,
                    "Scan the returned item first, then its disposition",
                );
            }
            for (stock, q) in s.tally.entries.clone() {
                if q.is_zero() {
                    continue;
                }
                let disposition = match c {
                    Command::Restock => Disposition::Restock {
                        to: ctx
                            .view
                            .home_location(&stock.sku)
                            .unwrap_or_else(|| s.location.clone()),
                    },
                    Command::Refurbish => Disposition::Refurbish,
                    Command::Quarantine => Disposition::Quarantine,
                    Command::Vendor => Disposition::VendorReturn,
                    _ => Disposition::WriteOff,
                };
                let amount = qty(q)?;
                ctx.out.events.push(EventBody::ReturnReceive {
                    location: s.location.clone(),
                    stock: stock.clone(),
                    qty: amount,
                    rma: s.rma.clone(),
                    order: record.spec.order.clone(),
                });
                ctx.out.events.push(EventBody::Disposition {
                    location: s.location.clone(),
                    stock: stock.clone(),
                    qty: amount,
                    disposition,
                    rma: s.rma.clone(),
                });
                let mut left = q;
                for i in 0..record.spec.lines.len() {
                    if left <= Dec::ZERO {
                        break;
                    }
                    if record.spec.lines.get(i).is_some_and(|l| l.sku == stock.sku) {
                        let take = record.remaining(i).min(left);
                        if take > Dec::ZERO {
                            record.add_done(i, take, false).ok_or_else(|| {
                                StepError::new(ErrorCode::InvalidQuantity, "quantity too large")
                            })?;
                            left = left.checked_sub(take).unwrap_or(Dec::ZERO);
                        }
                    }
                }
            }
            s.tally = Tally::default();
            if record.first_open_slot().is_none() {
                ctx.out.finished = true;
            }
            Ok(())
        }
        (Stage::Item, StationPayload::Command(Command::Short)) => {
            if !s.tally.is_empty() {
                return err(
                    ErrorCode::UnconfirmedScans,
                    "Scan a disposition for the scanned items first (or C:CANCEL)",
                );
            }
            for i in 0..record.spec.lines.len() {
                let _ = record.add_done(i, Dec::ZERO, true);
            }
            ctx.out.finished = true;
            Ok(())
        }
        (Stage::Item, StationPayload::Command(Command::Cancel)) => {
            if s.tally.is_empty() {
                return err(ErrorCode::NothingToCancel, "Nothing to cancel");
            }
            s.tally = Tally::default();
            Ok(())
        }
        (Stage::Item, StationPayload::Command(Command::Confirm)) => err(
            ErrorCode::UnexpectedCommand,
            "Choose what happens to the item: C:RESTOCK, C:REFURBISH, C:QUARANTINE, C:VENDOR or C:SCRAP",
        ),
        (Stage::Item, _) => Err(unexpected("scan the returned item, then a disposition")),
    }
}

fn check(record: &TaskRecord, s: &State, next: &Tally, sku: &Sku) -> Result<(), StepError> {
    let allowed = remaining_of(record, sku)?;
    if allowed.is_zero() {
        return err(
            ErrorCode::WrongItem,
            format!(
                "Wrong item: {sku} is not (or no longer) expected on {}",
                s.rma
            ),
        );
    }
    let have = next.total_where(|st| &st.sku == sku)?;
    if have > allowed {
        return err(
            ErrorCode::OverPick,
            format!("Too many: {} authorises {allowed} more of {sku}", s.rma),
        );
    }
    Ok(())
}

pub(crate) fn prompt(view: &dyn LocalView, record: &TaskRecord, s: &State) -> (String, Expect) {
    match s.stage {
        Stage::Start => (
            format!("Return {}: scan the RMA or the order (O:)", s.rma),
            Expect::scan(ExpectScan::Container),
        ),
        Stage::Item if s.tally.is_empty() => {
            let mut e = Expect::scan(ExpectScan::Item);
            if let Some(line) = record
                .first_open_slot()
                .and_then(|i| record.spec.lines.get(i))
            {
                e.sku = Some(line.sku.clone());
                e.gtin = display_gtin(view, &line.sku);
                e.qty = Some(line.qty.get());
            }
            (format!("Return {}: scan the returned item", s.rma), e)
        }
        Stage::Item => {
            let mut e = Expect::scan(ExpectScan::Disposition);
            if let Some((stock, q)) = s
                .tally
                .last
                .as_ref()
                .and_then(|l| s.tally.entries.get(l.index))
            {
                e.sku = Some(stock.sku.clone());
                e.qty = Some(*q);
            }
            (
                "Scan more, or the disposition: C:RESTOCK, C:REFURBISH, C:QUARANTINE, C:VENDOR or C:SCRAP".into(),
                e,
            )
        }
    }
}

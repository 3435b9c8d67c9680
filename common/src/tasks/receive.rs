//! Receive: blind, or against an inbound notice.
//!
//! Product scans (one pack level each) and `Q:<n>` fill a tally; `C:CONFIRM` records one
//! `Receive` per stock line at the receiving location (asking for the location first when
//! neither the task nor the station names one) and creates a putaway task for each. Lot,
//! serial and expiry come from the GS1 data and are required where the item is controlled.
//! Over-receipt against a notice is rejected (`over_receipt`): the surplus is received blind.
//! A notice closes by itself when complete; `C:SHORT` closes it with lines still open. A blind
//! receipt closes with `C:CONFIRM` when nothing is pending (`C:CANCEL` drops an empty one).

use super::error::{err, ErrorCode, StepError};
use super::product::{add, qty, resolve_location, resolve_product, sub, Tally};
use super::spec::{derived_task_id, LineProgress, TaskKind, TaskLine, TaskRecord, TaskSpec};
use super::station::{
    display_gtin, unexpected, unexpected_weight, Ctx, Expect, ExpectScan, FlowInput, StationConfig,
};
use super::view::LocalView;
use crate::domain::{Dec, EventBody, LocationCode, LocationKind, NonNegQty, StockRef, StockStatus};
use crate::scan_payload::{Command, StationPayload};
use serde::{Deserialize, Serialize};

/// Where a receipt is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub(crate) tally: Tally,
    pub(crate) location: Option<LocationCode>,
    pub(crate) awaiting_location: bool,
}

pub(crate) fn start(ctx: &Ctx<'_>, record: &TaskRecord) -> Result<State, StepError> {
    let location = record
        .spec
        .lines
        .iter()
        .find_map(|l| l.location.clone())
        .or_else(|| ctx.config.receiving_location.clone());
    Ok(State {
        tally: Tally::default(),
        location,
        awaiting_location: false,
    })
}

pub(crate) fn has_pending(s: &State) -> bool {
    !s.tally.is_empty()
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
    match payload {
        StationPayload::Product(scan) => {
            if s.awaiting_location {
                return err(
                    ErrorCode::UnexpectedScan,
                    "Scan the receiving location first (L:<location>)",
                );
            }
            let scanned = resolve_product(ctx.view, scan, ctx.now_ms)?;
            let next = s.tally.with_scan(&scanned)?;
            check_notice(record, &next)?;
            s.tally = next;
            Ok(())
        }
        StationPayload::Quantity(n) => {
            let (next, _) = s.tally.with_quantity(*n)?;
            check_notice(record, &next)?;
            s.tally = next;
            Ok(())
        }
        StationPayload::Location(l) => {
            let code = resolve_location(ctx.view, l)?;
            let kind = ctx.view.location(&code).map(|i| i.kind);
            if kind != Some(LocationKind::Receiving) {
                return err(
                    ErrorCode::WrongLocation,
                    format!("Wrong location: {code} is not a receiving location; scan the dock you are receiving at"),
                );
            }
            s.location = Some(code);
            if s.awaiting_location {
                commit(ctx, record, s)?;
            }
            Ok(())
        }
        StationPayload::Command(Command::Confirm) => {
            if s.tally.is_empty() {
                if record.spec.blind {
                    ctx.out.finished = true;
                    return Ok(());
                }
                return err(
                    ErrorCode::NothingToConfirm,
                    "Nothing scanned: scan the items, or C:SHORT to close the receipt with lines still open",
                );
            }
            if s.location.is_none() {
                s.awaiting_location = true;
                return Ok(());
            }
            commit(ctx, record, s)
        }
        StationPayload::Command(Command::Short) => {
            if !s.tally.is_empty() {
                return err(
                    ErrorCode::UnconfirmedScans,
                    "Confirm (C:CONFIRM) or cancel (C:CANCEL) the scanned items first",
                );
            }
            if record.spec.blind {
                return err(
                    ErrorCode::UnexpectedCommand,
                    "A blind receipt has no expected quantities: scan C:CONFIRM to close it",
                );
            }
            for i in 0..record.spec.lines.len() {
                let _ = record.add_done(i, Dec::ZERO, true);
            }
            ctx.out.finished = true;
            Ok(())
        }
        StationPayload::Command(Command::Cancel) => {
            if !s.tally.is_empty() || s.awaiting_location {
                s.tally = Tally::default();
                s.awaiting_location = false;
                return Ok(());
            }
            if record.spec.blind && record.spec.lines.is_empty() {
                ctx.out.cancelled = true;
                return Ok(());
            }
            err(ErrorCode::NothingToCancel, "Nothing to cancel")
        }
        _ => Err(unexpected(
            "scan a product, Q:<quantity>, a receiving location or C:CONFIRM",
        )),
    }
}

/// How many of its newest lines a blind receipt's task record keeps.
pub const MAX_BLIND_LINES: usize = 100;

/// The notice line for `stock`: the first open line that matches it.
fn line_for(record: &TaskRecord, stock: &StockRef) -> Option<usize> {
    (0..record.spec.lines.len()).find(|i| {
        !record.line_progress(*i).closed
            && record.spec.lines.get(*i).is_some_and(|l| l.matches(stock))
    })
}

fn check_notice(record: &TaskRecord, tally: &Tally) -> Result<(), StepError> {
    if record.spec.blind {
        return Ok(());
    }
    let notice = record
        .spec
        .doc
        .as_ref()
        .map(|d| d.to_string())
        .unwrap_or_else(|| record.spec.id.to_string());
    let mut per_line: Vec<Dec> = vec![Dec::ZERO; record.spec.lines.len()];
    for (stock, q) in &tally.entries {
        let Some(i) = line_for(record, stock) else {
            let same_sku = record.spec.lines.iter().any(|l| l.sku == stock.sku);
            if same_sku {
                return err(
                    ErrorCode::WrongLot,
                    format!(
                        "Wrong lot: {} lot {} is not on {notice} (or its line is complete)",
                        stock.sku,
                        stock
                            .lot
                            .as_ref()
                            .map(|l| l.to_string())
                            .unwrap_or_default()
                    ),
                );
            }
            return err(
                ErrorCode::WrongItem,
                format!(
                    "Wrong item: {} is not on {notice}; put it aside or receive it blind",
                    stock.sku
                ),
            );
        };
        if let Some(slot) = per_line.get_mut(i) {
            *slot = add(*slot, *q)?;
        }
    }
    for (i, pending) in per_line.iter().enumerate() {
        let remaining = record.remaining(i);
        if *pending > remaining {
            let line = record.spec.lines.get(i);
            let expected = line.map(|l| l.qty.to_string()).unwrap_or_default();
            let sku = line.map(|l| l.sku.to_string()).unwrap_or_default();
            let done = record.line_progress(i).done;
            return err(
                ErrorCode::OverReceipt,
                format!(
                    "Over-receipt: {notice} expects {expected} of {sku}, {done} already received; this would make {}. Receive the surplus as a blind receipt",
                    add(done.get(), *pending)?
                ),
            );
        }
    }
    Ok(())
}

fn commit(ctx: &mut Ctx<'_>, record: &mut TaskRecord, s: &mut State) -> Result<(), StepError> {
    let Some(location) = s.location.clone() else {
        s.awaiting_location = true;
        return Ok(());
    };
    check_notice(record, &s.tally)?;
    for (stock, q) in s.tally.entries.clone() {
        if q.is_zero() {
            continue;
        }
        let amount = qty(q)?;
        ctx.out.events.push(EventBody::Receive {
            location: location.clone(),
            stock: stock.clone(),
            qty: amount,
            status: StockStatus::Available,
            inbound: if record.spec.blind {
                None
            } else {
                record.spec.doc.clone()
            },
        });
        let line = TaskLine {
            sku: stock.sku.clone(),
            qty: amount,
            location: Some(location.clone()),
            to: None,
            lot: stock.lot.clone(),
            serial: stock.serial.clone(),
            expiry: stock.expiry,
        };
        if record.spec.blind {
            record.spec.lines.push(line.clone());
            record.progress.lines.push(LineProgress {
                done: NonNegQty::new(q)
                    .map_err(|e| StepError::new(ErrorCode::InvalidQuantity, e.to_string()))?,
                closed: true,
            });
            // A dock can receive blind all shift on one task: its record (stored and sent to
            // the station with every step) keeps the newest lines; every receipt is an event.
            if record.spec.lines.len() > MAX_BLIND_LINES {
                record.spec.lines.remove(0);
                if record.progress.lines.len() > MAX_BLIND_LINES {
                    record.progress.lines.remove(0);
                }
            }
        } else if let Some(i) = line_for(record, &stock) {
            record.add_done(i, q, false).ok_or_else(|| {
                StepError::new(ErrorCode::InvalidQuantity, "That quantity is too large")
            })?;
        }
        record.progress.spawned = record.progress.spawned.saturating_add(1);
        let id = derived_task_id(
            record.spec.id.as_str(),
            &format!("PA{}", record.progress.spawned),
        )
        .map_err(|e| StepError::new(ErrorCode::InvalidId, e.to_string()))?;
        let mut putaway = TaskSpec::new(id, TaskKind::Putaway);
        putaway.doc = record.spec.doc.clone();
        putaway.priority = record.spec.priority;
        putaway.lines.push(line);
        ctx.out.created.push(putaway);
    }
    s.tally = Tally::default();
    s.awaiting_location = false;
    if !record.spec.blind && record.first_open_slot().is_none() {
        ctx.out.finished = true;
    }
    Ok(())
}

pub(crate) fn prompt(
    view: &dyn LocalView,
    config: &StationConfig,
    record: &TaskRecord,
    s: &State,
) -> (String, Expect) {
    let _ = config;
    if s.awaiting_location {
        return (
            "Scan the receiving location (L:) to put the goods down".to_string(),
            Expect::scan(ExpectScan::Location),
        );
    }
    if let Some(last) = &s.tally.last {
        if let Some((stock, q)) = s.tally.entries.get(last.index) {
            let mut e = Expect::scan(ExpectScan::QuantityOrConfirm);
            e.sku = Some(stock.sku.clone());
            e.gtin = display_gtin(view, &stock.sku);
            e.qty = Some(*q);
            return (
                format!(
                    "{q} of {} scanned: scan more, Q:<quantity>, or C:CONFIRM",
                    stock.sku
                ),
                e,
            );
        }
    }
    if record.spec.blind {
        return (
            "Blind receipt: scan a product, or C:CONFIRM to close the receipt".to_string(),
            Expect::scan(ExpectScan::Item),
        );
    }
    match record.first_open_slot() {
        Some(i) => {
            let line = record.spec.lines.get(i);
            let mut e = Expect::scan(ExpectScan::Item);
            e.sku = line.map(|l| l.sku.clone());
            e.gtin = line.and_then(|l| display_gtin(view, &l.sku));
            e.qty = line.map(|l| l.qty.get());
            let done = record.line_progress(i).done.get();
            e.done = Some(done);
            let left = line
                .and_then(|l| sub(l.qty.get(), done).ok())
                .unwrap_or(Dec::ZERO);
            (
                format!(
                    "Receive {}: {left} still expected. Scan the product",
                    line.map(|l| l.sku.to_string()).unwrap_or_default()
                ),
                e,
            )
        }
        None => (
            "Receipt complete".to_string(),
            Expect::scan(ExpectScan::Task),
        ),
    }
}

//! Pick: tote (when the task does not name one) → for each line: location → item (repeated
//! scans or `Q:<n>`) → `C:CONFIRM` (all picked) or `C:SHORT` (what was found) → … → scan the
//! tote again to finish. Finishing creates the **pack task** for the tote (order, tote and
//! what was picked), as a receipt creates its putaway and a pack its shipment.
//!
//! `Pick` events are emitted at confirm/short, one per stock line (lot), into the tote. A short
//! emits the `Pick` of what was found plus a `ShortPick`. Picking more than the line asks
//! (`over_pick`) or than the book shows at the location (`insufficient_stock`: pick what is
//! there and short) is rejected, so picking never drives the book negative.

use super::error::{err, ErrorCode, StepError};
use super::product::{
    add, check_book, qty, resolve_container, resolve_location, resolve_product, sub, Tally,
};
use super::spec::{derived_task_id, TaskKind, TaskLine, TaskRecord, TaskSpec};
use super::station::{
    display_gtin, unexpected, unexpected_weight, Ctx, Expect, ExpectScan, FlowInput,
};
use super::view::LocalView;
use crate::domain::{
    ContainerId, Dec, EventBody, LocationCode, NonNegQty, OrderRef, Place, StockStatus,
};
use crate::scan_payload::{Command, StationPayload};
use serde::{Deserialize, Serialize};

/// Where a pick is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Scan a tote to pick into.
    Tote,
    /// Scan the line's location.
    Location,
    /// Scan items.
    Item,
    /// Scan the tote to finish.
    Close,
}

/// Pick flow state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub(crate) stage: Stage,
    pub(crate) tote: Option<ContainerId>,
    pub(crate) at: Option<LocationCode>,
    pub(crate) tally: Tally,
}

fn order_of(record: &TaskRecord) -> Result<OrderRef, StepError> {
    record.spec.order.clone().ok_or_else(|| {
        StepError::new(
            ErrorCode::TaskInvalid,
            format!("Pick task {} has no order", record.spec.id),
        )
    })
}

pub(crate) fn start(_ctx: &Ctx<'_>, record: &TaskRecord) -> Result<State, StepError> {
    order_of(record)?;
    let tote = record.spec.container.clone();
    let stage = if tote.is_none() {
        Stage::Tote
    } else if record.first_open_slot().is_some() {
        Stage::Location
    } else {
        Stage::Close
    };
    Ok(State {
        stage,
        tote,
        at: None,
        tally: Tally::default(),
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
    let line_no = record.first_open_slot();
    match (s.stage, payload) {
        (Stage::Tote, StationPayload::Container(c)) => {
            s.tote = Some(resolve_container(c)?);
            s.stage = if line_no.is_some() {
                Stage::Location
            } else {
                Stage::Close
            };
            Ok(())
        }
        (Stage::Tote, _) => Err(unexpected("scan an empty tote (T:) to pick into")),
        (Stage::Close, StationPayload::Container(c)) => {
            let scanned = resolve_container(c)?;
            if Some(&scanned) != s.tote.as_ref() {
                return err(
                    ErrorCode::WrongContainer,
                    format!(
                        "Wrong tote: you picked into {}, you scanned {scanned}",
                        s.tote.as_ref().map(|t| t.to_string()).unwrap_or_default()
                    ),
                );
            }
            if let Some(pack) = pack_task(record, scanned)? {
                ctx.out.created.push(pack);
            }
            ctx.out.finished = true;
            Ok(())
        }
        (Stage::Close, _) => Err(unexpected(
            "all lines are picked: scan the tote (T:) to finish",
        )),
        (Stage::Location | Stage::Item, StationPayload::Location(l)) => {
            if !s.tally.is_empty() {
                return err(
                    ErrorCode::UnconfirmedScans,
                    "Confirm (C:CONFIRM), short (C:SHORT) or cancel (C:CANCEL) this line first",
                );
            }
            let i = line_no.ok_or_else(|| unexpected("no line left"))?;
            let code = resolve_location(ctx.view, l)?;
            if let Some(expected) = record.spec.lines.get(i).and_then(|x| x.location.as_ref()) {
                if expected != &code {
                    return err(
                        ErrorCode::WrongLocation,
                        format!("Wrong location: scan {expected}, you scanned {code}"),
                    );
                }
            }
            s.at = Some(code);
            s.stage = Stage::Item;
            Ok(())
        }
        (Stage::Location, StationPayload::Command(Command::Short)) => {
            let i = line_no.ok_or_else(|| unexpected("no line left"))?;
            let at = record.spec.lines.get(i).and_then(|x| x.location.clone());
            if at.is_none() {
                return Err(unexpected("scan the location first"));
            }
            s.at = at;
            close_line(ctx, record, s, i, true)
        }
        (Stage::Location, StationPayload::Command(Command::Cancel)) => {
            err(ErrorCode::NothingToCancel, "Nothing to cancel")
        }
        (Stage::Location, _) => {
            let expected = line_no
                .and_then(|i| record.spec.lines.get(i))
                .and_then(|x| x.location.as_ref())
                .map(|c| c.to_string())
                .unwrap_or_else(|| "the pick location".to_string());
            err(
                ErrorCode::UnexpectedScan,
                format!("Go to {expected} and scan the location first"),
            )
        }
        (Stage::Item, StationPayload::Product(scan)) => {
            let i = line_no.ok_or_else(|| unexpected("no line left"))?;
            let scanned = resolve_product(ctx.view, scan, ctx.now_ms)?;
            let line = record
                .spec
                .lines
                .get(i)
                .ok_or_else(|| unexpected("no line left"))?;
            if scanned.stock.sku != line.sku {
                return err(
                    ErrorCode::WrongItem,
                    format!(
                        "Wrong item: pick {} here, you scanned {} ({})",
                        line.sku, scanned.stock.sku, scanned.gtin
                    ),
                );
            }
            if !line.matches(&scanned.stock) {
                return err(
                    ErrorCode::WrongLot,
                    format!(
                        "Wrong lot: pick {} lot {}, you scanned lot {}",
                        line.sku,
                        line.lot.as_ref().map(|l| l.to_string()).unwrap_or_default(),
                        scanned
                            .stock
                            .lot
                            .as_ref()
                            .map(|l| l.to_string())
                            .unwrap_or_default()
                    ),
                );
            }
            let next = s.tally.with_scan(&scanned)?;
            check_limits(ctx, record, s, i, &next, &scanned.stock)?;
            s.tally = next;
            Ok(())
        }
        (Stage::Item, StationPayload::Quantity(n)) => {
            let i = line_no.ok_or_else(|| unexpected("no line left"))?;
            let (next, stock) = s.tally.with_quantity(*n)?;
            check_limits(ctx, record, s, i, &next, &stock)?;
            s.tally = next;
            Ok(())
        }
        (Stage::Item, StationPayload::Command(Command::Confirm)) => {
            let i = line_no.ok_or_else(|| unexpected("no line left"))?;
            let total = s.tally.total()?;
            if total.is_zero() {
                return err(
                    ErrorCode::NothingToConfirm,
                    "Nothing picked yet: scan the items, or C:SHORT if there are none",
                );
            }
            let remaining = record.remaining(i);
            if total < remaining {
                return err(
                    ErrorCode::PickIncomplete,
                    format!("{total} of {remaining} picked: scan the rest, or C:SHORT if there are no more"),
                );
            }
            close_line(ctx, record, s, i, false)
        }
        (Stage::Item, StationPayload::Command(Command::Short)) => {
            let i = line_no.ok_or_else(|| unexpected("no line left"))?;
            close_line(ctx, record, s, i, true)
        }
        (Stage::Item, StationPayload::Command(Command::Cancel)) => {
            if s.tally.is_empty() {
                s.stage = Stage::Location;
                s.at = None;
            }
            s.tally = Tally::default();
            Ok(())
        }
        (Stage::Item, _) => Err(unexpected(
            "scan the item, Q:<quantity>, C:CONFIRM or C:SHORT",
        )),
    }
}

/// The pack task for a finished pick: the tote, the order and what was picked per line
/// (`None` when nothing was picked, e.g. every line was short with none found).
fn pack_task(record: &TaskRecord, tote: ContainerId) -> Result<Option<TaskSpec>, StepError> {
    let order = order_of(record)?;
    let mut lines = Vec::new();
    for (i, line) in record.spec.lines.iter().enumerate() {
        let done = record.line_progress(i).done.get();
        if done.is_zero() {
            continue;
        }
        lines.push(TaskLine {
            qty: qty(done)?,
            location: None,
            to: None,
            ..line.clone()
        });
    }
    if lines.is_empty() {
        return Ok(None);
    }
    let id = derived_task_id(record.spec.id.as_str(), "PACK")
        .map_err(|e| StepError::new(ErrorCode::InvalidId, e.to_string()))?;
    let mut pack = TaskSpec::new(id, TaskKind::Pack);
    pack.order = Some(order);
    pack.container = Some(tote);
    pack.priority = record.spec.priority;
    pack.due_ms = record.spec.due_ms;
    pack.lines = lines;
    Ok(Some(pack))
}

fn check_limits(
    ctx: &Ctx<'_>,
    record: &TaskRecord,
    s: &State,
    i: usize,
    next: &Tally,
    stock: &crate::domain::StockRef,
) -> Result<(), StepError> {
    let remaining = record.remaining(i);
    let total = next.total()?;
    if total > remaining {
        return err(
            ErrorCode::OverPick,
            format!("Too many: {remaining} to pick, this would make {total}. Put the extra back"),
        );
    }
    if let Some(at) = &s.at {
        let book = ctx
            .view
            .balance(&Place::Location(at.clone()), stock, StockStatus::Available);
        let want = next.qty_of(stock);
        if want > book {
            return err(
                ErrorCode::InsufficientStock,
                format!(
                    "The book shows only {book} of {} at {at}: pick what is there and scan C:SHORT",
                    stock.sku
                ),
            );
        }
    }
    Ok(())
}

fn close_line(
    ctx: &mut Ctx<'_>,
    record: &mut TaskRecord,
    s: &mut State,
    i: usize,
    short: bool,
) -> Result<(), StepError> {
    let order = order_of(record)?;
    let tote = s
        .tote
        .clone()
        .ok_or_else(|| unexpected("scan a tote first"))?;
    let at =
        s.at.clone()
            .ok_or_else(|| unexpected("scan the location first"))?;
    let remaining = record.remaining(i);
    let total = s.tally.total()?;
    check_book(ctx.view, &Place::Location(at.clone()), &s.tally.entries)?;
    for (stock, q) in &s.tally.entries {
        if q.is_zero() {
            continue;
        }
        ctx.out.events.push(EventBody::Pick {
            from: at.clone(),
            to: tote.clone(),
            stock: stock.clone(),
            qty: qty(*q)?,
            order: order.clone(),
        });
    }
    if short && total < remaining {
        let stock = match s.tally.entries.as_slice() {
            [(only, _)] => only.clone(),
            _ => record
                .spec
                .lines
                .get(i)
                .map(|l| l.stock())
                .ok_or_else(|| unexpected("no line left"))?,
        };
        ctx.out.events.push(EventBody::ShortPick {
            location: at,
            stock,
            expected: qty(remaining)?,
            picked: NonNegQty::new(total)
                .map_err(|e| StepError::new(ErrorCode::InvalidQuantity, e.to_string()))?,
            order,
        });
    }
    record
        .add_done(i, total, true)
        .ok_or_else(|| StepError::new(ErrorCode::InvalidQuantity, "That quantity is too large"))?;
    s.tally = Tally::default();
    s.at = None;
    s.stage = if record.first_open_slot().is_some() {
        Stage::Location
    } else {
        Stage::Close
    };
    Ok(())
}

pub(crate) fn prompt(view: &dyn LocalView, record: &TaskRecord, s: &State) -> (String, Expect) {
    let order = record
        .spec
        .order
        .as_ref()
        .map(|o| o.to_string())
        .unwrap_or_default();
    match s.stage {
        Stage::Tote => (
            format!("Scan an empty tote (T:) for order {order}"),
            Expect::scan(ExpectScan::Container),
        ),
        Stage::Close => {
            let tote = s.tote.as_ref().map(|t| t.to_string()).unwrap_or_default();
            (
                format!("All lines done: scan tote {tote} to finish"),
                Expect::scan(ExpectScan::Container),
            )
        }
        Stage::Location | Stage::Item => {
            let Some(i) = record.first_open_slot() else {
                return (
                    "Scan the tote to finish".to_string(),
                    Expect::scan(ExpectScan::Container),
                );
            };
            let Some(line) = record.spec.lines.get(i) else {
                return (
                    "Scan the tote to finish".to_string(),
                    Expect::scan(ExpectScan::Container),
                );
            };
            let done_before = record.line_progress(i).done.get();
            let scanned = s.tally.total().unwrap_or(Dec::ZERO);
            let mut e = Expect::scan(ExpectScan::Location);
            e.location = s.at.clone().or_else(|| line.location.clone());
            e.sku = Some(line.sku.clone());
            e.gtin = display_gtin(view, &line.sku);
            e.qty = Some(line.qty.get());
            e.done = Some(add(done_before, scanned).unwrap_or(done_before));
            let loc = e
                .location
                .as_ref()
                .map(|l| l.to_string())
                .unwrap_or_else(|| "the pick location".to_string());
            if s.stage == Stage::Location {
                return (format!("Go to {loc} and scan the location"), e);
            }
            let left = sub(record.remaining(i), scanned).unwrap_or(Dec::ZERO);
            if s.tally.is_empty() {
                e.scan = ExpectScan::Item;
                (
                    format!("Pick {left} of {} from {loc}: scan the item", line.sku),
                    e,
                )
            } else {
                e.scan = ExpectScan::QuantityOrConfirm;
                (
                    format!(
                        "{scanned} of {} picked, {left} to go: scan more, Q:<quantity>, C:CONFIRM or C:SHORT",
                        line.sku
                    ),
                    e,
                )
            }
        }
    }
}

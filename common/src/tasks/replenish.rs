//! Replenishment: reserve → forward pick location. For each line: scan the reserve location →
//! scan the items (or `Q:<n>`) → `C:CONFIRM` (or `C:SHORT` when the reserve holds less) → scan
//! the forward location → `Move` (purpose replenish). One trip per line.
//!
//! [`replenishment_needed`] creates replenish tasks from local min/max rules.

use super::error::{err, ErrorCode, StepError};
use super::product::{check_book, qty, resolve_location, resolve_product, sub, Tally};
use super::spec::{derived_task_id, fnv1a, TaskKind, TaskLine, TaskRecord, TaskSpec};
use super::station::{
    display_gtin, unexpected, unexpected_weight, Ctx, Expect, ExpectScan, FlowInput,
};
use super::view::LocalView;
use crate::domain::{
    Dec, EventBody, LocationCode, LocationKind, MovePurpose, NonNegQty, Place, Qty, Sku,
    StockStatus, TaskId,
};
use crate::scan_payload::{Command, StationPayload};
use serde::{Deserialize, Serialize};

/// Where a replenishment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Scan the reserve location.
    From,
    /// Scan the items.
    Item,
    /// Scan the forward location.
    To,
}

/// Replenish flow state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub(crate) stage: Stage,
    pub(crate) tally: Tally,
}

fn ends(record: &TaskRecord, i: usize) -> Result<(LocationCode, LocationCode), StepError> {
    let line = record.spec.lines.get(i);
    match (
        line.and_then(|l| l.location.clone()),
        line.and_then(|l| l.to.clone()),
    ) {
        (Some(from), Some(to)) => Ok((from, to)),
        _ => err(
            ErrorCode::TaskInvalid,
            format!(
                "Replenish task {} needs a from and a to location on every line",
                record.spec.id
            ),
        ),
    }
}

pub(crate) fn start(_ctx: &Ctx<'_>, record: &TaskRecord) -> Result<State, StepError> {
    for i in 0..record.spec.lines.len() {
        ends(record, i)?;
    }
    Ok(State {
        stage: Stage::From,
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
    let i = record
        .first_open_slot()
        .ok_or_else(|| unexpected("the replenishment is complete"))?;
    let line = record
        .spec
        .lines
        .get(i)
        .cloned()
        .ok_or_else(|| unexpected("the replenishment is complete"))?;
    let (from, to) = ends(record, i)?;
    match (s.stage, payload) {
        (Stage::From, StationPayload::Location(l)) => {
            let code = resolve_location(ctx.view, l)?;
            if code != from {
                return err(
                    ErrorCode::WrongLocation,
                    format!("Wrong location: scan {from}, you scanned {code}"),
                );
            }
            s.stage = Stage::Item;
            Ok(())
        }
        (Stage::From, _) => Err(unexpected("scan the reserve location first")),
        (Stage::Item, StationPayload::Product(scan)) => {
            let scanned = resolve_product(ctx.view, scan, ctx.now_ms)?;
            if !line.matches(&scanned.stock) {
                return err(
                    ErrorCode::WrongItem,
                    format!(
                        "Wrong item: take {} from {from}, you scanned {}",
                        line.sku, scanned.stock.sku
                    ),
                );
            }
            let next = s.tally.with_scan(&scanned)?;
            check(ctx, record, i, &from, &next, &scanned.stock)?;
            s.tally = next;
            Ok(())
        }
        (Stage::Item, StationPayload::Quantity(n)) => {
            let (next, stock) = s.tally.with_quantity(*n)?;
            check(ctx, record, i, &from, &next, &stock)?;
            s.tally = next;
            Ok(())
        }
        (Stage::Item, StationPayload::Command(Command::Confirm)) => {
            if s.tally.is_empty() {
                return err(
                    ErrorCode::NothingToConfirm,
                    "Nothing taken yet: scan the items, or C:SHORT if there are none",
                );
            }
            s.stage = Stage::To;
            Ok(())
        }
        (Stage::Item, StationPayload::Command(Command::Short)) => {
            if s.tally.is_empty() {
                let _ = record.add_done(i, Dec::ZERO, true);
                s.stage = Stage::From;
                if record.first_open_slot().is_none() {
                    ctx.out.finished = true;
                }
                return Ok(());
            }
            s.stage = Stage::To;
            Ok(())
        }
        (Stage::Item, StationPayload::Command(Command::Cancel)) => {
            if s.tally.is_empty() {
                s.stage = Stage::From;
            }
            s.tally = Tally::default();
            Ok(())
        }
        (Stage::Item, _) => Err(unexpected("scan the items, Q:<quantity>, then C:CONFIRM")),
        (Stage::To, StationPayload::Location(l)) => {
            let code = resolve_location(ctx.view, l)?;
            if code != to {
                return err(
                    ErrorCode::WrongLocation,
                    format!("Wrong location: scan {to}, you scanned {code}"),
                );
            }
            let total = s.tally.total()?;
            check_book(ctx.view, &Place::Location(from.clone()), &s.tally.entries)?;
            for (stock, q) in &s.tally.entries {
                if q.is_zero() {
                    continue;
                }
                ctx.out.events.push(EventBody::Move {
                    from: Place::Location(from.clone()),
                    to: Place::Location(to.clone()),
                    stock: stock.clone(),
                    status: StockStatus::Available,
                    qty: qty(*q)?,
                    purpose: MovePurpose::Replenish,
                    reason: None,
                });
            }
            record.add_done(i, total, true).ok_or_else(|| {
                StepError::new(ErrorCode::InvalidQuantity, "That quantity is too large")
            })?;
            s.tally = Tally::default();
            s.stage = Stage::From;
            if record.first_open_slot().is_none() {
                ctx.out.finished = true;
            }
            Ok(())
        }
        (Stage::To, StationPayload::Command(Command::Cancel)) => {
            s.stage = Stage::Item;
            Ok(())
        }
        (Stage::To, _) => Err(unexpected("scan the forward location you put the goods in")),
    }
}

fn check(
    ctx: &Ctx<'_>,
    record: &TaskRecord,
    i: usize,
    from: &LocationCode,
    next: &Tally,
    stock: &crate::domain::StockRef,
) -> Result<(), StepError> {
    let remaining = record.remaining(i);
    let total = next.total()?;
    if total > remaining {
        return err(
            ErrorCode::OverPick,
            format!("Too many: {remaining} to move, this would make {total}"),
        );
    }
    let book = ctx.view.balance(
        &Place::Location(from.clone()),
        stock,
        StockStatus::Available,
    );
    if next.qty_of(stock) > book {
        return err(
            ErrorCode::InsufficientStock,
            format!(
                "The book shows only {book} of {} at {from}: take what is there and scan C:SHORT",
                stock.sku
            ),
        );
    }
    Ok(())
}

pub(crate) fn prompt(view: &dyn LocalView, record: &TaskRecord, s: &State) -> (String, Expect) {
    let Some(i) = record.first_open_slot() else {
        return (
            "Replenishment complete".into(),
            Expect::scan(ExpectScan::Task),
        );
    };
    let Some(line) = record.spec.lines.get(i) else {
        return (
            "Replenishment complete".into(),
            Expect::scan(ExpectScan::Task),
        );
    };
    let scanned = s.tally.total().unwrap_or(Dec::ZERO);
    let mut e = Expect::scan(ExpectScan::Location);
    e.sku = Some(line.sku.clone());
    e.gtin = display_gtin(view, &line.sku);
    e.qty = Some(line.qty.get());
    e.done = Some(scanned);
    let from = line.location.clone();
    let to = line.to.clone();
    let show = |c: &Option<LocationCode>| c.as_ref().map(|c| c.to_string()).unwrap_or_default();
    match s.stage {
        Stage::From => {
            e.location = from.clone();
            (
                format!(
                    "Replenish {} of {}: go to {} and scan the location",
                    line.qty,
                    line.sku,
                    show(&from)
                ),
                e,
            )
        }
        Stage::Item => {
            e.scan = if s.tally.is_empty() {
                ExpectScan::Item
            } else {
                ExpectScan::QuantityOrConfirm
            };
            e.location = from;
            let left = sub(line.qty.get(), scanned).unwrap_or(Dec::ZERO);
            (
                format!(
                    "Take {left} more of {}: scan the items, then C:CONFIRM",
                    line.sku
                ),
                e,
            )
        }
        Stage::To => {
            e.location = to.clone();
            (
                format!(
                    "Put {scanned} of {} in {} and scan the location",
                    line.sku,
                    show(&to)
                ),
                e,
            )
        }
    }
}

/// A local min/max rule: keep `location` (a forward pick location) between `min` and `max`
/// of `sku`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinMaxRule {
    /// The item.
    pub sku: Sku,
    /// The forward location.
    pub location: LocationCode,
    /// Replenish when the location holds this much or less.
    pub min: NonNegQty,
    /// Fill up to this much.
    pub max: Qty,
    /// Priority of the created task.
    #[serde(default)]
    pub priority: u8,
}

/// Replenish tasks for the rules whose forward location is at or below `min`: one task per
/// rule, filling up to `max` from reserve locations holding available stock of the item
/// (earliest expiry first, then location code), skipping rules that already have an open
/// replenish task to that location for that item. `now_ms` becomes the due time and part of the
/// task id (`RPL-<location>-<sku>-<now_ms>`, hashed when too long).
pub fn replenishment_needed(
    view: &dyn LocalView,
    rules: &[MinMaxRule],
    now_ms: i64,
) -> Vec<TaskSpec> {
    let open = view.open_tasks();
    let mut out = Vec::new();
    for rule in rules {
        let already = open.iter().any(|r| {
            r.spec.kind == TaskKind::Replenish
                && r.spec
                    .lines
                    .iter()
                    .any(|l| l.sku == rule.sku && l.to.as_ref() == Some(&rule.location))
        });
        if already {
            continue;
        }
        let stock = view.stock_of(&rule.sku);
        let here = stock
            .iter()
            .filter(|(c, _, st, _)| c == &rule.location && *st == StockStatus::Available)
            .try_fold(Dec::ZERO, |a, (_, _, _, q)| a.checked_add(*q));
        let Some(here) = here else { continue };
        if here > rule.min.get() {
            continue;
        }
        let Some(mut need) = rule.max.get().checked_sub(here) else {
            continue;
        };
        let mut sources: Vec<_> = stock
            .into_iter()
            .filter(|(c, _, st, q)| {
                c != &rule.location
                    && *st == StockStatus::Available
                    && *q > Dec::ZERO
                    && view.location(c).map(|i| i.kind) == Some(LocationKind::Reserve)
            })
            .collect();
        sources.sort_by(|a, b| {
            (a.1.expiry.is_none(), a.1.expiry, &a.0).cmp(&(b.1.expiry.is_none(), b.1.expiry, &b.0))
        });
        let mut lines = Vec::new();
        for (from, stock, _, avail) in sources {
            if need <= Dec::ZERO {
                break;
            }
            let take = avail.min(need);
            let Ok(q) = Qty::new(take) else { continue };
            lines.push(TaskLine {
                sku: stock.sku.clone(),
                qty: q,
                location: Some(from),
                to: Some(rule.location.clone()),
                lot: stock.lot.clone(),
                serial: stock.serial.clone(),
                expiry: stock.expiry,
            });
            need = match need.checked_sub(take) {
                Some(n) => n,
                None => break,
            };
        }
        if lines.is_empty() {
            continue;
        }
        let base = format!("RPL-{}-{}", rule.location, rule.sku);
        let id = derived_task_id(&base, &now_ms.to_string())
            .or_else(|_| TaskId::new(format!("RPL-{:016x}", fnv1a(base.as_bytes()))));
        let Ok(id) = id else { continue };
        let mut spec = TaskSpec::new(id, TaskKind::Replenish);
        spec.priority = rule.priority;
        spec.due_ms = Some(now_ms);
        spec.lines = lines;
        out.push(spec);
    }
    out
}

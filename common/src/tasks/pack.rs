//! Pack: scan the tote (or the order, then the tote) → verify every item by scanning it →
//! scan a carton (`T:` or an SSCC label) and put it on the scale → a stable weight within
//! tolerance records `Pack`, asks the runtime to print the shipping label (`PrintLabel`) and
//! creates the ship task for the carton.
//!
//! Expected weight = Σ unit weight × quantity + the station's carton tare; the tolerance is the
//! strictest `weight_tolerance_pct` of the items in the carton, applied to the expected weight.
//! Outside it: `weight_mismatch`, nothing recorded (fix the carton and weigh again). When an
//! item has no unit weight the carton is not check-weighed (the measured weight is recorded).

use super::error::{err, ErrorCode, StepError};
use super::product::{add, check_book, qty, resolve_container, resolve_product, sscc_of, Tally};
use super::spec::{derived_task_id, TaskKind, TaskLine, TaskRecord, TaskSpec};
use super::station::{
    display_gtin, other_task_named, unexpected, Ctx, Expect, ExpectScan, FlowInput, PrintLabel,
};
use super::view::LocalView;
use crate::domain::{
    ContainerId, Dec, EventBody, NonNegQty, OrderRef, PackLine, Place, Sku, StockStatus,
};
use crate::scale::WeightReading;
use crate::scan_payload::{Command, StationPayload};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Where a pack is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Scan the tote or order.
    Start,
    /// Scan every item.
    Verify,
    /// Scan the carton.
    Carton,
    /// Waiting for a stable weight.
    Weight,
}

/// Pack flow state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub(crate) stage: Stage,
    pub(crate) tote: Option<ContainerId>,
    pub(crate) expected: Vec<(Sku, Dec)>,
    pub(crate) tally: Tally,
    pub(crate) carton: Option<ContainerId>,
}

fn order_of(record: &TaskRecord) -> Result<OrderRef, StepError> {
    record.spec.order.clone().ok_or_else(|| {
        StepError::new(
            ErrorCode::TaskInvalid,
            format!("Pack task {} has no order", record.spec.id),
        )
    })
}

fn by_sku(lines: impl Iterator<Item = (Sku, Dec)>) -> Result<Vec<(Sku, Dec)>, StepError> {
    let mut out: Vec<(Sku, Dec)> = Vec::new();
    for (sku, q) in lines {
        match out.iter_mut().find(|(s, _)| s == &sku) {
            Some(slot) => slot.1 = add(slot.1, q)?,
            None => out.push((sku, q)),
        }
    }
    Ok(out)
}

pub(crate) fn start(_ctx: &Ctx<'_>, record: &TaskRecord) -> Result<State, StepError> {
    order_of(record)?;
    Ok(State {
        stage: Stage::Start,
        tote: None,
        expected: by_sku(
            record
                .spec
                .lines
                .iter()
                .map(|l| (l.sku.clone(), l.qty.get())),
        )?,
        tally: Tally::default(),
        carton: None,
    })
}

pub(crate) fn has_pending(s: &State) -> bool {
    !s.tally.is_empty()
}

fn begin_verify(ctx: &Ctx<'_>, s: &mut State, tote: ContainerId) -> Result<(), StepError> {
    if s.expected.is_empty() {
        let contents = ctx.view.stock_at(&Place::Container(tote.clone()));
        s.expected = by_sku(
            contents
                .into_iter()
                .filter(|(_, st, q)| *st == StockStatus::Available && *q > Dec::ZERO)
                .map(|(stock, _, q)| (stock.sku, q)),
        )?;
        if s.expected.is_empty() {
            return err(
                ErrorCode::NotInTote,
                format!("Tote {tote} is empty on the book: nothing to pack"),
            );
        }
    }
    s.tote = Some(tote);
    s.stage = Stage::Verify;
    Ok(())
}

fn verified(s: &State, tally: &Tally) -> Result<bool, StepError> {
    for (sku, want) in &s.expected {
        if tally.total_where(|st| &st.sku == sku)? != *want {
            return Ok(false);
        }
    }
    Ok(true)
}

pub(crate) fn step(
    ctx: &mut Ctx<'_>,
    record: &mut TaskRecord,
    s: &mut State,
    input: FlowInput<'_>,
) -> Result<(), StepError> {
    let payload = match input {
        FlowInput::Weight(w) => return weigh(ctx, record, s, w),
        FlowInput::Scan(p) => p,
    };
    let order = order_of(record)?;
    match (s.stage, payload) {
        (Stage::Start, StationPayload::Container(c)) => {
            let id = resolve_container(c)?;
            if let Some(t) = &record.spec.container {
                if t != &id {
                    if let Some(other) = other_task_named(ctx, &record.spec.id, payload) {
                        ctx.out.switch_to = Some(other);
                        return Ok(());
                    }
                    return err(
                        ErrorCode::WrongContainer,
                        format!("Wrong tote: this task packs {t}, you scanned {id}"),
                    );
                }
            }
            begin_verify(ctx, s, id)
        }
        (Stage::Start, StationPayload::Order(o)) => {
            if o.as_str() != order.as_str() {
                if let Some(other) = other_task_named(ctx, &record.spec.id, payload) {
                    ctx.out.switch_to = Some(other);
                    return Ok(());
                }
                return err(
                    ErrorCode::WrongOrder,
                    format!("Wrong order: this task packs {order}, you scanned {o}"),
                );
            }
            match record.spec.container.clone() {
                Some(t) => begin_verify(ctx, s, t),
                None => err(
                    ErrorCode::UnexpectedScan,
                    "This order's tote is not known: scan the tote (T:)",
                ),
            }
        }
        (Stage::Start, _) => Err(unexpected("scan the tote (T:) or the order (O:)")),
        (Stage::Verify, StationPayload::Product(scan)) => {
            let scanned = resolve_product(ctx.view, scan, ctx.now_ms)?;
            let next = s.tally.with_scan(&scanned)?;
            check_verify(ctx, &order, s, &next, &scanned.stock)?;
            s.tally = next;
            if verified(s, &s.tally)? {
                s.stage = Stage::Carton;
            }
            Ok(())
        }
        (Stage::Verify, StationPayload::Quantity(n)) => {
            let (next, stock) = s.tally.with_quantity(*n)?;
            check_verify(ctx, &order, s, &next, &stock)?;
            s.tally = next;
            if verified(s, &s.tally)? {
                s.stage = Stage::Carton;
            }
            Ok(())
        }
        (Stage::Verify, StationPayload::Command(Command::Cancel)) => {
            if s.tally.is_empty() {
                return err(ErrorCode::NothingToCancel, "Nothing to cancel");
            }
            s.tally = Tally::default();
            Ok(())
        }
        (Stage::Verify, _) => Err(unexpected("scan each item from the tote")),
        (Stage::Carton, StationPayload::Container(c)) => {
            let id = resolve_container(c)?;
            if Some(&id) == s.tote.as_ref() {
                return err(
                    ErrorCode::WrongContainer,
                    "That is the tote: scan the carton's label",
                );
            }
            s.carton = Some(id);
            s.stage = Stage::Weight;
            Ok(())
        }
        (Stage::Carton, StationPayload::Command(Command::Cancel)) => {
            s.tally = Tally::default();
            s.stage = Stage::Verify;
            Ok(())
        }
        (Stage::Carton, _) => Err(unexpected("scan the carton's label (T: or SSCC)")),
        (Stage::Weight, StationPayload::Command(Command::Cancel)) => {
            s.carton = None;
            s.stage = Stage::Carton;
            Ok(())
        }
        (Stage::Weight, _) => Err(unexpected("put the carton on the scale")),
    }
}

fn check_verify(
    ctx: &Ctx<'_>,
    order: &OrderRef,
    s: &State,
    next: &Tally,
    stock: &crate::domain::StockRef,
) -> Result<(), StepError> {
    let Some((_, want)) = s.expected.iter().find(|(k, _)| k == &stock.sku) else {
        return err(
            ErrorCode::WrongItem,
            format!(
                "Wrong item: {} is not in order {order}; put it aside",
                stock.sku
            ),
        );
    };
    let have = next.total_where(|st| st.sku == stock.sku)?;
    if have > *want {
        return err(
            ErrorCode::OverPack,
            format!(
                "Too many: order {order} has {want} of {}; this would make {have}",
                stock.sku
            ),
        );
    }
    if let Some(tote) = &s.tote {
        let book = ctx.view.balance(
            &Place::Container(tote.clone()),
            stock,
            StockStatus::Available,
        );
        if next.qty_of(stock) > book {
            return err(
                ErrorCode::NotInTote,
                format!(
                    "The book shows only {book} of {} in tote {tote}: check the pick",
                    stock.sku
                ),
            );
        }
    }
    Ok(())
}

fn weigh(
    ctx: &mut Ctx<'_>,
    record: &mut TaskRecord,
    s: &mut State,
    reading: &WeightReading,
) -> Result<(), StepError> {
    if s.stage != Stage::Weight {
        return Err(super::station::unexpected_weight());
    }
    if !reading.stable {
        return err(
            ErrorCode::WeightUnstable,
            "The scale is not stable yet: let the carton settle",
        );
    }
    let unusable = |why: String| StepError::new(ErrorCode::WeightUnusable, why);
    if !reading.is_usable() {
        return Err(unusable(format!(
            "The scale reports {:?}: check the scale and weigh again",
            reading.condition
        )));
    }
    let kg = reading
        .value_kg()
        .map_err(|e| unusable(format!("Cannot read the weight: {e}")))?;
    let measured = Dec::new(kg)
        .ok()
        .and_then(|d| NonNegQty::new(d).ok())
        .ok_or_else(|| unusable(format!("{kg} kg is not a carton weight: zero the scale")))?;
    let order = order_of(record)?;
    let tote = s.tote.clone().ok_or_else(|| unexpected("scan the tote"))?;
    let carton = s
        .carton
        .clone()
        .ok_or_else(|| unexpected("scan the carton"))?;
    check_book(ctx.view, &Place::Container(tote.clone()), &s.tally.entries)?;

    // Expected weight and tolerance.
    let mut expected: Option<Decimal> = Some(ctx.config.carton_tare_kg.get());
    let mut pct: Option<Decimal> = None;
    for (stock, q) in &s.tally.entries {
        let item = ctx.view.item(&stock.sku);
        let w = item
            .as_ref()
            .and_then(|i| i.unit_weight_kg)
            .map(|w| w.get().get() * q.get());
        expected = match (expected, w) {
            (Some(e), Some(w)) => Some(e + w),
            _ => None,
        };
        let p = item
            .as_ref()
            .and_then(|i| i.weight_tolerance_pct)
            .map(|p| p.get().get())
            .unwrap_or(Decimal::ZERO);
        pct = Some(pct.map_or(p, |x| x.min(p)));
    }
    let expected_kg = match expected {
        Some(e) => {
            let allowed = e * pct.unwrap_or(Decimal::ZERO) / Decimal::ONE_HUNDRED;
            if (kg - e).abs() > allowed {
                return err(
                    ErrorCode::WeightMismatch,
                    format!(
                        "Weight mismatch: {kg} kg is outside {} kg ± {} kg. Check the carton against order {order} and weigh again",
                        e,
                        allowed.normalize()
                    ),
                );
            }
            Some(
                Dec::new(e)
                    .ok()
                    .and_then(|d| NonNegQty::new(d).ok())
                    .ok_or_else(|| unusable("expected weight out of range".into()))?,
            )
        }
        None => None,
    };
    let mut lines = Vec::new();
    for (stock, q) in &s.tally.entries {
        if !q.is_zero() {
            lines.push(PackLine {
                stock: stock.clone(),
                qty: qty(*q)?,
            });
        }
    }
    ctx.out.events.push(EventBody::Pack {
        from: tote,
        carton: carton.clone(),
        order: order.clone(),
        lines: lines.clone(),
        measured_kg: Some(measured),
        expected_kg,
    });
    ctx.out.print.push(PrintLabel {
        carton: carton.clone(),
        sscc: sscc_of(&carton),
        order: order.clone(),
        weight_kg: measured,
        lines: lines.clone(),
    });
    let id = derived_task_id(record.spec.id.as_str(), "SHIP")
        .map_err(|e| StepError::new(ErrorCode::InvalidId, e.to_string()))?;
    let mut ship = TaskSpec::new(id, TaskKind::Ship);
    ship.order = Some(order);
    ship.container = Some(carton);
    ship.priority = record.spec.priority;
    ship.due_ms = record.spec.due_ms;
    ship.lines = lines
        .iter()
        .map(|l| TaskLine {
            sku: l.stock.sku.clone(),
            qty: l.qty,
            location: None,
            to: None,
            lot: l.stock.lot.clone(),
            serial: l.stock.serial.clone(),
            expiry: l.stock.expiry,
        })
        .collect();
    ctx.out.created.push(ship);
    for i in 0..record.spec.lines.len() {
        let done = record.remaining(i);
        let _ = record.add_done(i, done, true);
    }
    ctx.out.finished = true;
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
        Stage::Start => {
            let tote = record
                .spec
                .container
                .as_ref()
                .map(|t| format!("tote {t}"))
                .unwrap_or_else(|| "the tote".into());
            (
                format!("Pack order {order}: scan {tote} or the order"),
                Expect::scan(ExpectScan::Container),
            )
        }
        Stage::Verify => {
            let next = s.expected.iter().find(|(sku, want)| {
                s.tally
                    .total_where(|st| &st.sku == sku)
                    .unwrap_or(Dec::ZERO)
                    < *want
            });
            let mut e = Expect::scan(if s.tally.is_empty() {
                ExpectScan::Item
            } else {
                ExpectScan::QuantityOrConfirm
            });
            if let Some((sku, want)) = next {
                e.sku = Some(sku.clone());
                e.gtin = display_gtin(view, sku);
                e.qty = Some(*want);
                e.done = Some(
                    s.tally
                        .total_where(|st| &st.sku == sku)
                        .unwrap_or(Dec::ZERO),
                );
                return (format!("Verify: scan each {sku} ({want} in the order)"), e);
            }
            ("Verify: scan each item".into(), e)
        }
        Stage::Carton => (
            "All items verified: scan the carton's label and put it on the scale".into(),
            Expect::scan(ExpectScan::Container),
        ),
        Stage::Weight => (
            format!(
                "Put carton {} on the scale",
                s.carton.as_ref().map(|c| c.to_string()).unwrap_or_default()
            ),
            Expect::scan(ExpectScan::Weight),
        ),
    }
}

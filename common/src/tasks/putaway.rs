//! Putaway: scan the item at its receiving location → the station suggests a location → scan
//! it to confirm (`Move`, purpose putaway).
//!
//! The suggestion: the line's pre-assigned target, else the item's forward (home) location,
//! else a storage location already holding the same stock (same lot/expiry), else an empty
//! reserve location. Scanning another storage location asks for `C:CONFIRM` and then records the
//! move with reason `location_override`. The whole line is moved by default; `Q:<n>` moves `n`
//! of the scanned pack level instead (the rest stays on the line).

use super::error::{err, ErrorCode, StepError};
use super::product::{check_book, qty, resolve_location, resolve_product};
use super::spec::TaskRecord;
use super::station::{
    display_gtin, unexpected, unexpected_weight, Ctx, Expect, ExpectScan, FlowInput,
};
use super::view::LocalView;
use crate::domain::{
    Dec, EventBody, LocationCode, LocationKind, MovePurpose, Place, ReasonCode, StockRef,
    StockStatus,
};
use crate::scan_payload::{Command, StationPayload};
use serde::{Deserialize, Serialize};

/// Where a putaway is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Scan the item.
    Item,
    /// Scan the (suggested) location.
    Location,
    /// Another location was scanned: confirm the override.
    Override,
}

/// Putaway flow state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub(crate) stage: Stage,
    pub(crate) stock: Option<StockRef>,
    pub(crate) qty: Dec,
    pub(crate) per_pack: Dec,
    pub(crate) suggested: Option<LocationCode>,
    pub(crate) target: Option<LocationCode>,
}

fn from_of(record: &TaskRecord, i: usize) -> Result<LocationCode, StepError> {
    record
        .spec
        .lines
        .get(i)
        .and_then(|l| l.location.clone())
        .ok_or_else(|| {
            StepError::new(
                ErrorCode::TaskInvalid,
                format!("Putaway task {} has no source location", record.spec.id),
            )
        })
}

pub(crate) fn start(_ctx: &Ctx<'_>, record: &TaskRecord) -> Result<State, StepError> {
    for i in 0..record.spec.lines.len() {
        from_of(record, i)?;
    }
    Ok(State {
        stage: Stage::Item,
        stock: None,
        qty: Dec::ZERO,
        per_pack: Dec::ONE,
        suggested: None,
        target: None,
    })
}

pub(crate) fn has_pending(s: &State) -> bool {
    s.stage != Stage::Item
}

fn is_storage(kind: Option<LocationKind>) -> bool {
    matches!(kind, Some(LocationKind::Reserve | LocationKind::Pick))
}

/// The suggested putaway location for `stock` coming from `from`.
pub fn suggest(
    view: &dyn LocalView,
    stock: &StockRef,
    from: &LocationCode,
    preassigned: Option<&LocationCode>,
) -> Option<LocationCode> {
    if let Some(to) = preassigned {
        return Some(to.clone());
    }
    let storage = |c: &LocationCode| c != from && is_storage(view.location(c).map(|i| i.kind));
    if let Some(home) = view.home_location(&stock.sku).filter(|c| storage(c)) {
        return Some(home);
    }
    let mut holding: Vec<LocationCode> = view
        .stock_of(&stock.sku)
        .into_iter()
        .filter(|(c, s, st, q)| {
            s == stock && *st == StockStatus::Available && !q.is_negative() && storage(c)
        })
        .map(|(c, ..)| c)
        .collect();
    holding.sort();
    if let Some(c) = holding.into_iter().next() {
        return Some(c);
    }
    view.locations()
        .into_iter()
        .filter(|(c, info)| info.kind == LocationKind::Reserve && c != from)
        .find(|(c, _)| view.stock_at(&Place::Location(c.clone())).is_empty())
        .map(|(c, _)| c)
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
        .ok_or_else(|| unexpected("the putaway is complete"))?;
    let line = record
        .spec
        .lines
        .get(i)
        .cloned()
        .ok_or_else(|| unexpected("the putaway is complete"))?;
    let from = from_of(record, i)?;
    match (s.stage, payload) {
        (Stage::Item, StationPayload::Product(scan)) => {
            let scanned = resolve_product(ctx.view, scan, ctx.now_ms)?;
            if scanned.stock.sku != line.sku {
                return err(
                    ErrorCode::WrongItem,
                    format!(
                        "Wrong item: put away {} from {from}, you scanned {}",
                        line.sku, scanned.stock.sku
                    ),
                );
            }
            if !line.matches(&scanned.stock) {
                return err(
                    ErrorCode::WrongLot,
                    format!(
                        "Wrong lot: this putaway is for {} lot {}",
                        line.sku,
                        line.lot.as_ref().map(|l| l.to_string()).unwrap_or_default()
                    ),
                );
            }
            let book = ctx.view.balance(
                &Place::Location(from.clone()),
                &scanned.stock,
                StockStatus::Available,
            );
            let amount = record.remaining(i).min(book);
            if amount <= Dec::ZERO {
                return err(
                    ErrorCode::InsufficientStock,
                    format!(
                        "The book shows no {} at {from}: check the location",
                        line.sku
                    ),
                );
            }
            s.suggested = suggest(ctx.view, &scanned.stock, &from, line.to.as_ref());
            s.stock = Some(scanned.stock);
            s.qty = amount;
            s.per_pack = scanned.per_pack;
            s.stage = Stage::Location;
            Ok(())
        }
        (Stage::Item, StationPayload::Command(Command::Cancel)) => {
            err(ErrorCode::NothingToCancel, "Nothing to cancel")
        }
        (Stage::Item, _) => Err(unexpected("scan the item to put away")),
        (Stage::Location | Stage::Override, StationPayload::Quantity(n)) => {
            let n = Dec::new(*n)
                .map_err(|e| StepError::new(ErrorCode::InvalidQuantity, e.to_string()))?;
            let amount = n.checked_mul(s.per_pack).ok_or_else(|| {
                StepError::new(ErrorCode::InvalidQuantity, "That quantity is too large")
            })?;
            let stock = s.stock.clone().ok_or_else(|| unexpected("scan the item"))?;
            let book = ctx.view.balance(
                &Place::Location(from.clone()),
                &stock,
                StockStatus::Available,
            );
            let max = record.remaining(i).min(book);
            if amount > max {
                return err(
                    ErrorCode::OverPick,
                    format!(
                        "Too many: at most {max} of {} can be put away here",
                        line.sku
                    ),
                );
            }
            s.qty = amount;
            Ok(())
        }
        (Stage::Location | Stage::Override, StationPayload::Location(l)) => {
            let code = resolve_location(ctx.view, l)?;
            if code == from {
                return err(
                    ErrorCode::WrongLocation,
                    format!("Wrong location: the goods are at {code}; scan where you put them"),
                );
            }
            if s.suggested.as_ref().is_none_or(|sg| sg == &code) {
                if !is_storage(ctx.view.location(&code).map(|x| x.kind)) {
                    return err(
                        ErrorCode::WrongLocation,
                        format!("Wrong location: {code} is not a storage location"),
                    );
                }
                return put(ctx, record, s, i, from, code, None);
            }
            if !is_storage(ctx.view.location(&code).map(|x| x.kind)) {
                return err(
                    ErrorCode::WrongLocation,
                    format!(
                        "Wrong location: {code} is not a storage location; scan {}",
                        s.suggested
                            .as_ref()
                            .map(|c| c.to_string())
                            .unwrap_or_default()
                    ),
                );
            }
            s.target = Some(code);
            s.stage = Stage::Override;
            Ok(())
        }
        (Stage::Override, StationPayload::Command(Command::Confirm)) => {
            let to = s
                .target
                .clone()
                .ok_or_else(|| unexpected("scan a location"))?;
            put(
                ctx,
                record,
                s,
                i,
                from,
                to,
                Some(ReasonCode::LocationOverride),
            )
        }
        (Stage::Override, StationPayload::Command(Command::Cancel)) => {
            s.stage = Stage::Location;
            s.target = None;
            Ok(())
        }
        (Stage::Location, StationPayload::Command(Command::Cancel)) => {
            *s = State {
                stage: Stage::Item,
                stock: None,
                qty: Dec::ZERO,
                per_pack: Dec::ONE,
                suggested: None,
                target: None,
            };
            Ok(())
        }
        (Stage::Location, _) => Err(unexpected("scan the location you put the goods in")),
        (Stage::Override, _) => Err(unexpected(
            "scan C:CONFIRM to use this location, or scan the suggested one",
        )),
    }
}

fn put(
    ctx: &mut Ctx<'_>,
    record: &mut TaskRecord,
    s: &mut State,
    i: usize,
    from: LocationCode,
    to: LocationCode,
    reason: Option<ReasonCode>,
) -> Result<(), StepError> {
    let stock = s.stock.clone().ok_or_else(|| unexpected("scan the item"))?;
    check_book(
        ctx.view,
        &Place::Location(from.clone()),
        &[(stock.clone(), s.qty)],
    )?;
    ctx.out.events.push(EventBody::Move {
        from: Place::Location(from),
        to: Place::Location(to),
        stock,
        status: StockStatus::Available,
        qty: qty(s.qty)?,
        purpose: MovePurpose::Putaway,
        reason,
    });
    record
        .add_done(i, s.qty, false)
        .ok_or_else(|| StepError::new(ErrorCode::InvalidQuantity, "That quantity is too large"))?;
    *s = State {
        stage: Stage::Item,
        stock: None,
        qty: Dec::ZERO,
        per_pack: Dec::ONE,
        suggested: None,
        target: None,
    };
    if record.first_open_slot().is_none() {
        ctx.out.finished = true;
    }
    Ok(())
}

pub(crate) fn prompt(view: &dyn LocalView, record: &TaskRecord, s: &State) -> (String, Expect) {
    let Some(i) = record.first_open_slot() else {
        return ("Putaway complete".into(), Expect::scan(ExpectScan::Task));
    };
    let Some(line) = record.spec.lines.get(i) else {
        return ("Putaway complete".into(), Expect::scan(ExpectScan::Task));
    };
    let from = line
        .location
        .as_ref()
        .map(|c| c.to_string())
        .unwrap_or_default();
    let mut e = Expect::scan(ExpectScan::Item);
    e.sku = Some(line.sku.clone());
    e.gtin = display_gtin(view, &line.sku);
    e.qty = Some(line.qty.get());
    e.done = Some(record.line_progress(i).done.get());
    match s.stage {
        Stage::Item => {
            e.location = line.location.clone();
            (format!("Scan {} at {from}", line.sku), e)
        }
        Stage::Location => {
            e.scan = ExpectScan::Location;
            e.location = s.suggested.clone();
            e.qty = Some(s.qty);
            let text = match &s.suggested {
                Some(c) => format!("Put {} of {} in {c} and scan the location", s.qty, line.sku),
                None => format!(
                    "Put {} of {} in a storage location and scan it",
                    s.qty, line.sku
                ),
            };
            (text, e)
        }
        Stage::Override => {
            e.scan = ExpectScan::QuantityOrConfirm;
            e.location = s.target.clone();
            e.qty = Some(s.qty);
            (
                format!(
                    "{} is not the suggested {}: scan C:CONFIRM to put away there (location override), or scan {}",
                    s.target.as_ref().map(|c| c.to_string()).unwrap_or_default(),
                    s.suggested.as_ref().map(|c| c.to_string()).unwrap_or_default(),
                    s.suggested.as_ref().map(|c| c.to_string()).unwrap_or_default()
                ),
                e,
            )
        }
    }
}

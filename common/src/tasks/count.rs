//! Cycle count (blind): for each location of the task: scan the location → scan every item
//! (repeated scans or `Q:<n>`) → `C:CONFIRM`. The operator never sees the book quantity.
//!
//! Confirm records one `CountResult` (counted vs book, status available) per stock line counted
//! and per available stock line on the book that was not found (counted 0). An empty location
//! confirmed empty records nothing. Held stock (quarantine, damaged, …) is not counted here.

use super::error::{err, ErrorCode, StepError};
use super::product::{resolve_location, resolve_product, Tally};
use super::spec::TaskRecord;
use super::station::{unexpected, unexpected_weight, Ctx, Expect, ExpectScan, FlowInput};
use crate::domain::{Dec, EventBody, LocationCode, NonNegQty, Place, StockStatus};
use crate::scan_payload::{Command, StationPayload};
use serde::{Deserialize, Serialize};

/// Where a count is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Scan the next location.
    Location,
    /// Scan the items in it.
    Counting,
}

/// Count flow state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub(crate) stage: Stage,
    pub(crate) tally: Tally,
}

pub(crate) fn start(_ctx: &Ctx<'_>, record: &TaskRecord) -> Result<State, StepError> {
    if record.spec.locations.is_empty() {
        return err(
            ErrorCode::TaskInvalid,
            format!("Count task {} has no locations", record.spec.id),
        );
    }
    Ok(State {
        stage: Stage::Location,
        tally: Tally::default(),
    })
}

pub(crate) fn has_pending(s: &State) -> bool {
    !s.tally.is_empty()
}

fn current(record: &TaskRecord) -> Result<(usize, LocationCode), StepError> {
    record
        .first_open_slot()
        .and_then(|i| record.spec.locations.get(i).map(|c| (i, c.clone())))
        .ok_or_else(|| unexpected("the count is complete"))
}

fn nonneg(d: Dec) -> Result<NonNegQty, StepError> {
    NonNegQty::new(if d.is_negative() { Dec::ZERO } else { d })
        .map_err(|e| StepError::new(ErrorCode::InvalidQuantity, e.to_string()))
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
    let (i, at) = current(record)?;
    match (s.stage, payload) {
        (Stage::Location, StationPayload::Location(l)) => {
            let code = resolve_location(ctx.view, l)?;
            if code != at {
                return err(
                    ErrorCode::WrongLocation,
                    format!("Wrong location: scan {at}, you scanned {code}"),
                );
            }
            s.stage = Stage::Counting;
            Ok(())
        }
        (Stage::Location, _) => Err(unexpected("scan the location to count")),
        (Stage::Counting, StationPayload::Product(scan)) => {
            let scanned = resolve_product(ctx.view, scan, ctx.now_ms)?;
            s.tally = s.tally.with_scan(&scanned)?;
            Ok(())
        }
        (Stage::Counting, StationPayload::Quantity(n)) => {
            s.tally = s.tally.with_quantity(*n)?.0;
            Ok(())
        }
        (Stage::Counting, StationPayload::Command(Command::Confirm)) => {
            let place = Place::Location(at.clone());
            for (stock, counted) in &s.tally.entries {
                let book = ctx.view.balance(&place, stock, StockStatus::Available);
                ctx.out.events.push(EventBody::CountResult {
                    location: at.clone(),
                    stock: stock.clone(),
                    status: StockStatus::Available,
                    counted: nonneg(*counted)?,
                    expected: nonneg(book)?,
                });
            }
            for (stock, status, book) in ctx.view.stock_at(&place) {
                let counted = s.tally.entries.iter().any(|(st, _)| st == &stock);
                if status == StockStatus::Available && book > Dec::ZERO && !counted {
                    ctx.out.events.push(EventBody::CountResult {
                        location: at.clone(),
                        stock,
                        status,
                        counted: NonNegQty::ZERO,
                        expected: nonneg(book)?,
                    });
                }
            }
            record
                .add_done(i, Dec::ONE, true)
                .ok_or_else(|| unexpected("the count is complete"))?;
            s.tally = Tally::default();
            s.stage = Stage::Location;
            if record.first_open_slot().is_none() {
                ctx.out.finished = true;
            }
            Ok(())
        }
        (Stage::Counting, StationPayload::Command(Command::Cancel)) => {
            if s.tally.is_empty() {
                s.stage = Stage::Location;
            }
            s.tally = Tally::default();
            Ok(())
        }
        (Stage::Counting, _) => Err(unexpected(
            "scan every item here, Q:<quantity>, then C:CONFIRM",
        )),
    }
}

pub(crate) fn prompt(record: &TaskRecord, s: &State) -> (String, Expect) {
    let Ok((i, at)) = current(record) else {
        return ("Count complete".into(), Expect::scan(ExpectScan::Task));
    };
    let n = record.spec.locations.len();
    let mut e = Expect::scan(ExpectScan::Location);
    e.location = Some(at.clone());
    match s.stage {
        Stage::Location => (
            format!("Count {} of {n}: go to {at} and scan the location", i + 1),
            e,
        ),
        Stage::Counting => {
            e.scan = if s.tally.is_empty() {
                ExpectScan::Item
            } else {
                ExpectScan::QuantityOrConfirm
            };
            (
                format!(
                    "Count everything in {at}: scan each item (or Q:<quantity>), then C:CONFIRM"
                ),
                e,
            )
        }
    }
}

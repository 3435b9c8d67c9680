//! Ship: at the dock, scan the carton's label (`T:` or the GS1 SSCC (00)) → `Ship` with what
//! the carton holds on the book. A carton label of another open ship task ships that one.

use super::error::{err, ErrorCode, StepError};
use super::product::{qty, resolve_container, sscc_of};
use super::spec::TaskRecord;
use super::station::{
    other_task_named, unexpected, unexpected_weight, Ctx, Expect, ExpectScan, FlowInput,
};
use crate::domain::{ContainerId, Dec, EventBody, OrderRef, PackLine, Place, StockStatus};
use crate::scan_payload::StationPayload;
use serde::{Deserialize, Serialize};

/// Ship flow state (one step: the label).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub(crate) carton: ContainerId,
    pub(crate) order: OrderRef,
}

pub(crate) fn start(_ctx: &Ctx<'_>, record: &TaskRecord) -> Result<State, StepError> {
    let invalid = |what: &str| {
        StepError::new(
            ErrorCode::TaskInvalid,
            format!("Ship task {} has no {what}", record.spec.id),
        )
    };
    Ok(State {
        carton: record
            .spec
            .container
            .clone()
            .ok_or_else(|| invalid("carton"))?,
        order: record.spec.order.clone().ok_or_else(|| invalid("order"))?,
    })
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
    let StationPayload::Container(c) = payload else {
        return Err(unexpected("scan the carton's shipping label"));
    };
    let id = resolve_container(c)?;
    if id != s.carton {
        if let Some(other) = other_task_named(ctx, &record.spec.id, payload) {
            ctx.out.switch_to = Some(other);
            return Ok(());
        }
        return err(
            ErrorCode::UnknownContainer,
            format!("No open shipment for carton {id}: is it packed?"),
        );
    }
    let mut lines = Vec::new();
    for (stock, status, q) in ctx.view.stock_at(&Place::Container(id.clone())) {
        if status == StockStatus::Available && q > Dec::ZERO {
            lines.push(PackLine {
                stock,
                qty: qty(q)?,
            });
        }
    }
    if lines.is_empty() {
        for l in &record.spec.lines {
            lines.push(PackLine {
                stock: l.stock(),
                qty: l.qty,
            });
        }
    }
    if lines.is_empty() {
        return err(
            ErrorCode::TaskInvalid,
            format!("Carton {id} is empty on the book: pack it first"),
        );
    }
    ctx.out.events.push(EventBody::Ship {
        container: id.clone(),
        order: s.order.clone(),
        sscc: sscc_of(&id),
        lines,
    });
    for i in 0..record.spec.lines.len() {
        let left = record.remaining(i);
        let _ = record.add_done(i, left, true);
    }
    ctx.out.finished = true;
    Ok(())
}

pub(crate) fn prompt(record: &TaskRecord, s: &State) -> (String, Expect) {
    let _ = record;
    (
        format!(
            "Load carton {} (order {}) and scan its label",
            s.carton, s.order
        ),
        Expect::scan(ExpectScan::Label),
    )
}

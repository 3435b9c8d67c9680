//! Approval before effect. A node's adjustment or count variance is a fact and is applied to
//! the books; when its value is above the approval threshold it is `pending_approval` and its
//! gain is held back from availability (allocation cannot promise it) until an approver
//! decides. A loss is not held: those units are not there to promise.
//!
//! - Approve: the hold ends, the node is told, the exception is resolved, all audited.
//! - Reject: the node is asked to book the opposite change (`ReverseAdjustment`), a count of the
//!   line is raised, the exception is resolved as rejected; the hold stays until the reversal
//!   arrives from the node (`adjust` with reason `adjustment_reversed`), which ends it and marks
//!   the adjustment `reversed`.
//!
//! The decision is final: a later change of the item's unit value never re-reviews it.

use crate::audit;
use crate::command::Reply;
use crate::downlink;
use crate::engine::Cx;
use crate::error::{internal, EngineResult, Rejection};
use crate::exceptions;
use crate::records::StoredAdjustment;
use crate::repo::Counter;
use crate::tasks;
use stockpost_common::domain::{
    Dec, DocRef, Event, EventBody, Place, ReasonCode, StockRef, StockStatus,
};
use stockpost_common::orders::{
    approve, reject, review, Actor, AdjustmentStatus, ApprovalError, AuditValue,
};
use stockpost_common::wire::DownlinkItem;

/// The hub's reference of adjustment `id` (what the node's reversal names).
pub fn reference(id: u64) -> Result<DocRef, stockpost_common::domain::IdError> {
    DocRef::new(format!("ADJ-{id}"))
}

/// The adjustment id a reference names.
pub fn id_of(reference: &DocRef) -> Option<u64> {
    reference.as_str().strip_prefix("ADJ-")?.parse().ok()
}

/// Where the change was booked, what and in which status, as the source event says.
fn booked(event: &Event) -> Option<(Place, StockRef, StockStatus)> {
    match &event.body {
        EventBody::Adjust {
            place,
            stock,
            status,
            ..
        } => Some((place.clone(), stock.clone(), *status)),
        EventBody::CountResult {
            location,
            stock,
            status,
            ..
        } => Some((Place::Location(location.clone()), stock.clone(), *status)),
        _ => None,
    }
}

/// A node's adjust event or count result.
pub(crate) fn after_event(cx: &mut Cx<'_>, event: &Event) -> EngineResult<()> {
    if let EventBody::Adjust {
        reason: ReasonCode::AdjustmentReversed,
        adjustment,
        ..
    } = &event.body
    {
        return reversal_arrived(cx, adjustment.as_ref());
    }
    let sku = match &event.body {
        EventBody::Adjust { stock, .. } => stock.sku.clone(),
        EventBody::CountResult {
            stock,
            counted,
            expected,
            ..
        } if counted != expected => stock.sku.clone(),
        _ => return Ok(()),
    };
    let unit_value = cx.uow.items().get(&sku)?.map_or(Dec::ONE, |i| i.unit_value);
    let r = match review(event, unit_value, &cx.st.settings.policy) {
        Ok(r) => r,
        Err(e) => {
            cx.notice(format!("adjustment not reviewed: {e}"));
            return Ok(());
        }
    };
    let exception = match &r.exception {
        Some(e) => Some(exceptions::register(cx, e)?),
        None => None,
    };
    audit::append(cx, r.audit.clone())?;
    let id = cx.uow.next_id(Counter::Adjustment)?;
    if r.adjustment.status == AdjustmentStatus::PendingApproval {
        hold(cx, id, event, r.adjustment.delta);
    }
    cx.uow.adjustments().put(
        id,
        StoredAdjustment {
            adjustment: r.adjustment,
            exception,
        },
    )?;
    Ok(())
}

/// Holds a pending gain back from availability when it counts towards it.
fn hold(cx: &mut Cx<'_>, id: u64, event: &Event, delta: Dec) {
    if delta.is_negative() || delta.is_zero() {
        return;
    }
    let Some((place, stock, status)) = booked(event) else {
        return;
    };
    let pickable = status == StockStatus::Available
        && match &place {
            Place::Location(code) => cx
                .uow
                .stock_view()
                .location(&event.id.node, code)
                .is_some_and(|i| i.pickable),
            Place::Container(_) => false,
        };
    if pickable {
        cx.uow.stock().hold(&event.id.node, &stock.sku, id, delta);
    }
}

/// The node booked the reversal of a rejected adjustment.
fn reversal_arrived(cx: &mut Cx<'_>, reference: Option<&DocRef>) -> EngineResult<()> {
    let Some(id) = reference.and_then(id_of) else {
        cx.notice("a reversal without an adjustment reference arrived".into());
        return Ok(());
    };
    let Some(stored) = cx.uow.adjustments().get(&id)? else {
        cx.notice(format!("a reversal of unknown adjustment {id} arrived"));
        return Ok(());
    };
    let mut s = (*stored).clone();
    if s.adjustment.status != AdjustmentStatus::Rejected {
        return Ok(());
    }
    cx.uow
        .stock()
        .unhold(&s.adjustment.node, &s.adjustment.sku, id);
    s.adjustment.status = AdjustmentStatus::Reversed;
    audit::record(
        cx,
        &format!("node:{}", s.adjustment.node),
        "adjustment.reverse",
        format!("adjustment:{id}"),
        AuditValue::text("rejected"),
        AuditValue::text("reversed"),
    )?;
    cx.uow.adjustments().put(id, s)?;
    Ok(())
}

fn refusal(e: ApprovalError) -> Rejection {
    match e {
        ApprovalError::Forbidden { .. } | ApprovalError::SelfApproval(_) => {
            Rejection::forbidden(e.to_string())
        }
        _ => Rejection::conflict("not_pending", e.to_string()),
    }
}

/// `POST /adjustments/{id}/approve` and `/reject`.
pub(crate) fn decide(
    cx: &mut Cx<'_>,
    id: u64,
    approve_it: bool,
    actor: &Actor,
) -> EngineResult<Reply> {
    let stored = cx
        .uow
        .adjustments()
        .get(&id)?
        .ok_or_else(|| Rejection::not_found(format!("adjustment {id} does not exist")))?;
    let mut s = (*stored).clone();
    let adj = &mut s.adjustment;
    let (entry, count) = if approve_it {
        (approve(adj, actor, cx.now.wall).map_err(refusal)?, None)
    } else {
        reject(adj, actor, cx.now.wall).map_err(refusal)?
    };
    audit::append(cx, entry)?;
    if let Some(ex) = s.exception {
        let note = if approve_it { "approved" } else { "rejected" };
        exceptions::close_by(cx, ex, &actor.name, note)?;
    }
    let node = s.adjustment.node.clone();
    let doc = match &s.adjustment.doc {
        Some(d) => d.clone(),
        None => reference(id).map_err(internal)?,
    };
    if approve_it {
        cx.uow.stock().unhold(&node, &s.adjustment.sku, id);
        downlink::enqueue(
            cx,
            &node,
            vec![DownlinkItem::AdjustmentApproved { adjustment: doc }],
        )?;
    } else {
        let reversal = reversal_item(cx, id, &s)?;
        downlink::enqueue(cx, &node, vec![reversal])?;
    }
    if let Some(c) = count {
        tasks::counts(cx, vec![c])?;
    }
    cx.uow.adjustments().put(id, s.clone())?;
    Ok(Reply::Adjustment(id, s))
}

/// The downlink item asking the node to book the opposite of adjustment `id`.
fn reversal_item(cx: &mut Cx<'_>, id: u64, s: &StoredAdjustment) -> EngineResult<DownlinkItem> {
    let source = &s.adjustment.source;
    let event = cx
        .uow
        .events(&source.node, source.seq.saturating_sub(1), 1)?
        .into_iter()
        .find(|e| e.event.id.seq == source.seq)
        .ok_or_else(|| {
            internal(format!(
                "the source event of adjustment {id} is not in the log"
            ))
        })?;
    let (place, stock, status) = booked(&event.event).ok_or_else(|| {
        internal(format!(
            "the source event of adjustment {id} is not an adjustment"
        ))
    })?;
    Ok(DownlinkItem::ReverseAdjustment {
        adjustment: reference(id).map_err(internal)?,
        place,
        stock,
        status,
        delta: s.adjustment.delta,
    })
}

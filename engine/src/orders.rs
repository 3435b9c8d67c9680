//! Orders: created and allocated against available stock (reservations), released as pick
//! tasks, cancelled; node facts move them on (the authority rules of `stockpost_common::orders`
//! with their corrective tasks); the tick retries backorders, releases and flags late orders.

use crate::audit;
use crate::catalog;
use crate::command::Reply;
use crate::engine::Cx;
use crate::error::{EngineResult, Rejection};
use crate::exceptions;
use crate::tasks;
use stockpost_common::domain::{Event, NodeId, OrderRef};
use stockpost_common::ledger::Applied;
use stockpost_common::orders::{
    allocate, assess, cancel as cancel_order, check_late, release, status_name, Actor, AuditEntry,
    AuditValue, AuthorityContext, NewOrder, NodeFact, Order,
};
use stockpost_common::wire::DownlinkItem;

fn get(cx: &mut Cx<'_>, r: &OrderRef) -> EngineResult<Order> {
    cx.uow
        .orders()
        .get(r)?
        .map(|o| (*o).clone())
        .ok_or_else(|| Rejection::not_found(format!("order {r} does not exist")).into())
}

/// Stores `order` and registers its exceptions.
fn save(cx: &mut Cx<'_>, order: Order) -> EngineResult<()> {
    for e in &order.exceptions {
        exceptions::register(cx, e)?;
    }
    cx.uow.orders().put(order.order_ref.clone(), order)?;
    Ok(())
}

/// `POST /orders`: validated, allocated, stored.
pub(crate) fn create(cx: &mut Cx<'_>, new: &NewOrder, actor: &Actor) -> EngineResult<Reply> {
    let known: std::collections::BTreeSet<_> = new
        .lines
        .iter()
        .filter_map(|l| stockpost_common::domain::Sku::new(l.sku.clone()).ok())
        .collect();
    let mut items = std::collections::BTreeSet::new();
    for sku in known {
        if cx.uow.items().get(&sku)?.is_some() {
            items.insert(sku);
        }
    }
    let mut order = Order::accept(new, |s| items.contains(s), cx.now.wall)
        .map_err(|e| Rejection::invalid(e.to_string()))?;
    if cx.uow.orders().get(&order.order_ref)?.is_some() {
        return Err(Rejection::conflict(
            "duplicate_order",
            format!("order {} exists already; use another ref", order.order_ref),
        )
        .into());
    }
    let infos = catalog::node_infos(cx)?;
    allocate(&mut order, cx.uow.stock(), &infos, cx.now.wall)
        .map_err(|e| Rejection::conflict("illegal_transition", e.to_string()))?;
    audit::record(
        cx,
        &actor.name,
        "order.create",
        format!("order:{}", order.order_ref),
        AuditValue::Null,
        AuditValue::text(status_name(order.status)),
    )?;
    save(cx, order.clone())?;
    Ok(Reply::Order(Box::new(order)))
}

/// `POST /orders/{ref}/cancel`: releases its reservations, withdraws its pick tasks, tells
/// its nodes, and plans put-backs for picked stock.
pub(crate) fn cancel(cx: &mut Cx<'_>, r: &OrderRef, actor: &Actor) -> EngineResult<Reply> {
    let mut order = get(cx, r)?;
    let before = order.status;
    let nodes: Vec<NodeId> = order.allocations.keys().cloned().collect();
    let outcome = cancel_order(&mut order, cx.uow.stock(), cx.now.wall)
        .map_err(|e| Rejection::conflict("illegal_transition", e.to_string()))?;
    save(cx, order)?;
    audit::record(
        cx,
        &actor.name,
        "order.cancel",
        format!("order:{r}"),
        AuditValue::text(status_name(before)),
        AuditValue::text("cancelled"),
    )?;
    tasks::withdraw_picks(cx, r)?;
    for node in &nodes {
        crate::downlink::enqueue(cx, node, vec![DownlinkItem::Cancel { order: r.clone() }])?;
    }
    let put_back_tasks = outcome.put_back.len();
    tasks::put_backs(cx, outcome.put_back)?;
    Ok(Reply::Cancelled {
        order: r.clone(),
        put_back_tasks,
        released: outcome.released,
    })
}

/// Releases what is allocated and not yet released as pick tasks.
pub(crate) fn release_order(cx: &mut Cx<'_>, r: &OrderRef, actor: &str) -> EngineResult<Reply> {
    let mut order = get(cx, r)?;
    let before = order.status;
    let plans = release(&mut order)
        .map_err(|e| Rejection::conflict("illegal_transition", e.to_string()))?;
    let after = order.status;
    save(cx, order)?;
    if before != after {
        audit::record(
            cx,
            actor,
            "order.release",
            format!("order:{r}"),
            AuditValue::text(status_name(before)),
            AuditValue::text(status_name(after)),
        )?;
    }
    let n = plans.len();
    tasks::picks(cx, plans)?;
    Ok(Reply::Released {
        order: r.clone(),
        status: after,
        tasks: n,
    })
}

/// The authority rules for a node fact (the order it names, exceptions, corrective tasks).
pub(crate) fn after_event(cx: &mut Cx<'_>, event: &Event, applied: &Applied) -> EngineResult<()> {
    let named = NodeFact::of(&event.body).map(|(r, _)| r.clone());
    // The node list is read only by the order rules (re-allocation): not for every event.
    let infos = match named {
        Some(_) => catalog::node_infos(cx)?,
        None => Vec::new(),
    };
    let mut order = match &named {
        Some(r) => cx.uow.orders().get(r)?.map(|o| (*o).clone()),
        None => None,
    };
    let ctx = AuthorityContext {
        nodes: &infos,
        weight: cx.st.settings.weight,
    };
    let assessment = assess(event, applied, order.as_mut(), cx.uow.stock(), &ctx);
    for e in &assessment.errors {
        cx.notice(format!(
            "order rule for {} seq {}: {e}",
            event.id.node, event.id.seq
        ));
    }
    if let Some(order) = order {
        save(cx, order)?;
    }
    let actor = event
        .operator
        .as_ref()
        .map(|o| o.to_string())
        .unwrap_or_else(|| format!("node:{}", event.id.node));
    for progress in &assessment.progress {
        audit::append(cx, AuditEntry::order_status(progress, &actor, event.at_ms))?;
    }
    for e in &assessment.exceptions {
        exceptions::register(cx, e)?;
    }
    tasks::counts(cx, assessment.counts)?;
    tasks::put_backs(cx, assessment.put_backs)?;
    tasks::picks(cx, assessment.picks)?;
    Ok(())
}

/// Timer work: retry backorders when stock arrived, release allocated orders, flag late ones.
pub(crate) fn tick(cx: &mut Cx<'_>) -> EngineResult<()> {
    let open = cx.uow.open_orders()?;
    if std::mem::take(&mut cx.st.stock_arrived) {
        retry_backorders(cx, &open)?;
    }
    for r in &open {
        let Some(order) = cx.uow.orders().get(r)? else {
            continue;
        };
        let releasable = cx.st.settings.auto_release
            && order
                .allocations
                .values()
                .flat_map(|m| m.values())
                .any(|l| l.allocated > l.released);
        if releasable {
            // A refusal must never stop the timer, which runs in the same round as node facts.
            let mark = cx.uow.mark();
            match release_order(cx, r, "hub") {
                Ok(_) => {}
                Err(crate::EngineError::Rejected(e)) => {
                    cx.uow.rollback_to(&mark);
                    cx.notice(format!("order {r} not released: {e}"));
                }
                Err(e) => return Err(e),
            }
        }
        let order = get(cx, r)?;
        if !order.is_closed() && cx.now.wall > order.ship_by_ms {
            let mut order = order;
            if check_late(&mut order, cx.now.wall).is_some() {
                save(cx, order)?;
            }
        }
    }
    Ok(())
}

fn retry_backorders(cx: &mut Cx<'_>, open: &[OrderRef]) -> EngineResult<()> {
    let infos = catalog::node_infos(cx)?;
    let mut waiting: Vec<(i64, OrderRef)> = Vec::new();
    for r in open {
        if let Some(o) = cx.uow.orders().get(r)? {
            if !o.is_closed() && !o.unallocated().is_empty() {
                waiting.push((o.received_at_ms, r.clone()));
            }
        }
    }
    waiting.sort();
    for (_, r) in waiting {
        let mut order = get(cx, &r)?;
        match allocate(&mut order, cx.uow.stock(), &infos, cx.now.wall) {
            Ok(result) if !result.reserved.is_empty() => save(cx, order)?,
            Ok(_) => {}
            Err(e) => cx.notice(format!("backorder retry of {r}: {e}")),
        }
    }
    Ok(())
}

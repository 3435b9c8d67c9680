//! What the hub does with a node fact it has just applied to the stock (system.md §6): the
//! order rules and their corrective tasks, approval of adjustments, documents, the node's task
//! reports, the KPI window and webhooks. Everything lands in the same unit of work as the
//! event, so it is committed with it or not at all.

use crate::engine::Cx;
use crate::error::EngineResult;
use crate::records::WebhookEvent;
use crate::{adjustments, documents, kpi, orders, tasks, webhooks};
use std::collections::BTreeSet;
use stockpost_common::domain::{Event, EventBody, Sku};
use stockpost_common::ledger::Applied;

/// Applies the rules to `event`, applied to the stock with the outcome `applied`.
pub(crate) fn after_event(cx: &mut Cx<'_>, event: &Event, applied: &Applied) -> EngineResult<()> {
    orders::after_event(cx, event, applied)?;
    match &event.body {
        EventBody::Adjust { .. } | EventBody::CountResult { .. } => {
            adjustments::after_event(cx, event)?
        }
        EventBody::Receive { .. } | EventBody::ReturnReceive { .. } => {
            documents::after_event(cx, event)?
        }
        EventBody::TaskDefined { .. } | EventBody::TaskProgress { .. } => {
            tasks::after_report(cx, event)?
        }
        _ => {}
    }
    kpi::after_event(cx, event)?;
    if adds_stock(&event.body) {
        // Backordered orders may be allocated on the next tick.
        cx.st.stock_arrived = true;
    }
    if webhooks::enabled(cx) {
        stage_webhooks(cx, event, applied)?;
    }
    Ok(())
}

fn stage_webhooks(cx: &mut Cx<'_>, event: &Event, applied: &Applied) -> EngineResult<()> {
    if let EventBody::Ship { .. } = &event.body {
        webhooks::stage(
            cx,
            WebhookEvent::ShipmentConfirmed {
                event: event.clone(),
            },
        )?;
    }
    let skus: BTreeSet<&Sku> = applied.changes.iter().map(|c| &c.key.stock.sku).collect();
    let node = &event.id.node;
    for sku in skus {
        let stock = cx.uow.stock_view();
        let changed = WebhookEvent::InventoryChanged {
            node: node.clone(),
            sku: sku.clone(),
            source: event.id.clone(),
            kind: event.body.kind().to_string(),
            on_hand: stock.on_hand(node, sku),
            reserved: stock.reserved(node, sku),
            available: stock.available(node, sku),
        };
        webhooks::stage(cx, changed)?;
    }
    Ok(())
}

/// Events that can make stock available somewhere.
fn adds_stock(body: &EventBody) -> bool {
    matches!(
        body,
        EventBody::Receive { .. }
            | EventBody::ReturnReceive { .. }
            | EventBody::TransferIn { .. }
            | EventBody::Adjust { .. }
            | EventBody::CountResult { .. }
            | EventBody::Disposition { .. }
            | EventBody::StatusChange { .. }
            | EventBody::Move { .. }
    )
}

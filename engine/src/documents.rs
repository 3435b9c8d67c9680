//! Inbound notices (expected receipts) and return authorisations: created by ops with a task
//! for the receiving node; node receipts count against them. A receipt against a notice that is
//! closed (its task finished) or already received in full, or beyond what it still expects,
//! raises `over_receipt` (the receipt is a fact and stays applied).

use crate::audit;
use crate::command::Reply;
use crate::engine::Cx;
use crate::error::{EngineResult, Rejection};
use crate::exceptions;
use crate::records::{DocLine, DocRecord};
use crate::tasks;
use std::collections::BTreeMap;
use stockpost_common::domain::{Dec, DocRef, Event, EventBody, ExceptionCode, NodeId, OrderRef};
use stockpost_common::orders::{Actor, AuditValue, Exception};
use stockpost_common::tasks::{TaskKind, TaskLine};

/// A document to create.
#[derive(Debug, Clone)]
pub(crate) struct NewDoc {
    is_return: bool,
    node: NodeId,
    doc: DocRef,
    order: Option<OrderRef>,
    lines: Vec<DocLine>,
}

impl NewDoc {
    /// An inbound notice.
    pub(crate) fn inbound(node: NodeId, doc: DocRef, lines: Vec<DocLine>) -> Self {
        Self {
            is_return: false,
            node,
            doc,
            order: None,
            lines,
        }
    }

    /// A return authorisation.
    pub(crate) fn rma(
        node: NodeId,
        doc: DocRef,
        order: Option<OrderRef>,
        lines: Vec<DocLine>,
    ) -> Self {
        Self {
            is_return: true,
            node,
            doc,
            order,
            lines,
        }
    }
}

fn table<'a>(
    cx: &'a mut Cx<'_>,
    is_return: bool,
) -> &'a mut dyn crate::repo::Table<DocRef, DocRecord> {
    if is_return {
        cx.uow.returns()
    } else {
        cx.uow.inbound()
    }
}

fn check(cx: &mut Cx<'_>, d: &NewDoc) -> EngineResult<()> {
    if table(cx, d.is_return).get(&d.doc)?.is_some() {
        return Err(
            Rejection::conflict("duplicate_document", format!("{} exists already", d.doc)).into(),
        );
    }
    if cx.uow.nodes().get(&d.node)?.is_none() {
        return Err(Rejection::not_found(format!(
            "node {} is not registered; PUT /api/v1/nodes/{} first",
            d.node, d.node
        ))
        .into());
    }
    for (i, l) in d.lines.iter().enumerate() {
        if cx.uow.items().get(&l.sku)?.is_none() {
            return Err(Rejection::invalid(format!(
                "lines[{i}].sku: {} is not a known item",
                l.sku
            ))
            .into());
        }
    }
    if let Some(o) = &d.order {
        if cx.uow.orders().get(o)?.is_none() {
            return Err(Rejection::invalid(format!("order_ref: order {o} does not exist")).into());
        }
    }
    Ok(())
}

/// `POST /nodes/{node}/inbound` and `POST /returns`.
pub(crate) fn create(cx: &mut Cx<'_>, d: NewDoc, actor: &Actor) -> EngineResult<Reply> {
    check(cx, &d)?;
    let kind = if d.is_return {
        TaskKind::Return
    } else {
        TaskKind::Receive
    };
    let mut spec = tasks::new_spec(cx, kind)?;
    spec.doc = Some(d.doc.clone());
    spec.order = d.order.clone();
    spec.priority = 3;
    spec.lines = d
        .lines
        .iter()
        .map(|l| TaskLine {
            sku: l.sku.clone(),
            qty: l.qty,
            location: None,
            to: None,
            lot: l.lot.clone(),
            serial: None,
            expiry: l.expiry,
        })
        .collect();
    let record = DocRecord {
        doc: d.doc.clone(),
        node: d.node.clone(),
        order: d.order,
        lines: d.lines,
        received: BTreeMap::new(),
        task: spec.id.clone(),
        created_ms: cx.now.wall,
    };
    tasks::send(cx, &d.node, spec)?;
    table(cx, d.is_return).put(d.doc.clone(), record.clone())?;
    let name = if d.is_return { "returns" } else { "inbound" };
    audit::record(
        cx,
        &actor.name,
        &format!("{name}.create"),
        format!("{name}:{}", d.doc),
        AuditValue::Null,
        AuditValue::text(record.task.to_string()),
    )?;
    Ok(Reply::Document {
        record,
        is_return: d.is_return,
    })
}

/// A receipt or a return receipt: counts against its document.
pub(crate) fn after_event(cx: &mut Cx<'_>, event: &Event) -> EngineResult<()> {
    let (doc, sku, qty, is_return) = match &event.body {
        EventBody::Receive {
            inbound: Some(doc),
            stock,
            qty,
            ..
        } => (doc, &stock.sku, qty.get(), false),
        EventBody::ReturnReceive {
            rma, stock, qty, ..
        } => (rma, &stock.sku, qty.get(), true),
        _ => return Ok(()),
    };
    let Some(record) = table(cx, is_return).get(doc)? else {
        return Ok(());
    };
    let closed = match cx.uow.tasks().get(&record.task)? {
        Some(t) => !t.is_open(),
        None => false,
    };
    let outstanding = record.outstanding(sku);
    if !is_return && (closed || record.is_complete() || qty > outstanding) {
        let why = if closed || record.is_complete() {
            format!("inbound notice {doc} is closed or received in full")
        } else {
            format!("inbound notice {doc} expected only {outstanding} more of {sku}")
        };
        let e = Exception::new(
            ExceptionCode::OverReceipt,
            format!(
                "{qty} of {sku} received on {} against {doc}: {why}; count the receiving location",
                event.id.node
            ),
            event.at_ms,
        )
        .from_event(&event.id)
        .at_node(&event.id.node)
        .for_sku(sku);
        exceptions::register(cx, &e)?;
    }
    let mut r = (*record).clone();
    let slot = r.received.entry(sku.clone()).or_insert(Dec::ZERO);
    *slot = slot.checked_add(qty).unwrap_or(*slot);
    table(cx, is_return).put(doc.clone(), r)?;
    Ok(())
}

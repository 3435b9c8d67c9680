//! The per-node downlink: items (tasks, master data, cancellations, approvals, reversals) are
//! numbered and stored in the unit of work that produced them, sent after the commit by the
//! node's sans-IO `Sender`, resent until the node acks them, and pruned on its ack.
//!
//! A node's items wait while it is away; an API change that would queue more than
//! `downlink.max_pending` items for one node is refused (a node fact is never refused: its
//! corrective tasks are always queued, so a full downlink never stalls an event stream).

use crate::engine::{Cx, Effect};
use crate::error::{internal, EngineResult, Rejection};
use crate::records::DownlinkMarks;
use stockpost_common::domain::NodeId;
use stockpost_common::sync::Sender;
use stockpost_common::wire::DownlinkItem;

fn marks(cx: &mut Cx<'_>, node: &NodeId) -> EngineResult<DownlinkMarks> {
    Ok(cx
        .uow
        .downlink_marks()
        .get(node)?
        .map(|m| *m)
        .unwrap_or_default())
}

/// Appends `items` to `node`'s downlink.
pub(crate) fn enqueue(
    cx: &mut Cx<'_>,
    node: &NodeId,
    items: Vec<DownlinkItem>,
) -> EngineResult<()> {
    if items.is_empty() {
        return Ok(());
    }
    let mut m = marks(cx, node)?;
    let max = cx.st.settings.max_pending;
    if cx.st.api && m.pending() + items.len() as u64 > max {
        return Err(Rejection::busy(format!(
            "node {node} already has {} downlink items waiting (limit {max}); try again when it has caught up",
            m.pending()
        ))
        .into());
    }
    for item in items {
        m.head += 1;
        cx.uow.downlink_items().put((node.clone(), m.head), item)?;
    }
    cx.uow.downlink_marks().put(node.clone(), m)?;
    cx.st.round.downlink.insert(node.clone());
    Ok(())
}

/// Makes sure `node` has downlink marks (a registered node with nothing sent yet).
pub(crate) fn open(cx: &mut Cx<'_>, node: &NodeId) -> EngineResult<()> {
    if cx.uow.downlink_marks().get(node)?.is_none() {
        cx.uow
            .downlink_marks()
            .put(node.clone(), DownlinkMarks::default())?;
    }
    Ok(())
}

fn sender<'a>(cx: &'a mut Cx<'_>, node: &NodeId) -> EngineResult<&'a mut Sender> {
    if !cx.st.senders.contains_key(node) {
        let m = marks(cx, node)?;
        let mut s = Sender::new(cx.st.settings.sender, m.acked, m.head);
        if cx.st.live.link_up {
            s.connected(cx.now.mono);
        }
        cx.st.senders.insert(node.clone(), s);
    }
    cx.st
        .senders
        .get_mut(node)
        .ok_or_else(|| internal("the downlink sender vanished"))
}

/// `node` acked its downlink up to `seq`: the acked items leave the books.
pub(crate) fn ack(cx: &mut Cx<'_>, node: &NodeId, seq: u64) -> EngineResult<()> {
    let mut m = marks(cx, node)?;
    let now = cx.now.mono;
    let s = sender(cx, node)?;
    if let Err(e) = s.on_ack(seq, now) {
        cx.notice(format!("bad downlink ack from {node}: {e}"));
        return Ok(());
    }
    let Some(to) = s.take_prune() else {
        return Ok(());
    };
    for n in (m.acked + 1)..=to {
        cx.uow.downlink_items().remove(&(node.clone(), n))?;
    }
    m.acked = to;
    cx.uow.downlink_marks().put(node.clone(), m)?;
    cx.st.round.downlink.insert(node.clone());
    Ok(())
}

/// After the commit: the sender learns how far `node`'s downlink was produced.
pub(crate) fn produced(cx: &mut Cx<'_>, node: &NodeId) -> EngineResult<()> {
    let head = marks(cx, node)?.head;
    sender(cx, node)?.produced(head);
    Ok(())
}

/// The broker link went up or down.
pub(crate) fn link(cx: &mut Cx<'_>, up: bool) {
    let now = cx.now.mono;
    for s in cx.st.senders.values_mut() {
        if up {
            s.connected(now);
        } else {
            s.disconnected();
        }
    }
}

/// Downlink messages due now (first sends and resends after the ack timeout).
pub(crate) fn poll(cx: &mut Cx<'_>) -> EngineResult<Vec<Effect>> {
    let now = cx.now.mono;
    let nodes: Vec<NodeId> = cx.st.senders.keys().cloned().collect();
    let mut out = Vec::new();
    for node in nodes {
        let mut ranges = Vec::new();
        if let Some(s) = cx.st.senders.get_mut(&node) {
            s.handle_timeout(now);
            while let Some(range) = s.poll_transmit(now) {
                ranges.push(range);
            }
        }
        for range in ranges {
            let mut items = Vec::new();
            for n in range.first..=range.last {
                match cx.uow.downlink_items().get(&(node.clone(), n))? {
                    Some(item) => items.push((*item).clone()),
                    None => {
                        return Err(internal(format!(
                            "downlink item {n} of {node} is missing from the books"
                        )))
                    }
                }
            }
            out.push(Effect::Downlink {
                node: node.clone(),
                first_seq: range.first,
                items,
            });
        }
    }
    Ok(out)
}

/// Every node with downlink marks (registered nodes), for starting their senders.
pub(crate) fn start_all(cx: &mut Cx<'_>) -> EngineResult<()> {
    let mut after: Option<NodeId> = None;
    loop {
        let page = cx.uow.downlink_marks().scan(after.as_ref(), 1_000)?;
        let Some(last) = page.last().map(|(n, _)| n.clone()) else {
            return Ok(());
        };
        for (node, _) in page {
            sender(cx, &node)?;
        }
        after = Some(last);
    }
}

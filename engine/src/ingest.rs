//! A node's event batch: strictly in sequence, exactly once, only from registered nodes.
//!
//! The node's receiver (`stockpost_common::sync::Receiver`) says what part of the batch is new;
//! a part at or below what is applied must be the very events applied before (a node that
//! numbers different events with used sequence numbers raises `sequence_reused` and none of
//! them is applied). Each new event is applied to the stock and then to the rules
//! ([`crate::rules`]); an event the ledger refuses is quarantined and its sequence passed, so
//! one bad event never blocks a stream. Acks go out only after the round's commit.

use crate::engine::{touch_live, Cx};
use crate::error::{internal, EngineResult};
use crate::records::StoredEvent;
use crate::{exceptions, quarantine, rules};
use std::collections::BTreeMap;
use stockpost_common::domain::{Event, EventId, NodeId};
use stockpost_common::ledger::ApplyError;
use stockpost_common::sync::{BatchVerdict, Receiver};

/// Applies what is new in `events` (contiguous, from `events[0].id.seq`) of `node`.
pub(crate) fn batch(cx: &mut Cx<'_>, node: &NodeId, events: Vec<Event>) -> EngineResult<()> {
    let Some(first) = events.first().map(|e| e.id.seq) else {
        return Ok(());
    };
    let last = first + events.len() as u64 - 1;
    if cx.uow.nodes().get(node)?.is_none() {
        return quarantine::unknown_node(cx, node, first);
    }
    touch_live(cx, node);
    let applied = cx.uow.stock_view().applied_seq(node);
    let receiver = cx.st.settings.receiver;
    cx.st
        .receivers
        .entry(node.clone())
        .or_insert_with(|| Receiver::new(receiver, applied));
    cx.st.round.uplink.insert(node.clone());
    if first <= applied {
        check_reuse(cx, node, &events, applied)?;
    }
    let verdict = match cx.st.receivers.get_mut(node) {
        Some(r) => r.on_batch(first, last, cx.now.mono),
        None => return Err(internal("the receiver vanished")),
    };
    let (from, last) = match verdict {
        BatchVerdict::Apply { from, last } => (from, last),
        BatchVerdict::Duplicate => {
            cx.st.live.stats.duplicate_batches += 1;
            return Ok(());
        }
        BatchVerdict::Gap { .. } => {
            cx.st.live.stats.gap_batches += 1;
            return Ok(());
        }
    };
    let skip = usize::try_from(from - first).map_err(internal)?;
    for event in events.into_iter().skip(skip) {
        apply_one(cx, node, event)?;
    }
    cx.st.round.committed_to.insert(node.clone(), last);
    Ok(())
}

fn apply_one(cx: &mut Cx<'_>, node: &NodeId, event: Event) -> EngineResult<()> {
    match cx.uow.stock().apply(&event) {
        Ok(applied) => {
            if let Some(live) = cx.st.live.nodes.get_mut(node) {
                live.last_event_at_ms = Some(event.at_ms);
            }
            rules::after_event(cx, &event, &applied)?;
            cx.st.live.stats.events_applied += 1;
            cx.uow.append_event(StoredEvent {
                event,
                received_at_ms: cx.now.wall,
            })?;
            Ok(())
        }
        Err(ApplyError::Invalid { source, .. }) => {
            // A fact we cannot apply: keep it for ops and move the stream on.
            step_over(cx, &event, source.to_string())
        }
        Err(ApplyError::Overflow { .. }) => step_over(
            cx,
            &event,
            "a balance would leave the representable range".into(),
        ),
        Err(e @ (ApplyError::Duplicate { .. } | ApplyError::Gap { .. })) => {
            // The receiver let through only the next sequence: this is a broken invariant.
            Err(internal(format!("ledger and receiver disagree: {e}")))
        }
    }
}

fn step_over(cx: &mut Cx<'_>, event: &Event, reason: String) -> EngineResult<()> {
    let id = EventId {
        node: event.id.node.clone(),
        seq: event.id.seq,
    };
    cx.uow.stock().mark_quarantined(&id).map_err(internal)?;
    quarantine::invalid_event(cx, event, reason)
}

/// Raises `sequence_reused` when events under already applied numbers differ from the stored
/// ones.
fn check_reuse(cx: &mut Cx<'_>, node: &NodeId, events: &[Event], applied: u64) -> EngineResult<()> {
    let first = events.first().map_or(1, |e| e.id.seq);
    let last = first + events.len() as u64 - 1;
    let overlap_end = last.min(applied);
    let count = usize::try_from(overlap_end - first + 1).map_err(internal)?;
    let stored: BTreeMap<u64, Event> = cx
        .uow
        .events(node, first - 1, count)?
        .into_iter()
        .map(|s| (s.event.id.seq, s.event))
        .filter(|(seq, _)| *seq <= overlap_end)
        .collect();
    if let Some((from, to)) = reused_range(&stored, events) {
        let at = events
            .iter()
            .find(|e| e.id.seq == from)
            .map_or(cx.now.wall, |e| e.at_ms);
        cx.st.live.stats.sequence_reused_batches += 1;
        cx.notice(format!(
            "node {node} reused sequence numbers {from}..={to} with different events"
        ));
        exceptions::raise_sequence_reused(cx, node, from, to, at)?;
    }
    Ok(())
}

/// The first and last sequence of `incoming` whose event differs from the one stored under the
/// same sequence. Sequences with nothing stored (quarantined events) are not judged.
pub fn reused_range(stored: &BTreeMap<u64, Event>, incoming: &[Event]) -> Option<(u64, u64)> {
    let mut range: Option<(u64, u64)> = None;
    for event in incoming {
        let seq = event.id.seq;
        if stored.get(&seq).is_some_and(|s| s != event) {
            range = Some(match range {
                None => (seq, seq),
                Some((from, _)) => (from, seq),
            });
        }
    }
    range
}

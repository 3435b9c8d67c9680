//! The quarantine: what could not be used, kept bounded and visible. A record holds the
//! payload's digest and first bytes (never the whole payload), the reason, the node and
//! sequence when known, when it was first and last seen and how often; an identical payload
//! only counts up. At most `per_node` records per node (and for messages that name none) and
//! `total` in all are kept: the oldest is dropped and counted. Each new poison or invalid-event
//! record names a `poison_message` exception: one open exception per node covers all its
//! records until it is resolved (a flood does not flood the exception list); a node that is not registered is
//! quarantined once (every further batch counts up) and raises one `unknown_node` exception.

use crate::engine::Cx;
use crate::error::EngineResult;
use crate::exceptions;
use crate::records::{Digest, QuarantineKind, QuarantineRecord};
use crate::repo::Counter;
use sha2::{Digest as _, Sha256};
use stockpost_common::domain::{Event, ExceptionCode, NodeId};
use stockpost_common::orders::Exception;

/// How many bytes of a payload a record keeps.
pub const HEAD_BYTES: usize = 256;

fn digest(parts: &[&[u8]]) -> Digest {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// What arrived.
struct Arrival {
    kind: QuarantineKind,
    digest: Digest,
    head: Vec<u8>,
    len: u64,
    reason: String,
    node: Option<NodeId>,
    seq: Option<u64>,
}

/// A message that does not decode or breaks the protocol.
pub(crate) fn poison(
    cx: &mut Cx<'_>,
    node: Option<NodeId>,
    seq: Option<u64>,
    reason: String,
    payload: &[u8],
) -> EngineResult<()> {
    let arrival = Arrival {
        kind: QuarantineKind::Poison,
        digest: digest(&[payload]),
        head: payload.iter().take(HEAD_BYTES).copied().collect(),
        len: payload.len() as u64,
        reason,
        node,
        seq,
    };
    record(cx, arrival).map(|_| ())
}

/// A node event the stock refused (its sequence is stepped over).
pub(crate) fn invalid_event(cx: &mut Cx<'_>, event: &Event, reason: String) -> EngineResult<()> {
    let text = format!("{event:?}");
    let arrival = Arrival {
        kind: QuarantineKind::InvalidEvent,
        digest: digest(&[b"event\0", text.as_bytes()]),
        head: text.bytes().take(HEAD_BYTES).collect(),
        len: text.len() as u64,
        reason,
        node: Some(event.id.node.clone()),
        seq: Some(event.id.seq),
    };
    record(cx, arrival).map(|_| ())
}

/// A message from a node that was never registered: not applied, not acked (the node keeps
/// its events and resends them; they are applied once the node is registered and has its
/// credential). `first` is the header's sequence.
pub(crate) fn unknown_node(cx: &mut Cx<'_>, node: &NodeId, first: u64) -> EngineResult<()> {
    cx.st.live.stats.unknown_node_batches += 1;
    let arrival = Arrival {
        kind: QuarantineKind::UnknownNode,
        digest: digest(&[b"unknown_node\0", node.as_str().as_bytes()]),
        head: node.as_str().as_bytes().to_vec(),
        len: 0,
        reason: format!(
            "node {node} is not registered: its message at sequence {first} was not applied \
             (register it with PUT /api/v1/nodes/{node} and give the node its credential; \
             the node resends)"
        ),
        node: Some(node.clone()),
        seq: Some(first),
    };
    record(cx, arrival).map(|_| ())
}

fn record(cx: &mut Cx<'_>, a: Arrival) -> EngineResult<u64> {
    cx.st.live.stats.quarantined += 1;
    if let Some(id) = cx.uow.quarantine_by_digest(&a.digest)? {
        if let Some(existing) = cx.uow.quarantine().get(&id)? {
            let mut r = (*existing).clone();
            r.count = r.count.saturating_add(1);
            r.last_seen_ms = cx.now.wall;
            r.seq = a.seq.or(r.seq);
            cx.uow.quarantine().put(id, r)?;
            return Ok(id);
        }
    }
    make_room(cx, a.node.as_ref())?;
    let id = cx.uow.next_id(Counter::Quarantine)?;
    let exception = match a.kind {
        QuarantineKind::UnknownNode => match &a.node {
            Some(node) => Some(exceptions::raise_incident(
                cx,
                ExceptionCode::UnknownNode,
                node,
                format!(
                    "node {node} sends events but is not registered; none were applied \
                     (quarantine #{id}). Register it with PUT /api/v1/nodes/{node} if it is yours"
                ),
            )?),
            None => None,
        },
        QuarantineKind::Poison | QuarantineKind::InvalidEvent => match &a.node {
            // One open `poison_message` per node covers every record made while it is open,
            // so a flood of garbage cannot flood the exception list as well.
            Some(node) => Some(exceptions::raise_incident(
                cx,
                ExceptionCode::PoisonMessage,
                node,
                format!(
                    "quarantine #{id} ({}): {}; see GET /api/v1/quarantine?node={node} for this \
                     and later records",
                    a.kind.name(),
                    a.reason
                ),
            )?),
            None => Some(exceptions::register(
                cx,
                &Exception::new(
                    ExceptionCode::PoisonMessage,
                    format!(
                        "quarantine #{id} ({}): {}; see GET /api/v1/quarantine",
                        a.kind.name(),
                        a.reason
                    ),
                    cx.now.wall,
                ),
            )?),
        },
    };
    cx.uow.quarantine().put(
        id,
        QuarantineRecord {
            kind: a.kind,
            digest: a.digest,
            head: a.head,
            len: a.len,
            reason: a.reason,
            node: a.node,
            seq: a.seq,
            first_seen_ms: cx.now.wall,
            last_seen_ms: cx.now.wall,
            count: 1,
            exception,
        },
    )?;
    Ok(id)
}

/// Drops the oldest records until one more fits for `node` and in all.
fn make_room(cx: &mut Cx<'_>, node: Option<&NodeId>) -> EngineResult<()> {
    let limits = cx.st.settings.quarantine;
    loop {
        let (count, oldest) = cx.uow.quarantine_oldest(Some(node))?;
        match oldest {
            Some(id) if count >= limits.per_node.max(1) => drop_record(cx, id)?,
            _ => break,
        }
    }
    loop {
        let (count, oldest) = cx.uow.quarantine_oldest(None)?;
        match oldest {
            Some(id) if count >= limits.total.max(1) => drop_record(cx, id)?,
            _ => break,
        }
    }
    Ok(())
}

fn drop_record(cx: &mut Cx<'_>, id: u64) -> EngineResult<()> {
    cx.uow.quarantine().remove(&id)?;
    cx.st.live.stats.quarantine_dropped += 1;
    Ok(())
}

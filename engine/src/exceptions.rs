//! Exceptions: raised by the rules, kept once (raising the same exception again finds it),
//! resolved by ops. Codes raised once per node while open (`sequence_reused`, `unknown_node`)
//! are found by node.

use crate::audit;
use crate::command::Reply;
use crate::engine::Cx;
use crate::error::{EngineResult, Rejection};
use crate::records::{StoredException, WebhookEvent};
use crate::repo::Counter;
use crate::webhooks;
use stockpost_common::domain::{EventId, ExceptionCode, NodeId};
use stockpost_common::orders::{Actor, AuditValue, Exception};

/// Registers `e` (a repeat finds the stored one; a resolved repeat resolves it); returns its
/// id.
pub(crate) fn register(cx: &mut Cx<'_>, e: &Exception) -> EngineResult<u64> {
    if let Some(id) = cx.uow.exception_by_key(e)? {
        if let (Some(at), Some(stored)) = (e.resolved_at_ms, cx.uow.exceptions().get(&id)?) {
            if stored.exception.is_open() {
                let mut s = (*stored).clone();
                s.exception.resolved_at_ms = Some(at);
                cx.uow.exceptions().put(id, s)?;
            }
        }
        return Ok(id);
    }
    let id = cx.uow.next_id(Counter::Exception)?;
    cx.uow.exceptions().put(
        id,
        StoredException {
            exception: e.clone(),
            resolved_by: None,
            note: None,
        },
    )?;
    if e.is_open() && webhooks::enabled(cx) {
        webhooks::stage(
            cx,
            WebhookEvent::ExceptionRaised {
                id,
                exception: e.clone(),
            },
        )?;
    }
    Ok(id)
}

/// `POST /exceptions/{id}/resolve`.
pub(crate) fn resolve(
    cx: &mut Cx<'_>,
    id: u64,
    note: Option<String>,
    actor: &Actor,
) -> EngineResult<Reply> {
    let stored = cx
        .uow
        .exceptions()
        .get(&id)?
        .ok_or_else(|| Rejection::not_found(format!("exception {id} does not exist")))?;
    if !stored.exception.is_open() {
        return Err(Rejection::conflict(
            "already_resolved",
            format!("exception {id} is resolved already"),
        )
        .into());
    }
    let mut s = (*stored).clone();
    close(&mut s, cx.now.wall, &actor.name, note.clone());
    cx.uow.exceptions().put(id, s.clone())?;
    if let Some(r) = &s.exception.order {
        if let Some(order) = cx.uow.orders().get(r)? {
            let mut o = (*order).clone();
            let key = crate::repo::books::exception_key(&s.exception);
            for e in o.exceptions.iter_mut() {
                if crate::repo::books::exception_key(e) == key {
                    e.resolved_at_ms = Some(cx.now.wall);
                }
            }
            cx.uow.orders().put(r.clone(), o)?;
        }
    }
    audit::record(
        cx,
        &actor.name,
        "exception.resolve",
        format!("exception:{id}"),
        AuditValue::text("open"),
        AuditValue::text(format!("resolved: {}", note.unwrap_or_default())),
    )?;
    Ok(Reply::Exception(id, s))
}

/// Marks `s` resolved.
pub(crate) fn close(s: &mut StoredException, at_ms: i64, by: &str, note: Option<String>) {
    s.exception.resolved_at_ms = Some(at_ms);
    s.resolved_by = Some(by.to_string());
    s.note = note;
}

/// Resolves exception `id` on behalf of the hub (an approval decided it), if still open.
pub(crate) fn close_by(cx: &mut Cx<'_>, id: u64, by: &str, note: &str) -> EngineResult<()> {
    if let Some(stored) = cx.uow.exceptions().get(&id)? {
        if stored.exception.is_open() {
            let mut s = (*stored).clone();
            close(&mut s, cx.now.wall, by, Some(note.to_string()));
            cx.uow.exceptions().put(id, s)?;
        }
    }
    Ok(())
}

/// The message of a `sequence_reused` exception.
pub fn sequence_reused_message(node: &NodeId, from: u64, to: u64) -> String {
    format!(
        "node {node} sent different events under sequence numbers {from}..={to} that the hub had \
         applied already: they were NOT applied. Its store was probably wiped and it started \
         again from sequence 1 without a bootstrap; bootstrap it (hub.url with \
         hub.bootstrap = \"required\") and re-enter those steps"
    )
}

fn reused_to(message: &str) -> Option<u64> {
    let rest = message.split_once("..=")?.1;
    rest.split(' ').next()?.parse().ok()
}

/// Raises `sequence_reused` for `node`, sequences `from..=to`: one open exception per node,
/// whose range widens when more reused numbers arrive.
pub(crate) fn raise_sequence_reused(
    cx: &mut Cx<'_>,
    node: &NodeId,
    from: u64,
    to: u64,
    at_ms: i64,
) -> EngineResult<()> {
    let open = cx
        .uow
        .open_incident(ExceptionCode::SequenceReused, node)?
        .map(|id| cx.uow.exceptions().get(&id).map(|s| s.map(|s| (id, s))))
        .transpose()?
        .flatten();
    let (from, to) = match &open {
        Some((_, stored)) => {
            let was_from = stored.exception.source.as_ref().map_or(from, |s| s.seq);
            let was_to = reused_to(&stored.exception.message).unwrap_or(to);
            if from >= was_from && to <= was_to {
                return Ok(());
            }
            (from.min(was_from), to.max(was_to))
        }
        None => (from, to),
    };
    let exception = Exception::new(
        ExceptionCode::SequenceReused,
        sequence_reused_message(node, from, to),
        at_ms,
    )
    .from_event(&EventId {
        node: node.clone(),
        seq: from,
    })
    .at_node(node);
    match open {
        None => register(cx, &exception).map(|_| ()),
        Some((id, stored)) => {
            let mut s = (*stored).clone();
            s.exception = exception;
            cx.uow.exceptions().put(id, s)?;
            Ok(())
        }
    }
}

/// Raises an open exception of `code` about `node` once (while it is open, a repeat finds it).
pub(crate) fn raise_incident(
    cx: &mut Cx<'_>,
    code: ExceptionCode,
    node: &NodeId,
    message: String,
) -> EngineResult<u64> {
    if let Some(id) = cx.uow.open_incident(code, node)? {
        return Ok(id);
    }
    let e = Exception::new(code, message, cx.now.wall).at_node(node);
    register(cx, &e)
}

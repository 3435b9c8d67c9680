//! The nodes' sync credentials: issued when a node is registered (or set by the caller),
//! rotated on request, never shown by a read. A message that fails authentication is
//! dropped by the MQTT side before it reaches the engine as anything but a count and one
//! `unauthenticated_message` exception per node while it is open: it never moves a stream,
//! acks, resends or prunes anything.

use crate::audit;
use crate::command::{CredentialChoice, Reply};
use crate::engine::Cx;
use crate::error::{EngineResult, Rejection};
use crate::exceptions;

use crate::records::NodeCredential;
use stockpost_common::domain::{ExceptionCode, NodeId};
use stockpost_common::orders::{Actor, AuditValue};
use stockpost_common::wire::SyncKey;

fn store(cx: &mut Cx<'_>, node: &NodeId, key: SyncKey, actor: &Actor) -> EngineResult<()> {
    let before = cx.uow.credentials().get(node)?;
    audit::record(
        cx,
        &actor.name,
        "node.credential",
        format!("node:{node}"),
        // The audit trail says that and when, never the key.
        before
            .map(|c| AuditValue::text(format!("issued at {}", c.issued_at_ms)))
            .unwrap_or(AuditValue::Null),
        AuditValue::text(format!("issued at {}", cx.now.wall)),
    )?;
    let credential = NodeCredential {
        key,
        issued_at_ms: cx.now.wall,
    };
    cx.uow.credentials().put(node.clone(), credential)?;
    Ok(())
}

/// The credential part of `PUT /nodes/{node}`; returns the credential to show, if one was
/// issued.
pub(crate) fn on_put_node(
    cx: &mut Cx<'_>,
    node: &NodeId,
    choice: CredentialChoice,
    actor: &Actor,
) -> EngineResult<Option<SyncKey>> {
    match choice {
        CredentialChoice::Set(key) => {
            store(cx, node, key, actor)?;
            Ok(None)
        }
        CredentialChoice::KeepOrIssue(key) => {
            if cx.uow.credentials().get(node)?.is_some() {
                return Ok(None);
            }
            store(cx, node, key.clone(), actor)?;
            Ok(Some(key))
        }
    }
}

/// `POST /nodes/{node}/credential`: replaces the node's credential with `key`.
pub(crate) fn issue(
    cx: &mut Cx<'_>,
    node: NodeId,
    key: SyncKey,
    actor: &Actor,
) -> EngineResult<Reply> {
    if cx.uow.nodes().get(&node)?.is_none() {
        return Err(Rejection::not_found(format!(
            "node {node} is not registered; register it with PUT /api/v1/nodes/{node}"
        ))
        .into());
    }
    store(cx, &node, key.clone(), actor)?;
    Ok(Reply::Credential(node, key))
}

/// A message on `node`'s topic (its status topic when `status`), with header sequence `seq`,
/// failed authentication.
pub(crate) fn unauthenticated(
    cx: &mut Cx<'_>,
    node: &NodeId,
    seq: u64,
    status: bool,
    reason: &str,
) -> EngineResult<()> {
    if cx.uow.nodes().get(node)?.is_none() {
        if status {
            cx.st.live.stats.unauthenticated_messages += 1;
            return Ok(());
        }
        return crate::quarantine::unknown_node(cx, node, seq);
    }
    cx.st.live.stats.unauthenticated_messages += 1;
    exceptions::raise_incident(
        cx,
        ExceptionCode::UnauthenticatedMessage,
        node,
        format!(
            "a message on node {node}'s topic failed authentication and was dropped ({reason}). \
             Either someone who can publish on the broker is forging messages, or the node runs \
             with an old credential (see docs/security.md, \"Rotating a node's credential\"); \
             later failures count in stockpost_hub_unauthenticated_messages_total while this \
             is open"
        ),
    )?;
    Ok(())
}

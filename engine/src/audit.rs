//! The audit trail: who changed what, when, from what to what. Appended in the same unit of
//! work as the change.

use crate::engine::Cx;
use crate::error::EngineResult;
use stockpost_common::orders::{AuditEntry, AuditValue};

/// Records one change by `actor` at the round's wall clock.
pub(crate) fn record(
    cx: &mut Cx<'_>,
    actor: &str,
    action: &str,
    subject: String,
    before: AuditValue,
    after: AuditValue,
) -> EngineResult<()> {
    let entry = AuditEntry {
        at_ms: cx.now.wall,
        actor: actor.to_string(),
        action: action.to_string(),
        subject,
        before,
        after,
    };
    cx.uow.append_audit(entry)?;
    Ok(())
}

/// Records an entry made elsewhere (by the rules in `stockpost_common`).
pub(crate) fn append(cx: &mut Cx<'_>, entry: AuditEntry) -> EngineResult<()> {
    cx.uow.append_audit(entry)?;
    Ok(())
}

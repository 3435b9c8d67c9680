//! Tasks (`GET /tasks`).

use crate::time::format_ms;
use serde_json::{json, Value};
use stockpost_common::domain::TaskId;
use stockpost_common::tasks::TaskStatus;
use stockpost_engine::records::{HubTask, TaskOrigin};
use stockpost_engine::tasks::done_total;

/// A task: who made it, where it stands and how much of it is done.
pub fn task(id: &TaskId, t: &HubTask) -> Value {
    json!({
        "id": id, "node": t.node, "kind": t.kind().as_str(), "order": t.spec.order, "doc": t.spec.doc,
        "created_at": format_ms(t.created_ms), "cancelled": t.status == TaskStatus::Cancelled,
        "status": t.status, "origin": match t.origin { TaskOrigin::Hub => "hub", TaskOrigin::Node => "node" },
        "lines": t.spec.lines.len(), "done": done_total(t),
    })
}

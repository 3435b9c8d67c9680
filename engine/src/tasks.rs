//! Every node's tasks as the hub knows them: those it sends (pick, count, put-back, receive,
//! return) and those nodes make and report (`task_defined`), with the progress nodes report
//! (`task_progress`). A node's open tasks, with their progress, are what its snapshot carries.

use crate::downlink;
use crate::engine::Cx;
use crate::error::{internal, EngineResult};
use crate::records::{HubTask, TaskOrigin};
use crate::repo::Counter;
use stockpost_common::domain::{Dec, Event, EventBody, NodeId, OrderRef, Qty, TaskId};
use stockpost_common::orders::{CountTaskPlan, PickTaskPlan, PlanLine, PutBackPlan};
use stockpost_common::tasks::{LineProgress, TaskKind, TaskLine, TaskSpec, TaskStatus};
use stockpost_common::wire::DownlinkItem;

/// A new hub task of `kind` (`hub-<kind>-<n>`), with no lines yet.
pub(crate) fn new_spec(cx: &mut Cx<'_>, kind: TaskKind) -> EngineResult<TaskSpec> {
    let n = cx.uow.next_id(Counter::Task)?;
    let id = TaskId::new(format!("hub-{}-{n}", kind.as_str())).map_err(internal)?;
    Ok(TaskSpec::new(id, kind))
}

/// Records `spec` as a hub task of `node` and sends it down.
pub(crate) fn send(cx: &mut Cx<'_>, node: &NodeId, spec: TaskSpec) -> EngineResult<()> {
    let task = HubTask {
        node: node.clone(),
        lines: vec![LineProgress::default(); spec.slots()],
        spec: spec.clone(),
        origin: TaskOrigin::Hub,
        status: TaskStatus::Open,
        spawned: 0,
        created_ms: cx.now.wall,
    };
    cx.uow.tasks().put(spec.id.clone(), task)?;
    downlink::enqueue(cx, node, vec![DownlinkItem::Task(spec)])
}

fn line(sku: stockpost_common::domain::Sku, qty: Qty) -> TaskLine {
    TaskLine {
        sku,
        qty,
        location: None,
        to: None,
        lot: None,
        serial: None,
        expiry: None,
    }
}

/// Plan lines as task lines; a line that is not positive is skipped (a plan line must never
/// fail the commit of the node events that raised it).
fn lines(cx: &mut Cx<'_>, plan: Vec<PlanLine>) -> Vec<TaskLine> {
    let mut out = Vec::new();
    for l in plan {
        match Qty::try_from(l.qty) {
            Ok(q) => out.push(line(l.sku, q)),
            Err(e) => cx.notice(format!("plan line of {} skipped: {e}", l.sku)),
        }
    }
    out
}

/// Pick tasks for released quantities.
pub(crate) fn picks(cx: &mut Cx<'_>, plans: Vec<PickTaskPlan>) -> EngineResult<()> {
    for plan in plans {
        let due = cx.uow.orders().get(&plan.order)?.map(|o| o.ship_by_ms);
        let mut spec = new_spec(cx, TaskKind::Pick)?;
        spec.order = Some(plan.order.clone());
        spec.due_ms = due;
        spec.priority = 5;
        spec.lines = lines(cx, plan.lines);
        send(cx, &plan.node, spec)?;
    }
    Ok(())
}

/// Count tasks for the locations the rules want counted.
pub(crate) fn counts(cx: &mut Cx<'_>, plans: Vec<CountTaskPlan>) -> EngineResult<()> {
    for plan in plans {
        let mut spec = new_spec(cx, TaskKind::Count)?;
        spec.locations = vec![plan.location];
        spec.priority = 8;
        send(cx, &plan.node, spec)?;
    }
    Ok(())
}

/// Put-back tasks for picked stock that will not ship.
pub(crate) fn put_backs(cx: &mut Cx<'_>, plans: Vec<PutBackPlan>) -> EngineResult<()> {
    for plan in plans {
        let mut spec = new_spec(cx, TaskKind::Putaway)?;
        spec.order = Some(plan.order.clone());
        spec.container = plan.containers.first().cloned();
        spec.priority = 7;
        spec.lines = lines(cx, plan.lines);
        send(cx, &plan.node, spec)?;
    }
    Ok(())
}

/// Withdraws the open pick tasks of `order` (it was cancelled); returns how many.
pub(crate) fn withdraw_picks(cx: &mut Cx<'_>, order: &OrderRef) -> EngineResult<usize> {
    let mut n = 0;
    for id in cx.uow.tasks_of_order(order)? {
        let Some(task) = cx.uow.tasks().get(&id)? else {
            continue;
        };
        if task.kind() != TaskKind::Pick || !task.is_open() {
            continue;
        }
        let mut t = (*task).clone();
        t.status = TaskStatus::Cancelled;
        let node = t.node.clone();
        cx.uow.tasks().put(id.clone(), t)?;
        downlink::enqueue(cx, &node, vec![DownlinkItem::TaskCancel { task: id }])?;
        n += 1;
    }
    Ok(n)
}

/// A node's task report.
pub(crate) fn after_report(cx: &mut Cx<'_>, event: &Event) -> EngineResult<()> {
    let node = &event.id.node;
    match &event.body {
        EventBody::TaskDefined { spec } => {
            let existing = cx.uow.tasks().get(&spec.id)?;
            let task = match existing {
                Some(t) if &t.node == node => {
                    let mut t = (*t).clone();
                    t.lines.resize(spec.slots(), LineProgress::default());
                    t.spec = spec.clone();
                    t
                }
                Some(_) => {
                    cx.notice(format!(
                        "node {node} defined task {}, which belongs to another node; ignored",
                        spec.id
                    ));
                    return Ok(());
                }
                None => HubTask {
                    node: node.clone(),
                    spec: spec.clone(),
                    origin: TaskOrigin::Node,
                    status: TaskStatus::Open,
                    lines: vec![LineProgress::default(); spec.slots()],
                    spawned: 0,
                    created_ms: cx.now.wall,
                },
            };
            cx.uow.tasks().put(spec.id.clone(), task)?;
        }
        EventBody::TaskProgress {
            task,
            status,
            lines,
            spawned,
        } => {
            let Some(t) = cx.uow.tasks().get(task)?.filter(|t| &t.node == node) else {
                cx.notice(format!(
                    "node {node} reported progress of task {task}, which the hub does not know"
                ));
                return Ok(());
            };
            let mut t = (*t).clone();
            t.status = *status;
            t.lines = lines.clone();
            t.spawned = *spawned;
            cx.uow.tasks().put(task.clone(), t)?;
        }
        _ => {}
    }
    Ok(())
}

/// How much of `task`'s lines is done in all (for tests and reports).
pub fn done_total(task: &HubTask) -> Dec {
    task.lines
        .iter()
        .fold(Dec::ZERO, |a, l| a.checked_add(l.done.get()).unwrap_or(a))
}

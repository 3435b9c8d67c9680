//! Every node's tasks, as the hub knows them.

use super::*;
use crate::records::TaskOrigin;
use stockpost_common::tasks::{TaskKind, TaskLine};

pub(super) fn node_task(id: &str, kind: TaskKind) -> TaskSpec {
    let mut spec = TaskSpec::new(task_id(id), kind);
    spec.lines = vec![TaskLine {
        sku: sku("MUG"),
        qty: qty("5"),
        location: Some(loc(PICK)),
        to: None,
        lot: None,
        serial: None,
        expiry: None,
    }];
    spec
}

#[test]
fn a_task_a_node_defines_is_known_to_the_hub() {
    let mut hub = Hub::standard();
    hub.send(
        N1,
        vec![task_defined(node_task("N-PUT-1", TaskKind::Putaway))],
    );
    let t = hub
        .view()
        .tasks
        .get(&task_id("N-PUT-1"))
        .cloned()
        .expect("task");
    assert_eq!(
        (t.origin, t.status, t.node.clone()),
        (TaskOrigin::Node, TaskStatus::Open, node(N1))
    );
    assert_eq!(t.lines.len(), 1);
}

#[test]
fn a_nodes_progress_report_updates_the_task() {
    let mut hub = Hub::standard();
    hub.send(
        N1,
        vec![task_defined(node_task("N-PUT-1", TaskKind::Putaway))],
    );
    hub.send(
        N1,
        vec![task_progress(
            "N-PUT-1",
            TaskStatus::InProgress,
            &[("3", false)],
        )],
    );
    let t = hub
        .view()
        .tasks
        .get(&task_id("N-PUT-1"))
        .cloned()
        .expect("task");
    assert_eq!(t.status, TaskStatus::InProgress);
    assert_eq!(crate::tasks::done_total(&t), dec("3"));
    hub.send(
        N1,
        vec![task_progress("N-PUT-1", TaskStatus::Done, &[("5", true)])],
    );
    assert!(hub.view().open_tasks_of(&node(N1)).is_empty());
}

#[test]
fn progress_of_a_task_the_hub_does_not_know_is_only_a_notice() {
    let mut hub = Hub::standard();
    let out = hub.send(N1, vec![task_progress("N-404", TaskStatus::Done, &[])]);
    assert!(out.effects.iter().any(|e| matches!(e, Effect::Notice(_))));
    assert!(hub.view().tasks.is_empty());
}

#[test]
fn a_node_cannot_redefine_or_report_another_nodes_task() {
    let mut hub = Hub::standard();
    hub.register(N2);
    hub.send(N1, vec![task_defined(node_task("T-1", TaskKind::Putaway))]);
    hub.send(N2, vec![task_defined(node_task("T-1", TaskKind::Count))]);
    hub.send(
        N2,
        vec![task_progress("T-1", TaskStatus::Done, &[("5", true)])],
    );
    let t = hub
        .view()
        .tasks
        .get(&task_id("T-1"))
        .cloned()
        .expect("task");
    assert_eq!(
        (t.node.clone(), t.kind(), t.status),
        (node(N1), TaskKind::Putaway, TaskStatus::Open)
    );
}

//! What a new or wiped node is given.

use super::tasks::node_task;
use super::*;
use crate::snapshot;
use stockpost_common::tasks::TaskKind;

#[test]
fn the_snapshot_carries_only_open_tasks_with_their_progress() {
    let mut hub = Hub::standard();
    hub.send(
        N1,
        vec![
            receive(PICK, "MUG", "10"),
            task_defined(node_task("N-OPEN", TaskKind::Putaway)),
            task_defined(node_task("N-DONE", TaskKind::Putaway)),
            task_progress("N-OPEN", TaskStatus::InProgress, &[("2", false)]),
            task_progress("N-DONE", TaskStatus::Done, &[("5", true)]),
        ],
    );
    hub.ok(ApiCommand::CreateOrder(new_order("SO-1", &[("MUG", "4")])));
    hub.ok(ApiCommand::ReleaseOrder(order_ref("SO-1")));
    let snap = snapshot::of(&hub.view(), &node(N1)).expect("a snapshot");
    let ids: Vec<String> = snap.tasks.iter().map(|t| t.spec.id.to_string()).collect();
    assert_eq!(
        ids.len(),
        2,
        "the hub's pick and the node's open task: {ids:?}"
    );
    assert!(ids.contains(&"N-OPEN".to_string()) && !ids.contains(&"N-DONE".to_string()));
    assert!(snap.tasks.iter().any(|t| t.spec.kind == TaskKind::Pick));
    let open = snap
        .tasks
        .iter()
        .find(|t| t.spec.id == task_id("N-OPEN"))
        .expect("N-OPEN");
    assert_eq!(crate::tasks::done_total(open), dec("2"));
    assert_eq!(snap.applied_seq, 5);
    assert_eq!(snap.downlink_seq, hub.view().downlink_head(&node(N1)));
    assert!(snap.items.iter().any(|i| i.item.sku == sku("MUG")));
    assert!(snap.locations.iter().any(|(c, _)| c == &loc(PICK)));
    assert!(!snap.balances.is_empty());
}

#[test]
fn an_unregistered_node_has_no_snapshot() {
    let hub = Hub::standard();
    assert!(snapshot::of(&hub.view(), &node("GHOST")).is_none());
}

//! Orders: allocation, backorders, cancel, release, node facts.

use super::*;
use stockpost_common::domain::OrderStatus;
use stockpost_common::tasks::TaskKind;
use stockpost_common::wire::DownlinkItem;

fn stocked() -> Hub {
    let mut hub = Hub::standard();
    hub.ok(ApiCommand::PutItem(Box::new(item("CUP", "1"))));
    hub.send(
        N1,
        vec![receive(PICK, "MUG", "10"), receive(PICK, "CUP", "5")],
    );
    hub
}

fn status(hub: &Hub, r: &str) -> Option<OrderStatus> {
    hub.view().orders.get(&order_ref(r)).map(|o| o.status)
}

#[test]
fn an_order_for_an_unknown_sku_is_refused_as_invalid_and_changes_nothing() {
    let mut hub = stocked();
    let before = hub.fingerprint();
    let r = hub.refused(ApiCommand::CreateOrder(new_order("SO-1", &[("NOPE", "1")])));
    assert_eq!(r.kind, RejectKind::Invalid);
    assert_eq!(hub.fingerprint(), before);
}

#[test]
fn a_second_order_under_the_same_ref_is_a_conflict() {
    let mut hub = stocked();
    hub.ok(ApiCommand::CreateOrder(new_order("SO-1", &[("MUG", "1")])));
    let r = hub.refused(ApiCommand::CreateOrder(new_order("SO-1", &[("MUG", "1")])));
    assert_eq!((r.kind, r.code), (RejectKind::Conflict, "duplicate_order"));
    assert_eq!(hub.stock().reserved(&node(N1), &sku("MUG")), dec("1"));
}

#[test]
fn an_order_is_allocated_from_available_stock_and_reserves_it() {
    let mut hub = stocked();
    let reply = hub.ok(ApiCommand::CreateOrder(new_order("SO-1", &[("MUG", "4")])));
    assert!(reply.created());
    assert!(matches!(&reply, Reply::Order(o) if o.status == OrderStatus::Allocated));
    assert_eq!(hub.stock().reserved(&node(N1), &sku("MUG")), dec("4"));
    assert_eq!(hub.available(N1, "MUG"), dec("6"));
}

#[test]
fn an_order_beyond_the_stock_is_backordered_and_allocated_on_the_tick_after_stock_arrives() {
    let mut hub = stocked();
    hub.ok(ApiCommand::CreateOrder(new_order("SO-1", &[("MUG", "12")])));
    assert_eq!(status(&hub, "SO-1"), Some(OrderStatus::Backordered));
    assert_eq!(hub.exceptions_of(ExceptionCode::Backorder).len(), 1);
    hub.send(N1, vec![receive(PICK, "MUG", "2")]);
    hub.run(Command::Tick);
    assert_eq!(status(&hub, "SO-1"), Some(OrderStatus::Allocated));
    assert_eq!(hub.stock().reserved(&node(N1), &sku("MUG")), dec("12"));
}

#[test]
fn cancelling_an_order_releases_its_reservations_and_tells_the_node() {
    let mut hub = stocked();
    hub.ok(ApiCommand::CreateOrder(new_order("SO-1", &[("MUG", "4")])));
    let out = hub.api(ApiCommand::CancelOrder(order_ref("SO-1")));
    match out.reply() {
        Ok(Reply::Cancelled {
            released,
            put_back_tasks,
            ..
        }) => {
            assert_eq!(released, &vec![(node(N1), sku("MUG"), dec("4"))]);
            assert_eq!(*put_back_tasks, 0);
        }
        other => panic!("not cancelled: {other:?}"),
    }
    assert_eq!(hub.available(N1, "MUG"), dec("10"));
    assert_eq!(status(&hub, "SO-1"), Some(OrderStatus::Cancelled));
    assert!(out
        .downlink(N1)
        .iter()
        .any(|i| matches!(i, DownlinkItem::Cancel { order } if order == &order_ref("SO-1"))));
}

#[test]
fn cancelling_an_unknown_order_is_not_found() {
    let mut hub = stocked();
    let r = hub.refused(ApiCommand::CancelOrder(order_ref("SO-404")));
    assert_eq!(r.kind, RejectKind::NotFound);
}

#[test]
fn releasing_an_order_sends_pick_tasks_and_a_second_release_is_a_conflict() {
    let mut hub = stocked();
    hub.ok(ApiCommand::CreateOrder(new_order("SO-1", &[("MUG", "4")])));
    let out = hub.api(ApiCommand::ReleaseOrder(order_ref("SO-1")));
    assert!(matches!(
        out.reply(),
        Ok(Reply::Released {
            status: OrderStatus::Released,
            tasks: 1,
            ..
        })
    ));
    let picks: Vec<_> = out
        .downlink(N1)
        .into_iter()
        .filter_map(|i| match i {
            DownlinkItem::Task(spec) if spec.kind == TaskKind::Pick => Some(spec),
            _ => None,
        })
        .collect();
    assert_eq!(picks.len(), 1);
    assert_eq!(picks[0].order, Some(order_ref("SO-1")));
    assert!(hub.view().tasks.contains_key(&picks[0].id));
    let r = hub.refused(ApiCommand::ReleaseOrder(order_ref("SO-1")));
    assert_eq!(r.kind, RejectKind::Conflict);
}

#[test]
fn the_tick_releases_allocated_orders_when_auto_release_is_on() {
    let mut s = settings();
    s.auto_release = true;
    let mut hub = Hub::with(s);
    hub.register(N1);
    hub.ok(ApiCommand::PutItem(Box::new(item("MUG", "1"))));
    hub.send(N1, vec![receive(PICK, "MUG", "10")]);
    hub.ok(ApiCommand::CreateOrder(new_order("SO-1", &[("MUG", "4")])));
    hub.run(Command::Tick);
    assert_eq!(status(&hub, "SO-1"), Some(OrderStatus::Released));
}

#[test]
fn an_order_is_picked_only_when_every_line_is_picked_or_shorted() {
    let mut hub = stocked();
    hub.ok(ApiCommand::CreateOrder(new_order(
        "SO-1",
        &[("MUG", "4"), ("CUP", "2")],
    )));
    hub.ok(ApiCommand::ReleaseOrder(order_ref("SO-1")));
    hub.send(N1, vec![pick(PICK, "MUG", "4", "TOTE-1", "SO-1")]);
    assert_eq!(status(&hub, "SO-1"), Some(OrderStatus::Picking));
    hub.send(N1, vec![pick(PICK, "CUP", "1", "TOTE-1", "SO-1")]);
    assert_eq!(
        status(&hub, "SO-1"),
        Some(OrderStatus::Picking),
        "CUP is half picked"
    );
    hub.send(N1, vec![short_pick(PICK, "CUP", "2", "1", "SO-1")]);
    assert_eq!(status(&hub, "SO-1"), Some(OrderStatus::Picked));
    assert_eq!(hub.exceptions_of(ExceptionCode::ShortPick).len(), 1);
}

#[test]
fn a_pick_for_a_cancelled_order_is_applied_and_raises_a_put_back() {
    let mut hub = stocked();
    hub.ok(ApiCommand::CreateOrder(new_order("SO-1", &[("MUG", "4")])));
    hub.ok(ApiCommand::ReleaseOrder(order_ref("SO-1")));
    hub.ok(ApiCommand::CancelOrder(order_ref("SO-1")));
    let out = hub.send(N1, vec![pick(PICK, "MUG", "4", "TOTE-1", "SO-1")]);
    assert_eq!(
        hub.on_hand(N1, "MUG"),
        dec("10"),
        "still on hand, in the tote"
    );
    assert_eq!(
        hub.exceptions_of(ExceptionCode::PickOfCancelledOrder).len(),
        1
    );
    assert!(out
        .downlink(N1)
        .iter()
        .any(|i| matches!(i, DownlinkItem::Task(spec) if spec.kind == TaskKind::Putaway)));
}

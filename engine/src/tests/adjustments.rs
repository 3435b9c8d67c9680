//! Approval before effect: a gain above the threshold is held back until decided.

use super::*;
use stockpost_common::orders::AdjustmentStatus;
use stockpost_common::tasks::TaskKind;
use stockpost_common::wire::DownlinkItem;

/// N1 with 10 VASE (worth 50 each) at PICK and a pending gain of 3 (worth 150): adjustment 1.
fn pending() -> Hub {
    let mut hub = Hub::new();
    hub.register(N1);
    hub.ok(ApiCommand::PutItem(Box::new(item("VASE", "50"))));
    hub.send(
        N1,
        vec![receive(PICK, "VASE", "10"), adjust(PICK, "VASE", "3")],
    );
    hub
}

fn approver(name: &str) -> Actor {
    Actor {
        name: name.into(),
        role: Role::Approver,
    }
}

fn decide(id: u64, approve: bool) -> ApiCommand {
    ApiCommand::DecideAdjustment { id, approve }
}

fn status(hub: &Hub, id: u64) -> Option<AdjustmentStatus> {
    hub.view().adjustments.get(&id).map(|a| a.adjustment.status)
}

#[test]
fn a_gain_above_the_threshold_is_pending_and_not_available_to_an_order() {
    let mut hub = pending();
    assert_eq!(status(&hub, 1), Some(AdjustmentStatus::PendingApproval));
    assert_eq!(hub.on_hand(N1, "VASE"), dec("13"), "the fact is applied");
    assert_eq!(
        hub.stock().held_for_approval(&node(N1), &sku("VASE")),
        dec("3")
    );
    assert_eq!(hub.available(N1, "VASE"), dec("10"));
    assert_eq!(
        hub.exceptions_of(ExceptionCode::AdjustmentNeedsApproval)
            .len(),
        1
    );
    hub.ok(ApiCommand::CreateOrder(new_order(
        "SO-1",
        &[("VASE", "13")],
    )));
    let order = hub.view().orders.get(&order_ref("SO-1")).cloned();
    let order = order.expect("the order");
    assert_eq!(
        order.status,
        stockpost_common::domain::OrderStatus::Backordered
    );
    assert_eq!(hub.stock().reserved(&node(N1), &sku("VASE")), dec("10"));
}

#[test]
fn a_gain_at_the_threshold_is_applied_and_available_at_once() {
    let mut hub = pending();
    hub.send(N1, vec![adjust(PICK, "VASE", "2")]);
    assert_eq!(status(&hub, 2), Some(AdjustmentStatus::Applied));
    assert_eq!(hub.available(N1, "VASE"), dec("12"));
}

#[test]
fn approving_makes_the_gain_available_resolves_the_exception_and_tells_the_node() {
    let mut hub = pending();
    let out = hub.api_as(approver("boss"), decide(1, true));
    assert!(matches!(
        out.reply(),
        Ok(Reply::Adjustment(1, s)) if s.adjustment.status == AdjustmentStatus::Approved
    ));
    assert_eq!(hub.available(N1, "VASE"), dec("13"));
    assert!(out.downlink(N1).iter().any(|i| matches!(
        i,
        DownlinkItem::AdjustmentApproved { adjustment } if adjustment.as_str() == "ADJ-1"
    )));
    let ex = hub.exceptions_of(ExceptionCode::AdjustmentNeedsApproval);
    assert!(ex.iter().all(|(_, e)| !e.exception.is_open()));
    hub.ok(ApiCommand::CreateOrder(new_order(
        "SO-1",
        &[("VASE", "13")],
    )));
    assert_eq!(hub.stock().reserved(&node(N1), &sku("VASE")), dec("13"));
}

#[test]
fn rejecting_asks_the_node_to_reverse_raises_a_recount_and_keeps_the_hold() {
    let mut hub = pending();
    let out = hub.api_as(approver("boss"), decide(1, false));
    assert_eq!(status(&hub, 1), Some(AdjustmentStatus::Rejected));
    let down = out.downlink(N1);
    assert!(down.iter().any(|i| matches!(
        i,
        DownlinkItem::ReverseAdjustment { adjustment, delta, place, .. }
            if adjustment.as_str() == "ADJ-1"
                && *delta == dec("3")
                && place == &Place::Location(loc(PICK))
    )));
    assert!(down.iter().any(|i| matches!(
        i,
        DownlinkItem::Task(spec) if spec.kind == TaskKind::Count && spec.locations == vec![loc(PICK)]
    )));
    assert_eq!(
        hub.available(N1, "VASE"),
        dec("10"),
        "held until the reversal arrives"
    );
}

#[test]
fn the_nodes_reversal_marks_the_adjustment_reversed_and_ends_the_hold() {
    let mut hub = pending();
    hub.api_as(approver("boss"), decide(1, false));
    hub.send(N1, vec![reversal(PICK, "VASE", "-3", "ADJ-1")]);
    assert_eq!(status(&hub, 1), Some(AdjustmentStatus::Reversed));
    assert_eq!(
        hub.stock().held_for_approval(&node(N1), &sku("VASE")),
        dec("0")
    );
    assert_eq!(hub.on_hand(N1, "VASE"), dec("10"));
    assert_eq!(hub.available(N1, "VASE"), dec("10"));
    assert_eq!(
        hub.view().adjustments.len(),
        1,
        "a reversal is never reviewed again"
    );
}

#[test]
fn a_lower_unit_value_later_does_not_approve_a_pending_adjustment() {
    let mut hub = pending();
    hub.ok(ApiCommand::PutItem(Box::new(item("VASE", "1"))));
    assert_eq!(status(&hub, 1), Some(AdjustmentStatus::PendingApproval));
    assert_eq!(hub.available(N1, "VASE"), dec("10"));
}

#[test]
fn only_an_approver_who_did_not_make_it_may_decide() {
    let mut hub = pending();
    let before = hub.fingerprint();
    let operator = Actor {
        name: "clerk".into(),
        role: Role::Operator,
    };
    assert_eq!(
        hub.refused_as(operator, decide(1, true)).kind,
        RejectKind::Forbidden
    );
    assert_eq!(
        hub.refused_as(approver("op-1"), decide(1, true)).kind,
        RejectKind::Forbidden
    );
    assert_eq!(hub.fingerprint(), before);
}

#[test]
fn a_decided_adjustment_cannot_be_decided_again_and_an_unknown_one_is_not_found() {
    let mut hub = pending();
    hub.api_as(approver("boss"), decide(1, true));
    let again = hub.refused_as(approver("boss"), decide(1, false));
    assert_eq!(
        (again.kind, again.code),
        (RejectKind::Conflict, "not_pending")
    );
    let before = hub.fingerprint();
    assert_eq!(hub.refused(decide(99, true)).kind, RejectKind::NotFound);
    assert_eq!(hub.fingerprint(), before);
}

#[test]
fn a_count_variance_above_the_threshold_is_pending_as_well() {
    let mut hub = pending();
    hub.send(N1, vec![count(PICK, "VASE", "16", "13")]);
    let adj = hub
        .view()
        .adjustments
        .get(&2)
        .cloned()
        .expect("adjustment 2");
    assert_eq!(adj.adjustment.status, AdjustmentStatus::PendingApproval);
    assert_eq!(adj.adjustment.reason, ReasonCode::CountVariance);
    assert_eq!(hub.available(N1, "VASE"), dec("10"));
}

#[test]
fn a_loss_above_the_threshold_is_pending_but_holds_nothing_back() {
    let mut hub = pending();
    hub.send(N1, vec![adjust(PICK, "VASE", "-4")]);
    assert_eq!(status(&hub, 2), Some(AdjustmentStatus::PendingApproval));
    assert_eq!(hub.on_hand(N1, "VASE"), dec("9"));
    assert_eq!(
        hub.available(N1, "VASE"),
        dec("6"),
        "9 on hand, 3 held for the gain"
    );
}

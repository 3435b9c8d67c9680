//! Inbound notices and returns.

use super::*;
use stockpost_common::tasks::TaskKind;
use stockpost_common::wire::DownlinkItem;

fn inbound(d: &str, lines: Vec<crate::records::DocLine>) -> ApiCommand {
    ApiCommand::CreateInbound {
        node: node(N1),
        doc: doc(d),
        lines,
    }
}

fn received(hub: &Hub, d: &str) -> Option<Dec> {
    hub.view()
        .inbound
        .get(&doc(d))
        .and_then(|r| r.received.get(&sku("MUG")).copied())
}

#[test]
fn an_inbound_notice_sends_a_receive_task_to_its_node() {
    let mut hub = Hub::standard();
    let out = hub.api(inbound("ASN-1", vec![doc_line("MUG", "10")]));
    let Ok(
        reply @ Reply::Document {
            record,
            is_return: false,
        },
    ) = out.reply()
    else {
        panic!("no document: {:?}", out.reply());
    };
    assert!(reply.created());
    assert!(out.downlink(N1).iter().any(|i| matches!(
        i,
        DownlinkItem::Task(spec) if spec.kind == TaskKind::Receive && spec.id == record.task
            && spec.doc == Some(doc("ASN-1"))
    )));
    assert!(hub.view().inbound.contains_key(&doc("ASN-1")));
}

#[test]
fn a_bad_inbound_notice_is_refused_and_changes_nothing() {
    let mut hub = Hub::standard();
    hub.ok(inbound("ASN-1", vec![doc_line("MUG", "10")]));
    let before = hub.fingerprint();
    let ghost = ApiCommand::CreateInbound {
        node: node("GHOST"),
        doc: doc("ASN-2"),
        lines: vec![doc_line("MUG", "1")],
    };
    assert_eq!(hub.refused(ghost).kind, RejectKind::NotFound);
    let unknown = hub.refused(inbound("ASN-3", vec![doc_line("NOPE", "1")]));
    assert_eq!(unknown.kind, RejectKind::Invalid);
    let dup = hub.refused(inbound("ASN-1", vec![doc_line("MUG", "1")]));
    assert_eq!(
        (dup.kind, dup.code),
        (RejectKind::Conflict, "duplicate_document")
    );
    assert_eq!(hub.fingerprint(), before);
}

#[test]
fn a_receipt_counts_against_its_notice() {
    let mut hub = Hub::standard();
    hub.ok(inbound("ASN-1", vec![doc_line("MUG", "10")]));
    hub.send(N1, vec![receive_against(DOCK, "MUG", "4", "ASN-1")]);
    assert_eq!(received(&hub, "ASN-1"), Some(dec("4")));
    assert!(hub.exceptions_of(ExceptionCode::OverReceipt).is_empty());
}

#[test]
fn a_receipt_against_a_fully_received_notice_raises_over_receipt_and_is_still_applied() {
    let mut hub = Hub::standard();
    hub.ok(inbound("ASN-1", vec![doc_line("MUG", "10")]));
    hub.send(N1, vec![receive_against(DOCK, "MUG", "10", "ASN-1")]);
    assert!(hub.exceptions_of(ExceptionCode::OverReceipt).is_empty());
    hub.send(N1, vec![receive_against(DOCK, "MUG", "2", "ASN-1")]);
    assert_eq!(hub.exceptions_of(ExceptionCode::OverReceipt).len(), 1);
    assert_eq!(hub.on_hand(N1, "MUG"), dec("12"), "the receipt is a fact");
    assert_eq!(received(&hub, "ASN-1"), Some(dec("12")));
}

#[test]
fn a_receipt_against_a_closed_notice_raises_over_receipt_and_is_still_applied() {
    let mut hub = Hub::standard();
    let Reply::Document { record, .. } = hub.ok(inbound("ASN-1", vec![doc_line("MUG", "10")]))
    else {
        panic!("no document");
    };
    hub.send(
        N1,
        vec![task_progress(
            record.task.as_str(),
            TaskStatus::Done,
            &[("0", true)],
        )],
    );
    hub.send(N1, vec![receive_against(DOCK, "MUG", "1", "ASN-1")]);
    assert_eq!(hub.exceptions_of(ExceptionCode::OverReceipt).len(), 1);
    assert_eq!(hub.on_hand(N1, "MUG"), dec("1"));
}

#[test]
fn a_receipt_beyond_what_is_still_expected_raises_over_receipt() {
    let mut hub = Hub::standard();
    hub.ok(inbound("ASN-1", vec![doc_line("MUG", "10")]));
    hub.send(N1, vec![receive_against(DOCK, "MUG", "11", "ASN-1")]);
    assert_eq!(hub.exceptions_of(ExceptionCode::OverReceipt).len(), 1);
    assert_eq!(hub.on_hand(N1, "MUG"), dec("11"));
}

#[test]
fn a_return_sends_a_return_task_and_counts_return_receipts() {
    let mut hub = Hub::standard();
    let out = hub.api(ApiCommand::CreateReturn {
        node: node(N1),
        rma: doc("RMA-1"),
        order: None,
        lines: vec![doc_line("MUG", "2")],
    });
    assert!(matches!(
        out.reply(),
        Ok(Reply::Document {
            is_return: true,
            ..
        })
    ));
    assert!(out
        .downlink(N1)
        .iter()
        .any(|i| matches!(i, DownlinkItem::Task(spec) if spec.kind == TaskKind::Return)));
    hub.send(
        N1,
        vec![EventBody::ReturnReceive {
            location: loc(DOCK),
            stock: StockRef::plain(sku("MUG")),
            qty: qty("2"),
            rma: doc("RMA-1"),
            order: None,
        }],
    );
    let r = hub
        .view()
        .returns
        .get(&doc("RMA-1"))
        .cloned()
        .expect("the return");
    assert_eq!(r.received.get(&sku("MUG")), Some(&dec("2")));
    assert!(
        !hub.view().kpi_events.is_empty(),
        "return receipts feed the KPIs"
    );
}

#[test]
fn a_return_of_an_unknown_order_is_refused_as_invalid() {
    let mut hub = Hub::standard();
    let r = hub.refused(ApiCommand::CreateReturn {
        node: node(N1),
        rma: doc("RMA-1"),
        order: Some(order_ref("SO-404")),
        lines: vec![doc_line("MUG", "2")],
    });
    assert_eq!(r.kind, RejectKind::Invalid);
    assert!(hub.view().returns.is_empty());
}

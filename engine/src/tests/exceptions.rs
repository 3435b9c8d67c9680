//! Resolving exceptions.

use super::*;

/// An order that could not be allocated: exception 1 (`backorder`).
fn backordered() -> Hub {
    let mut hub = Hub::standard();
    hub.ok(ApiCommand::CreateOrder(new_order("SO-1", &[("MUG", "3")])));
    hub
}

fn resolve(id: u64) -> ApiCommand {
    ApiCommand::ResolveException {
        id,
        note: Some("restocked".into()),
    }
}

#[test]
fn resolving_an_exception_closes_it_on_the_books_and_on_its_order() {
    let mut hub = backordered();
    let (id, _) = hub.exceptions_of(ExceptionCode::Backorder)[0].clone();
    let reply = hub.ok(resolve(id));
    let Reply::Exception(got, stored) = reply else {
        panic!("not an exception reply");
    };
    assert_eq!(got, id);
    assert_eq!(stored.resolved_by.as_deref(), Some("admin"));
    assert_eq!(stored.note.as_deref(), Some("restocked"));
    assert!(!hub.exceptions_of(ExceptionCode::Backorder)[0]
        .1
        .exception
        .is_open());
    let order = hub
        .view()
        .orders
        .get(&order_ref("SO-1"))
        .cloned()
        .expect("order");
    assert!(order.exceptions.iter().all(|e| !e.is_open()));
    let log = hub.repo.committed_log();
    assert!(log.audit.values().any(|a| a.action == "exception.resolve"));
}

#[test]
fn resolving_twice_is_a_conflict_and_an_unknown_exception_is_not_found() {
    let mut hub = backordered();
    let (id, _) = hub.exceptions_of(ExceptionCode::Backorder)[0].clone();
    hub.ok(resolve(id));
    let before = hub.fingerprint();
    let again = hub.refused(resolve(id));
    assert_eq!(
        (again.kind, again.code),
        (RejectKind::Conflict, "already_resolved")
    );
    assert_eq!(hub.refused(resolve(999)).kind, RejectKind::NotFound);
    assert_eq!(hub.fingerprint(), before);
}

#[test]
fn a_failed_commit_keeps_no_exception_and_its_id_is_handed_out_again() {
    let mut hub = Hub::standard();
    let before = hub.fingerprint();
    hub.repo.fail_next_commit();
    let out = hub.api(ApiCommand::CreateOrder(new_order("SO-1", &[("MUG", "3")])));
    assert!(!out.committed);
    assert_eq!(hub.fingerprint(), before);
    hub.ok(ApiCommand::CreateOrder(new_order("SO-1", &[("MUG", "3")])));
    let ids: Vec<u64> = hub.view().exceptions.keys().copied().collect();
    assert_eq!(ids, vec![1]);
}

#[test]
fn a_rejected_command_in_a_round_leaves_the_other_commands_of_the_round_in_place() {
    let mut hub = Hub::standard();
    let out = hub.round(vec![
        Command::Api {
            op: ApiCommand::CreateOrder(new_order("SO-1", &[("NOPE", "1")])),
            actor: admin(),
        },
        Command::Api {
            op: ApiCommand::PutItem(Box::new(item("CUP", "1"))),
            actor: admin(),
        },
    ]);
    assert!(out.committed);
    assert_eq!(rejection(&out.replies[0]).kind, RejectKind::Invalid);
    assert!(out.replies[1].is_ok());
    assert!(hub.view().items.contains_key(&sku("CUP")));
    assert!(hub.view().orders.is_empty());
}

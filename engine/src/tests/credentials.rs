//! Sync credentials: issued once at registration, set or rotated on request, never in a read
//! of the nodes; authentication failures raise one exception per incident and move nothing.

use super::*;
use crate::command::CredentialChoice;

#[test]
fn a_new_node_is_issued_the_drawn_credential_once_and_keeps_it_on_update() {
    let mut hub = Hub::standard();
    let out = hub.api(ApiCommand::PutNode(
        node(N2),
        master("west"),
        keep_or_issue(),
    ));
    assert!(matches!(out.reply(), Ok(Reply::Node(_, _, Some(k))) if *k == key(7)));
    let again = hub.api(ApiCommand::PutNode(
        node(N2),
        master("west"),
        CredentialChoice::KeepOrIssue(key(8)),
    ));
    assert!(matches!(again.reply(), Ok(Reply::Node(_, _, None))));
    assert_eq!(
        hub.view().credentials.get(&node(N2)).map(|c| c.key.clone()),
        Some(key(7))
    );
}

#[test]
fn a_credential_given_at_registration_replaces_the_old_one_and_is_not_echoed() {
    let mut hub = Hub::standard();
    let out = hub.api(ApiCommand::PutNode(
        node(N1),
        master(N1),
        CredentialChoice::Set(key(9)),
    ));
    assert!(matches!(out.reply(), Ok(Reply::Node(_, _, None))));
    assert_eq!(
        hub.view().credentials.get(&node(N1)).map(|c| c.key.clone()),
        Some(key(9))
    );
}

#[test]
fn issuing_a_credential_replaces_it_and_is_audited_without_the_key() {
    let mut hub = Hub::standard();
    let out = hub.api(ApiCommand::IssueCredential(node(N1), key(3)));
    assert!(matches!(out.reply(), Ok(Reply::Credential(n, k)) if *n == node(N1) && *k == key(3)));
    assert_eq!(
        hub.view().credentials.get(&node(N1)).map(|c| c.key.clone()),
        Some(key(3))
    );
    let log = hub.repo.committed_log();
    let entry = log
        .audit
        .values()
        .rev()
        .find(|a| a.action == "node.credential")
        .expect("an audit entry");
    let text = format!("{entry:?}");
    assert!(!text.contains(&key(3).to_hex()), "{text}");
}

#[test]
fn issuing_a_credential_for_an_unregistered_node_is_refused_as_not_found() {
    let mut hub = Hub::standard();
    let out = hub.api(ApiCommand::IssueCredential(node(N2), key(3)));
    assert!(matches!(
        out.reply(),
        Err(EngineError::Rejected(r)) if r.kind == RejectKind::NotFound
    ));
    assert!(!hub.view().credentials.contains_key(&node(N2)));
}

#[test]
fn failed_authentication_raises_one_exception_per_incident_and_moves_no_stream() {
    let mut hub = Hub::standard();
    let applied = hub.stock().applied_seq(&node(N1));
    for seq in 1..=3 {
        let out = hub.run(Command::Unauthenticated {
            node: node(N1),
            seq,
            status: seq == 2,
            reason: "the tag does not match".into(),
        });
        assert!(out.committed);
        assert!(out.transmits(N1).is_empty(), "no ack or resend request");
    }
    let raised = hub.exceptions_of(ExceptionCode::UnauthenticatedMessage);
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert!(raised[0].1.exception.message.contains("DC-EAST"));
    assert_eq!(hub.engine.live().stats.unauthenticated_messages, 3);
    assert_eq!(hub.stock().applied_seq(&node(N1)), applied);
}

#[test]
fn failed_authentication_from_an_unregistered_node_is_an_unknown_node_incident_unless_it_is_a_status(
) {
    let mut hub = Hub::standard();
    hub.run(Command::Unauthenticated {
        node: node(N2),
        seq: 1,
        status: false,
        reason: "no sync credential is registered for node DC-WEST".into(),
    });
    for n in ["FORGED-1", "FORGED-2"] {
        hub.run(Command::Unauthenticated {
            node: node(n),
            seq: 1,
            status: true,
            reason: "no sync credential".into(),
        });
    }
    assert_eq!(hub.exceptions_of(ExceptionCode::UnknownNode).len(), 1);
    assert!(hub
        .exceptions_of(ExceptionCode::UnauthenticatedMessage)
        .is_empty());
    assert_eq!(hub.engine.live().stats.unknown_node_batches, 1);
    assert!(
        hub.view().exceptions.len() <= 1,
        "forged statuses raised nothing"
    );
    assert!(!hub.engine.live().nodes.contains_key(&node("FORGED-1")));
}

#[test]
fn a_rolled_back_round_forgets_the_credential_it_set() {
    let mut hub = Hub::standard();
    let mark = hub.repo.uow().mark();
    let before = hub.view().credentials.get(&node(N1)).map(|c| c.key.clone());
    hub.engine
        .handle(
            hub.repo.uow(),
            hub.now,
            Command::Api {
                op: ApiCommand::IssueCredential(node(N1), key(4)),
                actor: admin(),
            },
        )
        .expect("issued");
    hub.repo.uow().rollback_to(&mark);
    hub.repo.rollback();
    assert_eq!(
        hub.view().credentials.get(&node(N1)).map(|c| c.key.clone()),
        before
    );
}

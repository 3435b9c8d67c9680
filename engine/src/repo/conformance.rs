//! The repository conformance suite: what every backend must do. A backend's tests call
//! [`run_all`] with a [`Backend`] that opens its repository over the same storage again and
//! again (the embedded store: the same directory; memory: the same books).
//!
//! The checks share one storage and run one after the other; each uses its own keys (SKUs,
//! nodes, ids) so they do not see each other's rows. A failed check panics with what broke.
//!
//! ```ignore
//! struct Embedded(tempfile::TempDir);
//! impl stockpost_engine::repo::conformance::Backend for Embedded {
//!     type Repo = EmbeddedRepo;
//!     fn open(&mut self) -> EmbeddedRepo { /* open over self.0.path() */ }
//!     fn fail_next_commit(&mut self, repo: &mut EmbeddedRepo) { /* inject a write error */ }
//!     fn outbox(&mut self, repo: &EmbeddedRepo) -> Vec<u64> { /* delivery ids */ }
//!     fn dead_letters(&mut self, repo: &EmbeddedRepo) -> Vec<u64> { /* delivery ids */ }
//! }
//! stockpost_engine::repo::conformance::run_all(&mut Embedded(tempfile::tempdir()?));
//! ```

use super::{Counter, Repository, UnitOfWork};
use crate::records::{
    DeadLetter, Delivery, HubTask, ItemRecord, NodeCredential, NodeMaster, QuarantineKind,
    QuarantineRecord, StoredEvent, StoredException, TaskOrigin, WebhookEvent,
};
use stockpost_common::domain::{
    Dec, Event, EventBody, EventId, ExceptionCode, Item, LocationCode, LocationInfo, LocationKind,
    NodeId, OrderRef, Qty, Sku, StockRef, StockStatus, TaskId, Tracking,
};
use stockpost_common::orders::Exception;
use stockpost_common::tasks::{TaskKind, TaskSpec, TaskStatus};

/// A backend under test.
pub trait Backend {
    /// The repository type.
    type Repo: Repository;
    /// Opens the repository over this backend's storage (as a restart would). The suite never
    /// holds two repositories of one backend at once: it hands the open one to
    /// [`Backend::reopen`].
    fn open(&mut self) -> Self::Repo;
    /// Closes `repo` (whatever it did not commit is lost) and opens the storage again.
    fn reopen(&mut self, repo: Self::Repo) -> Self::Repo {
        drop(repo);
        self.open()
    }
    /// Makes the next commit of `repo` fail as a full disk would.
    fn fail_next_commit(&mut self, repo: &mut Self::Repo);
    /// The ids of the webhook deliveries durably in the outbox (staged, not finished).
    fn outbox(&mut self, repo: &Self::Repo) -> Vec<u64>;
    /// The ids of the deliveries durably in the dead letters.
    fn dead_letters(&mut self, repo: &Self::Repo) -> Vec<u64>;
}

/// Every check, in turn; the first failure panics with what broke.
pub fn run_all<B: Backend>(backend: &mut B) {
    committed_rows_are_read_back_after_a_reopen(backend);
    a_failed_commit_keeps_nothing_of_its_round(backend);
    ids_are_never_handed_out_twice(backend);
    events_are_read_back_in_sequence_order(backend);
    staged_webhooks_survive_a_reopen_and_leave_when_finished(backend);
    reads_inside_a_unit_of_work_see_its_own_writes(backend);
    a_rollback_to_a_mark_undoes_only_what_came_after_it(backend);
    a_rollback_of_the_round_keeps_what_was_committed(backend);
}

fn sku(s: &str) -> Sku {
    Sku::new(s).expect("conformance: sku")
}

fn node(n: &str) -> NodeId {
    NodeId::new(n).expect("conformance: node id")
}

fn loc(l: &str) -> LocationCode {
    LocationCode::new(l).expect("conformance: location code")
}

fn item(s: &str, unit_value: i64) -> ItemRecord {
    ItemRecord {
        item: Item {
            sku: sku(s),
            description: format!("conformance item {s}"),
            gtins: Vec::new(),
            tracking: Tracking::None,
            expiry_controlled: false,
            unit_weight_kg: None,
            weight_tolerance_pct: None,
        },
        unit_value: Dec::from_int(unit_value).expect("conformance: unit value"),
    }
}

fn credential() -> NodeCredential {
    NodeCredential {
        key: stockpost_common::wire::SyncKey::from_bytes([0x3C; 32]),
        issued_at_ms: 17,
    }
}

fn master(name: &str) -> NodeMaster {
    NodeMaster {
        name: name.into(),
        priority: 3,
        active: true,
        cutoff_ms_of_day: Some(61_200_000),
    }
}

fn receive(n: &str, seq: u64, l: &str, s: &str, q: i64) -> Event {
    Event {
        id: EventId { node: node(n), seq },
        at_ms: 1_700_000_000_000 + i64::try_from(seq).unwrap_or(0),
        operator: None,
        station: None,
        task: None,
        body: EventBody::Receive {
            location: loc(l),
            stock: StockRef::plain(sku(s)),
            qty: Qty::try_from(Dec::from_int(q).expect("conformance: qty"))
                .expect("conformance: qty"),
            status: StockStatus::Available,
            inbound: None,
        },
    }
}

fn stored(event: Event) -> StoredEvent {
    StoredEvent {
        event,
        received_at_ms: 1_700_000_000_500,
    }
}

fn exception(code: ExceptionCode, n: &str, message: &str) -> StoredException {
    StoredException {
        exception: Exception::new(code, message, 1_700_000_000_000).at_node(&node(n)),
        resolved_by: None,
        note: None,
    }
}

fn delivery(id: u64) -> Delivery {
    Delivery {
        id,
        url: "http://conformance.invalid/hook".into(),
        event: WebhookEvent::ExceptionRaised {
            id,
            exception: Exception::new(ExceptionCode::Damaged, "conformance", 1),
        },
        at_ms: 1_700_000_000_000,
    }
}

fn commit<R: Repository>(repo: &mut R, what: &str) {
    if let Err(e) = repo.commit() {
        panic!("conformance: the commit of {what} failed: {e}");
    }
}

fn get_item(uow: &mut dyn UnitOfWork, s: &str) -> Option<ItemRecord> {
    uow.items()
        .get(&sku(s))
        .expect("conformance: read an item")
        .map(|r| (*r).clone())
}

fn seqs(events: &[StoredEvent]) -> Vec<u64> {
    events.iter().map(|e| e.event.id.seq).collect()
}

/// Rows of the tables, the stock (balances, locations, applied sequence) and the KPI window
/// written in a committed round are all there after a reopen.
pub fn committed_rows_are_read_back_after_a_reopen<B: Backend>(backend: &mut B) {
    let mut repo = backend.open();
    let n = node("CONF-ROWS");
    let ex = exception(ExceptionCode::Damaged, "CONF-ROWS", "conformance rows");
    let task_id = TaskId::new("conf-rows-1").expect("conformance: task id");
    {
        let uow = repo.uow();
        uow.items()
            .put(sku("CONF-ROWS-A"), item("CONF-ROWS-A", 7))
            .expect("put item");
        uow.nodes()
            .put(n.clone(), master("rows"))
            .expect("put node");
        uow.credentials()
            .put(n.clone(), credential())
            .expect("put credential");
        let ex_id = uow.next_id(Counter::Exception).expect("next exception id");
        uow.exceptions()
            .put(ex_id, ex.clone())
            .expect("put exception");
        uow.tasks()
            .put(
                task_id.clone(),
                HubTask {
                    node: n.clone(),
                    spec: TaskSpec::new(task_id.clone(), TaskKind::Count),
                    origin: TaskOrigin::Hub,
                    status: TaskStatus::Open,
                    lines: Vec::new(),
                    spawned: 0,
                    created_ms: 1,
                },
            )
            .expect("put task");
        uow.stock().set_location(
            &n,
            &loc("A-01"),
            LocationInfo {
                kind: LocationKind::Pick,
                pickable: true,
                capacity: None,
            },
        );
        let e = receive("CONF-ROWS", 1, "A-01", "CONF-ROWS-A", 5);
        uow.stock().apply(&e).expect("apply a receipt");
        uow.append_event(stored(e)).expect("append event");
        let kpi = receive("CONF-ROWS", 1, "A-01", "CONF-ROWS-A", 5);
        uow.push_kpi_event(kpi, 10).expect("push kpi event");
    }
    commit(&mut repo, "rows");
    let mut repo = backend.reopen(repo);
    let view = repo.books_view();
    let uow = repo.uow();
    assert_eq!(
        get_item(uow, "CONF-ROWS-A"),
        Some(item("CONF-ROWS-A", 7)),
        "conformance: a committed item is read back after a reopen"
    );
    assert_eq!(
        uow.nodes()
            .get(&n)
            .expect("read node")
            .map(|m| (*m).clone()),
        Some(master("rows")),
        "conformance: a committed node is read back after a reopen"
    );
    assert_eq!(
        uow.credentials()
            .get(&n)
            .expect("read credential")
            .map(|c| (*c).clone()),
        Some(credential()),
        "conformance: a committed node credential is read back after a reopen"
    );
    let found = uow
        .exception_by_key(&ex.exception)
        .expect("exception by key");
    let row = found.and_then(|id| uow.exceptions().get(&id).expect("read exception"));
    assert_eq!(
        row.map(|r| (*r).clone()),
        Some(ex),
        "conformance: a committed exception is found by its key after a reopen"
    );
    assert_eq!(
        uow.open_tasks_of_node(&n).expect("open tasks"),
        vec![task_id],
        "conformance: the open-task index is rebuilt after a reopen"
    );
    let stock = uow.stock_view();
    assert_eq!(stock.applied_seq(&n), 1, "conformance: applied sequence");
    assert_eq!(
        stock.available(&n, &sku("CONF-ROWS-A")),
        Dec::from_int(5).expect("dec"),
        "conformance: balances and locations are read back after a reopen"
    );
    assert!(
        stock.location(&n, &loc("A-01")).is_some_and(|i| i.pickable),
        "conformance: locations are read back"
    );
    assert_eq!(
        seqs(&uow.events(&n, 0, 10).expect("events")),
        vec![1],
        "conformance: the event log is read back after a reopen"
    );
    assert!(
        view.items.contains_key(&sku("CONF-ROWS-A")) && !view.kpi_events.is_empty(),
        "conformance: the books view shows what was committed"
    );
}

/// A round whose commit fails keeps nothing: rows, ids, events, deliveries and stock are as
/// the last commit left them, in the same repository and after a reopen.
pub fn a_failed_commit_keeps_nothing_of_its_round<B: Backend>(backend: &mut B) {
    let mut repo = backend.open();
    let n = node("CONF-FAIL");
    let before_ids: Vec<u64> = Counter::ALL
        .iter()
        .map(|c| repo.uow().next_id(*c).expect("next id"))
        .collect();
    commit(&mut repo, "the ids before the failure");
    let probe: Vec<u64> = {
        let uow = repo.uow();
        uow.items()
            .put(sku("CONF-FAIL-A"), item("CONF-FAIL-A", 1))
            .expect("put item");
        let e = receive("CONF-FAIL", 1, "A-01", "CONF-FAIL-A", 3);
        uow.stock().apply(&e).expect("apply");
        uow.append_event(stored(e)).expect("append");
        let id = uow.next_id(Counter::Webhook).expect("webhook id");
        uow.stage_delivery(delivery(id)).expect("stage");
        Counter::ALL
            .iter()
            .map(|c| uow.next_id(*c).expect("next id"))
            .collect()
    };
    backend.fail_next_commit(&mut repo);
    assert!(
        repo.commit().is_err(),
        "conformance: fail_next_commit makes the commit fail"
    );
    repo.rollback();
    for round in ["the same repository", "a reopen"] {
        let uow = repo.uow();
        assert_eq!(
            get_item(uow, "CONF-FAIL-A"),
            None,
            "conformance: a failed commit keeps no row ({round})"
        );
        assert_eq!(
            uow.stock_view().applied_seq(&n),
            0,
            "conformance: a failed commit keeps no stock ({round})"
        );
        assert!(
            uow.events(&n, 0, 10).expect("events").is_empty(),
            "conformance: a failed commit keeps no event ({round})"
        );
        let again: Vec<u64> = Counter::ALL
            .iter()
            .map(|c| uow.next_id(*c).expect("next id"))
            .collect();
        let expected: Vec<u64> = before_ids.iter().map(|i| i + 1).collect();
        assert_eq!(
            again, expected,
            "conformance: ids of a failed round are handed out again ({round}); they were {probe:?}"
        );
        repo.rollback();
        assert!(
            backend.outbox(&repo).is_empty(),
            "conformance: a failed commit stages no webhook delivery ({round})"
        );
        repo = backend.reopen(repo);
    }
}

/// Ids from each counter start at 1, count up across commits and reopens, and are never
/// handed out twice.
pub fn ids_are_never_handed_out_twice<B: Backend>(backend: &mut B) {
    let mut repo = backend.open();
    let mut last: Vec<u64> = Vec::new();
    for c in Counter::ALL {
        let a = repo.uow().next_id(c).expect("next id");
        let b = repo.uow().next_id(c).expect("next id");
        assert!(a >= 1, "conformance: {} starts at 1", c.name());
        assert!(b > a, "conformance: {} counts up in a round", c.name());
        last.push(b);
    }
    commit(&mut repo, "ids");
    let mut repo = backend.reopen(repo);
    for (c, was) in Counter::ALL.iter().zip(&last) {
        let next = repo.uow().next_id(*c).expect("next id");
        assert!(
            next > *was,
            "conformance: after a reopen {} went on: {was} then {next}",
            c.name()
        );
    }
    commit(&mut repo, "ids after the reopen");
}

/// Events are read back per node in sequence order from any point, committed ones and this
/// round's alike, and a limit is honoured.
pub fn events_are_read_back_in_sequence_order<B: Backend>(backend: &mut B) {
    let mut repo = backend.open();
    let a = node("CONF-EV-A");
    let b = node("CONF-EV-B");
    {
        let uow = repo.uow();
        for (n, seq) in [("CONF-EV-A", 1), ("CONF-EV-B", 1), ("CONF-EV-A", 2)] {
            let e = receive(n, seq, "A-01", "CONF-EV", 1);
            uow.stock().apply(&e).expect("apply");
            uow.append_event(stored(e)).expect("append");
        }
    }
    commit(&mut repo, "events");
    let mut repo = backend.reopen(repo);
    let uow = repo.uow();
    let e = receive("CONF-EV-A", 3, "A-01", "CONF-EV", 1);
    uow.stock().apply(&e).expect("apply");
    uow.append_event(stored(e.clone())).expect("append");
    let all = uow.events(&a, 0, 10).expect("events");
    assert_eq!(
        seqs(&all),
        vec![1, 2, 3],
        "conformance: committed events then this round's, in sequence order"
    );
    assert_eq!(
        all.last().map(|s| &s.event),
        Some(&e),
        "conformance: as appended"
    );
    assert_eq!(
        seqs(&uow.events(&a, 1, 1).expect("events")),
        vec![2],
        "conformance: events after a sequence, limited"
    );
    assert_eq!(
        seqs(&uow.events(&a, 2, 10).expect("events")),
        vec![3],
        "conformance: this round's events after a committed sequence"
    );
    assert_eq!(
        seqs(&uow.events(&b, 0, 10).expect("events")),
        vec![1],
        "conformance: another node's events are its own"
    );
    commit(&mut repo, "the third event");
    let mut repo = backend.reopen(repo);
    assert_eq!(
        seqs(&repo.uow().events(&a, 0, 10).expect("events")),
        vec![1, 2, 3],
        "conformance: events committed in two rounds are read back in order"
    );
}

/// Deliveries staged in a round are handed back by its commit and stay in the outbox across a
/// reopen until finished; a delivery given up goes to the dead letters.
pub fn staged_webhooks_survive_a_reopen_and_leave_when_finished<B: Backend>(backend: &mut B) {
    let mut repo = backend.open();
    let before = backend.outbox(&repo);
    let ids: Vec<u64> = (0..2)
        .map(|_| {
            let uow = repo.uow();
            let id = uow.next_id(Counter::Webhook).expect("webhook id");
            uow.stage_delivery(delivery(id)).expect("stage");
            id
        })
        .collect();
    let committed = repo
        .commit()
        .expect("conformance: commit of staged deliveries");
    assert_eq!(
        committed
            .deliveries
            .iter()
            .map(|d| d.id)
            .collect::<Vec<_>>(),
        ids,
        "conformance: the commit hands back the deliveries it staged"
    );
    let mut repo = backend.reopen(repo);
    let outbox = backend.outbox(&repo);
    for id in &ids {
        assert!(
            outbox.contains(id),
            "conformance: staged delivery {id} is in the outbox after a reopen ({outbox:?})"
        );
    }
    repo.uow()
        .finish_delivery(ids[0], None)
        .expect("finish delivered");
    let letter = DeadLetter {
        attempts: 5,
        last_error: "conformance: refused".into(),
        at_ms: 1_700_000_001_000,
    };
    repo.uow()
        .finish_delivery(ids[1], Some(letter))
        .expect("finish dead");
    commit(&mut repo, "finished deliveries");
    let repo = backend.reopen(repo);
    let outbox = backend.outbox(&repo);
    assert_eq!(
        outbox, before,
        "conformance: finished deliveries leave the outbox"
    );
    let dead = backend.dead_letters(&repo);
    assert!(
        dead.contains(&ids[1]) && !dead.contains(&ids[0]),
        "conformance: only the delivery given up is a dead letter ({dead:?})"
    );
}

/// Reads inside a unit of work see its own writes, indexes included.
pub fn reads_inside_a_unit_of_work_see_its_own_writes<B: Backend>(backend: &mut B) {
    let mut repo = backend.open();
    let n = node("CONF-OWN");
    let uow = repo.uow();
    uow.items()
        .put(sku("CONF-OWN-A"), item("CONF-OWN-A", 2))
        .expect("put");
    assert_eq!(
        get_item(uow, "CONF-OWN-A"),
        Some(item("CONF-OWN-A", 2)),
        "conformance: a row written in the round is read in it"
    );
    let ex = exception(ExceptionCode::UnknownNode, "CONF-OWN", "conformance own");
    let ex_id = uow.next_id(Counter::Exception).expect("id");
    uow.exceptions()
        .put(ex_id, ex.clone())
        .expect("put exception");
    assert_eq!(
        uow.exception_by_key(&ex.exception).expect("by key"),
        Some(ex_id),
        "conformance: an exception written in the round is found by its key"
    );
    assert_eq!(
        uow.open_incident(ExceptionCode::UnknownNode, &n)
            .expect("incident"),
        Some(ex_id),
        "conformance: an open incident written in the round is found by node"
    );
    let q_id = uow.next_id(Counter::Quarantine).expect("id");
    let record = QuarantineRecord {
        kind: QuarantineKind::Poison,
        digest: [7; 32],
        head: b"conformance".to_vec(),
        len: 11,
        reason: "conformance".into(),
        node: Some(n.clone()),
        seq: None,
        first_seen_ms: 1,
        last_seen_ms: 1,
        count: 1,
        exception: None,
    };
    uow.quarantine().put(q_id, record).expect("put quarantine");
    assert_eq!(
        uow.quarantine_by_digest(&[7; 32]).expect("by digest"),
        Some(q_id),
        "conformance: a quarantine record written in the round is found by digest"
    );
    assert_eq!(
        uow.quarantine_oldest(Some(Some(&n))).expect("oldest"),
        (1, Some(q_id)),
        "conformance: the quarantine per node counts the round's record"
    );
    let order = OrderRef::new("CONF-OWN-SO").expect("order ref");
    let t = TaskId::new("conf-own-pick").expect("task id");
    let mut spec = TaskSpec::new(t.clone(), TaskKind::Pick);
    spec.order = Some(order.clone());
    let task = HubTask {
        node: n.clone(),
        spec,
        origin: TaskOrigin::Hub,
        status: TaskStatus::Open,
        lines: Vec::new(),
        spawned: 0,
        created_ms: 1,
    };
    uow.tasks().put(t.clone(), task.clone()).expect("put task");
    assert_eq!(
        uow.tasks_of_order(&order).expect("of order"),
        vec![t.clone()]
    );
    assert_eq!(uow.open_tasks_of_node(&n).expect("open"), vec![t.clone()]);
    let mut done = task;
    done.status = TaskStatus::Done;
    uow.tasks().put(t.clone(), done).expect("finish task");
    assert!(
        uow.open_tasks_of_node(&n).expect("open").is_empty(),
        "conformance: a task finished in the round leaves the open-task index"
    );
    uow.items().remove(&sku("CONF-OWN-A")).expect("remove");
    assert_eq!(
        get_item(uow, "CONF-OWN-A"),
        None,
        "conformance: a row removed in the round is gone in it"
    );
    commit(&mut repo, "own writes");
    let mut repo = backend.reopen(repo);
    assert_eq!(
        get_item(repo.uow(), "CONF-OWN-A"),
        None,
        "conformance: a row written and removed in one round is not stored"
    );
}

/// Rolling back to a mark undoes what came after it (rows, ids, events, deliveries, stock) and
/// keeps what came before; the commit stores only the kept part.
pub fn a_rollback_to_a_mark_undoes_only_what_came_after_it<B: Backend>(backend: &mut B) {
    let mut repo = backend.open();
    let n = node("CONF-MARK");
    let uow = repo.uow();
    uow.items()
        .put(sku("CONF-MARK-A"), item("CONF-MARK-A", 1))
        .expect("put");
    let e1 = receive("CONF-MARK", 1, "A-01", "CONF-MARK-A", 1);
    uow.stock().apply(&e1).expect("apply");
    uow.append_event(stored(e1)).expect("append");
    let id_before = uow.next_id(Counter::Adjustment).expect("id");
    let mark = uow.mark();
    uow.items()
        .put(sku("CONF-MARK-B"), item("CONF-MARK-B", 1))
        .expect("put");
    uow.items()
        .put(sku("CONF-MARK-A"), item("CONF-MARK-A", 99))
        .expect("overwrite");
    let e2 = receive("CONF-MARK", 2, "A-01", "CONF-MARK-A", 1);
    uow.stock().apply(&e2).expect("apply");
    uow.append_event(stored(e2)).expect("append");
    let undone = uow.next_id(Counter::Adjustment).expect("id");
    let hook = uow.next_id(Counter::Webhook).expect("id");
    uow.stage_delivery(delivery(hook)).expect("stage");
    uow.rollback_to(&mark);
    assert_eq!(get_item(uow, "CONF-MARK-A"), Some(item("CONF-MARK-A", 1)));
    assert_eq!(get_item(uow, "CONF-MARK-B"), None);
    assert_eq!(uow.stock_view().applied_seq(&n), 1);
    assert_eq!(seqs(&uow.events(&n, 0, 10).expect("events")), vec![1]);
    assert_eq!(
        uow.next_id(Counter::Adjustment).expect("id"),
        undone,
        "conformance: an id handed out after the mark is handed out again ({id_before} was kept)"
    );
    let committed = repo
        .commit()
        .expect("conformance: commit after a rollback to a mark");
    assert!(
        committed.deliveries.iter().all(|d| d.id != hook),
        "conformance: a delivery staged after the mark is not committed"
    );
    let mut repo = backend.reopen(repo);
    let uow = repo.uow();
    assert_eq!(get_item(uow, "CONF-MARK-A"), Some(item("CONF-MARK-A", 1)));
    assert_eq!(get_item(uow, "CONF-MARK-B"), None);
    assert_eq!(uow.stock_view().applied_seq(&n), 1);
    assert_eq!(seqs(&uow.events(&n, 0, 10).expect("events")), vec![1]);
}

/// [`Repository::rollback`] drops the open round and nothing committed before it.
pub fn a_rollback_of_the_round_keeps_what_was_committed<B: Backend>(backend: &mut B) {
    let mut repo = backend.open();
    repo.uow()
        .items()
        .put(sku("CONF-RB-A"), item("CONF-RB-A", 1))
        .expect("put");
    commit(&mut repo, "the kept row");
    repo.uow()
        .items()
        .put(sku("CONF-RB-A"), item("CONF-RB-A", 2))
        .expect("overwrite");
    repo.uow()
        .items()
        .put(sku("CONF-RB-B"), item("CONF-RB-B", 1))
        .expect("put");
    repo.rollback();
    assert_eq!(
        get_item(repo.uow(), "CONF-RB-A"),
        Some(item("CONF-RB-A", 1))
    );
    assert_eq!(get_item(repo.uow(), "CONF-RB-B"), None);
    commit(&mut repo, "an empty round");
    let mut repo = backend.reopen(repo);
    assert_eq!(
        get_item(repo.uow(), "CONF-RB-A"),
        Some(item("CONF-RB-A", 1))
    );
    assert_eq!(get_item(repo.uow(), "CONF-RB-B"), None);
}

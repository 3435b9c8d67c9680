//! [`Books`]: every table of the hub in memory, journaled, as one [`UnitOfWork`]. Both the
//! memory backend and the hub's embedded store keep their working set here: the embedded store
//! loads it at start, writes each round's changes ([`Books::round`]) in one durable batch, and
//! then settles it ([`Books::settle`]) or rolls it back ([`Books::abort`]).

use super::indexed::Indexed;
use super::journaled::Journaled;
use super::{Counter, Mark, RepoResult, Table, UnitOfWork};
use crate::read::{BooksView, StockView};
use crate::records::{
    DeadLetter, Delivery, Digest, DocRecord, DownlinkMarks, HubTask, ItemRecord, NodeCredential,
    NodeMaster, QuarantineRecord, StoredAdjustment, StoredEvent, StoredException,
};
use std::ops::Bound;
use std::sync::Arc;
use stockpost_common::domain::{DocRef, Event, ExceptionCode, NodeId, OrderRef, Sku, TaskId};
use stockpost_common::ledger::{Ledger, LedgerChanges, Stock};
use stockpost_common::orders::{AuditEntry, Exception, Order};
use stockpost_common::wire::DownlinkItem;

/// Reads the committed part of the event log (the store, or memory).
pub trait EventLog: Send + std::fmt::Debug {
    /// Committed events of `node` after `after`, at most `limit`, in sequence order.
    fn read(&self, node: &NodeId, after: u64, limit: usize) -> RepoResult<Vec<StoredEvent>>;
}

/// Index entries of the exceptions table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExceptionIx {
    /// The exception (resolution aside) and its id: raising the same exception twice finds it.
    Key(Box<Exception>, u64),
    /// An open exception raised once per node (`sequence_reused`, `unknown_node`,
    /// `poison_message`, `unauthenticated_message`).
    Incident(ExceptionCode, NodeId, u64),
}

/// Codes raised at most once per node while open.
pub const INCIDENT_CODES: [ExceptionCode; 4] = [
    ExceptionCode::SequenceReused,
    ExceptionCode::UnknownNode,
    ExceptionCode::PoisonMessage,
    ExceptionCode::UnauthenticatedMessage,
];

/// The key an exception is found by: itself, unresolved.
pub fn exception_key(e: &Exception) -> Exception {
    let mut k = e.clone();
    k.resolved_at_ms = None;
    k
}

fn exception_ix(id: &u64, s: &StoredException) -> Vec<ExceptionIx> {
    let e = &s.exception;
    let mut out = vec![ExceptionIx::Key(Box::new(exception_key(e)), *id)];
    if let (true, Some(node)) = (e.is_open() && INCIDENT_CODES.contains(&e.code), &e.node) {
        out.push(ExceptionIx::Incident(e.code, node.clone(), *id));
    }
    out
}

/// Index entries of the tasks table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum TaskIx {
    /// A task made for an order (`None` only in range probes: it sorts first).
    Order(OrderRef, Option<TaskId>),
    /// An open task of a node (`None` only in range probes).
    OpenOfNode(NodeId, Option<TaskId>),
}

fn task_ix(id: &TaskId, t: &HubTask) -> Vec<TaskIx> {
    let mut out = Vec::new();
    if let Some(o) = &t.spec.order {
        out.push(TaskIx::Order(o.clone(), Some(id.clone())));
    }
    if t.is_open() {
        out.push(TaskIx::OpenOfNode(t.node.clone(), Some(id.clone())));
    }
    out
}

/// Index entries of the quarantine table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum QuarantineIx {
    /// By digest.
    Digest(Digest, u64),
    /// By node (none: a message that named no node), oldest first.
    Node(Option<NodeId>, u64),
}

fn quarantine_ix(id: &u64, q: &QuarantineRecord) -> Vec<QuarantineIx> {
    vec![
        QuarantineIx::Digest(q.digest, *id),
        QuarantineIx::Node(q.node.clone(), *id),
    ]
}

fn open_order_ix(r: &OrderRef, o: &Order) -> Vec<OrderRef> {
    if o.is_closed() {
        Vec::new()
    } else {
        vec![r.clone()]
    }
}

/// Every table of the hub, as loaded by a backend.
#[derive(Debug, Default)]
pub struct LoadedBooks {
    /// The stock.
    pub ledger: Ledger,
    /// Items.
    pub items: Vec<(Sku, ItemRecord)>,
    /// Nodes.
    pub nodes: Vec<(NodeId, NodeMaster)>,
    /// The nodes' sync credentials.
    pub credentials: Vec<(NodeId, NodeCredential)>,
    /// Orders.
    pub orders: Vec<(OrderRef, Order)>,
    /// Exceptions.
    pub exceptions: Vec<(u64, StoredException)>,
    /// Adjustments.
    pub adjustments: Vec<(u64, StoredAdjustment)>,
    /// Tasks.
    pub tasks: Vec<(TaskId, HubTask)>,
    /// Inbound notices.
    pub inbound: Vec<(DocRef, DocRecord)>,
    /// Returns.
    pub returns: Vec<(DocRef, DocRecord)>,
    /// Downlink marks.
    pub downlink_marks: Vec<(NodeId, DownlinkMarks)>,
    /// Downlink items.
    pub downlink_items: Vec<((NodeId, u64), DownlinkItem)>,
    /// Quarantine.
    pub quarantine: Vec<(u64, QuarantineRecord)>,
    /// Counters: the next id of each.
    pub counters: Vec<(Counter, u64)>,
    /// The KPI window: position → event.
    pub kpi: Vec<(u64, Event)>,
}

/// What one round changed, for a backend to write (current rows; `None`: deleted).
#[derive(Debug)]
pub struct Round<'a> {
    /// The books, to read current stock values from.
    pub books: &'a Books,
    /// Stock keys changed.
    pub ledger: LedgerChanges,
    /// Items changed.
    pub items: Changes<Sku, ItemRecord>,
    /// Nodes changed.
    pub nodes: Changes<NodeId, NodeMaster>,
    /// Credentials changed.
    pub credentials: Changes<NodeId, NodeCredential>,
    /// Orders changed.
    pub orders: Changes<OrderRef, Order>,
    /// Exceptions changed.
    pub exceptions: Vec<(u64, Option<Arc<StoredException>>)>,
    /// Adjustments changed.
    pub adjustments: Vec<(u64, Option<Arc<StoredAdjustment>>)>,
    /// Tasks changed.
    pub tasks: Changes<TaskId, HubTask>,
    /// Inbound notices changed.
    pub inbound: Changes<DocRef, DocRecord>,
    /// Returns changed.
    pub returns: Changes<DocRef, DocRecord>,
    /// Downlink marks changed.
    pub downlink_marks: Changes<NodeId, DownlinkMarks>,
    /// Downlink items changed.
    pub downlink_items: Changes<(NodeId, u64), DownlinkItem>,
    /// Quarantine records changed.
    pub quarantine: Vec<(u64, Option<Arc<QuarantineRecord>>)>,
    /// Counters changed.
    pub counters: Vec<(Counter, Option<Arc<u64>>)>,
    /// KPI window positions changed.
    pub kpi: Vec<(u64, Option<Arc<Event>>)>,
    /// Events appended.
    pub events: &'a [StoredEvent],
    /// Audit entries appended, with their ids.
    pub audit: &'a [(u64, AuditEntry)],
    /// Webhook deliveries staged.
    pub deliveries: &'a [Delivery],
    /// Webhook deliveries finished.
    pub finished: &'a [(u64, Option<DeadLetter>)],
}

/// The hub's books in memory. See the module docs.
#[derive(Debug)]
pub struct Books {
    pub(crate) ledger: Ledger,
    pub(crate) items: Journaled<Sku, ItemRecord>,
    pub(crate) nodes: Journaled<NodeId, NodeMaster>,
    pub(crate) credentials: Journaled<NodeId, NodeCredential>,
    pub(crate) orders: Indexed<OrderRef, Order, OrderRef>,
    pub(crate) exceptions: Indexed<u64, StoredException, ExceptionIx>,
    pub(crate) adjustments: Journaled<u64, StoredAdjustment>,
    pub(crate) tasks: Indexed<TaskId, HubTask, TaskIx>,
    pub(crate) inbound: Journaled<DocRef, DocRecord>,
    pub(crate) returns: Journaled<DocRef, DocRecord>,
    pub(crate) downlink_marks: Journaled<NodeId, DownlinkMarks>,
    pub(crate) downlink_items: Journaled<(NodeId, u64), DownlinkItem>,
    pub(crate) quarantine: Indexed<u64, QuarantineRecord, QuarantineIx>,
    pub(crate) counters: Journaled<Counter, u64>,
    pub(crate) kpi: Journaled<u64, Event>,
    pub(crate) events: Vec<StoredEvent>,
    pub(crate) audit: Vec<(u64, AuditEntry)>,
    pub(crate) deliveries: Vec<Delivery>,
    pub(crate) finished: Vec<(u64, Option<DeadLetter>)>,
    stock_view: StockView,
    log: Box<dyn EventLog>,
}

impl Books {
    /// The books from loaded tables, reading committed events through `log`.
    pub fn new(loaded: LoadedBooks, log: Box<dyn EventLog>) -> Self {
        let mut ledger = loaded.ledger;
        ledger.start_journal();
        ledger.settle_journal();
        let stock_view = StockView::of(&ledger);
        Self {
            ledger,
            items: Journaled::from_rows(loaded.items),
            nodes: Journaled::from_rows(loaded.nodes),
            credentials: Journaled::from_rows(loaded.credentials),
            orders: Indexed::from_rows(loaded.orders, open_order_ix),
            exceptions: Indexed::from_rows(loaded.exceptions, exception_ix),
            adjustments: Journaled::from_rows(loaded.adjustments),
            tasks: Indexed::from_rows(loaded.tasks, task_ix),
            inbound: Journaled::from_rows(loaded.inbound),
            returns: Journaled::from_rows(loaded.returns),
            downlink_marks: Journaled::from_rows(loaded.downlink_marks),
            downlink_items: Journaled::from_rows(loaded.downlink_items),
            quarantine: Indexed::from_rows(loaded.quarantine, quarantine_ix),
            counters: Journaled::from_rows(loaded.counters),
            kpi: Journaled::from_rows(loaded.kpi),
            events: Vec::new(),
            audit: Vec::new(),
            deliveries: Vec::new(),
            finished: Vec::new(),
            stock_view,
            log,
        }
    }

    /// The books as of the last settle, for readers.
    pub fn view(&self) -> BooksView {
        BooksView {
            items: self.items.snapshot(),
            nodes: self.nodes.snapshot(),
            credentials: self.credentials.snapshot(),
            orders: self.orders.rows().snapshot(),
            exceptions: self.exceptions.rows().snapshot(),
            exception_index: self.exceptions.index_snapshot(),
            adjustments: self.adjustments.snapshot(),
            tasks: self.tasks.rows().snapshot(),
            task_index: self.tasks.index_snapshot(),
            inbound: self.inbound.snapshot(),
            returns: self.returns.snapshot(),
            downlink: self.downlink_marks.snapshot(),
            quarantine: self.quarantine.rows().snapshot(),
            kpi_events: self.kpi.snapshot(),
            stock: self.stock_view.clone(),
        }
    }

    /// The stock as the books hold it.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// What this round changed.
    pub fn round(&self) -> Round<'_> {
        Round {
            books: self,
            ledger: self.ledger.pending_changes(),
            items: changes(&self.items),
            nodes: changes(&self.nodes),
            credentials: changes(&self.credentials),
            orders: changes(self.orders.rows()),
            exceptions: changes(self.exceptions.rows()),
            adjustments: changes(&self.adjustments),
            tasks: changes(self.tasks.rows()),
            inbound: changes(&self.inbound),
            returns: changes(&self.returns),
            downlink_marks: changes(&self.downlink_marks),
            downlink_items: changes(&self.downlink_items),
            quarantine: changes(self.quarantine.rows()),
            counters: changes(&self.counters),
            kpi: changes(&self.kpi),
            events: &self.events,
            audit: &self.audit,
            deliveries: &self.deliveries,
            finished: &self.finished,
        }
    }

    /// The round is durable: forget its undo information; returns what it appended.
    pub fn settle(&mut self) -> Settled {
        let changes = self.ledger.pending_changes();
        self.settle_changes(&changes)
    }

    /// [`Books::settle`] with the stock keys the round changed, as [`Books::round`] gave them
    /// (so a backend that wrote them need not work them out again).
    pub fn settle_changes(&mut self, changes: &LedgerChanges) -> Settled {
        self.stock_view.update(&self.ledger, changes);
        self.ledger.settle_journal();
        self.items.forget_changes();
        self.nodes.forget_changes();
        self.credentials.forget_changes();
        self.orders.rows_mut().forget_changes();
        self.orders.settle_index();
        self.exceptions.rows_mut().forget_changes();
        self.exceptions.settle_index();
        self.adjustments.forget_changes();
        self.tasks.rows_mut().forget_changes();
        self.tasks.settle_index();
        self.inbound.forget_changes();
        self.returns.forget_changes();
        self.downlink_marks.forget_changes();
        self.downlink_items.forget_changes();
        self.quarantine.rows_mut().forget_changes();
        self.quarantine.settle_index();
        self.counters.forget_changes();
        self.kpi.forget_changes();
        self.audit.clear();
        self.finished.clear();
        Settled {
            events: std::mem::take(&mut self.events),
            deliveries: std::mem::take(&mut self.deliveries),
        }
    }

    /// The round failed: undo all of it.
    pub fn abort(&mut self) {
        self.rollback_to(&Mark(vec![0; MARKS]));
        let _ = self.settle();
    }
}

/// What a settled round appended.
#[derive(Debug, Default)]
pub struct Settled {
    /// Events.
    pub events: Vec<StoredEvent>,
    /// Webhook deliveries.
    pub deliveries: Vec<Delivery>,
}

/// How many positions a [`Mark`] of the books has.
const MARKS: usize = 24;

/// The changed rows of a table: key and current row (`None`: deleted).
pub type Changes<K, V> = Vec<(K, Option<Arc<V>>)>;

fn changes<K: Ord + Clone, V>(t: &Journaled<K, V>) -> Changes<K, V> {
    t.dirty_rows()
}

impl<K: Ord + Clone, V> Journaled<K, V> {
    /// The keys changed since the last settle, with their current rows.
    pub fn dirty_rows(&self) -> Vec<(K, Option<Arc<V>>)> {
        self.dirty_keys()
            .map(|k| (k.clone(), self.row(k).cloned()))
            .collect()
    }
}

impl UnitOfWork for Books {
    fn stock(&mut self) -> &mut dyn Stock {
        &mut self.ledger
    }
    fn stock_view(&self) -> &dyn Stock {
        &self.ledger
    }
    fn items(&mut self) -> &mut dyn Table<Sku, ItemRecord> {
        &mut self.items
    }
    fn nodes(&mut self) -> &mut dyn Table<NodeId, NodeMaster> {
        &mut self.nodes
    }
    fn credentials(&mut self) -> &mut dyn Table<NodeId, NodeCredential> {
        &mut self.credentials
    }
    fn orders(&mut self) -> &mut dyn Table<OrderRef, Order> {
        &mut self.orders
    }
    fn exceptions(&mut self) -> &mut dyn Table<u64, StoredException> {
        &mut self.exceptions
    }
    fn adjustments(&mut self) -> &mut dyn Table<u64, StoredAdjustment> {
        &mut self.adjustments
    }
    fn tasks(&mut self) -> &mut dyn Table<TaskId, HubTask> {
        &mut self.tasks
    }
    fn inbound(&mut self) -> &mut dyn Table<DocRef, DocRecord> {
        &mut self.inbound
    }
    fn returns(&mut self) -> &mut dyn Table<DocRef, DocRecord> {
        &mut self.returns
    }
    fn downlink_marks(&mut self) -> &mut dyn Table<NodeId, DownlinkMarks> {
        &mut self.downlink_marks
    }
    fn downlink_items(&mut self) -> &mut dyn Table<(NodeId, u64), DownlinkItem> {
        &mut self.downlink_items
    }
    fn quarantine(&mut self) -> &mut dyn Table<u64, QuarantineRecord> {
        &mut self.quarantine
    }

    fn open_orders(&self) -> RepoResult<Vec<OrderRef>> {
        Ok(self
            .orders
            .index_range(Bound::Unbounded, Bound::Unbounded)
            .cloned()
            .collect())
    }

    fn exception_by_key(&self, e: &Exception) -> RepoResult<Option<u64>> {
        let probe = ExceptionIx::Key(Box::new(exception_key(e)), 0);
        let found = self
            .exceptions
            .index_range(Bound::Included(&probe), Bound::Unbounded)
            .next()
            .and_then(|ix| match ix {
                ExceptionIx::Key(k, id) if **k == exception_key(e) => Some(*id),
                _ => None,
            });
        Ok(found)
    }

    fn open_incident(&self, code: ExceptionCode, node: &NodeId) -> RepoResult<Option<u64>> {
        let probe = ExceptionIx::Incident(code, node.clone(), 0);
        let found = self
            .exceptions
            .index_range(Bound::Included(&probe), Bound::Unbounded)
            .next()
            .and_then(|ix| match ix {
                ExceptionIx::Incident(c, n, id) if *c == code && n == node => Some(*id),
                _ => None,
            });
        Ok(found)
    }

    fn tasks_of_order(&self, order: &OrderRef) -> RepoResult<Vec<TaskId>> {
        let probe = TaskIx::Order(order.clone(), None);
        Ok(self
            .tasks
            .index_range(Bound::Excluded(&probe), Bound::Unbounded)
            .map_while(|ix| match ix {
                TaskIx::Order(o, Some(id)) if o == order => Some(id.clone()),
                _ => None,
            })
            .collect())
    }

    fn open_tasks_of_node(&self, node: &NodeId) -> RepoResult<Vec<TaskId>> {
        let probe = TaskIx::OpenOfNode(node.clone(), None);
        Ok(self
            .tasks
            .index_range(Bound::Excluded(&probe), Bound::Unbounded)
            .map_while(|ix| match ix {
                TaskIx::OpenOfNode(n, Some(id)) if n == node => Some(id.clone()),
                _ => None,
            })
            .collect())
    }

    fn quarantine_by_digest(&self, digest: &Digest) -> RepoResult<Option<u64>> {
        let probe = QuarantineIx::Digest(*digest, 0);
        let found = self
            .quarantine
            .index_range(Bound::Included(&probe), Bound::Unbounded)
            .next()
            .and_then(|ix| match ix {
                QuarantineIx::Digest(d, id) if d == digest => Some(*id),
                _ => None,
            });
        Ok(found)
    }

    fn quarantine_oldest(&self, node: Option<Option<&NodeId>>) -> RepoResult<(u64, Option<u64>)> {
        let Some(node) = node else {
            let rows = self.quarantine.rows();
            let oldest = rows
                .range(Bound::Unbounded, Bound::Unbounded)
                .next()
                .map(|(k, _)| *k);
            return Ok((rows.len() as u64, oldest));
        };
        let node = node.cloned();
        let probe = QuarantineIx::Node(node.clone(), 0);
        let ids: Vec<u64> = self
            .quarantine
            .index_range(Bound::Included(&probe), Bound::Unbounded)
            .map_while(|ix| match ix {
                QuarantineIx::Node(n, id) if *n == node => Some(*id),
                _ => None,
            })
            .collect();
        Ok((ids.len() as u64, ids.first().copied()))
    }

    fn append_event(&mut self, event: StoredEvent) -> RepoResult<()> {
        self.events.push(event);
        Ok(())
    }

    fn events(&self, node: &NodeId, after: u64, limit: usize) -> RepoResult<Vec<StoredEvent>> {
        let mut out = self.log.read(node, after, limit)?;
        let last = out.last().map_or(after, |e| e.event.id.seq);
        out.extend(
            self.events
                .iter()
                .filter(|e| &e.event.id.node == node && e.event.id.seq > last)
                .cloned(),
        );
        out.truncate(limit);
        Ok(out)
    }

    fn append_audit(&mut self, entry: AuditEntry) -> RepoResult<u64> {
        let id = self.next_id(Counter::Audit)?;
        self.audit.push((id, entry));
        Ok(id)
    }

    fn push_kpi_event(&mut self, event: Event, cap: usize) -> RepoResult<()> {
        let next = self
            .kpi
            .range(Bound::Unbounded, Bound::Unbounded)
            .next_back()
            .map_or(0, |(k, _)| k + 1);
        self.kpi.put(next, event)?;
        while self.kpi.len() > cap {
            let Some(first) = self
                .kpi
                .range(Bound::Unbounded, Bound::Unbounded)
                .next()
                .map(|(k, _)| *k)
            else {
                break;
            };
            self.kpi.remove(&first)?;
        }
        Ok(())
    }

    fn stage_delivery(&mut self, delivery: Delivery) -> RepoResult<()> {
        self.deliveries.push(delivery);
        Ok(())
    }

    fn finish_delivery(&mut self, id: u64, dead: Option<DeadLetter>) -> RepoResult<()> {
        self.finished.push((id, dead));
        Ok(())
    }

    fn next_id(&mut self, counter: Counter) -> RepoResult<u64> {
        let id = self.counters.row(&counter).map_or(1, |v| **v);
        self.counters.put(counter, id + 1)?;
        Ok(id)
    }

    fn mark(&self) -> Mark {
        let (o1, o2) = self.orders.mark();
        let (e1, e2) = self.exceptions.mark();
        let (t1, t2) = self.tasks.mark();
        let (q1, q2) = self.quarantine.mark();
        Mark(vec![
            self.ledger.journal_mark(),
            self.items.mark(),
            self.nodes.mark(),
            o1,
            o2,
            e1,
            e2,
            self.adjustments.mark(),
            t1,
            t2,
            self.inbound.mark(),
            self.returns.mark(),
            self.downlink_marks.mark(),
            self.downlink_items.mark(),
            q1,
            q2,
            self.counters.mark(),
            self.kpi.mark(),
            self.events.len(),
            self.audit.len(),
            self.deliveries.len(),
            self.finished.len(),
            self.credentials.mark(),
            0,
        ])
    }

    fn rollback_to(&mut self, mark: &Mark) {
        let m = |i: usize| mark.0.get(i).copied().unwrap_or(0);
        self.ledger.rollback_to(m(0));
        self.items.rollback_to(m(1));
        self.nodes.rollback_to(m(2));
        self.orders.rollback_to((m(3), m(4)));
        self.exceptions.rollback_to((m(5), m(6)));
        self.adjustments.rollback_to(m(7));
        self.tasks.rollback_to((m(8), m(9)));
        self.inbound.rollback_to(m(10));
        self.returns.rollback_to(m(11));
        self.downlink_marks.rollback_to(m(12));
        self.downlink_items.rollback_to(m(13));
        self.quarantine.rollback_to((m(14), m(15)));
        self.counters.rollback_to(m(16));
        self.kpi.rollback_to(m(17));
        self.events.truncate(m(18));
        self.audit.truncate(m(19));
        self.deliveries.truncate(m(20));
        self.finished.truncate(m(21));
        self.credentials.rollback_to(m(22));
    }
}

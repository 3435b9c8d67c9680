//! The repository: the hub's books as the engine sees them, one unit of work per commit round.
//!
//! A [`UnitOfWork`] gives typed reads and writes of every table, the stock ([`Stock`]), id
//! allocation, the append-only logs (events, audit, KPI window) and webhook staging, all inside
//! one transaction. [`UnitOfWork::mark`] and [`UnitOfWork::rollback_to`] undo everything since a
//! mark: the engine takes a mark before each command and rolls back a rejected one, so a
//! rejected command changes nothing. [`Repository::commit`] makes the round durable, or fails and
//! leaves the books exactly as the last commit left them.
//!
//! Backends: [`memory::MemoryRepo`] (tests, no persistence) and the hub's embedded store
//! (`hub/src/repo/`); a database backend implements the same traits. Every backend passes
//! [`conformance`].

pub mod books;
pub mod conformance;
pub mod indexed;
pub mod journaled;
pub mod memory;

use crate::read::BooksView;
use crate::records::{
    DeadLetter, Delivery, Digest, DocRecord, DownlinkMarks, HubTask, ItemRecord, NodeCredential,
    NodeMaster, QuarantineRecord, StoredAdjustment, StoredEvent, StoredException,
};
use std::sync::Arc;
use stockpost_common::domain::{DocRef, Event, ExceptionCode, NodeId, OrderRef, Sku, TaskId};
use stockpost_common::ledger::Stock;
use stockpost_common::orders::{AuditEntry, Exception, Order};
use stockpost_common::wire::DownlinkItem;

/// Why the repository failed (never a rule: those are the engine's rejections).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoError {
    /// The storage failed.
    #[error("storage: {0}")]
    Storage(String),
    /// A stored value does not decode, or breaks an invariant of the layout.
    #[error("corrupt {table}: {reason}")]
    Corrupt {
        /// Which table.
        table: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// A repository result.
pub type RepoResult<T> = Result<T, RepoError>;

/// One table: rows by key.
pub trait Table<K, V> {
    /// The row under `key`.
    fn get(&self, key: &K) -> RepoResult<Option<Arc<V>>>;
    /// Writes a row.
    fn put(&mut self, key: K, value: V) -> RepoResult<()>;
    /// Deletes a row (absent: nothing happens).
    fn remove(&mut self, key: &K) -> RepoResult<()>;
    /// Up to `limit` rows after `after` (from the first when `None`), in key order.
    fn scan(&self, after: Option<&K>, limit: usize) -> RepoResult<Vec<(K, Arc<V>)>>;
}

/// The id counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Counter {
    /// Exception ids.
    Exception,
    /// Adjustment ids.
    Adjustment,
    /// Audit entry ids.
    Audit,
    /// Hub task numbers.
    Task,
    /// Quarantine ids.
    Quarantine,
    /// Webhook delivery ids.
    Webhook,
}

impl Counter {
    /// Every counter.
    pub const ALL: [Counter; 6] = [
        Counter::Exception,
        Counter::Adjustment,
        Counter::Audit,
        Counter::Task,
        Counter::Quarantine,
        Counter::Webhook,
    ];

    /// Its name in storage (`next_exception`, …).
    pub fn name(self) -> &'static str {
        match self {
            Counter::Exception => "next_exception",
            Counter::Adjustment => "next_adjustment",
            Counter::Audit => "next_audit",
            Counter::Task => "next_task",
            Counter::Quarantine => "next_quarantine",
            Counter::Webhook => "next_webhook",
        }
    }
}

/// A point of a unit of work to roll back to (from [`UnitOfWork::mark`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark(pub(crate) Vec<usize>);

/// The transaction of one commit round.
pub trait UnitOfWork {
    /// The stock: balances, reservations, approval holds, locations, applied sequences.
    fn stock(&mut self) -> &mut dyn Stock;
    /// The stock, for reading.
    fn stock_view(&self) -> &dyn Stock;
    /// Items.
    fn items(&mut self) -> &mut dyn Table<Sku, ItemRecord>;
    /// Registered nodes.
    fn nodes(&mut self) -> &mut dyn Table<NodeId, NodeMaster>;
    /// The nodes' sync credentials.
    fn credentials(&mut self) -> &mut dyn Table<NodeId, NodeCredential>;
    /// Orders.
    fn orders(&mut self) -> &mut dyn Table<OrderRef, Order>;
    /// Exceptions by id.
    fn exceptions(&mut self) -> &mut dyn Table<u64, StoredException>;
    /// Adjustments by id.
    fn adjustments(&mut self) -> &mut dyn Table<u64, StoredAdjustment>;
    /// Every node's tasks (the hub's and those nodes made).
    fn tasks(&mut self) -> &mut dyn Table<TaskId, HubTask>;
    /// Inbound notices.
    fn inbound(&mut self) -> &mut dyn Table<DocRef, DocRecord>;
    /// Return authorisations.
    fn returns(&mut self) -> &mut dyn Table<DocRef, DocRecord>;
    /// Downlink marks per node.
    fn downlink_marks(&mut self) -> &mut dyn Table<NodeId, DownlinkMarks>;
    /// Downlink items not yet acked, by (node, downlink sequence).
    fn downlink_items(&mut self) -> &mut dyn Table<(NodeId, u64), DownlinkItem>;
    /// Quarantined incidents by id.
    fn quarantine(&mut self) -> &mut dyn Table<u64, QuarantineRecord>;

    /// Orders that are not closed.
    fn open_orders(&self) -> RepoResult<Vec<OrderRef>>;
    /// The id of the exception equal to `e` (its resolution aside), if registered.
    fn exception_by_key(&self, e: &Exception) -> RepoResult<Option<u64>>;
    /// The open exception of `code` about `node`, for codes raised once per node
    /// (`sequence_reused`, `unknown_node`).
    fn open_incident(&self, code: ExceptionCode, node: &NodeId) -> RepoResult<Option<u64>>;
    /// Tasks made for `order`.
    fn tasks_of_order(&self, order: &OrderRef) -> RepoResult<Vec<TaskId>>;
    /// Open tasks of `node`.
    fn open_tasks_of_node(&self, node: &NodeId) -> RepoResult<Vec<TaskId>>;
    /// The quarantine record with this digest.
    fn quarantine_by_digest(&self, digest: &Digest) -> RepoResult<Option<u64>>;
    /// The oldest quarantine records, of `node` when given (`Some(None)`: of no node), else of
    /// all: (how many there are, the oldest id).
    fn quarantine_oldest(&self, node: Option<Option<&NodeId>>) -> RepoResult<(u64, Option<u64>)>;

    /// Appends a node event to the ledger's log.
    fn append_event(&mut self, event: StoredEvent) -> RepoResult<()>;
    /// Events of `node` after `after`, at most `limit` (this round's appends included).
    fn events(&self, node: &NodeId, after: u64, limit: usize) -> RepoResult<Vec<StoredEvent>>;
    /// Appends an audit entry; returns its id.
    fn append_audit(&mut self, entry: AuditEntry) -> RepoResult<u64>;
    /// Adds an event to the KPI window, dropping the oldest beyond `cap`.
    fn push_kpi_event(&mut self, event: Event, cap: usize) -> RepoResult<()>;
    /// Stages a webhook delivery in this round's commit.
    fn stage_delivery(&mut self, delivery: Delivery) -> RepoResult<()>;
    /// Takes a delivery out of the outbox; into the dead letters when `dead` is given.
    fn finish_delivery(&mut self, id: u64, dead: Option<DeadLetter>) -> RepoResult<()>;
    /// The next id of `counter` (ids start at 1 and are never handed out twice).
    fn next_id(&mut self, counter: Counter) -> RepoResult<u64>;

    /// A mark to roll back to.
    fn mark(&self) -> Mark;
    /// Undoes everything since `mark`.
    fn rollback_to(&mut self, mark: &Mark);
}

/// What a commit round changed that the IO shell must act on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Committed {
    /// Webhook deliveries staged in the round, now durable (hand them to the sender).
    pub deliveries: Vec<Delivery>,
}

/// A backend of the hub's books.
pub trait Repository {
    /// The open unit of work (one per round; it begins with the first change after a commit).
    fn uow(&mut self) -> &mut dyn UnitOfWork;
    /// Makes the round durable. On error nothing of the round is kept: the books are as the
    /// last successful commit left them.
    fn commit(&mut self) -> RepoResult<Committed>;
    /// Drops everything of the round.
    fn rollback(&mut self);
    /// The books as of the last commit, for readers (cheap: the tables are shared).
    fn books_view(&self) -> BooksView;
}

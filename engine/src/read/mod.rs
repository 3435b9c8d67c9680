//! The read model: the books as of the last commit, published after each commit round, so HTTP
//! reads and the dashboard never wait for the writer or the disk. Every table is a persistent
//! map shared with the writer (a snapshot costs O(1); the writer's next change copies only
//! what it touches); the stock is kept per (node, SKU) beside them ([`stock`]).

pub mod stock;

use crate::records::{
    DocRecord, DownlinkMarks, HubTask, ItemRecord, NodeCredential, NodeMaster, QuarantineRecord,
    StoredAdjustment, StoredException,
};
use crate::repo::books::{exception_key, ExceptionIx, TaskIx};
use imbl::OrdMap;
use std::collections::BTreeMap;
use std::sync::Arc;
pub use stock::{SkuStock, StockLine, StockView};
use stockpost_common::domain::{DocRef, Event, NodeId, OrderRef, Sku, TaskId};
use stockpost_common::orders::Order;

/// The books as of one commit.
#[derive(Debug, Clone, Default)]
pub struct BooksView {
    /// Items.
    pub items: OrdMap<Sku, Arc<ItemRecord>>,
    /// Registered nodes.
    pub nodes: OrdMap<NodeId, Arc<NodeMaster>>,
    /// The nodes' sync credentials (the MQTT side checks and tags with them; no HTTP read
    /// shows them).
    pub credentials: OrdMap<NodeId, Arc<NodeCredential>>,
    /// Orders.
    pub orders: OrdMap<OrderRef, Arc<Order>>,
    /// Exceptions by id.
    pub exceptions: OrdMap<u64, Arc<StoredException>>,
    /// The exceptions' index (by content, open incidents by node).
    pub exception_index: OrdMap<ExceptionIx, Arc<()>>,
    /// Adjustments by id.
    pub adjustments: OrdMap<u64, Arc<StoredAdjustment>>,
    /// Tasks.
    pub tasks: OrdMap<TaskId, Arc<HubTask>>,
    /// The tasks' index (by order, open by node).
    pub task_index: OrdMap<TaskIx, Arc<()>>,
    /// Inbound notices.
    pub inbound: OrdMap<DocRef, Arc<DocRecord>>,
    /// Returns.
    pub returns: OrdMap<DocRef, Arc<DocRecord>>,
    /// Downlink marks per node.
    pub downlink: OrdMap<NodeId, Arc<DownlinkMarks>>,
    /// Quarantined incidents by id.
    pub quarantine: OrdMap<u64, Arc<QuarantineRecord>>,
    /// The KPI window, oldest first.
    pub kpi_events: OrdMap<u64, Arc<Event>>,
    /// Stock, locations and applied sequences.
    pub stock: StockView,
}

impl BooksView {
    /// The open tasks of `node`, in id order.
    pub fn open_tasks_of(&self, node: &NodeId) -> Vec<Arc<HubTask>> {
        let probe = TaskIx::OpenOfNode(node.clone(), None);
        self.task_index
            .range::<(std::ops::Bound<&TaskIx>, std::ops::Bound<&TaskIx>), TaskIx>((
                std::ops::Bound::Excluded(&probe),
                std::ops::Bound::Unbounded,
            ))
            .map_while(|(ix, _)| match ix {
                TaskIx::OpenOfNode(n, Some(id)) if n == node => self.tasks.get(id).cloned(),
                _ => None,
            })
            .collect()
    }

    /// The id of the stored exception equal to `e` (its resolution aside).
    pub fn exception_id(&self, e: &stockpost_common::orders::Exception) -> Option<u64> {
        let key = exception_key(e);
        let probe = ExceptionIx::Key(Box::new(key.clone()), 0);
        self.exception_index
            .range::<(std::ops::Bound<&ExceptionIx>, std::ops::Bound<&ExceptionIx>), ExceptionIx>((
                std::ops::Bound::Included(&probe),
                std::ops::Bound::Unbounded,
            ))
            .next()
            .and_then(|(ix, _)| match ix {
                ExceptionIx::Key(k, id) if **k == key => Some(*id),
                _ => None,
            })
    }

    /// The downlink head of `node` (0 when nothing was ever sent).
    pub fn downlink_head(&self, node: &NodeId) -> u64 {
        self.downlink.get(node).map_or(0, |m| m.head)
    }
}

/// What the engine knows of a node's link (not part of the books: it comes from status
/// messages and arrival times).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeLive {
    /// Whether its last status said online (the broker publishes the last will when it drops).
    pub online: bool,
    /// Hub clock of the last message from it, Unix ms.
    pub last_seen_ms: Option<i64>,
    /// What it last reported as its head.
    pub reported_head: u64,
    /// What it last reported as pending in its outbox.
    pub reported_pending: u64,
    /// Node clock of the last applied event, Unix ms (for lag).
    pub last_event_at_ms: Option<i64>,
}

/// What the engine counted since it started (for `/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Node events applied to the stock.
    pub events_applied: u64,
    /// Batches that were applied already.
    pub duplicate_batches: u64,
    /// Batches that arrived after a gap.
    pub gap_batches: u64,
    /// Batches reusing applied sequence numbers with different events.
    pub sequence_reused_batches: u64,
    /// Messages and events quarantined (repeats of a known incident included).
    pub quarantined: u64,
    /// Quarantine records dropped to keep within the bounds.
    pub quarantine_dropped: u64,
    /// Batches from nodes that are not registered.
    pub unknown_node_batches: u64,
    /// Messages on registered nodes' topics that failed authentication (dropped).
    pub unauthenticated_messages: u64,
}

/// The engine's live view of the nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveView {
    /// Per registered node that has been heard from.
    pub nodes: BTreeMap<NodeId, NodeLive>,
    /// Whether the hub is connected to its broker.
    pub link_up: bool,
    /// Counters.
    pub stats: EngineStats,
}

/// Everything a reader needs, as of one commit.
#[derive(Debug, Clone, Default)]
pub struct ReadModel {
    /// The books.
    pub books: BooksView,
    /// The nodes' links.
    pub live: Arc<LiveView>,
    /// Hub clock when it was published, Unix ms.
    pub at_ms: i64,
}

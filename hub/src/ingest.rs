//! The ingest writer: applies node event batches to the authoritative ledger, strictly in
//! sequence per node, exactly once, and acks only after its own durable commit (invariant 5).
//!
//! One thread owns the hub state. It takes the batches waiting in its bounded queue (up to a
//! bound), asks each node's `Receiver` what to apply, applies those events to the ledger,
//! writes the events, the balance changes and the node's applied sequence in ONE batch, commits
//! once, and only then releases the acks (the application acks to publish and the MQTT
//! packets to PUBACK). An event that breaks a rule is quarantined as an exception and its
//! sequence is passed, so one bad event never blocks a node's stream (invariant 7).

use crate::error::ApiError;
use crate::ops::{DocLine, ItemRecord, NodeMaster, Now, Ops, Settings};
use crate::store::{decode, encode, event_key, HubStore, HubStoreError, Quarantined, StoredEvent};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use stockpost_common::domain::{DocRef, LocationCode, LocationInfo, OrderRef};
use stockpost_common::domain::{Event, NodeId};
use stockpost_common::ledger::{ApplyError, Ledger};
use stockpost_common::orders::{Actor, NewOrder};
use stockpost_common::sync::{BatchVerdict, Receiver, ReceiverConfig, ReceiverTransmit};
use stockpost_common::wire::DownlinkItem;
use stockpost_store::WriteBatch;
use tokio::sync::mpsc;
use tokio::sync::oneshot;

/// A node's status as the hub sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeView {
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

/// The hub's in-memory state: a cache of the store, changed only by the ingest writer.
#[derive(Debug)]
pub struct HubState {
    /// The authoritative ledger.
    pub ledger: Ledger,
    /// Per node.
    pub nodes: BTreeMap<NodeId, NodeView>,
    receivers: BTreeMap<NodeId, Receiver>,
    next_quarantine: u64,
    /// Orders, master data, exceptions, adjustments, tasks and the downlinks.
    pub ops: Ops,
}

/// What a node view says about being online.
pub fn is_online(nodes: &BTreeMap<NodeId, NodeView>, node: &NodeId) -> bool {
    nodes.get(node).is_some_and(|v| v.online)
}

/// Locks the state, recovering from a poisoned lock.
pub fn lock(state: &Mutex<HubState>) -> MutexGuard<'_, HubState> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct IngestCounters {
    /// Events applied.
    pub events_applied: AtomicU64,
    /// Events that were duplicates.
    pub duplicate_batches: AtomicU64,
    /// Batches that arrived after a gap.
    pub gap_batches: AtomicU64,
    /// Batches holding already applied sequence numbers with different events (a node that
    /// reuses its sequence, e.g. after a wipe without bootstrap): raised, never applied.
    pub sequence_reused_batches: AtomicU64,
    /// Events or messages quarantined.
    pub quarantined: AtomicU64,
    /// Commits.
    pub commits: AtomicU64,
    /// Failed commits.
    pub commit_failures: AtomicU64,
}

/// What the MQTT side must do after a commit.
#[derive(Debug)]
pub enum Outgoing<T> {
    /// Publish an application message to a node.
    Ack {
        /// To whom.
        node: NodeId,
        /// What.
        transmit: ReceiverTransmit,
    },
    /// Acknowledge an MQTT packet (only after it is durable or deliberately dropped).
    Release(T),
    /// Publish downlink items to a node.
    Downlink {
        /// To whom.
        node: NodeId,
        /// The first item's downlink sequence.
        first_seq: u64,
        /// The items.
        items: Vec<DownlinkItem>,
    },
}

/// A change asked for through the ops API.
#[derive(Debug, Clone)]
pub enum ApiOp {
    /// `PUT /items/{sku}`.
    PutItem(Box<ItemRecord>),
    /// `PUT /nodes/{node}`.
    PutNode(NodeId, NodeMaster),
    /// `PUT /nodes/{node}/locations/{code}`.
    PutLocation(NodeId, LocationCode, LocationInfo),
    /// `POST /nodes/{node}/inbound`.
    Inbound(NodeId, DocRef, Vec<DocLine>),
    /// `POST /returns`.
    Return(NodeId, DocRef, Option<OrderRef>, Vec<DocLine>),
    /// `POST /orders`.
    CreateOrder(NewOrder),
    /// `POST /orders/{ref}/cancel`.
    CancelOrder(OrderRef),
    /// `POST /orders/{ref}/release`.
    ReleaseOrder(OrderRef),
    /// `POST /exceptions/{id}/resolve`.
    Resolve(u64, Option<String>),
    /// `POST /adjustments/{id}/approve` (true) or `/reject` (false).
    Decide(u64, bool),
}

/// The answer to an [`ApiOp`]: status and body, sent after the durable commit.
pub type ApiReply = Result<(u16, serde_json::Value), ApiError>;

/// Work for the ingest writer. `T` is the MQTT packet to release after the commit.
#[derive(Debug)]
pub enum IngestRequest<T> {
    /// Events `first..` from `node`.
    Batch {
        /// The node (topic and envelope agree).
        node: NodeId,
        /// Its events, contiguous, starting at `events[0].id.seq`.
        events: Vec<Event>,
        /// The packet to release.
        token: T,
    },
    /// A message that cannot be used: quarantined as an exception.
    Quarantine {
        /// What it was.
        item: Quarantined,
        /// The packet to release.
        token: T,
    },
    /// A node status message.
    Status {
        /// The node.
        node: NodeId,
        /// Online or not.
        online: bool,
        /// Its head.
        head: u64,
        /// Its pending outbox.
        pending: u64,
        /// The packet to release.
        token: T,
    },
    /// A node acked its downlink up to `applied_seq`.
    DownlinkAck {
        /// The node.
        node: NodeId,
        /// Highest applied downlink sequence.
        applied_seq: u64,
        /// The packet to release.
        token: T,
    },
    /// The MQTT link went up or down.
    Link {
        /// Up.
        up: bool,
    },
    /// Timer: downlink resends, release waves, backorder retries, late orders.
    Tick,
    /// A change from the ops API; the reply comes after the durable commit.
    Api {
        /// What.
        op: ApiOp,
        /// Who.
        actor: Actor,
        /// Where the answer goes.
        reply: oneshot::Sender<ApiReply>,
    },
}

/// A handle to the ingest writer.
#[derive(Debug)]
pub struct IngestHandle<T> {
    /// Send work here (bounded).
    pub tx: mpsc::Sender<IngestRequest<T>>,
    /// The shared state, for reads.
    pub state: Arc<Mutex<HubState>>,
    /// Counters.
    pub counters: Arc<IngestCounters>,
}

impl<T> Clone for IngestHandle<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            state: Arc::clone(&self.state),
            counters: Arc::clone(&self.counters),
        }
    }
}

/// Bounds of the ingest writer.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Most requests per commit.
    pub max_group: usize,
    /// Queue bound.
    pub queue: usize,
    /// Receiver timers.
    pub receiver: ReceiverConfig,
    /// Business rule settings.
    pub settings: Settings,
    /// Where webhook events are staged (in the commit) and sent from, when configured.
    pub webhooks: Option<Arc<crate::webhooks::Webhooks>>,
}

use crate::time::now_ms;

fn node_of(key: &[u8], tree: &'static str) -> Result<NodeId, HubStoreError> {
    std::str::from_utf8(key)
        .ok()
        .and_then(|n| NodeId::new(n).ok())
        .ok_or(HubStoreError::Decode {
            tree,
            reason: "key is not a node id".into(),
        })
}

fn doc_of(key: &[u8], tree: &'static str) -> Result<DocRef, HubStoreError> {
    std::str::from_utf8(key)
        .ok()
        .and_then(|n| DocRef::new(n).ok())
        .ok_or(HubStoreError::Decode {
            tree,
            reason: "key is not a document reference".into(),
        })
}

fn id_of(key: &[u8]) -> u64 {
    <[u8; 8]>::try_from(key)
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

/// Loads the whole hub state from the store.
pub fn load_state(store: &HubStore, settings: &Settings) -> Result<HubState, HubStoreError> {
    let loaded = store.load()?;
    let mut ledger = loaded.ledger;
    let mut ops = Ops::default();
    for (k, v) in store.load_all::<ItemRecord>("items")? {
        let _ = k;
        ops.items.insert(v.item.sku.clone(), v);
    }
    for (k, v) in store.load_all::<NodeMaster>("nodes")? {
        ops.nodes.insert(node_of(&k, "nodes")?, v);
    }
    for (_, o) in store.load_all::<stockpost_common::orders::Order>("orders")? {
        ops.orders.insert(o.order_ref.clone(), o);
    }
    for (k, qty) in store.load_all::<stockpost_common::domain::Dec>("reservations")? {
        let (order, node, sku): (OrderRef, NodeId, stockpost_common::domain::Sku) =
            decode("reservations", &k)?;
        ledger.restore_reservation(&node, &sku, &order, qty);
    }
    for (k, v) in store.load_all("exceptions")? {
        ops.exceptions.insert(id_of(&k), v);
    }
    for (k, v) in store.load_all("adjustments")? {
        ops.adjustments.insert(id_of(&k), v);
    }
    for (k, v) in store.load_all::<crate::ops::TaskRecord>("tasks")? {
        if let Some(id) = std::str::from_utf8(&k)
            .ok()
            .and_then(|t| stockpost_common::domain::TaskId::new(t).ok())
        {
            ops.tasks.insert(id, v);
        }
    }
    for (k, v) in store.load_all("inbound")? {
        ops.inbound.insert(doc_of(&k, "inbound")?, v);
    }
    for (k, v) in store.load_all("returns")? {
        ops.returns.insert(doc_of(&k, "returns")?, v);
    }
    let acked: BTreeMap<NodeId, u64> = store
        .load_u64s("down_acked")?
        .into_iter()
        .map(|(k, v)| Ok((node_of(&k, "down_acked")?, v)))
        .collect::<Result<_, HubStoreError>>()?;
    for (k, head) in store.load_u64s("down_head")? {
        let node = node_of(&k, "down_head")?;
        let a = acked.get(&node).copied().unwrap_or(0);
        ops.downlink.insert(
            node,
            crate::ops::Downlink {
                sender: stockpost_common::sync::Sender::new(settings.sender, a, head),
                pending: BTreeMap::new(),
            },
        );
    }
    for (k, item) in store.load_all::<DownlinkItem>("downlink")? {
        let split = k.iter().position(|b| *b == 0).unwrap_or(k.len());
        let node = node_of(&k[..split], "downlink")?;
        let seq = k
            .get(split + 1..)
            .and_then(|s| <[u8; 8]>::try_from(s).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0);
        if let Some(d) = ops.downlink.get_mut(&node) {
            d.pending.insert(seq, item);
        }
    }
    load_kpi_events(store, &mut ops)?;
    ops.next_exception = store.counter("next_exception")?.unwrap_or(1);
    ops.next_adjustment = store.counter("next_adjustment")?.unwrap_or(1);
    ops.next_audit = store.counter("next_audit")?.unwrap_or(1);
    ops.next_task = store.counter("next_task")?.unwrap_or(1);
    ops.reindex();
    Ok(HubState {
        ledger,
        nodes: BTreeMap::new(),
        receivers: BTreeMap::new(),
        next_quarantine: loaded.next_quarantine,
        ops,
    })
}

/// Loads the events the KPIs read. Stores written before the `kpi_events` tree existed have no
/// `kpi_window` mark: their window is built once from every stored event and written down.
fn load_kpi_events(store: &HubStore, ops: &mut Ops) -> Result<(), HubStoreError> {
    use stockpost_common::domain::EventBody;
    if store.counter("kpi_window")?.is_some() {
        let rows = store.load_all::<Event>("kpi_events")?;
        ops.kpi_first_key = rows.first().map_or(0, |(k, _)| id_of(k));
        ops.kpi_events = rows.into_iter().map(|(_, e)| e).collect();
        return Ok(());
    }
    let mut window = std::collections::VecDeque::new();
    store.for_each_event(|e| {
        if matches!(
            e.event.body,
            EventBody::CountResult { .. }
                | EventBody::ReturnReceive { .. }
                | EventBody::Disposition { .. }
        ) {
            if window.len() >= crate::ops::KPI_EVENTS {
                window.pop_front();
            }
            window.push_back(e.event);
        }
    })?;
    let mut batch = WriteBatch::new();
    for (key, event) in (0u64..).zip(window.iter()) {
        batch.put(
            "kpi_events",
            key.to_be_bytes().to_vec(),
            encode("kpi_events", event)?,
        );
    }
    batch.put("meta", b"kpi_window".to_vec(), 1u64.to_be_bytes().to_vec());
    store.commit(batch)?;
    ops.kpi_first_key = 0;
    ops.kpi_events = window;
    Ok(())
}

/// Loads the state and starts the writer thread. Outgoing work goes to `out` (bounded).
pub fn start<T: Send + 'static>(
    store: HubStore,
    config: IngestConfig,
    out: mpsc::Sender<Outgoing<T>>,
) -> Result<(IngestHandle<T>, std::thread::JoinHandle<()>), HubStoreError> {
    let mut loaded = load_state(&store, &config.settings)?;
    loaded.ops.webhooks_off = config.webhooks.is_none();
    let state = Arc::new(Mutex::new(loaded));
    let (tx, rx) = mpsc::channel(config.queue.max(1));
    let counters = Arc::new(IngestCounters::default());
    let handle = IngestHandle {
        tx,
        state: Arc::clone(&state),
        counters: Arc::clone(&counters),
    };
    let join = std::thread::Builder::new()
        .name("ingest-writer".into())
        .spawn(move || writer_loop(store, state, rx, out, config, counters))
        .map_err(|e| HubStoreError::Decode {
            tree: "thread",
            reason: e.to_string(),
        })?;
    Ok((handle, join))
}

fn writer_loop<T>(
    store: HubStore,
    state: Arc<Mutex<HubState>>,
    mut rx: mpsc::Receiver<IngestRequest<T>>,
    out: mpsc::Sender<Outgoing<T>>,
    config: IngestConfig,
    counters: Arc<IngestCounters>,
) {
    let monotonic = std::time::Instant::now();
    let settings = config.settings;
    while let Some(first) = rx.blocking_recv() {
        let mut group = vec![first];
        while group.len() < config.max_group.max(1) {
            match rx.try_recv() {
                Ok(r) => group.push(r),
                Err(_) => break,
            }
        }
        let at_ms = now_ms();
        let mono_ms = u64::try_from(monotonic.elapsed().as_millis()).unwrap_or(u64::MAX);
        let now = Now {
            wall: at_ms,
            mono: mono_ms,
        };
        let mut guard = lock(&state);
        let mut batch = WriteBatch::new();
        let mut release: Vec<T> = Vec::new();
        let mut touched: Vec<NodeId> = Vec::new();
        let mut committed_to: BTreeMap<NodeId, u64> = BTreeMap::new();
        let mut replies: Vec<(oneshot::Sender<ApiReply>, ApiReply)> = Vec::new();
        let mut failed = false;
        for request in group {
            match request {
                IngestRequest::Batch {
                    node,
                    events,
                    token,
                } => {
                    release.push(token);
                    if failed {
                        continue;
                    }
                    if let Err(e) = apply_batch(
                        &store,
                        &mut guard,
                        &mut batch,
                        &node,
                        events,
                        now,
                        &config,
                        &counters,
                        &mut committed_to,
                    ) {
                        tracing::error!(error = %e, node = %node, "cannot build the commit");
                        failed = true;
                    }
                    touched.push(node);
                }
                IngestRequest::Quarantine { item, token } => {
                    release.push(token);
                    if let Err(e) = quarantine(&mut guard, &mut batch, item) {
                        tracing::error!(error = %e, "cannot quarantine");
                        failed = true;
                    }
                    counters.quarantined.fetch_add(1, Ordering::Relaxed);
                }
                IngestRequest::Status {
                    node,
                    online,
                    head,
                    pending,
                    token,
                } => {
                    release.push(token);
                    let view = guard.nodes.entry(node).or_default();
                    view.online = online;
                    view.last_seen_ms = Some(at_ms);
                    if online {
                        view.reported_head = head;
                        view.reported_pending = pending;
                    }
                }
                IngestRequest::DownlinkAck {
                    node,
                    applied_seq,
                    token,
                } => {
                    release.push(token);
                    if let Some(view) = guard.nodes.get_mut(&node) {
                        view.last_seen_ms = Some(at_ms);
                    }
                    guard.ops.downlink_ack(&mut batch, &node, applied_seq, now);
                }
                IngestRequest::Link { up } => guard.ops.link(up, now),
                IngestRequest::Tick => {
                    if failed {
                        continue;
                    }
                    let HubState {
                        ledger, nodes, ops, ..
                    } = &mut *guard;
                    let online = |n: &NodeId| is_online(nodes, n);
                    if let Err(e) = ops
                        .tick(&mut batch, ledger, &online, &settings, now)
                        .and_then(|()| ops.flush_orders(&mut batch, ledger))
                    {
                        tracing::error!(error = %e, "tick failed");
                        failed = true;
                    }
                }
                IngestRequest::Api { op, actor, reply } => {
                    if failed {
                        replies.push((
                            reply,
                            Err(ApiError::unavailable("the hub could not commit; try again")),
                        ));
                        continue;
                    }
                    guard.ops.enforce_downlink_limit = true;
                    let result = api(&mut guard, &mut batch, op, &actor, &settings, now);
                    guard.ops.enforce_downlink_limit = false;
                    let result = match result {
                        Ok(v) => {
                            let HubState { ledger, ops, .. } = &mut *guard;
                            ops.flush_orders(&mut batch, ledger).map(|()| v)
                        }
                        Err(e) => Err(e),
                    };
                    if let Err(e) = &result {
                        if e.status >= 500 {
                            // Something may be half-written: do not commit this round.
                            failed = true;
                        }
                    }
                    replies.push((reply, result));
                }
            }
        }
        if !failed {
            let HubState { ledger, ops, .. } = &mut *guard;
            if let Err(e) = ops.flush_orders(&mut batch, ledger) {
                tracing::error!(error = %e, "cannot write orders");
                failed = true;
            }
        }
        // Webhook deliveries are staged in this very commit: none is lost when the hub stops
        // right after it, and none goes out for a change that did not commit.
        let hook_events = std::mem::take(&mut guard.ops.webhooks);
        let mut staged = Vec::new();
        if let (false, Some(hooks)) = (failed, &config.webhooks) {
            match hooks.stage(&mut batch, hook_events, at_ms) {
                Ok(s) => staged = s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot stage webhook deliveries");
                    failed = true;
                }
            }
        }
        let result = if failed {
            Err("building the commit failed".to_string())
        } else if batch.is_empty() {
            Ok(())
        } else {
            store.commit(batch).map_err(|e| e.to_string())
        };
        let result_ok = result.is_ok();
        match result {
            Ok(()) => {
                counters.commits.fetch_add(1, Ordering::Relaxed);
                for (node, seq) in &committed_to {
                    if let Some(r) = guard.receivers.get_mut(node) {
                        r.committed(*seq);
                    }
                }
            }
            Err(e) => {
                counters.commit_failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "ingest commit failed; reloading the hub state; nodes will resend");
                for (_, r) in replies.iter_mut() {
                    if r.is_ok() || r.as_ref().is_err_and(|e| e.status >= 500) {
                        *r = Err(ApiError::unavailable(
                            "the hub could not store the change; nothing was changed; try again",
                        ));
                    }
                }
                match load_state(&store, &settings) {
                    Ok(mut loaded) => {
                        loaded.nodes = std::mem::take(&mut guard.nodes);
                        loaded.ops.webhooks_off = config.webhooks.is_none();
                        let up = guard.ops.link_up;
                        *guard = loaded;
                        guard.ops.link(up, now);
                    }
                    Err(load_error) => {
                        tracing::error!(error = %load_error, "cannot reload the hub state; stopping ingest");
                        return;
                    }
                }
                // The MQTT packets are still released: durability rests on the application
                // ack, which was not sent, so the nodes resend after their ack timeout. Holding
                // the packets would only fill the broker's in-flight window towards the hub.
                touched.clear();
            }
        }
        let mut outgoing = Vec::new();
        touched.sort();
        touched.dedup();
        for node in touched {
            if let Some(r) = guard.receivers.get_mut(&node) {
                while let Some(transmit) = r.poll_transmit() {
                    outgoing.push(Outgoing::Ack {
                        node: node.clone(),
                        transmit,
                    });
                }
            }
        }
        for (node, first_seq, items) in guard.ops.poll_downlink(now) {
            outgoing.push(Outgoing::Downlink {
                node,
                first_seq,
                items,
            });
        }
        drop(guard);
        for (reply, result) in replies {
            let _ = reply.send(result);
        }
        if let Some(hooks) = &config.webhooks {
            if result_ok {
                hooks.dispatch(staged);
            }
        }
        for o in outgoing {
            if out.blocking_send(o).is_err() {
                return;
            }
        }
        for token in release {
            if out.blocking_send(Outgoing::Release(token)).is_err() {
                return;
            }
        }
    }
}

fn api(
    state: &mut HubState,
    batch: &mut WriteBatch,
    op: ApiOp,
    actor: &Actor,
    settings: &Settings,
    now: Now,
) -> ApiReply {
    let HubState {
        ledger, nodes, ops, ..
    } = state;
    let online = |n: &NodeId| is_online(nodes, n);
    match op {
        ApiOp::PutItem(record) => ops
            .put_item(batch, *record, actor, settings, now)
            .map(|v| (200, v)),
        ApiOp::PutNode(node, master) => ops
            .put_node(batch, ledger, node, master, actor, settings, now)
            .map(|v| (200, v)),
        ApiOp::PutLocation(node, code, info) => ops
            .put_location(batch, ledger, node, code, info, actor, settings, now)
            .map(|v| (200, v)),
        ApiOp::Inbound(node, doc, lines) => ops
            .create_doc(batch, false, doc, node, None, lines, actor, settings, now)
            .map(|v| (201, v)),
        ApiOp::Return(node, doc, order, lines) => ops
            .create_doc(batch, true, doc, node, order, lines, actor, settings, now)
            .map(|v| (201, v)),
        ApiOp::CreateOrder(new) => ops
            .create_order(batch, ledger, &new, actor, &online, now)
            .map(|v| (201, v)),
        ApiOp::CancelOrder(r) => ops
            .cancel_order(batch, ledger, &r, actor, settings, now)
            .map(|v| (200, v)),
        ApiOp::ReleaseOrder(r) => ops
            .release_order(batch, &r, &actor.name, settings, now)
            .map(|v| (200, v)),
        ApiOp::Resolve(id, note) => ops
            .resolve_exception(batch, id, note, actor, now)
            .map(|v| (200, v)),
        ApiOp::Decide(id, yes) => ops
            .decide_adjustment(batch, id, yes, actor, settings, now)
            .map(|v| (200, v)),
    }
}

#[allow(clippy::too_many_arguments)]
fn apply_batch(
    store: &HubStore,
    state: &mut HubState,
    batch: &mut WriteBatch,
    node: &NodeId,
    events: Vec<Event>,
    now: Now,
    config: &IngestConfig,
    counters: &IngestCounters,
    committed_to: &mut BTreeMap<NodeId, u64>,
) -> Result<(), HubStoreError> {
    let at_ms = now.wall;
    let mono_ms = now.mono;
    let Some(first) = events.first().map(|e| e.id.seq) else {
        return Ok(());
    };
    let last = first + events.len() as u64 - 1;
    let applied_seq = state.ledger.applied_seq(node);
    state
        .receivers
        .entry(node.clone())
        .or_insert_with(|| Receiver::new(config.receiver, applied_seq));
    let view = state.nodes.entry(node.clone()).or_default();
    view.last_seen_ms = Some(at_ms);
    // The part at or below what is applied must be the very events applied before: a node that
    // numbers different events with used sequence numbers (a wiped node that started again from
    // 1) would otherwise be dropped silently as a duplicate.
    let applied_to = state.ledger.applied_seq(node);
    if first <= applied_to {
        let overlap_end = last.min(applied_to);
        let stored = store.events(
            node,
            first - 1,
            usize::try_from(overlap_end - first + 1).unwrap_or(usize::MAX),
        )?;
        let stored: BTreeMap<u64, Event> = stored
            .into_iter()
            .map(|s| (s.event.id.seq, s.event))
            .filter(|(seq, _)| *seq <= overlap_end)
            .collect();
        if let Some((from, to)) = reused_range(&stored, &events) {
            counters
                .sequence_reused_batches
                .fetch_add(1, Ordering::Relaxed);
            let at = events
                .iter()
                .find(|e| e.id.seq == from)
                .map_or(at_ms, |e| e.at_ms);
            tracing::error!(node = %node, from, to, "a node reused sequence numbers with different events");
            state
                .ops
                .raise_sequence_reused(batch, node, from, to, at)
                .map_err(|e| HubStoreError::Decode {
                    tree: "exceptions",
                    reason: e.to_string(),
                })?;
        }
    }
    let Some(receiver) = state.receivers.get_mut(node) else {
        return Ok(());
    };
    match receiver.on_batch(first, last, mono_ms) {
        BatchVerdict::Duplicate => {
            counters.duplicate_batches.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        BatchVerdict::Gap { .. } => {
            counters.gap_batches.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        BatchVerdict::Apply { from, last } => {
            let skip = usize::try_from(from - first).unwrap_or(usize::MAX);
            for event in events.into_iter().skip(skip) {
                let seq = event.id.seq;
                match state.ledger.apply(&event) {
                    Ok(applied) => {
                        for change in &applied.changes {
                            let key = encode("balances", &change.key)?;
                            if change.after.is_zero() {
                                batch.delete("balances", key);
                            } else {
                                batch.put("balances", key, encode("balances", &change.after)?);
                            }
                        }
                        for (n, sku, totals) in &applied.totals {
                            batch.put(
                                "totals",
                                encode("totals", &(n, sku))?,
                                encode("totals", totals)?,
                            );
                        }
                        if let Some(view) = state.nodes.get_mut(node) {
                            view.last_event_at_ms = Some(event.at_ms);
                        }
                        {
                            let HubState {
                                ledger, nodes, ops, ..
                            } = &mut *state;
                            let online = |n: &NodeId| is_online(nodes, n);
                            if let Err(e) = ops.after_event(
                                batch,
                                ledger,
                                &event,
                                &applied,
                                &online,
                                &config.settings,
                                now,
                            ) {
                                return Err(HubStoreError::Decode {
                                    tree: "ops",
                                    reason: e.to_string(),
                                });
                            }
                        }
                        let stored = StoredEvent {
                            event,
                            received_at_ms: at_ms,
                        };
                        batch.put("events", event_key(node, seq), encode("events", &stored)?);
                        counters.events_applied.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(ApplyError::Invalid { source, .. }) => {
                        // A fact we cannot apply: keep it for ops and move the stream on.
                        let id = stockpost_common::domain::EventId {
                            node: node.clone(),
                            seq,
                        };
                        let _ = state.ledger.mark_quarantined(&id);
                        let raw = encode("quarantine", &event)?;
                        quarantine(
                            state,
                            batch,
                            Quarantined {
                                node: Some(node.to_string()),
                                seq: Some(seq),
                                reason: source.to_string(),
                                at_ms,
                                raw,
                            },
                        )?;
                        counters.quarantined.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        // Duplicate/gap cannot happen behind the receiver; overflow is quarantined.
                        tracing::error!(error = %e, "event not applied");
                        let id = stockpost_common::domain::EventId {
                            node: node.clone(),
                            seq,
                        };
                        if state.ledger.mark_quarantined(&id).is_ok() {
                            let raw = encode("quarantine", &event)?;
                            quarantine(
                                state,
                                batch,
                                Quarantined {
                                    node: Some(node.to_string()),
                                    seq: Some(seq),
                                    reason: e.to_string(),
                                    at_ms,
                                    raw,
                                },
                            )?;
                        }
                    }
                }
            }
            batch.put(
                "applied",
                node.as_str().as_bytes().to_vec(),
                last.to_be_bytes().to_vec(),
            );
            committed_to.insert(node.clone(), last);
            Ok(())
        }
    }
}

/// The first and last sequence of `incoming` whose event differs from the one stored under the
/// same sequence. Sequences with nothing stored (quarantined events, or applied in the commit
/// being built) are not judged.
pub fn reused_range(stored: &BTreeMap<u64, Event>, incoming: &[Event]) -> Option<(u64, u64)> {
    let mut range: Option<(u64, u64)> = None;
    for event in incoming {
        let seq = event.id.seq;
        if stored.get(&seq).is_some_and(|s| s != event) {
            range = Some(match range {
                None => (seq, seq),
                Some((from, _)) => (from, seq),
            });
        }
    }
    range
}

fn quarantine(
    state: &mut HubState,
    batch: &mut WriteBatch,
    item: Quarantined,
) -> Result<(), HubStoreError> {
    let id = state.next_quarantine;
    state.next_quarantine += 1;
    batch.put(
        "quarantine",
        id.to_be_bytes().to_vec(),
        encode("quarantine", &item)?,
    );
    batch.put(
        "meta",
        b"next_quarantine".to_vec(),
        state.next_quarantine.to_be_bytes().to_vec(),
    );
    tracing::warn!(node = ?item.node, seq = ?item.seq, reason = %item.reason, "quarantined");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::receipt as event;

    fn stored(events: &[Event]) -> BTreeMap<u64, Event> {
        events.iter().map(|e| (e.id.seq, e.clone())).collect()
    }

    #[test]
    fn a_resend_of_the_same_events_is_no_reuse() {
        let applied = [event(1, "2"), event(2, "2"), event(3, "2")];
        assert_eq!(reused_range(&stored(&applied), &applied[1..]), None);
    }

    #[test]
    fn different_events_under_applied_numbers_give_the_reused_range() {
        let applied = [event(1, "2"), event(2, "2"), event(3, "2")];
        let incoming = [event(2, "5"), event(3, "5"), event(4, "5")];
        assert_eq!(reused_range(&stored(&applied), &incoming), Some((2, 3)));
    }

    #[test]
    fn numbers_with_nothing_stored_are_not_judged() {
        let applied = [event(1, "2")];
        let incoming = [event(2, "5"), event(3, "5")];
        assert_eq!(reused_range(&stored(&applied), &incoming), None);
    }
}

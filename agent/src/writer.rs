//! The step writer: the one thread that changes the agent's state and commits it.
//!
//! Every operator step, every prune of the outbox and every applied downlink batch goes
//! through here. The writer takes the requests that are waiting (up to a bound), runs them one
//! after another against the in-memory state, assigns gapless outbox sequence numbers, writes
//! the events, the balance changes, the outbox entries and whatever else the step planned into
//! ONE batch, commits it durably (one fsync for the whole group), and only then answers
//! (invariant 3). If the commit fails, every step in the group is answered with an error and
//! the in-memory state is reloaded from the store, so memory never runs ahead of disk and the
//! outbox never has a gap.

use crate::catalog::{ItemCatalog, DEFAULT_CACHE_ITEMS};
use crate::stock_index::StockIndex;
use crate::store::{
    encode, encode_json, put_meta, seed_batch, seq_key, AgentStore, AgentStoreError, Seed,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use stockpost_common::domain::{
    Dec, Event, EventBody, EventId, Item, LocationCode, NodeId, OperatorId, ReasonCode, Sku,
    StationId, TaskId,
};
use stockpost_common::ledger::{Ledger, StockKey};
use stockpost_common::tasks::{Station, StationConfig, TaskRecord, TaskStatus};
use stockpost_common::wire::DownlinkItem;
use stockpost_store::WriteBatch;
use tokio::sync::{mpsc, oneshot, watch};

/// The agent's in-memory state: a cache of what the store holds, changed only by the writer.
#[derive(Debug)]
pub struct AgentState {
    /// This node.
    pub node: NodeId,
    /// The local stock view.
    pub ledger: Ledger,
    /// Last committed outbox seq.
    pub head: u64,
    /// Last seq acked by the hub.
    pub acked: u64,
    /// Last applied downlink seq.
    pub down_applied: u64,
    /// A hub snapshot seeded the store.
    pub bootstrapped: bool,
    /// Waiting for the hub's snapshot (`hub.bootstrap = "required"` on a fresh store): every
    /// step and downlink is refused until [`WriterHandle::bootstrap`] committed it.
    pub bootstrap_pending: bool,
    /// Item master data and the GTIN index: read from the store on demand through a bounded
    /// cache, never held in full (see `crate::catalog`).
    pub items: ItemCatalog,
    /// GS1 location barcodes: (GLN, extension) → location.
    pub glns: BTreeMap<(String, Option<String>), LocationCode>,
    /// Forward (home) pick location per item.
    pub homes: BTreeMap<Sku, LocationCode>,
    /// Every task the node knows (open and finished), with its progress.
    pub tasks: BTreeMap<TaskId, TaskRecord>,
    /// The configured stations' state machines.
    pub stations: BTreeMap<StationId, Station>,
    /// The configured stations (kept to rebuild `stations` on a reload).
    pub station_configs: Vec<StationConfig>,
    /// Index: this node's non-zero balance lines by SKU (by place, the ledger finds them).
    pub stock_index: StockIndex,
}

impl AgentState {
    /// Loads the state from the store (no stations).
    pub fn load(store: &AgentStore, node: &NodeId) -> Result<Self, AgentStoreError> {
        Self::load_with_stations(store, node, Vec::new())
    }

    /// Loads the state from the store, with one station machine per configured station: the
    /// stored state when its configuration is unchanged, else a fresh station.
    pub fn load_with_stations(
        store: &AgentStore,
        node: &NodeId,
        station_configs: Vec<StationConfig>,
    ) -> Result<Self, AgentStoreError> {
        let loaded = store.load(node)?;
        let mut stored: BTreeMap<String, Station> = loaded.stations.into_iter().collect();
        let mut stations = BTreeMap::new();
        for config in &station_configs {
            let station = match stored.remove(config.id.as_str()) {
                Some(s) if s.config() == config => s,
                Some(_) => {
                    tracing::warn!(station = %config.id, "station configuration changed; the station starts signed out");
                    Station::new(config.clone())
                }
                None => Station::new(config.clone()),
            };
            stations.insert(config.id.clone(), station);
        }
        let mut state = Self {
            node: node.clone(),
            ledger: loaded.ledger,
            head: loaded.head,
            acked: loaded.acked,
            down_applied: loaded.down_applied,
            bootstrapped: loaded.bootstrapped,
            bootstrap_pending: false,
            items: ItemCatalog::new(store.clone(), DEFAULT_CACHE_ITEMS),
            glns: BTreeMap::new(),
            homes: BTreeMap::new(),
            tasks: loaded
                .tasks
                .into_iter()
                .map(|t| (t.spec.id.clone(), t))
                .collect(),
            stations,
            station_configs,
            stock_index: StockIndex::new(),
        };
        // A task held by a station that no longer works on it (the station was removed or
        // reconfigured) is free again for every station.
        let held: BTreeSet<TaskId> = state
            .stations
            .values()
            .filter_map(|s| s.work().map(|w| w.record.spec.id.clone()))
            .collect();
        for record in state.tasks.values_mut() {
            if record.progress.station.is_some() && !held.contains(&record.spec.id) {
                record.progress.station = None;
            }
        }
        state.stock_index = StockIndex::from_lines(
            state
                .ledger
                .balances()
                .filter(|(k, v)| k.node == state.node && !v.is_zero())
                .map(|(k, _)| k),
        );
        Ok(state)
    }

    /// True when the store has never taken a step, never received downlink and was never
    /// seeded: a new or wiped node.
    pub fn is_fresh(&self) -> bool {
        self.head == 0 && self.acked == 0 && self.down_applied == 0 && !self.bootstrapped
    }

    /// Adds or replaces an item and its GTIN index entries: the store writes go into `batch`,
    /// and every read through this state sees the new item from now on.
    pub fn put_item(&mut self, item: Item, batch: &mut WriteBatch) -> Result<(), AgentStoreError> {
        self.items.upsert(item, batch)
    }

    /// Keeps the SKU index in step with a balance line.
    pub fn index_balance(&mut self, key: &StockKey, after: Dec) {
        if key.node != self.node {
            return;
        }
        self.stock_index.set(key, !after.is_zero());
    }

    /// Takes a task off the station that holds it (the hub cancelled it). The station keeps its
    /// operator and is given no task until the next scan looks for one.
    fn drop_task_from_stations(&mut self, task: &TaskId, batch: &mut WriteBatch) {
        for (id, station) in self.stations.iter_mut() {
            if station.work().is_some_and(|w| &w.record.spec.id == task) {
                let cleared = serde_json::to_value(&*station).ok().and_then(|mut v| {
                    v.as_object_mut()?
                        .insert("work".into(), serde_json::Value::Null);
                    serde_json::from_value::<Station>(v).ok()
                });
                if let Some(cleared) = cleared {
                    *station = cleared;
                    if let Ok(bytes) = encode_json("stations", &*station) {
                        batch.put("stations", id.as_str().as_bytes().to_vec(), bytes);
                    }
                }
            }
        }
    }
}

/// One event a step wants recorded; the writer adds the id and the time.
#[derive(Debug, Clone)]
pub struct PlannedEvent {
    /// What happened.
    pub body: EventBody,
    /// Who.
    pub operator: Option<OperatorId>,
    /// Where.
    pub station: Option<StationId>,
    /// Which task.
    pub task: Option<TaskId>,
}

/// What a step writes besides its events.
#[derive(Debug, Default)]
pub struct StepPlan {
    /// Events, in order.
    pub events: Vec<PlannedEvent>,
    /// Other writes (task and station state), committed in the same batch.
    pub ops: WriteBatch,
}

/// A step refused by validation: nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRejected {
    /// snake_case code.
    pub code: String,
    /// A sentence the operator can act on.
    pub message: String,
    /// Anything the caller wants back (e.g. the station state).
    pub response: serde_json::Value,
}

/// The body of a step: runs on the writer thread with the state locked.
///
/// Contract: it must leave the state unchanged when it returns `Err`; when it returns `Ok`, the
/// changes it made are committed together with `plan`.
pub type StepFn = Box<
    dyn FnOnce(&mut AgentState, &mut StepPlan) -> Result<serde_json::Value, StepRejected> + Send,
>;

/// What a committed step produced.
#[derive(Debug, Clone)]
pub struct StepCommitted {
    /// The step's response value.
    pub response: serde_json::Value,
    /// The ids of the events it recorded.
    pub events: Vec<EventId>,
}

/// The outcome of a step.
#[derive(Debug, Clone)]
pub enum StepOutcome {
    /// Durable.
    Committed(StepCommitted),
    /// Refused; nothing changed.
    Rejected(StepRejected),
}

/// Why a step could not be committed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriterError {
    /// The store failed; the step was not recorded.
    #[error("storage failed, the step was not recorded: {0}")]
    Storage(String),
    /// A planned event broke a rule (a bug in the step logic).
    #[error("the step produced an invalid event: {0}")]
    InvalidEvent(String),
    /// The writer has stopped.
    #[error("the agent is shutting down")]
    Closed,
    /// Too many steps are waiting.
    #[error("too many steps are waiting to be written; try again")]
    Busy,
    /// The node waits for the hub's snapshot before it may record anything.
    #[error("waiting for the hub to bootstrap this node")]
    NotBootstrapped,
    /// A snapshot arrived for a node that is not waiting for one.
    #[error("this node is not waiting for a bootstrap")]
    NotWaitingForBootstrap,
}

enum Request {
    Step {
        f: StepFn,
        at_ms: i64,
        reply: oneshot::Sender<Result<StepOutcome, WriterError>>,
    },
    Prune {
        up_to: u64,
    },
    Downlink {
        first_seq: u64,
        items: Vec<DownlinkItem>,
        reply: oneshot::Sender<Result<u64, WriterError>>,
    },
    Bootstrap {
        seed: Box<Seed>,
        reply: oneshot::Sender<Result<(), WriterError>>,
    },
}

/// A handle to send work to the writer (cheap to clone).
#[derive(Debug, Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<Request>,
    state: Arc<Mutex<AgentState>>,
    head: watch::Receiver<u64>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Step { at_ms, .. } => write!(f, "Step(at {at_ms})"),
            Request::Prune { up_to } => write!(f, "Prune({up_to})"),
            Request::Downlink {
                first_seq, items, ..
            } => write!(f, "Downlink({first_seq}, {})", items.len()),
            Request::Bootstrap { seed, .. } => {
                write!(f, "Bootstrap(applied {})", seed.applied_seq)
            }
        }
    }
}

/// Locks the state, recovering from a poisoned lock (a panic elsewhere must not stop the node).
pub fn lock(state: &Mutex<AgentState>) -> MutexGuard<'_, AgentState> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl WriterHandle {
    /// Runs a step and waits until it is durable (or rejected).
    pub async fn step(&self, at_ms: i64, f: StepFn) -> Result<StepOutcome, WriterError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .try_send(Request::Step { f, at_ms, reply })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => WriterError::Busy,
                mpsc::error::TrySendError::Closed(_) => WriterError::Closed,
            })?;
        answer.await.map_err(|_| WriterError::Closed)?
    }

    /// Deletes outbox entries up to `up_to` (the hub acked them). Fire and forget: a prune that
    /// does not fit in the queue is retried by the link with the next ack.
    pub fn prune(&self, up_to: u64) -> bool {
        self.tx.try_send(Request::Prune { up_to }).is_ok()
    }

    /// Applies downlink items numbered from `first_seq`; returns the new applied seq.
    pub async fn downlink(
        &self,
        first_seq: u64,
        items: Vec<DownlinkItem>,
    ) -> Result<u64, WriterError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Request::Downlink {
                first_seq,
                items,
                reply,
            })
            .await
            .map_err(|_| WriterError::Closed)?;
        answer.await.map_err(|_| WriterError::Closed)?
    }

    /// Seeds a node that waits for its bootstrap with the hub's snapshot, in one durable
    /// commit; steps are accepted from then on.
    pub async fn bootstrap(&self, seed: Seed) -> Result<(), WriterError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Request::Bootstrap {
                seed: Box::new(seed),
                reply,
            })
            .await
            .map_err(|_| WriterError::Closed)?;
        answer.await.map_err(|_| WriterError::Closed)?
    }

    /// The shared state, for reads (GET handlers, status).
    pub fn state(&self) -> &Arc<Mutex<AgentState>> {
        &self.state
    }

    /// Watches the last committed outbox seq.
    pub fn head(&self) -> watch::Receiver<u64> {
        self.head.clone()
    }
}

/// Bounds of the writer.
#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    /// Most requests handled in one commit.
    pub max_group: usize,
    /// Bound of the request queue.
    pub queue: usize,
}

/// Starts the writer thread over `store` with `state` loaded from it.
pub fn start(
    store: AgentStore,
    state: AgentState,
    config: WriterConfig,
) -> std::io::Result<(WriterHandle, std::thread::JoinHandle<()>)> {
    let (tx, rx) = mpsc::channel(config.queue.max(1));
    let (head_tx, head_rx) = watch::channel(state.head);
    let state = Arc::new(Mutex::new(state));
    let handle = WriterHandle {
        tx,
        state: Arc::clone(&state),
        head: head_rx,
    };
    let join = std::thread::Builder::new()
        .name("step-writer".into())
        .spawn(move || writer_loop(store, state, rx, head_tx, config.max_group.max(1)))?;
    Ok((handle, join))
}

enum Reply {
    Step(
        oneshot::Sender<Result<StepOutcome, WriterError>>,
        StepCommitted,
    ),
    Downlink(oneshot::Sender<Result<u64, WriterError>>, u64),
    Bootstrap(oneshot::Sender<Result<(), WriterError>>),
}

/// How many finished (done or cancelled) tasks a node keeps, newest first; older ones leave
/// memory and the store (their events stay in the outbox until acked, and at the hub).
pub const MAX_FINISHED_TASKS: usize = 1_000;

/// Every this many commit groups, the writer drops finished tasks beyond [`MAX_FINISHED_TASKS`].
const PRUNE_EVERY_GROUPS: u64 = 256;

/// Drops the oldest finished tasks beyond `keep` from `state` and deletes them in `batch`;
/// returns how many. Tasks finished without a time (older stores, hub cancellations) count as
/// the oldest. Open and in-progress tasks are never touched.
pub fn prune_finished_tasks(state: &mut AgentState, batch: &mut WriteBatch, keep: usize) -> usize {
    let mut finished: Vec<(i64, TaskId)> = state
        .tasks
        .values()
        .filter(|r| !r.progress.status.is_open())
        .map(|r| {
            (
                r.progress.finished_at_ms.unwrap_or(i64::MIN),
                r.spec.id.clone(),
            )
        })
        .collect();
    if finished.len() <= keep {
        return 0;
    }
    finished.sort();
    let drop = finished.len() - keep;
    for (_, id) in finished.into_iter().take(drop) {
        batch.delete("tasks", id.as_str().as_bytes().to_vec());
        state.tasks.remove(&id);
    }
    drop
}

fn writer_loop(
    store: AgentStore,
    state: Arc<Mutex<AgentState>>,
    mut rx: mpsc::Receiver<Request>,
    head_tx: watch::Sender<u64>,
    max_group: usize,
) {
    let mut groups: u64 = 0;
    while let Some(first) = rx.blocking_recv() {
        let mut group = vec![first];
        while group.len() < max_group {
            match rx.try_recv() {
                Ok(r) => group.push(r),
                Err(_) => break,
            }
        }
        let mut guard = lock(&state);
        let mut batch = WriteBatch::new();
        let mut replies: Vec<Reply> = Vec::new();
        let mut broken: Option<WriterError> = None;
        // A snapshot is in this batch: nothing else is recorded before it is committed.
        let mut seeded = false;
        for request in group {
            if let Some(err) = &broken {
                fail(request, err.clone());
                continue;
            }
            match request {
                Request::Step { reply, .. } if guard.bootstrap_pending || seeded => {
                    let _ = reply.send(Err(WriterError::NotBootstrapped));
                }
                Request::Downlink { reply, .. } if guard.bootstrap_pending || seeded => {
                    let _ = reply.send(Err(WriterError::NotBootstrapped));
                }
                Request::Bootstrap { seed, reply } => {
                    if !guard.bootstrap_pending || seeded {
                        let _ = reply.send(Err(WriterError::NotWaitingForBootstrap));
                        continue;
                    }
                    let node = guard.node.clone();
                    match seed_batch(&mut batch, &node, &seed) {
                        Ok(()) => {
                            seeded = true;
                            replies.push(Reply::Bootstrap(reply));
                        }
                        Err(e) => {
                            let e = WriterError::Storage(e.to_string());
                            let _ = reply.send(Err(e.clone()));
                            broken = Some(e);
                        }
                    }
                }
                Request::Step { f, at_ms, reply } => {
                    let mut plan = StepPlan::default();
                    match f(&mut guard, &mut plan) {
                        Err(rejected) => {
                            let _ = reply.send(Ok(StepOutcome::Rejected(rejected)));
                        }
                        Ok(response) => match record(&mut guard, &mut batch, plan, at_ms) {
                            Ok(events) => {
                                replies.push(Reply::Step(reply, StepCommitted { response, events }))
                            }
                            Err(e) => {
                                let _ = reply.send(Err(e.clone()));
                                broken = Some(e);
                            }
                        },
                    }
                }
                Request::Prune { up_to } => {
                    let to = up_to.min(guard.head);
                    if to > guard.acked {
                        for seq in guard.acked + 1..=to {
                            batch.delete("outbox", seq_key(seq).to_vec());
                        }
                        guard.acked = to;
                        put_meta(&mut batch, "acked", to);
                    }
                }
                Request::Downlink {
                    first_seq,
                    items,
                    reply,
                } => match apply_downlink(&mut guard, &mut batch, first_seq, items) {
                    Ok(seq) => replies.push(Reply::Downlink(reply, seq)),
                    Err(e) => {
                        // Part of the batch may be applied in memory and in `batch`: the group
                        // is not committed and the state is reloaded, as for a failed step.
                        let _ = reply.send(Err(e.clone()));
                        broken = Some(e);
                    }
                },
            }
        }
        // Finished tasks do not pile up over weeks (the first group after a start, then now and
        // then); in this group's batch, so memory and store stay in step.
        if broken.is_none() && !seeded && groups % PRUNE_EVERY_GROUPS == 0 {
            let dropped = prune_finished_tasks(&mut guard, &mut batch, MAX_FINISHED_TASKS);
            if dropped > 0 {
                tracing::info!(dropped, "finished tasks pruned");
            }
        }
        groups = groups.wrapping_add(1);
        let result = if broken.is_some() {
            Err(broken.unwrap_or(WriterError::Closed))
        } else if batch.is_empty() {
            Ok(())
        } else {
            store
                .commit(batch)
                .map_err(|e| WriterError::Storage(e.to_string()))
        };
        match result {
            Ok(()) => {
                guard.items.committed();
                if seeded {
                    // Load the seeded state exactly as a restart would.
                    let node = guard.node.clone();
                    let configs = guard.station_configs.clone();
                    match AgentState::load_with_stations(&store, &node, configs) {
                        Ok(fresh) => *guard = fresh,
                        Err(load_error) => {
                            tracing::error!(error = %load_error, "cannot load the bootstrapped state; stopping the writer");
                            return;
                        }
                    }
                }
                for reply in replies {
                    match reply {
                        Reply::Step(tx, done) => {
                            let _ = tx.send(Ok(StepOutcome::Committed(done)));
                        }
                        Reply::Downlink(tx, seq) => {
                            let _ = tx.send(Ok(seq));
                        }
                        Reply::Bootstrap(tx) => {
                            let _ = tx.send(Ok(()));
                        }
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "commit failed; reloading the agent state from the store");
                for reply in replies {
                    match reply {
                        Reply::Step(tx, _) => {
                            let _ = tx.send(Err(e.clone()));
                        }
                        Reply::Downlink(tx, _) => {
                            let _ = tx.send(Err(e.clone()));
                        }
                        Reply::Bootstrap(tx) => {
                            let _ = tx.send(Err(e.clone()));
                        }
                    }
                }
                let node = guard.node.clone();
                let configs = guard.station_configs.clone();
                let pending = guard.bootstrap_pending;
                match AgentState::load_with_stations(&store, &node, configs) {
                    Ok(mut fresh) => {
                        fresh.bootstrap_pending = pending;
                        *guard = fresh;
                    }
                    Err(load_error) => {
                        tracing::error!(error = %load_error, "cannot reload the state; stopping the writer");
                        return;
                    }
                }
            }
        }
        let head = guard.head;
        drop(guard);
        head_tx.send_replace(head);
    }
}

fn fail(request: Request, err: WriterError) {
    match request {
        Request::Step { reply, .. } => {
            let _ = reply.send(Err(err));
        }
        Request::Downlink { reply, .. } => {
            let _ = reply.send(Err(err));
        }
        Request::Bootstrap { reply, .. } => {
            let _ = reply.send(Err(err));
        }
        Request::Prune { .. } => {}
    }
}

/// Numbers, applies and writes a step's events.
fn record(
    state: &mut AgentState,
    batch: &mut WriteBatch,
    plan: StepPlan,
    at_ms: i64,
) -> Result<Vec<EventId>, WriterError> {
    let mut events = Vec::with_capacity(plan.events.len());
    for (i, planned) in plan.events.into_iter().enumerate() {
        let event = Event {
            id: EventId {
                node: state.node.clone(),
                seq: state.head + 1 + i as u64,
            },
            at_ms,
            operator: planned.operator,
            station: planned.station,
            task: planned.task,
            body: planned.body,
        };
        event
            .validate()
            .map_err(|e| WriterError::InvalidEvent(e.to_string()))?;
        events.push(event);
    }
    let mut ids = Vec::with_capacity(events.len());
    for event in &events {
        let applied = state
            .ledger
            .apply(event)
            .map_err(|e| WriterError::InvalidEvent(e.to_string()))?;
        for change in &applied.changes {
            state.index_balance(&change.key, change.after);
            let key =
                encode("balances", &change.key).map_err(|e| WriterError::Storage(e.to_string()))?;
            if change.after.is_zero() {
                batch.delete("balances", key);
            } else {
                let value = encode("balances", &change.after)
                    .map_err(|e| WriterError::Storage(e.to_string()))?;
                batch.put("balances", key, value);
            }
        }
        for (node, sku, totals) in &applied.totals {
            let key =
                encode("totals", &(node, sku)).map_err(|e| WriterError::Storage(e.to_string()))?;
            let value =
                encode("totals", totals).map_err(|e| WriterError::Storage(e.to_string()))?;
            batch.put("totals", key, value);
        }
        let value = encode("outbox", event).map_err(|e| WriterError::Storage(e.to_string()))?;
        batch.put("outbox", seq_key(event.id.seq).to_vec(), value);
        state.head = event.id.seq;
        ids.push(event.id.clone());
    }
    if !ids.is_empty() {
        put_meta(batch, "head", state.head);
    }
    for op in plan.ops.ops() {
        match op {
            stockpost_store::Op::Put { tree, key, value } => {
                batch.put(tree, key.clone(), value.clone());
            }
            stockpost_store::Op::Delete { tree, key } => {
                batch.delete(tree, key.clone());
            }
        }
    }
    Ok(ids)
}

fn apply_downlink(
    state: &mut AgentState,
    batch: &mut WriteBatch,
    first_seq: u64,
    items: Vec<DownlinkItem>,
) -> Result<u64, WriterError> {
    let storage = |e: AgentStoreError| WriterError::Storage(e.to_string());
    for (i, item) in items.into_iter().enumerate() {
        let seq = first_seq + i as u64;
        if seq <= state.down_applied {
            continue;
        }
        match item {
            DownlinkItem::ItemUpsert(item) => {
                state.put_item(item, batch).map_err(storage)?;
            }
            DownlinkItem::LocationUpsert { code, info } => {
                batch.put(
                    "locations",
                    code.as_str().as_bytes().to_vec(),
                    encode("locations", &info).map_err(storage)?,
                );
                let node = state.node.clone();
                state.ledger.set_location(&node, &code, info);
            }
            DownlinkItem::Task(spec) => {
                // A task sent again replaces its spec; progress made on the node is kept.
                let record = match state.tasks.remove(&spec.id) {
                    Some(mut existing) => {
                        existing.spec = spec;
                        existing
                    }
                    None => TaskRecord::open(spec),
                };
                batch.put(
                    "tasks",
                    record.spec.id.as_str().as_bytes().to_vec(),
                    encode_json("tasks", &record).map_err(storage)?,
                );
                state.tasks.insert(record.spec.id.clone(), record);
            }
            DownlinkItem::TaskCancel { task } => {
                if let Some(record) = state.tasks.get_mut(&task) {
                    if record.progress.status.is_open() {
                        record.progress.status = TaskStatus::Cancelled;
                        record.progress.station = None;
                        let bytes = encode_json("tasks", &*record).map_err(storage)?;
                        batch.put("tasks", task.as_str().as_bytes().to_vec(), bytes);
                        state.drop_task_from_stations(&task, batch);
                    }
                }
            }
            DownlinkItem::Cancel { .. } | DownlinkItem::AdjustmentApproved { .. } => {
                // Recorded as applied; the station runtime reacts to these once tasks exist.
            }
            DownlinkItem::ReverseAdjustment {
                adjustment,
                place,
                stock,
                status,
                delta,
            } => {
                // The hub's approver rejected this change: book its opposite, as a node fact,
                // in the same batch as the downlink mark (applied exactly once).
                let plan = StepPlan {
                    events: vec![PlannedEvent {
                        body: EventBody::Adjust {
                            place,
                            stock,
                            status,
                            delta: -delta,
                            reason: ReasonCode::AdjustmentReversed,
                            adjustment: Some(adjustment),
                        },
                        operator: None,
                        station: None,
                        task: None,
                    }],
                    ops: WriteBatch::new(),
                };
                record(state, batch, plan, crate::stations::now_ms())?;
            }
        }
        state.down_applied = seq;
    }
    put_meta(batch, "down_applied", state.down_applied);
    Ok(state.down_applied)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use stockpost_common::domain::{Gtin, ItemGtin, PackLevel, Qty, Tracking};
    use stockpost_common::tasks::LocalView;

    fn item(description: &str) -> Item {
        let body = "0950000000001";
        let check = stockpost_common::check_digit::gs1_check_digit(body).unwrap();
        Item {
            sku: Sku::new("MUG").unwrap(),
            description: description.into(),
            gtins: vec![ItemGtin {
                gtin: Gtin::new(&format!("{body}{check}")).unwrap(),
                pack: PackLevel::Each,
                qty_per_pack: Qty::from_str("1").unwrap(),
            }],
            tracking: Tracking::Lot,
            expiry_controlled: true,
            unit_weight_kg: None,
            weight_tolerance_pct: None,
        }
    }

    #[tokio::test]
    async fn an_item_from_the_downlink_is_seen_by_later_steps_and_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = AgentStore::open_dir(dir.path()).unwrap();
        let node = NodeId::new("DC-1").unwrap();
        let state = AgentState::load(&store, &node).unwrap();
        let config = WriterConfig {
            max_group: 8,
            queue: 8,
        };
        let (writer, join) = start(store.clone(), state, config).unwrap();
        let first = item("Blue mug");
        let renamed = item("Blue mug, large");
        let gtin = first.gtins[0].gtin;
        let items = vec![
            DownlinkItem::ItemUpsert(first),
            DownlinkItem::ItemUpsert(renamed.clone()),
        ];
        assert_eq!(writer.downlink(1, items).await.unwrap(), 2);
        let expected = renamed.clone();
        let looked_up: StepFn = Box::new(move |s, _| {
            let by_gtin = s.item_by_gtin(&gtin).map(|(i, _)| i);
            Ok(serde_json::json!(by_gtin == Some(expected)))
        });
        match writer.step(0, looked_up).await.unwrap() {
            StepOutcome::Committed(done) => assert_eq!(done.response, serde_json::json!(true)),
            StepOutcome::Rejected(r) => panic!("rejected: {r:?}"),
        }
        drop(writer);
        tokio::task::spawn_blocking(move || join.join())
            .await
            .unwrap()
            .unwrap();
        let restarted = AgentState::load(&store, &node).unwrap();
        assert_eq!(restarted.item(&renamed.sku), Some(renamed.clone()));
        assert_eq!(restarted.item_by_gtin(&gtin).map(|(i, _)| i), Some(renamed));
        assert_eq!(restarted.items.pending(), 0);
    }

    #[test]
    fn pruning_keeps_the_newest_finished_tasks_and_every_open_one() {
        use stockpost_common::tasks::{TaskKind, TaskSpec};
        let dir = tempfile::tempdir().unwrap();
        let store = AgentStore::open_dir(dir.path()).unwrap();
        let node = NodeId::new("DC-1").unwrap();
        let mut state = AgentState::load(&store, &node).unwrap();
        let task = |id: &str, finished_at: Option<Option<i64>>| {
            let mut r =
                TaskRecord::open(TaskSpec::new(TaskId::new(id).unwrap(), TaskKind::Putaway));
            if let Some(at) = finished_at {
                r.progress.status = TaskStatus::Done;
                r.progress.finished_at_ms = at;
            }
            r
        };
        for i in 0..5i64 {
            let r = task(&format!("DONE-{i}"), Some(Some(1_000 + i)));
            state.tasks.insert(r.spec.id.clone(), r);
        }
        let legacy = task("DONE-OLD", Some(None));
        state.tasks.insert(legacy.spec.id.clone(), legacy);
        let open = task("OPEN-1", None);
        state.tasks.insert(open.spec.id.clone(), open);

        let mut batch = WriteBatch::new();
        assert_eq!(prune_finished_tasks(&mut state, &mut batch, 3), 3);
        let left: Vec<&str> = state.tasks.keys().map(|t| t.as_str()).collect();
        assert_eq!(left, ["DONE-2", "DONE-3", "DONE-4", "OPEN-1"]);
        assert_eq!(batch.len(), 3);
        // Nothing more to drop.
        let mut batch = WriteBatch::new();
        assert_eq!(prune_finished_tasks(&mut state, &mut batch, 3), 0);
        assert!(batch.is_empty());
    }
}

//! The ingest writer: applies node event batches to the authoritative ledger, strictly in
//! sequence per node, exactly once, and acks only after its own durable commit (invariant 5).
//!
//! One thread owns the hub state. It takes the batches waiting in its bounded queue (up to a
//! bound), asks each node's `Receiver` what to apply, applies those events to the ledger,
//! writes the events, the balance changes and the node's applied sequence in ONE batch, commits
//! once, and only then releases the acks (the application acks to publish and the MQTT
//! packets to PUBACK). An event that breaks a rule is quarantined as an exception and its
//! sequence is passed, so one bad event never blocks a node's stream (invariant 7).

use crate::store::{encode, event_key, HubStore, HubStoreError, Quarantined, StoredEvent};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use stockpost_common::domain::{Event, NodeId};
use stockpost_common::ledger::{ApplyError, Ledger};
use stockpost_common::sync::{BatchVerdict, Receiver, ReceiverConfig, ReceiverTransmit};
use stockpost_store::WriteBatch;
use tokio::sync::mpsc;

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
}

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
#[derive(Debug, Clone, Copy)]
pub struct IngestConfig {
    /// Most requests per commit.
    pub max_group: usize,
    /// Queue bound.
    pub queue: usize,
    /// Receiver timers.
    pub receiver: ReceiverConfig,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Loads the state and starts the writer thread. Outgoing work goes to `out` (bounded).
pub fn start<T: Send + 'static>(
    store: HubStore,
    config: IngestConfig,
    out: mpsc::Sender<Outgoing<T>>,
) -> Result<(IngestHandle<T>, std::thread::JoinHandle<()>), HubStoreError> {
    let loaded = store.load()?;
    let state = Arc::new(Mutex::new(HubState {
        ledger: loaded.ledger,
        nodes: BTreeMap::new(),
        receivers: BTreeMap::new(),
        next_quarantine: loaded.next_quarantine,
    }));
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
        let mut guard = lock(&state);
        let mut batch = WriteBatch::new();
        let mut release: Vec<T> = Vec::new();
        let mut touched: Vec<NodeId> = Vec::new();
        let mut committed_to: BTreeMap<NodeId, u64> = BTreeMap::new();
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
                        &mut guard,
                        &mut batch,
                        &node,
                        events,
                        at_ms,
                        mono_ms,
                        config,
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
            }
        }
        let result = if failed {
            Err("building the commit failed".to_string())
        } else if batch.is_empty() {
            Ok(())
        } else {
            store.commit(batch).map_err(|e| e.to_string())
        };
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
                match store.load() {
                    Ok(loaded) => {
                        guard.ledger = loaded.ledger;
                        guard.next_quarantine = loaded.next_quarantine;
                        guard.receivers.clear();
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
        drop(guard);
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

#[allow(clippy::too_many_arguments)]
fn apply_batch(
    state: &mut HubState,
    batch: &mut WriteBatch,
    node: &NodeId,
    events: Vec<Event>,
    at_ms: i64,
    mono_ms: u64,
    config: IngestConfig,
    counters: &IngestCounters,
    committed_to: &mut BTreeMap<NodeId, u64>,
) -> Result<(), HubStoreError> {
    let Some(first) = events.first().map(|e| e.id.seq) else {
        return Ok(());
    };
    let last = first + events.len() as u64 - 1;
    let applied_seq = state.ledger.applied_seq(node);
    let receiver = state
        .receivers
        .entry(node.clone())
        .or_insert_with(|| Receiver::new(config.receiver, applied_seq));
    let view = state.nodes.entry(node.clone()).or_default();
    view.last_seen_ms = Some(at_ms);
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

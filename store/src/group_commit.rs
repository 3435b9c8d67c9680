//! [`GroupCommitter`]: commits from many threads share one transaction and one fsync.
//!
//! Callers validate their batch in their own thread, then send it over a bounded channel to one
//! writer thread and block until it answers. The writer takes the first waiting request, gathers
//! more until `max_batch` requests or `max_wait` have passed, commits all their batches as one
//! atomic transaction with one fsync, and answers every caller. If that group commit fails, each
//! request is retried on its own so every caller gets its own, exact result. Either way a caller's
//! batch is all-or-nothing, and `Ok` means durable.

use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::batch::WriteBatch;
use crate::config::{Backend, GroupCommitConfig, Limits};
use crate::error::{Result, StoreError};
use crate::store::{validate_batch, KvPair, ScanOrder, Store, StoreHealth};

struct Request {
    batches: Vec<WriteBatch>,
    reply: SyncSender<Result<()>>,
}

#[derive(Debug, Default)]
struct Counters {
    groups: AtomicU64,
    requests: AtomicU64,
    fallbacks: AtomicU64,
}

/// How much grouping happened so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommitStats {
    /// Group transactions committed (= fsyncs, except for fallbacks).
    pub groups: u64,
    /// Caller requests served.
    pub requests: u64,
    /// Groups that failed and were retried request by request.
    pub fallbacks: u64,
}

/// A [`Store`] wrapper whose commits go through one writer thread that groups them.
pub struct GroupCommitter {
    inner: Arc<dyn Store>,
    tx: Option<SyncSender<Request>>,
    worker: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
    config: GroupCommitConfig,
}

impl std::fmt::Debug for GroupCommitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommitter")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl GroupCommitter {
    /// Start the writer thread for `inner`.
    pub fn new(inner: Arc<dyn Store>, config: GroupCommitConfig) -> Result<Self> {
        if config.max_batch == 0 || config.queue_capacity == 0 {
            return Err(StoreError::Config(
                "group commit max_batch and queue_capacity must be at least 1".into(),
            ));
        }
        let (tx, rx) = mpsc::sync_channel::<Request>(config.queue_capacity);
        let counters = Arc::new(Counters::default());
        let worker = {
            let inner = Arc::clone(&inner);
            let counters = Arc::clone(&counters);
            let max_batch = config.max_batch;
            let max_wait = Duration::from_micros(config.max_wait_micros);
            std::thread::Builder::new()
                .name("store-group-commit".into())
                .spawn(move || writer_loop(&*inner, &rx, max_batch, max_wait, &counters))
                .map_err(StoreError::Spawn)?
        };
        Ok(Self {
            inner,
            tx: Some(tx),
            worker: Some(worker),
            counters,
            config,
        })
    }

    /// Counters of groups and requests so far.
    pub fn stats(&self) -> GroupCommitStats {
        GroupCommitStats {
            groups: self.counters.groups.load(Ordering::Relaxed),
            requests: self.counters.requests.load(Ordering::Relaxed),
            fallbacks: self.counters.fallbacks.load(Ordering::Relaxed),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<dyn Store> {
        &self.inner
    }

    fn submit(&self, batches: Vec<WriteBatch>) -> Result<()> {
        for batch in &batches {
            validate_batch(self.inner.trees(), self.inner.limits(), batch)?;
        }
        let tx = self.tx.as_ref().ok_or(StoreError::Closed)?;
        let (reply, answer) = mpsc::sync_channel(1);
        tx.send(Request { batches, reply })
            .map_err(|_| StoreError::Closed)?;
        answer.recv().map_err(|_| StoreError::Closed)?
    }
}

fn writer_loop(
    store: &dyn Store,
    rx: &Receiver<Request>,
    max_batch: usize,
    max_wait: Duration,
    counters: &Counters,
) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        let deadline = Instant::now() + max_wait;
        while group.len() < max_batch {
            match rx.try_recv() {
                Ok(r) => {
                    group.push(r);
                    continue;
                }
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {}
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            match rx.recv_timeout(deadline - now) {
                Ok(r) => group.push(r),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        let mut replies = Vec::with_capacity(group.len());
        let mut lists = Vec::with_capacity(group.len());
        for r in group {
            replies.push(r.reply);
            lists.push(r.batches);
        }
        counters.groups.fetch_add(1, Ordering::Relaxed);
        counters
            .requests
            .fetch_add(replies.len() as u64, Ordering::Relaxed);
        if lists.len() == 1 {
            let result = store.commit_group(&lists[0]);
            // A caller that gave up waiting is not an error of the writer.
            let _ = replies[0].send(result);
            continue;
        }
        let all: Vec<WriteBatch> = lists.iter().flatten().cloned().collect();
        match store.commit_group(&all) {
            Ok(()) => {
                for reply in replies {
                    let _ = reply.send(Ok(()));
                }
            }
            Err(e) => {
                counters.fallbacks.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, requests = replies.len(),
                    "group commit failed; retrying each request on its own");
                for (reply, batches) in replies.into_iter().zip(lists) {
                    let _ = reply.send(store.commit_group(&batches));
                }
            }
        }
    }
}

impl Drop for GroupCommitter {
    fn drop(&mut self) {
        // Closing the channel lets the writer finish what is queued and exit.
        drop(self.tx.take());
        if let Some(worker) = self.worker.take() {
            if worker.join().is_err() {
                tracing::error!("the group-commit writer thread panicked");
            }
        }
    }
}

impl Store for GroupCommitter {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }

    fn trees(&self) -> &[String] {
        self.inner.trees()
    }

    fn limits(&self) -> &Limits {
        self.inner.limits()
    }

    fn get(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.get(tree, key)
    }

    fn scan_range(
        &self,
        tree: &str,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        limit: usize,
        order: ScanOrder,
    ) -> Result<Vec<KvPair>> {
        self.inner.scan_range(tree, start, end, limit, order)
    }

    fn scan_prefix(
        &self,
        tree: &str,
        prefix: &[u8],
        limit: usize,
        order: ScanOrder,
    ) -> Result<Vec<KvPair>> {
        self.inner.scan_prefix(tree, prefix, limit, order)
    }

    fn commit(&self, batch: WriteBatch) -> Result<()> {
        self.submit(vec![batch])
    }

    fn commit_group(&self, batches: &[WriteBatch]) -> Result<()> {
        self.submit(batches.to_vec())
    }

    fn health(&self) -> StoreHealth {
        self.inner.health()
    }
}

//! [`SledStore`]: the sled 0.34.7 backend.
//!
//! Durability: sled's background flusher is disabled (`flush_every_ms(None)`); every commit runs a
//! multi-tree transaction, then `Db::flush()` (which on Linux ends in `sync_file_range`, not a real
//! fsync) and then `File::sync_all()` on sled's `db` file. A failed flush or fsync poisons the store.

use std::fs::File;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sled::transaction::{TransactionError, Transactional};

use crate::batch::{Op, WriteBatch};
use crate::config::{Backend, Limits, SledMode, StoreConfig};
use crate::error::{Result, StoreError};
use crate::integrity::{self, CommitLog, Found, COMMITS_KEY, FORMAT_KEY, FORMAT_VALUE, META_TREE};
use crate::store::{
    check_scan_limit, contain_panic, range_is_empty, tree_index, validate_batch,
    validate_tree_names, KvPair, ScanOrder, Store, StoreHealth,
};

const BACKEND: &str = "sled";

/// The sled backend. See the module docs for how commits are made durable.
pub struct SledStore {
    path: PathBuf,
    db: sled::Db,
    db_file: File,
    names: Vec<String>,
    trees: Vec<sled::Tree>,
    limits: Limits,
    poisoned: Mutex<Option<String>>,
    /// Why the last commit failed, when it did.
    last_failure: Mutex<Option<String>>,
    /// Commit counter and checkpoints; also serialises writers.
    log: Mutex<CommitLog>,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("path", &self.path)
            .field("trees", &self.names)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl SledStore {
    /// Open (or create) a sled store in directory `path` with the given trees.
    pub fn open(config: &StoreConfig, trees: &[&str]) -> Result<Self> {
        let path = config.path.as_path();
        let options = &config.sled;
        let names = validate_tree_names(trees)?;
        std::fs::create_dir_all(path).map_err(|source| StoreError::Io {
            path: path.to_owned(),
            source,
        })?;
        remove_interrupted_snapshots(path)?;
        let mode = match options.mode {
            SledMode::LowSpace => sled::Mode::LowSpace,
            SledMode::HighThroughput => sled::Mode::HighThroughput,
        };
        let sled_config = sled::Config::new()
            .path(path)
            .cache_capacity(options.cache_bytes)
            .flush_every_ms(None)
            .mode(mode)
            .use_compression(false)
            .temporary(false);
        let (db, sled_trees) = contain_panic(BACKEND, || {
            let db = open_with_lock_retry(&sled_config).map_err(|e| classify(path, e))?;
            let mut sled_trees = Vec::with_capacity(names.len() + 1);
            // The declared trees, then the reserved meta tree (last).
            for name in names.iter().map(String::as_str).chain([META_TREE]) {
                sled_trees.push(
                    db.open_tree(name.as_bytes())
                        .map_err(|e| classify(path, e))?,
                );
            }
            Ok((db, sled_trees))
        })
        .map_err(|e| match e {
            StoreError::Panicked { detail, .. } => StoreError::Corrupt {
                path: path.to_owned(),
                detail: format!("sled panicked while opening: {detail}"),
            },
            other => other,
        })?;
        let db_path = path.join("db");
        let db_file = File::open(&db_path).map_err(|source| StoreError::Io {
            path: db_path.clone(),
            source,
        })?;
        let meta = &sled_trees[sled_trees.len() - 1];
        let read = |key: &[u8]| -> Result<Option<Vec<u8>>> {
            contain_panic(BACKEND, || Ok(meta.get(key)?.map(|v| v.to_vec())))
        };
        let found = integrity::check(
            path,
            read(FORMAT_KEY)?.as_deref(),
            read(COMMITS_KEY)?.as_deref(),
        )?;
        let commits = match found {
            Found::Fresh => {
                contain_panic(BACKEND, || {
                    meta.insert(FORMAT_KEY, FORMAT_VALUE)?;
                    meta.insert(COMMITS_KEY, &0u64.to_be_bytes())?;
                    Ok(())
                })?;
                0
            }
            Found::Existing(n) => n,
        };
        // Make creation (and whatever recovery rewrote) durable before any checkpoint.
        db.flush()?;
        db_file.sync_all().map_err(|source| StoreError::Io {
            path: db_path,
            source,
        })?;
        sync_dir(path)?;
        if found == Found::Fresh || integrity::read_checkpoint(path)?.is_none() {
            integrity::write_checkpoint(path, commits)?;
        }
        Ok(Self {
            path: path.to_owned(),
            db,
            db_file,
            names,
            trees: sled_trees,
            limits: config.limits.clone(),
            poisoned: Mutex::new(None),
            last_failure: Mutex::new(None),
            log: Mutex::new(CommitLog::new(
                path,
                config.checkpoint_every_commits,
                commits,
            )),
        })
    }

    fn check_poisoned(&self) -> Result<()> {
        let guard = self.poisoned.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(why) => Err(StoreError::Poisoned(why.clone())),
            None => Ok(()),
        }
    }

    fn poison(&self, why: String) {
        let mut guard = self.poisoned.lock().unwrap_or_else(|e| e.into_inner());
        tracing::error!(path = %self.path.display(), error = %why,
            "sled store poisoned: a flush or fsync failed; later commits are refused until restart");
        *guard = Some(why);
    }

    fn make_durable(&self) -> Result<()> {
        if let Err(e) = self.db.flush() {
            self.poison(format!("sled flush: {e}"));
            return Err(StoreError::Sled(e));
        }
        if let Err(source) = self.db_file.sync_all() {
            self.poison(format!("fsync of the sled db file: {source}"));
            return Err(StoreError::Io {
                path: self.path.join("db"),
                source,
            });
        }
        Ok(())
    }
}

/// How often, and how long apart, to retry when sled's file lock is still held.
const LOCK_RETRIES: u32 = 50;
const LOCK_RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);

/// Open sled, retrying for a bounded time (0.5 s) while its file lock is held. sled releases the
/// lock only when the last internal reference to the database is dropped, which can be a moment
/// after the `Db` itself is dropped (its I/O threads finish first), so an in-process reopen can
/// briefly see its own lock. Another process holding the store keeps failing and gets the error.
fn open_with_lock_retry(config: &sled::Config) -> sled::Result<sled::Db> {
    let mut attempt = 0;
    loop {
        match config.open() {
            Err(sled::Error::Io(e))
                if attempt < LOCK_RETRIES && e.to_string().contains("could not acquire lock") =>
            {
                attempt += 1;
                // A bounded retry while another thread releases a file lock, not synchronisation.
                #[allow(clippy::disallowed_methods)]
                std::thread::sleep(LOCK_RETRY_PAUSE);
            }
            other => return other,
        }
    }
}

/// Work around a sled 0.34.7 recovery bug found by the crash harness.
///
/// sled writes a snapshot to `snap.<lsn>.generating`, fsyncs it, renames it to `snap.<lsn>`, and
/// only then deletes older snapshots. But when it opens, it also considers `.generating` files and
/// reads the newest one; a process killed while writing one (sled writes snapshots during recovery
/// at open, and periodically) leaves a store sled refuses to open ("Read corrupted data"). A
/// `.generating` file is never a finished snapshot (the older, complete one is still there), so it
/// is removed before sled opens the store.
fn remove_interrupted_snapshots(path: &Path) -> Result<()> {
    let io = |source| StoreError::Io {
        path: path.to_owned(),
        source,
    };
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(e)),
    };
    let mut removed = false;
    for entry in entries {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            tracing::warn!(path = %entry.path().display(),
                "removing an interrupted sled snapshot (the process stopped while sled wrote it)");
            std::fs::remove_file(entry.path()).map_err(io)?;
            removed = true;
        }
    }
    if removed {
        sync_dir(path)?;
    }
    Ok(())
}

/// Map a sled error met while opening: corruption (and undecodable data) becomes [`StoreError::Corrupt`].
fn classify(path: &Path, e: sled::Error) -> StoreError {
    let err = StoreError::Sled(e);
    if err.is_corruption() {
        StoreError::Corrupt {
            path: path.to_owned(),
            detail: err.to_string(),
        }
    } else {
        err
    }
}

fn sync_dir(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(|source| StoreError::Io {
            path: path.to_owned(),
            source,
        })
}

impl Store for SledStore {
    fn backend(&self) -> Backend {
        Backend::Sled
    }

    fn trees(&self) -> &[String] {
        &self.names
    }

    fn limits(&self) -> &Limits {
        &self.limits
    }

    fn get(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let idx = tree_index(&self.names, tree)?;
        contain_panic(BACKEND, || {
            Ok(self.trees[idx].get(key)?.map(|v| v.to_vec()))
        })
    }

    fn scan_range(
        &self,
        tree: &str,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        limit: usize,
        order: ScanOrder,
    ) -> Result<Vec<KvPair>> {
        let idx = tree_index(&self.names, tree)?;
        check_scan_limit(&self.limits, limit)?;
        if limit == 0 || range_is_empty(start, end) {
            return Ok(Vec::new());
        }
        contain_panic(BACKEND, || {
            let iter = self.trees[idx].range::<&[u8], _>((start, end));
            let mut out = Vec::with_capacity(limit.min(1024));
            let mut push = |item: sled::Result<(sled::IVec, sled::IVec)>| -> Result<bool> {
                let (k, v) = item?;
                out.push((k.to_vec(), v.to_vec()));
                Ok(out.len() < limit)
            };
            match order {
                ScanOrder::Ascending => {
                    for item in iter {
                        if !push(item)? {
                            break;
                        }
                    }
                }
                ScanOrder::Descending => {
                    for item in iter.rev() {
                        if !push(item)? {
                            break;
                        }
                    }
                }
            }
            Ok(out)
        })
    }

    fn commit_group(&self, batches: &[WriteBatch]) -> Result<()> {
        for batch in batches {
            validate_batch(&self.names, &self.limits, batch)?;
        }
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let result = self.commit_locked(&mut log, batches);
        let mut failure = self.last_failure.lock().unwrap_or_else(|e| e.into_inner());
        match &result {
            Ok(()) => *failure = None,
            Err(e) => {
                tracing::error!(backend = BACKEND, error = %e,
                    "a store commit failed; writes are failing until a commit succeeds");
                *failure = Some(e.to_string());
            }
        }
        result
    }

    fn health(&self) -> StoreHealth {
        if let Some(why) = self
            .poisoned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            return StoreHealth::WriteFailing {
                reason: StoreError::Poisoned(why.clone()).to_string(),
            };
        }
        match self
            .last_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            Some(reason) => StoreHealth::WriteFailing {
                reason: reason.clone(),
            },
            None => StoreHealth::Healthy,
        }
    }
}

impl SledStore {
    /// The commit itself, with the writer lock held and the batches validated.
    fn commit_locked(&self, log: &mut CommitLog, batches: &[WriteBatch]) -> Result<()> {
        self.check_poisoned()?;
        // The trees this group touches, and for each op the index of its tree among them.
        let mut touched: Vec<usize> = Vec::new();
        let mut plan: Vec<(usize, &Op)> = Vec::new();
        for op in batches.iter().flat_map(|b| b.ops()) {
            let idx = tree_index(&self.names, op.tree())?;
            let view = match touched.iter().position(|&t| t == idx) {
                Some(v) => v,
                None => {
                    touched.push(idx);
                    touched.len() - 1
                }
            };
            plan.push((view, op));
        }
        if plan.is_empty() {
            return Ok(());
        }
        // The commit counter, in the same transaction.
        let counter = log.next().to_be_bytes();
        touched.push(self.trees.len() - 1);
        let counter_view = touched.len() - 1;
        let trees: Vec<sled::Tree> = touched.iter().map(|&i| self.trees[i].clone()).collect();
        contain_panic(BACKEND, || {
            // The closure may run more than once (optimistic concurrency): it has no side effects.
            let result: std::result::Result<(), TransactionError<()>> =
                trees.as_slice().transaction(|views| {
                    for (view, op) in &plan {
                        match op {
                            Op::Put { key, value, .. } => {
                                views[*view].insert(key.as_slice(), value.as_slice())?;
                            }
                            Op::Delete { key, .. } => {
                                views[*view].remove(key.as_slice())?;
                            }
                        }
                    }
                    views[counter_view].insert(COMMITS_KEY, &counter[..])?;
                    Ok(())
                });
            match result {
                Ok(()) => Ok(()),
                Err(TransactionError::Storage(e)) => Err(StoreError::Sled(e)),
                Err(TransactionError::Abort(())) => Err(StoreError::Sled(
                    sled::Error::ReportableBug("transaction aborted without a reason".into()),
                )),
            }
        })?;
        self.make_durable()?;
        log.committed();
        Ok(())
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        if self.check_poisoned().is_ok() {
            self.log
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .checkpoint();
        }
    }
}

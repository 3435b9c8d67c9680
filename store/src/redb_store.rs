//! [`RedbStore`]: the redb backend.
//!
//! Durability: every write transaction is committed with `Durability::Immediate`, so it is on disk
//! (fsynced) when `commit()` returns. The database lives in `<dir>/store.redb`.
//!
//! Self-healing: after an I/O error (e.g. "No space left on device") redb fails every later
//! operation with `PreviousIo` until the `Database` is closed and reopened. So after a failed
//! commit the store closes and reopens the database (redb then recovers from its last durable
//! commit); when that reopen fails too (the disk is still full), the next operation tries again.
//! [`Store::health`] reports the failure until a commit succeeds.

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use redb::{ConcurrencyMode, Database, Durability, ReadableDatabase, TableDefinition};

use crate::batch::{Op, WriteBatch};
use crate::config::{Backend, Limits, RedbOptions, StoreConfig};
use crate::error::{Result, StoreError};
use crate::integrity::{self, CommitLog, Found, COMMITS_KEY, FORMAT_KEY, FORMAT_VALUE, META_TREE};
use crate::store::{
    check_scan_limit, contain_panic, range_is_empty, tree_index, validate_batch,
    validate_tree_names, KvPair, ScanOrder, Store, StoreHealth,
};

const BACKEND: &str = "redb";

/// File name of the redb database inside the store directory.
pub const REDB_FILE: &str = "store.redb";

type RangeItem<'a> = std::result::Result<
    (
        redb::AccessGuard<'a, &'static [u8]>,
        redb::AccessGuard<'a, &'static [u8]>,
    ),
    redb::StorageError,
>;

type Def<'a> = TableDefinition<'a, &'static [u8], &'static [u8]>;

/// The redb backend. See the module docs for how commits are made durable.
pub struct RedbStore {
    path: PathBuf,
    /// `None` after a failed reopen (see the module docs); the next operation reopens it.
    db: RwLock<Option<Database>>,
    names: Vec<String>,
    limits: Limits,
    two_phase_commit: bool,
    options: RedbOptions,
    checkpoint_every: u64,
    /// Why the last commit failed, when it did.
    last_failure: Mutex<Option<String>>,
    /// Commit counter and checkpoints; also serialises writers (redb has one writer anyway).
    log: Mutex<CommitLog>,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .field("trees", &self.names)
            .field("limits", &self.limits)
            .field("two_phase_commit", &self.two_phase_commit)
            .finish_non_exhaustive()
    }
}

fn rerr(e: impl Into<redb::Error>) -> StoreError {
    StoreError::Redb(e.into())
}

/// Whether redb has latched an I/O failure, so the database must be closed and reopened.
fn needs_reopen(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Redb(
            redb::Error::Io(_) | redb::Error::PreviousIo | redb::Error::DatabaseClosed
        )
    )
}

fn closed() -> StoreError {
    StoreError::Redb(redb::Error::DatabaseClosed)
}

fn open_database(file: &Path, options: &RedbOptions) -> Result<Database> {
    Database::builder()
        .set_cache_size(options.cache_bytes)
        .set_concurrency_mode(ConcurrencyMode::ExclusiveWriter)
        .set_check_integrity_on_open(options.check_integrity_on_open)
        .create(file)
        .map_err(rerr)
}

/// The commit counter stored in the database.
fn read_commits(db: &Database) -> Result<Option<Vec<u8>>> {
    let read = db.begin_read().map_err(rerr)?;
    match read.open_table(Def::new(META_TREE)) {
        Ok(meta) => Ok(meta
            .get(COMMITS_KEY)
            .map_err(rerr)?
            .map(|v| v.value().to_vec())),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(rerr(e)),
    }
}

/// Makes sure `file` is either absent-and-never-half-made or a database with a whole header.
///
/// A kill -9 while redb creates a new file can leave it without a header ("Not a redb database"),
/// which would make the store unopenable (seen by the crash harness on the very first open). So a new
/// database is created under a temporary name, synced, and renamed into place; a zero-length file left by
/// an older build's interrupted creation holds nothing and is removed.
fn create_atomically(dir: &Path, file: &Path, options: &RedbOptions) -> Result<()> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| StoreError::Io { path, source }
    };
    match std::fs::metadata(file) {
        Ok(meta) if meta.len() > 0 => return Ok(()),
        Ok(_) => std::fs::remove_file(file).map_err(io(file))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(file)(e)),
    }
    let creating = dir.join(format!("{REDB_FILE}.creating"));
    match std::fs::remove_file(&creating) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(&creating)(e)),
    }
    contain_panic(BACKEND, || {
        let db = Database::builder()
            .set_cache_size(options.cache_bytes)
            .create(&creating)
            .map_err(rerr)?;
        drop(db);
        Ok(())
    })?;
    std::fs::File::open(&creating)
        .and_then(|f| f.sync_all())
        .map_err(io(&creating))?;
    std::fs::rename(&creating, file).map_err(io(file))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

impl RedbStore {
    /// Open (or create) a redb store in directory `config.path` with the given trees.
    pub fn open(config: &StoreConfig, trees: &[&str]) -> Result<Self> {
        let path = config.path.as_path();
        let options = &config.redb;
        let names = validate_tree_names(trees)?;
        std::fs::create_dir_all(path).map_err(|source| StoreError::Io {
            path: path.to_owned(),
            source,
        })?;
        let file = path.join(REDB_FILE);
        create_atomically(path, &file, options)?;
        let opened = contain_panic(BACKEND, || {
            let db = open_database(&file, options)?;
            // What the reserved meta table says, before anything is written.
            let read = db.begin_read().map_err(rerr)?;
            let (format, commits) = match read.open_table(Def::new(META_TREE)) {
                Ok(meta) => (
                    meta.get(FORMAT_KEY)
                        .map_err(rerr)?
                        .map(|v| v.value().to_vec()),
                    meta.get(COMMITS_KEY)
                        .map_err(rerr)?
                        .map(|v| v.value().to_vec()),
                ),
                Err(redb::TableError::TableDoesNotExist(_)) => (None, None),
                Err(e) => return Err(rerr(e)),
            };
            drop(read);
            Ok((db, format, commits))
        });
        let (db, format, commits) = match opened {
            Ok(x) => x,
            Err(e) if e.is_corruption() => {
                return Err(StoreError::Corrupt {
                    path: path.to_owned(),
                    detail: e.to_string(),
                })
            }
            Err(e) => return Err(e),
        };
        let found = integrity::check(path, format.as_deref(), commits.as_deref())?;
        let store = Self {
            path: path.to_owned(),
            db: RwLock::new(Some(db)),
            names,
            limits: config.limits.clone(),
            two_phase_commit: options.two_phase_commit,
            options: options.clone(),
            checkpoint_every: config.checkpoint_every_commits,
            last_failure: Mutex::new(None),
            log: Mutex::new(CommitLog::new(path, config.checkpoint_every_commits, 0)),
        };
        // Create every declared table (and the marker on a new store), durably.
        let commits = store.with_db(|db| {
            let txn = store.begin_write(db)?;
            for name in &store.names {
                txn.open_table(Def::new(name)).map_err(rerr)?;
            }
            let commits = match found {
                Found::Fresh => {
                    let mut meta = txn.open_table(Def::new(META_TREE)).map_err(rerr)?;
                    meta.insert(FORMAT_KEY, FORMAT_VALUE).map_err(rerr)?;
                    meta.insert(COMMITS_KEY, &0u64.to_be_bytes()[..])
                        .map_err(rerr)?;
                    0
                }
                Found::Existing(n) => n,
            };
            txn.commit().map_err(rerr)?;
            Ok(commits)
        })?;
        std::fs::File::open(path)
            .and_then(|d| d.sync_all())
            .map_err(|source| StoreError::Io {
                path: path.to_owned(),
                source,
            })?;
        if found == Found::Fresh || integrity::read_checkpoint(path)?.is_none() {
            integrity::write_checkpoint(path, commits)?;
        }
        *store.log.lock().unwrap_or_else(|e| e.into_inner()) =
            CommitLog::new(path, config.checkpoint_every_commits, commits);
        Ok(store)
    }

    fn begin_write(&self, db: &Database) -> Result<redb::WriteTransaction> {
        let mut txn = db.begin_write().map_err(rerr)?;
        txn.set_durability(Durability::Immediate).map_err(rerr)?;
        txn.set_two_phase_commit(self.two_phase_commit);
        Ok(txn)
    }

    /// Run `f` on the open database (panics contained); `DatabaseClosed` when it is not open.
    fn with_db<T>(&self, f: impl FnOnce(&Database) -> Result<T>) -> Result<T> {
        let guard = self.db.read().unwrap_or_else(|e| e.into_inner());
        let db = guard.as_ref().ok_or_else(closed)?;
        contain_panic(BACKEND, || f(db))
    }

    /// A read: when redb has latched an earlier I/O failure (or the database is closed after a
    /// failed reopen), reopen and try once more.
    fn read<T>(&self, f: impl Fn(&Database) -> Result<T>) -> Result<T> {
        match self.with_db(&f) {
            Err(e) if needs_reopen(&e) => {
                let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
                self.reopen(&mut log)?;
                drop(log);
                self.with_db(&f)
            }
            other => other,
        }
    }

    /// Close the database and open it again, which clears redb's latched I/O failure; redb
    /// recovers to its last durable commit. The commit counter is re-read from the database.
    /// Called with the writer lock held.
    fn reopen(&self, log: &mut CommitLog) -> Result<()> {
        let mut guard = self.db.write().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = guard.take() {
            if let Err(e) = old.close() {
                tracing::debug!(error = %e, "closing the failed redb database reported an error");
            }
        }
        let file = self.path.join(REDB_FILE);
        let opened = contain_panic(BACKEND, || {
            let db = open_database(&file, &self.options)?;
            let commits = read_commits(&db)?;
            Ok((db, commits))
        });
        match opened {
            Ok((db, commits)) => {
                let commits = integrity::decode_counter(&self.path, commits.as_deref())?;
                *log = CommitLog::new(&self.path, self.checkpoint_every, commits);
                *guard = Some(db);
                tracing::info!(path = %self.path.display(), commits,
                    "reopened the redb store after an I/O failure");
                Ok(())
            }
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e,
                    "could not reopen the redb store after an I/O failure; retrying on the next \
                     operation");
                Err(e)
            }
        }
    }

    /// The commit itself, with the writer lock held and the batches validated.
    fn commit_locked(&self, log: &CommitLog, batches: &[WriteBatch]) -> Result<()> {
        self.with_db(|db| {
            let txn = self.begin_write(db)?;
            {
                // The commit counter, in the same transaction.
                let mut meta = txn.open_table(Def::new(META_TREE)).map_err(rerr)?;
                meta.insert(COMMITS_KEY, &log.next().to_be_bytes()[..])
                    .map_err(rerr)?;
            }
            {
                let mut tables: Vec<Option<redb::Table<'_, &[u8], &[u8]>>> =
                    (0..self.names.len()).map(|_| None).collect();
                for op in batches.iter().flat_map(|b| b.ops()) {
                    let idx = tree_index(&self.names, op.tree())?;
                    let table = match &mut tables[idx] {
                        Some(t) => t,
                        slot @ None => {
                            slot.insert(txn.open_table(Def::new(&self.names[idx])).map_err(rerr)?)
                        }
                    };
                    match op {
                        Op::Put { key, value, .. } => {
                            table
                                .insert(key.as_slice(), value.as_slice())
                                .map_err(rerr)?;
                        }
                        Op::Delete { key, .. } => {
                            table.remove(key.as_slice()).map_err(rerr)?;
                        }
                    }
                }
            }
            // Durability::Immediate: durable when commit returns. A failure aborts the transaction.
            txn.commit().map_err(rerr)
        })
    }
}

impl Store for RedbStore {
    fn backend(&self) -> Backend {
        Backend::Redb
    }

    fn trees(&self) -> &[String] {
        &self.names
    }

    fn limits(&self) -> &Limits {
        &self.limits
    }

    fn get(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let idx = tree_index(&self.names, tree)?;
        self.read(|db| {
            let txn = db.begin_read().map_err(rerr)?;
            let table = txn.open_table(Def::new(&self.names[idx])).map_err(rerr)?;
            let value = table.get(key).map_err(rerr)?;
            Ok(value.map(|v| v.value().to_vec()))
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
        self.read(|db| {
            let txn = db.begin_read().map_err(rerr)?;
            let table = txn.open_table(Def::new(&self.names[idx])).map_err(rerr)?;
            let range = table.range::<&[u8]>((start, end)).map_err(rerr)?;
            let mut out = Vec::with_capacity(limit.min(1024));
            let mut push = |item: RangeItem<'_>| -> Result<bool> {
                let (k, v) = item.map_err(rerr)?;
                out.push((k.value().to_vec(), v.value().to_vec()));
                Ok(out.len() < limit)
            };
            match order {
                ScanOrder::Ascending => {
                    for item in range {
                        if !push(item)? {
                            break;
                        }
                    }
                }
                ScanOrder::Descending => {
                    for item in range.rev() {
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
        if batches.iter().all(WriteBatch::is_empty) {
            return Ok(());
        }
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let mut result = self.commit_locked(&log, batches);
        let latched = |e: &StoreError| {
            matches!(
                e,
                StoreError::Redb(redb::Error::PreviousIo | redb::Error::DatabaseClosed)
            )
        };
        let mut reopen_failed = false;
        if matches!(&result, Err(e) if latched(e)) {
            // redb latched an earlier failure (or is closed after a failed reopen): reopen and try
            // once more. The failed transaction was aborted, so nothing of it is visible.
            match self.reopen(&mut log) {
                Ok(()) => result = self.commit_locked(&log, batches),
                Err(e) => {
                    // Why the reopen failed says more than "closed" (e.g. the disk is still full).
                    reopen_failed = true;
                    result = Err(e);
                }
            }
        }
        let mut failure = self.last_failure.lock().unwrap_or_else(|e| e.into_inner());
        match &result {
            Ok(()) => {
                if let Some(was) = failure.take() {
                    tracing::info!(backend = BACKEND, previous_error = %was,
                        "store commits succeed again");
                }
                log.committed();
            }
            Err(e) => {
                tracing::error!(backend = BACKEND, error = %e,
                    "a store commit failed; writes are failing until a commit succeeds");
                *failure = Some(e.to_string());
                drop(failure);
                if needs_reopen(e) && !reopen_failed {
                    // Clear redb's latch now, so reads keep working; a failure is retried later.
                    let _ = self.reopen(&mut log);
                }
            }
        }
        result
    }

    fn health(&self) -> StoreHealth {
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

impl Drop for RedbStore {
    fn drop(&mut self) {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .checkpoint();
    }
}

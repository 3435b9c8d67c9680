//! The embedded backend of the hub's repository: the books' working set in memory
//! (`stockpost_engine::repo::books::Books`), written to the embedded store (redb by default) in
//! one durable batch per commit round. The only module of the hub that touches the store;
//! `layout.rs` is the table of every tree and key.
//!
//! Readers ([`StoreReader`]) get the event log, the audit trail and the webhook trees straight
//! from the store (its readers never wait for the writer); everything else comes from the read
//! model.

pub mod layout;
pub mod load;
pub mod migrate;
pub mod write;

use crate::config::HubConfig;
use crate::dto::webhooks::{StoredDeadLetter, StoredDelivery};
use layout::{decode, decode_json, node_seq, read_u64};
use std::collections::VecDeque;
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::Arc;
use stockpost_common::domain::NodeId;
use stockpost_common::orders::AuditEntry;
use stockpost_engine::read::BooksView;
use stockpost_engine::records::StoredEvent;
use stockpost_engine::repo::books::{Books, EventLog};
use stockpost_engine::repo::{Committed, RepoError, RepoResult, Repository, UnitOfWork};
use stockpost_store::{Backend, ScanOrder, Store, StoreConfig};

fn storage(e: impl std::fmt::Display) -> RepoError {
    RepoError::Storage(e.to_string())
}

/// Reads committed data straight from the store.
#[derive(Debug, Clone)]
pub struct StoreReader {
    store: Arc<dyn Store>,
}

impl StoreReader {
    /// Events of `node` after `after`, at most `limit`.
    pub fn events(&self, node: &NodeId, after: u64, limit: usize) -> RepoResult<Vec<StoredEvent>> {
        let start = node_seq(node, after.saturating_add(1));
        let end = node_seq(node, u64::MAX);
        let limit = limit.min(self.store.limits().max_scan_items);
        self.store
            .scan_range(
                layout::EVENTS,
                Bound::Included(start.as_slice()),
                Bound::Included(end.as_slice()),
                limit,
                ScanOrder::Ascending,
            )
            .map_err(storage)?
            .iter()
            .map(|(_, v)| decode(layout::EVENTS, v))
            .collect()
    }

    /// Events of every node, in (node, seq) order, at most `limit`.
    pub fn all_events(&self, limit: usize) -> RepoResult<Vec<StoredEvent>> {
        let limit = limit.min(self.store.limits().max_scan_items);
        self.store
            .scan_range(
                layout::EVENTS,
                Bound::Unbounded,
                Bound::Unbounded,
                limit,
                ScanOrder::Ascending,
            )
            .map_err(storage)?
            .iter()
            .map(|(_, v)| decode(layout::EVENTS, v))
            .collect()
    }

    /// Audit entries after id `after`, at most `limit`.
    pub fn audit(&self, after: u64, limit: usize) -> RepoResult<Vec<(u64, AuditEntry)>> {
        let start = after.saturating_add(1).to_be_bytes();
        let limit = limit.min(self.store.limits().max_scan_items);
        self.store
            .scan_range(
                layout::AUDIT,
                Bound::Included(start.as_slice()),
                Bound::Unbounded,
                limit,
                ScanOrder::Ascending,
            )
            .map_err(storage)?
            .iter()
            .map(|(k, v)| Ok((read_u64(layout::AUDIT, k)?, decode_json(layout::AUDIT, v)?)))
            .collect()
    }

    /// Up to `limit` deliveries in the webhook outbox, oldest first.
    pub fn outbox(&self, limit: usize) -> RepoResult<Vec<StoredDelivery>> {
        let limit = limit.min(self.store.limits().max_scan_items);
        self.store
            .scan_range(
                layout::WEBHOOK_OUTBOX,
                Bound::Unbounded,
                Bound::Unbounded,
                limit,
                ScanOrder::Ascending,
            )
            .map_err(storage)?
            .iter()
            .map(|(_, v)| decode_json(layout::WEBHOOK_OUTBOX, v))
            .collect()
    }

    /// Whether delivery `id` is still in the outbox.
    pub fn in_outbox(&self, id: u64) -> RepoResult<bool> {
        Ok(self
            .store
            .get(layout::WEBHOOK_OUTBOX, &id.to_be_bytes())
            .map_err(storage)?
            .is_some())
    }

    /// The dead letters, oldest first.
    pub fn dead_letters(&self) -> RepoResult<Vec<StoredDeadLetter>> {
        self.store
            .scan_range(
                layout::WEBHOOK_DEAD,
                Bound::Unbounded,
                Bound::Unbounded,
                write::MAX_DEAD_LETTERS,
                ScanOrder::Ascending,
            )
            .map_err(storage)?
            .iter()
            .map(|(_, v)| decode_json(layout::WEBHOOK_DEAD, v))
            .collect()
    }

    /// How many entries `tree` holds (scans it).
    pub fn count(&self, tree: &'static str) -> RepoResult<u64> {
        let mut n = 0u64;
        load::for_each(&*self.store, tree, |_, _| {
            n += 1;
            Ok(())
        })?;
        Ok(n)
    }

    /// Why the store's last commit failed, while it does (disk full, I/O error); `None` when
    /// commits succeed.
    pub fn write_failure(&self) -> Option<String> {
        match self.store.health() {
            stockpost_store::StoreHealth::WriteFailing { reason } => Some(reason),
            stockpost_store::StoreHealth::Healthy => None,
        }
    }

    /// A counter or mark of `meta`.
    pub fn meta(&self, name: &str) -> RepoResult<Option<u64>> {
        load::meta(&*self.store, name.as_bytes())
    }

    /// The store, for tests that prepare an older store on purpose.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

#[derive(Debug)]
struct StoreLog(StoreReader);

impl EventLog for StoreLog {
    fn read(&self, node: &NodeId, after: u64, limit: usize) -> RepoResult<Vec<StoredEvent>> {
        self.0.events(node, after, limit)
    }
}

/// Opens the configured store under `data_dir/store` (a corrupt one is moved aside: the path
/// it was moved to is returned).
pub fn open_store(config: &HubConfig) -> RepoResult<(StoreReader, Option<PathBuf>)> {
    let backend = if config.store.backend == "sled" {
        Backend::Sled
    } else {
        Backend::Redb
    };
    let mut sc = StoreConfig::new(backend, config.data_dir.join("store"));
    sc.sled.cache_bytes = config.store.cache_bytes;
    sc.redb.cache_bytes = usize::try_from(config.store.cache_bytes).unwrap_or(usize::MAX);
    // The writer makes one batch per round itself.
    sc.group_commit.enabled = false;
    sc.limits.max_value_bytes = 2 * 1024 * 1024;
    sc.limits.max_batch_ops = 1_000_000;
    let opened = stockpost_store::open_store_reporting(&sc, layout::TREES).map_err(storage)?;
    Ok((
        StoreReader {
            store: Arc::from(opened.store),
        },
        opened.quarantined,
    ))
}

/// The embedded repository.
#[derive(Debug)]
pub struct EmbeddedRepo {
    reader: StoreReader,
    books: Books,
    dead: VecDeque<u64>,
    fail_next: bool,
}

impl EmbeddedRepo {
    /// Opens the store, brings it to the current layout and loads the books.
    pub fn open(config: &HubConfig) -> RepoResult<(Self, Option<PathBuf>)> {
        let (reader, moved) = open_store(config)?;
        migrate::migrate(&*reader.store)?;
        let loaded = load::books(&*reader.store)?;
        let mut dead = VecDeque::new();
        load::for_each(&*reader.store, layout::WEBHOOK_DEAD, |k, _| {
            dead.push_back(read_u64(layout::WEBHOOK_DEAD, k)?);
            Ok(())
        })?;
        let books = Books::new(loaded, Box::new(StoreLog(reader.clone())));
        Ok((
            Self {
                reader,
                books,
                dead,
                fail_next: false,
            },
            moved,
        ))
    }

    /// A reader of the same store.
    pub fn reader(&self) -> StoreReader {
        self.reader.clone()
    }

    /// Fault injection for the conformance suite and tests: the next commit fails before it
    /// writes anything, as a full disk would.
    pub fn fail_next_commit(&mut self) {
        self.fail_next = true;
    }
}

impl Repository for EmbeddedRepo {
    fn uow(&mut self) -> &mut dyn UnitOfWork {
        &mut self.books
    }

    fn commit(&mut self) -> RepoResult<Committed> {
        let mut dead = self.dead.clone();
        let round = self.books.round();
        let batch = write::round_batch(&*self.reader.store, &round, &mut dead);
        let changes = round.ledger;
        let result = batch.and_then(|b| {
            if std::mem::take(&mut self.fail_next) {
                Err(storage("injected commit failure"))
            } else if b.is_empty() {
                Ok(())
            } else {
                self.reader.store.commit(b).map_err(storage)
            }
        });
        match result {
            Ok(()) => {
                self.dead = dead;
                let settled = self.books.settle_changes(&changes);
                Ok(Committed {
                    deliveries: settled.deliveries,
                })
            }
            Err(e) => {
                self.books.abort();
                Err(e)
            }
        }
    }

    fn rollback(&mut self) {
        self.books.abort();
    }

    fn books_view(&self) -> BooksView {
        self.books.view()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use stockpost_engine::repo::conformance::{run_all, Backend as Conformance};

    /// The embedded store under a temporary directory; a reopen drops the repository and opens
    /// the same files again, as a restart of the hub would.
    struct Embedded {
        dir: tempfile::TempDir,
    }

    impl Conformance for Embedded {
        type Repo = EmbeddedRepo;

        fn open(&mut self) -> EmbeddedRepo {
            let text = format!("data_dir = {:?}\n", self.dir.path().display().to_string());
            let config =
                HubConfig::from_toml(&text, std::path::Path::new("hub.toml"), &[]).unwrap();
            let (repo, moved) = EmbeddedRepo::open(&config).unwrap();
            assert!(moved.is_none(), "the store opened clean");
            repo
        }

        fn fail_next_commit(&mut self, repo: &mut EmbeddedRepo) {
            repo.fail_next_commit();
        }

        fn outbox(&mut self, repo: &EmbeddedRepo) -> Vec<u64> {
            let list = repo.reader().outbox(usize::MAX).unwrap();
            list.iter().map(|d| d.id).collect()
        }

        fn dead_letters(&mut self, repo: &EmbeddedRepo) -> Vec<u64> {
            let list = repo.reader().dead_letters().unwrap();
            list.iter().map(|d| d.id).collect()
        }
    }

    #[test]
    fn the_embedded_store_passes_the_repository_conformance_suite() {
        let mut backend = Embedded {
            dir: tempfile::tempdir().unwrap(),
        };
        run_all(&mut backend);
    }
}

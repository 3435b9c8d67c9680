//! [`MemoryRepo`]: the books in memory with nothing written anywhere; commits can be made to
//! fail on purpose. For the engine's own tests and as the reference the conformance suite
//! checks other backends against.

use super::books::{Books, EventLog, LoadedBooks};
use super::{Committed, RepoError, RepoResult, Repository, UnitOfWork};
use crate::read::BooksView;
use crate::records::{DeadLetter, Delivery, StoredEvent};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use stockpost_common::domain::NodeId;
use stockpost_common::orders::AuditEntry;

/// What a memory repository has committed besides the books' tables.
#[derive(Debug, Default)]
pub struct Committedlog {
    /// Every event, by (node, seq).
    pub events: BTreeMap<(NodeId, u64), StoredEvent>,
    /// Every audit entry, by id.
    pub audit: BTreeMap<u64, AuditEntry>,
    /// The webhook outbox, by delivery id.
    pub outbox: BTreeMap<u64, Delivery>,
    /// Dead letters, by delivery id.
    pub dead: BTreeMap<u64, (Delivery, DeadLetter)>,
}

#[derive(Debug, Clone, Default)]
struct SharedLog(Arc<Mutex<Committedlog>>);

impl SharedLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, Committedlog> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl EventLog for SharedLog {
    fn read(&self, node: &NodeId, after: u64, limit: usize) -> RepoResult<Vec<StoredEvent>> {
        let log = self.lock();
        Ok(log
            .events
            .range((node.clone(), after.saturating_add(1))..=(node.clone(), u64::MAX))
            .take(limit)
            .map(|(_, e)| e.clone())
            .collect())
    }
}

/// The books in memory.
#[derive(Debug)]
pub struct MemoryRepo {
    books: Books,
    log: SharedLog,
    fail_next: bool,
}

impl Default for MemoryRepo {
    fn default() -> Self {
        Self::new(LoadedBooks::default())
    }
}

impl MemoryRepo {
    /// Books holding `loaded`.
    pub fn new(loaded: LoadedBooks) -> Self {
        let log = SharedLog::default();
        Self {
            books: Books::new(loaded, Box::new(log.clone())),
            log,
            fail_next: false,
        }
    }

    /// The next commit fails (as a full disk would make it).
    pub fn fail_next_commit(&mut self) {
        self.fail_next = true;
    }

    /// The books.
    pub fn books(&self) -> &Books {
        &self.books
    }

    /// What was committed besides the tables.
    pub fn committed_log(&self) -> std::sync::MutexGuard<'_, Committedlog> {
        self.log.lock()
    }
}

impl Repository for MemoryRepo {
    fn uow(&mut self) -> &mut dyn UnitOfWork {
        &mut self.books
    }

    fn commit(&mut self) -> RepoResult<Committed> {
        if std::mem::take(&mut self.fail_next) {
            self.books.abort();
            return Err(RepoError::Storage("the commit failed (on purpose)".into()));
        }
        let round = self.books.round();
        let audit = round.audit.to_vec();
        let finished = round.finished.to_vec();
        drop(round);
        let settled = self.books.settle();
        let mut log = self.log.lock();
        for e in &settled.events {
            log.events
                .insert((e.event.id.node.clone(), e.event.id.seq), e.clone());
        }
        log.audit.extend(audit);
        for d in &settled.deliveries {
            log.outbox.insert(d.id, d.clone());
        }
        for (id, dead) in finished {
            let delivery = log.outbox.remove(&id);
            if let (Some(d), Some(letter)) = (delivery, dead) {
                log.dead.insert(id, (d, letter));
            }
        }
        Ok(Committed {
            deliveries: settled.deliveries,
        })
    }

    fn rollback(&mut self) {
        self.books.abort();
    }

    fn books_view(&self) -> BooksView {
        self.books.view()
    }
}

//! The repository conformance suite, run for the memory backend.

use crate::repo::conformance::{run_all, Backend};
use crate::repo::memory::MemoryRepo;
use crate::repo::Repository;

/// Memory has no storage to reopen: a reopen keeps the same books and drops what was not
/// committed (as a restart would).
#[derive(Debug, Default)]
struct Memory;

impl Backend for Memory {
    type Repo = MemoryRepo;

    fn open(&mut self) -> MemoryRepo {
        MemoryRepo::default()
    }

    fn reopen(&mut self, mut repo: MemoryRepo) -> MemoryRepo {
        repo.rollback();
        repo
    }

    fn fail_next_commit(&mut self, repo: &mut MemoryRepo) {
        repo.fail_next_commit();
    }

    fn outbox(&mut self, repo: &MemoryRepo) -> Vec<u64> {
        repo.committed_log().outbox.keys().copied().collect()
    }

    fn dead_letters(&mut self, repo: &MemoryRepo) -> Vec<u64> {
        repo.committed_log().dead.keys().copied().collect()
    }
}

#[test]
fn the_memory_backend_passes_the_conformance_suite() {
    run_all(&mut Memory);
}

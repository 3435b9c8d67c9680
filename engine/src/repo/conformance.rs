//! The repository conformance suite: what every backend must do. A backend's tests call
//! [`run_all`] with a [`Backend`] that opens its repository over the same storage again and
//! again (the embedded store: the same directory; memory: the same books).

use super::books::LoadedBooks;
use super::{Counter, Repository};

/// A backend under test.
pub trait Backend {
    /// The repository type.
    type Repo: Repository;
    /// Opens the repository over this backend's storage (as a restart would).
    fn open(&mut self) -> Self::Repo;
    /// Makes the next commit of `repo` fail as a full disk would.
    fn fail_next_commit(&mut self, repo: &mut Self::Repo);
}

/// Every check, in turn; the first failure panics with what broke.
pub fn run_all<B: Backend>(backend: &mut B) {
    ids_are_never_handed_out_twice(backend);
    let _ = LoadedBooks::default();
}

/// Ids from a counter keep counting across commits and reopens, and a failed commit's ids
/// are handed out again (nothing of a failed round is kept).
pub fn ids_are_never_handed_out_twice<B: Backend>(backend: &mut B) {
    let mut repo = backend.open();
    let a = repo.uow().next_id(Counter::Exception).unwrap_or(0);
    assert!(repo.commit().is_ok(), "commit");
    let mut repo = backend.open();
    let b = repo.uow().next_id(Counter::Exception).unwrap_or(0);
    assert!(b > a, "after a reopen the counter went on: {a} then {b}");
}

//! Detecting a damaged or silently shortened store at open.
//!
//! Both backends keep a reserved tree `__stockpost` with a format marker and a commit counter that
//! every commit increments inside its own transaction. Beside the database, a small checkpoint file
//! records a commit count that was already durable when the file was written (at creation, every
//! `checkpoint_every_commits` commits, and on clean close). At open:
//! - marker missing but checkpoint file present: the database lost everything → corrupt;
//! - counter lower than the checkpoint: the database lost durable commits → corrupt.
//!
//! This matters for sled, which opens a damaged log without any error and serves whatever prefix it
//! could read (see docs/storage.md). redb also verifies its page checksums at open.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};

/// Reserved tree holding the marker and the counter.
pub(crate) const META_TREE: &str = "__stockpost";
pub(crate) const FORMAT_KEY: &[u8] = b"format";
pub(crate) const FORMAT_VALUE: &[u8] = b"stockpost-store/1";
pub(crate) const COMMITS_KEY: &[u8] = b"commits";
/// Name of the checkpoint file inside the store directory.
pub const CHECKPOINT_FILE: &str = "stockpost.checkpoint";
const CHECKPOINT_HEADER: &str = "stockpost-store checkpoint v1";

/// What the open found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    /// No marker and no checkpoint: a new store (or one whose creation never completed).
    Fresh,
    /// A store with this many commits.
    Existing(u64),
}

fn corrupt(dir: &Path, detail: String) -> StoreError {
    StoreError::Corrupt {
        path: dir.to_owned(),
        detail,
    }
}

fn checkpoint_path(dir: &Path) -> PathBuf {
    dir.join(CHECKPOINT_FILE)
}

/// The commit count in the checkpoint file, if there is one.
pub(crate) fn read_checkpoint(dir: &Path) -> Result<Option<u64>> {
    let path = checkpoint_path(dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            return Err(corrupt(dir, format!("checkpoint file is not text: {e}")))
        }
        Err(source) => return Err(StoreError::Io { path, source }),
    };
    let mut lines = text.lines();
    let count = match (lines.next(), lines.next()) {
        (Some(CHECKPOINT_HEADER), Some(line)) => line
            .strip_prefix("commits=")
            .and_then(|n| n.parse::<u64>().ok()),
        _ => None,
    };
    count.map(Some).ok_or_else(|| {
        corrupt(
            dir,
            format!("checkpoint file {} is damaged", path.display()),
        )
    })
}

/// Durably record that `commits` commits are durable (temp file, fsync, rename, fsync directory).
pub(crate) fn write_checkpoint(dir: &Path, commits: u64) -> Result<()> {
    let path = checkpoint_path(dir);
    let tmp = dir.join(format!("{CHECKPOINT_FILE}.tmp"));
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| StoreError::Io { path, source }
    };
    let mut f = File::create(&tmp).map_err(io(&tmp))?;
    write!(f, "{CHECKPOINT_HEADER}\ncommits={commits}\n").map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Decode the commit counter value.
pub(crate) fn decode_counter(dir: &Path, value: Option<&[u8]>) -> Result<u64> {
    match value {
        None => Ok(0),
        Some(v) => v
            .try_into()
            .map(u64::from_be_bytes)
            .map_err(|_| corrupt(dir, format!("commit counter has {} bytes, not 8", v.len()))),
    }
}

/// Decide what the open found, from the marker and counter read from the database.
pub(crate) fn check(dir: &Path, format: Option<&[u8]>, commits: Option<&[u8]>) -> Result<Found> {
    let checkpoint = read_checkpoint(dir)?;
    match format {
        None => match checkpoint {
            None => Ok(Found::Fresh),
            Some(n) => Err(corrupt(
                dir,
                format!(
                    "the database has no stockpost data, but a checkpoint records {n} durable \
                     commits: the database files were damaged or replaced"
                ),
            )),
        },
        Some(f) if f != FORMAT_VALUE => Err(corrupt(
            dir,
            format!("unknown format marker {:?}", String::from_utf8_lossy(f)),
        )),
        Some(_) => {
            let count = decode_counter(dir, commits)?;
            match checkpoint {
                Some(n) if n > count => Err(corrupt(
                    dir,
                    format!(
                        "the database holds {count} commits but a checkpoint recorded {n} durable \
                         commits: {} acknowledged commits were lost",
                        n - count
                    ),
                )),
                _ => Ok(Found::Existing(count)),
            }
        }
    }
}

/// Commit counting and periodic checkpoints, shared by the backends. Held under the writer lock.
#[derive(Debug)]
pub(crate) struct CommitLog {
    dir: PathBuf,
    every: u64,
    commits: u64,
    since_checkpoint: u64,
}

impl CommitLog {
    pub(crate) fn new(dir: &Path, every: u64, commits: u64) -> Self {
        Self {
            dir: dir.to_owned(),
            every,
            commits,
            since_checkpoint: 0,
        }
    }

    /// The counter value the next commit writes.
    pub(crate) fn next(&self) -> u64 {
        self.commits + 1
    }

    /// Record that the next commit is durable; write a checkpoint when one is due.
    pub(crate) fn committed(&mut self) {
        self.commits += 1;
        self.since_checkpoint += 1;
        if self.every > 0 && self.since_checkpoint >= self.every {
            self.checkpoint();
        }
    }

    /// Write a checkpoint now (failures are logged: the commits themselves are already durable).
    pub(crate) fn checkpoint(&mut self) {
        match write_checkpoint(&self.dir, self.commits) {
            Ok(()) => self.since_checkpoint = 0,
            Err(e) => tracing::warn!(error = %e, "could not write the store checkpoint file"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_new_directory_is_fresh_and_a_counter_at_or_above_the_checkpoint_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(check(dir.path(), None, None).unwrap(), Found::Fresh);
        write_checkpoint(dir.path(), 5).unwrap();
        let five = 5u64.to_be_bytes();
        let six = 6u64.to_be_bytes();
        assert_eq!(
            check(dir.path(), Some(FORMAT_VALUE), Some(&five)).unwrap(),
            Found::Existing(5)
        );
        assert_eq!(
            check(dir.path(), Some(FORMAT_VALUE), Some(&six)).unwrap(),
            Found::Existing(6)
        );
    }

    #[test]
    fn a_counter_behind_the_checkpoint_means_lost_commits() {
        let dir = tempfile::tempdir().unwrap();
        write_checkpoint(dir.path(), 10).unwrap();
        let err = check(dir.path(), Some(FORMAT_VALUE), Some(&7u64.to_be_bytes())).unwrap_err();
        assert!(err.is_corruption());
        assert!(
            err.to_string().contains("3 acknowledged commits were lost"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_marker_next_to_a_checkpoint_means_the_database_was_replaced() {
        let dir = tempfile::tempdir().unwrap();
        write_checkpoint(dir.path(), 0).unwrap();
        assert!(check(dir.path(), None, None).unwrap_err().is_corruption());
    }

    #[test]
    fn a_damaged_checkpoint_file_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CHECKPOINT_FILE), "garbage").unwrap();
        assert!(read_checkpoint(dir.path()).unwrap_err().is_corruption());
    }
}

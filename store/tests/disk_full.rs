//! A store on a small tmpfs that fills up: a commit fails with "no space left on device", the
//! store reports that writes are failing, and once space is freed later commits succeed again
//! without reopening the store by hand and without losing an acknowledged commit.
//!
//! Needs root (to mount a tmpfs). Without it the test is skipped, except under `CI=true`.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use stockpost_store::{
    open_backend, open_store, Backend, Store, StoreConfig, StoreHealth, WriteBatch,
};

const TREE: &str = "steps";
const VALUE_BYTES: usize = 16 * 1024;

/// Skips the calling test, except under `CI=true`, where a missing part is a failure
/// (the same rule as `stockpost_tests::real::skip_because`, which this crate cannot depend on).
fn skip_because(why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true and a real part this test needs is missing: {why}");
    }
    eprintln!("SKIPPED: {why}");
}

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
    _parent: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Result<Self, String> {
        let parent = tempfile::tempdir().map_err(|e| e.to_string())?;
        let dir = parent.path().join("tmpfs");
        std::fs::create_dir(&dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cannot mount a tmpfs (needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self {
            dir,
            _parent: parent,
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

fn config(dir: &Path, group_commit: bool) -> StoreConfig {
    let mut cfg = StoreConfig::new(Backend::Redb, dir);
    cfg.redb.cache_bytes = 4 * 1024 * 1024;
    cfg.group_commit.enabled = group_commit;
    cfg
}

fn step(n: u64) -> WriteBatch {
    let mut batch = WriteBatch::new();
    batch.put(
        TREE,
        n.to_be_bytes().to_vec(),
        vec![(n % 251) as u8; VALUE_BYTES],
    );
    batch
}

fn is_disk_full(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.raw_os_error() == Some(28) {
                return true;
            }
        }
        cur = err.source();
    }
    e.to_string().contains("No space left on device")
}

#[test]
fn a_redb_store_refuses_writes_while_the_disk_is_full_and_accepts_them_again_once_space_is_freed() {
    fill_free_and_write_again(false);
}

#[test]
fn a_redb_store_behind_the_group_committer_accepts_writes_again_once_space_is_freed() {
    fill_free_and_write_again(true);
}

fn fill_free_and_write_again(group_commit: bool) {
    let fs = match Tmpfs::mount("8m") {
        Ok(fs) => fs,
        Err(why) => return skip_because(&why),
    };
    // Filler first, so removing it frees space.
    let filler = fs.dir.join("filler");
    std::fs::write(&filler, vec![0u8; 3 * 1024 * 1024]).unwrap();
    let path = fs.dir.join("store");
    let store = open_store(&config(&path, group_commit), &[TREE]).unwrap();
    assert_eq!(store.health(), StoreHealth::Healthy);

    let mut acknowledged = 0u64;
    let failure = loop {
        assert!(acknowledged < 10_000, "the 8 MiB tmpfs never filled up");
        match store.commit(step(acknowledged)) {
            Ok(()) => acknowledged += 1,
            Err(e) => break e,
        }
    };
    assert!(
        is_disk_full(&failure),
        "the commit failed for another reason: {failure:?}"
    );
    assert!(acknowledged > 0, "not even one commit fitted");
    match store.health() {
        StoreHealth::WriteFailing { reason } => {
            assert!(reason.contains("No space left"), "{reason}")
        }
        other => panic!("the store reports {other:?} after a failed commit"),
    }

    let again = store.commit(step(acknowledged));
    assert!(
        again.as_ref().is_err_and(|e| is_disk_full(e)),
        "a commit while the disk is still full answers {again:?}"
    );
    assert!(store.health().is_write_failing());
    assert_eq!(
        store.get(TREE, &0u64.to_be_bytes()).unwrap(),
        Some(vec![0u8; VALUE_BYTES]),
        "reads work while the disk is full"
    );

    std::fs::remove_file(&filler).unwrap();
    store
        .commit(step(acknowledged))
        .expect("a commit once space is freed succeeds");
    acknowledged += 1;
    assert_eq!(store.health(), StoreHealth::Healthy);

    let check = |store: &dyn Store| {
        for n in 0..acknowledged {
            let value = store.get(TREE, &n.to_be_bytes()).unwrap();
            assert_eq!(
                value,
                Some(vec![(n % 251) as u8; VALUE_BYTES]),
                "acknowledged step {n} is missing or wrong"
            );
        }
    };
    check(&*store);
    drop(store);
    let reopened = open_backend(&config(&path, false), &[TREE]).unwrap();
    check(&*reopened);
}

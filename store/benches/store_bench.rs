//! Durable-commit throughput of each backend, and of group commit with concurrent writers.
//!
//! Run once, in release: `cargo bench -p stockpost-store --bench store_bench`
//! (`STOCKPOST_BENCH_SECS` sets seconds per row, default 3; `STOCKPOST_BENCH_DIR` the directory,
//! default a temporary directory — it must be on the real disk, not tmpfs, to measure fsync).
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stockpost_store::{open_backend, Backend, GroupCommitter, Store, StoreConfig, WriteBatch};

const TREES: [&str; 2] = ["events", "outbox"];

fn config(backend: Backend, dir: &std::path::Path) -> StoreConfig {
    let mut cfg = StoreConfig::new(backend, dir);
    cfg.group_commit.enabled = false;
    cfg
}

fn batch(writer: u64, seq: u64, ops: usize) -> WriteBatch {
    let mut b = WriteBatch::new();
    for i in 0..ops as u64 {
        let tree = TREES[(i % 2) as usize];
        let mut key = writer.to_be_bytes().to_vec();
        key.extend_from_slice(&(seq * 1000 + i).to_be_bytes());
        b.put(tree, key, vec![0x5a; 100]);
    }
    b
}

struct Row {
    backend: Backend,
    case: String,
    commits_per_s: f64,
    ops_per_s: f64,
    note: String,
}

/// Warm up for a quarter of the time (file growth, caches), then measure.
fn run_writers(store: Arc<dyn Store>, writers: u64, ops: usize, secs: f64) -> (u64, f64) {
    measure(Arc::clone(&store), writers, ops, secs / 4.0, 1 << 40);
    measure(store, writers, ops, secs, 0)
}

fn measure(store: Arc<dyn Store>, writers: u64, ops: usize, secs: f64, seq0: u64) -> (u64, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let store = Arc::clone(&store);
            let stop = Arc::clone(&stop);
            let total = Arc::clone(&total);
            std::thread::spawn(move || {
                let mut seq = seq0;
                while !stop.load(Ordering::Relaxed) {
                    store.commit(batch(w, seq, ops)).unwrap();
                    seq += 1;
                    total.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // The measurement window of the benchmark, not synchronisation.
    #[allow(clippy::disallowed_methods)]
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    (total.load(Ordering::Relaxed), start.elapsed().as_secs_f64())
}

fn main() {
    let secs: f64 = std::env::var("STOCKPOST_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3.0);
    let base = match std::env::var("STOCKPOST_BENCH_DIR") {
        Ok(d) => tempfile::tempdir_in(d).unwrap(),
        Err(_) => tempfile::tempdir().unwrap(),
    };
    let mut rows = Vec::new();
    for backend in [Backend::Sled, Backend::Redb] {
        for (case, ops) in [
            ("1-op batch, 1 writer, direct", 1usize),
            ("100-op batch, 1 writer, direct", 100),
        ] {
            let dir = base.path().join(format!("{backend}-{ops}"));
            let store = open_backend(&config(backend, &dir), &TREES).unwrap();
            let (n, el) = run_writers(store, 1, ops, secs);
            rows.push(Row {
                backend,
                case: case.into(),
                commits_per_s: n as f64 / el,
                ops_per_s: (n * ops as u64) as f64 / el,
                note: String::new(),
            });
        }
        {
            let dir = base.path().join(format!("{backend}-direct8"));
            let store = open_backend(&config(backend, &dir), &TREES).unwrap();
            let (n, el) = run_writers(store, 8, 1, secs);
            rows.push(Row {
                backend,
                case: "1-op batch, 8 writers, direct (no group commit)".into(),
                commits_per_s: n as f64 / el,
                ops_per_s: n as f64 / el,
                note: String::new(),
            });
        }
        for writers in [1u64, 8, 64] {
            let dir = base.path().join(format!("{backend}-gc{writers}"));
            let cfg = config(backend, &dir);
            let inner = open_backend(&cfg, &TREES).unwrap();
            let mut gc = cfg.group_commit.clone();
            gc.enabled = true;
            let committer = Arc::new(GroupCommitter::new(inner, gc.clone()).unwrap());
            let (n, el) = run_writers(committer.clone(), writers, 1, secs);
            let stats = committer.stats();
            rows.push(Row {
                backend,
                case: format!("1-op batch, {writers} writers, group commit"),
                commits_per_s: n as f64 / el,
                ops_per_s: n as f64 / el,
                note: format!(
                    "{:.1} batches per fsync (max_batch {}, max_wait {} µs)",
                    stats.requests as f64 / stats.groups.max(1) as f64,
                    gc.max_batch,
                    gc.max_wait_micros
                ),
            });
        }
    }
    println!("| backend | case | durable commits/s | ops/s | notes |");
    println!("|---|---|---:|---:|---|");
    for r in rows {
        println!(
            "| {} | {} | {:.0} | {:.0} | {} |",
            r.backend, r.case, r.commits_per_s, r.ops_per_s, r.note
        );
    }
}

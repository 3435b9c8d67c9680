//! Child process of the kill -9 crash harness (`tests/crash.rs`).
//!
//! `stockpost-store-crash-child <sled|redb> <dir> <seed> <lanes>`: opens the store, prints
//! `OPEN <last of lane 0> <last of lane 1> …`, then runs `lanes` writer threads, each committing
//! its batches `last+1, last+2, …` forever (see `stockpost_store::crash_model`) and printing
//! `ACK <lane> <seq>` after each commit has returned. With one lane it commits directly; with more
//! it commits through the group committer. The parent kills it with SIGKILL at random moments.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use stockpost_store::crash_model::{
    batch_for, config, last_committed, MAX_LANES, MAX_PAYLOAD, TREES,
};
use stockpost_store::{open_backend, Backend, GroupCommitter, Store};

fn lane(store: &dyn Store, lane: usize, first: u64, seed: u64) -> Result<(), String> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ lane as u64);
    for seq in first.. {
        let payload = rng.random_range(0..=MAX_PAYLOAD);
        store
            .commit(batch_for(lane, seq, payload))
            .map_err(|e| format!("lane {lane} commit {seq}: {e}"))?;
        // Acknowledge only after commit returned (i.e. is durable).
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        writeln!(out, "ACK {lane} {seq}").map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let [_, backend, dir, seed, lanes] = args.as_slice() else {
        return Err("usage: stockpost-store-crash-child <sled|redb> <dir> <seed> <lanes>".into());
    };
    let backend = match backend.as_str() {
        "sled" => Backend::Sled,
        "redb" => Backend::Redb,
        other => return Err(format!("unknown backend {other:?}")),
    };
    let seed: u64 = seed
        .parse()
        .map_err(|e| format!("bad seed {seed:?}: {e}"))?;
    let lanes: usize = lanes
        .parse()
        .map_err(|e| format!("bad lanes {lanes:?}: {e}"))?;
    if lanes == 0 || lanes > MAX_LANES {
        return Err(format!("lanes must be 1..={MAX_LANES}"));
    }
    let cfg = config(backend, &PathBuf::from(dir));
    let inner = open_backend(&cfg, &TREES).map_err(|e| format!("open: {e}"))?;
    let store: Arc<dyn Store> = if lanes == 1 {
        inner
    } else {
        let mut gc = cfg.group_commit.clone();
        gc.enabled = true;
        Arc::new(GroupCommitter::new(inner, gc).map_err(|e| e.to_string())?)
    };
    let mut lasts = Vec::with_capacity(lanes);
    for l in 0..lanes {
        lasts.push(last_committed(&*store, l)?);
    }
    {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let text: Vec<String> = lasts.iter().map(u64::to_string).collect();
        writeln!(out, "OPEN {}", text.join(" ")).map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
    }
    let threads: Vec<_> = lasts
        .iter()
        .enumerate()
        .map(|(l, &last)| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || lane(&*store, l, last + 1, seed))
        })
        .collect();
    for t in threads {
        t.join()
            .map_err(|_| "a writer thread panicked".to_string())??;
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crash child: {e}");
            ExitCode::from(2)
        }
    }
}

//! Child process of the kill -9 crash harness (`tests/crash.rs`).
//!
//! `stockpost-store-crash-child <sled|redb> <dir> <seed>`: opens the store, prints `OPEN <last>`,
//! then commits batches `last+1, last+2, …` forever (see `stockpost_store::crash_model`), printing
//! `ACK <id>` after each commit has returned. The parent kills it with SIGKILL at random moments.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use rand::{Rng, SeedableRng};
use stockpost_store::crash_model::{batch_for, config, last_committed, MAX_PAYLOAD, TREES};
use stockpost_store::{open_backend, Backend};

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let [_, backend, dir, seed] = args.as_slice() else {
        return Err("usage: stockpost-store-crash-child <sled|redb> <dir> <seed>".into());
    };
    let backend = match backend.as_str() {
        "sled" => Backend::Sled,
        "redb" => Backend::Redb,
        other => return Err(format!("unknown backend {other:?}")),
    };
    let seed: u64 = seed
        .parse()
        .map_err(|e| format!("bad seed {seed:?}: {e}"))?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let cfg = config(backend, &PathBuf::from(dir));
    let store = open_backend(&cfg, &TREES).map_err(|e| format!("open: {e}"))?;
    let last = last_committed(&*store)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "OPEN {last}").map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    for id in last + 1.. {
        let payload = rng.random_range(0..=MAX_PAYLOAD);
        store
            .commit(batch_for(id, payload))
            .map_err(|e| format!("commit {id}: {e}"))?;
        // Acknowledge only after commit returned (i.e. is durable).
        writeln!(out, "ACK {id}").map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
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

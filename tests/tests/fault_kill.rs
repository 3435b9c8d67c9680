//! kill -9 of the agent and the hub, and broker restarts, while a node records steps: after the
//! faults stop, every acknowledged step is in the hub's ledger exactly once, in order, intact, and
//! the node's outbox is empty.

#![allow(clippy::unwrap_used)]

use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use stockpost_common::domain::{EventBody, NodeId};
use stockpost_hub::repo::open_store;
use stockpost_tests::mosquitto::Mosquitto;

fn spawn_lines(mut child: Child) -> (Child, mpsc::Receiver<String>) {
    let stdout: ChildStdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn start_node(dir: &Path, mqtt: &str, until: u64) -> (Child, mpsc::Receiver<String>) {
    let child = Command::new(env!("CARGO_BIN_EXE_stockpost-sim-node"))
        .args(["DC-KILL", dir.to_str().unwrap(), mqtt, &until.to_string()])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    spawn_lines(child)
}

fn start_hub(dir: &Path, mqtt: &str) -> (Child, mpsc::Receiver<String>) {
    let child = Command::new(env!("CARGO_BIN_EXE_stockpost-sim-hub"))
        .args([dir.to_str().unwrap(), mqtt, "DC-KILL"])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (child, rx) = spawn_lines(child);
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(30)).as_deref(),
        Ok("READY")
    );
    (child, rx)
}

fn kill(child: &mut Child) {
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
}

#[test]
fn fault_kill_9_of_agent_and_hub_and_broker_restarts_lose_and_double_no_acknowledged_step() {
    let seed: u64 = std::env::var("STOCKPOST_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    eprintln!("seed {seed} (replay with STOCKPOST_FAULT_SEED={seed})");
    let cycles: u32 = std::env::var("STOCKPOST_FAULT_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Mosquitto::start(&dir.path().join("broker")).unwrap();
    let mqtt = broker.addr().to_string();
    let hub_dir = dir.path().join("hub");
    let node_dir = dir.path().join("node");
    let until = 400 * u64::from(cycles) + 500;

    let mut oracle: BTreeSet<u64> = BTreeSet::new();
    let (mut hub, _hub_lines) = start_hub(&hub_dir, &mqtt);
    let mut hub_lines = _hub_lines;
    for cycle in 0..cycles {
        let (mut node, lines) = start_node(&node_dir, &mqtt, until);
        assert_eq!(
            lines.recv_timeout(Duration::from_secs(30)).as_deref(),
            Ok("READY"),
            "cycle {cycle}"
        );
        // Let it acknowledge a random number of steps, then kill it mid-stream.
        let want = rng.random_range(20..400);
        let mut got = 0;
        while got < want {
            match lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    if let Some(seq) = line.strip_prefix("ACK ") {
                        oracle.insert(seq.parse().unwrap());
                        got += 1;
                    }
                }
                Err(e) => panic!("cycle {cycle}: node stopped acknowledging: {e}"),
            }
        }
        match rng.random_range(0..4) {
            0 => {
                kill(&mut hub);
                (hub, hub_lines) = start_hub(&hub_dir, &mqtt);
            }
            1 => broker.restart().unwrap(),
            _ => {}
        }
        kill(&mut node);
        while let Ok(line) = lines.try_recv() {
            if let Some(seq) = line.strip_prefix("ACK ") {
                oracle.insert(seq.parse().unwrap());
            }
        }
    }
    // Faults stop: the node finishes its work and waits until the hub acked everything.
    let (mut node, lines) = start_node(&node_dir, &mqtt, until);
    loop {
        match lines.recv_timeout(Duration::from_secs(120)) {
            Ok(line) if line == "DONE" => break,
            Ok(line) => {
                if let Some(seq) = line.strip_prefix("ACK ") {
                    oracle.insert(seq.parse().unwrap());
                }
            }
            Err(e) => panic!("the node never drained its outbox: {e}"),
        }
    }
    let _ = node.wait();
    kill(&mut hub);
    drop(hub_lines);

    let config = stockpost_tests::fleet::hub_config(&hub_dir, &mqtt).unwrap();
    let (store, _) = open_store(&config).unwrap();
    let node_id = NodeId::new("DC-KILL").unwrap();
    let mut seqs = Vec::new();
    let mut after = 0;
    loop {
        let page = store.events(&node_id, after, 5_000).unwrap();
        if page.is_empty() {
            break;
        }
        for stored in &page {
            let seq = stored.event.id.seq;
            let EventBody::Receive { qty, .. } = &stored.event.body else {
                panic!("event {seq} is not the receipt that was recorded");
            };
            assert_eq!(
                qty.to_string(),
                (seq % 97 + 1).to_string(),
                "event {seq} arrived altered"
            );
            seqs.push(seq);
        }
        after = page.last().unwrap().event.id.seq;
    }
    assert_eq!(
        seqs,
        (1..=until).collect::<Vec<u64>>(),
        "the hub holds every step once, in order"
    );
    assert!(
        oracle.iter().all(|s| *s <= until),
        "acknowledged steps are all in the hub"
    );
    assert!(oracle.len() as u64 >= u64::from(cycles) * 20);
}

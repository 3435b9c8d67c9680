//! The README's demo command: `stockpost-demo --exit` runs a whole shift across three nodes
//! and exits 0 only if the hub's final state is as expected.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;
use stockpost_tests::demo::setup::{BrokerChoice, BROKER};

/// How long the whole shift may take (it takes well under a minute on two cores).
const DEADLINE: Duration = Duration::from_secs(240);

#[test]
fn the_demo_runs_a_whole_shift_and_exits_0_with_exit() {
    if BROKER == BrokerChoice::Mosquitto && stockpost_tests::mosquitto::mosquitto_binary().is_none()
    {
        stockpost_tests::real::skip_because("the demo uses Mosquitto and it is not installed");
        return;
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_stockpost-demo"))
        .args(["--exit", "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the demo starts");
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut out = String::new();
        let mut err = String::new();
        let _ = stdout.read_to_string(&mut out);
        let _ = stderr.read_to_string(&mut err);
        let _ = tx.send((out, err));
    });
    let Ok((out, err)) = rx.recv_timeout(DEADLINE) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the demo did not finish within {DEADLINE:?}");
    };
    let status = child.wait().expect("the demo's exit status");
    assert!(
        status.success(),
        "the demo exited with {status}\n--- stdout\n{out}\n--- stderr\n{err}"
    );
    assert!(
        out.contains("Final state as expected."),
        "the demo did not report its check\n{out}"
    );
}

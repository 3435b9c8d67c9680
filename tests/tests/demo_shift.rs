//! The shift demo at scale: `stockpost-demo --shift --exit` runs three nodes through 60 orders,
//! one node offline for a stretch and a hub restart, exits 0 only if the books balance, and
//! writes a self-contained report with the charts and the table of checks.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;
use stockpost_tests::demo::setup::{BrokerChoice, BROKER};

/// How long the shift may take (about 15 s in a debug build on two cores).
const DEADLINE: Duration = Duration::from_secs(170);

/// Runs the demo with `args`; returns stdout, stderr and whether it exited 0.
fn run_demo(args: &[&str]) -> (String, String, bool) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stockpost-demo"))
        .args(args)
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
        panic!("the shift demo did not finish within {DEADLINE:?}");
    };
    let status = child.wait().expect("the demo's exit status");
    (out, err, status.success())
}

/// The value of `name="…"` on the element with `id="{id}"`.
fn attr(html: &str, id: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[at..tag_end];
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let len = tag[start..].find('"')?;
    Some(tag[start..start + len].to_string())
}

#[test]
fn the_shift_demo_runs_three_nodes_through_an_outage_and_a_hub_restart_and_its_books_balance() {
    if BROKER == BrokerChoice::Mosquitto && stockpost_tests::mosquitto::mosquitto_binary().is_none()
    {
        stockpost_tests::real::skip_because("the demo uses Mosquitto and it is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let report = dir.path().join("r.html");
    let report_arg = report.to_string_lossy().into_owned();
    let (out, err, ok) = run_demo(&[
        "--shift",
        "--nodes",
        "3",
        "--orders",
        "60",
        "--exit",
        "--report",
        &report_arg,
        "--port",
        "0",
    ]);
    assert!(
        ok,
        "the shift demo failed\n--- stdout\n{out}\n--- stderr\n{err}"
    );
    assert!(
        out.contains("Books balance: every check holds."),
        "no verdict in\n{out}"
    );
    assert!(
        out.contains(&format!("Report: {}", report.display())),
        "{out}"
    );
    for mark in [
        "offline: its network to the broker is cut",
        "back online",
        "hub stopped",
        "hub started again",
    ] {
        assert!(out.contains(mark), "no {mark:?} in\n{out}");
    }

    let html = std::fs::read_to_string(&report).expect("the report is written");
    for chart in ["throughput-chart", "backlog-chart", "exceptions-chart"] {
        assert!(
            html.contains(&format!(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"{chart}\""
            )),
            "no {chart} in the report"
        );
    }
    assert!(
        !html.contains("<script") && !html.contains("<link"),
        "the report loads something from outside"
    );
    let table = &html[html.find("<table id=\"checks\"").expect("the check table")..];
    let table = &table[..table.find("</table>").expect("the check table ends")];
    let passed = table.matches("<td class=\"pass\">PASS</td>").count();
    assert!(passed >= 9, "only {passed} checks passed:\n{table}");
    assert!(!table.contains("FAIL"), "a check failed:\n{table}");

    let node = attr(&html, "backlog-chart", "data-offline-node").expect("the offline node");
    let max: u64 = attr(&html, "backlog-chart", "data-offline-max")
        .and_then(|v| v.parse().ok())
        .expect("the offline node's largest backlog");
    let last = attr(&html, "backlog-chart", "data-offline-final");
    assert!(max > 0, "{node}'s backlog was never seen above zero");
    assert_eq!(last.as_deref(), Some("0"), "{node}'s backlog did not drain");
}

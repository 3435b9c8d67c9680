//! The integrators' diagnostics: `decode-scan` and `decode-weight` print the contract's JSON and
//! exit 2 with a JSON error on bad input.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};

fn agent() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stockpost-agent"))
}

fn json(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out).unwrap()
}

#[test]
fn decode_scan_lists_gs1_ais_in_order_as_pairs() {
    let out = agent()
        .args(["decode-scan", "]C1011231231231233310ABC123\\x1d99TESTING"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v = json(&out.stdout);
    assert_eq!(v["kind"], "gs1");
    assert_eq!(v["symbology"], "GS1-128");
    assert_eq!(
        v["ais"],
        serde_json::json!([
            ["01", "12312312312333"],
            ["10", "ABC123"],
            ["99", "TESTING"]
        ])
    );
}

#[test]
fn decode_scan_names_the_station_payload_kind_and_value() {
    for (input, kind, value) in [
        ("L:A-01-03-B-2", "location", "A-01-03-B-2"),
        ("U:op-17", "operator", "op-17"),
        ("T:TOTE-1", "container", "TOTE-1"),
        ("O:SO-5001", "order", "SO-5001"),
        ("Q:3", "quantity", "3"),
        ("C:CONFIRM", "command", "CONFIRM"),
    ] {
        let out = agent().args(["decode-scan", input]).output().unwrap();
        assert!(out.status.success(), "{input}");
        let v = json(&out.stdout);
        assert_eq!(
            (v["kind"].as_str(), v["value"].as_str()),
            (Some(kind), Some(value)),
            "{input}"
        );
    }
}

#[test]
fn a_bad_scan_exits_2_with_a_json_error_naming_the_problem() {
    let out = agent()
        .args(["decode-scan", "]E02112345678901"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out.stdout);
    assert_eq!(v["error"]["code"], "invalid_scan");
    assert_eq!(v["error"]["message"], "GTIN check digit should be 0");
}

#[test]
fn decode_weight_prints_one_reading_per_frame() {
    let mut child = agent()
        .args(["decode-weight", "--protocol", "mt-sics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"S S     100.00 g\r\nS +\r\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(json)
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (
            lines[0]["value"].as_str(),
            lines[0]["unit"].as_str(),
            lines[0]["stable"].as_bool(),
            lines[0]["condition"].as_str()
        ),
        (Some("100.00"), Some("g"), Some(true), Some("ok"))
    );
    assert_eq!(
        (lines[1]["value"].is_null(), lines[1]["condition"].as_str()),
        (true, Some("overload"))
    );
}

#[test]
fn an_unknown_scale_protocol_exits_2() {
    let out = agent()
        .args(["decode-weight", "--protocol", "abacus"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out.stdout)["error"]["code"], "unknown_protocol");
}

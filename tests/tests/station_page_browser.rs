//! The station page in a real headless Chromium (playwright-core): sign in, blind receipt, and
//! the error state of a wrong scan, typed like a keyboard-wedge scanner.
//! Under `CI=true` a missing part fails the test; elsewhere it is skipped, with a message, only
//! when node, chromium or tests/browser/node_modules is missing (scripts/test.sh installs them).

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::str::FromStr;
use stockpost_common::domain::Dec;
use stockpost_tests::station::{mug, StationAgent};

fn missing_tool() -> Option<String> {
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!("chromium not found at {chromium}"));
    }
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        return Some("node not found".into());
    }
    if !browser_dir.join("node_modules/playwright-core").exists() {
        return Some("tests/browser/node_modules missing (run npm ci there)".into());
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_an_operator_signs_in_receives_blind_and_sees_a_red_error_for_a_wrong_scan() {
    if let Some(why) = missing_tool() {
        stockpost_tests::real::skip_because(&format!("station page browser test: {why}"));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let a = StationAgent::start(
        dir.path(),
        "[[stations]]\nid = \"hh-1\"\nkinds = [\"receive\", \"putaway\"]\nreceiving_location = \"DOCK-1\"\n",
    )
    .await
    .unwrap();
    a.seed_world().await.unwrap();
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        tokio::process::Command::new("node")
            .arg("station_page.mjs")
            .arg(format!("http://{}", a.addr))
            .arg("hh-1")
            .env("MUG_GTIN", mug())
            .current_dir(&browser_dir)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the browser script finishes within 2 minutes")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser script failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("\"ok\":true"), "{stdout}");
    // What the page did is what the agent recorded.
    assert_eq!(
        a.on_hand("MUG-BLUE", "DOCK-1").await.unwrap(),
        Dec::from_str("3").unwrap()
    );
    let state = a.get("/api/v1/stations/hh-1").await.unwrap();
    assert_eq!(state["operator"], serde_json::Value::Null);
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_a_station_device_pairs_once_with_its_token_and_keeps_it_across_a_reload() {
    if let Some(why) = missing_tool() {
        stockpost_tests::real::skip_because(&format!("station page browser test: {why}"));
        return;
    }
    use sha2::{Digest, Sha256};
    let sha = |t: &str| -> String {
        Sha256::digest(t.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let (right, wrong) = ("hh-1-station-token-0123", "pack-1-station-token-0123");
    let dir = tempfile::tempdir().unwrap();
    let stations = format!(
        "[[stations]]\nid = \"hh-1\"\nkinds = [\"receive\", \"putaway\"]\nreceiving_location = \"DOCK-1\"\ntoken_sha256 = \"{}\"\n\n\
         [[stations]]\nid = \"pack-1\"\nkinds = [\"pack\", \"ship\"]\ntoken_sha256 = \"{}\"\n",
        sha(right),
        sha(wrong)
    );
    let a = StationAgent::start(dir.path(), &stations).await.unwrap();
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        tokio::process::Command::new("node")
            .arg("station_pairing.mjs")
            .arg(format!("http://{}", a.addr))
            .arg("hh-1")
            .arg(right)
            .arg(wrong)
            .current_dir(&browser_dir)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the browser script finishes within 2 minutes")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser script failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("\"ok\":true"), "{stdout}");
    // Without the token the API stays closed to anyone else.
    let (status, state) =
        stockpost_tests::station::http_text(a.addr, "GET", "/api/v1/stations/hh-1", None)
            .await
            .unwrap();
    assert_eq!(status, 401, "no token, no state: {state}");
    a.stop().await;
}

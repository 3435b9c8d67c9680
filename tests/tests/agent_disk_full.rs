//! An agent whose disk fills up: downlink commits fail, `/healthz` answers 503 with the reason and
//! `stockpost_agent_store_write_failing` is 1; once space is freed, writes work again without a
//! restart and nothing acknowledged was lost (checked in the running agent).
//!
//! The store lives on an 8 MiB tmpfs the test mounts (needs root; skipped without, except under
//! `CI=true`).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use stockpost_agent::writer::lock;
use stockpost_common::domain::{LocationCode, LocationInfo, LocationKind};
use stockpost_common::wire::DownlinkItem;
use stockpost_tests::real::skip_because;
use stockpost_tests::station::{http_text, StationAgent, STATIONS};
use stockpost_tests::tmpfs::Tmpfs;

/// Twenty new reserve locations, numbered from `round`.
fn locations(round: usize) -> Vec<DownlinkItem> {
    (0..20)
        .map(|i| DownlinkItem::LocationUpsert {
            code: LocationCode::new(format!("R-{round:05}-{i:02}")).unwrap(),
            info: LocationInfo {
                kind: LocationKind::Reserve,
                pickable: true,
                capacity: None,
            },
        })
        .collect()
}

async fn write_failing_gauge(agent: &StationAgent) -> String {
    let (_, text) = http_text(agent.addr, "GET", "/metrics", None)
        .await
        .unwrap();
    text.lines()
        .find(|l| l.starts_with("stockpost_agent_store_write_failing "))
        .unwrap_or("stockpost_agent_store_write_failing missing")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_on_a_full_disk_is_not_ready_and_writes_again_once_space_is_freed_without_losing_acknowledged_writes(
) {
    let fs = match Tmpfs::mount("8m") {
        Ok(fs) => fs,
        Err(why) => return skip_because(&why),
    };
    let data = fs.path().join("agent");
    std::fs::create_dir(&data).unwrap();
    let agent = StationAgent::start(&data, STATIONS).await.unwrap();
    let mut acknowledged = agent.downlink(locations(0)).await.unwrap();
    let (status, text) = http_text(agent.addr, "GET", "/healthz", None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{text}");

    fs.fill("filler").unwrap();
    let mut round = 1;
    let refused = loop {
        assert!(round < 20_000, "the full disk never refused a write");
        match agent.downlink(locations(round)).await {
            Ok(seq) => {
                assert!(seq > acknowledged, "downlink {seq} after {acknowledged}");
                acknowledged = seq;
                round += 1;
            }
            Err(e) => break e,
        }
    };
    let (status, text) = http_text(agent.addr, "GET", "/healthz", None)
        .await
        .unwrap();
    assert_eq!(
        status, 503,
        "healthz while the disk is full: {text} (write refused: {refused})"
    );
    assert!(text.contains("No space left on device"), "{text}");
    assert_eq!(
        write_failing_gauge(&agent).await,
        "stockpost_agent_store_write_failing 1"
    );

    std::fs::remove_file(fs.path().join("filler")).unwrap();
    // The refused downlink is simply sent again, as the hub would.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match agent.downlink(locations(round)).await {
            Ok(seq) => {
                assert!(seq > acknowledged, "downlink {seq} after {acknowledged}");
                acknowledged = seq;
                break;
            }
            Err(e) => assert!(
                tokio::time::Instant::now() < deadline,
                "writes still fail after space was freed: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, text) = http_text(agent.addr, "GET", "/healthz", None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        write_failing_gauge(&agent).await,
        "stockpost_agent_store_write_failing 0"
    );

    // Everything acknowledged is in the running agent's books (a restart in this process is
    // not tried: after a reopen the old store file can stay locked until the process ends;
    // the store-level test tests/disk_full.rs reopens the store itself).
    let applied = lock(agent.node.writer.state()).down_applied;
    assert!(
        applied >= acknowledged,
        "acknowledged downlinks were lost: {applied} < {acknowledged}"
    );
    agent.stop().await;
}

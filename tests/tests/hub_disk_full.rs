//! A hub whose disk fills up: commits fail, `/healthz` answers 503 with the reason and
//! `stockpost_hub_store_write_failing` is 1; once space is freed, writes work again without a
//! restart and nothing acknowledged was lost (checked after a restart, from the store).
//!
//! The store lives on an 8 MiB tmpfs the test mounts (needs root; skipped without, except under
//! `CI=true`).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use stockpost_hub::node::HubNode;
use stockpost_tests::hubapi::{hub_config_with_api, Api, ADMIN};
use stockpost_tests::real::skip_because;
use stockpost_tests::station::http_text;
use stockpost_tests::tmpfs::Tmpfs;

/// No broker listens here: HTTP and the writer work anyway.
const NO_BROKER: &str = "127.0.0.1:9";

/// A node id made of letters only: DC-AAA, DC-AAB, …
fn node_name(i: usize) -> String {
    let l = |n: usize| char::from(b'A' + u8::try_from(n % 26).unwrap());
    format!("DC-{}{}{}", l(i / 676), l(i / 26), l(i))
}

async fn put_node(api: &Api, i: usize) -> (u16, serde_json::Value) {
    let name = format!("node {i} {}", "x".repeat(80));
    api.call(
        "PUT",
        &format!("/api/v1/nodes/{}", node_name(i)),
        Some(ADMIN),
        Some(serde_json::json!({ "name": name })),
    )
    .await
    .unwrap()
}

async fn healthz(hub: &HubNode) -> (u16, String) {
    http_text(hub.http_addr, "GET", "/healthz", None)
        .await
        .unwrap()
}

async fn write_failing_gauge(hub: &HubNode) -> String {
    let (_, text) = http_text(hub.http_addr, "GET", "/metrics", None)
        .await
        .unwrap();
    text.lines()
        .find(|l| l.starts_with("stockpost_hub_store_write_failing "))
        .unwrap_or("stockpost_hub_store_write_failing missing")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_on_a_full_disk_is_not_ready_and_writes_again_once_space_is_freed_without_losing_acknowledged_writes(
) {
    let fs = match Tmpfs::mount("8m") {
        Ok(fs) => fs,
        Err(why) => return skip_because(&why),
    };
    let data = fs.path().join("hub");
    std::fs::create_dir(&data).unwrap();
    let hub = HubNode::start(hub_config_with_api(&data, NO_BROKER, "").unwrap())
        .await
        .unwrap();
    let api = Api::new(&hub).unwrap();
    let mut acknowledged = Vec::new();
    for i in 0..3 {
        let (status, body) = put_node(&api, i).await;
        assert!((200..300).contains(&status), "{status} {body}");
        acknowledged.push(i);
    }
    assert_eq!(healthz(&hub).await.0, 200);

    fs.fill("filler").unwrap();
    let mut next = acknowledged.len();
    let refused = loop {
        assert!(next < 17_000, "the full disk never refused a write");
        let (status, body) = put_node(&api, next).await;
        if (200..300).contains(&status) {
            acknowledged.push(next);
            next += 1;
        } else {
            break (status, body);
        }
    };
    let (status, text) = healthz(&hub).await;
    assert_eq!(
        status, 503,
        "healthz while the disk is full: {text} (write refused: {refused:?})"
    );
    assert!(text.contains("No space left on device"), "{text}");
    assert_eq!(
        write_failing_gauge(&hub).await,
        "stockpost_hub_store_write_failing 1"
    );

    std::fs::remove_file(fs.path().join("filler")).unwrap();
    // The refused write is simply made again, as a client would.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = put_node(&api, next).await;
        if (200..300).contains(&status) {
            acknowledged.push(next);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "writes still fail after space was freed: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(healthz(&hub).await.0, 200);
    assert_eq!(
        write_failing_gauge(&hub).await,
        "stockpost_hub_store_write_failing 0"
    );

    hub.stop().await;
    let hub = HubNode::start(hub_config_with_api(&data, NO_BROKER, "").unwrap())
        .await
        .unwrap();
    let api = Api::new(&hub).unwrap();
    let nodes = api
        .ok("GET", "/api/v1/nodes", ADMIN, None)
        .await
        .unwrap()
        .to_string();
    for i in acknowledged {
        assert!(
            nodes.contains(&format!("\"{}\"", node_name(i))),
            "acknowledged node {} is missing after the restart",
            node_name(i)
        );
    }
    hub.stop().await;
}

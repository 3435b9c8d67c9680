//! A flood of garbage on a node's uplink topic (issue #13): 100 payloads of 1 MiB through a real
//! Mosquitto. The hub keeps a digest and the first bytes of each, never the payload: its store
//! grows by less than 5 MiB, `GET /api/v1/quarantine` lists every one, one `poison_message`
//! exception covers them, and the node's real events are still applied afterwards.

#![allow(clippy::unwrap_used)]

use rand::{RngCore, SeedableRng};
use rumqttc::{AsyncClient, Event as MqttEvent, MqttOptions, Packet, QoS};
use serde_json::Value;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use stockpost_common::domain::{EventBody, LocationCode, NodeId, Qty, Sku, StockRef, StockStatus};
use stockpost_hub::node::HubNode;
use stockpost_tests::fleet::init_tracing;
use stockpost_tests::hubapi::{hub_config_with_api, inject, register, send_batch, Api, VIEWER};
use stockpost_tests::mosquitto::Mosquitto;
use stockpost_tests::shift::{poll, WAIT};

const FLOOD: usize = 100;
const MIB: usize = 1024 * 1024;

/// Bytes of every file under `dir`.
fn bytes_under(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            bytes_under(&entry.path())
        } else {
            meta.len()
        };
    }
    total
}

/// Publishes `FLOOD` distinct random payloads of 1 MiB on `topic`, each PUBACKed by the broker.
async fn flood(addr: std::net::SocketAddr, topic: String) {
    let mut options = MqttOptions::new("flooder", addr.ip().to_string(), addr.port());
    options.set_keep_alive(Duration::from_secs(5));
    options.set_max_packet_size(2 * MIB, 2 * MIB);
    let (client, mut eventloop) = AsyncClient::new(options, 16);
    let publisher = tokio::spawn(async move {
        let mut rng = rand::rngs::StdRng::seed_from_u64(13);
        for _ in 0..FLOOD {
            let mut payload = vec![0u8; MIB];
            rng.fill_bytes(&mut payload);
            client
                .publish(topic.clone(), QoS::AtLeastOnce, false, payload)
                .await
                .unwrap();
        }
        client
    });
    let mut acked = 0;
    tokio::time::timeout(Duration::from_secs(120), async {
        while acked < FLOOD {
            if let MqttEvent::Incoming(Packet::PubAck(_)) = eventloop.poll().await.unwrap() {
                acked += 1;
            }
        }
    })
    .await
    .unwrap();
    let client = publisher.await.unwrap();
    client.disconnect().await.unwrap();
}

/// Returns once the hub receives what is published on the uplink topics: a small garbage
/// payload on another node's topic is published until the hub has quarantined it.
async fn subscribed(api: &Api, addr: std::net::SocketAddr) {
    let mut options = MqttOptions::new("prober", addr.ip().to_string(), addr.port());
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut eventloop) = AsyncClient::new(options, 16);
    let driver = tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    poll(WAIT, "the hub to receive the uplink topics", || async {
        client
            .publish(
                "stockpost/v1/up/DC-PROBE",
                QoS::AtLeastOnce,
                false,
                vec![0xff; 8],
            )
            .await?;
        let v = api.ok("GET", "/api/v1/quarantine", VIEWER, None).await?;
        Ok((v["received"].as_u64() >= Some(1)).then_some(()))
    })
    .await
    .unwrap();
    driver.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_a_hundred_one_mib_garbage_payloads_grows_the_hub_store_by_less_than_five_mib_and_every_one_is_listed(
) {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(&dir.path().join("broker")).unwrap();
    let hub_dir = dir.path().join("hub");
    let hub =
        HubNode::start(hub_config_with_api(&hub_dir, &broker.addr().to_string(), "").unwrap())
            .await
            .unwrap();
    let api = Api::new(&hub).unwrap();
    register(&hub, &["DC-EAST"]).await.unwrap();
    subscribed(&api, broker.addr()).await;
    let store = hub_dir.join("store");
    let before = bytes_under(&store);

    flood(broker.addr(), "stockpost/v1/up/DC-EAST".to_string()).await;
    let listed: Value = poll(WAIT, "every payload to be quarantined", || async {
        let v = api
            .ok("GET", "/api/v1/quarantine?node=DC-EAST", VIEWER, None)
            .await?;
        let listed = v["quarantine"].as_array().map_or(0, Vec::len);
        Ok((listed >= FLOOD).then_some(v))
    })
    .await
    .unwrap();
    let records = listed["quarantine"].as_array().unwrap();
    assert_eq!(records.len(), FLOOD, "one record per distinct payload");
    assert_eq!(listed["dropped"], 0, "the default cap is 100 per node");
    for r in records {
        assert_eq!(r["bytes"].as_u64(), Some(MIB as u64), "{r}");
        assert_eq!(r["head_hex"].as_str().unwrap().len(), 2 * 256, "{r}");
        assert_eq!(r["node"], "DC-EAST", "{r}");
        assert!(r["sha256"].as_str().unwrap().len() == 64, "{r}");
    }
    let after = bytes_under(&store);
    let grown = after.saturating_sub(before);
    assert!(
        grown < 5 * MIB as u64,
        "the store grew by {grown} bytes ({before} -> {after}) for {FLOOD} MiB of garbage"
    );

    // One open poison_message exception covers the flood, and names a quarantine record.
    let exceptions = api
        .ok(
            "GET",
            "/api/v1/exceptions?code=poison_message&node=DC-EAST",
            VIEWER,
            None,
        )
        .await
        .unwrap();
    let list = exceptions["exceptions"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{exceptions}");
    assert!(list[0]["message"]
        .as_str()
        .unwrap()
        .contains("quarantine #"));
    let exception_id = list[0]["id"].clone();
    assert!(records.iter().all(|r| r["exception"] == exception_id));

    // The node's stream is not blocked: its next events are applied.
    let node = NodeId::new("DC-EAST").unwrap();
    let before_seq = hub.applied_seq(&node);
    inject(
        &hub,
        "DC-EAST",
        vec![EventBody::Receive {
            location: LocationCode::new("RCV-1").unwrap(),
            stock: StockRef::plain(Sku::new("MUG").unwrap()),
            qty: Qty::from_str("3").unwrap(),
            status: StockStatus::Available,
            inbound: None,
        }],
    )
    .await
    .unwrap();
    assert_eq!(hub.applied_seq(&node), before_seq + 1);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_a_node_never_registered_are_quarantined_once_raise_unknown_node_and_book_nothing(
) {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let hub = HubNode::start(hub_config_with_api(dir.path(), "127.0.0.1:9", "").unwrap())
        .await
        .unwrap();
    let api = Api::new(&hub).unwrap();
    let receive = || EventBody::Receive {
        location: LocationCode::new("RCV-1").unwrap(),
        stock: StockRef::plain(Sku::new("MUG").unwrap()),
        qty: Qty::from_str("3000").unwrap(),
        status: StockStatus::Available,
        inbound: None,
    };
    // The same forged batch twice: one incident, counted twice.
    for _ in 0..2 {
        send_batch(&hub, "DC-GHOST", vec![receive(), receive()])
            .await
            .unwrap();
    }
    let listed: Value = poll(WAIT, "the batch to be quarantined twice", || async {
        let v = api
            .ok("GET", "/api/v1/quarantine?node=DC-GHOST", VIEWER, None)
            .await?;
        let count = v["quarantine"][0]["count"].as_u64().unwrap_or(0);
        Ok((count >= 2).then_some(v))
    })
    .await
    .unwrap();
    let records = listed["quarantine"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{listed}");
    assert_eq!(records[0]["count"], 2, "{listed}");
    assert_eq!(records[0]["seq"], 1, "{listed}");
    assert!(
        records[0]["reason"].as_str().unwrap().contains("DC-GHOST"),
        "{listed}"
    );

    let exceptions = api
        .ok("GET", "/api/v1/exceptions?code=unknown_node", VIEWER, None)
        .await
        .unwrap();
    let list = exceptions["exceptions"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{exceptions}");
    assert_eq!(list[0]["node"], "DC-GHOST", "{exceptions}");
    assert_eq!(records[0]["exception"], list[0]["id"], "{listed}");

    let stock = api
        .ok("GET", "/api/v1/stock?sku=MUG", VIEWER, None)
        .await
        .unwrap();
    assert_eq!(stock["balances"].as_array().unwrap().len(), 0, "{stock}");
    assert_eq!(hub.applied_seq(&NodeId::new("DC-GHOST").unwrap()), 0);
    hub.stop().await;
}

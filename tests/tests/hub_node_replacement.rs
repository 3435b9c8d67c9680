//! Replacing a node in the middle of a shift (issue #13): the node's disk is wiped while an
//! inbound notice is fully received, one order is picked into a tote (its pack task made by the
//! node) and another waits to be picked. The node bootstraps from the hub and finishes the
//! shift: no finished task is offered again, the node-made pack task and the open pick are kept,
//! a re-receipt against the closed notice raises `over_receipt`, and the books balance
//! (on hand + shipped = received, per node and SKU). Real Mosquitto, hub and agent in-process;
//! every operator step is a scan through the agent's station API.

#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use stockpost_agent::config::AgentConfig;
use stockpost_agent::writer::lock as agent_lock;
use stockpost_common::domain::{
    Dec, DocRef, EventBody, LocationCode, NodeId, Qty, Sku, StockRef, StockStatus,
};
use stockpost_hub::node::HubNode;
use stockpost_tests::fleet::init_tracing;
use stockpost_tests::hubapi::{hub_config_with_api, inject, Api, ADMIN, OPERATOR, VIEWER};
use stockpost_tests::mosquitto::Mosquitto;
use stockpost_tests::shift::{
    pack, pick, poll, put_away_all, receive, ship, sign_in, take, wait_outbox_empty, wait_task,
    PickLine, Scan, WAIT,
};
use stockpost_tests::station::{mug, StationAgent, STATIONS};

const EAST: &str = "DC-EAST";

async fn master_data(api: &Api) {
    api.ok(
        "PUT",
        "/api/v1/items/MUG-BLUE",
        OPERATOR,
        Some(json!({
            "description": "Blue mug 350 ml",
            "gtins": [{"gtin": mug(), "pack": "each", "qty_per_pack": "1"}],
            "tracking": "none", "unit_weight_kg": "0.350", "weight_tolerance_pct": "5",
            "unit_value": "4.00"})),
    )
    .await
    .unwrap();
    api.ok(
        "PUT",
        &format!("/api/v1/nodes/{EAST}"),
        ADMIN,
        Some(json!({"name": EAST, "priority": 1, "credential": stockpost_tests::keys::test_key_hex(EAST)})),
    )
    .await
    .unwrap();
    for (code, kind, pickable) in [
        ("DOCK-1", "receiving", false),
        ("A-01-01", "reserve", true),
        ("PACK-1", "pack", false),
        ("SHIP-1", "ship", false),
        ("RET-1", "returns", false),
    ] {
        api.ok(
            "PUT",
            &format!("/api/v1/nodes/{EAST}/locations/{code}"),
            OPERATOR,
            Some(json!({"kind": kind, "pickable": pickable})),
        )
        .await
        .unwrap();
    }
}

/// The agent's configuration: stations, fast test timings, and a hub it must bootstrap from.
fn agent_config(dir: &Path, mqtt: &str, hub_url: &str) -> AgentConfig {
    let token = dir.join("hub-token");
    std::fs::write(&token, format!("{VIEWER}\n")).unwrap();
    let data = dir.join("data");
    let text = format!(
        "node_id = \"{EAST}\"\ndata_dir = \"{}\"\n[mqtt]\naddress = \"{mqtt}\"\nkeep_alive_secs = 5\n\
         reconnect_min_ms = 50\nreconnect_max_ms = 1000\n[sync]\nack_timeout_ms = 3000\n{}\
         [http]\nlisten = \"127.0.0.1:0\"\n[hub]\nurl = \"{hub_url}\"\ntoken_file = \"{}\"\n\
         bootstrap = \"required\"\n{STATIONS}",
        data.display(),
        stockpost_tests::keys::credential_line(&data, EAST).unwrap(),
        token.display()
    );
    AgentConfig::from_toml(&text, Path::new("test-agent.toml"), &[]).unwrap()
}

async fn start_agent(dir: &Path, mqtt: &str, hub_url: &str) -> StationAgent {
    let agent = StationAgent::start_with(agent_config(dir, mqtt, hub_url))
        .await
        .unwrap();
    poll(WAIT, "the bootstrap to finish", || async {
        Ok((!agent_lock(agent.node.writer.state()).bootstrap_pending).then_some(()))
    })
    .await
    .unwrap();
    agent
}

/// Waits until the agent's outbox is empty and the hub applied its head with no downlink left.
async fn settle(api: &Api, agent: &StationAgent) {
    let head = wait_outbox_empty(agent).await.unwrap();
    poll(WAIT, "the hub to apply the node's head", || async {
        let nodes = api.ok("GET", "/api/v1/nodes", VIEWER, None).await?;
        let ok =
            nodes["nodes"].as_array().into_iter().flatten().any(|n| {
                n["node"] == EAST && n["applied_seq"] == head && n["pending_downlink"] == 0
            });
        Ok(ok.then_some(()))
    })
    .await
    .unwrap();
}

/// The agent's tasks of `kind` as (id, ref, status).
async fn tasks(agent: &StationAgent, kind: &str) -> Vec<(String, String, String)> {
    let v = agent
        .get(&format!("/api/v1/tasks?kind={kind}"))
        .await
        .unwrap();
    v["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let s = |k: &str| t[k].as_str().unwrap_or_default().to_string();
            (s("id"), s("ref"), s("status"))
        })
        .collect()
}

/// The references of the tasks not yet finished (open, or taken by a station).
fn open(list: &[(String, String, String)]) -> Vec<String> {
    list.iter()
        .filter(|(_, _, status)| status == "open" || status == "in_progress")
        .map(|(_, r, _)| r.clone())
        .collect()
}

async fn order(api: &Api, r: &str) -> Value {
    api.ok("GET", &format!("/api/v1/orders/{r}"), VIEWER, None)
        .await
        .unwrap()
}

/// Per SKU at the node, from the hub's event log: (received, shipped).
fn received_and_shipped(hub: &HubNode, node: &NodeId) -> BTreeMap<Sku, (Dec, Dec)> {
    let mut out: BTreeMap<Sku, (Dec, Dec)> = BTreeMap::new();
    for stored in hub.reader.events(node, 0, 10_000).unwrap() {
        match &stored.event.body {
            EventBody::Receive { stock, qty, .. } => {
                let e = out.entry(stock.sku.clone()).or_default();
                e.0 = e.0.checked_add(qty.get()).unwrap();
            }
            EventBody::Ship { lines, .. } => {
                for l in lines {
                    let e = out.entry(l.stock.sku.clone()).or_default();
                    e.1 = e.1.checked_add(l.qty.get()).unwrap();
                }
            }
            _ => {}
        }
    }
    out
}

/// The first life of the node: ASN-1 received and put away, SO-1 picked into TOTE-1 (the node
/// makes its pack task), SO-2 allocated and waiting. Returns the pack task's id.
async fn first_half_of_the_shift(api: &Api, agent: &StationAgent) -> String {
    let mug = mug();
    api.ok(
        "POST",
        &format!("/api/v1/nodes/{EAST}/inbound"),
        OPERATOR,
        Some(json!({"ref": "ASN-1", "lines": [{"sku": "MUG-BLUE", "qty": "6"}]})),
    )
    .await
    .unwrap();
    let t = wait_task(agent, "receive", "ASN-1").await.unwrap();
    sign_in(agent, "hh-1", "op-1").await.unwrap();
    take(agent, "hh-1", t["id"].as_str().unwrap())
        .await
        .unwrap();
    receive(
        agent,
        "hh-1",
        &[Scan {
            gtin: &mug,
            qty: "6",
        }],
    )
    .await
    .unwrap();
    put_away_all(agent, "hh-1").await.unwrap();
    for (r, qty) in [("SO-1", "2"), ("SO-2", "1")] {
        api.ok(
            "POST",
            "/api/v1/orders",
            OPERATOR,
            Some(
                json!({"ref": r, "channel": "web", "ship_by": "2030-01-01T00:00:00Z",
                        "lines": [{"sku": "MUG-BLUE", "qty": qty}]}),
            ),
        )
        .await
        .unwrap();
    }
    let p = wait_task(agent, "pick", "SO-1").await.unwrap();
    take(agent, "hh-1", p["id"].as_str().unwrap())
        .await
        .unwrap();
    let line = PickLine {
        gtin: &mug,
        location: "A-01-01",
        found: "2",
    };
    pick(agent, "hh-1", "TOTE-1", &[line]).await.unwrap();
    // The station goes on to the next pick (SO-2) by itself; it stays unpicked.
    let picks = tasks(agent, "pick").await;
    assert_eq!(open(&picks), vec!["SO-2".to_string()], "{picks:?}");
    let packs = tasks(agent, "pack").await;
    assert_eq!(open(&packs), vec!["SO-1".to_string()], "{packs:?}");
    packs[0].0.clone()
}

/// The second life: SO-1 packed and shipped from its tote, SO-2 picked, packed and shipped.
async fn second_half_of_the_shift(agent: &StationAgent) {
    let mug = mug();
    sign_in(agent, "pack-1", "op-pack").await.unwrap();
    // 2 × 0.350 + 0.200 tare = 0.900 kg.
    let v = pack(
        agent,
        "pack-1",
        "TOTE-1",
        &[Scan {
            gtin: &mug,
            qty: "2",
        }],
        "CARTON-1",
        "0.900",
    )
    .await
    .unwrap();
    assert_eq!(v["accepted"], true, "{v}");
    ship(agent, "pack-1", "CARTON-1").await.unwrap();
    sign_in(agent, "hh-1", "op-1").await.unwrap();
    let picks = tasks(agent, "pick").await;
    let so2 = picks
        .iter()
        .find(|(_, r, s)| r == "SO-2" && s != "done")
        .map(|(id, _, _)| id.clone())
        .unwrap();
    take(agent, "hh-1", &so2).await.unwrap();
    let line = PickLine {
        gtin: &mug,
        location: "A-01-01",
        found: "1",
    };
    pick(agent, "hh-1", "TOTE-2", &[line]).await.unwrap();
    let v = pack(
        agent,
        "pack-1",
        "TOTE-2",
        &[Scan {
            gtin: &mug,
            qty: "1",
        }],
        "CARTON-2",
        "0.550",
    )
    .await
    .unwrap();
    assert_eq!(v["accepted"], true, "{v}");
    ship(agent, "pack-1", "CARTON-2").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_wiped_mid_shift_bootstraps_keeps_its_open_and_node_made_tasks_never_sees_a_finished_one_and_the_books_balance(
) {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(&dir.path().join("broker")).unwrap();
    let mqtt = broker.addr().to_string();
    let hub = HubNode::start(hub_config_with_api(&dir.path().join("hub"), &mqtt, "").unwrap())
        .await
        .unwrap();
    let api = Api::new(&hub).unwrap();
    master_data(&api).await;
    let node_dir = dir.path().join("east");
    std::fs::create_dir_all(&node_dir).unwrap();
    let agent = start_agent(&node_dir, &mqtt, api.base()).await;
    let pack_task = first_half_of_the_shift(&api, &agent).await;
    settle(&api, &agent).await;
    let asn = api
        .ok("GET", "/api/v1/inbound/ASN-1", VIEWER, None)
        .await
        .unwrap();
    assert_eq!(asn["status"], "received", "{asn}");

    // The node's disk is wiped; it starts again and bootstraps from the hub.
    agent.stop().await;
    std::fs::remove_dir_all(node_dir.join("data")).unwrap();
    let agent = start_agent(&node_dir, &mqtt, api.base()).await;
    let node = NodeId::new(EAST).unwrap();
    {
        let state = agent_lock(agent.node.writer.state());
        let local: Vec<_> = state
            .ledger
            .balances()
            .filter(|(k, _)| k.node == node)
            .map(|(k, v)| (k.clone(), v))
            .collect();
        assert_eq!(local, hub.view().books.stock.balances_of(&node));
    }
    let receives = tasks(&agent, "receive").await;
    assert!(
        open(&receives).is_empty(),
        "the fully received ASN-1 is not offered again: {receives:?}"
    );
    let picks = tasks(&agent, "pick").await;
    assert_eq!(
        open(&picks),
        vec!["SO-2".to_string()],
        "only the unpicked order is offered: {picks:?}"
    );
    let packs = tasks(&agent, "pack").await;
    assert!(
        packs
            .iter()
            .any(|(id, r, s)| id == &pack_task && r == "SO-1" && s != "done"),
        "the node-made pack task {pack_task} is kept: {packs:?}"
    );

    second_half_of_the_shift(&agent).await;
    settle(&api, &agent).await;
    for r in ["SO-1", "SO-2"] {
        let o = order(&api, r).await;
        assert_eq!(o["status"], "shipped", "{o}");
    }
    agent.stop().await;

    // A receipt against the closed ASN-1 (as a node replaying old work would send): the fact
    // is applied and `over_receipt` names the notice.
    inject(
        &hub,
        EAST,
        vec![EventBody::Receive {
            location: LocationCode::new("DOCK-1").unwrap(),
            stock: StockRef::plain(Sku::new("MUG-BLUE").unwrap()),
            qty: Qty::from_str("6").unwrap(),
            status: StockStatus::Available,
            inbound: Some(DocRef::new("ASN-1").unwrap()),
        }],
    )
    .await
    .unwrap();
    let over = poll(WAIT, "an over_receipt exception", || async {
        let v = api
            .ok("GET", "/api/v1/exceptions?code=over_receipt", VIEWER, None)
            .await?;
        Ok(v["exceptions"].as_array().and_then(|l| l.first()).cloned())
    })
    .await
    .unwrap();
    assert!(
        over.to_string().contains("ASN-1"),
        "the exception names the notice: {over}"
    );
    let asn = api
        .ok("GET", "/api/v1/inbound/ASN-1", VIEWER, None)
        .await
        .unwrap();
    assert_eq!(asn["lines"][0]["received"], "12", "{asn}");

    // The books balance: on hand + shipped = received, per SKU at the node.
    let view = hub.view();
    let flows = received_and_shipped(&hub, &node);
    assert_eq!(flows.len(), 1, "{flows:?}");
    for (sku, (received, shipped)) in flows {
        let on_hand = view.books.stock.on_hand(&node, &sku);
        assert_eq!(
            on_hand.checked_add(shipped).unwrap(),
            received,
            "{sku}: on hand {on_hand} + shipped {shipped} = received {received}"
        );
        assert_eq!(
            (received, shipped),
            (Dec::from_int(12).unwrap(), Dec::from_int(3).unwrap())
        );
    }
    hub.stop().await;
}

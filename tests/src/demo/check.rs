//! The hub's expected final state after the shift, and the comparison `--exit` makes.

use super::setup::World;
use super::{EAST, NODES, NORTH, WEST};
use crate::hubapi::Api;
use crate::shift::{poll, wait_outbox_empty, WAIT};
use crate::station::StationAgent;
use anyhow::anyhow;
use serde_json::Value;

/// The hub's non-zero balances as `node location sku status on_hand/reserved/available`, sorted.
pub async fn stock(api: &Api, token: &str) -> anyhow::Result<Vec<String>> {
    let v = api.ok("GET", "/api/v1/stock", token, None).await?;
    if !v["next"].is_null() {
        return Err(anyhow!("the demo's stock should fit one page: {v}"));
    }
    let s = |x: &Value| x.as_str().unwrap_or("-").to_string();
    let mut out: Vec<String> = v["balances"]
        .as_array()
        .ok_or_else(|| anyhow!("no balances in {v}"))?
        .iter()
        .filter(|b| b["on_hand"] != "0" || b["reserved"] != "0")
        .map(|b| {
            format!(
                "{} {} {} {} {}/{}/{}",
                s(&b["node"]),
                s(&b["location"]),
                s(&b["sku"]),
                s(&b["status"]),
                s(&b["on_hand"]),
                s(&b["reserved"]),
                s(&b["available"]),
            )
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Waits until `agent`'s outbox is empty and the hub applied its head with no downlink
/// pending; returns the head.
pub async fn settle_node(
    api: &Api,
    token: &str,
    agent: &StationAgent,
    node: &str,
) -> anyhow::Result<u64> {
    let head = wait_outbox_empty(agent).await?;
    poll(
        WAIT,
        &format!("the hub to apply {node}'s head {head}"),
        || async {
            let nodes = api.ok("GET", "/api/v1/nodes", token, None).await?;
            let ok = nodes["nodes"].as_array().into_iter().flatten().any(|n| {
                n["node"] == node && n["applied_seq"] == head && n["pending_downlink"] == 0
            });
            Ok(ok.then_some(()))
        },
    )
    .await?;
    Ok(head)
}

/// Settles every node; returns the heads in [`NODES`] order.
pub async fn settle(w: &World) -> anyhow::Result<Vec<u64>> {
    let mut heads = Vec::new();
    for node in NODES {
        heads.push(settle_node(&w.api, &w.token, w.agent(node), node).await?);
    }
    Ok(heads)
}

/// The stock the shift leaves, worked out by hand (see `script.rs`).
pub fn expected_stock() -> Vec<String> {
    let mut v: Vec<String> = [
        // 6 received − 5 picked − 1 counted away at A-01-01; the restocked return.
        "DC-EAST RET-1 MUG-BLUE available 1/0/0",
        // 10 received − 4 picked while offline.
        "DC-NORTH A-01-01 NOTE-A5 available 6/0/6",
        // 4 received − 2 − 1 picked.
        "DC-WEST A-01-01 MUG-BLUE available 1/0/1",
        // 10 received − 3 picked.
        "DC-WEST A-01-02 PEN-RED available 7/0/7",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.sort();
    v
}

/// Every node's stock events after the shift, sorted by kind (beside them, each node reports
/// its tasks: `task_defined`, `task_progress`).
pub const EXPECTED_STOCK_EVENTS: [(&str, &[&str]); 3] = [
    // receive, putaway, pick, short pick, count result, pack, ship, return receive, disposition.
    (
        EAST,
        &[
            "count_result",
            "disposition",
            "move",
            "pack",
            "pick",
            "receive",
            "return_receive",
            "ship",
            "short_pick",
        ],
    ),
    // 2 receives, 2 putaways, 3 picks, 3 packs, 3 ships.
    (
        WEST,
        &[
            "move", "move", "pack", "pack", "pack", "pick", "pick", "pick", "receive", "receive",
            "ship", "ship", "ship",
        ],
    ),
    // receive, putaway, pick, pack, ship.
    (NORTH, &["move", "pack", "pick", "receive", "ship"]),
];

/// Orders and the status each must end in.
pub const EXPECTED_ORDERS: [(&str, &str); 3] = [
    ("SO-1001", "shipped"),
    ("SO-1002", "shipped"),
    ("SO-1003", "shipped"),
];

/// Exceptions as (code, node), sorted.
pub const EXPECTED_EXCEPTIONS: [(&str, &str); 2] = [("count_variance", EAST), ("short_pick", EAST)];

/// The cartons whose labels each node's pack-station printer prints.
pub const EXPECTED_LABELS: [(&str, &[&str]); 3] = [
    (EAST, &["CARTON-E1"]),
    (WEST, &["CARTON-W1", "CARTON-W2", "CARTON-W3"]),
    (NORTH, &["CARTON-N1"]),
];

/// Compares the hub's state with what is expected; returns one line per mismatch (empty: all
/// as expected).
pub async fn final_state(w: &World) -> anyhow::Result<Vec<String>> {
    let mut bad = Vec::new();
    let (api, token) = (&w.api, w.token.as_str());

    let got = stock(api, token).await?;
    let want = expected_stock();
    if got != want {
        bad.push(format!("stock: expected {want:?}, got {got:?}"));
    }

    for (r, status) in EXPECTED_ORDERS {
        let o = api
            .ok("GET", &format!("/api/v1/orders/{r}"), token, None)
            .await?;
        if o["status"] != status {
            bad.push(format!(
                "order {r}: expected status {status}, got {}",
                o["status"]
            ));
        }
    }

    let ex = api.ok("GET", "/api/v1/exceptions", token, None).await?;
    let mut codes: Vec<(String, String)> = ex["exceptions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["code"].as_str().unwrap_or("?").to_string(),
                e["node"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    codes.sort();
    let want: Vec<(String, String)> = EXPECTED_EXCEPTIONS
        .iter()
        .map(|(c, n)| (c.to_string(), n.to_string()))
        .collect();
    if codes != want {
        bad.push(format!("exceptions: expected {want:?}, got {codes:?}"));
    }

    for (node, cartons) in EXPECTED_LABELS {
        let printed = w.printed(node);
        for carton in cartons {
            if !printed.iter().any(|job| job.contains(carton)) {
                bad.push(format!("{node}: no label printed for {carton}"));
            }
        }
        let foreign: Vec<&str> = EXPECTED_LABELS
            .iter()
            .filter(|(other, _)| *other != node)
            .flat_map(|(_, c)| c.iter().copied())
            .filter(|c| printed.iter().any(|job| job.contains(c)))
            .collect();
        if !foreign.is_empty() {
            bad.push(format!(
                "{node}: printed labels of other nodes' cartons {foreign:?}"
            ));
        }
    }

    let nodes = api.ok("GET", "/api/v1/nodes", token, None).await?;
    for (node, expected) in EXPECTED_STOCK_EVENTS {
        let st = w.agent(node).get("/api/v1/status").await?;
        let mut kinds = api.stock_event_kinds(node, token).await?;
        kinds.sort();
        if kinds != expected {
            bad.push(format!(
                "{node}: expected the stock events {expected:?}, the hub has {kinds:?}"
            ));
        }
        if st["outbox_pending"].as_u64() != Some(0) {
            bad.push(format!(
                "{node}: outbox not empty: {} pending",
                st["outbox_pending"]
            ));
        }
        let applied = nodes["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["node"] == node)
            .map(|n| n["applied_seq"].clone())
            .unwrap_or(Value::Null);
        if applied != st["last_seq"] {
            bad.push(format!(
                "{node}: hub applied {applied}, node head is {}",
                st["last_seq"]
            ));
        }
    }
    Ok(bad)
}

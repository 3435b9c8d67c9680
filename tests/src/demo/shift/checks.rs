//! The end-of-shift checks `--exit` decides on: the hub's books balance exactly against what
//! the operators did (the [`Tally`]), the agents agree with the hub, no event was lost or
//! applied twice, the exceptions are the ones the shift caused, and the faults happened.

use super::plan::Plan;
use super::tally::{Moves, Tally};
use super::timeline::Timeline;
use super::world::ShiftWorld;
use crate::shift::poll;
use anyhow::anyhow;
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// One final check.
#[derive(Debug, Clone)]
pub struct Check {
    /// What it checks, as a sentence.
    pub name: String,
    /// Whether it holds.
    pub ok: bool,
    /// The figures behind it.
    pub detail: String,
}

fn check(name: &str, ok: bool, detail: String) -> Check {
    Check {
        name: name.into(),
        ok,
        detail,
    }
}

fn dec(v: &Value) -> Decimal {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_i64().map(Decimal::from))
        .unwrap_or_default()
}

/// Sums `field` of `lines` per SKU.
fn per_sku(lines: &Value, field: &str) -> BTreeMap<String, Decimal> {
    let mut out: BTreeMap<String, Decimal> = BTreeMap::new();
    for b in lines.as_array().into_iter().flatten() {
        let sku = b["sku"].as_str().unwrap_or("?").to_string();
        *out.entry(sku).or_default() += dec(&b[field]);
    }
    out.retain(|_, q| !q.is_zero());
    out
}

/// Runs every check.
pub async fn run(
    w: &ShiftWorld,
    plan: &Plan,
    tally: &Tally,
    t: &Timeline,
) -> anyhow::Result<Vec<Check>> {
    let k = w.api().ok("GET", "/api/v1/kpis", &w.token, None).await?;
    let want = plan.orders.len() as u64;
    let shipped = k["orders_by_status"]["shipped"].as_u64().unwrap_or(0);
    let mut out = vec![check(
        "Every order was shipped",
        shipped == want && k["orders_by_status"].as_object().map(|m| m.len()) == Some(1),
        format!(
            "{shipped} of {want}; orders by status {}",
            k["orders_by_status"]
        ),
    )];
    out.extend(books(w, tally).await?);
    out.push(events(w).await?);
    out.push(exceptions(&k, tally));
    out.push(labels(w, tally).await);
    out.push(backlog(w, t));
    Ok(out)
}

/// A check that holds when `problems` is empty; its figures are `fine` then.
fn verdict(name: &str, problems: Vec<String>, fine: String) -> Check {
    let ok = problems.is_empty();
    check(name, ok, if ok { fine } else { problems.join("; ") })
}

/// Where the hub's running totals of `node` (from its snapshot) disagree with its on-hand
/// (`hub`) or with the operators' receipts and shipments.
fn totals_problems(
    node: &str,
    snap: &Value,
    hub: &BTreeMap<String, Decimal>,
    moves: &BTreeMap<(String, String), Moves>,
) -> Vec<String> {
    const INS: [&str; 4] = ["received", "returned", "transferred_in", "adjusted_up"];
    const OUTS: [&str; 5] = [
        "shipped",
        "transferred_out",
        "adjusted_down",
        "written_off",
        "vendor_returned",
    ];
    let mut out = Vec::new();
    for t in snap["totals"].as_array().into_iter().flatten() {
        let sku = t["sku"].as_str().unwrap_or("?");
        let x = &t["totals"];
        let balance: Decimal = INS.iter().map(|f| dec(&x[*f])).sum::<Decimal>()
            - OUTS.iter().map(|f| dec(&x[*f])).sum::<Decimal>();
        let m = moves
            .get(&(node.to_string(), sku.to_string()))
            .copied()
            .unwrap_or_default();
        let on_hand = hub.get(sku).copied().unwrap_or_default();
        if balance != on_hand
            || dec(&x["received"]) != Decimal::from(m.received)
            || dec(&x["shipped"]) != Decimal::from(m.shipped)
        {
            out.push(format!(
                "{node} {sku}: totals {x}, on hand {on_hand}, operators {m:?}"
            ));
        }
    }
    out
}

/// The hub's on-hand per node and SKU against the tally, the hub's own running totals and the
/// agent's books; and no reservation left.
async fn books(w: &ShiftWorld, tally: &Tally) -> anyhow::Result<Vec<Check>> {
    let moves = tally.moves();
    let (mut wrong, mut totals, mut agents, mut reserved) = (vec![], vec![], vec![], 0);
    let mut units = Decimal::ZERO;
    for n in &w.nodes {
        let path = format!("/api/v1/nodes/{}/snapshot", n.id);
        let snap = w.api().ok("GET", &path, &w.token, None).await?;
        let hub = per_sku(&snap["balances"], "on_hand");
        reserved += per_sku(&snap["balances"], "reserved").len();
        let expected: BTreeMap<String, Decimal> = moves
            .iter()
            .filter(|((node, _), m)| node == &n.id && m.on_hand() != 0)
            .map(|((_, sku), m)| (sku.clone(), Decimal::from(m.on_hand())))
            .collect();
        if hub != expected {
            wrong.push(format!("{}: hub {hub:?}, operators {expected:?}", n.id));
        }
        units += hub.values().copied().sum::<Decimal>();
        totals.extend(totals_problems(&n.id, &snap, &hub, &moves));
        let local = n.agent.get("/api/v1/stock").await?;
        let agent = per_sku(&local["balances"], "on_hand");
        if agent != hub {
            agents.push(format!("{}: agent {agent:?}, hub {hub:?}", n.id));
        }
    }
    Ok(vec![
        verdict(
            "The hub's on-hand per node and SKU equals receipts − shipments − counted losses",
            wrong,
            format!("{} node/SKU lines, {units} units on hand", moves.len()),
        ),
        verdict(
            "The hub's running totals (received, shipped, adjusted …) add up to its on-hand",
            totals,
            "every node and SKU".into(),
        ),
        verdict(
            "Every agent's own books equal the hub's books of that node",
            agents,
            format!("{} nodes", w.nodes.len()),
        ),
        check(
            "No reservation is left after the last shipment",
            reserved == 0,
            format!("{reserved} SKU(s) with a reservation"),
        ),
    ])
}

/// Every node's events: the hub applied exactly the agent's head, the outbox is empty, and the
/// hub's log holds sequence 1..=head once each.
async fn events(w: &ShiftWorld) -> anyhow::Result<Check> {
    let nodes = w.api().ok("GET", "/api/v1/nodes", &w.token, None).await?;
    let (mut bad, mut total) = (Vec::new(), 0u64);
    for n in &w.nodes {
        let st = n.agent.get("/api/v1/status").await?;
        let head = st["last_seq"]
            .as_u64()
            .ok_or_else(|| anyhow!("no last_seq in {st}"))?;
        let applied = nodes["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| x["node"] == n.id.as_str())
            .and_then(|x| x["applied_seq"].as_u64());
        if applied != Some(head)
            || st["last_acked_seq"].as_u64() != Some(head)
            || st["outbox_pending"] != 0
        {
            bad.push(format!(
                "{}: head {head}, acked {}, hub applied {applied:?}",
                n.id, st["last_acked_seq"]
            ));
        }
        let seqs = log(w, &n.id).await?;
        let expected: Vec<u64> = (1..=head).collect();
        if seqs != expected {
            bad.push(format!(
                "{}: the hub's log has {} entries for head {head}",
                n.id,
                seqs.len()
            ));
        }
        total += head;
    }
    Ok(check(
        "No event was lost or applied twice: every node's acknowledged head is the hub's applied head, its log is 1..=head",
        bad.is_empty(),
        if bad.is_empty() { format!("{total} events from {} nodes", w.nodes.len()) } else { bad.join("; ") },
    ))
}

/// The sequence numbers of `node`'s events in the hub's log, in log order.
async fn log(w: &ShiftWorld, node: &str) -> anyhow::Result<Vec<u64>> {
    let (mut seqs, mut after) = (Vec::new(), 0u64);
    loop {
        let path = format!("/api/v1/events?node={node}&after={after}&limit=1000");
        let page = w.api().ok("GET", &path, &w.token, None).await?;
        seqs.extend(
            page["events"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["seq"].as_u64()),
        );
        match page["next"].as_u64() {
            Some(next) if next > after => after = next,
            _ => return Ok(seqs),
        }
    }
}

/// One `short_pick` per short pick, a `count_variance` for the counts that found the missing
/// units, nothing else.
fn exceptions(k: &Value, tally: &Tally) -> Check {
    let by_code = &k["open_exceptions_by_code"];
    let n = |c: &str| by_code[c].as_u64().unwrap_or(0);
    let shorts = tally.shorts();
    let counted: u64 = tally.moves().values().map(|m| m.counted_away).sum();
    let others = by_code
        .as_object()
        .map(|m| {
            m.keys()
                .filter(|c| *c != "short_pick" && *c != "count_variance")
                .count()
        })
        .unwrap_or(0);
    // Two short picks at one location before its count make one variance of two units.
    let variances = n("count_variance");
    let variances_ok = if shorts > 0 {
        (1..=shorts).contains(&variances)
    } else {
        variances == 0
    };
    let ok = n("short_pick") == shorts && counted == shorts && variances_ok && others == 0;
    check(
        "The exceptions are the shift's short picks and the counts that found the missing units",
        ok,
        format!("{shorts} short picks, {counted} units counted away; hub exceptions {by_code}"),
    )
}

/// Every shipped carton's label came out of its own node's printer.
async fn labels(w: &ShiftWorld, tally: &Tally) -> Check {
    let cartons = tally.cartons();
    let printed = poll(Duration::from_secs(10), "every label printed", || async {
        let missing: Vec<String> = cartons
            .iter()
            .filter(|(node, carton)| {
                !w.nodes.iter().any(|n| {
                    &n.id == node
                        && n.printer
                            .printed()
                            .borrow()
                            .iter()
                            .any(|j| j.contains(carton.as_str()))
                })
            })
            .map(|(_, c)| c.clone())
            .collect();
        Ok(missing.is_empty().then_some(()))
    })
    .await;
    check(
        "Every carton's label was printed at its own node",
        printed.is_ok(),
        format!("{} cartons", cartons.len()),
    )
}

/// The offline node's backlog rose above zero and was back at zero at the end.
fn backlog(w: &ShiftWorld, t: &Timeline) -> Check {
    let series: Vec<u64> = t
        .samples()
        .iter()
        .filter_map(|s| s.backlog.get(w.offline).copied().flatten())
        .collect();
    let max = series.iter().copied().max().unwrap_or(0);
    let last = series.last().copied();
    check(
        &format!(
            "{}'s backlog grew while it was offline and drained to zero",
            w.offline_id()
        ),
        max > 0 && last == Some(0),
        format!(
            "largest {max}, at the end {}; {} samples",
            last.map(|v| v.to_string())
                .unwrap_or_else(|| "not sampled".into()),
            series.len()
        ),
    )
}

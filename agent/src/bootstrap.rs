//! Bootstrap of a new or wiped node: fetch the hub's snapshot over HTTP and seed the store.
//!
//! A node whose store is fresh (never took a step, never received downlink, never seeded) and
//! whose `hub.url` is set with `hub.bootstrap = "required"` (the default) asks the hub for
//! `GET /api/v1/nodes/{node}/snapshot` before it records anything: master data, its stock as
//! the hub sees it, its open hub tasks and the sequence marks. The writer commits all of it in
//! ONE durable batch (`WriterHandle::bootstrap`), and only then does the MQTT link start, so
//! the node's next event is numbered `applied_seq + 1` and its downlink resumes after
//! `downlink_seq`. Without this a wiped node would number new events from 1 again, which the
//! hub has applied already (it raises `sequence_reused` and applies none of them).
//!
//! While the snapshot is not in, steps are refused with `waiting_for_bootstrap` and `/healthz`
//! answers 503. The request has explicit connect and whole-request timeouts and a bounded body;
//! failures (hub down, 4xx/5xx, bad JSON) are counted and retried with jittered exponential
//! back-off. Every snapshot field is validated; an error names the field.

use crate::config::HubConfig;
use crate::store::{Seed, MAX_BATCH_OPS};
use crate::writer::{WriterError, WriterHandle};
use rand::Rng;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stockpost_common::domain::{
    ContainerId, Date, Dec, Item, LocationCode, LocationInfo, LocationKind, Lot, NodeId, NonNegQty,
    Place, Serial, Sku, StockRef, StockStatus,
};
use stockpost_common::ledger::{StockKey, Totals};
use stockpost_common::tasks::{LineProgress, TaskRecord, TaskSpec, TaskStatus};
use tokio::sync::watch;

/// Why a snapshot could not be fetched or used. Every variant is retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BootstrapError {
    /// The hub could not be reached or the transfer broke (connect, timeout, reset).
    #[error("cannot reach the hub at {url}: {reason}")]
    Unreachable {
        /// The snapshot URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The hub answered with an error status.
    #[error("the hub answered {status} for {url}: {body}")]
    Status {
        /// The snapshot URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
    /// The body is larger than `hub.max_snapshot_bytes`.
    #[error("the snapshot is larger than hub.max_snapshot_bytes ({limit} bytes)")]
    TooLarge {
        /// The bound.
        limit: u64,
    },
    /// `hub.token_file` cannot be read.
    #[error("hub.token_file {path}: {reason}")]
    Token {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The snapshot is not valid.
    #[error("bad snapshot: {0}")]
    Snapshot(#[from] SnapshotError),
}

/// A snapshot field that is missing or invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {reason}")]
pub struct SnapshotError {
    /// The field, with its index for list elements (`balances[3]`).
    pub field: String,
    /// Why.
    pub reason: String,
}

fn bad(field: impl Into<String>, reason: impl Into<String>) -> SnapshotError {
    SnapshotError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// What the rest of the agent can see of the bootstrap.
#[derive(Debug, Default)]
pub struct BootstrapStatus {
    /// Snapshot requests made.
    pub attempts: AtomicU64,
    /// Attempts that failed (any reason).
    pub failures: AtomicU64,
    /// Snapshots refused because a field was missing or invalid.
    pub bad_snapshots: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl BootstrapStatus {
    /// The last failure, while the bootstrap has not succeeded.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_error(&self, e: Option<String>) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = e;
    }
}

#[derive(Debug, Deserialize)]
struct LocationRow {
    code: LocationCode,
    kind: LocationKind,
    pickable: bool,
    #[serde(default)]
    capacity: Option<NonNegQty>,
}

#[derive(Debug, Deserialize)]
struct BalanceRow {
    #[serde(default)]
    node: Option<NodeId>,
    #[serde(default)]
    location: Option<LocationCode>,
    #[serde(default)]
    container: Option<ContainerId>,
    sku: Sku,
    #[serde(default)]
    lot: Option<Lot>,
    #[serde(default)]
    serial: Option<Serial>,
    #[serde(default)]
    expiry: Option<Date>,
    status: StockStatus,
    on_hand: Dec,
}

/// How far a task of the snapshot got (hubs from before task tracking send none: the task starts
/// fresh).
#[derive(Debug, Deserialize)]
struct ProgressRow {
    status: TaskStatus,
    #[serde(default)]
    lines: Vec<LineProgress>,
    #[serde(default)]
    spawned: u32,
}

/// One task of the snapshot: the task as defined, with its `progress` beside the spec's fields.
fn task_row(value: &serde_json::Value) -> Result<TaskRecord, String> {
    let spec = TaskSpec::deserialize(value).map_err(|e| e.to_string())?;
    let mut record = TaskRecord::open(spec);
    if let Some(p) = value.get("progress").filter(|p| !p.is_null()) {
        let p = ProgressRow::deserialize(p).map_err(|e| format!("progress: {e}"))?;
        record.progress.status = p.status;
        record.progress.lines = p.lines;
        record.progress.spawned = p.spawned;
    }
    Ok(record)
}

#[derive(Debug, Deserialize)]
struct TotalsRow {
    sku: Sku,
    totals: Totals,
}

type Object = serde_json::Map<String, serde_json::Value>;

fn field<T: DeserializeOwned>(obj: &Object, name: &str) -> Result<T, SnapshotError> {
    let value = obj.get(name).ok_or_else(|| bad(name, "missing"))?;
    T::deserialize(value).map_err(|e| bad(name, e.to_string()))
}

fn list<T: DeserializeOwned>(obj: &Object, name: &str) -> Result<Vec<T>, SnapshotError> {
    let value = obj.get(name).ok_or_else(|| bad(name, "missing"))?;
    let items = value.as_array().ok_or_else(|| bad(name, "is not a list"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| T::deserialize(v).map_err(|e| bad(format!("{name}[{i}]"), e.to_string())))
        .collect()
}

/// Parses and validates a snapshot body for `node`. The error names the field.
pub fn parse_snapshot(node: &NodeId, body: &[u8]) -> Result<Seed, SnapshotError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| bad("(body)", format!("not JSON: {e}")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| bad("(body)", "is not a JSON object"))?;
    let of: NodeId = field(obj, "node")?;
    if &of != node {
        return Err(bad(
            "node",
            format!("the snapshot is of node {of}, this node is {node}"),
        ));
    }
    let applied_seq: u64 = field(obj, "applied_seq")?;
    let downlink_seq: u64 = field(obj, "downlink_seq")?;
    let items: Vec<Item> = list(obj, "items")?;
    let locations = list::<LocationRow>(obj, "locations")?
        .into_iter()
        .map(|r| {
            (
                r.code,
                LocationInfo {
                    kind: r.kind,
                    pickable: r.pickable,
                    capacity: r.capacity,
                },
            )
        })
        .collect();
    let mut balances = Vec::new();
    for (i, row) in list::<BalanceRow>(obj, "balances")?.into_iter().enumerate() {
        let name = format!("balances[{i}]");
        if row.node.as_ref().is_some_and(|n| n != node) {
            return Err(bad(name, "is a balance of another node"));
        }
        let place = match (row.location, row.container) {
            (Some(l), None) => Place::Location(l),
            (None, Some(c)) => Place::Container(c),
            _ => return Err(bad(name, "must have exactly one of location and container")),
        };
        let key = StockKey {
            node: node.clone(),
            place,
            stock: StockRef {
                sku: row.sku,
                lot: row.lot,
                serial: row.serial,
                expiry: row.expiry,
            },
            status: row.status,
        };
        balances.push((key, row.on_hand));
    }
    // `totals` came with the bootstrap feature; a hub without it seeds no totals.
    let totals = if obj.contains_key("totals") {
        list::<TotalsRow>(obj, "totals")?
            .into_iter()
            .map(|r| (r.sku, r.totals))
            .collect()
    } else {
        Vec::new()
    };
    let mut tasks = Vec::new();
    for (i, row) in list::<serde_json::Value>(obj, "tasks")?.iter().enumerate() {
        let record = task_row(row).map_err(|e| bad(format!("tasks[{i}]"), e))?;
        if !record.progress.status.is_open() {
            return Err(bad(
                format!("tasks[{i}]"),
                "is finished; a snapshot carries open tasks only",
            ));
        }
        if record.progress.lines.len() > record.spec.slots() {
            return Err(bad(
                format!("tasks[{i}].progress.lines"),
                format!(
                    "{} entries for {} lines",
                    record.progress.lines.len(),
                    record.spec.slots()
                ),
            ));
        }
        tasks.push(record);
    }
    let seed = Seed {
        items,
        locations,
        balances,
        totals,
        tasks,
        applied_seq,
        downlink_seq,
    };
    if seed.writes() > MAX_BATCH_OPS {
        return Err(bad(
            "(body)",
            format!(
                "{} rows do not fit in one store batch of at most {MAX_BATCH_OPS}",
                seed.writes()
            ),
        ));
    }
    Ok(seed)
}

/// The snapshot URL of `node` under the hub's base URL.
pub fn snapshot_url(base: &str, node: &NodeId) -> String {
    format!(
        "{}/api/v1/nodes/{node}/snapshot",
        base.trim_end_matches('/')
    )
}

fn client(hub: &HubConfig) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_millis(hub.connect_timeout_ms))
        .timeout(Duration::from_millis(hub.request_timeout_ms))
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// One snapshot request: the body, at most `hub.max_snapshot_bytes`.
pub async fn fetch(
    http: &reqwest::Client,
    hub: &HubConfig,
    url: &str,
) -> Result<Vec<u8>, BootstrapError> {
    let unreachable = |e: reqwest::Error| BootstrapError::Unreachable {
        url: url.to_string(),
        reason: e.to_string(),
    };
    let mut request = http.get(url);
    if let Some(path) = &hub.token_file {
        let token = std::fs::read_to_string(path).map_err(|e| BootstrapError::Token {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        request = request.bearer_auth(token.lines().next().unwrap_or("").trim());
    }
    let mut response = request.send().await.map_err(unreachable)?;
    let status = response.status().as_u16();
    let limit = hub.max_snapshot_bytes;
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(BootstrapError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(BootstrapError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    if !(200..300).contains(&status) {
        let text = String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned();
        return Err(BootstrapError::Status {
            url: url.to_string(),
            status,
            body: text,
        });
    }
    Ok(body)
}

/// Fetches the snapshot until it is committed (true) or `shutdown` turns true (false).
pub async fn run(
    hub: HubConfig,
    node: NodeId,
    writer: WriterHandle,
    status: Arc<BootstrapStatus>,
    mut shutdown: watch::Receiver<bool>,
) -> bool {
    let Some(base) = hub.url.clone() else {
        return false;
    };
    let url = snapshot_url(&base, &node);
    let mut backoff_ms = hub.retry_min_ms;
    status.set_error(Some("the first snapshot request is under way".into()));
    loop {
        status.attempts.fetch_add(1, Ordering::Relaxed);
        let attempt = async {
            let http = client(&hub).map_err(|e| BootstrapError::Unreachable {
                url: url.clone(),
                reason: e.to_string(),
            })?;
            let body = fetch(&http, &hub, &url).await?;
            Ok::<Seed, BootstrapError>(parse_snapshot(&node, &body)?)
        };
        let outcome = tokio::select! {
            r = attempt => r,
            _ = shutdown.changed() => return false,
        };
        match outcome {
            Ok(seed) => {
                let (applied, down) = (seed.applied_seq, seed.downlink_seq);
                match writer.bootstrap(seed).await {
                    Ok(()) | Err(WriterError::NotWaitingForBootstrap) => {
                        status.set_error(None);
                        tracing::info!(node = %node, applied_seq = applied, downlink_seq = down, "bootstrapped from the hub's snapshot");
                        return true;
                    }
                    Err(WriterError::Closed) => return false,
                    Err(e) => {
                        status.failures.fetch_add(1, Ordering::Relaxed);
                        tracing::error!(error = %e, "the snapshot could not be stored; retrying");
                        status.set_error(Some(format!("the snapshot could not be stored: {e}")));
                    }
                }
            }
            Err(e) => {
                status.failures.fetch_add(1, Ordering::Relaxed);
                if matches!(e, BootstrapError::Snapshot(_)) {
                    status.bad_snapshots.fetch_add(1, Ordering::Relaxed);
                }
                tracing::warn!(error = %e, "bootstrap failed; retrying");
                status.set_error(Some(e.to_string()));
            }
        }
        let jitter = rand::rng().random_range(0..=backoff_ms / 2);
        let delay = Duration::from_millis(backoff_ms / 2 + jitter);
        backoff_ms = backoff_ms.saturating_mul(2).min(hub.retry_max_ms);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node() -> NodeId {
        NodeId::new("DC-EAST").unwrap_or_else(|_| unreachable!())
    }

    fn snapshot() -> serde_json::Value {
        json!({
            "node": "DC-EAST",
            "items": [],
            "locations": [{"code": "A-01", "kind": "pick", "pickable": true, "capacity": null}],
            "balances": [{"node": "DC-EAST", "location": "A-01", "container": null, "sku": "MUG",
                          "lot": null, "serial": null, "expiry": null, "status": "available",
                          "on_hand": "5", "reserved": "0", "available": "5"}],
            "totals": [{"sku": "MUG", "totals": {"received": "5", "returned": "0",
                        "transferred_in": "0", "adjusted_up": "0", "shipped": "0",
                        "transferred_out": "0", "adjusted_down": "0", "written_off": "0",
                        "vendor_returned": "0"}}],
            "tasks": [],
            "applied_seq": 7,
            "downlink_seq": 3,
            "at": "2026-11-28T00:00:00Z"
        })
    }

    fn parse(v: &serde_json::Value) -> Result<Seed, SnapshotError> {
        parse_snapshot(&node(), v.to_string().as_bytes())
    }

    #[test]
    fn a_valid_snapshot_gives_the_balances_and_sequence_marks() {
        let seed = parse(&snapshot());
        assert!(
            matches!(&seed, Ok(s) if s.applied_seq == 7 && s.downlink_seq == 3
                && s.balances.len() == 1 && s.locations.len() == 1 && s.totals.len() == 1),
            "{seed:?}"
        );
    }

    fn pack_task(status: &str) -> serde_json::Value {
        json!({"id": "T-1-PACK", "kind": "pack", "order": "SO-1", "container": "TOTE-1",
               "lines": [{"sku": "MUG", "qty": "3"}, {"sku": "CUP", "qty": "1"}],
               "progress": {"status": status, "spawned": 1,
                            "lines": [{"done": "2", "closed": false}, {"done": "1", "closed": true}]}})
    }

    #[test]
    fn a_snapshot_task_is_seeded_with_its_progress() {
        let mut v = snapshot();
        v["tasks"] = json!([pack_task("in_progress"),
                            {"id": "T-2", "kind": "count", "locations": ["A-01"]}]);
        let seed = parse(&v).unwrap_or_else(|e| panic!("{e}"));
        let pack = &seed.tasks[0];
        assert_eq!(pack.progress.status, TaskStatus::InProgress);
        assert_eq!(pack.progress.spawned, 1);
        assert_eq!(pack.progress.lines[0].done.to_string(), "2");
        assert!(pack.progress.lines[1].closed);
        assert_eq!(
            pack.progress.station, None,
            "no station holds it on the new node"
        );
        let count = &seed.tasks[1];
        assert_eq!(
            count.progress.status,
            TaskStatus::Open,
            "no progress: fresh"
        );
        assert_eq!(count.progress.lines.len(), 1);
    }

    #[test]
    fn a_snapshot_with_a_finished_task_or_too_much_progress_is_refused_naming_the_task() {
        let mut v = snapshot();
        v["tasks"] = json!([pack_task("done")]);
        assert_eq!(
            parse(&v).err().map(|e| e.field),
            Some("tasks[0]".to_string())
        );
        let mut v = snapshot();
        let mut task = pack_task("open");
        task["lines"] = json!([{"sku": "MUG", "qty": "3"}]);
        v["tasks"] = json!([task]);
        assert_eq!(
            parse(&v).err().map(|e| e.field),
            Some("tasks[0].progress.lines".to_string())
        );
    }

    #[test]
    fn a_bad_field_is_named_in_the_error() {
        let mut v = snapshot();
        v["balances"][0]["on_hand"] = json!("lots");
        assert_eq!(
            parse(&v).err().map(|e| e.field),
            Some("balances[0]".to_string())
        );
        let mut v = snapshot();
        v["applied_seq"] = json!(-1);
        assert_eq!(
            parse(&v).err().map(|e| e.field),
            Some("applied_seq".to_string())
        );
        let mut v = snapshot();
        if let Some(o) = v.as_object_mut() {
            o.remove("downlink_seq");
        }
        assert_eq!(
            parse(&v).err().map(|e| (e.field, e.reason)),
            Some(("downlink_seq".to_string(), "missing".to_string()))
        );
    }

    #[test]
    fn a_snapshot_of_another_node_or_a_balance_of_another_node_is_refused() {
        let mut v = snapshot();
        v["node"] = json!("DC-WEST");
        assert_eq!(parse(&v).err().map(|e| e.field), Some("node".to_string()));
        let mut v = snapshot();
        v["balances"][0]["node"] = json!("DC-WEST");
        assert_eq!(
            parse(&v).err().map(|e| e.field),
            Some("balances[0]".to_string())
        );
    }

    #[test]
    fn a_body_that_is_not_json_is_refused_with_a_clear_error() {
        let e = parse_snapshot(&node(), b"<html>proxy error</html>").err();
        assert!(
            matches!(&e, Some(e) if e.field == "(body)" && e.reason.starts_with("not JSON")),
            "{e:?}"
        );
    }
}

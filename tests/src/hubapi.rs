//! A hub with its HTTP API for system tests: tokens of every role, a JSON client, and a way to
//! feed node events straight into the writer (for tests that need no broker).

use crate::fleet::eventually;
use std::path::Path;
use std::time::Duration;
use stockpost_common::domain::{Event, EventBody, EventId, NodeId, OperatorId};
use stockpost_engine::Command;
use stockpost_hub::config::HubConfig;
use stockpost_hub::node::HubNode;
use stockpost_hub::writer::Request;

/// Tokens of the test hub, by role.
pub const ADMIN: &str = "admin-token-0123456789";
/// Viewer token.
pub const VIEWER: &str = "viewer-token-0123456789";
/// Operator token.
pub const OPERATOR: &str = "operator-token-0123456789";
/// Approver token.
pub const APPROVER: &str = "approver-token-0123456789";

/// A hub configuration with HTTP on a free port and a token per role.
pub fn hub_config_with_api(dir: &Path, mqtt: &str, extra: &str) -> anyhow::Result<HubConfig> {
    let text = format!(
        "data_dir = \"{}\"\n{extra}\n[http]\nlisten = \"127.0.0.1:0\"\n[mqtt]\naddress = \"{mqtt}\"\nclient_id = \"stockpost-hub-test\"\nkeep_alive_secs = 5\nreconnect_min_ms = 50\nreconnect_max_ms = 1000\n[ingest]\nresend_interval_ms = 200\n[downlink]\ntick_ms = 50\nack_timeout_ms = 1000\n[approval]\nthreshold = \"100\"\n[[auth.tokens]]\nname = \"viewer\"\ntoken = \"{VIEWER}\"\nrole = \"viewer\"\n[[auth.tokens]]\nname = \"operator\"\ntoken = \"{OPERATOR}\"\nrole = \"operator\"\n[[auth.tokens]]\nname = \"approver\"\nsha256 = \"{}\"\nrole = \"approver\"\n",
        dir.display(),
        stockpost_hub::auth::sha256_hex(APPROVER),
    );
    let env = vec![("STOCKPOST_ADMIN_TOKEN".to_string(), ADMIN.to_string())];
    Ok(HubConfig::from_toml(
        &text,
        Path::new("test-hub.toml"),
        &env,
    )?)
}

/// A JSON client of the hub's API.
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    /// For a running hub.
    pub fn new(hub: &HubNode) -> anyhow::Result<Self> {
        Ok(Self {
            base: format!("http://{}", hub.http_addr),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                // Shorter than the hub's header timeout (10 s), which closes idle connections.
                .pool_idle_timeout(Duration::from_secs(5))
                .build()?,
        })
    }

    /// For a hub at `base` (`http://host:port`), e.g. one running as its own process.
    pub fn at(base: &str) -> anyhow::Result<Self> {
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                // Shorter than the hub's header timeout (10 s), which closes idle connections.
                .pool_idle_timeout(Duration::from_secs(5))
                .build()?,
        })
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends `method path` with `token` and an optional JSON body; returns status and JSON.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<(u16, serde_json::Value)> {
        let m = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut req = self.http.request(m, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        Ok((status, json))
    }

    /// Like [`Api::call`], failing unless the status is 2xx.
    pub async fn ok(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<serde_json::Value> {
        let (status, json) = self.call(method, path, Some(token), body).await?;
        if !(200..300).contains(&status) {
            anyhow::bail!("{method} {path}: {status} {json}");
        }
        Ok(json)
    }
}

impl Api {
    /// The kinds of `node`'s stock events at the hub, in sequence order: every applied event
    /// but the task reports (`task_defined`, `task_progress`) a node sends beside them.
    pub async fn stock_event_kinds(&self, node: &str, token: &str) -> anyhow::Result<Vec<String>> {
        let mut kinds = Vec::new();
        let mut after = 0u64;
        loop {
            let page = self
                .ok(
                    "GET",
                    &format!("/api/v1/events?node={node}&after={after}&limit=1000"),
                    token,
                    None,
                )
                .await?;
            for e in page["events"].as_array().into_iter().flatten() {
                let kind = e["kind"].as_str().unwrap_or_default();
                if !kind.starts_with("task_") {
                    kinds.push(kind.to_string());
                }
            }
            match page["next"].as_u64() {
                Some(next) => after = next,
                None => return Ok(kinds),
            }
        }
    }
}

/// Registers `nodes` with the hub (as `PUT /api/v1/nodes/{node}` does, priority in list order),
/// each with its test credential (`crate::keys`): a hub applies nothing from a node it does not
/// know.
pub async fn register(hub: &HubNode, nodes: &[&str]) -> anyhow::Result<()> {
    for (i, node) in nodes.iter().enumerate() {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let command = Command::Api {
            op: stockpost_engine::ApiCommand::PutNode(
                NodeId::new(*node)?,
                stockpost_engine::records::NodeMaster {
                    name: format!("test node {node}"),
                    priority: u32::try_from(i)?,
                    active: true,
                    cutoff_ms_of_day: None,
                },
                stockpost_engine::command::CredentialChoice::Set(crate::keys::test_key(node)),
            ),
            actor: stockpost_common::orders::Actor {
                name: "test".into(),
                role: stockpost_common::orders::Role::Admin,
            },
        };
        hub.writer
            .tx
            .send(Request {
                command,
                token: None,
                reply: Some(reply),
            })
            .await
            .map_err(|_| anyhow::anyhow!("the writer stopped"))?;
        answer
            .await?
            .map_err(|e| anyhow::anyhow!("registering {node}: {e}"))?;
    }
    Ok(())
}

/// Feeds node events into the hub's writer as if they came over MQTT, numbering them after what
/// the hub applied for the node, and waits until the hub applied them.
pub async fn inject(hub: &HubNode, node: &str, bodies: Vec<EventBody>) -> anyhow::Result<u64> {
    let last = send_batch(hub, node, bodies).await?;
    let node = NodeId::new(node)?;
    let applied = eventually(Duration::from_secs(10), || hub.applied_seq(&node) >= last).await;
    anyhow::ensure!(applied, "the hub did not apply events up to {last}");
    Ok(last)
}

/// Hands node events to the hub's writer as one batch, numbered after what the hub applied for
/// the node, without waiting for them to be applied; returns the last sequence number.
pub async fn send_batch(hub: &HubNode, node: &str, bodies: Vec<EventBody>) -> anyhow::Result<u64> {
    let node = NodeId::new(node)?;
    let first = hub.applied_seq(&node) + 1;
    let events: Vec<Event> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| Event {
            id: EventId {
                node: node.clone(),
                seq: first + i as u64,
            },
            at_ms: stockpost_hub::time::now_ms(),
            operator: OperatorId::new("op-test").ok(),
            station: None,
            task: None,
            body,
        })
        .collect();
    let last = first + events.len() as u64 - 1;
    hub.writer
        .tx
        .send(Request::fire(Command::NodeBatch { node, events }))
        .await
        .map_err(|_| anyhow::anyhow!("the writer stopped"))?;
    Ok(last)
}

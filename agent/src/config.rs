//! agent.toml: the node's configuration, validated at start with errors that name the key.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use stockpost_common::domain::NodeId;

use stockpost_common::config_error::invalid;
pub use stockpost_common::config_error::ConfigError;

/// The whole agent configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// This node's id (also its MQTT username and topic segment).
    pub node_id: String,
    /// Where the store lives.
    pub data_dir: PathBuf,
    /// The hub's HTTP endpoint, for bootstrap snapshots.
    #[serde(default)]
    pub hub: HubConfig,
    /// The MQTT link.
    #[serde(default)]
    pub mqtt: MqttConfig,
    /// The local HTTP API and station page.
    #[serde(default)]
    pub http: HttpConfig,
    /// The embedded store.
    #[serde(default)]
    pub store: StoreSection,
    /// Sync protocol bounds.
    #[serde(default)]
    pub sync: SyncConfig,
    /// Stations.
    #[serde(default)]
    pub stations: Vec<StationConfig>,
}

/// `[hub]`: the hub's HTTP API, used to bootstrap a new or wiped node (docs/protocol.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HubConfig {
    /// Base URL of the hub's HTTP API (`http://` or `https://`). Unset: the node never
    /// bootstraps and a fresh store starts at sequence 1.
    pub url: Option<String>,
    /// A file whose first line is a bearer token of the hub's API (role viewer or above).
    pub token_file: Option<PathBuf>,
    /// What a fresh store does when `url` is set: `required` (default) waits for the snapshot
    /// and refuses steps until it is in; `skip` starts at sequence 1 without asking the hub.
    pub bootstrap: BootstrapPolicy,
    /// TCP connect timeout of a snapshot request, ms.
    pub connect_timeout_ms: u64,
    /// Whole-request timeout of a snapshot request (headers and body), ms.
    pub request_timeout_ms: u64,
    /// Largest snapshot body accepted, bytes.
    pub max_snapshot_bytes: u64,
    /// First retry delay after a failed snapshot request, ms (doubles, jittered).
    pub retry_min_ms: u64,
    /// Longest retry delay, ms.
    pub retry_max_ms: u64,
}

/// `hub.bootstrap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BootstrapPolicy {
    /// A fresh store fetches the hub's snapshot before it takes any step.
    Required,
    /// A fresh store starts at sequence 1 (only for a node the hub has never heard of).
    Skip,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            url: None,
            token_file: None,
            bootstrap: BootstrapPolicy::Required,
            connect_timeout_ms: 5_000,
            request_timeout_ms: 60_000,
            max_snapshot_bytes: 64 * 1024 * 1024,
            retry_min_ms: 500,
            retry_max_ms: 30_000,
        }
    }
}

/// `[mqtt]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// Broker `host:port`.
    pub address: String,
    /// MQTT username; defaults to the node id.
    pub username: Option<String>,
    /// File holding the MQTT password (first line).
    pub password_file: Option<PathBuf>,
    /// MQTT client id; defaults to `stockpost-agent-<node>`. Must be stable: the broker keeps
    /// the persistent session under it.
    pub client_id: Option<String>,
    /// Keep-alive interval in seconds (a silent network cut is noticed after ~1.5× this).
    pub keep_alive_secs: u64,
    /// TCP connect timeout in seconds.
    pub connect_timeout_secs: u64,
    /// Reconnect back-off: first delay in milliseconds (jittered, doubling).
    pub reconnect_min_ms: u64,
    /// Reconnect back-off: largest delay in milliseconds.
    pub reconnect_max_ms: u64,
    /// Bound of rumqttc's request channel.
    pub request_channel_capacity: usize,
    /// Largest MQTT packet, in bytes, both ways.
    pub max_packet_bytes: usize,
    /// TLS: when set, connect with TLS trusting this CA certificate (PEM).
    pub tls_ca_file: Option<PathBuf>,
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self {
            address: "127.0.0.1:1883".into(),
            username: None,
            password_file: None,
            client_id: None,
            keep_alive_secs: 15,
            connect_timeout_secs: 5,
            reconnect_min_ms: 200,
            reconnect_max_ms: 30_000,
            request_channel_capacity: 64,
            max_packet_bytes: 2 * 1024 * 1024,
            tls_ca_file: None,
        }
    }
}

/// `[http]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Listen address.
    pub listen: String,
    /// Most open connections; one more is closed at once (and counted).
    pub max_connections: usize,
    /// A connection that has not sent a request's headers within this long is closed, ms.
    /// Longer than the station page's event stream needs: it sends one request and then reads.
    pub header_timeout_ms: u64,
    /// A request not answered within this long gets `408`, ms (the station event stream is
    /// not a request in progress: its answer has started).
    pub request_timeout_ms: u64,
    /// Largest request body, bytes (`413` above it).
    pub max_body_bytes: usize,
    /// Longest request target, bytes (`414` above it).
    pub max_uri_bytes: usize,
    /// API tokens for everything but the stations' own endpoints (`[[http.tokens]]`). With any
    /// token here or on a station, or on an address that is not loopback, every request but
    /// the health check and the page assets needs one (docs/agent-http.md, "Tokens").
    pub tokens: Vec<TokenConfig>,
    /// Failed token checks allowed per client address and minute (then `429`).
    pub auth_failures_per_minute: u32,
}

/// `[[http.tokens]]`: a token of the agent's API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who holds it (logged on failures, never the token).
    pub name: String,
    /// `viewer` (status, stock, tasks, metrics) or `admin` (that and every station).
    pub role: String,
    /// The token itself, at least 16 characters; or give `sha256` instead.
    #[serde(default)]
    pub token: Option<String>,
    /// The token's SHA-256, 64 hex digits (`printf %s TOKEN | sha256sum`).
    #[serde(default)]
    pub sha256: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8081".into(),
            max_connections: 256,
            header_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            max_body_bytes: 64 * 1024,
            max_uri_bytes: 8 * 1024,
            tokens: Vec::new(),
            auth_failures_per_minute: 20,
        }
    }
}

/// `[store]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// `sled` or `redb`.
    pub backend: String,
    /// Cache size of the embedded database, bytes.
    pub cache_bytes: u64,
    /// Most operator steps committed together in one fsync.
    pub max_steps_per_commit: usize,
    /// Bound of the queue of steps waiting for the writer.
    pub step_queue: usize,
}

impl Default for StoreSection {
    fn default() -> Self {
        Self {
            backend: "redb".into(),
            cache_bytes: 16 * 1024 * 1024,
            max_steps_per_commit: 64,
            step_queue: 256,
        }
    }
}

/// `[sync]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncConfig {
    /// Most events in one MQTT message.
    pub max_batch_events: u64,
    /// Most events published but not yet acked by the hub.
    pub max_in_flight_events: u64,
    /// Resend from the last ack when the hub has not acked for this long.
    pub ack_timeout_ms: u64,
    /// Downlink: at most one resend request per this interval.
    pub resend_interval_ms: u64,
    /// The file holding this node's sync credential (64 hex digits, as
    /// `stockpost-hub node-credentials` or `PUT /nodes/{node}` gave it). Required: every
    /// message to the hub is authenticated with it and every message from the hub is checked
    /// with it. The file must not be readable by group or others.
    pub credential_file: Option<PathBuf>,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            max_batch_events: 500,
            max_in_flight_events: 4_000,
            ack_timeout_ms: 10_000,
            resend_interval_ms: 2_000,
            credential_file: None,
        }
    }
}

/// `[[stations]]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationConfig {
    /// Station id, e.g. `pack-1`.
    pub id: String,
    /// Task kinds it takes: receive, putaway, pick, pack, ship, count, replenish, return.
    pub kinds: Vec<String>,
    /// Scanner device.
    pub scanner: Option<toml::Value>,
    /// Scale device.
    pub scale: Option<toml::Value>,
    /// Label printer.
    pub printer: Option<toml::Value>,
    /// Where receipts are put down when the task does not say (a location of kind receiving).
    #[serde(default)]
    pub receiving_location: Option<String>,
    /// Where returns are put down (a location of kind returns).
    #[serde(default)]
    pub returns_location: Option<String>,
    /// The empty carton's weight in kg, added to the expected pack weight (a decimal string).
    #[serde(default)]
    pub carton_tare_kg: Option<String>,
    /// The same payload again within this many ms is a scanner double-fire and is counted
    /// once (device and API scans alike). 0 turns the filter off.
    #[serde(default = "default_duplicate_window_ms")]
    pub duplicate_window_ms: u64,
    /// Sign the operator out after this many seconds without a scan (confirmed progress is
    /// kept). 0 = never.
    #[serde(default)]
    pub idle_logout_secs: u64,
    /// SHA-256 (64 hex digits) of this station's own token: the station's device pairs once
    /// with it (the station page asks for it and keeps it) and may then use this station's
    /// endpoints only. Unset: only an admin token reaches them when tokens are on.
    #[serde(default)]
    pub token_sha256: Option<String>,
}

fn default_duplicate_window_ms() -> u64 {
    300
}

impl StationConfig {
    /// The station machine's configuration (call after `AgentConfig::validate`).
    pub fn to_task_config(&self) -> Result<stockpost_common::tasks::StationConfig, ConfigError> {
        use std::str::FromStr;
        use stockpost_common::domain::{Dec, LocationCode, StationId};
        use stockpost_common::tasks::TaskKind;
        let key = |k: &str| format!("stations[{}].{k}", self.id);
        let id = StationId::new(self.id.clone()).map_err(|e| invalid(&key("id"), e.to_string()))?;
        let mut kinds = Vec::new();
        for kind in &self.kinds {
            let k = match kind.as_str() {
                "receive" => TaskKind::Receive,
                "putaway" => TaskKind::Putaway,
                "pick" => TaskKind::Pick,
                "pack" => TaskKind::Pack,
                "ship" => TaskKind::Ship,
                "count" => TaskKind::Count,
                "replenish" => TaskKind::Replenish,
                "return" => TaskKind::Return,
                other => {
                    return Err(invalid(
                        &key("kinds"),
                        format!("{other:?} is not one of {}", TASK_KINDS.join(", ")),
                    ))
                }
            };
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
        let mut config = stockpost_common::tasks::StationConfig::new(id, kinds);
        let location = |k: &str, v: &Option<String>| -> Result<Option<LocationCode>, ConfigError> {
            v.as_ref()
                .map(|c| LocationCode::new(c.clone()).map_err(|e| invalid(&key(k), e.to_string())))
                .transpose()
        };
        config.receiving_location = location("receiving_location", &self.receiving_location)?;
        config.returns_location = location("returns_location", &self.returns_location)?;
        if let Some(tare) = &self.carton_tare_kg {
            let d = Dec::from_str(tare)
                .map_err(|e| invalid(&key("carton_tare_kg"), format!("{tare:?}: {e}")))?;
            if d.is_negative() {
                return Err(invalid(&key("carton_tare_kg"), "must not be negative"));
            }
            config.carton_tare_kg = d;
        }
        Ok(config)
    }
}

const TASK_KINDS: [&str; 8] = [
    "receive",
    "putaway",
    "pick",
    "pack",
    "ship",
    "count",
    "replenish",
    "return",
];

impl AgentConfig {
    /// Reads, parses, applies environment overrides and validates.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with("STOCKPOST_"))
            .collect();
        Self::from_toml(&text, path, &env)
    }

    /// Parses `text`, applies `env` overrides (`STOCKPOST_DATA_DIR`, `STOCKPOST_HTTP_ADDR`,
    /// `STOCKPOST_MQTT_ADDR`, `STOCKPOST_NODE_ID`, `STOCKPOST_HUB_URL`) and validates.
    pub fn from_toml(
        text: &str,
        path: &Path,
        env: &[(String, String)],
    ) -> Result<Self, ConfigError> {
        let mut config: AgentConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        for (key, value) in env {
            match key.as_str() {
                "STOCKPOST_DATA_DIR" => config.data_dir = PathBuf::from(value),
                "STOCKPOST_HTTP_ADDR" => config.http.listen = value.clone(),
                "STOCKPOST_MQTT_ADDR" => config.mqtt.address = value.clone(),
                "STOCKPOST_NODE_ID" => config.node_id = value.clone(),
                "STOCKPOST_HUB_URL" => config.hub.url = Some(value.clone()),
                _ => {}
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks every value; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        NodeId::new(self.node_id.clone()).map_err(|e| invalid("node_id", e.to_string()))?;
        if self.data_dir.as_os_str().is_empty() {
            return Err(invalid("data_dir", "must not be empty"));
        }
        self.http.listen.parse::<SocketAddr>().map_err(|e| {
            invalid(
                "http.listen",
                format!("{:?} is not host:port ({e})", self.http.listen),
            )
        })?;
        for (key, value) in [
            ("http.max_connections", self.http.max_connections as u64),
            ("http.header_timeout_ms", self.http.header_timeout_ms),
            ("http.request_timeout_ms", self.http.request_timeout_ms),
            ("http.max_body_bytes", self.http.max_body_bytes as u64),
            ("http.max_uri_bytes", self.http.max_uri_bytes as u64),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be at least 1"));
            }
        }
        split_host_port(&self.mqtt.address).map_err(|reason| invalid("mqtt.address", reason))?;
        if let Some(url) = &self.hub.url {
            let parsed = reqwest::Url::parse(url)
                .map_err(|e| invalid("hub.url", format!("{url:?} is not a URL ({e})")))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(invalid(
                    "hub.url",
                    format!("{url:?} must be http:// or https:// with a host"),
                ));
            }
        }
        if self.hub.connect_timeout_ms == 0 || self.hub.request_timeout_ms == 0 {
            return Err(invalid(
                "hub.request_timeout_ms",
                "it and hub.connect_timeout_ms must be above 0",
            ));
        }
        if self.hub.max_snapshot_bytes < 1024 {
            return Err(invalid("hub.max_snapshot_bytes", "must be at least 1024"));
        }
        if self.hub.retry_min_ms == 0 || self.hub.retry_max_ms < self.hub.retry_min_ms {
            return Err(invalid(
                "hub.retry_max_ms",
                "must be at least hub.retry_min_ms, which must be above 0",
            ));
        }
        if self.mqtt.keep_alive_secs < 5 {
            return Err(invalid("mqtt.keep_alive_secs", "must be at least 5"));
        }
        if self.mqtt.reconnect_min_ms == 0
            || self.mqtt.reconnect_max_ms < self.mqtt.reconnect_min_ms
        {
            return Err(invalid(
                "mqtt.reconnect_max_ms",
                "must be at least mqtt.reconnect_min_ms, which must be above 0",
            ));
        }
        if self.mqtt.request_channel_capacity == 0 {
            return Err(invalid(
                "mqtt.request_channel_capacity",
                "must be at least 1",
            ));
        }
        if self.mqtt.max_packet_bytes < 64 * 1024 {
            return Err(invalid("mqtt.max_packet_bytes", "must be at least 65536"));
        }
        if !matches!(self.store.backend.as_str(), "sled" | "redb") {
            return Err(invalid(
                "store.backend",
                format!("{:?} is not sled or redb", self.store.backend),
            ));
        }
        if self.store.max_steps_per_commit == 0 || self.store.step_queue == 0 {
            return Err(invalid(
                "store.max_steps_per_commit",
                "it and store.step_queue must be at least 1",
            ));
        }
        let sync = stockpost_common::sync::SenderConfig {
            max_batch: self.sync.max_batch_events,
            max_in_flight: self.sync.max_in_flight_events,
            ack_timeout_ms: self.sync.ack_timeout_ms,
        };
        sync.validate().map_err(|reason| invalid("sync", reason))?;
        if self.sync.max_batch_events > stockpost_common::wire::MAX_EVENTS_PER_BATCH as u64 {
            return Err(invalid(
                "sync.max_batch_events",
                format!(
                    "must be at most {}",
                    stockpost_common::wire::MAX_EVENTS_PER_BATCH
                ),
            ));
        }
        crate::http_auth::validate(self)?;
        if self.sync.credential_file.is_none() {
            return Err(invalid(
                "sync.credential_file",
                "is required: the file with this node's sync credential (64 hex digits, from \
                 `stockpost-hub node-credentials` or the hub's PUT /nodes answer)",
            ));
        }
        for (i, station) in self.stations.iter().enumerate() {
            let key = format!("stations[{i}]");
            stockpost_common::domain::StationId::new(station.id.clone())
                .map_err(|e| invalid(&format!("{key}.id"), e.to_string()))?;
            if self.stations[..i].iter().any(|s| s.id == station.id) {
                return Err(invalid(
                    &format!("{key}.id"),
                    format!("{:?} is used twice", station.id),
                ));
            }
            if station.kinds.is_empty() {
                return Err(invalid(
                    &format!("{key}.kinds"),
                    "must list at least one task kind",
                ));
            }
            for kind in &station.kinds {
                if !TASK_KINDS.contains(&kind.as_str()) {
                    return Err(invalid(
                        &format!("{key}.kinds"),
                        format!("{kind:?} is not one of {}", TASK_KINDS.join(", ")),
                    ));
                }
            }
            station.to_task_config()?;
        }
        Ok(())
    }

    /// The validated node id.
    pub fn node(&self) -> NodeId {
        // validate() checked it; a fallback keeps this infallible for callers.
        NodeId::new(self.node_id.clone()).unwrap_or_else(|_| fallback_node())
    }
}

fn fallback_node() -> NodeId {
    // "NODE" is a valid id by construction of the alphabet.
    match NodeId::new("NODE") {
        Ok(n) => n,
        Err(_) => unreachable_node(),
    }
}

#[allow(clippy::panic)]
fn unreachable_node() -> NodeId {
    panic!("NODE is a valid node id")
}

/// Splits `host:port` (shared with the hub and the agent).
pub use stockpost_common::sync::split_host_port;

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `text` with a `[sync]` credential file appended (every config needs one).
    fn parse(text: &str, env: &[(&str, &str)]) -> Result<AgentConfig, ConfigError> {
        parse_exactly(
            &format!("{text}\n[sync]\ncredential_file = \"/etc/stockpost/node.key\"\n"),
            env,
        )
    }

    fn parse_exactly(text: &str, env: &[(&str, &str)]) -> Result<AgentConfig, ConfigError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AgentConfig::from_toml(text, Path::new("agent.toml"), &env)
    }

    #[test]
    fn a_config_without_a_sync_credential_file_is_refused_naming_the_key() {
        let e = parse_exactly("node_id = \"DC-EAST\"\ndata_dir = \"/tmp/x\"\n", &[])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.starts_with("config key `sync.credential_file`: is required"),
            "{e}"
        );
    }

    #[test]
    fn the_minimal_config_gets_working_defaults() {
        let c = parse("node_id = \"DC-EAST\"\ndata_dir = \"/tmp/x\"\n", &[]);
        assert!(
            matches!(c, Ok(ref c) if c.mqtt.address == "127.0.0.1:1883" && c.http.listen == "127.0.0.1:8081")
        );
    }

    #[test]
    fn environment_overrides_win_over_the_file() {
        let c = parse(
            "node_id = \"DC-EAST\"\ndata_dir = \"/tmp/x\"\n",
            &[
                ("STOCKPOST_NODE_ID", "DC-WEST"),
                ("STOCKPOST_DATA_DIR", "/srv/a"),
                ("STOCKPOST_HTTP_ADDR", "127.0.0.1:9000"),
                ("STOCKPOST_MQTT_ADDR", "broker:8883"),
            ],
        );
        let c = match c {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            (
                c.node_id.as_str(),
                c.data_dir.to_str(),
                c.http.listen.as_str(),
                c.mqtt.address.as_str()
            ),
            ("DC-WEST", Some("/srv/a"), "127.0.0.1:9000", "broker:8883")
        );
    }

    #[test]
    fn a_bad_value_names_its_key_and_the_reason() {
        let e = parse("node_id = \"dc east\"\ndata_dir = \"/tmp/x\"\n", &[])
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("config key `node_id`: node id contains 'd', which is not allowed (upper-case letters, digits, '-', '_' and '.')")
        );
        let e = parse(
            "node_id = \"N\"\ndata_dir = \"/tmp/x\"\n[[stations]]\nid = \"hh-1\"\nkinds = [\"dance\"]\n",
            &[],
        )
        .err()
        .map(|e| e.to_string());
        assert!(e.is_some_and(
            |e| e.starts_with("config key `stations[0].kinds`: \"dance\" is not one of")
        ));
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_name() {
        let e = parse(
            "node_id = \"N\"\ndata_dir = \"/x\"\n[mqtt]\nadress = \"a:1\"\n",
            &[],
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.contains("adress"), "{e}");
    }

    #[test]
    fn the_shipped_agent_toml_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/agent.toml");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(!text.is_empty(), "config/agent.toml is shipped");
        if let Err(e) = AgentConfig::from_toml(&text, &path, &[]) {
            panic!("{e}");
        }
    }

    #[test]
    fn hub_url_and_bootstrap_policy_parse_and_a_bad_url_names_its_key() {
        let c = parse(
            "node_id = \"N\"\ndata_dir = \"/tmp/x\"\n[hub]\nurl = \"http://hub:8080\"\nbootstrap = \"skip\"\n",
            &[],
        );
        assert!(
            matches!(c, Ok(ref c) if c.hub.url.as_deref() == Some("http://hub:8080") && c.hub.bootstrap == BootstrapPolicy::Skip)
        );
        let c = parse("node_id = \"N\"\ndata_dir = \"/tmp/x\"\n", &[]);
        assert!(
            matches!(c, Ok(ref c) if c.hub.url.is_none() && c.hub.bootstrap == BootstrapPolicy::Required)
        );
        let e = parse(
            "node_id = \"N\"\ndata_dir = \"/tmp/x\"\n[hub]\nurl = \"ftp://hub\"\n",
            &[],
        )
        .err()
        .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("config key `hub.url`: \"ftp://hub\" must be http:// or https:// with a host")
        );
    }
}

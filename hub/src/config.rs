//! hub.toml: the hub's configuration, validated at start with errors that name the key.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use stockpost_common::config_error::invalid;
pub use stockpost_common::config_error::ConfigError;

/// The whole hub configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubConfig {
    /// Where the store lives.
    pub data_dir: PathBuf,
    /// HTTP API and dashboard.
    #[serde(default)]
    pub http: HttpConfig,
    /// MQTT connection (and the embedded broker).
    #[serde(default)]
    pub mqtt: MqttConfig,
    /// The embedded store.
    #[serde(default)]
    pub store: StoreSection,
    /// Ingest bounds.
    #[serde(default)]
    pub ingest: IngestConfig,
    /// API tokens.
    #[serde(default)]
    pub auth: AuthConfig,
    /// Adjustment approval.
    #[serde(default)]
    pub approval: ApprovalConfig,
    /// Order release and dispatch.
    #[serde(default)]
    pub orders: OrdersConfig,
    /// The per-node downlink stream.
    #[serde(default)]
    pub downlink: DownlinkConfig,
    /// Outbound webhooks.
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
    /// Bounds of the quarantine.
    #[serde(default)]
    pub quarantine: QuarantineConfig,
    /// Where issued node credentials are also written (one-machine setups).
    #[serde(default)]
    pub credentials: CredentialsConfig,
}

/// `[credentials]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CredentialsConfig {
    /// When set, every sync credential the hub issues (a node registered without one, or
    /// `POST /nodes/{node}/credential`) is also written to `<dir>/<NODE>.key` (mode 0600), so
    /// an agent on the same machine, running as the same user, can name it as its
    /// `sync.credential_file`. A relative path is under `data_dir`. Unset (the default):
    /// credentials are only shown in the answer.
    pub dir: Option<PathBuf>,
}

impl CredentialsConfig {
    /// The directory, a relative one taken under `data_dir`.
    pub fn resolved_dir(&self, data_dir: &std::path::Path) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| {
            if d.is_relative() {
                data_dir.join(d)
            } else {
                d.clone()
            }
        })
    }
}

/// `[quarantine]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuarantineConfig {
    /// Most quarantine records kept per node (and for messages naming no node).
    pub max_per_node: u64,
    /// Most quarantine records kept in all.
    pub max_total: u64,
}

impl Default for QuarantineConfig {
    fn default() -> Self {
        Self {
            max_per_node: 100,
            max_total: 1_000,
        }
    }
}

/// `[approval]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalConfig {
    /// Adjustments worth more than this (|delta| x the item's unit value) need an approver.
    pub threshold: String,
}

impl Default for ApprovalConfig {
    fn default() -> Self {
        Self {
            threshold: "100".into(),
        }
    }
}

/// `[orders]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrdersConfig {
    /// Release allocated orders as pick tasks automatically (on the next tick).
    pub auto_release: bool,
    /// Check-weigh tolerance in percent of the expected weight.
    pub weight_tolerance_pct: String,
    /// Check-weigh tolerance, never less than this many kilograms.
    pub weight_tolerance_min_kg: String,
}

impl Default for OrdersConfig {
    fn default() -> Self {
        Self {
            auto_release: true,
            weight_tolerance_pct: "5".into(),
            weight_tolerance_min_kg: "0.05".into(),
        }
    }
}

/// `[downlink]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DownlinkConfig {
    /// Most items in one downlink message.
    pub max_batch: u64,
    /// Most items sent to a node and not yet acked.
    pub max_in_flight: u64,
    /// Resend from the last ack after this long without one.
    pub ack_timeout_ms: u64,
    /// Most items waiting for one node (an API change that would exceed it is refused).
    pub max_pending: u64,
    /// Timer tick of the writer (release waves, downlink resends), ms.
    pub tick_ms: u64,
}

impl Default for DownlinkConfig {
    fn default() -> Self {
        Self {
            max_batch: 32,
            max_in_flight: 256,
            ack_timeout_ms: 2_000,
            max_pending: 100_000,
            tick_ms: 250,
        }
    }
}

/// `[[webhooks]]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST.
    pub url: String,
    /// HMAC-SHA256 key for the `X-Stockpost-Signature` header.
    pub secret: String,
    /// Which events: shipment_confirmed, inventory_changed, exception_raised (empty: all).
    #[serde(default)]
    pub events: Vec<String>,
    /// Attempts before the delivery goes to the dead-letter list.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// First retry delay, doubled each time.
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
    /// Per-request timeout.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

fn default_attempts() -> u32 {
    5
}
fn default_backoff() -> u64 {
    500
}
fn default_timeout() -> u64 {
    5_000
}

/// `[http]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Listen address.
    pub listen: String,
    /// Most open connections; a connection over it is closed at once (and counted).
    pub max_connections: usize,
    /// A connection that has not sent a request's headers within this long is closed (slow
    /// clients, idle keep-alive connections), ms.
    pub header_timeout_ms: u64,
    /// A request not answered within this long gets `408` (a slow body included), ms.
    pub request_timeout_ms: u64,
    /// Largest request body, bytes (`413` above it).
    pub max_body_bytes: usize,
    /// Longest request target (path and query), bytes (`414` above it).
    pub max_uri_bytes: usize,
    /// Failed token checks allowed per client address per minute; further requests from that
    /// address get `429` until the minute is over.
    pub auth_failures_per_minute: u32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            max_connections: 1_024,
            header_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            max_body_bytes: 2 * 1024 * 1024,
            max_uri_bytes: 8 * 1024,
            auth_failures_per_minute: 20,
        }
    }
}

impl HttpConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let at_least_one = [
            ("http.max_connections", self.max_connections as u64),
            ("http.header_timeout_ms", self.header_timeout_ms),
            ("http.request_timeout_ms", self.request_timeout_ms),
            ("http.max_body_bytes", self.max_body_bytes as u64),
            ("http.max_uri_bytes", self.max_uri_bytes as u64),
            (
                "http.auth_failures_per_minute",
                u64::from(self.auth_failures_per_minute),
            ),
        ];
        for (key, value) in at_least_one {
            if value == 0 {
                return Err(invalid(key, "must be at least 1"));
            }
        }
        Ok(())
    }
}

/// `[mqtt]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// Broker `host:port` to connect to (for the embedded broker: where it listens).
    pub address: String,
    /// Run the embedded broker (needs the `embedded-broker` build feature).
    pub embedded_broker: bool,
    /// MQTT username.
    pub username: Option<String>,
    /// File holding the MQTT password.
    pub password_file: Option<PathBuf>,
    /// Stable client id (the broker keeps the persistent session under it).
    pub client_id: String,
    /// Shared-subscription group, for several hub replicas: refused until the books live in a
    /// database the hubs share (each embedded store would keep its own books).
    pub share_group: Option<String>,
    /// Keep-alive in seconds.
    pub keep_alive_secs: u64,
    /// Connect timeout in seconds.
    pub connect_timeout_secs: u64,
    /// Back-off bounds.
    pub reconnect_min_ms: u64,
    /// Back-off bounds.
    pub reconnect_max_ms: u64,
    /// rumqttc request channel bound.
    pub request_channel_capacity: usize,
    /// Largest MQTT packet, bytes.
    pub max_packet_bytes: usize,
    /// Most unacked incoming QoS 1 messages the broker may send us.
    pub inflight: u16,
    /// TLS CA (PEM).
    pub tls_ca_file: Option<PathBuf>,
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self {
            address: "127.0.0.1:1883".into(),
            embedded_broker: false,
            username: None,
            password_file: None,
            client_id: "stockpost-hub".into(),
            share_group: None,
            keep_alive_secs: 15,
            connect_timeout_secs: 5,
            reconnect_min_ms: 200,
            reconnect_max_ms: 10_000,
            request_channel_capacity: 1024,
            max_packet_bytes: 2 * 1024 * 1024,
            inflight: 100,
            tls_ca_file: None,
        }
    }
}

/// `[store]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// `sled` or `redb`.
    pub backend: String,
    /// Cache, bytes.
    pub cache_bytes: u64,
}

impl Default for StoreSection {
    fn default() -> Self {
        Self {
            backend: "redb".into(),
            cache_bytes: 256 * 1024 * 1024,
        }
    }
}

/// `[ingest]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Most incoming batches applied in one commit.
    pub max_batches_per_commit: usize,
    /// Bound of the queue between MQTT and the ingest writer.
    pub queue: usize,
    /// At most one resend request per node per this interval.
    pub resend_interval_ms: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_batches_per_commit: 64,
            queue: 256,
            resend_interval_ms: 1_000,
        }
    }
}

/// `[auth]`
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// `[[auth.tokens]]`
    pub tokens: Vec<TokenConfig>,
    /// From `STOCKPOST_ADMIN_TOKEN`: an extra admin token (never read from the file).
    #[serde(skip)]
    pub admin_token: Option<String>,
}

/// One API token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who it belongs to (shown in the audit trail).
    pub name: String,
    /// The token itself.
    pub token: Option<String>,
    /// Or its SHA-256, hex.
    pub sha256: Option<String>,
    /// viewer, operator, approver or admin.
    pub role: String,
}

impl HubConfig {
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
    /// `STOCKPOST_MQTT_ADDR`) and validates.
    pub fn from_toml(
        text: &str,
        path: &Path,
        env: &[(String, String)],
    ) -> Result<Self, ConfigError> {
        let mut config: HubConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        for (key, value) in env {
            match key.as_str() {
                "STOCKPOST_DATA_DIR" => config.data_dir = PathBuf::from(value),
                "STOCKPOST_HTTP_ADDR" => config.http.listen = value.clone(),
                "STOCKPOST_MQTT_ADDR" => config.mqtt.address = value.clone(),
                "STOCKPOST_ADMIN_TOKEN" if !value.is_empty() => {
                    config.auth.admin_token = Some(value.clone())
                }
                _ => {}
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks every value; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.data_dir.as_os_str().is_empty() {
            return Err(invalid("data_dir", "must not be empty"));
        }
        self.http.listen.parse::<SocketAddr>().map_err(|e| {
            invalid(
                "http.listen",
                format!("{:?} is not host:port ({e})", self.http.listen),
            )
        })?;
        self.http.validate()?;
        split_host_port(&self.mqtt.address).map_err(|reason| invalid("mqtt.address", reason))?;
        if self.mqtt.share_group.is_some() {
            return Err(invalid(
                "mqtt.share_group",
                "several hubs cannot share one stream yet: each hub keeps its own books in its \
                 embedded store, so the nodes' events would be split between them; run one hub",
            ));
        }
        if self.mqtt.client_id.is_empty() {
            return Err(invalid(
                "mqtt.client_id",
                "must not be empty (persistent sessions need it)",
            ));
        }
        if self.mqtt.reconnect_min_ms == 0
            || self.mqtt.reconnect_max_ms < self.mqtt.reconnect_min_ms
        {
            return Err(invalid(
                "mqtt.reconnect_max_ms",
                "must be at least mqtt.reconnect_min_ms, which must be above 0",
            ));
        }
        if self.mqtt.inflight == 0 || self.mqtt.request_channel_capacity == 0 {
            return Err(invalid(
                "mqtt.inflight",
                "it and mqtt.request_channel_capacity must be at least 1",
            ));
        }
        if !matches!(self.store.backend.as_str(), "sled" | "redb") {
            return Err(invalid(
                "store.backend",
                format!("{:?} is not sled or redb", self.store.backend),
            ));
        }
        if self.ingest.max_batches_per_commit == 0 || self.ingest.queue == 0 {
            return Err(invalid(
                "ingest.max_batches_per_commit",
                "it and ingest.queue must be at least 1",
            ));
        }
        if self
            .approval
            .threshold
            .parse::<stockpost_common::domain::Dec>()
            .map_or(true, |d| d.is_negative())
        {
            return Err(invalid(
                "approval.threshold",
                format!(
                    "{:?} is not a non-negative decimal",
                    self.approval.threshold
                ),
            ));
        }
        for (key, value) in [
            (
                "orders.weight_tolerance_pct",
                &self.orders.weight_tolerance_pct,
            ),
            (
                "orders.weight_tolerance_min_kg",
                &self.orders.weight_tolerance_min_kg,
            ),
        ] {
            if value
                .parse::<stockpost_common::domain::Dec>()
                .map_or(true, |d| d.is_negative())
            {
                return Err(invalid(
                    key,
                    format!("{value:?} is not a non-negative decimal"),
                ));
            }
        }
        let d = &self.downlink;
        if d.max_batch == 0 || d.max_in_flight < d.max_batch || d.ack_timeout_ms == 0 {
            return Err(invalid(
                "downlink.max_in_flight",
                "max_batch must be at least 1, max_in_flight at least max_batch, ack_timeout_ms above 0",
            ));
        }
        if d.max_pending == 0 || d.tick_ms == 0 {
            return Err(invalid(
                "downlink.max_pending",
                "it and downlink.tick_ms must be at least 1",
            ));
        }
        if self.quarantine.max_per_node == 0
            || self.quarantine.max_total < self.quarantine.max_per_node
        {
            return Err(invalid(
                "quarantine.max_total",
                "quarantine.max_per_node must be at least 1 and max_total at least max_per_node",
            ));
        }
        for (i, hook) in self.webhooks.iter().enumerate() {
            if !(hook.url.starts_with("http://") || hook.url.starts_with("https://")) {
                return Err(invalid(
                    &format!("webhooks[{i}].url"),
                    format!("{:?} is not an http(s) URL", hook.url),
                ));
            }
            if hook.secret.len() < 16 {
                return Err(invalid(
                    &format!("webhooks[{i}].secret"),
                    "must be at least 16 characters",
                ));
            }
            for e in &hook.events {
                if !matches!(
                    e.as_str(),
                    "shipment_confirmed" | "inventory_changed" | "exception_raised"
                ) {
                    return Err(invalid(
                        &format!("webhooks[{i}].events"),
                        format!("{e:?} is not shipment_confirmed, inventory_changed or exception_raised"),
                    ));
                }
            }
            if hook.max_attempts == 0 {
                return Err(invalid(
                    &format!("webhooks[{i}].max_attempts"),
                    "must be at least 1",
                ));
            }
        }
        if let Some(t) = &self.auth.admin_token {
            if t.chars().count() < 16 {
                return Err(invalid(
                    "STOCKPOST_ADMIN_TOKEN",
                    "must be at least 16 characters",
                ));
            }
        }
        for (i, token) in self.auth.tokens.iter().enumerate() {
            let key = format!("auth.tokens[{i}]");
            if !matches!(
                token.role.as_str(),
                "viewer" | "operator" | "approver" | "admin"
            ) {
                return Err(invalid(
                    &format!("{key}.role"),
                    format!(
                        "{:?} is not viewer, operator, approver or admin",
                        token.role
                    ),
                ));
            }
            match (&token.token, &token.sha256) {
                (Some(t), None) if t.len() >= 16 => {}
                (Some(_), None) => {
                    return Err(invalid(
                        &format!("{key}.token"),
                        "must be at least 16 characters",
                    ))
                }
                (None, Some(h)) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {}
                (None, Some(_)) => {
                    return Err(invalid(&format!("{key}.sha256"), "must be 64 hex digits"))
                }
                _ => return Err(invalid(&key, "give exactly one of token or sha256")),
            }
        }
        Ok(())
    }
}

/// Splits `host:port` (shared with the hub and the agent).
pub use stockpost_common::sync::split_host_port;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_role_names_its_key() {
        let text = "data_dir = \"/x\"\n[[auth.tokens]]\nname = \"a\"\ntoken = \"0123456789abcdef\"\nrole = \"boss\"\n";
        let e = HubConfig::from_toml(text, Path::new("hub.toml"), &[])
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("config key `auth.tokens[0].role`: \"boss\" is not viewer, operator, approver or admin")
        );
    }

    #[test]
    fn environment_overrides_win_over_the_file() -> Result<(), ConfigError> {
        let env = vec![(
            "STOCKPOST_MQTT_ADDR".to_string(),
            "0.0.0.0:1999".to_string(),
        )];
        let c = HubConfig::from_toml("data_dir = \"/x\"\n", Path::new("hub.toml"), &env)?;
        assert_eq!(c.mqtt.address, "0.0.0.0:1999");
        Ok(())
    }

    #[test]
    fn bad_approval_downlink_and_webhook_keys_are_named() {
        let cases = [
            ("[approval]\nthreshold = \"lots\"\n", "approval.threshold"),
            ("[downlink]\nmax_batch = 0\n", "downlink.max_in_flight"),
            (
                "[[webhooks]]\nurl = \"ftp://x\"\nsecret = \"0123456789abcdef\"\n",
                "webhooks[0].url",
            ),
            (
                "[[webhooks]]\nurl = \"http://x\"\nsecret = \"0123456789abcdef\"\nevents = [\"everything\"]\n",
                "webhooks[0].events",
            ),
        ];
        for (extra, key) in cases {
            let text = format!("data_dir = \"/x\"\n{extra}");
            let e = HubConfig::from_toml(&text, Path::new("hub.toml"), &[])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(key), "{e:?} names {key}");
        }
    }

    #[test]
    fn the_admin_token_comes_from_the_environment() -> Result<(), ConfigError> {
        let env = vec![(
            "STOCKPOST_ADMIN_TOKEN".to_string(),
            "root-token-0123456789".to_string(),
        )];
        let c = HubConfig::from_toml("data_dir = \"/x\"\n", Path::new("hub.toml"), &env)?;
        assert_eq!(c.auth.admin_token.as_deref(), Some("root-token-0123456789"));
        Ok(())
    }

    #[test]
    fn an_admin_token_shorter_than_16_characters_is_refused_naming_the_variable() {
        let env = vec![("STOCKPOST_ADMIN_TOKEN".to_string(), "a".to_string())];
        let e = HubConfig::from_toml("data_dir = \"/x\"\n", Path::new("hub.toml"), &env)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("STOCKPOST_ADMIN_TOKEN"), "{e}");
        assert!(e.contains("at least 16 characters"), "{e}");
    }

    #[test]
    fn the_shipped_hub_toml_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/hub.toml");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(!text.is_empty(), "config/hub.toml is shipped");
        if let Err(e) = HubConfig::from_toml(&text, &path, &[]) {
            panic!("{e}");
        }
    }
}

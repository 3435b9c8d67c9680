//! The embedded MQTT broker (rumqttd), for one-machine setups: `mqtt.embedded_broker = true`
//! runs it inside the hub process on `mqtt.address`, before the hub's own MQTT client connects.
//!
//! Built only with the `embedded-broker` cargo feature (on by default). rumqttd keeps sessions
//! in memory: a hub restart restarts the broker and loses every broker session and queued
//! message. Stockpost does not depend on them (the agent's durable outbox and the hub's
//! application acks resend whatever was not applied); Mosquitto or EMQX is for production.
//!
//! rumqttd 0.20 cannot be stopped: the broker runs until the process exits. Stopping a
//! `HubNode` leaves it running, and a hub started again in the same process on the same
//! address uses it again instead of failing on a taken port.
//!
//! **Who may connect** ([`BrokerLogin`], replaced at every hub start): the hub itself, as user
//! `stockpost-hub` with a secret drawn at start and its configured client id (so no one else
//! can take that id over); and registered nodes, as user `<node id>` with the password derived
//! from the node's sync credential (`SyncKey::broker_password`), under any other client id (one
//! starting `stockpost-agent-` must end in that node id). Anonymous clients and everything else
//! are refused at CONNECT and counted (`stockpost_hub_broker_refused_total`).

use crate::writer::Published;
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;
use stockpost_common::domain::NodeId;
use stockpost_common::wire::constant_time_eq;

/// Limits of the embedded broker. Every one is explicit; none is left to rumqttd's defaults.
#[derive(Debug, Clone)]
pub struct BrokerLimits {
    /// Most client connections at once.
    pub max_connections: usize,
    /// Largest publish payload accepted, bytes (at least the wire envelope maximum).
    pub max_payload_bytes: usize,
    /// Most unacknowledged QoS 1 messages towards one client.
    pub max_inflight: usize,
    /// A client must send CONNECT within this time after the TCP connect, ms.
    pub connection_timeout_ms: u16,
    /// Most packets the router hands to one connection per round.
    pub max_outgoing_packet_count: u64,
    /// Size of one segment of a topic's in-memory log, bytes.
    pub max_segment_size: usize,
    /// Segments kept per topic; when full, the oldest is dropped.
    pub max_segment_count: usize,
}

impl BrokerLimits {
    /// The limits for a hub whose largest MQTT packet is `max_packet_bytes`.
    pub fn for_packets(max_packet_bytes: usize) -> Self {
        let max_payload_bytes =
            max_packet_bytes.max(stockpost_common::wire::MAX_ENVELOPE_BYTES + 64 * 1024);
        Self {
            max_connections: 1_000,
            max_payload_bytes,
            max_inflight: 100,
            connection_timeout_ms: 10_000,
            max_outgoing_packet_count: 200,
            // A segment holds at least a few of the largest messages; 8 of them per topic.
            max_segment_size: (max_payload_bytes * 4).max(16 * 1024 * 1024),
            max_segment_count: 8,
        }
    }
}

/// Why the embedded broker did not start.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// `mqtt.address` is not an address to listen on.
    #[error("mqtt.address {address:?} cannot be resolved to a listen address: {reason}")]
    Address {
        /// The configured address.
        address: String,
        /// Why.
        reason: String,
    },
    /// Another process (or broker) already listens there.
    #[error("the embedded broker cannot listen on {addr}: {source} (is another broker running there? set mqtt.embedded_broker = false to connect to it instead)")]
    PortTaken {
        /// The address.
        addr: SocketAddr,
        /// The bind error.
        source: std::io::Error,
    },
    /// The broker thread ended or did not accept connections in time.
    #[error("the embedded broker on {addr} did not start: {reason}")]
    NotStarted {
        /// The address.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
}

/// A running embedded broker (it runs until the process exits).
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedBroker {
    /// Where it listens.
    pub addr: SocketAddr,
}

/// rumqttd connection slots the gate leaves free (for the hub's client and the probe).
pub const GATE_RESERVE: usize = 8;

/// The MQTT user name of the hub on its embedded broker.
pub const HUB_USER: &str = "stockpost-hub";

/// The client id of the readiness probe (it logs in as the hub).
pub const PROBE_CLIENT_ID: &str = "stockpost-broker-probe";

/// Who may connect to the embedded broker at one address.
pub struct BrokerLogin {
    hub_client_id: String,
    hub_secret: String,
    books: Mutex<Option<Published>>,
}

impl std::fmt::Debug for BrokerLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerLogin")
            .field("hub_client_id", &self.hub_client_id)
            .finish_non_exhaustive()
    }
}

impl BrokerLogin {
    /// From now on nodes are checked against the credentials of these books.
    pub fn set_books(&self, books: Published) {
        if let Ok(mut b) = self.books.lock() {
            *b = Some(books);
        }
    }

    /// The hub's user name and password.
    pub fn hub_credentials(&self) -> (String, String) {
        (HUB_USER.to_string(), self.hub_secret.clone())
    }

    /// Whether a CONNECT with these may in.
    fn allows(&self, client_id: &str, user: &str, password: &str) -> bool {
        let hub_id = client_id == self.hub_client_id || client_id == PROBE_CLIENT_ID;
        if user == HUB_USER {
            return hub_id && constant_time_eq(password.as_bytes(), self.hub_secret.as_bytes());
        }
        if hub_id {
            return false;
        }
        if client_id
            .strip_prefix("stockpost-agent-")
            .is_some_and(|rest| rest != user)
        {
            return false;
        }
        let Ok(node) = NodeId::new(user) else {
            return false;
        };
        let Some(books) = self.books.lock().ok().and_then(|b| b.clone()) else {
            return false;
        };
        let model = books.get();
        model.books.credentials.get(&node).is_some_and(|c| {
            constant_time_eq(password.as_bytes(), c.key.broker_password().as_bytes())
        })
    }
}

/// The logins of the brokers of this process, by address.
fn logins() -> &'static Mutex<HashMap<SocketAddr, Arc<BrokerLogin>>> {
    static LOGINS: OnceLock<Mutex<HashMap<SocketAddr, Arc<BrokerLogin>>>> = OnceLock::new();
    LOGINS.get_or_init(|| Mutex::new(HashMap::new()))
}

static REFUSED: AtomicU64 = AtomicU64::new(0);

/// CONNECTs the embedded brokers of this process refused.
pub fn refused_total() -> u64 {
    REFUSED.load(Ordering::Relaxed)
}

fn authorize(addr: SocketAddr, client_id: &str, user: &str, password: &str) -> bool {
    let login = logins().lock().ok().and_then(|l| l.get(&addr).cloned());
    let ok = login.is_some_and(|l| l.allows(client_id, user, password));
    if !ok {
        REFUSED.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(%addr, client_id, user, "embedded broker refused a CONNECT");
    }
    ok
}

/// Where the hub's own client connects to the embedded broker at `address` (rumqttd itself,
/// not the gate: a full gate never locks the hub out), when this process runs one there.
pub fn hub_address(address: &str) -> Option<SocketAddr> {
    let addr = resolve(address).ok()?;
    running().lock().ok()?.get(&addr).map(|s| s.internal)
}

/// The hub's login on the embedded broker at `address`, when this process runs one there.
pub fn hub_credentials(address: &str) -> Option<(String, String)> {
    let addr = resolve(address).ok()?;
    let login = logins().lock().ok()?.get(&addr).cloned()?;
    Some(login.hub_credentials())
}

/// A broker this process started: its thread and where rumqttd itself listens (behind the
/// gate on the public address).
struct Started {
    thread: JoinHandle<Result<(), String>>,
    internal: SocketAddr,
}

/// The brokers this process started, by public address.
type Running = Mutex<HashMap<SocketAddr, Started>>;

/// Brokers this process started, by address (rumqttd cannot be stopped, so they are reused).
fn running() -> &'static Running {
    static RUNNING: OnceLock<Running> = OnceLock::new();
    RUNNING.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The rumqttd configuration: one MQTT 3.1.1 listener on `addr` whose CONNECTs the current
/// [`BrokerLogin`] of the public address `public` checks, no console, no metrics exporter, no
/// bridge, no cluster.
pub fn rumqttd_config(
    addr: SocketAddr,
    public: SocketAddr,
    limits: &BrokerLimits,
) -> rumqttd::Config {
    let mut connections = rumqttd::ConnectionSettings {
        connection_timeout_ms: limits.connection_timeout_ms,
        max_payload_size: limits.max_payload_bytes,
        max_inflight_count: limits.max_inflight,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    connections.set_auth_handler(move |client_id: String, user: String, password: String| {
        let ok = authorize(public, &client_id, &user, &password);
        async move { ok }
    });
    let server = rumqttd::ServerSettings {
        name: "stockpost-v4".into(),
        listen: addr,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    rumqttd::Config {
        id: 0,
        router: rumqttd::RouterConfig {
            max_connections: limits.max_connections,
            max_outgoing_packet_count: limits.max_outgoing_packet_count,
            max_segment_size: limits.max_segment_size,
            max_segment_count: limits.max_segment_count,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: rumqttd::Strategy::default(),
        },
        v4: Some(HashMap::from([("1".to_string(), server)])),
        v5: None,
        ws: None,
        cluster: None,
        console: None,
        bridge: None,
        prometheus: None,
        metrics: None,
    }
}

fn resolve(address: &str) -> Result<SocketAddr, BrokerError> {
    let err = |reason: String| BrokerError::Address {
        address: address.to_string(),
        reason,
    };
    address
        .to_socket_addrs()
        .map_err(|e| err(e.to_string()))?
        .next()
        .ok_or_else(|| err("no address".into()))
}

/// Starts the broker on `address` (or finds the one this process already runs there), lets in
/// from now on the hub with client id `hub_client_id` and a fresh secret (and the nodes of the
/// books given to the returned login), and returns once it accepts the hub's login, or within
/// `timeout` with an error.
pub async fn start(
    address: &str,
    limits: &BrokerLimits,
    timeout: Duration,
    hub_client_id: &str,
) -> Result<(EmbeddedBroker, Arc<BrokerLogin>), BrokerError> {
    let addr = resolve(address)?;
    let login = Arc::new(BrokerLogin {
        hub_client_id: hub_client_id.to_string(),
        hub_secret: {
            use rand::Rng;
            let bytes: [u8; 32] = rand::rng().random();
            stockpost_common::wire::SyncKey::from_bytes(bytes).to_hex()
        },
        books: Mutex::new(None),
    });
    if let Ok(mut l) = logins().lock() {
        l.insert(addr, Arc::clone(&login));
    }
    let broker = start_or_reuse(addr, limits, timeout, &login).await?;
    Ok((broker, login))
}

async fn start_or_reuse(
    addr: SocketAddr,
    limits: &BrokerLimits,
    timeout: Duration,
    login: &BrokerLogin,
) -> Result<EmbeddedBroker, BrokerError> {
    {
        let mut running = running().lock().map_err(|_| BrokerError::NotStarted {
            addr,
            reason: "broker registry poisoned".into(),
        })?;
        match running.get(&addr) {
            Some(started) if !started.thread.is_finished() => {
                tracing::info!(%addr, "the embedded broker of this process is already running");
                return Ok(EmbeddedBroker { addr });
            }
            Some(_) => {
                running.remove(&addr);
            }
            None => {}
        }
        // The gate owns the public address; rumqttd listens on a loopback port behind it.
        let public =
            TcpListener::bind(addr).map_err(|source| BrokerError::PortTaken { addr, source })?;
        let not_started = |reason: String| BrokerError::NotStarted { addr, reason };
        let internal = crate::broker_gate::internal_addr()
            .map_err(|e| not_started(format!("no loopback port for rumqttd: {e}")))?;
        let config = rumqttd_config(internal, addr, limits);
        let thread = std::thread::Builder::new()
            .name("embedded-broker".into())
            .spawn(move || {
                let mut broker = rumqttd::Broker::new(config);
                // Returns only when every listener thread ended (a bind failure, for one).
                broker.start().map_err(|e| e.to_string())
            })
            .map_err(|e| not_started(format!("cannot spawn its thread: {e}")))?;
        // The gate keeps rumqttd's router below its limit (the hub and the probe come in
        // directly, and a few slots stay free for them).
        let gate_max = limits.max_connections.saturating_sub(GATE_RESERVE).max(1);
        crate::broker_gate::spawn(public, internal, gate_max)
            .map_err(|e| not_started(format!("cannot start its gate: {e}")))?;
        running.insert(addr, Started { thread, internal });
    }
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Ok(Ok(())) =
            tokio::time::timeout(Duration::from_millis(500), probe(addr, &login.hub_secret)).await
        {
            tracing::info!(%addr, "embedded broker accepting connections");
            return Ok(EmbeddedBroker { addr });
        }
        let ended = running()
            .lock()
            .map(|r| r.get(&addr).is_none_or(|s| s.thread.is_finished()))
            .unwrap_or(true);
        if ended {
            let result = running()
                .lock()
                .ok()
                .and_then(|mut r| r.remove(&addr))
                .map(|s| s.thread.join());
            let reason = match result {
                Some(Ok(Err(e))) => e,
                Some(Err(_)) => "its thread panicked".into(),
                _ => "its listener stopped (see the log above)".into(),
            };
            return Err(BrokerError::NotStarted { addr, reason });
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(BrokerError::NotStarted {
                addr,
                reason: format!("not accepting connections after {timeout:?}"),
            });
        }
        // Polling a condition with a deadline: rumqttd gives no readiness signal.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The MQTT 3.1.1 CONNECT packet of the readiness probe: clean session, keep-alive 10 s,
/// client id [`PROBE_CLIENT_ID`], user [`HUB_USER`] with `password`.
pub fn probe_connect(password: &str) -> Vec<u8> {
    connect_packet(PROBE_CLIENT_ID, HUB_USER, password)
}

/// An MQTT 3.1.1 CONNECT packet with clean session, keep-alive 10 s, `client_id`, `user` and
/// `password` (the probe's, and what tests log in with).
pub fn connect_packet(client_id: &str, user: &str, password: &str) -> Vec<u8> {
    let mut body = vec![0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04];
    // Flags: user name, password, clean session; keep-alive 10 s.
    body.extend_from_slice(&[0xC2, 0x00, 0x0A]);
    for field in [client_id, user, password] {
        let len = u16::try_from(field.len()).unwrap_or(u16::MAX);
        body.extend_from_slice(&len.to_be_bytes());
        body.extend_from_slice(field.as_bytes());
    }
    // Remaining length as MQTT's variable-length integer (the packet is under 16 KiB).
    let mut out = vec![0x10];
    let mut n = body.len();
    loop {
        let mut byte = u8::try_from(n % 128).unwrap_or(0);
        n /= 128;
        if n > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&body);
    out
}

/// A CONNACK that accepted the connection.
const CONNACK_ACCEPTED: [u8; 4] = [0x20, 0x02, 0x00, 0x00];

/// MQTT DISCONNECT.
const DISCONNECT: [u8; 2] = [0xE0, 0x00];

/// Connects to the broker as an MQTT client and disconnects cleanly: ready means it answers
/// CONNECT with an accepting CONNACK. (A bare TCP connect that closes would make rumqttd log
/// an error for a connection that never sent CONNECT.)
async fn probe(addr: SocketAddr, password: &str) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(&probe_connect(password)).await?;
    let mut connack = [0u8; 4];
    stream.read_exact(&mut connack).await?;
    if connack != CONNACK_ACCEPTED {
        return Err(std::io::Error::other(format!(
            "the broker answered CONNECT with {connack:02x?}"
        )));
    }
    stream.write_all(&DISCONNECT).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_connect_packet_is_a_well_formed_mqtt_3_1_1_connect_with_the_hubs_login() {
        let packet = probe_connect("s3cret");
        // Remaining length = everything after the two fixed-header bytes.
        assert_eq!(usize::from(packet[1]), packet.len() - 2);
        assert_eq!(packet[9], 0xC2, "user name, password, clean session");
        let mut rest = &packet[12..];
        let mut fields = Vec::new();
        while rest.len() >= 2 {
            let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
            fields.push(String::from_utf8_lossy(&rest[2..2 + n]).to_string());
            rest = &rest[2 + n..];
        }
        assert_eq!(
            fields,
            ["stockpost-broker-probe", "stockpost-hub", "s3cret"]
        );
    }

    #[test]
    fn only_the_hub_with_its_secret_may_use_its_client_id_and_nodes_need_their_credential() {
        let login = BrokerLogin {
            hub_client_id: "stockpost-hub".into(),
            hub_secret: "secret-0123456789".into(),
            books: Mutex::new(None),
        };
        assert!(login.allows("stockpost-hub", HUB_USER, "secret-0123456789"));
        assert!(!login.allows("stockpost-hub", HUB_USER, "guess"));
        assert!(!login.allows("stockpost-hub", "", ""), "anonymous");
        assert!(!login.allows("stockpost-hub", "DC-EAST", "anything"));
        assert!(!login.allows("other", HUB_USER, "secret-0123456789"));
        // No books yet: no node is let in.
        assert!(!login.allows("stockpost-agent-DC-EAST", "DC-EAST", "x"));
        assert!(!login.allows("stockpost-agent-DC-WEST", "DC-EAST", "x"));
    }

    #[test]
    fn the_largest_payload_the_broker_accepts_holds_the_largest_envelope() {
        let limits = BrokerLimits::for_packets(1024);
        assert!(limits.max_payload_bytes > stockpost_common::wire::MAX_ENVELOPE_BYTES);
        assert!(limits.max_segment_size >= limits.max_payload_bytes);
        let local = SocketAddr::from(([127, 0, 0, 1], 1883));
        let config = rumqttd_config(local, local, &limits);
        assert!(config.console.is_none() && config.prometheus.is_none());
        assert_eq!(config.v4.map(|v| v.len()), Some(1));
    }

    #[tokio::test]
    async fn a_taken_port_is_a_clear_error_naming_the_address() -> Result<(), std::io::Error> {
        let taken = TcpListener::bind("127.0.0.1:0")?;
        let addr = taken.local_addr()?;
        let err = start(
            &addr.to_string(),
            &BrokerLimits::for_packets(2 * 1024 * 1024),
            Duration::from_secs(5),
            "stockpost-hub",
        )
        .await
        .err();
        let message = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains(&addr.to_string()) && message.contains("another broker"),
            "{message}"
        );
        Ok(())
    }
}

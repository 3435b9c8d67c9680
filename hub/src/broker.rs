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

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

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

/// The broker threads this process started, by address.
type Running = Mutex<HashMap<SocketAddr, JoinHandle<Result<(), String>>>>;

/// Brokers this process started, by address (rumqttd cannot be stopped, so they are reused).
fn running() -> &'static Running {
    static RUNNING: OnceLock<Running> = OnceLock::new();
    RUNNING.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The rumqttd configuration: one MQTT 3.1.1 listener on `addr`, no console, no metrics
/// exporter, no bridge, no cluster.
pub fn rumqttd_config(addr: SocketAddr, limits: &BrokerLimits) -> rumqttd::Config {
    let connections = rumqttd::ConnectionSettings {
        connection_timeout_ms: limits.connection_timeout_ms,
        max_payload_size: limits.max_payload_bytes,
        max_inflight_count: limits.max_inflight,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
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

/// Starts the broker on `address` (or finds the one this process already runs there) and
/// returns once it accepts TCP connections, or within `timeout` with an error.
pub async fn start(
    address: &str,
    limits: &BrokerLimits,
    timeout: Duration,
) -> Result<EmbeddedBroker, BrokerError> {
    let addr = resolve(address)?;
    {
        let mut running = running().lock().map_err(|_| BrokerError::NotStarted {
            addr,
            reason: "broker registry poisoned".into(),
        })?;
        match running.get(&addr) {
            Some(thread) if !thread.is_finished() => {
                tracing::info!(%addr, "the embedded broker of this process is already running");
                return Ok(EmbeddedBroker { addr });
            }
            Some(_) => {
                running.remove(&addr);
            }
            None => {}
        }
        // rumqttd logs a failed bind and carries on without the listener: find out here.
        drop(TcpListener::bind(addr).map_err(|source| BrokerError::PortTaken { addr, source })?);
        let config = rumqttd_config(addr, limits);
        let thread = std::thread::Builder::new()
            .name("embedded-broker".into())
            .spawn(move || {
                let mut broker = rumqttd::Broker::new(config);
                // Returns only when every listener thread ended (a bind failure, for one).
                broker.start().map_err(|e| e.to_string())
            })
            .map_err(|e| BrokerError::NotStarted {
                addr,
                reason: format!("cannot spawn its thread: {e}"),
            })?;
        running.insert(addr, thread);
    }
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Ok(Ok(())) = tokio::time::timeout(Duration::from_millis(500), probe(addr)).await {
            tracing::info!(%addr, "embedded broker accepting connections");
            return Ok(EmbeddedBroker { addr });
        }
        let ended = running()
            .lock()
            .map(|r| r.get(&addr).is_none_or(JoinHandle::is_finished))
            .unwrap_or(true);
        if ended {
            let result = running()
                .lock()
                .ok()
                .and_then(|mut r| r.remove(&addr))
                .map(JoinHandle::join);
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
/// client id `stockpost-broker-probe`, no credentials.
pub const PROBE_CONNECT: &[u8] = &[
    0x10, 34, // CONNECT, remaining length
    0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, // protocol name and level 4 (3.1.1)
    0x02, 0x00, 0x0A, // flags: clean session; keep-alive 10 s
    0x00, 22, b's', b't', b'o', b'c', b'k', b'p', b'o', b's', b't', b'-', b'b', b'r', b'o', b'k',
    b'e', b'r', b'-', b'p', b'r', b'o', b'b', b'e',
];

/// A CONNACK that accepted the connection.
const CONNACK_ACCEPTED: [u8; 4] = [0x20, 0x02, 0x00, 0x00];

/// MQTT DISCONNECT.
const DISCONNECT: [u8; 2] = [0xE0, 0x00];

/// Connects to the broker as an MQTT client and disconnects cleanly: ready means it answers
/// CONNECT with an accepting CONNACK. (A bare TCP connect that closes would make rumqttd log
/// an error for a connection that never sent CONNECT.)
async fn probe(addr: SocketAddr) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(PROBE_CONNECT).await?;
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
    fn the_probe_connect_packet_is_a_well_formed_mqtt_3_1_1_connect() {
        // Remaining length = everything after the two fixed-header bytes.
        assert_eq!(usize::from(PROBE_CONNECT[1]), PROBE_CONNECT.len() - 2);
        let client_id = &PROBE_CONNECT[14..];
        assert_eq!(usize::from(PROBE_CONNECT[13]), client_id.len());
        assert_eq!(client_id, b"stockpost-broker-probe");
    }

    #[test]
    fn the_largest_payload_the_broker_accepts_holds_the_largest_envelope() {
        let limits = BrokerLimits::for_packets(1024);
        assert!(limits.max_payload_bytes > stockpost_common::wire::MAX_ENVELOPE_BYTES);
        assert!(limits.max_segment_size >= limits.max_payload_bytes);
        let config = rumqttd_config(SocketAddr::from(([127, 0, 0, 1], 1883)), &limits);
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

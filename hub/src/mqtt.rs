//! The hub's MQTT side: subscribes to every node's uplink, hands batches to the writer,
//! publishes acks and resend requests, and PUBACKs each packet only after the writer released
//! it (manual acks, after the durable commit).

use crate::config::{split_host_port, HubConfig};
use crate::writer::{Outgoing, Published, Request, WriterHandle};
use rand::Rng;
use rumqttc::{AsyncClient, Event as MqttEvent, MqttOptions, Packet, Publish, QoS, Transport};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use stockpost_common::domain::NodeId;
use stockpost_common::sync::{topics, ReceiverTransmit};
use stockpost_common::wire::{self, Limits, Message, WireError};
use stockpost_engine::{Command, Effect};
use tokio::sync::{mpsc, watch};

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct MqttCounters {
    /// Messages received.
    pub received: AtomicU64,
    /// Messages rejected before ingest (bad envelope, wrong node, failed authentication, …).
    pub rejected: AtomicU64,
    /// Of those, messages that failed authentication (a tag that does not verify, or a node
    /// without a credential).
    pub unauthenticated: AtomicU64,
    /// Acks, resend requests and downlink not sent because the node has no credential.
    pub unsigned_dropped: AtomicU64,
    /// Connections made.
    pub connects: AtomicU64,
    /// Whether connected now.
    pub connected: AtomicBool,
    /// Downlink items published (resends included).
    pub downlink_sent: AtomicU64,
}

/// Builds the hub's MQTT options; every delivery-relevant option is explicit.
pub fn options(config: &HubConfig) -> Result<MqttOptions, String> {
    #[cfg_attr(not(feature = "embedded-broker"), allow(unused_mut))]
    let (mut host, mut port) = split_host_port(&config.mqtt.address)?;
    #[cfg(feature = "embedded-broker")]
    if config.mqtt.embedded_broker {
        // Straight to rumqttd, past the gate on mqtt.address.
        if let Some(internal) = crate::broker::hub_address(&config.mqtt.address) {
            (host, port) = (internal.ip().to_string(), internal.port());
        }
    }
    let mut options = MqttOptions::new(config.mqtt.client_id.clone(), host, port);
    options
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_keep_alive(Duration::from_secs(config.mqtt.keep_alive_secs))
        .set_max_packet_size(config.mqtt.max_packet_bytes, config.mqtt.max_packet_bytes)
        .set_inflight(config.mqtt.inflight)
        .set_request_channel_capacity(config.mqtt.request_channel_capacity);
    #[cfg(feature = "embedded-broker")]
    if config.mqtt.embedded_broker && config.mqtt.username.is_none() {
        // The embedded broker lets the hub in with the secret it drew at start.
        if let Some((user, secret)) = crate::broker::hub_credentials(&config.mqtt.address) {
            options.set_credentials(user, secret);
        }
    }
    if let Some(user) = &config.mqtt.username {
        let password = match &config.mqtt.password_file {
            Some(p) => std::fs::read_to_string(p)
                .map_err(|e| format!("mqtt.password_file {}: {e}", p.display()))?,
            None => String::new(),
        };
        options.set_credentials(
            user.clone(),
            password.lines().next().unwrap_or("").to_string(),
        );
    }
    if let Some(ca) = &config.mqtt.tls_ca_file {
        let ca =
            std::fs::read(ca).map_err(|e| format!("mqtt.tls_ca_file {}: {e}", ca.display()))?;
        options.set_transport(Transport::tls(ca, None, None));
    }
    Ok(options)
}

/// Why a message was refused.
enum Refusal {
    /// It does not decode or breaks the protocol: the node and seq when known, and the reason.
    Poison(Option<NodeId>, Option<u64>, String),
    /// It failed authentication: dropped without effect but a count and one exception. The
    /// node, the header's sequence, whether on the status topic, and why.
    Unauthenticated(NodeId, u64, bool, String),
}

/// The envelope of `publish`, authenticated with the key the published books hold for the node
/// its header names.
fn classify(
    publish: &Publish,
    limits: &Limits,
    published: &Published,
) -> Result<(NodeId, wire::Envelope), Refusal> {
    let (topic_node, status) = match topics::parse(&publish.topic) {
        Some(topics::Topic::Up(n)) => (n, false),
        Some(topics::Topic::Status(n)) => (n, true),
        _ => {
            return Err(Refusal::Poison(
                None,
                None,
                format!("unexpected topic {}", publish.topic),
            ))
        }
    };
    let named = NodeId::new(topic_node.clone()).ok();
    let model = published.get();
    let key_of = |node: &NodeId| model.books.credentials.get(node).map(|c| c.key.clone());
    let envelope =
        wire::decode_with_keys(&publish.payload, limits, key_of).map_err(|e| match e {
            WireError::BadTag { ref node, seq, .. } | WireError::UnknownKey { ref node, seq }
                if node.as_str() == topic_node =>
            {
                Refusal::Unauthenticated(node.clone(), seq, status, e.to_string())
            }
            other => Refusal::Poison(named.clone(), None, other.to_string()),
        })?;
    if envelope.node.as_str() != topic_node {
        return Err(Refusal::Poison(
            named,
            Some(envelope.seq),
            format!(
                "envelope says node {} but it was published on the topic of node {topic_node}",
                envelope.node
            ),
        ));
    }
    Ok((envelope.node.clone(), envelope))
}

/// Encodes `message` for `node`, tagged with the node's credential from the published books.
fn sign(
    published: &Published,
    message: &Message,
    node: &NodeId,
    seq: u64,
) -> Result<Vec<u8>, String> {
    let model = published.get();
    let Some(credential) = model.books.credentials.get(node) else {
        return Err(format!("node {node} has no sync credential"));
    };
    wire::encode(message, node, seq, &credential.key).map_err(|e| e.to_string())
}

/// Runs the hub's MQTT loop until `shutdown` turns true.
pub async fn run(
    config: HubConfig,
    writer: WriterHandle<Publish>,
    mut outgoing: mpsc::Receiver<Outgoing<Publish>>,
    counters: Arc<MqttCounters>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), String> {
    let options = options(&config)?;
    let (client, mut eventloop) = AsyncClient::new(options, config.mqtt.request_channel_capacity);
    let mut network = rumqttc::NetworkOptions::new();
    network.set_connection_timeout(config.mqtt.connect_timeout_secs);
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    let limits = Limits::DEFAULT;
    let min_ms = config.mqtt.reconnect_min_ms;
    let max_ms = config.mqtt.reconnect_max_ms;
    let mut backoff_ms = min_ms;
    let subscriptions = topics::hub_subscriptions(None);

    // Publishing acks and releasing packets runs beside the event loop.
    let publisher = {
        let client = client.clone();
        let counters_pub = Arc::clone(&counters);
        let published = writer.published.clone();
        tokio::spawn(async move {
            while let Some(o) = outgoing.recv().await {
                match o {
                    Outgoing::Effect(Effect::Notice(_)) => {}
                    Outgoing::Effect(Effect::Transmit { node, transmit }) => {
                        let (message, seq) = match transmit {
                            ReceiverTransmit::Ack(seq) => (Message::Ack { applied_seq: seq }, seq),
                            ReceiverTransmit::ResendRequest(from) => {
                                (Message::ResendRequest { from_seq: from }, from)
                            }
                        };
                        match sign(&published, &message, &node, seq) {
                            Ok(bytes) => {
                                if let Err(e) = client
                                    .publish(topics::down(&node), QoS::AtLeastOnce, false, bytes)
                                    .await
                                {
                                    tracing::warn!(error = %e, "ack not queued");
                                }
                            }
                            Err(e) => {
                                counters_pub
                                    .unsigned_dropped
                                    .fetch_add(1, Ordering::Relaxed);
                                tracing::warn!(error = %e, %node, "ack not sent");
                            }
                        }
                    }
                    Outgoing::Effect(Effect::Downlink {
                        node,
                        first_seq,
                        items,
                    }) => {
                        let count = items.len();
                        match sign(&published, &Message::Downlink { items }, &node, first_seq) {
                            Ok(bytes) => {
                                counters_pub
                                    .downlink_sent
                                    .fetch_add(count as u64, Ordering::Relaxed);
                                if let Err(e) = client
                                    .publish(topics::down(&node), QoS::AtLeastOnce, false, bytes)
                                    .await
                                {
                                    tracing::warn!(error = %e, "downlink not queued; resent on the ack timeout");
                                }
                            }
                            Err(e) => {
                                counters_pub
                                    .unsigned_dropped
                                    .fetch_add(1, Ordering::Relaxed);
                                tracing::warn!(error = %e, %node, "downlink not sent; resent on the ack timeout");
                            }
                        }
                    }
                    Outgoing::Release(publish) => {
                        if let Err(e) = client.ack(&publish).await {
                            tracing::debug!(error = %e, "puback not queued");
                        }
                    }
                }
            }
        })
    };

    // Requests waiting for room in the ingest queue. The event loop keeps being polled while
    // they wait (pings, PUBACKs, acks must flow), and the broker sends at most its in-flight
    // window of unacked messages, which bounds this buffer.
    let mut waiting: std::collections::VecDeque<Request<Publish>> =
        std::collections::VecDeque::new();
    loop {
        let event = tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() { break; }
                continue;
            }
            permit = writer.tx.reserve(), if !waiting.is_empty() => {
                match permit {
                    Ok(permit) => {
                        if let Some(request) = waiting.pop_front() {
                            permit.send(request);
                        }
                        continue;
                    }
                    Err(_) => break,
                }
            }
            event = eventloop.poll() => event,
        };
        match event {
            Ok(MqttEvent::Incoming(Packet::ConnAck(_))) => {
                backoff_ms = min_ms;
                counters.connects.fetch_add(1, Ordering::Relaxed);
                counters.connected.store(true, Ordering::Relaxed);
                waiting.push_back(Request::fire(Command::Link { up: true }));
                for topic in &subscriptions {
                    if let Err(e) = client.try_subscribe(topic.clone(), QoS::AtLeastOnce) {
                        tracing::warn!(error = %e, "subscribe not queued");
                    }
                }
            }
            Ok(MqttEvent::Incoming(Packet::Publish(publish))) => {
                counters.received.fetch_add(1, Ordering::Relaxed);
                let command = match classify(&publish, &limits, &writer.published) {
                    Ok((node, envelope)) => match envelope.message {
                        Message::EventBatch { events } => Command::NodeBatch { node, events },
                        Message::NodeStatus {
                            online,
                            outbox_pending,
                            last_seq,
                        } => Command::NodeStatus {
                            node,
                            online,
                            head: last_seq,
                            pending: outbox_pending,
                        },
                        Message::DownlinkAck { applied_seq } => {
                            Command::DownlinkAck { node, applied_seq }
                        }
                        other => {
                            counters.rejected.fetch_add(1, Ordering::Relaxed);
                            Command::Poison {
                                node: Some(node),
                                seq: Some(envelope.seq),
                                reason: format!("a node may not send {}", other.kind()),
                                payload: publish.payload.to_vec(),
                            }
                        }
                    },
                    Err(Refusal::Unauthenticated(node, seq, status, reason)) => {
                        counters.rejected.fetch_add(1, Ordering::Relaxed);
                        counters.unauthenticated.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(%node, seq, reason = %reason, "dropped a message that failed authentication");
                        Command::Unauthenticated {
                            node,
                            seq,
                            status,
                            reason,
                        }
                    }
                    Err(Refusal::Poison(node, seq, reason)) => {
                        counters.rejected.fetch_add(1, Ordering::Relaxed);
                        Command::Poison {
                            node,
                            seq,
                            reason,
                            payload: publish.payload.to_vec(),
                        }
                    }
                };
                let request = Request {
                    command,
                    token: Some(publish),
                    reply: None,
                };
                waiting.push_back(request);
            }
            Ok(_) => {}
            Err(e) => {
                if counters.connected.swap(false, Ordering::Relaxed) {
                    waiting.push_back(Request::fire(Command::Link { up: false }));
                }
                tracing::warn!(error = %e, "mqtt connection lost; reconnecting");
                let jitter = rand::rng().random_range(0..=backoff_ms / 2);
                tokio::time::sleep(Duration::from_millis(backoff_ms / 2 + jitter)).await;
                backoff_ms = (backoff_ms * 2).min(max_ms);
            }
        }
    }
    publisher.abort();
    let _ = client.try_disconnect();
    Ok(())
}

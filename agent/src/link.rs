//! The MQTT link: publishes the outbox to the hub and applies what the hub sends down.
//!
//! A thin IO loop around `stockpost_common::sync::{Sender, Receiver}`. rumqttc is only the
//! transport: a PUBACK means nothing to us (stack-facts.md); the outbox is pruned only when
//! the hub's application ack arrives (invariant 4). Settings that affect delivery are explicit:
//! persistent session (`clean_session = false`) under a stable client id, keep-alive, packet
//! size, in-flight window, request channel bound, last will; reconnects use jittered
//! exponential back-off.

use crate::config::{split_host_port, AgentConfig};
use crate::store::AgentStore;
use crate::writer::{lock, WriterHandle};
use rand::Rng;
use rumqttc::{AsyncClient, Event as MqttEvent, LastWill, MqttOptions, Packet, QoS, Transport};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stockpost_common::domain::NodeId;
use stockpost_common::sync::{
    topics, BatchVerdict, Receiver, ReceiverConfig, ReceiverTransmit, Sender, SenderConfig,
};
use stockpost_common::wire::{self, Limits, Message, SyncKey, WireError};
use tokio::sync::{mpsc, watch};

/// What the rest of the agent can see of the link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkStatus {
    /// Connected to the broker right now.
    pub connected: bool,
    /// Last seq acked by the hub.
    pub acked: u64,
    /// Last error, if any.
    pub last_error: Option<String>,
}

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct LinkCounters {
    /// Batches published.
    pub batches_sent: AtomicU64,
    /// Events published (including resends).
    pub events_sent: AtomicU64,
    /// Messages from the hub that could not be used.
    pub bad_messages: AtomicU64,
    /// Of those, messages whose authentication tag did not verify (forged or altered).
    pub unauthenticated: AtomicU64,
    /// Connections made.
    pub connects: AtomicU64,
}

/// Settings of the link, from agent.toml.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// This node.
    pub node: NodeId,
    /// The file of this node's sync credential: it tags what the node sends and checks what
    /// the hub sends. Read when the link starts; while it is missing or invalid the link waits
    /// (steps are still recorded offline) and says why in its status.
    pub credential_file: std::path::PathBuf,
    /// Without `mqtt.password_file`: the user name to log in with, using the broker password
    /// derived from the credential (`SyncKey::broker_password`).
    pub broker_user: Option<String>,
    /// MQTT options.
    pub options: MqttOptions,
    /// Sender bounds.
    pub sender: SenderConfig,
    /// Receiver timers.
    pub receiver: ReceiverConfig,
    /// Wire limits.
    pub limits: Limits,
    /// Back-off bounds in ms.
    pub reconnect_min_ms: u64,
    /// Back-off bounds in ms.
    pub reconnect_max_ms: u64,
    /// rumqttc request channel bound.
    pub request_channel_capacity: usize,
    /// TCP connect timeout in seconds.
    pub connect_timeout_secs: u64,
}

/// Why the link cannot start.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Bad settings.
    #[error("mqtt: {0}")]
    Config(String),
}

impl LinkConfig {
    /// Builds the link settings from the agent configuration.
    pub fn from_agent(config: &AgentConfig) -> Result<Self, LinkError> {
        let node = config.node();
        let Some(credential_file) = config.sync.credential_file.clone() else {
            return Err(LinkError::Config("sync.credential_file is required".into()));
        };
        let (host, port) = split_host_port(&config.mqtt.address).map_err(LinkError::Config)?;
        let client_id = config
            .mqtt
            .client_id
            .clone()
            .unwrap_or_else(|| format!("stockpost-agent-{node}"));
        let mut options = MqttOptions::new(client_id, host, port);
        options
            .set_clean_session(false)
            .set_keep_alive(Duration::from_secs(config.mqtt.keep_alive_secs))
            .set_max_packet_size(config.mqtt.max_packet_bytes, config.mqtt.max_packet_bytes)
            .set_inflight(32)
            .set_request_channel_capacity(config.mqtt.request_channel_capacity)
            .set_manual_acks(false);
        let username = config
            .mqtt
            .username
            .clone()
            .unwrap_or_else(|| node.to_string());
        let mut broker_user = None;
        if let Some(path) = &config.mqtt.password_file {
            let password = std::fs::read_to_string(path)
                .map_err(|e| LinkError::Config(format!("password_file {}: {e}", path.display())))?;
            options.set_credentials(username, password.lines().next().unwrap_or("").to_string());
        } else {
            // No broker password: log in with the one derived from the sync credential (what
            // the hub's embedded broker checks), once the credential is read.
            broker_user = Some(username);
        }
        if let Some(ca) = &config.mqtt.tls_ca_file {
            let ca = std::fs::read(ca)
                .map_err(|e| LinkError::Config(format!("tls_ca_file {}: {e}", ca.display())))?;
            options.set_transport(Transport::tls(ca, None, None));
        }
        Ok(Self {
            node,
            credential_file,
            broker_user,
            options,
            sender: SenderConfig {
                max_batch: config.sync.max_batch_events,
                max_in_flight: config.sync.max_in_flight_events,
                ack_timeout_ms: config.sync.ack_timeout_ms,
            },
            receiver: ReceiverConfig {
                resend_interval_ms: config.sync.resend_interval_ms,
            },
            limits: Limits::DEFAULT,
            reconnect_min_ms: config.mqtt.reconnect_min_ms,
            reconnect_max_ms: config.mqtt.reconnect_max_ms,
            request_channel_capacity: config.mqtt.request_channel_capacity,
            connect_timeout_secs: config.mqtt.connect_timeout_secs,
        })
    }
}

/// Reads a sync credential file: 64 hex digits, not readable by group or others.
pub fn read_credential(path: &std::path::Path) -> Result<SyncKey, String> {
    let shown = path.display();
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("sync.credential_file {shown}: {e}"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| format!("sync.credential_file {shown}: {e}"))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "sync.credential_file {shown}: readable by group or others (mode {:o}); \
                 run chmod 600 on it",
                mode & 0o777
            ));
        }
    }
    SyncKey::from_hex(&text).map_err(|e| format!("sync.credential_file {shown}: {e}"))
}

/// The node's credential, read from its file; while it cannot be read the link waits (checking
/// every 2 s) and its status says why. `None`: shutdown came first.
async fn credential(
    config: &LinkConfig,
    status: &watch::Sender<LinkStatus>,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<SyncKey> {
    let mut reported = false;
    loop {
        match read_credential(&config.credential_file) {
            Ok(key) => {
                if reported {
                    tracing::info!("sync credential found; the link starts");
                    status.send_modify(|s| s.last_error = None);
                }
                return Some(key);
            }
            Err(why) => {
                if !reported {
                    tracing::warn!(reason = %why, "no usable sync credential: steps are recorded but not synced until there is one");
                    reported = true;
                }
                status.send_modify(|s| s.last_error = Some(why.clone()));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    return None;
                }
            }
        }
    }
}

enum Incoming {
    Connected,
    Disconnected(String),
    Publish(bytes_payload::Payload),
}

mod bytes_payload {
    /// A received message: topic and payload.
    pub struct Payload {
        pub topic: String,
        pub bytes: Vec<u8>,
    }
}

/// Runs the link until `shutdown` turns true.
pub async fn run(
    config: LinkConfig,
    store: AgentStore,
    writer: WriterHandle,
    status: watch::Sender<LinkStatus>,
    counters: Arc<LinkCounters>,
    mut shutdown: watch::Receiver<bool>,
) {
    let (acked, head, down_applied) = {
        let state = lock(writer.state());
        (state.acked, state.head, state.down_applied)
    };
    let Some(key) = credential(&config, &status, &mut shutdown).await else {
        return;
    };
    let mut options = config.options.clone();
    if let Some(user) = &config.broker_user {
        options.set_credentials(user.clone(), key.broker_password());
    }
    match wire::encode(
        &Message::NodeStatus {
            online: false,
            outbox_pending: 0,
            last_seq: 0,
        },
        &config.node,
        0,
        &key,
    ) {
        Ok(offline) => {
            options.set_last_will(LastWill::new(
                topics::status(&config.node),
                offline,
                QoS::AtLeastOnce,
                true,
            ));
        }
        Err(e) => tracing::error!(error = %e, "the last will does not encode"),
    }
    let mut sender = Sender::new(config.sender, acked, head);
    let mut receiver = Receiver::new(config.receiver, down_applied);
    let (client, mut eventloop) = AsyncClient::new(options, config.request_channel_capacity);
    let mut network = rumqttc::NetworkOptions::new();
    network.set_connection_timeout(config.connect_timeout_secs);
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    let (in_tx, mut in_rx) = mpsc::channel::<Incoming>(64);

    // The event loop: drives the connection, reconnects with jittered back-off.
    let min_ms = config.reconnect_min_ms;
    let max_ms = config.reconnect_max_ms;
    let driver = tokio::spawn(async move {
        let mut backoff_ms = min_ms;
        loop {
            match eventloop.poll().await {
                Ok(MqttEvent::Incoming(Packet::ConnAck(_))) => {
                    backoff_ms = min_ms;
                    if in_tx.send(Incoming::Connected).await.is_err() {
                        return;
                    }
                }
                Ok(MqttEvent::Incoming(Packet::Publish(p))) => {
                    let msg = bytes_payload::Payload {
                        topic: p.topic.clone(),
                        bytes: p.payload.to_vec(),
                    };
                    if in_tx.send(Incoming::Publish(msg)).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    if in_tx
                        .send(Incoming::Disconnected(e.to_string()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    let jitter = rand::rng().random_range(0..=backoff_ms / 2);
                    tokio::time::sleep(Duration::from_millis(backoff_ms / 2 + jitter)).await;
                    backoff_ms = (backoff_ms * 2).min(max_ms);
                }
            }
        }
    });

    let started = Instant::now();
    let now_ms = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut head_rx = writer.head();
    let mut pending_prune: Option<u64> = None;
    let mut retry_at: Option<u64> = None;
    let node = config.node.clone();
    let up_topic = topics::up(&node);
    loop {
        let deadline = [sender.poll_timeout(), retry_at]
            .into_iter()
            .flatten()
            .min();
        let sleep = async {
            match deadline {
                Some(at) => {
                    tokio::time::sleep(Duration::from_millis(at.saturating_sub(now_ms()))).await
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() { break; }
            }
            changed = head_rx.changed() => {
                if changed.is_err() { break; }
                let head = *head_rx.borrow_and_update();
                sender.produced(head);
            }
            incoming = in_rx.recv() => {
                let Some(incoming) = incoming else { break };
                match incoming {
                    Incoming::Connected => {
                        counters.connects.fetch_add(1, Ordering::Relaxed);
                        // Re-subscribe on every CONNACK: a broker that lost our session
                        // would otherwise never deliver acks again.
                        if let Err(e) = client.try_subscribe(topics::down(&node), QoS::AtLeastOnce) {
                            tracing::warn!(error = %e, "subscribe could not be queued");
                        }
                        publish_status(&client, &node, &key, true, &sender);
                        sender.connected(now_ms());
                        status.send_modify(|s| { s.connected = true; s.last_error = None; });
                    }
                    Incoming::Disconnected(e) => {
                        if sender.is_connected() {
                            tracing::warn!(error = %e, "disconnected from the broker");
                        }
                        sender.disconnected();
                        status.send_modify(|s| { s.connected = false; s.last_error = Some(e); });
                    }
                    Incoming::Publish(p) => {
                        handle_message(&config, &key, &p, &mut sender, &mut receiver, &writer, &client, &counters, now_ms()).await;
                    }
                }
            }
            _ = sleep => {
                retry_at = None;
                sender.handle_timeout(now_ms());
            }
        }
        // Send what is due.
        while let Some(range) = sender.poll_transmit(now_ms()) {
            match publish_range(
                &config,
                &key,
                &store,
                &client,
                &up_topic,
                range.first,
                range.last,
            ) {
                Ok(sent_to) => {
                    counters.batches_sent.fetch_add(1, Ordering::Relaxed);
                    counters
                        .events_sent
                        .fetch_add(sent_to - range.first + 1, Ordering::Relaxed);
                    if sent_to < range.last {
                        // Only part fitted in one message: rewind to send the rest next.
                        let _ = sender.on_resend_request(sent_to + 1, now_ms());
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "publish deferred");
                    let _ = sender.on_resend_request(range.first, now_ms());
                    retry_at = Some(now_ms() + 50);
                    break;
                }
            }
        }
        if let Some(to) = sender.take_prune() {
            pending_prune = Some(to);
        }
        if let Some(to) = pending_prune {
            if writer.prune(to) {
                pending_prune = None;
            } else {
                retry_at = Some(now_ms() + 50);
            }
        }
        status.send_modify(|s| s.acked = sender.acked());
    }
    driver.abort();
    let _ = client.try_disconnect();
}

fn publish_status(
    client: &AsyncClient,
    node: &NodeId,
    key: &SyncKey,
    online: bool,
    sender: &Sender,
) {
    let message = Message::NodeStatus {
        online,
        outbox_pending: sender.pending(),
        last_seq: sender.head(),
    };
    if let Ok(bytes) = wire::encode(&message, node, sender.head(), key) {
        let _ = client.try_publish(topics::status(node), QoS::AtLeastOnce, true, bytes);
    }
}

#[derive(Debug, thiserror::Error)]
enum PublishError {
    #[error(transparent)]
    Store(#[from] crate::store::AgentStoreError),
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("mqtt request queue: {0}")]
    Mqtt(String),
}

/// Publishes events `first..=last` as one batch, or as many as fit in one message; returns the
/// last seq sent.
fn publish_range(
    config: &LinkConfig,
    key: &SyncKey,
    store: &AgentStore,
    client: &AsyncClient,
    topic: &str,
    first: u64,
    last: u64,
) -> Result<u64, PublishError> {
    let mut events = store.read_outbox(first, last)?;
    loop {
        let count = events.len() as u64;
        let message = Message::EventBatch { events };
        match wire::encode_with_limits(&message, &config.node, first, key, &config.limits) {
            Ok(bytes) => {
                client
                    .try_publish(topic, QoS::AtLeastOnce, false, bytes)
                    .map_err(|e| PublishError::Mqtt(e.to_string()))?;
                return Ok(first + count - 1);
            }
            Err(WireError::Oversize { .. } | WireError::TooMany { .. }) if count > 1 => {
                let Message::EventBatch { events: mut back } = message else {
                    return Ok(first.saturating_sub(1));
                };
                back.truncate((back.len() / 2).max(1));
                events = back;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn handle_message(
    config: &LinkConfig,
    key: &SyncKey,
    payload: &bytes_payload::Payload,
    sender: &mut Sender,
    receiver: &mut Receiver,
    writer: &WriterHandle,
    client: &AsyncClient,
    counters: &LinkCounters,
    now_ms: u64,
) {
    let bad = |why: String| {
        counters.bad_messages.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(topic = %payload.topic, reason = %why, "ignored a message from the hub");
    };
    let envelope = match wire::decode(&payload.bytes, &config.limits, key) {
        Ok(e) => e,
        Err(e) => {
            // A message that fails authentication is dropped: it never moves the sender
            // (no ack, no resend, no prune) nor the downlink.
            if matches!(e, WireError::BadTag { .. }) {
                counters.unauthenticated.fetch_add(1, Ordering::Relaxed);
            }
            return bad(e.to_string());
        }
    };
    if envelope.node != config.node {
        return bad(format!("addressed to node {}", envelope.node));
    }
    match envelope.message {
        Message::Ack { applied_seq } => {
            if let Err(e) = sender.on_ack(applied_seq, now_ms) {
                bad(e.to_string());
            }
        }
        Message::ResendRequest { from_seq } => {
            if let Err(e) = sender.on_resend_request(from_seq, now_ms) {
                bad(e.to_string());
            }
        }
        Message::Downlink { items } => {
            let count = items.len() as u64;
            if count == 0 {
                return bad("empty downlink batch".into());
            }
            let last = envelope.seq + count - 1;
            match receiver.on_batch(envelope.seq, last, now_ms) {
                BatchVerdict::Apply { from, last } => {
                    let skip = usize::try_from(from - envelope.seq).unwrap_or(usize::MAX);
                    let items: Vec<_> = items.into_iter().skip(skip).collect();
                    match writer.downlink(from, items).await {
                        Ok(seq) => receiver.committed(seq.min(last)),
                        Err(e) => {
                            tracing::error!(error = %e, "downlink could not be applied");
                            receiver.commit_failed();
                        }
                    }
                }
                BatchVerdict::Duplicate | BatchVerdict::Gap { .. } => {}
            }
            while let Some(t) = receiver.poll_transmit() {
                let message = match t {
                    ReceiverTransmit::Ack(seq) => Message::DownlinkAck { applied_seq: seq },
                    ReceiverTransmit::ResendRequest(from) => {
                        // Downlink gaps: ask the hub by acking what we have; it resends after.
                        Message::DownlinkAck {
                            applied_seq: from.saturating_sub(1),
                        }
                    }
                };
                let seq = match &message {
                    Message::DownlinkAck { applied_seq } => *applied_seq,
                    _ => 0,
                };
                if let Ok(bytes) = wire::encode(&message, &config.node, seq, key) {
                    let _ = client.try_publish(
                        topics::up(&config.node),
                        QoS::AtLeastOnce,
                        false,
                        bytes,
                    );
                }
            }
        }
        other => bad(format!("unexpected {} from the hub", other.kind())),
    }
}

//! Assembles a running hub: store, ingest writer, MQTT side, timer, webhooks and HTTP.

use crate::config::HubConfig;
use crate::ingest::{self, IngestConfig, IngestHandle, IngestRequest};
use crate::mqtt::{self, MqttCounters};
use crate::ops::Settings;
use crate::store::{HubStore, HubStoreError};
use crate::webhooks::{self, Webhooks};
use rumqttc::Publish;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use stockpost_common::domain::Dec;
use stockpost_common::orders::{ApprovalPolicy, WeightTolerance};
use stockpost_common::sync::{ReceiverConfig, SenderConfig};
use tokio::sync::{mpsc, watch};

/// Why the hub cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] HubStoreError),
    /// MQTT settings.
    #[error("mqtt: {0}")]
    Mqtt(String),
    /// HTTP listener.
    #[error("http.listen {addr}: {source}")]
    Http {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// A setting.
    #[error("config: {0}")]
    Config(String),
    /// The embedded broker.
    #[cfg(feature = "embedded-broker")]
    #[error("mqtt.embedded_broker: {0}")]
    Broker(#[from] crate::broker::BrokerError),
}

/// Starts the embedded broker on `mqtt.address` and waits until it accepts connections.
#[cfg(feature = "embedded-broker")]
async fn start_embedded_broker(config: &HubConfig) -> Result<(), StartError> {
    let limits = crate::broker::BrokerLimits::for_packets(config.mqtt.max_packet_bytes);
    crate::broker::start(&config.mqtt.address, &limits, Duration::from_secs(10)).await?;
    Ok(())
}

/// This build has no embedded broker: say so and connect to whatever listens at mqtt.address.
#[cfg(not(feature = "embedded-broker"))]
async fn start_embedded_broker(config: &HubConfig) -> Result<(), StartError> {
    tracing::warn!(
        address = %config.mqtt.address,
        "mqtt.embedded_broker is set but this build has no embedded broker (feature `embedded-broker`); connecting to a broker at mqtt.address instead"
    );
    Ok(())
}

/// A running hub.
#[derive(Debug)]
pub struct HubNode {
    /// Its configuration.
    pub config: HubConfig,
    /// Its store.
    pub store: HubStore,
    /// The ingest writer.
    pub ingest: IngestHandle<Publish>,
    /// MQTT counters.
    pub mqtt_counters: Arc<MqttCounters>,
    /// Where the HTTP API listens.
    pub http_addr: SocketAddr,
    /// Webhook deliveries.
    pub webhooks: Arc<Webhooks>,
    shutdown: watch::Sender<bool>,
    mqtt_task: tokio::task::JoinHandle<Result<(), String>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    ingest_thread: Option<std::thread::JoinHandle<()>>,
}

fn dec(key: &str, text: &str) -> Result<Dec, StartError> {
    text.parse()
        .map_err(|e| StartError::Config(format!("{key}: {e}")))
}

/// The rule settings from the config.
pub fn settings(config: &HubConfig) -> Result<Settings, StartError> {
    Ok(Settings {
        policy: ApprovalPolicy {
            threshold: dec("approval.threshold", &config.approval.threshold)?,
        },
        weight: WeightTolerance {
            pct: dec(
                "orders.weight_tolerance_pct",
                &config.orders.weight_tolerance_pct,
            )?,
            min_kg: dec(
                "orders.weight_tolerance_min_kg",
                &config.orders.weight_tolerance_min_kg,
            )?,
        },
        sender: SenderConfig {
            max_batch: config.downlink.max_batch,
            max_in_flight: config.downlink.max_in_flight,
            ack_timeout_ms: config.downlink.ack_timeout_ms,
        },
        max_pending: config.downlink.max_pending,
        auto_release: config.orders.auto_release,
    })
}

impl HubNode {
    /// Opens the store, loads the state, starts ingest, MQTT, the timer, webhooks and HTTP.
    pub async fn start(config: HubConfig) -> Result<Self, StartError> {
        let (store, quarantined) = HubStore::open(&config)?;
        if let Some(moved) = quarantined {
            tracing::error!(moved_to = %moved.display(), "the hub store was corrupt and was moved aside; starting empty");
        }
        mqtt::options(&config).map_err(StartError::Mqtt)?;
        if config.mqtt.embedded_broker {
            start_embedded_broker(&config).await?;
        }
        let settings = settings(&config)?;
        let (webhooks, hook_rx) = Webhooks::open(config.webhooks.clone(), store.clone())?;
        let webhooks = Arc::new(webhooks);
        let (out_tx, out_rx) = mpsc::channel(config.ingest.queue.max(16) * 4);
        let (ingest, ingest_thread) = ingest::start(
            store.clone(),
            IngestConfig {
                max_group: config.ingest.max_batches_per_commit,
                queue: config.ingest.queue,
                receiver: ReceiverConfig {
                    resend_interval_ms: config.ingest.resend_interval_ms,
                },
                settings,
                webhooks: webhooks.enabled().then(|| Arc::clone(&webhooks)),
            },
            out_tx,
        )?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mqtt_counters = Arc::new(MqttCounters::default());
        let mqtt_task = tokio::spawn(mqtt::run(
            config.clone(),
            ingest.clone(),
            out_rx,
            Arc::clone(&mqtt_counters),
            shutdown_rx.clone(),
        ));
        let mut tasks = Vec::new();
        // The writer's timer: downlink resends, release waves, backorders, late orders.
        {
            let tx = ingest.tx.clone();
            let every = Duration::from_millis(config.downlink.tick_ms);
            let mut stop = shutdown_rx.clone();
            tasks.push(tokio::spawn(async move {
                let mut interval = tokio::time::interval(every);
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    tokio::select! {
                        _ = interval.tick() => {
                            // A full queue means the writer is busy; the next tick will do.
                            let _ = tx.try_send(IngestRequest::Tick);
                        }
                        _ = stop.changed() => if *stop.borrow() { break },
                    }
                }
            }));
        }
        tasks.push(tokio::spawn(webhooks::run(
            Arc::clone(&webhooks),
            hook_rx,
            shutdown_rx.clone(),
        )));
        let listener = tokio::net::TcpListener::bind(&config.http.listen)
            .await
            .map_err(|source| StartError::Http {
                addr: config.http.listen.clone(),
                source,
            })?;
        let http_addr = listener.local_addr().map_err(|source| StartError::Http {
            addr: config.http.listen.clone(),
            source,
        })?;
        let app = crate::http::router(crate::http::AppState::new(
            &config,
            store.clone(),
            ingest.clone(),
            Arc::clone(&mqtt_counters),
            Arc::clone(&webhooks),
        ));
        {
            let mut stop = shutdown_rx.clone();
            tasks.push(tokio::spawn(async move {
                let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                    while stop.changed().await.is_ok() {
                        if *stop.borrow() {
                            break;
                        }
                    }
                });
                if let Err(e) = serve.await {
                    tracing::error!(error = %e, "http server stopped");
                }
            }));
        }
        tracing::info!(%http_addr, "hub started");
        Ok(Self {
            config,
            store,
            ingest,
            mqtt_counters,
            http_addr,
            webhooks,
            shutdown,
            mqtt_task,
            tasks,
            ingest_thread: Some(ingest_thread),
        })
    }

    /// Resolves when the hub is asked to stop from outside (the MQTT task ended).
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        let _ = (&mut self.mqtt_task).await;
        for t in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        // The ingest writer ends when the last handle to it is gone; wait for it so the store
        // is closed when `stop` returns (a restart in the same process can then reopen it).
        let thread = self.ingest_thread.take();
        drop(self);
        if let Some(thread) = thread {
            let _ = tokio::time::timeout(
                Duration::from_secs(10),
                tokio::task::spawn_blocking(move || thread.join()),
            )
            .await;
        }
    }
}

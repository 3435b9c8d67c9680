//! Assembles a running hub: repository, engine and writer, MQTT side, timer, webhook sender
//! and HTTP.

use crate::config::HubConfig;
use crate::mqtt::{self, MqttCounters};
use crate::repo::{EmbeddedRepo, StoreReader};
use crate::webhooks::{self, WebhookCounters};
use crate::writer::{self, Outputs, Published, Request, WriterHandle};
use rumqttc::Publish;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use stockpost_common::domain::Dec;
use stockpost_common::orders::{ApprovalPolicy, WeightTolerance};
use stockpost_common::sync::{ReceiverConfig, SenderConfig};
use stockpost_engine::read::ReadModel;
use stockpost_engine::settings::{HookTarget, QuarantineLimits, Settings};
use stockpost_engine::{Command, Engine};
use tokio::sync::{mpsc, watch};

/// Why the hub cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] stockpost_engine::repo::RepoError),
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
    /// The writer thread.
    #[error("writer: {0}")]
    Writer(std::io::Error),
    /// The embedded broker.
    #[cfg(feature = "embedded-broker")]
    #[error("mqtt.embedded_broker: {0}")]
    Broker(#[from] crate::broker::BrokerError),
}

/// Starts the embedded broker on `mqtt.address` and waits until it accepts connections.
#[cfg(feature = "embedded-broker")]
async fn start_embedded_broker(
    config: &HubConfig,
) -> Result<Option<Arc<crate::broker::BrokerLogin>>, StartError> {
    let limits = crate::broker::BrokerLimits::for_packets(config.mqtt.max_packet_bytes);
    let (_, login) = crate::broker::start(
        &config.mqtt.address,
        &limits,
        Duration::from_secs(10),
        &config.mqtt.client_id,
    )
    .await?;
    Ok(Some(login))
}

/// This build has no embedded broker: say so and connect to whatever listens at mqtt.address.
#[cfg(not(feature = "embedded-broker"))]
async fn start_embedded_broker(config: &HubConfig) -> Result<Option<()>, StartError> {
    tracing::warn!(
        address = %config.mqtt.address,
        "mqtt.embedded_broker is set but this build has no embedded broker (feature `embedded-broker`); connecting to a broker at mqtt.address instead"
    );
    Ok(None)
}

/// A running hub.
#[derive(Debug)]
pub struct HubNode {
    /// Its configuration.
    pub config: HubConfig,
    /// The writer.
    pub writer: WriterHandle<Publish>,
    /// Reads the store directly (event log, audit, webhook trees).
    pub reader: StoreReader,
    /// MQTT counters.
    pub mqtt_counters: Arc<MqttCounters>,
    /// Webhook counters.
    pub webhook_counters: Arc<WebhookCounters>,
    /// Where the HTTP API listens.
    pub http_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    mqtt_task: tokio::task::JoinHandle<Result<(), String>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    writer_thread: Option<std::thread::JoinHandle<()>>,
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
        receiver: ReceiverConfig {
            resend_interval_ms: config.ingest.resend_interval_ms,
        },
        max_pending: config.downlink.max_pending,
        auto_release: config.orders.auto_release,
        hooks: config
            .webhooks
            .iter()
            .map(|h| HookTarget {
                url: h.url.clone(),
                events: h.events.clone(),
            })
            .collect(),
        quarantine: QuarantineLimits {
            per_node: config.quarantine.max_per_node,
            total: config.quarantine.max_total,
        },
    })
}

impl HubNode {
    /// Opens the repository, starts the writer, MQTT, the timer, webhooks and HTTP.
    pub async fn start(config: HubConfig) -> Result<Self, StartError> {
        mqtt::options(&config).map_err(StartError::Mqtt)?;
        let engine = Engine::new(settings(&config)?);
        let (repo, moved) = EmbeddedRepo::open(&config)?;
        if let Some(moved) = moved {
            tracing::error!(moved_to = %moved.display(), "the hub store was corrupt and was moved aside; starting empty");
        }
        let reader = repo.reader();
        let broker_login = if config.mqtt.embedded_broker {
            start_embedded_broker(&config).await?
        } else {
            None
        };
        let (out_tx, out_rx) = mpsc::channel(config.ingest.queue.max(16) * 4);
        let (hook_tx, hook_rx) = mpsc::channel(webhooks::QUEUE);
        let hooks_on = !config.webhooks.is_empty();
        let (writer, writer_thread) = writer::start(
            repo,
            engine,
            config.ingest.max_batches_per_commit,
            config.ingest.queue,
            Outputs {
                mqtt: out_tx,
                webhooks: hooks_on.then_some(hook_tx),
            },
        )
        .map_err(StartError::Writer)?;
        #[cfg(feature = "embedded-broker")]
        if let Some(login) = &broker_login {
            login.set_books(writer.published.clone());
        }
        #[cfg(not(feature = "embedded-broker"))]
        let _ = broker_login;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mqtt_counters = Arc::new(MqttCounters::default());
        let mqtt_task = tokio::spawn(mqtt::run(
            config.clone(),
            writer.clone(),
            out_rx,
            Arc::clone(&mqtt_counters),
            shutdown_rx.clone(),
        ));
        let mut tasks = vec![tick(&config, &writer, shutdown_rx.clone())];
        let webhook_counters = Arc::new(WebhookCounters::default());
        if hooks_on {
            let sender = webhooks::Sender {
                hooks: config.webhooks.clone(),
                reader: reader.clone(),
                writer: writer.tx.clone(),
                counters: Arc::clone(&webhook_counters),
            };
            tasks.push(tokio::spawn(webhooks::run(
                sender,
                hook_rx,
                shutdown_rx.clone(),
            )));
        }
        let state = crate::http::AppState::new(
            &config,
            writer.clone(),
            reader.clone(),
            Arc::clone(&mqtt_counters),
            Arc::clone(&webhook_counters),
        );
        let front = state.front();
        let app = crate::http::router(state);
        let (http_addr, server) = serve(&config, app, front, shutdown_rx).await?;
        tasks.push(server);
        tracing::info!(%http_addr, "hub started");
        Ok(Self {
            config,
            writer,
            reader,
            mqtt_counters,
            webhook_counters,
            http_addr,
            shutdown,
            mqtt_task,
            tasks,
            writer_thread: Some(writer_thread),
        })
    }

    /// The read model as of the last commit.
    pub fn view(&self) -> Arc<ReadModel> {
        self.writer.published.get()
    }

    /// The highest sequence of `node` the hub applied (as of the last commit).
    pub fn applied_seq(&self, node: &stockpost_common::domain::NodeId) -> u64 {
        self.view().books.stock.applied_seq(node)
    }

    /// The published read model, for watching.
    pub fn published(&self) -> Published {
        self.writer.published.clone()
    }

    /// Stops everything; when it returns the store is closed (a restart in the same process
    /// can reopen it).
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        let _ = (&mut self.mqtt_task).await;
        for t in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        let thread = self.writer_thread.take();
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

/// The writer's timer: downlink resends, release, backorders, late orders.
fn tick(
    config: &HubConfig,
    writer: &WriterHandle<Publish>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let tx = writer.tx.clone();
    let every = Duration::from_millis(config.downlink.tick_ms);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = interval.tick() => {
                    // A full queue means the writer is busy; the next tick will do.
                    let _ = tx.try_send(Request::fire(Command::Tick));
                }
                _ = stop.changed() => if *stop.borrow() { break },
            }
        }
    })
}

async fn serve(
    config: &HubConfig,
    app: axum::Router,
    front: Arc<stockpost_http::Front>,
    mut stop: watch::Receiver<bool>,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), StartError> {
    let http_error = |source| StartError::Http {
        addr: config.http.listen.clone(),
        source,
    };
    let listener = tokio::net::TcpListener::bind(&config.http.listen)
        .await
        .map_err(http_error)?;
    let addr = listener.local_addr().map_err(http_error)?;
    let limits = stockpost_http::Limits {
        max_connections: config.http.max_connections,
        header_timeout: Duration::from_millis(config.http.header_timeout_ms),
    };
    let stopped = async move {
        while stop.changed().await.is_ok() {
            if *stop.borrow() {
                break;
            }
        }
    };
    let task = tokio::spawn(stockpost_http::serve(listener, app, limits, front, stopped));
    Ok((addr, task))
}

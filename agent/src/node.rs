//! Assembles a running agent: store, step writer, MQTT link.

use crate::bootstrap::{self, BootstrapStatus};
use crate::config::{AgentConfig, BootstrapPolicy};
use crate::link::{self, LinkConfig, LinkCounters, LinkStatus};
use crate::stations::{SlotSettings, StationRuntime};
use crate::store::{AgentStore, AgentStoreError};
use crate::writer::{self, AgentState, WriterConfig, WriterHandle};
use std::sync::Arc;
use tokio::sync::watch;

/// Why the agent cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] AgentStoreError),
    /// The MQTT settings are unusable.
    #[error(transparent)]
    Link(#[from] link::LinkError),
    /// A thread could not start.
    #[error("cannot start the step writer: {0}")]
    Thread(#[from] std::io::Error),
    /// A station's configuration is unusable.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

/// A running agent.
#[derive(Debug)]
pub struct AgentNode {
    /// The configuration it runs with.
    pub config: AgentConfig,
    /// Send steps here.
    pub writer: WriterHandle,
    /// Its store.
    pub store: AgentStore,
    /// The link's status.
    pub link_status: watch::Receiver<LinkStatus>,
    /// The link's counters.
    pub link_counters: Arc<LinkCounters>,
    /// The stations.
    pub stations: Arc<StationRuntime>,
    /// The bootstrap from the hub's snapshot (counters, last error).
    pub bootstrap: Arc<BootstrapStatus>,
    /// The HTTP front's limits and rejection counters.
    pub http_front: Arc<stockpost_http::Front>,
    shutdown: watch::Sender<bool>,
    link_task: tokio::task::JoinHandle<()>,
    writer_thread: Option<std::thread::JoinHandle<()>>,
}

impl AgentNode {
    /// Opens the store, loads the state, starts the writer and the link.
    pub async fn start(config: AgentConfig) -> Result<Self, StartError> {
        let (store, quarantined) = AgentStore::open(&config)?;
        if let Some(moved) = quarantined {
            tracing::error!(moved_to = %moved.display(), "the store was corrupt and was moved aside; starting empty");
        }
        let node = config.node();
        let mut settings = Vec::new();
        for s in &config.stations {
            settings.push(SlotSettings {
                config: s.to_task_config()?,
                duplicate_window_ms: s.duplicate_window_ms,
                idle_logout_secs: s.idle_logout_secs,
            });
        }
        let configs = settings.iter().map(|s| s.config.clone()).collect();
        let mut state = AgentState::load_with_stations(&store, &node, configs)?;
        tracing::info!(node = %node, head = state.head, acked = state.acked, "agent state loaded");
        // A new or wiped node must not number events from 1 again: it waits for the hub's
        // snapshot (docs/protocol.md, "Bootstrap").
        let needs_bootstrap = state.is_fresh()
            && config.hub.url.is_some()
            && config.hub.bootstrap == BootstrapPolicy::Required;
        if needs_bootstrap {
            tracing::info!(node = %node, "fresh store: waiting for the hub to bootstrap this node");
            state.bootstrap_pending = true;
        } else if state.is_fresh() && config.hub.url.is_some() {
            tracing::warn!(node = %node, "fresh store and hub.bootstrap = \"skip\": starting at sequence 1");
        }
        let (writer, writer_thread) = writer::start(
            store.clone(),
            state,
            WriterConfig {
                max_group: config.store.max_steps_per_commit,
                queue: config.store.step_queue,
            },
        )?;
        let stations = Arc::new(StationRuntime::new(writer.clone(), &settings));
        let link_config = LinkConfig::from_agent(&config)?;
        let (status_tx, link_status) = watch::channel(LinkStatus::default());
        let (shutdown, shutdown_rx) = watch::channel(false);
        let link_counters = Arc::new(LinkCounters::default());
        let bootstrap_status = Arc::new(BootstrapStatus::default());
        let link_task = tokio::spawn({
            let store = store.clone();
            let writer = writer.clone();
            let link_counters = Arc::clone(&link_counters);
            let bootstrap_status = Arc::clone(&bootstrap_status);
            let hub = config.hub.clone();
            async move {
                // The link starts only after the snapshot is committed: its sender and
                // receiver start from the seeded sequence marks.
                if needs_bootstrap
                    && !bootstrap::run(
                        hub,
                        node,
                        writer.clone(),
                        bootstrap_status,
                        shutdown_rx.clone(),
                    )
                    .await
                {
                    return;
                }
                link::run(
                    link_config,
                    store,
                    writer,
                    status_tx,
                    link_counters,
                    shutdown_rx,
                )
                .await;
            }
        });
        let http_front = Arc::new(stockpost_http::Front::new(stockpost_http::FrontLimits {
            max_uri_bytes: config.http.max_uri_bytes,
            request_timeout: std::time::Duration::from_millis(config.http.request_timeout_ms),
        }));
        Ok(Self {
            config,
            writer,
            store,
            link_status,
            link_counters,
            stations,
            bootstrap: bootstrap_status,
            http_front,
            shutdown,
            link_task,
            writer_thread: Some(writer_thread),
        })
    }

    /// Stops the link; the writer stops when the last handle is dropped.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        let _ = (&mut self.link_task).await;
        drop(self.stations);
        drop(self.writer);
        if let Some(t) = self.writer_thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

//! Assembles a running hub: store, ingest writer, MQTT side.

use crate::config::HubConfig;
use crate::ingest::{self, IngestConfig, IngestHandle};
use crate::mqtt::{self, MqttCounters};
use crate::store::{HubStore, HubStoreError};
use rumqttc::Publish;
use std::sync::Arc;
use stockpost_common::sync::ReceiverConfig;
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
    shutdown: watch::Sender<bool>,
    mqtt_task: tokio::task::JoinHandle<Result<(), String>>,
}

impl HubNode {
    /// Opens the store, loads the ledger, starts ingest and MQTT.
    pub async fn start(config: HubConfig) -> Result<Self, StartError> {
        let (store, quarantined) = HubStore::open(&config)?;
        if let Some(moved) = quarantined {
            tracing::error!(moved_to = %moved.display(), "the hub store was corrupt and was moved aside; starting empty");
        }
        mqtt::options(&config).map_err(StartError::Mqtt)?;
        let (out_tx, out_rx) = mpsc::channel(config.ingest.queue.max(16) * 4);
        let (ingest, _thread) = ingest::start(
            store.clone(),
            IngestConfig {
                max_group: config.ingest.max_batches_per_commit,
                queue: config.ingest.queue,
                receiver: ReceiverConfig {
                    resend_interval_ms: config.ingest.resend_interval_ms,
                },
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
            shutdown_rx,
        ));
        Ok(Self {
            config,
            store,
            ingest,
            mqtt_counters,
            shutdown,
            mqtt_task,
        })
    }

    /// Stops the MQTT side.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        let _ = (&mut self.mqtt_task).await;
    }
}

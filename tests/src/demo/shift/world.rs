//! The shift's world: the broker, the hub (which the shift restarts once) and N agent nodes,
//! each with the demo's devices (pty scanners at `hh-1` and `pack-1`, a pty scale and a TCP
//! label printer at `pack-1`). One node reaches the broker through a [`Proxy`] so the shift can
//! cut its network silently and heal it again.

use crate::demo::setup::{hub_config, plug_devices, BrokerChoice, BROKER};
use crate::hubapi::Api;
use crate::mosquitto::{free_port, Mosquitto};
use crate::proxy::Proxy;
use crate::sim::printer::PrinterSim;
use crate::station::{StationAgent, STATIONS};
use anyhow::Context;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use stockpost_hub::node::HubNode;
use tokio::sync::Mutex;

/// One agent node of the shift.
#[derive(Debug)]
pub struct Node {
    /// `DC-01`, …
    pub id: String,
    /// The agent with its stations and devices.
    pub agent: StationAgent,
    /// The label printer at `pack-1`.
    pub printer: PrinterSim,
}

/// A running shift world.
#[derive(Debug)]
pub struct ShiftWorld {
    /// Where the stores live.
    pub dir: PathBuf,
    /// The hub; `None` only while it restarts.
    pub hub: Mutex<Option<HubNode>>,
    /// Where the hub's HTTP API listens (the same after a restart).
    pub http_addr: SocketAddr,
    /// The hub's API client: a new one (new connections) after a hub restart.
    api: std::sync::Mutex<Api>,
    /// The admin token.
    pub token: String,
    /// The nodes, in priority order.
    pub nodes: Vec<Node>,
    /// The node that goes offline (index into `nodes`).
    pub offline: usize,
    /// The network between that node and the broker.
    pub offline_link: Proxy,
    http_port: u16,
    mqtt: String,
    broker: Option<Mosquitto>,
}

impl ShiftWorld {
    /// Starts the broker, the hub (HTTP on `http_port`) and `ids.len()` nodes under `dir`;
    /// node `offline` connects through a proxy.
    pub async fn start(
        dir: &Path,
        http_port: u16,
        ids: &[String],
        offline: usize,
    ) -> anyhow::Result<Self> {
        let token = format!("demo-{:032x}", rand::random::<u128>());
        let (broker, mqtt): (Option<Mosquitto>, SocketAddr) = match BROKER {
            BrokerChoice::Mosquitto => {
                let b = Mosquitto::start(&dir.join("broker"))
                    .context("starting mosquitto (install it, e.g. apt-get install mosquitto)")?;
                let addr = b.addr();
                (Some(b), addr)
            }
            BrokerChoice::Embedded => (None, SocketAddr::from(([127, 0, 0, 1], free_port()?))),
        };
        let mqtt_text = mqtt.to_string();
        let hub = HubNode::start(hub_config(&dir.join("hub"), http_port, &mqtt_text, &token)?)
            .await
            .context("starting the hub")?;
        let api = Api::new(&hub)?;
        let http_addr = hub.http_addr;
        let offline_link = Proxy::start(mqtt).await?;
        let mut nodes = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let via = if i == offline {
                offline_link.addr().to_string()
            } else {
                mqtt_text.clone()
            };
            let store = dir.join(id.to_lowercase());
            let mut agent = StationAgent::start_node(&store, id, &via, STATIONS)
                .await
                .with_context(|| format!("starting {id}"))?;
            let printer = plug_devices(&mut agent).await?;
            nodes.push(Node {
                id: id.clone(),
                agent,
                printer,
            });
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            hub: Mutex::new(Some(hub)),
            http_addr,
            api: std::sync::Mutex::new(api),
            token,
            nodes,
            offline,
            offline_link,
            http_port,
            mqtt: mqtt_text,
            broker,
        })
    }

    /// The hub's API client.
    pub fn api(&self) -> Api {
        self.api.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The id of the node that goes offline.
    pub fn offline_id(&self) -> &str {
        &self.nodes[self.offline].id
    }

    /// Stops the hub. The embedded broker keeps running: rumqttd cannot be stopped in-process
    /// (`hub/src/broker.rs`), so the agents' broker sessions survive and only the hub is new
    /// after [`ShiftWorld::start_hub`].
    pub async fn stop_hub(&self) {
        if let Some(hub) = self.hub.lock().await.take() {
            hub.stop().await;
        }
    }

    /// Starts the hub again on the same store, HTTP port and broker address.
    pub async fn start_hub(&self) -> anyhow::Result<()> {
        let config = hub_config(
            &self.dir.join("hub"),
            self.http_port,
            &self.mqtt,
            &self.token,
        )?;
        let hub = HubNode::start(config)
            .await
            .context("starting the hub again")?;
        let api = Api::new(&hub)?;
        *self.hub.lock().await = Some(hub);
        *self.api.lock().unwrap_or_else(|e| e.into_inner()) = api;
        Ok(())
    }

    /// Stops the nodes, the hub and the broker.
    pub async fn stop(self) {
        for node in self.nodes {
            node.agent.stop().await;
        }
        if let Some(hub) = self.hub.into_inner() {
            hub.stop().await;
        }
        drop(self.offline_link);
        drop(self.broker);
    }
}

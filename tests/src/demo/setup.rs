//! The demo's world: a fresh directory, the broker, the hub with its API and dashboard, and
//! three agent nodes with stations. Every node's handheld `hh-1` has a barcode scanner and its
//! pack station `pack-1` a scanner, a continuous scale (both on the far end of real ptys,
//! read by the agent's own drivers) and a TCP ZPL label printer simulator. DC-NORTH reaches
//! the broker through a [`Proxy`] so the shift can take it offline and bring it back.

use super::{EAST, NORTH, WEST};
use crate::hubapi::Api;
use crate::mosquitto::{free_port, Mosquitto};
use crate::proxy::Proxy;
use crate::sim::printer::PrinterSim;
use crate::station::{StationAgent, STATIONS};
use anyhow::Context;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use stockpost_hub::config::HubConfig;
use stockpost_hub::node::HubNode;

/// Where MQTT runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerChoice {
    /// A Mosquitto process started by the demo (needs `mosquitto` on the PATH).
    Mosquitto,
    /// The hub's embedded broker (`[mqtt] embedded_broker = true`).
    Embedded,
}

/// The demo's broker: the one place to switch.
pub const BROKER: BrokerChoice = BrokerChoice::Embedded;

/// The port the dashboard gets when it is free.
pub const PREFERRED_HTTP_PORT: u16 = 8080;

/// A running demo world.
#[derive(Debug)]
pub struct World {
    /// Where the stores live.
    pub dir: PathBuf,
    /// The hub.
    pub hub: HubNode,
    /// The hub's API client.
    pub api: Api,
    /// The admin token the demo uses (printed for the dashboard).
    pub token: String,
    /// DC-EAST (allocation priority 1).
    pub east: StationAgent,
    /// DC-WEST (priority 2).
    pub west: StationAgent,
    /// DC-NORTH (priority 3), connected through [`World::north_link`].
    pub north: StationAgent,
    /// The network between DC-NORTH and the broker.
    pub north_link: Proxy,
    /// Each node's label printer (at `pack-1`), in [`super::NODES`] order.
    pub printers: Vec<(&'static str, PrinterSim)>,
    broker: Option<Mosquitto>,
}

/// The HTTP port: `requested` if given (0 = any free port), else 8080 when free, else a free one.
pub fn http_port(requested: Option<u16>) -> anyhow::Result<u16> {
    match requested {
        Some(0) => Ok(free_port()?),
        Some(p) => Ok(p),
        None => match std::net::TcpListener::bind(("127.0.0.1", PREFERRED_HTTP_PORT)) {
            Ok(_) => Ok(PREFERRED_HTTP_PORT),
            Err(_) => Ok(free_port()?),
        },
    }
}

/// The demo hub's configuration: HTTP on `http`, MQTT at `mqtt` (the embedded broker there when
/// [`BROKER`] says so), `token` as the admin token. The shift demo restarts the hub with it.
pub fn hub_config(dir: &Path, http: u16, mqtt: &str, token: &str) -> anyhow::Result<HubConfig> {
    let embedded = if BROKER == BrokerChoice::Embedded {
        "embedded_broker = true\n"
    } else {
        ""
    };
    let text = format!(
        "data_dir = \"{}\"\n[http]\nlisten = \"127.0.0.1:{http}\"\n[mqtt]\naddress = \"{mqtt}\"\n{embedded}client_id = \"stockpost-hub-demo\"\nkeep_alive_secs = 5\nreconnect_min_ms = 50\nreconnect_max_ms = 1000\n[ingest]\nresend_interval_ms = 200\n[downlink]\ntick_ms = 50\nack_timeout_ms = 1000\n",
        dir.display()
    );
    let env = vec![("STOCKPOST_ADMIN_TOKEN".to_string(), token.to_string())];
    Ok(HubConfig::from_toml(
        &text,
        Path::new("demo-hub.toml"),
        &env,
    )?)
}

impl World {
    /// Starts the broker, the hub (HTTP on `http_port`) and the three nodes under `dir`.
    pub async fn start(dir: &Path, http_port: u16) -> anyhow::Result<Self> {
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
        let mut east =
            StationAgent::start_node(&dir.join("east"), EAST, &mqtt_text, STATIONS).await?;
        let mut west =
            StationAgent::start_node(&dir.join("west"), WEST, &mqtt_text, STATIONS).await?;
        let north_link = Proxy::start(mqtt).await?;
        let mut north = StationAgent::start_node(
            &dir.join("north"),
            NORTH,
            &north_link.addr().to_string(),
            STATIONS,
        )
        .await?;
        let mut printers = Vec::new();
        for (node, agent) in [(EAST, &mut east), (WEST, &mut west), (NORTH, &mut north)] {
            printers.push((node, plug_devices(agent).await?));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            hub,
            api,
            token,
            east,
            west,
            north,
            north_link,
            printers,
            broker,
        })
    }

    /// What `node`'s label printer has printed so far (ZPL jobs).
    pub fn printed(&self, node: &str) -> Vec<String> {
        self.printers
            .iter()
            .find(|(n, _)| *n == node)
            .map(|(_, p)| p.printed().borrow().clone())
            .unwrap_or_default()
    }

    /// The agent of `node`.
    pub fn agent(&self, node: &str) -> &StationAgent {
        match node {
            EAST => &self.east,
            WEST => &self.west,
            _ => &self.north,
        }
    }

    /// Stops the nodes, the hub and the broker.
    pub async fn stop(self) {
        self.east.stop().await;
        self.west.stop().await;
        self.north.stop().await;
        self.hub.stop().await;
        drop(self.north_link);
        drop(self.broker);
    }
}

/// Plugs a scanner into the handheld, and a scanner, a scale and a label printer into the pack
/// station of `agent`. Returns the printer.
pub async fn plug_devices(agent: &mut StationAgent) -> anyhow::Result<PrinterSim> {
    agent.plug_scanner("hh-1").await?;
    agent.plug_scanner("pack-1").await?;
    agent.plug_scale("pack-1").await?;
    agent.plug_printer("pack-1").await
}

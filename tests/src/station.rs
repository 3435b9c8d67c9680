//! An agent with stations for end-to-end tests: started in-process with its HTTP API on a free
//! loopback port, master data seeded through the writer's downlink path (the path the hub's
//! downlink takes), and a small HTTP client for the scan API.

use anyhow::{anyhow, Context};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use stockpost_agent::config::AgentConfig;
use stockpost_agent::node::AgentNode;
use stockpost_agent::writer::lock;
use stockpost_common::domain::{
    Dec, Event, Gtin, Item, ItemGtin, LocationCode, LocationInfo, LocationKind, NonNegQty,
    PackLevel, Sku, Tracking,
};
use stockpost_common::tasks::{TaskLine, TaskSpec};
use stockpost_common::wire::DownlinkItem;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

/// The agent.toml text for a test node with `stations` (TOML `[[stations]]` blocks), after
/// writing its test credential beside `data_dir` (an unwritable place leaves the file out and
/// the agent refuses the config, naming `sync.credential_file`).
pub fn station_config_text(data_dir: &Path, http: &str, stations: &str) -> String {
    let credential = crate::keys::credential_line(data_dir, "DC-EAST").unwrap_or_default();
    format!(
        "node_id = \"DC-EAST\"\ndata_dir = \"{}\"\n[mqtt]\naddress = \"127.0.0.1:9\"\nreconnect_min_ms = 1000\nreconnect_max_ms = 5000\n[http]\nlisten = \"{http}\"\n[sync]\n{credential}{stations}",
        data_dir.display()
    )
}

/// The stations most tests use: a handheld doing everything but pack/ship, and a pack station.
/// Their duplicate-fire window is off, because tests scan the same payload (`C:CONFIRM`)
/// faster than a person can; the filter has its own test.
pub const STATIONS: &str = "[[stations]]\nid = \"hh-1\"\nkinds = [\"receive\", \"putaway\", \"pick\", \"count\", \"replenish\", \"return\"]\nreceiving_location = \"DOCK-1\"\nreturns_location = \"RET-1\"\nduplicate_window_ms = 0\n\n[[stations]]\nid = \"pack-1\"\nkinds = [\"pack\", \"ship\"]\ncarton_tare_kg = \"0.200\"\nduplicate_window_ms = 0\n";

/// A running in-process agent with its HTTP API.
#[derive(Debug)]
pub struct StationAgent {
    /// The node.
    pub node: Arc<AgentNode>,
    /// Where its HTTP API listens.
    pub addr: SocketAddr,
    /// Devices attached to its stations (tests attach simulators here).
    pub devices: stockpost_agent::stations::devices::Devices,
    /// Simulated devices that [`StationAgent::ok`], [`StationAgent::scan`] and
    /// `shift::weigh` go through when plugged in (`crate::station_devices`).
    pub routes: tokio::sync::Mutex<crate::station_devices::DeviceRoutes>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl StationAgent {
    /// Starts an agent with `stations` storing under `dir`.
    pub async fn start(dir: &Path, stations: &str) -> anyhow::Result<Self> {
        let text = station_config_text(dir, "127.0.0.1:0", stations);
        let config = AgentConfig::from_toml(&text, Path::new("test-agent.toml"), &[])?;
        Self::start_with(config).await
    }

    /// Starts node `node` with `stations`, storing under `dir` and syncing with the hub
    /// through the broker at `mqtt` (test timings: fast reconnects and acks).
    pub async fn start_node(
        dir: &Path,
        node: &str,
        mqtt: &str,
        stations: &str,
    ) -> anyhow::Result<Self> {
        let text = format!(
            "node_id = \"{node}\"\ndata_dir = \"{}\"\n[mqtt]\naddress = \"{mqtt}\"\nkeep_alive_secs = 5\nreconnect_min_ms = 50\nreconnect_max_ms = 1000\n[sync]\nack_timeout_ms = 3000\n{}[http]\nlisten = \"127.0.0.1:0\"\n{stations}",
            dir.display(),
            crate::keys::credential_line(dir, node)?
        );
        let config = AgentConfig::from_toml(&text, Path::new("test-agent.toml"), &[])?;
        Self::start_with(config).await
    }

    /// Starts an agent from `config`, serving its HTTP API on a free loopback port.
    pub async fn start_with(config: AgentConfig) -> anyhow::Result<Self> {
        let node = Arc::new(AgentNode::start(config).await?);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(stockpost_agent::http::serve(
            Arc::clone(&node),
            listener,
            async move {
                let _ = stopped.await;
            },
        ));
        let server = tokio::spawn(async move {
            let _ = server.await;
        });
        Ok(Self {
            node,
            addr,
            devices: stockpost_agent::stations::devices::Devices::default(),
            routes: tokio::sync::Mutex::default(),
            stop: Some(stop),
            server: Some(server),
        })
    }

    /// Polls `GET /api/v1/stations/{station}` until `check` holds (deadline 10 s); returns
    /// the state.
    pub async fn wait_station(
        &self,
        station: &str,
        mut check: impl FnMut(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let v = self.get(&format!("/api/v1/stations/{station}")).await?;
            if check(&v) {
                return Ok(v);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(anyhow!(
                    "station {station} never reached the state; last {v}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the HTTP server and the node.
    pub async fn stop(mut self) {
        std::mem::take(self.routes.get_mut()).unplug_all();
        drop(std::mem::take(&mut self.devices));
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(s) = self.server.take() {
            let _ = s.await;
        }
        // Let the aborted device tasks drop what they hold.
        tokio::task::yield_now().await;
        if let Ok(node) = Arc::try_unwrap(self.node) {
            let stopped = tokio::time::timeout(Duration::from_secs(20), node.stop()).await;
            assert!(
                stopped.is_ok(),
                "the agent did not stop: something still holds a writer handle"
            );
        }
    }

    /// Applies master data and tasks through the downlink path.
    pub async fn downlink(&self, items: Vec<DownlinkItem>) -> anyhow::Result<u64> {
        let first = lock(self.node.writer.state()).down_applied + 1;
        Ok(self.node.writer.downlink(first, items).await?)
    }

    /// Seeds the standard test world (items and locations).
    pub async fn seed_world(&self) -> anyhow::Result<()> {
        self.downlink(world()?).await.map(|_| ())
    }

    /// Sends a task down.
    pub async fn task(&self, spec: TaskSpec) -> anyhow::Result<()> {
        self.downlink(vec![DownlinkItem::Task(spec)])
            .await
            .map(|_| ())
    }

    /// `POST /api/v1/stations/{station}/scan`; returns the answer JSON (status must be 200).
    /// With a scanner plugged into the station the scan goes through it instead, and the
    /// answer is built from the station update it caused.
    pub async fn scan(&self, station: &str, data: &str) -> anyhow::Result<Value> {
        if let Some(scanner) = self.routes.lock().await.scanner(station) {
            let state = scanner.scan(data).await?;
            let error = state.get("last_error").cloned().unwrap_or(Value::Null);
            return Ok(
                serde_json::json!({"accepted": error.is_null(), "error": error, "station": state}),
            );
        }
        let body = serde_json::json!({ "data": data }).to_string();
        let (status, v) = http(
            self.addr,
            "POST",
            &format!("/api/v1/stations/{station}/scan"),
            Some(&body),
        )
        .await?;
        if status != 200 {
            return Err(anyhow!("scan {data:?} at {station}: HTTP {status}: {v}"));
        }
        Ok(v)
    }

    /// Scans and requires acceptance; returns the new station state.
    pub async fn ok(&self, station: &str, data: &str) -> anyhow::Result<Value> {
        let v = self.scan(station, data).await?;
        if v["accepted"] != Value::Bool(true) {
            return Err(anyhow!("scan {data:?} at {station} was refused: {v}"));
        }
        Ok(v["station"].clone())
    }

    /// Scans and requires a refusal with `code`; returns the answer.
    pub async fn refused(&self, station: &str, data: &str, code: &str) -> anyhow::Result<Value> {
        let v = self.scan(station, data).await?;
        if v["accepted"] != Value::Bool(false) || v["error"]["code"] != code {
            return Err(anyhow!(
                "scan {data:?} at {station}: expected refusal {code}, got {v}"
            ));
        }
        Ok(v)
    }

    /// GET a JSON path (status must be 200).
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let (status, v) = http(self.addr, "GET", path, None).await?;
        if status != 200 {
            return Err(anyhow!("GET {path}: HTTP {status}: {v}"));
        }
        Ok(v)
    }

    /// Every event in the outbox (nothing is acked in these tests: no hub).
    pub fn outbox(&self) -> anyhow::Result<Vec<Event>> {
        let (acked, head) = {
            let s = lock(self.node.writer.state());
            (s.acked, s.head)
        };
        if head == acked {
            return Ok(Vec::new());
        }
        Ok(self.node.store.read_outbox(acked + 1, head)?)
    }

    /// The non-zero balances of `sku` from `GET /stock`, one line each, sorted:
    /// `place [lot=…] [serial=…] [exp=…] status on_hand`.
    pub async fn stock_lines(&self, sku: &str) -> anyhow::Result<Vec<String>> {
        let v = self.get(&format!("/api/v1/stock?sku={sku}")).await?;
        let mut lines = Vec::new();
        for b in v["balances"].as_array().into_iter().flatten() {
            let on_hand =
                Dec::from_str(b["on_hand"].as_str().unwrap_or("0")).map_err(|e| anyhow!("{e}"))?;
            if on_hand == Dec::ZERO {
                continue;
            }
            let mut line = b["location"]
                .as_str()
                .or_else(|| b["container"].as_str())
                .unwrap_or("?")
                .to_string();
            for (key, name) in [("lot", "lot"), ("serial", "serial"), ("expiry", "exp")] {
                if let Some(x) = b[key].as_str() {
                    line.push_str(&format!(" {name}={x}"));
                }
            }
            line.push_str(&format!(
                " {} {on_hand}",
                b["status"].as_str().unwrap_or("?")
            ));
            lines.push(line);
        }
        lines.sort();
        Ok(lines)
    }

    /// The on-hand quantity of `sku` at `location` (any status), from `GET /stock`.
    pub async fn on_hand(&self, sku: &str, location: &str) -> anyhow::Result<Dec> {
        let v = self
            .get(&format!("/api/v1/stock?sku={sku}&location={location}"))
            .await?;
        let mut total = Dec::ZERO;
        for b in v["balances"].as_array().into_iter().flatten() {
            let q =
                Dec::from_str(b["on_hand"].as_str().unwrap_or("0")).map_err(|e| anyhow!("{e}"))?;
            total = total.checked_add(q).ok_or_else(|| anyhow!("overflow"))?;
        }
        Ok(total)
    }
}

/// A GTIN-14 with its check digit from 13 digits.
pub fn gtin14(body: &str) -> String {
    let digits: Vec<u32> = body.chars().filter_map(|c| c.to_digit(10)).collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// The mug's each GTIN.
pub fn mug() -> String {
    gtin14("0950110153000")
}
/// The mug's case GTIN (12 each).
pub fn mug_case() -> String {
    gtin14("1950110153000")
}
/// The pen's each GTIN.
pub fn pen() -> String {
    gtin14("0950110153101")
}

fn item(sku: &str, gtins: &[(String, PackLevel, &str)], weight: &str) -> anyhow::Result<Item> {
    let mut list = Vec::new();
    for (g, pack, qty) in gtins {
        list.push(ItemGtin {
            gtin: Gtin::new(g.as_str()).map_err(|e| anyhow!("{e}"))?,
            pack: *pack,
            qty_per_pack: stockpost_common::domain::Qty::from_str(qty)
                .map_err(|e| anyhow!("{e}"))?,
        });
    }
    Ok(Item {
        sku: Sku::new(sku)?,
        description: format!("{sku} for tests"),
        gtins: list,
        tracking: Tracking::None,
        expiry_controlled: false,
        unit_weight_kg: Some(NonNegQty::from_str(weight).map_err(|e| anyhow!("{e}"))?),
        weight_tolerance_pct: Some(NonNegQty::from_str("5").map_err(|e| anyhow!("{e}"))?),
    })
}

fn location(code: &str, kind: LocationKind, pickable: bool) -> anyhow::Result<DownlinkItem> {
    Ok(DownlinkItem::LocationUpsert {
        code: LocationCode::new(code)?,
        info: LocationInfo {
            kind,
            pickable,
            capacity: None,
        },
    })
}

/// Items MUG-BLUE (each + case of 12, 0.350 kg) and PEN-RED (0.010 kg); locations DOCK-1
/// (receiving), A-01-01 and A-01-02 (reserve), P-01-01 (pick), PACK-1, SHIP-1, RET-1.
pub fn world() -> anyhow::Result<Vec<DownlinkItem>> {
    Ok(vec![
        DownlinkItem::ItemUpsert(item(
            "MUG-BLUE",
            &[
                (mug(), PackLevel::Each, "1"),
                (mug_case(), PackLevel::Case, "12"),
            ],
            "0.350",
        )?),
        DownlinkItem::ItemUpsert(item("PEN-RED", &[(pen(), PackLevel::Each, "1")], "0.010")?),
        location("DOCK-1", LocationKind::Receiving, false)?,
        location("A-01-01", LocationKind::Reserve, true)?,
        location("A-01-02", LocationKind::Reserve, true)?,
        location("P-01-01", LocationKind::Pick, true)?,
        location("PACK-1", LocationKind::Pack, false)?,
        location("SHIP-1", LocationKind::Ship, false)?,
        location("RET-1", LocationKind::Returns, false)?,
    ])
}

/// The lot- and expiry-controlled item's each GTIN.
pub fn vaccine() -> String {
    gtin14("0950110153200")
}
/// The serial-controlled item's each GTIN.
pub fn handset() -> String {
    gtin14("0950110153309")
}

/// Tracked items for the GS1 flows: VAX-LOT (lot-controlled and expiry-controlled, 0.100 kg)
/// and SCN-SER (serial-controlled, 0.500 kg).
pub fn tracked_items() -> anyhow::Result<Vec<DownlinkItem>> {
    let mut vax = item("VAX-LOT", &[(vaccine(), PackLevel::Each, "1")], "0.100")?;
    vax.tracking = Tracking::Lot;
    vax.expiry_controlled = true;
    let mut handset = item("SCN-SER", &[(handset(), PackLevel::Each, "1")], "0.500")?;
    handset.tracking = Tracking::Serial;
    Ok(vec![
        DownlinkItem::ItemUpsert(vax),
        DownlinkItem::ItemUpsert(handset),
    ])
}

/// A minimal HTTP/1.1 request (Connection: close); returns the status and the JSON body
/// (`Value::String` with the raw text when the body is not JSON).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> anyhow::Result<(u16, Value)> {
    let (status, text) = http_text(addr, method, path, body).await?;
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, v))
}

/// A minimal HTTP/1.1 request returning the status and the body text.
pub async fn http_text(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> anyhow::Result<(u16, String)> {
    let fut = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        let body = body.unwrap_or("");
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, rest) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| anyhow!("no HTTP header in {text:?}"))?;
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("no status in {head:?}"))?;
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(rest)
        } else {
            rest.to_string()
        };
        Ok::<_, anyhow::Error>((status, body))
    };
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .context("HTTP request timed out")?
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// A task line for test tasks: `qty` of `sku`, from location `from`, to location `to`.
/// Panics on an invalid constant (a fixture, not outside input).
pub fn task_line(sku: &str, qty: &str, from: Option<&str>, to: Option<&str>) -> TaskLine {
    let location =
        |l: &str| LocationCode::new(l).unwrap_or_else(|e| panic!("test location {l:?}: {e}"));
    TaskLine {
        sku: Sku::new(sku).unwrap_or_else(|e| panic!("test sku {sku:?}: {e}")),
        qty: stockpost_common::domain::Qty::from_str(qty)
            .unwrap_or_else(|e| panic!("test quantity {qty:?}: {e}")),
        location: from.map(location),
        to: to.map(location),
        lot: None,
        serial: None,
        expiry: None,
    }
}

/// A test task `id` of `kind` with `lines`. Panics on an invalid constant id.
pub fn task_spec(
    id: &str,
    kind: stockpost_common::tasks::TaskKind,
    lines: Vec<TaskLine>,
) -> TaskSpec {
    let id = stockpost_common::domain::TaskId::new(id)
        .unwrap_or_else(|e| panic!("test task id {id:?}: {e}"));
    let mut t = TaskSpec::new(id, kind);
    t.lines = lines;
    t
}

//! The simulated operators of one node: a picker at the handheld `hh-1` (receiving, putaway,
//! picks, counts) and a packer at the pack station `pack-1` (pack with check-weigh, ship).
//! Both do what their station asks for, scan by scan through the node's pty scanners and
//! scale, like people would; the picker hands each finished tote to the packer over a bounded
//! channel (the conveyor). Now and then the picker finds one unit fewer than asked (a short
//! pick; the unit is gone, the count the hub sends finds it missing) and the packer puts a
//! carton on the scale out of tolerance before weighing it right. A pick line and a carton take
//! the operator [`Crew::pace`] of the shift's compressed clock, so work queues up at the nodes
//! when orders arrive faster than people can pick them.

use super::plan::{Plan, STORAGE};
use super::tally::Tally;
use super::world::Node;
use crate::shift::{pack, put_away_all, receive, ship, sign_in, take, wait_task, weigh, Scan};
use crate::station::StationAgent;
use anyhow::{anyhow, bail, ensure, Context};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// The handheld.
const HH: &str = "hh-1";
/// The pack station.
const PACK: &str = "pack-1";
/// Every how many `A` picks of a node's own item the picker finds one short.
const SHORT_EVERY: u32 = 7;
/// Every how many cartons the packer first weighs out of tolerance.
const MISWEIGH_EVERY: u32 = 20;
/// The pack station's carton tare (`STATIONS`).
const TARE_KG: Decimal = Decimal::from_parts(200, 0, 0, false, 3);
/// How often an idle operator looks for work.
const IDLE_POLL: Duration = Duration::from_millis(25);

/// A picked tote on its way to the pack station.
#[derive(Debug)]
pub struct Tote {
    /// Its label.
    pub id: String,
    /// What is in it: (sku, units).
    pub items: Vec<(String, u64)>,
}

/// One node's operators and what they share.
#[derive(Debug)]
pub struct Crew<'a> {
    /// The plan (items, GTINs).
    pub plan: &'a Plan,
    /// The oracle.
    pub tally: &'a Tally,
    /// The node.
    pub node: &'a Node,
    /// Its index in the plan.
    pub index: usize,
    /// Most short picks this node makes.
    pub max_shorts: u64,
    /// Set when the shift is over: idle operators go home.
    pub done: &'a AtomicBool,
    /// The operators' time for a pick line (the walk to the shelf) and for packing a carton,
    /// on the shift's compressed clock: the simulated person, not a wait for the system.
    pub pace: Duration,
}

fn text(v: &Value) -> anyhow::Result<&str> {
    v.as_str()
        .ok_or_else(|| anyhow!("expected a string, got {v}"))
}

fn units(v: &Value) -> anyhow::Result<u64> {
    let d: Decimal = text(v)?.parse()?;
    u64::try_from(d.trunc().mantissa()).map_err(|_| anyhow!("not a unit count: {d}"))
}

impl Crew<'_> {
    fn agent(&self) -> &StationAgent {
        &self.node.agent
    }

    fn gtin(&self, sku: &str) -> anyhow::Result<&str> {
        self.plan
            .gtin(sku)
            .ok_or_else(|| anyhow!("{sku} is not in the catalogue"))
    }

    /// Receives the node's inbound notice `doc` and puts everything away.
    pub async fn receive(&self, doc: &str) -> anyhow::Result<()> {
        let a = self.agent();
        let task = wait_task(a, "receive", doc).await?;
        sign_in(a, HH, &format!("op-{}", self.node.id.to_lowercase())).await?;
        take(a, HH, text(&task["id"])?).await?;
        let lines = &self.plan.receipts[self.index];
        let qty: Vec<String> = lines.iter().map(|(_, q)| q.to_string()).collect();
        let mut scans = Vec::new();
        for ((sku, _), q) in lines.iter().zip(&qty) {
            scans.push(Scan {
                gtin: self.gtin(sku)?,
                qty: q,
            });
        }
        receive(a, HH, &scans).await?;
        for (sku, q) in lines {
            self.tally.received(&self.node.id, sku, u64::from(*q));
        }
        put_away_all(a, HH).await?;
        Ok(())
    }

    /// The picker's shift: works whatever `hh-1` is given until the shift is over.
    pub async fn picker(&self, conveyor: mpsc::Sender<Tote>) -> anyhow::Result<()> {
        let a = self.agent();
        let mut missing: BTreeMap<(String, String), u64> = BTreeMap::new();
        let (mut a_picks, mut totes) = (0u32, 0u32);
        loop {
            let s = a.get(&format!("/api/v1/stations/{HH}")).await?;
            if s["operator"].is_null() {
                sign_in(a, HH, &format!("op-{}", self.node.id.to_lowercase())).await?;
                continue;
            }
            match s["task"]["kind"].as_str() {
                None => {
                    if !self.next_task(HH, &["pick", "count", "putaway"]).await? {
                        return Ok(());
                    }
                }
                Some("pick") => {
                    totes += 1;
                    let id = format!("TOTE-{}-{totes:04}", &self.node.id[3..]);
                    let tote = self.pick(&id, &mut a_picks, &mut missing).await?;
                    if !tote.items.is_empty() {
                        conveyor
                            .send(tote)
                            .await
                            .map_err(|_| anyhow!("the packer at {} left", self.node.id))?;
                    }
                }
                Some("count") => self.count(&mut missing).await?,
                Some("putaway") => drop(put_away_all(a, HH).await?),
                Some(other) => bail!("{HH} at {} got a {other} task: {s}", self.node.id),
            }
        }
    }

    /// Waits for an open task of `kinds` and asks `station` for it (`C:NEXT`). False when the
    /// shift is over and nothing is left.
    async fn next_task(&self, station: &str, kinds: &[&str]) -> anyhow::Result<bool> {
        let a = self.agent();
        loop {
            let open = a.get("/api/v1/tasks?status=open").await?;
            let any = open["tasks"].as_array().into_iter().flatten().any(|t| {
                kinds.iter().any(|k| t["kind"] == *k)
                    && (t["station"].is_null() || t["station"] == station)
            });
            if any {
                // Refused (`no_task`) when the task is not one this station may take (yet):
                // look again a little later.
                let answer = a.scan(station, "C:NEXT").await?;
                if answer["accepted"] != true {
                    tokio::time::sleep(IDLE_POLL).await;
                }
                return Ok(true);
            }
            if self.done.load(Ordering::SeqCst) {
                return Ok(false);
            }
            tokio::time::sleep(IDLE_POLL).await;
        }
    }

    /// Picks the task `hh-1` works on into `tote`, line by line as the station directs.
    async fn pick(
        &self,
        tote: &str,
        a_picks: &mut u32,
        missing: &mut BTreeMap<(String, String), u64>,
    ) -> anyhow::Result<Tote> {
        let a = self.agent();
        let (mut items, mut started) = (Vec::new(), false);
        loop {
            let s = a.get(&format!("/api/v1/stations/{HH}")).await?;
            ensure!(s["task"]["kind"] == "pick", "{HH} left its pick: {s}");
            let e = &s["expect"];
            match e["scan"].as_str() {
                // First the empty tote (unless the task names one), at the end the same tote
                // to finish.
                Some("container") => {
                    a.ok(HH, &format!("T:{tote}")).await?;
                    if started {
                        return Ok(Tote {
                            id: tote.into(),
                            items,
                        });
                    }
                    started = true;
                }
                Some("location") => {
                    started = true;
                    let prompt = || format!("the pick prompt at {}: {s}", self.node.id);
                    let location = match e["location"].as_str() {
                        Some(l) => l.to_string(),
                        None => self.shelf(text(&e["sku"]).with_context(prompt)?).await?,
                    };
                    let location = location.as_str();
                    let sku = text(&e["sku"]).with_context(prompt)?;
                    let asked = units(&e["qty"]).with_context(prompt)?;
                    let mut found = asked;
                    if self.plan.shortable_at(sku, self.index) && asked >= 2 {
                        *a_picks += 1;
                        if *a_picks % SHORT_EVERY == 0
                            && self.tally.shorts_at(&self.node.id) < self.max_shorts
                        {
                            found = asked - 1;
                        }
                    }
                    tokio::time::sleep(self.pace).await;
                    a.ok(HH, &format!("L:{location}")).await?;
                    a.ok(HH, self.gtin(sku)?).await?;
                    a.ok(HH, &format!("Q:{found}")).await?;
                    if found < asked {
                        a.ok(HH, "C:SHORT").await?;
                        self.tally.short(&self.node.id);
                        *missing.entry((location.into(), sku.into())).or_default() += asked - found;
                    } else {
                        a.ok(HH, "C:CONFIRM").await?;
                    }
                    items.push((sku.to_string(), found));
                }
                _ => bail!(
                    "{HH} at {} asks for something unexpected: {s}",
                    self.node.id
                ),
            }
        }
    }

    /// Where the node keeps `sku` on a shelf (the storage location holding the most of it),
    /// for a pick line that names no location.
    async fn shelf(&self, sku: &str) -> anyhow::Result<String> {
        let v = self
            .agent()
            .get(&format!("/api/v1/stock?sku={sku}"))
            .await?;
        let mut best: Option<(u64, String)> = None;
        for b in v["balances"].as_array().into_iter().flatten() {
            let Some(location) = b["location"].as_str() else {
                continue;
            };
            let on_hand = units(&b["on_hand"])?;
            if STORAGE.contains(&location) && best.as_ref().is_none_or(|(q, _)| on_hand > *q) {
                best = Some((on_hand, location.to_string()));
            }
        }
        best.map(|(_, l)| l)
            .ok_or_else(|| anyhow!("{} has no {sku} on a shelf: {v}", self.node.id))
    }

    /// Counts every location of the count task `hh-1` works on: what the book shows there,
    /// less what the picker found missing.
    async fn count(&self, missing: &mut BTreeMap<(String, String), u64>) -> anyhow::Result<()> {
        let a = self.agent();
        let first = a.get(&format!("/api/v1/stations/{HH}")).await?;
        let id = first["task"]["id"].clone();
        loop {
            let s = a.get(&format!("/api/v1/stations/{HH}")).await?;
            if s["task"]["id"] != id {
                return Ok(());
            }
            let location = match s["expect"]["scan"].as_str() {
                Some("location") => text(&s["expect"]["location"])?.to_string(),
                _ => bail!("{HH} at {} counts unexpectedly: {s}", self.node.id),
            };
            a.ok(HH, &format!("L:{location}")).await?;
            let book = a.get(&format!("/api/v1/stock?location={location}")).await?;
            for b in book["balances"].as_array().into_iter().flatten() {
                let sku = text(&b["sku"])?;
                let on_hand = units(&b["on_hand"])?;
                let gone = missing.remove(&(location.clone(), sku.into())).unwrap_or(0);
                let counted = on_hand.saturating_sub(gone);
                if counted > 0 {
                    a.ok(HH, self.gtin(sku)?).await?;
                    a.ok(HH, &format!("Q:{counted}")).await?;
                }
                if on_hand > counted {
                    self.tally
                        .counted_away(&self.node.id, sku, on_hand - counted);
                }
            }
            a.ok(HH, "C:CONFIRM").await?;
        }
    }

    /// The packer's shift: packs and ships every tote the picker sends until the picker
    /// goes home.
    pub async fn packer(&self, mut conveyor: mpsc::Receiver<Tote>) -> anyhow::Result<()> {
        let a = self.agent();
        sign_in(a, PACK, &format!("pack-{}", self.node.id.to_lowercase())).await?;
        let mut cartons = 0u32;
        while let Some(tote) = conveyor.recv().await {
            cartons += 1;
            let carton = format!("CTN-{}-{cartons:04}", &self.node.id[3..]);
            self.pack_and_ship(&tote, &carton, cartons % MISWEIGH_EVERY == 0)
                .await?;
        }
        Ok(())
    }

    async fn pack_and_ship(&self, tote: &Tote, carton: &str, misweigh: bool) -> anyhow::Result<()> {
        let a = self.agent();
        let mut kg = TARE_KG;
        let qty: Vec<String> = tote.items.iter().map(|(_, q)| q.to_string()).collect();
        let mut scans = Vec::new();
        for ((sku, q), text) in tote.items.iter().zip(&qty) {
            let item = self
                .plan
                .item(sku)
                .ok_or_else(|| anyhow!("{sku} is not in the catalogue"))?;
            kg += item.weight_kg * Decimal::from(*q);
            scans.push(Scan {
                gtin: &item.gtin,
                qty: text,
            });
        }
        let first = if misweigh {
            (kg * Decimal::new(13, 1)).round_dp(3)
        } else {
            kg
        };
        tokio::time::sleep(self.pace).await;
        let v = pack(a, PACK, &tote.id, &scans, carton, &first.to_string()).await?;
        if misweigh {
            ensure!(
                v["error"]["code"] == "weight_mismatch",
                "{carton}: {first} kg (expected {kg}) was not refused: {v}"
            );
            self.tally.refused_weighings.fetch_add(1, Ordering::Relaxed);
            let v = weigh(a, PACK, &kg.to_string(), true).await?;
            ensure!(v["accepted"] == true, "{carton}: {kg} kg refused: {v}");
        } else {
            ensure!(v["accepted"] == true, "{carton}: {kg} kg refused: {v}");
        }
        ship(a, PACK, carton).await?;
        let items: Vec<(String, u64)> = tote.items.clone();
        self.tally.shipped(&self.node.id, carton, &items);
        Ok(())
    }
}

//! `stockpost-demo --shift`: a shift at scale in one process. N nodes receive stock; orders
//! from several channels arrive at the hub in waves over compressed time; every node's picker
//! and packer work them scan by scan through the node's device simulators; one node goes
//! offline for a stretch and catches up; the hub is restarted once. A sampler records
//! throughput, backlog per node and exceptions for the report, and at the end the books are
//! checked exactly.
//!
//! - [`plan`]: nodes, items, orders and receipts, from a fixed seed.
//! - [`world`]: the broker, the hub (restartable) and the nodes.
//! - [`conductor`]: master data, notices, the order waves and the faults.
//! - [`operator`]: each node's picker and packer.
//! - [`tally`]: what the operators did (the oracle).
//! - [`timeline`]: the sampler and the progress bar.
//! - [`checks`]: the final checks.
//! - [`html`]: the report page.

pub mod checks;
pub mod conductor;
pub mod html;
pub mod operator;
pub mod plan;
pub mod tally;
pub mod timeline;
pub mod world;

use crate::demo::check::settle_node;
use crate::demo::setup::{http_port, BROKER};
use anyhow::{bail, Context};
use operator::{Crew, Tote};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::Duration;
use tally::Tally;
use timeline::Timeline;
use world::ShiftWorld;

/// What `--shift` runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Nodes (2..=20).
    pub nodes: usize,
    /// Orders (1..=100,000).
    pub orders: usize,
    /// End after the checks instead of keeping the dashboard up.
    pub exit: bool,
    /// Where to write the report (default: `report.html` in the demo's directory).
    pub report: Option<PathBuf>,
    /// The hub's HTTP port (as the walk-through's `--port`).
    pub port: Option<u16>,
    /// The plan's seed.
    pub seed: u64,
    /// How many waves the orders arrive in.
    pub waves: usize,
    /// Time between waves (the compressed clock).
    pub wave: Duration,
    /// Time between samples.
    pub sample: Duration,
    /// An operator's time for a pick line or a carton.
    pub pace: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            nodes: 5,
            orders: 300,
            exit: false,
            report: None,
            port: None,
            seed: 19,
            waves: 24,
            wave: Duration::from_millis(400),
            sample: Duration::from_millis(200),
            pace: Duration::from_millis(100),
        }
    }
}

type Job<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + 'a>>;

/// Runs `jobs` concurrently on this task; the first error ends all of them.
async fn join_all(mut jobs: Vec<Job<'_>>) -> anyhow::Result<()> {
    let mut done = vec![false; jobs.len()];
    std::future::poll_fn(|cx| {
        for (job, finished) in jobs.iter_mut().zip(done.iter_mut()) {
            if !*finished {
                if let Poll::Ready(r) = job.as_mut().poll(cx) {
                    r?;
                    *finished = true;
                }
            }
        }
        if done.iter().all(|d| *d) {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    })
    .await
}

/// Runs the shift; `Ok(false)` when a check failed.
pub async fn run(opts: &Options) -> anyhow::Result<bool> {
    if !(2..=20).contains(&opts.nodes) {
        bail!("--nodes must be 2 to 20, not {}", opts.nodes);
    }
    if !(1..=100_000).contains(&opts.orders) {
        bail!("--orders must be 1 to 100000, not {}", opts.orders);
    }
    let tmp = tempfile::Builder::new()
        .prefix("stockpost-shift-")
        .tempdir()
        .context("creating the demo directory")?;
    let plan = plan::Plan::new(opts.nodes, opts.orders, opts.seed);
    println!(
        "stockpost-demo --shift: stores under {}",
        tmp.path().display()
    );
    println!("stockpost-demo --shift: broker {BROKER:?}");
    let offline = opts.nodes - 1;
    let w = ShiftWorld::start(tmp.path(), http_port(opts.port)?, &plan.nodes, offline).await?;
    println!("Dashboard:   http://{}/", w.http_addr);
    println!("Admin token: {}", w.token);
    println!(
        "{} nodes, {} items, {} orders in {} waves one every {:?}; {} goes offline, the hub restarts once",
        plan.nodes.len(),
        plan.items.len(),
        plan.orders.len(),
        opts.waves,
        opts.wave,
        w.offline_id()
    );
    let tally = Tally::default();
    let timeline = Timeline::new(opts.orders as u64);
    let result = shift(&w, &plan, &tally, &timeline, opts).await;
    timeline.finish();
    let ok = finish(&w, &plan, &tally, &timeline, opts, result, tmp.path()).await?;
    if opts.exit {
        w.stop().await;
        if opts.report.is_none() {
            keep_only_the_report(tmp)?;
        }
        return Ok(ok);
    }
    let dir = tmp.keep();
    println!(
        "Dashboard:   http://{}/  (admin token {})",
        w.http_addr, w.token
    );
    println!("Stores kept under {}. Press Ctrl-C to stop.", dir.display());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    w.stop().await;
    Ok(ok)
}

/// With `--exit` the stores go, but a report written into the demo's directory stays there
/// (its path was printed).
fn keep_only_the_report(tmp: tempfile::TempDir) -> anyhow::Result<()> {
    let dir = tmp.keep();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

/// Master data and notices at the hub; every node receives and puts away its stock, and the
/// hub has it all before the first order comes.
async fn prepare(
    w: &ShiftWorld,
    plan: &plan::Plan,
    t: &Timeline,
    crews: &[Crew<'_>],
) -> anyhow::Result<()> {
    conductor::master_data(w, plan).await?;
    conductor::inbound(w, plan).await?;
    t.mark("master data and inbound notices at the hub");
    join_all(
        crews
            .iter()
            .enumerate()
            .map(|(i, c)| -> Job<'_> {
                let doc = conductor::notice(i);
                Box::pin(async move { c.receive(&doc).await })
            })
            .collect(),
    )
    .await?;
    for n in &w.nodes {
        settle_node(&w.api(), &w.token, &n.agent, &n.id).await?;
    }
    t.mark("every node received and put away its stock");
    Ok(())
}

/// The shift: receiving, then the orders with the operators at work until all is shipped.
async fn shift(
    w: &ShiftWorld,
    plan: &plan::Plan,
    tally: &Tally,
    t: &Timeline,
    opts: &Options,
) -> anyhow::Result<()> {
    let done = AtomicBool::new(false);
    let max_shorts = (opts.orders / (opts.nodes * 15)).max(1) as u64;
    let crews: Vec<Crew<'_>> = w
        .nodes
        .iter()
        .enumerate()
        .map(|(index, node)| Crew {
            plan,
            tally,
            node,
            index,
            max_shorts,
            done: &done,
            pace: opts.pace,
        })
        .collect();
    prepare(w, plan, t, &crews).await?;
    let mut jobs: Vec<Job<'_>> = Vec::new();
    for c in &crews {
        let (tx, rx) = tokio::sync::mpsc::channel::<Tote>(64);
        jobs.push(Box::pin(c.picker(tx)));
        jobs.push(Box::pin(c.packer(rx)));
    }
    jobs.push(Box::pin(async {
        t.run(w, opts.sample, &done).await;
        Ok(())
    }));
    let done_ref = &done;
    jobs.push(Box::pin(async move {
        let r = async {
            conductor::feed(w, plan, t, opts.waves, opts.wave).await?;
            let deadline = Duration::from_secs(120 + 2 * opts.orders as u64);
            conductor::wait_shipped(w, plan, deadline).await?;
            for n in &w.nodes {
                settle_node(&w.api(), &w.token, &n.agent, &n.id).await?;
            }
            t.mark("every order shipped, every node's outbox empty");
            Ok(())
        }
        .await;
        done_ref.store(true, Ordering::SeqCst);
        r
    }));
    join_all(jobs).await
}

/// Checks, report and summary; the verdict.
async fn finish(
    w: &ShiftWorld,
    plan: &plan::Plan,
    tally: &Tally,
    t: &Timeline,
    opts: &Options,
    result: anyhow::Result<()>,
    dir: &std::path::Path,
) -> anyhow::Result<bool> {
    let mut checks = Vec::new();
    if let Err(e) = &result {
        eprintln!("the shift stopped: {e:#}");
        checks.push(checks::Check {
            name: "The shift ran to the end".into(),
            ok: false,
            detail: format!("{e:#}"),
        });
    }
    checks.extend(checks::run(w, plan, tally, t).await?);
    let kpis = w.api().ok("GET", "/api/v1/kpis", &w.token, None).await?;
    let path = opts
        .report
        .clone()
        .unwrap_or_else(|| dir.join("report.html"));
    let title = format!(
        "Stockpost shift: {} nodes, {} orders",
        plan.nodes.len(),
        plan.orders.len()
    );
    std::fs::write(&path, html::report(w, t, &checks, &kpis, &title))
        .with_context(|| format!("writing the report to {}", path.display()))?;
    summary(t, tally, &checks, &kpis);
    println!("Report: {}", path.display());
    let ok = checks.iter().all(|c| c.ok);
    println!(
        "{}",
        if ok {
            "Books balance: every check holds."
        } else {
            "CHECKS FAILED."
        }
    );
    Ok(ok)
}

fn summary(t: &Timeline, tally: &Tally, checks: &[checks::Check], kpis: &serde_json::Value) {
    println!();
    println!("── Shift summary ───────────────────────────────────────");
    println!(
        "Time: {:.1} s; cartons shipped {}; short picks {}; refused weighings {}",
        t.now_ms() as f64 / 1000.0,
        tally.shipped_cartons.load(Ordering::Relaxed),
        tally.shorts(),
        tally.refused_weighings.load(Ordering::Relaxed)
    );
    for key in [
        "fill_rate",
        "perfect_order_rate",
        "split_shipment_rate",
        "inventory_accuracy",
        "shipped_orders",
        "counts",
        "open_exceptions_by_code",
    ] {
        println!("  {key:<24} {}", crate::demo::report::compact(&kpis[key]));
    }
    for c in checks {
        println!(
            "  [{}] {} ({})",
            if c.ok { "PASS" } else { "FAIL" },
            c.name,
            c.detail
        );
    }
}

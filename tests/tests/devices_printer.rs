//! Printer driver, durable spool and SSCC counter end to end: a real TCP connection to a
//! simulated ZPL printer and a real store (redb) in a temporary directory. No mocks.
#![allow(clippy::unwrap_used)]

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use stockpost_agent::devices::printer::{
    PrinterDriver, PrinterHandle, PrinterOptions, PrinterState, PrinterStatus,
};
use stockpost_agent::devices::spool::{Spool, SPOOL_TREE};
use stockpost_agent::devices::sscc_counter::{SsccCounter, SsccCounterConfig, SSCC_TREE};
use stockpost_agent::devices::{BackoffConfig, Connector};
use stockpost_common::label::host_status::PrinterProblem;
use stockpost_common::label::sscc::Sscc;
use stockpost_common::label::templates::{carton_label, CartonLabel};
use stockpost_store::{open_store, Backend, Store, StoreConfig};
use stockpost_tests::sim::printer::{HsFlags, PrinterSim};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

fn open(dir: &std::path::Path) -> Arc<dyn Store> {
    let config = StoreConfig::new(Backend::Redb, dir.join("store"));
    Arc::from(open_store(&config, &[SPOOL_TREE, SSCC_TREE]).unwrap())
}

fn options() -> PrinterOptions {
    PrinterOptions {
        status_timeout: Duration::from_millis(200),
        status_poll: Duration::from_millis(20),
        idle_poll: Duration::from_millis(200),
        write_timeout: Duration::from_secs(2),
        backoff: BackoffConfig {
            initial_ms: 10,
            max_ms: 100,
        },
    }
}

fn connector(sim: &PrinterSim) -> Connector {
    Connector::TcpConnect {
        addr: sim.addr(),
        timeout: Duration::from_secs(1),
    }
}

fn label(serial: u64) -> Vec<u8> {
    carton_label(&CartonLabel {
        from: vec!["ACME FOODS LTD".into()],
        to: vec!["DC NORTH".into()],
        order_ref: "SO-1001".into(),
        carton_number: 1,
        carton_count: 2,
        weight_kg: Decimal::from_str("12.5").unwrap(),
        sscc: Sscc::new(3, "7610425", serial).unwrap(),
    })
    .unwrap()
    .into_bytes()
}

async fn printed(sim: &PrinterSim, n: usize) -> Vec<String> {
    let mut rx = sim.printed();
    let got = timeout(WAIT, rx.wait_for(|v| v.len() >= n)).await.is_ok();
    let now = rx.borrow().clone();
    assert!(got, "{n} format(s) printed in time; got {}", now.len());
    now
}

async fn status_where(h: &mut PrinterHandle, what: &str, f: impl Fn(&PrinterStatus) -> bool) {
    let got = timeout(WAIT, h.status.wait_for(f)).await.is_ok();
    assert!(
        got,
        "no status where {what}; last: {:?}",
        *h.status.borrow()
    );
}

/// The format as the printer sees it: `^XA` … `^XZ` (the trailing newline is outside).
fn text(zpl: &[u8]) -> String {
    String::from_utf8(zpl.to_vec())
        .unwrap()
        .trim_end()
        .to_string()
}

#[tokio::test]
async fn a_spooled_label_is_printed_once_and_removed_from_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(open(dir.path())).unwrap();
    let sim = PrinterSim::start().await.unwrap();
    let mut h = PrinterDriver::spawn(options(), connector(&sim), spool.clone());
    spool.enqueue("step-1", 0, label(1)).await.unwrap();
    let formats = printed(&sim, 1).await;
    assert_eq!(formats, vec![text(&label(1))]);
    status_where(&mut h, "1 printed", |s| s.printed == 1).await;
    assert!(spool.pending(10).await.unwrap().is_empty());
    assert_eq!(sim.printed().borrow().len(), 1, "printed exactly once");
}

#[tokio::test]
async fn a_label_confirmed_while_the_printer_is_out_of_paper_prints_when_paper_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(open(dir.path())).unwrap();
    let sim = PrinterSim::start().await.unwrap();
    sim.set_flags(HsFlags {
        paper_out: true,
        ..HsFlags::default()
    });
    let mut h = PrinterDriver::spawn(options(), connector(&sim), spool.clone());
    spool.enqueue("step-1", 0, label(7)).await.unwrap();
    status_where(
        &mut h,
        "paper out",
        |s| matches!(&s.state, PrinterState::Problems(p) if p.contains(&PrinterProblem::PaperOut)),
    )
    .await;
    let mut queries = sim.hs_queries();
    let asked = *queries.borrow();
    // The driver keeps asking while the paper is out; nothing may be sent meanwhile.
    timeout(WAIT, queries.wait_for(|n| *n >= asked + 3))
        .await
        .unwrap()
        .unwrap();
    assert!(sim.printed().borrow().is_empty());
    assert_eq!(spool.pending(10).await.unwrap().len(), 1);

    sim.set_flags(HsFlags::default());
    let formats = printed(&sim, 1).await;
    assert_eq!(formats, vec![text(&label(7))]);
    status_where(&mut h, "printed and ready", |s| {
        s.printed == 1 && s.state == PrinterState::Ready
    })
    .await;
    assert!(spool.pending(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn head_open_and_ribbon_out_are_reported_and_hold_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(open(dir.path())).unwrap();
    let sim = PrinterSim::start().await.unwrap();
    sim.set_flags(HsFlags {
        head_open: true,
        ribbon_out: true,
        paused: true,
        ..HsFlags::default()
    });
    let mut h = PrinterDriver::spawn(options(), connector(&sim), spool.clone());
    spool.enqueue("step-1", 0, label(8)).await.unwrap();
    status_where(&mut h, "head open, ribbon out, paused", |s| {
        matches!(&s.state, PrinterState::Problems(p)
            if p.contains(&PrinterProblem::HeadOpen)
            && p.contains(&PrinterProblem::RibbonOut)
            && p.contains(&PrinterProblem::Paused))
    })
    .await;
    assert!(sim.printed().borrow().is_empty());
    sim.set_flags(HsFlags::default());
    printed(&sim, 1).await;
}

#[tokio::test]
async fn a_printer_that_does_not_answer_host_status_is_in_error_and_gets_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(open(dir.path())).unwrap();
    let sim = PrinterSim::start().await.unwrap();
    sim.set_silent(true);
    let mut h = PrinterDriver::spawn(options(), connector(&sim), spool.clone());
    spool.enqueue("step-1", 0, label(9)).await.unwrap();
    status_where(&mut h, "no ~HS answer", |s| {
        s.state == PrinterState::NoStatusAnswer
            && s.last_error.as_deref().is_some_and(|e| e.contains("~HS"))
    })
    .await;
    assert!(sim.printed().borrow().is_empty());
    assert_eq!(spool.pending(10).await.unwrap().len(), 1);
    sim.set_silent(false);
    printed(&sim, 1).await;
    status_where(&mut h, "printed", |s| s.printed == 1).await;
    assert!(
        sim.connections() >= 2,
        "the silent connection was dropped and reopened"
    );
}

#[tokio::test]
async fn a_connection_reset_mid_job_resends_the_whole_job_once() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(open(dir.path())).unwrap();
    let sim = PrinterSim::start().await.unwrap();
    sim.reset_next_job_after(40);
    let mut h = PrinterDriver::spawn(options(), connector(&sim), spool.clone());
    spool.enqueue("step-1", 0, label(10)).await.unwrap();
    let formats = printed(&sim, 1).await;
    assert_eq!(
        formats,
        vec![text(&label(10))],
        "the partial format was not printed"
    );
    status_where(&mut h, "printed", |s| s.printed == 1 && s.connections >= 2).await;
    assert!(spool.pending(10).await.unwrap().is_empty());
    assert_eq!(sim.printed().borrow().len(), 1);
}

#[tokio::test]
async fn jobs_spooled_before_a_restart_print_in_order_after_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let spool = Spool::open(open(dir.path())).unwrap();
        for serial in [21, 22, 23] {
            spool
                .enqueue(&format!("step-{serial}"), 0, label(serial))
                .await
                .unwrap();
        }
    } // store closed: the agent "restarts"
    let spool = Spool::open(open(dir.path())).unwrap();
    assert_eq!(spool.pending(10).await.unwrap().len(), 3);
    let sim = PrinterSim::start().await.unwrap();
    let mut h = PrinterDriver::spawn(options(), connector(&sim), spool.clone());
    let formats = printed(&sim, 3).await;
    assert_eq!(
        formats,
        vec![text(&label(21)), text(&label(22)), text(&label(23))]
    );
    status_where(&mut h, "3 printed", |s| s.printed == 3).await;
    assert!(spool.pending(10).await.unwrap().is_empty());
    let next = spool.enqueue("step-24", 0, label(24)).await.unwrap();
    assert!(next >= 1);
    printed(&sim, 4).await;
}

#[tokio::test]
async fn an_sscc_serial_is_never_reused_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = SsccCounterConfig {
        extension_digit: 3,
        company_prefix: "7610425".into(),
        block_size: 10,
    };
    let mut issued = Vec::new();
    {
        let counter = SsccCounter::open(open(dir.path()), config.clone()).unwrap();
        for _ in 0..3 {
            issued.push(counter.next_sscc().unwrap());
        }
    } // "crash": 7 reserved serials were never used
    let counter = SsccCounter::open(open(dir.path()), config.clone()).unwrap();
    for _ in 0..12 {
        issued.push(counter.next_sscc().unwrap());
    }
    let mut unique = issued.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), issued.len(), "no SSCC was handed out twice");
    assert_eq!(issued[0], Sscc::new(3, "7610425", 0).unwrap());
    assert_eq!(issued[2], Sscc::new(3, "7610425", 2).unwrap());
    assert_eq!(
        issued[3],
        Sscc::new(3, "7610425", 10).unwrap(),
        "the unused rest of the block is skipped"
    );
    let other = SsccCounter::open(
        open(&dir.path().join("other")),
        SsccCounterConfig {
            company_prefix: "76104250021".into(),
            ..config
        },
    )
    .unwrap();
    assert_eq!(other.next_sscc().unwrap().as_str()[..12], *"376104250021");
}

//! Scanner driver end to end against a simulated scanner on a real pseudo-terminal (and a real
//! TCP socket for network scanners). No mocks: the driver reads a real tty.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use stockpost_agent::devices::scanner::{Scan, ScannerDriver, ScannerHandle, ScannerOptions};
use stockpost_agent::devices::{BackoffConfig, Connector, LinkState, SerialSettings};
use stockpost_common::scanner_framing::Terminator;
use stockpost_tests::sim::scanner::ScannerSim;
use tokio::io::AsyncWriteExt;
use tokio::time::timeout;
use tokio_serial::SerialPort;

const WAIT: Duration = Duration::from_secs(5);

fn options() -> ScannerOptions {
    ScannerOptions {
        backoff: BackoffConfig {
            initial_ms: 10,
            max_ms: 100,
        },
        ..ScannerOptions::default()
    }
}

async fn next(h: &mut ScannerHandle) -> Scan {
    timeout(WAIT, h.scans.recv())
        .await
        .expect("a scan in time")
        .expect("driver alive")
}

async fn wait_link(h: &mut ScannerHandle, link: LinkState, connections: u64) {
    let waited = timeout(
        WAIT,
        h.status
            .wait_for(|s| s.link == link && s.connections >= connections),
    )
    .await
    .is_ok();
    assert!(waited, "status in time; last: {:?}", *h.status.borrow());
}

#[tokio::test]
async fn a_gs1_scan_with_a_cr_terminator_arrives_as_one_payload() {
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScannerDriver::spawn(options(), connector);
    let mut sim = ScannerSim::plug(&plug, b"\r").await.unwrap();
    sim.scan(b"]C1011231231231233310ABC123\x1d99TESTING")
        .await
        .unwrap();
    assert_eq!(
        next(&mut h).await.payload,
        b"]C1011231231231233310ABC123\x1d99TESTING"
    );
    assert_eq!(h.stats().frames, 1);
}

#[tokio::test]
async fn a_scan_split_across_writes_arrives_whole() {
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScannerDriver::spawn(options(), connector);
    let mut sim = ScannerSim::plug(&plug, b"\r\n").await.unwrap();
    sim.raw(b"]E0952012").await.unwrap();
    sim.raw(b"3456788\r").await.unwrap();
    sim.raw(b"\n").await.unwrap();
    sim.scan(b"NEXT").await.unwrap();
    assert_eq!(next(&mut h).await.payload, b"]E09520123456788");
    assert_eq!(next(&mut h).await.payload, b"NEXT");
}

#[tokio::test]
async fn with_a_driver_window_set_a_scan_fired_twice_within_it_arrives_once() {
    // The driver keeps every read by default (the station filters); this is the opt-in.
    let mut o = options();
    o.framing.duplicate_window_ms = Some(300);
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScannerDriver::spawn(o, connector);
    let mut sim = ScannerSim::plug(&plug, b"\r").await.unwrap();
    sim.double_fire(b"]C100376104250021234569").await.unwrap();
    sim.scan(b"C:CONFIRM").await.unwrap();
    assert_eq!(next(&mut h).await.payload, b"]C100376104250021234569");
    assert_eq!(next(&mut h).await.payload, b"C:CONFIRM");
    assert_eq!(h.stats().duplicates_dropped, 1);
}

#[tokio::test]
async fn line_noise_without_a_terminator_is_dropped_and_the_next_scan_is_clean() {
    let mut o = options();
    o.framing.max_frame_len = 64;
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScannerDriver::spawn(o, connector);
    let mut sim = ScannerSim::plug(&plug, b"\r").await.unwrap();
    sim.raw(&[0x55; 300]).await.unwrap();
    sim.raw(b"\r\xEF\xBB\xBF\0").await.unwrap();
    sim.scan(b"]E09520123456788").await.unwrap();
    assert_eq!(next(&mut h).await.payload, b"]E09520123456788");
    assert_eq!(h.stats().oversize_dropped, 1);
    assert_eq!(h.stats().frames, 1);
}

#[tokio::test]
async fn seven_bit_scanner_bytes_with_parity_bits_are_masked() {
    let mut o = options();
    o.framing.mask_7bit = true;
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScannerDriver::spawn(o, connector);
    let mut sim = ScannerSim::plug(&plug, b"\r").await.unwrap();
    sim.scan_with_parity_bits(b"]C10109520123456788")
        .await
        .unwrap();
    assert_eq!(next(&mut h).await.payload, b"]C10109520123456788");
}

#[tokio::test]
async fn a_configured_prefix_and_suffix_are_stripped() {
    let mut o = options();
    o.framing.terminator = Terminator::Bytes(vec![0x03]);
    o.framing.prefix = vec![0x02];
    o.framing.suffix = b"#".to_vec();
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScannerDriver::spawn(o, connector);
    let mut sim = ScannerSim::plug(&plug, b"\x03").await.unwrap();
    sim.scan(b"\x02L:A-01-02#").await.unwrap();
    assert_eq!(next(&mut h).await.payload, b"L:A-01-02");
}

#[tokio::test]
async fn a_scanner_without_terminator_is_framed_by_the_idle_gap() {
    let mut o = options();
    o.framing.terminator = Terminator::None;
    o.framing.idle_timeout_ms = Some(50);
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScannerDriver::spawn(o, connector);
    let mut sim = ScannerSim::plug(&plug, b"").await.unwrap();
    sim.scan(b"T:TOTE-0042").await.unwrap();
    assert_eq!(next(&mut h).await.payload, b"T:TOTE-0042");
    sim.scan(b"T:TOTE-0043").await.unwrap();
    assert_eq!(next(&mut h).await.payload, b"T:TOTE-0043");
}

#[tokio::test]
async fn an_unplugged_scanner_is_reconnected() {
    let (plug, connector) = Connector::handoff(1);
    let mut h = ScannerDriver::spawn(options(), connector);
    let mut sim = ScannerSim::plug(&plug, b"\r").await.unwrap();
    sim.scan(b"BEFORE").await.unwrap();
    assert_eq!(next(&mut h).await.payload, b"BEFORE");
    wait_link(&mut h, LinkState::Connected, 1).await;

    sim.raw(b"PARTIAL-NEVER-FINISHED").await.unwrap();
    sim.unplug();
    wait_link(&mut h, LinkState::Connecting, 1).await;
    assert!(h.status.borrow().last_error.is_some());

    let mut sim = ScannerSim::plug(&plug, b"\r").await.unwrap();
    wait_link(&mut h, LinkState::Connected, 2).await;
    sim.scan(b"AFTER").await.unwrap();
    assert_eq!(
        next(&mut h).await.payload,
        b"AFTER",
        "the partial frame of the old link is gone"
    );
    assert!(h.stats().errors >= 1);
}

#[tokio::test]
async fn a_serial_scanner_opened_by_path_discards_what_was_sent_before_open() {
    // The driver opens the pty slave by its path, like /dev/ttyACM0 (real open + termios +
    // input flush). The test keeps its own slave handle open so the master does not see EIO
    // and the STALE bytes stay queued in the tty until the driver's open flushes them.
    let (master, mut slave) = tokio_serial::SerialStream::pair().unwrap();
    slave.set_exclusive(false).unwrap();
    let path = slave.name().expect("pty slave has a path");
    let mut sim = ScannerSim::from_master(master, b"\r");
    sim.scan(b"STALE").await.unwrap();

    let mut settings = SerialSettings::new(path);
    settings.exclusive = false; // the test holds the slave open too (shared flock)
    let mut h = ScannerDriver::spawn(options(), Connector::Serial(settings));
    wait_link(&mut h, LinkState::Connected, 1).await;
    sim.scan(b"FRESH").await.unwrap();
    assert_eq!(next(&mut h).await.payload, b"FRESH");
    drop(slave);
}

#[tokio::test]
async fn a_network_scanner_is_served_one_connection_at_a_time_and_may_reconnect() {
    let (connector, addr) = Connector::tcp_listen_bound("127.0.0.1:0").await.unwrap();
    let mut h = ScannerDriver::spawn(options(), connector);
    let mut first = tokio::net::TcpStream::connect(addr).await.unwrap();
    first
        .write_all(b"]Q1https://id.gs1.org/01/09520123456788\r\n")
        .await
        .unwrap();
    assert_eq!(
        next(&mut h).await.payload,
        b"]Q1https://id.gs1.org/01/09520123456788"
    );
    drop(first);
    wait_link(&mut h, LinkState::Connecting, 1).await;
    let mut second = tokio::net::TcpStream::connect(addr).await.unwrap();
    second.write_all(b"SECOND\r\n").await.unwrap();
    assert_eq!(next(&mut h).await.payload, b"SECOND");
    wait_link(&mut h, LinkState::Connected, 2).await;
}

#[tokio::test]
async fn a_scanner_behind_a_device_server_is_dialled_and_redialled() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let connector = Connector::TcpConnect {
        addr,
        timeout: Duration::from_secs(1),
    };
    let mut h = ScannerDriver::spawn(options(), connector);
    let (mut server, _) = listener.accept().await.unwrap();
    server.write_all(b"O:SO-1001\r").await.unwrap();
    assert_eq!(next(&mut h).await.payload, b"O:SO-1001");
    drop(server); // the device server restarts
    let (mut server, _) = timeout(WAIT, listener.accept()).await.unwrap().unwrap();
    server.write_all(b"O:SO-1002\r").await.unwrap();
    assert_eq!(next(&mut h).await.payload, b"O:SO-1002");
    wait_link(&mut h, LinkState::Connected, 2).await;
}

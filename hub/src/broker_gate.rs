//! The gate in front of the embedded broker: it owns the public listener (`mqtt.address`) and
//! forwards each connection to rumqttd on a loopback port of its own, but never more than
//! `max` at once. rumqttd 0.20 panics when its router is full (rumqtt#991) and then accepts no
//! connection again; behind the gate its router never fills, because the gate refuses the
//! connection over its limit (closed at once, counted) and keeps serving the others. The hub's
//! own client connects to rumqttd directly, so a full gate never locks the hub out.
//!
//! Accept errors (out of file handles, say) are logged at most once per
//! [`ACCEPT_ERROR_LOG_EVERY`] and answered with a short pause, never a tight loop or a log
//! storm.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// At most one log line per this interval about failing accepts.
pub const ACCEPT_ERROR_LOG_EVERY: Duration = Duration::from_secs(60);

/// What the gates of this process counted.
#[derive(Debug, Default)]
pub struct GateCounters {
    /// Connections forwarded to the broker.
    pub admitted: AtomicU64,
    /// Connections closed at once because `max` were open.
    pub refused_full: AtomicU64,
    /// Accepts that failed (out of file handles, …).
    pub accept_errors: AtomicU64,
    /// Connections open through the gate now.
    pub open: AtomicUsize,
}

/// The counters of every gate of this process.
pub fn counters() -> &'static GateCounters {
    static COUNTERS: std::sync::OnceLock<GateCounters> = std::sync::OnceLock::new();
    COUNTERS.get_or_init(GateCounters::default)
}

/// Runs the gate on its own thread (it lives as long as the broker: the process) and returns
/// once it listens. `listener` is the bound public listener.
pub fn spawn(
    listener: std::net::TcpListener,
    upstream: SocketAddr,
    max: usize,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    std::thread::Builder::new()
        .name("broker-gate".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "the embedded broker's gate has no runtime");
                    return;
                }
            };
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => run(l, upstream, max).await,
                    Err(e) => {
                        tracing::error!(error = %e, "the embedded broker's gate cannot listen")
                    }
                }
            });
        })?;
    Ok(())
}

async fn run(listener: tokio::net::TcpListener, upstream: SocketAddr, max: usize) {
    let c = counters();
    let mut last_logged: Option<Instant> = None;
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                c.accept_errors.fetch_add(1, Ordering::Relaxed);
                if last_logged.is_none_or(|t| t.elapsed() >= ACCEPT_ERROR_LOG_EVERY) {
                    tracing::warn!(error = %e, "the embedded broker cannot accept connections (further failures this minute are only counted)");
                    last_logged = Some(Instant::now());
                }
                // Out of file handles: wait for some to be closed rather than spin.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if c.open.load(Ordering::Relaxed) >= max {
            c.refused_full.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%peer, max, "embedded broker full: connection refused");
            drop(socket);
            continue;
        }
        c.open.fetch_add(1, Ordering::Relaxed);
        c.admitted.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(forward(socket, upstream));
    }
}

/// Copies bytes both ways until either side closes; releases the slot.
async fn forward(mut socket: tokio::net::TcpStream, upstream: SocketAddr) {
    struct Slot;
    impl Drop for Slot {
        fn drop(&mut self) {
            counters().open.fetch_sub(1, Ordering::Relaxed);
        }
    }
    let _slot = Slot;
    let _ = socket.set_nodelay(true);
    let Ok(mut broker) = tokio::net::TcpStream::connect(upstream).await else {
        return;
    };
    let _ = broker.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut socket, &mut broker).await;
}

/// A free loopback port for rumqttd behind the gate.
pub fn internal_addr() -> std::io::Result<SocketAddr> {
    let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
    probe.local_addr()
}

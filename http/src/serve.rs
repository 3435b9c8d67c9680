//! The accept loop. Unlike `axum::serve` it bounds what a client can hold: at most
//! `max_connections` connections (one over it is closed at once and counted as
//! `connection_limit`), and a connection that does not send a request's headers within
//! `header_timeout` is closed (slow clients and idle keep-alive connections alike). Each request
//! carries the client's address (`ConnectInfo`). On stop it accepts no more, lets the open
//! connections finish their requests, and waits for them for at most `DRAIN`.

use crate::front::Front;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

/// How long a stopping hub waits for open connections to finish.
const DRAIN: Duration = Duration::from_secs(10);
/// Pause after an accept error (out of file handles, say) before accepting again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The limits of the loop.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most open connections.
    pub max_connections: usize,
    /// Time to send a request's headers.
    pub header_timeout: Duration,
}

/// Serves `app` on `listener` until `stop` resolves.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    front: Arc<Front>,
    stop: impl std::future::Future<Output = ()> + Send,
) {
    tokio::pin!(stop);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (closing_tx, closing) = watch::channel(false);
    let mut accept_errors = 0u64;
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut stop => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                accept_errors += 1;
                if accept_errors.is_power_of_two() {
                    tracing::warn!(error = %e, count = accept_errors, "HTTP accept failed");
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            front.count("connection_limit");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let closing = closing.clone();
        tokio::spawn(async move {
            connection(stream, peer, app, limits, closing).await;
            drop(slot);
        });
    }
    let _ = closing_tx.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("HTTP connections still open after the drain time; closing them");
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    mut closing: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(req)
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = closing.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

//! A TCP proxy between a client and a broker that can cut the network *silently*: in
//! blackhole mode it keeps every connection open but forwards nothing in either direction,
//! the way a dead switch or a dropped VPN looks to both ends.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A running proxy.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    blackhole: Arc<AtomicBool>,
    /// Bumped to close every open connection.
    generation: watch::Sender<u64>,
    dropped_bytes: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `target`.
    pub async fn start(target: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let blackhole = Arc::new(AtomicBool::new(false));
        let dropped_bytes = Arc::new(AtomicU64::new(0));
        let (generation, gen_rx) = watch::channel(0u64);
        let task = {
            let blackhole = Arc::clone(&blackhole);
            let dropped = Arc::clone(&dropped_bytes);
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let blackhole = Arc::clone(&blackhole);
                    let dropped = Arc::clone(&dropped);
                    let mut gen_rx = gen_rx.clone();
                    // Only a heal after this connection was accepted closes it.
                    gen_rx.borrow_and_update();
                    tokio::spawn(async move {
                        if blackhole.load(Ordering::SeqCst) {
                            // New connections during a cut hang like SYNs into the void.
                            hold(client, gen_rx, dropped).await;
                            return;
                        }
                        if let Ok(upstream) = TcpStream::connect(target).await {
                            pipe(client, upstream, blackhole, gen_rx, dropped).await;
                        }
                    });
                }
            })
        };
        Ok(Self {
            addr,
            blackhole,
            generation,
            dropped_bytes,
            task,
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops forwarding without closing anything.
    pub fn cut(&self) {
        self.blackhole.store(true, Ordering::SeqCst);
    }

    /// Forwards again. Connections that saw the cut are closed so both ends notice.
    pub fn heal(&self) {
        self.blackhole.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Bytes swallowed while cut.
    pub fn dropped_bytes(&self) -> u64 {
        self.dropped_bytes.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.generation.send_modify(|g| *g += 1);
    }
}

async fn hold(mut client: TcpStream, mut gen_rx: watch::Receiver<u64>, dropped: Arc<AtomicU64>) {
    let mut buf = [0u8; 4096];
    loop {
        tokio::select! {
            read = client.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => { dropped.fetch_add(n as u64, Ordering::SeqCst); }
            },
            _ = gen_rx.changed() => return,
        }
    }
}

async fn pipe(
    client: TcpStream,
    upstream: TcpStream,
    blackhole: Arc<AtomicBool>,
    mut gen_rx: watch::Receiver<u64>,
    dropped: Arc<AtomicU64>,
) {
    let (mut cr, mut cw) = client.into_split();
    let (mut ur, mut uw) = upstream.into_split();
    let up = {
        let blackhole = Arc::clone(&blackhole);
        let dropped = Arc::clone(&dropped);
        async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match cr.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                if blackhole.load(Ordering::SeqCst) {
                    dropped.fetch_add(n as u64, Ordering::SeqCst);
                } else if uw.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match ur.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if blackhole.load(Ordering::SeqCst) {
                dropped.fetch_add(n as u64, Ordering::SeqCst);
            } else if cw.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = up => {},
        _ = down => {},
        _ = gen_rx.changed() => {},
    }
}

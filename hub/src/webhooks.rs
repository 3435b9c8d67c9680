//! Outbound webhooks: the sender. Deliveries are staged by the engine in the commit that raised
//! them (the `webhook_outbox` tree, see `repo/layout.rs`) and handed over after that commit; the
//! sender POSTs each as JSON signed with HMAC-SHA256 over the exact body bytes
//! (`X-Stockpost-Signature: sha256=<hex>`), retries with exponential back-off, and reports the
//! outcome to the writer (`Command::WebhookFinished`), which takes the delivery out of the outbox
//! — into the dead letters after its last attempt — in its next commit. Deliveries still in the
//! outbox when the hub stops are sent again after it starts, with the same id and body: receivers
//! dedupe on `X-Stockpost-Delivery`. At least once.

use crate::config::WebhookConfig;
use crate::dto::webhooks::StoredDelivery;
use crate::repo::StoreReader;
use crate::writer::Request;
use hmac::{Hmac, Mac};
use rumqttc::Publish;
use sha2::Sha256;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stockpost_engine::records::{DeadLetter, Delivery};
use stockpost_engine::Command;
use tokio::sync::{mpsc, watch, Semaphore};

/// Most deliveries in progress at once.
pub const MAX_CONCURRENT: usize = 16;
/// Deliveries handed from the writer to the sender at once; beyond it they wait in the outbox
/// for the next rescan.
pub const QUEUE: usize = 1_024;
/// How often the sender looks into the outbox for deliveries it was not handed.
pub const RESCAN: Duration = Duration::from_secs(5);

/// `sha256=<hex of HMAC-SHA256(secret, body)>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", crate::auth::hex(&mac.finalize().into_bytes()))
}

/// Counters of the sender.
#[derive(Debug, Default)]
pub struct WebhookCounters {
    /// Deliveries that succeeded.
    pub delivered: AtomicU64,
    /// Failed attempts (each retry counts).
    pub failed_attempts: AtomicU64,
    /// Deliveries given up.
    pub dead_lettered: AtomicU64,
    /// Outcomes the writer could not take (the delivery is sent again later).
    pub store_failures: AtomicU64,
}

/// The sender's view of the hub.
#[derive(Debug, Clone)]
pub struct Sender {
    /// The receivers.
    pub hooks: Vec<WebhookConfig>,
    /// The outbox, for rescans.
    pub reader: StoreReader,
    /// Where outcomes go.
    pub writer: mpsc::Sender<Request<Publish>>,
    /// Counters.
    pub counters: Arc<WebhookCounters>,
}

fn now_ms() -> i64 {
    crate::time::now_ms()
}

impl Sender {
    async fn report(&self, id: u64, dead: Option<DeadLetter>) {
        let request = Request::fire(Command::WebhookFinished { id, dead });
        if self.writer.send(request).await.is_err() {
            self.counters.store_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sends one delivery until it succeeds or its receiver's attempts are used up.
    async fn deliver(&self, client: &reqwest::Client, d: StoredDelivery) {
        let Some(hook) = self.hooks.iter().find(|h| h.url == d.url).cloned() else {
            let letter = DeadLetter {
                attempts: 0,
                last_error: "no [[webhooks]] entry has this url any more".into(),
                at_ms: now_ms(),
            };
            self.counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
            return self.report(d.id, Some(letter)).await;
        };
        let Ok(bytes) = serde_json::to_vec(&d.body) else {
            return;
        };
        let sig = signature(&hook.secret, &bytes);
        let mut delay = hook.backoff_ms.max(1);
        let mut last_error = String::new();
        for attempt in 1..=hook.max_attempts {
            let sent = client
                .post(&hook.url)
                .timeout(Duration::from_millis(hook.timeout_ms.max(1)))
                .header("content-type", "application/json")
                .header("x-stockpost-event", &d.event)
                .header("x-stockpost-delivery", d.id.to_string())
                .header("x-stockpost-signature", &sig)
                .body(bytes.clone())
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {
                    self.counters.delivered.fetch_add(1, Ordering::Relaxed);
                    return self.report(d.id, None).await;
                }
                Ok(r) => last_error = format!("the receiver answered {}", r.status()),
                Err(e) => last_error = e.to_string(),
            }
            self.counters
                .failed_attempts
                .fetch_add(1, Ordering::Relaxed);
            if attempt < hook.max_attempts {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                delay = delay.saturating_mul(2).min(60_000);
            }
        }
        tracing::warn!(url = %hook.url, event = %d.event, error = %last_error, "webhook dead-lettered");
        self.counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
        let letter = DeadLetter {
            attempts: hook.max_attempts,
            last_error,
            at_ms: now_ms(),
        };
        self.report(d.id, Some(letter)).await;
    }
}

/// Sends the deliveries handed over after commits and those found in the outbox (after a
/// restart, or when the queue was full) until shutdown; at most [`MAX_CONCURRENT`] at once.
pub async fn run(
    sender: Sender,
    mut rx: mpsc::Receiver<Delivery>,
    mut shutdown: watch::Receiver<bool>,
) {
    let client = match reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook client cannot start; webhooks stay in the outbox");
            return;
        }
    };
    let sender = Arc::new(sender);
    let permits = Arc::new(Semaphore::new(MAX_CONCURRENT));
    // Deliveries in progress end with the hub: what they did not finish stays in the outbox.
    let mut sending = tokio::task::JoinSet::new();
    // Ids sent or being sent: a rescan before the writer took the outcome skips them.
    let seen: Arc<Mutex<BTreeSet<u64>>> = Arc::default();
    let mut rescan = tokio::time::interval(RESCAN);
    rescan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let batch: Vec<StoredDelivery> = tokio::select! {
            d = rx.recv() => match d { Some(d) => vec![StoredDelivery::of(&d)], None => break },
            _ = rescan.tick() => match sender.reader.outbox(QUEUE) {
                Ok(found) => found,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the webhook outbox");
                    Vec::new()
                }
            },
            _ = shutdown.changed() => if *shutdown.borrow() { break } else { continue },
        };
        for d in batch {
            if !seen.lock().unwrap_or_else(|p| p.into_inner()).insert(d.id) {
                continue;
            }
            let permit = tokio::select! {
                p = Arc::clone(&permits).acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                _ = shutdown.changed() => break,
            };
            let s = Arc::clone(&sender);
            let client = client.clone();
            while sending.try_join_next().is_some() {}
            sending.spawn(async move {
                s.deliver(&client, d).await;
                drop(permit);
            });
        }
        if *shutdown.borrow() {
            break;
        }
        // Forget ids the writer has taken out of the outbox (bounded memory).
        let mut ids = seen.lock().unwrap_or_else(|p| p.into_inner());
        if ids.len() > QUEUE * 4 {
            let keep: BTreeSet<u64> = ids
                .iter()
                .copied()
                .filter(|id| sender.reader.in_outbox(*id).unwrap_or(true))
                .collect();
            *ids = keep;
        }
    }
    sending.shutdown().await;
}

//! Outbound webhooks: shipment confirmed, inventory changed, exception raised.
//!
//! Durable, at least once. The ingest writer stages every delivery (one per event and matching
//! `[[webhooks]]` entry) in the `webhook_outbox` tree of the hub store, in the same commit as the
//! change that raised the event, with an id from a stored counter; only after that commit is it
//! handed to the sender. A delivery is a JSON POST signed with HMAC-SHA256 over the exact body
//! bytes (`X-Stockpost-Signature: sha256=<hex>`), retried with exponential back-off. It leaves
//! the outbox when the receiver answers 2xx, or after the last attempt, when it moves to the
//! `webhook_dead` tree (the newest [`MAX_DEAD_LETTERS`] are kept and shown by
//! `GET /api/v1/webhooks/dead-letters`). Deliveries still in the outbox when the hub stops are
//! sent again after it starts, with the same id and body: receivers dedupe on
//! `X-Stockpost-Delivery`.

use crate::config::WebhookConfig;
use crate::ops::WebhookEvent;
use crate::store::{HubStore, HubStoreError};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stockpost_store::WriteBatch;
use tokio::sync::{mpsc, watch, Semaphore};

/// Most dead letters kept (oldest dropped first).
pub const MAX_DEAD_LETTERS: usize = 1_000;
/// Most deliveries in progress at once.
pub const MAX_CONCURRENT: usize = 16;
/// Deliveries handed from the ingest writer to the sender at once; beyond it they wait in the
/// outbox for the next rescan.
pub const QUEUE: usize = 1_024;
/// How often the sender looks into the outbox for deliveries the queue had no room for.
pub const RESCAN: Duration = Duration::from_secs(5);

const OUTBOX: &str = "webhook_outbox";
const DEAD: &str = "webhook_dead";
const COUNTER: &str = "next_webhook";

/// A staged delivery, as the outbox keeps it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Delivery {
    /// Delivery id (`X-Stockpost-Delivery`), unique for the life of the hub store.
    pub id: u64,
    /// The receiver.
    pub url: String,
    /// The event kind.
    pub event: String,
    /// The body sent: `{"id", "event", "at", "data"}`.
    pub body: serde_json::Value,
}

/// A delivery that failed every attempt.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeadLetter {
    /// Delivery id.
    pub id: u64,
    /// The receiver.
    pub url: String,
    /// The event kind.
    pub event: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last error.
    pub last_error: String,
    /// The body that was sent.
    pub body: serde_json::Value,
    /// When it was given up, RFC 3339.
    pub at: String,
}

/// Webhook state shared by the ingest writer (staging), the sender and the API.
#[derive(Debug)]
pub struct Webhooks {
    hooks: Vec<WebhookConfig>,
    store: HubStore,
    dead: Mutex<VecDeque<DeadLetter>>,
    next_id: AtomicU64,
    queue: mpsc::Sender<Delivery>,
    rescan: AtomicBool,
    /// Deliveries in the outbox (staged, not yet delivered or given up).
    pub pending: AtomicU64,
    /// Deliveries that succeeded.
    pub delivered: AtomicU64,
    /// Failed attempts (each retry counts).
    pub failed_attempts: AtomicU64,
    /// Deliveries given up.
    pub dead_lettered: AtomicU64,
    /// Deliveries left in the outbox for the next rescan because the queue was full.
    pub deferred: AtomicU64,
    /// Outbox or dead-letter writes that failed (the delivery is sent again after a restart).
    pub store_failures: AtomicU64,
}

/// `sha256=<hex of HMAC-SHA256(secret, body)>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", crate::auth::hex(&mac.finalize().into_bytes()))
}

fn id_key(id: u64) -> Vec<u8> {
    id.to_be_bytes().to_vec()
}

fn json_error(tree: &'static str, e: serde_json::Error) -> HubStoreError {
    HubStoreError::Decode {
        tree,
        reason: e.to_string(),
    }
}

impl Webhooks {
    /// From the config, with what the store keeps (the id counter, pending deliveries, dead
    /// letters). Returns the sender's end of the queue, for [`run`].
    pub fn open(
        hooks: Vec<WebhookConfig>,
        store: HubStore,
    ) -> Result<(Self, mpsc::Receiver<Delivery>), HubStoreError> {
        let mut dead = VecDeque::new();
        for (_, v) in store.first_entries(DEAD, MAX_DEAD_LETTERS)? {
            dead.push_back(serde_json::from_slice(&v).map_err(|e| json_error(DEAD, e))?);
        }
        let next_id = store.counter(COUNTER)?.unwrap_or(1);
        let pending = store.count(OUTBOX)?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let hooks = Self {
            hooks,
            store,
            dead: Mutex::new(dead),
            next_id: AtomicU64::new(next_id),
            queue: tx,
            // The outbox may hold deliveries from before a restart.
            rescan: AtomicBool::new(pending > 0),
            pending: AtomicU64::new(pending),
            delivered: AtomicU64::new(0),
            failed_attempts: AtomicU64::new(0),
            dead_lettered: AtomicU64::new(0),
            deferred: AtomicU64::new(0),
            store_failures: AtomicU64::new(0),
        };
        Ok((hooks, rx))
    }

    /// Whether any receiver is configured.
    pub fn enabled(&self) -> bool {
        !self.hooks.is_empty()
    }

    /// The dead-letter list, oldest first.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        self.dead
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Writes one delivery per event and matching receiver into `batch` (the commit of the
    /// change that raised the events) and returns them, for [`Webhooks::dispatch`] once that
    /// commit is durable.
    pub fn stage(
        &self,
        batch: &mut WriteBatch,
        events: Vec<WebhookEvent>,
        at_ms: i64,
    ) -> Result<Vec<Delivery>, HubStoreError> {
        let mut staged = Vec::new();
        for event in events {
            for hook in &self.hooks {
                if !hook.events.is_empty() && !hook.events.iter().any(|e| e == event.kind) {
                    continue;
                }
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                let delivery = Delivery {
                    id,
                    url: hook.url.clone(),
                    event: event.kind.to_string(),
                    body: serde_json::json!({
                        "id": id,
                        "event": event.kind,
                        "at": crate::time::format_ms(at_ms),
                        "data": event.payload,
                    }),
                };
                let bytes = serde_json::to_vec(&delivery).map_err(|e| json_error(OUTBOX, e))?;
                batch.put(OUTBOX, id_key(id), bytes);
                staged.push(delivery);
            }
        }
        if !staged.is_empty() {
            let next = self.next_id.load(Ordering::Relaxed);
            batch.put(
                "meta",
                COUNTER.as_bytes().to_vec(),
                next.to_be_bytes().to_vec(),
            );
        }
        Ok(staged)
    }

    /// Hands committed deliveries to the sender; those the queue has no room for stay in the
    /// outbox for the next rescan.
    pub fn dispatch(&self, staged: Vec<Delivery>) {
        self.pending
            .fetch_add(staged.len() as u64, Ordering::Relaxed);
        for d in staged {
            if self.queue.try_send(d).is_err() {
                self.deferred.fetch_add(1, Ordering::Relaxed);
                self.rescan.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Takes delivery `id` out of the outbox, into the dead letters when `letter` is given.
    fn finish(&self, id: u64, letter: Option<DeadLetter>) {
        let mut batch = WriteBatch::new();
        batch.delete(OUTBOX, id_key(id));
        let mut dead = self.dead.lock().unwrap_or_else(|p| p.into_inner());
        let full = letter.is_some() && dead.len() >= MAX_DEAD_LETTERS;
        if let Some(letter) = &letter {
            match serde_json::to_vec(letter) {
                Ok(bytes) => {
                    batch.put(DEAD, id_key(letter.id), bytes);
                }
                Err(e) => tracing::error!(error = %e, id, "dead letter does not encode"),
            }
            if let Some(oldest) = dead.front().filter(|_| full) {
                batch.delete(DEAD, id_key(oldest.id));
            }
        }
        match self.store.commit(batch) {
            Ok(()) => {
                self.pending.fetch_sub(1, Ordering::Relaxed);
                if let Some(letter) = letter {
                    self.dead_lettered.fetch_add(1, Ordering::Relaxed);
                    if full {
                        dead.pop_front();
                    }
                    dead.push_back(letter);
                }
            }
            Err(e) => {
                self.store_failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, id, "webhook outbox not updated; the delivery is sent again after a restart");
            }
        }
    }

    /// Up to `limit` deliveries from the outbox that are not in flight, oldest first.
    fn waiting_in_outbox(&self, in_flight: &BTreeSet<u64>, limit: usize) -> Vec<Delivery> {
        let rows = match self.store.first_entries(OUTBOX, limit + in_flight.len()) {
            Ok(rows) => rows,
            Err(e) => {
                self.store_failures.fetch_add(1, Ordering::Relaxed);
                self.rescan.store(true, Ordering::Relaxed);
                tracing::error!(error = %e, "cannot read the webhook outbox");
                return Vec::new();
            }
        };
        rows.into_iter()
            .filter_map(|(_, v)| match serde_json::from_slice::<Delivery>(&v) {
                Ok(d) => Some(d),
                Err(e) => {
                    tracing::error!(error = %e, "a webhook outbox entry does not decode");
                    None
                }
            })
            .filter(|d| !in_flight.contains(&d.id))
            .take(limit)
            .collect()
    }
}

/// Sends one delivery until it succeeds or its receiver's attempts are used up, then takes
/// it out of the outbox.
async fn deliver(hooks: Arc<Webhooks>, client: reqwest::Client, delivery: Delivery) {
    // The queue and a rescan can both hand over a delivery; the first to finish removes it.
    match hooks.store.contains(OUTBOX, &id_key(delivery.id)) {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::error!(error = %e, id = delivery.id, "cannot read the webhook outbox");
            hooks.rescan.store(true, Ordering::Relaxed);
            return;
        }
    }
    let Some(hook) = hooks.hooks.iter().find(|h| h.url == delivery.url).cloned() else {
        let letter = DeadLetter {
            id: delivery.id,
            url: delivery.url.clone(),
            event: delivery.event.clone(),
            attempts: 0,
            last_error: "no [[webhooks]] entry has this url any more".into(),
            body: delivery.body,
            at: crate::time::format_ms(crate::time::now_ms()),
        };
        hooks.finish(delivery.id, Some(letter));
        return;
    };
    let bytes = match serde_json::to_vec(&delivery.body) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, id = delivery.id, "webhook body does not encode");
            return;
        }
    };
    let sig = signature(&hook.secret, &bytes);
    let mut delay = hook.backoff_ms.max(1);
    let mut last_error = String::new();
    for attempt in 1..=hook.max_attempts {
        let sent = client
            .post(&hook.url)
            .timeout(Duration::from_millis(hook.timeout_ms.max(1)))
            .header("content-type", "application/json")
            .header("x-stockpost-event", &delivery.event)
            .header("x-stockpost-delivery", delivery.id.to_string())
            .header("x-stockpost-signature", &sig)
            .body(bytes.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {
                hooks.delivered.fetch_add(1, Ordering::Relaxed);
                hooks.finish(delivery.id, None);
                return;
            }
            Ok(r) => last_error = format!("the receiver answered {}", r.status()),
            Err(e) => last_error = e.to_string(),
        }
        hooks.failed_attempts.fetch_add(1, Ordering::Relaxed);
        if attempt < hook.max_attempts {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            delay = delay.saturating_mul(2).min(60_000);
        }
    }
    tracing::warn!(url = %hook.url, event = %delivery.event, error = %last_error, "webhook dead-lettered");
    let letter = DeadLetter {
        id: delivery.id,
        url: hook.url.clone(),
        event: delivery.event.clone(),
        attempts: hook.max_attempts,
        last_error,
        body: delivery.body,
        at: crate::time::format_ms(crate::time::now_ms()),
    };
    hooks.finish(delivery.id, Some(letter));
}

/// Sends the deliveries handed over by [`Webhooks::dispatch`] and those waiting in the outbox
/// (after a restart, or when the queue was full) until shutdown; at most [`MAX_CONCURRENT`]
/// at once.
pub async fn run(
    hooks: Arc<Webhooks>,
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
    let permits = Arc::new(Semaphore::new(MAX_CONCURRENT));
    // Deliveries in progress end with the hub: what they did not finish stays in the outbox.
    let mut sending = tokio::task::JoinSet::new();
    let in_flight: Arc<Mutex<BTreeSet<u64>>> = Arc::default();
    let mut rescan = tokio::time::interval(RESCAN);
    rescan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let batch: Vec<Delivery> = tokio::select! {
            d = rx.recv() => match d { Some(d) => vec![d], None => break },
            _ = rescan.tick() => {
                if !hooks.rescan.swap(false, Ordering::Relaxed) {
                    continue;
                }
                let flying = in_flight.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let found = hooks.waiting_in_outbox(&flying, QUEUE);
                if found.len() == QUEUE {
                    // More may wait behind these.
                    hooks.rescan.store(true, Ordering::Relaxed);
                }
                found
            }
            _ = shutdown.changed() => if *shutdown.borrow() { break } else { continue },
        };
        for delivery in batch {
            let permit = tokio::select! {
                p = Arc::clone(&permits).acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                _ = shutdown.changed() => {
                    // Left in the outbox: sent after the next start.
                    if *shutdown.borrow() { break }
                    hooks.rescan.store(true, Ordering::Relaxed);
                    continue;
                }
            };
            if !in_flight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(delivery.id)
            {
                continue; // already being sent
            }
            let task_hooks = Arc::clone(&hooks);
            let client = client.clone();
            let flying = Arc::clone(&in_flight);
            while sending.try_join_next().is_some() {}
            sending.spawn(async move {
                let id = delivery.id;
                deliver(task_hooks, client, delivery).await;
                flying.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                drop(permit);
            });
        }
        if *shutdown.borrow() {
            break;
        }
    }
    sending.shutdown().await;
}

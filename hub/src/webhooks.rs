//! Outbound webhooks: shipment confirmed, inventory changed, exception raised.
//!
//! Each delivery is a JSON POST signed with HMAC-SHA256 over the exact body bytes
//! (`X-Stockpost-Signature: sha256=<hex>`), retried with exponential back-off, and after the
//! last attempt kept in a bounded dead-letter list that the API shows
//! (`GET /api/v1/webhooks/dead-letters`).

use crate::config::WebhookConfig;
use crate::ops::WebhookEvent;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch, Semaphore};

/// Most dead letters kept (oldest dropped first).
pub const MAX_DEAD_LETTERS: usize = 1_000;
/// Most deliveries in progress at once.
pub const MAX_CONCURRENT: usize = 16;

/// A delivery that failed every attempt.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
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

/// Webhook state shared with the API.
#[derive(Debug)]
pub struct Webhooks {
    hooks: Vec<WebhookConfig>,
    dead: Mutex<VecDeque<DeadLetter>>,
    next_id: AtomicU64,
    /// Deliveries that succeeded.
    pub delivered: AtomicU64,
    /// Failed attempts (each retry counts).
    pub failed_attempts: AtomicU64,
    /// Deliveries given up.
    pub dead_lettered: AtomicU64,
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

impl Webhooks {
    /// From the config.
    pub fn new(hooks: Vec<WebhookConfig>) -> Self {
        Self {
            hooks,
            dead: Mutex::new(VecDeque::new()),
            next_id: AtomicU64::new(1),
            delivered: AtomicU64::new(0),
            failed_attempts: AtomicU64::new(0),
            dead_lettered: AtomicU64::new(0),
        }
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

    fn bury(&self, letter: DeadLetter) {
        self.dead_lettered.fetch_add(1, Ordering::Relaxed);
        let mut dead = self.dead.lock().unwrap_or_else(|p| p.into_inner());
        if dead.len() >= MAX_DEAD_LETTERS {
            dead.pop_front();
        }
        dead.push_back(letter);
    }
}

async fn deliver(
    hooks: Arc<Webhooks>,
    client: reqwest::Client,
    hook: WebhookConfig,
    id: u64,
    kind: &'static str,
    body: serde_json::Value,
) {
    let bytes = match serde_json::to_vec(&body) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "webhook body does not encode");
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
            .header("x-stockpost-event", kind)
            .header("x-stockpost-delivery", id.to_string())
            .header("x-stockpost-signature", &sig)
            .body(bytes.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {
                hooks.delivered.fetch_add(1, Ordering::Relaxed);
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
    tracing::warn!(url = %hook.url, kind, error = %last_error, "webhook dead-lettered");
    hooks.bury(DeadLetter {
        id,
        url: hook.url.clone(),
        event: kind.to_string(),
        attempts: hook.max_attempts,
        last_error,
        body,
        at: crate::time::format_ms(crate::time::now_ms()),
    });
}

/// Delivers events from `rx` until shutdown.
pub async fn run(
    hooks: Arc<Webhooks>,
    mut rx: mpsc::Receiver<WebhookEvent>,
    mut shutdown: watch::Receiver<bool>,
) {
    let client = match reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook client cannot start; webhooks are off");
            return;
        }
    };
    let permits = Arc::new(Semaphore::new(MAX_CONCURRENT));
    loop {
        let event = tokio::select! {
            e = rx.recv() => match e { Some(e) => e, None => break },
            _ = shutdown.changed() => if *shutdown.borrow() { break } else { continue },
        };
        for hook in hooks.hooks.iter() {
            if !hook.events.is_empty() && !hook.events.iter().any(|e| e == event.kind) {
                continue;
            }
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                return;
            };
            let id = hooks.next_id.fetch_add(1, Ordering::Relaxed);
            let body = serde_json::json!({
                "id": id,
                "event": event.kind,
                "at": crate::time::format_ms(crate::time::now_ms()),
                "data": event.payload,
            });
            let task_hooks = Arc::clone(&hooks);
            let client = client.clone();
            let hook = hook.clone();
            let kind = event.kind;
            tokio::spawn(async move {
                deliver(task_hooks, client, hook, id, kind, body).await;
                drop(permit);
            });
        }
    }
}

//! The writer: the one thread that changes the hub's books. It takes the commands waiting in its
//! bounded queue (up to `ingest.max_batches_per_commit`), runs them through the engine in one
//! unit of work, commits once, publishes the read model, and only then answers the API callers,
//! hands webhook deliveries to the sender, and gives the MQTT side the acks, downlink messages
//! and packets to release (invariant 5). A failed commit keeps nothing of the round: callers get
//! 503, no ack is sent, and the nodes resend.

use crate::repo::EmbeddedRepo;
use crate::time::now_ms;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use stockpost_engine::read::ReadModel;
use stockpost_engine::records::Delivery;
use stockpost_engine::repo::Repository;
use stockpost_engine::{Command, Effect, Engine, EngineError, Now, Rejection, Reply};
use tokio::sync::{mpsc, oneshot};

/// The answer to a command.
pub type Answer = Result<Reply, EngineError>;

/// Work for the writer. `T` is the MQTT packet to release after the round.
#[derive(Debug)]
pub struct Request<T> {
    /// What to do.
    pub command: Command,
    /// The packet to release once the round is over (committed or not).
    pub token: Option<T>,
    /// Where the answer goes (API calls).
    pub reply: Option<oneshot::Sender<Answer>>,
}

impl<T> Request<T> {
    /// A command nobody waits for.
    pub fn fire(command: Command) -> Self {
        Self {
            command,
            token: None,
            reply: None,
        }
    }
}

/// What the MQTT side must do after a round.
#[derive(Debug)]
pub enum Outgoing<T> {
    /// An effect of the committed round (an ack, a resend request, downlink).
    Effect(Effect),
    /// Acknowledge an MQTT packet (its command was committed or deliberately dropped).
    Release(T),
}

/// The published read model: readers clone the `Arc` and never wait for the writer.
#[derive(Debug, Clone, Default)]
pub struct Published(Arc<RwLock<Arc<ReadModel>>>);

impl Published {
    /// The read model as of the last round.
    pub fn get(&self) -> Arc<ReadModel> {
        Arc::clone(&self.0.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn set(&self, model: ReadModel) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(model);
    }
}

/// Counters of the writer.
#[derive(Debug, Default)]
pub struct WriterCounters {
    /// Rounds committed.
    pub commits: AtomicU64,
    /// Rounds whose commit failed (or that failed inside the engine).
    pub commit_failures: AtomicU64,
}

/// A handle to the writer.
#[derive(Debug)]
pub struct WriterHandle<T> {
    /// Send work here (bounded).
    pub tx: mpsc::Sender<Request<T>>,
    /// The read model.
    pub published: Published,
    /// Counters.
    pub counters: Arc<WriterCounters>,
}

impl<T> Clone for WriterHandle<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            published: self.published.clone(),
            counters: Arc::clone(&self.counters),
        }
    }
}

/// Where the writer's results go.
#[derive(Debug)]
pub struct Outputs<T> {
    /// Effects and releases, for the MQTT side (bounded).
    pub mqtt: mpsc::Sender<Outgoing<T>>,
    /// Committed webhook deliveries, for the sender (bounded; a full queue leaves them in the
    /// outbox for its rescan).
    pub webhooks: Option<mpsc::Sender<Delivery>>,
}

/// Starts the writer thread over `repo`.
pub fn start<T: Send + 'static>(
    mut repo: EmbeddedRepo,
    mut engine: Engine,
    max_group: usize,
    queue: usize,
    out: Outputs<T>,
) -> std::io::Result<(WriterHandle<T>, std::thread::JoinHandle<()>)> {
    let (tx, rx) = mpsc::channel(queue.max(1));
    let published = Published::default();
    let monotonic = std::time::Instant::now();
    let clock = move || Now {
        wall: now_ms(),
        mono: u64::try_from(monotonic.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    if let Err(e) = engine.start(repo.uow(), clock()) {
        tracing::error!(error = %e, "the downlink senders could not be started");
    }
    publish(&published, &repo, &engine);
    let handle = WriterHandle {
        tx,
        published: published.clone(),
        counters: Arc::new(WriterCounters::default()),
    };
    let counters = Arc::clone(&handle.counters);
    let join = std::thread::Builder::new()
        .name("hub-writer".into())
        .spawn(move || {
            let mut w = Writer {
                repo,
                engine,
                published,
                counters,
                out,
            };
            w.run(rx, max_group.max(1), clock);
        })?;
    Ok((handle, join))
}

fn publish(published: &Published, repo: &EmbeddedRepo, engine: &Engine) {
    published.set(ReadModel {
        books: repo.books_view(),
        live: Arc::new(engine.live().clone()),
        at_ms: now_ms(),
    });
}

struct Writer<T> {
    repo: EmbeddedRepo,
    engine: Engine,
    published: Published,
    counters: Arc<WriterCounters>,
    out: Outputs<T>,
}

impl<T> Writer<T> {
    fn run(
        &mut self,
        mut rx: mpsc::Receiver<Request<T>>,
        max_group: usize,
        clock: impl Fn() -> Now,
    ) {
        while let Some(first) = rx.blocking_recv() {
            let mut group = vec![first];
            while group.len() < max_group {
                match rx.try_recv() {
                    Ok(r) => group.push(r),
                    Err(_) => break,
                }
            }
            if !self.round(group, clock()) {
                return;
            }
        }
    }

    /// One round; false when the MQTT side is gone (the hub stops).
    fn round(&mut self, group: Vec<Request<T>>, now: Now) -> bool {
        let (mut replies, release, failed) = self.run_commands(group, now);
        let outcome = match failed {
            Some(e) => Err(e),
            None => self.repo.commit().map_err(|e| e.to_string()),
        };
        let mut effects = Vec::new();
        let mut deliveries = Vec::new();
        match outcome {
            Ok(committed) => {
                self.counters.commits.fetch_add(1, Ordering::Relaxed);
                deliveries = committed.deliveries;
                match self.engine.committed(self.repo.uow(), now) {
                    Ok(e) => effects = e,
                    Err(e) => tracing::error!(error = %e, "effects of a committed round"),
                }
            }
            Err(e) => {
                self.counters
                    .commit_failures
                    .fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "the round was not committed; nothing of it was kept; nodes will resend");
                self.repo.rollback();
                self.engine.aborted();
                for (_, answer) in replies.iter_mut() {
                    if answer.is_ok() || matches!(answer, Err(EngineError::Internal(_))) {
                        *answer = Err(not_stored());
                    }
                }
            }
        }
        publish(&self.published, &self.repo, &self.engine);
        for (reply, answer) in replies {
            let _ = reply.send(answer);
        }
        self.hand_out(deliveries, effects, release)
    }

    /// Runs each command of the round through the engine; after an internal failure the rest
    /// are answered "not stored" without running. Returns the answers owed, the packets to
    /// release and the internal failure, if any.
    #[allow(clippy::type_complexity)]
    fn run_commands(
        &mut self,
        group: Vec<Request<T>>,
        now: Now,
    ) -> (
        Vec<(oneshot::Sender<Answer>, Answer)>,
        Vec<T>,
        Option<String>,
    ) {
        let mut replies = Vec::new();
        let mut release = Vec::new();
        let mut failed: Option<String> = None;
        for request in group {
            release.extend(request.token);
            let answer = if failed.is_some() {
                Err(not_stored())
            } else {
                let a = self.engine.handle(self.repo.uow(), now, request.command);
                if let Err(EngineError::Internal(e)) = &a {
                    failed = Some(e.clone());
                }
                a
            };
            if let Some(reply) = request.reply {
                replies.push((reply, answer));
            }
        }
        (replies, release, failed)
    }

    /// After the round: webhook deliveries to the sender, effects and packet releases to the
    /// MQTT side. False when the MQTT side has stopped.
    fn hand_out(
        &mut self,
        deliveries: Vec<Delivery>,
        effects: Vec<Effect>,
        release: Vec<T>,
    ) -> bool {
        if let Some(hooks) = &self.out.webhooks {
            for d in deliveries {
                // A full queue leaves it in the outbox for the sender's rescan.
                let _ = hooks.try_send(d);
            }
        }
        for effect in effects {
            if let Effect::Notice(text) = &effect {
                tracing::warn!("{text}");
                continue;
            }
            if self
                .out
                .mqtt
                .blocking_send(Outgoing::Effect(effect))
                .is_err()
            {
                return false;
            }
        }
        for token in release {
            if self
                .out
                .mqtt
                .blocking_send(Outgoing::Release(token))
                .is_err()
            {
                return false;
            }
        }
        true
    }
}

/// The answer to a change the hub could not store.
fn not_stored() -> EngineError {
    EngineError::Rejected(Rejection::busy(
        "the hub could not store the change; nothing was changed; try again",
    ))
}

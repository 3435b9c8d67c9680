//! [`Engine`]: runs commands against a unit of work and gives the effects of a committed round.
//!
//! A round, as the IO shell drives it:
//!
//! ```text
//! for each command:  engine.handle(uow, now, command)   // a rejected one is rolled back
//! repository.commit()  ─ok─▶  engine.committed(uow, now) → effects (acks, downlink, notices)
//!                      ─err─▶ engine.aborted(uow)        (nothing of the round is kept)
//! ```
//!
//! Besides the books (all in the repository) the engine keeps only protocol state that is
//! rebuilt from the books at any time: each node's uplink receiver and downlink sender, and the
//! live view of the nodes (online, last seen).

use crate::command::{ApiCommand, Command, Reply};
use crate::error::{EngineError, EngineResult};
use crate::read::{LiveView, NodeLive};
use crate::repo::UnitOfWork;
use crate::settings::{Now, Settings};
use crate::{adjustments, catalog, documents, downlink, exceptions, ingest, orders, webhooks};
use std::collections::{BTreeMap, BTreeSet};
use stockpost_common::domain::NodeId;
use stockpost_common::orders::Actor;
use stockpost_common::sync::{Receiver, ReceiverTransmit, Sender};
use stockpost_common::wire::DownlinkItem;

/// Something to do once a round is committed.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Publish an ack or a resend request to a node.
    Transmit {
        /// To whom.
        node: NodeId,
        /// What.
        transmit: ReceiverTransmit,
    },
    /// Publish downlink items to a node.
    Downlink {
        /// To whom.
        node: NodeId,
        /// The first item's downlink sequence.
        first_seq: u64,
        /// The items.
        items: Vec<DownlinkItem>,
    },
    /// Something worth a log line (a rule that could not follow a fact, an odd message).
    Notice(String),
}

/// What one round touched, for the effects after its commit.
#[derive(Debug, Default)]
pub(crate) struct RoundState {
    /// Nodes whose receiver has something to say.
    pub(crate) uplink: BTreeSet<NodeId>,
    /// Applied up to, per node, in this round.
    pub(crate) committed_to: BTreeMap<NodeId, u64>,
    /// Nodes whose downlink grew or was acked.
    pub(crate) downlink: BTreeSet<NodeId>,
    /// Log lines.
    pub(crate) notices: Vec<String>,
}

/// The engine's own state: settings and rebuildable protocol state.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) settings: Settings,
    pub(crate) receivers: BTreeMap<NodeId, Receiver>,
    pub(crate) senders: BTreeMap<NodeId, Sender>,
    pub(crate) live: LiveView,
    pub(crate) round: RoundState,
    /// Stock arrived since the last backorder retry.
    pub(crate) stock_arrived: bool,
    /// An API command runs: a full downlink refuses it (node facts are never refused).
    pub(crate) api: bool,
}

/// What a capability needs: the engine's state, the unit of work and the round's times.
pub(crate) struct Cx<'a> {
    pub(crate) st: &'a mut State,
    pub(crate) uow: &'a mut dyn UnitOfWork,
    pub(crate) now: Now,
}

impl Cx<'_> {
    /// Whether the node's last status said online.
    pub(crate) fn online(&self, node: &NodeId) -> bool {
        self.st.live.nodes.get(node).is_some_and(|n| n.online)
    }

    /// A log line for after the commit.
    pub(crate) fn notice(&mut self, text: String) {
        self.st.round.notices.push(text);
    }
}

/// The hub's rules. See the module docs.
#[derive(Debug)]
pub struct Engine {
    st: State,
}

impl Engine {
    /// An engine with `settings` and no protocol state yet.
    pub fn new(settings: Settings) -> Self {
        Self {
            st: State {
                settings,
                receivers: BTreeMap::new(),
                senders: BTreeMap::new(),
                live: LiveView::default(),
                round: RoundState::default(),
                stock_arrived: true,
                api: false,
            },
        }
    }

    /// Starts the downlink senders of every node with downlink marks, so what was waiting when
    /// the hub stopped is sent again.
    pub fn start(&mut self, uow: &mut dyn UnitOfWork, now: Now) -> EngineResult<()> {
        let mut cx = Cx {
            st: &mut self.st,
            uow,
            now,
        };
        downlink::start_all(&mut cx)
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.st.settings
    }

    /// The live view of the nodes (for the read model).
    pub fn live(&self) -> &LiveView {
        &self.st.live
    }

    /// Runs one command. A rejected command changes nothing (its writes are rolled back); an
    /// internal error means the round must not be committed.
    pub fn handle(
        &mut self,
        uow: &mut dyn UnitOfWork,
        now: Now,
        command: Command,
    ) -> EngineResult<Reply> {
        let mark = uow.mark();
        let mut cx = Cx {
            st: &mut self.st,
            uow,
            now,
        };
        let result = dispatch(&mut cx, command);
        cx.st.api = false;
        if let Err(EngineError::Rejected(_)) = &result {
            uow_rollback(&mut cx, &mark);
        }
        result
    }

    /// The round is committed: the effects to carry out, in order.
    pub fn committed(&mut self, uow: &mut dyn UnitOfWork, now: Now) -> EngineResult<Vec<Effect>> {
        let round = std::mem::take(&mut self.st.round);
        let mut out: Vec<Effect> = round.notices.into_iter().map(Effect::Notice).collect();
        for (node, seq) in &round.committed_to {
            if let Some(r) = self.st.receivers.get_mut(node) {
                r.committed(*seq);
            }
        }
        for node in &round.uplink {
            if let Some(r) = self.st.receivers.get_mut(node) {
                while let Some(transmit) = r.poll_transmit() {
                    out.push(Effect::Transmit {
                        node: node.clone(),
                        transmit,
                    });
                }
            }
        }
        let mut cx = Cx {
            st: &mut self.st,
            uow,
            now,
        };
        for node in &round.downlink {
            downlink::produced(&mut cx, node)?;
        }
        out.extend(downlink::poll(&mut cx)?);
        Ok(out)
    }

    /// The round's commit failed: forget what its commands did to the protocol state.
    pub fn aborted(&mut self) {
        let round = std::mem::take(&mut self.st.round);
        for node in round.uplink.iter().chain(round.committed_to.keys()) {
            if let Some(r) = self.st.receivers.get_mut(node) {
                r.commit_failed();
            }
        }
        // Senders are rebuilt from the books' marks when next used.
        for node in &round.downlink {
            self.st.senders.remove(node);
        }
        self.st.stock_arrived = true;
    }
}

fn uow_rollback(cx: &mut Cx<'_>, mark: &crate::repo::Mark) {
    cx.uow.rollback_to(mark);
}

fn dispatch(cx: &mut Cx<'_>, command: Command) -> EngineResult<Reply> {
    match command {
        Command::NodeBatch { node, events } => {
            ingest::batch(cx, &node, events).map(|()| Reply::Done)
        }
        Command::NodeStatus {
            node,
            online,
            head,
            pending,
        } => {
            status(cx, node, online, head, pending)?;
            Ok(Reply::Done)
        }
        Command::DownlinkAck { node, applied_seq } => {
            if cx.uow.nodes().get(&node)?.is_some() {
                touch_live(cx, &node);
                downlink::ack(cx, &node, applied_seq)?;
            }
            Ok(Reply::Done)
        }
        Command::Unauthenticated {
            node,
            seq,
            status,
            reason,
        } => {
            crate::credentials::unauthenticated(cx, &node, seq, status, &reason)?;
            Ok(Reply::Done)
        }
        Command::Poison {
            node,
            seq,
            reason,
            payload,
        } => {
            crate::quarantine::poison(cx, node, seq, reason, &payload)?;
            Ok(Reply::Done)
        }
        Command::Link { up } => {
            cx.st.live.link_up = up;
            downlink::link(cx, up);
            Ok(Reply::Done)
        }
        Command::Tick => {
            orders::tick(cx)?;
            Ok(Reply::Done)
        }
        Command::Api { op, actor } => {
            cx.st.api = true;
            api(cx, op, &actor)
        }
        Command::WebhookFinished { id, dead } => {
            webhooks::finished(cx, id, dead)?;
            Ok(Reply::Done)
        }
    }
}

fn api(cx: &mut Cx<'_>, op: ApiCommand, actor: &Actor) -> EngineResult<Reply> {
    match op {
        ApiCommand::PutItem(record) => catalog::put_item(cx, *record, actor),
        ApiCommand::PutNode(node, master, credential) => {
            catalog::put_node(cx, node, master, credential, actor)
        }
        ApiCommand::IssueCredential(node, key) => crate::credentials::issue(cx, node, key, actor),
        ApiCommand::PutLocation(node, code, info) => {
            catalog::put_location(cx, node, code, info, actor)
        }
        ApiCommand::CreateInbound { node, doc, lines } => {
            documents::create(cx, documents::NewDoc::inbound(node, doc, lines), actor)
        }
        ApiCommand::CreateReturn {
            node,
            rma,
            order,
            lines,
        } => documents::create(cx, documents::NewDoc::rma(node, rma, order, lines), actor),
        ApiCommand::CreateOrder(new) => orders::create(cx, &new, actor),
        ApiCommand::CancelOrder(r) => orders::cancel(cx, &r, actor),
        ApiCommand::ReleaseOrder(r) => orders::release_order(cx, &r, &actor.name),
        ApiCommand::ResolveException { id, note } => exceptions::resolve(cx, id, note, actor),
        ApiCommand::DecideAdjustment { id, approve } => adjustments::decide(cx, id, approve, actor),
    }
}

pub(crate) fn touch_live<'a>(cx: &'a mut Cx<'_>, node: &NodeId) -> &'a mut NodeLive {
    let live = cx.st.live.nodes.entry(node.clone()).or_default();
    live.last_seen_ms = Some(cx.now.wall);
    live
}

/// A node's status message: only registered nodes are shown (a forged status for a name the
/// hub does not know adds nothing).
fn status(
    cx: &mut Cx<'_>,
    node: NodeId,
    online: bool,
    head: u64,
    pending: u64,
) -> EngineResult<()> {
    if cx.uow.nodes().get(&node)?.is_none() {
        cx.notice(format!(
            "a status message for node {node}, which is not registered, was ignored"
        ));
        return Ok(());
    }
    let live = touch_live(cx, &node);
    live.online = online;
    if online {
        live.reported_head = head;
        live.reported_pending = pending;
    }
    Ok(())
}

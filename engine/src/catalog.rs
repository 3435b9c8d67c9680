//! Master data: items (sent to every node), nodes (a new node gets every item and its
//! locations) and locations.

use crate::audit;
use crate::command::{CredentialChoice, Reply};
use crate::downlink;
use crate::engine::Cx;
use crate::error::{EngineResult, Rejection};
use crate::records::{ItemRecord, NodeMaster};
use std::sync::Arc;
use stockpost_common::domain::{LocationCode, LocationInfo, NodeId, Sku};
use stockpost_common::orders::{Actor, AuditValue, NodeInfo};
use stockpost_common::wire::DownlinkItem;

/// Every row of a table, a page at a time.
fn all<K: Ord + Clone, V>(
    table: &mut dyn crate::repo::Table<K, V>,
) -> EngineResult<Vec<(K, Arc<V>)>> {
    let mut out: Vec<(K, Arc<V>)> = Vec::new();
    loop {
        let page = table.scan(out.last().map(|(k, _)| k), 1_000)?;
        if page.is_empty() {
            return Ok(out);
        }
        out.extend(page);
    }
}

/// Every registered node.
pub(crate) fn nodes(cx: &mut Cx<'_>) -> EngineResult<Vec<(NodeId, Arc<NodeMaster>)>> {
    all(cx.uow.nodes())
}

/// The registered nodes as the allocation rules see them.
pub(crate) fn node_infos(cx: &mut Cx<'_>) -> EngineResult<Vec<NodeInfo>> {
    let nodes = nodes(cx)?;
    Ok(nodes
        .into_iter()
        .map(|(node, m)| NodeInfo {
            online: cx.online(&node),
            node,
            priority: m.priority,
            active: m.active,
            cutoff_ms_of_day: m.cutoff_ms_of_day,
        })
        .collect())
}

fn item_text(r: &ItemRecord) -> String {
    format!(
        "{} ({} GTINs, {:?}, unit value {})",
        r.item.description,
        r.item.gtins.len(),
        r.item.tracking,
        r.unit_value
    )
}

/// `PUT /items/{sku}`: stores it and sends it to every node.
pub(crate) fn put_item(cx: &mut Cx<'_>, record: ItemRecord, actor: &Actor) -> EngineResult<Reply> {
    let sku: Sku = record.item.sku.clone();
    let before = cx.uow.items().get(&sku)?;
    for (node, _) in nodes(cx)? {
        downlink::enqueue(
            cx,
            &node,
            vec![DownlinkItem::ItemUpsert(record.item.clone())],
        )?;
    }
    audit::record(
        cx,
        &actor.name,
        "item.put",
        format!("item:{sku}"),
        before
            .map(|b| AuditValue::text(item_text(&b)))
            .unwrap_or(AuditValue::Null),
        AuditValue::text(item_text(&record)),
    )?;
    let record = Arc::new(record);
    cx.uow.items().put(sku, (*record).clone())?;
    Ok(Reply::Item(record))
}

/// `PUT /nodes/{node}`: registers or updates a node; a new node gets every item and its
/// locations on its downlink, and a node without a sync credential gets one.
pub(crate) fn put_node(
    cx: &mut Cx<'_>,
    node: NodeId,
    master: NodeMaster,
    credential: CredentialChoice,
    actor: &Actor,
) -> EngineResult<Reply> {
    let before = cx.uow.nodes().get(&node)?;
    if before.is_none() {
        let mut items: Vec<DownlinkItem> = all(cx.uow.items())?
            .into_iter()
            .map(|(_, r)| DownlinkItem::ItemUpsert(r.item.clone()))
            .collect();
        items.extend(
            cx.uow
                .stock_view()
                .locations_of(&node)
                .into_iter()
                .map(|(code, info)| DownlinkItem::LocationUpsert { code, info }),
        );
        downlink::open(cx, &node)?;
        downlink::enqueue(cx, &node, items)?;
    }
    audit::record(
        cx,
        &actor.name,
        "node.put",
        format!("node:{node}"),
        before
            .map(|b| AuditValue::text(format!("{} priority {}", b.name, b.priority)))
            .unwrap_or(AuditValue::Null),
        AuditValue::text(format!("{} priority {}", master.name, master.priority)),
    )?;
    cx.uow.nodes().put(node.clone(), master.clone())?;
    let issued = crate::credentials::on_put_node(cx, &node, credential, actor)?;
    Ok(Reply::Node(node, master, issued))
}

/// `PUT /nodes/{node}/locations/{code}`.
pub(crate) fn put_location(
    cx: &mut Cx<'_>,
    node: NodeId,
    code: LocationCode,
    info: LocationInfo,
    actor: &Actor,
) -> EngineResult<Reply> {
    if cx.uow.nodes().get(&node)?.is_none() {
        return Err(Rejection::not_found(format!(
            "node {node} is not registered; PUT /api/v1/nodes/{node} first"
        ))
        .into());
    }
    let before = cx.uow.stock_view().location(&node, &code);
    downlink::enqueue(
        cx,
        &node,
        vec![DownlinkItem::LocationUpsert {
            code: code.clone(),
            info: info.clone(),
        }],
    )?;
    cx.uow.stock().set_location(&node, &code, info.clone());
    audit::record(
        cx,
        &actor.name,
        "location.put",
        format!("location:{node}/{code}"),
        before
            .map(|b| AuditValue::text(format!("{:?} pickable {}", b.kind, b.pickable)))
            .unwrap_or(AuditValue::Null),
        AuditValue::text(format!("{:?} pickable {}", info.kind, info.pickable)),
    )?;
    // A location that becomes pickable can make stock available for backorders.
    cx.st.stock_arrived = true;
    Ok(Reply::Location(node, code, info))
}

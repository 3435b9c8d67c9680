//! MQTT topics of the sync protocol (docs/protocol.md). A node's broker ACL allows it to
//! publish only under `stockpost/v1/up/<node>` and `stockpost/v1/status/<node>`, and to
//! subscribe only to `stockpost/v1/down/<node>`.

use crate::domain::NodeId;

/// Prefix of every Stockpost topic; the `v1` changes only with an incompatible protocol.
pub const ROOT: &str = "stockpost/v1";

/// Node → hub: event batches and downlink acks.
pub fn up(node: &NodeId) -> String {
    format!("{ROOT}/up/{node}")
}

/// Hub → node: acks, resend requests and downlink items.
pub fn down(node: &NodeId) -> String {
    format!("{ROOT}/down/{node}")
}

/// Node status (retained; also the node's last will).
pub fn status(node: &NodeId) -> String {
    format!("{ROOT}/status/{node}")
}

/// What the hub subscribes to (a shared subscription group when several hubs consume).
pub fn hub_subscriptions(share_group: Option<&str>) -> [String; 2] {
    let prefix = match share_group {
        Some(group) => format!("$share/{group}/"),
        None => String::new(),
    };
    [
        format!("{prefix}{ROOT}/up/+"),
        format!("{prefix}{ROOT}/status/+"),
    ]
}

/// Which kind of topic, and for which node, an incoming topic is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topic {
    /// `stockpost/v1/up/<node>`
    Up(String),
    /// `stockpost/v1/down/<node>`
    Down(String),
    /// `stockpost/v1/status/<node>`
    Status(String),
}

/// Parses a topic; `None` when it is not one of ours. The node segment is returned as text:
/// the caller checks it against the envelope's node.
pub fn parse(topic: &str) -> Option<Topic> {
    let rest = topic.strip_prefix(ROOT)?.strip_prefix('/')?;
    let (kind, node) = rest.split_once('/')?;
    if node.is_empty() || node.contains('/') {
        return None;
    }
    let node = node.to_string();
    match kind {
        "up" => Some(Topic::Up(node)),
        "down" => Some(Topic::Down(node)),
        "status" => Some(Topic::Status(node)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_round_trip_and_foreign_topics_are_not_ours() -> Result<(), crate::domain::IdError> {
        let node = NodeId::new("DC-EAST")?;
        assert_eq!(up(&node), "stockpost/v1/up/DC-EAST");
        assert_eq!(parse(&up(&node)), Some(Topic::Up("DC-EAST".into())));
        assert_eq!(parse(&down(&node)), Some(Topic::Down("DC-EAST".into())));
        assert_eq!(parse(&status(&node)), Some(Topic::Status("DC-EAST".into())));
        for foreign in [
            "stockpost/v2/up/X",
            "stockpost/v1/up/",
            "stockpost/v1/up/A/B",
            "other",
            "stockpost/v1/x/A",
        ] {
            assert_eq!(parse(foreign), None, "{foreign}");
        }
        assert_eq!(
            hub_subscriptions(Some("hubs"))[0],
            "$share/hubs/stockpost/v1/up/+"
        );
        Ok(())
    }
}

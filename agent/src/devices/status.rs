//! Link status every driver publishes on a `watch` channel.

/// Whether the driver currently holds a connection to its device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Opening the port / connecting / waiting for a connection.
    Connecting,
    /// Connected: bytes can flow.
    Connected,
    /// Lost the device (EOF, EIO, reset, open failed); waiting for the back-off before retrying.
    Disconnected,
}

/// What a driver knows about its device link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceStatus {
    /// Current link state.
    pub link: LinkState,
    /// Number of successful connections so far (a reconnect increments it).
    pub connections: u64,
    /// The last error seen (open failure, IO error, protocol error, timeout), if any.
    pub last_error: Option<String>,
}

impl DeviceStatus {
    /// The state before the first connection attempt.
    pub fn initial() -> Self {
        Self {
            link: LinkState::Connecting,
            connections: 0,
            last_error: None,
        }
    }

    /// Whether the link is up.
    pub fn is_connected(&self) -> bool {
        self.link == LinkState::Connected
    }
}

/// Helpers to update a status `watch` in place.
pub(crate) fn set_link(tx: &tokio::sync::watch::Sender<DeviceStatus>, link: LinkState) {
    tx.send_modify(|s| {
        s.link = link;
        if link == LinkState::Connected {
            s.connections = s.connections.saturating_add(1);
        }
    });
}

pub(crate) fn set_error(tx: &tokio::sync::watch::Sender<DeviceStatus>, error: impl Into<String>) {
    let error = error.into();
    tx.send_modify(|s| s.last_error = Some(error));
}

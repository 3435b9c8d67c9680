//! Failed-token windows per client address: after `per_minute` failed token checks from one
//! address in a minute, that address is refused (`429`) until its minute is over. Used by the hub
//! and the agent before any body is read.

use axum::extract::{ConnectInfo, Request};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most client addresses whose failures are remembered (the oldest windows are forgotten first).
const MAX_TRACKED: usize = 10_000;
const WINDOW: Duration = Duration::from_secs(60);

/// Per-address failed-token windows.
#[derive(Debug)]
pub struct Guard {
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    /// Failed checks allowed per address and minute.
    pub per_minute: u32,
}

impl Guard {
    /// Allowing `per_minute` failed token checks per address and minute.
    pub fn new(per_minute: u32) -> Self {
        Self {
            failures: Mutex::new(HashMap::new()),
            per_minute,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (Instant, u32)>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True when `ip` used up its failures for this minute.
    pub fn blocked(&self, ip: IpAddr, now: Instant) -> bool {
        self.lock()
            .get(&ip)
            .is_some_and(|(start, n)| now.duration_since(*start) < WINDOW && *n >= self.per_minute)
    }

    /// Notes a failed token check from `ip`; returns how many it made this minute.
    pub fn failed(&self, ip: IpAddr, now: Instant) -> u32 {
        let mut map = self.lock();
        if map.len() >= MAX_TRACKED && !map.contains_key(&ip) {
            map.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            if map.len() >= MAX_TRACKED {
                if let Some(oldest) = map.iter().min_by_key(|(_, (s, _))| *s).map(|(k, _)| *k) {
                    map.remove(&oldest);
                }
            }
        }
        let entry = map.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1
    }
}

/// The client address of a request served by [`crate::serve`] (`0.0.0.0` when unknown).
pub fn client(req: &Request) -> IpAddr {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_blocked_after_its_failures_for_the_minute_and_others_are_not() {
        let g = Guard::new(2);
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let now = Instant::now();
        assert!(!g.blocked(a, now));
        assert_eq!(g.failed(a, now), 1);
        assert_eq!(g.failed(a, now), 2);
        assert!(g.blocked(a, now));
        assert!(!g.blocked(b, now));
        assert!(!g.blocked(a, now + WINDOW));
    }
}

//! How many streams may be open: per client address (`--max-streams-per-client`, 429 beyond)
//! and in all (`--max-streams`, 503 beyond).
//!
//! A stream handler takes a [`StreamPermit`] first — before it parses topics, subscribes or
//! copies anything — so a refused client costs one map lookup. The permit is held by the
//! stream's body and given back when the body is dropped (the client went away, the stream
//! ended), so a refusal never touches an open stream: limits only stop new ones.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::error::ApiError;
use crate::server::client::ClientAddr;

#[derive(Clone)]
pub struct StreamLimits {
    /// 0: no per-client limit.
    per_client: u64,
    total: u64,
    /// A `std` mutex: one map update per stream opened or closed, never held across an await.
    counts: Arc<Mutex<Counts>>,
}

#[derive(Default)]
struct Counts {
    total: u64,
    /// Only addresses with at least one open stream (entries leave at zero), so the map is
    /// bounded by the number of open streams.
    by_client: HashMap<IpAddr, u64>,
}

impl StreamLimits {
    pub fn new(per_client: u64, total: u64) -> StreamLimits {
        StreamLimits {
            per_client,
            total,
            counts: Arc::default(),
        }
    }

    /// A slot for one more stream from `client`, or the refusal to send.
    pub fn acquire(&self, client: ClientAddr) -> Result<StreamPermit, ApiError> {
        let key = client.limit_key();
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let mine = c.by_client.get(&key).copied().unwrap_or(0);
        if self.per_client > 0 && mine >= self.per_client {
            return Err(ApiError::TooManyStreams {
                limit: self.per_client,
            });
        }
        if c.total >= self.total {
            return Err(ApiError::StreamsFull);
        }
        c.total += 1;
        *c.by_client.entry(key).or_insert(0) += 1;
        Ok(StreamPermit {
            counts: self.counts.clone(),
            key,
        })
    }

    /// Streams open now (for `/metrics`).
    pub fn open(&self) -> u64 {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).total
    }

    pub fn total_limit(&self) -> u64 {
        self.total
    }
}

/// One open stream's place in the counts; dropping it frees the place.
pub struct StreamPermit {
    counts: Arc<Mutex<Counts>>,
    key: IpAddr,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.by_client.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                c.by_client.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(s: &str) -> ClientAddr {
        ClientAddr(s.parse().unwrap())
    }

    #[test]
    fn per_client_then_total_and_permits_come_back() {
        let limits = StreamLimits::new(2, 3);
        let a1 = limits.acquire(client("10.0.0.1")).unwrap();
        let _a2 = limits.acquire(client("10.0.0.1")).unwrap();
        assert!(matches!(
            limits.acquire(client("10.0.0.1")),
            Err(ApiError::TooManyStreams { limit: 2 })
        ));
        let _b1 = limits.acquire(client("10.0.0.2")).unwrap();
        assert!(matches!(
            limits.acquire(client("10.0.0.3")),
            Err(ApiError::StreamsFull)
        ));
        assert_eq!(limits.open(), 3);
        drop(a1);
        assert_eq!(limits.open(), 2);
        let _a3 = limits.acquire(client("10.0.0.1")).unwrap();
    }

    #[test]
    fn zero_means_no_per_client_limit() {
        let limits = StreamLimits::new(0, 100);
        let permits: Vec<_> = (0..50)
            .map(|_| limits.acquire(client("127.0.0.1")).unwrap())
            .collect();
        assert_eq!(limits.open(), 50);
        drop(permits);
        assert_eq!(limits.open(), 0);
        assert!(limits.counts.lock().unwrap().by_client.is_empty());
    }
}

//! Rate limits: a token bucket per key. Per client address for the feed's form and for
//! scorekeeper sign-in attempts (the address as [`super::client`] decides it, so behind a
//! `--trusted-proxy` each client has its own bucket); per publish token for publishing.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Keys tracked at most; when full, buckets that have refilled are forgotten first (they
/// carry no state worth keeping), so memory stays bounded under many addresses.
const MAX_CLIENTS: usize = 50_000;

#[derive(Clone)]
pub struct RateLimiter<K = IpAddr> {
    /// Tokens per second.
    rate: f64,
    burst: f64,
    /// key → (tokens, last refill). A `std` mutex: one map operation per call, no await inside.
    buckets: Arc<Mutex<HashMap<K, (f64, Instant)>>>,
}

impl<K: Hash + Eq> RateLimiter<K> {
    pub fn new(per_minute: f64, burst: u32) -> RateLimiter<K> {
        RateLimiter {
            rate: (per_minute / 60.0).max(0.0),
            burst: f64::from(burst.max(1)),
            buckets: Arc::default(),
        }
    }

    /// Takes one token for `ip` at `now`; `Err(wait)` says how long until one is available.
    pub fn check_at(&self, ip: K, now: Instant) -> Result<(), Duration> {
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_CLIENTS && !map.contains_key(&ip) {
            let (rate, burst) = (self.rate, self.burst);
            map.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = map.entry(ip).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else if self.rate > 0.0 {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.rate))
        } else {
            Err(Duration::from_secs(3600))
        }
    }

    pub fn check(&self, ip: K) -> Result<(), Duration> {
        self.check_at(ip, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady_rate_per_client() {
        let limit: RateLimiter = RateLimiter::new(6.0, 2); // one every 10 s after a burst of 2
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        assert!(limit.check_at(a, t0).is_ok());
        assert!(limit.check_at(a, t0).is_ok());
        let wait = limit.check_at(a, t0).unwrap_err();
        assert_eq!(wait.as_secs(), 10);
        assert!(
            limit.check_at(b, t0).is_ok(),
            "another client has its own bucket"
        );
        assert!(limit.check_at(a, t0 + Duration::from_secs(5)).is_err());
        assert!(limit.check_at(a, t0 + Duration::from_secs(11)).is_ok());
    }
}

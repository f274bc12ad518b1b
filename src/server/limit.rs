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

/// Failed attempts counted across every client, with a growing wait: the first `free`
/// failures cost nothing more, then each further one locks the action for everyone for a wait
/// that doubles (`base`, 2 × `base`, … up to `max`). A success, or `quiet` without a failure,
/// starts the count again.
///
/// This is what stops a guesser with many addresses (a botnet, or forged addresses behind a
/// trusted proxy) that each stay under the per-address limit. The price is that during an
/// attack the real operator waits too; the wait is bounded by `max` and says how long.
#[derive(Clone)]
pub struct Backoff {
    free: u32,
    base: Duration,
    max: Duration,
    quiet: Duration,
    state: Arc<Mutex<BackoffState>>,
}

#[derive(Default)]
struct BackoffState {
    failures: u32,
    last_failure: Option<Instant>,
    locked_until: Option<Instant>,
}

impl Backoff {
    pub fn new(free: u32, base: Duration, max: Duration, quiet: Duration) -> Backoff {
        Backoff {
            free,
            base,
            max,
            quiet,
            state: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BackoffState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(wait)` while locked.
    pub fn check_at(&self, now: Instant) -> Result<(), Duration> {
        match self.lock().locked_until {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Counts a failure at `now`; returns the lock it starts, if any.
    pub fn failed_at(&self, now: Instant) -> Option<Duration> {
        let mut s = self.lock();
        if s.last_failure
            .is_some_and(|last| now.duration_since(last) > self.quiet)
        {
            *s = BackoffState::default();
        }
        s.failures = s.failures.saturating_add(1);
        s.last_failure = Some(now);
        let over = s.failures.checked_sub(self.free)?.checked_sub(1)?;
        let wait = self.base.saturating_mul(1u32 << over.min(20)).min(self.max);
        s.locked_until = Some(now + wait);
        Some(wait)
    }

    /// A success: the count starts again.
    pub fn succeeded(&self) {
        *self.lock() = BackoffState::default();
    }

    pub fn check(&self) -> Result<(), Duration> {
        self.check_at(Instant::now())
    }

    pub fn failed(&self) -> Option<Duration> {
        self.failed_at(Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_locks_everyone_after_free_failures_and_doubles() {
        let s = Duration::from_secs(1);
        let b = Backoff::new(3, s, 8 * s, 60 * s);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(b.check_at(t0).is_ok());
            assert_eq!(b.failed_at(t0), None);
        }
        assert_eq!(b.failed_at(t0), Some(s), "the 4th failure locks for 1 s");
        assert_eq!(b.check_at(t0), Err(s));
        let t1 = t0 + s;
        assert!(b.check_at(t1).is_ok());
        assert_eq!(b.failed_at(t1), Some(2 * s));
        assert_eq!(b.failed_at(t1 + 2 * s), Some(4 * s));
        assert_eq!(b.failed_at(t1 + 6 * s), Some(8 * s));
        assert_eq!(b.failed_at(t1 + 14 * s), Some(8 * s), "capped at max");
        // A quiet minute forgets the failures.
        let later = t1 + 14 * s + 61 * s;
        assert!(b.check_at(later).is_ok());
        assert_eq!(b.failed_at(later), None);
        b.succeeded();
        assert!(b.check_at(later).is_ok());
    }

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

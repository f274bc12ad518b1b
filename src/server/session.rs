//! Scorekeeper sessions: a random id in an `HttpOnly`, `SameSite=Strict` cookie, looked up in a
//! table. Nothing about the session is in the cookie itself, so it cannot be forged or extended
//! by the browser.
//!
//! One process keeps the table in memory (a restart signs everyone out, which is fine for a
//! scorekeeper and keeps secrets off the disk). With `--redis-url` the table is in Redis
//! (`<prefix>:session:<id>`, expiring with the session), so a sign-in on one instance is valid
//! on every instance behind the load balancer. If Redis is unreachable, sessions read as signed
//! out (fail closed) and sign-in reports the outage.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

use crate::hub::backend::redis::RedisLink;

/// The cookie's name.
pub const COOKIE: &str = "pulse_scorekeeper";
/// How long a sign-in lasts.
pub const TTL: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at most; beyond it the oldest are dropped (bounds memory under a flood of
/// sign-ins, which also need the secret).
const MAX_SESSIONS: usize = 10_000;

#[derive(Clone, Default)]
pub struct Sessions {
    /// id → when it expires. A `std` mutex: each use is one map operation, never across an await.
    inner: Arc<Mutex<HashMap<String, Instant>>>,
    /// Where sessions live when several instances share them.
    redis: Option<(RedisLink, String)>,
}

/// Sign-in could not be recorded (the shared session store is unreachable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStoreDown;

impl Sessions {
    /// Sessions shared through Redis under `prefix`.
    pub fn shared(link: RedisLink, prefix: &str) -> Sessions {
        Sessions {
            redis: Some((link, format!("{prefix}:session:"))),
            ..Sessions::default()
        }
    }

    /// Starts a session; returns its id.
    pub async fn start(&self) -> Result<String, SessionStoreDown> {
        let Some((link, prefix)) = &self.redis else {
            return Ok(self.create());
        };
        let id = new_id();
        let set: redis::RedisResult<()> = link
            .query(
                redis::cmd("SET")
                    .arg(format!("{prefix}{id}"))
                    .arg(1)
                    .arg("EX")
                    .arg(TTL.as_secs()),
            )
            .await;
        set.map(|_| id).map_err(|e| {
            tracing::error!("session store: cannot record a sign-in: {e}");
            SessionStoreDown
        })
    }

    /// Whether `id` is a live session (false when the shared store cannot say).
    pub async fn is_valid(&self, id: &str) -> bool {
        let Some((link, prefix)) = &self.redis else {
            return self.valid(id);
        };
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return false;
        }
        let n: redis::RedisResult<u64> = link
            .query(redis::cmd("EXISTS").arg(format!("{prefix}{id}")))
            .await;
        n.is_ok_and(|n| n == 1)
    }

    /// Ends a session everywhere.
    pub async fn finish(&self, id: &str) {
        let Some((link, prefix)) = &self.redis else {
            return self.end(id);
        };
        let _: redis::RedisResult<u64> = link
            .query(redis::cmd("DEL").arg(format!("{prefix}{id}")))
            .await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts an in-memory session; returns its id.
    pub fn create(&self) -> String {
        let id = new_id();
        let now = Instant::now();
        let mut map = self.lock();
        map.retain(|_, exp| *exp > now);
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map.iter().min_by_key(|(_, e)| **e).map(|(k, _)| k.clone()) {
                map.remove(&oldest);
            }
        }
        map.insert(id.clone(), now + TTL);
        id
    }

    /// Whether `id` is a live session.
    pub fn valid(&self, id: &str) -> bool {
        self.lock().get(id).is_some_and(|exp| *exp > Instant::now())
    }

    pub fn end(&self, id: &str) {
        self.lock().remove(id);
    }

    /// The session id in the request's `Cookie` headers, if any.
    pub fn from_headers(headers: &HeaderMap) -> Option<String> {
        headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE)
            .map(|(_, value)| value.trim().to_owned())
    }
}

/// A session id: 32 random bytes, hex.
fn new_id() -> String {
    super::hex::random::<32>()
}

/// The `Set-Cookie` value that stores `id`: not readable by scripts (`HttpOnly`), never sent on
/// requests started by other sites (`SameSite=Strict`, which is also the CSRF defence for the
/// score-changing server function), `Secure` when serving over HTTPS.
pub fn set_cookie(id: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        TTL.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the cookie.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_random_and_revocable() {
        let s = Sessions::default();
        let a = s.create();
        let b = s.create();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(s.valid(&a) && s.valid(&b));
        assert!(!s.valid("guess"));
        s.end(&a);
        assert!(!s.valid(&a) && s.valid(&b));
    }

    #[test]
    fn cookie_is_found_among_others_and_flags_are_set() {
        let mut h = HeaderMap::new();
        h.append(
            "cookie",
            "theme=dark; pulse_scorekeeper=abc123".parse().unwrap(),
        );
        assert_eq!(Sessions::from_headers(&h).as_deref(), Some("abc123"));
        assert_eq!(Sessions::from_headers(&HeaderMap::new()), None);
        let c = set_cookie("abc", false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure"));
        assert!(set_cookie("abc", true).ends_with("; Secure"));
        assert!(clear_cookie(false).contains("Max-Age=0"));
    }
}

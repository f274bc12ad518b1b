//! Built-in simulators run on one instance at a time, so ticks never double.
//!
//! With one process there is nothing to decide. With several instances on Redis, the one that
//! holds a lease (`<prefix>:leader`, `SET NX PX`) runs the simulators and renews the lease
//! every [`RENEW`]; the others try to take it on the same beat. A leader that dies stops
//! renewing and another instance takes over within [`TTL`] + [`RENEW`]. A leader that cannot
//! renew (Redis unreachable, or the lease was lost) stops its simulators after [`STEP_DOWN`] —
//! before the lease can expire and another instance can start — so two never run at once. The
//! simulators continue from the snapshot (prices start where the stream left them).

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::hub::backend::redis::RedisLink;

/// How long a lease lasts without renewal.
pub const TTL: Duration = Duration::from_secs(3);
/// How often the leader renews (and the others try to take over).
pub const RENEW: Duration = Duration::from_millis(1000);
/// A leader that has not renewed for this long stops its simulators (< [`TTL`]).
pub const STEP_DOWN: Duration = Duration::from_millis(2000);

/// Renews the lease only if this instance still holds it.
const RENEW_SCRIPT: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"#;

/// Gives the lease up only if this instance holds it.
const RELEASE_SCRIPT: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

/// Who may run the simulators.
pub enum Leadership {
    /// One process: always this one.
    Alone,
    /// Several instances: whoever holds the lease `key` (our value: `me`).
    Lease {
        link: RedisLink,
        key: String,
        me: String,
    },
}

impl Leadership {
    pub fn lease(link: RedisLink, prefix: &str, instance: &str) -> Leadership {
        // The random suffix tells two processes apart even if they were given one name.
        let me = format!("{instance}#{:08x}", rand::random::<u32>());
        Leadership::Lease {
            link,
            key: format!("{prefix}:leader"),
            me,
        }
    }

    /// Runs `start` while this instance leads, until `stop`. `start` gets a token that is
    /// cancelled when leadership ends and returns the tasks to wait for.
    /// `leading` is true exactly while the simulators run here (shown by `/healthz`).
    pub async fn run<F>(self, stop: CancellationToken, leading: Arc<AtomicBool>, start: F)
    where
        F: Fn(CancellationToken) -> Vec<JoinHandle<()>>,
    {
        match self {
            Leadership::Alone => {
                leading.store(true, Relaxed);
                for t in start(stop) {
                    let _ = t.await;
                }
                leading.store(false, Relaxed);
            }
            Leadership::Lease { link, key, me } => {
                lease_loop(link, key, me, stop, leading, start).await
            }
        }
    }
}

async fn lease_loop<F>(
    link: RedisLink,
    key: String,
    me: String,
    stop: CancellationToken,
    leading: Arc<AtomicBool>,
    start: F,
) where
    F: Fn(CancellationToken) -> Vec<JoinHandle<()>>,
{
    let renew = redis::Script::new(RENEW_SCRIPT);
    let release = redis::Script::new(RELEASE_SCRIPT);
    let ttl_ms = TTL.as_millis() as u64;
    while !stop.is_cancelled() {
        let took: redis::RedisResult<Option<String>> = link
            .query(
                redis::cmd("SET")
                    .arg(&key)
                    .arg(&me)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl_ms),
            )
            .await;
        if !matches!(took, Ok(Some(_))) {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(RENEW) => {}
            }
            continue;
        }
        tracing::info!("this instance now runs the simulators ({me})");
        let term = stop.child_token();
        let tasks = start(term.clone());
        leading.store(true, Relaxed);
        let mut renewed = Instant::now();
        let mut tick = tokio::time::interval_at(Instant::now() + RENEW, RENEW);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            let mut invocation = renew.prepare_invoke();
            invocation.key(&key).arg(&me).arg(ttl_ms);
            let held: redis::RedisResult<i64> = link.script(invocation).await;
            match held {
                Ok(1) => renewed = Instant::now(),
                Ok(_) => {
                    tracing::warn!("the simulator lease was taken over; stopping the simulators");
                    break;
                }
                Err(e) if renewed.elapsed() >= STEP_DOWN => {
                    tracing::warn!(
                        "cannot renew the simulator lease ({e}); stopping the simulators"
                    );
                    break;
                }
                Err(_) => {}
            }
        }
        term.cancel();
        for t in tasks {
            let _ = t.await;
        }
        leading.store(false, Relaxed);
        if stop.is_cancelled() {
            // Hand over at once instead of making the next leader wait for the lease to expire.
            let mut invocation = release.prepare_invoke();
            invocation.key(&key).arg(&me);
            let _: redis::RedisResult<i64> = link.script(invocation).await;
            return;
        }
    }
}

//! "N watching" across instances (the Redis backend): each instance keeps its distinct
//! browser ids in a Redis set of its own that expires unless renewed, lists itself in an index
//! of live instances, and shows the size of the union of the live instances' sets.
//!
//! One script does it all atomically: replace this instance's set, renew it, drop instances
//! whose heartbeat is older than [`TTL`] (a crashed instance stops counting within it), count
//! the union. It runs when this instance's set changes (after [`SETTLE`], so a burst of tabs
//! costs one round trip) and every [`HEARTBEAT`], which is also how soon a change on another
//! instance shows here. Only the count is read back; ids never leave Redis or this process.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::presence::Presence;
use crate::hub::backend::redis::RedisLink;

/// How often the count is refreshed without a local change.
pub const HEARTBEAT: Duration = Duration::from_secs(3);
/// An instance not heard from for this long no longer counts.
pub const TTL: Duration = Duration::from_secs(15);
/// Local changes are gathered this long before they are written.
const SETTLE: Duration = Duration::from_millis(100);

/// KEYS[1]: the index (sorted set: instance → expiry, ms); KEYS[2]: this instance's set;
/// KEYS[3]: a scratch key. ARGV[1]: this instance; ARGV[2]: TTL ms; ARGV[3]: the key prefix of
/// instance sets; ARGV[4..]: this instance's browser ids, written 1000 per `SADD` (Lua's
/// `unpack` has a stack limit). Returns the union's size.
const SYNC_SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('DEL', KEYS[2])
local n = #ARGV
local i = 4
while i <= n do
  local j = math.min(i + 999, n)
  redis.call('SADD', KEYS[2], unpack(ARGV, i, j))
  i = j + 1
end
if n >= 4 then redis.call('PEXPIRE', KEYS[2], ttl) end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local sets = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  table.insert(sets, ARGV[3] .. m)
end
local count = redis.call('SUNIONSTORE', KEYS[3], unpack(sets))
redis.call('DEL', KEYS[3])
return count
"#;

/// KEYS[1]: the index; KEYS[2]: this instance's set. ARGV[1]: this instance.
const LEAVE_SCRIPT: &str = r#"
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('DEL', KEYS[2])
"#;

/// Keeps this instance's part of the shared count until `stop`, then takes it out.
pub async fn share(
    presence: Presence,
    link: RedisLink,
    prefix: String,
    instance: String,
    stop: CancellationToken,
) {
    presence.share();
    // The random suffix tells two processes apart even if they were given one name.
    let me = format!("{instance}#{:08x}", rand::random::<u32>());
    let index = format!("{prefix}:presence");
    let sets = format!("{prefix}:presence:");
    let mine = format!("{sets}{me}");
    let scratch = format!("{prefix}:presence-union:{me}");
    let sync = redis::Script::new(SYNC_SCRIPT);
    loop {
        let ids = presence.browsers();
        let mut invocation = sync.prepare_invoke();
        invocation
            .key(&index)
            .key(&mine)
            .key(&scratch)
            .arg(&me)
            .arg(TTL.as_millis() as u64)
            .arg(&sets)
            .arg(ids);
        match link.script::<u64>(invocation).await {
            Ok(n) => presence.show(n),
            Err(e) => {
                // Redis is away: this instance's own count is the best we know.
                tracing::warn!("cannot share the presence count ({e}); showing this instance's");
                presence.show(presence.local());
            }
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = presence.changed() => {
                tokio::time::sleep(SETTLE).await;
            }
            _ = tokio::time::sleep(HEARTBEAT) => {}
        }
    }
    let leave = redis::Script::new(LEAVE_SCRIPT);
    let mut invocation = leave.prepare_invoke();
    invocation.key(&index).key(&mine).arg(&me);
    let _: redis::RedisResult<i64> = link.script(invocation).await;
}

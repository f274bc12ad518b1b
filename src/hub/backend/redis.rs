//! The Redis Streams backend: several Pulse instances serve one ordered stream.
//!
//! ## Keys (prefix `pulse:`)
//! - `pulse:events` — the stream. Entry ids are `N-0`, where `N` is the Pulse [`EventId`], so
//!   ids are identical on every instance and stay plain numbers for browsers. Fields: `t`
//!   topic, `d` data (compact JSON), `a` accepted-at (Unix ms), `e` the epoch it was written in.
//! - `pulse:seq` — the last id minted. `pulse:epoch` — a random name for the current run of
//!   the stream (see "ids never go back").
//!
//! ## Publishing
//! One Lua script ([`PUBLISH`]) mints the next id and appends the entry atomically, trimmed to
//! about `--history` entries (`MAXLEN ~`). Redis runs scripts one at a time, so ids are
//! contiguous and in append order across every instance. The publisher is answered once Redis
//! replied — what that means for durability depends on Redis's persistence settings (see the
//! README's "Scaling out").
//!
//! ## Tailing
//! Each instance reads the stream with `XREAD BLOCK` from the last id it committed, on a
//! connection of its own, and hands every entry to the hub's [`Tail`] in order. After Redis is
//! lost and comes back, the tail continues from the same id: no gap, no duplicate. A hole in
//! the ids (entries trimmed before this instance read them) or a new epoch is declared as a
//! [`Tail::discontinuity`], so resumes from before it get `reset`, never a replay with a hole.
//!
//! ## Ids never go back
//! Every publish passes the highest id its instance has seen (its *floor*, also saved in the
//! data dir as `redis-high-water`). If the script finds no epoch (Redis restarted empty,
//! `FLUSHALL`, a new Redis behind the same URL) or a counter below the floor (Redis lost its
//! last writes), it starts a new epoch with the counter [`EPOCH_GAP`] past the floor: ids
//! other instances acknowledged in the instant before the loss are not reused either.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Value};
use tokio_util::sync::CancellationToken;

use crate::event::{now_ms, EventId, Topic};
use crate::hub::broker::{BackendHealth, Broker, BrokerError, StoredEvent, Tail};
use crate::hub::core::Event;
use crate::hub::{HubConfig, PublishError};

/// How far ids jump when the stream was lost or rolled back. Larger than any number of events
/// an instance's tail can lag behind the stream, so no acknowledged id is minted twice.
pub const EPOCH_GAP: u64 = 1_000_000;

/// How long one `XREAD` blocks. Short enough that a dead connection is noticed quickly, and
/// that `/healthz` reflects Redis within a few seconds.
const TAIL_BLOCK: Duration = Duration::from_millis(1500);

/// Entries one `XREAD` returns at most (one commit on the hub).
const TAIL_BATCH: usize = 1024;

/// Time limit for one command on the shared connection (publishes, leases, sessions).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// Time limit for connecting.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Mints the next id(s) and appends atomically (see the module docs).
/// KEYS: stream, seq, epoch. ARGV: floor, fresh epoch name, maxlen, now_ms, topic, data.
/// Returns `{epoch, id}`. `string.format('%d')` keeps large ids out of Lua's `1e+15` notation.
const PUBLISH: &str = r#"
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
local epoch = redis.call('GET', KEYS[3])
local floor = tonumber(ARGV[1])
if (not epoch) or seq < floor then
  if epoch or seq > 0 or floor > 0 then
    seq = math.max(seq, floor) + tonumber(ARGV[7])
  end
  epoch = ARGV[2]
  redis.call('SET', KEYS[3], epoch)
end
seq = seq + 1
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], string.format('%d-0', seq),
  't', ARGV[5], 'd', ARGV[6], 'a', ARGV[4], 'e', epoch)
redis.call('SET', KEYS[2], string.format('%d', seq))
return {epoch, seq}
"#;

/// Deletes entries accepted before a cutoff, at most ARGV[2] per call (bounded work).
/// KEYS: stream. ARGV: cutoff_ms, max entries. Returns how many it deleted.
const TRIM_AGE: &str = r#"
local entries = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[2])
local old = {}
for _, e in ipairs(entries) do
  local f = e[2]
  local at = nil
  for j = 1, #f, 2 do
    if f[j] == 'a' then at = tonumber(f[j + 1]) end
  end
  if at == nil or at >= tonumber(ARGV[1]) then break end
  old[#old + 1] = e[1]
end
if #old == 0 then return 0 end
return redis.call('XDEL', KEYS[1], unpack(old))
"#;

/// Key names, all under one prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    pub stream: String,
    pub seq: String,
    pub epoch: String,
    pub prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Keys {
        Keys {
            stream: format!("{prefix}:events"),
            seq: format!("{prefix}:seq"),
            epoch: format!("{prefix}:epoch"),
            prefix: prefix.to_owned(),
        }
    }

    /// A key of another Pulse component (leases, sessions) under the same prefix.
    pub fn other(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }
}

/// One Redis server, shared by the broker, the simulator lease and the session store: a
/// client plus a multiplexed connection that is re-established after a failure, and whether
/// the last command succeeded (what `/healthz` reports).
#[derive(Clone)]
pub struct RedisLink {
    inner: Arc<LinkInner>,
}

struct LinkInner {
    client: redis::Client,
    conn: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    up: AtomicBool,
    /// The URL without any password, for messages.
    shown: String,
}

/// The URL with any password replaced, safe to print.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

impl RedisLink {
    /// Connects and checks Redis answers (`PING`). An error says which URL failed and why.
    pub async fn connect(url: &str) -> Result<RedisLink, BrokerError> {
        let shown = redact(url);
        let client = redis::Client::open(url).map_err(|e| {
            BrokerError::Unreachable(format!(
                "--redis-url {shown} is not a Redis URL ({e}); expected e.g. redis://127.0.0.1:6379/0"
            ))
        })?;
        let link = RedisLink {
            inner: Arc::new(LinkInner {
                client,
                conn: tokio::sync::Mutex::new(None),
                up: AtomicBool::new(false),
                shown: shown.clone(),
            }),
        };
        let pong: Result<String, _> = link.query(&redis::cmd("PING")).await;
        pong.map_err(|e| {
            BrokerError::Unreachable(format!(
                "cannot reach Redis at {shown}: {e}; start it or fix --redis-url / PULSE_REDIS_URL"
            ))
        })?;
        Ok(link)
    }

    fn config(timeout: Duration) -> AsyncConnectionConfig {
        AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(timeout))
    }

    /// The shared connection, connecting first when there is none.
    async fn conn(&self) -> redis::RedisResult<MultiplexedConnection> {
        let mut slot = self.inner.conn.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let c = self
            .inner
            .client
            .get_multiplexed_async_connection_with_config(&Self::config(COMMAND_TIMEOUT))
            .await?;
        *slot = Some(c.clone());
        Ok(c)
    }

    /// A connection of its own, for blocking reads that must not hold up other commands.
    async fn dedicated(&self, timeout: Duration) -> redis::RedisResult<MultiplexedConnection> {
        self.inner
            .client
            .get_multiplexed_async_connection_with_config(&Self::config(timeout))
            .await
    }

    /// Runs one command on the shared connection, keeping `up` current. A failed connection is
    /// dropped, so the next command reconnects.
    pub async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        let result = match self.conn().await {
            Ok(mut c) => cmd.query_async(&mut c).await,
            Err(e) => Err(e),
        };
        self.record(&result).await;
        result
    }

    /// Runs a Lua script on the shared connection (cached by hash, loaded again after a Redis
    /// restart).
    pub async fn script<T: redis::FromRedisValue>(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> redis::RedisResult<T> {
        let result = match self.conn().await {
            Ok(mut c) => invocation.invoke_async(&mut c).await,
            Err(e) => Err(e),
        };
        self.record(&result).await;
        result
    }

    async fn record<T>(&self, result: &redis::RedisResult<T>) {
        match result {
            Ok(_) => self.set_up(true),
            Err(e) if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() => {
                self.set_up(false);
                *self.inner.conn.lock().await = None;
            }
            // A command error (wrong type, script error) says nothing about the connection.
            Err(_) => {}
        }
    }

    fn set_up(&self, up: bool) {
        let was = self.inner.up.swap(up, Relaxed);
        if was != up {
            if up {
                tracing::info!("redis at {} is reachable again", self.inner.shown);
            } else {
                tracing::error!("redis at {} is unreachable", self.inner.shown);
            }
        }
    }

    pub fn is_up(&self) -> bool {
        self.inner.up.load(Relaxed)
    }
}

/// Settings of the Redis backend.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// Key prefix (`pulse`).
    pub prefix: String,
    /// Where this instance keeps the highest id it has seen, so that ids never go back even if
    /// Redis loses its data while every instance is down.
    pub high_water: PathBuf,
}

pub struct RedisBroker {
    link: RedisLink,
    keys: Keys,
    config: HubConfig,
    options: RedisOptions,
    publish: redis::Script,
    trim_age: redis::Script,
    /// The highest id this instance has seen: passed to every publish as its floor.
    floor: Arc<AtomicU64>,
    tail: OnceLock<Tail>,
    stop: CancellationToken,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl RedisBroker {
    pub fn new(link: RedisLink, config: HubConfig, options: RedisOptions) -> RedisBroker {
        RedisBroker {
            link,
            keys: Keys::new(&options.prefix),
            config,
            options,
            publish: redis::Script::new(PUBLISH),
            trim_age: redis::Script::new(TRIM_AGE),
            floor: Arc::new(AtomicU64::new(0)),
            tail: OnceLock::new(),
            stop: CancellationToken::new(),
            tasks: Mutex::new(Vec::new()),
        }
    }

    fn read_high_water(&self) -> u64 {
        std::fs::read_to_string(&self.options.high_water)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    async fn load(&self, tail: &Tail) -> Result<(), BrokerError> {
        let unreachable = |e: redis::RedisError| {
            BrokerError::Unreachable(format!("cannot read the event stream: {e}"))
        };
        let count = self.config.history.max(1);
        let newest: Value = self
            .link
            .query(
                redis::cmd("XREVRANGE")
                    .arg(&self.keys.stream)
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(count),
            )
            .await
            .map_err(unreachable)?;
        let mut recent: Vec<Entry> = entries(&newest);
        recent.reverse();
        let seq: Option<u64> = self
            .link
            .query(redis::cmd("GET").arg(&self.keys.seq))
            .await
            .map_err(unreachable)?;
        let stream_last = EventId::new(
            seq.unwrap_or(0)
                .max(recent.last().map_or(0, |e| e.event.id.get())),
        );
        let saved = EventId::new(self.read_high_water());
        let epoch = recent.last().map(|e| e.epoch.clone());
        tail.seed(recent.into_iter().map(|e| e.event).collect(), stream_last);
        let mut last = stream_last;
        if saved > stream_last {
            // Redis holds less than this instance saw before it stopped: it lost writes.
            tracing::warn!(
                "the Redis stream ends at id {stream_last} but this instance had seen {saved}: \
                 ids before {saved} can no longer be replayed; clients resuming from them get a reset"
            );
            tail.discontinuity(saved);
            last = saved;
        }
        self.floor.store(last.get(), Relaxed);
        let tail_task = TailTask {
            link: self.link.clone(),
            keys: self.keys.clone(),
            tail: tail.clone(),
            last,
            epoch,
            floor: self.floor.clone(),
            high_water: self.options.high_water.clone(),
            stop: self.stop.clone(),
        };
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.push(tokio::spawn(tail_task.run()));
        if let Some(age) = self.config.max_age {
            tasks.push(tokio::spawn(trim_by_age(
                self.link.clone(),
                self.trim_age.clone(),
                self.keys.stream.clone(),
                tail.clone(),
                age,
                self.stop.clone(),
            )));
        }
        Ok(())
    }
}

impl Broker for RedisBroker {
    fn start(&self, tail: Tail) -> BoxFuture<'_, Result<(), BrokerError>> {
        async move {
            if self.tail.set(tail.clone()).is_err() {
                return Err(BrokerError::Unreachable(
                    "the redis backend was started twice".into(),
                ));
            }
            self.load(&tail).await
        }
        .boxed()
    }

    fn publish(&self, topic: Topic, data: String) -> BoxFuture<'_, Result<EventId, PublishError>> {
        async move {
            if self.stop.is_cancelled() {
                return Err(PublishError::ShuttingDown);
            }
            let fresh_epoch = format!("{:016x}", rand::random::<u64>());
            let mut invocation = self.publish.prepare_invoke();
            invocation
                .key(&self.keys.stream)
                .key(&self.keys.seq)
                .key(&self.keys.epoch)
                .arg(self.floor.load(Relaxed))
                .arg(fresh_epoch)
                .arg(self.config.history.max(1))
                .arg(now_ms())
                .arg(topic.as_str())
                .arg(data)
                .arg(EPOCH_GAP);
            let reply: redis::RedisResult<(String, u64)> = self.link.script(invocation).await;
            match reply {
                Ok((_, id)) => {
                    if let Some(tail) = self.tail.get() {
                        tail.count_batch();
                    }
                    Ok(EventId::new(id))
                }
                Err(e) => {
                    tracing::error!("publish to redis failed: {e}");
                    if let Some(tail) = self.tail.get() {
                        tail.count_storage_errors(1);
                    }
                    Err(PublishError::Unavailable)
                }
            }
        }
        .boxed()
    }

    fn shared(&self) -> bool {
        true
    }

    fn head(&self) -> BoxFuture<'_, Result<Option<EventId>, PublishError>> {
        async move {
            let seq: redis::RedisResult<Option<u64>> =
                self.link.query(redis::cmd("GET").arg(&self.keys.seq)).await;
            match seq {
                Ok(seq) => Ok(Some(EventId::new(seq.unwrap_or(0)))),
                Err(e) => {
                    tracing::warn!("reading the stream's head from redis failed: {e}");
                    Err(PublishError::Unavailable)
                }
            }
        }
        .boxed()
    }

    fn health(&self) -> BackendHealth {
        BackendHealth {
            kind: "redis",
            up: self.link.is_up(),
        }
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        async move {
            self.stop.cancel();
            let tasks: Vec<_> =
                std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
            for t in tasks {
                let _ = t.await;
            }
        }
        .boxed()
    }
}

/// One stream entry, parsed.
struct Entry {
    event: StoredEvent,
    epoch: String,
}

/// Parses `[[id, [field, value, ...]], ...]` (XRANGE / XREVRANGE, and each stream of XREAD).
/// Entries that are not Pulse's (another writer, wrong shape) are skipped with a warning.
fn entries(v: &Value) -> Vec<Entry> {
    let Value::Array(items) = v else {
        return Vec::new();
    };
    items.iter().filter_map(entry).collect()
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

fn entry(v: &Value) -> Option<Entry> {
    let Value::Array(pair) = v else { return None };
    let [id, Value::Array(fields)] = pair.as_slice() else {
        return None;
    };
    let id = text(id)?;
    let parsed = id
        .strip_suffix("-0")
        .and_then(|n| n.parse::<u64>().ok())
        .map(EventId::new);
    let (mut topic, mut data, mut at, mut epoch) = (None, None, 0i64, String::new());
    for kv in fields.chunks(2) {
        let [k, val] = kv else { continue };
        match text(k).as_deref() {
            Some("t") => topic = text(val),
            Some("d") => data = text(val),
            Some("a") => at = text(val).and_then(|s| s.parse().ok()).unwrap_or(0),
            Some("e") => epoch = text(val).unwrap_or_default(),
            _ => {}
        }
    }
    match (parsed, topic, data) {
        (Some(id), Some(topic), Some(data)) => Some(Entry {
            event: StoredEvent {
                id,
                topic,
                data,
                at_ms: at,
            },
            epoch,
        }),
        _ => {
            tracing::warn!("skipping stream entry {id}: not a Pulse event");
            None
        }
    }
}

/// Parses an `XREAD` reply for one stream (RESP2 array or RESP3 map); nil means timeout.
fn read_reply(v: &Value) -> Vec<Entry> {
    match v {
        Value::Array(streams) => streams
            .iter()
            .flat_map(|s| match s {
                Value::Array(kv) if kv.len() == 2 => entries(&kv[1]),
                _ => Vec::new(),
            })
            .collect(),
        Value::Map(streams) => streams.iter().flat_map(|(_, v)| entries(v)).collect(),
        _ => Vec::new(),
    }
}

/// The loop that feeds this instance from the stream.
struct TailTask {
    link: RedisLink,
    keys: Keys,
    tail: Tail,
    /// The id the next read continues after.
    last: EventId,
    /// The epoch of the newest entry read (`None` before any).
    epoch: Option<String>,
    floor: Arc<AtomicU64>,
    high_water: PathBuf,
    stop: CancellationToken,
}

impl TailTask {
    async fn run(mut self) {
        let mut conn: Option<MultiplexedConnection> = None;
        let mut backoff = Duration::from_millis(100);
        let mut saved = 0u64;
        let mut last_save = tokio::time::Instant::now();
        loop {
            if self.stop.is_cancelled() {
                break;
            }
            let c = match conn.as_mut() {
                Some(c) => c,
                None => {
                    let fresh = tokio::select! {
                        _ = self.stop.cancelled() => break,
                        c = self.link.dedicated(TAIL_BLOCK + COMMAND_TIMEOUT) => c,
                    };
                    match fresh {
                        Ok(c) => {
                            backoff = Duration::from_millis(100);
                            conn.insert(c)
                        }
                        Err(e) => {
                            tracing::debug!("tail: cannot connect to redis: {e}");
                            self.link.set_up(false);
                            tokio::select! {
                                _ = self.stop.cancelled() => break,
                                _ = tokio::time::sleep(backoff) => {}
                            }
                            backoff = (backoff * 2).min(Duration::from_secs(2));
                            continue;
                        }
                    }
                }
            };
            let read = redis::cmd("XREAD")
                .arg("COUNT")
                .arg(TAIL_BATCH)
                .arg("BLOCK")
                .arg(TAIL_BLOCK.as_millis() as u64)
                .arg("STREAMS")
                .arg(&self.keys.stream)
                .arg(format!("{}-0", self.last))
                .to_owned();
            let reply: redis::RedisResult<Value> = tokio::select! {
                _ = self.stop.cancelled() => break,
                r = read.query_async(c) => r,
            };
            match reply {
                Ok(v) => {
                    self.link.set_up(true);
                    self.apply(read_reply(&v));
                }
                Err(e) => {
                    tracing::warn!("tail: reading the stream failed (will reconnect): {e}");
                    self.link.set_up(false);
                    conn = None;
                    continue;
                }
            }
            let last = self.last.get();
            if last != saved && last_save.elapsed() >= Duration::from_secs(1) {
                self.save(last).await;
                saved = last;
                last_save = tokio::time::Instant::now();
            }
        }
        let last = self.last.get();
        if last != saved {
            self.save(last).await;
        }
    }

    /// Commits entries in order, declaring a discontinuity before any entry that does not
    /// follow the previous one (a new epoch, or ids trimmed before this instance read them).
    fn apply(&mut self, entries: Vec<Entry>) {
        let mut batch: Vec<Arc<Event>> = Vec::with_capacity(entries.len());
        for e in entries {
            let id = e.event.id;
            if id <= self.last {
                continue;
            }
            let new_epoch = self.epoch.as_ref().is_some_and(|known| *known != e.epoch);
            let hole = id != self.last.next() && self.last > EventId::ZERO;
            if new_epoch || hole {
                self.tail.commit(&batch);
                batch.clear();
                tracing::warn!(
                    "event stream continues at {id} after {}{}: older ids now get a reset",
                    self.last,
                    if new_epoch {
                        " in a new epoch (Redis lost its data)"
                    } else {
                        " (entries were trimmed before this instance read them)"
                    }
                );
                self.tail.discontinuity(id.prev());
            }
            self.epoch = Some(e.epoch);
            self.last = id;
            if let Some(ev) = Event::from_stored(e.event) {
                batch.push(Arc::new(ev));
            }
        }
        self.tail.commit(&batch);
        self.floor.fetch_max(self.last.get(), Relaxed);
    }

    async fn save(&self, last: u64) {
        let tmp = self.high_water.with_extension("tmp");
        let result = async {
            tokio::fs::write(&tmp, last.to_string()).await?;
            tokio::fs::rename(&tmp, &self.high_water).await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!("cannot save the high-water id {last}: {e}");
        }
    }
}

/// Age-based retention: every instance trims entries older than `age` (idempotent, bounded per
/// pass) and expires them from its own replay window.
async fn trim_by_age(
    link: RedisLink,
    script: redis::Script,
    stream: String,
    tail: Tail,
    age: Duration,
    stop: CancellationToken,
) {
    let every = (age / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let cutoff = now_ms() - age.as_millis() as i64;
        tail.expire(cutoff);
        let mut invocation = script.prepare_invoke();
        invocation.key(&stream).arg(cutoff).arg(1000);
        let deleted: redis::RedisResult<u64> = link.script(invocation).await;
        if let Err(e) = deleted {
            tracing::debug!("age retention on redis failed (will retry): {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("redis://user:secret@127.0.0.1:6379/0"),
            "redis://***@127.0.0.1:6379/0"
        );
        assert_eq!(
            redact("redis://127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
    }

    #[test]
    fn parses_stream_entries_and_skips_foreign_ones() {
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let ours = Value::Array(vec![
            bulk("42-0"),
            Value::Array(vec![
                bulk("t"),
                bulk("stocks"),
                bulk("d"),
                bulk(r#"{"a":1}"#),
                bulk("a"),
                bulk("1700"),
                bulk("e"),
                bulk("ep1"),
            ]),
        ]);
        let foreign = Value::Array(vec![
            bulk("1700000000000-3"),
            Value::Array(vec![bulk("x"), bulk("y")]),
        ]);
        let got = entries(&Value::Array(vec![ours, foreign]));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].event.id, EventId::new(42));
        assert_eq!(got[0].event.topic, "stocks");
        assert_eq!(got[0].event.at_ms, 1700);
        assert_eq!(got[0].epoch, "ep1");
    }
}

//! Redis store (`redis://[:password@]host:port[/db]`): many machines. Sessions are hashes,
//! the due times a sorted set; claims and write-backs are Lua scripts (atomic). Events
//! go to a stream (`XADD` in the write-back script, trimmed to about 100,000) that
//! readers follow with `XREAD BLOCK`, so a reader that reconnects misses nothing, unlike
//! pub/sub. Standalone Redis (the scripts touch keys they compute: not for Cluster).

use std::time::Duration;

use tokio::sync::Mutex;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, ErrorKind, RedisError, Script, Value};

use super::{
    Backend, EventSource, Fut, Location, NewRow, RawRow, RawStatus, SCHEMA_VERSION, StoreError, StoreErrorKind,
    StoreResult, Update, too_new,
};

const ADD: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[2], 'sealed', ARGV[1], 'status', ARGV[2], 'version', 0, 'incarnation', ARGV[3],
  'owner', '', 'failing_since', '', 'error', '', 'updated_at', ARGV[4], 'watched', 1)
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[5])
return 1";

const CLAIM: &str = r"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, k in ipairs(due) do
  local h = ARGV[5] .. k
  local f = redis.call('HMGET', h, 'sealed', 'status', 'version', 'incarnation', 'failing_since')
  redis.call('ZADD', KEYS[1], ARGV[3], k)
  redis.call('HSET', h, 'owner', ARGV[4])
  table.insert(out, k)
  for i = 1, 5 do table.insert(out, f[i] or '') end
end
return out";

const RELEASE: &str = r"
if redis.call('HGET', KEYS[2], 'owner') ~= ARGV[1] then return 0 end
local watched = 1
if ARGV[4] == '' then watched = 0 end
redis.call('HSET', KEYS[2], 'status', ARGV[2], 'version', ARGV[3], 'owner', '', 'failing_since', ARGV[5],
  'error', ARGV[6], 'updated_at', ARGV[7], 'watched', watched)
if watched == 0 then redis.call('ZREM', KEYS[1], ARGV[9]) else redis.call('ZADD', KEYS[1], ARGV[4], ARGV[9]) end
if ARGV[8] ~= '' then redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'e', ARGV[8]) end
return 1";

/// KEYS[1] the attempt counter; ARGV[1] the window (ms). Returns {count, ms left}.
const ATTEMPT: &str = r"
local count = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {count, left}";

const PARK: &str = r"
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[2], 'watched', 0, 'owner', '', 'error', ARGV[2], 'updated_at', ARGV[3])
end
return 1";

async fn connect(client: &Client) -> StoreResult<MultiplexedConnection> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_response_timeout(Some(Duration::from_secs(10)));
    client.get_multiplexed_async_connection_with_config(&config).await.map_err(fail)
}

fn fail(error: RedisError) -> StoreError {
    let auth = error.kind() == ErrorKind::AuthenticationFailed || matches!(error.code(), Some("WRONGPASS" | "NOAUTH"));
    let kind = if auth {
        StoreErrorKind::Unauthorized
    } else if error.is_io_error() || error.is_connection_refusal() || error.is_timeout() {
        StoreErrorKind::Unreachable
    } else {
        StoreErrorKind::Backend
    };
    StoreError::new(kind, format!("redis: {error}"))
}

pub(crate) struct Redis {
    client: Client,
    /// The shared connection; `None` after it broke, made again at the next call.
    con: Mutex<Option<MultiplexedConnection>>,
    ns: String,
    add: Script,
    claim: Script,
    release: Script,
    park: Script,
    attempt: Script,
}

impl Redis {
    pub async fn open(location: Location) -> StoreResult<Redis> {
        let client =
            Client::open(location.rest.as_str()).map_err(|e| StoreError::invalid(format!("redis URL: {e}")))?;
        let mut con = connect(&client).await?;
        let ns = location.namespace;
        let schema = format!("{ns}:schema");
        let () = redis::cmd("SET")
            .arg(&schema)
            .arg(SCHEMA_VERSION)
            .arg("NX")
            .query_async(&mut con)
            .await
            .map(|_: Value| ())
            .map_err(fail)?;
        let found: String = redis::cmd("GET").arg(&schema).query_async(&mut con).await.map_err(fail)?;
        let version: i64 = found.parse().map_err(|_| {
            StoreError::new(StoreErrorKind::Corrupt, format!("redis: {schema} is not a schema version"))
        })?;
        if version > SCHEMA_VERSION {
            return Err(too_new(version));
        }
        Ok(Redis {
            client,
            con: Mutex::new(Some(con)),
            ns,
            add: Script::new(ADD),
            claim: Script::new(CLAIM),
            release: Script::new(RELEASE),
            park: Script::new(PARK),
            attempt: Script::new(ATTEMPT),
        })
    }

    /// The connection, made again after it broke.
    async fn con(&self) -> StoreResult<MultiplexedConnection> {
        let mut con = self.con.lock().await;
        if let Some(con) = &*con {
            return Ok(con.clone());
        }
        let made = connect(&self.client).await?;
        *con = Some(made.clone());
        Ok(made)
    }

    /// `fail`, forgetting a connection that broke.
    async fn failed(&self, error: RedisError) -> StoreError {
        if error.is_io_error() || error.is_connection_dropped() || error.is_unrecoverable_error() {
            *self.con.lock().await = None;
        }
        fail(error)
    }

    async fn check<T>(&self, result: redis::RedisResult<T>) -> StoreResult<T> {
        match result {
            Ok(value) => Ok(value),
            Err(error) => Err(self.failed(error).await),
        }
    }

    fn due(&self) -> String {
        format!("{}:due", self.ns)
    }

    fn row(&self, key: &str) -> String {
        format!("{}:s:{key}", self.ns)
    }

    fn stream(&self) -> String {
        format!("{}:events", self.ns)
    }
}

fn string(value: &Value) -> String {
    match value {
        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Value::SimpleString(text) => text.clone(),
        Value::Int(n) => n.to_string(),
        _ => String::new(),
    }
}

fn number(value: &Value) -> Option<i64> {
    string(value).parse().ok()
}

impl Backend for Redis {
    fn attempt(&self, key: String, now: i64, window_ms: i64) -> Fut<'_, (i64, i64)> {
        Box::pin(async move {
            let mut con = self.con().await?;
            let mut call = self.attempt.key(format!("{}:attempt:{key}", self.ns));
            call.arg(window_ms);
            let (count, left): (i64, i64) = self.check(call.invoke_async(&mut con).await).await?;
            Ok((count, now.saturating_add(left)))
        })
    }

    fn add(&self, row: NewRow) -> Fut<'_, bool> {
        Box::pin(async move {
            let mut con = self.con().await?;
            let mut call = self.add.key(self.due());
            call.key(self.row(&row.key))
                .arg(&row.sealed)
                .arg(&row.status)
                .arg(&row.incarnation)
                .arg(row.now)
                .arg(&row.key);
            let added: i64 = self.check(call.invoke_async(&mut con).await).await?;
            Ok(added == 1)
        })
    }

    fn remove(&self, key: String) -> Fut<'_, bool> {
        Box::pin(async move {
            let mut con = self.con().await?;
            let (gone, _): (i64, i64) = self
                .check(
                    redis::pipe()
                        .atomic()
                        .cmd("DEL")
                        .arg(self.row(&key))
                        .cmd("ZREM")
                        .arg(self.due())
                        .arg(&key)
                        .query_async(&mut con)
                        .await,
                )
                .await?;
            Ok(gone == 1)
        })
    }

    fn status(&self, key: String) -> Fut<'_, Option<RawStatus>> {
        Box::pin(async move {
            let read = async || {
                let mut con = self.con().await?;
                let fields: Result<Vec<Value>, (bool, RedisError)> = redis::cmd("HMGET")
                    .arg(self.row(&key))
                    .arg(&["status", "watched", "error", "updated_at"])
                    .query_async(&mut con)
                    .await
                    .map_err(|e| (e.is_io_error() || e.is_connection_dropped(), e));
                Ok::<_, StoreError>(fields)
            };
            // A read is safe to send again: once more on a connection found broken.
            let fields = match read().await? {
                Ok(fields) => fields,
                Err((true, error)) => {
                    let _ = self.failed(error).await;
                    match read().await? {
                        Ok(fields) => fields,
                        Err((_, error)) => return Err(self.failed(error).await),
                    }
                }
                Err((false, error)) => return Err(self.failed(error).await),
            };
            if fields.first().is_none_or(|v| matches!(v, Value::Nil)) {
                return Ok(None);
            }
            let get = |i: usize| fields.get(i).map(string).unwrap_or_default();
            let error = get(2);
            Ok(Some(RawStatus {
                status: get(0),
                watched: get(1) == "1",
                error: (!error.is_empty()).then_some(error),
                updated_at: get(3).parse().unwrap_or(0),
            }))
        })
    }

    fn claim(&self, owner: String, now: i64, lease_until: i64, limit: usize) -> Fut<'_, Vec<RawRow>> {
        Box::pin(async move {
            let mut con = self.con().await?;
            let mut call = self.claim.key(self.due());
            call.arg(now).arg(limit).arg(lease_until).arg(&owner).arg(format!("{}:s:", self.ns));
            let flat: Vec<Value> = self.check(call.invoke_async(&mut con).await).await?;
            Ok(flat
                .chunks(6)
                .filter(|c| c.len() == 6)
                .map(|c| RawRow {
                    key: string(&c[0]),
                    sealed: string(&c[1]),
                    status: string(&c[2]),
                    version: number(&c[3]).unwrap_or(0),
                    incarnation: string(&c[4]),
                    failing_since: number(&c[5]),
                })
                .collect())
        })
    }

    fn release(&self, owner: String, u: Update) -> Fut<'_, bool> {
        Box::pin(async move {
            let mut con = self.con().await?;
            let mut call = self.release.key(self.due());
            call.key(self.row(&u.key)).key(self.stream());
            call.arg(&owner)
                .arg(&u.status)
                .arg(u.version)
                .arg(u.next_check.map(|n| n.to_string()).unwrap_or_default())
                .arg(u.failing_since.map(|n| n.to_string()).unwrap_or_default())
                .arg(u.error.clone().unwrap_or_default())
                .arg(u.now)
                .arg(u.event.clone().unwrap_or_default())
                .arg(&u.key);
            let done: i64 = self.check(call.invoke_async(&mut con).await).await?;
            Ok(done == 1)
        })
    }

    fn park(&self, key: String, reason: String, now: i64) -> Fut<'_, ()> {
        Box::pin(async move {
            let mut con = self.con().await?;
            let mut call = self.park.key(self.due());
            call.key(self.row(&key)).arg(&key).arg(&reason).arg(now);
            let _: i64 = self.check(call.invoke_async(&mut con).await).await?;
            Ok(())
        })
    }

    fn events(&self) -> Fut<'_, Box<dyn EventSource>> {
        Box::pin(async move {
            let mut con = reader(&self.client).await?;
            let stream = self.stream();
            let start = stream_info(&mut con, &stream).await?;
            let source = RedisSource {
                client: self.client.clone(),
                con: Some(con),
                stream,
                last: start.last_id,
                added_at_start: start.added,
                read: 0,
            };
            Ok(Box::new(source) as Box<dyn EventSource>)
        })
    }
}

/// A connection of its own for an event reader: a blocking read holds its connection.
async fn reader(client: &Client) -> StoreResult<MultiplexedConnection> {
    let config =
        AsyncConnectionConfig::new().set_connection_timeout(Some(Duration::from_secs(5))).set_response_timeout(None);
    client.get_multiplexed_async_connection_with_config(&config).await.map_err(fail)
}

/// The `(id, payload)` pairs of a list of stream entries.
fn entries(value: &Value) -> Vec<(String, String)> {
    let Value::Array(items) = value else { return Vec::new() };
    items
        .iter()
        .filter_map(|item| match item {
            Value::Array(parts) if parts.len() == 2 => {
                let payload = match &parts[1] {
                    Value::Array(fields) => fields.get(1).map(string).unwrap_or_default(),
                    Value::Map(fields) => fields.first().map(|(_, v)| string(v)).unwrap_or_default(),
                    _ => String::new(),
                };
                Some((string(&parts[0]), payload))
            }
            _ => None,
        })
        .collect()
}

/// What `XINFO STREAM` says of the event stream (all zero when it does not exist yet).
struct StreamInfo {
    /// Entries ever added (`entries-added`, Redis 7; `None` before).
    added: Option<u64>,
    /// Entries held now.
    length: u64,
    /// The newest id given out.
    last_id: String,
}

async fn stream_info(con: &mut MultiplexedConnection, stream: &str) -> StoreResult<StreamInfo> {
    let reply: Result<Value, RedisError> = redis::cmd("XINFO").arg("STREAM").arg(stream).query_async(con).await;
    let info = match reply {
        Ok(info) => info,
        Err(error) if error.to_string().contains("no such key") => {
            return Ok(StreamInfo { added: Some(0), length: 0, last_id: "0-0".to_owned() });
        }
        Err(error) => return Err(fail(error)),
    };
    let pairs: Vec<(String, &Value)> = match &info {
        Value::Array(items) => items.chunks(2).filter(|p| p.len() == 2).map(|p| (string(&p[0]), &p[1])).collect(),
        Value::Map(items) => items.iter().map(|(k, v)| (string(k), v)).collect(),
        _ => Vec::new(),
    };
    let field = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| string(v));
    Ok(StreamInfo {
        added: field("entries-added").and_then(|n| n.parse().ok()),
        length: field("length").and_then(|n| n.parse().ok()).unwrap_or(0),
        last_id: field("last-generated-id").unwrap_or_else(|| "0-0".to_owned()),
    })
}

/// Follows the stream from `last`; after a broken connection it connects again and goes
/// on from the same place. Counts what it read against the stream's `entries-added`, so
/// entries trimmed before they were read are reported as `Lagged`.
struct RedisSource {
    client: Client,
    con: Option<MultiplexedConnection>,
    stream: String,
    last: String,
    added_at_start: Option<u64>,
    read: u64,
}

impl RedisSource {
    /// How many entries added since the start were trimmed before this reader read them:
    /// those neither read nor still held (when any was lost, every held entry is after
    /// `last`, since trimming takes the oldest).
    fn lost(&self, info: &StreamInfo) -> u64 {
        match (self.added_at_start, info.added) {
            (Some(start), Some(added)) => {
                added.saturating_sub(start).saturating_sub(self.read).saturating_sub(info.length)
            }
            _ => 0,
        }
    }
}

impl EventSource for RedisSource {
    fn next(&mut self, wait: Duration) -> Fut<'_, Vec<StoreResult<String>>> {
        Box::pin(async move {
            let mut con = match self.con.take() {
                Some(con) => con,
                None => reader(&self.client).await?,
            };
            let lost = self.lost(&stream_info(&mut con, &self.stream).await?);
            if lost > 0 {
                self.read += lost;
                self.con = Some(con);
                return Ok(vec![Err(StoreError::new(
                    StoreErrorKind::Lagged,
                    format!("{lost} events were trimmed unread (about the last 100,000 are kept)"),
                ))]);
            }
            let reply: Value = redis::cmd("XREAD")
                .arg("COUNT")
                .arg(500)
                .arg("BLOCK")
                .arg(wait.as_millis().max(1) as u64)
                .arg("STREAMS")
                .arg(&self.stream)
                .arg(&self.last)
                .query_async(&mut con)
                .await
                .map_err(fail)?;
            // [[stream, entries]] (RESP2) or {stream: entries} (RESP3); nil on time-out.
            let list = match &reply {
                Value::Array(streams) => match streams.first() {
                    Some(Value::Array(pair)) if pair.len() == 2 => entries(&pair[1]),
                    _ => Vec::new(),
                },
                Value::Map(streams) => streams.first().map(|(_, v)| entries(v)).unwrap_or_default(),
                _ => Vec::new(),
            };
            let mut out = Vec::with_capacity(list.len());
            self.con = Some(con);
            for (id, payload) in list {
                self.last = id;
                self.read += 1;
                out.push(Ok(payload));
            }
            Ok(out)
        })
    }
}

//! Monitor stores: where sessions, their last known status and their status-change
//! events live, so that any process can add a session, any number of monitor processes
//! (on any machines) can poll them, and any web worker can read a status without calling
//! the service.
//!
//! Chosen by URL: `memory`, `sqlite:///path/to/file` (feature `store-sqlite`),
//! `postgresql://user:password@host:port/db` (feature `store-postgres`),
//! `redis://[:password@]host:port[/db]` (feature `store-redis`). An optional
//! `namespace=NAME` query parameter (letters, digits, `_`; up to 32) prefixes every table or
//! key, so several apps or tests can share one store.
//!
//! Rows hold the session sealed under the app's 32-byte key (see [`SessionStore::open`]):
//! a copy of the store does not reveal session secrets. The schema is created on first
//! use with a version row; a store written by a newer version is refused with
//! [`StoreErrorKind::SchemaTooNew`].
//!
//! Work is shared with leases: a monitor claims due sessions in batches (the claim moves
//! each one's next check to the lease's end and records the owner), polls them, and
//! writes back the status and the next check time, which releases them. A monitor that
//! dies without releasing loses its sessions when the lease ends: they are due again and
//! another monitor claims them. A write-back from a monitor whose lease was taken over is
//! refused, so one change is published once.

mod error;
mod events;
mod memory;
mod monitor;
#[cfg(feature = "store-postgres")]
mod postgres;
#[cfg(feature = "store-redis")]
mod redis;
mod seal;
#[cfg(feature = "store-sqlite")]
mod sqlite;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::super::{SessionData, Status};
pub use error::{StoreError, StoreErrorKind, StoreResult};
pub use events::StoreEvents;
pub use monitor::{StoreMonitor, StoreMonitorOptions};
use seal::RowKey;

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = 1;
/// The event channel's capacity when the caller gives none.
pub const DEFAULT_EVENT_CAPACITY: usize = 1000;
/// The longest session key accepted.
pub const MAX_KEY_BYTES: usize = 512;

/// A boxed future of a store call.
pub(crate) type Fut<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

/// A session row as written by `add`.
pub(crate) struct NewRow {
    pub key: String,
    pub sealed: String,
    pub status: String,
    pub incarnation: String,
    pub now: i64,
}

/// A claimed row.
pub(crate) struct RawRow {
    pub key: String,
    pub sealed: String,
    pub status: String,
    pub version: i64,
    pub incarnation: String,
    pub failing_since: Option<i64>,
}

/// A write-back that releases a claimed row; `next_check: None` stops watching it.
pub(crate) struct Update {
    pub key: String,
    pub status: String,
    pub version: i64,
    pub next_check: Option<i64>,
    pub failing_since: Option<i64>,
    pub error: Option<String>,
    /// The event's JSON, published in the same atomic step as the write.
    pub event: Option<String>,
    pub now: i64,
}

/// A row's status as read.
pub(crate) struct RawStatus {
    pub status: String,
    pub watched: bool,
    pub error: Option<String>,
    pub updated_at: i64,
}

/// What each store implements; every call is one atomic step in the store.
pub(crate) trait Backend: Send + Sync + 'static {
    /// Inserts the row unless its key exists (`false` then).
    fn add(&self, row: NewRow) -> Fut<'_, bool>;
    fn remove(&self, key: String) -> Fut<'_, bool>;
    fn status(&self, key: String) -> Fut<'_, Option<RawStatus>>;
    /// Up to `limit` rows due at `now`, now owned by `owner` until `lease_until`.
    fn claim(&self, owner: String, now: i64, lease_until: i64, limit: usize) -> Fut<'_, Vec<RawRow>>;
    /// Writes back a row still owned by `owner` (`false` when the lease was taken over
    /// or the row removed) and publishes its event.
    fn release(&self, owner: String, update: Update) -> Fut<'_, bool>;
    /// Stops watching a corrupted row, recording why.
    fn park(&self, key: String, reason: String, now: i64) -> Fut<'_, ()>;
    /// A reader of the events published from now on.
    fn events(&self) -> Fut<'_, Box<dyn EventSource>>;
    /// Counts an attempt under `key` in its window (which starts with the first attempt
    /// and lasts `window_ms`); returns `count` (this attempt included) and the window's
    /// end (ms).
    fn attempt(&self, key: String, now: i64, window_ms: i64) -> Fut<'_, (i64, i64)>;
}

/// Reads published events in order.
pub(crate) trait EventSource: Send + 'static {
    /// The next event payloads, waiting up to `wait` for the first.
    fn next(&mut self, wait: Duration) -> Fut<'_, Vec<StoreResult<String>>>;
}

/// Milliseconds since the Unix epoch (the store's clock: monitors' clocks must agree
/// within a small fraction of the lease).
pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The last known status of a stored session: a read of the store, no service call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredStatus {
    /// The status last seen by a monitor (or given to `add`).
    pub status: Status,
    /// Whether monitors still poll it (`false` once ended, unreachable, or corrupt).
    pub watched: bool,
    /// Why it is no longer watched, when that was a failure.
    pub error: Option<String>,
    /// When the row was last written (ms since the Unix epoch).
    pub updated_at_ms: i64,
}

/// A status change, published to the subscribers of every process, at least once: a
/// consumer drops repeats by [`StoreEvent::id`], which is stable across deliveries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreEvent {
    /// Stable id: the row's incarnation and change number.
    pub id: String,
    /// `"changed"`, or `"unreachable"` (polling gave up; `error` says why).
    pub kind: String,
    /// The app's key for the session.
    pub key: String,
    /// The session's user.
    pub user: String,
    /// The session's token.
    pub session_token: String,
    /// The status before.
    pub previous: Status,
    /// The status now.
    pub status: Status,
    /// For `"unreachable"`: the error code and message.
    #[serde(default)]
    pub error: Option<String>,
    /// When the monitor saw it (ms since the Unix epoch).
    pub at_ms: i64,
}

/// A handle on a store; cheap to clone.
#[derive(Clone)]
pub struct SessionStore {
    backend: Arc<dyn Backend>,
    key: RowKey,
    kind: &'static str,
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionStore").field("kind", &self.kind).finish()
    }
}

#[cfg_attr(not(any(feature = "store-sqlite", feature = "store-postgres", feature = "store-redis")), allow(dead_code))]
/// A store URL split into its kind, its connection part and the namespace.
pub(crate) struct Location {
    pub rest: url::Url,
    pub namespace: String,
}

#[cfg_attr(not(any(feature = "store-sqlite", feature = "store-postgres", feature = "store-redis")), allow(dead_code))]
fn locate(url: &str) -> StoreResult<Location> {
    let mut parsed = url::Url::parse(url).map_err(|e| StoreError::invalid(format!("store URL: {e}")))?;
    let mut namespace = "deviceauth".to_owned();
    let mut others = Vec::new();
    for (name, value) in parsed.query_pairs() {
        if name == "namespace" {
            let ok = !value.is_empty()
                && value.len() <= 32
                && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && value.bytes().next().is_some_and(|b| b.is_ascii_alphabetic());
            if !ok {
                return Err(StoreError::invalid("namespace: 1-32 letters, digits or _, starting with a letter"));
            }
            namespace = value.to_ascii_lowercase();
        } else {
            others.push((name.into_owned(), value.into_owned()));
        }
    }
    parsed.set_query(None);
    if !others.is_empty() {
        parsed.query_pairs_mut().extend_pairs(others);
    }
    Ok(Location { rest: parsed, namespace })
}

impl SessionStore {
    /// Opens (and on first use sets up) the store at `url`, sealing rows with `seal_key`
    /// (32 bytes, e.g. from `openssl rand -hex 32`; every process of the app uses the
    /// same). The `memory` store, which never leaves the process, takes an empty key to
    /// mean a random one. Errors: [`StoreErrorKind::InvalidUrl`] (also for a store this build lacks),
    /// `Unreachable`, `Unauthorized`, `SchemaTooNew`.
    pub async fn open(url: &str, seal_key: &[u8]) -> StoreResult<SessionStore> {
        let is_memory = url == "memory" || url == "memory://";
        let key = if is_memory && seal_key.is_empty() {
            let mut random = [0u8; 32];
            getrandom::fill(&mut random).map_err(|e| StoreError::backend(format!("no random numbers: {e}")))?;
            RowKey::new(&random)?
        } else {
            RowKey::new(seal_key)?
        };
        let (backend, kind): (Arc<dyn Backend>, &'static str) = if is_memory {
            (Arc::new(memory::Memory::default()), "memory")
        } else {
            let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase()).unwrap_or_default();
            #[allow(unreachable_patterns)] // the fallback arm, when every store is built in
            match scheme.as_str() {
                #[cfg(feature = "store-sqlite")]
                "sqlite" => (Arc::new(sqlite::Sqlite::open(locate(url)?).await?), "sqlite"),
                #[cfg(feature = "store-postgres")]
                "postgres" | "postgresql" => (Arc::new(postgres::Postgres::open(locate(url)?).await?), "postgres"),
                #[cfg(feature = "store-redis")]
                "redis" => (Arc::new(redis::Redis::open(locate(url)?).await?), "redis"),
                "sqlite" | "postgres" | "postgresql" | "redis" => {
                    return Err(StoreError::invalid(format!(
                        "this build has no {scheme} store (cargo feature store-{})",
                        if scheme.starts_with("postgres") { "postgres" } else { &scheme }
                    )));
                }
                _ => {
                    return Err(StoreError::invalid(
                        "a store URL is memory, sqlite:///path, postgresql://... or redis://...",
                    ));
                }
            }
        };
        Ok(SessionStore { backend, key, kind })
    }

    /// `"memory"`, `"sqlite"`, `"postgres"` or `"redis"`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Stores a session under `key` (e.g. the sign-in id), due for a check at once.
    /// `false` when `key` is taken. A session already ended is refused.
    pub async fn add(&self, key: &str, data: &SessionData) -> StoreResult<bool> {
        check_key(key)?;
        if data.status.is_ended() {
            return Err(StoreError::invalid(format!("the session is already {}", data.status)));
        }
        let mut incarnation = [0u8; 8];
        getrandom::fill(&mut incarnation).map_err(|e| StoreError::backend(format!("no random numbers: {e}")))?;
        let row = NewRow {
            key: key.to_owned(),
            sealed: self.key.seal(key, data)?,
            status: data.status.as_str().to_owned(),
            incarnation: incarnation.iter().map(|b| format!("{b:02x}")).collect(),
            now: now_ms(),
        };
        self.backend.add(row).await
    }

    /// Deletes the session under `key`; `false` when there was none.
    pub async fn remove(&self, key: &str) -> StoreResult<bool> {
        check_key(key)?;
        self.backend.remove(key.to_owned()).await
    }

    /// The last known status of the session under `key` (one read of the store).
    pub async fn status(&self, key: &str) -> StoreResult<Option<StoredStatus>> {
        check_key(key)?;
        Ok(self.backend.status(key.to_owned()).await?.map(|raw| StoredStatus {
            status: Status::from_wire(&raw.status),
            watched: raw.watched,
            error: raw.error,
            updated_at_ms: raw.updated_at,
        }))
    }

    /// The events published from now on by every monitor on this store, through a
    /// channel of `capacity` events (see [`StoreEvents`] for what happens when the reader
    /// falls behind).
    pub async fn subscribe(&self, capacity: usize) -> StoreResult<StoreEvents> {
        let source = self.backend.events().await?;
        Ok(StoreEvents::start(source, capacity.max(1)))
    }

    /// Counts an attempt by `subject` against `limit`, for every process on this store:
    /// `None` when it is within the limit, else how long until the window ends.
    pub async fn attempt(
        &self,
        subject: &str,
        limit: &crate::activeconnect::AttemptLimit,
    ) -> StoreResult<Option<Duration>> {
        check_key(subject)?;
        let window = limit.window.as_millis().min(i64::MAX as u128) as i64;
        let now = now_ms();
        let (count, ends) = self.backend.attempt(subject.to_owned(), now, window).await?;
        if count <= i64::from(limit.attempts) {
            return Ok(None);
        }
        Ok(Some(Duration::from_millis(ends.saturating_sub(now).max(1) as u64)))
    }

    pub(crate) fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    pub(crate) fn open_row(&self, row: &RawRow) -> StoreResult<SessionData> {
        self.key.open(&row.key, &row.sealed)
    }
}

fn check_key(key: &str) -> StoreResult<()> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES || key.chars().any(char::is_control) {
        return Err(StoreError::invalid(format!(
            "a session key is 1 to {MAX_KEY_BYTES} bytes without control characters"
        )));
    }
    Ok(())
}

/// The `schema too new` error.
#[cfg_attr(not(any(feature = "store-sqlite", feature = "store-postgres", feature = "store-redis")), allow(dead_code))]
pub(crate) fn too_new(found: i64) -> StoreError {
    StoreError::new(
        StoreErrorKind::SchemaTooNew,
        format!(
            "the store's schema is version {found}; this version of deviceauth reads up to {SCHEMA_VERSION}: upgrade deviceauth"
        ),
    )
}

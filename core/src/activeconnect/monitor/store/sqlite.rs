//! SQLite store (`sqlite:///path/to/file`): one file shared by the processes of one
//! machine. WAL journal; every write is one `BEGIN IMMEDIATE` transaction (so claims never
//! overlap); every call runs on tokio's blocking threads. Events are read by polling.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};

use super::{
    Backend, EventSource, Fut, Location, NewRow, RawRow, RawStatus, SCHEMA_VERSION, StoreError, StoreErrorKind,
    StoreResult, Update, too_new,
};

/// Events kept for readers that fall behind.
const RETENTION_MS: i64 = 3_600_000;
/// How often a reader looks for new events.
const EVENT_POLL: Duration = Duration::from_millis(100);

#[derive(Clone)]
pub(crate) struct Sqlite {
    conn: Arc<Mutex<Connection>>,
    ns: Arc<str>,
}

fn fail(error: rusqlite::Error) -> StoreError {
    let kind = match error.sqlite_error_code() {
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => StoreErrorKind::Unreachable,
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreErrorKind::Corrupt,
        _ => StoreErrorKind::Backend,
    };
    StoreError::new(kind, format!("sqlite: {error}"))
}

impl Sqlite {
    pub async fn open(location: Location) -> StoreResult<Sqlite> {
        let path = percent_encoding::percent_decode_str(location.rest.path()).decode_utf8_lossy().into_owned();
        if path.is_empty() || path == "/" {
            return Err(StoreError::invalid("a SQLite store URL names a file: sqlite:///path/to/file"));
        }
        let ns = location.namespace;
        let conn = tokio::task::spawn_blocking(move || -> StoreResult<(Connection, String)> {
            let conn = Connection::open(&path).map_err(|e| {
                StoreError::new(StoreErrorKind::Unreachable, format!("sqlite: cannot open {path}: {e}"))
            })?;
            conn.busy_timeout(Duration::from_secs(10)).map_err(fail)?;
            let _: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(fail)?;
            // In WAL mode NORMAL loses no committed write on a process crash (only on power loss).
            conn.execute_batch("PRAGMA synchronous=NORMAL").map_err(fail)?;
            conn.execute_batch(&format!(
                "BEGIN IMMEDIATE;
                 CREATE TABLE IF NOT EXISTS {ns}_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
                 INSERT OR IGNORE INTO {ns}_meta VALUES ('schema_version', {SCHEMA_VERSION});
                 CREATE TABLE IF NOT EXISTS {ns}_sessions (key TEXT PRIMARY KEY, sealed TEXT NOT NULL,
                   status TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 0, incarnation TEXT NOT NULL,
                   next_check INTEGER, owner TEXT, failing_since INTEGER, error TEXT, updated_at INTEGER NOT NULL);
                 CREATE INDEX IF NOT EXISTS {ns}_sessions_due ON {ns}_sessions (next_check) WHERE next_check IS NOT NULL;
                 CREATE TABLE IF NOT EXISTS {ns}_events (seq INTEGER PRIMARY KEY AUTOINCREMENT,
                   created_at INTEGER NOT NULL, payload TEXT NOT NULL);
                 CREATE INDEX IF NOT EXISTS {ns}_events_created ON {ns}_events (created_at);
                 CREATE TABLE IF NOT EXISTS {ns}_attempts (key TEXT PRIMARY KEY, count INTEGER NOT NULL,
                   ends INTEGER NOT NULL);
                 COMMIT;"
            ))
            .map_err(fail)?;
            let version: i64 = conn
                .query_row(&format!("SELECT value FROM {ns}_meta WHERE name = 'schema_version'"), [], |r| r.get(0))
                .map_err(fail)?;
            if version > SCHEMA_VERSION {
                return Err(too_new(version));
            }
            Ok((conn, ns))
        })
        .await
        .map_err(|e| StoreError::backend(format!("sqlite: {e}")))??;
        Ok(Sqlite { conn: Arc::new(Mutex::new(conn.0)), ns: conn.1.into() })
    }

    /// Runs `work` on a blocking thread with the connection.
    fn call<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection, &str) -> rusqlite::Result<T> + Send + 'static,
    ) -> Fut<'static, T> {
        let (conn, ns) = (self.conn.clone(), self.ns.clone());
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
                work(&mut conn, &ns).map_err(fail)
            })
            .await
            .map_err(|e| StoreError::backend(format!("sqlite: {e}")))?
        })
    }
}

/// A text column, or "" when it holds something else (the row then reads as corrupt).
fn text(row: &rusqlite::Row<'_>, index: usize) -> String {
    row.get::<_, String>(index).unwrap_or_default()
}

impl Backend for Sqlite {
    fn attempt(&self, key: String, now: i64, window_ms: i64) -> Fut<'_, (i64, i64)> {
        self.call(move |conn, ns| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if rand::random::<u8>() == 0 {
                tx.execute(&format!("DELETE FROM {ns}_attempts WHERE ends <= ?1"), [now])?;
            }
            let counted = tx.query_row(
                &format!(
                    "INSERT INTO {ns}_attempts (key, count, ends) VALUES (?1, 1, ?2 + ?3)
                     ON CONFLICT (key) DO UPDATE SET
                       count = CASE WHEN {ns}_attempts.ends <= ?2 THEN 1 ELSE {ns}_attempts.count + 1 END,
                       ends = CASE WHEN {ns}_attempts.ends <= ?2 THEN ?2 + ?3 ELSE {ns}_attempts.ends END
                     RETURNING count, ends"
                ),
                params![key, now, window_ms],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            tx.commit()?;
            Ok(counted)
        })
    }

    fn add(&self, row: NewRow) -> Fut<'_, bool> {
        self.call(move |conn, ns| {
            let sql = format!(
                "INSERT OR IGNORE INTO {ns}_sessions (key, sealed, status, incarnation, next_check, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)"
            );
            Ok(conn.execute(&sql, params![row.key, row.sealed, row.status, row.incarnation, row.now])? == 1)
        })
    }

    fn remove(&self, key: String) -> Fut<'_, bool> {
        self.call(move |conn, ns| Ok(conn.execute(&format!("DELETE FROM {ns}_sessions WHERE key = ?1"), [key])? == 1))
    }

    fn status(&self, key: String) -> Fut<'_, Option<RawStatus>> {
        self.call(move |conn, ns| {
            let sql =
                format!("SELECT status, next_check IS NOT NULL, error, updated_at FROM {ns}_sessions WHERE key = ?1");
            conn.query_row(&sql, [key], |r| {
                Ok(RawStatus {
                    status: text(r, 0),
                    watched: r.get(1)?,
                    error: r.get(2).ok().flatten(),
                    updated_at: r.get(3).unwrap_or(0),
                })
            })
            .optional()
        })
    }

    fn claim(&self, owner: String, now: i64, lease_until: i64, limit: usize) -> Fut<'_, Vec<RawRow>> {
        self.call(move |conn, ns| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let rows = {
                let mut statement = tx.prepare(&format!(
                    "UPDATE {ns}_sessions SET owner = ?1, next_check = ?2
                     WHERE key IN (SELECT key FROM {ns}_sessions WHERE next_check <= ?3 ORDER BY next_check LIMIT ?4)
                     RETURNING key, sealed, status, version, incarnation, failing_since"
                ))?;
                let rows = statement.query_map(params![owner, lease_until, now, limit as i64], |r| {
                    Ok(RawRow {
                        key: text(r, 0),
                        sealed: text(r, 1),
                        status: text(r, 2),
                        version: r.get(3).unwrap_or(0),
                        incarnation: text(r, 4),
                        failing_since: r.get(5).ok().flatten(),
                    })
                })?;
                rows.collect::<rusqlite::Result<Vec<_>>>()?
            };
            tx.commit()?;
            Ok(rows)
        })
    }

    fn release(&self, owner: String, update: Update) -> Fut<'_, bool> {
        self.call(move |conn, ns| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let changed = tx.execute(
                &format!(
                    "UPDATE {ns}_sessions SET status = ?3, version = ?4, next_check = ?5, owner = NULL,
                     failing_since = ?6, error = ?7, updated_at = ?8 WHERE key = ?1 AND owner = ?2"
                ),
                params![
                    update.key,
                    owner,
                    update.status,
                    update.version,
                    update.next_check,
                    update.failing_since,
                    update.error,
                    update.now
                ],
            )? == 1;
            if changed && let Some(event) = &update.event {
                tx.execute(
                    &format!("INSERT INTO {ns}_events (created_at, payload) VALUES (?1, ?2)"),
                    params![update.now, event],
                )?;
                if rand::random::<u8>() == 0 {
                    tx.execute(&format!("DELETE FROM {ns}_events WHERE created_at < ?1"), [update.now - RETENTION_MS])?;
                }
            }
            tx.commit()?;
            Ok(changed)
        })
    }

    fn park(&self, key: String, reason: String, now: i64) -> Fut<'_, ()> {
        self.call(move |conn, ns| {
            conn.execute(
                &format!("UPDATE {ns}_sessions SET next_check = NULL, owner = NULL, error = ?2, updated_at = ?3 WHERE key = ?1"),
                params![key, reason, now],
            )?;
            Ok(())
        })
    }

    fn events(&self) -> Fut<'_, Box<dyn EventSource>> {
        let this = self.clone();
        Box::pin(async move {
            let last = this
                .call(|conn, ns| {
                    conn.query_row(&format!("SELECT COALESCE(MAX(seq), 0) FROM {ns}_events"), [], |r| r.get(0))
                })
                .await?;
            Ok(Box::new(SqliteSource { store: this, last }) as Box<dyn EventSource>)
        })
    }
}

struct SqliteSource {
    store: Sqlite,
    last: i64,
}

impl EventSource for SqliteSource {
    fn next(&mut self, wait: Duration) -> Fut<'_, Vec<StoreResult<String>>> {
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                let last = self.last;
                let (first, rows) = self
                    .store
                    .call(move |conn, ns| {
                        let first: Option<i64> =
                            conn.query_row(&format!("SELECT MIN(seq) FROM {ns}_events"), [], |r| r.get(0))?;
                        let mut statement = conn.prepare(&format!(
                            "SELECT seq, payload FROM {ns}_events WHERE seq > ?1 ORDER BY seq LIMIT 500"
                        ))?;
                        let rows = statement
                            .query_map([last], |r| Ok((r.get::<_, i64>(0)?, text(r, 1))))?
                            .collect::<rusqlite::Result<Vec<_>>>()?;
                        Ok((first, rows))
                    })
                    .await?;
                let mut out = Vec::new();
                if let Some(first) = first
                    && first > last + 1
                    && last > 0
                {
                    out.push(Err(StoreError::new(
                        StoreErrorKind::Lagged,
                        format!("{} events expired unread", first - last - 1),
                    )));
                }
                for (seq, payload) in rows {
                    self.last = seq;
                    out.push(Ok(payload));
                }
                if !out.is_empty() || tokio::time::Instant::now() >= deadline {
                    return Ok(out);
                }
                tokio::time::sleep(EVENT_POLL).await;
            }
        })
    }
}

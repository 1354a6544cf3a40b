//! Postgres store (`postgresql://user:password@host:port/db`): many machines. TLS follows
//! libpq's `sslmode`: `disable`; `prefer` (the default: TLS when the server offers it) and
//! `require` encrypt without checking the certificate, unless `sslrootcert=PATH` is given;
//! `verify-ca` and `verify-full` check it (both also check the host name) against the
//! system's roots plus those of `sslrootcert`. Claims use
//! `FOR UPDATE SKIP LOCKED`; a write-back, its event row and its `NOTIFY` are one
//! statement. Readers `LISTEN` and read the events table (so none is lost while the
//! notification is). The connection is made again when it drops. Events are kept one hour; a reader that
//! falls further behind is told by a `Lagged` error (from a high-water mark of the expired
//! event numbers).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, Notify};
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::{AsyncMessage, Client, Config, Row, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{
    Backend, EventSource, Fut, Location, NewRow, RawRow, RawStatus, SCHEMA_VERSION, StoreError, StoreErrorKind,
    StoreResult, Update, too_new,
};

const RETENTION_MS: i64 = 3_600_000;
/// How long a hole in the event numbers is waited on (a write still committing) before it
/// is taken for a rolled-back one.
const GAP_WAIT: Duration = Duration::from_secs(2);

fn fail(error: tokio_postgres::Error) -> StoreError {
    let code = error.code();
    let kind =
        if code == Some(&SqlState::INVALID_PASSWORD) || code == Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION) {
            StoreErrorKind::Unauthorized
        } else if error.as_db_error().is_none() {
            StoreErrorKind::Unreachable
        } else {
            StoreErrorKind::Backend
        };
    let detail = error.as_db_error().map(|d| d.message().to_owned()).unwrap_or_else(|| {
        let mut text = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            text = format!("{text}: {cause}");
            source = cause.source();
        }
        text
    });
    StoreError::new(kind, format!("postgres: {detail}"))
}

/// One connection and its prepared statements.
struct Conn {
    client: Client,
    add: Statement,
    remove: Statement,
    status: Statement,
    claim: Statement,
    release: Statement,
    park: Statement,
    attempt: Statement,
}

pub(crate) struct Postgres {
    target: Target,
    ns: Arc<str>,
    conn: Mutex<Arc<Conn>>,
}

/// The connection settings: the parsed URL and the TLS connector.
#[derive(Clone)]
struct Target {
    config: Config,
    tls: MakeRustlsConnect,
}

impl Target {
    /// Parses the URL, taking out `sslmode` and `sslrootcert` (read here, libpq's way).
    fn new(mut url: url::Url) -> StoreResult<Target> {
        let (mut mode, mut root) = (String::from("prefer"), None);
        let others: Vec<(String, String)> = url
            .query_pairs()
            .filter_map(|(name, value)| match &*name {
                "sslmode" => {
                    mode = value.into_owned();
                    None
                }
                "sslrootcert" => {
                    root = Some(value.into_owned());
                    None
                }
                _ => Some((name.into_owned(), value.into_owned())),
            })
            .collect();
        url.set_query(None);
        if !others.is_empty() {
            url.query_pairs_mut().extend_pairs(others);
        }
        let mut config: Config = url.as_str().parse().map_err(|e| StoreError::invalid(format!("postgres URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        let verify = match mode.as_str() {
            "disable" => {
                config.ssl_mode(SslMode::Disable);
                false
            }
            "prefer" | "require" => {
                config.ssl_mode(if mode == "prefer" { SslMode::Prefer } else { SslMode::Require });
                root.is_some()
            }
            "verify-ca" | "verify-full" => {
                config.ssl_mode(SslMode::Require);
                true
            }
            _ => {
                return Err(StoreError::invalid(
                    "postgres sslmode: disable, prefer, require, verify-ca or verify-full",
                ));
            }
        };
        Ok(Target { config, tls: tls(verify, root.as_deref())? })
    }
}

/// A TLS connector: verifying against the system's roots plus those of the PEM file
/// `root`, or encrypting only.
fn tls(verify: bool, root: Option<&str>) -> StoreResult<MakeRustlsConnect> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let extra: Vec<CertificateDer<'static>> = match root {
        None => Vec::new(),
        Some(path) => CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| StoreError::invalid(format!("postgres sslrootcert {path:?}: {e}")))?,
    };
    if root.is_some() && extra.is_empty() {
        return Err(StoreError::invalid("postgres sslrootcert: the file holds no certificate"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn rustls::client::danger::ServerCertVerifier> = if verify {
        Arc::new(
            rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
                .map_err(|e| StoreError::invalid(format!("postgres TLS roots: {e}")))?,
        )
    } else {
        Arc::new(EncryptOnly(provider.clone()))
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::invalid(format!("postgres TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// libpq's `sslmode=prefer`/`require`: any certificate is accepted, the handshake's
/// signatures are still checked.
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

async fn connect(target: &Target) -> StoreResult<Client> {
    let (client, connection) = target.config.connect(target.tls.clone()).await.map_err(fail)?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            log::warn!("deviceauth store: postgres connection ended: {error}");
        }
    });
    Ok(client)
}

async fn setup(target: &Target, ns: &str) -> StoreResult<Conn> {
    let client = connect(target).await?;
    client
        .batch_execute(&format!(
            "BEGIN;
             SELECT pg_advisory_xact_lock(hashtext('deviceauth schema {ns}'));
             CREATE TABLE IF NOT EXISTS {ns}_meta (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
             INSERT INTO {ns}_meta VALUES ('schema_version', {SCHEMA_VERSION}) ON CONFLICT DO NOTHING;
             CREATE TABLE IF NOT EXISTS {ns}_sessions (key TEXT PRIMARY KEY, sealed TEXT NOT NULL,
               status TEXT NOT NULL, version BIGINT NOT NULL DEFAULT 0, incarnation TEXT NOT NULL,
               next_check BIGINT, owner TEXT, failing_since BIGINT, error TEXT, updated_at BIGINT NOT NULL);
             CREATE INDEX IF NOT EXISTS {ns}_sessions_due ON {ns}_sessions (next_check) WHERE next_check IS NOT NULL;
             CREATE TABLE IF NOT EXISTS {ns}_events (seq BIGSERIAL PRIMARY KEY, created_at BIGINT NOT NULL,
               payload TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS {ns}_events_created ON {ns}_events (created_at);
             CREATE TABLE IF NOT EXISTS {ns}_attempts (key TEXT PRIMARY KEY, count BIGINT NOT NULL, ends BIGINT NOT NULL);
             COMMIT;"
        ))
        .await
        .map_err(fail)?;
    let row = client
        .query_one(&format!("SELECT value FROM {ns}_meta WHERE name = 'schema_version'"), &[])
        .await
        .map_err(fail)?;
    let version: i64 = row.try_get(0).map_err(fail)?;
    if version > SCHEMA_VERSION {
        return Err(too_new(version));
    }
    let prepare = |sql: String| {
        let client = &client;
        async move { client.prepare(&sql).await.map_err(fail) }
    };
    Ok(Conn {
        add: prepare(format!(
            "INSERT INTO {ns}_sessions (key, sealed, status, incarnation, next_check, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING"
        ))
        .await?,
        remove: prepare(format!("DELETE FROM {ns}_sessions WHERE key = $1")).await?,
        status: prepare(format!(
            "SELECT status, next_check IS NOT NULL, error, updated_at FROM {ns}_sessions WHERE key = $1"
        ))
        .await?,
        claim: prepare(format!(
            "UPDATE {ns}_sessions s SET owner = $1, next_check = $2
             FROM (SELECT key FROM {ns}_sessions WHERE next_check <= $3 ORDER BY next_check LIMIT $4
                   FOR UPDATE SKIP LOCKED) due
             WHERE s.key = due.key
             RETURNING s.key, s.sealed, s.status, s.version, s.incarnation, s.failing_since"
        ))
        .await?,
        release: prepare(format!(
            "WITH u AS (UPDATE {ns}_sessions SET status = $3, version = $4, next_check = $5, owner = NULL,
                          failing_since = $6, error = $7, updated_at = $8 WHERE key = $1 AND owner = $2 RETURNING key),
                  e AS (INSERT INTO {ns}_events (created_at, payload) SELECT $8, $9::text FROM u
                          WHERE $9::text IS NOT NULL RETURNING seq),
                  gone AS (DELETE FROM {ns}_events WHERE $10 AND created_at < $8 - {RETENTION_MS} RETURNING seq),
                  mark AS (INSERT INTO {ns}_meta SELECT 'events_expired_upto', max(seq) FROM gone HAVING count(*) > 0
                          ON CONFLICT (name) DO UPDATE SET value = GREATEST({ns}_meta.value, EXCLUDED.value))
             SELECT (SELECT count(*) FROM u), (SELECT count(pg_notify('{ns}_events', seq::text)) FROM e)"
        ))
        .await?,
        attempt: prepare(format!(
            "WITH counted AS (INSERT INTO {ns}_attempts AS a (key, count, ends) VALUES ($1, 1, $2::bigint + $3::bigint)
                ON CONFLICT (key) DO UPDATE SET
                  count = CASE WHEN a.ends <= $2 THEN 1 ELSE a.count + 1 END,
                  ends = CASE WHEN a.ends <= $2 THEN $2::bigint + $3::bigint ELSE a.ends END
                RETURNING count, ends),
             gone AS (DELETE FROM {ns}_attempts WHERE $4::boolean AND ends <= $2 AND key <> $1)
             SELECT count, ends FROM counted"
        ))
        .await?,
        park: prepare(format!(
            "UPDATE {ns}_sessions SET next_check = NULL, owner = NULL, error = $2, updated_at = $3 WHERE key = $1"
        ))
        .await?,
        client,
    })
}

impl Postgres {
    pub async fn open(location: Location) -> StoreResult<Postgres> {
        let target = Target::new(location.rest)?;
        let ns = location.namespace;
        let conn = setup(&target, &ns).await?;
        Ok(Postgres { target, ns: ns.into(), conn: Mutex::new(Arc::new(conn)) })
    }

    /// The connection, made again if it dropped.
    async fn conn(&self) -> StoreResult<Arc<Conn>> {
        let mut conn = self.conn.lock().await;
        if conn.client.is_closed() {
            *conn = Arc::new(setup(&self.target, &self.ns).await?);
        }
        Ok(conn.clone())
    }
}

fn text(row: &Row, index: usize) -> String {
    row.try_get::<_, String>(index).unwrap_or_default()
}

impl Backend for Postgres {
    fn attempt(&self, key: String, now: i64, window_ms: i64) -> Fut<'_, (i64, i64)> {
        Box::pin(async move {
            let c = self.conn().await?;
            let sweep = rand::random::<u8>() == 0;
            let row = c.client.query_one(&c.attempt, &[&key, &now, &window_ms, &sweep]).await.map_err(fail)?;
            Ok((row.try_get(0).map_err(fail)?, row.try_get(1).map_err(fail)?))
        })
    }

    fn add(&self, row: NewRow) -> Fut<'_, bool> {
        Box::pin(async move {
            let c = self.conn().await?;
            let n = c
                .client
                .execute(&c.add, &[&row.key, &row.sealed, &row.status, &row.incarnation, &row.now])
                .await
                .map_err(fail)?;
            Ok(n == 1)
        })
    }

    fn remove(&self, key: String) -> Fut<'_, bool> {
        Box::pin(async move {
            let c = self.conn().await?;
            Ok(c.client.execute(&c.remove, &[&key]).await.map_err(fail)? == 1)
        })
    }

    fn status(&self, key: String) -> Fut<'_, Option<RawStatus>> {
        Box::pin(async move {
            let c = self.conn().await?;
            let row = c.client.query_opt(&c.status, &[&key]).await.map_err(fail)?;
            Ok(row.map(|r| RawStatus {
                status: text(&r, 0),
                watched: r.try_get(1).unwrap_or(false),
                error: r.try_get(2).ok().flatten(),
                updated_at: r.try_get(3).unwrap_or(0),
            }))
        })
    }

    fn claim(&self, owner: String, now: i64, lease_until: i64, limit: usize) -> Fut<'_, Vec<RawRow>> {
        Box::pin(async move {
            let c = self.conn().await?;
            let rows = c.client.query(&c.claim, &[&owner, &lease_until, &now, &(limit as i64)]).await.map_err(fail)?;
            Ok(rows
                .iter()
                .map(|r| RawRow {
                    key: text(r, 0),
                    sealed: text(r, 1),
                    status: text(r, 2),
                    version: r.try_get(3).unwrap_or(0),
                    incarnation: text(r, 4),
                    failing_since: r.try_get(5).ok().flatten(),
                })
                .collect())
        })
    }

    fn release(&self, owner: String, u: Update) -> Fut<'_, bool> {
        Box::pin(async move {
            let c = self.conn().await?;
            let trim = u.event.is_some() && rand::random::<u8>() == 0;
            let row = c
                .client
                .query_one(
                    &c.release,
                    &[
                        &u.key,
                        &owner,
                        &u.status,
                        &u.version,
                        &u.next_check,
                        &u.failing_since,
                        &u.error,
                        &u.now,
                        &u.event,
                        &trim,
                    ],
                )
                .await
                .map_err(fail)?;
            Ok(row.try_get::<_, i64>(0).unwrap_or(0) == 1)
        })
    }

    fn park(&self, key: String, reason: String, now: i64) -> Fut<'_, ()> {
        Box::pin(async move {
            let c = self.conn().await?;
            c.client.execute(&c.park, &[&key, &reason, &now]).await.map_err(fail)?;
            Ok(())
        })
    }

    fn events(&self) -> Fut<'_, Box<dyn EventSource>> {
        Box::pin(async move {
            let listener = Listener::start(&self.target, &self.ns).await?;
            let sql = format!("SELECT COALESCE(MAX(seq), 0) FROM {}_events", self.ns);
            let row = listener.client.query_one(&sql, &[]).await.map_err(fail)?;
            let last: i64 = row.try_get(0).map_err(fail)?;
            let source =
                PostgresSource { target: self.target.clone(), ns: self.ns.clone(), listener, last, gap_since: None };
            Ok(Box::new(source) as Box<dyn EventSource>)
        })
    }
}

/// A connection that `LISTEN`s for new events, and reads them.
struct Listener {
    client: Client,
    read: Statement,
    /// The highest event number deleted by retention.
    expired: Statement,
    woken: Arc<Notify>,
}

impl Listener {
    async fn start(target: &Target, ns: &str) -> StoreResult<Listener> {
        let (client, mut connection) = target.config.connect(target.tls.clone()).await.map_err(fail)?;
        let woken = Arc::new(Notify::new());
        let wake = woken.clone();
        tokio::spawn(async move {
            while let Some(message) = futures_util::future::poll_fn(|cx| connection.poll_message(cx)).await {
                match message {
                    Ok(AsyncMessage::Notification(_)) => wake.notify_one(),
                    Ok(_) => {}
                    Err(error) => {
                        log::warn!("deviceauth store: postgres listener: {error}");
                        break;
                    }
                }
            }
            wake.notify_one();
        });
        client.batch_execute(&format!("LISTEN {ns}_events")).await.map_err(fail)?;
        let read = client
            .prepare(&format!("SELECT seq, payload FROM {ns}_events WHERE seq > $1 ORDER BY seq LIMIT 500"))
            .await
            .map_err(fail)?;
        let expired = client
            .prepare(&format!("SELECT value FROM {ns}_meta WHERE name = 'events_expired_upto'"))
            .await
            .map_err(fail)?;
        Ok(Listener { client, read, expired, woken })
    }
}

/// Reads the events after `last`; after a broken connection it connects again and goes on
/// from the same place.
struct PostgresSource {
    target: Target,
    ns: Arc<str>,
    listener: Listener,
    last: i64,
    gap_since: Option<tokio::time::Instant>,
}

impl EventSource for PostgresSource {
    fn next(&mut self, wait: Duration) -> Fut<'_, Vec<StoreResult<String>>> {
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                if self.listener.client.is_closed() {
                    self.listener = Listener::start(&self.target, &self.ns).await?;
                }
                let rows = self.listener.client.query(&self.listener.read, &[&self.last]).await.map_err(fail)?;
                let mut out = Vec::new();
                let now = tokio::time::Instant::now();
                for row in rows {
                    let seq: i64 = row.try_get(0).map_err(fail)?;
                    if seq > self.last + 1 {
                        // A hole: events expired unread, or an earlier write still
                        // committing (or rolled back).
                        let expired =
                            self.listener.client.query_opt(&self.listener.expired, &[]).await.map_err(fail)?;
                        let expired: i64 = expired.and_then(|row| row.try_get(0).ok()).unwrap_or(0);
                        if expired > self.last {
                            out.push(Err(StoreError::new(
                                StoreErrorKind::Lagged,
                                format!("events up to #{expired} expired unread (kept one hour)"),
                            )));
                            self.last = expired;
                        }
                        let since = *self.gap_since.get_or_insert(now);
                        if seq > self.last + 1 && now.duration_since(since) < GAP_WAIT {
                            break;
                        }
                    }
                    self.gap_since = None;
                    self.last = seq;
                    out.push(Ok(text(&row, 1)));
                }
                if !out.is_empty() || now >= deadline {
                    return Ok(out);
                }
                let nap = if self.gap_since.is_some() { Duration::from_millis(50) } else { deadline - now };
                let _ = tokio::time::timeout(nap, self.listener.woken.notified()).await;
            }
        })
    }
}

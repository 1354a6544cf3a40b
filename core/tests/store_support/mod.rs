//! Shared by the `store_*` tests: a fresh, isolated store of each kind, and raw access to
//! what it holds (through the `sqlite3`, `psql` and `redis-cli` programs).
//!
//! Postgres and Redis come from `DEVICEAUTH_TEST_POSTGRES_URL` and
//! `DEVICEAUTH_TEST_REDIS_URL` (`tests/store/run.sh` starts both). Without them those
//! tests pass with a note, unless `DEVICEAUTH_TEST_STORES_REQUIRED=1`.
#![allow(dead_code)]

use std::process::Command;

use deviceauth::activeconnect::store::SessionStore;

pub const KEY: [u8; 32] = [7; 32];
pub const OTHER_KEY: [u8; 32] = [9; 32];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Memory,
    Sqlite,
    Postgres,
    Redis,
}

/// A fresh store: its URL, namespace and a first handle.
pub struct Fresh {
    pub kind: Kind,
    pub url: String,
    pub ns: String,
    pub store: SessionStore,
    _dir: Option<TempDir>,
}

pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn server_url(kind: Kind) -> Option<String> {
    let built = match kind {
        Kind::Memory => true,
        Kind::Sqlite => cfg!(feature = "store-sqlite"),
        Kind::Postgres => cfg!(feature = "store-postgres"),
        Kind::Redis => cfg!(feature = "store-redis"),
    };
    if !built {
        eprintln!("note: built without the {kind:?} store; test skipped (run tests/store/run.sh)");
        return None;
    }
    let var = match kind {
        Kind::Postgres => "DEVICEAUTH_TEST_POSTGRES_URL",
        Kind::Redis => "DEVICEAUTH_TEST_REDIS_URL",
        _ => return Some(String::new()),
    };
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("DEVICEAUTH_TEST_STORES_REQUIRED").as_deref() != Ok("1"),
                "{var} is not set (run tests/store/run.sh)"
            );
            eprintln!("note: {var} not set; {kind:?} store test skipped (run tests/store/run.sh)");
            None
        }
    }
}

pub fn with_query(url: &str, query: &str) -> String {
    format!("{url}{}{query}", if url.contains('?') { '&' } else { '?' })
}

/// The server URL without the test's namespace (for the raw tools and error cases).
pub fn base_url(kind: Kind) -> Option<String> {
    server_url(kind)
}

pub async fn fresh(kind: Kind) -> Option<Fresh> {
    let base = server_url(kind)?;
    let ns = format!("t{:016x}", rand::random::<u64>());
    let (url, dir) = match kind {
        Kind::Memory => ("memory".to_owned(), None),
        Kind::Sqlite => {
            let dir = std::env::temp_dir().join(format!("deviceauth-store-test-{ns}"));
            std::fs::create_dir_all(&dir).expect("temp dir");
            (format!("sqlite://{}?namespace={ns}", dir.join("store.db").display()), Some(TempDir(dir)))
        }
        Kind::Postgres | Kind::Redis => (with_query(&base, &format!("namespace={ns}")), None),
    };
    let store = SessionStore::open(&url, &KEY).await.unwrap_or_else(|e| panic!("{kind:?} store opens: {e}"));
    Some(Fresh { kind, url, ns, store, _dir: dir })
}

impl Fresh {
    /// Another handle on the same store, as another process would open it.
    pub async fn reopen(&self) -> SessionStore {
        match self.kind {
            Kind::Memory => self.store.clone(),
            _ => SessionStore::open(&self.url, &KEY).await.expect("store opens again"),
        }
    }

    pub fn sqlite_path(&self) -> String {
        let path = self.url.trim_start_matches("sqlite://");
        path.split('?').next().unwrap_or(path).to_owned()
    }

    /// Runs `sql` (SQLite, Postgres) or redis-cli arguments (Redis) on the raw store.
    pub fn raw(&self, command: &str) -> String {
        let output = match self.kind {
            Kind::Memory => return String::new(),
            Kind::Sqlite => Command::new("sqlite3").arg(self.sqlite_path()).arg(command).output(),
            Kind::Postgres => {
                let base = base_url(Kind::Postgres).expect("postgres url");
                Command::new("psql").arg(base).arg("-Atc").arg(command).output()
            }
            Kind::Redis => {
                let base = base_url(Kind::Redis).expect("redis url");
                Command::new("redis-cli").arg("-u").arg(base).arg("--no-auth-warning").args(command.split(' ')).output()
            }
        };
        let output = output.expect("the raw store tool runs");
        assert!(output.status.success(), "{command}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Everything the store holds for session `key`, raw.
    pub fn dump(&self, key: &str) -> String {
        match self.kind {
            Kind::Memory => String::new(),
            Kind::Sqlite | Kind::Postgres => {
                self.raw(&format!("SELECT * FROM {}_sessions WHERE key = '{key}'", self.ns))
            }
            Kind::Redis => self.raw(&format!("HGETALL {}:s:{key}", self.ns)),
        }
    }

    /// Deletes every published event the way the store's retention does (age in SQLite
    /// and Postgres, which records the high-water mark; `MAXLEN` trimming in Redis).
    pub fn expire_events(&self) {
        let ns = &self.ns;
        match self.kind {
            Kind::Memory => panic!("the memory store keeps the last 10,000 events"),
            Kind::Sqlite => self.raw(&format!("DELETE FROM {ns}_events")),
            Kind::Postgres => self.raw(&format!(
                "WITH gone AS (DELETE FROM {ns}_events RETURNING seq) INSERT INTO {ns}_meta
                 SELECT 'events_expired_upto', max(seq) FROM gone HAVING count(*) > 0
                 ON CONFLICT (name) DO UPDATE SET value = GREATEST({ns}_meta.value, EXCLUDED.value)"
            )),
            Kind::Redis => self.raw(&format!("XTRIM {ns}:events MAXLEN 0")),
        };
    }

    /// Overwrites the sealed session of `key` with garbage.
    pub fn corrupt(&self, key: &str) {
        match self.kind {
            Kind::Memory => {}
            Kind::Sqlite | Kind::Postgres => {
                self.raw(&format!("UPDATE {}_sessions SET sealed = 'garbage' WHERE key = '{key}'", self.ns));
            }
            Kind::Redis => {
                self.raw(&format!("HSET {}:s:{key} sealed garbage", self.ns));
            }
        }
    }

    /// Marks the store as written by schema version `version`.
    pub fn set_schema(&self, version: i64) {
        match self.kind {
            Kind::Memory => {}
            Kind::Sqlite | Kind::Postgres => {
                self.raw(&format!("UPDATE {}_meta SET value = {version} WHERE name = 'schema_version'", self.ns));
            }
            Kind::Redis => {
                self.raw(&format!("SET {}:schema {version}", self.ns));
            }
        }
    }
}

/// Generates one `#[tokio::test]` per store kind for each listed async fn taking a `Kind`.
#[macro_export]
macro_rules! for_each_store {
    ($($test:ident),* $(,)?) => {
        mod memory { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $test() { super::$test(super::store_support::Kind::Memory).await } )* }
        mod sqlite { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $test() { super::$test(super::store_support::Kind::Sqlite).await } )* }
        mod postgres { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $test() { super::$test(super::store_support::Kind::Postgres).await } )* }
        mod redis { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $test() { super::$test(super::store_support::Kind::Redis).await } )* }
    };
}

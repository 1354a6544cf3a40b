//! Monitor stores without a monitor: add, read, remove, sealing at rest, and the error
//! cases (bad URL, unreachable store, wrong password, newer schema), on every store.

mod store_support;

use deviceauth::Secret;
use deviceauth::activeconnect::store::{SessionStore, StoreErrorKind};
use deviceauth::activeconnect::{SessionData, Status};
use store_support::{KEY, Kind, base_url, fresh, with_query};

const SECRET: &str = "s3cr3t-session-secret-value";

fn data(n: usize) -> SessionData {
    SessionData {
        user: format!("user-{n}"),
        session_token: format!("token-{n}-abcdef"),
        session_secret: Secret::new(SECRET),
        status_url: format!("https://service.example/status/private-path-{n}").parse().expect("url"),
        logout_url: "https://service.example/logout".parse().expect("url"),
        status: Status::Active,
    }
}

async fn add_read_remove(kind: Kind) {
    let Some(f) = fresh(kind).await else { return };
    assert!(f.store.add("sign-in-1", &data(1)).await.unwrap());
    assert!(!f.store.add("sign-in-1", &data(2)).await.unwrap(), "a key is taken once");
    let other = f.reopen().await;
    let status = other.status("sign-in-1").await.unwrap().expect("seen from another handle");
    assert_eq!(status.status, Status::Active);
    assert!(status.watched && status.error.is_none() && status.updated_at_ms > 0);
    assert_eq!(other.status("nobody").await.unwrap(), None);
    assert!(other.remove("sign-in-1").await.unwrap());
    assert!(!f.store.remove("sign-in-1").await.unwrap());
    assert_eq!(f.store.status("sign-in-1").await.unwrap(), None);

    let ended = SessionData { status: Status::Closed, ..data(3) };
    assert_eq!(f.store.add("k", &ended).await.unwrap_err().kind, StoreErrorKind::InvalidUrl);
    for bad in ["", "a\nb", &"x".repeat(600)] {
        assert_eq!(f.store.add(bad, &data(4)).await.unwrap_err().kind, StoreErrorKind::InvalidUrl);
    }
}

async fn secrets_are_sealed_at_rest(kind: Kind) {
    let Some(f) = fresh(kind).await else { return };
    assert!(f.store.add("sealed-row", &data(5)).await.unwrap());
    let raw = f.dump("sealed-row");
    if kind == Kind::Memory {
        return;
    }
    assert!(raw.contains("dar1."), "the sealed row is there: {raw}");
    for plain in [SECRET, "token-5-abcdef", "private-path-5", "user-5"] {
        assert!(!raw.contains(plain), "{plain:?} readable in the raw row: {raw}");
    }
    // A handle with another key cannot open it: the monitor reports it corrupt (see
    // store_monitor); the status stays readable (it is not secret).
    let other = SessionStore::open(&f.url, &store_support::OTHER_KEY).await.unwrap();
    assert_eq!(other.status("sealed-row").await.unwrap().unwrap().status, Status::Active);
}

async fn newer_schema_is_refused(kind: Kind) {
    let Some(f) = fresh(kind).await else { return };
    if kind == Kind::Memory {
        return;
    }
    f.set_schema(99);
    let error = SessionStore::open(&f.url, &KEY).await.unwrap_err();
    assert_eq!(error.kind, StoreErrorKind::SchemaTooNew, "{error}");
    assert!(error.to_string().contains("version 99"), "{error}");
}

for_each_store!(add_read_remove, secrets_are_sealed_at_rest, newer_schema_is_refused);

#[tokio::test]
async fn bad_urls_and_keys_are_invalid() {
    for url in ["", "mysql://x", "sqlite://", "redis://h?namespace=1bad", "postgresql://h?namespace=a-b", "file:///x"] {
        let error = SessionStore::open(url, &KEY).await.unwrap_err();
        assert_eq!(error.kind, StoreErrorKind::InvalidUrl, "{url}: {error}");
    }
    let error = SessionStore::open("memory", &[1; 16]).await.unwrap_err();
    assert_eq!(error.kind, StoreErrorKind::InvalidUrl);
    assert!(error.to_string().contains("32 bytes"), "{error}");
    assert_eq!(deviceauth::Error::from(error).code(), "INVALID_ARGUMENT", "bad input is a bad argument");
}

#[tokio::test]
async fn unreachable_stores_say_so() {
    let mut urls = vec!["postgresql://postgres:pw@127.0.0.1:1/postgres".to_owned(), "redis://127.0.0.1:1/0".to_owned()];
    if cfg!(feature = "store-sqlite") {
        urls.push("sqlite:///nonexistent-folder-deviceauth/sub/store.db".to_owned());
    }
    for url in urls {
        let started = std::time::Instant::now();
        match SessionStore::open(&url, &KEY).await {
            Err(error) if error.kind == StoreErrorKind::Unreachable => {
                assert!(!error.to_string().contains(":pw@"), "{error}");
                let error = deviceauth::Error::from(error);
                assert_eq!((error.code(), error.reason()), ("STORE", Some("UNREACHABLE")), "{error}");
                assert!(error.is_transient());
            }
            Err(error) if error.kind == StoreErrorKind::InvalidUrl && error.message.contains("this build has no") => {}
            other => panic!("{url}: {other:?}"),
        }
        assert!(started.elapsed().as_secs() < 10, "{url} took {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn sqlite_file_that_is_not_a_database_is_corrupt() {
    if !cfg!(feature = "store-sqlite") {
        return;
    }
    let path = std::env::temp_dir().join(format!("deviceauth-not-a-db-{}.db", rand::random::<u64>()));
    std::fs::write(&path, vec![b'x'; 4096]).unwrap();
    let error = SessionStore::open(&format!("sqlite://{}", path.display()), &KEY).await.unwrap_err();
    let _ = std::fs::remove_file(&path);
    assert_eq!(error.kind, StoreErrorKind::Corrupt, "{error}");
}

#[tokio::test]
async fn wrong_passwords_are_unauthorized() {
    for kind in [Kind::Postgres, Kind::Redis] {
        let Some(base) = base_url(kind) else { continue };
        let mut url: url::Url = base.parse().unwrap();
        url.set_password(Some("wrong-password")).unwrap();
        let url = with_query(url.as_str(), "namespace=wrongpw");
        let error = SessionStore::open(&url, &KEY).await.unwrap_err();
        assert_eq!(error.kind, StoreErrorKind::Unauthorized, "{kind:?}: {error}");
        assert!(!error.to_string().contains("wrong-password"), "{error}");
    }
}

/// Postgres over TLS, libpq's way: `verify-full` checks the server against `sslrootcert`
/// (the system's roots do not know the test CA); the default `prefer` encrypts.
#[tokio::test]
async fn postgres_tls_follows_sslmode() {
    let Some(base) = base_url(Kind::Postgres) else { return };
    let ca =
        std::env::var("DEVICEAUTH_TEST_POSTGRES_CA").expect("tests/store/servers.sh sets DEVICEAUTH_TEST_POSTGRES_CA");
    let ns = format!("tls{:08x}", rand::random::<u32>());
    let url = |query: &str| with_query(&base, &format!("namespace={ns}&{query}"));
    let verified = SessionStore::open(&url(&format!("sslmode=verify-full&sslrootcert={ca}")), &KEY)
        .await
        .unwrap_or_else(|e| panic!("verified TLS store opens: {e}"));
    assert!(verified.add("k", &data(1)).await.unwrap());
    let prefer = SessionStore::open(&url("application_name=da_prefer"), &KEY).await.unwrap();
    assert_eq!(prefer.status("k").await.unwrap().unwrap().status, Status::Active);
    let ssl_of = |app: &str| {
        let out = std::process::Command::new("psql")
            .arg(with_query(&base, "sslmode=disable"))
            .arg("-Atc")
            .arg(format!(
                "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = '{app}'"
            ))
            .output()
            .expect("psql runs");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(ssl_of("da_prefer"), "t", "sslmode=prefer encrypts when the server offers TLS");
    let plain = SessionStore::open(&url("sslmode=disable&application_name=da_plain"), &KEY).await.unwrap();
    assert!(plain.status("k").await.unwrap().is_some());
    assert_eq!(ssl_of("da_plain"), "f");

    let error = SessionStore::open(&url("sslmode=verify-full"), &KEY).await.unwrap_err();
    assert_eq!(error.kind, StoreErrorKind::Unreachable, "{error}");
    assert!(error.message.to_lowercase().contains("certificate"), "{error}");
    for bad in ["sslmode=verify-full&sslrootcert=/nonexistent/ca.pem", "sslmode=sometimes"] {
        assert_eq!(SessionStore::open(&url(bad), &KEY).await.unwrap_err().kind, StoreErrorKind::InvalidUrl, "{bad}");
    }
}

//! `deviceauth-cli watch` run as a child process against the emulator, a store in a
//! temporary folder (SQLite; Postgres and Redis too when `DEVICEAUTH_TEST_POSTGRES_URL` /
//! `DEVICEAUTH_TEST_REDIS_URL` are set), and a webhook receiver in the test that checks
//! each signature itself.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use deviceauth::activeconnect::store::{SessionStore, StoreMonitor, StoreMonitorOptions};
use deviceauth::activeconnect::{AuthenticateOptions, Client, MonitorOptions, Session, Status};
use deviceauth_emulator::{Emulator, EmulatorConfig};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_deviceauth-cli");
const WEBHOOK_SECRET: &str = "whsec-test-0123456789abcdef";
const SEAL_KEY: [u8; 32] = [7; 32];
/// How far the signature's time may be from the receiver's clock.
const TOLERANCE_S: i64 = 300;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The receiver's check, as the README tells apps to do it: the HMAC over "<t>.<body>",
/// compared in constant time, and t within the tolerance.
fn verify(headers: &HeaderMap, body: &[u8]) -> Result<Value, String> {
    let header = headers.get("deviceauth-signature").and_then(|v| v.to_str().ok()).ok_or("no signature")?;
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = Some(value.to_owned()),
            _ => {}
        }
    }
    let (t, v1) = (t.ok_or("no t")?, v1.ok_or("no v1")?);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    if (now - t).abs() > TOLERANCE_S {
        return Err(format!("t={t} is too far from now ({now})"));
    }
    let given: Vec<u8> =
        (0..v1.len() / 2).map(|i| u8::from_str_radix(&v1[2 * i..2 * i + 2], 16).unwrap_or(0)).collect();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| "bad signature".to_owned())?;
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

/// One POST the receiver got.
#[derive(Clone, Debug)]
struct Hit {
    event_id: String,
    json: Result<Value, String>,
    answered: u16,
}

#[derive(Clone, Default)]
struct Receiver {
    /// Answers to give, in order; then `otherwise`.
    script: Arc<Mutex<VecDeque<u16>>>,
    otherwise: u16,
    /// How long each answer takes (after the POST is recorded).
    delay: Duration,
    hits: Arc<Mutex<Vec<Hit>>>,
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let answered = r.script.lock().unwrap().pop_front().unwrap_or(r.otherwise);
    let event_id = headers.get("deviceauth-event-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    r.hits.lock().unwrap().push(Hit { event_id, json: verify(&headers, &body), answered });
    tokio::time::sleep(r.delay).await;
    StatusCode::from_u16(answered).unwrap()
}

impl Receiver {
    /// A receiver on a loopback port answering `script`, then `otherwise`; its URL.
    async fn start(script: &[u16], otherwise: u16) -> (Receiver, String) {
        Receiver::slow(script, otherwise, Duration::ZERO).await
    }

    /// The same, each answer taking `delay`.
    async fn slow(script: &[u16], otherwise: u16, delay: Duration) -> (Receiver, String) {
        let receiver = Receiver {
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
            otherwise,
            delay,
            ..Receiver::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = axum::Router::new().route("/hook", axum::routing::post(hook)).with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    async fn wait_for(&self, count: usize) -> Vec<Hit> {
        wait("webhook POSTs", || self.hits().len() >= count).await;
        self.hits()
    }
}

async fn wait(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The emulator, a signed-in session, and a store holding it under `sign-in-1`.
struct Fixture {
    emulator: Emulator,
    app_id: String,
    app_secret: String,
    session: Session,
    store_url: String,
    dir: PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn namespace() -> String {
    format!("t{:016x}", rand::random::<u64>())
}

impl Fixture {
    /// `server`: a Postgres or Redis URL; `None` for a SQLite file in the fixture's folder.
    async fn start(server: Option<String>) -> Fixture {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let emulator = Emulator::start(EmulatorConfig::default()).await.expect("emulator");
        let (app_id, app_secret) = emulator.apps()[0].clone();
        let ns = namespace();
        let dir = std::env::temp_dir().join(format!("deviceauth-cli-watch-{ns}"));
        std::fs::create_dir_all(&dir).unwrap();
        let store_url = match server {
            Some(url) => format!("{url}{}namespace={ns}", if url.contains('?') { '&' } else { '?' }),
            None => format!("sqlite://{}?namespace={ns}", dir.join("store.db").display()),
        };
        let client = Client::builder(&app_id, app_secret.as_str()).base_url(emulator.base_url()).build().unwrap();
        client.add_users(&["zoe"]).await.unwrap();
        let base = emulator.base_url();
        control(&format!("{base}/_emulator/apps/{app_id}/users/zoe/device")).await;
        let session = client.authenticate_user("zoe", &AuthenticateOptions::default()).await.unwrap();
        control(&format!("{base}/_emulator/sessions/{}/approve", session.session_token())).await;
        assert_eq!(session.refresh().await.unwrap(), Status::Active);
        let store = SessionStore::open(&store_url, &SEAL_KEY).await.expect("store opens");
        assert!(store.add("sign-in-1", &session.data()).await.unwrap());
        Fixture { emulator, app_id, app_secret, session, store_url, dir }
    }

    async fn store(&self) -> SessionStore {
        SessionStore::open(&self.store_url, &SEAL_KEY).await.unwrap()
    }

    fn failed_log(&self) -> PathBuf {
        self.dir.join("failed.jsonl")
    }

    async fn act(&self, action: &str) {
        let base = self.emulator.base_url();
        control(&format!("{base}/_emulator/sessions/{}/{action}", self.session.session_token())).await;
    }

    /// Starts `watch` on the store with fast polls and retries; returns once it is watching.
    async fn watch(&self, webhook: &str, extra: &[&str]) -> Watch {
        self.watch_with(webhook, extra, true).await
    }

    /// The same; `with_app: false` gives it no application id and secret.
    async fn watch_with(&self, webhook: &str, extra: &[&str], with_app: bool) -> Watch {
        let mut command = Command::new(BIN);
        command.env_remove("DEVICEAUTH_APP_ID").env_remove("DEVICEAUTH_APP_SECRET");
        if with_app {
            command.env("DEVICEAUTH_APP_ID", &self.app_id).env("DEVICEAUTH_APP_SECRET", &self.app_secret);
        }
        let mut child = command
            .args(["watch", "--store", &self.store_url, "--webhook", webhook])
            .args(["--base-url", &self.emulator.base_url(), "--interval", "200ms"])
            .args(if extra.contains(&"--backoff") { &[][..] } else { &["--backoff", "50ms"][..] })
            .arg("--failed-log")
            .arg(self.failed_log())
            .args(extra)
            .current_dir(&self.dir)
            .env("DEVICEAUTH_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("DEVICEAUTH_SEAL_KEY", hex(&SEAL_KEY))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let lines = BufReader::new(child.stderr.take().unwrap());
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in lines.lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let watch = Watch { child, stderr };
        wait("watch to start", || {
            let text = watch.stderr();
            assert!(!text.contains("error:"), "{text}");
            text.contains("info: watching the")
        })
        .await;
        watch
    }

    /// The secrets the child's output must never show.
    fn secrets(&self) -> Vec<String> {
        let password = url::Url::parse(&self.store_url).ok().and_then(|u| u.password().map(str::to_owned));
        password
            .into_iter()
            .chain([
                WEBHOOK_SECRET.to_owned(),
                self.app_secret.clone(),
                hex(&SEAL_KEY),
                self.session.session_token(),
                self.session.data().session_secret.expose_secret().to_owned(),
            ])
            .collect()
    }
}

async fn control(url: &str) {
    let response = reqwest::Client::new().post(url).send().await.unwrap();
    assert!(response.status().is_success(), "{url}: {}", response.text().await.unwrap());
}

/// A running `watch` and its stderr so far.
struct Watch {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Watch {
    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGTERM, then its exit code and full stderr.
    async fn terminate(mut self) -> (Option<i32>, String) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        let code = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status.code();
            }
            assert!(Instant::now() < deadline, "watch did not stop: {}", self.stderr());
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        (code, self.stderr())
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn assert_no_secrets(fixture: &Fixture, text: &str) {
    for secret in fixture.secrets() {
        assert!(!text.contains(&secret), "a secret in the output: {text}");
    }
}

/// A remote logout becomes one signed POST with the event's fields; SIGTERM exits 0.
async fn remote_logout_is_posted(server: Option<String>) {
    let fixture = Fixture::start(server).await;
    let (receiver, url) = Receiver::start(&[], 200).await;
    let watch = fixture.watch(&url, &[]).await;
    fixture.act("remote-logout").await;
    let hits = receiver.wait_for(1).await;
    let event = hits[0].json.clone().unwrap_or_else(|e| panic!("the signature does not verify: {e}"));
    assert_eq!(hits[0].event_id, event["id"].as_str().unwrap());
    assert_eq!(event["kind"], "changed");
    assert_eq!(event["key"], "sign-in-1");
    assert_eq!(event["user"], "zoe");
    assert_eq!((event["previous"].as_str(), event["status"].as_str()), (Some("active"), Some("closed")));
    assert!(event["error"].is_null());
    assert!(chrono::DateTime::parse_from_rfc3339(event["at"].as_str().unwrap()).is_ok(), "{event}");
    let token = fixture.session.session_token();
    assert_eq!(event["session_hash"], hex(&Sha256::digest(token.as_bytes())[..8]));
    assert!(!event.to_string().contains(&token));
    let stored = fixture.store().await.status("sign-in-1").await.unwrap().unwrap();
    assert_eq!((stored.status, stored.watched), (Status::Closed, false));

    let (code, stderr) = watch.terminate().await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("delivered") && stderr.contains("stopped"), "{stderr}");
    assert_no_secrets(&fixture, &stderr);
    assert_eq!(receiver.hits().len(), 1, "one delivery");
    assert!(!fixture.failed_log().exists() || std::fs::read_to_string(fixture.failed_log()).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_logout_is_posted_signed_sqlite() {
    remote_logout_is_posted(None).await;
}

/// The same against the real Postgres and Redis servers, when their URLs are set.
#[tokio::test(flavor = "multi_thread")]
async fn a_remote_logout_is_posted_signed_postgres_and_redis() {
    for var in ["DEVICEAUTH_TEST_POSTGRES_URL", "DEVICEAUTH_TEST_REDIS_URL"] {
        match std::env::var(var) {
            Ok(url) if !url.is_empty() => remote_logout_is_posted(Some(url)).await,
            _ => {
                assert_ne!(
                    std::env::var("DEVICEAUTH_TEST_STORES_REQUIRED").as_deref(),
                    Ok("1"),
                    "{var} is not set (source tests/store/servers.sh)"
                );
                eprintln!("note: {var} not set; skipped");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_failing_twice_gets_three_attempts_and_one_delivery() {
    let fixture = Fixture::start(None).await;
    let (receiver, url) = Receiver::start(&[500, 503], 200).await;
    let watch = fixture.watch(&url, &[]).await;
    fixture.act("walkaway").await;
    let hits = receiver.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let hits_after = receiver.hits();
    assert_eq!(hits_after.len(), 3, "no more POSTs after the 200: {hits_after:?}");
    assert_eq!(hits.iter().map(|h| h.answered).collect::<Vec<_>>(), [500, 503, 200]);
    for hit in &hits {
        let event = hit.json.clone().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((event["status"].as_str(), hit.event_id.as_str()), (Some("walkaway"), hits[0].event_id.as_str()));
    }
    let (code, stderr) = watch.terminate().await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("delivered after 3 attempts"), "{stderr}");
    assert_no_secrets(&fixture, &stderr);
}

/// Reads the failed log's lines.
fn failed_lines(fixture: &Fixture) -> Vec<Value> {
    let text = std::fs::read_to_string(fixture.failed_log()).unwrap_or_default();
    text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_that_keeps_failing_ends_in_the_failed_log() {
    let fixture = Fixture::start(None).await;
    let (receiver, url) = Receiver::start(&[], 500).await;
    let mut watch = fixture.watch(&url, &["--max-attempts", "3"]).await;
    fixture.act("remote-logout").await;
    wait("the failed log", || !failed_lines(&fixture).is_empty()).await;
    let lines = failed_lines(&fixture);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!((line["key"].as_str(), line["attempts"].as_u64()), (Some("sign-in-1"), Some(3)));
    assert_eq!(line["last_error"], "HTTP 500");
    assert_eq!(line["event_id"].as_str(), Some(receiver.hits()[0].event_id.as_str()));
    assert_eq!(line["event"]["status"], "closed");
    assert_eq!(receiver.hits().len(), 3);
    let text = std::fs::read_to_string(fixture.failed_log()).unwrap();
    assert_no_secrets(&fixture, &text);
    assert!(watch.running(), "watch goes on: {}", watch.stderr());
    let (code, stderr) = watch.terminate().await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("warning:") && stderr.contains("not delivered after 3 attempt"), "{stderr}");
    assert_no_secrets(&fixture, &stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_is_not_retried() {
    let fixture = Fixture::start(None).await;
    let (receiver, url) = Receiver::start(&[], 400).await;
    let watch = fixture.watch(&url, &[]).await;
    fixture.act("remote-logout").await;
    wait("the failed log", || !failed_lines(&fixture).is_empty()).await;
    assert_eq!(failed_lines(&fixture)[0]["attempts"], 1);
    assert_eq!(failed_lines(&fixture)[0]["last_error"], "HTTP 400");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.hits().len(), 1);
    let (code, _) = watch.terminate().await;
    assert_eq!(code, Some(0));
}

#[test]
fn bad_settings_are_refused_with_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("deviceauth-cli-watch-{}", namespace()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = format!("sqlite://{}", dir.join("store.db").display());
    let run = |webhook: &str, env: &[(&str, &str)]| {
        let mut command = Command::new(BIN);
        command.args(["watch", "--store", &store, "--webhook", webhook, "--app-id", "app"]).current_dir(&dir);
        for var in ["DEVICEAUTH_WEBHOOK_SECRET", "DEVICEAUTH_SEAL_KEY", "DEVICEAUTH_APP_SECRET", "DEVICEAUTH_STORE"] {
            command.env_remove(var);
        }
        command.env("DEVICEAUTH_APP_SECRET", "app-secret-value");
        command.envs(env.iter().copied());
        let out = command.output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let seal = hex(&SEAL_KEY);
    let hook = "http://127.0.0.1:9/hook";

    let (code, err) = run(hook, &[("DEVICEAUTH_SEAL_KEY", &seal)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("webhook secret is required") && err.contains("DEVICEAUTH_WEBHOOK_SECRET"), "{err}");

    let (code, err) = run(hook, &[("DEVICEAUTH_SEAL_KEY", &seal), ("DEVICEAUTH_WEBHOOK_SECRET", "short-secret")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("too short") && !err.contains("short-secret"), "{err}");

    let (code, err) = run(hook, &[("DEVICEAUTH_SEAL_KEY", "0102"), ("DEVICEAUTH_WEBHOOK_SECRET", WEBHOOK_SECRET)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("64 hex digits") && !err.contains(WEBHOOK_SECRET), "{err}");

    let insecure = "http://example.com/hook?token=hook-token";
    let (code, err) = run(insecure, &[("DEVICEAUTH_SEAL_KEY", &seal), ("DEVICEAUTH_WEBHOOK_SECRET", WEBHOOK_SECRET)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--allow-insecure-http") && !err.contains("hook-token"), "{err}");

    let bad_store = format!("sqlite://{}/missing/dir/store.db", dir.display());
    let mut command = Command::new(BIN);
    let out = command
        .args(["watch", "--store", &bad_store, "--webhook", hook, "--no-monitor"])
        .env("DEVICEAUTH_SEAL_KEY", &seal)
        .env("DEVICEAUTH_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .current_dir(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("STORE") || err.contains("store"), "{err}");
    for secret in [WEBHOOK_SECRET, seal.as_str(), "app-secret-value"] {
        assert!(!err.contains(secret), "{err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn with_no_monitor_it_forwards_what_another_process_polls() {
    let fixture = Fixture::start(None).await;
    let (receiver, url) = Receiver::start(&[], 200).await;
    let watch = fixture.watch_with(&url, &["--no-monitor"], false).await;
    assert!(watch.stderr().contains("forwarding only, no monitor"), "{}", watch.stderr());
    let client = Client::builder(&fixture.app_id, fixture.app_secret.as_str())
        .base_url(fixture.emulator.base_url())
        .build()
        .unwrap();
    let options = StoreMonitorOptions {
        poll: MonitorOptions { interval: Duration::from_millis(200), ..MonitorOptions::default() },
        idle: Duration::from_millis(50),
        ..StoreMonitorOptions::default()
    };
    let monitor = StoreMonitor::start(&client, &fixture.store().await, options).unwrap();
    fixture.act("walkaway").await;
    let hits = receiver.wait_for(1).await;
    let event = hits[0].json.clone().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((event["key"].as_str(), event["status"].as_str()), (Some("sign-in-1"), Some("walkaway")));
    monitor.close().await;
    let (code, stderr) = watch.terminate().await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_no_secrets(&fixture, &stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_under_way_at_sigterm_is_finished() {
    let fixture = Fixture::start(None).await;
    let (receiver, url) = Receiver::slow(&[], 200, Duration::from_millis(1500)).await;
    let watch = fixture.watch(&url, &[]).await;
    fixture.act("remote-logout").await;
    receiver.wait_for(1).await;
    let (code, stderr) = watch.terminate().await;
    assert_eq!(code, Some(0), "{stderr}");
    let delivered = stderr.find(") delivered").unwrap_or_else(|| panic!("{stderr}"));
    assert!(stderr.find("stopping").is_some_and(|stopping| stopping < delivered), "{stderr}");
    assert!(failed_lines(&fixture).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_cut_short_by_the_shutdown_grace_are_recorded() {
    let fixture = Fixture::start(None).await;
    let (receiver, url) = Receiver::start(&[], 503).await;
    let watch = fixture.watch(&url, &["--backoff", "30s", "--shutdown-grace", "500ms"]).await;
    fixture.act("remote-logout").await;
    receiver.wait_for(1).await;
    let started = Instant::now();
    let (code, stderr) = watch.terminate().await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(10), "{stderr}");
    let lines = failed_lines(&fixture);
    assert_eq!(lines.len(), 1, "{stderr}");
    assert_eq!(lines[0]["attempts"], 1);
    assert!(lines[0]["last_error"].as_str().unwrap().contains("abandoned at shutdown"), "{lines:?}");
    assert_eq!(receiver.hits().len(), 1);
}

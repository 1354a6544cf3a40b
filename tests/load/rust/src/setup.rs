//! What both load modes do before the window: start the emulator, add the users and their
//! phones, sign everyone in; and the emulator's control endpoints.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use deviceauth::activeconnect::{Client, SessionData};
use deviceauth_emulator::EmulatorProcess;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The load app's id in the emulator.
pub(crate) const APP_ID: &str = "load-app";
/// The load app's secret in the emulator.
pub(crate) const APP_SECRET: &str = "load-secret-0123456789abcdef";

/// The emulator process and the clients that talk to it.
pub(crate) struct Emulator {
    /// The running emulator (stopped when dropped).
    pub(crate) process: EmulatorProcess,
    /// Its base URL.
    pub(crate) base: String,
    /// Plain HTTP for the control endpoints.
    pub(crate) http: reqwest::Client,
    /// The load app's deviceauth client.
    pub(crate) client: Client,
}

/// The sign-ins of every user.
pub(crate) struct SignIns {
    /// The sessions signed in.
    pub(crate) sessions: Vec<SessionData>,
    /// Sign-ins that failed.
    pub(crate) errors: u64,
    /// The first five failures.
    pub(crate) error_samples: Vec<String>,
    /// Wall time of all the sign-ins.
    pub(crate) seconds: f64,
}

impl Emulator {
    /// Starts the emulator binary (`--approve-after 1000`, the load app) and says where.
    pub(crate) fn start(binary: Option<PathBuf>) -> Emulator {
        let binary = EmulatorProcess::locate(binary);
        let process =
            EmulatorProcess::spawn(&binary, &["--approve-after", "1000", "--app", &format!("{APP_ID}:{APP_SECRET}")])
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let base = process.url().to_owned();
        eprintln!("emulator {} at {base} (pid {})", binary.display(), process.pid());
        let http = reqwest::Client::builder().pool_max_idle_per_host(200).build().expect("reqwest client");
        let client = Client::builder(APP_ID, APP_SECRET).base_url(&base).build().expect("deviceauth client");
        Emulator { process, base, http, client }
    }

    /// Adds `count` users and registers a phone for each, 100 at once; logs
    /// `N users, M {phones} in S s`. Returns the users and the seconds it took.
    pub(crate) async fn add_users(&self, count: usize, phones: &str) -> (Vec<String>, f64) {
        let started = Instant::now();
        let users: Vec<String> = (0..count).map(|i| format!("load-user-{i:06}")).collect();
        for batch in users.chunks(1000) {
            self.client.add_users(batch).await.expect("add_users");
        }
        let registered = Arc::new(AtomicU64::new(0));
        let limit = Arc::new(Semaphore::new(100));
        let mut tasks = JoinSet::new();
        for user in &users {
            let permit = limit.clone().acquire_owned().await.expect("semaphore");
            let (http, url, registered) = (
                self.http.clone(),
                format!("{}/_emulator/apps/{APP_ID}/users/{user}/device", self.base),
                registered.clone(),
            );
            tasks.spawn(async move {
                if control(&http, reqwest::Method::POST, &url).await.0 == 200 {
                    registered.fetch_add(1, Ordering::Relaxed);
                }
                drop(permit);
            });
            while tasks.try_join_next().is_some() {}
        }
        while tasks.join_next().await.is_some() {}
        let seconds = started.elapsed().as_secs_f64();
        eprintln!("{} users, {} {phones} in {seconds:.1} s", users.len(), registered.load(Ordering::Relaxed));
        (users, seconds)
    }

    /// Signs every user in with `sign_in`, `in_flight` at once; logs
    /// `N {what}, E errors in S s (R/s) [samples]`.
    pub(crate) async fn sign_in<F, Fut>(&self, users: &[String], in_flight: usize, what: &str, sign_in: F) -> SignIns
    where
        F: Fn(Client, String) -> Fut,
        Fut: Future<Output = Result<SessionData, String>> + Send + 'static,
    {
        let started = Instant::now();
        let mut out =
            SignIns { sessions: Vec::with_capacity(users.len()), errors: 0, error_samples: Vec::new(), seconds: 0.0 };
        let mut collect = |outcome: Result<Result<SessionData, String>, tokio::task::JoinError>| {
            let error = match outcome {
                Ok(Ok(data)) => return out.sessions.push(data),
                Ok(Err(error)) => error,
                Err(error) => error.to_string(),
            };
            out.errors += 1;
            if out.error_samples.len() < 5 {
                out.error_samples.push(error);
            }
        };
        let limit = Arc::new(Semaphore::new(in_flight.max(1)));
        let mut tasks = JoinSet::new();
        for user in users {
            let permit = limit.clone().acquire_owned().await.expect("semaphore");
            let signing_in = sign_in(self.client.clone(), user.clone());
            tasks.spawn(async move {
                let _permit = permit;
                signing_in.await
            });
            while let Some(done) = tasks.try_join_next() {
                collect(done);
            }
        }
        while let Some(done) = tasks.join_next().await {
            collect(done);
        }
        out.seconds = started.elapsed().as_secs_f64();
        let signed_in = out.sessions.len();
        eprintln!(
            "{signed_in} {what}, {} errors in {:.1} s ({:.0}/s) {:?}",
            out.errors,
            out.seconds,
            signed_in as f64 / out.seconds,
            out.error_samples
        );
        out
    }

    /// `GET /_emulator/stats`: (requests_total, uptime_seconds).
    pub(crate) async fn stats(&self) -> (u64, f64) {
        let value = control(&self.http, reqwest::Method::GET, &format!("{}/_emulator/stats", self.base)).await.1;
        (value["requests_total"].as_u64().unwrap_or(0), value["uptime_seconds"].as_f64().unwrap_or(0.0))
    }
}

/// A control-endpoint call: (HTTP status, JSON body); (0, `{"error"}`) when it failed to send.
pub(crate) async fn control(http: &reqwest::Client, method: reqwest::Method, url: &str) -> (u16, Value) {
    match http.request(method, url).send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.bytes().await.unwrap_or_default();
            (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
        }
        Err(error) => (0, json!({ "error": error.to_string() })),
    }
}

//! `activeconnect`: the core's client, session, status stream and monitor.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use deviceauth::activeconnect as core;
use napi::Env;
use napi::bindgen_prelude::Uint8Array;
use napi_derive::napi;
use tokio::sync::{Mutex, watch};

use crate::errors::{self, CoreError, JsError};
use crate::settle::{self, Promise};
use crate::{CancelToken, HttpOptions, millis, whole};

/// Options of the client; the face checked their JS types.
#[napi(object)]
pub struct AcClientOptions {
    pub application_id: String,
    pub application_secret: String,
    pub next_application_secret: Option<String>,
    pub base_url: Option<String>,
    pub http: HttpOptions,
}

impl TryFrom<AcClientOptions> for core::ClientBuilder {
    type Error = CoreError;

    fn try_from(options: AcClientOptions) -> Result<Self, CoreError> {
        let mut builder = core::Client::builder(options.application_id, options.application_secret);
        if let Some(url) = options.base_url {
            builder = builder.base_url(url);
        }
        if let Some(next) = options.next_application_secret {
            builder = builder.next_application_secret(next);
        }
        options.http.apply(builder)
    }
}

/// Options of `authenticateUser`.
#[napi(object)]
pub struct AuthenticateOptions {
    pub methods: Option<Vec<String>>,
    pub duration_seconds: Option<f64>,
}

impl TryFrom<AuthenticateOptions> for core::AuthenticateOptions {
    type Error = CoreError;

    fn try_from(options: AuthenticateOptions) -> Result<Self, CoreError> {
        let mut result = core::AuthenticateOptions::default();
        for method in options.methods.unwrap_or_default() {
            result.methods.push(method.parse()?);
        }
        if let Some(seconds) = options.duration_seconds {
            result.duration_seconds = Some(whole("durationSeconds", seconds, u32::MAX.into())? as u32);
        }
        Ok(result)
    }
}

/// Options of `wait`.
#[napi(object)]
pub struct WaitOptions {
    pub timeout_ms: Option<f64>,
    pub interval_ms: Option<f64>,
}

impl TryFrom<WaitOptions> for core::WaitOptions {
    type Error = CoreError;

    fn try_from(options: WaitOptions) -> Result<Self, CoreError> {
        let core = core::WaitOptions::default();
        let deadline = millis("timeoutMs", options.timeout_ms)?.unwrap_or(core.deadline);
        let result = core::WaitOptions { deadline, interval: millis("intervalMs", options.interval_ms)?.unwrap_or(core.interval) };
        result.validate().map(|()| result)
    }
}

/// Options of `refresh`.
#[napi(object)]
pub struct RefreshOptions {
    pub timeout_ms: Option<f64>,
}

/// Options of `withAttemptLimit`; the face checked their JS types.
#[napi(object)]
pub struct AttemptLimitOptions {
    pub store: String,
    pub attempts: Option<f64>,
    pub window_ms: Option<f64>,
    pub seal_key: Option<Uint8Array>,
}

impl TryFrom<&AttemptLimitOptions> for core::AttemptLimit {
    type Error = CoreError;

    fn try_from(options: &AttemptLimitOptions) -> Result<Self, CoreError> {
        let mut limit = core::AttemptLimit::default();
        if let Some(attempts) = options.attempts {
            limit.attempts = whole("attempts", attempts, u32::MAX.into())? as u32;
        }
        limit.window = millis("windowMs", options.window_ms)?.unwrap_or(limit.window);
        limit.validate().map(|()| limit)
    }
}

/// The default budget of one status check in a web request, in milliseconds
/// (`activeconnect::DEFAULT_CHECK_BUDGET`).
#[napi]
pub const DEFAULT_CHECK_BUDGET_MS: u32 = core::DEFAULT_CHECK_BUDGET.as_millis() as u32;

/// The default budget of `health`, in milliseconds (`activeconnect::DEFAULT_HEALTH_BUDGET`).
#[napi]
pub const DEFAULT_HEALTH_BUDGET_MS: u32 = core::DEFAULT_HEALTH_BUDGET.as_millis() as u32;

/// The user id a health check asks about (`activeconnect::HEALTH_PROBE_USER`).
#[napi]
pub const HEALTH_PROBE_USER: &str = core::HEALTH_PROBE_USER;

/// Options of `health`.
#[napi(object)]
pub struct HealthOptions {
    pub timeout_ms: Option<f64>,
}

/// A passed health check (`activeconnect::Health`).
#[napi(object)]
pub struct Health {
    pub latency_ms: f64,
    pub origin: String,
}

/// Options of `watch`.
#[napi(object)]
pub struct WatchOptions {
    pub interval_ms: Option<f64>,
}

impl TryFrom<WatchOptions> for core::WatchOptions {
    type Error = CoreError;

    fn try_from(options: WatchOptions) -> Result<Self, CoreError> {
        let interval = millis("intervalMs", options.interval_ms)?;
        let result = core::WatchOptions { interval: interval.unwrap_or(core::WatchOptions::default().interval) };
        result.validate().map(|()| result)
    }
}

/// Options of the monitor.
#[napi(object)]
pub struct MonitorOptions {
    pub interval_ms: Option<f64>,
    pub max_in_flight: Option<f64>,
    pub unreachable_after_ms: Option<f64>,
    pub shard_index: Option<f64>,
    pub shard_count: Option<f64>,
}

impl TryFrom<MonitorOptions> for core::MonitorOptions {
    type Error = CoreError;

    fn try_from(options: MonitorOptions) -> Result<Self, CoreError> {
        let mut result = core::MonitorOptions::default();
        if let Some(interval) = millis("intervalMs", options.interval_ms)? {
            result.interval = interval;
        }
        if let Some(max) = options.max_in_flight {
            result.max_in_flight = whole("maxInFlight", max, u32::MAX.into())? as usize;
        }
        if let Some(after) = millis("unreachableAfterMs", options.unreachable_after_ms)? {
            result.unreachable_after = after;
        }
        if options.shard_index.is_some() || options.shard_count.is_some() {
            let part = |name, value: Option<f64>| match value {
                Some(value) => Ok(whole(name, value, u32::MAX.into())? as u32),
                None => Err(CoreError::InvalidArgument(format!("{name} is required"))),
            };
            result.shard = Some(core::Shard::new(part("shard.index", options.shard_index)?, part("shard.count", options.shard_count)?)?);
        }
        result.validate()?;
        Ok(result)
    }
}

/// Which users `addUsers` created and which existed.
#[napi(object, object_from_js = false)]
pub struct AddedUsers {
    pub created: Vec<String>,
    pub existing: Vec<String>,
}

#[napi]
pub struct AcClient {
    pub(crate) inner: core::Client,
}

#[napi]
impl AcClient {
    #[napi(constructor)]
    pub fn new(env: Env, options: AcClientOptions) -> napi::Result<Self> {
        let _runtime = settle::RUNTIME.enter();
        errors::sync(&env, || core::ClientBuilder::try_from(options)?.build()).map(|inner| AcClient { inner })
    }

    #[napi(getter)]
    pub fn application_id(&self) -> String {
        self.inner.application_id().to_owned()
    }

    #[napi(getter)]
    pub fn base_url(&self) -> String {
        self.inner.base_url().to_string()
    }

    #[napi(ts_return_type = "Promise<AddedUsers>")]
    pub fn add_users(&self, env: Env, users: Vec<String>) -> napi::Result<Promise> {
        let client = self.inner.clone();
        settle::promise(&env, async move {
            let added = client.add_users(&users).await?;
            Ok(AddedUsers { created: added.created, existing: added.existing })
        })
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn delete_users(&self, env: Env, users: Vec<String>) -> napi::Result<Promise> {
        let client = self.inner.clone();
        settle::promise(&env, async move { client.delete_users(&users).await })
    }

    #[napi(ts_return_type = "Promise<string>")]
    pub fn device_registration_link(&self, env: Env, user: String, display_name: Option<String>) -> napi::Result<Promise> {
        let client = self.inner.clone();
        settle::promise(&env, async move { client.device_registration_link(&user, display_name.as_deref()).await })
    }

    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn has_registered_mobile_device(&self, env: Env, user: String) -> napi::Result<Promise> {
        let client = self.inner.clone();
        settle::promise(&env, async move { client.has_registered_mobile_device(&user).await })
    }

    /// `Client::health`; with `timeoutMs`, `Client::health_within` that budget.
    #[napi(ts_return_type = "Promise<Health>")]
    pub fn health(&self, env: Env, options: Option<HealthOptions>) -> napi::Result<Promise> {
        let client = self.inner.clone();
        let budget = millis("timeoutMs", options.and_then(|o| o.timeout_ms));
        settle::promise(&env, async move {
            let health = match budget? {
                None => client.health().await?,
                Some(budget) => client.health_within(budget).await?,
            };
            Ok(Health { latency_ms: health.latency.as_secs_f64() * 1000.0, origin: health.origin })
        })
    }

    #[napi(ts_return_type = "Promise<string>")]
    pub fn lost_user_mobile_device(&self, env: Env, user: String) -> napi::Result<Promise> {
        let client = self.inner.clone();
        settle::promise(&env, async move { client.lost_user_mobile_device(&user).await })
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn send_registration_sms(
        &self,
        env: Env,
        user: String,
        phone_number: String,
        display_name: Option<String>,
        message: Option<String>,
    ) -> napi::Result<Promise> {
        let client = self.inner.clone();
        settle::promise(&env, async move {
            client.send_registration_sms(&user, &phone_number, display_name.as_deref(), message.as_deref()).await
        })
    }

    #[napi(ts_return_type = "Promise<AcSession>")]
    pub fn authenticate_user(&self, env: Env, user: String, options: AuthenticateOptions) -> napi::Result<Promise> {
        let client = self.inner.clone();
        let options = core::AuthenticateOptions::try_from(options);
        settle::promise(&env, async move {
            let inner = client.authenticate_user(&user, &options?).await?;
            Ok(AcSession { inner })
        })
    }

    /// A copy of this client whose sign-ins count against a per-user limit in the store
    /// (`Client::with_attempt_limit_at`); a bad limit rejects before the store is opened.
    #[napi(ts_return_type = "Promise<AcClient>")]
    pub fn with_attempt_limit(&self, env: Env, options: AttemptLimitOptions) -> napi::Result<Promise> {
        let client = self.inner.clone();
        let limit = core::AttemptLimit::try_from(&options);
        let seal_key = options.seal_key.map(|key| key.to_vec());
        settle::promise(&env, async move {
            let inner = client.with_attempt_limit_at(&options.store, seal_key.as_deref(), limit?).await?;
            Ok(AcClient { inner })
        })
    }

    /// A session from its stored JSON text (`SessionData::from_json`; checked origins).
    #[napi]
    pub fn resume(&self, env: Env, json: String) -> napi::Result<AcSession> {
        errors::sync(&env, || self.inner.try_resume(core::SessionData::from_json(&json)?)).map(|inner| AcSession { inner })
    }

    /// Calls/s of `has_registered_mobile_device` run by the core alone on the addon's
    /// runtime (no JavaScript), to compare the binding with in the same process and load.
    #[napi(js_name = "__coreCallsPerSecond", ts_return_type = "Promise<number>")]
    pub fn core_calls_per_second(&self, env: Env, user: String, in_flight: u32, millis: u32) -> napi::Result<Promise> {
        let client = self.inner.clone();
        settle::promise(&env, async move {
            let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let started = std::time::Instant::now();
            let deadline = started + std::time::Duration::from_millis(millis.into());
            let loops = (0..in_flight).map(|_| {
                let (client, user, done) = (client.clone(), user.clone(), done.clone());
                tokio::spawn(async move {
                    while std::time::Instant::now() < deadline {
                        let _ = client.has_registered_mobile_device(&user).await;
                        done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                })
            });
            for task in loops.collect::<Vec<_>>() {
                let _ = task.await;
            }
            Ok(done.load(std::sync::atomic::Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
        })
    }

    #[napi]
    pub fn unseal(&self, env: Env, sealed: String, key: Uint8Array) -> napi::Result<AcSession> {
        errors::sync(&env, || self.inner.unseal(&sealed, &key)).map(|inner| AcSession { inner })
    }
}

#[napi]
pub struct AcSession {
    pub(crate) inner: core::Session,
}

#[napi]
impl AcSession {
    #[napi(getter)]
    pub fn status(&self) -> String {
        self.inner.status().as_str().to_owned()
    }

    #[napi(getter)]
    pub fn user(&self) -> String {
        self.inner.user()
    }

    #[napi(getter)]
    pub fn session_token(&self) -> String {
        self.inner.session_token()
    }

    /// One status poll; with `timeoutMs`, `Session::refresh_within` that budget.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn refresh(
        &self,
        env: Env,
        options: Option<RefreshOptions>,
        cancel: Option<&CancelToken>,
    ) -> napi::Result<Promise> {
        let session = self.inner.clone();
        let budget = millis("timeoutMs", options.and_then(|o| o.timeout_ms));
        let refresh = CancelToken::guard(cancel, async move {
            let status = match budget? {
                None => session.refresh().await?,
                Some(budget) => session.refresh_within(budget).await?,
            };
            Ok(status.as_str().to_owned())
        });
        settle::promise(&env, refresh)
    }

    #[napi(ts_return_type = "Promise<string>")]
    pub fn wait(&self, env: Env, options: WaitOptions, cancel: Option<&CancelToken>) -> napi::Result<Promise> {
        let session = self.inner.clone();
        let options = core::WaitOptions::try_from(options);
        let wait = CancelToken::guard(cancel, async move { Ok(session.wait(&options?).await?.as_str().to_owned()) });
        settle::promise(&env, wait)
    }

    /// The status stream; bad options are the error of its first `next()`.
    #[napi]
    pub fn watch(&self, options: WatchOptions) -> StatusStream {
        let stream = core::WatchOptions::try_from(options).map(|options| self.inner.watch_with(&options));
        StatusStream { stream: Arc::new(Mutex::new(Some(stream))), stop: Arc::new(watch::channel(false).0) }
    }

    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn logout(&self, env: Env) -> napi::Result<Promise> {
        let session = self.inner.clone();
        settle::promise(&env, async move { session.logout().await })
    }

    #[napi]
    pub fn seal(&self, env: Env, key: Uint8Array) -> napi::Result<String> {
        errors::sync(&env, || self.inner.seal(&key))
    }

    /// `SessionData::to_json`: holds the session secret.
    #[napi]
    pub fn to_json(&self) -> String {
        self.inner.data().to_json()
    }
}

/// The core's status stream of one `watch()`.
#[napi]
pub struct StatusStream {
    /// `None` once over; an `Err` is the options' error, reported by the first `next()`.
    stream: Arc<Mutex<Option<Result<core::StatusStream, CoreError>>>>,
    /// Set by `close()`: ends a pending `next()`.
    stop: Arc<watch::Sender<bool>>,
}

#[napi]
impl StatusStream {
    /// The next status change, or `null` once over (ended session, `close()`).
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn next(&self, env: Env, cancel: Option<&CancelToken>) -> napi::Result<Promise> {
        let stream = self.stream.clone();
        let mut stop = self.stop.subscribe();
        let step = async move {
            let mut slot = stream.lock().await;
            let item = match slot.as_mut() {
                None => return Ok(None),
                Some(Err(error)) => Some(Some(Err(error.clone()))),
                Some(Ok(current)) => tokio::select! {
                    biased;
                    _ = stop.wait_for(|stopped| *stopped) => None,
                    item = futures_util::StreamExt::next(current) => Some(item),
                },
            };
            let (result, over) = match item {
                None | Some(None) => (Ok(None), true),
                Some(Some(Ok(status))) => (Ok(Some(status.as_str().to_owned())), status.is_ended()),
                Some(Some(Err(error))) => {
                    let over = !error.is_transient();
                    (Err(error), over)
                }
            };
            if over {
                *slot = None;
            }
            result
        };
        settle::promise(&env, CancelToken::guard(cancel, step))
    }

    /// Stops the stream: a pending `next()` resolves `null`, and so does every later one.
    #[napi]
    pub fn close(&self) {
        self.stop.send_replace(true);
        if let Ok(mut slot) = self.stream.try_lock() {
            *slot = None;
        }
    }
}

/// What the monitor reports, as the face yields it; `id`, `key` and `at` only from a store.
#[napi(object, object_from_js = false)]
pub struct MonitorEvent {
    #[napi(js_name = "type", ts_type = "'changed' | 'unreachable'")]
    pub kind: String,
    pub user: String,
    pub session_token: String,
    pub previous: Option<String>,
    pub status: Option<String>,
    pub error: Option<JsError>,
    pub id: Option<String>,
    pub key: Option<String>,
    pub at: Option<DateTime<Utc>>,
}

impl MonitorEvent {
    fn of(event: core::MonitorEvent) -> Option<Self> {
        let (kind, user, session_token, previous, status, error) = match event {
            core::MonitorEvent::Changed { user, session_token, previous, status } => {
                ("changed", user, session_token, Some(previous.as_str().to_owned()), Some(status.as_str().to_owned()), None)
            }
            core::MonitorEvent::Unreachable { user, session_token, error } => {
                ("unreachable", user, session_token, None, None, Some(JsError::Core(error)))
            }
            _ => return None,
        };
        Some(MonitorEvent { kind: kind.to_owned(), user, session_token, previous, status, error, id: None, key: None, at: None })
    }
}

/// The settings a monitor runs with, for `util.inspect`.
#[napi(object, object_from_js = false)]
pub struct MonitorSettings {
    pub interval_ms: f64,
    pub max_in_flight: f64,
    pub unreachable_after_ms: f64,
    pub shard_index: Option<u32>,
    pub shard_count: Option<u32>,
}

#[napi]
pub struct AcMonitor {
    inner: core::Monitor,
    events: Arc<core::MonitorEvents>,
}

#[napi]
impl AcMonitor {
    #[napi(constructor)]
    pub fn new(env: Env, client: &AcClient, options: MonitorOptions) -> napi::Result<Self> {
        // The core spawns its polling task on the current runtime: the addon's.
        let _runtime = settle::RUNTIME.enter();
        let (inner, events) = errors::sync(&env, || core::Monitor::start(&client.inner, options.try_into()?))?;
        Ok(AcMonitor { inner, events: Arc::new(events) })
    }

    #[napi]
    pub fn add(&self, env: Env, session: &AcSession) -> napi::Result<bool> {
        errors::sync(&env, || Ok(self.inner.add(session.inner.data())))
    }

    #[napi]
    pub fn add_json(&self, env: Env, json: String) -> napi::Result<bool> {
        errors::sync(&env, || Ok(self.inner.add(core::SessionData::from_json(&json)?)))
    }

    #[napi]
    pub fn remove(&self, env: Env, session_token: String) -> napi::Result<bool> {
        errors::sync(&env, || Ok(self.inner.remove(&session_token)))
    }

    #[napi]
    pub fn has(&self, env: Env, session_token: String) -> napi::Result<bool> {
        errors::sync(&env, || Ok(self.inner.contains(&session_token)))
    }

    #[napi(getter)]
    pub fn size(&self) -> u32 {
        u32::try_from(self.inner.len()).unwrap_or(u32::MAX)
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }

    #[napi(getter)]
    pub fn settings(&self) -> MonitorSettings {
        let options = self.inner.options();
        MonitorSettings {
            interval_ms: options.interval.as_secs_f64() * 1000.0,
            max_in_flight: options.max_in_flight as f64,
            unreachable_after_ms: options.unreachable_after.as_secs_f64() * 1000.0,
            shard_index: options.shard.map(core::Shard::index),
            shard_count: options.shard.map(core::Shard::count),
        }
    }

    /// Up to `max` events (waits for the first); empty once closed and drained.
    #[napi(ts_return_type = "Promise<MonitorEvent[]>")]
    pub fn events(&self, env: Env, max: u32, cancel: Option<&CancelToken>) -> napi::Result<Promise> {
        let events = self.events.clone();
        let read = async move {
            loop {
                let batch = events.recv_batch(max as usize, deviceauth::MAX_DURATION).await;
                let batch: Vec<_> = batch.into_iter().filter_map(MonitorEvent::of).collect();
                if !batch.is_empty() || events.is_finished() {
                    return Ok(batch);
                }
            }
        };
        settle::promise(&env, CancelToken::guard(cancel, read))
    }
}

/// The shard of a session token among `count` shards (`Shard::of`).
#[napi]
pub fn shard_of(env: Env, session_token: String, count: f64) -> napi::Result<u32> {
    errors::sync(&env, || {
        let count = whole("count", count, u32::MAX.into())? as u32;
        core::Shard::new(0, count)?;
        Ok(core::Shard::of(&session_token, count))
    })
}

/// What a status means: 1 in progress, 2 authenticated, 4 ended (bits of `Status`'s
/// `is_in_progress`, `is_authenticated`, `is_ended`).
#[napi]
pub fn status_kind(status: String) -> u32 {
    let status = core::Status::from_wire(&status);
    u32::from(status.is_in_progress()) | u32::from(status.is_authenticated()) << 1 | u32::from(status.is_ended()) << 2
}

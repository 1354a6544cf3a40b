//! `activeconnect.Monitor.open`: a monitor on a store: the core's `SessionStore`, its
//! `StoreMonitor` (unless polling is off) and its `StoreEvents` (subscribed on the first read).

use std::sync::{Arc, PoisonError};

use chrono::{DateTime, Utc};
use deviceauth::activeconnect::{self as core, store};
use napi::Env;
use napi::bindgen_prelude::Uint8Array;
use napi_derive::napi;
use tokio::sync::{Mutex, watch};

use crate::activeconnect::{AcClient, AcSession, MonitorEvent, MonitorOptions};
use crate::errors::{CoreError, JsError};
use crate::settle::{self, Promise};
use crate::{CancelToken, millis, whole};


/// Options of `Monitor.open`; the face checked their JS types.
#[napi(object)]
pub struct StoreOptions {
    pub store: String,
    pub seal_key: Option<Uint8Array>,
    pub lease_ms: Option<f64>,
    pub batch: Option<f64>,
    pub polling: Option<bool>,
    pub capacity: Option<f64>,
    pub monitor: MonitorOptions,
}

/// What `Monitor.open` opens and starts.
struct Plan {
    url: String,
    seal_key: Vec<u8>,
    /// `None` with `polling: false`.
    polling: Option<store::StoreMonitorOptions>,
    capacity: usize,
}

impl TryFrom<StoreOptions> for Plan {
    type Error = CoreError;

    fn try_from(options: StoreOptions) -> Result<Self, CoreError> {
        let monitor = options.monitor;
        if monitor.shard_index.is_some() || monitor.shard_count.is_some() {
            return Err(CoreError::InvalidArgument("shard is not used with a store: the monitors on it share the work".into()));
        }
        // Left out: empty, which the core takes as a random key for `memory` and refuses
        // for the other stores.
        let seal_key = options.seal_key.map(|key| key.to_vec()).unwrap_or_default();
        let mut settings = store::StoreMonitorOptions { poll: monitor.try_into()?, ..Default::default() };
        if let Some(lease) = millis("leaseMs", options.lease_ms)? {
            settings.lease = lease;
        }
        if let Some(batch) = options.batch {
            settings.batch = whole("batch", batch, u32::MAX.into())? as usize;
        }
        settings.validate()?;
        let capacity = match options.capacity {
            Some(capacity) => whole("capacity", capacity, u32::MAX.into())? as usize,
            None => store::DEFAULT_EVENT_CAPACITY,
        };
        if capacity == 0 {
            return Err(CoreError::InvalidArgument("capacity must be at least 1".into()));
        }
        let polling = options.polling.unwrap_or(true).then_some(settings);
        Ok(Plan { url: options.store, seal_key, polling, capacity })
    }
}

/// Opens the store (creating its schema on first use) and starts polling it unless
/// `polling` is false.
#[napi(ts_return_type = "Promise<AcStoreMonitor>")]
pub fn open_store_monitor(env: Env, client: &AcClient, options: StoreOptions) -> napi::Result<Promise> {
    let client = client.inner.clone();
    let plan = Plan::try_from(options);
    settle::promise(&env, async move {
        let plan = plan?;
        let store = store::SessionStore::open(&plan.url, &plan.seal_key).await?;
        let polling = plan.polling.map(|options| store::StoreMonitor::start(&client, &store, options)).transpose()?;
        Ok(AcStoreMonitor {
            client,
            store,
            polling: std::sync::Mutex::new(polling),
            events: Arc::new(Mutex::new(None)),
            capacity: plan.capacity,
            held: Arc::new(std::sync::Mutex::new(None)),
            closed: Arc::new(watch::channel(false).0),
        })
    })
}

/// A session's last known status in the store.
#[napi(object, object_from_js = false)]
pub struct StoredStatus {
    pub status: String,
    pub watched: bool,
    pub error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A monitor on a store.
#[napi]
pub struct AcStoreMonitor {
    client: core::Client,
    store: store::SessionStore,
    /// This process's polling: `None` with `polling: false` and once closed.
    polling: std::sync::Mutex<Option<store::StoreMonitor>>,
    /// The store's events, subscribed on the first read; `None` again once closed.
    events: Arc<Mutex<Option<Arc<store::StoreEvents>>>>,
    capacity: usize,
    /// A store problem met after the events of a batch: the error of the next read.
    held: Arc<std::sync::Mutex<Option<CoreError>>>,
    /// Set by `close()`: reads of events end once the ready ones are taken.
    closed: Arc<watch::Sender<bool>>,
}

#[napi]
impl AcStoreMonitor {
    /// Stores `session` under `key` (default: its session token); `false` when taken.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn add(&self, env: Env, session: &AcSession, key: Option<String>) -> napi::Result<Promise> {
        self.add_data(&env, Ok(session.inner.data()), key)
    }

    /// `add` of a session's JSON text (checked by the client like `resume`).
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn add_json(&self, env: Env, json: String, key: Option<String>) -> napi::Result<Promise> {
        let data = core::SessionData::from_json(&json).and_then(|data| Ok(self.client.try_resume(data)?.data()));
        self.add_data(&env, data, key)
    }

    fn add_data(&self, env: &Env, data: Result<core::SessionData, CoreError>, key: Option<String>) -> napi::Result<Promise> {
        let store = self.store.clone();
        settle::promise(env, async move {
            let data = data?;
            let key = key.unwrap_or_else(|| data.session_token.clone());
            Ok(store.add(&key, &data).await?)
        })
    }

    /// Deletes the session under `key`; `false` when there was none.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn remove(&self, env: Env, key: String) -> napi::Result<Promise> {
        let store = self.store.clone();
        settle::promise(&env, async move { Ok(store.remove(&key).await?) })
    }

    /// The last known status under `key`, or `null` (a read of the store, no service call).
    #[napi(ts_return_type = "Promise<StoredStatus | null>")]
    pub fn status(&self, env: Env, key: String) -> napi::Result<Promise> {
        let store = self.store.clone();
        settle::promise(&env, async move {
            Ok(store.status(&key).await?.map(|found| StoredStatus {
                status: found.status.as_str().to_owned(),
                watched: found.watched,
                error: found.error,
                updated_at: DateTime::from_timestamp_millis(found.updated_at_ms).unwrap_or_default(),
            }))
        })
    }

    /// `"memory"`, `"sqlite"`, `"postgres"` or `"redis"`.
    #[napi(getter)]
    pub fn store(&self) -> String {
        self.store.kind().to_owned()
    }

    /// Whether this process polls (until closed).
    #[napi(getter)]
    pub fn polling(&self) -> bool {
        self.polling.lock().unwrap_or_else(PoisonError::into_inner).is_some()
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Stops polling (finishing the polls in flight, handing back the claims) and ends the
    /// reads of events.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close(&self, env: Env) -> napi::Result<Promise> {
        self.closed.send_replace(true);
        let polling = self.polling.lock().unwrap_or_else(PoisonError::into_inner).take();
        let events = self.events.clone();
        settle::promise(&env, async move {
            events.lock().await.take();
            if let Some(polling) = polling {
                polling.close().await;
            }
            Ok(())
        })
    }

    /// Up to `max` events (waits for the first); empty once closed. A store problem
    /// rejects, after the events read before it.
    #[napi(ts_return_type = "Promise<MonitorEvent[]>")]
    pub fn events(&self, env: Env, max: u32, cancel: Option<&CancelToken>) -> napi::Result<Promise> {
        let (store, slot, held, capacity) = (self.store.clone(), self.events.clone(), self.held.clone(), self.capacity);
        let mut closed = self.closed.subscribe();
        let read = async move {
            if let Some(error) = held.lock().unwrap_or_else(PoisonError::into_inner).take() {
                return Err(error);
            }
            let events = {
                let mut slot = slot.lock().await;
                if *closed.borrow() {
                    return Ok(Vec::new());
                }
                match slot.as_ref() {
                    Some(events) => events.clone(),
                    None => slot.insert(Arc::new(store.subscribe(capacity).await?)).clone(),
                }
            };
            let mut next = tokio::select! {
                biased;
                item = events.recv() => item,
                _ = closed.wait_for(|closed| *closed) => None,
            };
            let mut batch = Vec::new();
            while let Some(item) = next {
                match item {
                    Ok(event) => batch.push(of_store(event)),
                    Err(error) if batch.is_empty() => return Err(error.into()),
                    Err(error) => {
                        *held.lock().unwrap_or_else(PoisonError::into_inner) = Some(error.into());
                        break;
                    }
                }
                if batch.len() >= max as usize {
                    break;
                }
                next = events.try_recv();
            }
            Ok(batch)
        };
        settle::promise(&env, CancelToken::guard(cancel, read))
    }
}

/// A store's event as the face yields it.
fn of_store(event: store::StoreEvent) -> MonitorEvent {
    MonitorEvent {
        previous: Some(event.previous.as_str().to_owned()),
        status: Some(event.status.as_str().to_owned()),
        kind: event.kind,
        user: event.user,
        session_token: event.session_token,
        error: event.error.map(JsError::Text),
        id: Some(event.id),
        key: Some(event.key),
        at: DateTime::from_timestamp_millis(event.at_ms),
    }
}

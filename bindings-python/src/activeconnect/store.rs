//! Core `SessionStore`, `StoreMonitor` and `StoreEvents` as one store-backed monitor: adds,
//! removes and status reads go to the store; the events are the store's. The claiming,
//! polling, sealing and publishing are the core's.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use deviceauth::activeconnect::store::{
    SessionStore, StoreError, StoreEvent, StoreEvents, StoreMonitor as CoreStoreMonitor, StoreMonitorOptions,
    StoredStatus,
};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use tokio::sync::{OnceCell, watch};

use super::monitor::{poll_options, session_data};
use super::{Client, StatusOut};
use crate::convert::{Float, Int, Make, Nothing, Text, count, float_repr, seconds};
use crate::errors::{IntoPyResult, guarded, invalid};
use crate::runtime::{Pending, generation, runtime};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A stored status, returned as `_types._stored_status(status, watched, error, updated_at_ms)`.
struct StoredOut(StoredStatus);

impl<'py> IntoPyObject<'py> for StoredOut {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.0;
        Make("_stored_status", (StatusOut(s.status), s.watched, s.error, s.updated_at_ms)).into_pyobject(py)
    }
}

/// A store event, returned as `_types._store_event(id, kind, key, user, session_token,
/// previous, status, error, at_ms)`.
struct EventOut(StoreEvent);

impl<'py> IntoPyObject<'py> for EventOut {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let e = self.0;
        let (previous, status) = (StatusOut(e.previous), StatusOut(e.status));
        let args = (e.id, e.kind, e.key, e.user, e.session_token, previous, status, e.error, e.at_ms);
        Make("_store_event", args).into_pyobject(py)
    }
}

/// The store's events, subscribed on the first read; closing ends the reads.
struct Feed {
    store: SessionStore,
    capacity: usize,
    events: OnceCell<StoreEvents>,
    /// A store problem `batch` met after some events, raised by the next read.
    held: Mutex<Option<StoreError>>,
    closed: watch::Sender<bool>,
}

impl Feed {
    /// The next event (a store problem is an error); `None` after `wait`, or once closed.
    async fn next(&self, wait: Duration) -> deviceauth::Result<Option<StoreEvent>> {
        if let Some(error) = lock(&self.held).take() {
            return Err(error.into());
        }
        let mut closed = self.closed.subscribe();
        if *closed.borrow() {
            return Ok(None);
        }
        let events = self.events.get_or_try_init(|| self.store.subscribe(self.capacity)).await?;
        tokio::select! {
            biased;
            _ = closed.wait_for(|closed| *closed) => Ok(None),
            item = events.recv() => Ok(item.transpose()?),
            _ = tokio::time::sleep(wait) => Ok(None),
        }
    }

    /// The events ready within `wait`, oldest first.
    async fn batch(&self, wait: Duration) -> deviceauth::Result<Vec<EventOut>> {
        let Some(first) = self.next(wait).await? else { return Ok(Vec::new()) };
        let mut batch = vec![EventOut(first)];
        while let Some(item) = self.events.get().and_then(StoreEvents::try_recv) {
            match item {
                Ok(event) => batch.push(EventOut(event)),
                Err(error) => {
                    *lock(&self.held) = Some(error);
                    break;
                }
            }
        }
        Ok(batch)
    }
}

/// The native store-backed monitor (`Monitor(..., store=...)` and `AsyncMonitor` wrap it):
/// every method that touches the store gives a pending call.
#[pyclass(frozen, module = "deviceauth._native", name = "StoreMonitor")]
pub struct StoreMonitor {
    client: deviceauth::activeconnect::Client,
    feed: Arc<Feed>,
    /// The polling task; `None` with `polling=False` or once closed.
    monitor: Mutex<Option<CoreStoreMonitor>>,
    options: StoreMonitorOptions,
    polling: bool,
    generation: u64,
}

impl StoreMonitor {
    /// The store's connections and the polling task live on the runtime of the process
    /// that opened it.
    fn alive(&self) -> PyResult<&Feed> {
        if self.generation != generation() {
            return Err(PyRuntimeError::new_err(
                "deviceauth: a Monitor does not survive fork(); open one in the child process",
            ));
        }
        Ok(&self.feed)
    }
}

#[pymethods]
impl StoreMonitor {
    /// Opens the store at `store` (rows sealed with `seal_key`) and, with `polling`, starts
    /// a monitor on it.
    #[staticmethod]
    #[pyo3(signature = (
        client, store, seal_key, interval = None, max_in_flight = None, unreachable_after = None,
        lease = None, batch = None, polling = true, capacity = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn open(
        client: PyRef<'_, Client>,
        store: Text,
        seal_key: &[u8],
        interval: Option<Float>,
        max_in_flight: Option<Int>,
        unreachable_after: Option<Float>,
        lease: Option<Float>,
        batch: Option<Int>,
        polling: bool,
        capacity: Option<Int>,
    ) -> PyResult<Pending> {
        let mut options = StoreMonitorOptions {
            poll: poll_options(interval, max_in_flight, unreachable_after)?,
            ..StoreMonitorOptions::default()
        };
        options.lease = seconds("lease", lease)?.unwrap_or(options.lease);
        options.batch = count("batch", batch)?.map_or(options.batch, |n| n as usize);
        options.validate().py()?;
        let capacity = count("capacity", capacity)?.map_or(deviceauth::activeconnect::store::DEFAULT_EVENT_CAPACITY, |n| n as usize);
        if capacity == 0 {
            return Err(invalid("capacity must be at least 1"));
        }
        let (client, key, generation) = (client.inner.clone(), seal_key.to_vec(), generation());
        Ok(Pending::new(async move {
            let store = SessionStore::open(&store, &key).await?;
            let monitor = if polling { Some(CoreStoreMonitor::start(&client, &store, options.clone())?) } else { None };
            let (closed, _) = watch::channel(false);
            let feed = Arc::new(Feed { store, capacity, events: OnceCell::new(), held: Mutex::default(), closed });
            Ok(StoreMonitor { client, feed, monitor: Mutex::new(monitor), options, polling, generation })
        }))
    }

    /// Stores the session (a native `Session` or its JSON text) under `key` (default its
    /// token): `True`, or `False` when the key is taken.
    #[pyo3(signature = (session, key = None))]
    fn add(&self, session: &Bound<'_, PyAny>, key: Option<Text>) -> PyResult<Pending> {
        let data = session_data(session)?;
        let store = self.alive()?.store.clone();
        // Status URLs outside the allowed origins are refused, as `Client.resume` does.
        let session = guarded(|| self.client.try_resume(data))?;
        let key = key.map_or_else(|| session.session_token(), |key| key.0);
        let data = session.data();
        Ok(Pending::new(async move { Ok(store.add(&key, &data).await?) }))
    }

    /// Deletes the session under `key`: `True`, or `False` when there was none.
    fn remove(&self, key: Text) -> PyResult<Pending> {
        let store = self.alive()?.store.clone();
        Ok(Pending::new(async move { Ok(store.remove(&key).await?) }))
    }

    /// The last known status under `key` (a read of the store), or `None`.
    fn status(&self, key: Text) -> PyResult<Pending> {
        let store = self.alive()?.store.clone();
        Ok(Pending::new(async move { Ok(store.status(&key).await?.map(StoredOut)) }))
    }

    /// Ends the reads of events and stops the polling: the pending call finishes when the
    /// polls in flight are written back and the claims released (which goes on without it).
    fn close(&self) -> PyResult<Pending> {
        self.alive()?.closed.send_replace(true);
        let task = lock(&self.monitor).take().map(|monitor| runtime().map(|r| r.spawn(monitor.close()))).transpose()?;
        Ok(Pending::new(async move {
            if let Some(task) = task {
                let _ = task.await;
            }
            Ok(Nothing)
        }))
    }

    /// Whether `close` was called.
    #[getter]
    fn closed(&self) -> bool {
        *self.feed.closed.borrow()
    }

    /// The next event, or `None` once closed.
    fn next(&self) -> PyResult<Pending> {
        self.alive()?;
        let feed = self.feed.clone();
        Ok(Pending::new(async move { Ok(feed.next(deviceauth::MAX_DURATION).await?.map(EventOut)) }))
    }

    /// Every event ready within `timeout` seconds (`None`: no limit), oldest first.
    #[pyo3(signature = (timeout = None))]
    fn poll(&self, timeout: Option<Float>) -> PyResult<Pending> {
        self.alive()?;
        let wait = seconds("timeout", timeout)?.unwrap_or(deviceauth::MAX_DURATION);
        let feed = self.feed.clone();
        Ok(Pending::new(async move { feed.batch(wait).await }))
    }

    /// `Class(store='sqlite', polling, interval=..., ...)` for the wrapper's `repr()`.
    fn describe(&self, name: &str) -> String {
        let o = &self.options;
        let state = match (self.closed(), self.polling) {
            (true, _) => "closed",
            (false, true) => "polling",
            (false, false) => "not polling",
        };
        format!(
            "{name}(store='{}', {state}, interval={}, max_in_flight={}, unreachable_after={}, lease={}, batch={})",
            self.feed.store.kind(),
            float_repr(o.poll.interval.as_secs_f64()),
            o.poll.max_in_flight,
            float_repr(o.poll.unreachable_after.as_secs_f64()),
            float_repr(o.lease.as_secs_f64()),
            o.batch,
        )
    }
}

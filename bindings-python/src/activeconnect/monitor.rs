//! Core `Monitor`, `MonitorEvent` and `shard_of`. The polling, spreading, change detection,
//! closing and sharding are the core's.

use std::sync::Arc;

use deviceauth::activeconnect::{
    Monitor as CoreMonitor, MonitorEvent as CoreEvent, MonitorEvents, MonitorOptions, SessionData, Shard,
};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use super::{Client, Session, StatusOut};
use crate::convert::{Float, Int, Make, Text, count, float_repr, seconds};
use crate::errors::{IntoPyResult, guarded, to_pyerr};
use crate::runtime::{Pending, generation, runtime};

/// A core event, returned as `MonitorEvent(kind, user, session_token, previous, status, error)`.
struct EventOut(CoreEvent);

impl<'py> IntoPyObject<'py> for EventOut {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (kind, user, token, change, error) = match self.0 {
            CoreEvent::Changed { user, session_token, previous, status } => {
                ("changed", user, session_token, Some((StatusOut(previous), StatusOut(status))), None)
            }
            CoreEvent::Unreachable { user, session_token, error } => {
                ("unreachable", user, session_token, None, Some(to_pyerr(error).into_value(py)))
            }
            // A kind a later core adds and this binding does not know yet.
            _ => ("unknown", String::new(), String::new(), None, None),
        };
        let (previous, status) = change.unzip();
        Make("MonitorEvent", (kind, user, token, previous, status, error)).into_pyobject(py)
    }
}

/// The polling options both native monitors take (each `None` keeps the core's default).
pub(super) fn poll_options(
    interval: Option<Float>,
    max_in_flight: Option<Int>,
    unreachable_after: Option<Float>,
) -> PyResult<MonitorOptions> {
    let mut options = MonitorOptions::default();
    options.interval = seconds("interval", interval)?.unwrap_or(options.interval);
    options.unreachable_after = seconds("unreachable_after", unreachable_after)?.unwrap_or(options.unreachable_after);
    options.max_in_flight = count("max_in_flight", max_in_flight)?.map_or(options.max_in_flight, |n| n as usize);
    Ok(options)
}

/// The data of a session to watch: a native `Session`, or its JSON text.
pub(super) fn session_data(session: &Bound<'_, PyAny>) -> PyResult<SessionData> {
    match session.cast::<Session>() {
        Ok(session) => Ok(session.get().inner.data()),
        Err(_) => SessionData::from_json(&session.extract::<Text>()?).py(),
    }
}

/// The native monitor (`Monitor` and `AsyncMonitor` wrap it): `next()` and `poll()` give
/// pending calls.
#[pyclass(frozen, module = "deviceauth._native", name = "Monitor")]
pub struct Monitor {
    inner: CoreMonitor,
    client: deviceauth::activeconnect::Client,
    events: Arc<MonitorEvents>,
    generation: u64,
}

impl Monitor {
    /// The polling task lives on the runtime of the process that started it.
    fn alive(&self) -> PyResult<&CoreMonitor> {
        if self.generation != generation() {
            return Err(PyRuntimeError::new_err(
                "deviceauth: a Monitor does not survive fork(); start one in the child process",
            ));
        }
        Ok(&self.inner)
    }
}

#[pymethods]
impl Monitor {
    #[new]
    #[pyo3(signature = (client, interval = None, max_in_flight = None, unreachable_after = None, shard = None))]
    fn new(
        client: PyRef<'_, Client>,
        interval: Option<Float>,
        max_in_flight: Option<Int>,
        unreachable_after: Option<Float>,
        shard: Option<(Int, Int)>,
    ) -> PyResult<Self> {
        let mut options = poll_options(interval, max_in_flight, unreachable_after)?;
        if let Some((index, shards)) = shard {
            let (index, shards) = (count("shard index", Some(index))?, count("shard count", Some(shards))?);
            options.shard = Some(Shard::new(index.unwrap_or(0), shards.unwrap_or(0)).py()?);
        }
        options.validate().py()?;
        let _entered = runtime()?.enter();
        let (inner, events) = guarded(|| CoreMonitor::start(&client.inner, options))?;
        Ok(Monitor { inner, client: client.inner.clone(), events: Arc::new(events), generation: generation() })
    }

    /// `True` when the session (a native `Session` or its JSON text) is newly watched.
    fn add(&self, session: &Bound<'_, PyAny>) -> PyResult<bool> {
        let data = session_data(session)?;
        let monitor = self.alive()?;
        // Status URLs outside the allowed origins are refused, as `Client.resume` does.
        guarded(|| Ok(monitor.add(self.client.try_resume(data)?.data())))
    }

    fn remove(&self, session_token: Text) -> bool {
        self.inner.remove(&session_token)
    }

    fn __contains__(&self, session_token: Text) -> bool {
        self.inner.contains(&session_token)
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn close(&self) {
        self.inner.close()
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    #[getter]
    fn shard(&self) -> Option<(u32, u32)> {
        self.inner.options().shard.map(|s| (s.index(), s.count()))
    }

    /// The next event, or `None` once closed and drained.
    fn next(&self) -> PyResult<Pending> {
        self.alive()?;
        let events = self.events.clone();
        Ok(Pending::new(async move { Ok(events.recv().await.map(EventOut)) }))
    }

    /// Every event ready within `timeout` seconds (`None`: no limit), oldest first.
    #[pyo3(signature = (timeout = None))]
    fn poll(&self, timeout: Option<Float>) -> PyResult<Pending> {
        self.alive()?;
        let wait = seconds("timeout", timeout)?.unwrap_or(deviceauth::MAX_DURATION);
        let events = self.events.clone();
        Ok(Pending::new(async move {
            Ok(events.recv_batch(usize::MAX, wait).await.into_iter().map(EventOut).collect::<Vec<_>>())
        }))
    }

    /// `Class(sessions=..., interval=..., ...)` for the wrapper's `repr()`.
    fn describe(&self, name: &str) -> String {
        let o = self.inner.options();
        let shard = o.shard.map_or("None".to_owned(), |s| format!("({}, {})", s.index(), s.count()));
        let state = if self.inner.is_closed() { "closed".to_owned() } else { format!("sessions={}", self.inner.len()) };
        format!(
            "{name}({state}, interval={}, max_in_flight={}, unreachable_after={}, shard={shard})",
            float_repr(o.interval.as_secs_f64()),
            o.max_in_flight,
            float_repr(o.unreachable_after.as_secs_f64()),
        )
    }
}

/// The shard (from 0) that `session_token` falls in among `count` shards: the same
/// stable hash every process and language uses (first 8 bytes of SHA-256, big-endian,
/// modulo `count`). `Monitor(..., shard=(shard_of(token, n), n))` watches it.
#[pyfunction]
pub fn shard_of(session_token: Text, count: Int) -> PyResult<u32> {
    let count = crate::convert::count("count", Some(count))?.unwrap_or(0);
    Shard::new(0, count).py()?;
    Ok(Shard::of(&session_token, count))
}

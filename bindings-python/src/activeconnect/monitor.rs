//! `Monitor`, `AsyncMonitor`, `MonitorEvent` and `shard_of`: core
//! `activeconnect::{Monitor, MonitorEvents, MonitorEvent, MonitorOptions, Shard}`.
//!
//! Everything here converts arguments, calls the core and maps results; the polling, the
//! spreading, the change detection and the sharding are the core's.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use deviceauth::activeconnect::{
    Monitor as CoreMonitor, MonitorEvent as CoreEvent, MonitorEvents, MonitorOptions, SessionData, Shard, Status,
};
use pyo3::exceptions::{PyRuntimeError, PyStopAsyncIteration, PyTypeError};
use pyo3::prelude::*;

use super::session::{AsyncSession, Session};
use super::{AsyncClient, Client, Handle, StatusOut, session_data};
use crate::convert::{float_repr, positive_u32, repr_str, seconds, seconds_or_zero};
use crate::errors::{IntoPyResult, invalid, to_pyerr};
use crate::runtime::{self, future_into_py, interruptible};

/// One event of a monitor: a status change (`kind == "changed"`, with `previous` and
/// `status`) or a session that could not be polled (`kind == "unreachable"`, with
/// `error`). Either way `user` and `session_token` say which session. After an ended
/// status or an unreachable event the session is no longer watched.
///
/// `repr()` shows the kind, the user and the statuses, never a secret.
#[pyclass(frozen, module = "deviceauth.activeconnect", name = "MonitorEvent")]
pub struct MonitorEvent {
    /// `"changed"` or `"unreachable"`.
    #[pyo3(get)]
    kind: &'static str,
    /// The session's user.
    #[pyo3(get)]
    user: String,
    /// The session's token (what `Monitor.remove` takes).
    #[pyo3(get)]
    session_token: String,
    previous: Option<Status>,
    status: Option<Status>,
    error: Option<Py<PyAny>>,
}

#[pymethods]
impl MonitorEvent {
    /// The status before the change (`None` for an unreachable event).
    #[getter]
    fn previous(&self) -> Option<StatusOut> {
        self.previous.clone().map(StatusOut)
    }

    /// The status now (`None` for an unreachable event).
    #[getter]
    fn status(&self) -> Option<StatusOut> {
        self.status.clone().map(StatusOut)
    }

    /// The last error, a `DeviceAuthError` instance (`None` for a change).
    #[getter]
    fn error(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.error.as_ref().map(|e| e.clone_ref(py))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let user = repr_str(py, &self.user)?;
        match (&self.previous, &self.status, &self.error) {
            (Some(previous), Some(status), _) => Ok(format!(
                "MonitorEvent(kind='changed', user={user}, previous={}, status={})",
                repr_str(py, previous.as_str())?,
                repr_str(py, status.as_str())?
            )),
            (_, _, Some(error)) => {
                Ok(format!("MonitorEvent(kind={:?}, user={user}, error={})", self.kind, error.bind(py).repr()?))
            }
            _ => Ok(format!("MonitorEvent(kind={:?}, user={user})", self.kind)),
        }
    }
}

/// A core event, made into a `MonitorEvent` when returned to Python.
struct EventOut(CoreEvent);

impl EventOut {
    fn convert(self, py: Python<'_>) -> MonitorEvent {
        match self.0 {
            CoreEvent::Changed { user, session_token, previous, status } => MonitorEvent {
                kind: "changed",
                user,
                session_token,
                previous: Some(previous),
                status: Some(status),
                error: None,
            },
            CoreEvent::Unreachable { user, session_token, error } => MonitorEvent {
                kind: "unreachable",
                user,
                session_token,
                previous: None,
                status: None,
                error: Some(to_pyerr(error).into_value(py).into_any()),
            },
            // A kind a later core adds and this binding does not know yet.
            _ => MonitorEvent {
                kind: "unknown",
                user: String::new(),
                session_token: String::new(),
                previous: None,
                status: None,
                error: None,
            },
        }
    }
}

impl<'py> IntoPyObject<'py> for EventOut {
    type Target = MonitorEvent;
    type Output = Bound<'py, MonitorEvent>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, MonitorEvent>> {
        Bound::new(py, self.convert(py))
    }
}

/// Several events, returned as a `list[MonitorEvent]`.
struct EventsOut(Vec<CoreEvent>);

impl<'py> IntoPyObject<'py> for EventsOut {
    type Target = pyo3::types::PyList;
    type Output = Bound<'py, pyo3::types::PyList>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyList>> {
        let list = pyo3::types::PyList::empty(py);
        for event in self.0 {
            list.append(EventOut(event).into_pyobject(py)?)?;
        }
        Ok(list)
    }
}

/// The core options from the constructor's arguments.
fn options(
    interval: f64,
    max_in_flight: i64,
    unreachable_after: f64,
    shard: Option<(i64, i64)>,
) -> PyResult<MonitorOptions> {
    let max_in_flight = positive_u32("max_in_flight", Some(max_in_flight))?.unwrap_or(1) as usize;
    let shard = match shard {
        None => None,
        Some((index, count)) => {
            let index = u32::try_from(index).map_err(|_| invalid(format!("shard index must be >= 0, not {index}")))?;
            let count = positive_u32("shard count", Some(count))?.unwrap_or(1);
            Some(Shard::new(index, count).py()?)
        }
    };
    Ok(MonitorOptions {
        interval: seconds("interval", interval)?,
        max_in_flight,
        unreachable_after: seconds("unreachable_after", unreachable_after)?,
        shard,
    })
}

/// The client handle of a `Client` or an `AsyncClient`.
fn client_handle(client: &Bound<'_, PyAny>) -> PyResult<Arc<Handle>> {
    if let Ok(client) = client.cast::<Client>() {
        return Ok(client.get().handle.clone());
    }
    if let Ok(client) = client.cast::<AsyncClient>() {
        return Ok(client.get().handle.clone());
    }
    Err(PyTypeError::new_err("client must be an activeconnect.Client or activeconnect.AsyncClient"))
}

/// `add()`'s argument as core session data: a session, its `to_json()` text or that dict.
fn add_data(py: Python<'_>, session: &Bound<'_, PyAny>) -> PyResult<SessionData> {
    if let Ok(session) = session.cast::<Session>() {
        return Ok(session.get().data());
    }
    if let Ok(session) = session.cast::<AsyncSession>() {
        return Ok(session.get().data());
    }
    session_data(py, session)
}

/// What both monitor classes hold: the core handle (dropped by `close()`), its options,
/// and the process it runs in (the polling task does not survive a `fork`).
struct Shared {
    monitor: Mutex<Option<CoreMonitor>>,
    options: MonitorOptions,
    pid: u32,
}

impl Shared {
    fn start(py: Python<'_>, client: &Bound<'_, PyAny>, options: MonitorOptions) -> PyResult<(Shared, MonitorEvents)> {
        let client = client_handle(client)?.client(py)?;
        let runtime = runtime::runtime()?;
        let (monitor, events) = {
            let _entered = runtime.enter();
            CoreMonitor::start(&client, options).py()?
        };
        Ok((Shared { monitor: Mutex::new(Some(monitor)), options, pid: std::process::id() }, events))
    }

    fn lock(&self) -> MutexGuard<'_, Option<CoreMonitor>> {
        self.monitor.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The running core monitor; `None` once closed. Raises in a forked child.
    fn current(&self) -> PyResult<Option<CoreMonitor>> {
        if self.pid != std::process::id() {
            return Err(PyRuntimeError::new_err(
                "deviceauth: a Monitor does not survive fork(); start one in the child process",
            ));
        }
        Ok(self.lock().clone())
    }

    fn add(&self, py: Python<'_>, session: &Bound<'_, PyAny>) -> PyResult<bool> {
        let data = add_data(py, session)?;
        Ok(self.current()?.is_some_and(|m| m.add(data)))
    }

    fn remove(&self, session_token: &str) -> PyResult<bool> {
        Ok(self.current()?.is_some_and(|m| m.remove(session_token)))
    }

    fn contains(&self, session_token: &str) -> PyResult<bool> {
        Ok(self.current()?.is_some_and(|m| m.contains(session_token)))
    }

    fn len(&self) -> PyResult<usize> {
        Ok(self.current()?.map_or(0, |m| m.len()))
    }

    fn close(&self) {
        self.lock().take();
    }

    fn closed(&self) -> bool {
        self.lock().is_none()
    }

    fn shard(&self) -> Option<(u32, u32)> {
        self.options.shard.map(|s| (s.index(), s.count()))
    }

    fn repr(&self, class: &str) -> String {
        let o = &self.options;
        let shard = match o.shard {
            Some(s) => format!("({}, {})", s.index(), s.count()),
            None => "None".to_owned(),
        };
        let state = match &*self.lock() {
            Some(m) => format!("sessions={}", m.len()),
            None => "closed".to_owned(),
        };
        format!(
            "{class}({state}, interval={}, max_in_flight={}, unreachable_after={}, shard={shard})",
            float_repr(o.interval.as_secs_f64()),
            o.max_in_flight,
            float_repr(o.unreachable_after.as_secs_f64()),
        )
    }
}

/// Up to `timeout` (`None`: no limit) for the first event, then every event already there.
async fn ready_events(events: &mut MonitorEvents, timeout: Option<Duration>) -> Vec<CoreEvent> {
    let first = match timeout {
        None => events.recv().await,
        Some(limit) if limit.is_zero() => events.try_recv(),
        Some(limit) => tokio::time::timeout(limit, events.recv()).await.ok().flatten(),
    };
    let mut all: Vec<CoreEvent> = first.into_iter().collect();
    if !all.is_empty() {
        while let Some(event) = events.try_recv() {
            all.push(event);
        }
    }
    all
}

fn poll_timeout(timeout: Option<f64>) -> PyResult<Option<Duration>> {
    timeout.map(|t| seconds_or_zero("timeout", t)).transpose()
}

/// Watches many signed-in sessions with one polling task, for remote logout and walkaway.
///
/// Every session added is polled once per `interval` seconds (the first poll of each at a
/// random moment within the interval), with at most `max_in_flight` polls at a time.
/// Iterating gives a `MonitorEvent` for each status change, once; a session is dropped
/// after an ended status (`CLOSED`, ...), and reported `"unreachable"` (and dropped) when
/// its polls keep failing for `unreachable_after` seconds or fail for good (an unknown
/// session). `shard=(index, count)` watches only the sessions whose token falls in that
/// shard (see `shard_of`), so `count` processes can share the work with no overlap.
///
/// `client` is a `Client` (or an `AsyncClient`). Blocking reads (`next()`, `poll()`,
/// `run()`) release the GIL and Ctrl-C interrupts them. `close()` (or leaving a `with`
/// block) stops the polling; iteration then ends once the remaining events are read.
/// A monitor belongs to the process that made it: after `fork()` start a new one.
#[pyclass(frozen, module = "deviceauth.activeconnect", name = "Monitor")]
pub struct Monitor {
    shared: Shared,
    events: Mutex<MonitorEvents>,
}

impl Monitor {
    /// Blocks (GIL released, Ctrl-C checked) on the event stream.
    fn blocking<T: Send>(&self, py: Python<'_>, read: impl AsyncFnOnce(&mut MonitorEvents) -> T + Send) -> PyResult<T> {
        self.shared.current()?;
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(PyRuntimeError::new_err(
                "deviceauth: a blocking call cannot run on the library's own runtime threads; use AsyncMonitor there",
            ));
        }
        let runtime = runtime::runtime()?;
        py.detach(|| {
            let mut events = self.events.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            runtime.block_on(interruptible(async { Ok(read(&mut events).await) }))
        })
    }
}

#[pymethods]
impl Monitor {
    #[new]
    #[pyo3(signature = (client, interval = 5.0, max_in_flight = 100, unreachable_after = 60.0, shard = None))]
    fn new(
        py: Python<'_>,
        client: &Bound<'_, PyAny>,
        interval: f64,
        max_in_flight: i64,
        unreachable_after: f64,
        shard: Option<(i64, i64)>,
    ) -> PyResult<Self> {
        let (shared, events) = Shared::start(py, client, options(interval, max_in_flight, unreachable_after, shard)?)?;
        Ok(Monitor { shared, events: Mutex::new(events) })
    }

    /// Starts watching a session: a `Session`, an `AsyncSession`, the text of
    /// `to_json()` or the dict it parses to. `False` when it is already watched, already
    /// ended, belongs to another shard, or the monitor is closed. No request is sent.
    fn add(&self, py: Python<'_>, session: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.shared.add(py, session)
    }

    /// Stops watching the session with this token; `False` when it was not watched.
    fn remove(&self, session_token: &str) -> PyResult<bool> {
        self.shared.remove(session_token)
    }

    /// Stops the polling. Events already found can still be read; then iteration ends.
    fn close(&self) {
        self.shared.close()
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.shared.closed()
    }

    /// `(index, count)` of the shard watched, or `None`.
    #[getter]
    fn shard(&self) -> Option<(u32, u32)> {
        self.shared.shard()
    }

    /// The next event, waiting as long as it takes (GIL released; Ctrl-C interrupts).
    fn __next__(&self, py: Python<'_>) -> PyResult<Option<EventOut>> {
        Ok(self.blocking(py, async |events: &mut MonitorEvents| events.recv().await)?.map(EventOut))
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// Waits up to `timeout` seconds (`None`: as long as it takes; `0`: not at all) for an
    /// event and returns every event ready then, oldest first; `[]` when none came (or the
    /// monitor is closed and drained). GIL released; Ctrl-C interrupts.
    #[pyo3(signature = (timeout = None))]
    fn poll(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<EventsOut> {
        let timeout = poll_timeout(timeout)?;
        Ok(EventsOut(self.blocking(py, async move |events: &mut MonitorEvents| ready_events(events, timeout).await)?))
    }

    /// Calls `callback(event)` for each event as it comes, until the monitor is closed (the
    /// callback may call `close()`) and drained. An exception from the callback, or Ctrl-C,
    /// ends it and propagates.
    fn run(&self, py: Python<'_>, callback: &Bound<'_, PyAny>) -> PyResult<()> {
        while let Some(event) = self.__next__(py)? {
            callback.call1((event,))?;
        }
        Ok(())
    }

    fn __len__(&self) -> PyResult<usize> {
        self.shared.len()
    }

    fn __contains__(&self, session_token: &str) -> PyResult<bool> {
        self.shared.contains(session_token)
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __exit__(&self, _exc_type: &Bound<'_, PyAny>, _exc: &Bound<'_, PyAny>, _tb: &Bound<'_, PyAny>) -> bool {
        self.shared.close();
        false
    }

    fn __repr__(&self) -> String {
        self.shared.repr("Monitor")
    }
}

/// The asyncio form of `Monitor`: the same constructor (with an `AsyncClient`, or a
/// `Client`), `add`, `remove`, `len()`, `in` and `close()`; `async for event in monitor`
/// gives the events, and `await monitor.poll(timeout)` a list of the ready ones.
/// Cancelling the awaiting task leaves the monitor running and loses no event.
#[pyclass(frozen, module = "deviceauth.activeconnect", name = "AsyncMonitor")]
pub struct AsyncMonitor {
    shared: Shared,
    events: Arc<tokio::sync::Mutex<MonitorEvents>>,
}

#[pymethods]
impl AsyncMonitor {
    #[new]
    #[pyo3(signature = (client, interval = 5.0, max_in_flight = 100, unreachable_after = 60.0, shard = None))]
    fn new(
        py: Python<'_>,
        client: &Bound<'_, PyAny>,
        interval: f64,
        max_in_flight: i64,
        unreachable_after: f64,
        shard: Option<(i64, i64)>,
    ) -> PyResult<Self> {
        let (shared, events) = Shared::start(py, client, options(interval, max_in_flight, unreachable_after, shard)?)?;
        Ok(AsyncMonitor { shared, events: Arc::new(tokio::sync::Mutex::new(events)) })
    }

    /// Starts watching a session; see `Monitor.add`.
    fn add(&self, py: Python<'_>, session: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.shared.add(py, session)
    }

    /// Stops watching the session with this token; `False` when it was not watched.
    fn remove(&self, session_token: &str) -> PyResult<bool> {
        self.shared.remove(session_token)
    }

    /// Stops the polling; `async for` ends once the remaining events are read.
    fn close(&self) {
        self.shared.close()
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.shared.closed()
    }

    /// `(index, count)` of the shard watched, or `None`.
    #[getter]
    fn shard(&self) -> Option<(u32, u32)> {
        self.shared.shard()
    }

    fn __aiter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.shared.current()?;
        let events = self.events.clone();
        future_into_py(py, async move {
            // A cancelled `recv` loses nothing: the event stays in the channel.
            match events.lock().await.recv().await {
                Some(event) => Ok(EventOut(event)),
                None => Err(PyStopAsyncIteration::new_err(())),
            }
        })
    }

    /// Waits up to `timeout` seconds (`None`: as long as it takes) for an event; the
    /// awaitable gives every event ready then (`[]` when none came). See `Monitor.poll`.
    #[pyo3(signature = (timeout = None))]
    fn poll<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        self.shared.current()?;
        let timeout = poll_timeout(timeout)?;
        let events = self.events.clone();
        future_into_py(py, async move { Ok(EventsOut(ready_events(&mut *events.lock().await, timeout).await)) })
    }

    fn __len__(&self) -> PyResult<usize> {
        self.shared.len()
    }

    fn __contains__(&self, session_token: &str) -> PyResult<bool> {
        self.shared.contains(session_token)
    }

    fn __repr__(&self) -> String {
        self.shared.repr("AsyncMonitor")
    }
}

/// The shard (from 0) that `session_token` falls in among `count` shards: the same
/// stable hash every process and language uses (first 8 bytes of SHA-256, big-endian,
/// modulo `count`). `Monitor(..., shard=(shard_of(token, n), n))` watches it.
#[pyfunction]
pub fn shard_of(session_token: &str, count: i64) -> PyResult<u32> {
    let count = positive_u32("count", Some(count))?.unwrap_or(1);
    Ok(Shard::of(session_token, count))
}

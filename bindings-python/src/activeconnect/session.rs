//! Sign-in sessions (core `activeconnect::Session`) and their status iterators.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use deviceauth::activeconnect::{Session as CoreSession, StatusStream, WaitOptions};
use futures_util::StreamExt;
use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;

use super::{Handle, StatusOut};
use crate::convert::{repr_str, seconds};
use crate::errors::IntoPyResult;
use crate::runtime::{self, future_into_py, interruptible};

/// A core session and the process it belongs to; rebuilt from its data after a fork,
/// on a client of the child's own.
pub struct SessionCore {
    handle: Arc<Handle>,
    current: Mutex<(u32, CoreSession)>,
}

impl SessionCore {
    pub fn new(handle: Arc<Handle>, session: CoreSession) -> Arc<Self> {
        Arc::new(SessionCore { handle, current: Mutex::new((std::process::id(), session)) })
    }

    fn lock(&self) -> MutexGuard<'_, (u32, CoreSession)> {
        self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The last known state (no request, no rebuild).
    pub(crate) fn peek(&self) -> CoreSession {
        self.lock().1.clone()
    }

    /// The core session to send requests with, for this process.
    fn session(&self, py: Python<'_>) -> PyResult<CoreSession> {
        let pid = std::process::id();
        let mut current = self.lock();
        if current.0 != pid {
            let client = self.handle.client(py)?;
            let data = current.1.data();
            *current = (pid, client.resume(data));
        } else {
            crate::logging::refresh(py);
        }
        Ok(current.1.clone())
    }

    fn repr(&self, class: &str, py: Python<'_>) -> PyResult<String> {
        let session = self.peek();
        let user = repr_str(py, &session.user())?;
        let status = repr_str(py, session.status().as_str())?;
        Ok(format!("{class}(user={user}, status={status})"))
    }

    fn seal(&self, key: &[u8]) -> PyResult<String> {
        self.peek().seal(key).py()
    }

    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.peek().data())
            .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("cannot serialize the session: {e}")))
    }
}

fn wait_options(timeout: f64, interval: f64) -> PyResult<WaitOptions> {
    Ok(WaitOptions { interval: seconds("interval", interval)?, deadline: seconds("timeout", timeout)? })
}

/// A user's sign-in session, returned by `Client.authenticate_user` and `Client.resume`.
///
/// `repr()` shows only the user and the status. `to_json()` is sensitive: it holds the
/// session secret, so store it server side only.
#[pyclass(frozen, module = "deviceauth.activeconnect", name = "Session")]
pub struct Session {
    core: Arc<SessionCore>,
}

impl Session {
    pub fn new(core: Arc<SessionCore>) -> Self {
        Session { core }
    }

    /// The session's stored data as last seen (for `Monitor.add`).
    pub(crate) fn data(&self) -> deviceauth::activeconnect::SessionData {
        self.core.peek().data()
    }
}

#[pymethods]
impl Session {
    /// The user id the session belongs to.
    #[getter]
    fn user(&self) -> String {
        self.core.peek().user()
    }

    /// The last status seen (no request), as a `Status` member.
    #[getter]
    fn status(&self) -> StatusOut {
        StatusOut(self.core.peek().status())
    }

    /// The last status seen as the service spelled it (useful when `status` is `UNKNOWN`).
    #[getter]
    fn raw_status(&self) -> String {
        self.core.peek().status().as_str().to_owned()
    }

    /// Polls the status once and returns it. An ended session is not polled again.
    fn refresh(&self, py: Python<'_>) -> PyResult<StatusOut> {
        let session = self.core.session(py)?;
        runtime::block_on(py, async move { session.refresh().await.map(StatusOut).py() })
    }

    /// Polls every `interval` seconds until the session is no longer in progress and
    /// returns that status (`ACTIVE`, or how it ended). Raises `TimeoutError` after
    /// `timeout` seconds. Ctrl-C interrupts it (`KeyboardInterrupt`) within 0.1 s.
    #[pyo3(signature = (timeout = 120.0, interval = 2.0))]
    fn wait(&self, py: Python<'_>, timeout: f64, interval: f64) -> PyResult<StatusOut> {
        let options = wait_options(timeout, interval)?;
        let session = self.core.session(py)?;
        runtime::block_on(py, async move { session.wait(&options).await.map(StatusOut).py() })
    }

    /// An iterator of status changes, polled every `interval` seconds, for as long as the
    /// user stays signed in: it yields on each change and stops after an ended status.
    /// A failed poll raises; iterating again goes on after a transient failure.
    #[pyo3(signature = (interval = 5.0))]
    fn watch(&self, interval: f64) -> PyResult<StatusIterator> {
        Ok(StatusIterator {
            core: self.core.clone(),
            interval: seconds("interval", interval)?,
            stream: Mutex::new(None),
        })
    }

    /// Ends the session at the service: `True` when it closed it, `False` when it was
    /// already over.
    fn logout(&self, py: Python<'_>) -> PyResult<bool> {
        let session = self.core.session(py)?;
        runtime::block_on(py, async move { session.logout().await.py() })
    }

    /// The session's state as JSON, for `Client.resume()` later. Sensitive: it holds the
    /// session secret; keep it server side (never in a cookie or a log).
    fn to_json(&self) -> PyResult<String> {
        self.core.to_json()
    }

    /// The session sealed with `key` (32 bytes): encrypted and authenticated into an
    /// opaque string that may sit in a cookie; `Client.unseal(text, key)` resumes it.
    /// Raises `InvalidArgumentError` for a key that is not 32 bytes.
    fn seal(&self, key: &[u8]) -> PyResult<String> {
        self.core.seal(key)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        self.core.repr("Session", py)
    }
}

/// A watch stream and the process it belongs to (the core's stream is fused, so Python
/// may call `next()` again after the end).
type StreamSlot = Option<(u32, StatusStream)>;

/// The stream for this process, made on first use (and again after a fork).
fn stream_for(slot: &mut StreamSlot, session: CoreSession, interval: Duration) -> &mut StatusStream {
    let pid = std::process::id();
    if slot.as_ref().is_some_and(|(owner, _)| *owner != pid) {
        *slot = None;
    }
    &mut slot.get_or_insert_with(|| (pid, session.watch(interval))).1
}

/// The iterator returned by `Session.watch()`.
#[pyclass(frozen, module = "deviceauth.activeconnect", name = "StatusIterator")]
pub struct StatusIterator {
    core: Arc<SessionCore>,
    interval: Duration,
    stream: Mutex<StreamSlot>,
}

#[pymethods]
impl StatusIterator {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<StatusOut>> {
        let session = self.core.session(py)?;
        let interval = self.interval;
        let runtime = runtime::runtime()?;
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "deviceauth: a blocking call cannot run on the library's own runtime threads",
            ));
        }
        py.detach(|| {
            let mut slot = self.stream.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let stream = stream_for(&mut slot, session, interval);
            runtime.block_on(interruptible(async {
                match stream.next().await {
                    Some(Ok(status)) => Ok(Some(StatusOut(status))),
                    Some(Err(error)) => Err(crate::errors::to_pyerr(error)),
                    None => Ok(None),
                }
            }))
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("<StatusIterator of {}>", self.core.repr("Session", py)?))
    }
}

/// The asyncio form of `Session`, returned by `AsyncClient.authenticate_user` and
/// `AsyncClient.resume`: `refresh`, `wait` and `logout` return awaitables, and `watch`
/// an async iterator. Cancelling the awaiting task stops the polling.
#[pyclass(frozen, module = "deviceauth.activeconnect", name = "AsyncSession")]
pub struct AsyncSession {
    core: Arc<SessionCore>,
}

impl AsyncSession {
    pub fn new(core: Arc<SessionCore>) -> Self {
        AsyncSession { core }
    }

    /// The session's stored data as last seen (for `AsyncMonitor.add`).
    pub(crate) fn data(&self) -> deviceauth::activeconnect::SessionData {
        self.core.peek().data()
    }
}

#[pymethods]
impl AsyncSession {
    /// The user id the session belongs to.
    #[getter]
    fn user(&self) -> String {
        self.core.peek().user()
    }

    /// The last status seen (no request), as a `Status` member.
    #[getter]
    fn status(&self) -> StatusOut {
        StatusOut(self.core.peek().status())
    }

    /// The last status seen as the service spelled it.
    #[getter]
    fn raw_status(&self) -> String {
        self.core.peek().status().as_str().to_owned()
    }

    /// Polls the status once; the awaitable gives the `Status`.
    fn refresh<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let session = self.core.session(py)?;
        future_into_py(py, async move { session.refresh().await.map(StatusOut).py() })
    }

    /// Polls every `interval` seconds until the session is no longer in progress; the
    /// awaitable gives that `Status`, or raises `TimeoutError` after `timeout` seconds.
    #[pyo3(signature = (timeout = 120.0, interval = 2.0))]
    fn wait<'py>(&self, py: Python<'py>, timeout: f64, interval: f64) -> PyResult<Bound<'py, PyAny>> {
        let options = wait_options(timeout, interval)?;
        let session = self.core.session(py)?;
        future_into_py(py, async move { session.wait(&options).await.map(StatusOut).py() })
    }

    /// An async iterator of status changes (`async for status in session.watch(): ...`);
    /// see `Session.watch`.
    #[pyo3(signature = (interval = 5.0))]
    fn watch(&self, interval: f64) -> PyResult<AsyncStatusIterator> {
        Ok(AsyncStatusIterator {
            core: self.core.clone(),
            interval: seconds("interval", interval)?,
            stream: Arc::new(tokio::sync::Mutex::new(None)),
        })
    }

    /// Ends the session at the service; the awaitable gives `True` when it closed it.
    fn logout<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let session = self.core.session(py)?;
        future_into_py(py, async move { session.logout().await.py() })
    }

    /// The session's state as JSON, for `AsyncClient.resume()` later. Sensitive: it holds
    /// the session secret.
    fn to_json(&self) -> PyResult<String> {
        self.core.to_json()
    }

    /// The session sealed with `key` (32 bytes): encrypted and authenticated into an
    /// opaque string that may sit in a cookie; `AsyncClient.unseal(text, key)` resumes it.
    /// Raises `InvalidArgumentError` for a key that is not 32 bytes.
    fn seal(&self, key: &[u8]) -> PyResult<String> {
        self.core.seal(key)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        self.core.repr("AsyncSession", py)
    }
}

/// The async iterator returned by `AsyncSession.watch()`.
#[pyclass(frozen, module = "deviceauth.activeconnect", name = "AsyncStatusIterator")]
pub struct AsyncStatusIterator {
    core: Arc<SessionCore>,
    interval: Duration,
    stream: Arc<tokio::sync::Mutex<StreamSlot>>,
}

#[pymethods]
impl AsyncStatusIterator {
    fn __aiter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let session = self.core.session(py)?;
        let interval = self.interval;
        let stream = self.stream.clone();
        future_into_py(py, async move {
            let mut slot = stream.lock().await;
            match stream_for(&mut slot, session, interval).next().await {
                Some(Ok(status)) => Ok(StatusOut(status)),
                Some(Err(error)) => Err(crate::errors::to_pyerr(error)),
                None => Err(PyStopAsyncIteration::new_err(())),
            }
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("<AsyncStatusIterator of {}>", self.core.repr("AsyncSession", py)?))
    }
}

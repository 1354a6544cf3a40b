//! Core `activeconnect`: the client, sessions and their watch streams. Each method converts
//! its arguments, calls the core and returns the result, or a [`Pending`] call for I/O.
//! The monitors are in `monitor` (in memory) and `store` (store-backed).

pub mod monitor;
pub mod store;

use std::sync::Arc;

use deviceauth::activeconnect::{
    self as core, AttemptLimit, AuthenticateOptions, Method, Session as CoreSession, SessionData, Status, StatusStream,
    WaitOptions, WatchOptions,
};
use futures_util::StreamExt;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

use crate::convert::{Float, Http, Int, Make, Nothing, Text, apply_http, count, seconds, strings, types};
use crate::errors::{IntoPyResult, guarded};
use crate::runtime::Pending;

static STATUS_MEMBERS: PyOnceLock<Vec<Py<PyAny>>> = PyOnceLock::new();
const STATUS_NAMES: [&str; 9] =
    ["PENDING", "IDENTIFYING", "ACTIVE", "WALKAWAY", "TIMEOUT", "CLOSED", "FAILED", "CANCELLED", "UNKNOWN"];

/// A core status, returned to Python as its `deviceauth.activeconnect.Status` member
/// (`UNKNOWN` for a wire value this version does not know; the session keeps the text).
pub struct StatusOut(pub Status);

impl<'py> IntoPyObject<'py> for StatusOut {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let members = STATUS_MEMBERS.get_or_try_init(py, || {
            let class = types(py)?.getattr("Status")?;
            STATUS_NAMES.iter().map(|name| class.getattr(*name).map(Bound::unbind)).collect::<PyResult<Vec<_>>>()
        })?;
        let index = match self.0 {
            Status::Pending => 0,
            Status::Identifying => 1,
            Status::Active => 2,
            Status::Walkaway => 3,
            Status::Timeout => 4,
            Status::Closed => 5,
            Status::Failed => 6,
            Status::Cancelled => 7,
            _ => 8,
        };
        Ok(members[index].bind(py).clone())
    }
}

/// `AddedUsers(created, existing)`.
fn added(added: core::AddedUsers) -> Make<(Vec<String>, Vec<String>)> {
    Make("AddedUsers", (added.created, added.existing))
}

/// `Health(latency, origin)`, the latency in seconds.
fn health(health: core::Health) -> Make<(f64, String)> {
    Make("Health", (health.latency.as_secs_f64(), health.origin))
}

/// The native Activeconnect client (`deviceauth.activeconnect.Client` and `AsyncClient`
/// wrap it).
#[pyclass(frozen, module = "deviceauth._native", name = "Client")]
pub struct Client {
    pub(crate) inner: core::Client,
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (application_id, application_secret, base_url = None, next_application_secret = None, **options))]
    fn new(
        application_id: Text,
        application_secret: Text,
        base_url: Option<Text>,
        next_application_secret: Option<Text>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let mut builder = core::Client::builder(application_id.0, application_secret.0);
        if let Some(url) = base_url {
            builder = builder.base_url(url.0);
        }
        if let Some(next) = next_application_secret {
            builder = builder.next_application_secret(next.0);
        }
        Ok(Client { inner: apply_http!(builder, Http::from_kwargs(options)?)? })
    }

    #[getter]
    fn application_id(&self) -> &str {
        self.inner.application_id()
    }

    #[getter]
    fn base_url(&self) -> &str {
        self.inner.base_url().as_str()
    }

    fn add_users(&self, users: Vec<Text>) -> Pending {
        let (client, users) = (self.inner.clone(), strings(users));
        Pending::new(async move { client.add_users(&users).await.map(added) })
    }

    fn add_user(&self, user: Text) -> Pending {
        let client = self.inner.clone();
        Pending::new(async move { client.add_user(&user).await.map(added) })
    }

    fn delete_users(&self, users: Vec<Text>) -> Pending {
        let (client, users) = (self.inner.clone(), strings(users));
        Pending::new(async move { client.delete_users(&users).await.map(|()| Nothing) })
    }

    #[pyo3(signature = (user, display_name = None))]
    fn device_registration_link(&self, user: Text, display_name: Option<Text>) -> Pending {
        let client = self.inner.clone();
        Pending::new(async move { client.device_registration_link(&user, display_name.as_deref()).await })
    }

    fn has_registered_mobile_device(&self, user: Text) -> Pending {
        let client = self.inner.clone();
        Pending::new(async move { client.has_registered_mobile_device(&user).await })
    }

    /// `Client::health`; with `timeout` (seconds), `Client::health_within` that budget.
    #[pyo3(signature = (timeout = None))]
    fn health(&self, timeout: Option<Float>) -> PyResult<Pending> {
        let budget = seconds("timeout", timeout)?;
        let client = self.inner.clone();
        Ok(Pending::new(async move {
            match budget {
                None => client.health().await,
                Some(budget) => client.health_within(budget).await,
            }
            .map(health)
        }))
    }

    fn lost_user_mobile_device(&self, user: Text) -> Pending {
        let client = self.inner.clone();
        Pending::new(async move { client.lost_user_mobile_device(&user).await })
    }

    #[pyo3(signature = (user, phone_number, display_name = None, message = None))]
    fn send_registration_sms(
        &self,
        user: Text,
        phone_number: Text,
        display_name: Option<Text>,
        message: Option<Text>,
    ) -> Pending {
        let client = self.inner.clone();
        Pending::new(async move {
            let (name, message) = (display_name.as_deref(), message.as_deref());
            client.send_registration_sms(&user, &phone_number, name, message).await.map(|()| Nothing)
        })
    }

    #[pyo3(signature = (user, methods = None, duration_seconds = None))]
    fn authenticate_user(
        &self,
        user: Text,
        methods: Option<Vec<Text>>,
        duration_seconds: Option<Int>,
    ) -> PyResult<Pending> {
        let methods = methods.unwrap_or_default().iter().map(|m| m.parse::<Method>()).collect::<Result<_, _>>().py()?;
        let options = AuthenticateOptions { methods, duration_seconds: count("duration_seconds", duration_seconds)? };
        let client = self.inner.clone();
        Ok(Pending::new(async move { client.authenticate_user(&user, &options).await.map(Session::from) }))
    }

    /// A copy of this client whose sign-ins count against a per-user limit in the store at
    /// `store` (`Client::with_attempt_limit_at`; defaults from `AttemptLimit::default`).
    /// A bad limit raises at once; the store opens in the pending call.
    #[pyo3(signature = (store, attempts = None, window = None, seal_key = None))]
    fn with_attempt_limit(
        &self,
        store: Text,
        attempts: Option<Int>,
        window: Option<Float>,
        seal_key: Option<&[u8]>,
    ) -> PyResult<Pending> {
        let mut limit = AttemptLimit::default();
        limit.attempts = count("attempts", attempts)?.unwrap_or(limit.attempts);
        limit.window = seconds("window", window)?.unwrap_or(limit.window);
        limit.validate().py()?;
        let (client, seal_key) = (self.inner.clone(), seal_key.map(<[u8]>::to_vec));
        Ok(Pending::new(async move {
            let inner = client.with_attempt_limit_at(&store, seal_key.as_deref(), limit).await?;
            Ok(Client { inner })
        }))
    }

    /// A session from its JSON (no request); status and logout URLs outside the allowed
    /// origins are refused.
    fn resume(&self, data: Text) -> PyResult<Session> {
        guarded(|| self.inner.try_resume(SessionData::from_json(&data)?)).map(Session::from)
    }

    fn unseal(&self, sealed: Text, key: &[u8]) -> PyResult<Session> {
        guarded(|| self.inner.unseal(&sealed, key)).map(Session::from)
    }
}

/// The native sign-in session (`Session` and `AsyncSession` wrap it).
#[pyclass(frozen, module = "deviceauth._native", name = "Session")]
pub struct Session {
    pub(crate) inner: CoreSession,
}

impl From<CoreSession> for Session {
    fn from(inner: CoreSession) -> Self {
        Session { inner }
    }
}

#[pymethods]
impl Session {
    #[getter]
    fn user(&self) -> String {
        self.inner.user()
    }

    #[getter]
    fn session_token(&self) -> String {
        self.inner.session_token()
    }

    #[getter]
    fn status(&self) -> StatusOut {
        StatusOut(self.inner.status())
    }

    #[getter]
    fn raw_status(&self) -> String {
        self.inner.status().as_str().to_owned()
    }

    /// One status poll; with `timeout` (seconds), `Session::refresh_within` that budget.
    #[pyo3(signature = (timeout = None))]
    fn refresh(&self, timeout: Option<Float>) -> PyResult<Pending> {
        let budget = seconds("timeout", timeout)?;
        let session = self.inner.clone();
        Ok(Pending::new(async move {
            match budget {
                None => session.refresh().await,
                Some(budget) => session.refresh_within(budget).await,
            }
            .map(StatusOut)
        }))
    }

    #[pyo3(signature = (timeout = None, interval = None))]
    fn wait(&self, timeout: Option<Float>, interval: Option<Float>) -> PyResult<Pending> {
        let mut options = WaitOptions::default();
        options.deadline = seconds("timeout", timeout)?.unwrap_or(options.deadline);
        options.interval = seconds("interval", interval)?.unwrap_or(options.interval);
        options.validate().py()?;
        let session = self.inner.clone();
        Ok(Pending::new(async move { session.wait(&options).await.map(StatusOut) }))
    }

    #[pyo3(signature = (interval = None))]
    fn watch(&self, interval: Option<Float>) -> PyResult<Watch> {
        let mut options = WatchOptions::default();
        options.interval = seconds("interval", interval)?.unwrap_or(options.interval);
        options.validate().py()?;
        Ok(Watch { session: self.inner.clone(), options, stream: Arc::default() })
    }

    fn logout(&self) -> Pending {
        let session = self.inner.clone();
        Pending::new(async move { session.logout().await })
    }

    fn to_json(&self) -> String {
        self.inner.data().to_json()
    }

    fn seal(&self, key: &[u8]) -> PyResult<String> {
        guarded(|| self.inner.seal(key))
    }
}

/// A session's status changes (`Session.watch`): `next()` gives the next change, or `None`
/// once the session ended. The stream is made on first use and made again after a defect.
#[pyclass(frozen, module = "deviceauth._native", name = "Watch")]
pub struct Watch {
    session: CoreSession,
    options: WatchOptions,
    stream: Arc<tokio::sync::Mutex<Option<StatusStream>>>,
}

#[pymethods]
impl Watch {
    fn next(&self) -> Pending {
        let (session, options, stream) = (self.session.clone(), self.options, self.stream.clone());
        Pending::new(async move {
            let mut slot = stream.lock().await;
            let changes = slot.get_or_insert_with(|| session.watch_with(&options));
            let next = deviceauth::ffi::guard(async { Ok(changes.next().await) }).await;
            if next.is_err() {
                *slot = None;
            }
            next?.transpose().map(|status| status.map(StatusOut))
        })
    }
}

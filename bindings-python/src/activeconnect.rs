//! `deviceauth.activeconnect`: the application clients (core `activeconnect::Client`).

pub mod monitor;
pub mod session;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use deviceauth::Secret;
use deviceauth::activeconnect::{self as core, AuthenticateOptions, Method, SessionData, Status};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyType};

use crate::convert::{Nothing, dumps, positive_u32, repr_str, seconds};
use crate::errors::{IntoPyResult, invalid};
use crate::retry::RetryPolicy;
use crate::runtime::{block_on, future_into_py};
use session::{AsyncSession, Session, SessionCore};

static STATUS_CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The `deviceauth.activeconnect.Status` member for a core status (`UNKNOWN` for a wire
/// value this version does not know; the raw string is kept by the session).
pub fn status_member<'py>(py: Python<'py>, status: &Status) -> PyResult<Bound<'py, PyAny>> {
    let class = STATUS_CLASS.import(py, "deviceauth._types", "Status")?;
    let name = match status {
        Status::Pending => "PENDING",
        Status::Identifying => "IDENTIFYING",
        Status::Active => "ACTIVE",
        Status::Walkaway => "WALKAWAY",
        Status::Timeout => "TIMEOUT",
        Status::Closed => "CLOSED",
        Status::Failed => "FAILED",
        Status::Cancelled => "CANCELLED",
        Status::Unknown(_) => "UNKNOWN",
    };
    class.getattr(name)
}

/// A core status, returned to Python as its `Status` member.
pub struct StatusOut(pub Status);

impl<'py> IntoPyObject<'py> for StatusOut {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        status_member(py, &self.0)
    }
}

/// `methods=` as core methods: `Method` members or their strings, in any case.
fn authenticate_options(methods: Option<Vec<String>>, duration_seconds: Option<i64>) -> PyResult<AuthenticateOptions> {
    let methods =
        methods.unwrap_or_default().iter().map(|m| m.parse::<Method>()).collect::<Result<Vec<_>, _>>().py()?;
    Ok(AuthenticateOptions { methods, duration_seconds: positive_u32("duration_seconds", duration_seconds)? })
}

/// Stored `SessionData`: the text of `Session.to_json()`, or the dict it parses to.
pub(crate) fn session_data(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<SessionData> {
    let text: String = match data.cast::<PyString>() {
        Ok(text) => text.extract()?,
        Err(_) if data.is_instance_of::<pyo3::types::PyDict>() => dumps(py, data)?,
        Err(_) => {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "session data must be the str from Session.to_json() or the dict it parses to",
            ));
        }
    };
    serde_json::from_str(&text).map_err(|e| {
        // serde's messages may quote a value (the secret, say): keep only what is safe.
        let detail = e.to_string();
        let why = if detail.starts_with("missing field") || detail.starts_with("unknown field") {
            detail.split(" at line").next().unwrap_or_default().to_owned()
        } else {
            format!("not the JSON of a session (line {}, column {})", e.line(), e.column())
        };
        invalid(format!("session data: {why}"))
    })
}

/// Which users `add_users` created and which already existed.
#[pyclass(frozen, eq, module = "deviceauth.activeconnect", name = "AddedUsers")]
#[derive(Clone, PartialEq, Eq)]
pub struct AddedUsers {
    /// Users the call created.
    #[pyo3(get)]
    created: Vec<String>,
    /// Users that existed before the call.
    #[pyo3(get)]
    existing: Vec<String>,
}

impl From<core::AddedUsers> for AddedUsers {
    fn from(added: core::AddedUsers) -> Self {
        AddedUsers { created: added.created, existing: added.existing }
    }
}

#[pymethods]
impl AddedUsers {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let created = self.created.as_slice().into_pyobject(py)?.repr()?;
        let existing = self.existing.as_slice().into_pyobject(py)?.repr()?;
        Ok(format!("AddedUsers(created={created}, existing={existing})"))
    }
}

/// What a client is built from, kept to rebuild it in a forked child.
struct Settings {
    application_id: String,
    application_secret: Secret,
    base_url: Option<String>,
    timeout: Duration,
    retry: Option<deviceauth::RetryPolicy>,
    user_agent: Option<String>,
    allow_insecure_http: bool,
}

impl Settings {
    fn build(&self) -> deviceauth::Result<core::Client> {
        let mut builder = core::Client::builder(self.application_id.clone(), self.application_secret.clone())
            .timeout(self.timeout)
            .allow_insecure_http(self.allow_insecure_http);
        if let Some(url) = &self.base_url {
            builder = builder.base_url(url.clone());
        }
        if let Some(policy) = self.retry {
            builder = builder.retry_policy(policy);
        }
        if let Some(agent) = &self.user_agent {
            builder = builder.user_agent(agent.clone());
        }
        builder.build()
    }
}

/// A core client and the process it belongs to. reqwest's pooled connections belong to the
/// runtime that opened them, so a forked child builds its own client.
pub struct Handle {
    settings: Settings,
    current: Mutex<(u32, core::Client)>,
}

impl Handle {
    #[allow(clippy::too_many_arguments)]
    fn new(
        application_id: String,
        application_secret: String,
        base_url: Option<String>,
        timeout: f64,
        retry: Option<PyRef<'_, RetryPolicy>>,
        user_agent: Option<String>,
        allow_insecure_http: bool,
    ) -> PyResult<Arc<Handle>> {
        let settings = Settings {
            application_id,
            application_secret: Secret::from(application_secret),
            base_url,
            timeout: seconds("timeout", timeout)?,
            retry: retry.map(|r| r.inner),
            user_agent,
            allow_insecure_http,
        };
        let client = settings.build().py()?;
        Ok(Arc::new(Handle { settings, current: Mutex::new((std::process::id(), client)) }))
    }

    fn lock(&self) -> MutexGuard<'_, (u32, core::Client)> {
        self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The core client for this process (rebuilt after a fork). Also picks up the
    /// `deviceauth` logger's level, as every API call does.
    pub fn client(&self, py: Python<'_>) -> PyResult<core::Client> {
        crate::logging::refresh(py);
        let pid = std::process::id();
        let mut current = self.lock();
        if current.0 != pid {
            *current = (pid, self.settings.build().py()?);
        }
        Ok(current.1.clone())
    }

    fn repr(&self, py: Python<'_>, class: &str) -> PyResult<String> {
        let client = self.lock().1.clone();
        Ok(format!(
            "{class}(application_id={}, base_url={})",
            repr_str(py, client.application_id())?,
            repr_str(py, client.base_url().as_str())?
        ))
    }
}

/// A client for one Activeconnect (IAMPASS) application: manage users and start sign-ins.
///
/// Every call blocks with the GIL released; `AsyncClient` has the same methods for asyncio.
/// Bad values raise `InvalidArgumentError` before any request is sent.
///
/// `base_url` defaults to `$ACTIVE_CONNECT_SERVER` (then `$IAMPASS_SERVER`), else the
/// production service. `timeout` is the limit in seconds of one HTTP request; `retry` says
/// how idempotent calls are retried. The client is thread-safe and safe to use after
/// `os.fork()` (the child builds its own connection pool).
#[pyclass(frozen, module = "deviceauth.activeconnect", name = "Client")]
pub struct Client {
    handle: Arc<Handle>,
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (application_id, application_secret, base_url = None, timeout = 10.0, retry = None, user_agent = None, allow_insecure_http = false))]
    fn new(
        application_id: String,
        application_secret: String,
        base_url: Option<String>,
        timeout: f64,
        retry: Option<PyRef<'_, RetryPolicy>>,
        user_agent: Option<String>,
        allow_insecure_http: bool,
    ) -> PyResult<Self> {
        let handle =
            Handle::new(application_id, application_secret, base_url, timeout, retry, user_agent, allow_insecure_http)?;
        Ok(Client { handle })
    }

    /// The application id.
    #[getter]
    fn application_id(&self) -> String {
        self.handle.lock().1.application_id().to_owned()
    }

    /// The service's base URL.
    #[getter]
    fn base_url(&self) -> String {
        self.handle.lock().1.base_url().to_string()
    }

    /// Registers users with the service. Adding a user twice is harmless: it is reported in
    /// `existing`. Use a random token per user rather than a name, as the service advises.
    fn add_users(&self, py: Python<'_>, users: Vec<String>) -> PyResult<AddedUsers> {
        let client = self.handle.client(py)?;
        block_on(py, async move { client.add_users(&users).await.map(AddedUsers::from).py() })
    }

    /// Registers one user; see `add_users`.
    fn add_user(&self, py: Python<'_>, user: String) -> PyResult<AddedUsers> {
        let client = self.handle.client(py)?;
        block_on(py, async move { client.add_user(&user).await.map(AddedUsers::from).py() })
    }

    /// Removes users from the service.
    fn delete_users(&self, py: Python<'_>, users: Vec<String>) -> PyResult<()> {
        let client = self.handle.client(py)?;
        block_on(py, async move { client.delete_users(&users).await.py() })
    }

    /// The link that registers the user's phone, to open on the phone (e-mail, SMS, QR
    /// code). `display_name` is what the phone app shows for this account.
    #[pyo3(signature = (user, display_name = None))]
    fn device_registration_link(&self, py: Python<'_>, user: String, display_name: Option<String>) -> PyResult<String> {
        let client = self.handle.client(py)?;
        block_on(py, async move { client.device_registration_link(&user, display_name.as_deref()).await.py() })
    }

    /// Whether the user has registered a phone.
    fn has_registered_mobile_device(&self, py: Python<'_>, user: String) -> PyResult<bool> {
        let client = self.handle.client(py)?;
        block_on(py, async move { client.has_registered_mobile_device(&user).await.py() })
    }

    /// Disables the user's phone and returns a new registration link.
    fn lost_user_mobile_device(&self, py: Python<'_>, user: String) -> PyResult<String> {
        let client = self.handle.client(py)?;
        block_on(py, async move { client.lost_user_mobile_device(&user).await.py() })
    }

    /// Has the service text the registration link to `phone_number` (E.164, e.g.
    /// `+15550100`). Never retried once the request may have been sent.
    #[pyo3(signature = (user, phone_number, display_name = None, message = None))]
    fn send_registration_sms(
        &self,
        py: Python<'_>,
        user: String,
        phone_number: String,
        display_name: Option<String>,
        message: Option<String>,
    ) -> PyResult<()> {
        let client = self.handle.client(py)?;
        block_on(py, async move {
            client.send_registration_sms(&user, &phone_number, display_name.as_deref(), message.as_deref()).await.py()
        })
    }

    /// Pushes a sign-in request to the user's phone and returns its `Session`.
    ///
    /// `methods` (`Method` members or strings) limits how the user may answer; leave it out
    /// to let the service choose (preferred). `duration_seconds` is the session's lifetime
    /// once active. A refusal raises `NotStartedError` with `.reason` (e.g.
    /// `NO_MOBILE_DEVICE`). Never retried once the request may have been sent.
    #[pyo3(signature = (user, methods = None, duration_seconds = None))]
    fn authenticate_user(
        &self,
        py: Python<'_>,
        user: String,
        methods: Option<Vec<String>>,
        duration_seconds: Option<i64>,
    ) -> PyResult<Session> {
        let options = authenticate_options(methods, duration_seconds)?;
        let client = self.handle.client(py)?;
        let session = block_on(py, async move { client.authenticate_user(&user, &options).await.py() })?;
        Ok(Session::new(SessionCore::new(self.handle.clone(), session)))
    }

    /// A `Session` from stored data: the text of `Session.to_json()`, or the dict it
    /// parses to. No request is sent.
    fn resume(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Session> {
        let data = session_data(py, data)?;
        let session = self.handle.client(py)?.resume(data);
        Ok(Session::new(SessionCore::new(self.handle.clone(), session)))
    }

    /// A `Session` from the text of `Session.seal(key)`. Raises `InvalidArgumentError` when
    /// the text was altered or truncated, or sealed with another key or application.
    fn unseal(&self, py: Python<'_>, sealed: &str, key: &[u8]) -> PyResult<Session> {
        let session = self.handle.client(py)?.unseal(sealed, key).py()?;
        Ok(Session::new(SessionCore::new(self.handle.clone(), session)))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        self.handle.repr(py, "Client")
    }
}

/// The asyncio form of `Client`: the same constructor and methods, each returning an
/// awaitable. Cancelling the awaiting task cancels the request.
#[pyclass(frozen, module = "deviceauth.activeconnect", name = "AsyncClient")]
pub struct AsyncClient {
    handle: Arc<Handle>,
}

#[pymethods]
impl AsyncClient {
    #[new]
    #[pyo3(signature = (application_id, application_secret, base_url = None, timeout = 10.0, retry = None, user_agent = None, allow_insecure_http = false))]
    fn new(
        application_id: String,
        application_secret: String,
        base_url: Option<String>,
        timeout: f64,
        retry: Option<PyRef<'_, RetryPolicy>>,
        user_agent: Option<String>,
        allow_insecure_http: bool,
    ) -> PyResult<Self> {
        let handle =
            Handle::new(application_id, application_secret, base_url, timeout, retry, user_agent, allow_insecure_http)?;
        Ok(AsyncClient { handle })
    }

    /// The application id.
    #[getter]
    fn application_id(&self) -> String {
        self.handle.lock().1.application_id().to_owned()
    }

    /// The service's base URL.
    #[getter]
    fn base_url(&self) -> String {
        self.handle.lock().1.base_url().to_string()
    }

    /// Registers users with the service; see `Client.add_users`.
    fn add_users<'py>(&self, py: Python<'py>, users: Vec<String>) -> PyResult<Bound<'py, PyAny>> {
        let client = self.handle.client(py)?;
        future_into_py(py, async move { client.add_users(&users).await.map(AddedUsers::from).py() })
    }

    /// Registers one user; see `Client.add_users`.
    fn add_user<'py>(&self, py: Python<'py>, user: String) -> PyResult<Bound<'py, PyAny>> {
        let client = self.handle.client(py)?;
        future_into_py(py, async move { client.add_user(&user).await.map(AddedUsers::from).py() })
    }

    /// Removes users from the service.
    fn delete_users<'py>(&self, py: Python<'py>, users: Vec<String>) -> PyResult<Bound<'py, PyAny>> {
        let client = self.handle.client(py)?;
        future_into_py(py, async move { client.delete_users(&users).await.map(|()| Nothing).py() })
    }

    /// The link that registers the user's phone; see `Client.device_registration_link`.
    #[pyo3(signature = (user, display_name = None))]
    fn device_registration_link<'py>(
        &self,
        py: Python<'py>,
        user: String,
        display_name: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.handle.client(py)?;
        future_into_py(py, async move { client.device_registration_link(&user, display_name.as_deref()).await.py() })
    }

    /// Whether the user has registered a phone.
    fn has_registered_mobile_device<'py>(&self, py: Python<'py>, user: String) -> PyResult<Bound<'py, PyAny>> {
        let client = self.handle.client(py)?;
        future_into_py(py, async move { client.has_registered_mobile_device(&user).await.py() })
    }

    /// Disables the user's phone and returns a new registration link.
    fn lost_user_mobile_device<'py>(&self, py: Python<'py>, user: String) -> PyResult<Bound<'py, PyAny>> {
        let client = self.handle.client(py)?;
        future_into_py(py, async move { client.lost_user_mobile_device(&user).await.py() })
    }

    /// Has the service text the registration link; see `Client.send_registration_sms`.
    #[pyo3(signature = (user, phone_number, display_name = None, message = None))]
    fn send_registration_sms<'py>(
        &self,
        py: Python<'py>,
        user: String,
        phone_number: String,
        display_name: Option<String>,
        message: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.handle.client(py)?;
        future_into_py(py, async move {
            client
                .send_registration_sms(&user, &phone_number, display_name.as_deref(), message.as_deref())
                .await
                .map(|()| Nothing)
                .py()
        })
    }

    /// Pushes a sign-in request to the user's phone; the awaitable gives an
    /// `AsyncSession`. See `Client.authenticate_user`.
    #[pyo3(signature = (user, methods = None, duration_seconds = None))]
    fn authenticate_user<'py>(
        &self,
        py: Python<'py>,
        user: String,
        methods: Option<Vec<String>>,
        duration_seconds: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = authenticate_options(methods, duration_seconds)?;
        let client = self.handle.client(py)?;
        let handle = self.handle.clone();
        future_into_py(py, async move {
            let session = client.authenticate_user(&user, &options).await.py()?;
            Ok(AsyncSession::new(SessionCore::new(handle, session)))
        })
    }

    /// An `AsyncSession` from stored data (see `Client.resume`). No request is sent.
    fn resume(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<AsyncSession> {
        let data = session_data(py, data)?;
        let session = self.handle.client(py)?.resume(data);
        Ok(AsyncSession::new(SessionCore::new(self.handle.clone(), session)))
    }

    /// A `AsyncSession` from the text of `AsyncSession.seal(key)`. Raises `InvalidArgumentError` when
    /// the text was altered or truncated, or sealed with another key or application.
    fn unseal(&self, py: Python<'_>, sealed: &str, key: &[u8]) -> PyResult<AsyncSession> {
        let session = self.handle.client(py)?.unseal(sealed, key).py()?;
        Ok(AsyncSession::new(SessionCore::new(self.handle.clone(), session)))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        self.handle.repr(py, "AsyncClient")
    }
}

//! `deviceauth.projectinsight`: device activation (core `projectinsight::Client`) and the
//! API-token client.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use deviceauth::Secret;
use deviceauth::projectinsight::{self as core, DeviceInfo};
use pyo3::prelude::*;

use crate::convert::{Json, dumps, positive_u32, repr_str, seconds};
use crate::errors::{IntoPyResult, invalid};
use crate::retry::RetryPolicy;
use crate::runtime::{block_on, future_into_py};

/// An activation request waiting for the user: send them to `url`, where they read the
/// code for `complete_device_activation`.
#[pyclass(frozen, eq, module = "deviceauth.projectinsight", name = "PendingActivation")]
#[derive(Clone, PartialEq, Eq)]
pub struct PendingActivation {
    /// The activation request id.
    #[pyo3(get)]
    id: String,
    /// Where the user approves the device and reads the activation code.
    #[pyo3(get)]
    url: String,
    /// When the request expires (timezone-aware, UTC).
    #[pyo3(get)]
    expires_at: DateTime<Utc>,
}

#[pymethods]
impl PendingActivation {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "PendingActivation(id={}, url={}, expires_at={})",
            repr_str(py, &self.id)?,
            repr_str(py, &self.url)?,
            self.expires_at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
        ))
    }
}

/// A completed activation. `api_token` is the credential: pass it to `with_api_token`
/// and keep it secret; `repr()` never shows it.
#[pyclass(frozen, module = "deviceauth.projectinsight", name = "DeviceActivation")]
pub struct DeviceActivation {
    api_token: Secret,
    /// The id of the activated device.
    #[pyo3(get)]
    device_id: String,
    /// The user the token acts for.
    #[pyo3(get)]
    user_id: String,
    /// When the token expires (timezone-aware, UTC).
    #[pyo3(get)]
    expires_at: DateTime<Utc>,
}

#[pymethods]
impl DeviceActivation {
    /// The API token (sensitive).
    #[getter]
    fn api_token(&self) -> &str {
        self.api_token.expose_secret()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "DeviceActivation(device_id={}, user_id={}, expires_at={}, api_token=[redacted])",
            repr_str(py, &self.device_id)?,
            repr_str(py, &self.user_id)?,
            self.expires_at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
        ))
    }
}

impl From<core::PendingActivation> for PendingActivation {
    fn from(p: core::PendingActivation) -> Self {
        PendingActivation { id: p.id, url: p.url, expires_at: p.expires_at }
    }
}

impl From<core::DeviceActivation> for DeviceActivation {
    fn from(d: core::DeviceActivation) -> Self {
        DeviceActivation {
            api_token: d.api_token,
            device_id: d.device_id,
            user_id: d.user_id,
            expires_at: d.expires_at,
        }
    }
}

/// What a client is built from, kept to rebuild it in a forked child.
struct Settings {
    base_url: String,
    timeout: Duration,
    retry: Option<deviceauth::RetryPolicy>,
    user_agent: Option<String>,
    allow_insecure_http: bool,
}

impl Settings {
    fn build(&self) -> deviceauth::Result<core::Client> {
        let mut builder = core::Client::builder(self.base_url.clone())
            .timeout(self.timeout)
            .allow_insecure_http(self.allow_insecure_http);
        if let Some(policy) = self.retry {
            builder = builder.retry_policy(policy);
        }
        if let Some(agent) = &self.user_agent {
            builder = builder.user_agent(agent.clone());
        }
        builder.build()
    }
}

/// A core client and the process it belongs to (rebuilt in a forked child).
struct Handle {
    settings: Settings,
    current: Mutex<(u32, core::Client)>,
}

impl Handle {
    fn new(
        base_url: String,
        timeout: f64,
        retry: Option<PyRef<'_, RetryPolicy>>,
        user_agent: Option<String>,
        allow_insecure_http: bool,
    ) -> PyResult<Arc<Self>> {
        let timeout = seconds("timeout", timeout)?;
        let settings = Settings { base_url, timeout, retry: retry.map(|r| r.inner), user_agent, allow_insecure_http };
        let client = settings.build().py()?;
        Ok(Arc::new(Handle { settings, current: Mutex::new((std::process::id(), client)) }))
    }

    fn lock(&self) -> MutexGuard<'_, (u32, core::Client)> {
        self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn client(&self, py: Python<'_>) -> PyResult<core::Client> {
        crate::logging::refresh(py);
        let pid = std::process::id();
        let mut current = self.lock();
        if current.0 != pid {
            *current = (pid, self.settings.build().py()?);
        }
        Ok(current.1.clone())
    }

    fn base_url(&self) -> String {
        self.lock().1.base_url().to_string()
    }
}

fn device_info(
    client_agent: String,
    platform: Option<String>,
    device: Option<String>,
    ip_address: Option<String>,
    host_name: Option<String>,
) -> DeviceInfo {
    DeviceInfo { client_agent, platform, device, ip_address, host_name }
}

/// The token, refused at once when it cannot be sent as a header value (the core finds
/// out only when sending, and would retry that like a connection failure).
fn api_token(token: String) -> PyResult<Secret> {
    if token.trim().is_empty() {
        return Err(invalid("api_token must not be empty"));
    }
    if !token.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) {
        return Err(invalid("api_token may only hold printable ASCII characters"));
    }
    Ok(Secret::from(token))
}

/// A client for one Project Insight workspace API, e.g.
/// `https://acme.projectinsight.net/api`: get a per-user API token through device
/// activation, without seeing a password.
///
/// Every call blocks with the GIL released; `AsyncClient` has the same methods for
/// asyncio. Thread-safe and safe to use after `os.fork()`.
#[pyclass(frozen, module = "deviceauth.projectinsight", name = "Client")]
pub struct Client {
    handle: Arc<Handle>,
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (base_url, timeout = 10.0, retry = None, user_agent = None, allow_insecure_http = false))]
    fn new(
        base_url: String,
        timeout: f64,
        retry: Option<PyRef<'_, RetryPolicy>>,
        user_agent: Option<String>,
        allow_insecure_http: bool,
    ) -> PyResult<Self> {
        Ok(Client { handle: Handle::new(base_url, timeout, retry, user_agent, allow_insecure_http)? })
    }

    /// The API base URL (always ending in `/`).
    #[getter]
    fn base_url(&self) -> String {
        self.handle.base_url()
    }

    /// Creates an activation request for the program `client_agent` (e.g. `my-cli/1.0`).
    /// Never retried once the request may have been sent.
    #[pyo3(signature = (client_agent, platform = None, device = None, ip_address = None, host_name = None))]
    fn create_device_activation(
        &self,
        py: Python<'_>,
        client_agent: String,
        platform: Option<String>,
        device: Option<String>,
        ip_address: Option<String>,
        host_name: Option<String>,
    ) -> PyResult<PendingActivation> {
        let info = device_info(client_agent, platform, device, ip_address, host_name);
        let client = self.handle.client(py)?;
        block_on(py, async move { client.create_device_activation(&info).await.map(PendingActivation::from).py() })
    }

    /// Trades the code the user read for an API token. `client_agent` must be the one the
    /// request was created with; `timeout_minutes` is the token's lifetime (default one
    /// year). A refusal raises `NotFoundError` or `UnauthorizedError` whose `.reason` is
    /// `UNKNOWN_REQUEST`, `EXPIRED`, `WRONG_CODE`, `CODE_ALREADY_USED` or
    /// `CLIENT_AGENT_MISMATCH`.
    #[pyo3(signature = (activation_id, code, client_agent, timeout_minutes = None))]
    fn complete_device_activation(
        &self,
        py: Python<'_>,
        activation_id: String,
        code: String,
        client_agent: String,
        timeout_minutes: Option<i64>,
    ) -> PyResult<DeviceActivation> {
        let minutes = positive_u32("timeout_minutes", timeout_minutes)?;
        let client = self.handle.client(py)?;
        block_on(py, async move {
            client
                .complete_device_activation(&activation_id, &code, &client_agent, minutes)
                .await
                .map(DeviceActivation::from)
                .py()
        })
    }

    /// A client that sends `api_token` (e.g. `DeviceActivation.api_token`) with every call.
    fn with_api_token(&self, api_token: String) -> PyResult<ApiClient> {
        Ok(ApiClient { handle: self.handle.clone(), token: self::api_token(api_token)? })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("Client(base_url={})", repr_str(py, &self.handle.base_url())?))
    }
}

/// The asyncio form of `projectinsight.Client`: the same methods, each returning an
/// awaitable.
#[pyclass(frozen, module = "deviceauth.projectinsight", name = "AsyncClient")]
pub struct AsyncClient {
    handle: Arc<Handle>,
}

#[pymethods]
impl AsyncClient {
    #[new]
    #[pyo3(signature = (base_url, timeout = 10.0, retry = None, user_agent = None, allow_insecure_http = false))]
    fn new(
        base_url: String,
        timeout: f64,
        retry: Option<PyRef<'_, RetryPolicy>>,
        user_agent: Option<String>,
        allow_insecure_http: bool,
    ) -> PyResult<Self> {
        Ok(AsyncClient { handle: Handle::new(base_url, timeout, retry, user_agent, allow_insecure_http)? })
    }

    /// The API base URL (always ending in `/`).
    #[getter]
    fn base_url(&self) -> String {
        self.handle.base_url()
    }

    /// Creates an activation request; the awaitable gives a `PendingActivation`.
    #[pyo3(signature = (client_agent, platform = None, device = None, ip_address = None, host_name = None))]
    fn create_device_activation<'py>(
        &self,
        py: Python<'py>,
        client_agent: String,
        platform: Option<String>,
        device: Option<String>,
        ip_address: Option<String>,
        host_name: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let info = device_info(client_agent, platform, device, ip_address, host_name);
        let client = self.handle.client(py)?;
        future_into_py(
            py,
            async move { client.create_device_activation(&info).await.map(PendingActivation::from).py() },
        )
    }

    /// Trades the code for an API token; the awaitable gives a `DeviceActivation`. See
    /// `Client.complete_device_activation`.
    #[pyo3(signature = (activation_id, code, client_agent, timeout_minutes = None))]
    fn complete_device_activation<'py>(
        &self,
        py: Python<'py>,
        activation_id: String,
        code: String,
        client_agent: String,
        timeout_minutes: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let minutes = positive_u32("timeout_minutes", timeout_minutes)?;
        let client = self.handle.client(py)?;
        future_into_py(py, async move {
            client
                .complete_device_activation(&activation_id, &code, &client_agent, minutes)
                .await
                .map(DeviceActivation::from)
                .py()
        })
    }

    /// An `AsyncApiClient` that sends `api_token` with every call.
    fn with_api_token(&self, api_token: String) -> PyResult<AsyncApiClient> {
        Ok(AsyncApiClient { handle: self.handle.clone(), token: self::api_token(api_token)? })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("AsyncClient(base_url={})", repr_str(py, &self.handle.base_url())?))
    }
}

/// A Project Insight client that authenticates with an API token (made by
/// `Client.with_api_token`). `repr()` never shows the token.
#[pyclass(frozen, module = "deviceauth.projectinsight", name = "ApiClient")]
pub struct ApiClient {
    handle: Arc<Handle>,
    token: Secret,
}

#[pymethods]
impl ApiClient {
    /// `GET {base_url}/{path}` and the parsed JSON answer (`None` for an empty body).
    /// Retried like every idempotent call.
    fn get(&self, py: Python<'_>, path: String) -> PyResult<Json> {
        let api = self.handle.client(py)?.with_api_token(self.token.clone());
        block_on(py, async move { api.get(&path).await.map(Json).py() })
    }

    /// `POST {base_url}/{path}` with `body` as JSON, and the parsed JSON answer. Not
    /// retried once the request may have been sent.
    fn post(&self, py: Python<'_>, path: String, body: &Bound<'_, PyAny>) -> PyResult<Json> {
        let body: serde_json::Value =
            serde_json::from_str(&dumps(py, body)?).map_err(|e| invalid(format!("body: {e}")))?;
        let api = self.handle.client(py)?.with_api_token(self.token.clone());
        block_on(py, async move { api.post(&path, &body).await.map(Json).py() })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("ApiClient(base_url={}, api_token=[redacted])", repr_str(py, &self.handle.base_url())?))
    }
}

/// The asyncio form of `ApiClient` (made by `AsyncClient.with_api_token`).
#[pyclass(frozen, module = "deviceauth.projectinsight", name = "AsyncApiClient")]
pub struct AsyncApiClient {
    handle: Arc<Handle>,
    token: Secret,
}

#[pymethods]
impl AsyncApiClient {
    /// `GET {base_url}/{path}`; the awaitable gives the parsed JSON answer.
    fn get<'py>(&self, py: Python<'py>, path: String) -> PyResult<Bound<'py, PyAny>> {
        let api = self.handle.client(py)?.with_api_token(self.token.clone());
        future_into_py(py, async move { api.get(&path).await.map(Json).py() })
    }

    /// `POST {base_url}/{path}` with `body` as JSON; the awaitable gives the parsed answer.
    fn post<'py>(&self, py: Python<'py>, path: String, body: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let body: serde_json::Value =
            serde_json::from_str(&dumps(py, body)?).map_err(|e| invalid(format!("body: {e}")))?;
        let api = self.handle.client(py)?.with_api_token(self.token.clone());
        future_into_py(py, async move { api.post(&path, &body).await.map(Json).py() })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("AsyncApiClient(base_url={}, api_token=[redacted])", repr_str(py, &self.handle.base_url())?))
    }
}

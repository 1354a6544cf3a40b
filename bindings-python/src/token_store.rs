//! Core `projectinsight::TokenStore`: where API tokens are kept between runs.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use deviceauth::Secret;
use deviceauth::projectinsight::{self as core, StoredToken};
use pyo3::prelude::*;

use crate::convert::{Make, Text};
use crate::errors::IntoPyResult;

/// The fields of `StoredToken(base_url, account, api_token, device_id, user_id, client_agent, expires_at)`.
type Fields = (String, String, String, String, String, String, DateTime<Utc>);

/// `deviceauth._types.StoredToken`.
pub fn stored(t: StoredToken) -> Make<Fields> {
    let api_token = t.api_token.expose_secret().to_owned();
    Make("StoredToken", (t.base_url, t.account, api_token, t.device_id, t.user_id, t.client_agent, t.expires_at))
}

/// Runs a blocking store call with the GIL released and panics caught.
fn blocking<T: Send>(py: Python<'_>, call: impl FnOnce() -> deviceauth::Result<T> + Send) -> PyResult<T> {
    py.detach(|| deviceauth::ffi::guard_sync(call)).py()
}

/// The native token store (`projectinsight.TokenStore` wraps it).
#[pyclass(frozen, module = "deviceauth._native", name = "TokenStore")]
pub struct TokenStore {
    pub(crate) inner: core::TokenStore,
}

#[pymethods]
impl TokenStore {
    /// The file at `path`, or (`None`) the OS keyring if one answers, else the default file.
    #[new]
    #[pyo3(signature = (path = None))]
    fn new(path: Option<PathBuf>) -> PyResult<Self> {
        let inner = match path {
            Some(path) => core::TokenStore::file(path),
            None => crate::errors::guarded(core::TokenStore::open_default)?,
        };
        Ok(TokenStore { inner })
    }

    #[staticmethod]
    fn default_path() -> PyResult<PathBuf> {
        crate::errors::guarded(core::TokenStore::default_path)
    }

    #[getter]
    fn location(&self) -> String {
        self.inner.location()
    }

    fn load(&self, py: Python<'_>, base_url: Text, account: Text) -> PyResult<Option<Make<Fields>>> {
        Ok(blocking(py, || self.inner.load(&base_url, &account))?.map(stored))
    }

    #[allow(clippy::too_many_arguments)]
    fn save(
        &self,
        py: Python<'_>,
        base_url: Text,
        account: Text,
        api_token: Text,
        device_id: Text,
        user_id: Text,
        client_agent: Text,
        expires_at: DateTime<Utc>,
    ) -> PyResult<()> {
        let token = StoredToken {
            base_url: base_url.0,
            account: account.0,
            api_token: Secret::from(api_token.0),
            device_id: device_id.0,
            user_id: user_id.0,
            client_agent: client_agent.0,
            expires_at,
        };
        blocking(py, || self.inner.save(&token))
    }

    fn delete(&self, py: Python<'_>, base_url: Text, account: Text) -> PyResult<bool> {
        blocking(py, || self.inner.delete(&base_url, &account))
    }
}

//! Core `projectinsight`: device activation and the API-token client.

use chrono::{DateTime, Utc};
use deviceauth::Secret;
use deviceauth::projectinsight::{self as core, DeviceInfo};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{Http, Int, Make, Text, apply_http, count};
use crate::errors::{IntoPyResult, invalid};
use crate::runtime::Pending;
use crate::token_store::{TokenStore, stored};

/// `PendingActivation(id, url, expires_at)`.
fn pending(p: core::PendingActivation) -> Make<(String, String, DateTime<Utc>)> {
    Make("PendingActivation", (p.id, p.url, p.expires_at))
}

/// `DeviceActivation(api_token, device_id, user_id, expires_at)`.
fn activation(d: core::DeviceActivation) -> Make<(String, String, String, DateTime<Utc>)> {
    Make("DeviceActivation", (d.api_token.expose_secret().to_owned(), d.device_id, d.user_id, d.expires_at))
}

/// The native Project Insight client (`projectinsight.Client` and `AsyncClient` wrap it).
#[pyclass(frozen, module = "deviceauth._native", name = "ProjectInsightClient")]
pub struct Client {
    inner: core::Client,
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (base_url, **options))]
    fn new(base_url: Text, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        Ok(Client { inner: apply_http!(core::Client::builder(base_url.0), Http::from_kwargs(options)?)? })
    }

    #[getter]
    fn base_url(&self) -> &str {
        self.inner.base_url().as_str()
    }

    #[pyo3(signature = (client_agent, platform = None, device = None, ip_address = None, host_name = None))]
    fn create_device_activation(
        &self,
        client_agent: Text,
        platform: Option<Text>,
        device: Option<Text>,
        ip_address: Option<Text>,
        host_name: Option<Text>,
    ) -> Pending {
        let text = |t: Option<Text>| t.map(|t| t.0);
        let info = DeviceInfo {
            client_agent: client_agent.0,
            platform: text(platform),
            device: text(device),
            ip_address: text(ip_address),
            host_name: text(host_name),
        };
        let client = self.inner.clone();
        Pending::new(async move { client.create_device_activation(&info).await.map(pending) })
    }

    #[pyo3(signature = (activation_id, code, client_agent, timeout_minutes = None))]
    fn complete_device_activation(
        &self,
        activation_id: Text,
        code: Text,
        client_agent: Text,
        timeout_minutes: Option<Int>,
    ) -> PyResult<Pending> {
        let minutes = count("timeout_minutes", timeout_minutes)?;
        let client = self.inner.clone();
        Ok(Pending::new(async move {
            let done = client.complete_device_activation(&activation_id, &code, &client_agent, minutes).await;
            done.map(activation)
        }))
    }

    /// `expires_at`: the client refuses the token from then on (less the skew), before sending.
    #[pyo3(signature = (api_token, expires_at = None))]
    fn with_api_token(&self, api_token: Text, expires_at: Option<DateTime<Utc>>) -> PyResult<ApiClient> {
        // Refused now: the core would find out only when sending (as a header value).
        if !api_token.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) {
            return Err(invalid("api_token may only hold printable ASCII characters"));
        }
        if api_token.trim().is_empty() {
            return Err(invalid("api_token must not be empty"));
        }
        let token = Secret::from(api_token.0);
        let inner = match expires_at {
            Some(at) => self.inner.with_api_token_until(token, at),
            None => self.inner.with_api_token(token),
        };
        Ok(ApiClient { inner })
    }

    #[pyo3(signature = (store, account, activation_id, code, client_agent, timeout_minutes = None))]
    fn complete_and_store(
        &self,
        store: &TokenStore,
        account: Text,
        activation_id: Text,
        code: Text,
        client_agent: Text,
        timeout_minutes: Option<Int>,
    ) -> PyResult<Pending> {
        let minutes = count("timeout_minutes", timeout_minutes)?;
        let (client, store) = (self.inner.clone(), store.inner.clone());
        Ok(Pending::new(async move {
            let done = client.complete_and_store(&store, &account, &activation_id, &code, &client_agent, minutes).await;
            done.map(stored)
        }))
    }

    fn stored_api_client(&self, py: Python<'_>, store: &TokenStore, account: Text) -> PyResult<ApiClient> {
        let inner = py.detach(|| deviceauth::ffi::guard_sync(|| self.inner.stored_api_client(&store.inner, &account)));
        Ok(ApiClient { inner: inner.py()? })
    }

    fn reactivate(&self, store: &TokenStore, account: Text) -> Pending {
        let (client, store) = (self.inner.clone(), store.inner.clone());
        Pending::new(async move { client.reactivate(&store, &account).await.map(pending) })
    }
}

/// The native API-token client (`ApiClient` and `AsyncApiClient` wrap it).
#[pyclass(frozen, module = "deviceauth._native", name = "ApiClient")]
pub struct ApiClient {
    inner: core::ApiClient,
}

#[pymethods]
impl ApiClient {
    /// When the token expires, if the client knows.
    #[getter]
    fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.inner.expires_at()
    }

    /// The answer's JSON text (the wrapper parses it).
    fn get(&self, path: Text) -> Pending {
        let api = self.inner.clone();
        Pending::new(async move { api.get_text(&path).await })
    }

    /// `body` is JSON text (the wrapper makes it).
    fn post(&self, path: Text, body: Text) -> Pending {
        let api = self.inner.clone();
        Pending::new(async move { api.post_text(&path, &body).await })
    }
}

//! The Project Insight client and its API-token-carrying sibling.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method as HttpMethod;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use url::Url;

use super::types::{CompleteWire, DeviceActivation, DeviceInfo, PendingActivation, PendingWire};
use crate::transport::{Authorize, Replay, Reply, Request, Transport, TransportConfig};
use crate::{ActivationRejection, Error, Result, Secret};

/// Configures a [`Client`]; made by [`Client::builder`].
#[derive(Debug)]
pub struct ClientBuilder {
    base_url: String,
    transport: TransportConfig,
}

impl ClientBuilder {
    /// Time limit of one HTTP request (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.transport.timeout = timeout;
        self
    }

    /// How idempotent calls are retried (see [`crate::RetryPolicy`]).
    pub fn retry_policy(mut self, policy: crate::RetryPolicy) -> Self {
        self.transport.retry = policy;
        self
    }

    /// The `User-Agent` header (default `deviceauth/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.transport.user_agent = user_agent.into();
        self
    }

    /// Allows plain `http://` to hosts other than loopback (default: only `https://`,
    /// and `http://` to `127.0.0.0/8`, `::1` and `localhost`). Credentials and tokens then
    /// cross the network unencrypted: for test networks only.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.transport.allow_insecure_http = allow;
        self
    }

    /// Checks the settings and builds the client. No request is sent.
    pub fn build(self) -> Result<Client> {
        let text = self.base_url.trim();
        let mut base = Url::parse(text).map_err(|e| Error::invalid(format!("base_url {text:?} is not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(Error::invalid(format!("base_url {text:?} must be an http:// or https:// URL")));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(Error::invalid("base_url must not have a query or fragment"));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let transport = Transport::new(&self.transport)?;
        transport.check_url(&base)?;
        Ok(Client { inner: Arc::new(Inner { base, transport }) })
    }
}

/// A client for one Project Insight workspace API, e.g.
/// `https://acme.projectinsight.net/api`. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    base: Url,
    transport: Transport,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base_url", &self.inner.base.as_str()).finish()
    }
}

impl Client {
    /// A client with default settings for the API at `base_url`.
    pub fn new(base_url: &str) -> Result<Self> {
        Self::builder(base_url).build()
    }

    /// Starts configuring a client for the API at `base_url`.
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder { base_url: base_url.into(), transport: TransportConfig::default() }
    }

    /// The API base URL (always ending in `/`).
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// Creates an activation request. Never retried once the request may have been sent.
    pub async fn create_device_activation(&self, device: &DeviceInfo) -> Result<PendingActivation> {
        device.validate()?;
        let url = self.endpoint("device-activation/create-request")?;
        let body = serde_json::to_vec(device).map_err(|e| Error::invalid(e.to_string()))?;
        let reply = self.send(HttpMethod::POST, url, Some(body), None, Replay::OnlyIfUnsent).await?;
        success(&reply)?.json::<PendingWire>("create-request")?.into_pending()
    }

    /// Trades the code the user read for an API token. `timeout_minutes` is the token's
    /// lifetime (`None`: one year). Surrounding spaces in the code are ignored. A refusal
    /// is [`Error::ActivationRejected`], saying which of unknown, expired, wrong code,
    /// code used or agent mismatch it was.
    pub async fn complete_device_activation(
        &self,
        activation_id: &str,
        code: &str,
        client_agent: &str,
        timeout_minutes: Option<u32>,
    ) -> Result<DeviceActivation> {
        let code = code.trim();
        for (name, value) in
            [("activation id", activation_id), ("activation code", code), ("client_agent", client_agent)]
        {
            if value.trim().is_empty() {
                return Err(Error::invalid(format!("{name} must not be empty")));
            }
        }
        if timeout_minutes == Some(0) {
            return Err(Error::invalid("timeout_minutes must be greater than zero"));
        }
        let mut url = self.endpoint("device-activation/complete-request")?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("activationRequestId", activation_id.trim());
            query.append_pair("activationCode", code);
            query.append_pair("clientAgent", client_agent);
            if let Some(minutes) = timeout_minutes {
                query.append_pair("timeoutMinutes", &minutes.to_string());
            }
        }
        let reply = self.send(HttpMethod::GET, url, None, None, Replay::Safe).await?;
        success(&reply)?.json::<CompleteWire>("complete-request")?.into_activation()
    }

    /// A client that sends `token` as the `api-token` header on every call.
    pub fn with_api_token(&self, token: impl Into<Secret>) -> ApiClient {
        ApiClient { client: self.clone(), token: ApiToken(token.into()) }
    }

    /// `path` resolved against the base URL; only relative paths on the same API.
    fn endpoint(&self, path: &str) -> Result<Url> {
        let path = path.trim_start_matches('/');
        if path.contains("://") || path.starts_with('\\') {
            return Err(Error::invalid(format!("{path:?} must be a path relative to the API base URL")));
        }
        let url = self.inner.base.join(path).map_err(|e| Error::invalid(format!("path {path:?}: {e}")))?;
        if url.origin() != self.inner.base.origin() {
            return Err(Error::invalid(format!("{path:?} leaves the API's host")));
        }
        Ok(url)
    }

    async fn send(
        &self,
        method: HttpMethod,
        url: Url,
        json: Option<Vec<u8>>,
        auth: Option<&dyn Authorize>,
        replay: Replay,
    ) -> Result<Reply> {
        self.inner.transport.send(Request { method, url, json, auth, replay }).await
    }
}

/// A Project Insight client that authenticates with an API token.
#[derive(Clone, Debug)]
pub struct ApiClient {
    client: Client,
    token: ApiToken,
}

impl ApiClient {
    /// `GET {base}/{path}` and the parsed JSON answer. Retried like every idempotent call.
    pub async fn get(&self, path: &str) -> Result<serde_json::Value> {
        self.call(HttpMethod::GET, path, None, Replay::Safe).await
    }

    /// `POST {base}/{path}` with a JSON body, and the parsed JSON answer. Not retried
    /// once the request may have been sent.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> Result<serde_json::Value> {
        self.call(HttpMethod::POST, path, Some(body.to_string().into_bytes()), Replay::OnlyIfUnsent).await
    }

    async fn call(
        &self,
        method: HttpMethod,
        path: &str,
        json: Option<Vec<u8>>,
        replay: Replay,
    ) -> Result<serde_json::Value> {
        let url = self.client.endpoint(path)?;
        let reply = self.client.send(method, url, json, Some(&self.token), replay).await?;
        if reply.body.iter().all(u8::is_ascii_whitespace) && reply.is_success() {
            return Ok(serde_json::Value::Null);
        }
        success(&reply)?.json(path)
    }
}

/// Sends the token as the `api-token` header.
#[derive(Clone, Debug)]
struct ApiToken(Secret);

impl Authorize for ApiToken {
    fn authorize(&self, _url: &Url, headers: &mut HeaderMap) -> Result<()> {
        if self.0.expose_secret().trim().is_empty() {
            return Err(Error::invalid("the API token is empty"));
        }
        let mut value = HeaderValue::from_str(self.0.expose_secret())
            .map_err(|_| Error::invalid("the API token contains characters not allowed in a header"))?;
        value.set_sensitive(true);
        headers.insert(HeaderName::from_static("api-token"), value);
        Ok(())
    }
}

/// The error body Project Insight answers with.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorWire {
    error_code: Option<String>,
}

/// The reply when it is 2xx, else the error it means, refused activations named.
pub(crate) fn success(reply: &Reply) -> Result<&Reply> {
    if reply.is_success() {
        return Ok(reply);
    }
    let code = serde_json::from_slice::<ErrorWire>(&reply.body).ok().and_then(|e| e.error_code);
    match code.as_deref().and_then(ActivationRejection::from_error_code) {
        Some(reason) => Err(Error::ActivationRejected {
            reason,
            status: reply.status,
            message: format!("{}: {}", reason.describe(), reply.message()),
        }),
        None => Err(reply.status_error()),
    }
}

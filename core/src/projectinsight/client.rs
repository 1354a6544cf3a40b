//! The Project Insight client and its API-token-carrying sibling.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use reqwest::Method as HttpMethod;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use url::Url;

use super::types::{CompleteWire, DeviceActivation, DeviceInfo, PendingActivation, PendingWire};
use crate::telemetry::Endpoint;
use crate::transport::{
    Authorize, HttpOptions, Replay, Reply, Request, Transport, http_builder_methods, parse_base_url,
};
use crate::{ActivationRejection, Error, Result, Secret};

/// Configures a [`Client`]; made by [`Client::builder`].
#[derive(Debug)]
pub struct ClientBuilder {
    base_url: String,
    http: HttpOptions,
}

impl ClientBuilder {
    http_builder_methods!();

    /// Checks the settings and builds the client. No request is sent.
    pub fn build(self) -> Result<Client> {
        let base = api_base(&self.base_url)?;
        let transport = Transport::new(&self.http, &base)?;
        Ok(Client { inner: Arc::new(Inner { base, transport }) })
    }
}

/// `base_url` checked and ending in `/`: the form clients and stored tokens use.
pub(crate) fn api_base(base_url: &str) -> Result<Url> {
    let mut base = parse_base_url(base_url)?;
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    Ok(base)
}

/// How long before its expiry an API token is already refused (clocks differ and a
/// request takes time): 30 seconds. See [`ApiClient::with_expiry_skew`].
pub const DEFAULT_EXPIRY_SKEW: Duration = Duration::from_secs(30);

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
        ClientBuilder { base_url: base_url.into(), http: HttpOptions::default() }
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
        let request = Request {
            endpoint: Endpoint::projectinsight("create_device_activation"),
            session: None,
            method: HttpMethod::POST,
            url,
            json: Some(body),
            auth: None,
            replay: Replay::OnlyIfUnsent,
            secrets: vec![],
        };
        let reply = self.send(request).await?;
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
        let request = Request {
            endpoint: Endpoint::projectinsight("complete_device_activation"),
            session: None,
            method: HttpMethod::GET,
            url,
            json: None,
            auth: None,
            replay: Replay::Safe,
            secrets: vec![code],
        };
        let reply = self.send(request).await?;
        success(&reply)?.json::<CompleteWire>("complete-request")?.into_activation()
    }

    /// A client that sends `token` as the `api-token` header on every call. It does not
    /// know when the token expires: prefer [`Client::with_api_token_until`].
    pub fn with_api_token(&self, token: impl Into<Secret>) -> ApiClient {
        ApiClient { client: self.clone(), token: ApiToken(token.into()), expiry: None }
    }

    /// A client that sends `token` until `expires_at`: from then on (less
    /// [`DEFAULT_EXPIRY_SKEW`]) every call fails with [`Error::Expired`] before sending.
    pub fn with_api_token_until(&self, token: impl Into<Secret>, expires_at: DateTime<Utc>) -> ApiClient {
        let expiry = Some(Expiry { at: expires_at, skew: DEFAULT_EXPIRY_SKEW });
        ApiClient { client: self.clone(), token: ApiToken(token.into()), expiry }
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

    async fn send(&self, request: Request<'_>) -> Result<Reply> {
        self.inner.transport.send(request).await
    }
}

/// A Project Insight client that authenticates with an API token.
#[derive(Clone, Debug)]
pub struct ApiClient {
    client: Client,
    token: ApiToken,
    expiry: Option<Expiry>,
}

/// When a token expires, and how early it is refused.
#[derive(Clone, Copy, Debug)]
struct Expiry {
    at: DateTime<Utc>,
    skew: Duration,
}

impl ApiClient {
    /// When the token expires, if the client was told ([`Client::with_api_token_until`]).
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expiry.map(|e| e.at)
    }

    /// Refuses the token `skew` before its expiry instead of [`DEFAULT_EXPIRY_SKEW`].
    pub fn with_expiry_skew(mut self, skew: Duration) -> ApiClient {
        if let Some(expiry) = &mut self.expiry {
            expiry.skew = skew;
        }
        self
    }

    /// [`Error::Expired`] if the token expires within the skew from now; else nothing.
    pub fn check_expiry(&self) -> Result<()> {
        let Some(Expiry { at, skew }) = self.expiry else { return Ok(()) };
        let skew = chrono::Duration::from_std(skew).unwrap_or(chrono::Duration::MAX);
        let now = Utc::now();
        if now.checked_add_signed(skew).is_none_or(|soon| soon >= at) {
            let when = at.format("%Y-%m-%d %H:%M:%S UTC");
            let message = if now >= at {
                format!("the API token expired at {when}; run the device activation again")
            } else {
                format!("the API token expires at {when}, too soon to use; run the device activation again")
            };
            return Err(Error::Expired { expires_at: at, message });
        }
        Ok(())
    }

    /// `GET {base}/{path}` and the parsed JSON answer. Retried like every idempotent call.
    pub async fn get(&self, path: &str) -> Result<serde_json::Value> {
        self.call(HttpMethod::GET, path, None, Replay::Safe).await?.json(path)
    }

    /// `POST {base}/{path}` with a JSON body, and the parsed JSON answer. Not retried
    /// once the request may have been sent.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> Result<serde_json::Value> {
        let body = body.to_string().into_bytes();
        self.call(HttpMethod::POST, path, Some(body), Replay::OnlyIfUnsent).await?.json(path)
    }

    /// Like [`ApiClient::get`], but the answer as JSON text (checked to be JSON; an
    /// empty answer is `null`), for a binding that parses it itself.
    pub async fn get_text(&self, path: &str) -> Result<String> {
        self.call(HttpMethod::GET, path, None, Replay::Safe).await?.text(path)
    }

    /// Like [`ApiClient::post`], with the body given as JSON text (`INVALID_ARGUMENT`
    /// when it is not JSON) and the answer as JSON text.
    pub async fn post_text(&self, path: &str, body_json_text: &str) -> Result<String> {
        serde_json::from_str::<serde::de::IgnoredAny>(body_json_text)
            .map_err(|e| Error::invalid(format!("the body is not JSON (line {}, column {})", e.line(), e.column())))?;
        let body = body_json_text.as_bytes().to_vec();
        self.call(HttpMethod::POST, path, Some(body), Replay::OnlyIfUnsent).await?.text(path)
    }

    async fn call(&self, method: HttpMethod, path: &str, json: Option<Vec<u8>>, replay: Replay) -> Result<Answer> {
        self.check_expiry()?;
        let url = self.client.endpoint(path)?;
        let endpoint = Endpoint::projectinsight(if method == HttpMethod::GET { "api_get" } else { "api_post" });
        let request =
            Request { endpoint, session: None, method, url, json, auth: Some(&self.token), replay, secrets: vec![] };
        let reply = self.client.send(request).await?;
        success(&reply)?;
        Ok(Answer(reply))
    }
}

/// A 2xx answer of the API.
struct Answer(Reply);

impl Answer {
    fn is_empty(&self) -> bool {
        self.0.body.iter().all(u8::is_ascii_whitespace)
    }

    fn json(self, path: &str) -> Result<serde_json::Value> {
        if self.is_empty() { Ok(serde_json::Value::Null) } else { self.0.json(path) }
    }

    fn text(self, path: &str) -> Result<String> {
        if self.is_empty() {
            return Ok("null".to_owned());
        }
        self.0.json::<serde::de::IgnoredAny>(path)?;
        String::from_utf8(self.0.body.to_vec()).map_err(|_| Error::protocol(format!("{path}: the answer is not UTF-8")))
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

    fn secrets(&self) -> Vec<&str> {
        vec![self.0.expose_secret()]
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

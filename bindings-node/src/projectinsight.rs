//! `projectinsight`: the core's device-activation client and API client.

use chrono::{DateTime, Utc};
use deviceauth::projectinsight as core;
use napi::Env;
use napi_derive::napi;

use crate::errors::{self, CoreError};
use crate::token_store::{StoredToken, TokenStore};
use crate::settle::{self, Promise};
use crate::{HttpOptions, whole};

/// The program asking for a token; the face checked the JS types.
#[napi(object)]
pub struct DeviceInfo {
    pub client_agent: String,
    pub platform: Option<String>,
    pub device: Option<String>,
    pub ip_address: Option<String>,
    pub host_name: Option<String>,
}

impl From<DeviceInfo> for core::DeviceInfo {
    fn from(info: DeviceInfo) -> Self {
        let mut result = core::DeviceInfo::new(info.client_agent);
        result.platform = info.platform;
        result.device = info.device;
        result.ip_address = info.ip_address;
        result.host_name = info.host_name;
        result
    }
}

#[napi(object, object_from_js = false)]
pub struct PendingActivation {
    pub id: String,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// A completed activation; the face keeps `apiToken` out of sight.
#[napi(object, object_from_js = false)]
pub struct DeviceActivation {
    pub api_token: String,
    pub device_id: String,
    pub user_id: String,
    pub expires_at: DateTime<Utc>,
}

#[napi]
pub struct PiClient {
    inner: core::Client,
}

#[napi]
impl PiClient {
    #[napi(constructor)]
    pub fn new(env: Env, base_url: String, http: HttpOptions) -> napi::Result<Self> {
        let _runtime = settle::RUNTIME.enter();
        errors::sync(&env, || http.apply(core::Client::builder(base_url))?.build()).map(|inner| PiClient { inner })
    }

    #[napi(getter)]
    pub fn base_url(&self) -> String {
        self.inner.base_url().to_string()
    }

    #[napi(ts_return_type = "Promise<PendingActivation>")]
    pub fn create_device_activation(&self, env: Env, device: DeviceInfo) -> napi::Result<Promise> {
        let client = self.inner.clone();
        settle::promise(&env, async move {
            let pending = client.create_device_activation(&device.into()).await?;
            Ok(PendingActivation { id: pending.id, url: pending.url, expires_at: pending.expires_at })
        })
    }

    #[napi(ts_return_type = "Promise<DeviceActivation>")]
    pub fn complete_device_activation(
        &self,
        env: Env,
        activation_id: String,
        code: String,
        client_agent: String,
        timeout_minutes: Option<f64>,
    ) -> napi::Result<Promise> {
        let client = self.inner.clone();
        let minutes = timeout_minutes.map(|m| whole("timeoutMinutes", m, u32::MAX.into()).map(|m| m as u32)).transpose();
        settle::promise(&env, async move {
            let done = client.complete_device_activation(&activation_id, &code, &client_agent, minutes?).await?;
            Ok(DeviceActivation {
                api_token: done.api_token.expose_secret().to_owned(),
                device_id: done.device_id,
                user_id: done.user_id,
                expires_at: done.expires_at,
            })
        })
    }

    /// `expires_at_ms`: the client refuses the token from then on (less the skew).
    #[napi]
    pub fn with_api_token(&self, env: Env, api_token: String, expires_at_ms: Option<f64>) -> napi::Result<PiApiClient> {
        errors::sync(&env, || {
            let inner = match expires_at_ms {
                None => self.inner.with_api_token(api_token),
                Some(ms) => {
                    let at = Some(ms).filter(|ms| ms.is_finite()).and_then(|ms| DateTime::from_timestamp_millis(ms as i64));
                    let at = at.ok_or_else(|| CoreError::InvalidArgument("expiresAt must be a valid Date".into()))?;
                    self.inner.with_api_token_until(api_token, at)
                }
            };
            Ok(PiApiClient { inner })
        })
    }

    /// The core's arguments, one for one (the face gathers them from an options object).
    #[allow(clippy::too_many_arguments)]
    #[napi(ts_return_type = "Promise<StoredToken>")]
    pub fn complete_and_store(
        &self,
        env: Env,
        store: &TokenStore,
        account: String,
        activation_id: String,
        code: String,
        client_agent: String,
        timeout_minutes: Option<f64>,
    ) -> napi::Result<Promise> {
        let (client, store) = (self.inner.clone(), store.inner.clone());
        let minutes = timeout_minutes.map(|m| whole("timeoutMinutes", m, u32::MAX.into()).map(|m| m as u32)).transpose();
        settle::promise(&env, async move {
            let done = client.complete_and_store(&store, &account, &activation_id, &code, &client_agent, minutes?).await;
            done.map(StoredToken::from)
        })
    }

    /// Reads the store (no lock is taken for a read): synchronous.
    #[napi]
    pub fn stored_api_client(&self, env: Env, store: &TokenStore, account: String) -> napi::Result<PiApiClient> {
        errors::sync(&env, || Ok(PiApiClient { inner: self.inner.stored_api_client(&store.inner, &account)? }))
    }

    #[napi(ts_return_type = "Promise<PendingActivation>")]
    pub fn reactivate(&self, env: Env, store: &TokenStore, account: String) -> napi::Result<Promise> {
        let (client, store) = (self.inner.clone(), store.inner.clone());
        settle::promise(&env, async move {
            let pending = client.reactivate(&store, &account).await?;
            Ok(PendingActivation { id: pending.id, url: pending.url, expires_at: pending.expires_at })
        })
    }
}

#[napi]
pub struct PiApiClient {
    inner: core::ApiClient,
}

#[napi]
impl PiApiClient {
    /// When the token expires, if the client knows.
    #[napi(getter)]
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.inner.expires_at()
    }

    /// The answer's JSON text (the face parses it).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn get_text(&self, env: Env, path: String) -> napi::Result<Promise> {
        let client = self.inner.clone();
        settle::promise(&env, async move { client.get_text(&path).await })
    }

    /// `body` is JSON text; the answer's JSON text.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn post_text(&self, env: Env, path: String, body: String) -> napi::Result<Promise> {
        let client = self.inner.clone();
        settle::promise(&env, async move { client.post_text(&path, &body).await })
    }
}

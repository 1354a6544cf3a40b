//! `projectinsight.TokenStore`: the core's store of API tokens (a private file or the OS
//! keyring). Saves and deletes (which may wait for another process's lock) are Promises.

use chrono::{DateTime, Utc};
use deviceauth::projectinsight as core;
use napi::Env;
use napi_derive::napi;

use crate::errors::{self, CoreError};
use crate::settle::{self, Promise};

/// A stored token as JS sees it; the face keeps `apiToken` out of sight.
#[napi(object, object_from_js = false)]
pub struct StoredToken {
    pub base_url: String,
    pub account: String,
    pub api_token: String,
    pub device_id: String,
    pub user_id: String,
    pub client_agent: String,
    pub expires_at: DateTime<Utc>,
}

impl From<core::StoredToken> for StoredToken {
    fn from(t: core::StoredToken) -> Self {
        StoredToken {
            base_url: t.base_url,
            account: t.account,
            api_token: t.api_token.expose_secret().to_owned(),
            device_id: t.device_id,
            user_id: t.user_id,
            client_agent: t.client_agent,
            expires_at: t.expires_at,
        }
    }
}

/// A token to save; the face checked the types and gives the expiry in milliseconds.
#[napi(object)]
pub struct TokenToSave {
    pub base_url: String,
    pub account: String,
    pub api_token: String,
    pub device_id: String,
    pub user_id: String,
    pub client_agent: String,
    pub expires_at_ms: f64,
}

impl TryFrom<TokenToSave> for core::StoredToken {
    type Error = CoreError;

    fn try_from(t: TokenToSave) -> Result<Self, CoreError> {
        let expires_at = Some(t.expires_at_ms)
            .filter(|ms| ms.is_finite())
            .and_then(|ms| DateTime::from_timestamp_millis(ms as i64))
            .ok_or_else(|| CoreError::InvalidArgument("expiresAt must be a valid Date".into()))?;
        Ok(core::StoredToken {
            base_url: t.base_url,
            account: t.account,
            api_token: t.api_token.into(),
            device_id: t.device_id,
            user_id: t.user_id,
            client_agent: t.client_agent,
            expires_at,
        })
    }
}

#[napi]
pub struct TokenStore {
    pub(crate) inner: core::TokenStore,
}

#[napi]
impl TokenStore {
    /// The file at `path`, or (none) the OS keyring if one answers, else the default file.
    #[napi(constructor)]
    pub fn new(env: Env, path: Option<String>) -> napi::Result<Self> {
        let inner = match path {
            Some(path) => Ok(core::TokenStore::file(path)),
            None => errors::sync(&env, core::TokenStore::open_default),
        };
        inner.map(|inner| TokenStore { inner })
    }

    #[napi]
    pub fn default_path(env: Env) -> napi::Result<String> {
        errors::sync(&env, || core::TokenStore::default_path().map(|p| p.display().to_string()))
    }

    #[napi(getter)]
    pub fn location(&self) -> String {
        self.inner.location()
    }

    #[napi(ts_return_type = "Promise<StoredToken | null>")]
    pub fn load(&self, env: Env, base_url: String, account: String) -> napi::Result<Promise> {
        let store = self.inner.clone();
        settle::promise(&env, async move { Ok(store.load(&base_url, &account)?.map(StoredToken::from)) })
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn save(&self, env: Env, token: TokenToSave) -> napi::Result<Promise> {
        let store = self.inner.clone();
        settle::promise(&env, async move { store.save(&token.try_into()?) })
    }

    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn delete(&self, env: Env, base_url: String, account: String) -> napi::Result<Promise> {
        let store = self.inner.clone();
        settle::promise(&env, async move { store.delete(&base_url, &account) })
    }
}

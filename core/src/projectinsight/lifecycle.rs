//! The token's life with a [`TokenStore`]: activate and store, use while valid, activate
//! again when it expired (the new token replaces the old one), forget.

use super::client::{ApiClient, Client};
use super::token_store::{StoredToken, TokenStore};
use super::types::{DeviceInfo, PendingActivation};
use crate::activeconnect::store::{StoreError, StoreErrorKind};
use crate::{Error, Result};

impl Client {
    /// Completes an activation (as [`Client::complete_device_activation`]) and saves the
    /// token in `store` under this client's base URL and `account`, replacing the one
    /// stored there before.
    pub async fn complete_and_store(
        &self,
        store: &TokenStore,
        account: &str,
        activation_id: &str,
        code: &str,
        client_agent: &str,
        timeout_minutes: Option<u32>,
    ) -> Result<StoredToken> {
        // Checked before the code is spent.
        store.load(self.base_url().as_str(), account)?;
        let done = self.complete_device_activation(activation_id, code, client_agent, timeout_minutes).await?;
        let token = StoredToken::new(self.base_url().as_str(), account, client_agent, done)?;
        store.save(&token)?;
        Ok(token)
    }

    /// An [`ApiClient`] with the token stored under this base URL and `account`, knowing
    /// its expiry. Without a stored token: `STORE` with reason `NOT_STORED`; with an expired one (or one within
    /// the skew of it): [`Error::Expired`]. Nothing is sent.
    pub fn stored_api_client(&self, store: &TokenStore, account: &str) -> Result<ApiClient> {
        let token = self.stored(store, account)?;
        let api = self.with_api_token_until(token.api_token, token.expires_at);
        api.check_expiry()?;
        Ok(api)
    }

    /// Starts a new device activation for `account`, with the client agent of its stored
    /// token (`STORE`/`NOT_STORED` if none is stored). Complete it with
    /// [`Client::complete_and_store`]: the new token replaces the old one.
    pub async fn reactivate(&self, store: &TokenStore, account: &str) -> Result<PendingActivation> {
        let token = self.stored(store, account)?;
        self.create_device_activation(&DeviceInfo::new(token.client_agent)).await
    }

    /// The token stored for `account`, or a `NOT_STORED` error.
    fn stored(&self, store: &TokenStore, account: &str) -> Result<StoredToken> {
        store.load(self.base_url().as_str(), account)?.ok_or_else(|| {
            let message =
                format!("no API token is stored for {account:?} at {}; run the device activation", self.base_url());
            Error::from(StoreError::new(StoreErrorKind::NotStored, message))
        })
    }
}

//! Project Insight device activation: a per-user API token without seeing a password.
//!
//! 1. [`Client::create_device_activation`] returns a [`PendingActivation`] with a URL.
//! 2. The user opens the URL (where they are signed in) and reads an activation code.
//! 3. [`Client::complete_device_activation`] trades the code for a [`DeviceActivation`]
//!    holding the API token.
//! 4. [`Client::with_api_token`] gives an [`ApiClient`] that sends it as `api-token`.
//!
//! The token's lifecycle: a [`TokenStore`] keeps it between runs (the OS keyring with the
//! `keyring` feature, else a private file); [`Client::complete_and_store`] saves it,
//! [`Client::stored_api_client`] gives a client that refuses it once expired
//! ([`crate::Error::Expired`], before sending), [`Client::reactivate`] starts a new
//! activation whose token replaces it, [`TokenStore::delete`] forgets it.

pub(crate) mod client;
mod lifecycle;
pub(crate) mod timestamp;
mod token_file;
#[cfg(feature = "keyring")]
mod token_keyring;
mod token_store;
pub(crate) mod types;

pub use client::{ApiClient, Client, ClientBuilder, DEFAULT_EXPIRY_SKEW};
pub use token_store::{StoredToken, TOKEN_FILE_NAME, TokenStore};
pub use types::{DeviceActivation, DeviceInfo, PendingActivation};

//! Project Insight device activation: a per-user API token without seeing a password.
//!
//! 1. [`Client::create_device_activation`] returns a [`PendingActivation`] with a URL.
//! 2. The user opens the URL (where they are signed in) and reads an activation code.
//! 3. [`Client::complete_device_activation`] trades the code for a [`DeviceActivation`]
//!    holding the API token.
//! 4. [`Client::with_api_token`] gives an [`ApiClient`] that sends it as `api-token`.

pub(crate) mod client;
pub(crate) mod timestamp;
pub(crate) mod types;

pub use client::{ApiClient, Client, ClientBuilder};
pub use types::{DeviceActivation, DeviceInfo, PendingActivation};

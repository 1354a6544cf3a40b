//! Activeconnect (renamed IAMPASS): passwordless push sign-in through the user's phone.
//!
//! 1. [`Client::add_users`] registers your users with the service (use a random token per
//!    user, not their name, as the service recommends).
//! 2. [`Client::device_registration_link`] gives each user a link to open on the phone
//!    (by e-mail, [`Client::send_registration_sms`], or a QR code).
//! 3. [`Client::authenticate_user`] pushes a sign-in request to the phone and returns a
//!    [`Session`]; [`Session::wait`] polls until the phone answers.
//! 4. While the user stays signed in, [`Session::watch`] (or a periodic
//!    [`Session::refresh`]; in a web request [`Session::refresh_within`] and
//!    [`DEFAULT_CHECK_BUDGET`]) notices remote logout and walkaway; [`Session::logout`] ends it.
//!
//! [`Client::health`] checks that the service is reachable and accepts the credentials,
//! for a start-up check and alerting.
//!
//! # When the service is unreachable (fail mode)
//!
//! - Starting or finishing a sign-in needs the service: with it unreachable the sign-in
//!   fails, whatever the app's settings; only the service can prove the user's identity.
//! - Checking a user who is already signed in (a store read, or
//!   [`Session::refresh_within`] the [`DEFAULT_CHECK_BUDGET`]) may get no answer: an error
//!   for which [`crate::Error::is_transient`] is true (`TRANSPORT`, `TIMEOUT`, `HTTP` 429
//!   and 5xx, an unreachable store), or a session the Monitor reports unreachable. Apps
//!   **fail closed** by default: the user is treated as not signed in. **Fail open** (the
//!   user keeps the last known status, and each such request is logged as a warning) is
//!   an explicit choice only; it never overrides a known ended status, and other errors
//!   (`UNAUTHORIZED`, `PROTOCOL`, ...) fail closed in both modes. The web adapters take it
//!   as `fail_mode` (`DEVICEAUTH_FAIL_MODE`). See `docs/operations.md`.
//!
//! [`SessionData`] is the serializable state of a session, to keep in your web session
//! store and [`Client::resume`] later.

mod app_secrets;
mod attempt_limit;
pub(crate) mod client;
mod health;
mod monitor;
mod options;
mod poll;
pub(crate) mod seal;
mod session;
mod session_data;
pub mod signing;
mod single_flight;
mod status;
pub(crate) mod wire;

pub use attempt_limit::AttemptLimit;
pub use client::{AddedUsers, Client, ClientBuilder, DEFAULT_BASE_URL, MAX_USER_ID_BYTES, SERVER_ENV};
pub use health::{DEFAULT_HEALTH_BUDGET, HEALTH_PROBE_USER, Health};
/// Monitor stores (memory, SQLite, Postgres, Redis): see [`store::SessionStore`].
pub use monitor::store;
pub use monitor::{Monitor, MonitorEvent, MonitorEvents, MonitorOptions, Shard};
pub use options::{AuthenticateOptions, DEFAULT_CHECK_BUDGET, WaitOptions, WatchOptions};
pub use seal::SEAL_KEY_BYTES;
pub use session::{Session, StatusStream};
pub use session_data::SessionData;
pub use status::{Method, Status};

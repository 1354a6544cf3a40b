//! # deviceauth
//!
//! Sign users in through their phone or another device, with no password:
//!
//! - [`activeconnect`]: Activeconnect (renamed IAMPASS) passwordless push sign-in. Register
//!   users, hand each a device-registration link, start a sign-in, poll until the phone
//!   approves, keep watching while the user stays signed in, and log out. Every call is
//!   HMAC-signed as the service requires.
//! - [`projectinsight`]: Project Insight device activation. Get a per-user API token without
//!   seeing a password: the user approves in the browser and types a short code back.
//! - [`telemetry`]: a `tracing` span per service call and process-wide metrics, for
//!   OpenTelemetry or any other `tracing` subscriber.
//!
//! Every failure is one [`Error`] whose [`Error::code`] is a stable string shared with the
//! Python and Node packages. Credentials are [`Secret`]s that never show in `Debug` output,
//! logs or error messages.
//!
//! ```no_run
//! # async fn demo() -> Result<(), deviceauth::Error> {
//! use deviceauth::activeconnect::{AuthenticateOptions, Client, WaitOptions};
//!
//! let client = Client::builder("APP_ID", "APP_SECRET")
//!     .base_url("http://127.0.0.1:8790")
//!     .build()?;
//! let session = client.authenticate_user("alice", &AuthenticateOptions::default()).await?;
//! let status = session.wait(&WaitOptions::default()).await?;
//! println!("alice is signed in: {}", status.is_authenticated());
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod activeconnect;
mod error;
pub mod ffi;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod limits;
pub mod projectinsight;
pub mod qr;
mod secret;
pub mod telemetry;
mod text;
mod transport;

pub use error::{ActivationRejection, Error, Result};
pub use limits::MAX_DURATION;
pub use secret::Secret;
pub use transport::{DEFAULT_TIMEOUT, MAX_RESPONSE_BYTES, RetryPolicy};

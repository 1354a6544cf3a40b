//! Node bindings of `deviceauth`: the `activeconnect` and `projectinsight` namespaces.
//!
//! The binding holds no flow logic: each method converts its JavaScript arguments
//! ([`convert`]), calls the core on the addon's tokio runtime, and maps the core's
//! errors to JavaScript errors with a `code` ([`errors`]). Module map:
//!
//! | core | binding |
//! |---|---|
//! | `activeconnect::Client` | [`activeconnect`] (`activeconnect.Client`) |
//! | `activeconnect::Session`, `StatusStream` | `activeconnect/session.rs` (`Session`, `StatusWatch`) |
//! | `activeconnect::{Monitor, MonitorEvents, MonitorOptions, Shard}` | `activeconnect/monitor.rs` (`Monitor`, `MonitorEvents`, `shardOf`) |
//! | `projectinsight::{Client, ApiClient, DeviceActivation}` | [`projectinsight`] |
//! | `Error` | [`errors`] |
//! | `qr` | [`qr`] (`qr.svg`, `qr.terminal`) |
//!
//! plus the binding's own plumbing: [`convert`] (arguments), [`abort`] (`AbortSignal`)
//! and [`inspect`] (what `util.inspect` shows).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod abort;
mod activeconnect;
mod convert;
mod errors;
mod inspect;
mod projectinsight;
mod qr;

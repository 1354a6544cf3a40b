//! A faithful local stand-in for the Activeconnect (IAMPASS) push sign-in service and
//! Project Insight device activation, for tests and for development without an account.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use deviceauth_emulator::{Emulator, EmulatorConfig};
//! let emulator = Emulator::start(EmulatorConfig::default()).await?;
//! let (app_id, app_secret) = emulator.apps()[0].clone();
//! println!("{} {app_id} {app_secret}", emulator.base_url());
//! # Ok(()) }
//! ```
//!
//! Activeconnect is served under `/management/` and `/authentication/`, Project Insight
//! under `/api/`, the control API and browser pages under `/_emulator/` (see the README).

#![warn(missing_docs)]

mod activeconnect;
#[doc(hidden)]
pub mod checks;
pub mod cli;
mod clock;
mod config;
mod conn;
mod control;
mod faults;
mod fdlimit;
mod pages;
mod process;
mod projectinsight;
mod random;
mod requestlog;
mod respond;
mod routes;
mod server;
mod session;
mod signature;
mod signins;
mod state;
mod tls;
mod verify;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinHandle;

pub use config::{Approval, DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, EmulatorConfig, StatusShape};
pub use fdlimit::raise_fd_limit;
pub use process::EmulatorProcess;

use server::Context;
use state::Shared;

/// A running emulator. Dropping it stops the server and closes its connections.
pub struct Emulator {
    addr: SocketAddr,
    base_url: String,
    shared: Arc<Shared>,
    ca_pem: Option<String>,
    task: JoinHandle<()>,
}

impl Emulator {
    /// Binds `config.listen`, starts serving on the current tokio runtime and returns
    /// once it is listening.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Emulator> {
        Self::launch(config, false).await
    }

    /// Like [`Emulator::start`], and also writes one line per request to stderr
    /// (method, path with tokens redacted, status); the binary uses this.
    pub async fn start_with_stderr_log(config: EmulatorConfig) -> std::io::Result<Emulator> {
        Self::launch(config, true).await
    }

    async fn launch(config: EmulatorConfig, log: bool) -> std::io::Result<Emulator> {
        let tls = if config.tls { Some(tls::generate(config.listen.ip())?) } else { None };
        let listener = listen(config.listen)?;
        let addr = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base_url = format!("{scheme}://{}", reachable(addr));
        let public_url = config.public_url.clone().unwrap_or_else(|| base_url.clone());
        let shared = Arc::new(Shared::new(&config, public_url));
        let limits = conn::Limits { header: config.header_timeout, idle: config.idle_timeout };
        let (acceptor, ca_pem) = match tls {
            Some(tls) => (Some(tls.acceptor), Some(tls.ca_pem)),
            None => (None, None),
        };
        let ctx = Arc::new(Context {
            shared: shared.clone(),
            router: routes::router(shared.clone()),
            log,
            tls: acceptor,
            limits,
        });
        let task = tokio::spawn(server::accept_loop(listener, ctx));
        Ok(Emulator { addr, base_url, shared, ca_pem, task })
    }

    /// The address the server is bound to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT` (`https://` with [`EmulatorConfig::tls`]) without a trailing
    /// slash (a wildcard bind shows as loopback).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// PEM of the CA that signed the server certificate (with [`EmulatorConfig::tls`]).
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The applications served, as `(application_id, application_secret)`, in creation order.
    pub fn apps(&self) -> Vec<(String, String)> {
        self.shared.app_credentials()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator").field("addr", &self.addr).finish_non_exhaustive()
    }
}

/// Connections waiting to be accepted: bursts of thousands of connections must not
/// overflow the queue (the kernel caps it at `net.core.somaxconn`).
const BACKLOG: u32 = 8192;

/// Binds with a deep accept queue (std/tokio use 128/1024).
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// The address a local client should use: a wildcard bind is reached through loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port())),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::from((Ipv6Addr::LOCALHOST, addr.port())),
        _ => addr,
    }
}

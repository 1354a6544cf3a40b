//! Configuration of an emulator instance.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// How an emulated phone answers sign-in requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Approval {
    /// Nothing happens until the control API or the phone page acts.
    #[default]
    Manual,
    /// Every request is `identifying` after half of this delay and `active` after all of it.
    ApproveAfter(Duration),
}

/// The JSON shape of the Activeconnect session status response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StatusShape {
    /// `{"authentication_status": {"authenticated": .., "session_status": ".."}}`
    /// (what the official clients read).
    #[default]
    Nested,
    /// `{"authenticated": .., "session_status": ".."}` (what the documentation shows).
    Flat,
}

/// Everything that can be tuned when starting an [`crate::Emulator`].
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Applications served, as `(application_id, application_secret)`;
    /// empty means one random demo application is created.
    pub apps: Vec<(String, String)>,
    /// How sign-in requests are answered.
    pub approval: Approval,
    /// Shape of the session status response.
    pub status_shape: StatusShape,
    /// Seconds added to the emulator's clock (simulates server clock skew).
    pub clock_offset: i64,
    /// A session still `pending`/`identifying` after this becomes `timeout`.
    pub pending_timeout: Duration,
    /// Lifetime of a Project Insight device activation request.
    pub activation_ttl: Duration,
    /// Lifetime of every Project Insight API token issued, whatever `timeoutMinutes`
    /// asked (`None`: as asked, one year by default); for tests of expired tokens.
    pub token_ttl: Option<Duration>,
    /// Base for the links the emulator hands out (status URLs, registration links,
    /// activation URLs); `None` means `http://<bound address>`.
    pub public_url: Option<String>,
    /// Serve HTTPS with a leaf certificate (SANs `127.0.0.1`, `::1`, `localhost` and the
    /// listen address) signed by a CA generated at start; see [`crate::Emulator::ca_pem`].
    pub tls: bool,
    /// Time a client has to send a request's head once its first byte arrived (and the
    /// body once the head arrived, and to finish a TLS handshake); then it is closed.
    pub header_timeout: Duration,
    /// A connection with no request in progress and nothing received for this long is closed.
    pub idle_timeout: Duration,
}

/// Default of [`EmulatorConfig::header_timeout`].
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of [`EmulatorConfig::idle_timeout`].
/// Longer than the usual client pool idle times (the core's 60 s, reqwest's 90 s), so a
/// client always drops a pooled connection before the emulator closes it.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            apps: Vec::new(),
            approval: Approval::Manual,
            status_shape: StatusShape::Nested,
            clock_offset: 0,
            pending_timeout: Duration::from_secs(120),
            activation_ttl: Duration::from_secs(15 * 60),
            token_ttl: None,
            public_url: None,
            tls: false,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

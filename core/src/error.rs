//! The one error type of the crate, with stable codes shared by every language binding.

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, in one enum.
///
/// [`Error::code`] gives a stable string (`"NOT_FOUND"`, `"TIMEOUT"`, ...) that the Python
/// exception classes and the Node error codes are made from. No variant ever carries a
/// secret: messages hold the service's own words, argument names, and HTTP statuses.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument was rejected before any request was sent.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The service does not know the application, user, session or resource.
    #[error("not found (HTTP {status}): {message}")]
    NotFound {
        /// HTTP status of the response.
        status: u16,
        /// What the service said.
        message: String,
    },
    /// The service refused the credentials or the signature.
    #[error("unauthorized (HTTP {status}): {message}")]
    Unauthorized {
        /// HTTP status of the response.
        status: u16,
        /// What the service said.
        message: String,
    },
    /// Project Insight refused to complete a device activation; `reason` says why.
    #[error("device activation refused: {message}")]
    ActivationRejected {
        /// Why the activation was refused.
        reason: ActivationRejection,
        /// HTTP status of the response.
        status: u16,
        /// What the service said, or a plain description of `reason`.
        message: String,
    },
    /// `authenticate_user` was answered, but no sign-in was started (e.g. `NO_MOBILE_DEVICE`).
    #[error("authentication not started: {reason}")]
    NotStarted {
        /// The service's reason, e.g. `NO_MOBILE_DEVICE`.
        reason: String,
    },
    /// A management call was answered with `"status": false`.
    #[error("request refused by the service: {reason}")]
    Refused {
        /// The service's reason.
        reason: String,
    },
    /// Any other HTTP error status.
    #[error("HTTP {status}: {message}")]
    Http {
        /// HTTP status of the response.
        status: u16,
        /// What the service said.
        message: String,
    },
    /// The service answered with something that does not follow the protocol.
    #[error("unexpected response from the service: {0}")]
    Protocol(String),
    /// A request, or a whole wait, ran past its time limit.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The caller cancelled the operation.
    #[error("aborted")]
    Aborted,
    /// The request could not be delivered (connection refused, reset, TLS, DNS, ...).
    #[error("transport error: {0}")]
    Transport(String),
    /// A defect of this library (a panic) caught at a boundary. The client and its
    /// sessions stay usable: the next call sends its request normally.
    #[error("internal error: {0}")]
    Internal(String),
    /// A monitor store failed: unreachable, refused credentials, a schema from a newer
    /// version, a corrupted row. [`Error::reason`] is the store's kind (`UNREACHABLE`,
    /// `UNAUTHORIZED`, `SCHEMA_TOO_NEW`, ...).
    #[error("{0}")]
    Store(crate::activeconnect::store::StoreError),
    /// Too many sign-in requests for one user (the client's
    /// [`crate::activeconnect::AttemptLimit`]); nothing was sent. Try again after
    /// `retry_after`.
    #[error("rate limited: {message}")]
    RateLimited {
        /// How long until the user's window ends.
        retry_after: std::time::Duration,
        /// What was exceeded.
        message: String,
    },
    /// A Project Insight API token is past its expiry (or within the client's skew of
    /// it); nothing was sent. Run the device activation again.
    #[error("expired: {message}")]
    Expired {
        /// When the token expired (or expires).
        expires_at: chrono::DateTime<chrono::Utc>,
        /// What expired and what to do.
        message: String,
    },
}

impl Error {
    /// The stable code of this error, shared with the Python and Node packages.
    ///
    /// One of `INVALID_ARGUMENT`, `NOT_FOUND`, `UNAUTHORIZED`, `NOT_STARTED`, `REFUSED`,
    /// `HTTP`, `PROTOCOL`, `TIMEOUT`, `ABORTED`, `TRANSPORT`, `INTERNAL`, `STORE`,
    /// `RATE_LIMITED`, `EXPIRED`. A refused device activation
    /// has the code of its [`ActivationRejection`] (`NOT_FOUND` or `UNAUTHORIZED`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::NotFound { .. } => "NOT_FOUND",
            Error::Unauthorized { .. } => "UNAUTHORIZED",
            Error::ActivationRejected { reason, .. } => reason.code(),
            Error::NotStarted { .. } => "NOT_STARTED",
            Error::Refused { .. } => "REFUSED",
            Error::Http { .. } => "HTTP",
            Error::Protocol(_) => "PROTOCOL",
            Error::Timeout(_) => "TIMEOUT",
            Error::Aborted => "ABORTED",
            Error::Transport(_) => "TRANSPORT",
            Error::Internal(_) => "INTERNAL",
            Error::Store(_) => "STORE",
            Error::RateLimited { .. } => "RATE_LIMITED",
            Error::Expired { .. } => "EXPIRED",
        }
    }

    /// The HTTP status of the response behind this error, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::NotFound { status, .. }
            | Error::Unauthorized { status, .. }
            | Error::ActivationRejected { status, .. }
            | Error::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The machine-readable reason, where the service gave one (`NO_MOBILE_DEVICE`,
    /// `WRONG_CODE`, ...).
    pub fn reason(&self) -> Option<&str> {
        match self {
            Error::NotStarted { reason } | Error::Refused { reason } => Some(reason),
            Error::ActivationRejected { reason, .. } => Some(reason.as_str()),
            Error::Store(error) => Some(error.kind.code()),
            _ => None,
        }
    }

    /// How long to wait before trying again, for [`Error::RateLimited`].
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }

    pub(crate) fn protocol(message: impl Into<String>) -> Self {
        Error::Protocol(message.into())
    }

    /// Whether trying the same operation again later may succeed (transport trouble,
    /// time-outs, 429 and 5xx answers, an unreachable store).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport(_) | Error::Timeout(_) => true,
            Error::Store(error) => error.kind == crate::activeconnect::store::StoreErrorKind::Unreachable,
            Error::Http { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// Why Project Insight refused to complete a device activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ActivationRejection {
    /// No activation request has that id.
    UnknownRequest,
    /// The activation request is past its `ExpirationDateTimeUTC`.
    Expired,
    /// The code does not match the one shown to the user.
    WrongCode,
    /// The code was already exchanged for a token.
    CodeAlreadyUsed,
    /// `clientAgent` differs from the `ClientAgent` of the create request.
    ClientAgentMismatch,
}

impl ActivationRejection {
    /// The stable reason string (`UNKNOWN_REQUEST`, `EXPIRED`, `WRONG_CODE`,
    /// `CODE_ALREADY_USED`, `CLIENT_AGENT_MISMATCH`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownRequest => "UNKNOWN_REQUEST",
            Self::Expired => "EXPIRED",
            Self::WrongCode => "WRONG_CODE",
            Self::CodeAlreadyUsed => "CODE_ALREADY_USED",
            Self::ClientAgentMismatch => "CLIENT_AGENT_MISMATCH",
        }
    }

    /// The error code this rejection carries: a request that is gone is `NOT_FOUND`,
    /// a code or agent the service refuses is `UNAUTHORIZED`.
    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownRequest | Self::Expired => "NOT_FOUND",
            _ => "UNAUTHORIZED",
        }
    }

    /// A sentence a user understands.
    pub fn describe(self) -> &'static str {
        match self {
            Self::UnknownRequest => "the activation request does not exist; start a new one",
            Self::Expired => "the activation request has expired; start a new one",
            Self::WrongCode => "the activation code is not correct; check it and try again",
            Self::CodeAlreadyUsed => "the activation code was already used; start a new activation",
            Self::ClientAgentMismatch => "the client agent differs from the one that created the activation request",
        }
    }

    pub(crate) fn from_error_code(code: &str) -> Option<Self> {
        [Self::UnknownRequest, Self::Expired, Self::WrongCode, Self::CodeAlreadyUsed, Self::ClientAgentMismatch]
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(code))
    }
}

impl std::fmt::Display for ActivationRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

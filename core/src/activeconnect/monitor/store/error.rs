//! The typed errors of a monitor store.

/// What went wrong with a store, as a stable kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store URL or an option is malformed, or names a store this build lacks.
    InvalidUrl,
    /// The store could not be reached (connection refused, time-out, missing folder).
    Unreachable,
    /// The store refused the credentials (wrong user or password).
    Unauthorized,
    /// The store holds a schema written by a newer version of this library.
    SchemaTooNew,
    /// A stored row could not be read (altered, sealed with another key, or not ours).
    Corrupt,
    /// The event reader fell behind the store's retention: events were missed.
    Lagged,
    /// Any other failure the store reported.
    Backend,
    /// A Project Insight token file that others could read or replace: its mode is wider
    /// than 0600, it is owned by another user, or it is a symbolic link. Not read.
    Insecure,
    /// Nothing is stored under the key asked for (a Project Insight token never saved, or
    /// deleted).
    NotStored,
}

impl StoreErrorKind {
    /// A stable code: `INVALID_URL`, `UNREACHABLE`, `UNAUTHORIZED`, `SCHEMA_TOO_NEW`,
    /// `CORRUPT`, `LAGGED`, `BACKEND`, `INSECURE`, `NOT_STORED`.
    pub fn code(self) -> &'static str {
        match self {
            StoreErrorKind::InvalidUrl => "INVALID_URL",
            StoreErrorKind::Unreachable => "UNREACHABLE",
            StoreErrorKind::Unauthorized => "UNAUTHORIZED",
            StoreErrorKind::SchemaTooNew => "SCHEMA_TOO_NEW",
            StoreErrorKind::Corrupt => "CORRUPT",
            StoreErrorKind::Lagged => "LAGGED",
            StoreErrorKind::Backend => "BACKEND",
            StoreErrorKind::Insecure => "INSECURE",
            StoreErrorKind::NotStored => "NOT_STORED",
        }
    }
}

/// A store failure: a kind, the store it concerns, and a message that never holds a
/// password or a session secret. `key` names the session row for [`StoreErrorKind::Corrupt`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError {
    /// What went wrong.
    pub kind: StoreErrorKind,
    /// The session key of a corrupted row.
    pub key: Option<String>,
    /// What the store or this library said.
    pub message: String,
}

impl StoreError {
    /// An error of `kind`.
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        StoreError { kind, key: None, message: message.into() }
    }

    /// A corrupted row `key`.
    pub fn corrupt(key: &str, message: impl Into<String>) -> Self {
        StoreError { kind: StoreErrorKind::Corrupt, key: Some(key.to_owned()), message: message.into() }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        StoreError::new(StoreErrorKind::InvalidUrl, message)
    }

    pub(crate) fn backend(message: impl Into<String>) -> Self {
        StoreError::new(StoreErrorKind::Backend, message)
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(key) => write!(f, "store {}: row {key:?}: {}", self.kind.code(), self.message),
            None => write!(f, "store {}: {}", self.kind.code(), self.message),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<StoreError> for crate::Error {
    /// A malformed URL, key or option is `INVALID_ARGUMENT` like any other bad
    /// argument; everything else is [`crate::Error::Store`] (code `STORE`, the kind as
    /// its reason).
    fn from(error: StoreError) -> Self {
        match error.kind {
            StoreErrorKind::InvalidUrl => crate::Error::InvalidArgument(error.to_string()),
            _ => crate::Error::Store(error),
        }
    }
}

/// A `Result` whose error is [`StoreError`].
pub type StoreResult<T> = std::result::Result<T, StoreError>;

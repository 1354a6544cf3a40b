//! Options for starting a sign-in, waiting on it and watching it. Each `Default` is the
//! one place its defaults live; each `validate()` is what every binding relies on.

use std::time::Duration;

use super::Method;
use crate::limits::check_positive;
use crate::{Error, Result};

/// The default budget of one status check inside a web request
/// ([`super::Session::refresh_within`]): 2 seconds, far below a wait's deadline or the
/// retry policy's, so that a page never hangs on an unreachable service.
pub const DEFAULT_CHECK_BUDGET: Duration = Duration::from_secs(2);

/// How to start a sign-in with [`super::Client::authenticate_user`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthenticateOptions {
    /// Methods the user may use; empty lets the service choose (preferred).
    pub methods: Vec<Method>,
    /// Lifetime of the session once active (IAMPASS); `None` is the service default (3600 s).
    pub duration_seconds: Option<u32>,
}

impl AuthenticateOptions {
    /// Refuses `duration_seconds` of zero (`INVALID_ARGUMENT`).
    pub fn validate(&self) -> Result<()> {
        self.query().map(drop)
    }

    /// The query string the service expects: `methods=a,b&duration_seconds=N`, commas
    /// unescaped as the official client sends them; `None` when there is nothing to send.
    pub(crate) fn query(&self) -> Result<Option<String>> {
        let mut parts = Vec::new();
        if !self.methods.is_empty() {
            let mut names: Vec<&str> = Vec::new();
            for method in &self.methods {
                if !names.contains(&method.as_str()) {
                    names.push(method.as_str());
                }
            }
            parts.push(format!("methods={}", names.join(",")));
        }
        match self.duration_seconds {
            Some(0) => return Err(Error::invalid("duration_seconds must be greater than zero")),
            Some(seconds) => parts.push(format!("duration_seconds={seconds}")),
            None => {}
        }
        Ok((!parts.is_empty()).then(|| parts.join("&")))
    }
}

/// How [`super::Session::wait`] polls: every `interval`, for at most `deadline` in all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitOptions {
    /// Time between two status polls.
    pub interval: Duration,
    /// The longest the whole wait may take; past it, `wait` fails with a time-out.
    pub deadline: Duration,
}

impl Default for WaitOptions {
    /// Poll every 2 seconds for up to 2 minutes.
    fn default() -> Self {
        WaitOptions { interval: Duration::from_secs(2), deadline: Duration::from_secs(120) }
    }
}

impl WaitOptions {
    /// Refuses a zero interval or deadline and any above [`crate::MAX_DURATION`]
    /// (`INVALID_ARGUMENT` naming the field).
    pub fn validate(&self) -> Result<()> {
        check_positive("wait interval", self.interval)?;
        check_positive("wait deadline", self.deadline)
    }
}

/// How [`super::Session::watch_with`] polls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchOptions {
    /// Time between two status polls.
    pub interval: Duration,
}

impl Default for WatchOptions {
    /// Poll every 5 seconds.
    fn default() -> Self {
        WatchOptions { interval: Duration::from_secs(5) }
    }
}

impl WatchOptions {
    /// Refuses a zero interval and one above [`crate::MAX_DURATION`].
    pub fn validate(&self) -> Result<()> {
        check_positive("watch interval", self.interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_lists_methods_once_with_plain_commas() {
        let options = AuthenticateOptions {
            methods: vec![Method::Acceptance, Method::Facial, Method::Acceptance],
            duration_seconds: Some(60),
        };
        assert_eq!(options.query().unwrap().as_deref(), Some("methods=acceptance,facial&duration_seconds=60"));
        assert_eq!(AuthenticateOptions::default().query().unwrap(), None);
    }

    #[test]
    fn zero_values_are_refused() {
        let options = AuthenticateOptions { duration_seconds: Some(0), ..Default::default() };
        assert_eq!(options.query().unwrap_err().code(), "INVALID_ARGUMENT");
        let wait = WaitOptions { interval: Duration::ZERO, ..Default::default() };
        assert_eq!(wait.validate().unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(WatchOptions { interval: Duration::ZERO }.validate().unwrap_err().code(), "INVALID_ARGUMENT");
    }

    #[test]
    fn durations_beyond_a_year_are_refused() {
        let wait = WaitOptions { deadline: Duration::from_secs(u64::MAX), ..Default::default() };
        assert!(wait.validate().unwrap_err().to_string().contains("wait deadline"));
        assert!(WatchOptions { interval: Duration::from_secs(1 << 60) }.validate().is_err());
        assert!(WaitOptions::default().validate().is_ok() && WatchOptions::default().validate().is_ok());
    }
}

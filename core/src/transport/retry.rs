//! When and how long to wait before sending an idempotent call again.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::limits::check_duration;
use crate::{Error, MAX_DURATION, Result};

/// How idempotent calls are retried: exponential backoff with jitter, honouring
/// `Retry-After`, inside one overall deadline per call.
///
/// Calls that act on the service (`authenticate_user`, the registration SMS, the
/// device-activation create request) are retried only when the connection was never
/// made, whatever this policy says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 means no retry).
    pub max_attempts: u32,
    /// Backoff before the first retry; it doubles for each one after.
    pub initial_backoff: Duration,
    /// The longest backoff between two attempts (a `Retry-After` may ask for longer).
    pub max_backoff: Duration,
    /// The time one call may take, every attempt and wait included.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            deadline: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy that sends every call once.
    pub fn never() -> Self {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    /// Refuses a policy no call could run with: no attempt, a zero deadline, or a
    /// duration above [`MAX_DURATION`] (`INVALID_ARGUMENT` naming the field).
    pub fn validate(&self) -> Result<()> {
        if self.max_attempts == 0 {
            return Err(Error::invalid("retry policy: max_attempts must be at least 1"));
        }
        if self.deadline.is_zero() {
            return Err(Error::invalid("retry policy: deadline must be greater than zero"));
        }
        check_duration("retry policy: initial_backoff", self.initial_backoff)?;
        check_duration("retry policy: max_backoff", self.max_backoff)?;
        check_duration("retry policy: deadline", self.deadline)
    }

    /// The wait before retry number `retry` (1 for the first): half the exponential
    /// step plus a random part of the other half ("equal jitter"), so clients that failed
    /// together do not come back together.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let step = self.initial_backoff.saturating_mul(1u32 << retry.saturating_sub(1).min(16)).min(self.max_backoff);
        let half = step / 2;
        half + half.mul_f64(rand::random::<f64>())
    }
}

/// The delay a `Retry-After` header asks for: delta-seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Any number of digits: more than a year is a year.
        let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(seconds).min(MAX_DURATION));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let when = SystemTime::from(when.with_timezone(&chrono::Utc));
    Some(when.duration_since(now).unwrap_or(Duration::ZERO).min(MAX_DURATION))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            ..RetryPolicy::default()
        };
        for _ in 0..50 {
            let first = policy.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = policy.backoff(3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let capped = policy.backoff(30);
            assert!(capped >= Duration::from_millis(500) && capped <= Duration::from_millis(1000));
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(3)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:10 GMT"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(10)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
        for huge in ["10000000000000000000", "99999999999999999999999999", "Fri, 31 Dec 9999 23:59:59 GMT"] {
            headers.insert(RETRY_AFTER, HeaderValue::from_static(huge));
            assert_eq!(retry_after(&headers, now), Some(MAX_DURATION), "{huge}");
        }
    }

    #[test]
    fn zero_attempts_is_refused() {
        let policy = RetryPolicy { max_attempts: 0, ..RetryPolicy::default() };
        assert_eq!(policy.validate().unwrap_err().code(), "INVALID_ARGUMENT");
    }
}

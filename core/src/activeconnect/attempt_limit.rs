//! The per-user limit on sign-in requests (push-bombing defence): at most `attempts`
//! `authenticate_user` calls per user in a window, counted in a [`SessionStore`] so that
//! every process sharing the store shares the count.

use std::time::Duration;

use super::store::SessionStore;
use crate::limits::check_positive;
use crate::telemetry::metrics;
use crate::{Error, Result};

/// How many sign-in requests one user may get in a window. The window starts with the
/// user's first request and lasts `window`; requests over `attempts` are refused with
/// [`Error::RateLimited`] until it ends, without sending anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptLimit {
    /// Requests allowed per window. Default 5.
    pub attempts: u32,
    /// The window's length. Default 10 minutes.
    pub window: Duration,
}

impl Default for AttemptLimit {
    fn default() -> Self {
        AttemptLimit { attempts: 5, window: Duration::from_secs(600) }
    }
}

impl AttemptLimit {
    /// Refuses zero attempts, and a window of zero or above [`crate::MAX_DURATION`].
    pub fn validate(&self) -> Result<()> {
        if self.attempts == 0 {
            return Err(Error::invalid("attempts must be at least 1"));
        }
        check_positive("window", self.window)
    }
}

/// An [`AttemptLimit`] counted in a store.
#[derive(Clone, Debug)]
pub(crate) struct AttemptLimiter {
    pub store: SessionStore,
    pub limit: AttemptLimit,
}

impl AttemptLimiter {
    /// Counts a sign-in request for `user`; `Err(RateLimited)` when it is over the limit.
    pub async fn check(&self, user: &str) -> Result<()> {
        let key = format!("authenticate_user:{user}");
        match self.store.attempt(&key, &self.limit).await? {
            None => Ok(()),
            Some(retry_after) => {
                metrics::count(metrics::RATE_LIMITED, &[("source", "attempt_limit")], 1);
                Err(Error::RateLimited {
                    retry_after,
                    message: format!(
                        "more than {} sign-in requests for this user in {} s; try again in {} s",
                        self.limit.attempts,
                        self.limit.window.as_secs(),
                        retry_after.as_secs().max(1)
                    ),
                })
            }
        }
    }
}

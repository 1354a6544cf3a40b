//! The one bound on durations, and instant arithmetic that cannot overflow.

use std::time::Duration;

use tokio::time::Instant;

use crate::{Error, Result};

/// The longest duration any option, argument or server header may ask for: 365 days.
///
/// Options above it are refused by their `validate()` (and by the [`crate::ffi`]
/// converters) with `INVALID_ARGUMENT`; a server's `Retry-After` above it is clamped to
/// it. Every point where a duration is added to an instant is bounded this way, so no
/// value can overflow the clock.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// `Err(InvalidArgument)` naming `name` when `value` is longer than [`MAX_DURATION`].
pub(crate) fn check_duration(name: &str, value: Duration) -> Result<()> {
    if value > MAX_DURATION {
        return Err(Error::invalid(format!(
            "{name} must be at most {} seconds (365 days), not {} seconds",
            MAX_DURATION.as_secs(),
            value.as_secs()
        )));
    }
    Ok(())
}

/// `Err(InvalidArgument)` naming `name` when `value` is zero or above [`MAX_DURATION`].
pub(crate) fn check_positive(name: &str, value: Duration) -> Result<()> {
    if value.is_zero() {
        return Err(Error::invalid(format!("{name} must be greater than zero")));
    }
    check_duration(name, value)
}

/// `now + delay`, with `delay` clamped to [`MAX_DURATION`]; never panics.
pub(crate) fn later(now: Instant, delay: Duration) -> Instant {
    now.checked_add(delay.min(MAX_DURATION)).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_delays_are_clamped_not_overflowed() {
        let now = Instant::now();
        assert_eq!(later(now, Duration::MAX), now + MAX_DURATION);
        assert_eq!(later(now, Duration::from_secs(3)), now + Duration::from_secs(3));
        assert!(check_duration("x", MAX_DURATION).is_ok());
        let err = check_duration("retry deadline", MAX_DURATION + Duration::from_nanos(1)).unwrap_err();
        assert!(err.to_string().contains("retry deadline"), "{err}");
        assert!(check_positive("interval", Duration::ZERO).is_err());
    }
}

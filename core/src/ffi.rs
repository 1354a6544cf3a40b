//! Helpers for language bindings: panic guards and the one conversion of host-language
//! numbers into durations and counts, so that every binding refuses the same values with
//! the same messages.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use futures_util::FutureExt;

use crate::{Error, MAX_DURATION, Result};

/// Runs `future`, turning a panic inside it into [`Error::Internal`] instead of unwinding
/// into the host language.
pub async fn guard<T, F>(future: F) -> Result<T>
where
    F: Future<Output = Result<T>>,
{
    match AssertUnwindSafe(future).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => Err(internal(panic.as_ref())),
    }
}

/// Runs `call`, turning a panic inside it into [`Error::Internal`].
pub fn guard_sync<T>(call: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(call)).unwrap_or_else(|panic| Err(internal(panic.as_ref())))
}

/// The error for a caught panic, with its message when it has one.
pub(crate) fn internal(panic: &(dyn std::any::Any + Send)) -> Error {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned());
    Error::Internal(format!("{} (this is a bug in deviceauth; the client stays usable)", crate::text::bounded(&what)))
}

/// `value` seconds as a [`Duration`]. NaN, infinities, negative values and values above
/// [`MAX_DURATION`] are `INVALID_ARGUMENT` naming `name`. Zero is accepted here; the
/// option's own `validate()` refuses it where it makes no sense.
pub fn seconds(name: &str, value: f64) -> Result<Duration> {
    duration(name, value, 1.0, "seconds")
}

/// `value` milliseconds as a [`Duration`], with the rules of [`seconds`].
pub fn millis(name: &str, value: f64) -> Result<Duration> {
    duration(name, value, 1000.0, "milliseconds")
}

fn duration(name: &str, value: f64, per_second: f64, unit: &str) -> Result<Duration> {
    let max = MAX_DURATION.as_secs_f64() * per_second;
    if value.is_nan() || value.is_infinite() || value < 0.0 || value > max {
        return Err(Error::invalid(format!(
            "{name} must be a number of {unit} from 0 to {max} (365 days), not {value}"
        )));
    }
    Ok(Duration::from_secs_f64(value / per_second).min(MAX_DURATION))
}

/// `value` as an unsigned count of at most `max`; negative or larger values are
/// `INVALID_ARGUMENT` naming `name`.
pub fn unsigned(name: &str, value: i128, max: u64) -> Result<u64> {
    match u64::try_from(value) {
        Ok(count) if count <= max => Ok(count),
        _ => Err(Error::invalid(format!("{name} must be an integer from 0 to {max}, not {value}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_from_host_numbers() {
        assert_eq!(seconds("interval", 2.5).unwrap(), Duration::from_millis(2500));
        assert_eq!(millis("intervalMs", 1500.0).unwrap(), Duration::from_millis(1500));
        assert_eq!(seconds("interval", 0.0).unwrap(), Duration::ZERO);
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, 1e19, 1.8e22] {
            let err = seconds("interval", bad).unwrap_err();
            assert_eq!(err.code(), "INVALID_ARGUMENT");
            assert!(err.to_string().contains("interval"), "{err}");
            assert_eq!(millis("intervalMs", bad).unwrap_err().code(), "INVALID_ARGUMENT");
        }
        assert_eq!(seconds("x", MAX_DURATION.as_secs_f64()).unwrap(), MAX_DURATION);
    }

    #[test]
    fn counts_from_host_integers() {
        assert_eq!(unsigned("max_attempts", 4, u32::MAX.into()).unwrap(), 4);
        for bad in [-1, i128::from(u32::MAX) + 1, i128::MAX] {
            let err = unsigned("max_attempts", bad, u32::MAX.into()).unwrap_err();
            assert!(err.to_string().contains("max_attempts"), "{err}");
        }
    }

    #[tokio::test]
    async fn panics_become_internal_errors() {
        let err = guard(async { if true { panic!("boom") } else { Ok(()) } }).await.unwrap_err();
        assert_eq!(err.code(), "INTERNAL");
        assert!(err.to_string().contains("boom"), "{err}");
        let err = guard_sync::<()>(|| panic!("{}", String::from("bang"))).unwrap_err();
        assert!(err.to_string().contains("bang"), "{err}");
        assert_eq!(guard_sync(|| Ok(3)).unwrap(), 3);
    }
}

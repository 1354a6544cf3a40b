//! `deviceauth.RetryPolicy`: how idempotent calls are retried (core `RetryPolicy`, whose
//! `Default` holds the defaults).

use pyo3::prelude::*;

use crate::convert::{Float, Int, count, float_repr, seconds};
use crate::errors::IntoPyResult;

/// How idempotent calls are retried: exponential backoff with jitter, honouring
/// `Retry-After`, inside one overall deadline per call. Calls that act on the service
/// (`authenticate_user`, `send_registration_sms`, `create_device_activation`) are retried
/// only when the connection was never made, whatever the policy says.
///
/// Times are in seconds; an argument left out keeps the default (4 attempts, 0.2 s first
/// backoff, 5 s longest backoff, 30 s deadline). `RetryPolicy.never()` sends every call once.
#[pyclass(frozen, from_py_object, module = "deviceauth", name = "RetryPolicy")]
#[derive(Clone)]
pub struct RetryPolicy {
    pub(crate) inner: deviceauth::RetryPolicy,
}

#[pymethods]
impl RetryPolicy {
    #[new]
    #[pyo3(signature = (max_attempts = None, initial_backoff = None, max_backoff = None, deadline = None))]
    fn new(
        max_attempts: Option<Int>,
        initial_backoff: Option<Float>,
        max_backoff: Option<Float>,
        deadline: Option<Float>,
    ) -> PyResult<Self> {
        let mut p = deviceauth::RetryPolicy::default();
        p.max_attempts = count("max_attempts", max_attempts)?.unwrap_or(p.max_attempts);
        p.initial_backoff = seconds("initial_backoff", initial_backoff)?.unwrap_or(p.initial_backoff);
        p.max_backoff = seconds("max_backoff", max_backoff)?.unwrap_or(p.max_backoff);
        p.deadline = seconds("deadline", deadline)?.unwrap_or(p.deadline);
        p.validate().py()?;
        Ok(RetryPolicy { inner: p })
    }

    /// A policy that sends every call once.
    #[staticmethod]
    fn never() -> Self {
        RetryPolicy { inner: deviceauth::RetryPolicy::never() }
    }

    /// Attempts in all, the first included (1 means no retry).
    #[getter]
    fn max_attempts(&self) -> u32 {
        self.inner.max_attempts
    }

    /// Backoff in seconds before the first retry; it doubles for each one after.
    #[getter]
    fn initial_backoff(&self) -> f64 {
        self.inner.initial_backoff.as_secs_f64()
    }

    /// The longest backoff in seconds between two attempts.
    #[getter]
    fn max_backoff(&self) -> f64 {
        self.inner.max_backoff.as_secs_f64()
    }

    /// The time in seconds one call may take, every attempt and wait included.
    #[getter]
    fn deadline(&self) -> f64 {
        self.inner.deadline.as_secs_f64()
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<RetryPolicy>().is_ok_and(|o| o.get().inner == self.inner)
    }

    fn __hash__(&self) -> u64 {
        let p = &self.inner;
        u64::from(p.max_attempts)
            ^ (p.initial_backoff.as_nanos() as u64).rotate_left(13)
            ^ (p.max_backoff.as_nanos() as u64).rotate_left(29)
            ^ (p.deadline.as_nanos() as u64).rotate_left(43)
    }

    fn __repr__(&self) -> String {
        format!(
            "RetryPolicy(max_attempts={}, initial_backoff={}, max_backoff={}, deadline={})",
            self.max_attempts(),
            float_repr(self.initial_backoff()),
            float_repr(self.max_backoff()),
            float_repr(self.deadline())
        )
    }
}

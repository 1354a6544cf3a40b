//! Core errors as the pure-Python exception classes of `deviceauth._errors`, chosen by
//! [`Error::code`] (an unknown code raises the base class `DeviceAuthError`).

use deviceauth::Error;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

static CLASS_FOR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The Python exception for a core error: the class of its code (`_errors.class_for`), with
/// the core's message (which never holds a secret), `.status` and `.reason`.
pub fn to_pyerr(error: Error) -> PyErr {
    Python::attach(|py| {
        let made = CLASS_FOR.import(py, "deviceauth._errors", "class_for").and_then(|class_for| {
            let args = (error.to_string(), error.status(), error.reason().map(str::to_owned));
            let made = class_for.call1((error.code(),))?.call1(args)?;
            if let Some(wait) = error.retry_after() {
                made.setattr("retry_after", wait.as_secs_f64())?;
            }
            Ok(made)
        });
        made.map_or_else(|err| err, PyErr::from_value)
    })
}

/// `InvalidArgumentError(message)`, for values refused while converting arguments.
pub fn invalid(message: impl Into<String>) -> PyErr {
    to_pyerr(Error::InvalidArgument(message.into()))
}

/// Shorthand for `result.map_err(to_pyerr)`.
pub trait IntoPyResult<T> {
    /// The result with a core error turned into its Python exception.
    fn py(self) -> pyo3::PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, Error> {
    fn py(self) -> pyo3::PyResult<T> {
        self.map_err(to_pyerr)
    }
}

/// A synchronous call into the core, its panics caught as `InternalError`.
pub fn guarded<T>(call: impl FnOnce() -> Result<T, Error>) -> pyo3::PyResult<T> {
    deviceauth::ffi::guard_sync(call).py()
}

//! Core errors as the pure-Python exception classes of `deviceauth._errors`.
//!
//! The classes are imported lazily, when an exception is raised, so a `PyErr` can be made
//! on any thread without the GIL. Every class takes `(message, status, reason)`.

use deviceauth::Error;
use pyo3::PyErr;

mod classes {
    #![allow(missing_docs)]
    pyo3::import_exception!(deviceauth._errors, DeviceAuthError);
    pyo3::import_exception!(deviceauth._errors, InvalidArgumentError);
    pyo3::import_exception!(deviceauth._errors, NotFoundError);
    pyo3::import_exception!(deviceauth._errors, UnauthorizedError);
    pyo3::import_exception!(deviceauth._errors, NotStartedError);
    pyo3::import_exception!(deviceauth._errors, RefusedError);
    pyo3::import_exception!(deviceauth._errors, HttpError);
    pyo3::import_exception!(deviceauth._errors, ProtocolError);
    pyo3::import_exception!(deviceauth._errors, TimeoutError);
    pyo3::import_exception!(deviceauth._errors, AbortedError);
    pyo3::import_exception!(deviceauth._errors, TransportError);
}

use classes::*;

/// The Python exception for a core error, chosen by [`Error::code`], with the core's
/// message (which never holds a secret), `.status` and `.reason`.
pub fn to_pyerr(error: Error) -> PyErr {
    let message = error.to_string();
    let status = error.status();
    let reason = error.reason().map(str::to_owned);
    let args = (message, status, reason);
    match error.code() {
        "INVALID_ARGUMENT" => InvalidArgumentError::new_err(args),
        "NOT_FOUND" => NotFoundError::new_err(args),
        "UNAUTHORIZED" => UnauthorizedError::new_err(args),
        "NOT_STARTED" => NotStartedError::new_err(args),
        "REFUSED" => RefusedError::new_err(args),
        "HTTP" => HttpError::new_err(args),
        "PROTOCOL" => ProtocolError::new_err(args),
        "TIMEOUT" => TimeoutError::new_err(args),
        "ABORTED" => AbortedError::new_err(args),
        "TRANSPORT" => TransportError::new_err(args),
        // A code added to the core later still raises the base class.
        _ => DeviceAuthError::new_err(args),
    }
}

/// `InvalidArgumentError(message)`, for values the binding checks itself.
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

//! Argument conversions: `str` without lone surrogates, numbers of any size, durations and
//! counts (checked by the core's `ffi` helpers), and the HTTP options both clients take.

use std::path::PathBuf;
use std::time::Duration;

use pyo3::exceptions::{PyOverflowError, PyTypeError, PyUnicodeEncodeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule, PyTuple};

use crate::errors::{IntoPyResult, invalid};
use crate::retry::RetryPolicy;

/// A `str` argument. A lone surrogate (`'\ud800'`) has no UTF-8 form: `InvalidArgumentError`,
/// never a silent replacement that would make two different ids collide.
pub struct Text(pub String);

impl<'a, 'py> FromPyObject<'a, 'py> for Text {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        obj.extract::<String>().map(Text).map_err(|err| {
            if err.is_instance_of::<PyUnicodeEncodeError>(obj.py()) {
                invalid("a text argument holds a lone surrogate (U+D800 to U+DFFF), which cannot be sent")
            } else {
                err
            }
        })
    }
}

impl std::ops::Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// `Text`s as owned strings.
pub fn strings(texts: Vec<Text>) -> Vec<String> {
    texts.into_iter().map(|t| t.0).collect()
}

/// A number of any size: `Num<f64>` (seconds, from an `int` or a `float`) or `Num<i128>`
/// (counts). One beyond `T`'s range becomes `T`'s end on its side, which the core's
/// converters refuse with `InvalidArgumentError` naming the parameter.
pub struct Num<T>(pub T);
pub type Float = Num<f64>;
pub type Int = Num<i128>;

/// The lowest and highest value of a number type.
pub trait Ends: Sized {
    const ENDS: (Self, Self);
}

impl Ends for f64 {
    const ENDS: (f64, f64) = (f64::NEG_INFINITY, f64::INFINITY);
}

impl Ends for i128 {
    const ENDS: (i128, i128) = (i128::MIN, i128::MAX);
}

impl<'a, 'py, T: Ends + FromPyObject<'a, 'py>> FromPyObject<'a, 'py> for Num<T>
where
    PyErr: From<T::Error>,
{
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        match obj.extract::<T>().map_err(PyErr::from) {
            Ok(value) => Ok(Num(value)),
            Err(err) if err.is_instance_of::<PyOverflowError>(obj.py()) => {
                Ok(Num(if obj.lt(0)? { T::ENDS.0 } else { T::ENDS.1 }))
            }
            Err(err) => Err(err),
        }
    }
}

/// Seconds as a `Duration` (NaN, infinite, negative or over a year: `InvalidArgumentError`).
pub fn seconds(name: &str, value: Option<Float>) -> PyResult<Option<Duration>> {
    value.map(|v| deviceauth::ffi::seconds(name, v.0)).transpose().py()
}

/// A count from 0 to `u32::MAX`.
pub fn count(name: &str, value: Option<Int>) -> PyResult<Option<u32>> {
    // The helper checks the bound, so the narrowing cannot fail.
    value.map(|v| deviceauth::ffi::unsigned(name, v.0, u32::MAX.into()).map(|n| n as u32)).transpose().py()
}

/// The HTTP options both clients take as keyword arguments (each absent or `None` leaves
/// the core's default).
#[derive(Default)]
pub struct Http {
    pub timeout: Option<Float>,
    pub retry: Option<deviceauth::RetryPolicy>,
    pub user_agent: Option<Text>,
    pub allow_insecure_http: Option<bool>,
    pub allowed_origins: Option<Vec<Text>>,
    pub ca_file: Option<PathBuf>,
}

impl Http {
    /// The options from a constructor's `**options`; an unknown name is a `TypeError`.
    pub fn from_kwargs(options: Option<&Bound<'_, PyDict>>) -> PyResult<Http> {
        let mut http = Http::default();
        for (key, value) in options.into_iter().flatten() {
            let key = key.extract::<String>()?;
            if value.is_none() {
                continue;
            }
            let named = |err: PyErr| {
                if err.is_instance_of::<PyTypeError>(value.py()) {
                    PyTypeError::new_err(format!("{key}: {}", err.value(value.py())))
                } else {
                    err
                }
            };
            match key.as_str() {
                "timeout" => http.timeout = Some(value.extract().map_err(named)?),
                "retry" => http.retry = Some(value.extract::<RetryPolicy>().map_err(PyErr::from).map_err(named)?.inner),
                "user_agent" => http.user_agent = Some(value.extract().map_err(named)?),
                "allow_insecure_http" => http.allow_insecure_http = Some(value.extract().map_err(named)?),
                "allowed_origins" => http.allowed_origins = Some(value.extract().map_err(named)?),
                "ca_file" => http.ca_file = Some(value.extract().map_err(named)?),
                _ => return Err(PyTypeError::new_err(format!("unexpected keyword argument {key:?}"))),
            }
        }
        Ok(http)
    }
}

/// Applies [`Http`] to either core `ClientBuilder` (they share these methods).
macro_rules! apply_http {
    ($builder:expr, $http:expr) => {{
        let http: crate::convert::Http = $http;
        let mut builder = $builder;
        if let Some(timeout) = crate::convert::seconds("timeout", http.timeout)? {
            builder = builder.timeout(timeout);
        }
        if let Some(policy) = http.retry {
            builder = builder.retry_policy(policy);
        }
        if let Some(agent) = http.user_agent {
            builder = builder.user_agent(agent.0);
        }
        if let Some(allow) = http.allow_insecure_http {
            builder = builder.allow_insecure_http(allow);
        }
        if let Some(origins) = http.allowed_origins {
            builder = builder.allowed_origins(crate::convert::strings(origins));
        }
        if let Some(path) = http.ca_file {
            builder = builder.ca_file(path);
        }
        crate::errors::guarded(move || builder.build())
    }};
}
pub(crate) use apply_http;

/// A float as Python's `repr` writes it (`5.0`, `0.2`).
pub fn float_repr(value: f64) -> String {
    let text = value.to_string();
    if text.contains(['.', 'e', 'n', 'i']) { text } else { format!("{text}.0") }
}

/// `None` as a result (a unit `()` would become an empty tuple).
pub struct Nothing;

impl<'py> IntoPyObject<'py> for Nothing {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(py.None().into_bound(py))
    }
}

static TYPES: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The pure-Python module of result classes and enums, `deviceauth._types`.
pub fn types(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    TYPES.get_or_try_init(py, || py.import("deviceauth._types").map(Bound::unbind)).map(|m| m.bind(py))
}

/// A result returned as `deviceauth._types.<name>(*args)`.
pub struct Make<A>(pub &'static str, pub A);

impl<'py, A: IntoPyObject<'py, Target = PyTuple, Output = Bound<'py, PyTuple>>> IntoPyObject<'py> for Make<A>
where
    PyErr: From<A::Error>,
{
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        types(py)?.getattr(self.0)?.call1(self.1.into_pyobject(py)?)
    }
}

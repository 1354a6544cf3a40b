//! Argument and result conversions shared by the classes: durations, counts, JSON.

use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};

use crate::errors::invalid;

/// Seconds as a `Duration`; `name` must be a finite number greater than zero.
pub fn seconds(name: &str, value: f64) -> PyResult<Duration> {
    if !(value.is_finite() && value > 0.0) {
        return Err(invalid(format!("{name} must be a number of seconds greater than zero, not {value}")));
    }
    Duration::try_from_secs_f64(value).map_err(|_| invalid(format!("{name} is too large: {value}")))
}

/// Seconds as a `Duration`; zero allowed.
pub fn seconds_or_zero(name: &str, value: f64) -> PyResult<Duration> {
    if value == 0.0 {
        return Ok(Duration::ZERO);
    }
    seconds(name, value)
}

/// `repr(text)` as Python writes it.
pub fn repr_str(py: Python<'_>, text: &str) -> PyResult<String> {
    Ok(pyo3::types::PyString::new(py, text).repr()?.to_string())
}

/// A float as Python's `repr` writes it (`5.0`, `0.2`).
pub fn float_repr(value: f64) -> String {
    let text = value.to_string();
    if text.contains(['.', 'e', 'n', 'i']) { text } else { format!("{text}.0") }
}

/// A positive count that fits in `u32`.
pub fn positive_u32(name: &str, value: Option<i64>) -> PyResult<Option<u32>> {
    match value {
        None => Ok(None),
        Some(v) if v > 0 && v <= i64::from(u32::MAX) => Ok(Some(v as u32)),
        Some(v) => Err(invalid(format!("{name} must be a whole number from 1 to {}, not {v}", u32::MAX))),
    }
}

static JSON_DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// A Python value as JSON text (`json.dumps`, NaN refused); a value that has no JSON form
/// is `InvalidArgumentError` (`TypeError` for an unsupported type stays `TypeError`).
pub fn dumps(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<String> {
    let dumps = JSON_DUMPS.get_or_try_init(py, || Ok::<_, PyErr>(py.import("json")?.getattr("dumps")?.unbind()))?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("allow_nan", false)?;
    match dumps.bind(py).call((value,), Some(&kwargs)) {
        Ok(text) => text.extract(),
        Err(err) if err.is_instance_of::<PyValueError>(py) => {
            Err(invalid(format!("not valid JSON: {}", err.value(py))))
        }
        Err(err) => Err(err),
    }
}

/// `None` as the result of an awaitable (a unit `()` would become an empty tuple).
pub struct Nothing;

impl<'py> IntoPyObject<'py> for Nothing {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(py.None().into_bound(py))
    }
}

/// A parsed JSON value, made into Python objects when returned.
pub struct Json(pub serde_json::Value);

impl<'py> IntoPyObject<'py> for Json {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }
}

fn to_python<'py>(py: Python<'py>, value: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => s.into_pyobject(py)?.into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, to_python(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_python() {
        assert_eq!(float_repr(5.0), "5.0");
        assert_eq!(float_repr(0.2), "0.2");
        assert_eq!(float_repr(30.0), "30.0");
    }

    #[test]
    fn durations_and_counts_are_checked() {
        assert_eq!(seconds("t", 1.5).ok(), Some(Duration::from_millis(1500)));
        assert_eq!(seconds_or_zero("t", 0.0).ok(), Some(Duration::ZERO));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e300] {
            assert!(seconds("t", bad).is_err(), "{bad}");
        }
        assert_eq!(positive_u32("n", Some(7)).ok(), Some(Some(7)));
        assert_eq!(positive_u32("n", None).ok(), Some(None));
        for bad in [0, -3, i64::from(u32::MAX) + 1] {
            assert!(positive_u32("n", Some(bad)).is_err(), "{bad}");
        }
    }
}

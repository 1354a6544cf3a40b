//! `deviceauth.qr`: the core's QR codes (core `qr`) for registration links and
//! activation URLs, drawn locally with no network.

use pyo3::prelude::*;

use crate::errors::to_pyerr;

/// A standalone ``<svg>`` element showing ``text`` as a QR code, black on white with the
/// quiet zone, ready to put in a web page (mark it safe in your template engine).
/// Raises ``InvalidArgumentError`` for empty or too long text.
#[pyfunction]
pub fn svg(text: &str) -> PyResult<String> {
    deviceauth::qr::svg(text).map_err(to_pyerr)
}

/// ``text`` as a QR code in Unicode half blocks for a terminal with a dark background,
/// one line per row. Raises ``InvalidArgumentError`` for empty or too long text.
#[pyfunction]
pub fn terminal(text: &str) -> PyResult<String> {
    deviceauth::qr::terminal(text).map_err(to_pyerr)
}

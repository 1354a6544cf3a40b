//! `deviceauth.qr`: the core's QR codes (core `qr`) for registration links and
//! activation URLs, drawn locally with no network.

use pyo3::prelude::*;

use crate::convert::Text;
use crate::errors::guarded;

/// A standalone ``<svg>`` element showing ``text`` as a QR code, black on white with the
/// quiet zone, ready to put in a web page (mark it safe in your template engine).
/// Raises ``InvalidArgumentError`` for empty or too long text.
#[pyfunction]
pub fn svg(text: Text) -> PyResult<String> {
    guarded(|| deviceauth::qr::svg(&text))
}

/// ``text`` as a QR code in Unicode half blocks for a terminal with a dark background,
/// one line per row. Raises ``InvalidArgumentError`` for empty or too long text.
#[pyfunction]
pub fn terminal(text: Text) -> PyResult<String> {
    guarded(|| deviceauth::qr::terminal(&text))
}

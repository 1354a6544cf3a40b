//! The core's telemetry for Python: the metrics snapshot, and each finished call's span
//! record handed to one Python callable (the package's OpenTelemetry bridge).

use std::sync::Arc;

use deviceauth::telemetry::{SpanRecord, metrics, set_span_sink};
use pyo3::prelude::*;

/// The metrics snapshot as JSON text (the package parses it).
#[pyfunction]
pub fn metrics_json() -> String {
    metrics::snapshot_json()
}

/// Calls `callback(record_json)` with each finished call's span record; `None` stops.
/// Runs on the runtime thread that finished the call, attached to Python through the exit
/// gate like the log forwarder (never while the library holds a lock); an exception from
/// the callback is reported as unraisable and the call goes on.
#[pyfunction]
#[pyo3(signature = (callback))]
pub fn set_span_callback(callback: Option<Py<PyAny>>) {
    let Some(callback) = callback else {
        set_span_sink(None);
        return;
    };
    let callback = Arc::new(callback);
    set_span_sink(Some(Arc::new(move |record: &SpanRecord| {
        let json = record.to_json();
        let _ = crate::runtime::gate::with_python(|py| {
            if let Err(err) = callback.call1(py, (json,)) {
                err.write_unraisable(py, None);
            }
        });
    })));
}

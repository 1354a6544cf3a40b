//! Forwards the core's `log` records to Python's `logging.getLogger("deviceauth")`.
//!
//! pyo3-log 0.13 supports pyo3 0.30, but it caches each logger's level once and so misses a
//! level set later (e.g. by pytest's `caplog`) unless reset, and a reset makes every record
//! take the GIL again on the runtime's threads. This small logger instead copies the
//! effective level of `deviceauth` into `log::max_level` on every API call (the caller holds
//! the GIL then), so a disabled record costs one atomic load and never touches Python.
//!
//! Only records whose target is in the `deviceauth` crate are forwarded (so nothing of
//! reqwest's, whose messages may hold URLs). The core never puts a secret in a message.

use log::{Level, LevelFilter, Log, Metadata, Record};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyTuple;

/// The Python logger's name.
pub const LOGGER_NAME: &str = "deviceauth";

static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

struct PythonLogger;

static INSTANCE: PythonLogger = PythonLogger;

fn python_level(level: Level) -> i32 {
    match level {
        Level::Error => 40,
        Level::Warn => 30,
        Level::Info => 20,
        Level::Debug => 10,
        Level::Trace => 5,
    }
}

fn is_ours(target: &str) -> bool {
    target == "deviceauth" || target.starts_with("deviceauth::")
}

impl Log for PythonLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        is_ours(metadata.target()) && metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let message = record.args().to_string();
        // Runs on whichever thread logged (often a runtime thread without the GIL): wait
        // for the GIL like any Python thread, through the exit gate (never once the
        // interpreter is shutting down). Nothing in the library holds the GIL while waiting
        // on a runtime thread, so this cannot deadlock.
        let _ = crate::runtime::gate::with_python(|py| {
            if let Err(err) = emit(py, record, &message) {
                // A broken handler must not break the call that logged.
                err.write_unraisable(py, None);
            }
        });
    }

    fn flush(&self) {}
}

fn logger(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    LOGGER
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("logging")?.call_method1("getLogger", (LOGGER_NAME,))?.unbind())
        })
        .map(|logger| logger.bind(py))
}

fn emit(py: Python<'_>, record: &Record<'_>, message: &str) -> PyResult<()> {
    let logger = logger(py)?;
    let level = python_level(record.level());
    if !logger.call_method1("isEnabledFor", (level,))?.is_truthy()? {
        return Ok(());
    }
    let file = record.file().unwrap_or("<rust>");
    let line = record.line().unwrap_or(0);
    let made =
        logger.call_method1("makeRecord", (LOGGER_NAME, level, file, line, message, PyTuple::empty(py), py.None()))?;
    logger.call_method1("handle", (made,))?;
    Ok(())
}

/// Copies the effective level of the `deviceauth` logger into `log::max_level`. Called on
/// every API call, with the GIL held; cheap.
pub fn refresh(py: Python<'_>) {
    let level = logger(py).and_then(|logger| logger.call_method0("getEffectiveLevel")?.extract::<i32>()).unwrap_or(30);
    let filter = match level {
        i32::MIN..=5 => LevelFilter::Trace,
        6..=10 => LevelFilter::Debug,
        11..=20 => LevelFilter::Info,
        21..=30 => LevelFilter::Warn,
        31..=40 => LevelFilter::Error,
        _ => LevelFilter::Off,
    };
    log::set_max_level(filter);
}

/// Installs the forwarder (once per process; another `log` user in this extension would
/// have won, which cannot happen here).
pub fn init(py: Python<'_>) {
    if log::set_logger(&INSTANCE).is_ok() {
        refresh(py);
    }
}

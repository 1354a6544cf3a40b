//! Python bindings of `deviceauth`: the extension module `deviceauth._native`.
//!
//! The native layer only converts arguments, calls the core and maps errors: one class
//! per concept (client, session, watch, monitor, Project Insight client, API client). A
//! method doing I/O returns a [`runtime::Pending`] call that Python waits for or awaits; the
//! pure-Python package on top (`python/deviceauth`) gives the blocking and asyncio classes.
//!
//! Modules: `runtime` (tokio runtime, pending calls, exit gate, fork hook), `errors`,
//! `convert`, `activeconnect` (+ `activeconnect/monitor`, `activeconnect/store`), `projectinsight`, `retry`,
//! `logging` (core `log` records -> Python `logging`), `qr`, `telemetry` (metrics, span
//! records for the OpenTelemetry bridge), `token_store`.

mod activeconnect;
mod convert;
mod errors;
mod logging;
mod projectinsight;
mod qr;
mod retry;
mod runtime;
mod telemetry;
mod token_store;

use pyo3::prelude::*;

/// A defect on purpose, to test that panics surface as `InternalError` (`kind` "sync" or
/// "async"; the latter gives a pending call).
#[pyfunction]
fn _panic_for_tests(py: Python<'_>, kind: &str) -> PyResult<Py<PyAny>> {
    let boom = || -> deviceauth::Result<bool> { panic!("deliberate test panic") };
    match kind {
        "sync" => errors::guarded(boom).map(|_| py.None()),
        _ => Ok(Py::new(py, runtime::Pending::new(async move { boom() }))?.into_any()),
    }
}

/// Runs the `deviceauth-emulator` command line (`argv[0]` is the program name) until
/// SIGINT or SIGTERM and returns its exit code (0 after a signal or `--help`, 2 for bad
/// flags, 1 when it cannot start). Blocks, with the GIL released.
#[pyfunction]
fn run_emulator(py: Python<'_>, argv: Vec<String>) -> i32 {
    let args = argv.into_iter().map(std::ffi::OsString::from).collect();
    py.detach(|| deviceauth_emulator::cli::run(args))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<runtime::Pending>()?;
    m.add_class::<runtime::Drain>()?;
    m.add_class::<activeconnect::Client>()?;
    m.add_class::<activeconnect::Session>()?;
    m.add_class::<activeconnect::Watch>()?;
    m.add_class::<activeconnect::monitor::Monitor>()?;
    m.add_class::<activeconnect::store::StoreMonitor>()?;
    m.add_class::<projectinsight::Client>()?;
    m.add_class::<projectinsight::ApiClient>()?;
    m.add_class::<token_store::TokenStore>()?;
    m.add_class::<retry::RetryPolicy>()?;
    m.add("DEFAULT_BASE_URL", deviceauth::activeconnect::DEFAULT_BASE_URL)?;
    m.add("SERVER_ENV", deviceauth::activeconnect::SERVER_ENV)?;
    m.add("MAX_USER_ID_BYTES", deviceauth::activeconnect::MAX_USER_ID_BYTES)?;
    m.add("DEFAULT_CHECK_BUDGET", deviceauth::activeconnect::DEFAULT_CHECK_BUDGET.as_secs_f64())?;
    m.add("DEFAULT_HEALTH_BUDGET", deviceauth::activeconnect::DEFAULT_HEALTH_BUDGET.as_secs_f64())?;
    m.add("HEALTH_PROBE_USER", deviceauth::activeconnect::HEALTH_PROBE_USER)?;
    m.add_function(wrap_pyfunction!(activeconnect::monitor::shard_of, m)?)?;
    m.add_function(wrap_pyfunction!(qr::svg, m)?)?;
    m.add_function(wrap_pyfunction!(qr::terminal, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::_after_fork_in_child, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::gate::_at_exit, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(run_emulator, m)?)?;
    m.add_function(wrap_pyfunction!(telemetry::metrics_json, m)?)?;
    m.add_function(wrap_pyfunction!(telemetry::set_span_callback, m)?)?;
    runtime::init(py)?;
    logging::init(py);
    Ok(())
}

//! Python bindings of `deviceauth`: the extension module `deviceauth._native`.
//!
//! Every class converts its arguments, calls the core crate and maps errors; no flow
//! logic lives here. The Python package `deviceauth` (folder `python/`) re-exports these
//! classes from `deviceauth.activeconnect` and `deviceauth.projectinsight` and adds the
//! pure-Python pieces (the `Status` and `Method` enums, the exception classes).
//!
//! Module map (one to one with the core):
//! - `runtime`: the fork-safe tokio runtime, blocking calls and asyncio awaitables;
//! - `errors`: core `Error` -> `deviceauth._errors` exceptions;
//! - `activeconnect` (+ `activeconnect/session`, `activeconnect/monitor`): core `activeconnect`;
//! - `projectinsight`: core `projectinsight`;
//! - `qr`: core `qr`;
//! - `retry`: core `RetryPolicy`;
//! - `logging`: core `log` records -> Python `logging`;
//! - `convert`: durations, counts and JSON.

mod activeconnect;
mod convert;
mod errors;
mod logging;
mod projectinsight;
mod qr;
mod retry;
mod runtime;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ActiveconnectClient", py.get_type::<activeconnect::Client>())?;
    m.add("ActiveconnectAsyncClient", py.get_type::<activeconnect::AsyncClient>())?;
    m.add("AddedUsers", py.get_type::<activeconnect::AddedUsers>())?;
    m.add("Session", py.get_type::<activeconnect::session::Session>())?;
    m.add("AsyncSession", py.get_type::<activeconnect::session::AsyncSession>())?;
    m.add("StatusIterator", py.get_type::<activeconnect::session::StatusIterator>())?;
    m.add("AsyncStatusIterator", py.get_type::<activeconnect::session::AsyncStatusIterator>())?;
    m.add("Monitor", py.get_type::<activeconnect::monitor::Monitor>())?;
    m.add("AsyncMonitor", py.get_type::<activeconnect::monitor::AsyncMonitor>())?;
    m.add("MonitorEvent", py.get_type::<activeconnect::monitor::MonitorEvent>())?;
    m.add_function(wrap_pyfunction!(activeconnect::monitor::shard_of, m)?)?;
    m.add("ProjectInsightClient", py.get_type::<projectinsight::Client>())?;
    m.add("ProjectInsightAsyncClient", py.get_type::<projectinsight::AsyncClient>())?;
    m.add("ApiClient", py.get_type::<projectinsight::ApiClient>())?;
    m.add("AsyncApiClient", py.get_type::<projectinsight::AsyncApiClient>())?;
    m.add("PendingActivation", py.get_type::<projectinsight::PendingActivation>())?;
    m.add("DeviceActivation", py.get_type::<projectinsight::DeviceActivation>())?;
    m.add("RetryPolicy", py.get_type::<retry::RetryPolicy>())?;
    m.add("DEFAULT_BASE_URL", deviceauth::activeconnect::DEFAULT_BASE_URL)?;
    m.add("SERVER_ENV", deviceauth::activeconnect::SERVER_ENV)?;
    m.add("MAX_USER_ID_BYTES", deviceauth::activeconnect::MAX_USER_ID_BYTES)?;
    m.add_function(wrap_pyfunction!(qr::svg, m)?)?;
    m.add_function(wrap_pyfunction!(qr::terminal, m)?)?;
    m.add_function(wrap_pyfunction!(logging::_stop_logging, m)?)?;
    logging::init(py);
    Ok(())
}

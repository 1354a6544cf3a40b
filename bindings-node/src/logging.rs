//! The core's `log` records, delivered to one JavaScript callback `(level, target,
//! message)` on the JavaScript thread (through the completion queue of [`crate::settle`]).
//! The face turns them into `'log'` events of its `logs` emitter.

use std::cell::Cell;
use std::ptr;
use std::sync::{Arc, Mutex, PoisonError};

use napi::bindgen_prelude::{Function, Unknown};
use napi::{Env, JsValue, sys};

use crate::settle::{self, Queue};

/// Where records go: the queue of the environment that set the callback.
static SINK: Mutex<Option<Arc<Queue>>> = Mutex::new(None);

thread_local! {
    static CALLBACK: Cell<Option<sys::napi_ref>> = const { Cell::new(None) };
}

struct Forward;

impl log::Log for Forward {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let sink = SINK.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some(queue) = sink {
            let level = match record.level() {
                log::Level::Error => "error",
                log::Level::Warn => "warn",
                log::Level::Info => "info",
                log::Level::Debug => "debug",
                log::Level::Trace => "trace",
            };
            queue.log(level, record.target().to_owned(), record.args().to_string());
        }
    }

    fn flush(&self) {}
}

/// Sends the records of `level` and above to `callback`; `None` stops them.
pub(crate) fn set(env: &Env, callback: Option<Function<'_, Unknown<'_>, Unknown<'_>>>, level: &str) -> napi::Result<()> {
    let filter = match level {
        "error" => log::LevelFilter::Error,
        "warn" => log::LevelFilter::Warn,
        "info" => log::LevelFilter::Info,
        "debug" => log::LevelFilter::Debug,
        "trace" => log::LevelFilter::Trace,
        _ => log::LevelFilter::Off,
    };
    // Fails only when another logger is installed in this process: then it keeps its records.
    let _ = log::set_logger(&Forward);
    if let Some(old) = CALLBACK.take() {
        // SAFETY: a reference made below, on this thread.
        unsafe { sys::napi_delete_reference(env.raw(), old) };
    }
    let Some(callback) = callback.filter(|_| filter != log::LevelFilter::Off) else {
        log::set_max_level(log::LevelFilter::Off);
        *SINK.lock().unwrap_or_else(PoisonError::into_inner) = None;
        return Ok(());
    };
    let mut reference = ptr::null_mut();
    // SAFETY: JavaScript thread, live env and function.
    napi::check_status!(unsafe { sys::napi_create_reference(env.raw(), callback.raw(), 1, &mut reference) })?;
    CALLBACK.set(Some(reference));
    *SINK.lock().unwrap_or_else(PoisonError::into_inner) = Some(settle::queue(env.raw())?);
    log::set_max_level(filter);
    Ok(())
}

/// Calls the callback with one record (JavaScript thread, from the queue's drain).
pub(crate) fn deliver(env: sys::napi_env, level: &str, target: &str, message: &str) {
    let Some(reference) = CALLBACK.get() else { return };
    let js = Env::from_raw(env);
    let _ = (|| -> napi::Result<()> {
        let mut callback = ptr::null_mut();
        // SAFETY: a live reference of this env.
        napi::check_status!(unsafe { sys::napi_get_reference_value(env, reference, &mut callback) })?;
        let args = [js.create_string(level)?.raw(), js.create_string(target)?.raw(), js.create_string(message)?.raw()];
        let mut global = ptr::null_mut();
        let mut result = ptr::null_mut();
        // SAFETY: JavaScript thread; `callback` is a function of this env.
        unsafe {
            sys::napi_get_global(env, &mut global);
            if sys::napi_call_function(env, global, callback, 3, args.as_ptr(), &mut result) != sys::Status::napi_ok {
                // The face's callback catches its listeners' errors; anything left is dropped.
                let mut error = ptr::null_mut();
                sys::napi_get_and_clear_last_exception(env, &mut error);
            }
        }
        Ok(())
    })();
}

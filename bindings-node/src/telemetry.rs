//! The core's telemetry for JavaScript: the metrics snapshot, and each finished call's
//! span record delivered to one JavaScript callback `(recordJson)` on the JavaScript thread
//! (through the completion queue of [`crate::settle`], like the log records). The face
//! turns the records into `@opentelemetry/api` spans.

use std::cell::Cell;
use std::ptr;
use std::sync::Arc;

use deviceauth::telemetry::{SpanRecord, metrics, set_span_sink};
use napi::bindgen_prelude::{Function, Unknown};
use napi::{Env, JsValue, sys};

use crate::settle;

thread_local! {
    static CALLBACK: Cell<Option<sys::napi_ref>> = const { Cell::new(None) };
}

/// The metrics snapshot as JSON text (the face parses it).
pub(crate) fn metrics_json() -> String {
    metrics::snapshot_json()
}

/// Sends each finished call's record to `callback`; `None` stops.
pub(crate) fn set(env: &Env, callback: Option<Function<'_, Unknown<'_>, Unknown<'_>>>) -> napi::Result<()> {
    if let Some(old) = CALLBACK.take() {
        // SAFETY: a reference made below, on this thread.
        unsafe { sys::napi_delete_reference(env.raw(), old) };
    }
    let Some(callback) = callback else {
        set_span_sink(None);
        return Ok(());
    };
    let mut reference = ptr::null_mut();
    // SAFETY: JavaScript thread, live env and function.
    napi::check_status!(unsafe { sys::napi_create_reference(env.raw(), callback.raw(), 1, &mut reference) })?;
    CALLBACK.set(Some(reference));
    let queue = settle::queue(env.raw())?;
    set_span_sink(Some(Arc::new(move |record: &SpanRecord| queue.span(record.to_json()))));
    Ok(())
}

/// Calls the callback with one record (JavaScript thread, from the queue's drain).
pub(crate) fn deliver(env: sys::napi_env, record: &str) {
    let Some(reference) = CALLBACK.get() else { return };
    let js = Env::from_raw(env);
    let _ = (|| -> napi::Result<()> {
        let mut callback = ptr::null_mut();
        // SAFETY: a live reference of this env.
        napi::check_status!(unsafe { sys::napi_get_reference_value(env, reference, &mut callback) })?;
        let args = [js.create_string(record)?.raw()];
        let mut global = ptr::null_mut();
        let mut result = ptr::null_mut();
        // SAFETY: JavaScript thread; `callback` is a function of this env.
        unsafe {
            sys::napi_get_global(env, &mut global);
            if sys::napi_call_function(env, global, callback, 1, args.as_ptr(), &mut result) != sys::Status::napi_ok {
                // The face's callback catches its own errors; anything left is dropped.
                let mut error = ptr::null_mut();
                sys::napi_get_and_clear_last_exception(env, &mut error);
            }
        }
        Ok(())
    })();
}

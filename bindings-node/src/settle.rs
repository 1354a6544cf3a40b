//! Promises settled from the tokio runtime, and log and span records delivered to JavaScript, with
//! one wake-up of the JavaScript thread per batch.
//!
//! napi-rs's `AsyncBlock` makes a threadsafe function (a libuv handle, a cleanup hook)
//! for every Promise and wakes the JavaScript thread once per result. Here each
//! JavaScript environment has ONE threadsafe function: a finished call pushes its result
//! into a queue and wakes the JavaScript thread only when the queue was empty, and the
//! JavaScript thread settles everything queued in one go. The threadsafe function keeps
//! the event loop alive only while a Promise is pending (the count lives on the
//! JavaScript thread; log records never hold the process).

use std::cell::RefCell;
use std::ffi::c_void;
use std::future::Future;
use std::ptr;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use napi::bindgen_prelude::ToNapiValue;
use napi::{Env, Status, check_status, sys};
use tokio::sync::watch;

use crate::errors::{self, CoreError};

/// The addon's tokio runtime, where every call to the core runs (one worker per core).
#[allow(clippy::expect_used)] // without a runtime the addon cannot do anything at all
pub(crate) static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("deviceauth")
        .build()
        .expect("the deviceauth tokio runtime could not start")
});

/// Makes the JS value of a result, on the JavaScript thread.
type Make = Box<dyn FnOnce(sys::napi_env) -> napi::Result<sys::napi_value> + Send>;

/// What the JavaScript thread handles when it wakes up.
enum Item {
    Settle { deferred: Deferred, outcome: Result<Make, CoreError> },
    Log { level: &'static str, target: String, message: String },
    Span { record: String },
}

/// A Promise's resolver.
struct Deferred(sys::napi_deferred);
// SAFETY: the pointer is only handed back to napi on the JavaScript thread that made it
// (in `drain`); other threads merely move it.
unsafe impl Send for Deferred {}

/// The environment's threadsafe function.
#[derive(Clone, Copy)]
struct Tsfn(sys::napi_threadsafe_function);
// SAFETY: napi_call_threadsafe_function may be called from any thread; the handle is
// only used while the environment is alive (`State::tsfn` is cleared by its cleanup hook).
unsafe impl Send for Tsfn {}

struct State {
    items: Vec<Item>,
    /// `None` once the environment is torn down: results are then dropped.
    tsfn: Option<Tsfn>,
}

/// One environment's queue, shared with the tasks on the runtime; `closed` is set when the
/// environment is torn down (a worker thread ends), which stops its calls still running.
pub(crate) struct Queue(Mutex<State>, watch::Sender<bool>);

impl Queue {
    fn push(&self, item: Item) {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(tsfn) = state.tsfn else { return };
        let wake = state.items.is_empty();
        state.items.push(item);
        if wake {
            // Non-blocking on an unbounded queue: never waits. Under the lock, so that the
            // cleanup hook cannot free the function meanwhile.
            // SAFETY: `tsfn` is alive while `state.tsfn` is set.
            unsafe { sys::napi_call_threadsafe_function(tsfn.0, ptr::null_mut(), 0) };
        }
    }

    /// Queues a log record for the JavaScript log callback.
    pub(crate) fn log(&self, level: &'static str, target: String, message: String) {
        self.push(Item::Log { level, target, message });
    }

    /// Queues a finished call's span record (JSON) for the JavaScript span callback.
    pub(crate) fn span(&self, record: String) {
        self.push(Item::Span { record });
    }
}

/// What the JavaScript thread of one environment keeps.
struct Local {
    queue: Arc<Queue>,
    tsfn: Tsfn,
    /// Promises made and not yet settled; the event loop is held while it is above 0.
    pending: usize,
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

/// This environment's queue, made on first use (JavaScript thread only).
pub(crate) fn queue(env: sys::napi_env) -> napi::Result<Arc<Queue>> {
    with_local(env, |local| local.queue.clone())
}

fn with_local<T>(env: sys::napi_env, f: impl FnOnce(&mut Local) -> T) -> napi::Result<T> {
    LOCAL.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(start(env)?);
        }
        match slot.as_mut() {
            Some(local) => Ok(f(local)),
            None => Err(napi::Error::new(Status::GenericFailure, "no completion queue")),
        }
    })
}

fn start(env: sys::napi_env) -> napi::Result<Local> {
    let queue = Arc::new(Queue(Mutex::new(State { items: Vec::new(), tsfn: None }), watch::channel(false).0));
    let context = Arc::into_raw(queue.clone()) as *mut c_void;
    let mut name = ptr::null_mut();
    let mut raw = ptr::null_mut();
    // SAFETY: plain napi calls on the JavaScript thread with a live env. `context` is
    // released by `finalize`, which Node calls once, after `cleanup` (hooks run in
    // reverse order of registration and the function registers its own first).
    unsafe {
        check_status!(sys::napi_create_string_utf8(env, c"deviceauth".as_ptr(), 10, &mut name))?;
        check_status!(sys::napi_create_threadsafe_function(
            env,
            ptr::null_mut(),
            ptr::null_mut(),
            name,
            0,
            1,
            context,
            Some(finalize),
            context,
            Some(drain),
            &mut raw,
        ))?;
        check_status!(sys::napi_unref_threadsafe_function(env, raw))?;
        check_status!(sys::napi_add_env_cleanup_hook(env, Some(cleanup), context))?;
    }
    let tsfn = Tsfn(raw);
    queue.0.lock().unwrap_or_else(PoisonError::into_inner).tsfn = Some(tsfn);
    Ok(Local { queue, tsfn, pending: 0 })
}

unsafe extern "C" fn cleanup(context: *mut c_void) {
    // SAFETY: `context` is the queue, alive until `finalize`.
    let queue = unsafe { &*(context as *const Queue) };
    let mut state = queue.0.lock().unwrap_or_else(PoisonError::into_inner);
    state.tsfn = None;
    state.items.clear();
    queue.1.send_replace(true);
    LOCAL.with(|cell| cell.borrow_mut().take());
}

unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: the reference made in `start`, released once.
    drop(unsafe { Arc::from_raw(data as *const Queue) });
}

/// Settles everything queued (JavaScript thread, inside napi's handle and callback scope).
unsafe extern "C" fn drain(env: sys::napi_env, _js: sys::napi_value, context: *mut c_void, _data: *mut c_void) {
    if env.is_null() {
        return;
    }
    // SAFETY: `context` is the queue, alive until `finalize`.
    let queue = unsafe { &*(context as *const Queue) };
    let items = std::mem::take(&mut queue.0.lock().unwrap_or_else(PoisonError::into_inner).items);
    let mut settled = 0;
    for item in items {
        match item {
            Item::Settle { deferred, outcome } => {
                settled += 1;
                let value = match outcome {
                    Ok(make) => make(env).map_err(|e| CoreError::Internal(format!("result conversion: {e}"))),
                    Err(error) => Err(error),
                };
                // SAFETY: the deferred of this env, settled exactly once.
                unsafe {
                    match value {
                        Ok(value) => sys::napi_resolve_deferred(env, deferred.0, value),
                        Err(error) => sys::napi_reject_deferred(env, deferred.0, errors::value(env, &error)),
                    };
                }
            }
            Item::Log { level, target, message } => crate::logging::deliver(env, level, &target, &message),
            Item::Span { record } => crate::telemetry::deliver(env, &record),
        }
    }
    if settled > 0 {
        LOCAL.with(|cell| {
            if let Some(local) = cell.borrow_mut().as_mut() {
                local.pending = local.pending.saturating_sub(settled);
                if local.pending == 0 {
                    // SAFETY: JavaScript thread, live function.
                    unsafe { sys::napi_unref_threadsafe_function(env, local.tsfn.0) };
                }
            }
        });
    }
}

/// A Promise of `future`'s result, which runs on the addon's runtime; a panic inside it
/// rejects with code `INTERNAL`.
pub(crate) fn promise<T, F>(env: &Env, future: F) -> napi::Result<Promise>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = Result<T, CoreError>> + Send + 'static,
{
    let env = env.raw();
    let (queue, tsfn, first) = with_local(env, |local| {
        local.pending += 1;
        (local.queue.clone(), local.tsfn, local.pending == 1)
    })?;
    if first {
        // SAFETY: JavaScript thread, live function.
        check_status!(unsafe { sys::napi_ref_threadsafe_function(env, tsfn.0) })?;
    }
    let mut deferred = ptr::null_mut();
    let mut promise = ptr::null_mut();
    // SAFETY: JavaScript thread, live env.
    check_status!(unsafe { sys::napi_create_promise(env, &mut deferred, &mut promise) })?;
    let deferred = Deferred(deferred);
    let mut closed = queue.1.subscribe();
    RUNTIME.spawn(async move {
        let outcome = tokio::select! {
            biased;
            _ = closed.wait_for(|closed| *closed) => return,
            outcome = deviceauth::ffi::guard(future) => outcome,
        };
        let outcome = outcome.map(|value| {
            // SAFETY: called in `drain`, on the JavaScript thread with its env.
            Box::new(move |env| unsafe { T::to_napi_value(env, value) }) as Make
        });
        queue.push(Item::Settle { deferred, outcome });
    });
    Ok(Promise(promise))
}

/// A Promise made by [`promise`], returned to JavaScript as it is.
pub struct Promise(sys::napi_value);

impl ToNapiValue for Promise {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        Ok(val.0)
    }
}

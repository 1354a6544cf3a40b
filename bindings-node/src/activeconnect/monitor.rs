//! `activeconnect.Monitor`: the core's `Monitor` (many sessions watched by one polling
//! task), its events as a native async iterator, and `activeconnect.shardOf`.
//!
//! The polling, spreading, concurrency bound, change detection, unreachable reporting
//! and sharding are all the core's; this module converts arguments and events.

use std::sync::{Arc, Mutex, PoisonError};

use deviceauth::activeconnect as core;
use napi::bindgen_prelude::{AsyncBlock, ClassInstance, Either, FromNapiValue, Object, This, ToNapiValue, Unknown};
use napi::{Env, JsValue, sys};
use napi_derive::napi;
use tokio::sync::watch;

use super::{Client, Session, stored_session};
use crate::abort::{self, Cancel, Listener};
use crate::convert::{self, Arg, invalid};
use crate::errors::{self, Outcome};
use crate::inspect;

/// Options of `new activeconnect.Monitor(client, options)`.
// Declares a TypeScript interface only: the value is read field by field in `convert`.
#[allow(dead_code)]
#[napi(object, namespace = "activeconnect", object_from_js = false, object_to_js = false)]
pub struct MonitorOptions {
    /// Time between two polls of one session in milliseconds (default 5000). The first
    /// poll of each added session comes at a random time within one interval.
    pub interval_ms: Option<f64>,
    /// The most status polls in flight at once (default 100).
    pub max_in_flight: Option<u32>,
    /// A session whose polls keep failing this long (milliseconds, default 60000) is
    /// reported `unreachable` and no longer watched.
    pub unreachable_after_ms: Option<f64>,
    /// Watch only the sessions of this shard (see `shardOf`); `add` refuses the others.
    pub shard: Option<MonitorShard>,
}

/// Shard `index` (from 0) of `count`: the sessions whose token `shardOf(token, count)`
/// maps to `index`.
// Declares a TypeScript interface only: the value is read field by field in `convert`.
#[allow(dead_code)]
#[napi(object, namespace = "activeconnect", object_from_js = false, object_to_js = false)]
pub struct MonitorShard {
    /// This shard, from 0 to `count - 1`.
    pub index: u32,
    /// How many shards there are (at least 1).
    pub count: u32,
}

/// Options of `monitor.events`.
// Declares a TypeScript interface only: the value is read field by field in `convert`.
#[allow(dead_code)]
#[napi(object, namespace = "activeconnect", object_from_js = false, object_to_js = false)]
pub struct MonitorEventsOptions {
    /// Aborting it rejects the pending (or next) iteration with code `ABORTED` and ends
    /// this iterator; the monitor goes on polling (`monitor.close()` stops it).
    #[napi(ts_type = "AbortSignal")]
    pub signal: Option<String>,
}

/// A monitor event: a session's status changed. After an ended status (`closed`,
/// `timeout`, ...) the session is no longer watched.
// Declares a TypeScript interface only: the value is built in `event_value`.
#[allow(dead_code)]
#[napi(object, namespace = "activeconnect", object_from_js = false, object_to_js = false)]
pub struct MonitorChange {
    /// Always `'changed'`.
    #[napi(js_name = "type", ts_type = "'changed'")]
    pub kind: String,
    /// The session's user.
    pub user: String,
    /// The session's token (`session_token` of its JSON).
    pub session_token: String,
    /// The status before.
    pub previous: String,
    /// The status now.
    pub status: String,
}

/// A monitor event: a session could not be polled for `unreachableAfterMs` (or at once,
/// for an error that retrying cannot fix, such as an unknown session). It is no longer
/// watched.
// Declares a TypeScript interface only: the value is built in `event_value`.
#[allow(dead_code)]
#[napi(object, namespace = "activeconnect", object_from_js = false, object_to_js = false)]
pub struct MonitorUnreachable {
    /// Always `'unreachable'`.
    #[napi(js_name = "type", ts_type = "'unreachable'")]
    pub kind: String,
    /// The session's user.
    pub user: String,
    /// The session's token (`session_token` of its JSON).
    pub session_token: String,
    /// The last error of a poll, with `code` and `status` as every error of the package.
    #[napi(ts_type = "Error & DeviceAuthError")]
    pub error: String,
}

/// What `monitor.events()` yields: `event.type` tells which.
// Declares a TypeScript type only.
#[allow(dead_code)]
#[napi(namespace = "activeconnect")]
pub type MonitorEvent = Either<MonitorChange, MonitorUnreachable>;

/// What a monitor holds, shared by the `Monitor` object and its event iterators (an
/// iterator keeps its monitor running while it is in use).
struct Shared {
    /// The core's handle; `None` once closed. Dropping it stops the polling.
    monitor: Mutex<Option<core::Monitor>>,
    /// The core's event stream: one for the monitor, read by whichever iterator waits.
    events: tokio::sync::Mutex<core::MonitorEvents>,
    /// The options it was started with.
    options: core::MonitorOptions,
}

impl Shared {
    fn with<T>(&self, f: impl FnOnce(&core::Monitor) -> T) -> Option<T> {
        self.monitor.lock().unwrap_or_else(PoisonError::into_inner).as_ref().map(f)
    }
}

/// Watches many signed-in sessions with one polling task: each session is polled once
/// per `intervalMs`, spread over the interval, at most `maxInFlight` at a time. Each
/// status change is reported once by `events()`; ended sessions are dropped after
/// their change is reported; sessions that cannot be polled are reported unreachable.
///
/// The polling runs on the addon's threads and never keeps the process alive by
/// itself; a pending `events()` iteration does, until `close()` (or `break`, or its
/// signal).
#[napi(namespace = "activeconnect")]
pub struct Monitor {
    shared: Arc<Shared>,
}

#[napi(namespace = "activeconnect")]
impl Monitor {
    /// Starts a monitor that polls with `client`. Throws an `Error` with code
    /// `INVALID_ARGUMENT` for a client that is not an `activeconnect.Client` or bad
    /// options (`intervalMs` and `maxInFlight` must be above 0, `shard.index` below
    /// `shard.count`).
    #[napi(constructor, ts_args_type = "client: Client, options?: MonitorOptions")]
    pub fn new(env: Env, client: Unknown, options: Unknown) -> napi::Result<Self> {
        let started = (|| {
            // SAFETY: `client` is a live value of `env`; the class identity is checked.
            let client = unsafe { ClassInstance::<Client>::from_napi_value(env.raw(), client.raw()) }
                .map_err(|_| invalid("client must be an activeconnect.Client"))?;
            let options = monitor_options(&options)?;
            // The core spawns its polling task on the current runtime: the addon's.
            napi::bindgen_prelude::within_runtime_if_available(|| core::Monitor::start(&client.inner, options))
        })();
        let (monitor, events) = started.map_err(|e| errors::throw(&env, e))?;
        let options = monitor.options();
        Ok(Monitor {
            shared: Arc::new(Shared {
                monitor: Mutex::new(Some(monitor)),
                events: tokio::sync::Mutex::new(events),
                options,
            }),
        })
    }

    /// Watches a session: a `Session`, its JSON text or the parsed object. `false` when
    /// it is already watched, already ended, belongs to another shard, or the monitor is
    /// closed. Throws `INVALID_ARGUMENT` if it is not session data. No request is sent.
    #[napi(ts_args_type = "session: Session | string | SessionData")]
    pub fn add(&self, env: &Env, session: Unknown) -> napi::Result<bool> {
        // SAFETY: `session` is a live value of `env`; the class identity is checked.
        let data = match unsafe { ClassInstance::<Session>::from_napi_value(env.raw(), session.raw()) } {
            Ok(session) => Ok(session.inner.data()),
            Err(_) => stored_session(env, &session, "session"),
        }
        .map_err(|e| errors::throw(env, e))?;
        Ok(self.shared.with(|monitor| monitor.add(data)).unwrap_or(false))
    }

    /// Stops watching a session; `false` when it was not watched.
    #[napi(ts_args_type = "sessionToken: string")]
    pub fn remove(&self, env: &Env, session_token: Unknown) -> napi::Result<bool> {
        let token = convert::string(&session_token, "sessionToken").map_err(|e| errors::throw(env, e))?;
        Ok(self.shared.with(|monitor| monitor.remove(&token)).unwrap_or(false))
    }

    /// Whether the session of this token is watched.
    #[napi(ts_args_type = "sessionToken: string")]
    pub fn has(&self, env: &Env, session_token: Unknown) -> napi::Result<bool> {
        let token = convert::string(&session_token, "sessionToken").map_err(|e| errors::throw(env, e))?;
        Ok(self.shared.with(|monitor| monitor.contains(&token)).unwrap_or(false))
    }

    /// How many sessions are watched (0 once closed).
    #[napi(getter)]
    pub fn size(&self) -> u32 {
        let len = self.shared.with(core::Monitor::len).unwrap_or(0);
        u32::try_from(len).unwrap_or(u32::MAX)
    }

    /// Whether `close()` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.shared.with(|_| ()).is_none()
    }

    /// Stops all polling and forgets every session. Events already reported are still
    /// delivered, then every `events()` iteration ends (`{ done: true }`). Calling it
    /// again does nothing.
    #[napi]
    pub fn close(&self) {
        let monitor = self.shared.monitor.lock().unwrap_or_else(PoisonError::into_inner).take();
        drop(monitor);
    }

    /// The events, for `for await (const event of monitor.events())`, in the order they
    /// happened; none is dropped while nobody reads (they wait). Each event goes to one
    /// iteration: read them from one loop. `break` or `signal` ends the iteration, not
    /// the monitor; the iteration ends by itself after `close()`.
    #[napi(ts_args_type = "options?: MonitorEventsOptions")]
    pub fn events(&self, env: &Env, options: Unknown) -> napi::Result<MonitorEvents> {
        let signal = (|| -> Arg<Option<abort::Signal>> {
            let options = convert::options(&options, "options")?;
            abort::signal(env, convert::field(options.as_ref(), "signal")?)
        })()
        .map_err(|e| errors::throw(env, e))?;
        let (cancel, listener) = match signal {
            Some(signal) => (Some(signal.cancel), signal.listener),
            None => (None, None),
        };
        Ok(MonitorEvents {
            shared: self.shared.clone(),
            cancel,
            stop: Arc::new(watch::channel(false).0),
            listener: Arc::new(Mutex::new(listener)),
        })
    }

    /// `util.inspect` shows the size and options; never a session token or secret.
    #[napi(symbol_for = "nodejs.util.inspect.custom", skip_typescript)]
    pub fn inspect<'env>(
        &self,
        env: &'env Env,
        _depth: Unknown,
        options: Unknown,
        inspect: Unknown,
    ) -> napi::Result<Unknown<'env>> {
        let settings = self.shared.options;
        let mut view = Object::new(env)?;
        view.set("size", self.size())?;
        view.set("closed", self.closed())?;
        view.set("intervalMs", millis(settings.interval))?;
        view.set("maxInFlight", settings.max_in_flight as f64)?;
        view.set("unreachableAfterMs", millis(settings.unreachable_after))?;
        match settings.shard {
            Some(shard) => {
                let mut value = Object::new(env)?;
                value.set("index", shard.index())?;
                value.set("count", shard.count())?;
                view.set("shard", value)?;
            }
            None => view.set("shard", ())?,
        }
        inspect::render(env, "Monitor", view, options, inspect)
    }
}

fn millis(duration: std::time::Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn monitor_options(options: &Unknown) -> Arg<core::MonitorOptions> {
    let options = convert::options(options, "options")?;
    let options = options.as_ref();
    let mut result = core::MonitorOptions::default();
    if let Some(interval) = convert::opt_millis(options, "intervalMs")? {
        result.interval = interval;
    }
    if let Some(max) = convert::opt_u32(options, "maxInFlight")? {
        result.max_in_flight = usize::try_from(max).unwrap_or(usize::MAX);
    }
    if let Some(after) = convert::opt_millis(options, "unreachableAfterMs")? {
        result.unreachable_after = after;
    }
    if let Some(shard) = convert::field(options, "shard")? {
        let shard = convert::object(&shard, "shard")?;
        let shard = Some(&shard);
        let index = convert::opt_u32(shard, "index")?.ok_or_else(|| invalid("shard.index is required"))?;
        let count = convert::opt_u32(shard, "count")?.ok_or_else(|| invalid("shard.count is required"))?;
        result.shard = Some(core::Shard::new(index, count)?);
    }
    Ok(result)
}

/// The shard (from 0) of a session token among `count` shards: the first 8 bytes of
/// SHA-256 of the token, big-endian, modulo `count`, the same in every process and in
/// the Python and Rust packages. Throws `INVALID_ARGUMENT` unless `count` is a whole
/// number of at least 1.
// Unit-test builds do not register #[napi] free functions, so nothing calls this there.
#[cfg_attr(test, allow(dead_code))]
#[napi(namespace = "activeconnect", js_name = "shardOf", ts_args_type = "sessionToken: string, count: number")]
pub fn shard_of(env: Env, session_token: Unknown, count: Unknown) -> napi::Result<u32> {
    (|| -> Arg<u32> {
        let token = convert::string(&session_token, "sessionToken")?;
        let count = match count.get_type() {
            Ok(napi::ValueType::Number) => {
                // SAFETY: checked to be a number.
                let n = unsafe { count.cast::<f64>() }.map_err(|_| invalid("count could not be read"))?;
                if n.fract() != 0.0 || !(1.0..=f64::from(u32::MAX)).contains(&n) {
                    return Err(invalid(format!("count must be a whole number from 1 to {}", u32::MAX)));
                }
                // In range and whole, checked above.
                n as u32
            }
            _ => return Err(invalid("count must be a number")),
        };
        Ok(core::Shard::of(&token, count))
    })()
    .map_err(|e| errors::throw(&env, e))
}

/// What `monitor.events()` returns: an async iterator of `MonitorEvent`s.
#[napi(namespace = "activeconnect")]
pub struct MonitorEvents {
    shared: Arc<Shared>,
    /// The caller's `signal`.
    cancel: Option<Cancel>,
    /// Set once this iteration is over (returned from, aborted, or the monitor ended).
    stop: Arc<watch::Sender<bool>>,
    /// The abort listener, removed on the JavaScript thread when the iteration is over.
    listener: Arc<Mutex<Option<Listener>>>,
}

/// An event as the core reported it, converted to JS on the JavaScript thread.
enum Event {
    Changed { user: String, token: String, previous: String, status: String },
    Unreachable { user: String, token: String, error: deviceauth::Error },
}

impl Event {
    /// `None` for an event kind this binding does not know yet (it is skipped).
    fn of(event: core::MonitorEvent) -> Option<Event> {
        match event {
            core::MonitorEvent::Changed { user, session_token, previous, status } => Some(Event::Changed {
                user,
                token: session_token,
                previous: previous.as_str().to_owned(),
                status: status.as_str().to_owned(),
            }),
            core::MonitorEvent::Unreachable { user, session_token, error } => {
                Some(Event::Unreachable { user, token: session_token, error })
            }
            _ => None,
        }
    }
}

/// `{ done, value }` as `next()` resolves to.
pub struct EventStep(Option<Event>);

impl ToNapiValue for EventStep {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let js = Env::from_raw(env);
        let mut step = Object::new(&js)?;
        step.set("done", val.0.is_none())?;
        match val.0 {
            None => step.set("value", ())?,
            Some(Event::Changed { user, token, previous, status }) => {
                let mut value = Object::new(&js)?;
                value.set("type", "changed")?;
                value.set("user", user)?;
                value.set("sessionToken", token)?;
                value.set("previous", previous)?;
                value.set("status", status)?;
                step.set("value", value)?;
            }
            Some(Event::Unreachable { user, token, error }) => {
                let mut value = Object::new(&js)?;
                value.set("type", "unreachable")?;
                value.set("user", user)?;
                value.set("sessionToken", token)?;
                let error = errors::error_value(env, &error)?;
                // SAFETY: `error` is a live object of `env`.
                value.set("error", unsafe { Unknown::from_raw_unchecked(env, error) })?;
                step.set("value", value)?;
            }
        }
        Ok(step.raw())
    }
}

fn take(listener: &Mutex<Option<Listener>>) -> Option<Listener> {
    listener.lock().unwrap_or_else(PoisonError::into_inner).take()
}

#[napi(namespace = "activeconnect")]
impl MonitorEvents {
    /// The next event; waits until there is one. Resolves `{ done: true }` once the
    /// monitor is closed and every reported event was read, or after `return()`;
    /// rejects with code `ABORTED` when the signal aborts (later calls are done).
    #[napi(ts_return_type = "Promise<IteratorResult<MonitorEvent, undefined>>")]
    pub fn next(&self, env: &Env) -> napi::Result<AsyncBlock<Outcome<EventStep>>> {
        let shared = self.shared.clone();
        let cancel = self.cancel.clone();
        let stop = self.stop.clone();
        let listener = self.listener.clone();
        let step = async move {
            let mut stopped = stop.subscribe();
            if *stopped.borrow() {
                return (Ok(None), true);
            }
            let read = async {
                let mut events = shared.events.lock().await;
                loop {
                    match events.recv().await {
                        Some(event) => {
                            if let Some(event) = Event::of(event) {
                                return Ok(Some(event));
                            }
                        }
                        None => return Ok(None),
                    }
                }
            };
            let item = tokio::select! {
                biased;
                _ = stopped.wait_for(|stopped| *stopped) => Ok(None),
                item = abort::until_aborted(cancel, read) => item,
            };
            let over = !matches!(item, Ok(Some(_)));
            if over {
                stop.send_replace(true);
            }
            (item, over)
        };
        errors::promise_map(env, step, move |env, (result, over)| {
            if over && let Some(listener) = take(&listener) {
                listener.remove(env);
            }
            result.map(EventStep)
        })
    }

    /// Ends this iteration (what `break` in `for await` calls): a pending `next()`
    /// resolves `{ done: true }`, and so does every later one. The monitor goes on.
    #[napi(js_name = "return", ts_return_type = "Promise<IteratorResult<MonitorEvent, undefined>>")]
    pub fn finish(&self, env: &Env) -> napi::Result<AsyncBlock<Outcome<EventStep>>> {
        self.stop.send_replace(true);
        let listener = self.listener.clone();
        errors::promise_map(env, async move {}, move |env, ()| {
            if let Some(listener) = take(&listener) {
                listener.remove(env);
            }
            Ok(EventStep(None))
        })
    }

    /// The iterator is its own async iterator.
    #[napi(well_known_symbol = "asyncIterator", ts_return_type = "MonitorEvents")]
    pub fn async_iterator<'env>(&self, this: This<'env>) -> Object<'env> {
        this.object
    }
}

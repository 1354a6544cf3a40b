//! `activeconnect.Session`: the core's session, and `watch` as an async iterator.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use deviceauth::activeconnect as core;
use futures_util::StreamExt;
use napi::Env;
use napi::bindgen_prelude::{AsyncBlock, Object, This, Unknown};
use napi_derive::napi;
use tokio::sync::watch;

use crate::abort::{self, Cancel, Listener};
use crate::convert::{self, Arg};
use crate::errors::{self, CoreError, Outcome};
use crate::inspect::{self, REDACTED};

/// The interval of `watch` when `intervalMs` is left out.
const DEFAULT_WATCH_INTERVAL: Duration = Duration::from_secs(5);

/// Options of `session.wait`.
// Declares a TypeScript interface only: the value is read field by field in `convert`.
#[allow(dead_code)]
#[napi(object, namespace = "activeconnect", object_from_js = false, object_to_js = false)]
pub struct WaitOptions {
    /// The longest the whole wait may take, in milliseconds (default 120000); past it,
    /// `wait` rejects with code `TIMEOUT`.
    pub timeout_ms: Option<f64>,
    /// Time between two status polls in milliseconds (default 2000).
    pub interval_ms: Option<f64>,
    /// Aborting it rejects the wait with code `ABORTED` and stops the polling.
    #[napi(ts_type = "AbortSignal")]
    pub signal: Option<String>,
}

/// Options of `session.watch`.
// Declares a TypeScript interface only: the value is read field by field in `convert`.
#[allow(dead_code)]
#[napi(object, namespace = "activeconnect", object_from_js = false, object_to_js = false)]
pub struct WatchOptions {
    /// Time between two status polls in milliseconds (default 5000).
    pub interval_ms: Option<f64>,
    /// Aborting it rejects the pending (or next) iteration with code `ABORTED` and stops
    /// the polling.
    #[napi(ts_type = "AbortSignal")]
    pub signal: Option<String>,
}

/// What `JSON.stringify(session)` gives: the core's `SessionData`. It holds the session
/// secret in plain text: store it server side only, never in a cookie or a log.
// Declares a TypeScript interface only: the value is read field by field in `convert`.
#[allow(dead_code)]
#[napi(object, namespace = "activeconnect", object_from_js = false, object_to_js = false)]
pub struct SessionData {
    /// The user id the session belongs to.
    #[napi(js_name = "user")]
    pub user: String,
    /// Identifies the session.
    #[napi(js_name = "session_token")]
    pub session_token: String,
    /// The session's signing secret (sensitive).
    #[napi(js_name = "session_secret")]
    pub session_secret: String,
    /// Where the session's status is polled.
    #[napi(js_name = "status_url")]
    pub status_url: String,
    /// Where the session is ended.
    #[napi(js_name = "logout_url")]
    pub logout_url: String,
    /// The last status seen.
    #[napi(js_name = "status")]
    pub status: String,
}

/// A sign-in session of one user.
///
/// `status` is the last status seen, as the service spells it: `pending`,
/// `identifying`, `active`, `walkaway`, `timeout`, `closed`, `failed`, `cancelled`, or
/// any other string the service sends.
#[napi(namespace = "activeconnect")]
pub struct Session {
    pub(in crate::activeconnect) inner: core::Session,
}

impl Session {
    pub(crate) fn new(inner: core::Session) -> Self {
        Session { inner }
    }
}

#[napi(namespace = "activeconnect")]
impl Session {
    /// The last status seen (no request).
    #[napi(getter)]
    pub fn status(&self) -> String {
        self.inner.status().as_str().to_owned()
    }

    /// The user the session belongs to.
    #[napi(getter)]
    pub fn user(&self) -> String {
        self.inner.user()
    }

    /// Polls the status once and resolves to it. An ended session is not polled again.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn refresh(&self, env: &Env) -> napi::Result<AsyncBlock<Outcome<String>>> {
        let session = self.inner.clone();
        errors::promise(env, async move { session.refresh().await.map(wire) })
    }

    /// Polls every `intervalMs` until the session is no longer `pending` or
    /// `identifying`, and resolves to that status (`active`, or how it ended). Rejects
    /// with code `TIMEOUT` after `timeoutMs`, or `ABORTED` when `signal` aborts; either
    /// way the polling stops.
    #[napi(ts_args_type = "options?: WaitOptions", ts_return_type = "Promise<string>")]
    pub fn wait(&self, env: &Env, options: Unknown) -> napi::Result<AsyncBlock<Outcome<String>>> {
        let session = self.inner.clone();
        let (wait, signal) = match wait_args(env, &options) {
            Ok(args) => args,
            Err(error) => return errors::promise(env, async move { Err(error) }),
        };
        let (cancel, listener) = split(signal);
        errors::promise_map(
            env,
            async move { abort::until_aborted(cancel, session.wait(&wait)).await.map(wire) },
            move |env, result| {
                if let Some(listener) = listener {
                    listener.remove(env);
                }
                result
            },
        )
    }

    /// An async iterator of status changes, polled every `intervalMs` for as long as
    /// the user stays signed in; it ends after an ended status (`closed`, `timeout`, ...).
    /// A failed poll rejects that iteration. Polling happens only while an iteration is
    /// awaited; `break` or `signal` stops it.
    #[napi(ts_args_type = "options?: WatchOptions")]
    pub fn watch(&self, env: &Env, options: Unknown) -> napi::Result<StatusWatch> {
        let (interval, signal) = watch_args(env, &options).map_err(|e| errors::throw(env, e))?;
        let (cancel, listener) = split(signal);
        Ok(StatusWatch {
            stream: Arc::new(tokio::sync::Mutex::new(Some(self.inner.watch(interval)))),
            cancel,
            stop: watch::channel(false).0,
            listener: Arc::new(Mutex::new(listener)),
        })
    }

    /// Ends the session at the service: `true` when the service closed it, `false` when
    /// it was already over.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn logout(&self, env: &Env) -> napi::Result<AsyncBlock<Outcome<bool>>> {
        let session = self.inner.clone();
        errors::promise(env, async move { session.logout().await })
    }

    /// The core's `SessionData`, so that `JSON.stringify(session)` gives what
    /// `client.resume()` takes. SENSITIVE: it holds the session secret; store it server
    /// side only.
    /// The session sealed with `key` (32 bytes): encrypted and authenticated into an opaque
    /// string that may sit in a cookie; `client.unseal(text, key)` resumes it.
    #[napi(ts_args_type = "key: Uint8Array")]
    pub fn seal(&self, env: &Env, key: Unknown) -> napi::Result<String> {
        convert::bytes(&key, "key").and_then(|key| self.inner.seal(&key)).map_err(|e| errors::throw(env, e))
    }

    #[napi(js_name = "toJSON", ts_return_type = "SessionData")]
    pub fn to_json(&self, env: &Env) -> napi::Result<serde_json::Value> {
        serde_json::to_value(self.inner.data())
            .map_err(|e| errors::throw(env, CoreError::Protocol(format!("session data: {e}"))))
    }

    /// `util.inspect` shows the user and status, never the session secret or token.
    #[napi(symbol_for = "nodejs.util.inspect.custom", skip_typescript)]
    pub fn inspect<'env>(
        &self,
        env: &'env Env,
        _depth: Unknown,
        options: Unknown,
        inspect: Unknown,
    ) -> napi::Result<Unknown<'env>> {
        let mut view = Object::new(env)?;
        view.set("user", self.inner.user())?;
        view.set("status", self.status())?;
        view.set("sessionToken", REDACTED)?;
        view.set("sessionSecret", REDACTED)?;
        inspect::render(env, "Session", view, options, inspect)
    }
}

fn wire(status: core::Status) -> String {
    status.as_str().to_owned()
}

fn split(signal: Option<abort::Signal>) -> (Option<Cancel>, Option<Listener>) {
    match signal {
        Some(signal) => (Some(signal.cancel), signal.listener),
        None => (None, None),
    }
}

fn wait_args(env: &Env, options: &Unknown) -> Arg<(core::WaitOptions, Option<abort::Signal>)> {
    let options = convert::options(options, "options")?;
    let mut wait = core::WaitOptions::default();
    if let Some(deadline) = convert::opt_millis(options.as_ref(), "timeoutMs")? {
        wait.deadline = deadline;
    }
    if let Some(interval) = convert::opt_millis(options.as_ref(), "intervalMs")? {
        wait.interval = interval;
    }
    let signal = abort::signal(env, convert::field(options.as_ref(), "signal")?)?;
    Ok((wait, signal))
}

fn watch_args(env: &Env, options: &Unknown) -> Arg<(Duration, Option<abort::Signal>)> {
    let options = convert::options(options, "options")?;
    let interval = convert::opt_millis(options.as_ref(), "intervalMs")?.unwrap_or(DEFAULT_WATCH_INTERVAL);
    let signal = abort::signal(env, convert::field(options.as_ref(), "signal")?)?;
    Ok((interval, signal))
}

/// What `session.watch()` returns: an async iterator of statuses, for
/// `for await (const status of session.watch())`.
#[napi(namespace = "activeconnect")]
pub struct StatusWatch {
    /// The core's stream; `None` once it ended, was returned from, or aborted.
    stream: Arc<tokio::sync::Mutex<Option<core::StatusStream>>>,
    /// The caller's `signal`.
    cancel: Option<Cancel>,
    /// Set by `return()`: ends a pending `next()` at once.
    stop: watch::Sender<bool>,
    /// The abort listener, removed on the JavaScript thread when the watch is over
    /// (ended, aborted or returned from; a watch left half-way keeps it on the signal,
    /// where it only flips a flag nobody reads).
    listener: Arc<Mutex<Option<Listener>>>,
}

/// One step of the iteration, as `next()` and `return()` resolve to.
#[napi(object, namespace = "activeconnect", object_from_js = false)]
pub struct WatchStep {
    /// `true` once the watch is over.
    pub done: bool,
    /// The new status, while not done.
    pub value: Option<String>,
}

impl WatchStep {
    fn status(status: String) -> Self {
        WatchStep { done: false, value: Some(status) }
    }

    fn done() -> Self {
        WatchStep { done: true, value: None }
    }
}

fn take(listener: &Mutex<Option<Listener>>) -> Option<Listener> {
    listener.lock().unwrap_or_else(PoisonError::into_inner).take()
}

#[napi(namespace = "activeconnect")]
impl StatusWatch {
    /// The next status change: polls the core's stream until the status differs from
    /// the last one seen. Resolves `{ done: true }` after the session ended; rejects
    /// with the error of a failed poll (the watch goes on after transient ones), or
    /// with code `ABORTED` when the signal aborts.
    #[napi(ts_return_type = "Promise<IteratorResult<string, undefined>>")]
    pub fn next(&self, env: &Env) -> napi::Result<AsyncBlock<Outcome<WatchStep>>> {
        let stream = self.stream.clone();
        let cancel = self.cancel.clone();
        let mut stop = self.stop.subscribe();
        let listener = self.listener.clone();
        let step = async move {
            let mut guard = stream.lock().await;
            let Some(current) = guard.as_mut() else {
                return (Ok(WatchStep::done()), true);
            };
            let item = tokio::select! {
                biased;
                _ = stop.wait_for(|stopped| *stopped) => Ok(None),
                item = abort::until_aborted(cancel, async { Ok(current.next().await) }) => item,
            };
            let (result, over) = match item {
                Ok(None) => (Ok(WatchStep::done()), true),
                Ok(Some(Ok(status))) => {
                    let over = status.is_ended();
                    (Ok(WatchStep::status(wire(status))), over)
                }
                Ok(Some(Err(error))) => {
                    let over = !error.is_transient();
                    (Err(error), over)
                }
                Err(aborted) => (Err(aborted), true),
            };
            if over {
                // Dropping the core's stream stops its polling; later calls are done.
                *guard = None;
            }
            (result, over)
        };
        errors::promise_map(env, step, move |env, (result, over)| {
            if over && let Some(listener) = take(&listener) {
                listener.remove(env);
            }
            result
        })
    }

    /// Stops the watch (what `break` in `for await` calls): a pending `next()`
    /// resolves `{ done: true }`, and so does every later one.
    #[napi(js_name = "return", ts_return_type = "Promise<IteratorResult<string, undefined>>")]
    pub fn finish(&self, env: &Env) -> napi::Result<AsyncBlock<Outcome<WatchStep>>> {
        self.stop.send_replace(true);
        let stream = self.stream.clone();
        let listener = self.listener.clone();
        errors::promise_map(
            env,
            async move {
                stream.lock().await.take();
            },
            move |env, ()| {
                if let Some(listener) = take(&listener) {
                    listener.remove(env);
                }
                Ok(WatchStep::done())
            },
        )
    }

    /// The watch is its own async iterator.
    #[napi(well_known_symbol = "asyncIterator", ts_return_type = "StatusWatch")]
    pub fn async_iterator<'env>(&self, this: This<'env>) -> Object<'env> {
        this.object
    }
}
